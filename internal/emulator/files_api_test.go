package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sendJSON sends v as a JSON body with the private key.
func (e *testEmulator) sendJSON(t testing.TB, method, path string, v any) response {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return e.do(t, method, path, testKey, bytes.NewReader(b), "application/json")
}

// put uploads content as name into folder, with no unique suffix, and returns the
// upload answer.
func (e *testEmulator) put(t testing.TB, folder, name string, content []byte, extra ...part) response {
	t.Helper()
	parts := append([]part{filePart(name, content), field("fileName", name), field("folder", folder),
		field("useUniqueFileName", "false")}, extra...)
	r := e.upload(t, parts...)
	wantOK(t, r)
	return r
}

// listQuery lists /v1/files with these query parameters.
func (e *testEmulator) listQuery(t testing.TB, params map[string]string) response {
	t.Helper()
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	return e.getJSON(t, "/v1/files?"+q.Encode())
}

// entryKeys names the entries of a list answer: "name" for files, "name/" for
// folders and "name@N" for file versions (N its version name's number).
func entryKeys(t testing.TB, r response) []string {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", r.Status, r.Raw)
	}
	out := []string{}
	for _, en := range r.List {
		name, _ := en["name"].(string)
		switch en["type"] {
		case "folder":
			name += "/"
		case "file-version":
			vi, _ := en["versionInfo"].(map[string]any)
			n, _ := vi["name"].(string)
			name += "@" + strings.TrimPrefix(n, "Version ")
		}
		out = append(out, name)
	}
	return out
}

func TestFilesAPIPaths(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	id := e.put(t, "/", "a.txt", []byte("a")).str("fileId")
	for _, p := range []string{"/v1/files", "/v1/files/", "/v2/files", "/v2/files/"} {
		if got := entryKeys(t, e.getJSON(t, p)); !reflect.DeepEqual(got, []string{"a.txt"}) {
			t.Errorf("GET %s = %v, want [a.txt]", p, got)
		}
		wantError(t, e.do(t, http.MethodGet, p, "", nil, ""), http.StatusUnauthorized, msgNoPrivateKey)
	}
	for _, v := range []string{"/v1", "/v2"} {
		r := e.getJSON(t, v+"/files/"+id+"/details")
		if r.Status != http.StatusOK || r.str("fileId") != id || r.str("name") != "a.txt" {
			t.Errorf("GET %s/files/{id}/details = %d %s", v, r.Status, r.Raw)
		}
		for _, bad := range []string{"not-an-id", "5f000000000000000000000", "5f00000000000000000000000", "zz0000000000000000000000"} {
			wantError(t, e.getJSON(t, v+"/files/"+bad+"/details"), http.StatusBadRequest, msgInvalidFileID)
			wantError(t, e.do(t, http.MethodDelete, v+"/files/"+bad, testKey, nil, ""), http.StatusBadRequest, msgInvalidFileID)
			wantError(t, e.getJSON(t, v+"/files/"+bad+"/versions"), http.StatusBadRequest, msgInvalidFileID)
			wantError(t, e.getJSON(t, v+"/files/"+bad+"/versions/"+id), http.StatusBadRequest, msgInvalidFileID)
		}
		wantError(t, e.getJSON(t, v+"/files/5f0000000000000000000000/details"), http.StatusNotFound, msgFileNotFound)
		wantError(t, e.do(t, http.MethodDelete, v+"/files/5f0000000000000000000000", testKey, nil, ""), http.StatusNotFound, msgFileNotFound)
		wantError(t, e.do(t, http.MethodDelete, v+"/files/"+id, "", nil, ""), http.StatusUnauthorized, msgNoPrivateKey)
		wantError(t, e.sendJSON(t, http.MethodPost, v+"/folder", map[string]string{}), http.StatusBadRequest, msgMissingFolderName)
	}
}

