package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/tasks"
)

// EmuDo sends a request to the emulator with the private key, and decodes a 2xx
// JSON answer into out (if not nil); any other answer fails the test.
func (s *Stack) EmuDo(method, path, body string, out any) {
	s.T.Helper()
	EmulatorDo(s.T, s.EmuURL, s.PrivateKey, method, path, body, out)
}

// EmulatorDo is EmuDo for an emulator at base (a server or an `ikq emulator`
// process); key, when not empty, is sent as the basic-auth user.
func EmulatorDo(t testing.TB, base, key, method, path, body string, out any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below: nothing is lost
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decoding %.200s: %v", method, path, b, err)
		}
	}
}

// Fault scripts the emulator's next uploads: {"status":500,"count":2} or a list.
func (s *Stack) Fault(script string) { s.EmuDo(http.MethodPost, "/_emulator/faults", script, nil) }

// Stats is GET /_emulator/stats.
func (s *Stack) Stats() emulator.Stats {
	var st emulator.Stats
	s.EmuDo(http.MethodGet, "/_emulator/stats", "", &st)
	return st
}

// RecordText is the job's record as indented JSON, for failure messages.
func RecordText(j *tasks.Job) string {
	if j == nil {
		return "(none)"
	}
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Sprintf("%+v", j)
	}
	return string(b)
}
