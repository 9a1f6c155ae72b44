package tasks

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"

	"github.com/ikq-dev/ikq/internal/redact"
)

// SourceKind is how a worker opens a job's file.
type SourceKind int

const (
	SourceUnknown SourceKind = iota // empty, or nothing ikq can open
	SourceURL                       // http(s) URL
	SourceObject                    // object-store reference: s3, gs, azblob, file, mem
	SourceInline                    // data URI or plain base64 content
)

func (k SourceKind) String() string {
	switch k {
	case SourceURL:
		return "url"
	case SourceObject:
		return "object"
	case SourceInline:
		return "inline"
	}
	return "unknown"
}

// SourceKind classifies File by its shape; Validate says whether it is usable.
func (u *Upload) SourceKind() SourceKind { return classify(u.File).kind }

// source is File, taken apart.
type source struct {
	kind      SourceKind
	scheme    string // lower-case URL scheme, "data", or SchemeBase64
	mediaType string // data URIs
	dataOK    bool   // a data URI with a comma
	base64    bool   // a data URI marked ;base64
	payload   string // inline content: the base64 text
}

var objectSchemes = map[string]bool{"s3": true, "gs": true, "azblob": true, "file": true, "mem": true}

func classify(s string) source {
	if strings.TrimSpace(s) == "" {
		return source{}
	}
	if len(s) >= 5 && strings.EqualFold(s[:5], "data:") {
		src := source{kind: SourceInline, scheme: "data"}
		meta, payload, ok := strings.Cut(s[5:], ",")
		src.dataOK, src.payload = ok, payload
		src.mediaType = meta
		if len(meta) >= 7 && strings.EqualFold(meta[len(meta)-7:], ";base64") {
			src.base64, src.mediaType = true, meta[:len(meta)-7]
		}
		return src
	}
	if scheme, _, ok := strings.Cut(s, ":"); ok {
		if !redact.ValidScheme(scheme) {
			return source{}
		}
		scheme = strings.ToLower(scheme)
		switch {
		case scheme == "http" || scheme == "https":
			return source{kind: SourceURL, scheme: scheme}
		case objectSchemes[scheme]:
			return source{kind: SourceObject, scheme: scheme}
		}
		return source{scheme: scheme}
	}
	for i := range len(s) {
		if !isBase64Char(s[i]) && !isSpace(s[i]) {
			return source{}
		}
	}
	return source{kind: SourceInline, scheme: SchemeBase64, payload: s}
}

