package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"testing"
	"time"
)

// RcloneFile and rcloneFolder are the shapes rclone's ImageKit backend (v1.76,
// backend/imagekit/client/media.go) decodes list and details answers into.
type RcloneFile struct { // exported: rcloneFolder embeds a pointer to it, which encoding/json sets only for exported types
	FileID           string            `json:"fileId"`
	Name             string            `json:"name"`
	FilePath         string            `json:"filePath"`
	Type             string            `json:"type"`
	VersionInfo      map[string]string `json:"versionInfo"`
	IsPrivateFile    *bool             `json:"isPrivateFile"`
	URL              string            `json:"url"`
	Mime             string            `json:"mime"`
	Size             uint64            `json:"size"`
	EmbeddedMetadata map[string]any    `json:"embeddedMetadata"`
	CreatedAt        time.Time         `json:"createdAt"`
	UpdatedAt        time.Time         `json:"updatedAt"`
	Tags             []string          `json:"tags"`
}

type rcloneFolder struct {
	*RcloneFile
	FolderPath string `json:"folderPath"`
}

// rclone sends requests exactly as rclone's ImageKit client does: API root
// <emulator>/v2, Basic auth with the private key and an empty password, Accept:
// application/json, list parameters through url.Values.
type rclone struct {
	t *testing.T
	e *testEmulator
}

func (rc rclone) call(method, p string, query url.Values, body io.Reader, contentType string, out any) int {
	rc.t.Helper()
	u := rc.e.URL + p
	if query != nil {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		rc.t.Fatal(err)
	}
	req.SetBasicAuth(testKey, "")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "rclone/imagekit")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		rc.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			rc.t.Fatalf("%s %s: decoding %s: %v", method, u, raw, err)
		}
	}
	return resp.StatusCode
}

// list is client.Files / client.Folders: skip, limit, path and searchQuery always set.
func (rc rclone) list(out any, folder string, skip, limit int, searchQuery string) {
	rc.t.Helper()
	q := url.Values{}
	q.Set("skip", strconv.Itoa(skip))
	q.Set("limit", strconv.Itoa(limit))
	q.Set("path", folder)
	q.Set("searchQuery", searchQuery)
	if st := rc.call(http.MethodGet, "/v2/files", q, nil, "", out); st != http.StatusOK {
		rc.t.Fatalf("list %s %q: %d", folder, searchQuery, st)
	}
}

// fileByName is getFileByName: the folder path keeps path.Split's trailing slash.
func (rc rclone) fileByName(folder, name string) *RcloneFile {
	var files []RcloneFile
	rc.list(&files, folder, 0, 1, fmt.Sprintf(`type = "file" AND name = %s`, strconv.Quote(name)))
	if len(files) == 0 {
		return nil
	}
	return &files[0]
}

func (rc rclone) folderByName(folder, name string) *rcloneFolder {
	var folders []rcloneFolder
	rc.list(&folders, folder, 0, 1, fmt.Sprintf(`type = "folder" AND name = %s`, strconv.Quote(name)))
	if len(folders) == 0 {
		return nil
	}
	return &folders[0]
}

// dir is List: the folders then the files directly in remote, 100 at a time.
func (rc rclone) dir(remote string, versions bool) (folders []string, files []RcloneFile) {
	rc.t.Helper()
	for skip := 0; ; skip += 100 {
		var page []rcloneFolder
		rc.list(&page, remote, skip, 100, `type = "folder"`)
		for _, f := range page {
			folders = append(folders, f.FolderPath)
		}
		if len(page) < 100 {
			break
		}
	}
	query := `type = "file"`
	if versions {
		query = `type IN ["file", "file-version"]`
	}
	for skip := 0; ; skip += 100 {
		var page []RcloneFile
		rc.list(&page, remote, skip, 100, query)
		files = append(files, page...)
		if len(page) < 100 {
			break
		}
	}
	return folders, files
}

func (rc rclone) jsonBody(method, p string, v any) int {
	rc.t.Helper()
	b, _ := json.Marshal(v)
	return rc.call(method, p, nil, bytes.NewReader(b), "application/json", nil)
}

// upload is client.Upload on the v2 Upload API.
func (rc rclone) upload(folder, name string, content []byte) {
	rc.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, kv := range [][2]string{{"fileName", name}, {"folder", folder}, {"isPrivateFile", "false"}, {"useUniqueFileName", "false"}} {
		_ = mw.WriteField(kv[0], kv[1])
	}
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = fw.Write(content) // into memory: it cannot fail
	_ = mw.Close()
	var res struct {
		FileID string `json:"fileId"`
	}
	if st := rc.call(http.MethodPost, "/api/v2/files/upload", nil, &buf, mw.FormDataContentType(), &res); st != http.StatusOK || res.FileID == "" {
		rc.t.Fatalf("upload %s%s: %d", folder, name, st)
	}
}

