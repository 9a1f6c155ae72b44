package bulk

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/tasks"
)

// writePNG writes a small PNG image at p, creating its folders.
func writePNG(t testing.TB, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.RGBA{R: uint8(len(p)), A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWalkDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []string{"a.png", "sub/b.png", ".hidden/c.png", "My Photos/2024.05/e.png"} {
		writePNG(t, filepath.Join(dir, f))
	}
	writeFile(t, filepath.Join(dir, ".x"), "x")
	outside := filepath.Join(t.TempDir(), "o.png")
	writePNG(t, outside)
	for link, target := range map[string]string{
		"in.png":   filepath.Join(dir, "sub/b.png"), // a file inside: followed
		"out.png":  outside,                         // outside: skipped
		"dirlink":  filepath.Join(dir, "sub"),       // a folder: skipped
		"dead.png": filepath.Join(dir, "nothing"),   // dangling: skipped
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	src, err := newDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	var skipped []string
	src.skipped = func(s string) { skipped = append(skipped, s) }
	var got []string
	err = src.items(t.Context(), func(it *item) error {
		got = append(got, fmt.Sprintf("%s %s %s %s %s", strings.TrimPrefix(it.path, dir), it.ref, it.job.Folder, it.job.FileName, strings.TrimPrefix(it.job.File, "file://"+dir)))
		if it.size <= 0 {
			t.Errorf("%s: no size", it.path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/My Photos/2024.05/e.png file:My Photos/2024.05/e.png /My_Photos/2024_05 e.png /My%20Photos/2024.05/e.png",
		"/a.png file:a.png / a.png /a.png",
		"/in.png file:in.png / in.png /in.png",
		"/sub/b.png file:sub/b.png /sub b.png /sub/b.png",
	}
	if !slices.Equal(got, want) {
		t.Errorf("items\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	all := strings.Join(skipped, "\n")
	if len(skipped) != 2 || !strings.Contains(all, "out.png: a symlink that leads outside") || !strings.Contains(all, "dead.png: ") {
		t.Errorf("skipped:\n%s\nwant out.png and dead.png", all)
	}

	// A canceled walk stops with the cancellation.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := src.items(ctx, func(*item) error { return nil }); err == nil {
		t.Error("a canceled walk returned no error")
	}
}

func TestItemKeys(t *testing.T) {
	t.Parallel()
	it := func(mutate func(*item)) *item {
		i := &item{path: "d/a.png", ref: "file:a.png", size: 10, job: &tasks.Upload{File: "file:///data/a.png", FileName: "a.png", Folder: "/x",
			Run: "r1", CustomMetadata: map[string]any{"a": 1.0, "b": "two"}}}
		if mutate != nil {
			mutate(i)
		}
		return i
	}
	base := itemKey(it(nil))
	if !regexp.MustCompile(`^bulk:[0-9a-f]{32}$`).MatchString(base) {
		t.Errorf("key %q, want bulk: and 32 hex digits", base)
	}
	if again := itemKey(it(func(i *item) {
		i.job.CustomMetadata = map[string]any{"b": "two", "a": 1.0} // the same map
		i.job.IdempotencyKey = "ignored"
	})); again != base {
		t.Errorf("the same item gave keys %s and %s", base, again)
	}
	for name, k := range map[string]string{
		"another source": itemKey(it(func(i *item) { i.ref = "file:b.png" })),
		"another size":   itemKey(it(func(i *item) { i.size = 11 })),
		"another folder": itemKey(it(func(i *item) { i.job.Folder = "/y" })),
		"another run":    itemKey(it(func(i *item) { i.job.Run = "r2" })),
		"a tag":          itemKey(it(func(i *item) { i.job.Tags = []string{"t"} })),
	} {
		if k == base {
			t.Errorf("%s gave the same key", name)
		}
	}
}

func TestPrepare(t *testing.T) {
	t.Parallel()
	no, yes := false, true
	plan := &Plan{Folder: "/imports", FolderSet: true, Tags: []string{"bulk", "x"}, Queue: "low",
		MaxAttempts: 3, CallbackURL: "https://app.example.com/done", Run: "r1"}
	items := []*item{
		{path: "d/a.png", ref: "file:a.png", size: 1, job: &tasks.Upload{File: "file:///d/a.png", FileName: "a.png", Folder: "/sub"}},
		{line: 1, ref: "https://example.com/a.jpg", job: &tasks.Upload{File: "https://example.com/a.jpg", FileName: "a.jpg", Folder: "shop", Tags: []string{"x"}, Queue: "critical", IfExists: "fail"}},
		{line: 2, ref: "https://example.com/b.jpg", job: &tasks.Upload{File: "https://example.com/b.jpg", FileName: "b.jpg", IdempotencyKey: "mine", UseUniqueFileName: &yes}},
		{line: 3, job: &tasks.Upload{File: "https://example.com/c.jpg", FileName: "c.jpg", Folder: "../up"}},
		{line: 4, err: fmt.Errorf("line 4: bad")},
	}
	for _, it := range items {
		plan.prepare(it, tasks.ValidateOptions{AllowFile: true})
	}
	a, b, c := items[0].job, items[1].job, items[2].job
	if a.Folder != "/imports/sub" || b.Folder != "/imports/shop" || c.Folder != "/imports" {
		t.Errorf("folders %q %q %q, want /imports/sub /imports/shop /imports", a.Folder, b.Folder, c.Folder)
	}
	if !slices.Equal(b.Tags, []string{"x", "bulk"}) || b.Queue != "critical" || a.Queue != "low" {
		t.Errorf("line 1: tags %q queue %q; file: queue %q", b.Tags, b.Queue, a.Queue)
	}
	if a.MaxAttempts != 3 || a.CallbackURL != plan.CallbackURL || a.Run != "r1" || a.IfExists != "skip" || b.IfExists != "fail" {
		t.Errorf("the jobs did not get the shared options: %+v\n%+v", a, b)
	}
	// Names are kept, and a unique name comes from the source, not the job.
	if a.FileName != "a.png" || a.UseUniqueFileName == nil || *a.UseUniqueFileName {
		t.Errorf("file's name %q unique %v, want a.png as is", a.FileName, a.UseUniqueFileName)
	}
	if c.FileName != uniqueName("b.jpg", "https://example.com/b.jpg") || c.UseUniqueFileName == nil || *c.UseUniqueFileName ||
		!regexp.MustCompile(`^b_[A-Za-z0-9]{9}\.jpg$`).MatchString(c.FileName) {
		t.Errorf("line 2 asked for a unique name: %q (unique %v), want b_ and a suffix from its source, and the name taken as is", c.FileName, c.UseUniqueFileName)
	}
	if c.IdempotencyKey != "mine" || !strings.HasPrefix(a.IdempotencyKey, "bulk:") || !strings.HasPrefix(b.IdempotencyKey, "bulk:") {
		t.Errorf("keys %q %q %q; want derived ones, and the item's own kept", a.IdempotencyKey, b.IdempotencyKey, c.IdempotencyKey)
	}
	if err := items[3].err; err == nil || !strings.HasPrefix(err.Error(), "line 3: folder") {
		t.Errorf("line 3 (folder ../up): %v, want it invalid, naming folder", err)
	}
	if items[4].err.Error() != "line 4: bad" {
		t.Errorf("line 4's error changed: %v", items[4].err)
	}

	// --unique: every name gets its source's suffix, the same in every run.
	uplan := &Plan{Folder: "/", Unique: &yes, Run: "r2"}
	x := &item{path: "d/a.png", ref: "file:a.png", job: &tasks.Upload{File: "file:///d/a.png", FileName: "a.png"}}
	y := &item{path: "d/a.png", ref: "file:a.png", job: &tasks.Upload{File: "file:///d/a.png", FileName: "a.png"}}
	uplan.prepare(x, tasks.ValidateOptions{AllowFile: true})
	(&Plan{Folder: "/", Unique: &yes, Run: "r3"}).prepare(y, tasks.ValidateOptions{AllowFile: true})
	if x.job.FileName == "a.png" || x.job.FileName != y.job.FileName {
		t.Errorf("unique names %q and %q in two runs, want one suffixed name", x.job.FileName, y.job.FileName)
	}
	// An item that says no keeps its name.
	z := &item{line: 1, ref: "r", job: &tasks.Upload{File: "https://example.com/a.jpg", FileName: "a.jpg", UseUniqueFileName: &no}}
	uplan.prepare(z, tasks.ValidateOptions{})
	if z.job.FileName != "a.jpg" {
		t.Errorf("an item with useUniqueFileName=false got %q", z.job.FileName)
	}

	// Without -folder, a manifest item keeps its folder, and a folder's files go under /.
	m := &item{line: 1, job: &tasks.Upload{File: "https://example.com/a.jpg", FileName: "a.jpg", Folder: "/shop"}}
	d := &item{path: "d/a.png", job: &tasks.Upload{File: "file:///d/a.png", FileName: "a.png", Folder: "/sub"}}
	for _, it := range []*item{m, d} {
		(&Plan{Folder: "/"}).prepare(it, tasks.ValidateOptions{AllowFile: true})
	}
	if m.job.Folder != "/shop" || d.job.Folder != "/sub" {
		t.Errorf("folders %q %q, want /shop /sub", m.job.Folder, d.job.Folder)
	}
}

func TestGroups(t *testing.T) {
	t.Parallel()
	var g groups
	for i := range 13 {
		msg := "checks failed"
		if (i+1)%4 == 0 {
			msg = "too large"
		}
		g.add(msg, fmt.Sprintf("line %d", i+1))
	}
	var b bytes.Buffer
	g.print(&b)
	want := "  10× checks failed (line 1, line 2, line 3, …)\n  3× too large (line 4, line 8, line 12)\n"
	if b.String() != want {
		t.Errorf("grouped:\n%s\nwant\n%s", b.String(), want)
	}
	var few groups
	few.add("checks failed", "line 1")
	few.add("checks failed", "line 2")
	b.Reset()
	few.print(&b)
	if want := "  line 1: checks failed\n  line 2: checks failed\n"; b.String() != want {
		t.Errorf("listed:\n%s\nwant\n%s", b.String(), want)
	}
	// Distinct reasons are bounded.
	var many groups
	for i := range maxGroups + 50 {
		many.add(fmt.Sprintf("reason %d", i), "x")
	}
	if len(many.order) != maxGroups+1 || many.other == nil || many.other.n != 50 {
		t.Errorf("%d groups kept, other %+v; want %d and 50 in other", len(many.order), many.other, maxGroups+1)
	}
}

func TestProgress(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newProgress(&b, "finished", 5*time.Second)
	if p.tty || b.Len() != 0 {
		t.Fatalf("a buffer is a terminal, or the progress drew at once: %q", b.String())
	}
	p.now = func() time.Time { return now }
	p.start, p.drawn = now, now
	for range 4 {
		p.itemFound(1_000_000)
	}
	p.itemDone(1_000_000, false) // within the interval: nothing
	if b.Len() != 0 {
		t.Fatalf("drew within the interval: %q", b.String())
	}
	now = now.Add(10 * time.Second)
	p.itemDone(1_000_000, true)
	want := "finished 2/4+, 2.0 MB/4.0 MB, 0.2 files/s, 0.2 MB/s, 1 failed\n"
	if b.String() != want {
		t.Errorf("progress wrote %q, want %q", b.String(), want)
	}
	p.sourceDone()
	if got := p.line(); !strings.Contains(got, "finished 2/4,") || !strings.Contains(got, "ETA 10s") {
		t.Errorf("with the total known: %q, want 2/4 and an ETA of 10s", got)
	}
	b.Reset()
	p.finish()
	p.finish()
	if b.Len() != 0 {
		t.Errorf("finish wrote %q off a terminal; the summary says it", b.String())
	}
}
