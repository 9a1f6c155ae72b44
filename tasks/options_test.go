package tasks

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestOptionsCoverUpload keeps the option list and the Upload struct in step: every
// JSON field of Upload is an option, once, and each option points at its own field.
func TestOptionsCoverUpload(t *testing.T) {
	t.Parallel()
	var u Upload
	uv := reflect.ValueOf(&u).Elem()
	fieldByJSON := map[string]reflect.Value{}
	typ := uv.Type()
	for i := range typ.NumField() {
		sf := typ.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.IsExported() || name == "-" || name == "" {
			continue
		}
		fieldByJSON[name] = uv.Field(i)
	}
	seen := map[string]bool{}
	flags := map[string]string{}
	for _, o := range Options() {
		if seen[o.Name] {
			t.Errorf("option %s is listed twice", o.Name)
		}
		seen[o.Name] = true
		if prev, dup := flags[o.Flag()]; dup {
			t.Errorf("options %s and %s share the flag --%s", prev, o.Name, o.Flag())
		}
		flags[o.Flag()] = o.Name
		fv, ok := fieldByJSON[o.Name]
		if !ok {
			t.Errorf("option %s is not a JSON field of Upload", o.Name)
			continue
		}
		if got, want := reflect.ValueOf(o.field(&u)).Pointer(), fv.Addr().Pointer(); got != want {
			t.Errorf("option %s points at another field of Upload than its own", o.Name)
		}
		if o.Usage == "" {
			t.Errorf("option %s has no usage line", o.Name)
		}
	}
	for name := range fieldByJSON {
		if !seen[name] {
			t.Errorf("Upload field %q is not in the option list (tasks/options.go)", name)
		}
	}
}

// TestOptionsDecode decodes each option's example through Decode: the option's field,
// and only it, is set, and the job is valid.
func TestOptionsDecode(t *testing.T) {
	t.Parallel()
	for _, o := range Options() {
		t.Run(o.Name, func(t *testing.T) {
			t.Parallel()
			doc := map[string]json.RawMessage{"file": json.RawMessage(`"https://example.com/a.jpg"`), "fileName": json.RawMessage(`"a.jpg"`)}
			doc[o.Name] = json.RawMessage(o.Example)
			b, err := json.Marshal(doc)
			if err != nil {
				t.Fatalf("example %s: %v", o.Example, err)
			}
			u, err := Decode(b)
			if err != nil {
				t.Fatalf("example %s does not decode: %v", o.Example, err)
			}
			if reflect.ValueOf(o.field(u)).Elem().IsZero() {
				t.Errorf("example %s left the field unset", o.Example)
			}
			// Examples are timeless: runAt's is checked against a clock of its day.
			clock := func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }
			if err := u.Validate(ValidateOptions{Now: clock}); err != nil {
				t.Errorf("example %s is not valid: %v", o.Example, err)
			}
			// The same value of the wrong JSON type is refused, naming the option.
			doc[o.Name] = json.RawMessage(`{"not": ["this"]}`)
			if o.Kind() == KindJSON {
				doc[o.Name] = json.RawMessage(`12`)
			}
			b, _ = json.Marshal(doc)
			var de *DecodeError
			if _, err := Decode(b); !errors.As(err, &de) || de.Field != o.Name {
				t.Errorf("a value of the wrong type gave %v, want a DecodeError naming %s", err, o.Name)
			}
		})
	}
}

func TestOptionKinds(t *testing.T) {
	t.Parallel()
	want := map[string]OptionKind{
		"file": KindString, "tags": KindList, "isPublished": KindBool, "maxAttempts": KindInt,
		"customMetadata": KindJSON, "extensions": KindJSON, "transformation": KindJSON, "runAt": KindTime,
	}
	for _, o := range Options() {
		if k, ok := want[o.Name]; ok && o.Kind() != k {
			t.Errorf("option %s has kind %s, want %s", o.Name, o.Kind(), k)
		}
	}
	if k := (Option{Name: "made"}).Kind(); k != "" {
		t.Errorf("an Option not from Options has kind %q, want none", k)
	}
	flags := map[string]string{"fileName": "file-name", "overwriteAITags": "overwrite-ai-tags", "webhookUrl": "webhook-url", "file": "file"}
	for _, o := range Options() {
		if f, ok := flags[o.Name]; ok && o.Flag() != f {
			t.Errorf("option %s has flag --%s, want --%s", o.Name, o.Flag(), f)
		}
	}
}
