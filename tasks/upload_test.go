package tasks_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/tasks"
)

// fullJob sets every field of the spec.
const fullJob = `{
	"file": "https://example.com/photos/cat.jpg",
	"fileName": "cat.jpg",
	"useUniqueFileName": false,
	"tags": ["pets", "cats"],
	"folder": "/animals/cats/",
	"isPrivateFile": true,
	"isPublished": false,
	"customCoordinates": "10,10,100,100",
	"responseFields": ["tags", "customMetadata"],
	"extensions": [
		{"name": "remove-bg", "options": {"add_shadow": true, "bg_colour": "green"}},
		{"name": "google-auto-tagging", "minConfidence": 95.5, "maxTags": 5}
	],
	"webhookUrl": "https://app.example.com/hooks/imagekit",
	"overwriteFile": true,
	"overwriteAITags": false,
	"overwriteTags": true,
	"overwriteCustomMetadata": false,
	"customMetadata": {"brand": "Nike", "price": 12.5, "sale": true, "sizes": ["S", "M"]},
	"transformation": {"pre": "rt-90", "post": [{"type": "transformation", "value": "bg-red"}, {"type": "abs", "value": "sr-240_360", "protocol": "hls"}]},
	"checks": "\"file.size\" < \"1mb\"",
	"description": "A cat.",
	"callbackUrl": "https://app.example.com/ikq/done",
	"queue": "critical",
	"runAt": "2025-06-02T10:00:00+02:00",
	"maxAttempts": 5,
	"idempotencyKey": "order-42-photo-1",
	"fetch": "remote",
	"ifExists": "skip",
	"run": "photos-2026"
}`

func decode(t *testing.T, s string) *tasks.Upload {
	t.Helper()
	u, err := tasks.Decode([]byte(s))
	if err != nil {
		t.Fatalf("Decode: %v\n%s", err, s)
	}
	return u
}

func TestDecodeEveryField(t *testing.T) {
	t.Parallel()
	u := decode(t, fullJob)
	want := &tasks.Upload{
		File:              "https://example.com/photos/cat.jpg",
		FileName:          "cat.jpg",
		UseUniqueFileName: ptr(false),
		Tags:              tasks.StringList{"pets", "cats"},
		Folder:            "/animals/cats/",
		IsPrivateFile:     ptr(true),
		IsPublished:       ptr(false),
		CustomCoordinates: "10,10,100,100",
		ResponseFields:    tasks.StringList{"tags", "customMetadata"},
		Extensions: []tasks.Extension{
			{Name: "remove-bg", Options: map[string]any{"add_shadow": true, "bg_colour": "green"}},
			{Name: "google-auto-tagging", MinConfidence: ptr(95.5), MaxTags: ptr(5)},
		},
		WebhookURL:              "https://app.example.com/hooks/imagekit",
		OverwriteFile:           ptr(true),
		OverwriteAITags:         ptr(false),
		OverwriteTags:           ptr(true),
		OverwriteCustomMetadata: ptr(false),
		CustomMetadata:          map[string]any{"brand": "Nike", "price": 12.5, "sale": true, "sizes": []any{"S", "M"}},
		Transformation: &tasks.Transformation{Pre: "rt-90", Post: []tasks.PostTransform{
			{Type: "transformation", Value: "bg-red"}, {Type: "abs", Value: "sr-240_360", Protocol: "hls"},
		}},
		Checks:         `"file.size" < "1mb"`,
		Description:    "A cat.",
		CallbackURL:    "https://app.example.com/ikq/done",
		Queue:          "critical",
		RunAt:          ptr(time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)),
		MaxAttempts:    5,
		IdempotencyKey: "order-42-photo-1",
		Fetch:          "remote",
		IfExists:       "skip",
		Run:            "photos-2026",
	}
	if !reflect.DeepEqual(u, want) {
		t.Fatalf("decoded:\n%#v\nwant:\n%#v", u, want)
	}
	if err := u.Validate(tasks.ValidateOptions{Now: func() time.Time { return testNow }}); err != nil {
		t.Fatalf("Validate: %v", err)
	}

	// decode → encode → decode gives the same job, by Decode and by json.Unmarshal.
	out, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	if again := decode(t, string(out)); !reflect.DeepEqual(again, u) {
		t.Fatalf("round trip:\n%s\n%#v\nwant\n%#v", out, again, u)
	}
	var viaStd tasks.Upload
	if err := json.Unmarshal(out, &viaStd); err != nil || !reflect.DeepEqual(&viaStd, u) {
		t.Fatalf("json.Unmarshal: %v\n%#v", err, viaStd)
	}
	// Every field is written under its JSON name.
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	var in map[string]any
	_ = json.Unmarshal([]byte(fullJob), &in)
	for k := range in {
		if _, ok := m[k]; !ok {
			t.Errorf("encoded job lacks %q", k)
		}
	}
	if len(m) != len(in) {
		t.Errorf("encoded job has %d fields, want %d: %s", len(m), len(in), out)
	}
}

