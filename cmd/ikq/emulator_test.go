package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/ikqtest"
)

// startEmulator runs `ikq emulator` on a free loopback port and returns its base URL.
func startEmulator(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &ikqtest.LockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"emulator", "--listen", "127.0.0.1:0"}, args...), &bytes.Buffer{}, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("ikq emulator exited %d: %s", code, stderr.String())
		}
	})
	addr := regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := addr.FindStringSubmatch(stderr.String()); m != nil {
			return "http://" + m[1]
		}
	}
	t.Fatalf("ikq emulator printed no address: %s", stderr.String())
	return ""
}

// TestReadmeEmulatorExamples runs the README's curl examples against `ikq emulator`,
// as a new user would, with only the host changed.
func TestReadmeEmulatorExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "Every curl example of ImageKit's Upload API documentation works")
	if !ok {
		t.Fatal("README has no emulator examples section")
	}
	_, block, _ := strings.Cut(rest, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	// As the README runs it: URL sources on this machine allowed.
	base := startEmulator(t, "--private-key", "private_test", "--fetch-allow", "127.0.0.0/8,::1")
	script := strings.ReplaceAll(block, "http://127.0.0.1:9090", base)

	// Each curl fails the script on an HTTP error and prints one JSON document per line.
	cmd := exec.Command("bash", "-euo", "pipefail", "-c",
		`curl() { command curl -sS --fail-with-body "$@"; echo; }`+"\n"+script)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README examples failed: %v\n%s", err, out)
	}
	var uploads, fields int
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue // curl -o writes nothing
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		switch {
		case doc["fileId"] != nil:
			uploads++
		case doc["schema"] != nil:
			fields++
		default:
			t.Errorf("unexpected answer %s", line)
		}
	}
	if uploads != 6 || fields != 2 {
		t.Fatalf("%d uploads and %d fields answered, want 6 and 2:\n%s", uploads, fields, out)
	}
}

func TestEmulatorFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"emulator", "--error-rate", "2"},
		{"emulator", "--max-file-size", "lots"},
		{"emulator", "--private-key", ""},
		{"emulator", "--no-such-flag"},
		{"emulator", "extra-argument"},
		{"no-such-command"},
	} {
		var stderr bytes.Buffer
		if code := run(context.Background(), args, &bytes.Buffer{}, &stderr); code != 2 {
			t.Errorf("ikq %v exited %d, want 2 (bad usage); stderr: %s", args, code, stderr.String())
		}
	}
}
