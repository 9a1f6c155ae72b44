package ikqtest

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/ikq-dev/ikq/internal/redistest"
)

// Main runs the package's tests, stops the private redis-server they shared, and
// fails the run when a goroutine the tests started is still running: a worker, a
// server or a client a test forgot to stop. ignore names the goroutines of
// libraries that outlive their users by design, each with its reason at the caller.
func Main(m *testing.M, ignore ...goleak.Option) {
	// Goroutines running before the tests (started by the init functions of
	// libraries) are not the tests'.
	ignore = append(ignore, goleak.IgnoreCurrent(),
		// childproc spawns children from one locked thread that lives as long as the
		// process, by design: a child's parent-death signal follows that thread.
		goleak.IgnoreTopFunction("github.com/ikq-dev/ikq/internal/childproc.Start.func1.1"))
	code := redistest.Run(m)
	if code == 0 {
		// Keep-alive connections of the default client outlive the test servers they
		// reached until their idle timeout: they are the client's, not a leak.
		http.DefaultClient.CloseIdleConnections()
		if err := goleak.Find(ignore...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: goroutines outlived the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
