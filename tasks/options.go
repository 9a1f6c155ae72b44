package tasks

import (
	"strings"
	"time"
	"unicode"
)

// Option is one field of an upload job: an Upload API parameter or one of ikq's own.
// [Options] lists them all, once; the job decoder, the `ikq enqueue` flags and the
// manifest columns are derived from that list, and tests check the Upload API client,
// the OpenAPI document and the emulator against it.
type Option struct {
	// Name is the field's JSON name, which is also its Upload API form field name.
	Name string
	// UploadAPI is true for a parameter of ImageKit's Upload API, false for ikq's own.
	UploadAPI bool
	// Usage is one line for the command line's help.
	Usage string
	// Example is a valid value, as JSON.
	Example string

	// field points into a job at the field the option sets; its type chooses the
	// decoder and the Kind.
	field func(u *Upload) any
}

// OptionKind is how an option's value is written outside JSON, on the command line and
// in a CSV cell.
type OptionKind string

// The kinds of options.
const (
	KindString OptionKind = "string" // text
	KindList   OptionKind = "list"   // comma-separated text
	KindBool   OptionKind = "bool"   // true or false
	KindInt    OptionKind = "int"    // a whole number
	KindJSON   OptionKind = "json"   // JSON text
	KindTime   OptionKind = "time"   // an RFC 3339 time
)

// options is the one list of a job's fields. To add a field: add it to Upload, then
// here. Its type must be one decodeField knows.
var options = []Option{
	{Name: "file", UploadAPI: true, Example: `"https://example.com/photo.jpg"`, field: func(u *Upload) any { return &u.File },
		Usage: "source: http(s) URL, s3://, gs://, azblob://, file:// or base64 content"},
	{Name: "fileName", UploadAPI: true, Example: `"photo.jpg"`, field: func(u *Upload) any { return &u.FileName },
		Usage: "name of the file in ImageKit"},
	{Name: "useUniqueFileName", UploadAPI: true, Example: `false`, field: func(u *Upload) any { return &u.UseUniqueFileName },
		Usage: "add a unique suffix to the name (default true)"},
	{Name: "tags", UploadAPI: true, Example: `"summer,sale"`, field: func(u *Upload) any { return &u.Tags },
		Usage: "comma-separated tags"},
	{Name: "folder", UploadAPI: true, Example: `"/images/products"`, field: func(u *Upload) any { return &u.Folder },
		Usage: "folder path, e.g. /images/products"},
	{Name: "isPrivateFile", UploadAPI: true, Example: `true`, field: func(u *Upload) any { return &u.IsPrivateFile },
		Usage: "mark the file private"},
	{Name: "isPublished", UploadAPI: true, Example: `false`, field: func(u *Upload) any { return &u.IsPublished },
		Usage: "publish the file (default true)"},
	{Name: "customCoordinates", UploadAPI: true, Example: `"10,10,100,100"`, field: func(u *Upload) any { return &u.CustomCoordinates },
		Usage: "x,y,width,height"},
	{Name: "responseFields", UploadAPI: true, Example: `"tags,customCoordinates"`, field: func(u *Upload) any { return &u.ResponseFields },
		Usage: "comma-separated optional response fields"},
	{Name: "extensions", UploadAPI: true, Example: `[{"name":"remove-bg"}]`, field: func(u *Upload) any { return &u.Extensions },
		Usage: `JSON array, e.g. [{"name":"remove-bg"}]`},
	{Name: "webhookUrl", UploadAPI: true, Example: `"https://app.example.com/hook"`, field: func(u *Upload) any { return &u.WebhookURL },
		Usage: "URL that receives the final status of extensions"},
	{Name: "overwriteFile", UploadAPI: true, Example: `false`, field: func(u *Upload) any { return &u.OverwriteFile },
		Usage: "overwrite a file at the same path (default true)"},
	{Name: "overwriteAITags", UploadAPI: true, Example: `false`, field: func(u *Upload) any { return &u.OverwriteAITags },
		Usage: "remove AITags on overwrite (default true)"},
	{Name: "overwriteTags", UploadAPI: true, Example: `false`, field: func(u *Upload) any { return &u.OverwriteTags },
		Usage: "remove tags on overwrite (default true)"},
	{Name: "overwriteCustomMetadata", UploadAPI: true, Example: `false`, field: func(u *Upload) any { return &u.OverwriteCustomMetadata },
		Usage: "remove custom metadata on overwrite (default true)"},
	{Name: "customMetadata", UploadAPI: true, Example: `{"brand":"Nike"}`, field: func(u *Upload) any { return &u.CustomMetadata },
		Usage: `JSON object, e.g. {"brand":"Nike"}`},
	{Name: "transformation", UploadAPI: true, Example: `{"pre":"rt-90"}`, field: func(u *Upload) any { return &u.Transformation },
		Usage: `JSON object, e.g. {"pre":"rt-90"}`},
	{Name: "checks", UploadAPI: true, Example: `"\"file.size\" < \"1mb\""`, field: func(u *Upload) any { return &u.Checks },
		Usage: `server-side checks, e.g. "file.size" < "1mb"`},
	{Name: "description", UploadAPI: true, Example: `"a red shoe"`, field: func(u *Upload) any { return &u.Description },
		Usage: "description of the file"},

	{Name: "callbackUrl", Example: `"https://app.example.com/done"`, field: func(u *Upload) any { return &u.CallbackURL },
		Usage: "URL ikq POSTs the job record to when the job ends"},
	{Name: "queue", Example: `"low"`, field: func(u *Upload) any { return &u.Queue },
		Usage: "critical, default or low"},
	{Name: "runAt", Example: `"2030-01-02T03:04:05Z"`, field: func(u *Upload) any { return &u.RunAt },
		Usage: "when to run: RFC 3339 time, or a delay like 10m"},
	{Name: "maxAttempts", Example: `3`, field: func(u *Upload) any { return &u.MaxAttempts },
		Usage: "attempts before the job fails (default 10)"},
	{Name: "idempotencyKey", Example: `"order-1"`, field: func(u *Upload) any { return &u.IdempotencyKey },
		Usage: "the same key returns the same job"},
	{Name: "fetch", Example: `"remote"`, field: func(u *Upload) any { return &u.Fetch },
		Usage: "worker (the worker streams the bytes) or remote (ImageKit downloads the URL)"},
	{Name: "ifExists", Example: `"skip"`, field: func(u *Upload) any { return &u.IfExists },
		Usage: "when the destination path holds a file: skip (when the size matches, else a new version), version, overwrite or fail"},
	{Name: "run", Example: `"migration-1"`, field: func(u *Upload) any { return &u.Run },
		Usage: "the bulk run the job belongs to"},
}

