package bulk

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows how far a run has got: items and bytes done, rates, the time left
// and failures so far. On a terminal it is a live bar (schollz/progressbar) with the
// bytes, MB/s and failures in its description; anywhere else it is a line every few
// seconds, so CI logs stay short. The total is known once the source has been read
// to its end; until then it shows what was found so far.
type progress struct {
	bar *progressbar.ProgressBar // on a terminal

	w     io.Writer
	label string
	tty   bool
	every time.Duration
	now   func() time.Time

	mu                   sync.Mutex
	start, drawn         time.Time
	found, done, failed  int
	foundBytes, doneByte int64
	total                bool // the source is read to its end
	closed               bool
}

func newProgress(w io.Writer, label string, every time.Duration) *progress {
	p := &progress{w: w, label: label, tty: isTerminal(w), every: every, now: time.Now}
	p.start, p.drawn = p.now(), p.now()
	if p.tty {
		p.every = 200 * time.Millisecond
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("files"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(p.every),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionSetWidth(24),
		)
	}
	return p
}

// isTerminal reports whether w is a terminal: a character device, unless TERM says
// that it cannot redraw a line.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progress) itemFound(size int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.found++
	if size > 0 {
		p.foundBytes += size
	}
}

func (p *progress) sourceDone() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total = true
	if p.bar != nil {
		p.bar.ChangeMax64(int64(p.found))
	}
}

func (p *progress) itemDone(size int64, failed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if size > 0 {
		p.doneByte += size
	}
	if failed {
		p.failed++
	}
	if p.bar != nil {
		p.bar.Describe(p.extra())
		_ = p.bar.Add(1)
		return
	}
	if p.now().Sub(p.drawn) >= p.every {
		p.draw()
	}
}

// finish draws the final state on a terminal. Elsewhere the summary that follows
// says it.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}

// extra is what the terminal bar's description adds to its counts and rate.
func (p *progress) extra() string {
	var b strings.Builder
	b.WriteString(p.label)
	if p.foundBytes > 0 {
		elapsed := p.now().Sub(p.start).Seconds()
		fmt.Fprintf(&b, " %.1f/%.1f MB", float64(p.doneByte)/1e6, float64(p.foundBytes)/1e6)
		if elapsed > 0 {
			fmt.Fprintf(&b, " %.1f MB/s", float64(p.doneByte)/elapsed/1e6)
		}
	}
	if p.failed > 0 {
		fmt.Fprintf(&b, " %d failed", p.failed)
	}
	return b.String()
}

// line is the progress as text.
func (p *progress) line() string {
	elapsed := p.now().Sub(p.start).Seconds()
	var b strings.Builder
	total := fmt.Sprint(p.found)
	if !p.total {
		total += "+"
	}
	fmt.Fprintf(&b, "%s %d/%s", p.label, p.done, total)
	if p.foundBytes > 0 {
		fmt.Fprintf(&b, ", %.1f MB/%.1f MB", float64(p.doneByte)/1e6, float64(p.foundBytes)/1e6)
	}
	if elapsed > 0 && p.done > 0 {
		rate := float64(p.done) / elapsed
		fmt.Fprintf(&b, ", %.1f files/s", rate)
		if p.foundBytes > 0 {
			fmt.Fprintf(&b, ", %.1f MB/s", float64(p.doneByte)/elapsed/1e6)
		}
		if p.total && p.done < p.found {
			eta := time.Duration(float64(p.found-p.done) / rate * float64(time.Second))
			fmt.Fprintf(&b, ", ETA %s", eta.Round(time.Second))
		}
	}
	if p.failed > 0 {
		fmt.Fprintf(&b, ", %d failed", p.failed)
	}
	return b.String()
}

func (p *progress) draw() {
	p.drawn = p.now()
	fmt.Fprintln(p.w, p.line())
}
