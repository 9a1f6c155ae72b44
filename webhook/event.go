package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ikq-dev/ikq/internal/completion"
)

// ErrInvalidEvent: a webhook body that is not an event of the expected shape. The
// errors of ParseExtensionEvent and ParseAccountEvent wrap it and say what is wrong.
var ErrInvalidEvent = errors.New("webhook: invalid event")

// maxName bounds the strings of an event that become item names or Redis keys.
const maxName = 256

// ExtensionEvent is the body ImageKit POSTs to an upload's webhookUrl, once per
// pending extension:
//
//	{"service":"remove-bg","status":"SUCCESS","fileObject":{"fileId":"…",…}}
//	{"service":"aws-auto-tagging","status":"FAILURE","fileId":"…","error":{…}}
type ExtensionEvent struct {
	Service string // the extension's name: the job's item
	Status  string // "success" or "failed"
	FileID  string // fileObject.fileId, else fileId; may be empty
}

// ParseExtensionEvent reads an extension callback. The service must be named and
// the status must be one StatusFromWebhook knows; the rest of the body is not checked.
func ParseExtensionEvent(body []byte) (ExtensionEvent, error) {
	var raw struct {
		Service    *string         `json:"service"`
		Status     *string         `json:"status"`
		FileID     json.RawMessage `json:"fileId"`
		FileObject json.RawMessage `json:"fileObject"`
	}
	if err := unmarshalObject(body, &raw); err != nil {
		return ExtensionEvent{}, err
	}
	var ev ExtensionEvent
	if raw.Service == nil || strings.TrimSpace(*raw.Service) == "" {
		return ev, fmt.Errorf("%w: no service", ErrInvalidEvent)
	}
	if len(*raw.Service) > maxName {
		return ev, fmt.Errorf("%w: service longer than %d bytes", ErrInvalidEvent, maxName)
	}
	ev.Service = *raw.Service
	if raw.Status == nil {
		return ev, fmt.Errorf("%w: no status", ErrInvalidEvent)
	}
	st, ok := completion.StatusFromWebhook(*raw.Status)
	if !ok {
		return ev, fmt.Errorf("%w: status %q is neither SUCCESS nor FAILURE", ErrInvalidEvent, truncate(*raw.Status))
	}
	ev.Status = st
	if obj := objectOf(raw.FileObject); obj != nil {
		ev.FileID = stringOf(obj["fileId"])
	}
	if ev.FileID == "" {
		ev.FileID = stringOf(raw.FileID)
	}
	return ev, nil
}

// Account event types ikq acts on; it parses and ignores the others.
const (
	TypePreTransformSuccess  = "upload.pre-transform.success"
	TypePreTransformError    = "upload.pre-transform.error"
	TypePostTransformSuccess = "upload.post-transform.success"
	TypePostTransformError   = "upload.post-transform.error"
)

// AccountEvent is what ikq reads from an account-level event (configured in
// ImageKit's dashboard, signed):
//
//	{"type":"upload.post-transform.success","id":"…","created_at":"…",
//	 "request":{"x_request_id":"…","transformation":{"type":"transformation","value":"rt-90"}},
//	 "data":{"fileId":"…",…}}
type AccountEvent struct {
	Type string // e.g. upload.pre-transform.success
	ID   string // the event id, unique per event: a nonce
	// FileID is data.fileId: the file the event is about. upload.pre-transform.error
	// names none.
	FileID string
	// Item is the job item the event settles, as the job record's extensions name
	// it: "pre-transformation", or "post-transformation:<type>[:<value>][:<protocol>]"
	// for an entry of request.transformation.post. "" for events ikq
	// does not act on.
	Item   string
	Status string // "success" or "failed"; "" with Item ""
}

// ParseAccountEvent reads an account event. The body must be a JSON object with a
// type; upload.pre-transform.* and upload.post-transform.* events are mapped to an
// item and status, any other type is returned with Item "".
func ParseAccountEvent(body []byte) (AccountEvent, error) {
	var raw struct {
		Type    *string         `json:"type"`
		ID      json.RawMessage `json:"id"`
		Request json.RawMessage `json:"request"`
		Data    json.RawMessage `json:"data"`
	}
	if err := unmarshalObject(body, &raw); err != nil {
		return AccountEvent{}, err
	}
	var ev AccountEvent
	if raw.Type == nil || *raw.Type == "" {
		return ev, fmt.Errorf("%w: no type", ErrInvalidEvent)
	}
	if len(*raw.Type) > maxName {
		return ev, fmt.Errorf("%w: type longer than %d bytes", ErrInvalidEvent, maxName)
	}
	ev.Type = *raw.Type
	ev.ID = stringOf(raw.ID)
	if len(ev.ID) > maxName {
		return ev, fmt.Errorf("%w: id longer than %d bytes", ErrInvalidEvent, maxName)
	}

	var status string
	switch ev.Type {
	case TypePreTransformSuccess, TypePostTransformSuccess:
		status = completion.Success
	case TypePreTransformError, TypePostTransformError:
		status = completion.Failed
	default:
		return ev, nil
	}
	data := objectOf(raw.Data)
	if data != nil {
		ev.FileID = stringOf(data["fileId"])
	}
	if strings.HasPrefix(ev.Type, "upload.pre-transform.") {
		ev.Item, ev.Status = completion.PreTransformItem, status
		return ev, nil
	}
	req := objectOf(raw.Request)
	if req == nil {
		return ev, nil
	}
	tr := objectOf(req["transformation"])
	typ := stringOf(tr["type"])
	if typ == "" {
		return ev, nil // a post-transformation ikq cannot name; not one of its items
	}
	ev.Item = completion.PostTransformItem(typ, stringOf(tr["value"]), stringOf(tr["protocol"]))
	ev.Status = status
	return ev, nil
}

// unmarshalObject decodes body, which must be one JSON object, into v.
func unmarshalObject(body []byte, v any) error {
	var probe json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return fmt.Errorf("%w: the body is not JSON", ErrInvalidEvent)
	}
	if objectOf(probe) == nil {
		return fmt.Errorf("%w: the body is not a JSON object", ErrInvalidEvent)
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("%w: %s is not a %s", ErrInvalidEvent, te.Field, te.Type)
		}
		return fmt.Errorf("%w: %v", ErrInvalidEvent, err) //nolint:errorlint // translated at the boundary: callers classify by ErrInvalidEvent alone
	}
	return nil
}

// objectOf returns raw as an object, or nil when it is not one.
func objectOf(raw json.RawMessage) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// stringOf returns raw as a string, or "" when it is not one.
func stringOf(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// truncate shortens s for an error message.
func truncate(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
