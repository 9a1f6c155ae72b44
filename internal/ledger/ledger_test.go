package ledger

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/imagekit"
)

// TestMain checks that no goroutine outlives the tests: the cache has none.
func TestMain(m *testing.M) { ikqtest.Main(m) }

// newLibrary is an emulator holding the given files, and a count of its listings.
func newLibrary(t *testing.T, files ...string) (*imagekit.Client, *atomic.Int64) {
	t.Helper()
	srv, err := emulator.New(emulator.Config{PrivateKey: "private_test"})
	if err != nil {
		t.Fatal(err)
	}
	var listings atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/files") {
			listings.Add(1)
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		ts.Close()
		_ = srv.Close()
	})
	ik := &imagekit.Client{UploadURL: ts.URL + "/api/v1/files/upload", APIBase: ts.URL, PrivateKey: "private_test"}
	no := false
	for n, f := range files {
		i := strings.LastIndexByte(f, '/')
		_, err := ik.Upload(t.Context(), imagekit.UploadRequest{File: bytes.NewReader(ikqtest.PNG(t, n, 2+n, 2)),
			Params: imagekit.Params{FileName: f[i+1:], Folder: f[:i], UseUniqueFileName: &no}})
		if err != nil {
			t.Fatal(err)
		}
	}
	listings.Store(0)
	return ik, &listings
}

// TestLookupListsEachFolderOnce: concurrent lookups in one folder share one listing,
// find files directly in it and not in its subfolders, and a listing is read again
// for another run, after it expired, or when asked fresh.
func TestLookupListsEachFolderOnce(t *testing.T) {
	t.Parallel()
	ik, listings := newLibrary(t, "/mig/a.png", "/mig/b.png", "/mig/sub/c.png")
	c := New()
	now := time.Now()
	var mu sync.Mutex
	c.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var wg sync.WaitGroup
	sizes := map[string]int64{"a.png": int64(len(ikqtest.PNG(t, 0, 2, 2))), "b.png": int64(len(ikqtest.PNG(t, 1, 3, 2)))}
	for _, name := range []string{"a.png", "b.png", "a.png", "b.png"} {
		wg.Go(func() {
			f, err := c.Lookup(t.Context(), ik, "r1", "/mig", name, false)
			if err != nil || f == nil || f.FilePath != "/mig/"+name || f.Size != sizes[name] {
				t.Errorf("Lookup %s = %+v, %v", name, f, err)
			}
		})
	}
	wg.Wait()
	if f, err := c.Lookup(t.Context(), ik, "r1", "/mig", "c.png", false); err != nil || f != nil {
		t.Errorf("a file of a subfolder found in its parent: %+v, %v", f, err)
	}
	if n := listings.Load(); n != 1 {
		t.Errorf("%d listings for one folder of one run, want 1", n)
	}
	if f, err := c.Lookup(t.Context(), ik, "r2", "/mig", "a.png", false); err != nil || f == nil {
		t.Errorf("another run: %+v, %v", f, err)
	}
	mu.Lock()
	now = now.Add(cacheTTL)
	mu.Unlock()
	if _, err := c.Lookup(t.Context(), ik, "r1", "/mig", "a.png", false); err != nil {
		t.Fatal(err)
	}
	if f, err := c.Lookup(t.Context(), ik, "r1", "/mig", "a.png", true); err != nil || f == nil {
		t.Errorf("fresh lookup: %+v, %v", f, err)
	}
	if n := listings.Load(); n != 4 {
		t.Errorf("%d listings; want 4: one more for another run, after expiry, and a fresh lookup", n)
	}
}

// TestCacheIsBounded: past cacheFolders listings, the oldest is dropped.
func TestCacheIsBounded(t *testing.T) {
	t.Parallel()
	ik, _ := newLibrary(t)
	c := New()
	now := time.Now()
	c.now = func() time.Time { now = now.Add(time.Millisecond); return now } // one goroutine
	for i := range cacheFolders + 10 {
		if _, err := c.Lookup(t.Context(), ik, "r", "/f"+strings.Repeat("x", i), "a.png", false); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.entries); n != cacheFolders {
		t.Errorf("%d listings kept, want %d", n, cacheFolders)
	}
	if _, ok := c.entries["r\x00/f"]; ok {
		t.Error("the oldest listing is still kept")
	}
}

func TestJoinAndCleanFolder(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "/", "/": "/", "a//b/": "/a/b", "/a": "/a"} {
		if got := CleanFolder(in); got != want {
			t.Errorf("CleanFolder(%q) = %q, want %q", in, got, want)
		}
	}
	if JoinPath("/", "x.png") != "/x.png" || JoinPath("/a/b", "x.png") != "/a/b/x.png" {
		t.Error("JoinPath")
	}
}
