package checks

import (
	"errors"
	"strings"
	"testing"
)

// fuzzInputs are fixed inputs on which an expression and its canonical form
// must evaluate identically.
var fuzzInputs = []Input{
	{
		Size: 1536 << 10, Mime: "image/png", Width: 800, Height: 600,
		Request: map[string]string{
			"fileName": "photo.png", "folder": "/marketing/", "tags": "a, b,c",
			"useUniqueFileName": "false", "x": "42", "note": `it's "quoted" \ here`,
		},
		CustomMetadata: map[string]any{
			"brand": "acme", "price": 10.0, "list": []any{"a", 1.0}, "ok": true,
		},
	},
	{Size: 3 << 30, Mime: "video/mp4", Duration: 12.5},
	{},
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`"file.size" < "1mb"`,
		`'file.size' < '1mb'`,
		`"request.folder" : "marketing/"`,
		`"file.size" <= 1.5MB and not ("file.mime" in ['image/png', "image/jpeg"] or "file.width" > 500)`,
		`"request.tags" HAS "a" OR "request.tags" NOT IN ["x", 'y\'s'] AND "request.customMetadata.price" >= 9.5`,
		`"request.note" : 'it\'s "quoted" \\ here'`,
		`NOT NOT ((("file.duration" > 0)))`,
		`"request.isPrivateFile" : "FALSE" and "request.useUniqueFileName" : 'false'`,
		``,
		`"file.size" > 0 )`,
		// 4096 bytes whose canonical form is longer (every '"' gets escaped).
		`"request.note":'` + strings.Repeat(`"`, maxInputLen-17) + `'`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrSyntax", s, err)
			}
			if e != nil {
				t.Fatalf("Parse(%q) returned an Expr and an error", s)
			}
			return
		}
		canon := e.String()
		e2, err := Parse(canon)
		if len(canon) > maxInputLen {
			// Canonical spacing and escaping can push an input that was
			// close to the length limit over it; check the rest without
			// the limit.
			if err == nil {
				t.Fatalf("Parse accepted %d-byte canonical form", len(canon))
			}
			e2, err = parse(canon, 0)
		}
		if err != nil {
			t.Fatalf("Parse(%q) ok, but canonical form %q fails: %v", s, canon, err)
		}
		if again := e2.String(); again != canon {
			t.Fatalf("canonical form not stable:\n input: %q\nfirst: %q\nsecond: %q", s, canon, again)
		}
		for i, in := range fuzzInputs {
			if a, b := e.Eval(in), e2.Eval(in); a != b {
				t.Fatalf("input %d: Parse(%q).Eval = %v, canonical %q Eval = %v", i, s, a, canon, b)
			}
		}
	})
}
