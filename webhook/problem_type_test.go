package webhook_test

import (
	"testing"

	"github.com/ikq-dev/ikq/internal/problem"
	"github.com/ikq-dev/ikq/webhook"
)

// The receiver's problems share the REST API's type base, so a client switches on one.
func TestProblemTypeBaseIsTheAPIs(t *testing.T) {
	t.Parallel()
	if webhook.ProblemTypeBase != problem.TypeBase {
		t.Errorf("webhook.ProblemTypeBase = %q, want problem.TypeBase %q", webhook.ProblemTypeBase, problem.TypeBase)
	}
}
