package rclone

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/rclone/rclone/backend/imagekit"
	"github.com/rclone/rclone/fs"
	"github.com/rclone/rclone/fs/object"
	"github.com/rclone/rclone/fs/operations"
	"github.com/rclone/rclone/fstest/fstests"

	"github.com/ikq-dev/ikq/internal/emulator"
)

// setup starts an emulator and points the rclone remotes "IK:" and
// "TestImageKit:" at it.
func setup(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	// File urls name the emulator itself, not the host the proxy was asked for.
	srv, err := emulator.New(emulator.Config{PrivateKey: "private_test", PublicURL: base})
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	proxy, ca := startMITM(t, base)
	t.Setenv("HTTPS_PROXY", proxy)
	t.Setenv("SSL_CERT_FILE", ca)
	for _, remote := range []string{"IK", "TESTIMAGEKIT"} {
		t.Setenv("RCLONE_CONFIG_"+remote+"_TYPE", "imagekit")
		t.Setenv("RCLONE_CONFIG_"+remote+"_ENDPOINT", base+"/emulator")
		t.Setenv("RCLONE_CONFIG_"+remote+"_PUBLIC_KEY", "public_test")
		t.Setenv("RCLONE_CONFIG_"+remote+"_PRIVATE_KEY", "private_test")
	}
}

func names(t *testing.T, f fs.Fs, dir string) []string {
	t.Helper()
	entries, err := f.List(context.Background(), dir)
	if err != nil {
		t.Fatalf("List(%q): %v", dir, err)
	}
	out := []string{}
	for _, e := range entries {
		if _, ok := e.(fs.Directory); ok {
			out = append(out, e.Remote()+"/")
		} else {
			out = append(out, e.Remote())
		}
	}
	slices.Sort(out)
	return out
}

// TestOperations drives rclone's ImageKit Fs through the calls its commands make.
func TestOperations(t *testing.T) {
	setup(t)
	ctx := context.Background()
	f, err := fs.NewFs(ctx, "IK:ops/root")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Mkdir(ctx, ""); err != nil {
		t.Fatal("mkdir:", err)
	}
	if got := names(t, f, ""); len(got) != 0 {
		t.Fatalf("a new directory lists %v", got)
	}
	put := func(remote, content string) fs.Object {
		t.Helper()
		src := object.NewStaticObjectInfo(remote, time.Now(), int64(len(content)), true, nil, nil)
		o, err := f.Put(ctx, bytes.NewBufferString(content), src)
		if err != nil {
			t.Fatalf("put %s: %v", remote, err)
		}
		return o
	}
	a := put("a.txt", "hello")
	put("sub/b.txt", "nested")
	put("sub/deep/c.txt", "deeper")
	if err := f.Mkdir(ctx, "empty"); err != nil {
		t.Fatal(err)
	}
	// A listing is one level: files directly in the directory and its subdirectories.
	if got := names(t, f, ""); !slices.Equal(got, []string{"a.txt", "empty/", "sub/"}) {
		t.Errorf("ls = %v", got)
	}
	if got := names(t, f, "sub"); !slices.Equal(got, []string{"sub/b.txt", "sub/deep/"}) {
		t.Errorf("ls sub = %v", got)
	}
	if _, err := f.List(ctx, "nope"); !errors.Is(err, fs.ErrorDirNotFound) {
		t.Errorf("ls nope = %v, want ErrorDirNotFound", err)
	}

	o, err := f.NewObject(ctx, "a.txt")
	if err != nil || o.Size() != 5 || fs.MimeType(ctx, o) != "text/plain" {
		t.Fatalf("NewObject(a.txt) = %v, %v", o, err)
	}
	if _, err := f.NewObject(ctx, "sub"); !errors.Is(err, fs.ErrorIsDir) {
		t.Errorf("NewObject(sub) = %v, want ErrorIsDir", err)
	}
	rc, err := o.Open(ctx, &fs.RangeOption{Start: 1, End: 3})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "ell" {
		t.Errorf("cat with a range = %q, want %q", b, "ell")
	}
	md, err := o.(fs.Metadataer).Metadata(ctx)
	if err != nil || md["size"] != "5" || md["file-type"] != "non-image" || md["mtime"] == "" {
		t.Errorf("metadata %v, %v", md, err)
	}

	// An update is a new version, listed with --imagekit-versions.
	src := object.NewStaticObjectInfo("a.txt", time.Now(), 6, true, nil, nil)
	if err := a.Update(ctx, bytes.NewBufferString("hello2"), src); err != nil {
		t.Fatal("update:", err)
	}
	fv, err := fs.NewFs(ctx, "IK,versions=true:ops/root")
	if err != nil {
		t.Fatal(err)
	}
	if got := names(t, fv, ""); len(got) != 4 || got[1] != "a.txt" {
		t.Errorf("ls with versions = %v, want a.txt, a-v<time>.txt, empty/, sub/", got)
	}

	if err := f.Rmdir(ctx, "sub"); err == nil {
		t.Error("rmdir of a non-empty directory succeeded")
	}
	if err := f.Rmdir(ctx, "empty"); err != nil {
		t.Error("rmdir empty:", err)
	}
	o2, err := f.NewObject(ctx, "a.txt")
	if err != nil {
		t.Fatal(err)
	}
	if err := o2.Remove(ctx); err != nil {
		t.Fatal("delete:", err)
	}
	if _, err := f.NewObject(ctx, "a.txt"); !errors.Is(err, fs.ErrorObjectNotFound) {
		t.Errorf("after delete: %v, want ErrorObjectNotFound", err)
	}
	if err := operations.Purge(ctx, f, "sub"); err != nil {
		t.Fatal("purge:", err)
	}
	if got := names(t, f, ""); len(got) != 0 {
		t.Errorf("after purge: %v", got)
	}
	if err := f.Features().Purge(ctx, "sub"); !errors.Is(err, fs.ErrorDirNotFound) {
		t.Errorf("purge of a missing directory = %v, want ErrorDirNotFound", err)
	}
}

// TestIntegration is rclone's own integration suite for the ImageKit backend. It
// stops at FsPutFiles: rclone uploads "file name.txt", and the emulator stores
// "file_name.txt" as ImageKit documents for fileName (and refuses folder names with
// punctuation, which FsEncoding makes), so it runs only when asked.
func TestIntegration(t *testing.T) {
	if os.Getenv("IKQ_RCLONE_FSTESTS") == "" {
		t.Skip("set IKQ_RCLONE_FSTESTS=1 to run rclone's integration suite")
	}
	setup(t)
	// fstests looks for rclone's test server scripts relative to the working
	// directory; an empty directory says there are none.
	if err := os.MkdirAll("fstest/testserver/init.d", 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll("fstest") })
	fstests.Run(t, &fstests.Opt{
		RemoteName:      "TestImageKit:",
		NilObject:       (*imagekit.Object)(nil),
		SkipFsCheckWrap: true,
	})
}
