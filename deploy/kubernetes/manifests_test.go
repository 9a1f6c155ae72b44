package kubernetes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// namespace is where every object goes (base/kustomization.yaml).
const namespace = "ikq"

// kinds are the objects the manifests may hold, by apiVersion and kind, each with
// the upstream type it must decode into. Anything else is an error: add its type here
// first.
var kinds = map[string]func() any{
	"apps/v1 Deployment":                     func() any { return new(appsv1.Deployment) },
	"v1 Service":                             func() any { return new(corev1.Service) },
	"v1 ConfigMap":                           func() any { return new(corev1.ConfigMap) },
	"v1 Secret":                              func() any { return new(corev1.Secret) },
	"policy/v1 PodDisruptionBudget":          func() any { return new(policyv1.PodDisruptionBudget) },
	"autoscaling/v2 HorizontalPodAutoscaler": func() any { return new(autoscalingv2.HorizontalPodAutoscaler) },
	"keda.sh/v1alpha1 ScaledObject":          func() any { return new(kedav1alpha1.ScaledObject) },
	"keda.sh/v1alpha1 TriggerAuthentication": func() any { return new(kedav1alpha1.TriggerAuthentication) },
}

// decodeStrict decodes one object, as JSON, into its upstream type: field names
// match case-sensitively, and an unknown or repeated field is an error, as the API
// server's strict field validation has it.
func decodeStrict(data []byte) (any, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(data, &head); err != nil {
		return nil, err
	}
	newObj, ok := kinds[head.APIVersion+" "+head.Kind]
	if !ok {
		return nil, fmt.Errorf("apiVersion %q kind %q: not a kind these manifests use (add its Go type to kinds)", head.APIVersion, head.Kind)
	}
	obj := newObj()
	strict, err := sigsjson.UnmarshalStrict(data, obj, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", head.APIVersion, head.Kind, err)
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("%s %s: %w", head.APIVersion, head.Kind, errors.Join(strict...))
	}
	return obj, nil
}

// decodeStrictYAML is decodeStrict for one YAML document.
func decodeStrictYAML(data []byte) (any, error) {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, err
	}
	return decodeStrict(j)
}

// build is what one kustomization yields, decoded.
type build struct {
	dir           string // relative to this directory, e.g. overlays/keda
	deployments   []*appsv1.Deployment
	services      []*corev1.Service
	configMaps    []*corev1.ConfigMap
	secrets       []*corev1.Secret
	pdbs          []*policyv1.PodDisruptionBudget
	hpas          []*autoscalingv2.HorizontalPodAutoscaler
	scaledObjects []*kedav1alpha1.ScaledObject
	triggerAuths  []*kedav1alpha1.TriggerAuthentication
	all           []object // every object, of any kind
}

// object is any object of the manifests: its kind and its metadata.
type object interface {
	runtime.Object
	metav1.Object
}

func (b *build) add(obj any) {
	o, ok := obj.(object)
	if !ok {
		panic(fmt.Sprintf("kinds has a type without object metadata: %T", obj))
	}
	b.all = append(b.all, o)
	switch o := obj.(type) {
	case *appsv1.Deployment:
		b.deployments = append(b.deployments, o)
	case *corev1.Service:
		b.services = append(b.services, o)
	case *corev1.ConfigMap:
		b.configMaps = append(b.configMaps, o)
	case *corev1.Secret:
		b.secrets = append(b.secrets, o)
	case *policyv1.PodDisruptionBudget:
		b.pdbs = append(b.pdbs, o)
	case *autoscalingv2.HorizontalPodAutoscaler:
		b.hpas = append(b.hpas, o)
	case *kedav1alpha1.ScaledObject:
		b.scaledObjects = append(b.scaledObjects, o)
	case *kedav1alpha1.TriggerAuthentication:
		b.triggerAuths = append(b.triggerAuths, o)
	default:
		panic(fmt.Sprintf("kinds has a type build.add does not keep: %T", obj))
	}
}