// TestRcloneCalls walks rclone's ImageKit backend through mkdir, copy, ls, cat,
// versions, delete, rmdir and purge with the requests it sends.
func TestRcloneCalls(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	rc := rclone{t, e}

	// NewFs("imagekit:/photos/2024"): is the root a file? Not yet.
	if f := rc.fileByName("/photos/", "2024"); f != nil {
		t.Fatalf("root seen as a file: %+v", f)
	}
	// Mkdir(""), then List("") finds the folder, empty.
	if st := rc.jsonBody(http.MethodPost, "/v2/folder", map[string]string{"folderName": "2024", "parentFolderPath": "/photos/"}); st != http.StatusCreated {
		t.Fatalf("mkdir: %d", st)
	}
	if f := rc.folderByName("/photos/", "2024"); f == nil || f.FolderPath != "/photos/2024" || f.Name != "2024" || f.UpdatedAt.IsZero() {
		t.Fatalf("folder by name: %+v", f)
	}
	if folders, files := rc.dir("/photos/2024", false); len(folders)+len(files) != 0 {
		t.Fatalf("new folder lists %v %v", folders, files)
	}

	// Put two files, one in a subfolder, and read one back by name, then by id.
	rc.upload("/photos/2024/", "a.txt", []byte("first"))
	rc.upload("/photos/2024/trip/", "b.txt", []byte("nested"))
	if f := rc.folderByName("/photos/2024/", "a.txt"); f != nil {
		t.Fatalf("a file seen as a folder: %+v", f)
	}
	a := rc.fileByName("/photos/2024/", "a.txt")
	if a == nil || a.FilePath != "/photos/2024/a.txt" || a.Type != "file" || a.Size != 5 || a.IsPrivateFile == nil || *a.IsPrivateFile {
		t.Fatalf("file by name: %+v", a)
	}
	var details RcloneFile
	if st := rc.call(http.MethodGet, "/v2/files/"+a.FileID+"/details", nil, nil, "", &details); st != http.StatusOK || details.FileID != a.FileID || details.Mime != "text/plain" {
		t.Fatalf("details: %d %+v", st, details)
	}

	// List: one level, a folder entry for the subfolder.
	folders, files := rc.dir("/photos/2024", false)
	if len(folders) != 1 || folders[0] != "/photos/2024/trip" || len(files) != 1 || files[0].Name != "a.txt" {
		t.Fatalf("List = %v %+v", folders, files)
	}

	// Open: the file's url with rclone's query parameters and a range.
	req, _ := http.NewRequest(http.MethodGet, a.URL+"?tr=orig-true&updatedAt="+url.QueryEscape(a.UpdatedAt.String()), nil)
	req.Header.Set("Range", "bytes=1-3")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || string(body) != "irs" {
		t.Fatalf("Open with range: %d %q", resp.StatusCode, body)
	}

	// Update: a new version; with --imagekit-versions the old one lists as a version.
	rc.upload("/photos/2024/", "a.txt", []byte("second"))
	_, files = rc.dir("/photos/2024", true)
	types := map[string]int{}
	for _, f := range files {
		types[f.Type]++
	}
	if len(files) != 2 || types["file"] != 1 || types["file-version"] != 1 {
		t.Fatalf("versions listing: %+v", files)
	}

	// Remove, Rmdir of a missing folder, Purge of the rest.
	if st := rc.call(http.MethodDelete, "/v2/files/"+a.FileID, nil, nil, "", nil); st != http.StatusNoContent {
		t.Fatalf("remove: %d", st)
	}
	if f := rc.fileByName("/photos/2024/", "a.txt"); f != nil {
		t.Fatalf("removed file still found: %+v", f)
	}
	if st := rc.jsonBody(http.MethodDelete, "/v2/folder", map[string]string{"folderPath": "/photos/2024/nothing"}); st != http.StatusNotFound {
		t.Fatalf("rmdir of a missing folder: %d, want 404 (rclone's ErrorDirNotFound)", st)
	}
	if st := rc.jsonBody(http.MethodDelete, "/v2/folder", map[string]string{"folderPath": path.Join("/photos", "2024")}); st != http.StatusOK {
		t.Fatalf("purge: %d", st)
	}
	if folders, files := rc.dir("/photos", false); len(folders)+len(files) != 0 {
		t.Fatalf("after purge /photos lists %v %+v", folders, files)
	}
	if f := rc.fileByName("/photos/2024/trip/", "b.txt"); f != nil {
		t.Fatalf("purged file still found: %+v", f)
	}
}
