package rclone

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/rclone/rclone/backend/local" // the source of rclone copy
	"github.com/rclone/rclone/fs"
	"github.com/rclone/rclone/fs/sync"

	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// The tree every contender moves: small PNGs in folders, as a migration has them.
const (
	benchFolders     = 15
	benchPerFolder   = 100
	benchConcurrency = 32
	// The sequential loop moves only the first files of the tree: at 100 ms a file,
	// the whole tree would take minutes and its rate is the same.
	loopFiles = 250
)

// BenchmarkMigration compares, on one tree of 1500 small files and with the emulator
// answering each upload at once and after 100 ms:
//
//   - ikq bulk --wait --mode local --concurrency 32: the setup of one machine with a
//     Redis (a real redis-server): jobs recorded in Redis, uploaded by a worker inside
//     the bulk process. Its own process, timed from start to exit.
//   - the same command again on the unchanged tree: a new run whose every job finds
//     its file through the files API and is skipped.
//   - a sequential loop, one multipart upload per file, as ImageKit's docs suggest.
//   - rclone's ImageKit backend, rclone copy DIR IK:/rclone --transfers 32, first and
//     again, through rclone's library (fs/sync.CopyDir, what `rclone copy` calls), in
//     this process.
//
// Each contender gets an empty emulator. The table is printed at the end; the
// figures are rates, never asserted.
func BenchmarkMigration(b *testing.B) {
	tree := b.TempDir()
	n := writeTree(b, tree)
	bin := buildIkq(b)
	emu := newSwitchEmulator(b)
	// Go reads the proxy and CA settings once per process: set them before any request.
	proxy, ca := startMITM(b, emu.url)
	b.Setenv("HTTPS_PROXY", proxy)
	b.Setenv("SSL_CERT_FILE", ca)
	b.Setenv("RCLONE_CONFIG_IK_TYPE", "imagekit")
	b.Setenv("RCLONE_CONFIG_IK_ENDPOINT", emu.url+"/emulator")
	b.Setenv("RCLONE_CONFIG_IK_PUBLIC_KEY", "public_test")
	b.Setenv("RCLONE_CONFIG_IK_PRIVATE_KEY", "private_test")
	var rows []string
	for _, latency := range []time.Duration{0, 100 * time.Millisecond} {
		b.Run("latency="+latency.String(), func(b *testing.B) {
			var r migrationRates
			for b.Loop() {
				r = migrationRates{}
				r.ikqFirst, r.ikqAgain = runIkqBulk(b, emu, bin, tree, n, latency)
				r.rcloneFirst, r.rcloneAgain = runRclone(b, emu, tree, n, latency)
				r.loop = runLoop(b, emu, tree, latency)
			}
			b.ReportMetric(r.ikqFirst, "ikq-files/s")
			b.ReportMetric(r.ikqAgain, "ikq-rerun-files/s")
			b.ReportMetric(r.rcloneFirst, "rclone-files/s")
			b.ReportMetric(r.rcloneAgain, "rclone-rerun-files/s")
			b.ReportMetric(r.loop, "loop-files/s")
			rows = append(rows, r.rows(latency)...)
		})
	}
	fmt.Printf("\n%d files in %d folders, concurrency %d (the sequential loop: the first %d files)\n",
		n, benchFolders, benchConcurrency, loopFiles)
	fmt.Printf("%-9s %-40s %10s %12s\n", "latency", "", "files/s", "ikq/rclone")
	for _, row := range rows {
		fmt.Println(row)
	}
}

type migrationRates struct {
	ikqFirst, ikqAgain, rcloneFirst, rcloneAgain, loop float64
}

func (r migrationRates) rows(latency time.Duration) []string {
	ideal := "-"
	if latency > 0 {
		ideal = fmt.Sprintf("%.0f", benchConcurrency/latency.Seconds())
	}
	l := latency.String()
	return []string{
		fmt.Sprintf("%-9s %-40s %10.0f %12.2f", l, "ikq bulk --wait (local), first run", r.ikqFirst, r.ikqFirst/r.rcloneFirst),
		fmt.Sprintf("%-9s %-40s %10.0f %12s", l, "rclone copy --transfers 32, first run", r.rcloneFirst, ""),
		fmt.Sprintf("%-9s %-40s %10.0f %12.2f", l, "ikq bulk --wait, unchanged re-run", r.ikqAgain, r.ikqAgain/r.rcloneAgain),
		fmt.Sprintf("%-9s %-40s %10.0f %12s", l, "rclone copy, unchanged re-run", r.rcloneAgain, ""),
		fmt.Sprintf("%-9s %-40s %10.0f %12s", l, "sequential loop (SDK style)", r.loop, ""),
		fmt.Sprintf("%-9s %-40s %10s %12s", l, "ideal: concurrency / latency", ideal, ""),
	}
}

// runIkqBulk runs ikq bulk twice on tree into a fresh emulator and Redis, and returns
// the files per second of each run.
func runIkqBulk(b *testing.B, emu *switchEmulator, bin, tree string, n int, latency time.Duration) (first, again float64) {
	emu.reset(b, latency)
	r := redistest.New(b)
	run := func() float64 {
		cmd := exec.Command(bin, "bulk", "--wait", "--mode", "local", "--concurrency", fmt.Sprint(benchConcurrency), "--folder", "/ikq", tree)
		cmd.Env = append(cleanEnv(),
			"HOME="+b.TempDir(),
			"REDIS_URL="+r.URL(),
			"IMAGEKIT_PRIVATE_KEY=private_test",
			"IMAGEKIT_UPLOAD_URL="+emu.url+"/api/v1/files/upload",
			"IMAGEKIT_API_URL="+emu.url,
		)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("ikq bulk: %v\n%s", err, stderr.String())
		}
		return float64(n) / time.Since(start).Seconds()
	}
	first = run()
	emu.expect(b, "ikq bulk, first run", n, n)
	again = run()
	emu.expect(b, "ikq bulk, re-run", n, n)
	return first, again
}