// Options returns every field of an upload job, Upload API parameters first, in the
// order of the Upload struct.
func Options() []Option {
	return append([]Option(nil), options...)
}

// Kind is how the option's value is written on the command line and in a CSV cell;
// "" for an Option not from [Options].
func (o Option) Kind() OptionKind {
	if o.field == nil {
		return ""
	}
	switch o.field(&Upload{}).(type) {
	case *string:
		return KindString
	case *StringList:
		return KindList
	case **bool:
		return KindBool
	case *int:
		return KindInt
	case **time.Time:
		return KindTime
	default: // extensions, customMetadata, transformation
		return KindJSON
	}
}

// Flag is the option's command-line flag: its name in kebab case (overwriteAITags:
// overwrite-ai-tags).
func (o Option) Flag() string {
	r := []rune(o.Name)
	var b strings.Builder
	for i, c := range r {
		// An upper-case letter starts a word, unless it continues an acronym.
		if unicode.IsUpper(c) && i > 0 &&
			(!unicode.IsUpper(r[i-1]) || i+1 < len(r) && unicode.IsLower(r[i+1])) {
			b.WriteByte('-')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// decoder is the option's JSON decoder, writing into u.
func (o Option) decoder(u *Upload, strict bool) fieldDecoder {
	var p any
	if o.field != nil {
		p = o.field(u)
	}
	switch p := p.(type) {
	case *string:
		return stringField(p)
	case *StringList:
		return listField(p)
	case **bool:
		return boolField(p)
	case *int:
		return intField(p)
	case **time.Time:
		return timeField(p)
	case *[]Extension:
		return embedded(wantExtensions, func(raw []byte, path string) error { return decodeExtensions(raw, path, p, strict) })
	case *map[string]any:
		return embedded(wantMetadata, func(raw []byte, path string) error { return decodeMetadata(raw, path, p) })
	case **Transformation:
		return embedded(wantTransformation, func(raw []byte, path string) error { return decodeTransformation(raw, path, p, strict) })
	}
	// A field type no decoder reads: TestOptionsDecode fails on it first.
	return func(_ []byte, path string) error {
		return &DecodeError{Field: path, Message: "ikq has no decoder for this field"}
	}
}
