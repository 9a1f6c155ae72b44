package emulator

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var hexID = regexp.MustCompile(`^[0-9a-f]{24}$`)

// steppingClock is a Config.Now that moves one second forward on every call, so that
// creation times differ and sort the way the calls happened.
func steppingClock() func() time.Time {
	var n atomic.Int64
	start := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	return func() time.Time { return start.Add(time.Duration(n.Add(1)) * time.Second) }
}

// served is a file fetched from its url.
type served struct {
	Status int
	Header http.Header
	Body   []byte
}

// fetchServed GETs an absolute URL without credentials; header adds request headers.
func fetchServed(t testing.TB, url string, header map[string]string) served {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return served{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// listNames returns the names of a files list answer, in order.
func listNames(t testing.TB, r response) []string {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", r.Status, r.Raw)
	}
	if !bytes.HasPrefix(r.Raw, []byte("[")) {
		t.Fatalf("not a JSON list: %s", r.Raw)
	}
	names := []string{}
	for _, f := range r.List {
		name, _ := f["name"].(string)
		names = append(names, name)
	}
	return names
}

func notFoundBody() map[string]any {
	return map[string]any{"message": msgFileNotFound, "help": helpText}
}

func TestFileDetails(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	e := newTestEmulator(t, func(c *Config) { c.Now = func() time.Time { return now } })
	if r := e.postJSON(t, "/v1/customMetadataFields", map[string]any{
		"name": "price", "label": "Price", "schema": map[string]any{"type": "Number"},
	}); r.Status != http.StatusCreated {
		t.Fatalf("creating field: %d %s", r.Status, r.Raw)
	}
	img := pngImage(t, 30, 20, true)
	r := e.upload(t, filePart("pic.png", img), field("fileName", "pic.png"),
		field("useUniqueFileName", "false"), field("folder", "/cat/"),
		field("tags", "summer, sale"), field("customCoordinates", "1,2,3,4"),
		field("customMetadata", `{"price":12.5}`))
	wantOK(t, r)
	id := r.str("fileId")
	if !hexID.MatchString(id) {
		t.Fatalf("fileId %q is not 24 hex digits", id)
	}

	d := e.getJSON(t, "/v1/files/"+id+"/details")
	wantOK(t, d)
	stamp := now.UTC().Format("2006-01-02T15:04:05.000Z") // ImageKit's milliseconds
	want := map[string]any{
		"embeddedMetadata":  map[string]any{"FileSize": float64(len(img)), "MIMEType": "image/png", "ImageWidth": 30.0, "ImageHeight": 20.0},
		"type":              "file",
		"fileId":            id,
		"name":              "pic.png",
		"filePath":          "/cat/pic.png",
		"tags":              []any{"summer", "sale"},
		"AITags":            nil,
		"versionInfo":       map[string]any{"id": id, "name": "Version 1"},
		"isPrivateFile":     false,
		"isPublished":       true,
		"customCoordinates": "1,2,3,4",
		"customMetadata":    map[string]any{"price": 12.5},
		"url":               e.URL + "/emulator/cat/pic.png",
		"thumbnail":         e.URL + "/emulator/tr:n-ik_ml_thumbnail/cat/pic.png",
		"fileType":          "image",
		"mime":              "image/png",
		"size":              float64(len(img)),
		"width":             30.0,
		"height":            20.0,
		"hasAlpha":          true,
		"createdAt":         stamp,
		"updatedAt":         stamp,
	}
	if !reflect.DeepEqual(d.Body, want) {
		for k := range mergeKeys(d.Body, want) {
			if !reflect.DeepEqual(d.Body[k], want[k]) {
				t.Errorf("%s = %#v, want %#v", k, d.Body[k], want[k])
			}
		}
	}

	// A file uploaded with nothing optional: nulls and an empty customMetadata.
	opaque := pngImage(t, 5, 7, false)
	r = e.upload(t, filePart("plain.png", opaque), field("fileName", "plain.png"), field("useUniqueFileName", "false"))
	wantOK(t, r)
	d = e.getJSON(t, "/v1/files/"+r.str("fileId")+"/details")
	wantOK(t, d)
	for k, v := range map[string]any{
		"tags": nil, "AITags": nil, "customCoordinates": nil, "customMetadata": map[string]any{},
		"hasAlpha": false, "width": 5.0, "height": 7.0, "filePath": "/plain.png", "isPrivateFile": false,
	} {
		if !reflect.DeepEqual(d.Body[k], v) {
			t.Errorf("plain file: %s = %#v, want %#v", k, d.Body[k], v)
		}
	}

	// A text file is non-image, with neither dimensions nor thumbnail.
	r = e.upload(t, filePart("notes.txt", []byte("hello, world\n")), field("fileName", "notes.txt"))
	wantOK(t, r)
	d = e.getJSON(t, "/v1/files/"+r.str("fileId")+"/details")
	if d.Body["fileType"] != "non-image" || d.Body["mime"] != "text/plain" || d.Body["size"] != 13.0 {
		t.Errorf("text file details %v", d.Body)
	}
	for _, k := range []string{"width", "height", "thumbnail"} {
		if _, ok := d.Body[k]; ok {
			t.Errorf("text file has %s = %v", k, d.Body[k])
		}
	}
}

func mergeKeys(a, b map[string]any) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

func TestListFiles(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, func(c *Config) { c.Now = steppingClock() })
	img := pngImage(t, 4, 4, false)
	for _, f := range []struct{ folder, name, tags string }{
		{"/a", "one.png", "red"},
		{"/a/b", "two.png", "blue"},
		{"/ab", "three.png", ""},
		{"/c", "notes.txt", "red,green"},
		{"/a", "readme.txt", ""},
	} {
		parts := []part{field("fileName", f.name), field("folder", f.folder), field("useUniqueFileName", "false")}
		if strings.HasSuffix(f.name, ".txt") {
			parts = append(parts, filePart(f.name, []byte("text of "+f.name)))
		} else {
			parts = append(parts, filePart(f.name, img))
		}
		if f.tags != "" {
			parts = append(parts, field("tags", f.tags))
		}
		wantOK(t, e.upload(t, parts...))
	}

	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"one.png", "two.png", "three.png", "notes.txt", "readme.txt"}},
		// path lists one folder level; searchQuery's path : takes subfolders too.
		{"?path=/a", []string{"one.png", "readme.txt"}},
		{"?path=/a/", []string{"one.png", "readme.txt"}},
		{"?path=a", []string{"one.png", "readme.txt"}},
		{"?path=/a/b", []string{"two.png"}},
		{"?path=/", []string{}},
		{"?searchQuery=" + url.QueryEscape(`path : "/a" AND type = "file"`), []string{"one.png", "two.png", "readme.txt"}},
		{"?path=/nothing-here", []string{}},
		{"?path=/a%20b", []string{}}, // no folder can have this path: nothing, as ImageKit answers
		{"?name=two.png", []string{"two.png"}},
		{"?name=two", []string{}},
		{"?tags=red", []string{"one.png", "notes.txt"}},
		{"?tags=blue,green", []string{"two.png", "notes.txt"}},
		{"?tags=purple", []string{}},
		{"?fileType=image", []string{"one.png", "two.png", "three.png"}},
		{"?fileType=non-image", []string{"notes.txt", "readme.txt"}},
		{"?fileType=all", []string{"one.png", "two.png", "three.png", "notes.txt", "readme.txt"}},
		{"?path=/a&fileType=non-image", []string{"readme.txt"}},
		{"?sort=ASC_CREATED", []string{"one.png", "two.png", "three.png", "notes.txt", "readme.txt"}},
		{"?sort=DESC_CREATED", []string{"readme.txt", "notes.txt", "three.png", "two.png", "one.png"}},
		{"?sort=ASC_NAME", []string{"notes.txt", "one.png", "readme.txt", "three.png", "two.png"}},
		{"?sort=DESC_NAME", []string{"two.png", "three.png", "readme.txt", "one.png", "notes.txt"}},
		{"?skip=1&limit=2", []string{"two.png", "three.png"}},
		{"?sort=ASC_NAME&skip=3", []string{"three.png", "two.png"}},
		{"?limit=1", []string{"one.png"}},
		{"?skip=5", []string{}},
		{"?skip=100&limit=1000", []string{}},
	}
	for _, c := range cases {
		if got := listNames(t, e.getJSON(t, "/v1/files"+c.query)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("GET /v1/files%s = %v, want %v", c.query, got, c.want)
		}
	}

	// Every listed entry is a full file object.
	r := e.getJSON(t, "/v1/files?name=one.png")
	if len(r.List) != 1 || r.List[0]["type"] != "file" || r.List[0]["filePath"] != "/a/one.png" ||
		r.List[0]["url"] != e.URL+"/emulator/a/one.png" || !reflect.DeepEqual(r.List[0]["tags"], []any{"red"}) {
		t.Errorf("list entry %v", r.List)
	}

	bad := []struct{ query, message string }{
		{"?skip=-1", "Your request contains invalid value for skip parameter. It must be a non-negative integer."},
		{"?skip=abc", "Your request contains invalid value for skip parameter. It must be a non-negative integer."},
		{"?limit=0", "Your request contains invalid value for limit parameter. It must be an integer from 1 to 1000."},
		{"?limit=1001", "Your request contains invalid value for limit parameter. It must be an integer from 1 to 1000."},
		{"?limit=ten", "Your request contains invalid value for limit parameter. It must be an integer from 1 to 1000."},
		{"?sort=NEWEST", "Your request contains invalid value for sort parameter. Use ASC_NAME, DESC_NAME, ASC_CREATED, DESC_CREATED, ASC_UPDATED, DESC_UPDATED, ASC_HEIGHT, DESC_HEIGHT, ASC_WIDTH, DESC_WIDTH, ASC_SIZE, DESC_SIZE, ASC_RELEVANCE or DESC_RELEVANCE."},
		{"?fileType=video", "Your request contains invalid value for fileType parameter. Use all, image or non-image."},
	}
	for _, b := range bad {
		r := e.getJSON(t, "/v1/files"+b.query)
		if r.Status != http.StatusBadRequest || r.str("message") != b.message || r.str("help") != helpText {
			t.Errorf("GET /v1/files%s = %d %s, want 400 %q", b.query, r.Status, r.Raw, b.message)
		}
	}
}

