package objstore_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/ikq-dev/ikq/internal/objstore"
	"github.com/ikq-dev/ikq/internal/objstore/s3test"
)

// TestListS3 lists a prefix of a real S3-compatible server, page after page.
func TestListS3(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	srv.CreateBucket(t, "media")
	var want []string
	for i := range 1005 { // more than one page of 1000
		key := fmt.Sprintf("in/%04d.png", i)
		srv.Put(t, "media", key, []byte{byte(i)}, "image/png")
		want = append(want, "s3://media/"+key)
	}
	srv.Put(t, "media", "in/sub/with space.png", []byte("xy"), "image/png")
	want = append(want, "s3://media/in/sub/with%20space.png")
	srv.Put(t, "media", "out/a.png", []byte("z"), "image/png")
	_, stores := newOpener(t, s3Config(srv))

	var got []string
	var sizes int64
	err := stores.List(t.Context(), "s3://media/in/", func(o objstore.Object) error {
		got = append(got, o.Ref)
		sizes += o.Size
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("listed %d objects, want %d under in/ (first %q, last %q)", len(got), len(want), got[:min(1, len(got))], got[max(0, len(got)-1):])
	}
	if sizes != 1005+2 {
		t.Errorf("sizes add up to %d, want %d", sizes, 1005+2)
	}

	stop := errors.New("stop")
	n := 0
	if err := stores.List(t.Context(), "s3://media/", func(objstore.Object) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("a yield error: %v after %d objects, want it returned after 1", err, n)
	}
	if err := stores.List(t.Context(), "s3://No_Such/x", func(objstore.Object) error { return nil }); err == nil {
		t.Error("an invalid bucket name listed")
	}
}
