package tasks_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/tasks"
)

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func validJob() *tasks.Upload {
	return &tasks.Upload{File: "https://example.com/photos/cat.jpg", FileName: "cat.jpg"}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	type tc struct {
		name   string
		edit   func(u *tasks.Upload)
		opts   tasks.ValidateOptions
		fields []string // the problems' fields, in order; nil means valid
	}
	b64 := "aGVsbG8gd29ybGQ=" // "hello world"
	cases := []tc{
		// file
		{name: "file: valid https URL", edit: func(u *tasks.Upload) {}},
		{name: "file: valid http URL", edit: func(u *tasks.Upload) { u.File = "http://example.com/a.png?x=1" }},
		{name: "file: required", edit: func(u *tasks.Upload) { u.File = "" }, fields: []string{"file"}},
		{name: "file: blank is missing", edit: func(u *tasks.Upload) { u.File = "  \n" }, fields: []string{"file"}},
		{name: "file: URL without host", edit: func(u *tasks.Upload) { u.File = "https:///cat.jpg" }, fields: []string{"file"}},
		{name: "file: scheme not allowed", edit: func(u *tasks.Upload) { u.File = "ftp://example.com/cat.jpg" }, fields: []string{"file"}},
		{name: "file: neither URL nor base64", edit: func(u *tasks.Upload) { u.File = "cat.jpg" }, fields: []string{"file"}},
		{name: "file: s3 reference", edit: func(u *tasks.Upload) { u.File = "s3://bucket/photos/cat.jpg" }},
		{name: "file: gs reference", edit: func(u *tasks.Upload) { u.File = "gs://bucket/cat.jpg" }},
		{name: "file: azblob reference", edit: func(u *tasks.Upload) { u.File = "azblob://container/cat.jpg" }},
		{name: "file: s3 reference without key", edit: func(u *tasks.Upload) { u.File = "s3://bucket" }, fields: []string{"file"}},
		{name: "file: file:// refused by default", edit: func(u *tasks.Upload) { u.File = "file:///data/cat.jpg" }, fields: []string{"file"}},
		{name: "file: file:// with AllowFile", edit: func(u *tasks.Upload) { u.File = "file:///data/cat.jpg" }, opts: tasks.ValidateOptions{AllowFile: true}},
		{name: "file: relative file:// path", edit: func(u *tasks.Upload) { u.File = "file://data/cat.jpg" }, opts: tasks.ValidateOptions{AllowFile: true}, fields: []string{"file"}},
		{name: "file: mem:// refused by default", edit: func(u *tasks.Upload) { u.File = "mem://bucket/cat.jpg" }, fields: []string{"file"}},
		{name: "file: mem:// when listed", edit: func(u *tasks.Upload) { u.File = "mem://bucket/cat.jpg" }, opts: tasks.ValidateOptions{AllowedSchemes: []string{"mem"}}},
		{name: "file: scheme outside a custom list", edit: func(u *tasks.Upload) { u.File = "http://example.com/a.jpg" }, opts: tasks.ValidateOptions{AllowedSchemes: []string{"https"}}, fields: []string{"file"}},
		{name: "file: base64", edit: func(u *tasks.Upload) { u.File = b64 }},
		{name: "file: base64 without padding", edit: func(u *tasks.Upload) { u.File = strings.TrimRight(b64, "=") }},
		{name: "file: base64 URL alphabet", edit: func(u *tasks.Upload) { u.File = "-_-_" }},
		{name: "file: base64 with whitespace", edit: func(u *tasks.Upload) { u.File = "aGVs bG8g\nd29y\r\nbGQ=" }},
		{name: "file: base64 invalid length", edit: func(u *tasks.Upload) { u.File = "aGVsb" }, fields: []string{"file"}},
		{name: "file: base64 mixed alphabets", edit: func(u *tasks.Upload) { u.File = "ab+_" }, fields: []string{"file"}},
		{name: "file: base64 padding inside", edit: func(u *tasks.Upload) { u.File = "ab=cdefg" }, fields: []string{"file"}},
		{name: "file: base64 not allowed", edit: func(u *tasks.Upload) { u.File = b64 }, opts: tasks.ValidateOptions{AllowedSchemes: []string{"https"}}, fields: []string{"file"}},
		{name: "file: data URI", edit: func(u *tasks.Upload) { u.File = "data:image/png;base64," + b64 }},
		{name: "file: data URI not base64", edit: func(u *tasks.Upload) { u.File = "data:text/plain,hello" }, fields: []string{"file"}},
		{name: "file: data URI without comma", edit: func(u *tasks.Upload) { u.File = "data:image/png;base64" }, fields: []string{"file"}},
		{name: "file: data URI empty", edit: func(u *tasks.Upload) { u.File = "data:image/png;base64," }, fields: []string{"file"}},
		{name: "file: inline at the size limit", edit: func(u *tasks.Upload) { u.File = b64 }, opts: tasks.ValidateOptions{MaxInlineBytes: 11}},
		{name: "file: inline over the size limit", edit: func(u *tasks.Upload) { u.File = b64 }, opts: tasks.ValidateOptions{MaxInlineBytes: 10}, fields: []string{"file"}},
		{name: "file: inline over the default 1 MiB", edit: func(u *tasks.Upload) { u.File = strings.Repeat("AAAA", (1<<20)/3+1) }, fields: []string{"file"}},
		{name: "fetch: remote with an https URL", edit: func(u *tasks.Upload) { u.Fetch = "remote" }},
		{name: "fetch: remote needs a URL source", edit: func(u *tasks.Upload) { u.Fetch = "remote"; u.File = "s3://bucket/cat.jpg" }, fields: []string{"fetch"}},
		{name: "fetch: remote with inline content", edit: func(u *tasks.Upload) { u.Fetch = "remote"; u.File = b64 }, fields: []string{"fetch"}},

		// fileName
		{name: "fileName: required", edit: func(u *tasks.Upload) { u.FileName = "" }, fields: []string{"fileName"}},
		{name: "fileName: blank", edit: func(u *tasks.Upload) { u.FileName = "   " }, fields: []string{"fileName"}},
		{name: "fileName: 1024 characters", edit: func(u *tasks.Upload) { u.FileName = strings.Repeat("é", 1024) }},
		{name: "fileName: 1025 characters", edit: func(u *tasks.Upload) { u.FileName = strings.Repeat("a", 1025) }, fields: []string{"fileName"}},
		{name: "fileName: slash", edit: func(u *tasks.Upload) { u.FileName = "photos/cat.jpg" }, fields: []string{"fileName"}},
		{name: "fileName: too long and a slash", edit: func(u *tasks.Upload) { u.FileName = strings.Repeat("a", 1025) + "/" }, fields: []string{"fileName", "fileName"}},
		{name: "fileName: spaces are cleaned, not refused", edit: func(u *tasks.Upload) { u.FileName = "my cat.jpg" }},

		// tags
		{name: "tags: valid", edit: func(u *tasks.Upload) { u.Tags = tasks.StringList{"t-shirt", "round-neck"} }},
		{name: "tags: 500 characters", edit: func(u *tasks.Upload) { u.Tags = tasks.StringList{strings.Repeat("a", 250), strings.Repeat("ü", 250)} }},
		{name: "tags: 501 characters", edit: func(u *tasks.Upload) { u.Tags = tasks.StringList{strings.Repeat("a", 250), strings.Repeat("b", 251)} }, fields: []string{"tags"}},
		{name: "tags: percent", edit: func(u *tasks.Upload) { u.Tags = tasks.StringList{"ok", "50%off"} }, fields: []string{"tags[1]"}},
		{name: "tags: too long and a percent", edit: func(u *tasks.Upload) { u.Tags = tasks.StringList{strings.Repeat("a", 500), "%"} }, fields: []string{"tags", "tags[1]"}},
		{name: "tags: comma in an element", edit: func(u *tasks.Upload) { u.Tags = tasks.StringList{"a,b"} }, fields: []string{"tags[0]"}},

		// folder
		{name: "folder: valid unicode", edit: func(u *tasks.Upload) { u.Folder = "/images/été_2024-x/ßüd/" }},
		{name: "folder: space", edit: func(u *tasks.Upload) { u.Folder = "/my folder" }, fields: []string{"folder"}},
		{name: "folder: dot", edit: func(u *tasks.Upload) { u.Folder = "/a/../b" }, fields: []string{"folder"}},
		{name: "folder: 50 levels", edit: func(u *tasks.Upload) { u.Folder = strings.Repeat("/d", 50) + "/" }},
		{name: "folder: 51 levels", edit: func(u *tasks.Upload) { u.Folder = strings.Repeat("/d", 51) }, fields: []string{"folder"}},
		{name: "folder: too deep and a bad character", edit: func(u *tasks.Upload) { u.Folder = strings.Repeat("/d", 51) + "/x.y" }, fields: []string{"folder", "folder"}},
		{name: "folder: empty segments do not nest", edit: func(u *tasks.Upload) { u.Folder = strings.Repeat("/d//", 50) }},

		// customCoordinates
		{name: "customCoordinates: valid", edit: func(u *tasks.Upload) { u.CustomCoordinates = "10,10,100,100" }},
		{name: "customCoordinates: three numbers", edit: func(u *tasks.Upload) { u.CustomCoordinates = "10,10,100" }, fields: []string{"customCoordinates"}},
		{name: "customCoordinates: negative", edit: func(u *tasks.Upload) { u.CustomCoordinates = "-1,0,10,10" }, fields: []string{"customCoordinates"}},
		{name: "customCoordinates: not numbers", edit: func(u *tasks.Upload) { u.CustomCoordinates = "a,b,c,d" }, fields: []string{"customCoordinates"}},

		// responseFields
		{name: "responseFields: every allowed one", edit: func(u *tasks.Upload) {
			u.ResponseFields = tasks.StringList{"tags", "customCoordinates", "isPrivateFile", "embeddedMetadata", "isPublished", "customMetadata", "metadata", "selectedFieldsSchema"}
		}},
		{name: "responseFields: unknown", edit: func(u *tasks.Upload) { u.ResponseFields = tasks.StringList{"tags", "fileSize"} }, fields: []string{"responseFields[1]"}},

		// extensions
		{name: "extensions: all four", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{
				{Name: "remove-bg", Options: map[string]any{"add_shadow": true, "semitransparency": false, "bg_colour": "green"}},
				{Name: "google-auto-tagging", MinConfidence: ptr(95.0), MaxTags: ptr(5)},
				{Name: "aws-auto-tagging", MinConfidence: ptr(0.0), MaxTags: ptr(30)},
				{Name: "ai-auto-description"},
			}
		}},
		{name: "extensions: more than 10", edit: func(u *tasks.Upload) {
			for range 11 {
				u.Extensions = append(u.Extensions, tasks.Extension{Name: "ai-auto-description"})
			}
		}, fields: append([]string{"extensions"}, func() []string {
			var f []string
			for i := 1; i < 11; i++ {
				f = append(f, fmt.Sprintf("extensions[%d].name", i))
			}
			return f
		}()...)},
		{name: "extensions: duplicate name", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "remove-bg"}, {Name: "ai-auto-description"}, {Name: "remove-bg"}}
		}, fields: []string{"extensions[2].name"}},
		{name: "extensions: unknown name", edit: func(u *tasks.Upload) { u.Extensions = []tasks.Extension{{Name: "background-remover"}} }, fields: []string{"extensions[0].name"}},
		{name: "extensions: missing name", edit: func(u *tasks.Upload) { u.Extensions = []tasks.Extension{{}} }, fields: []string{"extensions[0].name"}},
		{name: "extensions: remove-bg with bg_color and bg_image_url", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "remove-bg", Options: map[string]any{"bg_color": "fff", "bg_image_url": "https://example.com/bg.jpg"}}}
		}, fields: []string{"extensions[0].options"}},
		{name: "extensions: remove-bg with bg_image_url", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "remove-bg", Options: map[string]any{"bg_image_url": "https://example.com/bg.jpg"}}}
		}},
		{name: "extensions: remove-bg option types", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "remove-bg", Options: map[string]any{
				"add_shadow": "yes", "semitransparency": 1.0, "bg_color": 7.0,
			}}}
		}, fields: []string{"extensions[0].options.add_shadow", "extensions[0].options.bg_color", "extensions[0].options.semitransparency"}},
		{name: "extensions: remove-bg bg_image_url not http", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "remove-bg", Options: map[string]any{"bg_image_url": "ftp://example.com/bg.jpg"}}}
		}, fields: []string{"extensions[0].options.bg_image_url"}},
		{name: "extensions: remove-bg unknown option", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "remove-bg", Options: map[string]any{"size": "full"}}}
		}, fields: []string{"extensions[0].options.size"}},
		{name: "extensions: remove-bg bg_color and bg_colour", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "remove-bg", Options: map[string]any{"bg_color": "red", "bg_colour": "red"}}}
		}, fields: []string{"extensions[0].options"}},
		{name: "extensions: remove-bg takes no maxTags", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "remove-bg", MaxTags: ptr(3)}}
		}, fields: []string{"extensions[0].maxTags"}},
		{name: "extensions: auto-tagging needs minConfidence and maxTags", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "google-auto-tagging"}}
		}, fields: []string{"extensions[0].minConfidence", "extensions[0].maxTags"}},
		{name: "extensions: auto-tagging ranges", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{
				{Name: "google-auto-tagging", MinConfidence: ptr(100.5), MaxTags: ptr(31)},
				{Name: "aws-auto-tagging", MinConfidence: ptr(-1.0), MaxTags: ptr(-1)},
			}
		}, fields: []string{"extensions[0].minConfidence", "extensions[0].maxTags", "extensions[1].minConfidence", "extensions[1].maxTags"}},
		{name: "extensions: auto-tagging takes no options", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "aws-auto-tagging", MinConfidence: ptr(50.0), MaxTags: ptr(10), Options: map[string]any{"x": 1.0}}}
		}, fields: []string{"extensions[0].options"}},
		{name: "extensions: ai-auto-description takes nothing", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "ai-auto-description", Options: map[string]any{"lang": "en"}, MinConfidence: ptr(1.0), MaxTags: ptr(1)}}
		}, fields: []string{"extensions[0].options", "extensions[0].minConfidence", "extensions[0].maxTags"}},

		{name: "extensions: auto-tagging takes no tasks or id", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "google-auto-tagging", MinConfidence: ptr(50.0), MaxTags: ptr(10), Tasks: []map[string]any{yesNo()}, ID: "ext_1"}}
		}, fields: []string{"extensions[0].tasks", "extensions[0].id"}},

		// extensions: saved-extension
		{name: "saved-extension: valid", edit: func(u *tasks.Upload) { u.Extensions = []tasks.Extension{{Name: "saved-extension", ID: "ext_123"}} }},
		{name: "saved-extension: id required", edit: func(u *tasks.Upload) { u.Extensions = []tasks.Extension{{Name: "saved-extension", ID: " "}} }, fields: []string{"extensions[0].id"}},
		{name: "saved-extension: takes only an id", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "saved-extension", ID: "ext_1", Options: map[string]any{"x": true}, MaxTags: ptr(1), Tasks: []map[string]any{yesNo()}}}
		}, fields: []string{"extensions[0].options", "extensions[0].maxTags", "extensions[0].tasks"}},

		// extensions: ai-tasks
		{name: "ai-tasks: every kind of task", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "ai-tasks", Tasks: []map[string]any{
				{"type": "select_tags", "instruction": "What is shown?", "vocabulary": []any{"shirt", "shoe"}, "min_selections": 1.0, "max_selections": 2.0},
				{"type": "select_metadata", "instruction": "Which season?", "field": "season", "vocabulary": []any{"summer", 2.0, true}, "max_selections": 1.0},
				{"type": "yes_no", "instruction": "Is it a product photo?",
					"on_yes":     map[string]any{"add_tags": []any{"product"}, "set_metadata": []any{map[string]any{"field": "kind", "value": "product"}}},
					"on_no":      map[string]any{"remove_tags": []any{"product"}, "unset_metadata": []any{map[string]any{"field": "kind"}}},
					"on_unknown": map[string]any{}},
				{"type": "select_tags", "instruction": "Anything", "vocabulary": []string{"a"}, "min_selections": 0},
			}}}
		}},
		{name: "ai-tasks: tasks required", edit: func(u *tasks.Upload) { u.Extensions = []tasks.Extension{{Name: "ai-tasks"}} }, fields: []string{"extensions[0].tasks"}},
		{name: "ai-tasks: at most 10 tasks", edit: func(u *tasks.Upload) {
			e := tasks.Extension{Name: "ai-tasks"}
			for range 11 {
				e.Tasks = append(e.Tasks, yesNo())
			}
			u.Extensions = []tasks.Extension{e}
		}, fields: []string{"extensions[0].tasks"}},
		{name: "ai-tasks: takes only tasks", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "ai-tasks", Tasks: []map[string]any{yesNo()}, Options: map[string]any{}, MinConfidence: ptr(1.0), ID: "x"}}
		}, fields: []string{"extensions[0].options", "extensions[0].minConfidence", "extensions[0].id"}},
		{name: "ai-tasks: task type", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "ai-tasks", Tasks: []map[string]any{{"type": "classify", "instruction": "x"}, {"instruction": "x"}, nil}}}
		}, fields: []string{"extensions[0].tasks[0].type", "extensions[0].tasks[1].type", "extensions[0].tasks[2].type"}},
		{name: "ai-tasks: property of another kind of task", edit: func(u *tasks.Upload) {
			t := yesNo()
			t["vocabulary"] = []any{"a"}
			u.Extensions = []tasks.Extension{{Name: "ai-tasks", Tasks: []map[string]any{t}}}
		}, fields: []string{"extensions[0].tasks[0].vocabulary"}},
		{name: "ai-tasks: instruction required", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "ai-tasks", Tasks: []map[string]any{{"type": "yes_no"}, {"type": "select_tags", "instruction": "  "}, {"type": "yes_no", "instruction": 3.0}}}}
		}, fields: []string{"extensions[0].tasks[0].instruction", "extensions[0].tasks[1].instruction", "extensions[0].tasks[2].instruction"}},
		{name: "ai-tasks: select_tags vocabulary must be strings", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "ai-tasks", Tasks: []map[string]any{
				{"type": "select_tags", "instruction": "x", "vocabulary": []any{"a", 1.0}},
				{"type": "select_tags", "instruction": "x", "vocabulary": "a,b"},
			}}}
		}, fields: []string{"extensions[0].tasks[0].vocabulary[1]", "extensions[0].tasks[1].vocabulary"}},
		{name: "ai-tasks: select_tags vocabulary without %", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "ai-tasks", Tasks: []map[string]any{{"type": "select_tags", "instruction": "x", "vocabulary": []any{"ok", "100%"}}}}}
		}, fields: []string{"extensions[0].tasks[0].vocabulary[1]"}},
		{name: "ai-tasks: select_tags vocabulary of 500 characters", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "ai-tasks", Tasks: []map[string]any{{"type": "select_tags", "instruction": "x", "vocabulary": []any{strings.Repeat("é", 250), strings.Repeat("a", 250)}}}}}
		}},
		{name: "ai-tasks: select_tags vocabulary over 500 characters", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "ai-tasks", Tasks: []map[string]any{{"type": "select_tags", "instruction": "x", "vocabulary": []any{strings.Repeat("é", 250), strings.Repeat("a", 251)}}}}}
		}, fields: []string{"extensions[0].tasks[0].vocabulary"}},
		{name: "ai-tasks: select_metadata field required", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "ai-tasks", Tasks: []map[string]any{{"type": "select_metadata", "instruction": "x"}}}}
		}, fields: []string{"extensions[0].tasks[0].field"}},
		{name: "ai-tasks: select_metadata vocabulary of scalars", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "ai-tasks", Tasks: []map[string]any{
				{"type": "select_metadata", "instruction": "x", "field": "f", "vocabulary": []any{"a", []any{"b"}, nil}},
				{"type": "select_metadata", "instruction": "x", "field": "f", "vocabulary": map[string]any{}},
			}}}
		}, fields: []string{"extensions[0].tasks[0].vocabulary[1]", "extensions[0].tasks[0].vocabulary[2]", "extensions[0].tasks[1].vocabulary"}},
		{name: "ai-tasks: selections are non-negative integers", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "ai-tasks", Tasks: []map[string]any{
				{"type": "select_tags", "instruction": "x", "min_selections": -1.0, "max_selections": 1.5},
				{"type": "select_metadata", "instruction": "x", "field": "f", "min_selections": "1"},
			}}}
		}, fields: []string{"extensions[0].tasks[0].min_selections", "extensions[0].tasks[0].max_selections", "extensions[0].tasks[1].min_selections"}},
		{name: "ai-tasks: min_selections not above max_selections", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "ai-tasks", Tasks: []map[string]any{{"type": "select_tags", "instruction": "x", "min_selections": 3.0, "max_selections": 2.0}}}}
		}, fields: []string{"extensions[0].tasks[0].min_selections"}},
		{name: "ai-tasks: yes_no answers are objects of actions", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "ai-tasks", Tasks: []map[string]any{
				{"type": "yes_no", "instruction": "x", "on_yes": []any{"add_tags"}, "on_no": map[string]any{"delete": []any{}}},
			}}}
		}, fields: []string{"extensions[0].tasks[0].on_yes", "extensions[0].tasks[0].on_no.delete"}},
		{name: "ai-tasks: yes_no actions are arrays", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "ai-tasks", Tasks: []map[string]any{{"type": "yes_no", "instruction": "x", "on_yes": map[string]any{"add_tags": "product"}}}}}
		}, fields: []string{"extensions[0].tasks[0].on_yes.add_tags"}},
		{name: "ai-tasks: yes_no tags are strings", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "ai-tasks", Tasks: []map[string]any{{"type": "yes_no", "instruction": "x", "on_unknown": map[string]any{"remove_tags": []any{"a", 1.0}}}}}}
		}, fields: []string{"extensions[0].tasks[0].on_unknown.remove_tags[1]"}},
		{name: "ai-tasks: yes_no metadata actions need a field", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "ai-tasks", Tasks: []map[string]any{{"type": "yes_no", "instruction": "x", "on_yes": map[string]any{
				"unset_metadata": []any{"kind", map[string]any{"field": ""}},
			}}}}}
		}, fields: []string{"extensions[0].tasks[0].on_yes.unset_metadata[0]", "extensions[0].tasks[0].on_yes.unset_metadata[1].field"}},
		{name: "ai-tasks: yes_no set_metadata needs a value", edit: func(u *tasks.Upload) {
			u.Extensions = []tasks.Extension{{Name: "ai-tasks", Tasks: []map[string]any{{"type": "yes_no", "instruction": "x", "on_yes": map[string]any{
				"set_metadata": []any{map[string]any{"field": "kind"}},
			}}}}}
		}, fields: []string{"extensions[0].tasks[0].on_yes.set_metadata[0].value"}},

		// webhookUrl, callbackUrl
		{name: "webhookUrl: valid", edit: func(u *tasks.Upload) { u.WebhookURL = "https://app.example.com/hooks/ik" }},
		{name: "webhookUrl: relative", edit: func(u *tasks.Upload) { u.WebhookURL = "/hooks/ik" }, fields: []string{"webhookUrl"}},
		{name: "webhookUrl: not http", edit: func(u *tasks.Upload) { u.WebhookURL = "ftp://app.example.com/x" }, fields: []string{"webhookUrl"}},
		{name: "callbackUrl: valid", edit: func(u *tasks.Upload) { u.CallbackURL = "http://127.0.0.1:3000/done" }},
		{name: "callbackUrl: no host", edit: func(u *tasks.Upload) { u.CallbackURL = "https://" }, fields: []string{"callbackUrl"}},

		// customMetadata
		{name: "customMetadata: valid", edit: func(u *tasks.Upload) {
			u.CustomMetadata = map[string]any{"brand": "Nike", "price": 12.5, "sale": true, "sizes": []any{"S", 2.0, false}, "n": 3}
		}},
		{name: "customMetadata: empty key", edit: func(u *tasks.Upload) { u.CustomMetadata = map[string]any{"": "x"} }, fields: []string{"customMetadata"}},
		{name: "customMetadata: object and null values", edit: func(u *tasks.Upload) {
			u.CustomMetadata = map[string]any{"a": map[string]any{"b": 1.0}, "b": nil}
		}, fields: []string{"customMetadata.a", "customMetadata.b"}},
		{name: "customMetadata: bad array elements", edit: func(u *tasks.Upload) {
			u.CustomMetadata = map[string]any{"a": []any{"ok", []any{"nested"}, nil}}
		}, fields: []string{"customMetadata.a[1]", "customMetadata.a[2]"}},

		// transformation
		{name: "transformation: pre only", edit: func(u *tasks.Upload) { u.Transformation = &tasks.Transformation{Pre: "rt-90"} }},
		{name: "transformation: every post type", edit: func(u *tasks.Upload) {
			u.Transformation = &tasks.Transformation{Post: []tasks.PostTransform{
				{Type: "transformation", Value: "w-100"}, {Type: "gif-to-video"}, {Type: "thumbnail", Value: "w-50"},
				{Type: "abs", Value: "sr-240_360_480", Protocol: "hls"}, {Type: "abs", Value: "sr-240", Protocol: "dash"},
			}}
		}},
		{name: "transformation: neither pre nor post", edit: func(u *tasks.Upload) { u.Transformation = &tasks.Transformation{} }, fields: []string{"transformation"}},
		{name: "transformation: blank pre", edit: func(u *tasks.Upload) { u.Transformation = &tasks.Transformation{Pre: "  "} }, fields: []string{"transformation.pre"}},
		{name: "transformation: 21 post items", edit: func(u *tasks.Upload) {
			u.Transformation = &tasks.Transformation{}
			for range 21 {
				u.Transformation.Post = append(u.Transformation.Post, tasks.PostTransform{Type: "thumbnail"})
			}
		}, fields: []string{"transformation.post"}},
		{name: "transformation: post type", edit: func(u *tasks.Upload) {
			u.Transformation = &tasks.Transformation{Post: []tasks.PostTransform{{Type: "resize", Value: "w-1"}, {Value: "w-1"}}}
		}, fields: []string{"transformation.post[0].type", "transformation.post[1].type"}},
		{name: "transformation: value required", edit: func(u *tasks.Upload) {
			u.Transformation = &tasks.Transformation{Post: []tasks.PostTransform{{Type: "thumbnail"}, {Type: "transformation"}}}
		}, fields: []string{"transformation.post[1].value"}},
		{name: "transformation: abs needs value and protocol", edit: func(u *tasks.Upload) {
			u.Transformation = &tasks.Transformation{Post: []tasks.PostTransform{{Type: "abs"}}}
		}, fields: []string{"transformation.post[0].value", "transformation.post[0].protocol"}},
		{name: "transformation: abs protocol", edit: func(u *tasks.Upload) {
			u.Transformation = &tasks.Transformation{Post: []tasks.PostTransform{{Type: "abs", Value: "sr-240", Protocol: "rtmp"}}}
		}, fields: []string{"transformation.post[0].protocol"}},
		{name: "transformation: protocol only for abs", edit: func(u *tasks.Upload) {
			u.Transformation = &tasks.Transformation{Post: []tasks.PostTransform{{Type: "gif-to-video", Protocol: "hls"}}}
		}, fields: []string{"transformation.post[0].protocol"}},

		// checks, description
		{name: "checks: 4096 characters", edit: func(u *tasks.Upload) { u.Checks = strings.Repeat("x", 4096) }},
		{name: "checks: 4097 characters", edit: func(u *tasks.Upload) { u.Checks = strings.Repeat("x", 4097) }, fields: []string{"checks"}},
		{name: "description: 1000 characters", edit: func(u *tasks.Upload) { u.Description = strings.Repeat("ä", 1000) }},
		{name: "description: 1001 characters", edit: func(u *tasks.Upload) { u.Description = strings.Repeat("a", 1001) }, fields: []string{"description"}},

		// ikq's own
		{name: "queue: critical", edit: func(u *tasks.Upload) { u.Queue = "critical" }},
		{name: "queue: unknown", edit: func(u *tasks.Upload) { u.Queue = "urgent" }, fields: []string{"queue"}},
		{name: "maxAttempts: 50", edit: func(u *tasks.Upload) { u.MaxAttempts = 50 }},
		{name: "maxAttempts: 51", edit: func(u *tasks.Upload) { u.MaxAttempts = 51 }, fields: []string{"maxAttempts"}},
		{name: "maxAttempts: negative", edit: func(u *tasks.Upload) { u.MaxAttempts = -1 }, fields: []string{"maxAttempts"}},
		{name: "fetch: worker", edit: func(u *tasks.Upload) { u.Fetch = "worker" }},
		{name: "fetch: unknown", edit: func(u *tasks.Upload) { u.Fetch = "cdn" }, fields: []string{"fetch"}},
		{name: "ifExists: skip", edit: func(u *tasks.Upload) { u.IfExists = "skip" }},
		{name: "ifExists: version", edit: func(u *tasks.Upload) { u.IfExists = "version" }},
		{name: "ifExists: overwrite", edit: func(u *tasks.Upload) { u.IfExists = "overwrite"; u.OverwriteFile = ptr(true) }},
		{name: "ifExists: fail with overwriteFile=false", edit: func(u *tasks.Upload) { u.IfExists = "fail"; u.OverwriteFile = ptr(false) }},
		{name: "ifExists: unknown", edit: func(u *tasks.Upload) { u.IfExists = "replace" }, fields: []string{"ifExists"}},
		{name: "ifExists: version with overwriteFile=false", edit: func(u *tasks.Upload) { u.IfExists = "version"; u.OverwriteFile = ptr(false) }, fields: []string{"ifExists"}},
		{name: "ifExists: overwrite with overwriteFile=false", edit: func(u *tasks.Upload) { u.IfExists = "overwrite"; u.OverwriteFile = ptr(false) }, fields: []string{"ifExists"}},
		{name: "run: an id", edit: func(u *tasks.Upload) { u.Run = "2026-05-01.photos_import:1" }},
		{name: "run: 128 characters", edit: func(u *tasks.Upload) { u.Run = strings.Repeat("r", 128) }},
		{name: "run: 129 characters", edit: func(u *tasks.Upload) { u.Run = strings.Repeat("r", 129) }, fields: []string{"run"}},
		{name: "run: a space", edit: func(u *tasks.Upload) { u.Run = "my run" }, fields: []string{"run"}},
		{name: "run: a slash", edit: func(u *tasks.Upload) { u.Run = "a/b" }, fields: []string{"run"}},
		{name: "run: starts with a dash", edit: func(u *tasks.Upload) { u.Run = "-x" }, fields: []string{"run"}},
		{name: "runAt: in the past", edit: func(u *tasks.Upload) { u.RunAt = ptr(testNow.Add(-time.Hour)) }},
		{name: "runAt: 30 days ahead", edit: func(u *tasks.Upload) { u.RunAt = ptr(testNow.Add(30 * 24 * time.Hour)) }},
		{name: "runAt: more than 30 days ahead", edit: func(u *tasks.Upload) { u.RunAt = ptr(testNow.Add(30*24*time.Hour + time.Second)) }, fields: []string{"runAt"}},
		{name: "idempotencyKey: 255 characters", edit: func(u *tasks.Upload) { u.IdempotencyKey = strings.Repeat("k", 255) }},
		{name: "idempotencyKey: 256 characters", edit: func(u *tasks.Upload) { u.IdempotencyKey = strings.Repeat("k", 256) }, fields: []string{"idempotencyKey"}},
		{name: "idempotencyKey: not ASCII", edit: func(u *tasks.Upload) { u.IdempotencyKey = "clé" }, fields: []string{"idempotencyKey"}},
		{name: "idempotencyKey: too long and not ASCII", edit: func(u *tasks.Upload) { u.IdempotencyKey = strings.Repeat("ü", 256) }, fields: []string{"idempotencyKey", "idempotencyKey"}},
		{name: "idempotencyKey: control character", edit: func(u *tasks.Upload) { u.IdempotencyKey = "a\tb" }, fields: []string{"idempotencyKey"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			u := validJob()
			c.edit(u)
			opts := c.opts
			opts.Now = func() time.Time { return testNow }
			err := u.Validate(opts)
			got := problemFields(t, err)
			if !reflect.DeepEqual(got, c.fields) {
				t.Fatalf("fields = %q, want %q\nerror: %v", got, c.fields, err)
			}
		})
	}
}