func TestFileVersions(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	contents := [][]byte{pngImage(t, 3, 3, false), pngImage(t, 6, 4, false), pngImage(t, 9, 5, true)}
	var fileID string
	var versionIDs []string
	for i, c := range contents {
		r := e.upload(t, filePart("logo.png", c), field("fileName", "logo.png"),
			field("folder", "/brand"), field("useUniqueFileName", "false"))
		wantOK(t, r)
		if i == 0 {
			fileID = r.str("fileId")
		} else if r.str("fileId") != fileID {
			t.Fatalf("upload %d: fileId %s, want the first upload's %s", i+1, r.str("fileId"), fileID)
		}
		vi := objectAt(t, r.Body, "versionInfo")
		versionIDs = append(versionIDs, vi["id"].(string))
	}
	if versionIDs[0] != fileID {
		t.Fatalf("first version id %s, want the fileId %s", versionIDs[0], fileID)
	}

	r := e.getJSON(t, "/v1/files/"+fileID+"/versions")
	wantOK(t, r)
	if len(r.List) != 3 {
		t.Fatalf("%d versions, want 3: %s", len(r.List), r.Raw)
	}
	seen := map[string]bool{}
	for i, v := range r.List {
		vi, _ := v["versionInfo"].(map[string]any)
		wantName := []string{"Version 1", "Version 2", "Version 3"}[i]
		if vi["name"] != wantName || vi["id"] != versionIDs[i] {
			t.Errorf("version %d: versionInfo %v, want %s %s", i, vi, versionIDs[i], wantName)
		}
		id, _ := vi["id"].(string)
		if !hexID.MatchString(id) || seen[id] {
			t.Errorf("version %d: id %q is malformed or repeated", i, id)
		}
		seen[id] = true
		wantType := "file-version" // older versions; the current one is a "file"
		if i == len(r.List)-1 {
			wantType = "file"
		}
		if v["fileId"] != fileID || v["type"] != wantType || v["filePath"] != "/brand/logo.png" {
			t.Errorf("version %d: %v", i, v)
		}
		if v["size"] != float64(len(contents[i])) {
			t.Errorf("version %d: size %v, want %d", i, v["size"], len(contents[i]))
		}
	}

	v2 := e.getJSON(t, "/v1/files/"+fileID+"/versions/"+versionIDs[1])
	wantOK(t, v2)
	if v2.Body["type"] != "file-version" || v2.Body["width"] != 6.0 || v2.Body["height"] != 4.0 ||
		!reflect.DeepEqual(v2.Body["versionInfo"], map[string]any{"id": versionIDs[1], "name": "Version 2"}) {
		t.Errorf("version 2 details %v", v2.Body)
	}

	d := e.getJSON(t, "/v1/files/"+fileID+"/details")
	if !reflect.DeepEqual(d.Body["versionInfo"], map[string]any{"id": versionIDs[2], "name": "Version 3"}) || d.Body["type"] != "file" {
		t.Errorf("details after 3 uploads: %v", d.Body)
	}
	// The url serves the current version.
	if got := fetchServed(t, d.str("url"), nil); got.Status != 200 || !bytes.Equal(got.Body, contents[2]) {
		t.Errorf("url serves %d, %d bytes; want the third upload", got.Status, len(got.Body))
	}

	wantNotFound := func(path string) {
		t.Helper()
		r := e.getJSON(t, path)
		if r.Status != http.StatusNotFound || !reflect.DeepEqual(r.Body, notFoundBody()) {
			t.Errorf("GET %s = %d %s, want 404 %v", path, r.Status, r.Raw, notFoundBody())
		}
	}
	wantNotFound("/v1/files/" + fileID + "/versions/000000000000000000000000")
	wantNotFound("/v1/files/000000000000000000000000/versions/" + versionIDs[0])
}

