package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/apiserver"
	"github.com/ikq-dev/ikq/internal/httpauth"
	"github.com/ikq-dev/ikq/internal/httpserve"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/metrics"
	"github.com/ikq-dev/ikq/internal/redisurl"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
	"github.com/ikq-dev/ikq/webhook"
	"github.com/prometheus/client_golang/prometheus"
)

// apiSettings configure the HTTP server of `ikq api` and `ikq dev`.
type apiSettings struct {
	listen            string
	publicURL         string
	tokens            string
	webhookSecret     string
	capabilitySecret  string
	dashboardWritable bool
	maxConns          int
}

// register defines the API's settings; defaultListen is the role's own.
func (a *apiSettings) register(fs *flag.FlagSet, defaultListen string) {
	define(fs, settingDef{Flag: "listen", Env: "IKQ_LISTEN", Default: defaultListen,
		Doc: "API listen address", Parse: addrValue(&a.listen, false)})
	definePublicURL(fs, &a.publicURL)
	define(fs, settingDef{Flag: "api-tokens", Env: "IKQ_API_TOKENS", Secret: true,
		Doc: "bearer tokens the API accepts, comma-separated (default: none, loopback clients only)", Parse: textValue(&a.tokens)})
	defineWebhookSecret(fs, &a.webhookSecret)
	defineCapabilitySecret(fs, &a.capabilitySecret)
	define(fs, settingDef{Flag: "dashboard-writable", Env: "IKQ_DASHBOARD_WRITABLE", Default: "false",
		Doc: "let the dashboard delete, run and cancel tasks", Parse: boolValue(&a.dashboardWritable)}, true)
	define(fs, settingDef{Flag: "http-max-conns", Env: "IKQ_HTTP_MAX_CONNS", Default: "0",
		Doc: "connections the API serves at once; more wait to be accepted (0: half the open-file limit, at most 4096)", Parse: intValue(&a.maxConns, 0)})
}

// Settings both roles read: ikq dev defines them once for both.

func definePublicURL(fs *flag.FlagSet, dst *string) {
	define(fs, settingDef{Flag: "public-url", Env: "IKQ_PUBLIC_URL",
		Doc: "where ImageKit reaches ikq's webhook receiver, for extension results (default: from IKQ_LISTEN)", Parse: httpURLValue(dst, true)})
}

func defineWebhookSecret(fs *flag.FlagSet, dst *string) {
	define(fs, settingDef{Flag: "webhook-secret", Env: "IKQ_WEBHOOK_SECRET", Secret: true,
		Doc: "ImageKit account webhook secret: the API verifies account events with it, and workers track post-transformations when it is set", Parse: textValue(dst)})
}

func defineCapabilitySecret(fs *flag.FlagSet, dst *string) {
	define(fs, settingDef{Flag: "webhook-capability-secret", Env: "IKQ_WEBHOOK_CAPABILITY_SECRET", Secret: true,
		Doc: "key of the per-job webhook URLs, the same in every ikq process (default: made once in Redis)", Parse: textValue(dst)})
}

// apiServer is a running `ikq api` HTTP server.
type apiServer struct {
	URL  string
	done chan error
	srv  *apiserver.Server
}

