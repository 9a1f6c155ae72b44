package emulator

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func (e *testEmulator) sendRaw(t testing.TB, method, path, body string) response {
	t.Helper()
	return e.do(t, method, path, testKey, strings.NewReader(body), "application/json")
}

// TestCustomMetadataFieldRules: description is kept; a name stays taken after its
// field is deleted; an update needs label or schema; a deleted field cannot be updated.
func TestCustomMetadataFieldRules(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	r := e.sendRaw(t, http.MethodPost, "/v1/customMetadataFields",
		`{"name":"sku","label":"SKU","description":"The product code","schema":{"type":"Text"}}`)
	if r.Status != http.StatusCreated || r.str("description") != "The product code" {
		t.Fatalf("create with description: %d %s", r.Status, r.Raw)
	}
	id := r.str("id")

	wantError(t, e.sendRaw(t, http.MethodPost, "/v1/customMetadataFields",
		`{"name":"other","label":"x","description":"`+strings.Repeat("d", 501)+`","schema":{"type":"Text"}}`),
		http.StatusBadRequest, "Your request contains invalid value for description parameter. It can be up to 500 characters.")

	empty := e.sendRaw(t, http.MethodPatch, "/v1/customMetadataFields/"+id, `{}`)
	wantError(t, empty, http.StatusBadRequest, msgInvalidField)
	if errs, _ := empty.Body["errors"].(map[string]any); errs["label"] == nil || errs["schema"] == nil {
		t.Errorf("PATCH {} errors %v, want label and schema named", empty.Body["errors"])
	}

	if d := e.do(t, http.MethodDelete, "/v1/customMetadataFields/"+id, testKey, nil, ""); d.Status != http.StatusOK || string(bytes.TrimSpace(d.Raw)) != "{}" {
		t.Fatalf("delete: %d %s", d.Status, d.Raw)
	}
	wantError(t, e.sendRaw(t, http.MethodPatch, "/v1/customMetadataFields/"+id, `{"label":"New"}`),
		http.StatusBadRequest, msgFieldDeleted)
	wantError(t, e.sendRaw(t, http.MethodPost, "/v1/customMetadataFields",
		`{"name":"sku","label":"SKU again","schema":{"type":"Text"}}`), http.StatusBadRequest, msgFieldNameTaken)
	// The label of a deleted field is free again.
	if r := e.sendRaw(t, http.MethodPost, "/v1/customMetadataFields",
		`{"name":"sku2","label":"SKU","schema":{"type":"Text"}}`); r.Status != http.StatusCreated {
		t.Fatalf("reusing a deleted field's label: %d %s", r.Status, r.Raw)
	}
}

