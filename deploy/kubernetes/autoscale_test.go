package kubernetes

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// autoscaler is an HPA or a KEDA ScaledObject, reduced to what every one must get right.
type autoscaler struct {
	what     string // for messages
	target   string // the Deployment it scales
	min, max int32
}

func autoscalers(b *build) []autoscaler {
	var out []autoscaler
	for _, h := range b.hpas {
		a := autoscaler{what: "HorizontalPodAutoscaler " + h.Name, target: h.Spec.ScaleTargetRef.Name, min: 1, max: h.Spec.MaxReplicas}
		if h.Spec.MinReplicas != nil {
			a.min = *h.Spec.MinReplicas
		}
		if r := h.Spec.ScaleTargetRef; r.Kind != "Deployment" || r.APIVersion != "apps/v1" {
			a.target = r.APIVersion + " " + r.Kind + " " + r.Name
		}
		out = append(out, a)
	}
	for _, so := range b.scaledObjects {
		a := autoscaler{what: "ScaledObject " + so.Name, max: so.GetHPAMaxReplicas()}
		if r := so.Spec.ScaleTargetRef; r != nil {
			a.target = r.Name
			if (r.Kind != "" && r.Kind != "Deployment") || (r.APIVersion != "" && r.APIVersion != "apps/v1") {
				a.target = r.APIVersion + " " + r.Kind + " " + r.Name
			}
		}
		if so.Spec.MinReplicaCount != nil {
			a.min = *so.Spec.MinReplicaCount
		}
		out = append(out, a)
	}
	return out
}

// TestAutoscalersOwnTheWorkers: an autoscaler scales a Deployment of its build; no
// Deployment has two (KEDA makes an HPA of its own, and two HPAs fight); a scaled
// Deployment states no replica count (each apply would reset the autoscaler's); and
// the minimum is never zero, because only a running worker moves scheduled jobs and
// retries to the queue when they fall due and recovers crashed workers' tasks: with
// none, nothing would ever show in the queue to scale up on.
func TestAutoscalersOwnTheWorkers(t *testing.T) {
	t.Parallel()
	scaledSomewhere := false
	for _, b := range builds(t) {
		by := map[string][]string{}
		for _, a := range autoscalers(b) {
			d := b.deployment(a.target)
			if d == nil {
				t.Errorf("%s: %s scales %q, which is no Deployment of the build", b.dir, a.what, a.target)
				continue
			}
			by[d.Name] = append(by[d.Name], a.what)
			if a.min < 1 {
				t.Errorf("%s: %s: minimum %d; keep at least one worker", b.dir, a.what, a.min)
			}
			if a.max < a.min {
				t.Errorf("%s: %s: maximum %d below the minimum %d", b.dir, a.what, a.max, a.min)
			}
			if d.Spec.Replicas != nil {
				t.Errorf("%s: Deployment %s states replicas: %d, which every apply would reset under %s", b.dir, d.Name, *d.Spec.Replicas, a.what)
			}
		}
		for d, as := range by {
			scaledSomewhere = true
			if len(as) > 1 {
				t.Errorf("%s: Deployment %s has %d autoscalers (%v); pick one", b.dir, d, len(as), as)
			}
		}
		for _, p := range pods(t) {
			if p.b == b && p.role == "worker" && len(by[p.d.Name]) == 0 && p.d.Spec.Replicas == nil {
				t.Errorf("%s: Deployment %s has neither an autoscaler nor a replica count", b.dir, p.d.Name)
			}
		}
	}
	if !scaledSomewhere {
		t.Error("no build scales its workers")
	}
}

// workerOf returns the worker pod a build's autoscaler targets.
func workerOf(t *testing.T, b *build, deployment string) (pod, bool) {
	t.Helper()
	for _, p := range pods(t) {
		if p.b == b && p.d.Name == deployment && p.role == "worker" {
			return p, true
		}
	}
	t.Errorf("%s: the autoscaler's target %q is not a worker Deployment", b.dir, deployment)
	return pod{}, false
}