func TestFilesAPIAuthAndNotFound(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	r := e.upload(t, filePart("a.png", pngImage(t, 2, 2, false)), field("fileName", "a.png"))
	wantOK(t, r)
	id := r.str("fileId")
	paths := []string{
		"/v1/files", "/v1/files/" + id + "/details", "/v1/files/" + id + "/versions",
		"/v1/files/" + id + "/versions/" + id, "/v1/customMetadataFields",
	}
	for _, p := range paths {
		wantError(t, e.do(t, http.MethodGet, p, "", nil, ""), http.StatusUnauthorized, msgNoPrivateKey)
		wantError(t, e.do(t, http.MethodGet, p, "private_wrong", nil, ""), http.StatusForbidden, msgWrongPrivateKey)
		wantOK(t, e.getJSON(t, p))
	}
	wantError(t, e.do(t, http.MethodPost, "/v1/customMetadataFields", "", strings.NewReader(`{}`), "application/json"),
		http.StatusUnauthorized, msgNoPrivateKey)

	for _, p := range []string{
		"/v1/files/5f0000000000000000000000/details",
		"/v1/files/5f0000000000000000000000/versions",
	} {
		r := e.getJSON(t, p)
		if r.Status != http.StatusNotFound || !reflect.DeepEqual(r.Body, notFoundBody()) {
			t.Errorf("GET %s = %d %s, want 404 %v", p, r.Status, r.Raw, notFoundBody())
		}
	}
}

