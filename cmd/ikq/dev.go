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
	"github.com/ikq-dev/ikq/internal/httpserve"
	"github.com/ikq-dev/ikq/internal/netguard"
	"github.com/ikq-dev/ikq/internal/redisproc"
)

// devCommand is the configuration of `ikq dev`: the API's and a worker's settings,
// as `ikq api` and `ikq worker` read them, and the emulator's address.
type devCommand struct {
	c         common
	a         apiSettings
	w         workerSettings
	emuListen string
}

func newDevCommand(stderr io.Writer) (*flag.FlagSet, *devCommand) {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr) // where -h prints
	cmd := &devCommand{}
	// One set of flags for both roles: the settings they share (public URL, webhook
	// secrets) are one flag filling both.
	cmd.c.register(fs)
	cmd.a.register(fs, "127.0.0.1:8080")
	cmd.w.register(fs)
	define(fs, settingDef{Flag: "emulator-listen", Env: "IKQ_EMULATOR_LISTEN", Default: "127.0.0.1:9090",
		Doc: "address of the ImageKit emulator, the upload target when IMAGEKIT_PRIVATE_KEY is not set", Parse: addrValue(&cmd.emuListen, false)})
	return fs, cmd
}

// runDev runs the whole stack in one process for a newcomer: Redis, the emulator as
// upload target (unless IMAGEKIT_PRIVATE_KEY is set) and a worker.
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cmd := newDevCommand(stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c, a, ws, emuListen := cmd.c, cmd.a, cmd.w, cmd.emuListen
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
	redisNote := ""
	if !configured(fs, "redis-url") {
		u, note, stop, err := devRedis(log)
		if err != nil {
			return err
		}
		c.redisURL, redisNote = u, note
		stops = append(stops, stop)
	}
	deps, err := openDeps(ctx, c, a.capabilitySecret, stderr)
	if err != nil {
		return err
	}
	stops = append(stops, deps.close)

	// Without a key, the emulator is ImageKit: its account events are signed with a
	// secret made for this run, which the receiver is given too.
	if ws.privateKey == "" && a.webhookSecret == "" {
		a.webhookSecret = "dev_" + randomHex(24)
		ws.webhookSecret = a.webhookSecret
	}
	apiCtx, stopAPI := context.WithCancel(context.Background())
	api, err := startAPI(apiCtx, a, deps)
	if err != nil {
		stopAPI()
		return err
	}
	stops = append(stops, func() { stopAPI(); <-api.done }) //nolint:errcheck // at shutdown only the wait for the server matters
	public := publicURL(a.publicURL, strings.TrimPrefix(api.URL, "http://"))

	// Upload target: ImageKit with a key, else the emulator.
	emuURL := ""
	if ws.privateKey == "" {
		ws.privateKey = "private_dev"
		u, stop, err := startDevEmulator(emuListen, ws.privateKey, public+"/webhooks/imagekit", a.webhookSecret, ws.fetchAllow, log)
		if err != nil {
			return err
		}
		emuURL, ws.uploadURL, ws.apiURL = u, u+"/api/v1/files/upload", u
		stops = append(stops, stop)
	}

	// enqueue, status and bulk find this Redis (and the emulator, when it is the upload
	// target) through the file while dev runs.
	dev := devFile{RedisURL: c.redisURL}
	if emuURL != "" {
		dev.EmulatorURL, dev.PrivateKey = emuURL, ws.privateKey
	}
	if remove, err := writeDevFile(dev); err != nil {
		log.Warn("cannot record this Redis for other ikq commands", "err", err)
	} else {
		stops = append(stops, remove)
	}

	// On a developer's machine sources and callbacks are usually local servers.
	ws.retention = c.store.retention
	ws.waitReplicas, ws.waitTimeout = c.store.waitReplicas, c.store.waitTimeout
	w, closeWorker, err := buildWorker(ws, deps.redis, deps.registry, log.With("component", "worker"),
		func(id string) string { return deps.capability.URL(public, id) }, "127.0.0.0/8", "::1")
	if err != nil {
		return workerConfigError(err)
	}
	stops = append(stops, closeWorker)

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
		fmt.Fprintf(stdout, "  ImageKit     %s\n", ws.uploadURL)
	}
	fmt.Fprintf(stdout, "\nEnqueue an upload, then read its record:\n"+
		"  curl -s -X POST %s/v1/uploads -H 'Content-Type: application/json' \\\n"+
		"    -d '{\"file\": \"%s\", \"fileName\": \"photo.jpg\"}'\n"+
		"  curl -s %s/v1/uploads/<id>\n\n", api.URL, sample, api.URL)
	return w.Run(ctx)
}

// startDevEmulator serves the emulator on addr until the returned stop is called.
// Its downloader (file=<url>) reaches loopback, where ikq dev's sources are, and what
// --fetch-allow names, like the worker's.
func startDevEmulator(addr, key, accountWebhookURL, accountSecret, fetchAllow string, log *slog.Logger) (url string, stop func(), err error) {
	allow, err := netguard.ParseAllow(fetchAllow)
	if err != nil {
		return "", nil, usageError{"IKQ_FETCH_ALLOW / -fetch-allow: " + err.Error()}
	}
	emu, err := emulator.New(emulator.Config{
		PrivateKey: key, AccountWebhookURL: accountWebhookURL, AccountWebhookSecret: accountSecret,
		FetchAllow: append([]string{"127.0.0.0/8", "::1"}, allow...),
		Logger:     log.With("component", "emulator"),
	})
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = emu.Close()
		return "", nil, fmt.Errorf("emulator: %w (set --emulator-listen to another address)", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := httpserve.Serve(ctx, ln, emu, emulatorLimits, log); err != nil {
			log.Error("emulator stopped", "err", err)
		}
	}()
	return "http://" + displayAddr(ln.Addr()), func() { cancel(); <-done; _ = emu.Close() }, nil
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
			_ = os.RemoveAll(dir)
			return "", "", nil, fmt.Errorf("starting redis-server: %w", err)
		}
		return "redis://" + p.Addr() + "/0", " (a private redis-server; its data goes when ikq dev stops)",
			func() { p.Stop(); _ = os.RemoveAll(dir) }, nil
	}
	m, err := miniredis.Run()
	if err != nil {
		return "", "", nil, fmt.Errorf("starting embedded Redis: %w", err)
	}
	log.Warn("redis-server is not installed: using an embedded Redis. NOTHING SURVIVES A RESTART. Install redis-server or set REDIS_URL.")
	return "redis://" + m.Addr() + "/0", " (EMBEDDED: nothing survives a restart)", m.Close, nil
}
