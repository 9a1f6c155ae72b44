package kubernetes

import (
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// selected returns the pods of b whose template labels match the selector.
func selected(t *testing.T, b *build, sel labels.Selector) []pod {
	t.Helper()
	var out []pod
	for _, p := range pods(t) {
		if p.b == b && sel.Matches(labels.Set(p.d.Spec.Template.Labels)) {
			out = append(out, p)
		}
	}
	return out
}

// TestServicesReachPods: a Service selects the pods of exactly one Deployment of its
// build, and each of its target ports is a port those pods declare.
func TestServicesReachPods(t *testing.T) {
	t.Parallel()
	for _, b := range builds(t) {
		for _, s := range b.services {
			if len(s.Spec.Selector) == 0 {
				t.Errorf("%s: Service %s selects nothing", b.dir, s.Name)
				continue
			}
			ps := selected(t, b, labels.SelectorFromSet(s.Spec.Selector))
			if len(ps) != 1 {
				t.Errorf("%s: Service %s selects the pods of %d Deployments, want 1", b.dir, s.Name, len(ps))
				continue
			}
			for _, sp := range s.Spec.Ports {
				target := sp.TargetPort
				if target.IntVal == 0 && target.StrVal == "" {
					target.IntVal = sp.Port // the default
				}
				if _, ok := containerPort(ps[0].c, target); !ok {
					t.Errorf("%s: Service %s port %s targets %s, which %s does not declare", b.dir, s.Name, sp.Name, target.String(), ps[0])
				}
			}
		}
	}
}

// TestDisruptionBudgetsCoverPods: every Deployment has one PodDisruptionBudget, which
// selects its pods only and lets at least one pod go (a budget that allows none
// blocks node drains).
func TestDisruptionBudgetsCoverPods(t *testing.T) {
	t.Parallel()
	for _, b := range builds(t) {
		covered := map[string]int{}
		for _, pdb := range b.pdbs {
			sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
			if err != nil || sel.Empty() {
				t.Errorf("%s: PodDisruptionBudget %s: selector %v: %v", b.dir, pdb.Name, pdb.Spec.Selector, err)
				continue
			}
			ps := selected(t, b, sel)
			if len(ps) != 1 {
				t.Errorf("%s: PodDisruptionBudget %s selects the pods of %d Deployments, want 1", b.dir, pdb.Name, len(ps))
				continue
			}
			covered[ps[0].d.Name]++
			mu := pdb.Spec.MaxUnavailable
			if pdb.Spec.MinAvailable != nil || mu == nil || (mu.IntVal < 1 && mu.StrVal == "") {
				t.Errorf("%s: PodDisruptionBudget %s: use maxUnavailable of at least 1: minAvailable blocks a drain when that many pods are all there are", b.dir, pdb.Name)
			}
		}
		for _, d := range b.deployments {
			if covered[d.Name] != 1 {
				t.Errorf("%s: Deployment %s is covered by %d PodDisruptionBudgets, want 1", b.dir, d.Name, covered[d.Name])
			}
		}
	}
}

// secretExample decodes secret.example.yaml strictly.
func secretExample(t *testing.T) *corev1.Secret {
	t.Helper()
	data, err := os.ReadFile("secret.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	obj, err := decodeStrictYAML(data)
	if err != nil {
		t.Fatalf("secret.example.yaml: %v", err)
	}
	s, ok := obj.(*corev1.Secret)
	if !ok {
		t.Fatalf("secret.example.yaml holds a %T, want a Secret", obj)
	}
	return s
}

// placesNotSecrets are the example's keys that name where Redis is, not a credential.
var placesNotSecrets = map[string]bool{"redis-address": true, "redis-sentinel-master": true}

// TestSecretExample: the Secret the manifests read is in secret.example.yaml, in
// their namespace, with placeholders only; each of its keys is read by a pod (as the
// ikq setting of the same name) or by KEDA's TriggerAuthentication; and the Secret
// itself is in no build, so an apply never overwrites the real one.
func TestSecretExample(t *testing.T) {
	t.Parallel()
	s := secretExample(t)
	if s.Namespace != namespace {
		t.Errorf("secret.example.yaml: namespace %q, want %q", s.Namespace, namespace)
	}
	if len(s.Data) > 0 {
		t.Error("secret.example.yaml: write the values as stringData, readable")
	}
	for k, v := range s.StringData {
		if !placesNotSecrets[k] && v != "" && !strings.Contains(v, "REPLACE-ME") {
			t.Errorf("secret.example.yaml: %s holds a value; an example holds placeholders (REPLACE-ME) or nothing", k)
		}
	}
	read := map[string]bool{}
	for _, p := range pods(t) {
		for _, e := range p.c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				read[e.ValueFrom.SecretKeyRef.Key] = true
			}
		}
	}
	for _, b := range builds(t) {
		for _, ta := range b.triggerAuths {
			for _, ref := range ta.Spec.SecretTargetRef {
				read[ref.Key] = true
			}
		}
		for _, bs := range b.secrets {
			if bs.Name == s.Name {
				t.Errorf("%s holds Secret %s: an apply would overwrite the real one", b.dir, bs.Name)
			}
		}
	}
	for k := range s.StringData {
		if !read[k] {
			t.Errorf("secret.example.yaml: nothing reads %s", k)
		}
	}
}