func TestListTypes(t *testing.T) {
	t.Parallel()
	clock := steppingClock()
	e := newTestEmulator(t, func(c *Config) { c.Now = clock })
	e.put(t, "/docs", "a.txt", []byte("a1"))
	e.put(t, "/docs", "a.txt", []byte("a2")) // version 2 of a.txt
	e.put(t, "/docs/old", "b.txt", []byte("b"))
	e.put(t, "/", "c.txt", []byte("c"))
	if r := e.sendJSON(t, http.MethodPost, "/v1/folder", map[string]string{"folderName": "empty", "parentFolderPath": "/"}); r.Status != http.StatusCreated {
		t.Fatalf("create folder: %d %s", r.Status, r.Raw)
	}

	cases := []struct {
		params map[string]string
		want   []string
	}{
		{nil, []string{"a.txt", "b.txt", "c.txt"}},
		{map[string]string{"type": "file"}, []string{"a.txt", "b.txt", "c.txt"}},
		{map[string]string{"type": "file-version"}, []string{"a.txt@1"}},
		{map[string]string{"type": "folder"}, []string{"docs/", "old/", "empty/"}},
		{map[string]string{"type": "all"}, []string{"docs/", "a.txt", "old/", "b.txt", "c.txt", "empty/"}},
		{map[string]string{"includeFolder": "true"}, []string{"docs/", "a.txt", "old/", "b.txt", "c.txt", "empty/"}},
		{map[string]string{"includeFolder": "true", "type": "file"}, []string{"a.txt", "b.txt", "c.txt"}},
		// path is one folder level, for files and folders alike.
		{map[string]string{"type": "all", "path": "/"}, []string{"docs/", "c.txt", "empty/"}},
		{map[string]string{"type": "all", "path": "/docs/"}, []string{"a.txt", "old/"}},
		{map[string]string{"type": "folder", "path": "/docs"}, []string{"old/"}},
		{map[string]string{"type": "file-version", "path": "/docs"}, []string{"a.txt@1"}},
		{map[string]string{"type": "all", "path": "/empty"}, []string{}},
		// fileType narrows files and leaves folders out.
		{map[string]string{"type": "all", "fileType": "non-image"}, []string{"a.txt", "b.txt", "c.txt"}},
		// searchQuery takes over type: files and folders, versions when it names them.
		{map[string]string{"type": "folder", "searchQuery": `name : "a"`}, []string{"a.txt"}},
		{map[string]string{"searchQuery": `name : "e" OR name : "d"`}, []string{"docs/", "empty/"}},
		{map[string]string{"searchQuery": `type IN ["file", "file-version"] AND name = "a.txt"`}, []string{"a.txt", "a.txt@1"}},
		{map[string]string{"searchQuery": `type = "file-version"`}, []string{"a.txt@1"}},
		{map[string]string{"searchQuery": `path : "/docs"`}, []string{"a.txt", "old/", "b.txt"}},
		{map[string]string{"searchQuery": `path = "/docs"`, "path": "/docs/old"}, []string{}},
		{map[string]string{"searchQuery": `type = "file"`, "path": "/docs/old"}, []string{"b.txt"}},
		// name and tags apply without a searchQuery only.
		{map[string]string{"name": "b.txt"}, []string{"b.txt"}},
		{map[string]string{"name": "b.txt", "searchQuery": `name = "c.txt"`}, []string{"c.txt"}},
	}
	for _, c := range cases {
		if got := entryKeys(t, e.listQuery(t, c.params)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("list %v = %v, want %v", c.params, got, c.want)
		}
	}

	// A folder entry carries what ImageKit's Folder object has.
	r := e.listQuery(t, map[string]string{"type": "folder", "path": "/docs"})
	if len(r.List) != 1 {
		t.Fatalf("folders in /docs: %s", r.Raw)
	}
	f := r.List[0]
	ts := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	if f["type"] != "folder" || f["name"] != "old" || f["folderPath"] != "/docs/old" ||
		!hexID.MatchString(f["folderId"].(string)) || !ts.MatchString(f["createdAt"].(string)) ||
		f["updatedAt"] != f["createdAt"] || !reflect.DeepEqual(f["customMetadata"], map[string]any{}) || len(f) != 7 {
		t.Errorf("folder entry %v", f)
	}
	// A version entry is the file object of that version.
	r = e.listQuery(t, map[string]string{"type": "file-version"})
	if len(r.List) != 1 || r.List[0]["type"] != "file-version" || r.List[0]["size"] != 2.0 || r.List[0]["filePath"] != "/docs/a.txt" {
		t.Errorf("version entry %s", r.Raw)
	}

	for _, bad := range []map[string]string{{"type": "bogus"}, {"type": "FILE"}, {"type": "image"}} {
		wantError(t, e.listQuery(t, bad), http.StatusBadRequest,
			"Your request contains invalid value for type parameter. Use file, file-version, folder or all.")
	}
}

