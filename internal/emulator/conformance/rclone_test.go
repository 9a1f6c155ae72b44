package conformance_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	imagekit "github.com/imagekit-developer/imagekit-go/v2"
	"github.com/imagekit-developer/imagekit-go/v2/packages/param"
)

// rcloneCall sends a request shaped as rclone's ImageKit backend sends it
// (backend/imagekit/client/media.go: JSON bodies, Basic auth, the /v2 prefix) and
// returns the status and body.
func rcloneCall(t *testing.T, method, u string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(privateKey, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// rcloneList is rclone's Files/Folders call: GET /v2/files with skip, limit, path
// and a searchQuery on type (and name).
func rcloneList(t *testing.T, base, path, query string) []map[string]any {
	t.Helper()
	q := url.Values{"skip": {"0"}, "limit": {"1000"}, "path": {path}, "searchQuery": {query}}
	status, body := rcloneCall(t, http.MethodGet, base+"/v2/files?"+q.Encode(), nil)
	if status != http.StatusOK {
		t.Fatalf("GET /v2/files %q: %d %s", query, status, body)
	}
	var out []map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("GET /v2/files: %v: %s", err, body)
	}
	return out
}

// TestRcloneRequests: the files API calls rclone (v1.76) makes on its first
// commands: list by name and type, folders, details, delete, create and delete folders.
func TestRcloneRequests(t *testing.T) {
	t.Parallel()
	img := pngBytes(t, 3, 3)
	base, _ := startEmulator(t, img)
	ik := goClient(base)
	up, err := ik.Files.Upload(t.Context(), imagekit.FileUploadParams{File: bytes.NewReader(img), FileName: "x.png",
		Folder: param.NewOpt("/rc/sub"), UseUniqueFileName: param.NewOpt(false)})
	if err != nil {
		t.Fatal(err)
	}

	files := rcloneList(t, base, "/rc/sub", `type = "file" AND name = "x.png"`)
	if len(files) != 1 || files[0]["fileId"] != up.FileID {
		t.Fatalf("rclone's file lookup found %v, want x.png", files)
	}
	if status, body := rcloneCall(t, http.MethodPost, base+"/v2/folder", map[string]string{"folderName": "new", "parentFolderPath": "/rc"}); status/100 != 2 {
		t.Fatalf("POST /v2/folder: %d %s", status, body)
	}
	folders := rcloneList(t, base, "/rc", `type = "folder"`)
	names := map[any]bool{}
	for _, f := range folders {
		if f["type"] != "folder" {
			t.Errorf("a folder listing holds %v", f)
		}
		names[f["name"]] = true
	}
	if !names["sub"] || !names["new"] {
		t.Errorf("folders under /rc: %v, want sub and new", folders)
	}
	if status, body := rcloneCall(t, http.MethodGet, base+"/v2/files/"+up.FileID+"/details", nil); status != http.StatusOK {
		t.Fatalf("GET /v2/files/{id}/details: %d %s", status, body)
	}
	if status, body := rcloneCall(t, http.MethodDelete, base+"/v2/files/"+up.FileID, nil); status != http.StatusNoContent {
		t.Fatalf("DELETE /v2/files/{id}: %d %s", status, body)
	}
	if status, _ := rcloneCall(t, http.MethodGet, base+"/v2/files/"+up.FileID+"/details", nil); status != http.StatusNotFound {
		t.Errorf("details of a deleted file: %d, want 404", status)
	}
	if status, body := rcloneCall(t, http.MethodDelete, base+"/v2/folder", map[string]string{"folderPath": "/rc"}); status != http.StatusOK {
		// ImageKit's current API answers 200 {}; rclone takes any 2xx.
		t.Fatalf("DELETE /v2/folder: %d %s", status, body)
	}
	if left := rcloneList(t, base, "/", `type = "folder"`); len(left) != 0 {
		t.Errorf("folders left after deleting /rc: %v", left)
	}
}
