package webhook_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/completion"
	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/ikqtest/e2e"
	"github.com/ikq-dev/ikq/webhook"
)

// TestWithEmulator has the emulator, acting as ImageKit, deliver an extension
// callback to a job's capability URL and signed pre- and post-transformation events
// to the account route, over HTTP.
func TestWithEmulator(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *webhook.TestConfig) { c.Now = time.Now })
	receiver := httptest.NewServer(f.h)
	t.Cleanup(receiver.Close)

	_, imagekitURL := e2e.StartEmulator(t, emulator.Config{
		PrivateKey:           "private_test",
		AccountWebhookURL:    receiver.URL + "/webhooks/imagekit",
		AccountWebhookSecret: accountSecret,
		ExtensionDelay:       20 * time.Millisecond,
	})

	const jobID = "01JOBWITHEXTENSIONS"
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, err := mw.CreateFormFile("file", "photo.png")
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 16, 8))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	img.Set(0, 0, color.White)
	if err := png.Encode(fw, img); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"fileName":       "photo.png",
		"transformation": `{"pre":"rt-90","post":[{"type":"transformation","value":"bg-red"}]}`,
		"extensions":     `[{"name":"remove-bg"}]`,
		"webhookUrl":     f.capability.URL(receiver.URL, jobID),
	} {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, imagekitURL+"/api/v1/files/upload", &form)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.SetBasicAuth("private_test", "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var uploaded struct {
		FileID          string            `json:"fileId"`
		ExtensionStatus map[string]string `json:"extensionStatus"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&uploaded); err != nil || resp.StatusCode != 200 {
		t.Fatalf("upload answered %d: %+v, %v", resp.StatusCode, uploaded, err)
	}
	if uploaded.FileID == "" || uploaded.ExtensionStatus["remove-bg"] != "pending" {
		t.Fatalf("upload answer %+v: want a fileId and remove-bg pending", uploaded)
	}

	want := []call{
		{"ApplyItem", jobID, "remove-bg", completion.Success},
		{"ApplyForFile", uploaded.FileID, completion.PreTransformItem, completion.Success},
		{"ApplyForFile", uploaded.FileID, completion.PostTransformItem("transformation", "bg-red", ""), completion.Success},
	}
	deadline := time.After(10 * time.Second)
	for {
		calls := f.merger.Calls()
		if len(calls) >= len(want) {
			// The three deliveries race each other: compare without order.
			sortCalls := func(c []call) {
				slices.SortFunc(c, func(a, b call) int {
					return cmp.Compare(a.Method+a.Key+a.Item, b.Method+b.Key+b.Item)
				})
			}
			sortCalls(calls)
			sortCalls(want)
			if !slices.Equal(calls, want) {
				t.Fatalf("Merger calls\n%+v\nwant\n%+v", calls, want)
			}
			break
		}
		select {
		case <-f.merger.called:
		case <-deadline:
			t.Fatalf("after 10s the Merger has %+v, want %+v", calls, want)
		}
	}
	relayed := f.Relayed()
	if len(relayed) != 1 || relayed[0].JobID != jobID {
		t.Fatalf("relayed %q, want the remove-bg callback of %s", relayed, jobID)
	}
	ev, err := webhook.ParseExtensionEvent(relayed[0].Body)
	if err != nil || ev.FileID != uploaded.FileID || ev.Service != "remove-bg" {
		t.Fatalf("relayed body parses to %+v, %v", ev, err)
	}
}
