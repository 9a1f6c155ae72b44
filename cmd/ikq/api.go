package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/apiserver"
	"github.com/ikq-dev/ikq/internal/httpauth"
	"github.com/ikq-dev/ikq/internal/metrics"
	"github.com/ikq-dev/ikq/internal/redisurl"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

// apiFlags are the flags of the HTTP server, shared by `ikq api` and `ikq dev`.
type apiFlags struct {
	listen            string
	publicURL         string
	tokens            string
	dashboardWritable bool
}

func (a *apiFlags) register(fs *flag.FlagSet, defaultListen string) {
	fs.StringVar(&a.listen, "listen", envOr("IKQ_LISTEN", defaultListen), "API listen address (IKQ_LISTEN)")
	fs.StringVar(&a.publicURL, "public-url", envOr("IKQ_PUBLIC_URL", ""), "where ImageKit reaches the webhook receiver (IKQ_PUBLIC_URL; default: from --listen)")
	fs.StringVar(&a.tokens, "api-tokens", "", "bearer tokens the API accepts, comma-separated (IKQ_API_TOKENS; default: none, loopback clients only)")
	fs.BoolVar(&a.dashboardWritable, "dashboard-writable", os.Getenv("IKQ_DASHBOARD_WRITABLE") == "true", "let the dashboard delete, run and cancel tasks (IKQ_DASHBOARD_WRITABLE)")
}

// apiServer is a running `ikq api` HTTP server.
type apiServer struct {
	URL  string
	done chan error
	srv  *apiserver.Server
}

// startAPI listens and serves the API until ctx ends.
func startAPI(ctx context.Context, a apiFlags, deps apiDeps) (*apiServer, error) {
	tokens := httpauth.ParseTokens(secret(a.tokens, "IKQ_API_TOKENS"))
	srv, err := apiserver.New(apiserver.Config{
		Redis:             deps.redis,
		RedisOpt:          deps.redisCfg.AsynqOpt(),
		Producer:          deps.producer,
		Guard:             httpauth.New(httpauth.Config{Tokens: tokens}),
		Metrics:           deps.metrics,
		DashboardWritable: a.dashboardWritable,
		Logger:            deps.log,
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", a.listen)
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("api: %w", err)
	}
	s := &apiServer{URL: "http://" + displayAddr(ln.Addr()), done: make(chan error, 1), srv: srv}
	if len(tokens) == 0 {
		deps.log.Warn("no API tokens configured (IKQ_API_TOKENS): only clients on this machine are served")
	}
	go func() {
		err := serve(ctx, ln, srv, deps.log)
		srv.Close()
		s.done <- err
	}()
	return s, nil
}

// displayAddr turns a wildcard listen address into one a person can open.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if ok && tcp.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
	}
	return a.String()
}

func runAPI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(stderr) // where -h prints
	var (
		c common
		a apiFlags
	)
	c.register(fs)
	a.register(fs, ":8080")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	deps, err := openDeps(c, stderr)
	if err != nil {
		return err
	}
	defer deps.close()
	s, err := startAPI(ctx, a, deps)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "ikq api on %s: REST API %s/v1/uploads, dashboard %s/monitoring/, metrics %s/metrics\n", s.URL, s.URL, s.URL, s.URL)
	return <-s.done
}

// apiDeps are what the API needs, opened from the common flags.
type apiDeps struct {
	redis    redis.UniversalClient
	redisCfg *redisurl.Config
	producer *producer.Client
	metrics  *metrics.Metrics
	log      *slog.Logger
	closers  []func()
}

func (d apiDeps) close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
}

func openDeps(c common, stderr io.Writer) (apiDeps, error) {
	log, err := c.logger(stderr)
	if err != nil {
		return apiDeps{}, err
	}
	rdb, rcfg, err := c.redis()
	if err != nil {
		return apiDeps{}, err
	}
	p, err := producer.New(producer.Config{Redis: rdb, Validate: tasks.ValidateOptions{AllowFile: true}, Logger: log})
	if err != nil {
		rdb.Close()
		return apiDeps{}, err
	}
	return apiDeps{redis: rdb, redisCfg: rcfg, producer: p, metrics: metrics.New(), log: log,
		closers: []func(){func() { rdb.Close() }, func() { p.Close() }}}, nil
}
