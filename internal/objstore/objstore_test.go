package objstore_test

import (
	"bytes"
	"strings"
	"testing"

	"gocloud.dev/blob"

	"github.com/ikq-dev/ikq/internal/objstore"
	"github.com/ikq-dev/ikq/internal/source"
)

func TestMem(t *testing.T) {
	t.Parallel()
	o, stores := newOpener(t, objstore.Config{})
	photo := pngBytes(10 << 10)
	b := stores.MemBucket("photos")
	if err := b.WriteAll(t.Context(), "2024/cat.png", photo, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteAll(t.Context(), "notes.txt", []byte("hello"), &blob.WriterOptions{ContentType: "text/plain; charset=utf-8"}); err != nil {
		t.Fatal(err)
	}
	if stores.MemBucket("photos") != b {
		t.Error("MemBucket returned another bucket for the same name")
	}

	src, err := o.Open(t.Context(), "mem://photos/2024/cat.png")
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, src); !bytes.Equal(got, photo) {
		t.Errorf("read %d bytes, not the %d written", len(got), len(photo))
	}
	if src.Name != "cat.png" || src.Size != int64(len(photo)) || src.ContentType != "image/png" {
		t.Errorf("Name %q, Size %d, ContentType %q", src.Name, src.Size, src.ContentType)
	}
	src, err = o.Open(t.Context(), "mem://photos/notes.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, src); string(got) != "hello" || src.ContentType != "text/plain" {
		t.Errorf("read %q typed %q", got, src.ContentType)
	}

	_, err = o.Open(t.Context(), "mem://photos/2024/dog.png")
	wantError(t, err, source.KindNotFound, false, `"mem://photos/2024/dog.png"`, "no such object")
	_, err = o.Open(t.Context(), "mem://nobucket/cat.png")
	wantError(t, err, source.KindNotFound, false, "no such bucket")
}

func TestClose(t *testing.T) {
	t.Parallel()
	o := source.New(source.Config{})
	stores, err := objstore.Register(o, objstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := stores.MemBucket("b").WriteAll(t.Context(), "k", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if err := stores.Close(); err != nil {
		t.Fatal(err)
	}
	if err := stores.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_, err = o.Open(t.Context(), "mem://b/k")
	wantError(t, err, source.KindUnavailable, true, "closed")
}

// TestRefs checks the references every store refuses before contacting it.
func TestRefs(t *testing.T) {
	t.Parallel()
	o, _ := newOpener(t, objstore.Config{})
	for _, tc := range []struct {
		ref, msg string
	}{
		{"s3://bucket", "no object key"},
		{"s3://bucket/", "no object key"},
		{"s3://bucket/dir/", "names a folder"},
		{"s3:///key.png", "no bucket"},
		{"s3:bucket/key.png", "not of the form s3://bucket/"},
		{"s3://user:pass@bucket/key.png", "carry no credentials"},
		{"s3://bucket:9000/key.png", "not a host and port"},
		{"s3://bucket/key.png#x", "no #fragment"},
		{"s3://bucket/key.png?endpoint=http://169.254.169.254/", `unsupported parameter "endpoint"`},
		{"s3://bucket/key.png?region=Not_A_Region", `parameter "region": not an S3 region name: only lowercase letters`},
		{"s3://bucket/key.png?region=" + strings.Repeat("r", 33), `parameter "region": not an S3 region name: 33 characters`},
		{"s3://bucket/key.png?region=-eu", `parameter "region": not an S3 region name: it must begin and end`},
		{"s3://bucket/key.png?region=", `parameter "region": not an S3 region name: 0 characters`},
		{"s3://bucket/key.png?region=a&region=b", `parameter "region" is given 2 times`},
		{"s3://b/key.png", "3 to 255 characters"},
		{"s3://-bucket/key.png", "begin and end with a letter or digit"},
		{"s3://bucket/" + strings.Repeat("k", 1025), "longer than 1024"},
		{"gs://Bad_Bucket/key.png", "only lowercase letters"},
		{"gs://bucket/key.png?region=eu-west-1", `unsupported parameter "region"`},
		{"gs://" + strings.Repeat("a", 64) + "/key.png", "longer than 63"},
		{"gs://a..b/key.png", "each dot-separated part"},
		{"azblob://ab/key.png", "3 to 63 characters"},
		{"azblob://my_container/key.png", "only lowercase letters, digits and hyphens"},
		{"azblob://my--container/key.png", "two hyphens"},
		{"mem://photos", "no object key"},
		{"mem:///cat.png", "no bucket"},
	} {
		_, err := o.Open(t.Context(), tc.ref)
		wantError(t, err, source.KindInvalid, false, tc.msg)
		if err != nil && strings.Contains(err.Error(), "pass") {
			t.Errorf("error %q holds the URL's password", err)
		}
	}
}

// TestRegister checks that Register adds exactly its schemes, and that
// without it they are not there.
func TestRegister(t *testing.T) {
	t.Parallel()
	plain := source.New(source.Config{})
	o, _ := newOpener(t, objstore.Config{})
	for _, scheme := range objstore.Schemes() {
		ref := scheme + "://x/key.png" // a bucket name every store refuses
		_, err := plain.Open(t.Context(), ref)
		wantError(t, err, source.KindInvalid, false, "unsupported source scheme")
		_, err = o.Open(t.Context(), ref)
		if err == nil || strings.Contains(err.Error(), "unsupported source scheme") {
			t.Errorf("%s: %v; want the scheme registered", scheme, err)
		}
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg objstore.Config
		msg string
	}{
		{objstore.Config{S3Endpoint: "minio:9000"}, "S3Endpoint"},
		{objstore.Config{S3Endpoint: "ftp://minio:9000"}, "S3Endpoint"},
		{objstore.Config{S3Endpoint: "http://key:secret@minio:9000"}, "S3Endpoint"},
		{objstore.Config{S3AccessKeyID: "id"}, "S3SecretAccessKey"},
		{objstore.Config{S3MaxAttempts: -1}, "S3MaxAttempts"},
	} {
		_, err := objstore.New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("New(%+v): %v; want an error naming %s", tc.cfg, err, tc.msg)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error %q holds the secret", err)
		}
	}
	if _, err := objstore.New(objstore.Config{S3Endpoint: "https://minio.internal:9000/"}); err != nil {
		t.Errorf("a good endpoint: %v", err)
	}
}

// TestGCSCredentials checks that gs:// without Google credentials fails for
// good and says what to set, without network access.
func TestGCSCredentials(t *testing.T) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", t.TempDir()+"/missing.json")
	t.Setenv("STORAGE_EMULATOR_HOST", "")
	o, _ := newOpener(t, objstore.Config{})
	_, err := o.Open(t.Context(), "gs://my-bucket/photo.png")
	wantError(t, err, source.KindForbidden, false, "no usable Google Cloud Storage credentials", "GOOGLE_APPLICATION_CREDENTIALS")
}

// TestAzureCredentials checks that azblob:// without a storage account fails
// for good and says what to set, without network access.
func TestAzureCredentials(t *testing.T) {
	for _, k := range []string{"AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN",
		"AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGEBLOB_CONNECTIONSTRING"} {
		t.Setenv(k, "")
	}
	o, _ := newOpener(t, objstore.Config{})
	_, err := o.Open(t.Context(), "azblob://my-container/photo.png")
	wantError(t, err, source.KindForbidden, false, "no usable Azure Blob Storage credentials", "AZURE_STORAGE_ACCOUNT")
}