func TestListSearchQuery(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 6, 15, 12, 0, 0, 0, time.UTC)
	clock := now
	e := newTestEmulator(t, func(c *Config) { c.Now = func() time.Time { return clock } })
	if r := e.postJSON(t, "/v1/customMetadataFields", map[string]any{
		"name": "price", "label": "Price", "schema": map[string]any{"type": "Number"},
	}); r.Status != http.StatusCreated {
		t.Fatalf("create field: %d %s", r.Status, r.Raw)
	}
	clock = now.AddDate(0, 0, -30)
	e.put(t, "/shop", "old.png", pngImage(t, 40, 30, false), field("tags", "archive"))
	clock = now.Add(-time.Hour)
	e.put(t, "/shop", "big.png", pngImage(t, 800, 600, true), field("tags", "sale,summer"),
		field("customMetadata", `{"price": 120}`), field("isPrivateFile", "true"))
	e.put(t, "/shop/shoes", "notes.txt", []byte("plain text"), field("customMetadata", `{"price": 80}`))
	clock = now

	cases := []struct{ query, want string }{
		{`type = "file" AND name = "big.png"`, "big.png"},
		{`name : "b" OR name : "n"`, "big.png notes.txt"},
		{`createdAt > "7d"`, "shoes/ big.png notes.txt"},
		{`createdAt < "7d"`, "shop/ old.png"},
		{`createdAt < 2024-06-01`, "shop/ old.png"},
		{`width >= 800`, "big.png"},
		{`height < 100`, "old.png"},
		{`size < "1kb" AND type = "file"`, "old.png notes.txt"},
		{`format = "png"`, "old.png big.png"},
		{`format IN ["txt"]`, "notes.txt"},
		{`tags IN ["sale", "archive"]`, "old.png big.png"},
		{`tags NOT IN ["sale"] AND type = "file"`, "old.png notes.txt"},
		{`private = true`, "big.png"},
		{`transparency = true`, "big.png"},
		{`published = true AND type = "file"`, "old.png big.png notes.txt"},
		{`"customMetadata.price" > 100`, "big.png"},
		{`"customMetadata.price" IN [80, 120]`, "big.png notes.txt"},
		{`(type = "folder" OR format = "txt") AND path : "/shop/shoes"`, "notes.txt"},
		{`type = "folder" AND name = "shoes"`, "shoes/"},
	}
	for _, c := range cases {
		got := strings.Join(entryKeys(t, e.listQuery(t, map[string]string{"searchQuery": c.query})), " ")
		if got != c.want {
			t.Errorf("searchQuery %s = %q, want %q", c.query, got, c.want)
		}
	}

	syntax := map[string]string{
		`name =`:               "Error at position 6: expected a value, found the end of the query.",
		`colour = "red"`:       `Error at position 0: unknown field "colour".`,
		`(type = "file"`:       `Error at position 14: missing ")".`,
		`tags = "sale"`:        "Error at position 5: operator = is not supported for tags.",
		`createdAt > "sunday"`: `Error at position 12: createdAt takes an ISO 8601 date or a relative time such as 7d, found "sunday".`,
	}
	for q, detail := range syntax {
		wantError(t, e.listQuery(t, map[string]string{"searchQuery": q}), http.StatusBadRequest, msgSearchSyntax+" "+detail)
	}
}

