package webhook_test

import (
	"errors"
	"testing"

	"github.com/ikq-dev/ikq/internal/completion"
	"github.com/ikq-dev/ikq/webhook"
)

func TestParseExtensionEvent(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body string
		want webhook.ExtensionEvent
		bad  bool
	}{
		// The examples of ImageKit's webhook documentation (https://imagekit.io/docs/webhooks).
		{name: "remove-bg success", body: `{"service":"remove-bg","status":"SUCCESS","fileObject":{"fileId":"5effaa5662679b5af2c58829","name":"a.jpg"}}`,
			want: webhook.ExtensionEvent{Service: "remove-bg", Status: completion.Success, FileID: "5effaa5662679b5af2c58829"}},
		{name: "auto-tagging success", body: `{"service":"google-auto-tagging","status":"SUCCESS","fileObject":{"fileId":"5eff","AITags":[{"name":"Shirt","confidence":90.12,"source":"google-auto-tagging"}]}}`,
			want: webhook.ExtensionEvent{Service: "google-auto-tagging", Status: completion.Success, FileID: "5eff"}},
		{name: "failure", body: `{"service":"aws-auto-tagging","status":"FAILURE","fileId":"5eff","error":{}}`,
			want: webhook.ExtensionEvent{Service: "aws-auto-tagging", Status: completion.Failed, FileID: "5eff"}},
		{name: "lower-case status", body: `{"service":"remove-bg","status":"success"}`,
			want: webhook.ExtensionEvent{Service: "remove-bg", Status: completion.Success}},
		{name: "fileObject not an object", body: `{"service":"remove-bg","status":"SUCCESS","fileObject":"x","fileId":"f2"}`,
			want: webhook.ExtensionEvent{Service: "remove-bg", Status: completion.Success, FileID: "f2"}},
		{name: "unknown fields", body: `{"service":"remove-bg","status":"FAILURE","extra":[1,2]}`,
			want: webhook.ExtensionEvent{Service: "remove-bg", Status: completion.Failed}},

		{name: "not JSON", body: `service=remove-bg`, bad: true},
		{name: "empty", body: ``, bad: true},
		{name: "null", body: `null`, bad: true},
		{name: "array", body: `[{"service":"remove-bg","status":"SUCCESS"}]`, bad: true},
		{name: "two values", body: `{"service":"remove-bg","status":"SUCCESS"} {}`, bad: true},
		{name: "no service", body: `{"status":"SUCCESS"}`, bad: true},
		{name: "empty service", body: `{"service":" ","status":"SUCCESS"}`, bad: true},
		{name: "service not a string", body: `{"service":7,"status":"SUCCESS"}`, bad: true},
		{name: "no status", body: `{"service":"remove-bg"}`, bad: true},
		{name: "status DONE", body: `{"service":"remove-bg","status":"DONE"}`, bad: true},
		{name: "status pending", body: `{"service":"remove-bg","status":"PENDING"}`, bad: true},
		{name: "status not a string", body: `{"service":"remove-bg","status":true}`, bad: true},
	}
	for _, c := range cases {
		got, err := webhook.ParseExtensionEvent([]byte(c.body))
		if c.bad {
			if !errors.Is(err, webhook.ErrInvalidEvent) {
				t.Errorf("%s: %+v, %v; want ErrInvalidEvent", c.name, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
}

func TestParseAccountEvent(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body string
		want webhook.AccountEvent
		bad  bool
	}{
		// The examples of ImageKit's webhook documentation (https://imagekit.io/docs/webhooks).
		{name: "pre-transform success",
			body: `{"type":"upload.pre-transform.success","id":"c9a09db9","created_at":"2023-10-30T14:44:08.165Z","request":{"x_request_id":"1bfe","transformation":"rt-90"},"data":{"fileId":"6540dbea","name":"image.jpg","AITags":null}}`,
			want: webhook.AccountEvent{Type: "upload.pre-transform.success", ID: "c9a09db9", FileID: "6540dbea", Item: completion.PreTransformItem, Status: completion.Success}},
		{name: "pre-transform error names no file",
			body: `{"type":"upload.pre-transform.error","id":"502d1c52","created_at":"2023-10-31T13:49:28.046Z","request":{"x_request_id":"7228","transformation":"so-70"},"data":{"name":"vid.mp4","path":"/myfolder/vid.mp4","transformation":{"error":{"reason":"encoding_failed"}}}}`,
			want: webhook.AccountEvent{Type: "upload.pre-transform.error", ID: "502d1c52", Item: completion.PreTransformItem, Status: completion.Failed}},
		{name: "post-transform success",
			body: `{"type":"upload.post-transform.success","id":"08c12452","created_at":"2023-10-30T15:04:59.462Z","request":{"x_request_id":"0658","transformation":{"type":"transformation","value":"rt-90"}},"data":{"fileId":"653fc60e","url":"http://x/v.mp4?tr=rt-90","name":"v.mp4"}}`,
			want: webhook.AccountEvent{Type: "upload.post-transform.success", ID: "08c12452", FileID: "653fc60e", Item: completion.PostTransformItem("transformation", "rt-90", ""), Status: completion.Success}},
		{name: "post-transform error",
			body: `{"type":"upload.post-transform.error","id":"738f13b0","created_at":"2023-10-31T13:51:10.627Z","request":{"x_request_id":"4902","transformation":{"type":"transformation","value":"so-70"}},"data":{"fileId":"65410644","transformation":{"error":{"reason":"encoding_failed"}}}}`,
			want: webhook.AccountEvent{Type: "upload.post-transform.error", ID: "738f13b0", FileID: "65410644", Item: completion.PostTransformItem("transformation", "so-70", ""), Status: completion.Failed}},
		{name: "post-transform with a protocol",
			body: `{"type":"upload.post-transform.success","id":"e1","request":{"transformation":{"type":"abs","value":"sr-240_360","protocol":"hls"}},"data":{"fileId":"f1"}}`,
			want: webhook.AccountEvent{Type: "upload.post-transform.success", ID: "e1", FileID: "f1", Item: "post-transformation:abs:sr-240_360:hls", Status: completion.Success}},
		{name: "post-transform thumbnail, no value",
			body: `{"type":"upload.post-transform.success","id":"e2","request":{"transformation":{"type":"thumbnail"}},"data":{"fileId":"f1"}}`,
			want: webhook.AccountEvent{Type: "upload.post-transform.success", ID: "e2", FileID: "f1", Item: "post-transformation:thumbnail", Status: completion.Success}},
		{name: "post-transform without a transformation object",
			body: `{"type":"upload.post-transform.success","id":"e3","request":{"transformation":"rt-90"},"data":{"fileId":"f1"}}`,
			want: webhook.AccountEvent{Type: "upload.post-transform.success", ID: "e3", FileID: "f1"}},
		{name: "video transformation ready",
			body: `{"type":"video.transformation.ready","id":"v1","request":{"x_request_id":"r","url":"https://x/v.mp4"},"data":{"asset":{"url":"https://x/v.mp4"},"transformation":{"type":"video-transformation"}}}`,
			want: webhook.AccountEvent{Type: "video.transformation.ready", ID: "v1"}},
		{name: "file created", body: `{"type":"file.created","id":"fc","data":{"fileId":"f1"}}`,
			want: webhook.AccountEvent{Type: "file.created", ID: "fc"}},
		{name: "unknown pre-transform suffix", body: `{"type":"upload.pre-transform.accepted","id":"a","data":{"fileId":"f1"}}`,
			want: webhook.AccountEvent{Type: "upload.pre-transform.accepted", ID: "a"}},
		{name: "id not a string", body: `{"type":"upload.pre-transform.success","id":5,"data":{"fileId":"f1"}}`,
			want: webhook.AccountEvent{Type: "upload.pre-transform.success", FileID: "f1", Item: completion.PreTransformItem, Status: completion.Success}},
		{name: "data not an object", body: `{"type":"upload.pre-transform.success","id":"x","data":[]}`,
			want: webhook.AccountEvent{Type: "upload.pre-transform.success", ID: "x", Item: completion.PreTransformItem, Status: completion.Success}},

		{name: "not JSON", body: `<xml/>`, bad: true},
		{name: "array", body: `[]`, bad: true},
		{name: "no type", body: `{"id":"x","data":{"fileId":"f1"}}`, bad: true},
		{name: "type not a string", body: `{"type":{},"id":"x"}`, bad: true},
	}
	for _, c := range cases {
		got, err := webhook.ParseAccountEvent([]byte(c.body))
		if c.bad {
			if !errors.Is(err, webhook.ErrInvalidEvent) {
				t.Errorf("%s: %+v, %v; want ErrInvalidEvent", c.name, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s:\n got %+v, %v\nwant %+v", c.name, got, err, c.want)
		}
	}
}
