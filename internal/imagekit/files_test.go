package imagekit

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFileDetails(t *testing.T) {
	t.Parallel()
	env := newEnv(t, nil)
	img := pngBytes(t, 32, 16)
	start := time.Now().Add(-time.Minute)
	up, err := env.client.Upload(t.Context(), UploadRequest{
		File:   bytes.NewReader(img),
		Params: Params{FileName: "details.png", Folder: "/d", Tags: []string{"x", "y"}},
	})
	if err != nil {
		t.Fatal(err)
	}

	f, err := env.client.FileDetails(t.Context(), up.FileID)
	if err != nil {
		t.Fatal(err)
	}
	if f.FileID != up.FileID || f.Name != up.Name || f.FilePath != up.FilePath || f.URL != up.URL {
		t.Errorf("details %+v, upload %+v", f, up)
	}
	if f.Mime != "image/png" || f.FileType != "image" || f.Size != int64(len(img)) || f.Width != 32 || f.Height != 16 {
		t.Errorf("mime %q type %q size %d %dx%d", f.Mime, f.FileType, f.Size, f.Width, f.Height)
	}
	if !slices.Equal(f.Tags, []string{"x", "y"}) || f.VersionInfo.ID != up.FileID || f.VersionInfo.Name != "Version 1" {
		t.Errorf("tags %v versionInfo %+v", f.Tags, f.VersionInfo)
	}
	if f.CreatedAt.Before(start) || f.UpdatedAt.Before(f.CreatedAt) {
		t.Errorf("createdAt %v updatedAt %v", f.CreatedAt, f.UpdatedAt)
	}
	var raw map[string]any
	if err := json.Unmarshal(f.Raw, &raw); err != nil || raw["fileId"] != up.FileID || raw["type"] != "file" {
		t.Errorf("raw %s", f.Raw)
	}

	t.Run("unknown id", func(t *testing.T) {
		_, err := env.client.FileDetails(t.Context(), "000000000000000000000000")
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("error %v, want ErrNotFound", err)
		}
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusNotFound || e.Message != "The requested file does not exist." {
			t.Errorf("error %#v", err)
		}
	})
	t.Run("id needing escape", func(t *testing.T) {
		// Escaped, the id reaches the details route, which refuses its shape as
		// ImageKit does.
		_, err := env.client.FileDetails(t.Context(), "../files")
		if e := asError(t, err); e.Status != http.StatusBadRequest || e.Message != "Your request contains invalid fileId parameter." {
			t.Fatalf("error %v, want 400 for the invalid fileId", err)
		}
		if _, err := env.client.FileDetails(t.Context(), ""); !errors.Is(err, ErrInvalidRequest) {
			t.Fatalf("error %v, want ErrInvalidRequest", err)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		_, err := clientFor(env.URL, "private_nope").FileDetails(t.Context(), up.FileID)
		if e := asError(t, err); e.Status != http.StatusForbidden || errors.Is(err, ErrNotFound) {
			t.Errorf("error %v", err)
		}
	})
}

func TestListFiles(t *testing.T) {
	t.Parallel()
	env := newEnv(t, nil)
	upload := func(folder, name string) *UploadResult {
		t.Helper()
		res, err := env.client.Upload(t.Context(), UploadRequest{
			File:   bytes.NewReader(pngBytes(t, 4, 4)),
			Params: Params{FileName: name, Folder: folder, UseUniqueFileName: ptr(false)},
		})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a1 := upload("/a", "one.png")
	a2 := upload("/a/sub", "two.png")
	upload("/b", "one.png")

	names := func(files []File) string {
		var out []string
		for _, f := range files {
			out = append(out, f.FilePath)
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	tests := []struct {
		name string
		p    ListParams
		want string
	}{
		{"all", ListParams{}, "/a/one.png /a/sub/two.png /b/one.png"},
		{"one folder level", ListParams{Path: "/a"}, "/a/one.png"},
		{"subfolder", ListParams{Path: "/a/sub"}, "/a/sub/two.png"},
		{"name", ListParams{Name: "one.png"}, "/a/one.png /b/one.png"},
		{"path and name", ListParams{Path: "/a", Name: "one.png"}, "/a/one.png"},
		{"limit", ListParams{Path: "/a", Limit: 1}, "/a/one.png"},
		{"skip", ListParams{Skip: 1}, "/a/sub/two.png /b/one.png"},
		{"nothing", ListParams{Path: "/c"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := env.client.ListFiles(t.Context(), tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(files); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	files, err := env.client.ListFiles(t.Context(), ListParams{Path: "/a"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if (f.FileID != a1.FileID && f.FileID != a2.FileID) || len(f.Raw) == 0 || f.CreatedAt.IsZero() {
			t.Errorf("file %+v", f)
		}
	}
	if _, err := env.client.ListFiles(t.Context(), ListParams{Limit: 5000}); asError(t, err).Status != http.StatusBadRequest {
		t.Errorf("limit 5000: %v", err)
	}
}

func TestFileUnmarshalLenient(t *testing.T) {
	t.Parallel()
	var f File
	raw := `{"fileId":"f1","size":"big","width":12.5,"createdAt":"yesterday","updatedAt":"2026-01-02T03:04:05.5Z","tags":null,"versionInfo":{"id":"v","name":"Version 2"}}`
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		t.Fatal(err)
	}
	if f.FileID != "f1" || f.Size != 0 || !f.CreatedAt.IsZero() || f.UpdatedAt.Nanosecond() != 5e8 || f.VersionInfo.Name != "Version 2" || string(f.Raw) != raw {
		t.Errorf("%+v", f)
	}
	if err := json.Unmarshal([]byte(`[1]`), &f); err == nil {
		t.Error("an array decoded as a File")
	}
}
