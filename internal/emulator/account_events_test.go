package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/emulator/probe/probetest"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

const accountSecret = "whsec_account_test_secret"

// verifyLegacySignature checks an x-ik-signature header, t=<ms>,v1=<hex
// HMAC-SHA256(secret, t+"."+body)>, computed here independently of the emulator.
// It returns the header's timestamp.
func verifyLegacySignature(header, secret string, body []byte) (int64, bool) {
	var ts, sig string
	for _, kv := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return 0, false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(body)))
	return t, hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(sig))
}

// checkSignedEvent verifies both signatures of an account event, checks that a
// tampered body fails both, and returns the decoded event.
func checkSignedEvent(t *testing.T, req capturedRequest) map[string]any {
	t.Helper()
	wh, err := standardwebhooks.NewWebhookRaw([]byte(accountSecret))
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(req.Body, req.Header); err != nil {
		t.Fatalf("Standard Webhooks verification failed: %v; headers %v", err, req.Header)
	}
	legacyTS, ok := verifyLegacySignature(req.Header.Get("x-ik-signature"), accountSecret, req.Body)
	if !ok {
		t.Fatalf("x-ik-signature %q does not verify", req.Header.Get("x-ik-signature"))
	}
	whTS, err := strconv.ParseInt(req.Header.Get("webhook-timestamp"), 10, 64)
	if err != nil {
		t.Fatalf("webhook-timestamp %q", req.Header.Get("webhook-timestamp"))
	}
	if legacyTS/1000 != whTS {
		t.Fatalf("x-ik-signature t=%d (ms) and webhook-timestamp %d (s) are not the same instant", legacyTS, whTS)
	}

	tampered := append([]byte(nil), req.Body...)
	tampered[len(tampered)/2] ^= 0x01
	if err := wh.Verify(tampered, req.Header); err == nil {
		t.Fatal("Standard Webhooks verification passed for a tampered body")
	}
	if _, ok := verifyLegacySignature(req.Header.Get("x-ik-signature"), accountSecret, tampered); ok {
		t.Fatal("x-ik-signature verification passed for a tampered body")
	}
	if _, ok := verifyLegacySignature(req.Header.Get("x-ik-signature"), "wrong-secret", req.Body); ok {
		t.Fatal("x-ik-signature verification passed with the wrong secret")
	}

	ev := decodeObject(t, req.Body)
	if ev["id"] == nil || ev["id"] != req.Header.Get("webhook-id") {
		t.Fatalf("event id %v, webhook-id header %q", ev["id"], req.Header.Get("webhook-id"))
	}
	created, _ := ev["created_at"].(string)
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", created); err != nil {
		t.Fatalf("created_at %q is not ISO 8601 with milliseconds: %v", created, err)
	}
	for _, k := range []string{"type", "id", "created_at", "request", "data"} {
		if _, ok := ev[k]; !ok {
			t.Fatalf("event has no %q: %v", k, ev)
		}
	}
	return ev
}

func TestAccountTransformEvents(t *testing.T) {
	t.Parallel()
	sink := newWebhookSink(t, 0, 0)
	e := newTestEmulator(t, func(c *Config) {
		c.AccountWebhookURL = sink.ts.URL + "/account"
		c.AccountWebhookSecret = accountSecret
	})
	r := e.upload(t, filePart("photo.png", pngImage(t, 20, 10, false)), field("fileName", "photo.png"),
		field("transformation", `{"pre":"rt-90","post":[{"type":"transformation","value":"bg-red"}]}`))
	wantOK(t, r)
	requestID := r.Header.Get("x-ik-requestId")
	if requestID == "" {
		t.Fatal("upload answer has no x-ik-requestId")
	}

	events := map[string]map[string]any{}
	for range 2 {
		ev := checkSignedEvent(t, sink.next(t))
		typ, _ := ev["type"].(string)
		if events[typ] != nil {
			t.Fatalf("two %s events", typ)
		}
		events[typ] = ev
	}

	pre := events["upload.pre-transform.success"]
	if pre == nil {
		t.Fatalf("no upload.pre-transform.success among %v", events)
	}
	wantReq := map[string]any{"x_request_id": requestID, "transformation": "rt-90"}
	if got := objectAt(t, pre, "request"); !reflect.DeepEqual(got, wantReq) {
		t.Fatalf("pre-transform request %v, want %v", got, wantReq)
	}
	// The pre-transform success event carries the upload response.
	if got := objectAt(t, pre, "data"); !reflect.DeepEqual(got, r.Body) {
		t.Fatalf("pre-transform data\n%v\nwant the upload response\n%v", got, r.Body)
	}

	post := events["upload.post-transform.success"]
	if post == nil {
		t.Fatalf("no upload.post-transform.success among %v", events)
	}
	wantReq = map[string]any{"x_request_id": requestID,
		"transformation": map[string]any{"type": "transformation", "value": "bg-red"}}
	if got := objectAt(t, post, "request"); !reflect.DeepEqual(got, wantReq) {
		t.Fatalf("post-transform request %v, want %v", got, wantReq)
	}
	wantData := map[string]any{"fileId": r.str("fileId"), "url": r.str("url") + "?tr=bg-red", "name": r.str("name")}
	if got := objectAt(t, post, "data"); !reflect.DeepEqual(got, wantData) {
		t.Fatalf("post-transform data %v, want %v", got, wantData)
	}
	if pre["id"] == post["id"] {
		t.Fatalf("two events share the id %v", pre["id"])
	}

	statsEventually(t, e, func(s Stats) bool { return s.Webhooks.Delivered == 2 })
	noMoreWebhooks(t, sink)
}

