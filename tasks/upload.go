package tasks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"strings"
	"time"
)

// Defaults and limits of ikq's own fields.
const (
	DefaultMaxAttempts = 10
	MaxMaxAttempts     = 50

	FetchWorker = "worker" // the worker downloads the source and streams it to ImageKit
	FetchRemote = "remote" // the URL is passed to ImageKit, which downloads it itself

	// Values of ifExists: what the worker does when the destination path already holds
	// a file. The default ("") uploads without asking.
	IfExistsSkip      = "skip"      // keep the file when its size matches; upload a new version when it differs
	IfExistsVersion   = "version"   // upload a new version of the file at the path
	IfExistsOverwrite = "overwrite" // upload over it without asking (overwriteFile=true)
	IfExistsFail      = "fail"      // fail the job, naming the path

	MaxRunChars = 128
)

// Upload is an upload job: a source plus every option of the ImageKit Upload API, with the
// same JSON names, and ikq's own fields. The zero value of every optional field means the
// Upload API's (or ikq's) default.
//
// The validate tags hold the per-field rules; rules a field has besides its tagged one (the
// total length of tags, folder depth, a / in fileName, printable idempotencyKey) are
// struct-level, so a field breaking two rules reports both. See Validate.
type Upload struct {
	// File is the source: an http(s) URL; an object-store reference (s3://bucket/key,
	// gs://…, azblob://…, file:///abs/path, mem://…); a data URI (data:<type>;base64,<data>);
	// or plain base64 content.
	File     string `json:"file" validate:"notblank"`
	FileName string `json:"fileName" validate:"notblank,max=1024"`

	UseUniqueFileName       *bool           `json:"useUniqueFileName,omitempty"`
	Tags                    StringList      `json:"tags,omitempty" validate:"omitempty,dive,excludes=%,excludes=0x2C"`
	Folder                  string          `json:"folder,omitempty" validate:"omitempty,folderchars"`
	IsPrivateFile           *bool           `json:"isPrivateFile,omitempty"`
	IsPublished             *bool           `json:"isPublished,omitempty"`
	CustomCoordinates       string          `json:"customCoordinates,omitempty" validate:"omitempty,coordinates"`
	ResponseFields          StringList      `json:"responseFields,omitempty" validate:"omitempty,dive,responsefield"`
	Extensions              []Extension     `json:"extensions,omitempty" validate:"omitempty,max=10"`
	WebhookURL              string          `json:"webhookUrl,omitempty" validate:"omitempty,httpurl"`
	OverwriteFile           *bool           `json:"overwriteFile,omitempty"`
	OverwriteAITags         *bool           `json:"overwriteAITags,omitempty"`
	OverwriteTags           *bool           `json:"overwriteTags,omitempty"`
	OverwriteCustomMetadata *bool           `json:"overwriteCustomMetadata,omitempty"`
	CustomMetadata          map[string]any  `json:"customMetadata,omitempty"`
	Transformation          *Transformation `json:"transformation,omitempty"`
	Checks                  string          `json:"checks,omitempty" validate:"max=4096"`
	Description             string          `json:"description,omitempty" validate:"max=1000"`

	// ikq's own.

	// CallbackURL receives the job record, signed, when the job ends.
	CallbackURL string `json:"callbackUrl,omitempty" validate:"omitempty,httpurl"`
	// Queue is critical, default or low; "" means default.
	Queue string `json:"queue,omitempty" validate:"omitempty,oneof=critical default low"`
	// RunAt schedules the first attempt; nil means now.
	RunAt *time.Time `json:"runAt,omitempty"`
	// MaxAttempts is 1..50; 0 means DefaultMaxAttempts.
	MaxAttempts int `json:"maxAttempts,omitempty" validate:"min=0,max=50"`
	// IdempotencyKey makes a repeated enqueue return the first job: ≤ 255 printable ASCII.
	IdempotencyKey string `json:"idempotencyKey,omitempty" validate:"max=255"`
	// Fetch is worker (the default) or remote.
	Fetch string `json:"fetch,omitempty" validate:"omitempty,oneof=worker remote"`
	// IfExists says what to do when the destination path (folder and the final file
	// name) already holds a file: skip, version, overwrite or fail. "" uploads without
	// looking. The worker asks the files API, one listing per folder and run.
	IfExists string `json:"ifExists,omitempty" validate:"omitempty,oneof=skip version overwrite fail"`
	// Run is the bulk run the job belongs to: letters, digits, '.', '_', '-' and ':'.
	Run string `json:"run,omitempty" validate:"omitempty,max=128,runid"`
}

// StringList is a list of strings that reads from JSON as an array of strings or as one
// comma-separated string (the Upload API's form). Elements are trimmed and empty ones
// dropped. It writes an array.
type StringList []string

