package emulator

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// postFaults sends a raw fault script body.
func (e *testEmulator) postFaults(t testing.TB, body string) response {
	t.Helper()
	return e.do(t, http.MethodPost, "/_emulator/faults", "", strings.NewReader(body), "application/json")
}

// pendingFaults is the pending list of GET /_emulator/faults.
func (e *testEmulator) pendingFaults(t testing.TB) []any {
	t.Helper()
	r := e.do(t, http.MethodGet, "/_emulator/faults", "", nil, "")
	wantOK(t, r)
	p, ok := r.Body["pending"].([]any)
	if !ok {
		t.Fatalf("pending is %T in %s", r.Body["pending"], r.Raw)
	}
	return p
}

func smallUpload(t testing.TB, e *testEmulator) response {
	t.Helper()
	return e.upload(t, filePart("f.png", pngImage(t, 3, 3, false)), field("fileName", "f.png"))
}

func TestFaultScripts(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)

	r := e.postFaults(t, `{"status":500,"count":2}`)
	wantOK(t, r)
	if want := []any{map[string]any{"status": 500.0, "count": 2.0}}; !reflect.DeepEqual(r.Body["pending"], want) {
		t.Fatalf("POST answered pending %v, want %v", r.Body["pending"], want)
	}
	if got := e.pendingFaults(t); len(got) != 1 {
		t.Fatalf("GET pending %v, want the one script", got)
	}
	wantError(t, smallUpload(t, e), 500, msgServerError)
	if got, want := e.pendingFaults(t), []any{map[string]any{"status": 500.0, "count": 1.0}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("pending after one upload %v, want %v", got, want)
	}
	wantError(t, smallUpload(t, e), 500, msgServerError)
	wantOK(t, smallUpload(t, e))
	if got := e.pendingFaults(t); len(got) != 0 {
		t.Fatalf("pending %v after the scripts ran out", got)
	}

	// Several scripts in one POST run in order; a message can be given.
	wantOK(t, e.postFaults(t, `[{"status":503},{"status":401,"count":2},{"status":502,"message":"Bad gateway."}]`))
	wantError(t, smallUpload(t, e), 503, msgServiceDown)
	wantError(t, smallUpload(t, e), 401, msgNoPrivateKey)
	wantError(t, smallUpload(t, e), 401, msgNoPrivateKey)
	wantError(t, smallUpload(t, e), 502, "Bad gateway.")
	wantOK(t, smallUpload(t, e))

	// A fault applies to v2 uploads as well, before authentication.
	wantOK(t, e.postFaults(t, `{"status":504}`))
	wantError(t, e.uploadAs(t, 2, "", filePart("f.png", pngImage(t, 3, 3, false)), field("fileName", "f.png")), 504, msgServerError)

	// A delay holds the answer; only the outcome is checked.
	wantOK(t, e.postFaults(t, `{"status":500,"delay":"30ms"}`))
	if got, want := e.pendingFaults(t), []any{map[string]any{"status": 500.0, "count": 1.0, "delay": "30ms"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("pending %v, want %v", got, want)
	}
	wantError(t, smallUpload(t, e), 500, msgServerError)

	// DELETE clears everything queued.
	wantOK(t, e.postFaults(t, `[{"status":500,"count":5},{"status":429}]`))
	if got := e.pendingFaults(t); len(got) != 2 {
		t.Fatalf("pending %v, want 2 scripts", got)
	}
	if r := e.do(t, http.MethodDelete, "/_emulator/faults", "", nil, ""); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.Status, r.Raw)
	}
	if got := e.pendingFaults(t); len(got) != 0 {
		t.Fatalf("pending %v after DELETE", got)
	}
	wantOK(t, smallUpload(t, e))

	st := e.srv.Stats()
	wantFaults := map[string]int64{"500": 3, "503": 1, "401": 2, "502": 1, "504": 1}
	if !reflect.DeepEqual(st.Faults, wantFaults) || st.Uploads != 3 || st.Rejected != 8 {
		t.Fatalf("stats %+v, want faults %v, 3 uploads, 8 rejected", st, wantFaults)
	}
}

