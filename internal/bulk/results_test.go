package bulk

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
)

func TestResultWriter(t *testing.T) {
	t.Parallel()
	rows := []Result{
		{Source: "photos/a b.png", Status: "completed", JobID: "j1", FileID: "f1", FilePath: "/x/a_b.png", URL: "https://ik.example/x/a_b.png", Size: 12, Attempts: 1},
		{Source: "line 3", Status: "failed", JobID: "j2", Attempts: 2, Error: `checks failed, "size"`},
		{Source: "c.png", Status: "completed", Skipped: true, FileID: "f3"},
	}
	var b bytes.Buffer
	w, err := NewResultWriter(&b, FormatCSV)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"source", "status", "jobId", "fileId", "filePath", "url", "size", "attempts", "skipped", "error"},
		{"photos/a b.png", "completed", "j1", "f1", "/x/a_b.png", "https://ik.example/x/a_b.png", "12", "1", "false", ""},
		{"line 3", "failed", "j2", "", "", "", "", "2", "false", `checks failed, "size"`},
		{"c.png", "completed", "", "f3", "", "", "", "0", "true", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("csv rows %q, want %q", got, want)
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("csv row %d: %q, want %q", i, got[i], want[i])
		}
	}

	b.Reset()
	if w, err = NewResultWriter(&b, FormatJSONL); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	for i, r := range rows {
		var back Result
		if err := dec.Decode(&back); err != nil || back != r {
			t.Errorf("jsonl line %d: %+v (%v), want %+v", i, back, err, r)
		}
	}
	if _, err := NewResultWriter(&b, "xml"); err == nil {
		t.Error("format xml was accepted")
	}
}