// problemFields returns the problems' fields and checks each message names its field.
func problemFields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *tasks.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
	}
	var fields []string
	for _, p := range ve.Problems {
		fields = append(fields, p.Field)
		top, _, _ := strings.Cut(strings.SplitN(p.Field, "[", 2)[0], ".")
		if !strings.Contains(p.Message, top) || !strings.HasSuffix(p.Message, ".") {
			t.Errorf("message %q does not name %s or is not a sentence", p.Message, top)
		}
		if !strings.Contains(err.Error(), p.Message) {
			t.Errorf("Error() %q leaves out %q", err.Error(), p.Message)
		}
	}
	return fields
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	u := &tasks.Upload{
		File:              "ftp://example.com/a.jpg",
		FileName:          "a/b.jpg",
		Tags:              tasks.StringList{"sale%", strings.Repeat("x", 500)},
		Folder:            "/bad folder",
		CustomCoordinates: "1,2,3",
		ResponseFields:    tasks.StringList{"size"},
		Extensions:        []tasks.Extension{{Name: "remove-bg", Options: map[string]any{"bg_color": "red", "bg_image_url": "https://x.example/bg.png"}}, {Name: "ocr"}},
		WebhookURL:        "hooks",
		CustomMetadata:    map[string]any{"color": map[string]any{}},
		Transformation:    &tasks.Transformation{Post: []tasks.PostTransform{{Type: "abs"}}},
		Checks:            strings.Repeat("c", 5000),
		Description:       strings.Repeat("d", 1001),
		CallbackURL:       "mailto:ops@example.com",
		Queue:             "urgent",
		RunAt:             ptr(testNow.AddDate(0, 2, 0)),
		MaxAttempts:       100,
		IdempotencyKey:    "ключ",
		Fetch:             "remote",
		IfExists:          "sometimes",
		Run:               "my run",
	}
	err := u.Validate(tasks.ValidateOptions{Now: func() time.Time { return testNow }})
	want := []string{
		"file",
		"fileName",
		"tags",
		"tags[0]",
		"folder",
		"customCoordinates",
		"responseFields[0]",
		"extensions[0].options",
		"extensions[1].name",
		"webhookUrl",
		"customMetadata.color",
		"transformation.post[0].value",
		"transformation.post[0].protocol",
		"checks",
		"description",
		"callbackUrl",
		"queue",
		"runAt",
		"maxAttempts",
		"idempotencyKey",
		"fetch",
		"ifExists",
		"run",
	}
	if got := problemFields(t, err); !reflect.DeepEqual(got, want) {
		t.Fatalf("fields:\n got %q\nwant %q", got, want)
	}
	if !strings.HasPrefix(err.Error(), fmt.Sprintf("tasks: invalid upload job (%d problems): ", len(want))) {
		t.Errorf("Error() = %q", err.Error())
	}
}