func TestServeFiles(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	img := pngImage(t, 40, 30, false)
	r := e.upload(t, filePart("shoe.png", img), field("fileName", "shoe.png"), field("folder", "/products"))
	wantOK(t, r)
	url := r.str("url")
	if !strings.HasPrefix(url, e.URL+"/emulator/products/shoe_") {
		t.Fatalf("url %q", url)
	}

	for _, u := range []string{
		url,
		r.str("thumbnailUrl"),
		url + "?tr=w-100",
		strings.Replace(url, "/emulator/", "/emulator/tr:w-100,h-100/", 1),
	} {
		got := fetchServed(t, u, nil)
		if got.Status != http.StatusOK || !bytes.Equal(got.Body, img) {
			t.Fatalf("GET %s = %d with %d bytes, want 200 with the %d uploaded bytes", u, got.Status, len(got.Body), len(img))
		}
		if ct := got.Header.Get("Content-Type"); ct != "image/png" {
			t.Fatalf("GET %s Content-Type %q, want image/png", u, ct)
		}
	}

	// A range of the file.
	got := fetchServed(t, url, map[string]string{"Range": "bytes=2-9"})
	if got.Status != http.StatusPartialContent || !bytes.Equal(got.Body, img[2:10]) {
		t.Fatalf("Range bytes=2-9: %d %q, want 206 %q", got.Status, got.Body, img[2:10])
	}
	if cr, want := got.Header.Get("Content-Range"), "bytes 2-9/"+strconv.Itoa(len(img)); cr != want {
		t.Fatalf("Content-Range %q, want %q", cr, want)
	}
	got = fetchServed(t, url, map[string]string{"Range": "bytes=-4"})
	if got.Status != http.StatusPartialContent || !bytes.Equal(got.Body, img[len(img)-4:]) {
		t.Fatalf("Range bytes=-4: %d %q", got.Status, got.Body)
	}

	// A text file keeps its own type and exact bytes.
	text := []byte("body { color: red }\n")
	r = e.upload(t, filePart("site.css", text), field("fileName", "site.css"))
	wantOK(t, r)
	got = fetchServed(t, r.str("url"), nil)
	if got.Status != http.StatusOK || !bytes.Equal(got.Body, text) || got.Header.Get("Content-Type") != "text/css" {
		t.Fatalf("css: %d %q %q", got.Status, got.Header.Get("Content-Type"), got.Body)
	}

	// Private files need a signed URL the emulator does not issue.
	r = e.upload(t, filePart("secret.png", img), field("fileName", "secret.png"), field("isPrivateFile", "true"))
	wantOK(t, r)
	got = fetchServed(t, r.str("url"), nil)
	if got.Status != http.StatusUnauthorized {
		t.Fatalf("private file: status %d, want 401", got.Status)
	}
	if m := decodeObject(t, got.Body); m["message"] != "This file is private: it is served only through a signed URL." || m["help"] != helpText {
		t.Fatalf("private file body %v", m)
	}

	// Unpublished files are not served.
	r = e.upload(t, filePart("draft.png", img), field("fileName", "draft.png"), field("isPublished", "false"))
	wantOK(t, r)
	got = fetchServed(t, r.str("url"), nil)
	if got.Status != http.StatusNotFound || !reflect.DeepEqual(decodeObject(t, got.Body), notFoundBody()) {
		t.Fatalf("unpublished file: %d %s, want 404", got.Status, got.Body)
	}

	// Nothing at an unknown path.
	got = fetchServed(t, e.URL+"/emulator/products/missing.png", nil)
	if got.Status != http.StatusNotFound || !reflect.DeepEqual(decodeObject(t, got.Body), notFoundBody()) {
		t.Fatalf("missing file: %d %s, want 404", got.Status, got.Body)
	}
}