// runRclone copies tree with rclone twice into a fresh emulator.
func runRclone(b *testing.B, emu *switchEmulator, tree string, n int, latency time.Duration) (first, again float64) {
	emu.reset(b, latency)
	ctx, ci := fs.AddConfig(context.Background())
	ci.Transfers = benchConcurrency
	ci.LogLevel = fs.LogLevelError
	run := func() float64 {
		start := time.Now()
		src, err := fs.NewFs(ctx, tree)
		if err != nil {
			b.Fatal(err)
		}
		dst, err := fs.NewFs(ctx, "IK:rclone")
		if err != nil {
			b.Fatal(err)
		}
		if err := sync.CopyDir(ctx, dst, src, false); err != nil {
			b.Fatal("rclone copy:", err)
		}
		return float64(n) / time.Since(start).Seconds()
	}
	first = run()
	emu.expect(b, "rclone copy, first run", n, n)
	again = run()
	emu.expect(b, "rclone copy, re-run", n, n)
	return first, again
}

// runLoop uploads the first loopFiles files of tree one after another, one
// multipart request each, and returns its files per second.
func runLoop(b *testing.B, emu *switchEmulator, tree string, latency time.Duration) float64 {
	emu.reset(b, latency)
	var paths []string
	filepath.WalkDir(tree, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && len(paths) < loopFiles {
			paths = append(paths, p)
		}
		return err
	})
	client := &http.Client{}
	start := time.Now()
	for _, p := range paths {
		content, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		rel, _ := filepath.Rel(tree, filepath.Dir(p))
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("fileName", filepath.Base(p))
		mw.WriteField("folder", "/loop/"+filepath.ToSlash(rel))
		mw.WriteField("useUniqueFileName", "false")
		fw, _ := mw.CreateFormFile("file", filepath.Base(p))
		fw.Write(content)
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, emu.url+"/api/v1/files/upload", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.SetBasicAuth("private_test", "")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("upload %s: status %d", p, resp.StatusCode)
		}
	}
	rate := float64(len(paths)) / time.Since(start).Seconds()
	emu.expect(b, "sequential loop", len(paths), len(paths))
	return rate
}

// switchEmulator serves, at one address, an emulator replaced by reset: each
// contender starts from an empty media library, and rclone, whose proxy and CA live
// as long as the process, keeps the same URL.
type switchEmulator struct {
	url string
	cur atomic.Pointer[emulator.Server]
}

func newSwitchEmulator(b *testing.B) *switchEmulator {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	e := &switchEmulator{url: "http://" + ln.Addr().String()}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.cur.Load().ServeHTTP(w, r)
	})}
	go hs.Serve(ln)
	b.Cleanup(func() {
		hs.Close()
		if s := e.cur.Load(); s != nil {
			s.Close()
		}
	})
	return e
}

// reset replaces the emulator with an empty one that answers uploads after latency.
func (e *switchEmulator) reset(b *testing.B, latency time.Duration) {
	srv, err := emulator.New(emulator.Config{
		PrivateKey: "private_test", PublicURL: e.url,
		Faults: emulator.FaultConfig{Latency: latency},
	})
	if err != nil {
		b.Fatal(err)
	}
	if old := e.cur.Swap(srv); old != nil {
		old.Close()
	}
}

// expect checks that the emulator holds files files after uploads uploads: a re-run
// that uploaded anything again would not be a re-run.
func (e *switchEmulator) expect(b *testing.B, what string, files, uploads int) {
	resp, err := http.Get(e.url + "/_emulator/stats")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var st emulator.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		b.Fatal(err)
	}
	if st.Files != files || st.Uploads != int64(uploads) {
		b.Fatalf("after %s: the emulator holds %d files after %d uploads, want %d after %d", what, st.Files, st.Uploads, files, uploads)
	}
}

// writeTree writes benchFolders folders of benchPerFolder distinct small PNGs.
func writeTree(b *testing.B, dir string) int {
	n := 0
	for f := range benchFolders {
		d := filepath.Join(dir, fmt.Sprintf("album-%02d", f))
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		for i := range benchPerFolder {
			img := image.NewNRGBA(image.Rect(0, 0, 8, 8))
			for p := range 64 {
				img.Set(p%8, p/8, color.NRGBA{uint8(f), uint8(i), uint8(p), 255})
			}
			var buf bytes.Buffer
			if err := png.Encode(&buf, img); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("photo-%03d.png", i)), buf.Bytes(), 0o644); err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	return n
}

// buildIkq builds the ikq command of the enclosing module.
func buildIkq(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "ikq")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/ikq")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building ikq: %v\n%s", err, out)
	}
	return bin
}

// cleanEnv is this process's environment without what would point ikq elsewhere.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "IMAGEKIT_") || strings.HasPrefix(k, "IKQ_") || strings.HasPrefix(k, "RCLONE_") ||
			k == "REDIS_URL" || k == "HTTPS_PROXY" || k == "SSL_CERT_FILE" || k == "HOME" || k == "XDG_CACHE_HOME" {
			continue
		}
		env = append(env, kv)
	}
	return env
}
