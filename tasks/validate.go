package tasks

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"

	"github.com/ikq-dev/ikq/internal/bytesize"
)

// Limits from the Upload API (https://imagekit.io/docs/api-reference/upload-file/upload-file) and ikq's own.
const (
	DefaultMaxInlineBytes = 1 << 20 // decoded size of inline content
	MaxFileNameChars      = 1024
	MaxTagChars           = 500 // all tags together
	MaxFolderDepth        = 50
	MaxExtensions         = 10
	MaxPostTransforms     = 20
	MaxDescriptionChars   = 1000
	MaxChecksChars        = 4096
	MaxIdempotencyKeyLen  = 255
	MaxRunAhead           = 30 * 24 * time.Hour
)

// SchemeBase64 names plain base64 content in ValidateOptions.AllowedSchemes.
const SchemeBase64 = "base64"

// defaultSchemes are the sources a job may use when ValidateOptions.AllowedSchemes is empty.
var defaultSchemes = []string{"http", "https", "s3", "gs", "azblob", "data", SchemeBase64}

// ValidateOptions says which sources a deployment accepts. The zero value means the defaults.
type ValidateOptions struct {
	// AllowedSchemes are the URL schemes a source may use, plus "data" for data URIs and
	// SchemeBase64 for plain base64 content. Empty means http, https, s3, gs, azblob, data
	// and base64. "mem" (tests) is allowed only when listed.
	AllowedSchemes []string
	// AllowFile also allows file:// sources (the worker must confine them to a root).
	AllowFile bool
	// MaxInlineBytes caps the decoded size of data-URI and base64 content; ≤ 0 means
	// DefaultMaxInlineBytes. Queues carry references, not bytes.
	MaxInlineBytes int
	// Now is the clock runAt is checked against; nil means time.Now.
	Now func() time.Time
}

// Problem is one broken rule.
type Problem struct {
	Field   string `json:"field"`   // JSON path: "tags", "extensions[1].maxTags", "transformation.post[0].value"
	Message string `json:"message"` // a sentence that names the field and says what is wrong
}

// ValidationError lists every problem of a rejected job.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Message
	}
	noun := "problems"
	if len(msgs) == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("tasks: invalid upload job (%d %s): %s", len(msgs), noun, strings.Join(msgs, " "))
}

// Validate checks the job against the rules of the Upload API and ikq's own, and returns
// nil or a *ValidationError holding every problem found.
func (u *Upload) Validate(opts ValidateOptions) error {
	if u == nil {
		return &ValidationError{Problems: []Problem{{Message: "The upload job is missing."}}}
	}
	r := rulesOnce()
	c := checker{opts: opts.resolve()}

	if err := r.v.Struct(u); err != nil {
		var ves validator.ValidationErrors
		if !errors.As(err, &ves) {
			// Only a programming error gets here (an unknown tag, a bad field type).
			c.add("", "The upload job could not be validated: "+err.Error())
		}
		for _, fe := range ves {
			path := fe.Namespace()
			if _, rest, ok := strings.Cut(path, "."); ok {
				path = rest // drop the "Upload." root
			}
			c.add(path, tagMessage(fe, path))
		}
	}

	c.source(u)
	c.extensions(u.Extensions)
	c.transformation(u.Transformation)
	c.customMetadata(u.CustomMetadata)
	c.runAt(u.RunAt)

	if len(c.problems) == 0 {
		return nil
	}
	sort.SliceStable(c.problems, func(i, j int) bool {
		return r.less(c.problems[i].Field, c.problems[j].Field)
	})
	return &ValidationError{Problems: c.problems}
}

type resolvedOptions struct {
	schemes  map[string]bool
	names    []string // allowed, for messages
	maxBytes int
	now      func() time.Time
}

