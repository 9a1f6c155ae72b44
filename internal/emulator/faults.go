package emulator

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// faultScript makes the next Count uploads answer Status.
type faultScript struct {
	Status  int    `json:"status"`
	Count   int    `json:"count"`
	Message string `json:"message,omitempty"`
	// Delay holds each of those uploads this long before answering, e.g. "2s".
	Delay string `json:"delay,omitempty"`
	delay time.Duration
}

// faults decides which uploads fail: scripted ones first, then random ones at the
// configured rates.
type faults struct {
	cfg FaultConfig
	mu  sync.Mutex
	rng *rand.Rand
	q   []faultScript
}

func newFaults(cfg FaultConfig, now func() time.Time) *faults {
	seed := cfg.Seed
	if seed == 0 {
		seed = uint64(now().UnixNano())
	}
	return &faults{cfg: cfg, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} //nolint:gosec // G404: seeded on purpose, so that a fault script replays the same way
}

// next returns the fault for this upload, if any, and the latency to add.
func (f *faults) next() (*apiError, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	latency := f.cfg.Latency
	if f.cfg.LatencyJitter > 0 {
		latency += time.Duration(f.rng.Int64N(int64(f.cfg.LatencyJitter)))
	}
	if len(f.q) > 0 {
		s := &f.q[0]
		s.Count--
		e := f.errorFor(s.Status, s.Message)
		latency += s.delay
		if s.Count <= 0 {
			f.q = f.q[1:]
		}
		return e, latency
	}
	x := f.rng.Float64()
	switch {
	case x < f.cfg.ErrorRate:
		status := http.StatusInternalServerError
		if f.rng.IntN(2) == 1 {
			status = http.StatusServiceUnavailable
		}
		return f.errorFor(status, ""), latency
	case x < f.cfg.ErrorRate+f.cfg.RateLimitRate:
		return f.errorFor(http.StatusTooManyRequests, ""), latency
	}
	return nil, latency
}

func (f *faults) errorFor(status int, msg string) *apiError {
	if msg == "" {
		switch {
		case status == http.StatusTooManyRequests:
			msg = msgTooManyRequests
		case status == http.StatusServiceUnavailable:
			msg = msgServiceDown
		case status >= 500:
			msg = msgServerError
		case status == http.StatusUnauthorized:
			msg = msgNoPrivateKey
		default:
			msg = "Your request could not be processed."
		}
	}
	e := &apiError{Status: status, Message: msg, Help: helpText}
	if status == http.StatusTooManyRequests {
		reset := f.cfg.RateLimitReset.Milliseconds()
		e.header = http.Header{
			"X-Ratelimit-Limit":    {"100"},
			"X-Ratelimit-Reset":    {strconv.FormatInt(reset, 10)},
			"X-Ratelimit-Interval": {strconv.FormatInt(max(reset, 1000), 10)},
		}
	}
	return e
}

// handleAddFaults serves POST /_emulator/faults: {"status": 500, "count": 2}, or a list of them.
func (s *Server) handleAddFaults(w http.ResponseWriter, r *http.Request) {
	body, err := readField(r.Body, 64<<10)
	if err != nil {
		writeError(w, badRequest("The fault script is too long."))
		return
	}
	var scripts []faultScript
	if len(body) > 0 && body[0] == '[' {
		err = json.Unmarshal([]byte(body), &scripts)
	} else {
		var one faultScript
		err = json.Unmarshal([]byte(body), &one)
		scripts = []faultScript{one}
	}
	if err != nil {
		writeError(w, badRequest("The fault script must be JSON like {\"status\": 500, \"count\": 2}: "+err.Error()))
		return
	}
	for i := range scripts {
		sc := &scripts[i]
		if sc.Status < 400 || sc.Status > 599 {
			writeError(w, invalidParam("status", "A fault's status must be from 400 to 599."))
			return
		}
		if sc.Count == 0 {
			sc.Count = 1
		}
		if sc.Count < 0 {
			writeError(w, invalidParam("count", "A fault's count must be positive."))
			return
		}
		if sc.Delay != "" {
			if sc.delay, err = time.ParseDuration(sc.Delay); err != nil || sc.delay < 0 {
				writeError(w, invalidParam("delay", "A fault's delay is a duration like 500ms or 2s."))
				return
			}
		}
	}
	s.faults.mu.Lock()
	s.faults.q = append(s.faults.q, scripts...)
	pending := append([]faultScript(nil), s.faults.q...)
	s.faults.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"pending": pending})
}

func (s *Server) handleGetFaults(w http.ResponseWriter, _ *http.Request) {
	s.faults.mu.Lock()
	pending := append([]faultScript{}, s.faults.q...)
	s.faults.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"pending":       pending,
		"latency":       s.cfg.Faults.Latency.String(),
		"latencyJitter": s.cfg.Faults.LatencyJitter.String(),
		"errorRate":     s.cfg.Faults.ErrorRate,
		"rateLimitRate": s.cfg.Faults.RateLimitRate,
	})
}

func (s *Server) handleClearFaults(w http.ResponseWriter, _ *http.Request) {
	s.faults.mu.Lock()
	s.faults.q = nil
	s.faults.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// stats counts what the emulator served.
type stats struct {
	uploads       atomic.Int64
	bytes         atomic.Int64
	rejected      atomic.Int64
	webhooksOK    atomic.Int64
	webhooksRetry atomic.Int64
	webhooksLost  atomic.Int64
	mu            sync.Mutex
	faults        map[int]int64
}

func (st *stats) fault(status int) {
	st.mu.Lock()
	if st.faults == nil {
		st.faults = map[int]int64{}
	}
	st.faults[status]++
	st.mu.Unlock()
}

// Stats is what GET /_emulator/stats reports.
type Stats struct {
	Uploads  int64            `json:"uploads"`
	Bytes    int64            `json:"bytes"`
	Rejected int64            `json:"rejected"`
	Faults   map[string]int64 `json:"faults"`
	Webhooks WebhookStats     `json:"webhooks"`
	Files    int              `json:"files"`
}

// WebhookStats counts webhook deliveries.
type WebhookStats struct {
	Delivered int64 `json:"delivered"`
	Retried   int64 `json:"retried"`
	GaveUp    int64 `json:"gaveUp"`
}

// Stats returns the counters of GET /_emulator/stats.
func (s *Server) Stats() Stats {
	out := Stats{
		Uploads:  s.stats.uploads.Load(),
		Bytes:    s.stats.bytes.Load(),
		Rejected: s.stats.rejected.Load(),
		Faults:   map[string]int64{},
		Webhooks: WebhookStats{
			Delivered: s.stats.webhooksOK.Load(),
			Retried:   s.stats.webhooksRetry.Load(),
			GaveUp:    s.stats.webhooksLost.Load(),
		},
		Files: s.store.count(),
	}
	s.stats.mu.Lock()
	for k, v := range s.stats.faults {
		out.Faults[strconv.Itoa(k)] = v
	}
	s.stats.mu.Unlock()
	return out
}

func (s *Server) handleStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}
