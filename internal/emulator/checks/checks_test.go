package checks_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ikq-dev/ikq/internal/emulator/checks"
)

// image is a 512 KiB PNG uploaded with a rich set of form fields.
var image = checks.Input{
	Size:   512 << 10,
	Mime:   "image/png",
	Width:  800,
	Height: 600,
	Request: map[string]string{
		"fileName":      "photo.png",
		"folder":        "/marketing/",
		"tags":          "summer, sale,,beach",
		"isPrivateFile": "TRUE",
		"count":         "42",
		"note":          "hello world",
		"quote":         `say "hi" it's`,
		"path":          `a\b`,
	},
	CustomMetadata: map[string]any{
		"brand":  "acme",
		"price":  19.5,
		"sizes":  []any{"s", "m", 3.0},
		"active": true,
		"none":   nil,
		"obj":    map[string]any{"a": 1.0},
	},
}

// video is a 3 GiB video with no dimensions and almost no form fields.
var video = checks.Input{
	Size:     3 << 30,
	Mime:     "video/mp4",
	Duration: 12.5,
	Request:  map[string]string{"fileName": "clip.mp4"},
}

func TestEval(t *testing.T) {
	tests := []struct {
		name string
		expr string
		in   *checks.Input // nil = image
		want bool
	}{
		// The documented ImageKit examples.
		{"example double quotes", `"file.size" < "1mb"`, nil, true},
		{"example single quotes", `'file.size' < '1mb'`, nil, true},
		{"example folder", `"request.folder" : "marketing/"`, nil, true},
		{"example size too big", `"file.size" < "1mb"`, &video, false},

		// Quoting styles.
		{"quote mixed styles", `'request.fileName' : "photo.png"`, nil, true},
		{"quote escaped double quote", `"request.quote" : "say \"hi\" it's"`, nil, true},
		{"quote escaped single quote", `'request.quote' : 'say "hi" it\'s'`, nil, true},
		{"quote escaped backslash", `"request.path" : "a\\b"`, nil, true},
		{"quote bare number equals quoted", `"request.count" : 42`, nil, true},

		// Operators.
		{"op : string equal", `"file.mime" : "image/png"`, nil, true},
		{"op : string not equal", `"file.mime" : "image/jpeg"`, nil, false},
		{"op : is case-sensitive for strings", `"file.mime" : "IMAGE/PNG"`, nil, false},
		{"op : numeric", `"request.count" : "42.0"`, nil, true},
		{"op : numeric vs text", `"request.note" : 42`, nil, false},
		{"op < true", `"file.width" < 801`, nil, true},
		{"op < false at boundary", `"file.width" < 800`, nil, false},
		{"op <= at boundary", `"file.width" <= 800`, nil, true},
		{"op > true", `"file.height" > 599.5`, nil, true},
		{"op > false at boundary", `"file.height" > 600`, nil, false},
		{"op >= at boundary", `"file.height" >= 600`, nil, true},
		{"op >= negative", `"file.height" >= -1`, nil, true},
		{"op < on text field value", `"request.note" < 5`, nil, false},
		{"op < on numeric form field", `"request.count" < 100`, nil, true},
		{"op IN scalar hit", `"file.mime" IN ["image/jpeg", "image/png"]`, nil, true},
		{"op IN scalar miss", `"file.mime" IN ["image/jpeg", "image/webp"]`, nil, false},
		{"op IN empty list", `"file.mime" IN []`, nil, false},
		{"op IN numeric", `"file.width" IN [640, "800"]`, nil, true},
		{"op IN list all present", `"request.tags" IN ["beach", "sale", "summer", "x"]`, nil, true},
		{"op IN list one absent", `"request.tags" IN ["beach", "sale"]`, nil, false},
		{"op NOT IN scalar", `"file.mime" NOT IN ["image/jpeg"]`, nil, true},
		{"op NOT IN scalar hit", `"file.mime" NOT IN ["image/png"]`, nil, false},
		{"op NOT IN list", `"request.tags" NOT IN ["beach", "sale"]`, nil, true},
		{"op HAS list element", `"request.tags" HAS "sale"`, nil, true},
		{"op HAS list no substring", `"request.tags" HAS "sal"`, nil, false},
		{"op HAS substring", `"request.note" HAS "lo wo"`, nil, true},
		{"op HAS substring miss", `"request.note" HAS "bye"`, nil, false},
		{"op HAS on number", `"file.width" HAS "80"`, nil, true},
		{"op : list contains", `"request.tags" : "beach"`, nil, true},
		{"op : list does not contain", `"request.tags" : "winter"`, nil, false},
		{"op keywords lower case", `"file.mime" not in ["x"] and "request.tags" has "sale"`, nil, true},

		// Units.
		{"unit b", `"file.size" : "524288b"`, nil, true},
		{"unit kb", `"file.size" : "512kb"`, nil, true},
		{"unit mb decimal", `"file.size" : "0.5mb"`, nil, true},
		{"unit mb 1.5", `"file.size" < "1.5mb"`, nil, true},
		{"unit gb", `"file.size" : "3gb"`, &video, true},
		{"unit gb below", `"file.size" < "2.99gb"`, &video, false},
		{"unit upper case", `"file.size" : "512KB"`, nil, true},
		{"unit with space", `"file.size" : "512 kb"`, nil, true},
		{"unit bare", `"file.size" <= 512kb`, nil, true},
		{"unit bare upper case", `"file.size" > 511KB`, nil, true},
		{"unit plain bytes", `"file.size" : 524288`, nil, true},
		{"unit in list", `"file.size" IN [1mb, "512kb"]`, nil, true},
		{"unit is text for other fields", `"request.note" : 512kb`, nil, false},

		// Fields.
		{"field file.size", `"file.size" > 0`, nil, true},
		{"field file.mime", `"file.mime" : "video/mp4"`, &video, true},
		{"field file.width", `"file.width" : 800`, nil, true},
		{"field file.height", `"file.height" : 600`, nil, true},
		{"field file.duration", `"file.duration" >= 12.5`, &video, true},
		{"field request.fileName", `"request.fileName" : "clip.mp4"`, &video, true},
		{"field request.folder trailing slash", `"request.folder" : "/marketing"`, nil, true},
		{"field request.folder other", `"request.folder" : "sales"`, nil, false},
		{"field request.folder default root", `"request.folder" : "/"`, &video, true},
		{"field request.tags", `"request.tags" HAS "summer"`, nil, true},
		{"field request.useUniqueFileName default", `"request.useUniqueFileName" : "true"`, nil, true},
		{"field request.isPrivateFile case-insensitive", `"request.isPrivateFile" : "True"`, nil, true},
		{"field request.isPrivateFile default", `"request.isPrivateFile" : "false"`, &video, true},
		{"field request.isPublished default", `"request.isPublished" : "true"`, nil, true},
		{"field customMetadata string", `"request.customMetadata.brand" : "acme"`, nil, true},
		{"field customMetadata number", `"request.customMetadata.price" < 20`, nil, true},
		{"field customMetadata bool", `"request.customMetadata.active" : "true"`, nil, true},
		{"field customMetadata array", `"request.customMetadata.sizes" HAS 3`, nil, true},
		{"field customMetadata array IN", `"request.customMetadata.sizes" IN ["s", "m", "3"]`, nil, true},
		{"field raw form field", `"request.note" : "hello world"`, nil, true},

		// Missing fields.
		{"missing width", `"file.width" > 0`, &video, false},
		{"missing duration", `"file.duration" < 100`, nil, false},
		{"missing form field", `"request.nope" : ""`, nil, false},
		{"missing tags NOT IN", `"request.tags" NOT IN ["x"]`, &video, false},
		{"missing metadata key", `"request.customMetadata.nope" : "x"`, nil, false},
		{"missing metadata nil", `"request.customMetadata.none" : ""`, nil, false},
		{"missing metadata object", `"request.customMetadata.obj" HAS ""`, nil, false},
		{"missing negated", `NOT "file.width" > 0`, &video, true},
		{"missing empty input", `"file.mime" : ""`, &checks.Input{}, false},

		// Combinators.
		{"AND true", `"file.width" : 800 AND "file.height" : 600`, nil, true},
		{"AND false", `"file.width" : 800 AND "file.height" : 1`, nil, false},
		{"OR true", `"file.width" : 1 OR "file.height" : 600`, nil, true},
		{"OR false", `"file.width" : 1 OR "file.height" : 1`, nil, false},
		{"NOT", `NOT "file.width" : 1`, nil, true},
		{"NOT NOT", `NOT NOT "file.width" : 1`, nil, false},
		{"parentheses", `("file.width" : 800)`, nil, true},
		{"lower-case combinators", `not "file.width" : 1 and ("file.height" : 1 or "file.mime" : "image/png")`, nil, true},

		// Precedence: T = "file.width" : 800, F = "file.width" : 1.
		{"precedence AND over OR", `"file.width" : 800 OR "file.width" : 1 AND "file.width" : 1`, nil, true},
		{"precedence parens over AND", `("file.width" : 800 OR "file.width" : 1) AND "file.width" : 1`, nil, false},
		{"precedence NOT over AND", `NOT "file.width" : 1 AND "file.width" : 1`, nil, false},
		{"precedence NOT parens", `NOT ("file.width" : 1 AND "file.width" : 1)`, nil, true},
		{"precedence NOT over OR", `NOT "file.width" : 800 OR "file.width" : 800`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := checks.Parse(tt.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.expr, err)
			}
			in := image
			if tt.in != nil {
				in = *tt.in
			}
			if got := e.Eval(in); got != tt.want {
				t.Errorf("Parse(%q).Eval() = %v, want %v (canonical %s)", tt.expr, got, tt.want, e)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	deep := func(n int) string {
		return strings.Repeat("(", n) + `"file.size" > 0` + strings.Repeat(")", n)
	}
	long := func(n int) string {
		s := `"request.note" : "`
		return s + strings.Repeat("x", n-len(s)-1) + `"`
	}
	tests := []struct {
		name string
		expr string
		want string // the error text after "invalid checks syntax: "
	}{
		{"empty", ``, `at offset 0: empty expression`},
		{"blank", " \t\n ", `at offset 0: empty expression`},
		{"trailing garbage", `"file.size" > 0 "x"`, `at offset 16: unexpected string "x" after complete expression`},
		{"trailing paren", `"file.size" > 0)`, `at offset 15: unexpected ')' after complete expression`},
		{"implicit AND", `"file.size" > 0 "file.size" < 5`, `at offset 16: unexpected string "file.size" after complete expression`},
		{"unknown file field", `"file.colour" : "red"`, `at offset 0: unknown field "file.colour" (file fields are size, mime, width, height, duration)`},
		{"unknown prefix", `"size" < 5`, `at offset 0: unknown field "size" (fields start with "file." or "request.")`},
		{"empty request field", `"request." : "x"`, `at offset 0: empty request field name in "request."`},
		{"empty metadata name", `"request.customMetadata." : "x"`, `at offset 0: empty custom metadata name in "request.customMetadata."`},
		{"unquoted field", `file.size < 5`, `at offset 0: unknown word "file.size" (field names and text values must be quoted)`},
		{"unquoted value", `"file.mime" : png`, `at offset 14: unknown word "png" (field names and text values must be quoted)`},
		{"unterminated string", `"file.mime" : "png`, `at offset 14: unterminated string`},
		{"unterminated by escape", `"file.mime" : "png\`, `at offset 14: unterminated string`},
		{"invalid escape", `"file.mime" : "a\nb"`, `at offset 16: invalid escape "\\n" (only \\, \" and \' are allowed)`},
		{"missing operator", `"file.size"`, `at offset 11: expected an operator (:, <, <=, >, >=, IN, NOT IN, HAS) after field "file.size", found end of input`},
		{"equals sign", `"file.mime" = "png"`, `at offset 12: unexpected '=' (use ':' for equality)`},
		{"bang equals", `"file.mime" != "png"`, `at offset 12: unexpected '!' (use NOT, or NOT IN)`},
		{"unexpected character", `"file.size" > 0 & "file.size" < 9`, `at offset 16: unexpected character "&"`},
		{"missing value", `"file.size" <`, `at offset 13: expected a value (quoted string or number), found end of input`},
		{"NOT without IN", `"file.mime" NOT HAS "x"`, `at offset 16: expected IN after NOT, found HAS`},
		{"list after colon", `"file.mime" : ["a"]`, `at offset 14: a list is only allowed after IN or NOT IN`},
		{"scalar after IN", `"file.mime" IN "a"`, `at offset 15: IN needs a list like ["a", "b"], found string "a"`},
		{"trailing comma in list", `"file.mime" IN ["a",]`, `at offset 20: expected a list element (quoted string or number), found ']'`},
		{"unclosed list", `"file.mime" IN ["a" "b"]`, `at offset 20: expected ',' or ']' in list, found string "b"`},
		{"nested list", `"file.mime" IN [["a"]]`, `at offset 16: a list is only allowed after IN or NOT IN`},
		{"ordering needs number", `"file.size" < "big"`, `at offset 14: < needs a numeric value, found string "big"`},
		{"ordering needs number bare", `"file.width" >= "1e3"`, `at offset 16: >= needs a numeric value, found string "1e3"`},
		{"size unit on other field", `"file.width" < "1mb"`, `at offset 15: size "1mb" can only be compared with "file.size"`},
		{"unknown unit", `"file.size" < 1tb`, `at offset 15: unknown unit "tb" (want b, kb, mb or gb)`},
		{"negative size", `"file.size" < -1mb`, `at offset 14: negative size "-1mb"`},
		{"malformed number", `"file.size" < 1.5.2`, `at offset 14: malformed number "1.5.2"`},
		{"malformed decimal", `"file.size" < 1.`, `at offset 14: malformed number "1."`},
		{"number out of range", `"file.size" < 1` + strings.Repeat("0", 400), `at offset 14: number "1` + strings.Repeat("0", 400) + `" out of range`},
		{"missing close paren", `("file.size" > 0`, `at offset 16: expected ')' to close '(' at offset 0, found end of input`},
		{"empty parens", `()`, `at offset 1: expected a quoted field name, NOT or '(', found ')'`},
		{"dangling AND", `"file.size" > 0 AND`, `at offset 19: expected a quoted field name, NOT or '(', found end of input`},
		{"leading OR", `OR "file.size" > 0`, `at offset 0: expected a quoted field name, NOT or '(', found OR`},
		{"dangling NOT", `NOT`, `at offset 3: expected a quoted field name, NOT or '(', found end of input`},
		{"value as field", `5 < "file.size"`, `at offset 0: expected a quoted field name, NOT or '(', found number 5`},
		{"depth 65 parens", deep(65), `at offset 64: expression nested too deeply (limit 64 levels of parentheses and NOT)`},
		{"depth 65 NOT", strings.Repeat("NOT ", 65) + `"file.size" > 0`, `at offset 256: expression nested too deeply (limit 64 levels of parentheses and NOT)`},
		{"length 4097", long(4097), `at offset 4096: expression is 4097 bytes long, the limit is 4096`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := checks.Parse(tt.expr)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want error", tt.expr, e)
			}
			if e != nil {
				t.Errorf("Parse(%q) returned a non-nil Expr with an error", tt.expr)
			}
			if !errors.Is(err, checks.ErrSyntax) {
				t.Errorf("Parse(%q) error %v does not wrap ErrSyntax", tt.expr, err)
			}
			if want := "invalid checks syntax: " + tt.want; err.Error() != want {
				t.Errorf("Parse(%q) error\n got: %s\nwant: %s", tt.expr, err, want)
			}
		})
	}

	// The limits themselves are accepted.
	for name, s := range map[string]string{
		"depth 64 parens": deep(64),
		"depth 64 NOT":    strings.Repeat("NOT ", 64) + `"file.size" > 0`,
		"length 4096":     long(4096),
	} {
		if _, err := checks.Parse(s); err != nil {
			t.Errorf("%s: Parse: %v", name, err)
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct{ in, want string }{
		{`'file.size' < '1mb'`, `"file.size" < "1mb"`},
		{`"file.size"<1MB`, `"file.size" < 1mb`},
		{`'request.quote' : 'say "hi" it\'s'`, `"request.quote" : "say \"hi\" it's"`},
		{`"request.path" : 'a\\b'`, `"request.path" : "a\\b"`},
		{`"file.mime" not   in ["a",'b' , 3]`, `"file.mime" NOT IN ["a", "b", 3]`},
		{`"file.mime" in []`, `"file.mime" IN []`},
		{`"request.tags" has "x"`, `"request.tags" HAS "x"`},
		{`"file.width">=1 and "file.width"<=2`, `"file.width" >= 1 AND "file.width" <= 2`},
		{`(("file.width" : 1))`, `"file.width" : 1`},
		{`("file.width" : 1 AND "file.width" : 2) AND "file.width" : 3`, `"file.width" : 1 AND "file.width" : 2 AND "file.width" : 3`},
		{`"file.width" : 1 OR ("file.width" : 2 OR "file.width" : 3)`, `"file.width" : 1 OR "file.width" : 2 OR "file.width" : 3`},
		{`"file.width" : 1 AND ("file.width" : 2 OR "file.width" : 3)`, `"file.width" : 1 AND ("file.width" : 2 OR "file.width" : 3)`},
		{`"file.width" : 1 OR ("file.width" : 2 AND "file.width" : 3)`, `"file.width" : 1 OR "file.width" : 2 AND "file.width" : 3`},
		{`not ("file.width" : 1 or "file.width" : 2)`, `NOT ("file.width" : 1 OR "file.width" : 2)`},
		{`not (not ("file.width" : 1))`, `NOT NOT "file.width" : 1`},
	}
	for _, tt := range tests {
		e, err := checks.Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := e.String(); got != tt.want {
			t.Errorf("Parse(%q).String()\n got: %s\nwant: %s", tt.in, got, tt.want)
		}
	}
}

// TestCustomMetadataTypes covers values a caller may put in CustomMetadata
// without going through encoding/json's default decoding.
func TestCustomMetadataTypes(t *testing.T) {
	in := checks.Input{CustomMetadata: map[string]any{
		"int":    7,
		"int64":  int64(-3),
		"uint":   uint(9),
		"f32":    float32(0.5),
		"jsnum":  json.Number("1e3"),
		"jsbad":  json.Number("x"),
		"strs":   []string{"a", "b"},
		"empty":  []any{},
		"nested": []any{map[string]any{}, []any{"z"}},
	}}
	tests := []struct {
		expr string
		want bool
	}{
		{`"request.customMetadata.int" : 7`, true},
		{`"request.customMetadata.int64" < -2`, true},
		{`"request.customMetadata.uint" >= 9`, true},
		{`"request.customMetadata.f32" : "0.5"`, true},
		{`"request.customMetadata.jsnum" : 1000`, true},
		{`"request.customMetadata.jsbad" : "x"`, true},
		{`"request.customMetadata.jsbad" > 0`, false},
		{`"request.customMetadata.strs" IN ["a", "b", "c"]`, true},
		{`"request.customMetadata.strs" HAS "b"`, true},
		{`"request.customMetadata.empty" NOT IN ["a"]`, false},
		{`"request.customMetadata.nested" HAS "z"`, false},
	}
	for _, tt := range tests {
		e, err := checks.Parse(tt.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.expr, err)
			continue
		}
		if got := e.Eval(in); got != tt.want {
			t.Errorf("Parse(%q).Eval() = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

func TestNilExpr(t *testing.T) {
	var e *checks.Expr
	if e.Eval(image) {
		t.Error("nil Expr evaluated to true")
	}
	if s := e.String(); s != "" {
		t.Errorf("nil Expr String() = %q, want empty", s)
	}
	if (&checks.Expr{}).Eval(image) {
		t.Error("zero Expr evaluated to true")
	}
}

func Example() {
	expr, err := checks.Parse(`'file.size' < '1mb' and "request.folder" : "marketing/"`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(expr)

	small := checks.Input{Size: 300 << 10, Request: map[string]string{"folder": "/marketing"}}
	large := checks.Input{Size: 2 << 20, Request: map[string]string{"folder": "/marketing"}}
	fmt.Println(expr.Eval(small), expr.Eval(large))

	_, err = checks.Parse(`"file.colour" : "red"`)
	fmt.Println(errors.Is(err, checks.ErrSyntax))
	fmt.Println(err)
	// Output:
	// "file.size" < "1mb" AND "request.folder" : "marketing/"
	// true false
	// true
	// invalid checks syntax: at offset 0: unknown field "file.colour" (file fields are size, mime, width, height, duration)
}
