package imagekit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/emulator/probe/probetest"
	"github.com/ikq-dev/ikq/internal/ikqtest"
)

func TestUploadReader(t *testing.T) {
	t.Parallel()
	env := newEnv(t, nil)
	img := pngBytes(t, 40, 30)

	res, err := env.client.Upload(t.Context(), UploadRequest{
		File:        bytes.NewReader(img),
		ContentType: "image/png",
		Params:      Params{FileName: "photo.png"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusOK || res.FileID == "" || res.RequestID == "" {
		t.Fatalf("status %d, fileId %q, requestId %q", res.Status, res.FileID, res.RequestID)
	}
	if !regexp.MustCompile(`^photo_[A-Za-z0-9]{9}\.png$`).MatchString(res.Name) {
		t.Errorf("name %q, want photo_<9 alphanumerics>.png", res.Name)
	}
	if res.FilePath != "/"+res.Name || res.FileType != "image" {
		t.Errorf("filePath %q, fileType %q", res.FilePath, res.FileType)
	}
	if res.Size != int64(len(img)) || res.Width != 40 || res.Height != 30 {
		t.Errorf("size %d %dx%d, want %d 40x30", res.Size, res.Width, res.Height, len(img))
	}
	if res.VersionInfo.ID != res.FileID || res.VersionInfo.Name != "Version 1" {
		t.Errorf("versionInfo %+v", res.VersionInfo)
	}
	if res.ThumbnailURL == "" {
		t.Error("no thumbnailUrl")
	}
	var raw map[string]any
	if err := json.Unmarshal(res.Raw, &raw); err != nil || raw["fileId"] != res.FileID {
		t.Errorf("raw %s (%v)", res.Raw, err)
	}
	if got := ikqtest.Get(t, res.URL); !bytes.Equal(got, img) {
		t.Errorf("url serves %d bytes, not the %d uploaded", len(got), len(img))
	}
}

// allOptions sets every Params field, JSON ones with spaces that must be compacted.
func allOptions(webhookURL string) Params {
	return Params{
		FileName:                "full-options.png",
		UseUniqueFileName:       ptr(false),
		Tags:                    []string{"a", "b"},
		Folder:                  "/products/shirts",
		IsPrivateFile:           ptr(false),
		IsPublished:             ptr(true),
		CustomCoordinates:       "10,10,20,20",
		ResponseFields:          []string{"tags", "customMetadata", "isPublished"},
		Extensions:              json.RawMessage(`[ {"name": "remove-bg"} ]`),
		WebhookURL:              webhookURL,
		OverwriteFile:           ptr(true),
		OverwriteAITags:         ptr(false),
		OverwriteTags:           ptr(false),
		OverwriteCustomMetadata: ptr(true),
		CustomMetadata:          json.RawMessage("{\n  \"brand\": \"Nike\"\n}"),
		Transformation:          json.RawMessage(`{"pre": "w-20", "post": [{"type": "transformation", "value": "h-10"}]}`),
		Checks:                  `"file.size" < "1mb"`,
		Description:             "a shirt, in red",
	}
}

func TestUploadFormFields(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	img := pngBytes(t, 8, 8)
	const hook = "https://example.com/hook?job=1"

	if _, err := rec.client().Upload(t.Context(), UploadRequest{
		File: bytes.NewReader(img), ContentType: "image/png", Params: allOptions(hook),
	}); err != nil {
		t.Fatal(err)
	}
	got := rec.last(t)
	want := []struct{ name, value string }{
		{"fileName", "full-options.png"},
		{"useUniqueFileName", "false"},
		{"tags", "a,b"},
		{"folder", "/products/shirts"},
		{"isPrivateFile", "false"},
		{"isPublished", "true"},
		{"customCoordinates", "10,10,20,20"},
		{"responseFields", "tags,customMetadata,isPublished"},
		{"extensions", `[{"name":"remove-bg"}]`},
		{"webhookUrl", hook},
		{"overwriteFile", "true"},
		{"overwriteAITags", "false"},
		{"overwriteTags", "false"},
		{"overwriteCustomMetadata", "true"},
		{"customMetadata", `{"brand":"Nike"}`},
		{"transformation", `{"pre":"w-20","post":[{"type":"transformation","value":"h-10"}]}`},
		{"checks", `"file.size" < "1mb"`},
		{"description", "a shirt, in red"},
	}
	if len(got.Parts) != len(want)+1 {
		t.Fatalf("%d parts, want %d: %+v", len(got.Parts), len(want)+1, got.Parts)
	}
	for i, w := range want {
		p := got.Parts[i]
		if p.Name != w.name || string(p.Value) != w.value || p.FileName != "" {
			t.Errorf("part %d: %s=%q (filename %q), want %s=%q", i, p.Name, p.Value, p.FileName, w.name, w.value)
		}
	}
	file := got.Parts[len(got.Parts)-1]
	if file.Name != "file" || file.FileName != "full-options.png" || file.ContentType != "image/png" || !bytes.Equal(file.Value, img) {
		t.Errorf("last part: name %q filename %q type %q, %d bytes; want the file", file.Name, file.FileName, file.ContentType, len(file.Value))
	}
	if !got.BasicOK || got.User != testKey || got.Password != "" {
		t.Errorf("basic auth %v user %q password %q", got.BasicOK, got.User, got.Password)
	}
	if got.Method != http.MethodPost || got.UserAgent != "ikq" {
		t.Errorf("method %s, user agent %q", got.Method, got.UserAgent)
	}

	t.Run("unset fields are absent", func(t *testing.T) {
		if _, err := rec.client().Upload(t.Context(), UploadRequest{
			File: strings.NewReader("hello"), Params: Params{FileName: "a.txt", Tags: []string{}, Extensions: json.RawMessage("null")},
		}); err != nil {
			t.Fatal(err)
		}
		got := rec.last(t)
		var names []string
		for _, p := range got.Parts {
			names = append(names, p.Name)
		}
		if strings.Join(names, ",") != "fileName,file" {
			t.Fatalf("parts %v, want fileName,file", names)
		}
		if got.Parts[1].ContentType != "application/octet-stream" || got.Parts[1].FileName != "a.txt" {
			t.Errorf("file part type %q filename %q", got.Parts[1].ContentType, got.Parts[1].FileName)
		}
	})

	t.Run("FileText is a text field, last", func(t *testing.T) {
		if _, err := rec.client().Upload(t.Context(), UploadRequest{
			FileText: "https://example.com/a.jpg", Params: Params{FileName: "a.jpg", Folder: "/x"},
		}); err != nil {
			t.Fatal(err)
		}
		got := rec.last(t)
		if len(got.Parts) != 3 || got.Parts[2].Name != "file" || got.Parts[2].FileName != "" || string(got.Parts[2].Value) != "https://example.com/a.jpg" {
			t.Fatalf("parts %+v", got.Parts)
		}
	})

	t.Run("file name with quotes and unicode", func(t *testing.T) {
		name := `ça "va".png`
		if _, err := rec.client().Upload(t.Context(), UploadRequest{File: strings.NewReader("x"), Params: Params{FileName: name}}); err != nil {
			t.Fatal(err)
		}
		got := rec.last(t)
		if v, _ := got.field("fileName"); v != name || got.Parts[1].FileName != name {
			t.Errorf("fileName %q, filename %q, want %q", v, got.Parts[1].FileName, name)
		}
	})
}

func TestUploadAllOptionsEmulator(t *testing.T) {
	t.Parallel()
	env := newEnv(t, nil)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	t.Cleanup(sink.Close)
	env.post(t, "/v1/customMetadataFields", `{"name":"brand","label":"Brand","schema":{"type":"Text"}}`)

	res, err := env.client.Upload(t.Context(), UploadRequest{
		File: bytes.NewReader(pngBytes(t, 40, 40)), ContentType: "image/png", Params: allOptions(sink.URL + "/hook"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusOK || res.FilePath != "/products/shirts/full-options.png" {
		t.Fatalf("status %d filePath %q", res.Status, res.FilePath)
	}
	if res.ExtensionStatus["remove-bg"] != "pending" {
		t.Errorf("extensionStatus %v", res.ExtensionStatus)
	}
	var raw struct {
		Tags           []string          `json:"tags"`
		CustomMetadata map[string]string `json:"customMetadata"`
		IsPublished    *bool             `json:"isPublished"`
	}
	if err := json.Unmarshal(res.Raw, &raw); err != nil {
		t.Fatal(err)
	}
	if strings.Join(raw.Tags, ",") != "a,b" || raw.CustomMetadata["brand"] != "Nike" || raw.IsPublished == nil || !*raw.IsPublished {
		t.Errorf("response fields: %s", res.Raw)
	}
}

func TestUploadFileTextURL(t *testing.T) {
	t.Parallel()
	env := newEnv(t, nil)
	img := pngBytes(t, 24, 12)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(img)
	}))
	t.Cleanup(origin.Close)

	res, err := env.client.Upload(t.Context(), UploadRequest{FileText: origin.URL + "/cat.png", Params: Params{FileName: "cat.png"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Size != int64(len(img)) || res.Width != 24 || res.Height != 12 {
		t.Errorf("size %d %dx%d", res.Size, res.Width, res.Height)
	}
	if got := ikqtest.Get(t, res.URL); !bytes.Equal(got, img) {
		t.Error("url does not serve the origin's bytes")
	}
}

func TestUploadFileTextBase64(t *testing.T) {
	t.Parallel()
	env := newEnv(t, nil)
	img := pngBytes(t, 10, 20)

	res, err := env.client.Upload(t.Context(), UploadRequest{
		FileText: base64.StdEncoding.EncodeToString(img), Params: Params{FileName: "b64.png"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Size != int64(len(img)) || res.Width != 10 || res.Height != 20 {
		t.Errorf("size %d %dx%d", res.Size, res.Width, res.Height)
	}
}

func TestUpload202(t *testing.T) {
	t.Parallel()
	env := newEnv(t, nil)
	res, err := env.client.Upload(t.Context(), UploadRequest{
		File:   bytes.NewReader(probetest.SampleMP4(64, 48, 2, 1024)),
		Params: Params{FileName: "clip.mp4", Transformation: json.RawMessage(`{"pre":"rt-90"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusAccepted || res.FileID != "" {
		t.Fatalf("status %d fileId %q, want 202 and no fileId", res.Status, res.FileID)
	}
	if !bytes.Contains(res.Raw, []byte("queued")) {
		t.Errorf("raw %s", res.Raw)
	}
}

func TestUploadInvalidRequest(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	file := func() io.Reader { return strings.NewReader("x") }
	tests := []struct {
		name   string
		client *Client
		req    UploadRequest
	}{
		{"no private key", &Client{UploadURL: rec.URL}, UploadRequest{File: file(), Params: Params{FileName: "a"}}},
		{"no file", rec.client(), UploadRequest{Params: Params{FileName: "a"}}},
		{"file and text", rec.client(), UploadRequest{File: file(), FileText: "https://x/y", Params: Params{FileName: "a"}}},
		{"no file name", rec.client(), UploadRequest{File: file()}},
		{"negative size", rec.client(), UploadRequest{File: file(), Size: -1, Params: Params{FileName: "a"}}},
		{"extensions not JSON", rec.client(), UploadRequest{File: file(), Params: Params{FileName: "a", Extensions: json.RawMessage(`[{`)}}},
		{"extensions not an array", rec.client(), UploadRequest{File: file(), Params: Params{FileName: "a", Extensions: json.RawMessage(`{"name":"remove-bg"}`)}}},
		{"customMetadata not an object", rec.client(), UploadRequest{File: file(), Params: Params{FileName: "a", CustomMetadata: json.RawMessage(`["x"]`)}}},
		{"transformation not an object", rec.client(), UploadRequest{File: file(), Params: Params{FileName: "a", Transformation: json.RawMessage(`"rt-90"`)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.client.Upload(t.Context(), tt.req)
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("error %v, want ErrInvalidRequest", err)
			}
		})
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

func TestUploadContentLength(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	body := bytes.Repeat([]byte("0123456789"), 10_000)
	params := Params{FileName: "n.txt", Tags: []string{"x"}, Description: "é"}

	if _, err := rec.client().Upload(t.Context(), UploadRequest{File: bytes.NewReader(body), Size: int64(len(body)), Params: params}); err != nil {
		t.Fatal(err)
	}
	got := rec.last(t)
	if got.ContentLength <= int64(len(body)) || len(got.TransferEncoding) != 0 {
		t.Errorf("with Size: Content-Length %d, Transfer-Encoding %v", got.ContentLength, got.TransferEncoding)
	}
	if f, _ := got.field("file"); f != string(body) {
		t.Error("file content differs")
	}

	if _, err := rec.client().Upload(t.Context(), UploadRequest{File: bytes.NewReader(body), Params: params}); err != nil {
		t.Fatal(err)
	}
	if got := rec.last(t); got.ContentLength != -1 || strings.Join(got.TransferEncoding, ",") != "chunked" {
		t.Errorf("without Size: Content-Length %d, Transfer-Encoding %v", got.ContentLength, got.TransferEncoding)
	}

	for _, size := range []int64{int64(len(body)) - 1, int64(len(body)) + 1} {
		before := len(rec.requests())
		_, err := rec.client().Upload(t.Context(), UploadRequest{File: bytes.NewReader(body), Size: size, Params: params})
		if err == nil || !strings.Contains(err.Error(), "Size says") {
			t.Errorf("Size %d for %d bytes: error %v", size, len(body), err)
		}
		if len(rec.requests()) != before {
			t.Errorf("Size %d for %d bytes: the server accepted a request", size, len(body))
		}
	}
}

// TestUploadStreaming sends 64 MiB made on the fly: it is never in memory whole.
// BenchmarkUploadStreaming measures what it costs.
func TestUploadStreaming(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB upload")
	}
	t.Parallel()
	const size = 64 << 20
	env := newEnv(t, func(c *emulator.Config) {
		c.MaxVideoSize = 128 << 20
		c.DataDir = t.TempDir()
	})
	for _, withSize := range []bool{false, true} {
		t.Run(fmt.Sprintf("size=%v", withSize), func(t *testing.T) {
			req := UploadRequest{
				File:        generated(probetest.SampleMP4(16, 16, 1, 0), size),
				ContentType: "video/mp4",
				Params:      Params{FileName: "big.mp4"},
			}
			if withSize {
				req.Size = size
			}
			res, err := env.client.Upload(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Size != size || res.FileType != "non-image" {
				t.Fatalf("size %d fileType %q, want %d non-image", res.Size, res.FileType, size)
			}
		})
	}
}

// countingSource yields a PNG header then zeros forever, counting reads, and calls
// onRead after every read.
type countingSource struct {
	r      io.Reader
	bytes  atomic.Int64
	active atomic.Int32 // reads in progress
	onRead func(total int64)
}

func newCountingSource(t testing.TB, onRead func(int64)) *countingSource {
	return &countingSource{r: io.MultiReader(bytes.NewReader(pngBytes(t, 4, 4)[:16]), zeros{}), onRead: onRead}
}

func (s *countingSource) Read(p []byte) (int, error) {
	s.active.Add(1)
	defer s.active.Add(-1)
	n, err := s.r.Read(p)
	total := s.bytes.Add(int64(n))
	if s.onRead != nil {
		s.onRead(total)
	}
	return n, err
}

// These tests are not parallel: they count the writer goroutines of the package.

func TestUploadCanceledMidBody(t *testing.T) {
	env := newEnv(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	src := newCountingSource(t, func(total int64) {
		if total > 4<<20 {
			cancel()
		}
	})

	_, err := env.client.Upload(ctx, UploadRequest{File: src, Params: Params{FileName: "endless.png"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if _, ok := errors.AsType[*Error](err); ok || !strings.HasPrefix(err.Error(), "imagekit: upload: ") {
		t.Errorf("error %T %q, want a wrapped transport error", err, err)
	}
	if n := writerGoroutines(); n != 0 {
		t.Errorf("%d body writers still running after Upload returned", n)
	}
	read := src.bytes.Load()
	if src.active.Load() != 0 {
		t.Error("a read of the source is in progress after Upload returned")
	}
	time.Sleep(10 * time.Millisecond) // give a leaked writer a chance to show itself
	if src.bytes.Load() != read {
		t.Error("the source was read after Upload returned")
	}
}

func TestUploadCanceledWhileServerStalls(t *testing.T) {
	// A server that takes the request but never reads its body or answers.
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(func() { close(release) }) // runs first
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	src := newCountingSource(t, nil)
	var writers atomic.Int32 // body writers seen just before the cancel
	go func() {
		// Cancel once the body has started: the writer is then blocked, or soon will
		// be, on a connection the server does not read.
		for src.bytes.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		writers.Store(int32(writerGoroutines()))
		cancel()
	}()

	_, err := clientFor(ts.URL, testKey).Upload(ctx, UploadRequest{File: src, Params: Params{FileName: "stalled.png"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if n := writers.Load(); n != 1 {
		t.Fatalf("%d body writers seen during the upload, want 1: the leak check below would prove nothing", n)
	}
	if n := writerGoroutines(); n != 0 {
		t.Errorf("%d body writers still running after Upload returned", n)
	}
}

func TestUploadSourceFails(t *testing.T) {
	env := newEnv(t, nil)
	boom := errors.New("disk on fire")
	src := io.MultiReader(io.LimitReader(newCountingSource(t, nil), 1<<20), iotest.ErrReader(boom))

	_, err := env.client.Upload(t.Context(), UploadRequest{File: src, Params: Params{FileName: "broken.png"}})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want the source's error", err)
	}
	if _, ok := errors.AsType[*Error](err); ok {
		t.Errorf("error is an *Error: %v", err)
	}
	if n := writerGoroutines(); n != 0 {
		t.Errorf("%d body writers still running after Upload returned", n)
	}
	if got := env.srv.Stats().Uploads; got != 0 {
		t.Errorf("the emulator stored %d uploads", got)
	}
}

func TestUploadTransportError(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()

	_, err := clientFor(url, testKey).Upload(t.Context(), UploadRequest{File: strings.NewReader("x"), Params: Params{FileName: "a"}})
	if err == nil {
		t.Fatal("upload to a closed server succeeded")
	}
	var apiErr *Error
	if errors.As(err, &apiErr) || !strings.HasPrefix(err.Error(), "imagekit: upload: ") {
		t.Errorf("error %T %q, want a wrapped transport error", err, err)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Error("the error contains the private key")
	}
}