func TestValidateNil(t *testing.T) {
	t.Parallel()
	var u *tasks.Upload
	var ve *tasks.ValidationError
	if err := u.Validate(tasks.ValidateOptions{}); !errors.As(err, &ve) || len(ve.Problems) != 1 {
		t.Fatalf("Validate(nil) = %v", err)
	}
}

func TestValidateDefaultClock(t *testing.T) {
	t.Parallel()
	u := validJob()
	u.RunAt = ptr(time.Now().Add(24 * time.Hour))
	if err := u.Validate(tasks.ValidateOptions{}); err != nil {
		t.Fatalf("tomorrow: %v", err)
	}
	u.RunAt = ptr(time.Now().AddDate(0, 0, 31))
	if got := problemFields(t, u.Validate(tasks.ValidateOptions{})); !reflect.DeepEqual(got, []string{"runAt"}) {
		t.Fatalf("31 days ahead: fields %q", got)
	}
}

func TestCleanFileName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"my file.jpg":        "my_file.jpg",
		"résumé-v2.pdf":      "résumé-v2.pdf",
		"写真_01.png":          "写真_01.png",
		"a/b\\c:d*e?.txt":    "a_b_c_d_e_.txt",
		"naïve\u0301.jpg":    "naïve\u0301.jpg", // combining mark kept
		"١٢٣.png":            "١٢٣.png",         // Arabic-Indic digits
		"tab\there\x00.gif":  "tab_here_.gif",
		"bad\xffbyte.jpg":    "bad_byte.jpg",
		"emoji😀.png":         "emoji_.png",
		"under_score.jpg":    "under_score.jpg",
		"":                   "",
		"percent%20name.jpg": "percent_20name.jpg",
	} {
		if got := tasks.CleanFileName(in); got != want {
			t.Errorf("CleanFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	u := validJob()
	if u.QueueName() != tasks.QueueDefault || u.Attempts() != tasks.DefaultMaxAttempts || u.FetchMode() != tasks.FetchWorker {
		t.Fatalf("defaults: %q %d %q", u.QueueName(), u.Attempts(), u.FetchMode())
	}
	u.Queue, u.MaxAttempts, u.Fetch = tasks.QueueLow, 3, tasks.FetchRemote
	if u.QueueName() != "low" || u.Attempts() != 3 || u.FetchMode() != "remote" {
		t.Fatalf("set: %q %d %q", u.QueueName(), u.Attempts(), u.FetchMode())
	}
}

// yesNo is a valid ai-tasks task.
func yesNo() map[string]any {
	return map[string]any{"type": "yes_no", "instruction": "Is there a person?", "on_yes": map[string]any{"add_tags": []any{"person"}}}
}
