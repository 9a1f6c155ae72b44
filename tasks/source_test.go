package tasks_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ikq-dev/ikq/tasks"
)

func TestSourceKind(t *testing.T) {
	t.Parallel()
	for file, want := range map[string]tasks.SourceKind{
		"":                                 tasks.SourceUnknown,
		"https://example.com/a.jpg":        tasks.SourceURL,
		"HTTP://example.com/a.jpg":         tasks.SourceURL,
		"s3://bucket/key.jpg":              tasks.SourceObject,
		"gs://bucket/key.jpg":              tasks.SourceObject,
		"azblob://container/key.jpg":       tasks.SourceObject,
		"file:///data/a.jpg":               tasks.SourceObject,
		"mem://bucket/a.jpg":               tasks.SourceObject,
		"data:image/png;base64,iVBORw0KGg": tasks.SourceInline,
		"iVBORw0KGgoAAAAN":                 tasks.SourceInline,
		"aGVs bG8=\n":                      tasks.SourceInline,
		"ftp://example.com/a.jpg":          tasks.SourceUnknown,
		"photo.jpg":                        tasks.SourceUnknown,
		"<inline base64, 12 bytes>":        tasks.SourceUnknown,
	} {
		u := tasks.Upload{File: file}
		if got := u.SourceKind(); got != want {
			t.Errorf("SourceKind(%q) = %v, want %v", file, got, want)
		}
	}
	if tasks.SourceObject.String() != "object" {
		t.Errorf("String() = %q", tasks.SourceObject.String())
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ file, want string }{
		{"aGVsbG8gd29ybGQ=", "<inline base64, 11 bytes>"},
		{"aGVsbG8g\nd29ybGQ", "<inline base64, 11 bytes>"},
		{"data:image/png;base64,aGVsbG8gd29ybGQ=", "<inline data URI image/png, 11 bytes>"},
		{"https://example.com/a.jpg?w=100", "https://example.com/a.jpg?w=100"},
		{
			"https://bucket.s3.amazonaws.com/a.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20250101&X-Amz-Date=20250101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=abc123",
			"https://bucket.s3.amazonaws.com/a.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Date=20250101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=REDACTED",
		},
		{
			"https://storage.googleapis.com/b/a.jpg?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=sa%40p.iam&X-Goog-Signature=ff00",
			"https://storage.googleapis.com/b/a.jpg?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=REDACTED&X-Goog-Signature=REDACTED",
		},
		{
			"https://acct.blob.core.windows.net/c/a.jpg?sv=2022-11-02&se=2025-01-01&sp=r&sig=abc%3D",
			"https://acct.blob.core.windows.net/c/a.jpg?sv=REDACTED&se=REDACTED&sp=REDACTED&sig=REDACTED",
		},
		{"https://user:hunter2@example.com/a.jpg", "https://example.com/a.jpg"},
		{"https://ghp_secret@example.com/a.jpg?token=t&Signature=s&api_key=k&page=2", "https://example.com/a.jpg?token=REDACTED&Signature=REDACTED&api_key=REDACTED&page=2"},
		{"https://example.com/a@b.jpg#access_token=x", "https://example.com/a@b.jpg#access_token=REDACTED"},
		{"s3://bucket/a.jpg?region=eu-west-1", "s3://bucket/a.jpg?region=eu-west-1"},
		{"ftp://u:p@example.com/a.jpg", "ftp://example.com/a.jpg"},
	} {
		u := tasks.Upload{File: c.file, FileName: "a.jpg"}
		r := u.Redacted()
		if r.File != c.want {
			t.Errorf("Redacted(%q).File =\n %q, want\n %q", c.file, r.File, c.want)
		}
		if u.File != c.file {
			t.Errorf("Redacted changed the original: %q", u.File)
		}
		if again := r.Redacted(); again.File != r.File {
			t.Errorf("Redacted is not idempotent: %q → %q", r.File, again.File)
		}
	}
}

func TestRedactedOtherURLsAndCopy(t *testing.T) {
	t.Parallel()
	u := decode(t, fullJob)
	u.WebhookURL = "https://app.example.com/hook?token=abc"
	u.CallbackURL = "https://app.example.com/done?sig=xyz&job=1"
	u.Extensions[0].Options = map[string]any{"bg_image_url": "https://cdn.example.com/bg.jpg?Signature=s"}
	before, _ := json.Marshal(u)

	r := u.Redacted()
	if r.WebhookURL != "https://app.example.com/hook?token=REDACTED" ||
		r.CallbackURL != "https://app.example.com/done?sig=REDACTED&job=1" ||
		r.Extensions[0].Options["bg_image_url"] != "https://cdn.example.com/bg.jpg?Signature=REDACTED" {
		t.Fatalf("redacted: %q %q %v", r.WebhookURL, r.CallbackURL, r.Extensions[0].Options)
	}
	// The copy shares nothing with the original.
	r.Tags[0] = "changed"
	r.Extensions[1].Name = "changed"
	*r.Extensions[1].MaxTags = 99
	r.CustomMetadata["sizes"].([]any)[0] = "XL"
	r.Transformation.Post[0].Value = "changed"
	*r.RunAt = r.RunAt.AddDate(1, 0, 0)
	*r.IsPrivateFile = false
	if after, _ := json.Marshal(u); string(after) != string(before) {
		t.Fatalf("changing the copy changed the original:\n%s\n%s", before, after)
	}
	// Nothing but the secrets changed.
	r = u.Redacted()
	r.WebhookURL, r.CallbackURL, r.Extensions[0].Options = u.WebhookURL, u.CallbackURL, u.Extensions[0].Options
	if !reflect.DeepEqual(&r, u) {
		t.Fatalf("Redacted changed more than secrets:\n%#v\n%#v", r, *u)
	}
}

func TestRedactedLargeInline(t *testing.T) {
	t.Parallel()
	u := tasks.Upload{File: strings.Repeat("QUJD", 100000)}
	if got := u.Redacted().File; got != "<inline base64, 300000 bytes>" {
		t.Fatalf("got %q", got)
	}
}
