package emulator

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// decodeObject decodes a JSON object, failing the test if it is not one.
func decodeObject(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, b)
	}
	return m
}

// objectAt returns m[key] as an object.
func objectAt(t testing.TB, m map[string]any, key string) map[string]any {
	t.Helper()
	v, ok := m[key].(map[string]any)
	if !ok {
		t.Fatalf("%q is %T %v, want an object; in %v", key, m[key], m[key], m)
	}
	return v
}

// statsEventually polls the emulator's counters until cond holds (or fails after 10s).
// It only waits for background work to settle; it asserts nothing about time.
func statsEventually(t testing.TB, e *testEmulator, cond func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := e.srv.Stats()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats never reached the expected state: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// noMoreWebhooks fails if the sink holds a delivery nobody waited for.
func noMoreWebhooks(t testing.TB, s *webhookSink) {
	t.Helper()
	select {
	case r := <-s.requests:
		t.Fatalf("unexpected extra webhook: %s", r.Body)
	default:
	}
}

// aiTags reads an AITags value as a list of objects (nil for JSON null).
func aiTags(t testing.TB, v any) []map[string]any {
	t.Helper()
	if v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("AITags is %T %v, want a list", v, v)
	}
	out := make([]map[string]any, 0, len(list))
	for _, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			t.Fatalf("AITags entry is %T %v", x, x)
		}
		out = append(out, m)
	}
	return out
}

func TestRemoveBGPendingThenWebhook(t *testing.T) {
	t.Parallel()
	sink := newWebhookSink(t, 0, 0)
	e := newTestEmulator(t, nil)
	r := e.upload(t, filePart("shoe.png", pngImage(t, 8, 6, false)),
		field("fileName", "shoe.png"),
		field("extensions", `[{"name":"remove-bg","options":{"add_shadow":true,"bg_color":"81d4fa"}}]`),
		field("webhookUrl", sink.ts.URL+"/hook"))
	wantOK(t, r)
	if got := objectAt(t, r.Body, "extensionStatus"); !reflect.DeepEqual(got, map[string]any{"remove-bg": "pending"}) {
		t.Fatalf("extensionStatus %v, want remove-bg pending", got)
	}
	fileID := r.str("fileId")

	hook := sink.next(t)
	if ct := hook.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("webhook Content-Type %q", ct)
	}
	body := decodeObject(t, hook.Body)
	if body["service"] != "remove-bg" || body["status"] != "SUCCESS" {
		t.Fatalf("webhook service/status %v/%v, want remove-bg/SUCCESS: %s", body["service"], body["status"], hook.Body)
	}
	for _, k := range []string{"type", "id", "created_at", "fileId", "error"} {
		if _, ok := body[k]; ok {
			t.Errorf("extension webhook has %q; ImageKit's shape has only service, status, fileObject", k)
		}
	}
	obj := objectAt(t, body, "fileObject")
	if obj["fileId"] != fileID || obj["type"] != "file" || obj["name"] != r.str("name") || obj["url"] != r.str("url") {
		t.Fatalf("fileObject %v does not describe file %s", obj, fileID)
	}
	if got, ok := obj["extensionStatus"]; ok {
		t.Fatalf("fileObject has extensionStatus %v; ImageKit's file object has none", got)
	}

	d := e.getJSON(t, "/v1/files/"+fileID+"/details")
	wantOK(t, d)
	if got, ok := d.Body["extensionStatus"]; ok {
		t.Fatalf("details have extensionStatus %v; ImageKit's file details have none", got)
	}
	statsEventually(t, e, func(s Stats) bool { return s.Webhooks.Delivered == 1 })
	noMoreWebhooks(t, sink)
}

