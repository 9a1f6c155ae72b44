package objstore_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ikq-dev/ikq/internal/objstore"
	"github.com/ikq-dev/ikq/internal/objstore/s3test"
	"github.com/ikq-dev/ikq/internal/source"
)

// TestS3 reads from a real S3-compatible server.
func TestS3(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	srv.CreateBucket(t, "photos")
	photo := pngBytes(300 << 10)
	srv.Put(t, "photos", "dir/photo.png", photo, "image/png")
	srv.Put(t, "photos", "untyped/photo", photo, "") // S3 types it binary/octet-stream
	srv.Put(t, "photos", "with space/ünïcode + plus.jpg", []byte("jpeg?"), "image/jpeg")
	o, _ := newOpener(t, s3Config(srv))

	t.Run("streams the object", func(t *testing.T) {
		t.Parallel()
		src, err := o.Open(t.Context(), "s3://photos/dir/photo.png")
		if err != nil {
			t.Fatal(err)
		}
		got := readAll(t, src)
		if !bytes.Equal(got, photo) {
			t.Errorf("read %d bytes, not the %d stored", len(got), len(photo))
		}
		if src.Name != "photo.png" || src.Size != int64(len(photo)) || src.ContentType != "image/png" {
			t.Errorf("Name %q, Size %d, ContentType %q; want photo.png, %d, image/png", src.Name, src.Size, src.ContentType, len(photo))
		}
	})
	t.Run("sniffs an untyped object", func(t *testing.T) {
		t.Parallel()
		src, err := o.Open(t.Context(), "s3://photos/untyped/photo")
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, src); !bytes.Equal(got, photo) {
			t.Errorf("read %d bytes, not the %d stored", len(got), len(photo))
		}
		if src.ContentType != "image/png" || src.Name != "photo" {
			t.Errorf("ContentType %q, Name %q; want image/png (sniffed), photo", src.ContentType, src.Name)
		}
	})
	t.Run("escaped key", func(t *testing.T) {
		t.Parallel()
		src, err := o.Open(t.Context(), "s3://photos/with%20space/%C3%BCn%C3%AFcode%20+%20plus.jpg")
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, src); string(got) != "jpeg?" || src.Name != "ünïcode + plus.jpg" {
			t.Errorf("read %q named %q", got, src.Name)
		}
	})
	t.Run("missing key", func(t *testing.T) {
		t.Parallel()
		_, err := o.Open(t.Context(), "s3://photos/dir/missing.png")
		wantError(t, err, source.KindNotFound, false, `"s3://photos/dir/missing.png"`, "no such object")
	})
	t.Run("missing bucket", func(t *testing.T) {
		t.Parallel()
		_, err := o.Open(t.Context(), "s3://nobucket/dir/photo.png")
		wantError(t, err, source.KindNotFound, false, `"s3://nobucket/dir/photo.png"`, "no such bucket")
	})
	t.Run("concurrent opens share the bucket", func(t *testing.T) {
		t.Parallel()
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Go(func() {
				src, err := o.Open(t.Context(), "s3://photos/dir/photo.png")
				if err != nil {
					errs <- err
					return
				}
				defer func() { _ = src.Body.Close() }()
				if n, err := io.Copy(io.Discard, src.Body); err != nil || n != int64(len(photo)) {
					errs <- fmt.Errorf("read %d bytes: %w", n, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
	t.Run("size cap", func(t *testing.T) {
		t.Parallel()
		small := source.New(source.Config{MaxSize: 1000})
		stores, err := objstore.Register(small, s3Config(srv))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = stores.Close() }()
		_, err = small.Open(t.Context(), "s3://photos/dir/photo.png")
		wantError(t, err, source.KindTooLarge, false)
	})
}

// TestS3Credentials checks that refused credentials fail for good.
func TestS3Credentials(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	srv.CreateBucket(t, "photos")
	srv.Put(t, "photos", "a.png", pngBytes(100), "image/png")

	for name, edit := range map[string]func(*objstore.Config){
		"wrong secret":       func(c *objstore.Config) { c.S3SecretAccessKey = "not-the-secret" },
		"unknown access key": func(c *objstore.Config) { c.S3AccessKeyID = "nobody" },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := s3Config(srv)
			edit(&cfg)
			o, _ := newOpener(t, cfg)
			_, err := o.Open(t.Context(), "s3://photos/a.png")
			wantError(t, err, source.KindForbidden, false, "access denied")
			if strings.Contains(err.Error(), "not-the-secret") {
				t.Errorf("error %q holds the secret", err)
			}
		})
	}
}

// TestS3Down checks that a server that went away is worth another attempt,
// and that the stores recover when it is back.
func TestS3Down(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	srv.CreateBucket(t, "photos")
	srv.Put(t, "photos", "a.png", pngBytes(100), "image/png")
	o, _ := newOpener(t, s3Config(srv))

	src, err := o.Open(t.Context(), "s3://photos/a.png") // the bucket is open and cached
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, src)
	srv.Stop()
	_, err = o.Open(t.Context(), "s3://photos/a.png")
	wantError(t, err, source.KindUnavailable, true, "connection refused")

	// An endpoint where nothing ever listened: the same.
	cfg := s3Config(srv)
	cfg.S3Endpoint = "http://127.0.0.1:1"
	o2, _ := newOpener(t, cfg)
	_, err = o2.Open(t.Context(), "s3://photos/a.png")
	wantError(t, err, source.KindUnavailable, true)
}

// TestS3NoCredentials checks that a worker without any S3 credentials fails
// jobs for good, saying what to set, without sending anything.
func TestS3NoCredentials(t *testing.T) {
	isolateAWS(t)
	var requests atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer ts.Close()
	o, _ := newOpener(t, objstore.Config{S3Endpoint: ts.URL, S3MaxAttempts: 1})
	_, err := o.Open(t.Context(), "s3://photos/a.png")
	wantError(t, err, source.KindForbidden, false, "no usable S3 credentials", "AWS_ACCESS_KEY_ID")
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

// isolateAWS empties the AWS SDK's environment: no keys, no files, no
// instance metadata.
func isolateAWS(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":                      "",
		"AWS_SECRET_ACCESS_KEY":                  "",
		"AWS_SESSION_TOKEN":                      "",
		"AWS_PROFILE":                            "",
		"AWS_DEFAULT_PROFILE":                    "",
		"AWS_REGION":                             "",
		"AWS_DEFAULT_REGION":                     "",
		"AWS_ENDPOINT_URL":                       "",
		"AWS_ENDPOINT_URL_S3":                    "",
		"AWS_CONFIG_FILE":                        dir + "/config",
		"AWS_SHARED_CREDENTIALS_FILE":            dir + "/credentials",
		"AWS_EC2_METADATA_DISABLED":              "true",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_ROLE_ARN":                           "",
	} {
		t.Setenv(k, v)
	}
}

// TestS3Region checks that a bucket in another region than the default is
// found through S3's redirect, once, and that a region the reference names
// is kept.
func TestS3Region(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path != "/far/a.txt" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		// The credential scope of a SigV4 Authorization header names the region.
		if !strings.Contains(r.Header.Get("Authorization"), "/eu-west-1/s3/") {
			w.Header().Set("X-Amz-Bucket-Region", "eu-west-1")
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusMovedPermanently)
			_, _ = io.WriteString(w, `<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message></Error>`)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "far away")
	}))
	defer ts.Close()
	o, _ := newOpener(t, objstore.Config{
		S3Endpoint: ts.URL, S3Region: "us-east-1", S3MaxAttempts: 1,
		S3AccessKeyID: "id", S3SecretAccessKey: "secret",
	})

	for i := range 2 {
		src, err := o.Open(t.Context(), "s3://far/a.txt")
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, src); string(got) != "far away" {
			t.Errorf("read %q", got)
		}
		if want := int32(2 + i); requests.Load() != want { // one redirect, then straight there
			t.Errorf("open %d: %d requests so far, want %d", i+1, requests.Load(), want)
		}
	}
	_, err := o.Open(t.Context(), "s3://far/a.txt?region=us-east-1")
	wantError(t, err, source.KindInvalid, false, "in region eu-west-1")
	src, err := o.Open(t.Context(), "s3://far/a.txt?region=eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, src)
}