func isBase64Char(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '+' || c == '/' || c == '-' || c == '_' || c == '='
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

var (
	errInlineEmpty    = errors.New("no inline content")
	errInlineTooLarge = errors.New("inline content too large")
	errInlineInvalid  = errors.New("invalid base64")
)

// inlineSize checks base64 text (standard or URL alphabet, padding optional, whitespace
// allowed) and returns its decoded size. Content over max is reported without decoding.
func inlineSize(s string, max int) (int, error) {
	b := compactBase64(s)
	if len(b) == 0 {
		return 0, errInlineEmpty
	}
	enc := base64.RawStdEncoding
	std := bytes.ContainsAny(b, "+/")
	if bytes.ContainsAny(b, "-_") {
		if std {
			return 0, errInlineInvalid // two alphabets mixed
		}
		enc = base64.RawURLEncoding
	}
	if len(b)%4 == 1 || bytes.IndexByte(b, '=') >= 0 {
		return 0, errInlineInvalid
	}
	size := enc.DecodedLen(len(b))
	if size > max {
		return size, errInlineTooLarge
	}
	if _, err := io.Copy(io.Discard, base64.NewDecoder(enc, bytes.NewReader(b))); err != nil {
		return 0, errInlineInvalid
	}
	return size, nil
}

// compactBase64 drops whitespace and up to two trailing '=' of padding.
func compactBase64(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := range len(s) {
		if !isSpace(s[i]) {
			b = append(b, s[i])
		}
	}
	for n := 0; n < 2 && len(b) > 0 && b[len(b)-1] == '='; n++ {
		b = b[:len(b)-1]
	}
	return b
}

// Redacted is a copy of the job safe to store in job records and logs: inline content is
// replaced by a short marker, and every URL (file, webhookUrl, callbackUrl, remove-bg's
// bg_image_url) goes through [RedactURL].
func (u *Upload) Redacted() Upload {
	c := u.clone()
	src := classify(c.File)
	if src.kind == SourceInline {
		c.File = inlineMarker(src)
	} else {
		c.File = RedactURL(c.File)
	}
	c.WebhookURL = RedactURL(c.WebhookURL)
	c.CallbackURL = RedactURL(c.CallbackURL)
	for i := range c.Extensions {
		if s, ok := c.Extensions[i].Options["bg_image_url"].(string); ok {
			c.Extensions[i].Options["bg_image_url"] = RedactURL(s)
		}
	}
	return c
}

func inlineMarker(src source) string {
	size := base64.RawStdEncoding.DecodedLen(len(compactBase64(src.payload)))
	if src.scheme != "data" {
		return fmt.Sprintf("<inline base64, %d bytes>", size)
	}
	mt := src.mediaType
	if len(mt) > 64 || strings.ContainsAny(mt, "<>") {
		mt = ""
	}
	if mt == "" {
		return fmt.Sprintf("<inline data URI, %d bytes>", size)
	}
	return fmt.Sprintf("<inline data URI %s, %d bytes>", mt, size)
}

// clone copies the job deeply enough that changing the copy never changes u.
func (u *Upload) clone() Upload {
	c := *u
	c.UseUniqueFileName = clonePtr(u.UseUniqueFileName)
	c.IsPrivateFile = clonePtr(u.IsPrivateFile)
	c.IsPublished = clonePtr(u.IsPublished)
	c.OverwriteFile = clonePtr(u.OverwriteFile)
	c.OverwriteAITags = clonePtr(u.OverwriteAITags)
	c.OverwriteTags = clonePtr(u.OverwriteTags)
	c.OverwriteCustomMetadata = clonePtr(u.OverwriteCustomMetadata)
	c.RunAt = clonePtr(u.RunAt)
	c.Tags = cloneSlice(u.Tags)
	c.ResponseFields = cloneSlice(u.ResponseFields)
	c.CustomMetadata = cloneMap(u.CustomMetadata)
	if u.Extensions != nil {
		c.Extensions = make([]Extension, len(u.Extensions))
		for i, e := range u.Extensions {
			e.Options = cloneMap(e.Options)
			e.MinConfidence = clonePtr(e.MinConfidence)
			e.MaxTags = clonePtr(e.MaxTags)
			if e.Tasks != nil {
				tasks := make([]map[string]any, len(e.Tasks))
				for j, t := range e.Tasks {
					tasks[j] = cloneMap(t)
				}
				e.Tasks = tasks
			}
			c.Extensions[i] = e
		}
	}
	if u.Transformation != nil {
		t := *u.Transformation
		t.Post = cloneSlice(t.Post)
		c.Transformation = &t
	}
	return c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func cloneSlice[S ~[]E, E any](s S) S {
	if s == nil {
		return nil
	}
	return append(S(make([]E, 0, len(s))), s...)
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := maps.Clone(m)
	for k, v := range c {
		c[k] = cloneValue(v)
	}
	return c
}

// cloneValue copies the JSON containers (objects and arrays) inside v.
func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneMap(v)
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = cloneValue(e)
		}
		return c
	}
	return v
}

// RedactURL returns s fit for job records and logs: no userinfo, and the values of
// secret-looking query and fragment parameters (signatures, tokens, keys,
// credentials, also inside a nested URL) read REDACTED. Everything else is left
// byte for byte, so the source stays recognisable.
func RedactURL(s string) string { return redact.URL(s) }
