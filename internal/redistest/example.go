package redistest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Example gives a runnable example (which has no *testing.T) an isolated Redis
// database, as New gives a test; release closes the client and frees the database.
// A failure to set it up panics: the example fails with the message.
func Example() (rdb *redis.Client, release func()) {
	t := &exampleTB{}
	rdb = New(t).Client(t)
	return rdb, t.cleanup
}

// exampleTB is the part of testing.TB that New and Client use. The embedded nil
// interface only satisfies testing.TB's unexported method; any other method panics.
type exampleTB struct {
	testing.TB
	cleanups []func()
}

func (*exampleTB) Helper()                   {}
func (*exampleTB) Name() string              { return "example" }
func (*exampleTB) Logf(string, ...any)       {}
func (*exampleTB) Context() context.Context  { return context.Background() }
func (t *exampleTB) Cleanup(f func())        { t.cleanups = append(t.cleanups, f) }
func (*exampleTB) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
func (*exampleTB) Fatal(a ...any)            { panic(fmt.Sprint(a...)) }
func (*exampleTB) Errorf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
func (*exampleTB) Skip(a ...any)             { panic(fmt.Sprint(a...)) }

func (t *exampleTB) cleanup() {
	for _, f := range slices.Backward(t.cleanups) {
		f()
	}
}