// KEDA's Redis list scalers (redis, redis-cluster, redis-sentinel), in KEDA v2's
// pkg/scalers/redis_scaler.go: the trigger metadata they read, credentials left out
// (those belong in the TriggerAuthentication), and the parameters a
// TriggerAuthentication may give them.
var (
	redisScalers  = []string{"redis", "redis-cluster", "redis-sentinel"}
	redisMetadata = []string{
		"listName", "listLength", "activationListLength", "databaseIndex", "enableTLS", "unsafeSsl",
		"address", "addresses", "host", "hosts", "port", "ports", "sentinelMaster",
	}
	redisAuthParams = []string{
		"address", "addresses", "host", "hosts", "port", "ports", "username", "password",
		"sentinelUsername", "sentinelPassword", "sentinelMaster", "tls", "ca", "cert", "key", "keyPassword",
	}
)

// asynqList is the name of an asynq list of one queue's tasks: pending (waiting) or
// active (running). asynq's keys are asynq:{QUEUE}:… (hibiken/asynq internal/base).
var asynqList = regexp.MustCompile(`^asynq:\{([a-z0-9_-]+)\}:(pending|active)$`)

// TestKEDAScalesOnTheQueues: KEDA's own validation of the ScaledObject passes (trigger
// names, replica bounds, fallback, the scaling formula); its triggers read the
// pending and active lists of every queue the worker serves (IKQ_QUEUES) and nothing
// else, all through the same scaler, with metadata that scaler reads; the formula
// adds them all up, so that the backlog of three queues counts as their sum, not
// their maximum; its target is the worker's IKQ_CONCURRENCY, one pod per that many
// tasks; and the Redis connection comes from the Secret through a
// TriggerAuthentication of the build.
func TestKEDAScalesOnTheQueues(t *testing.T) {
	t.Parallel()
	example := secretExample(t)
	seen := 0
	for _, b := range builds(t) {
		for _, so := range b.scaledObjects {
			seen++
			where := fmt.Sprintf("%s: ScaledObject %s", b.dir, so.Name)
			checkKEDAValidation(t, where, so)
			if so.Spec.ScaleTargetRef == nil {
				continue
			}
			p, ok := workerOf(t, b, so.Spec.ScaleTargetRef.Name)
			if !ok {
				continue
			}
			served := queues(t, b.setting(t, p.c, "IKQ_QUEUES"))
			lists := map[string]bool{}
			types := map[string]bool{}
			for _, tr := range so.Spec.Triggers {
				types[tr.Type] = true
				if !slices.Contains(redisScalers, tr.Type) {
					t.Errorf("%s: trigger %s: type %q, want one of %v", where, tr.Name, tr.Type, redisScalers)
				}
				for k := range tr.Metadata {
					if !slices.Contains(redisMetadata, k) {
						t.Errorf("%s: trigger %s: KEDA's Redis scaler reads no metadata %q (credentials go in the TriggerAuthentication)", where, tr.Name, k)
					}
				}
				m := asynqList.FindStringSubmatch(tr.Metadata["listName"])
				switch {
				case m == nil:
					t.Errorf("%s: trigger %s: listName %q is not asynq:{QUEUE}:pending or :active", where, tr.Name, tr.Metadata["listName"])
				case !slices.Contains(served, m[1]):
					t.Errorf("%s: trigger %s: queue %q is not one the worker serves (IKQ_QUEUES: %v)", where, tr.Name, m[1], served)
				default:
					lists[tr.Metadata["listName"]] = true
				}
				if so.IsUsingModifiers() && !regexp.MustCompile(`\b`+regexp.QuoteMeta(tr.Name)+`\b`).MatchString(so.Spec.Advanced.ScalingModifiers.Formula) {
					t.Errorf("%s: trigger %q is not in the formula, so it counts for nothing", where, tr.Name)
				}
				checkTriggerAuth(t, where, b, tr, example)
			}
			if len(types) > 1 {
				t.Errorf("%s: triggers of several scalers %v: one Redis, one scaler", where, types)
			}
			for _, q := range served {
				for _, state := range []string{"pending", "active"} {
					if l := "asynq:{" + q + "}:" + state; !lists[l] {
						t.Errorf("%s: no trigger reads %s", where, l)
					}
				}
			}
			if !so.IsUsingModifiers() {
				t.Errorf("%s: without scalingModifiers KEDA scales on the largest list, not on their sum", where)
				continue
			}
			sm := so.Spec.Advanced.ScalingModifiers
			if want := b.setting(t, p.c, "IKQ_CONCURRENCY"); sm.Target != want {
				t.Errorf("%s: scalingModifiers.target %q: want the worker's IKQ_CONCURRENCY, %s, one pod per that many tasks", where, sm.Target, want)
			}
			if sm.MetricType != autoscalingv2.AverageValueMetricType {
				t.Errorf("%s: scalingModifiers.metricType %q: want AverageValue (tasks per pod)", where, sm.MetricType)
			}
		}
	}
	if seen == 0 {
		t.Error("no build holds a ScaledObject")
	}
}

