package bulk

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ikq-dev/ikq/tasks"
)

// Manifest formats.
const (
	FormatCSV   = "csv"
	FormatJSONL = "jsonl"

	formatCSV   = FormatCSV
	formatJSONL = FormatJSONL
)

// maxManifestLine bounds one JSON line: inline content is capped at 1 MiB decoded, so
// a job line is far shorter unless something is wrong.
const maxManifestLine = 16 << 20

// manifestItem is one job of a manifest: its line and its spec, or why the line is not
// a job.
type manifestItem struct {
	Line int
	Job  *tasks.Upload
	Err  error
}

// lineError is a manifest line that is not a job, or a manifest that cannot be read
// past that line.
type lineError struct {
	Line int
	Err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *lineError) Unwrap() error { return e.Err }

// readManifest reads a manifest, one item at a time: memory does not grow with its
// length. A line that is not a job becomes an item with Err (a *lineError) and the
// rest are still read; the error is for a manifest that cannot be read at all (an
// unusable CSV header, a read error, a line too long), or what yield returned.
func readManifest(r io.Reader, format string, yield func(manifestItem) error) error {
	switch format {
	case formatCSV:
		return readCSV(r, yield)
	case formatJSONL:
		return readJSONL(r, yield)
	}
	return fmt.Errorf("unknown manifest format %q: want csv or jsonl", format)
}

// readJSONL reads one job spec per line, decoded as strictly as the API decodes it.
// Blank lines are skipped.
func readJSONL(r io.Reader, yield func(manifestItem) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxManifestLine)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if line == 1 {
			b = bytes.TrimPrefix(b, utf8BOM)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		it := manifestItem{Line: line}
		if u, err := tasks.Decode(b); err != nil {
			it.Err = &lineError{line, err}
		} else {
			it.Job = u
		}
		if err := yield(it); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("longer than %d MiB", maxManifestLine>>20)
		}
		return &lineError{line + 1, err}
	}
	return nil
}

var utf8BOM = []byte("\ufeff")

// csvColumn is a manifest column: the job field it sets and how its cells read.
type csvColumn struct {
	field string
	kind  tasks.OptionKind
}

// readCSV reads a header of job field names, then one job per row. A cell is the
// field's value as the enqueue flag of that field takes it: text, true/false, a whole
// number, JSON text for extensions, customMetadata and transformation, comma-separated
// tags. An empty cell leaves its field unset, and rows of empty cells are skipped.
func readCSV(r io.Reader, yield func(manifestItem) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // rows of the wrong width are reported per row, below
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return csvError(err)
	}
	columns, err := csvHeader(header)
	if err != nil {
		return &lineError{1, err}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var it manifestItem
		switch {
		case err != nil:
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return csvError(err)
			}
			// The reader resumes at the next line: report this row and go on.
			it = manifestItem{Line: pe.StartLine, Err: csvError(err)}
		case allEmpty(rec):
			continue
		default:
			line, _ := cr.FieldPos(0)
			it.Line = line
			if len(rec) != len(columns) {
				it.Err = &lineError{line, fmt.Errorf("has %d cells; the header has %d columns", len(rec), len(columns))}
			} else if u, err := csvJob(columns, rec); err != nil {
				it.Err = &lineError{line, err}
			} else {
				it.Job = u
			}
		}
		if err := yield(it); err != nil {
			return err
		}
	}
}

// csvError turns the CSV reader's error into a lineError naming the line its row
// starts on, and the line of the problem when a quoted cell spans lines.
func csvError(err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return err
	}
	if pe.Line != pe.StartLine {
		return &lineError{pe.StartLine, fmt.Errorf("%w (at line %d)", pe.Err, pe.Line)}
	}
	return &lineError{pe.StartLine, pe.Err}
}

func allEmpty(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// csvHeader maps the header's names to job fields. Every name must be a JSON field of
// the job, once; a flag name (file-name) gets a hint with the field name (fileName).
func csvHeader(header []string) ([]csvColumn, error) {
	byField := map[string]tasks.OptionKind{}
	byFlag := map[string]string{}
	for _, o := range tasks.Options() {
		byField[o.Name] = o.Kind()
		byFlag[o.Flag()] = o.Name
	}
	columns := make([]csvColumn, len(header))
	seen := map[string]bool{}
	for i, name := range header {
		if i == 0 {
			name = strings.TrimPrefix(name, string(utf8BOM))
		}
		name = strings.TrimSpace(name)
		kind, ok := byField[name]
		switch {
		case name == "":
			return nil, fmt.Errorf("column %d has no name; the header names job fields, like file,fileName,tags", i+1)
		case !ok:
			msg := fmt.Sprintf("column %q is not a field of the job", name)
			if f, ok := byFlag[strings.ToLower(name)]; ok {
				return nil, fmt.Errorf("%s; did you mean %q?", msg, f)
			}
			for f := range byField {
				if strings.EqualFold(f, name) {
					return nil, fmt.Errorf("%s; did you mean %q?", msg, f)
				}
			}
			return nil, errors.New(msg)
		case seen[name]:
			return nil, fmt.Errorf("column %q appears more than once", name)
		}
		seen[name] = true
		columns[i] = csvColumn{field: name, kind: kind}
	}
	return columns, nil
}

// csvJob builds the job of one row through the job's own JSON decoder, so a row
// accepts exactly what a JSON line would.
func csvJob(columns []csvColumn, rec []string) (*tasks.Upload, error) {
	doc := make(map[string]any, len(columns))
	for i, col := range columns {
		cell := rec[i]
		if strings.TrimSpace(cell) == "" {
			continue
		}
		switch col.kind {
		case tasks.KindBool:
			b, err := strconv.ParseBool(strings.TrimSpace(cell))
			if err != nil {
				return nil, fmt.Errorf("%s: want true or false, got %q", col.field, cell)
			}
			doc[col.field] = b
		case tasks.KindInt:
			n, err := strconv.Atoi(strings.TrimSpace(cell))
			if err != nil {
				return nil, fmt.Errorf("%s: want a whole number, got %q", col.field, cell)
			}
			doc[col.field] = n
		case tasks.KindJSON:
			if !json.Valid([]byte(cell)) {
				return nil, fmt.Errorf("%s: the cell does not hold valid JSON", col.field)
			}
			doc[col.field] = json.RawMessage(cell)
		default: // string, list, and time: the decoder reads RFC 3339 and names the field
			doc[col.field] = cell
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return tasks.Decode(b)
}