func (o ValidateOptions) resolve() resolvedOptions {
	r := resolvedOptions{schemes: map[string]bool{}, maxBytes: o.MaxInlineBytes, now: o.Now}
	list := o.AllowedSchemes
	if len(list) == 0 {
		list = defaultSchemes
	}
	for _, s := range list {
		r.schemes[strings.ToLower(s)] = true
	}
	if o.AllowFile {
		r.schemes["file"] = true
	}
	for s := range r.schemes {
		r.names = append(r.names, s)
	}
	slices.Sort(r.names)
	if r.maxBytes <= 0 {
		r.maxBytes = DefaultMaxInlineBytes
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r
}

// rules holds the validator, built once: it caches struct metadata and is safe for
// concurrent use.
type rules struct {
	v     *validator.Validate
	index map[string]int // top-level JSON name → field order
}

var rulesOnce = sync.OnceValue(newRules)

func newRules() *rules {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	custom := map[string]validator.Func{
		"notblank":      func(fl validator.FieldLevel) bool { return strings.TrimSpace(fl.Field().String()) != "" },
		"folderchars":   func(fl validator.FieldLevel) bool { return badFolderRune(fl.Field().String()) < 0 },
		"coordinates":   func(fl validator.FieldLevel) bool { return coordinatesPattern.MatchString(fl.Field().String()) },
		"responsefield": func(fl validator.FieldLevel) bool { return slices.Contains(responseFieldNames, fl.Field().String()) },
		"httpurl":       func(fl validator.FieldLevel) bool { return isHTTPURL(fl.Field().String()) },
		"runid":         func(fl validator.FieldLevel) bool { return runPattern.MatchString(fl.Field().String()) },
	}
	for tag, fn := range custom {
		if err := v.RegisterValidation(tag, fn); err != nil {
			panic("tasks: registering " + tag + ": " + err.Error()) // a bug in this file
		}
	}
	v.RegisterStructValidation(uploadLevel, Upload{})
	r := &rules{v: v, index: map[string]int{}}
	t := reflect.TypeFor[Upload]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		r.index[name] = i
	}
	return r
}

// uploadLevel holds the second rule of fields that have two independent ones.
func uploadLevel(sl validator.StructLevel) {
	u, ok := sl.Current().Interface().(Upload)
	if !ok {
		return
	}
	if strings.Contains(u.FileName, "/") {
		sl.ReportError(u.FileName, "fileName", "FileName", "noslash", "")
	}
	if tagChars(u.Tags) > MaxTagChars {
		sl.ReportError(u.Tags, "tags", "Tags", "tagslen", "")
	}
	if folderDepth(u.Folder) > MaxFolderDepth {
		sl.ReportError(u.Folder, "folder", "Folder", "folderdepth", "")
	}
	if !printableASCII(u.IdempotencyKey) {
		sl.ReportError(u.IdempotencyKey, "idempotencyKey", "IdempotencyKey", "printascii", "")
	}
	// version and overwrite upload over the existing file: overwriteFile=false would
	// make that upload fail on the very file the job means to replace.
	if (u.IfExists == IfExistsVersion || u.IfExists == IfExistsOverwrite) && u.OverwriteFile != nil && !*u.OverwriteFile {
		sl.ReportError(u.IfExists, "ifExists", "IfExists", "ifexistsoverwrite", "")
	}
}

// runPattern is what a run id may look like: it names Redis keys and files.
var runPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)

func printableASCII(s string) bool {
	for i := range len(s) {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// less orders problems as the job's fields are ordered, a field before its parts.
func (r *rules) less(a, b string) bool {
	ia, na := r.position(a)
	ib, nb := r.position(b)
	if ia != ib {
		return ia < ib
	}
	return !na && nb
}

func (r *rules) position(path string) (index int, nested bool) {
	top := path
	if i := strings.IndexAny(path, ".["); i >= 0 {
		top, nested = path[:i], true
	}
	if i, ok := r.index[top]; ok {
		return i, nested
	}
	return -1, nested
}

// responseFieldNames are the values responseFields accepts.
var responseFieldNames = []string{
	"tags", "customCoordinates", "isPrivateFile", "embeddedMetadata",
	"isPublished", "customMetadata", "metadata", "selectedFieldsSchema",
}

// extensionNames are the extensions a job may request.
var extensionNames = []string{"remove-bg", "google-auto-tagging", "aws-auto-tagging", "ai-auto-description", "ai-tasks", "saved-extension"}

// postTransformTypes are the values of transformation.post[].type.
var postTransformTypes = []string{"transformation", "gif-to-video", "thumbnail", "abs"}

var coordinatesPattern = regexp.MustCompile(`^\d{1,9},\d{1,9},\d{1,9},\d{1,9}$`)

func tagChars(tags StringList) int {
	n := 0
	for _, t := range tags {
		n += utf8.RuneCountInString(t)
	}
	return n
}

// badFolderRune is the index of the first character a folder may not hold, or -1.
func badFolderRune(s string) int {
	for i, r := range s {
		if !(unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) || r == '/' || r == '_' || r == '-') {
			return i
		}
	}
	return -1
}

func folderDepth(s string) int {
	n := 0
	for seg := range strings.SplitSeq(s, "/") {
		if seg != "" {
			n++
		}
	}
	return n
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	return (scheme == "http" || scheme == "https") && u.Hostname() != ""
}

// CleanFileName returns name as ImageKit stores it: unicode letters, marks and numerals,
// '.' and '-' are kept; every other character, space included, becomes '_'.
func CleanFileName(name string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, name)
}