func TestListSortsAndBounds(t *testing.T) {
	t.Parallel()
	clock := steppingClock()
	e := newTestEmulator(t, func(c *Config) { c.Now = clock })
	e.put(t, "/", "b.png", pngImage(t, 30, 10, false))
	e.put(t, "/", "c.png", pngImage(t, 10, 30, false))
	e.put(t, "/", "a.png", pngImage(t, 20, 20, false))
	e.put(t, "/", "b.png", pngImage(t, 300, 100, false)) // a new version: b.png is updated last and biggest

	sizes := map[string]float64{}
	for _, en := range e.getJSON(t, "/v1/files").List {
		sizes[en["name"].(string)] = en["size"].(float64)
	}
	if !(sizes["b.png"] > sizes["a.png"] && sizes["a.png"] > sizes["c.png"]) {
		t.Fatalf("fixture sizes %v do not order b > a > c", sizes)
	}
	cases := map[string]string{
		"":               "b.png c.png a.png",
		"ASC_CREATED":    "b.png c.png a.png",
		"DESC_CREATED":   "a.png c.png b.png",
		"ASC_NAME":       "a.png b.png c.png",
		"DESC_NAME":      "c.png b.png a.png",
		"ASC_UPDATED":    "c.png a.png b.png",
		"DESC_UPDATED":   "b.png a.png c.png",
		"ASC_HEIGHT":     "a.png c.png b.png",
		"DESC_HEIGHT":    "b.png c.png a.png",
		"ASC_WIDTH":      "c.png a.png b.png",
		"DESC_WIDTH":     "b.png a.png c.png",
		"ASC_SIZE":       "c.png a.png b.png",
		"DESC_SIZE":      "b.png a.png c.png",
		"ASC_RELEVANCE":  "b.png c.png a.png",
		"DESC_RELEVANCE": "b.png c.png a.png",
	}
	for sort, want := range cases {
		got := strings.Join(entryKeys(t, e.listQuery(t, map[string]string{"sort": sort})), " ")
		if got != want {
			t.Errorf("sort=%s: %q, want %q", sort, got, want)
		}
	}
	bounds := []struct {
		params map[string]string
		want   string
	}{
		{map[string]string{"limit": "1"}, "b.png"},
		{map[string]string{"limit": "1000"}, "b.png c.png a.png"},
		{map[string]string{"skip": "0", "limit": "2"}, "b.png c.png"},
		{map[string]string{"skip": "2", "limit": "2"}, "a.png"},
		{map[string]string{"skip": "3"}, ""},
		{map[string]string{"skip": "1", "sort": "ASC_NAME"}, "b.png c.png"},
	}
	for _, b := range bounds {
		if got := strings.Join(entryKeys(t, e.listQuery(t, b.params)), " "); got != b.want {
			t.Errorf("%v: %q, want %q", b.params, got, b.want)
		}
	}
	for _, bad := range []struct{ param, value, msg string }{
		{"limit", "0", "Your request contains invalid value for limit parameter. It must be an integer from 1 to 1000."},
		{"limit", "1001", "Your request contains invalid value for limit parameter. It must be an integer from 1 to 1000."},
		{"skip", "-1", "Your request contains invalid value for skip parameter. It must be a non-negative integer."},
		{"sort", "asc_name", "Your request contains invalid value for sort parameter. Use ASC_NAME, DESC_NAME, ASC_CREATED, DESC_CREATED, ASC_UPDATED, DESC_UPDATED, ASC_HEIGHT, DESC_HEIGHT, ASC_WIDTH, DESC_WIDTH, ASC_SIZE, DESC_SIZE, ASC_RELEVANCE or DESC_RELEVANCE."},
	} {
		wantError(t, e.listQuery(t, map[string]string{bad.param: bad.value}), http.StatusBadRequest, bad.msg)
	}
}

