package kubernetes

import (
	"strings"
	"testing"
)

// TestDecodeStrictRefusesTypos: the decoder every manifest goes through refuses the
// mistakes that a lenient one would let through silently.
func TestDecodeStrictRefusesTypos(t *testing.T) {
	t.Parallel()
	const deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n"
	cases := []struct{ name, yaml, want string }{
		{"unknown field", deployment + "spec: {replica: 2}\n", `unknown field "spec.replica"`},
		{"misplaced field", deployment + "spec: {template: {spec: {containers: [{name: c, image: i, terminationGracePeriodSeconds: 45}]}}}\n", "unknown field"},
		{"wrong case", deployment + "spec: {Replicas: 2}\n", "unknown field"},
		{"wrong type", deployment + "spec: {replicas: \"2\"}\n", "cannot unmarshal"},
		{"bad quantity", deployment + "spec: {template: {spec: {containers: [{name: c, resources: {requests: {memory: 128MB}}}]}}}\n", "quantities must match"},
		{"duplicate field", deployment + "spec: {replicas: 2}\nspec: {replicas: 3}\n", "already"},
		{"unknown kind", "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: x}\n", "not a kind"},
		{"KEDA typo", "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: x}\nspec: {scaleTargetRef: {name: w}, minReplicas: 1, triggers: []}\n", `unknown field "spec.minReplicas"`},
		{"PDB typo", "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: x}\nspec: {maxUnavailible: 1}\n", "unknown field"},
	}
	for _, c := range cases {
		_, err := decodeStrictYAML([]byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
	if _, err := decodeStrictYAML([]byte(deployment + "spec: {replicas: 2}\n")); err != nil {
		t.Errorf("a good Deployment: %v", err)
	}
}