// checkKEDAValidation runs the checks of KEDA's admission webhook that need no
// cluster.
func checkKEDAValidation(t *testing.T, where string, so *kedav1alpha1.ScaledObject) {
	t.Helper()
	so = so.DeepCopy() // the formula check rewrites the formula
	if so.Spec.ScaleTargetRef == nil || so.Spec.ScaleTargetRef.Name == "" {
		t.Errorf("%s: no scaleTargetRef", where)
	}
	if err := kedav1alpha1.ValidateTriggers(so.Spec.Triggers); err != nil {
		t.Errorf("%s: %v", where, err)
	}
	if err := kedav1alpha1.CheckReplicaCountBoundsAreValid(so); err != nil {
		t.Errorf("%s: %v", where, err)
	}
	if err := kedav1alpha1.CheckFallbackValid(so); err != nil {
		t.Errorf("%s: %v", where, err)
	}
	if so.IsUsingModifiers() {
		if _, err := kedav1alpha1.ValidateAndCompileScalingModifiers(so); err != nil {
			t.Errorf("%s: %v", where, err)
		}
	}
}

// checkTriggerAuth: the trigger's TriggerAuthentication is in the build and gives
// Redis scaler parameters from keys of the Secret; a Sentinel scaler gets the
// master's name, the others none.
func checkTriggerAuth(t *testing.T, where string, b *build, tr kedav1alpha1.ScaleTriggers, secret *corev1.Secret) {
	t.Helper()
	ref := tr.AuthenticationRef
	if ref == nil {
		t.Errorf("%s: trigger %s has no authenticationRef: Redis's address and password come from the Secret", where, tr.Name)
		return
	}
	if ref.Kind != "" && ref.Kind != "TriggerAuthentication" {
		t.Errorf("%s: trigger %s: authenticationRef kind %q, want TriggerAuthentication", where, tr.Name, ref.Kind)
		return
	}
	var ta *kedav1alpha1.TriggerAuthentication
	for _, a := range b.triggerAuths {
		if a.Name == ref.Name {
			ta = a
		}
	}
	if ta == nil {
		t.Errorf("%s: trigger %s: TriggerAuthentication %q is not in the build", where, tr.Name, ref.Name)
		return
	}
	params := map[string]bool{}
	for k := range tr.Metadata {
		params[k] = true
	}
	for _, s := range ta.Spec.SecretTargetRef {
		params[s.Parameter] = true
		if !slices.Contains(redisAuthParams, s.Parameter) {
			t.Errorf("%s: TriggerAuthentication %s: KEDA's Redis scaler takes no parameter %q", where, ta.Name, s.Parameter)
		}
		if s.Name != secret.Name {
			t.Errorf("%s: TriggerAuthentication %s reads Secret %q, want %q", where, ta.Name, s.Name, secret.Name)
		}
		if _, ok := secret.StringData[s.Key]; !ok {
			t.Errorf("%s: TriggerAuthentication %s reads key %q, which secret.example.yaml lacks", where, ta.Name, s.Key)
		}
	}
	if !params["address"] && !params["addresses"] && !params["host"] && !params["hosts"] {
		t.Errorf("%s: trigger %s: no Redis address", where, tr.Name)
	}
	if sentinel := tr.Type == "redis-sentinel"; sentinel != params["sentinelMaster"] {
		t.Errorf("%s: trigger %s: a %s scaler with sentinelMaster given: %v", where, tr.Name, tr.Type, params["sentinelMaster"])
	}
}

// adapterRules is prometheus-adapter's configuration beside the HPA component: the
// rules that turn Prometheus series into the custom metrics the HPA reads.
type adapterRules struct {
	Rules []struct {
		SeriesQuery string `json:"seriesQuery"`
		Resources   struct {
			Overrides map[string]struct {
				Resource string `json:"resource"`
			} `json:"overrides"`
		} `json:"resources"`
		Name struct {
			Matches string `json:"matches"`
			As      string `json:"as"`
		} `json:"name"`
		MetricsQuery string `json:"metricsQuery"`
	} `json:"rules"`
}