func TestDecodeLists(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, field string }{
		{`["a", "b"]`, "tags"},
		{`"a,b"`, "tags"},
		{`" a , ,b, "`, "tags"},
		{`["  a", "", "b "]`, "tags"},
		{`["a", "b"]`, "responseFields"},
		{`"a, b"`, "responseFields"},
	} {
		u := decode(t, `{"file":"x","fileName":"y","`+c.field+`":`+c.in+`}`)
		got := u.Tags
		if c.field == "responseFields" {
			got = u.ResponseFields
		}
		if want := (tasks.StringList{"a", "b"}); !reflect.DeepEqual(got, want) {
			t.Errorf("%s %s: got %q, want %q", c.field, c.in, got, want)
		}
	}
	for _, in := range []string{`""`, `[]`, `null`, `" , "`} {
		if u := decode(t, `{"tags":`+in+`}`); u.Tags != nil {
			t.Errorf("tags %s: got %#v, want nil", in, u.Tags)
		}
	}
	// A comma inside an array element is kept, for Validate to refuse.
	if u := decode(t, `{"tags":["a,b"]}`); !reflect.DeepEqual(u.Tags, tasks.StringList{"a,b"}) {
		t.Errorf("tags [\"a,b\"]: got %q", u.Tags)
	}
}