// tagMessage turns a validator failure into a sentence.
func tagMessage(fe validator.FieldError, path string) string {
	val := fe.Value()
	switch fe.Tag() {
	case "notblank":
		return path + " is required."
	case "max", "min":
		switch fe.Kind() {
		case reflect.String:
			return fmt.Sprintf("%s must be at most %s characters long; it has %d.", path, fe.Param(), utf8.RuneCountInString(fmt.Sprint(val)))
		case reflect.Slice:
			return fmt.Sprintf("%s may hold at most %s items; it has %d.", path, fe.Param(), reflect.ValueOf(val).Len())
		}
		if path == "maxAttempts" {
			return fmt.Sprintf("maxAttempts must be between 1 and %d, or 0 for the default (%d); it is %v.", MaxMaxAttempts, DefaultMaxAttempts, val)
		}
		return fmt.Sprintf("%s must be between 0 and %s; it is %v.", path, fe.Param(), val)
	case "noslash":
		return path + " must not contain /; put the folder path in folder."
	case "excludes":
		switch fe.Param() {
		case ",":
			return fmt.Sprintf("%s (%q) must not contain a comma; give each tag as its own array element.", path, val)
		}
		return fmt.Sprintf("%s must not contain %s.", path, fe.Param())
	case "tagslen":
		tags, _ := val.(StringList)
		return fmt.Sprintf("tags may hold at most %d characters in all; these hold %d.", MaxTagChars, tagChars(tags))
	case "folderchars":
		s := fmt.Sprint(val)
		r, _ := utf8.DecodeRuneInString(s[badFolderRune(s):])
		return fmt.Sprintf("folder may contain only letters, digits, /, _ and -; %q is not allowed.", r)
	case "folderdepth":
		return fmt.Sprintf("folder is nested %d levels deep; at most %d are allowed.", folderDepth(fmt.Sprint(val)), MaxFolderDepth)
	case "coordinates":
		return "customCoordinates must be x,y,width,height: four non-negative integers, like 10,10,100,100."
	case "responsefield":
		return fmt.Sprintf("%s is %q, which the response cannot include; use one of %s.", path, val, strings.Join(responseFieldNames, ", "))
	case "httpurl":
		return path + " must be an absolute http or https URL."
	case "oneof":
		return fmt.Sprintf("%s is %q; it must be one of %s.", path, val, strings.Join(strings.Fields(fe.Param()), ", "))
	case "printascii":
		return path + " may contain only printable ASCII characters."
	case "runid":
		return fmt.Sprintf("run (%q) may contain only letters, digits, '.', '_', '-' and ':', and must start with a letter or digit.", val)
	case "ifexistsoverwrite":
		return fmt.Sprintf("ifExists is %q, which uploads over the existing file; it cannot be combined with overwriteFile=false.", val)
	}
	return fmt.Sprintf("%s breaks the rule %q.", path, fe.Tag())
}

// checker holds the rules that need options, several fields at once, or per-item logic
// clearer in plain Go.
type checker struct {
	opts     resolvedOptions
	problems []Problem
}

func (c *checker) add(field, msg string) {
	c.problems = append(c.problems, Problem{Field: field, Message: msg})
}

func (c *checker) source(u *Upload) {
	if strings.TrimSpace(u.File) == "" {
		return // reported as required
	}
	src := classify(u.File)
	allowed := strings.Join(c.opts.names, ", ")
	if src.scheme != "" && !c.opts.schemes[src.scheme] {
		what := "the scheme " + src.scheme
		if src.scheme == SchemeBase64 {
			what = "inline base64 content"
		}
		c.add("file", fmt.Sprintf("file uses %s, which is not allowed here; use one of %s.", what, allowed))
	} else {
		switch src.kind {
		case SourceUnknown:
			if src.scheme != "" {
				break // reported above
			}
			c.add("file", "file is neither a URL nor base64 content.")
		case SourceURL:
			if !isHTTPURL(u.File) {
				c.add("file", "file must be an http or https URL with a host, like https://example.com/photo.jpg.")
			}
		case SourceObject:
			if msg := checkObjectRef(u.File, src.scheme); msg != "" {
				c.add("file", msg)
			}
		case SourceInline:
			c.inline(src)
		}
	}
	if u.FetchMode() == FetchRemote && src.kind != SourceURL {
		c.add("fetch", "fetch is remote, which needs an http or https URL in file: ImageKit downloads remote sources itself.")
	}
}

