package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"

	"github.com/alicebob/miniredis/v2"

	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/imagekit"
	"github.com/ikq-dev/ikq/internal/redisproc"
	"github.com/ikq-dev/ikq/internal/redisurl"
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
		emuListen   string
		concurrency int
		fileRoot    string
	)
	c.register(fs)
	fs.StringVar(&emuListen, "emulator-listen", envOr("IKQ_EMULATOR_LISTEN", "127.0.0.1:9090"), "address of the ImageKit emulator (IKQ_EMULATOR_LISTEN)")
	fs.IntVar(&concurrency, "concurrency", envInt("IKQ_CONCURRENCY", 8), "uploads in flight (IKQ_CONCURRENCY)")
	fs.StringVar(&fileRoot, "file-root", envOr("IKQ_FILE_ROOT", ""), "directory under which file:// sources are allowed (IKQ_FILE_ROOT)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}

	// Redis: REDIS_URL, else a private redis-server, else embedded.
	redisURL := c.redisURL
	if redisURL == "" {
		redisURL = os.Getenv("REDIS_URL")
	}
	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()
	redisNote := ""
	if redisURL == "" {
		u, note, stop, err := devRedis(log)
		if err != nil {
			return err
		}
		redisURL, redisNote = u, note
		stops = append(stops, stop)
	}
	rcfg, err := redisurl.Parse(redisURL)
	if err != nil {
		return usageError{err.Error()}
	}
	rdb := rcfg.Client()
	stops = append(stops, func() { rdb.Close() })

	// Upload target: ImageKit with a key, else the emulator.
	key := os.Getenv("IMAGEKIT_PRIVATE_KEY")
	uploadURL := envOr("IMAGEKIT_UPLOAD_URL", defaultUploadURL)
	var wg sync.WaitGroup
	emuURL := ""
	if key == "" {
		key = "private_dev"
		emu, err := emulator.New(emulator.Config{PrivateKey: key, Logger: log.With("component", "emulator")})
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", emuListen)
		if err != nil {
			return fmt.Errorf("emulator: %w (set --emulator-listen to another address)", err)
		}
		emuURL = "http://" + ln.Addr().String()
		uploadURL = emuURL + "/api/v1/files/upload"
		emuCtx, stopEmu := context.WithCancel(context.Background())
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := serve(emuCtx, ln, emu, log); err != nil {
				log.Error("emulator stopped", "err", err)
			}
		}()
		stops = append(stops, func() { stopEmu(); wg.Wait(); emu.Close() })
	}

	w, err := worker.New(worker.Config{
		Redis:       rdb,
		ImageKit:    &imagekit.Client{UploadURL: uploadURL, PrivateKey: key},
		Sources:     source.New(source.Config{FileRoot: fileRoot}),
		Concurrency: concurrency,
		Logger:      log.With("component", "worker"),
	})
	if err != nil {
		return err
	}

	fmt.Fprintln(stdout, "ikq dev is running. Ctrl-C stops it.")
	fmt.Fprintf(stdout, "  Redis        %s%s\n", rcfg.String(), redisNote)
	if emuURL != "" {
		fmt.Fprintf(stdout, "  ImageKit     %s (the emulator; set IMAGEKIT_PRIVATE_KEY to upload to ImageKit)\n", emuURL)
		fmt.Fprintf(stdout, "  Files        %s/emulator/<path>\n", emuURL)
	} else {
		fmt.Fprintf(stdout, "  ImageKit     %s\n", uploadURL)
	}
	sample := "https://example.com/photo.jpg"
	if emuURL != "" {
		sample = emuURL + "/_emulator/sample.jpg"
	}
	fmt.Fprintf(stdout, "\nEnqueue an upload and follow it:\n  go run ./cmd/ikq enqueue --redis-url %s --file %s --file-name photo.jpg --wait\n\n", rcfg.String(), sample)
	return w.Run(ctx)
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