// Extension is one entry of the Upload API's extensions array.
type Extension struct {
	Name          string           `json:"name"`
	Options       map[string]any   `json:"options,omitempty"`       // remove-bg
	MinConfidence *float64         `json:"minConfidence,omitempty"` // auto-tagging
	MaxTags       *int             `json:"maxTags,omitempty"`       // auto-tagging
	Tasks         []map[string]any `json:"tasks,omitempty"`         // ai-tasks: select_tags, select_metadata, yes_no
	ID            string           `json:"id,omitempty"`            // saved-extension: the saved extension's id
}

// Transformation asks ImageKit for a pre-transformation and post-transformations.
type Transformation struct {
	Pre  string          `json:"pre,omitempty"`
	Post []PostTransform `json:"post,omitempty"`
}

// PostTransform is one post-transformation.
type PostTransform struct {
	Type     string `json:"type"`               // transformation | gif-to-video | thumbnail | abs
	Value    string `json:"value,omitempty"`    // required for transformation and abs
	Protocol string `json:"protocol,omitempty"` // hls | dash, abs only
}

// QueueName is the asynq queue the job runs on.
func (u *Upload) QueueName() string {
	if u.Queue == "" {
		return QueueDefault
	}
	return u.Queue
}

// Attempts is the number of attempts the job gets, retries included.
func (u *Upload) Attempts() int {
	if u.MaxAttempts <= 0 {
		return DefaultMaxAttempts
	}
	return u.MaxAttempts
}

// FetchMode is who downloads a URL source: FetchWorker or FetchRemote.
func (u *Upload) FetchMode() string {
	if u.Fetch == "" {
		return FetchWorker
	}
	return u.Fetch
}

// DecodeError is a job that is not well-formed JSON of the right shape.
type DecodeError struct {
	Field   string // JSON path, like "tags" or "extensions[1].maxTags"; "" for the whole document
	Message string
}

func (e *DecodeError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Decode reads a job from JSON strictly: unknown fields, repeated fields, values of the
// wrong type and trailing data are errors (*DecodeError) naming the field.
//
// extensions, customMetadata and transformation may also be given as a JSON string holding
// their JSON, as the Upload API's form fields carry them.
func Decode(data []byte) (*Upload, error) {
	var u Upload
	if err := decodeUpload(data, &u, true); err != nil {
		return nil, err
	}
	return &u, nil
}

// UnmarshalJSON reads a job like Decode but ignores unknown fields, as encoding/json does:
// it is how stored jobs are read back, and a record written by a newer ikq must still load.
// Use Decode for untrusted input.
func (u *Upload) UnmarshalJSON(data []byte) error {
	var v Upload
	if err := decodeUpload(data, &v, false); err != nil {
		return err
	}
	*u = v
	return nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (l *StringList) UnmarshalJSON(data []byte) error {
	v, err := parseStringList(data)
	if err != nil {
		return errors.New("tasks: " + err.Error())
	}
	*l = v
	return nil
}

// MarshalJSON writes the list as a JSON array.
func (l StringList) MarshalJSON() ([]byte, error) {
	if l == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]string(l))
}

var errStringList = errors.New("want an array of strings or a comma-separated string")

func parseStringList(data []byte) (StringList, error) {
	data = bytes.TrimSpace(data)
	switch {
	case bytes.Equal(data, []byte("null")):
		return nil, nil
	case len(data) > 0 && data[0] == '"':
		var s string
		if json.Unmarshal(data, &s) != nil {
			return nil, errStringList
		}
		return cleanList(strings.Split(s, ",")), nil
	case len(data) > 0 && data[0] == '[':
		var a []*string
		if json.Unmarshal(data, &a) != nil {
			return nil, errStringList
		}
		list := make([]string, len(a))
		for i, s := range a {
			if s == nil {
				return nil, errStringList
			}
			list[i] = *s
		}
		return cleanList(list), nil
	}
	return nil, errStringList
}