func checkObjectRef(s, scheme string) string {
	ref, err := url.Parse(s)
	if err != nil {
		return "file is not a valid " + scheme + ":// reference."
	}
	switch scheme {
	case "file":
		if (ref.Host != "" && ref.Host != "localhost") || !strings.HasPrefix(ref.Path, "/") || ref.Path == "/" {
			return "file must be an absolute path, like file:///data/photo.jpg."
		}
	case "mem":
		if ref.Host == "" && strings.Trim(ref.Path, "/") == "" {
			return "file must name a key, like mem://bucket/photo.jpg."
		}
	default:
		if ref.Host == "" || strings.Trim(ref.Path, "/") == "" {
			return fmt.Sprintf("file must name a bucket and a key, like %s://bucket/photo.jpg.", scheme)
		}
	}
	return ""
}

func (c *checker) inline(src source) {
	if src.scheme == "data" {
		if !src.dataOK {
			c.add("file", "file is not a valid data URI; use data:<type>;base64,<data>.")
			return
		}
		if !src.base64 {
			c.add("file", "file is a data URI without ;base64; only base64 data URIs are supported.")
			return
		}
	}
	size, err := inlineSize(src.payload, c.opts.maxBytes)
	switch {
	case errors.Is(err, errInlineEmpty):
		c.add("file", "file holds no content.")
	case errors.Is(err, errInlineTooLarge):
		c.add("file", fmt.Sprintf("file holds %s of inline content; at most %s may be sent inline, so put larger files behind a URL or in an object store.",
			bytesize.Format(int64(size)), bytesize.Format(int64(c.opts.maxBytes))))
	case err != nil:
		c.add("file", "file is not valid base64 content.")
	}
}

func (c *checker) extensions(exts []Extension) {
	known := strings.Join(extensionNames, ", ")
	first := map[string]int{}
	for i, e := range exts {
		p := fmt.Sprintf("extensions[%d]", i)
		if strings.TrimSpace(e.Name) == "" {
			c.add(p+".name", fmt.Sprintf("%s.name is required; use one of %s.", p, known))
			continue
		}
		if j, dup := first[e.Name]; dup {
			c.add(p+".name", fmt.Sprintf("%s.name: %s is already requested by extensions[%d]; ask for each extension once.", p, e.Name, j))
		} else {
			first[e.Name] = i
		}
		switch e.Name {
		case "remove-bg":
			c.only(p, e, "options")
			c.removeBgOptions(p, e.Options)
		case "google-auto-tagging", "aws-auto-tagging":
			c.only(p, e, "minConfidence", "maxTags")
			switch mc := e.MinConfidence; {
			case mc == nil:
				c.add(p+".minConfidence", p+".minConfidence is required for "+e.Name+": a number from 0 to 100.")
			case !(*mc >= 0 && *mc <= 100):
				c.add(p+".minConfidence", fmt.Sprintf("%s.minConfidence must be from 0 to 100; it is %v.", p, *mc))
			}
			switch mt := e.MaxTags; {
			case mt == nil:
				c.add(p+".maxTags", p+".maxTags is required for "+e.Name+": an integer from 0 to 30.")
			case *mt < 0 || *mt > 30:
				c.add(p+".maxTags", fmt.Sprintf("%s.maxTags must be from 0 to 30; it is %d.", p, *mt))
			}
		case "ai-auto-description":
			c.only(p, e)
		case "ai-tasks":
			c.only(p, e, "tasks")
			c.aiTasks(p+".tasks", e.Tasks)
		case "saved-extension":
			c.only(p, e, "id")
			if strings.TrimSpace(e.ID) == "" {
				c.add(p+".id", p+".id is required for saved-extension: the id of an extension saved in ImageKit.")
			}
		default:
			c.add(p+".name", fmt.Sprintf("%s.name: %q is not an extension ikq knows; use one of %s.", p, e.Name, known))
		}
	}
}

// only reports the parts of an extension its kind does not take.
func (c *checker) only(p string, e Extension, takes ...string) {
	for _, part := range []struct {
		name, why string
		set       bool
	}{
		{"options", "", e.Options != nil},
		{"minConfidence", "; it is for auto-tagging", e.MinConfidence != nil},
		{"maxTags", "; it is for auto-tagging", e.MaxTags != nil},
		{"tasks", "; they are for ai-tasks", e.Tasks != nil},
		{"id", "; it is for saved-extension", e.ID != ""},
	} {
		if part.set && !slices.Contains(takes, part.name) {
			c.add(p+"."+part.name, fmt.Sprintf("%s.%s: %s takes no %s%s.", p, part.name, e.Name, part.name, part.why))
		}
	}
}