func TestFaultRateLimitHeaders(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		reset                   time.Duration
		wantReset, wantInterval string
	}{
		{0, "1000", "1000"}, // the default reset of 1s
		{2500 * time.Millisecond, "2500", "2500"},
		{200 * time.Millisecond, "200", "1000"},
	} {
		e := newTestEmulator(t, func(cfg *Config) { cfg.Faults.RateLimitReset = c.reset })
		wantOK(t, e.postFaults(t, `{"status":429}`))
		r := smallUpload(t, e)
		wantError(t, r, 429, msgTooManyRequests)
		for h, want := range map[string]string{
			"X-RateLimit-Limit": "100", "X-RateLimit-Reset": c.wantReset, "X-RateLimit-Interval": c.wantInterval,
		} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("reset %v: %s = %q, want %q", c.reset, h, got, want)
			}
		}
		// Other faults carry no rate limit headers.
		wantOK(t, e.postFaults(t, `{"status":500}`))
		if r := smallUpload(t, e); r.Header.Get("X-RateLimit-Reset") != "" {
			t.Errorf("a 500 carries X-RateLimit-Reset %q", r.Header.Get("X-RateLimit-Reset"))
		}
	}
}

func TestFaultScriptValidation(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	cases := []struct{ body, message string }{
		{`{"status":200,"count":1}`, "Your request contains invalid value for status parameter. A fault's status must be from 400 to 599."},
		{`{"status":600}`, "Your request contains invalid value for status parameter. A fault's status must be from 400 to 599."},
		{`{"count":2}`, "Your request contains invalid value for status parameter. A fault's status must be from 400 to 599."},
		{`{"status":500,"count":-1}`, "Your request contains invalid value for count parameter. A fault's count must be positive."},
		{`{"status":500,"delay":"soon"}`, "Your request contains invalid value for delay parameter. A fault's delay is a duration like 500ms or 2s."},
		{`{"status":500,"delay":"-1s"}`, "Your request contains invalid value for delay parameter. A fault's delay is a duration like 500ms or 2s."},
		// One bad script in a list: none of the list is queued.
		{`[{"status":500,"count":3},{"status":200}]`, "Your request contains invalid value for status parameter. A fault's status must be from 400 to 599."},
	}
	for _, c := range cases {
		wantError(t, e.postFaults(t, c.body), http.StatusBadRequest, c.message)
		if got := e.pendingFaults(t); len(got) != 0 {
			t.Fatalf("after %s: pending %v, want nothing queued", c.body, got)
		}
	}
	for _, body := range []string{`{"status":500`, `status=500`, `[{"status":"500"}]`, ``} {
		r := e.postFaults(t, body)
		if r.Status != http.StatusBadRequest || !strings.HasPrefix(r.str("message"), `The fault script must be JSON like {"status": 500, "count": 2}`) {
			t.Fatalf("POST %q = %d %s, want 400 about JSON", body, r.Status, r.Raw)
		}
		if got := e.pendingFaults(t); len(got) != 0 {
			t.Fatalf("after %q: pending %v, want nothing queued", body, got)
		}
	}
	wantOK(t, smallUpload(t, e))
}