const adapterRulesPath = "components/hpa/prometheus-adapter-rules.yaml"

// TestHPAScalesOnWorkerMetrics: each metric of an HPA on the workers is one that
// prometheus-adapter's rule makes, per pod, from a series ikq's workers serve (and
// that Prometheus scrapes: the pods' annotations); and a target of uploads in
// progress per pod stays below IKQ_CONCURRENCY, since a worker never runs more, or
// the HPA would never add a pod.
func TestHPAScalesOnWorkerMetrics(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(adapterRulesPath)
	if err != nil {
		t.Fatal(err)
	}
	var rules adapterRules
	if err := yaml.UnmarshalStrict(data, &rules); err != nil {
		t.Fatalf("%s: %v", adapterRulesPath, err)
	}
	seen := 0
	for _, b := range builds(t) {
		for _, h := range b.hpas {
			seen++
			where := fmt.Sprintf("%s: HorizontalPodAutoscaler %s", b.dir, h.Name)
			p, ok := workerOf(t, b, h.Spec.ScaleTargetRef.Name)
			if !ok {
				continue
			}
			if p.d.Spec.Template.Annotations["prometheus.io/scrape"] != "true" {
				t.Errorf("%s: Prometheus does not scrape %s's pods (prometheus.io/scrape)", where, p.d.Name)
			}
			slots := concurrency(t, b.setting(t, p.c, "IKQ_CONCURRENCY"))
			if len(h.Spec.Metrics) == 0 {
				t.Errorf("%s: no metrics", where)
			}
			for _, m := range h.Spec.Metrics {
				if m.Type != autoscalingv2.PodsMetricSourceType || m.Pods == nil {
					t.Errorf("%s: a %s metric; the workers' own metrics are per pod", where, m.Type)
					continue
				}
				checkAdapterRule(t, where, rules, m.Pods.Metric.Name)
				tg := m.Pods.Target
				if tg.Type != autoscalingv2.AverageValueMetricType || tg.AverageValue == nil {
					t.Errorf("%s: %s: want an AverageValue target", where, m.Pods.Metric.Name)
					continue
				}
				if v := tg.AverageValue.AsApproximateFloat64(); v <= 0 || v >= float64(slots) {
					t.Errorf("%s: %s: target %s; a worker runs at most IKQ_CONCURRENCY=%d uploads, so aim between 0 and that", where, m.Pods.Metric.Name, tg.AverageValue.String(), slots)
				}
			}
		}
	}
	if seen == 0 {
		t.Error("no build holds a HorizontalPodAutoscaler")
	}
}

// checkAdapterRule: a rule names the metric, per namespace and pod, from a series of
// a metric internal/metrics/doc.go documents.
func checkAdapterRule(t *testing.T, where string, rules adapterRules, metric string) {
	t.Helper()
	for _, r := range rules.Rules {
		if r.Name.As != metric {
			continue
		}
		series, _, _ := strings.Cut(r.SeriesQuery, "{")
		base := regexp.MustCompile(`_(sum|count|bucket)$`).ReplaceAllString(series, "")
		if !documentedMetric(t, base) {
			t.Errorf("%s: %s: %s's series %q is not a metric ikq serves (internal/metrics/doc.go)", where, metric, adapterRulesPath, series)
		}
		if re, err := regexp.Compile(r.Name.Matches); err != nil || !re.MatchString(series) {
			t.Errorf("%s: %s: %s: name.matches %q does not match the series %q", where, metric, adapterRulesPath, r.Name.Matches, series)
		}
		for label, res := range map[string]string{"namespace": "namespace", "pod": "pod"} {
			if r.Resources.Overrides[label].Resource != res {
				t.Errorf("%s: %s: %s: the rule must map the %s label to the %s resource, for a per-pod metric", where, metric, adapterRulesPath, label, res)
			}
		}
		if !strings.Contains(r.MetricsQuery, "<<.Series>>") || !strings.Contains(r.MetricsQuery, "<<.GroupBy>>") {
			t.Errorf("%s: %s: %s: metricsQuery must use <<.Series>> and group by <<.GroupBy>>", where, metric, adapterRulesPath)
		}
		return
	}
	t.Errorf("%s: no rule in %s makes the metric %q", where, adapterRulesPath, metric)
}
