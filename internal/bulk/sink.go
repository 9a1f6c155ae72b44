package bulk

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// maxGroups bounds the distinct failure reasons a summary keeps; past it, the rest
// count as one group.
const maxGroups = 200

// sink receives every item's outcome, from several goroutines: it counts, writes the
// item's stdout line and result, moves the progress and keeps failures grouped by
// reason. It holds nothing per item.
type sink struct {
	o        *Options
	progress *progress
	mu       sync.Mutex
	enc      *json.Encoder
	sum      Summary
	err      error // the first write that failed
	// Grouped reasons, for the summary.
	notEnqueuedBy groups
	failedBy      groups
}

func newSink(o *Options, p *progress) *sink {
	enc := json.NewEncoder(o.Stdout)
	enc.SetEscapeHTML(false)
	return &sink{o: o, progress: p, enc: enc}
}

// itemLine is an item's JSON line on stdout.
type itemLine struct {
	Line            int    `json:"line,omitempty"`
	Path            string `json:"path,omitempty"`
	ID              string `json:"id,omitempty"`
	Status          string `json:"status"` // the job's status, or invalid, or error (not enqueued)
	AlreadyEnqueued bool   `json:"alreadyEnqueued,omitempty"`
	Skipped         bool   `json:"skipped,omitempty"` // already in place: nothing uploaded
	FilePath        string `json:"filePath,omitempty"`
	URL             string `json:"url,omitempty"`
	Error           string `json:"error,omitempty"`
}

func (s *sink) read(it *item) {
	s.mu.Lock()
	s.sum.Items++
	s.mu.Unlock()
	s.progress.itemFound(it.size)
}

func (s *sink) exclude() {
	s.mu.Lock()
	s.sum.Excluded++
	s.mu.Unlock()
}

func (s *sink) sourceDone() { s.progress.sourceDone() }

func (s *sink) invalid(it *item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sum.Invalid++; s.sum.Invalid <= maxListed {
		fmt.Fprintf(s.o.Stderr, "invalid: %v\n", it.err)
	} else if s.sum.Invalid == maxListed+1 {
		fmt.Fprintln(s.o.Stderr, "invalid: … more invalid items (stdout lists every item)")
	}
	s.write(it, itemLine{Status: "invalid", Error: it.err.Error()}, Result{Status: "invalid", Error: it.err.Error()})
	s.progress.itemDone(it.size, true)
}

func (s *sink) notEnqueued(it *item, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sum.NotEnqueued++
	msg := strings.TrimPrefix(err.Error(), it.name()+": ")
	s.notEnqueuedBy.add(msg, it.name())
	s.write(it, itemLine{Status: "error", Error: it.name() + ": " + msg}, Result{Status: "error", Error: msg})
	s.progress.itemDone(it.size, true)
}

func (s *sink) enqueued(it *item, r Enqueued, existed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if existed {
		s.sum.Existed++
	} else {
		s.sum.Enqueued++
	}
}

// emit writes the outcome of an enqueued item: its job as enqueued (without Wait),
// or as it ended (job not nil).
func (s *sink) emit(it *item, id, status string, existed bool, job *JobState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := itemLine{ID: id, Status: status, AlreadyEnqueued: existed}
	r := Result{Status: status, JobID: id}
	failed := false
	if job != nil {
		r = resultOf(id, job)
		l.Status, l.FilePath, l.URL, l.Skipped, l.Error = r.Status, r.FilePath, r.URL, r.Skipped, r.Error
		switch job.Status {
		case "completed":
			s.sum.Completed++
			if r.Skipped {
				s.sum.Skipped++
			}
		case "canceled":
			s.sum.Canceled++
			failed = true
			s.failedBy.add(r.Error, it.name())
		default:
			s.sum.Failed++
			failed = true
			s.failedBy.add(r.Error, it.name())
		}
	}
	s.write(it, l, r)
	if job != nil || !s.o.Wait {
		s.progress.itemDone(it.size, failed)
	}
}

// gone records a followed job that ended without an outcome to read: its record is
// gone, or reading stopped.
func (s *sink) gone(it *item, id string, err error, running bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	status := "unknown"
	if running {
		s.sum.Running++
	} else {
		s.sum.Failed++
		s.failedBy.add(err.Error(), it.name())
	}
	s.write(it, itemLine{ID: id, Status: status, Error: err.Error()}, Result{Status: status, JobID: id, Error: err.Error()})
}

