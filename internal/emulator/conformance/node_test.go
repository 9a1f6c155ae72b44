package conformance_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// nodeDir holds the Node scripts, package.json and its lockfile.
const nodeDir = "node"

// TestNodeSDKs runs node/*.test.* (imagekit@6 and @imagekit/nodejs@7, pinned in
// node/package-lock.json) with `node --test` against an emulator on loopback. Without
// node or node_modules it skips, saying how to install them; in CI (CI=true) it
// fails instead, so that the suite cannot silently stop running.
func TestNodeSDKs(t *testing.T) {
	t.Parallel()
	missing := func(why string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: CI must run the Node SDK conformance tests", why)
		}
		t.Skipf("%s; run `npm ci --prefix internal/emulator/conformance/node` (make test does) to run the Node SDK conformance tests", why)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	for _, pkg := range []string{"imagekit", "@imagekit/nodejs"} {
		if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", pkg, "package.json")); err != nil {
			missing(pkg + " is not installed in " + nodeDir + "/node_modules")
		}
	}
	scripts, err := filepath.Glob(filepath.Join(nodeDir, "*.test.*"))
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no Node test scripts in %s (%v)", nodeDir, err)
	}

	base, hooks := startEmulator(t, pngBytes(t, 5, 3))
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	// --test-force-exit: a script whose HTTP agents keep sockets open still ends.
	args := []string{"--test", "--test-force-exit", "--test-reporter=spec"}
	for _, s := range scripts {
		args = append(args, filepath.Base(s))
	}
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(),
		"IKQ_CONFORMANCE_URL="+base,
		"IKQ_CONFORMANCE_PRIVATE_KEY="+privateKey,
		"IKQ_CONFORMANCE_PUBLIC_KEY="+publicKey,
		"IKQ_CONFORMANCE_WEBHOOK_SECRET="+webhookSecret,
		"IKQ_CONFORMANCE_EVENTS_URL="+hooks.ts.URL+"/events",
		"IKQ_CONFORMANCE_SOURCE_URL="+hooks.ts.URL+"/sample.png",
		"NO_COLOR=1",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test failed (%v):\n%s", err, out)
	}
	t.Logf("node --test:\n%s", out)
}
