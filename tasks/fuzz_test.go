package tasks_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/tasks"
)

func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		fullJob,
		`{"file":"aGVsbG8=","fileName":"a b.txt","tags":"a, b,,c"}`,
		`{"file":"data:image/png;base64,iVBORw0KGgo=","fileName":"x.png","extensions":"[{\"name\":\"remove-bg\",\"options\":{\"bg_color\":\"fff\"}}]"}`,
		`{"file":"s3://b/k?X-Amz-Signature=1","fileName":"k","customMetadata":"{\"a\":[1,\"x\",true]}","transformation":"{\"post\":[{\"type\":\"abs\",\"value\":\"sr-240\",\"protocol\":\"dash\"}]}"}`,
		`{"file":"https://u:p@h/x?token=t#sig=1","fileName":"f","runAt":"2030-01-01T00:00:00-05:00","maxAttempts":50}`,
		`{"extensions":[{"name":"google-auto-tagging","minConfidence":-0,"maxTags":0,"options":{}}]}`,
		`{"extensions":[{"name":"ai-tasks","tasks":[{"type":"yes_no","instruction":"?","on_yes":{"add_tags":["a"]}},{},null]},{"name":"saved-extension","id":"ext_1"}]}`,
		`{"extensions":"[{\"name\":\"ai-tasks\",\"tasks\":[]}]"}`,
		`{"tags":["a,b"," "],"responseFields":""}`,
		`{"customMetadata":{"":null,"x":{"y":[]}}}`,
		`{"file":"a","file":"b"}`,
		`{"Unknown":1}`,
		`[]`,
		``,
	} {
		f.Add([]byte(seed))
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := tasks.Decode(data)
		if err != nil {
			if u != nil {
				t.Fatalf("Decode returned a job and an error: %v", err)
			}
			return
		}
		_ = u.Validate(tasks.ValidateOptions{})
		_ = u.Validate(tasks.ValidateOptions{AllowFile: true, AllowedSchemes: []string{"mem", "https"}, MaxInlineBytes: 8, Now: func() time.Time { return now }})
		_ = u.SourceKind()
		r := u.Redacted()
		if again := r.Redacted(); !reflect.DeepEqual(again, r) {
			t.Fatalf("Redacted is not idempotent:\n%#v\n%#v", r, again)
		}

		out, err := json.Marshal(u)
		if err != nil {
			t.Fatalf("Marshal of a decoded job: %v", err)
		}
		back, err := tasks.Decode(out)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
		if !reflect.DeepEqual(back, u) {
			t.Fatalf("round trip changed the job:\n%s\n%#v\n%#v", out, u, back)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("Marshal of a redacted job: %v", err)
		}
	})
}

func FuzzStringList(f *testing.F) {
	for _, seed := range []string{`"a,b"`, `[" a ","b"]`, `""`, `null`, `[]`, `"a,,b, "`, `["x,y"]`, `[null]`, `5`, `"\u00e9,\t"`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var l tasks.StringList
		if err := json.Unmarshal(data, &l); err != nil {
			return
		}
		for _, s := range l {
			if s == "" || s != strings.TrimSpace(s) {
				t.Fatalf("element %q is empty or untrimmed (input %q)", s, data)
			}
		}
		out, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		var back tasks.StringList
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
		if len(l) != 0 || len(back) != 0 {
			if !reflect.DeepEqual(back, l) {
				t.Fatalf("round trip: %q → %s → %q", l, out, back)
			}
		}
		// The comma-separated form of an array without commas reads back the same.
		joined, _ := json.Marshal(strings.Join(l, ","))
		var fromString tasks.StringList
		if err := json.Unmarshal(joined, &fromString); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(l, ""), ",") && !reflect.DeepEqual(fromString, l) {
			t.Fatalf("comma form: %q → %s → %q", l, joined, fromString)
		}
	})
}

// FuzzValidRunID: a run id that passes names Redis keys and files safely.
func FuzzValidRunID(f *testing.F) {
	for _, s := range []string{"bulk-20261203T044500Z-a1b2c3", "mig:1", "", ".x", "a b", "a/b", strings.Repeat("a", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !tasks.ValidRunID(s) {
			return
		}
		if s == "" || len(s) > tasks.MaxRunIDLen || !isAlnum(s[0]) {
			t.Fatalf("ValidRunID(%q) = true", s)
		}
		for i := range len(s) {
			if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' && c != ':' {
				t.Fatalf("ValidRunID(%q) = true with %q", s, c)
			}
		}
	})
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