func TestAutoTaggingSynchronous(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	img := pngImage(t, 16, 16, false)
	cases := []struct {
		ext           string
		minConfidence float64
		maxTags       int
		exact         bool // every candidate tag clears minConfidence, so exactly maxTags come back
	}{
		{"google-auto-tagging", 10, 5, true},
		{"aws-auto-tagging", 40, 30, true},
		{"google-auto-tagging", 95, 10, false},
		{"aws-auto-tagging", 90, 3, true},
	}
	for _, c := range cases {
		ext := `[{"name":"` + c.ext + `","minConfidence":` + jsonNumber(c.minConfidence) + `,"maxTags":` + jsonNumber(float64(c.maxTags)) + `}]`
		var first []map[string]any
		// The same content uploaded twice, each time under a new unique name, to
		// different folders: the tags must be the same.
		for i, folder := range []string{"/one", "/two"} {
			r := e.upload(t, filePart("shirt.png", img), field("fileName", "shirt.png"),
				field("folder", folder), field("extensions", ext))
			wantOK(t, r)
			if got := objectAt(t, r.Body, "extensionStatus"); !reflect.DeepEqual(got, map[string]any{c.ext: "success"}) {
				t.Fatalf("%s: extensionStatus %v, want success", ext, got)
			}
			tags := aiTags(t, r.Body["AITags"])
			if len(tags) == 0 || len(tags) > c.maxTags {
				t.Fatalf("%s: %d AITags, want 1..%d: %v", ext, len(tags), c.maxTags, tags)
			}
			if c.exact && len(tags) != c.maxTags {
				t.Fatalf("%s: %d AITags, want exactly %d", ext, len(tags), c.maxTags)
			}
			seen := map[string]bool{}
			for _, tag := range tags {
				name, _ := tag["name"].(string)
				conf, _ := tag["confidence"].(float64)
				if name == "" || seen[name] {
					t.Fatalf("%s: empty or repeated tag name in %v", ext, tags)
				}
				seen[name] = true
				if conf < c.minConfidence || conf > 100 {
					t.Fatalf("%s: tag %v has confidence below minConfidence %v", ext, tag, c.minConfidence)
				}
				if tag["source"] != c.ext {
					t.Fatalf("%s: tag %v has source %v", ext, tag, tag["source"])
				}
			}
			if i == 0 {
				first = tags
				// The file's details carry the same tags.
				d := e.getJSON(t, "/v1/files/"+r.str("fileId")+"/details")
				wantOK(t, d)
				if got := aiTags(t, d.Body["AITags"]); !reflect.DeepEqual(got, tags) {
					t.Fatalf("%s: details AITags %v, upload answered %v", ext, got, tags)
				}
			} else if !reflect.DeepEqual(tags, first) {
				t.Fatalf("%s: same content gave different tags:\n%v\n%v", ext, first, tags)
			}
		}
	}
}

