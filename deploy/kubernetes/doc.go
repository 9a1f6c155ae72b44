// Package kubernetes holds the tests of ikq's Kubernetes manifests, the kustomize
// tree beside this file: base/ (the API and worker Deployments, the API Service,
// PodDisruptionBudgets, the settings ConfigMap), components/ (KEDA or an HPA scaling
// the workers; KEDA on Redis Cluster or Sentinel) and overlays/ (what to apply).
//
// The tests build every kustomization with kustomize's own library, decode every
// object it yields strictly into the upstream Go types (Kubernetes' and KEDA's), so
// that a misspelt or misplaced field fails, and then check what ties the objects to
// each other and to ikq: selectors, ports, probes, the shutdown grace, the setting
// names (README.md's configuration table, which cmd/ikq's tests hold to the code),
// the Secret's keys and the autoscalers' queues and targets.
//
// It is a module of its own so that ikq's module does not depend on Kubernetes'
// and KEDA's: `make test` and `make lint` run it with the rest.
package kubernetes
