package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/worker"
)

// Ways a bulk run reaches ImageKit.
const (
	modeAuto     = "auto"
	modeEnqueue  = "enqueue"  // workers elsewhere read the sources
	modeLocal    = "local"    // a worker in this process uploads; jobs recorded in Redis
	modeEmbedded = "embedded" // no Redis: an embedded one, the run's state in a local file
)

// localQueue is the asynq queue of a run that uploads from where it runs: only its
// own worker serves it, so remote workers never take a task they cannot read.
func localQueue(run string) string { return "bulk:" + run }

// chooseMode decides how the run goes, when -mode is auto. A folder is uploaded from
// here unless IKQ_FILE_ROOT says workers share it; without Redis, an embedded one
// is used. Uploading from here needs the private key.
func chooseMode(requested, src string, redisErr error, redisGiven, haveKey bool) (string, error) {
	needKey := func(m string) error {
		if !haveKey {
			return usageError{"-mode " + m + " uploads from this machine: set IMAGEKIT_PRIVATE_KEY"}
		}
		return nil
	}
	switch requested {
	case modeEnqueue, modeLocal:
		if redisErr != nil {
			return "", redisErr
		}
		if requested == modeLocal {
			return requested, needKey(requested)
		}
		return requested, nil
	case modeEmbedded:
		return requested, needKey(requested)
	}
	if redisErr != nil {
		if redisGiven || !haveKey {
			return "", redisErr
		}
		return modeEmbedded, nil
	}
	if !haveKey || !isDir(src) {
		return modeEnqueue, nil
	}
	if root := os.Getenv("IKQ_FILE_ROOT"); root != "" && within(root, src) {
		return modeEnqueue, nil
	}
	return modeLocal, nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p) //nolint:gosec // G703: the folder the user named
	return err == nil && fi.IsDir()
}

// within reports whether p is root or under it.
func within(root, p string) bool {
	ra, err1 := filepath.Abs(root)
	pa, err2 := filepath.Abs(p)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(ra, pa)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// startLocalWorker runs a worker in this process that serves only queue, with
// concurrency upload slots, reading files under root. stop ends it.
func startLocalWorker(rdb redis.UniversalClient, target imagekitTarget, queue, root string, concurrency int,
	retention time.Duration, log *slog.Logger) (stop func(), err error) {
	allow, err := fetchAllowList(os.Getenv("IKQ_FETCH_ALLOW"))
	if err != nil {
		return nil, err
	}
	w, err := worker.New(worker.Config{
		Redis:      rdb,
		PrivateKey: target.key,
		UploadURL:  target.uploadURL,
		APIURL:     target.apiURL,
		Sources: worker.SourceConfig{
			FileRoot: root, FetchAllow: allow, S3Endpoint: os.Getenv("IKQ_S3_ENDPOINT"),
		},
		Concurrency:    concurrency,
		Queues:         map[string]int{queue: 1},
		PollInterval:   20 * time.Millisecond, // the run waits on it: notice new tasks quickly
		ShutdownGrace:  10 * time.Second,
		CallbackSecret: os.Getenv("IKQ_CALLBACK_SECRET"),
		Retention:      retention,
		Logger:         log,
	})
	if err != nil {
		return nil, workerConfigError(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
		_ = w.Close()
		// The run's queue is its own: once empty, it leaves no trace in the dashboard.
		ins := asynq.NewInspectorFromRedisClient(rdb)
		_ = ins.DeleteQueue(queue, false)
	}, nil
}

// embeddedState is the local file of a run without Redis: the Redis the run used is
// embedded and gone when it ends, so the file keeps what a re-run needs to go on as
// the same run. What is already uploaded is not in it: the re-run asks ImageKit.
type embeddedState struct {
	Run       string    `json:"run"`
	Source    string    `json:"source"`
	Folder    string    `json:"folder"`
	Done      bool      `json:"done"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// statePath is the state file of a run over src into folder, in the user's cache.
func statePath(src, folder string) (string, error) {
	abs, err := filepath.Abs(src)
	if err != nil {
		return "", err
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder for the run's state (%w): set XDG_CACHE_HOME or HOME", err)
	}
	sum := sha256.Sum256([]byte(abs + "\x00" + folder))
	return filepath.Join(dir, "ikq", "bulk", hex.EncodeToString(sum[:8])+".json"), nil
}

func readState(p string) (*embeddedState, error) {
	b, err := os.ReadFile(p) //nolint:gosec // G304: the run state file under the user's own cache folder
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s embeddedState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return &s, nil
}

func writeState(p string, s *embeddedState) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil { //nolint:gosec // G703: the user's own cache folder
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil { //nolint:gosec // G703: the user's own cache folder
		return err
	}
	return os.Rename(tmp, p) //nolint:gosec // G703: the user's own cache folder
}

// startEmbeddedRedis starts an in-process Redis for a run without one.
func startEmbeddedRedis() (redis.UniversalClient, func(), error) {
	m, err := miniredis.Run()
	if err != nil {
		return nil, nil, fmt.Errorf("starting an embedded Redis: %w", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	return rdb, func() { _ = rdb.Close(); m.Close() }, nil
}