// randomFaultRun uploads n files to a fresh emulator with the given fault rates and
// returns the answers' status counts and the emulator's stats.
func randomFaultRun(t *testing.T, n int, content []byte) (map[int]int, Stats) {
	t.Helper()
	e := newTestEmulator(t, func(c *Config) {
		c.Faults = FaultConfig{ErrorRate: 0.3, RateLimitRate: 0.2, Seed: 7}
	})
	counts := map[int]int{}
	for range n {
		r := e.upload(t, filePart("r.png", content), field("fileName", "r.png"))
		counts[r.Status]++
		switch r.Status {
		case 200:
		case 429:
			wantError(t, r, 429, msgTooManyRequests)
			if r.Header.Get("X-RateLimit-Reset") != "1000" {
				t.Fatalf("429 without X-RateLimit-Reset: %v", r.Header)
			}
		case 500:
			wantError(t, r, 500, msgServerError)
		case 503:
			wantError(t, r, 503, msgServiceDown)
		default:
			t.Fatalf("unexpected status %d: %s", r.Status, r.Raw)
		}
	}
	// The stats endpoint reports the same as Stats().
	r := e.do(t, http.MethodGet, "/_emulator/stats", "", nil, "")
	wantOK(t, r)
	st := e.srv.Stats()
	faults := map[string]any{}
	for k, v := range st.Faults {
		faults[k] = float64(v)
	}
	if !reflect.DeepEqual(r.Body["faults"], faults) || r.Body["uploads"] != float64(st.Uploads) || r.Body["bytes"] != float64(st.Bytes) {
		t.Fatalf("/_emulator/stats %s disagrees with Stats() %+v", r.Raw, st)
	}
	return counts, st
}

func TestFaultRandomRates(t *testing.T) {
	t.Parallel()
	const n = 200
	content := pngImage(t, 5, 5, false)
	counts, st := randomFaultRun(t, n, content)
	t.Logf("seed 7, %d uploads: %v", n, counts)

	serverErrors := counts[500] + counts[503]
	if serverErrors < 60-25 || serverErrors > 60+25 {
		t.Fatalf("%d server errors (500: %d, 503: %d) in %d uploads, want about 60", serverErrors, counts[500], counts[503], n)
	}
	if counts[500] == 0 || counts[503] == 0 {
		t.Fatalf("server errors are all one status: %v", counts)
	}
	if counts[429] < 40-20 || counts[429] > 40+20 {
		t.Fatalf("%d rate limited in %d uploads, want about 40", counts[429], n)
	}
	if counts[200]+serverErrors+counts[429] != n {
		t.Fatalf("counts %v do not add up to %d", counts, n)
	}

	wantFaults := map[string]int64{"500": int64(counts[500]), "503": int64(counts[503]), "429": int64(counts[429])}
	if !reflect.DeepEqual(st.Faults, wantFaults) {
		t.Fatalf("stats faults %v, want %v", st.Faults, wantFaults)
	}
	if st.Uploads != int64(counts[200]) || st.Bytes != int64(counts[200]*len(content)) || st.Files != counts[200] {
		t.Fatalf("stats %+v, want %d uploads of %d bytes each", st, counts[200], len(content))
	}
	if st.Rejected != int64(n-counts[200]) {
		t.Fatalf("stats rejected %d, want %d", st.Rejected, n-counts[200])
	}

	// The same seed gives the same sequence.
	again, _ := randomFaultRun(t, n, content)
	if !reflect.DeepEqual(again, counts) {
		t.Fatalf("seed 7 gave %v, then %v", counts, again)
	}
}

func TestFaultLatency(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, func(c *Config) {
		c.Faults.Latency = 15 * time.Millisecond
		c.Faults.LatencyJitter = 5 * time.Millisecond
	})
	wantOK(t, smallUpload(t, e))
	r := e.do(t, http.MethodGet, "/_emulator/faults", "", nil, "")
	wantOK(t, r)
	want := map[string]any{"pending": []any{}, "latency": "15ms", "latencyJitter": "5ms", "errorRate": 0.0, "rateLimitRate": 0.0}
	if !reflect.DeepEqual(r.Body, want) {
		t.Fatalf("GET /_emulator/faults = %v, want %v", r.Body, want)
	}
	if st := e.srv.Stats(); st.Uploads != 1 || len(st.Faults) != 0 {
		t.Fatalf("stats %+v", st)
	}
}