func TestDeleteFiles(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	one := e.put(t, "/d", "one.txt", []byte("1"))
	two := e.put(t, "/d", "two.txt", []byte("2"))
	three := e.put(t, "/d", "three.txt", []byte("3"))
	e.put(t, "/d", "three.txt", []byte("3 again")) // a second version goes with the file

	r := e.do(t, http.MethodDelete, "/v2/files/"+one.str("fileId"), testKey, nil, "")
	if r.Status != http.StatusNoContent || len(r.Raw) != 0 {
		t.Fatalf("DELETE = %d %q, want 204 and no body", r.Status, r.Raw)
	}
	wantError(t, e.getJSON(t, "/v1/files/"+one.str("fileId")+"/details"), http.StatusNotFound, msgFileNotFound)
	wantError(t, e.do(t, http.MethodDelete, "/v1/files/"+one.str("fileId"), testKey, nil, ""), http.StatusNotFound, msgFileNotFound)
	if s := fetchServed(t, one.str("url"), nil); s.Status != http.StatusNotFound {
		t.Errorf("deleted file still served: %d", s.Status)
	}
	if got := entryKeys(t, e.getJSON(t, "/v1/files")); !reflect.DeepEqual(got, []string{"two.txt", "three.txt"}) {
		t.Errorf("after delete: %v", got)
	}

	// Bulk: one unknown id fails the whole request and deletes nothing.
	unknown := "5f0000000000000000000000"
	r = e.postJSON(t, "/v1/files/batch/deleteByFileIds", map[string]any{"fileIds": []string{two.str("fileId"), unknown, "junk"}})
	want := map[string]any{"message": msgFilesNotFound, "help": helpText, "missingFileIds": []any{unknown, "junk"}}
	if r.Status != http.StatusNotFound || !reflect.DeepEqual(r.Body, want) {
		t.Errorf("bulk delete with unknown ids = %d %s, want 404 %v", r.Status, r.Raw, want)
	}
	if got := entryKeys(t, e.getJSON(t, "/v1/files")); len(got) != 2 {
		t.Errorf("a failed bulk delete deleted files: %v", got)
	}
	ids := []string{two.str("fileId"), three.str("fileId"), two.str("fileId")}
	r = e.postJSON(t, "/v2/files/batch/deleteByFileIds", map[string]any{"fileIds": ids})
	if r.Status != http.StatusOK || !reflect.DeepEqual(r.Body, map[string]any{"successfullyDeletedFileIds": []any{ids[0], ids[1]}}) {
		t.Errorf("bulk delete = %d %s", r.Status, r.Raw)
	}
	if got := entryKeys(t, e.listQuery(t, map[string]string{"type": "all"})); !reflect.DeepEqual(got, []string{"d/"}) {
		t.Errorf("after bulk delete: %v, want only the folder", got)
	}
	if got := entryKeys(t, e.listQuery(t, map[string]string{"type": "file-version"})); len(got) != 0 {
		t.Errorf("versions of deleted files listed: %v", got)
	}
	wantError(t, e.postJSON(t, "/v1/files/batch/deleteByFileIds", map[string]any{}), http.StatusBadRequest, msgMissingFileIDs)
	wantError(t, e.postJSON(t, "/v1/files/batch/deleteByFileIds", map[string]any{"fileIds": []string{}}), http.StatusBadRequest, msgMissingFileIDs)
	wantError(t, e.do(t, http.MethodPost, "/v1/files/batch/deleteByFileIds", testKey, strings.NewReader(`{"fileIds": "x"`), "application/json"),
		http.StatusBadRequest, msgInvalidJSONBody)

	// The path is free again: a new upload there is a new file.
	again := e.put(t, "/d", "one.txt", []byte("new"))
	if again.str("fileId") == one.str("fileId") {
		t.Error("a new upload reused the deleted file's id")
	}
}