func TestStringListJSON(t *testing.T) {
	t.Parallel()
	var l tasks.StringList
	if err := json.Unmarshal([]byte(`"x, y"`), &l); err != nil || !reflect.DeepEqual(l, tasks.StringList{"x", "y"}) {
		t.Fatalf("Unmarshal: %v %q", err, l)
	}
	if out, _ := json.Marshal(l); string(out) != `["x","y"]` {
		t.Errorf("Marshal: %s", out)
	}
	if out, _ := json.Marshal(tasks.StringList(nil)); string(out) != `[]` {
		t.Errorf("Marshal(nil): %s", out)
	}
	for _, bad := range []string{`5`, `{}`, `[1]`, `["a", null]`, `true`} {
		if err := json.Unmarshal([]byte(bad), &l); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
}

func TestDecodeEmbeddedJSONStrings(t *testing.T) {
	t.Parallel()
	extensions := `[{"name":"remove-bg","options":{"add_shadow":true,"bg_colour":"green"}},{"name":"google-auto-tagging","maxTags":5,"minConfidence":95}]`
	metadata := `{"brand":"Nike","color":"red","n":[1,2]}`
	transformation := `{"pre":"rt-90","post":[{"type":"transformation","value":"bg-red"}]}`
	quote := func(s string) string { b, _ := json.Marshal(s); return string(b) }

	asValues := decode(t, `{"extensions":`+extensions+`,"customMetadata":`+metadata+`,"transformation":`+transformation+`}`)
	asStrings := decode(t, `{"extensions":`+quote(extensions)+`,"customMetadata":`+quote(metadata)+`,"transformation":`+quote(transformation)+`}`)
	if !reflect.DeepEqual(asValues, asStrings) {
		t.Fatalf("values:\n%#v\nstrings:\n%#v", asValues, asStrings)
	}
	if len(asValues.Extensions) != 2 || asValues.CustomMetadata["color"] != "red" || asValues.Transformation.Pre != "rt-90" {
		t.Fatalf("decoded: %#v", asValues)
	}

	// Empty strings mean absent, as empty form fields do.
	if u := decode(t, `{"extensions":"","customMetadata":" ","transformation":""}`); u.Extensions != nil || u.CustomMetadata != nil || u.Transformation != nil {
		t.Fatalf("empty strings: %#v", u)
	}

	for _, c := range []struct{ in, field, msg string }{
		{`{"extensions":"[{\"name\":"}`, "extensions", "does not hold valid JSON"},
		{`{"customMetadata":"{brand: Nike}"}`, "customMetadata", "does not hold valid JSON"},
		{`{"transformation":"pre=rt-90"}`, "transformation", "does not hold valid JSON"},
		{`{"extensions":"{\"name\":\"remove-bg\"}"}`, "extensions", "want an array of extensions"},
		{`{"customMetadata":"[1]"}`, "customMetadata", "want an object"},
		{`{"transformation":"\"rt-90\""}`, "transformation", "want an object"},
		{`{"extensions":"[{\"name\":\"google-auto-tagging\",\"maxTags\":\"5\"}]"}`, "extensions[0].maxTags", "want an integer"},
	} {
		assertDecodeError(t, c.in, c.field, c.msg)
	}
}

func assertDecodeError(t *testing.T, in, field, msg string) {
	t.Helper()
	_, err := tasks.Decode([]byte(in))
	var de *tasks.DecodeError
	if !errors.As(err, &de) {
		t.Errorf("Decode(%s) = %v, want a *DecodeError", in, err)
		return
	}
	if de.Field != field || !strings.Contains(err.Error(), msg) {
		t.Errorf("Decode(%s) = {%q, %q}, want field %q and a message with %q", in, de.Field, de.Message, field, msg)
	}
	if field != "" && !strings.HasPrefix(err.Error(), field+": ") {
		t.Errorf("Error() = %q does not start with the field", err.Error())
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, field, msg string }{
		// unknown fields
		{`{"file":"x","fileSize":10}`, "fileSize", "unknown field"},
		{`{"filename":"x"}`, "filename", `did you mean "fileName"?`},
		{`{"extensions":[{"name":"saved-extension","extensionId":"ext_1"}]}`, "extensions[0].extensionId", "unknown field"},
		{`{"extensions":[{"name":"ai-tasks","tasks":{"type":"yes_no"}}]}`, "extensions[0].tasks", "want an array of task objects"},
		{`{"extensions":[{"name":"ai-tasks","tasks":["yes_no"]}]}`, "extensions[0].tasks[0]", "want a task object"},
		{`{"transformation":{"pre":"rt-90","post":[{"type":"thumbnail","size":1}]}}`, "transformation.post[0].size", "unknown field"},
		{`{"transformation":{"pre":"rt-90","mode":"x"}}`, "transformation.mode", "unknown field"},
		// wrong types
		{`{"file":7}`, "file", "want a string"},
		{`{"fileName":["a"]}`, "fileName", "want a string"},
		{`{"tags":5}`, "tags", "tags: want an array of strings or a comma-separated string"},
		{`{"tags":[1,2]}`, "tags", "want an array of strings or a comma-separated string"},
		{`{"responseFields":{"tags":true}}`, "responseFields", "want an array of strings"},
		{`{"useUniqueFileName":"false"}`, "useUniqueFileName", "want true or false"},
		{`{"isPrivateFile":1}`, "isPrivateFile", "want true or false"},
		{`{"maxAttempts":"3"}`, "maxAttempts", "want an integer"},
		{`{"maxAttempts":2.5}`, "maxAttempts", "want an integer"},
		{`{"maxAttempts":1e40}`, "maxAttempts", "want an integer"},
		{`{"runAt":"tomorrow"}`, "runAt", "RFC 3339"},
		{`{"runAt":1735689600}`, "runAt", "RFC 3339"},
		{`{"runAt":"0000-01-01T00:00:00+01:00"}`, "runAt", "RFC 3339"},
		{`{"extensions":{"name":"remove-bg"}}`, "extensions", "want an array of extensions"},
		{`{"extensions":["remove-bg"]}`, "extensions[0]", "want an extension object"},
		{`{"extensions":[{"name":"remove-bg"},{"name":"google-auto-tagging","maxTags":5.5}]}`, "extensions[1].maxTags", "want an integer"},
		{`{"extensions":[{"name":"google-auto-tagging","minConfidence":"high"}]}`, "extensions[0].minConfidence", "want a number"},
		{`{"extensions":[{"name":"remove-bg","options":[]}]}`, "extensions[0].options", "want an object"},
		{`{"customMetadata":[1]}`, "customMetadata", "want an object"},
		{`{"customMetadata":{"n":1e999}}`, "customMetadata", "out of range"},
		{`{"transformation":["rt-90"]}`, "transformation", "want an object"},
		{`{"transformation":{"post":{"type":"abs"}}}`, "transformation.post", "want an array"},
		{`{"transformation":{"post":[{"type":1}]}}`, "transformation.post[0].type", "want a string"},
		// shape
		{`{"file":"a","file":"b"}`, "file", "appears more than once"},
		{`[]`, "", "want a JSON object"},
		{`"job"`, "", "want a JSON object"},
		{``, "", "invalid JSON"},
		{`{"file":"a"`, "", "invalid JSON"},
		{`{"file":}`, "file", "invalid JSON"},
		{`{"file":"a"} {}`, "", "unexpected data after the JSON object"},
	} {
		assertDecodeError(t, c.in, c.field, c.msg)
	}
}

func TestDecodeNulls(t *testing.T) {
	t.Parallel()
	u := decode(t, `{"file":null,"fileName":null,"tags":null,"useUniqueFileName":null,"extensions":null,
		"customMetadata":null,"transformation":null,"runAt":null,"maxAttempts":null}`)
	if !reflect.DeepEqual(u, &tasks.Upload{}) {
		t.Fatalf("nulls: %#v", u)
	}
}

func TestUnmarshalJSONIgnoresUnknownFields(t *testing.T) {
	t.Parallel()
	var u tasks.Upload
	err := json.Unmarshal([]byte(`{"file":"https://example.com/a.jpg","fileName":"a.jpg","addedLater":1,"tags":"a,b","customMetadata":"{\"k\":\"v\"}"}`), &u)
	if err != nil {
		t.Fatal(err)
	}
	if u.FileName != "a.jpg" || !reflect.DeepEqual(u.Tags, tasks.StringList{"a", "b"}) || u.CustomMetadata["k"] != "v" {
		t.Fatalf("got %#v", u)
	}
	// Type errors still name the field.
	err = json.Unmarshal([]byte(`{"maxAttempts":"x"}`), &u)
	var de *tasks.DecodeError
	if !errors.As(err, &de) || de.Field != "maxAttempts" {
		t.Fatalf("err = %v", err)
	}
}