func TestAccountPostTransformError(t *testing.T) {
	t.Parallel()
	sink := newWebhookSink(t, 0, 0)
	e := newTestEmulator(t, func(c *Config) {
		c.AccountWebhookURL = sink.ts.URL
		c.AccountWebhookSecret = accountSecret
		c.FailExtensions = []string{"post-transform"}
	})
	r := e.upload(t, filePart("photo.png", pngImage(t, 20, 10, false)), field("fileName", "photo.png"),
		field("folder", "/shop"),
		field("transformation", `{"post":[{"type":"transformation","value":"bg-red"}]}`))
	wantOK(t, r)
	ev := checkSignedEvent(t, sink.next(t))
	if ev["type"] != "upload.post-transform.error" {
		t.Fatalf("event type %v, want upload.post-transform.error", ev["type"])
	}
	wantReq := map[string]any{"x_request_id": r.Header.Get("x-ik-requestId"),
		"transformation": map[string]any{"type": "transformation", "value": "bg-red"}}
	if got := objectAt(t, ev, "request"); !reflect.DeepEqual(got, wantReq) {
		t.Fatalf("request %v, want %v", got, wantReq)
	}
	wantData := map[string]any{
		"fileId": r.str("fileId"), "url": r.str("url") + "?tr=bg-red", "name": r.str("name"),
		"path":           r.str("filePath"),
		"transformation": map[string]any{"error": map[string]any{"reason": "encoding_failed"}},
	}
	if got := objectAt(t, ev, "data"); !reflect.DeepEqual(got, wantData) {
		t.Fatalf("data %v, want %v", got, wantData)
	}
	statsEventually(t, e, func(s Stats) bool { return s.Webhooks.Delivered == 1 })
	noMoreWebhooks(t, sink)
}

func TestVideoPreTransformationQueued(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	video := probetest.SampleMP4(320, 240, 3, 4096)

	r := e.upload(t, filePart("clip.mp4", video), field("fileName", "clip.mp4"),
		field("transformation", `{"pre":"so-2"}`))
	if r.Status != 202 {
		t.Fatalf("status %d, want 202; body %s", r.Status, r.Raw)
	}
	want := map[string]any{"message": "The pre-transformation has been queued successfully."}
	if !reflect.DeepEqual(r.Body, want) {
		t.Fatalf("body %v, want %v", r.Body, want)
	}

	r = e.upload(t, filePart("clip.mp4", video), field("fileName", "clip.mp4"))
	wantOK(t, r)
	for k, v := range map[string]any{
		"width": 320.0, "height": 240.0, "duration": 3.0, "videoCodec": "h264", "audioCodec": "aac",
		"fileType": "non-image", "size": float64(len(video)),
	} {
		if r.Body[k] != v {
			t.Errorf("%s = %v (%T), want %v", k, r.Body[k], r.Body[k], v)
		}
	}
	if _, ok := r.Body["thumbnailUrl"]; ok {
		t.Errorf("a video has thumbnailUrl %v", r.Body["thumbnailUrl"])
	}
	if br, _ := r.Body["bitRate"].(float64); br <= 0 {
		t.Errorf("bitRate %v, want > 0", r.Body["bitRate"])
	}
}
