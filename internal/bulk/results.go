package bulk

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// Result is one item's outcome, as --results writes it: the source and where it
// landed. The same fields can later be read back from a run's jobs in Redis.
type Result struct {
	Source   string `json:"source"`
	Status   string `json:"status"` // the job's status, or invalid, or error (not enqueued)
	JobID    string `json:"jobId,omitempty"`
	FileID   string `json:"fileId,omitempty"`
	FilePath string `json:"filePath,omitempty"`
	URL      string `json:"url,omitempty"`
	Size     int64  `json:"size,omitempty"`
	Attempts int    `json:"attempts,omitempty"`
	Skipped  bool   `json:"skipped,omitempty"` // the file was in place already: nothing uploaded
	Error    string `json:"error,omitempty"`
}

// ResultWriter writes results one at a time, each as soon as it is known, so that an
// interrupted run leaves a usable file.
type ResultWriter interface {
	Write(Result) error
	// Flush writes out what is buffered.
	Flush() error
}

// NewResultWriter writes format (csv or jsonl) to w.
func NewResultWriter(w io.Writer, format string) (ResultWriter, error) {
	switch format {
	case FormatCSV:
		cw := csv.NewWriter(w)
		if err := cw.Write(csvResultHeader); err != nil {
			return nil, err
		}
		return &csvResults{w: cw}, nil
	case FormatJSONL, "ndjson":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return &jsonlResults{enc: enc}, nil
	}
	return nil, fmt.Errorf("results format %q: want csv or jsonl", format)
}

var csvResultHeader = []string{"source", "status", "jobId", "fileId", "filePath", "url", "size", "attempts", "skipped", "error"}

type csvResults struct{ w *csv.Writer }

func (c *csvResults) Write(r Result) error {
	size := ""
	if r.Size > 0 {
		size = strconv.FormatInt(r.Size, 10)
	}
	return c.w.Write([]string{r.Source, r.Status, r.JobID, r.FileID, r.FilePath, r.URL, size,
		strconv.Itoa(r.Attempts), strconv.FormatBool(r.Skipped), r.Error})
}

func (c *csvResults) Flush() error { c.w.Flush(); return c.w.Error() }

type jsonlResults struct{ enc *json.Encoder }

func (j *jsonlResults) Write(r Result) error { return j.enc.Encode(&r) }
func (j *jsonlResults) Flush() error         { return nil }

// fileResult is the part of a job's result a Result takes.
type fileResult struct {
	FileID   string `json:"fileId"`
	FilePath string `json:"filePath"`
	URL      string `json:"url"`
	Size     int64  `json:"size"`
}
