package redisproc

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestHelperParent is not a test: TestDiesWithParent runs the test binary with
// REDISPROC_HELPER=1 to get a parent that starts a server, prints its address and waits
// to be killed.
func TestHelperParent(t *testing.T) {
	if os.Getenv("REDISPROC_HELPER") != "1" {
		t.Skip("helper process for TestDiesWithParent")
	}
	p, err := Start(Options{})
	if err != nil {
		fmt.Println("error:", strings.ReplaceAll(err.Error(), "\n", " | "))
		os.Exit(1)
	}
	fmt.Println(p.Addr())
	select {}
}

func TestDiesWithParent(t *testing.T) {
	t.Parallel()
	needServer(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperParent$", "-test.count=1")
	cmd.Env = append(os.Environ(), "REDISPROC_HELPER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	addr := strings.TrimSpace(line)
	if strings.HasPrefix(addr, "error:") {
		t.Fatalf("helper: %s", addr)
	}
	if err := Ping(addr); err != nil {
		t.Fatalf("the helper's server: %v", err)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: the helper cannot Stop anything
		t.Fatal(err)
	}
	_ = cmd.Wait()
	for deadline := time.Now().Add(10 * time.Second); Ping(addr) == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the server on %s still answers 10s after its parent was killed", addr)
		}
	}
}