func (c *checker) removeBgOptions(p string, opts map[string]any) {
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, path := opts[k], p+".options."+k
		switch k {
		case "add_shadow", "semitransparency":
			if _, ok := v.(bool); !ok {
				c.add(path, path+" must be true or false.")
			}
		case "bg_color", "bg_colour":
			if s, ok := v.(string); !ok || strings.TrimSpace(s) == "" {
				c.add(path, path+" must be a colour as a string, like 81d4fa or red.")
			}
		case "bg_image_url":
			if s, ok := v.(string); !ok || !isHTTPURL(s) {
				c.add(path, path+" must be an absolute http or https URL.")
			}
		default:
			c.add(path, fmt.Sprintf("%s is not a remove-bg option; use add_shadow, semitransparency, bg_color (or bg_colour) or bg_image_url.", path))
		}
	}
	_, color := opts["bg_color"]
	_, colour := opts["bg_colour"]
	_, image := opts["bg_image_url"]
	if color && colour {
		c.add(p+".options", p+".options: give bg_color or bg_colour, not both.")
	}
	if (color || colour) && image {
		c.add(p+".options", p+".options: bg_color and bg_image_url cannot be used together; pick one.")
	}
}

func (c *checker) transformation(t *Transformation) {
	if t == nil {
		return
	}
	if t.Pre == "" && len(t.Post) == 0 {
		c.add("transformation", "transformation needs pre, post or both.")
	}
	if t.Pre != "" && strings.TrimSpace(t.Pre) == "" {
		c.add("transformation.pre", "transformation.pre must not be blank.")
	}
	if len(t.Post) > MaxPostTransforms {
		c.add("transformation.post", fmt.Sprintf("transformation.post may hold at most %d items; it has %d.", MaxPostTransforms, len(t.Post)))
	}
	for i, pt := range t.Post {
		p := fmt.Sprintf("transformation.post[%d]", i)
		switch pt.Type {
		case "transformation", "abs":
			if strings.TrimSpace(pt.Value) == "" {
				c.add(p+".value", fmt.Sprintf("%s.value is required when type is %s.", p, pt.Type))
			}
		case "gif-to-video", "thumbnail":
		case "":
			c.add(p+".type", fmt.Sprintf("%s.type is required; use one of %s.", p, strings.Join(postTransformTypes, ", ")))
		default:
			c.add(p+".type", fmt.Sprintf("%s.type is %q; it must be one of %s.", p, pt.Type, strings.Join(postTransformTypes, ", ")))
		}
		switch {
		case pt.Type == "abs" && pt.Protocol == "":
			c.add(p+".protocol", p+".protocol is required when type is abs: hls or dash.")
		case pt.Type == "abs" && pt.Protocol != "hls" && pt.Protocol != "dash":
			c.add(p+".protocol", fmt.Sprintf("%s.protocol is %q; it must be hls or dash.", p, pt.Protocol))
		case pt.Type != "abs" && pt.Protocol != "":
			c.add(p+".protocol", p+".protocol applies only when type is abs.")
		}
	}
}

func (c *checker) customMetadata(m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.TrimSpace(k) == "" {
			c.add("customMetadata", "customMetadata has an empty field name.")
			continue
		}
		path := "customMetadata." + k
		v := reflect.ValueOf(m[k])
		if isList(v) {
			for i := range v.Len() {
				if what := metadataScalar(v.Index(i)); what != "" {
					c.add(fmt.Sprintf("%s[%d]", path, i), fmt.Sprintf("%s[%d] must be a string, number or boolean; it is %s.", path, i, what))
				}
			}
			continue
		}
		if what := metadataScalar(v); what != "" {
			c.add(path, fmt.Sprintf("%s must be a string, number, boolean or an array of those; it is %s.", path, what))
		}
	}
}

func isList(v reflect.Value) bool {
	for v.IsValid() && v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	return v.IsValid() && (v.Kind() == reflect.Slice || v.Kind() == reflect.Array)
}

// metadataScalar is "" for a string, finite number or boolean, else what v is instead.
func metadataScalar(v reflect.Value) string {
	for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) {
		if v.IsNil() {
			return "null"
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		return "null"
	}
	switch v.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return ""
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return "not a finite number"
		}
		return ""
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "a " + v.Kind().String()
}

func (c *checker) runAt(t *time.Time) {
	if t == nil {
		return
	}
	if limit := c.opts.now().Add(MaxRunAhead); t.After(limit) {
		c.add("runAt", fmt.Sprintf("runAt is %s, more than 30 days ahead; schedule jobs at most 30 days out.", t.UTC().Format(time.RFC3339)))
	}
}