func jsonNumber(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

func TestPendingAutoTaggingWebhook(t *testing.T) {
	t.Parallel()
	img := pngImage(t, 12, 9, false)
	ext := field("extensions", `[{"name":"google-auto-tagging","minConfidence":60,"maxTags":4}]`)

	// What the synchronous extension gives this content, for comparison.
	syncE := newTestEmulator(t, nil)
	want := syncE.upload(t, filePart("tee.png", img), field("fileName", "tee.png"), ext)
	wantOK(t, want)
	wantTags := aiTags(t, want.Body["AITags"])
	if len(wantTags) != 4 {
		t.Fatalf("synchronous tagging gave %v, want 4 tags", wantTags)
	}

	sink := newWebhookSink(t, 0, 0)
	e := newTestEmulator(t, func(c *Config) { c.PendingAutoTagging = true })
	r := e.upload(t, filePart("tee.png", img), field("fileName", "tee.png"), ext,
		field("webhookUrl", sink.ts.URL))
	wantOK(t, r)
	if got := objectAt(t, r.Body, "extensionStatus"); !reflect.DeepEqual(got, map[string]any{"google-auto-tagging": "pending"}) {
		t.Fatalf("extensionStatus %v, want pending", got)
	}
	if r.Body["AITags"] != nil {
		t.Fatalf("AITags %v before tagging finished, want null", r.Body["AITags"])
	}
	body := decodeObject(t, sink.next(t).Body)
	if body["service"] != "google-auto-tagging" || body["status"] != "SUCCESS" {
		t.Fatalf("webhook %v", body)
	}
	obj := objectAt(t, body, "fileObject")
	if obj["fileId"] != r.str("fileId") {
		t.Fatalf("fileObject.fileId %v, want %s", obj["fileId"], r.str("fileId"))
	}
	if got := aiTags(t, obj["AITags"]); !reflect.DeepEqual(got, wantTags) {
		t.Fatalf("webhook AITags %v, want the same as synchronous tagging of the same content %v", got, wantTags)
	}
	d := e.getJSON(t, "/v1/files/"+r.str("fileId")+"/details")
	if got := aiTags(t, d.Body["AITags"]); !reflect.DeepEqual(got, wantTags) {
		t.Fatalf("details AITags %v, want %v", got, wantTags)
	}
	if got, ok := d.Body["extensionStatus"]; ok {
		t.Fatalf("details have extensionStatus %v; ImageKit's file details have none", got)
	}
}

func TestFailExtensions(t *testing.T) {
	t.Parallel()
	sink := newWebhookSink(t, 0, 0)
	e := newTestEmulator(t, func(c *Config) {
		c.FailExtensions = []string{"remove-bg", "aws-auto-tagging"}
	})
	r := e.upload(t, filePart("car.png", pngImage(t, 10, 10, false)), field("fileName", "car.png"),
		field("extensions", `[{"name":"remove-bg"},{"name":"aws-auto-tagging","minConfidence":50,"maxTags":5},{"name":"google-auto-tagging","minConfidence":50,"maxTags":2}]`),
		field("webhookUrl", sink.ts.URL))
	wantOK(t, r)
	want := map[string]any{"remove-bg": "pending", "aws-auto-tagging": "failed", "google-auto-tagging": "success"}
	if got := objectAt(t, r.Body, "extensionStatus"); !reflect.DeepEqual(got, want) {
		t.Fatalf("extensionStatus %v, want %v", got, want)
	}
	for _, tag := range aiTags(t, r.Body["AITags"]) {
		if tag["source"] != "google-auto-tagging" {
			t.Fatalf("a failed extension added tag %v", tag)
		}
	}
	body := decodeObject(t, sink.next(t).Body)
	wantBody := map[string]any{
		"service": "remove-bg", "status": "FAILURE", "fileId": r.str("fileId"),
		"error": map[string]any{"reason": "remove_bg_failed"},
	}
	if !reflect.DeepEqual(body, wantBody) {
		t.Fatalf("failure webhook %v, want %v", body, wantBody)
	}
	d := e.getJSON(t, "/v1/files/"+r.str("fileId")+"/details")
	if got, ok := d.Body["extensionStatus"]; ok {
		t.Fatalf("details have extensionStatus %v; ImageKit's file details have none", got)
	}
	statsEventually(t, e, func(s Stats) bool { return s.Webhooks.Delivered == 1 })
	noMoreWebhooks(t, sink)
}

func TestWebhookRetriedUntilReceiverAnswers200(t *testing.T) {
	t.Parallel()
	sink := newWebhookSink(t, 2, 500)
	e := newTestEmulator(t, func(c *Config) { c.WebhookRetryFor = 8 * time.Second })
	r := e.upload(t, filePart("a.png", pngImage(t, 4, 4, false)), field("fileName", "a.png"),
		field("extensions", `[{"name":"remove-bg"}]`), field("webhookUrl", sink.ts.URL))
	wantOK(t, r)
	body := decodeObject(t, sink.next(t).Body)
	if body["status"] != "SUCCESS" || objectAt(t, body, "fileObject")["fileId"] != r.str("fileId") {
		t.Fatalf("delivered webhook %v", body)
	}
	st := statsEventually(t, e, func(s Stats) bool { return s.Webhooks.Delivered == 1 })
	if st.Webhooks.Retried < 2 {
		t.Fatalf("Retried %d, want at least 2 (two 500s before the 200)", st.Webhooks.Retried)
	}
	if st.Webhooks.GaveUp != 0 {
		t.Fatalf("GaveUp %d, want 0", st.Webhooks.GaveUp)
	}
	noMoreWebhooks(t, sink)
}

func TestAutoDescription(t *testing.T) {
	t.Parallel()
	sink := newWebhookSink(t, 0, 0)
	e := newTestEmulator(t, nil)
	r := e.upload(t, filePart("beach.png", pngImage(t, 8, 6, false)), field("fileName", "beach.png"),
		field("useUniqueFileName", "false"),
		field("extensions", `[{"name":"ai-auto-description"}]`), field("webhookUrl", sink.ts.URL))
	wantOK(t, r)
	if got := objectAt(t, r.Body, "extensionStatus"); !reflect.DeepEqual(got, map[string]any{"ai-auto-description": "pending"}) {
		t.Fatalf("extensionStatus %v", got)
	}
	if _, ok := r.Body["description"]; ok {
		t.Fatalf("description %v before the extension finished", r.Body["description"])
	}
	const want = "A 8x6 image named beach.png."
	body := decodeObject(t, sink.next(t).Body)
	if body["service"] != "ai-auto-description" || body["status"] != "SUCCESS" {
		t.Fatalf("webhook %v", body)
	}
	if got := objectAt(t, body, "fileObject")["description"]; got != want {
		t.Fatalf("webhook description %v, want %q", got, want)
	}
	d := e.getJSON(t, "/v1/files/"+r.str("fileId")+"/details")
	if got := d.str("description"); got != want {
		t.Fatalf("details description %q, want %q", got, want)
	}
}

func TestBadExtensionOptions(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	const prefix = "Your request contains invalid value for extensions parameter. "
	cases := []struct{ ext, message string }{
		{`[{"name":"google-auto-tagging","minConfidence":50,"maxTags":31}]`,
			prefix + "extensions[0] (google-auto-tagging): maxTags is required, an integer from 0 to 30"},
		{`[{"name":"aws-auto-tagging","maxTags":5}]`,
			prefix + "extensions[0] (aws-auto-tagging): minConfidence is required, a number from 0 to 100"},
		{`[{"name":"aws-auto-tagging","minConfidence":101,"maxTags":5}]`,
			prefix + "extensions[0] (aws-auto-tagging): minConfidence is required, a number from 0 to 100"},
		{`[{"name":"remove-bg","options":{"bg_color":"fff","bg_image_url":"https://example.com/bg.png"}}]`,
			prefix + "extensions[0] (remove-bg): bg_color and bg_image_url cannot be used together"},
		{`[{"name":"remove-bg","options":{"add_shadow":"yes"}}]`,
			prefix + "extensions[0] (remove-bg): add_shadow must be true or false"},
		{`[{"name":"remove-bg"},{"name":"sharpen"}]`,
			prefix + "extensions[1] (sharpen): unknown extension; use remove-bg, google-auto-tagging, aws-auto-tagging, ai-auto-description, ai-tasks or saved-extension"},
		{`[{"name":"remove-bg"},{"name":"remove-bg"}]`,
			prefix + "extensions[1] (remove-bg): each extension can be requested once"},
		{`{"name":"remove-bg"}`, prefix + "It must be a JSON array of extension objects."},
	}
	for _, c := range cases {
		r := e.upload(t, filePart("a.png", pngImage(t, 4, 4, false)), field("fileName", "a.png"),
			field("extensions", c.ext))
		wantError(t, r, 400, c.message)
	}
	if st := e.srv.Stats(); st.Uploads != 0 || st.Files != 0 {
		t.Fatalf("rejected uploads were stored: %+v", st)
	}
}