func TestFolders(t *testing.T) {
	t.Parallel()
	clock := steppingClock()
	e := newTestEmulator(t, func(c *Config) { c.Now = clock })
	create := func(name, parent string) response {
		return e.sendJSON(t, http.MethodPost, "/v1/folder", map[string]string{"folderName": name, "parentFolderPath": parent})
	}
	folders := func(params map[string]string) []string {
		params["type"] = "folder"
		out := []string{}
		for _, en := range e.listQuery(t, params).List {
			out = append(out, en["folderPath"].(string))
		}
		return out
	}

	r := create("summer", "/products/images/")
	if r.Status != http.StatusCreated || string(bytes.TrimSpace(r.Raw)) != "{}" {
		t.Fatalf("create = %d %s, want 201 {}", r.Status, r.Raw)
	}
	if got := folders(map[string]string{}); !reflect.DeepEqual(got, []string{"/products", "/products/images", "/products/images/summer"}) {
		t.Errorf("parents not created: %v", got)
	}
	first := e.listQuery(t, map[string]string{"type": "folder", "path": "/products/images"}).List
	if r := create("summer", "products/images"); r.Status != http.StatusCreated {
		t.Errorf("creating an existing folder = %d %s", r.Status, r.Raw)
	}
	if again := e.listQuery(t, map[string]string{"type": "folder", "path": "/products/images"}).List; !reflect.DeepEqual(again, first) {
		t.Errorf("re-creating changed the folder: %v, was %v", again, first)
	}
	if r := e.sendJSON(t, http.MethodPost, "/v2/folder/", map[string]string{"folderName": "a b.c", "parentFolderPath": "/"}); r.Status != http.StatusCreated {
		t.Fatalf("create on v2 = %d %s", r.Status, r.Raw)
	}
	if got := folders(map[string]string{"path": "/"}); !reflect.DeepEqual(got, []string{"/products", "/a_b_c"}) {
		t.Errorf("root folders %v, want the new name with _ for space and dot", got)
	}

	// Uploads make their folders exist.
	shoe := e.put(t, "/products/shoes/red", "x.txt", []byte("x"))
	e.put(t, "/products", "y.txt", []byte("y"))
	if got := folders(map[string]string{"path": "/products"}); !reflect.DeepEqual(got, []string{"/products/images", "/products/shoes"}) {
		t.Errorf("folders in /products: %v", got)
	}

	// Deleting a folder deletes its subtree, files included.
	r = e.sendJSON(t, http.MethodDelete, "/v1/folder", map[string]string{"folderPath": "/products/shoes/"})
	if r.Status != http.StatusOK || string(bytes.TrimSpace(r.Raw)) != "{}" || r.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("delete folder = %d %q %v, want 200 {} as JSON", r.Status, r.Raw, r.Header)
	}
	if got := folders(map[string]string{}); !reflect.DeepEqual(got, []string{"/products", "/products/images", "/products/images/summer", "/a_b_c"}) {
		t.Errorf("folders after delete: %v", got)
	}
	wantError(t, e.getJSON(t, "/v1/files/"+shoe.str("fileId")+"/details"), http.StatusNotFound, msgFileNotFound)
	if s := fetchServed(t, shoe.str("url"), nil); s.Status != http.StatusNotFound {
		t.Errorf("file of a deleted folder still served: %d", s.Status)
	}
	if got := entryKeys(t, e.getJSON(t, "/v1/files")); !reflect.DeepEqual(got, []string{"y.txt"}) {
		t.Errorf("files after folder delete: %v", got)
	}
	// A sibling whose name starts the same survives: "/products" holds "/products-2".
	e.put(t, "/products-2", "z.txt", []byte("z"))
	r = e.sendJSON(t, http.MethodDelete, "/v2/folder/", map[string]string{"folderPath": "products"})
	if r.Status != http.StatusOK {
		t.Fatalf("delete /products = %d %s", r.Status, r.Raw)
	}
	if got := entryKeys(t, e.listQuery(t, map[string]string{"type": "all"})); !reflect.DeepEqual(got, []string{"a_b_c/", "products-2/", "z.txt"}) {
		t.Errorf("after deleting /products: %v", got)
	}

	for _, p := range []string{"/products/shoes", "folder/to/delete/", "/", "/a b/c d"} {
		r := e.sendJSON(t, http.MethodDelete, "/v1/folder", map[string]string{"folderPath": p})
		want := map[string]any{"message": "No folder found with folderPath " + p, "help": helpText, "reason": "FOLDER_NOT_FOUND"}
		if r.Status != http.StatusNotFound || !reflect.DeepEqual(r.Body, want) {
			t.Errorf("delete missing %s = %d %s, want 404 %v", p, r.Status, r.Raw, want)
		}
	}
	wantError(t, e.sendJSON(t, http.MethodDelete, "/v1/folder", map[string]string{}), http.StatusBadRequest, msgMissingFolderPath)
	wantError(t, create("", "/"), http.StatusBadRequest, msgMissingFolderName)
	wantError(t, create("x", ""), http.StatusBadRequest, msgMissingParentFolder)
	wantError(t, create("x", "/a b"), http.StatusBadRequest,
		"Your request contains invalid value for parentFolderPath parameter. "+detailFolderPathInvalid)
	wantError(t, create("x", strings.Repeat("/d", 50)), http.StatusBadRequest,
		"Your request contains invalid value for folderName parameter. "+detailFolderPathInvalid)
	wantError(t, e.do(t, http.MethodPost, "/v1/folder", testKey, strings.NewReader("folderName=x"), "application/x-www-form-urlencoded"),
		http.StatusBadRequest, msgInvalidJSONBody)
}