// cleanList trims each element and drops empty ones; an empty result is nil.
func cleanList(in []string) StringList {
	var out StringList
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// fieldDecoder decodes one JSON value found at path.
type fieldDecoder func(raw []byte, path string) error

// decodeUpload reads the job object field by field, so every error names its field.
func decodeUpload(data []byte, u *Upload, strict bool) error {
	// Only the members present get a decoder: a job names a few of the options.
	lookup := func(key string) (fieldDecoder, bool) {
		i, ok := optionIndex[key]
		if !ok {
			return nil, false
		}
		return options[i].decoder(u, strict), true
	}
	return walkObject(data, "", "want a JSON object holding an upload job", strict, lookup, slices.Values(optionNames))
}

// optionIndex finds an option by its JSON name; optionNames are those names.
var optionIndex, optionNames = func() (map[string]int, []string) {
	index := make(map[string]int, len(options))
	names := make([]string, len(options))
	for i, o := range options {
		index[o.Name], names[i] = i, o.Name
	}
	return index, names
}()

// decodeObject walks a JSON object and hands each member to its decoder. With strict,
// unknown members are errors. Repeated members always are.
func decodeObject(data []byte, path, want string, strict bool, fields map[string]fieldDecoder) error {
	lookup := func(key string) (fieldDecoder, bool) { fd, ok := fields[key]; return fd, ok }
	return walkObject(data, path, want, strict, lookup, maps.Keys(fields))
}

// walkObject is decodeObject with the decoders found by lookup; names are the
// members it knows, read only for the hint of an unknown one.
func walkObject(data []byte, path, want string, strict bool, lookup func(string) (fieldDecoder, bool), names iter.Seq[string]) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(path, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return &DecodeError{Field: path, Message: want}
	}
	var seen []string // the known members so far: a few
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(path, err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return syntaxError(join(path, key), err)
		}
		fd, ok := lookup(key)
		if !ok {
			if strict {
				return unknownField(path, key, names)
			}
			continue
		}
		if slices.Contains(seen, key) {
			return &DecodeError{Field: join(path, key), Message: "appears more than once"}
		}
		seen = append(seen, key)
		if err := fd(raw, join(path, key)); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return syntaxError(path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &DecodeError{Field: path, Message: "unexpected data after the JSON object"}
	}
	return nil
}

func unknownField(path, key string, names iter.Seq[string]) error {
	msg := "unknown field"
	for name := range names {
		if strings.EqualFold(name, key) {
			msg += fmt.Sprintf("; did you mean %q?", name)
			break
		}
	}
	return &DecodeError{Field: join(path, key), Message: msg}
}

func syntaxError(path string, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return &DecodeError{Field: path, Message: "invalid JSON: " + se.Error()}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &DecodeError{Field: path, Message: "invalid JSON: unexpected end of input"}
	}
	return &DecodeError{Field: path, Message: "invalid JSON: " + err.Error()}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func isNull(raw []byte) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func stringField(dst *string) fieldDecoder {
	return func(raw []byte, path string) error {
		if isNull(raw) {
			*dst = ""
			return nil
		}
		if json.Unmarshal(raw, dst) != nil {
			return &DecodeError{Field: path, Message: "want a string"}
		}
		return nil
	}
}

func boolField(dst **bool) fieldDecoder {
	return func(raw []byte, path string) error {
		if isNull(raw) {
			*dst = nil
			return nil
		}
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return &DecodeError{Field: path, Message: "want true or false"}
		}
		*dst = &b
		return nil
	}
}

func intField(dst *int) fieldDecoder {
	return func(raw []byte, path string) error {
		if isNull(raw) {
			*dst = 0
			return nil
		}
		if json.Unmarshal(raw, dst) != nil {
			return &DecodeError{Field: path, Message: "want an integer"}
		}
		return nil
	}
}

func floatField(dst **float64) fieldDecoder {
	return func(raw []byte, path string) error {
		if isNull(raw) {
			*dst = nil
			return nil
		}
		var f float64
		if json.Unmarshal(raw, &f) != nil {
			return &DecodeError{Field: path, Message: "want a number"}
		}
		*dst = &f
		return nil
	}
}

func intPtrField(dst **int) fieldDecoder {
	return func(raw []byte, path string) error {
		if isNull(raw) {
			*dst = nil
			return nil
		}
		var n int
		if json.Unmarshal(raw, &n) != nil {
			return &DecodeError{Field: path, Message: "want an integer"}
		}
		*dst = &n
		return nil
	}
}

func listField(dst *StringList) fieldDecoder {
	return func(raw []byte, path string) error {
		v, err := parseStringList(raw)
		if err != nil {
			return &DecodeError{Field: path, Message: err.Error()}
		}
		*dst = v
		return nil
	}
}

const wantTime = "want an RFC 3339 time such as 2025-01-02T15:04:05Z"

func timeField(dst **time.Time) fieldDecoder {
	return func(raw []byte, path string) error {
		if isNull(raw) {
			*dst = nil
			return nil
		}
		var t time.Time
		if t.UnmarshalJSON(raw) != nil {
			return &DecodeError{Field: path, Message: wantTime}
		}
		// Kept in UTC so a job reads back equal to itself; years outside 0..9999 could not
		// be written again.
		t = t.UTC()
		if y := t.Year(); y < 0 || y > 9999 {
			return &DecodeError{Field: path, Message: wantTime}
		}
		*dst = &t
		return nil
	}
}

