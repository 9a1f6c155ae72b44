package bulk

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ikq-dev/ikq/tasks"
)

// jobJSON is a job as JSON, for comparing with what a test wants.
func jobJSON(t *testing.T, u *tasks.Upload) []byte {
	t.Helper()
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadCSV(t *testing.T) {
	t.Parallel()
	const header = "file,fileName,tags,folder,customMetadata,isPrivateFile,maxAttempts,extensions,transformation,runAt,useUniqueFileName\n"
	cases := []struct {
		name, rows string
		want       string // the job's JSON, when the row is valid
		line       int    // the item's line
		err        string // in the error, when it is not
	}{
		{
			name: "text cells",
			rows: "https://example.com/a.jpg,a.jpg,,/shop,,,,,,,\n",
			want: `{"file":"https://example.com/a.jpg","fileName":"a.jpg","folder":"/shop"}`, line: 2,
		},
		{
			name: "tags in a quoted cell",
			rows: `https://example.com/a.jpg,a.jpg,"summer, sale",,,,,,,,` + "\n",
			want: `{"file":"https://example.com/a.jpg","fileName":"a.jpg","tags":["summer","sale"]}`, line: 2,
		},
		{
			name: "JSON-valued cells",
			rows: `https://example.com/a.jpg,a.jpg,,,"{""brand"":""Nike"",""price"":10}",,,"[{""name"":""remove-bg""}]","{""pre"":""rt-90""}",,` + "\n",
			want: `{"file":"https://example.com/a.jpg","fileName":"a.jpg","customMetadata":{"brand":"Nike","price":10},"extensions":[{"name":"remove-bg"}],"transformation":{"pre":"rt-90"}}`, line: 2,
		},
		{
			name: "booleans, a number and a time",
			rows: "https://example.com/a.jpg,a.jpg,,,,true,3,,,2030-01-02T03:04:05Z,FALSE\n",
			want: `{"file":"https://example.com/a.jpg","fileName":"a.jpg","isPrivateFile":true,"maxAttempts":3,"runAt":"2030-01-02T03:04:05Z","useUniqueFileName":false}`, line: 2,
		},
		{
			name: "a cell of spaces is empty",
			rows: "https://example.com/a.jpg,a.jpg,  ,,,  ,,,,,\n",
			want: `{"file":"https://example.com/a.jpg","fileName":"a.jpg"}`, line: 2,
		},
		{
			name: "a row after a quoted line break is on its own line",
			rows: "https://example.com/a.jpg,\"two\nlines.jpg\",,,,,,,,,\nhttps://example.com/b.jpg,b.jpg,,,,maybe,,,,,\n",
			line: 4, err: `line 4: isPrivateFile: want true or false, got "maybe"`,
		},
		{
			name: "a bad number",
			rows: "https://example.com/a.jpg,a.jpg,,,,,ten,,,,\n",
			line: 2, err: `line 2: maxAttempts: want a whole number, got "ten"`,
		},
		{
			name: "a JSON cell that is not JSON",
			rows: "https://example.com/a.jpg,a.jpg,,,{brand:Nike},,,,,,\n",
			line: 2, err: "line 2: customMetadata: the cell does not hold valid JSON",
		},
		{
			name: "JSON of the wrong shape",
			rows: `https://example.com/a.jpg,a.jpg,,,,,,"{""name"":""remove-bg""}",,,` + "\n",
			line: 2, err: "line 2: extensions: want an array of extensions",
		},
		{
			name: "a time that is not RFC 3339",
			rows: "https://example.com/a.jpg,a.jpg,,,,,,,,tomorrow,\n",
			line: 2, err: "line 2: runAt: want an RFC 3339 time",
		},
		{
			name: "too few cells",
			rows: "https://example.com/a.jpg,a.jpg\n",
			line: 2, err: "line 2: has 2 cells; the header has 11 columns",
		},
		{
			name: "a bare quote",
			rows: `https://example.com/a.jpg,a "b".jpg,,,,,,,,,` + "\n",
			line: 2, err: "line 2: ",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			items, err := readAll(strings.NewReader(header+c.rows), formatCSV)
			if err != nil {
				t.Fatalf("readManifest: %v", err)
			}
			it := items[len(items)-1]
			if it.Line != c.line {
				t.Errorf("line %d, want %d", it.Line, c.line)
			}
			if c.err != "" {
				if it.Err == nil || !strings.HasPrefix(it.Err.Error(), c.err) {
					t.Fatalf("error %v, want one starting %q", it.Err, c.err)
				}
				return
			}
			if it.Err != nil {
				t.Fatalf("error %v", it.Err)
			}
			if got := jobJSON(t, it.Job); !jsonEqual(t, got, []byte(c.want)) {
				t.Errorf("job\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

func TestReadCSVRows(t *testing.T) {
	t.Parallel()
	// A byte-order mark, blank lines and rows of empty cells, as spreadsheets write
	// them. Then a bad row between good ones: each good row is read, and each bad row
	// is named by its line.
	in := "\ufefffile,fileName\r\n" +
		"https://example.com/a.jpg,a.jpg\r\n" +
		"\r\n" +
		",\r\n" +
		"https://example.com/b.jpg\r\n" +
		"https://example.com/c.jpg,c.jpg\r\n"
	items, err := readAll(strings.NewReader(in), formatCSV)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		if it.Err != nil {
			got = append(got, it.Err.Error())
		} else {
			got = append(got, strconv.Itoa(it.Line)+" "+it.Job.FileName)
		}
	}
	want := []string{"2 a.jpg", "line 5: has 1 cells; the header has 2 columns", "6 c.jpg"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("items %q, want %q", got, want)
	}
	if items, err := readAll(strings.NewReader(""), formatCSV); err != nil || len(items) != 0 {
		t.Errorf("an empty CSV: %d items, %v; want none", len(items), err)
	}
}

func TestCSVHeaderErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ header, err string }{
		{"file,fileName,colour", `line 1: column "colour" is not a field of the job`},
		{"file,file-name", `line 1: column "file-name" is not a field of the job; did you mean "fileName"?`},
		{"file,FILENAME", `did you mean "fileName"?`},
		{"file,fileName,file", `line 1: column "file" appears more than once`},
		{"file,,fileName", "line 1: column 2 has no name"},
		{`file,"fileName`, "line 1: "},
	} {
		_, err := readAll(strings.NewReader(c.header+"\nx,y\n"), formatCSV)
		var le *lineError
		if err == nil || !strings.Contains(err.Error(), c.err) || !errors.As(err, &le) {
			t.Errorf("header %q: error %v, want a *lineError containing %q", c.header, err, c.err)
		}
	}
}

func TestReadJSONL(t *testing.T) {
	t.Parallel()
	in := "\ufeff" + `{"file":"https://example.com/a.jpg","fileName":"a.jpg","tags":"x,y"}` + "\n" +
		"\n" +
		"   \r\n" +
		`{"file":"https://example.com/b.jpg","fileName":"b.jpg","colour":"red"}` + "\r\n" +
		`{"file":"https://example.com/c.jpg","fileName":"c.jpg","customMetadata":"{\"brand\":\"Nike\"}"}` + "\n" +
		`{"file":"https://example.com/d.jpg","fileName":1}` + "\n" +
		`{"file":"https://example.com/e.jpg"} {}` + "\n" +
		`not json` // no newline at the end
	items, err := readAll(strings.NewReader(in), formatJSONL)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		line int
		job  string
		err  string
	}{
		{1, `{"file":"https://example.com/a.jpg","fileName":"a.jpg","tags":["x","y"]}`, ""},
		{4, "", "line 4: colour: unknown field"},
		{5, `{"file":"https://example.com/c.jpg","fileName":"c.jpg","customMetadata":{"brand":"Nike"}}`, ""},
		{6, "", "line 6: fileName: want a string"},
		{7, "", "line 7: unexpected data after the JSON object"},
		{8, "", "line 8: invalid JSON"},
	}
	if len(items) != len(want) {
		t.Fatalf("%d items, want %d: %+v", len(items), len(want), items)
	}
	for i, w := range want {
		it := items[i]
		if it.Line != w.line {
			t.Errorf("item %d: line %d, want %d", i, it.Line, w.line)
		}
		if w.err != "" {
			if it.Err == nil || !strings.HasPrefix(it.Err.Error(), w.err) {
				t.Errorf("line %d: error %v, want one starting %q", w.line, it.Err, w.err)
			}
			continue
		}
		if it.Err != nil {
			t.Errorf("line %d: %v", w.line, it.Err)
		} else if got := jobJSON(t, it.Job); !jsonEqual(t, got, []byte(w.job)) {
			t.Errorf("line %d: job\n%s\nwant\n%s", w.line, got, w.job)
		}
	}

	long := `{"file":"` + strings.Repeat("a", maxManifestLine) + `"}`
	_, err = readAll(strings.NewReader("{}\n"+long+"\n"), formatJSONL)
	var le *lineError
	if !errors.As(err, &le) || le.Line != 2 || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("a line over the limit: %v, want line 2 named as too long", err)
	}
}

func TestReadManifestUnknownFormat(t *testing.T) {
	t.Parallel()
	if _, err := readAll(strings.NewReader(""), "xml"); err == nil {
		t.Error("format xml was accepted")
	}
}

var lineNumber = regexp.MustCompile(`^line ([0-9]+): `)

// FuzzManifestLine feeds both parsers untrusted bytes. They must never panic. Every
// error must name a line of the input, and every item must be a line of the input,
// in order. A job that is read must encode and decode back to itself.
func FuzzManifestLine(f *testing.F) {
	for _, seed := range []string{
		`{"file":"https://example.com/a.jpg","fileName":"a.jpg","tags":"x,y"}`,
		`{"file":"a","colour":1}`,
		`https://example.com/a.jpg,a.jpg,"a,b",/x,"{""k"":1}"`,
		`x,"unterminated`,
		"a,b\n\"c\nd\",e\n",
		`"a" b,c`,
		",,,,",
		"\ufeff{}",
		`{"extensions":"[{\"name\":\"remove-bg\"}]"}`,
		"\r\n\r\n",
	} {
		f.Add(seed)
	}
	const header = "file,fileName,tags,folder,customMetadata\n"
	f.Fuzz(func(t *testing.T, data string) {
		for _, c := range []struct{ format, in string }{
			{formatJSONL, data},
			{formatCSV, header + data},
			{formatCSV, data}, // its first line is the header
		} {
			lines := bytes.Count([]byte(c.in), []byte("\n")) + 1
			items, err := readAll(strings.NewReader(c.in), c.format)
			if err != nil {
				if n := lineOf(t, err); n < 1 || n > lines {
					t.Fatalf("%s: error %q names line %d of %d", c.format, err, n, lines)
				}
			}
			last := 0
			for _, it := range items {
				if it.Line <= last || it.Line > lines {
					t.Fatalf("%s: item on line %d after line %d, of %d lines", c.format, it.Line, last, lines)
				}
				last = it.Line
				if (it.Job == nil) == (it.Err == nil) {
					t.Fatalf("%s: line %d has job %v and error %v, want exactly one", c.format, it.Line, it.Job, it.Err)
				}
				if it.Err != nil {
					if n := lineOf(t, it.Err); n != it.Line {
						t.Fatalf("%s: the error of line %d names line %d: %v", c.format, it.Line, n, it.Err)
					}
					continue
				}
				b := jobJSON(t, it.Job)
				again, err := tasks.Decode(b)
				if err != nil {
					t.Fatalf("%s: line %d: the job %s does not decode again: %v", c.format, it.Line, b, err)
				}
				if canonicalSpec(again) != canonicalSpec(it.Job) {
					t.Fatalf("%s: line %d: the job changed on a round trip:\n%s\n%s", c.format, it.Line, canonicalSpec(it.Job), canonicalSpec(again))
				}
			}
		}
	})
}

// lineOf is the line an error names.
func lineOf(t *testing.T, err error) int {
	t.Helper()
	m := lineNumber.FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("error %q does not name its line", err)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// readAll collects every item of a manifest.
func readAll(r io.Reader, format string) ([]manifestItem, error) {
	var items []manifestItem
	err := readManifest(r, format, func(it manifestItem) error {
		items = append(items, it)
		return nil
	})
	return items, err
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("not JSON: %s", a)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return reflect.DeepEqual(va, vb)
}