func (b *build) deployment(name string) *appsv1.Deployment {
	for _, d := range b.deployments {
		if d.Name == name {
			return d
		}
	}
	return nil
}

func (b *build) configMap(name string) *corev1.ConfigMap {
	for _, c := range b.configMaps {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// kustomization is one kustomization.yaml of the tree.
type kustomization struct {
	dir        string   // relative, slash-separated
	Kind       string   `json:"kind"`
	Components []string `json:"components"`
}

// kustomizations reads every kustomization.yaml under this directory.
func kustomizations() ([]kustomization, error) {
	var out []kustomization
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() != "kustomization.yaml" {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		k := kustomization{dir: filepath.ToSlash(filepath.Dir(path))}
		// Only the fields above matter here; kustomize itself checks the rest.
		if err := yaml.Unmarshal(data, &k); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, k)
		return nil
	})
	return out, err
}

// built holds every kustomization that is not a component, built and decoded once
// for all the tests.
var built = sync.OnceValues(func() ([]*build, error) {
	ks, err := kustomizations()
	if err != nil {
		return nil, err
	}
	kz := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	fsys := filesys.MakeFsOnDisk()
	var builds []*build
	var errs []error
	for _, k := range ks {
		if k.Kind == "Component" {
			continue
		}
		abs, err := filepath.Abs(k.dir)
		if err != nil {
			return nil, err
		}
		m, err := kz.Run(fsys, abs)
		if err != nil {
			errs = append(errs, fmt.Errorf("kustomize build %s: %w", k.dir, err))
			continue
		}
		b := &build{dir: k.dir}
		for _, r := range m.Resources() {
			data, err := r.MarshalJSON()
			if err == nil {
				var obj any
				if obj, err = decodeStrict(data); err == nil {
					b.add(obj)
					continue
				}
			}
			errs = append(errs, fmt.Errorf("%s: %s %q: %w", k.dir, r.GetKind(), r.GetName(), err))
		}
		builds = append(builds, b)
	}
	return builds, errors.Join(errs...)
})

// builds returns every built kustomization, failing the test if one does not build
// or holds an object that does not decode.
func builds(t *testing.T) []*build {
	t.Helper()
	bs, err := built()
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

// TestKustomizationsBuild: every kustomization builds and every object decodes
// strictly (see built); every component is used by an overlay; the overlays are
// there.
func TestKustomizationsBuild(t *testing.T) {
	t.Parallel()
	bs := builds(t)
	ks, err := kustomizations()
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, k := range ks {
		for _, c := range k.Components {
			used[filepath.ToSlash(filepath.Join(k.dir, c))] = true
		}
	}
	for _, k := range ks {
		if k.Kind == "Component" && !used[k.dir] {
			t.Errorf("component %s is used by no kustomization, so no test builds it", k.dir)
		}
	}
	var dirs []string
	for _, b := range bs {
		dirs = append(dirs, b.dir)
		if len(b.deployments) == 0 {
			t.Errorf("%s yields no Deployment", b.dir)
		}
	}
	for _, want := range []string{"base", "overlays/keda", "overlays/hpa", "overlays/keda-redis-cluster", "overlays/keda-redis-sentinel"} {
		if !slices.Contains(dirs, want) {
			t.Errorf("no kustomization %s; built: %v", want, dirs)
		}
	}
}

// TestObjectsLiveInTheNamespace: every object goes to the namespace the Secret
// example names, since pods read only Secrets of their own namespace, and KEDA and
// HPAs scale only Deployments of theirs.
func TestObjectsLiveInTheNamespace(t *testing.T) {
	t.Parallel()
	for _, b := range builds(t) {
		for _, o := range b.all {
			if ns := o.GetNamespace(); ns != namespace {
				t.Errorf("%s: %s %s is in namespace %q, want %q", b.dir, o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), ns, namespace)
			}
		}
	}
}