func TestFoldersAndDeletionsPersist(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	withDir := func(c *Config) { c.DataDir = dir }
	e := newTestEmulator(t, withDir)
	if r := e.sendJSON(t, http.MethodPost, "/v1/folder", map[string]string{"folderName": "kept", "parentFolderPath": "/"}); r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	gone := e.put(t, "/tmp", "gone.txt", []byte("g"))
	e.put(t, "/kept/sub", "stays.txt", []byte("s"))
	deleted := e.put(t, "/kept", "deleted.txt", []byte("d"))
	wantStatus := func(r response, status int) {
		t.Helper()
		if r.Status != status {
			t.Fatalf("%d %s, want %d", r.Status, r.Raw, status)
		}
	}
	wantStatus(e.sendJSON(t, http.MethodDelete, "/v1/folder", map[string]string{"folderPath": "/tmp"}), http.StatusOK)
	wantStatus(e.do(t, http.MethodDelete, "/v1/files/"+deleted.str("fileId"), testKey, nil, ""), http.StatusNoContent)
	// Everything but the urls, which name the server's port.
	withoutURL := func(list []map[string]any) []map[string]any {
		for _, en := range list {
			delete(en, "url")
		}
		return list
	}
	before := withoutURL(e.listQuery(t, map[string]string{"type": "all"}).List)
	stopEmulator(t, e)

	e2 := newTestEmulator(t, withDir)
	after := withoutURL(e2.listQuery(t, map[string]string{"type": "all"}).List)
	if !reflect.DeepEqual(after, before) {
		t.Errorf("after restart:\n%v\nbefore:\n%v", after, before)
	}
	if got := entryKeys(t, e2.listQuery(t, map[string]string{"type": "all"})); !reflect.DeepEqual(got, []string{"kept/", "sub/", "stays.txt"}) {
		t.Errorf("after restart: %v", got)
	}
	wantError(t, e2.getJSON(t, "/v1/files/"+gone.str("fileId")+"/details"), http.StatusNotFound, msgFileNotFound)
	// Deleted contents leave the data dir: only stays.txt's remains.
	if blobs, err := os.ReadDir(filepath.Join(dir, "blobs")); err != nil || len(blobs) != 1 {
		t.Errorf("stored contents after deletes: %v %v, want one", blobs, err)
	}
}

func TestDeleteVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newTestEmulator(t, func(c *Config) { c.DataDir = dir })
	var versionIDs []string
	var id string
	for _, content := range []string{"v1", "v2", "v3"} {
		r := e.put(t, "/", "f.txt", []byte(content))
		id = r.str("fileId")
		vi, _ := r.Body["versionInfo"].(map[string]any)
		versionIDs = append(versionIDs, vi["id"].(string))
	}
	del := func(e *testEmulator, versionID string) response {
		return e.do(t, http.MethodDelete, "/v2/files/"+id+"/versions/"+versionID, testKey, nil, "")
	}
	if r := del(e, versionIDs[0]); r.Status != http.StatusNoContent || len(r.Raw) != 0 {
		t.Fatalf("delete version 1 = %d %s", r.Status, r.Raw)
	}
	wantError(t, del(e, versionIDs[0]), http.StatusNotFound, msgAssetNotFound)
	wantError(t, del(e, versionIDs[2]), http.StatusBadRequest, msgDeleteCurrentVersion)
	wantError(t, del(e, "v1"), http.StatusBadRequest, msgInvalidVersionID)
	wantError(t, e.do(t, http.MethodDelete, "/v1/files/5f0000000000000000000000/versions/"+versionIDs[1], testKey, nil, ""),
		http.StatusNotFound, msgAssetNotFound)
	stopEmulator(t, e)

	e2 := newTestEmulator(t, func(c *Config) { c.DataDir = dir })
	if got := entryKeys(t, e2.listQuery(t, map[string]string{"type": "file-version"})); !reflect.DeepEqual(got, []string{"f.txt@2"}) {
		t.Errorf("older versions after deleting version 1 and a restart: %v", got)
	}
	r := e2.getJSON(t, "/v1/files/"+id+"/versions")
	if r.Status != http.StatusOK || len(r.List) != 2 {
		t.Fatalf("versions: %d %s", r.Status, r.Raw)
	}
	if s := fetchServed(t, e2.URL+"/emulator/f.txt", nil); string(s.Body) != "v3" {
		t.Errorf("current content %q, want v3", s.Body)
	}
	if blobs, err := os.ReadDir(filepath.Join(dir, "blobs")); err != nil || len(blobs) != 2 {
		t.Errorf("stored contents: %v %v, want the two remaining versions", blobs, err)
	}
}