func TestCustomMetadataFieldsAPI(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	defs := []map[string]any{
		{"name": "title", "label": "Title", "schema": map[string]any{"type": "Text", "minLength": 1.0, "maxLength": 50.0}},
		{"name": "notes", "label": "Notes", "schema": map[string]any{"type": "Textarea", "isValueRequired": true, "defaultValue": "none"}},
		{"name": "price", "label": "Price", "schema": map[string]any{"type": "Number", "minValue": 0.0, "maxValue": 1000.0}},
		{"name": "shot", "label": "Shot on", "schema": map[string]any{"type": "Date", "minValue": "2000-01-01"}},
		{"name": "approved", "label": "Approved", "schema": map[string]any{"type": "Boolean"}},
		{"name": "size", "label": "Size", "schema": map[string]any{"type": "SingleSelect", "selectOptions": []any{"S", "M", "L"}}},
		{"name": "colors", "label": "Colors", "schema": map[string]any{"type": "MultiSelect", "selectOptions": []any{"red", "green", 3.0}}},
	}
	ids := map[string]string{}
	for _, d := range defs {
		r := e.postJSON(t, "/v1/customMetadataFields", d)
		if r.Status != http.StatusCreated {
			t.Fatalf("create %v: %d %s", d["name"], r.Status, r.Raw)
		}
		id := r.str("id")
		if !hexID.MatchString(id) {
			t.Fatalf("field id %q", id)
		}
		ids[d["name"].(string)] = id
		want := map[string]any{"id": id, "name": d["name"], "label": d["label"], "schema": d["schema"]}
		if !reflect.DeepEqual(r.Body, want) {
			t.Fatalf("created field\n%v\nwant\n%v", r.Body, want)
		}
	}

	bad := []struct {
		body    map[string]any
		message string
	}{
		{map[string]any{"name": "title", "label": "Again", "schema": map[string]any{"type": "Text"}},
			"A custom metadata field with this name already exists."},
		{map[string]any{"name": "weight", "label": "Weight", "schema": map[string]any{"type": "Float"}},
			"Your request contains invalid value for schema parameter. schema.type must be one of Text, Textarea, Number, Date, Boolean, SingleSelect, MultiSelect."},
		{map[string]any{"name": "weight", "label": "Weight", "schema": map[string]any{"type": "Number", "isValueRequired": true}},
			"Your request contains invalid value for schema parameter. schema.defaultValue is required when schema.isValueRequired is true."},
		{map[string]any{"name": "weight", "label": "Weight", "schema": map[string]any{"type": "SingleSelect"}},
			"Your request contains invalid value for schema parameter. schema.selectOptions is required for SingleSelect."},
		{map[string]any{"name": "weight", "label": "Weight", "schema": map[string]any{"type": "Number", "defaultValue": "heavy"}},
			"Your request contains invalid value for schema parameter. schema.defaultValue: must be a number"},
		{map[string]any{"name": "", "label": "Weight", "schema": map[string]any{"type": "Number"}},
			"Your request contains invalid value for name parameter. A field needs a name."},
		{map[string]any{"name": "weight", "schema": map[string]any{"type": "Number"}},
			"Your request contains invalid value for label parameter. A field needs a label."},
	}
	for _, b := range bad {
		wantError(t, e.postJSON(t, "/v1/customMetadataFields", b.body), http.StatusBadRequest, b.message)
	}
	if r := e.postJSON(t, "/v1/customMetadataFields", map[string]any{"name": "x", "label": "X", "kind": "Text"}); r.Status != http.StatusBadRequest {
		t.Fatalf("unknown property: %d %s, want 400", r.Status, r.Raw)
	}

	names := func(r response) []string {
		t.Helper()
		wantOK(t, r)
		out := []string{}
		for _, f := range r.List {
			out = append(out, f["name"].(string))
		}
		return out
	}
	all := []string{"title", "notes", "price", "shot", "approved", "size", "colors"}
	if got := names(e.getJSON(t, "/v1/customMetadataFields")); !reflect.DeepEqual(got, all) {
		t.Fatalf("fields %v, want %v in creation order", got, all)
	}

	r := e.do(t, http.MethodPatch, "/v1/customMetadataFields/"+ids["price"], testKey,
		strings.NewReader(`{"label":"Price (EUR)"}`), "application/json")
	wantOK(t, r)
	if r.str("label") != "Price (EUR)" || r.str("name") != "price" || objectAt(t, r.Body, "schema")["type"] != "Number" {
		t.Fatalf("patched field %v", r.Body)
	}
	for _, f := range e.getJSON(t, "/v1/customMetadataFields").List {
		if f["id"] == ids["price"] && f["label"] != "Price (EUR)" {
			t.Fatalf("list still has label %v", f["label"])
		}
	}
	wantError(t, e.do(t, http.MethodPatch, "/v1/customMetadataFields/000000000000000000000000", testKey,
		strings.NewReader(`{"label":"x"}`), "application/json"), http.StatusNotFound, "No such custom metadata field.")

	// The field can be set while it exists.
	img := pngImage(t, 2, 2, false)
	wantOK(t, e.upload(t, filePart("a.png", img), field("fileName", "a.png"), field("customMetadata", `{"size":"M"}`)))

	r = e.do(t, http.MethodDelete, "/v1/customMetadataFields/"+ids["size"], testKey, nil, "")
	if r.Status != http.StatusOK {
		t.Fatalf("delete: %d %s", r.Status, r.Raw)
	}
	live := []string{"title", "notes", "price", "shot", "approved", "colors"}
	if got := names(e.getJSON(t, "/v1/customMetadataFields")); !reflect.DeepEqual(got, live) {
		t.Fatalf("after delete: %v, want %v", got, live)
	}
	withDeleted := e.getJSON(t, "/v1/customMetadataFields?includeDeleted=true")
	if got := names(withDeleted); !reflect.DeepEqual(got, all) {
		t.Fatalf("includeDeleted: %v, want %v", got, all)
	}
	for _, f := range withDeleted.List {
		deletedAt, has := f["deletedAt"].(string)
		if f["name"] == "size" {
			if _, err := time.Parse(time.RFC3339Nano, deletedAt); err != nil {
				t.Fatalf("deleted field deletedAt %v", f["deletedAt"])
			}
		} else if has {
			t.Fatalf("live field %v has deletedAt", f["name"])
		}
	}
	wantError(t, e.do(t, http.MethodDelete, "/v1/customMetadataFields/"+ids["size"], testKey, nil, ""),
		http.StatusNotFound, "No such custom metadata field.")

	// A deleted field can no longer be set.
	r = e.upload(t, filePart("b.png", img), field("fileName", "b.png"), field("customMetadata", `{"size":"M"}`))
	wantError(t, r, http.StatusBadRequest, msgInvalidCustomMeta)
	wantErrs := map[string]any{"size": "This custom metadata field does not exist. Create it with the custom metadata fields API first."}
	if !reflect.DeepEqual(r.Body["errors"], wantErrs) {
		t.Fatalf("errors %v, want %v", r.Body["errors"], wantErrs)
	}
}