// TestAITasksAndSavedExtension: both are accepted with their documented options,
// answer pending and finish by webhook; malformed ones are refused.
func TestAITasksAndSavedExtension(t *testing.T) {
	t.Parallel()
	sink := newWebhookSink(t, 0, 0)
	e := newTestEmulator(t, nil)
	exts := `[{"name":"ai-tasks","tasks":[` +
		`{"type":"select_tags","instruction":"What is shown?","vocabulary":["shirt","shoe"],"min_selections":1,"max_selections":2},` +
		`{"type":"yes_no","instruction":"Is it red?","on_yes":{"add_tags":["red"],"set_metadata":[{"field":"color","value":"red"}]}}]},` +
		`{"name":"saved-extension","id":"ext_123"}]`
	r := e.upload(t, filePart("a.png", pngImage(t, 4, 4, false)), field("fileName", "a.png"),
		field("extensions", exts), field("webhookUrl", sink.ts.URL))
	wantOK(t, r)
	st := objectAt(t, r.Body, "extensionStatus")
	if st["ai-tasks"] != "pending" || st["saved-extension"] != "pending" {
		t.Fatalf("extensionStatus %v, want both pending", st)
	}
	got := map[string]bool{}
	for range 2 {
		b := decodeObject(t, sink.next(t).Body)
		if b["status"] != "SUCCESS" {
			t.Errorf("webhook %v", b)
		}
		got[b["service"].(string)] = true
	}
	if !got["ai-tasks"] || !got["saved-extension"] {
		t.Errorf("webhooks for %v, want ai-tasks and saved-extension", got)
	}

	bad := map[string]string{
		`[{"name":"ai-tasks"}]`: "tasks is required",
		`[{"name":"ai-tasks","tasks":[{"type":"guess","instruction":"x"}]}]`:                                             "type must be",
		`[{"name":"ai-tasks","tasks":[{"type":"select_tags"}]}]`:                                                         "instruction is required",
		`[{"name":"ai-tasks","tasks":[{"type":"select_tags","instruction":"x","vocabulary":["50%"]}]}]`:                  "cannot include %",
		`[{"name":"ai-tasks","tasks":[{"type":"select_tags","instruction":"x","min_selections":3,"max_selections":1}]}]`: "min_selections",
		`[{"name":"ai-tasks","tasks":[{"type":"select_metadata","instruction":"x"}]}]`:                                   "field is required",
		`[{"name":"ai-tasks","tasks":[{"type":"yes_no","instruction":"x","on_yes":{"drop":[]}}]}]`:                       "unknown property drop",
		`[{"name":"saved-extension"}]`:                "id is required",
		`[{"name":"saved-extension","id":"a","x":1}]`: "unknown property x",
	}
	for ext, want := range bad {
		r := e.upload(t, filePart("b.png", pngImage(t, 2, 2, false)), field("fileName", "b.png"), field("extensions", ext))
		if r.Status != http.StatusBadRequest || !strings.Contains(r.str("message"), want) {
			t.Errorf("extensions %s: %d %q, want 400 naming %q", ext, r.Status, r.str("message"), want)
		}
	}
}

// elf is an ELF header; appImage marks it as an AppImage (type 2) at offset 8.
func elf(appImage bool) []byte {
	b := append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 56)...)
	if appImage {
		copy(b[8:], "AI\x02")
	}
	return b
}

// TestAppImageByMagic: an AppImage is recognised by its own magic whatever its
// name; any other ELF binary is refused like other disallowed types.
func TestAppImageByMagic(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	r := e.upload(t, filePart("tool", elf(true)), field("fileName", "tool"))
	wantOK(t, r)
	d := e.getJSON(t, "/v1/files/"+r.str("fileId")+"/details")
	if d.Body["mime"] != appImageMIME || d.Body["fileType"] != "non-image" {
		t.Errorf("AppImage details mime %v fileType %v", d.Body["mime"], d.Body["fileType"])
	}
	for _, name := range []string{"tool", "tool.AppImage", "lib.so"} {
		wantError(t, e.upload(t, filePart(name, elf(false)), field("fileName", name)), http.StatusBadRequest, msgUnsupportedType)
	}
}

// TestURLSourceGuard: the downloader refuses loopback unless FetchAllow lets it
// through, with the URL-download 400.
func TestURLSourceGuard(t *testing.T) {
	t.Parallel()
	img := pngImage(t, 2, 2, false)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(img) }))
	t.Cleanup(src.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(src.URL, "http://"))

	guarded := newTestEmulator(t, func(c *Config) { c.FetchAllow = nil; c.URLHeaderTimeout = 2 * time.Second })
	for _, u := range []string{src.URL + "/a.png", "http://localhost:" + port + "/a.png", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/a.png"} {
		wantError(t, guarded.upload(t, field("file", u), field("fileName", "a.png")), http.StatusBadRequest, msgURLDownload)
	}
	allowed := newTestEmulator(t, nil) // tests allow loopback
	wantOK(t, allowed.upload(t, field("file", src.URL+"/a.png"), field("fileName", "a.png")))

	if _, err := New(Config{PrivateKey: "k", FetchAllow: []string{"not a host!"}}); err == nil {
		t.Error("a malformed FetchAllow entry was accepted")
	}
}
