package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/alicebob/miniredis/v2"

	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/imagekit"
	"github.com/ikq-dev/ikq/internal/objstore"
	"github.com/ikq-dev/ikq/internal/redisproc"
	"github.com/ikq-dev/ikq/internal/source"
	"github.com/ikq-dev/ikq/worker"
)

// runDev runs the whole stack in one process for a newcomer: Redis, the emulator as
// upload target (unless IMAGEKIT_PRIVATE_KEY is set) and a worker.
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr) // where -h prints
	var (
		c           common
		a           apiFlags
		emuListen   string
		concurrency int
		fileRoot    string
		fetchAllow  string
		s3Endpoint  string
	)
	c.register(fs)
	a.register(fs, "127.0.0.1:8080")
	fs.StringVar(&emuListen, "emulator-listen", envOr("IKQ_EMULATOR_LISTEN", "127.0.0.1:9090"), "address of the ImageKit emulator (IKQ_EMULATOR_LISTEN)")
	fs.IntVar(&concurrency, "concurrency", envInt("IKQ_CONCURRENCY", 8), "uploads in flight (IKQ_CONCURRENCY)")
	fs.StringVar(&fileRoot, "file-root", envOr("IKQ_FILE_ROOT", ""), "directory under which file:// sources are allowed (IKQ_FILE_ROOT)")
	fs.StringVar(&s3Endpoint, "s3-endpoint", envOr("IKQ_S3_ENDPOINT", ""), "base URL of an S3-compatible server for s3:// sources, e.g. http://127.0.0.1:9000 (IKQ_S3_ENDPOINT; default: AWS S3)")
	fs.StringVar(&fetchAllow, "fetch-allow", envOr("IKQ_FETCH_ALLOW", ""), "host names, IPs or CIDRs that URL sources and callbacks may reach despite the SSRF guard, besides loopback, which ikq dev allows (IKQ_FETCH_ALLOW)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// On a developer's machine sources and callbacks are usually local servers.
	guard, err := fetchGuard(fetchAllow, "127.0.0.0/8", "::1")
	if err != nil {
		return err
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()

	// Redis: REDIS_URL, else a private redis-server, else embedded.
	if c.redisURL == "" {
		c.redisURL = os.Getenv("REDIS_URL")
	}
	redisNote := ""
	if c.redisURL == "" {
		u, note, stop, err := devRedis(log)
		if err != nil {
			return err
		}
		c.redisURL, redisNote = u, note
		stops = append(stops, stop)
	}
	deps, err := openDeps(ctx, c, stderr)
	if err != nil {
		return err
	}
	stops = append(stops, deps.close)

	key := os.Getenv("IMAGEKIT_PRIVATE_KEY")
	// Without a key, the emulator is ImageKit: its account events are signed with a
	// secret made for this run, which the receiver is given too.
	if key == "" && secret(a.webhookSecret, "IKQ_WEBHOOK_SECRET") == "" {
		a.webhookSecret = "dev_" + randomHex(24)
	}
	apiCtx, stopAPI := context.WithCancel(context.Background())
	api, err := startAPI(apiCtx, a, deps)
	if err != nil {
		stopAPI()
		return err
	}
	stops = append(stops, func() { stopAPI(); <-api.done })
	public := publicURL(a.publicURL, strings.TrimPrefix(api.URL, "http://"))

	// Upload target: ImageKit with a key, else the emulator.
	uploadURL := envOr("IMAGEKIT_UPLOAD_URL", defaultUploadURL)
	apiURL := envOr("IMAGEKIT_API_URL", "https://api.imagekit.io")
	emuURL := ""
	if key == "" {
		key = "private_dev"
		u, stop, err := startDevEmulator(emuListen, key, public+"/webhooks/imagekit", a.webhookSecret, log)
		if err != nil {
			return err
		}
		emuURL, uploadURL, apiURL = u, u+"/api/v1/files/upload", u
		stops = append(stops, stop)
	}

	// enqueue, status and bulk find this Redis (and the emulator, when it is the upload
	// target) through the file while dev runs.
	dev := devFile{RedisURL: c.redisURL}
	if emuURL != "" {
		dev.EmulatorURL, dev.PrivateKey = emuURL, key
	}
	if remove, err := writeDevFile(dev); err != nil {
		log.Warn("cannot record this Redis for other ikq commands", "err", err)
	} else {
		stops = append(stops, remove)
	}

	sources := source.New(source.Config{FileRoot: fileRoot, HTTPClient: guard.Client(0)})
	stores, err := objstore.Register(sources, objstore.Config{S3Endpoint: s3Endpoint})
	if err != nil {
		return usageError{"IKQ_S3_ENDPOINT / -s3-endpoint: " + err.Error()}
	}
	stops = append(stops, func() { _ = stores.Close() })
	w, err := worker.New(worker.Config{
		Redis:                deps.redis,
		ImageKit:             &imagekit.Client{UploadURL: uploadURL, APIBase: apiURL, PrivateKey: key},
		Sources:              sources,
		CallbackClient:       guard.Client(callbackTimeout),
		Concurrency:          concurrency,
		Metrics:              deps.metrics,
		WebhookURL:           func(id string) string { return deps.capability.URL(public, id) },
		TrackTransformations: secret(a.webhookSecret, "IKQ_WEBHOOK_SECRET") != "",
		CallbackSecret:       os.Getenv("IKQ_CALLBACK_SECRET"),
		Logger:               log.With("component", "worker"),
	})
	if err != nil {
		return err
	}

	sample := "https://example.com/photo.jpg"
	fmt.Fprintln(stdout, "ikq dev is running. Ctrl-C stops it.")
	fmt.Fprintf(stdout, "  API          %s/v1/uploads\n", api.URL)
	fmt.Fprintf(stdout, "  Dashboard    %s/monitoring/\n", api.URL)
	fmt.Fprintf(stdout, "  Metrics      %s/metrics\n", api.URL)
	fmt.Fprintf(stdout, "  Redis        %s%s\n", deps.redisCfg.String(), redisNote)
	if emuURL != "" {
		sample = emuURL + "/_emulator/sample.jpg"
		fmt.Fprintf(stdout, "  ImageKit     %s (the emulator; set IMAGEKIT_PRIVATE_KEY to upload to ImageKit)\n", emuURL)
	} else {
		fmt.Fprintf(stdout, "  ImageKit     %s\n", uploadURL)
	}
	fmt.Fprintf(stdout, "\nEnqueue an upload, then read its record:\n"+
		"  curl -s -X POST %s/v1/uploads -H 'Content-Type: application/json' \\\n"+
		"    -d '{\"file\": \"%s\", \"fileName\": \"photo.jpg\"}'\n"+
		"  curl -s %s/v1/uploads/<id>\n\n", api.URL, sample, api.URL)
	return w.Run(ctx)
}

// startDevEmulator serves the emulator on addr until the returned stop is called.
func startDevEmulator(addr, key, accountWebhookURL, accountSecret string, log *slog.Logger) (url string, stop func(), err error) {
	emu, err := emulator.New(emulator.Config{
		PrivateKey: key, AccountWebhookURL: accountWebhookURL, AccountWebhookSecret: accountSecret,
		Logger: log.With("component", "emulator"),
	})
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		emu.Close()
		return "", nil, fmt.Errorf("emulator: %w (set --emulator-listen to another address)", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := serve(ctx, ln, emu, log); err != nil {
			log.Error("emulator stopped", "err", err)
		}
	}()
	return "http://" + displayAddr(ln.Addr()), func() { cancel(); <-done; emu.Close() }, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// devRedis starts a private redis-server when one is installed, else an embedded
// Redis, and returns its URL and how to stop it.
func devRedis(log *slog.Logger) (url, note string, stop func(), err error) {
	if _, lerr := redisproc.LookPath(); lerr == nil {
		dir, err := os.MkdirTemp("", "ikq-dev-redis-")
		if err != nil {
			return "", "", nil, err
		}
		p, err := redisproc.Start(redisproc.Options{Dir: dir})
		if err != nil {
			os.RemoveAll(dir)
			return "", "", nil, fmt.Errorf("starting redis-server: %w", err)
		}
		return "redis://" + p.Addr() + "/0", " (a private redis-server; its data goes when ikq dev stops)",
			func() { p.Stop(); os.RemoveAll(dir) }, nil
	}
	m, err := miniredis.Run()
	if err != nil {
		return "", "", nil, fmt.Errorf("starting embedded Redis: %w", err)
	}
	log.Warn("redis-server is not installed: using an embedded Redis. NOTHING SURVIVES A RESTART. Install redis-server or set REDIS_URL.")
	return "redis://" + m.Addr() + "/0", " (EMBEDDED: nothing survives a restart)", m.Close, nil
}