// write writes an item's line and result; s.mu is held.
func (s *sink) write(it *item, l itemLine, r Result) {
	l.Line, l.Path = it.line, it.path
	r.Source = it.path
	if r.Source == "" && it.job != nil {
		r.Source = it.job.Redacted().File
	}
	if r.Source == "" {
		r.Source = "line " + strconv.Itoa(it.line)
	}
	if r.Size == 0 && it.size > 0 {
		r.Size = it.size
	}
	if err := s.enc.Encode(&l); err != nil && s.err == nil {
		s.err = err
	}
	if s.o.Results != nil {
		if err := s.o.Results.Write(r); err != nil && s.err == nil {
			s.err = fmt.Errorf("writing results: %w", err)
		}
	}
}

func (s *sink) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.o.Results != nil {
		if err := s.o.Results.Flush(); err != nil && s.err == nil {
			s.err = fmt.Errorf("writing results: %w", err)
		}
	}
	return s.err
}

func (s *sink) summary() *Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := s.sum
	return &sum
}

// report prints the failures grouped by reason, and the counts.
func (s *sink) report(wait bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, sum := s.o.Stderr, s.sum
	if sum.NotEnqueued > 0 {
		fmt.Fprintln(w, "not enqueued:")
		s.notEnqueuedBy.print(w)
	}
	line := fmt.Sprintf("%s: %d enqueued, %d already enqueued, %d invalid", plural(sum.Items, "job"), sum.Enqueued, sum.Existed, sum.Invalid)
	if sum.NotEnqueued > 0 {
		line += fmt.Sprintf(", %d not enqueued", sum.NotEnqueued)
	}
	line += excludedNote(sum.Excluded)
	fmt.Fprintln(w, line)
	if !wait {
		return
	}
	if len(s.failedBy.order) > 0 {
		fmt.Fprintln(w, "failed or canceled:")
		s.failedBy.print(w)
	}
	line = fmt.Sprintf("%s: %d completed, %d failed, %d canceled, %d invalid", plural(sum.Items, "job"), sum.Completed, sum.Failed, sum.Canceled, sum.Invalid)
	if sum.NotEnqueued > 0 {
		line += fmt.Sprintf(", %d not enqueued", sum.NotEnqueued)
	}
	if sum.Running > 0 {
		line += fmt.Sprintf(", %d still running", sum.Running)
	}
	fmt.Fprintln(w, line)
	if sum.Completed > 0 {
		fmt.Fprintf(w, "of the completed: %d uploaded, %d already in ImageKit with the same size (nothing uploaded)\n", sum.Completed-sum.Skipped, sum.Skipped)
	}
}

// groups counts items by reason, keeping a few names of each.
type groups struct {
	order []*group
	index map[string]*group
	other *group
}

type group struct {
	msg   string
	n     int
	names []string
}

func (g *groups) add(msg, name string) {
	if g.index == nil {
		g.index = map[string]*group{}
	}
	gr := g.index[msg]
	if gr == nil {
		if len(g.order) >= maxGroups {
			if g.other == nil {
				g.other = &group{msg: "other reasons"}
				g.order = append(g.order, g.other)
			}
			gr = g.other
		} else {
			gr = &group{msg: msg}
			g.index[msg] = gr
			g.order = append(g.order, gr)
		}
	}
	gr.n++
	if len(gr.names) < 3 {
		gr.names = append(gr.names, name)
	}
}

// print names each item with its reason when there are few, else one line per
// reason with its count and a few items, the largest groups first.
func (g *groups) print(w io.Writer) {
	total := 0
	for _, gr := range g.order {
		total += gr.n
	}
	if total <= 3 {
		for _, gr := range g.order {
			for _, n := range gr.names {
				fmt.Fprintf(w, "  %s: %s\n", n, gr.msg)
			}
		}
		return
	}
	sorted := append([]*group(nil), g.order...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].n > sorted[j].n })
	for _, gr := range sorted {
		examples := strings.Join(gr.names, ", ")
		if gr.n > len(gr.names) {
			examples += ", …"
		}
		fmt.Fprintf(w, "  %d× %s (%s)\n", gr.n, gr.msg, examples)
	}
}

// plural is "1 job", "2 jobs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