const (
	wantExtensions     = "want an array of extensions, or a string holding one"
	wantMetadata       = "want an object of field names and values, or a string holding one"
	wantTransformation = `want an object like {"pre": "…", "post": […]}, or a string holding one`
)

// embedded accepts a JSON value, or a JSON string holding that value as the Upload API's
// form field would, and passes the value on.
func embedded(want string, next fieldDecoder) fieldDecoder {
	return func(raw []byte, path string) error {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || raw[0] != '"' {
			return next(raw, path)
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return &DecodeError{Field: path, Message: want}
		}
		inner := bytes.TrimSpace([]byte(s))
		if len(inner) == 0 {
			return next([]byte("null"), path)
		}
		if inner[0] == '"' {
			// A string holding a string is not a value of this field.
			return &DecodeError{Field: path, Message: want}
		}
		if !json.Valid(inner) {
			var v any
			err := json.Unmarshal(inner, &v)
			msg := "the string does not hold valid JSON"
			var se *json.SyntaxError
			if errors.As(err, &se) {
				msg += ": " + se.Error()
			}
			return &DecodeError{Field: path, Message: msg + "; " + want}
		}
		return next(inner, path)
	}
}

func decodeExtensions(raw []byte, path string, dst *[]Extension, strict bool) error {
	if isNull(raw) {
		*dst = nil
		return nil
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return &DecodeError{Field: path, Message: wantExtensions}
	}
	var out []Extension
	for i, item := range items {
		var e Extension
		p := fmt.Sprintf("%s[%d]", path, i)
		fields := map[string]fieldDecoder{
			"name":          stringField(&e.Name),
			"options":       func(raw []byte, path string) error { return decodeObjectValue(raw, path, &e.Options, "want an object") },
			"minConfidence": floatField(&e.MinConfidence),
			"maxTags":       intPtrField(&e.MaxTags),
			"tasks":         func(raw []byte, path string) error { return decodeTasks(raw, path, &e.Tasks) },
			"id":            stringField(&e.ID),
		}
		if err := decodeObject(item, p, "want an extension object like {\"name\": \"remove-bg\"}", strict, fields); err != nil {
			return err
		}
		out = append(out, e)
	}
	*dst = out
	return nil
}

// decodeTasks reads ai-tasks' array of task objects; null and [] are nil. What the
// tasks hold is checked by Validate, which names each field.
func decodeTasks(raw []byte, path string, dst *[]map[string]any) error {
	const want = "want an array of task objects"
	if isNull(raw) {
		*dst = nil
		return nil
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return &DecodeError{Field: path, Message: want}
	}
	var out []map[string]any
	for i, item := range items {
		var m map[string]any
		if err := decodeObjectValue(item, fmt.Sprintf("%s[%d]", path, i), &m, "want a task object"); err != nil {
			return err
		}
		out = append(out, m)
	}
	*dst = out
	return nil
}

func decodeMetadata(raw []byte, path string, dst *map[string]any) error {
	return decodeObjectValue(raw, path, dst, wantMetadata)
}

// decodeObjectValue reads a JSON object into a map; null and {} are nil.
func decodeObjectValue(raw []byte, path string, dst *map[string]any, want string) error {
	if isNull(raw) {
		*dst = nil
		return nil
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return &DecodeError{Field: path, Message: want}
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		msg := want
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && strings.HasPrefix(te.Value, "number") {
			msg = "holds a number out of range"
		}
		return &DecodeError{Field: path, Message: msg}
	}
	if len(m) == 0 {
		m = nil
	}
	*dst = m
	return nil
}

func decodeTransformation(raw []byte, path string, dst **Transformation, strict bool) error {
	if isNull(raw) {
		*dst = nil
		return nil
	}
	var t Transformation
	fields := map[string]fieldDecoder{
		"pre": stringField(&t.Pre),
		"post": func(raw []byte, path string) error {
			if isNull(raw) {
				t.Post = nil
				return nil
			}
			var items []json.RawMessage
			if json.Unmarshal(raw, &items) != nil {
				return &DecodeError{Field: path, Message: `want an array of objects like {"type": "transformation", "value": "…"}`}
			}
			t.Post = nil
			for i, item := range items {
				var pt PostTransform
				fields := map[string]fieldDecoder{
					"type":     stringField(&pt.Type),
					"value":    stringField(&pt.Value),
					"protocol": stringField(&pt.Protocol),
				}
				p := fmt.Sprintf("%s[%d]", path, i)
				if err := decodeObject(item, p, `want an object like {"type": "transformation", "value": "…"}`, strict, fields); err != nil {
					return err
				}
				t.Post = append(t.Post, pt)
			}
			return nil
		},
	}
	if err := decodeObject(raw, path, wantTransformation, strict, fields); err != nil {
		return err
	}
	*dst = &t
	return nil
}