// startAPI listens and serves the API until ctx ends.
func startAPI(ctx context.Context, a apiSettings, deps apiDeps) (*apiServer, error) {
	tokens := httpauth.ParseTokens(a.tokens)
	webhooks, err := webhook.NewHandler(webhook.Config{
		Capability:    deps.capability,
		AccountSecret: a.webhookSecret,
		Redis:         deps.redis,
		Retention:     deps.store.retention,
		WaitReplicas:  deps.store.waitReplicas,
		WaitTimeout:   deps.store.waitTimeout,
		Registerer:    deps.registry,
		Logger:        deps.log.With("component", "webhook"),
	})
	if err != nil {
		return nil, err
	}
	srv, err := apiserver.New(apiserver.Config{
		Webhooks:          webhooks,
		Redis:             deps.redis,
		RedisOpt:          deps.redisCfg.AsynqOpt(),
		Producer:          deps.producer,
		Guard:             httpauth.New(httpauth.Config{Tokens: tokens}),
		Registry:          deps.registry,
		DashboardWritable: a.dashboardWritable,
		Logger:            deps.log,
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", a.listen)
	if err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("api: %w", err)
	}
	s := &apiServer{URL: "http://" + displayAddr(ln.Addr()), done: make(chan error, 1), srv: srv}
	if len(tokens) == 0 {
		deps.log.Warn("no API tokens configured (IKQ_API_TOKENS): only clients on this machine are served")
	}
	go func() {
		err := httpserve.Serve(ctx, ln, srv, httpserve.Limits{MaxConns: a.maxConns}, deps.log)
		_ = srv.Close()
		s.done <- err
	}()
	go pruneJobIndexes(ctx, jobstore.New(deps.redis, jobstore.Options{Retention: deps.store.retention}), deps.log)
	return s, nil
}

// pruneInterval is how often the API sweeps expired jobs out of the status indexes.
const pruneInterval = time.Hour

// pruneJobIndexes removes expired jobs from the job store's indexes every
// pruneInterval, so that indexes nobody lists to the end stay small. Every API
// instance may do it: the sweep is idempotent.
func pruneJobIndexes(ctx context.Context, store *jobstore.Store, log *slog.Logger) {
	t := time.NewTicker(pruneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := store.Prune(ctx); err != nil {
				log.Warn("pruning expired jobs from the indexes failed", "err", err)
			} else if n > 0 {
				log.Info("pruned expired jobs from the indexes", "jobs", n)
			}
		}
	}
}

// displayAddr turns a wildcard listen address into one a person can open.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if ok && tcp.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
	}
	return a.String()
}

// apiCommand is the configuration of `ikq api`.
type apiCommand struct {
	c common
	a apiSettings
}

func newAPICommand(stderr io.Writer) (*flag.FlagSet, *apiCommand) {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(stderr) // where -h prints
	cmd := &apiCommand{}
	cmd.c.register(fs)
	cmd.a.register(fs, ":8080")
	return fs, cmd
}

func runAPI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cmd := newAPICommand(stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c, a := cmd.c, cmd.a
	deps, err := openDeps(ctx, c, a.capabilitySecret, stderr)
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
	registry *prometheus.Registry // what /metrics serves
	log      *slog.Logger
	// capability makes and checks per-job webhook URLs.
	capability *webhook.Capability
	store      storeSettings
	closers    []func()
}

func (d apiDeps) close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
}

func openDeps(ctx context.Context, c common, capabilitySecret string, stderr io.Writer) (apiDeps, error) {
	log, err := c.logger(stderr)
	if err != nil {
		return apiDeps{}, err
	}
	rdb, rcfg, err := c.redis()
	if err != nil {
		return apiDeps{}, err
	}
	p, err := producer.New(c.producerConfig(producer.Config{Redis: rdb, Validate: tasks.ValidateOptions{AllowFile: true}, Logger: log}))
	if err != nil {
		_ = rdb.Close()
		return apiDeps{}, err
	}
	reg, err := metrics.NewRegistry(nil, nil, nil)
	if err != nil {
		_ = rdb.Close()
		return apiDeps{}, err
	}
	d := apiDeps{redis: rdb, redisCfg: rcfg, producer: p, registry: reg, log: log, store: c.store,
		closers: []func(){func() { _ = rdb.Close() }, func() { _ = p.Close() }}}
	if d.capability, err = capability(ctx, rdb, capabilitySecret); err != nil {
		d.close()
		return apiDeps{}, err
	}
	return d, nil
}

// capability loads the secret of per-job webhook URLs that every ikq process shares:
// IKQ_WEBHOOK_CAPABILITY_SECRET (configured), or one made once in Redis.
func capability(ctx context.Context, rdb redis.UniversalClient, configured string) (*webhook.Capability, error) {
	key, err := webhook.LoadOrCreateSecret(ctx, rdb, configured)
	if err != nil {
		return nil, fmt.Errorf("webhook capability secret (IKQ_WEBHOOK_CAPABILITY_SECRET): %w", err)
	}
	return webhook.NewCapability(key)
}

// publicURL is where ImageKit reaches the webhook receiver: IKQ_PUBLIC_URL, else the
// listen address (a wildcard host becomes localhost).
func publicURL(configured, listen string) string {
	if configured != "" {
		return strings.TrimRight(configured, "/")
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
