package kubernetes

import (
	"flag"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// pod is a Deployment's ikq container with what the tests need beside it.
type pod struct {
	b    *build
	d    *appsv1.Deployment
	c    corev1.Container
	role string // the ikq command it runs: api or worker
}

func (p pod) String() string { return p.b.dir + ": Deployment " + p.d.Name }

// pods returns the ikq container of every Deployment of every build. Each pod runs
// one container, `ikq api` or `ikq worker`, configured through its environment alone
// (so that the tests can check every setting it gets).
func pods(t *testing.T) []pod {
	t.Helper()
	var out []pod
	for _, b := range builds(t) {
		for _, d := range b.deployments {
			cs := d.Spec.Template.Spec.Containers
			if len(cs) != 1 || len(d.Spec.Template.Spec.InitContainers) > 0 {
				t.Errorf("%s: Deployment %s: want one container, ikq", b.dir, d.Name)
				continue
			}
			c := cs[0]
			if len(c.Command) > 0 || len(c.Args) != 1 {
				t.Errorf("%s: Deployment %s: container %s runs %q %q; want args [api] or [worker], the image's entrypoint and settings in the environment",
					b.dir, d.Name, c.Name, c.Command, c.Args)
				continue
			}
			role := c.Args[0]
			if _, ok := listenSetting[role]; !ok {
				t.Errorf("%s: Deployment %s: container %s runs `ikq %s`; the manifests run api and worker", b.dir, d.Name, c.Name, role)
				continue
			}
			out = append(out, pod{b: b, d: d, c: c, role: role})
		}
	}
	if len(out) == 0 {
		t.Fatal("no pods")
	}
	return out
}

// TestDeploymentsSelectTheirPods: a Deployment's selector matches its own template.
func TestDeploymentsSelectTheirPods(t *testing.T) {
	t.Parallel()
	for _, p := range pods(t) {
		sel, err := metav1.LabelSelectorAsSelector(p.d.Spec.Selector)
		if err != nil || sel.Empty() {
			t.Errorf("%s: selector %v: %v", p, p.d.Spec.Selector, err)
			continue
		}
		if !sel.Matches(labels.Set(p.d.Spec.Template.Labels)) {
			t.Errorf("%s: selector %s does not match its pods' labels %v", p, sel, p.d.Spec.Template.Labels)
		}
		if p.c.Image == "ikq" || !strings.Contains(p.c.Image, "/") {
			t.Errorf("%s: image %q: the kustomization's images entry did not apply", p, p.c.Image)
		}
	}
}

// TestEnvironmentHoldsIkqSettings: every variable a pod gets is a setting of ikq
// (README.md's table), every Secret key it reads is in the Secret example under the
// variable's own name, and every value in the build parses as ikq will parse it.
func TestEnvironmentHoldsIkqSettings(t *testing.T) {
	t.Parallel()
	known := settings(t)
	example := secretExample(t)
	for _, p := range pods(t) {
		env, err := p.b.env(p.c)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		for name, v := range env {
			if _, ok := known[name]; !ok {
				t.Errorf("%s: %s (from %s) is not a setting of ikq (README.md, Configuration)", p, name, v.from)
			}
		}
		for _, e := range p.c.Env {
			ref := e.ValueFrom
			if ref == nil || ref.SecretKeyRef == nil {
				continue
			}
			if ref.SecretKeyRef.Name != example.Name {
				t.Errorf("%s: %s reads Secret %q; the manifests' Secret is %q (secret.example.yaml)", p, e.Name, ref.SecretKeyRef.Name, example.Name)
			}
			if ref.SecretKeyRef.Key != e.Name {
				t.Errorf("%s: %s reads key %q: name the key after the variable", p, e.Name, ref.SecretKeyRef.Key)
			}
			if _, ok := example.StringData[ref.SecretKeyRef.Key]; !ok {
				t.Errorf("%s: %s reads key %q, which secret.example.yaml lacks", p, e.Name, ref.SecretKeyRef.Key)
			}
		}
		// The values ikq will parse: a bad one stops the pod at start.
		switch p.role {
		case "worker":
			shutdownGrace(t, p.b.setting(t, p.c, "IKQ_SHUTDOWN_GRACE"))
			queues(t, p.b.setting(t, p.c, "IKQ_QUEUES"))
			concurrency(t, p.b.setting(t, p.c, "IKQ_CONCURRENCY"))
			if _, ok := env["IMAGEKIT_PRIVATE_KEY"]; !ok {
				t.Errorf("%s: no IMAGEKIT_PRIVATE_KEY: ikq worker refuses to start without one", p)
			}
		case "api":
			if _, ok := env["IKQ_API_TOKENS"]; !ok {
				t.Errorf("%s: no IKQ_API_TOKENS: without tokens ikq api serves loopback clients only", p)
			}
		}
		if _, ok := env["REDIS_URL"]; !ok {
			t.Errorf("%s: no REDIS_URL", p)
		}
		listenPort(t, listenSetting[p.role], p.b.setting(t, p.c, listenSetting[p.role]))
		if u := p.b.setting(t, p.c, "IKQ_PUBLIC_URL"); u != "" {
			if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				t.Errorf("%s: IKQ_PUBLIC_URL=%q is not an absolute http(s) URL", p, u)
			}
		}
		if p.d.Spec.Template.Spec.EnableServiceLinks == nil || *p.d.Spec.Template.Spec.EnableServiceLinks {
			t.Errorf("%s: set enableServiceLinks: false, so that Services add no variables beside ikq's", p)
		}
	}
}

// containerPort resolves a probe's or a Service's port, by name or number, among
// the container's declared ports.
func containerPort(c corev1.Container, port intstr.IntOrString) (corev1.ContainerPort, bool) {
	for _, cp := range c.Ports {
		if (port.Type == intstr.String && cp.Name == port.StrVal) || (port.Type == intstr.Int && cp.ContainerPort == port.IntVal) {
			return cp, true
		}
	}
	return corev1.ContainerPort{}, false
}

// TestPortsAreWhatIkqServes: a pod declares exactly the port its command listens on
// (IKQ_LISTEN for the API, IKQ_METRICS_LISTEN for a worker), with a valid name, and
// Prometheus's annotations, if any, name it.
func TestPortsAreWhatIkqServes(t *testing.T) {
	t.Parallel()
	for _, p := range pods(t) {
		name := listenSetting[p.role]
		want, on := listenPort(t, name, p.b.setting(t, p.c, name))
		if !on {
			if len(p.c.Ports) > 0 {
				t.Errorf("%s: %s is off, yet the container declares ports %v", p, name, p.c.Ports)
			}
			continue
		}
		if len(p.c.Ports) != 1 || p.c.Ports[0].ContainerPort != want {
			t.Errorf("%s: ports %v; ikq %s listens on %d only (%s)", p, p.c.Ports, p.role, want, name)
		}
		for _, cp := range p.c.Ports {
			if errs := validation.IsValidPortName(cp.Name); len(errs) > 0 {
				t.Errorf("%s: port name %q: %v", p, cp.Name, errs)
			}
			if cp.Protocol != "" && cp.Protocol != corev1.ProtocolTCP {
				t.Errorf("%s: port %s: ikq serves HTTP over TCP", p, cp.Name)
			}
		}
		ann := p.d.Spec.Template.Annotations
		if ann["prometheus.io/scrape"] == "true" {
			if ann["prometheus.io/port"] != strconv.Itoa(int(want)) {
				t.Errorf("%s: prometheus.io/port %q, but metrics are on %d", p, ann["prometheus.io/port"], want)
			}
			if ann["prometheus.io/path"] != "/metrics" {
				t.Errorf("%s: prometheus.io/path %q, want /metrics", p, ann["prometheus.io/path"])
			}
		}
	}
}

// healthPaths are the GET routes each command answers for probes (cmd/ikq and
// internal/apiserver): /healthz while it runs, and for the API /readyz, which also
// pings Redis.
var healthPaths = map[string][]string{"api": {"/healthz", "/readyz"}, "worker": {"/healthz"}}

// TestProbesReachIkq: every pod has liveness and readiness probes; an HTTP probe
// asks a route the command serves on a port the container declares and ikq listens
// on; an exec probe runs `ikq healthcheck` (the image has no shell) with arguments it
// accepts and a timeout within the probe's.
func TestProbesReachIkq(t *testing.T) {
	t.Parallel()
	bin := entrypoint(t)
	for _, p := range pods(t) {
		if p.c.LivenessProbe == nil || p.c.ReadinessProbe == nil {
			t.Errorf("%s: want liveness and readiness probes", p)
		}
		for kind, pr := range map[string]*corev1.Probe{"liveness": p.c.LivenessProbe, "readiness": p.c.ReadinessProbe, "startup": p.c.StartupProbe} {
			if pr == nil {
				continue
			}
			switch {
			case pr.HTTPGet != nil:
				if _, ok := containerPort(p.c, pr.HTTPGet.Port); !ok {
					t.Errorf("%s: %s probe: port %s is not one the container declares", p, kind, pr.HTTPGet.Port.String())
				}
				if !slices.Contains(healthPaths[p.role], pr.HTTPGet.Path) {
					t.Errorf("%s: %s probe: ikq %s does not serve %q; it serves %v", p, kind, p.role, pr.HTTPGet.Path, healthPaths[p.role])
				}
				if pr.HTTPGet.Scheme != "" && pr.HTTPGet.Scheme != corev1.URISchemeHTTP {
					t.Errorf("%s: %s probe: ikq serves plain HTTP", p, kind)
				}
			case pr.Exec != nil:
				checkHealthcheck(t, p, kind, pr, bin)
			default:
				t.Errorf("%s: %s probe: want httpGet or exec", p, kind)
			}
			if pr.TimeoutSeconds < 1 || pr.PeriodSeconds < 1 {
				t.Errorf("%s: %s probe: set timeoutSeconds and periodSeconds", p, kind)
			}
		}
	}
}

// checkHealthcheck checks an exec probe: [entrypoint, healthcheck, flags…, target],
// as `ikq healthcheck` parses it (cmd/ikq/healthcheck.go).
func checkHealthcheck(t *testing.T, p pod, kind string, pr *corev1.Probe, bin string) {
	t.Helper()
	cmd := pr.Exec.Command
	if len(cmd) < 3 || cmd[0] != bin || cmd[1] != "healthcheck" {
		t.Errorf("%s: %s probe runs %q; the image is distroless: run [%q, \"healthcheck\", …]", p, kind, cmd, bin)
		return
	}
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	timeout := fs.Duration("timeout", 3*time.Second, "")
	fs.String("redis-url", "", "")
	if err := fs.Parse(cmd[2:]); err != nil || fs.NArg() != 1 {
		t.Errorf("%s: %s probe: `ikq healthcheck` takes [-timeout D] [-redis-url URL] URL|worker, not %q (%v)", p, kind, cmd[2:], err)
		return
	}
	if *timeout >= time.Duration(pr.TimeoutSeconds)*time.Second {
		t.Errorf("%s: %s probe: healthcheck -timeout %s is not within the probe's timeoutSeconds %d", p, kind, *timeout, pr.TimeoutSeconds)
	}
	target := fs.Arg(0)
	if target == "worker" {
		if p.role != "worker" {
			t.Errorf("%s: %s probe: `healthcheck worker` checks a worker, and this pod runs ikq %s", p, kind, p.role)
		}
		return
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" {
		t.Errorf("%s: %s probe: %q is neither worker nor an http URL", p, kind, target)
		return
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		t.Errorf("%s: %s probe: %q: a pod checks itself on loopback", p, kind, target)
	}
	port, err := strconv.ParseInt(u.Port(), 10, 32)
	if _, ok := containerPort(p.c, intstr.FromInt32(int32(port))); err != nil || !ok {
		t.Errorf("%s: %s probe: %q: not a port the container declares", p, kind, target)
	}
	if !slices.Contains(healthPaths[p.role], u.Path) {
		t.Errorf("%s: %s probe: ikq %s does not serve %q", p, kind, p.role, u.Path)
	}
}

// stopMargin is what a worker needs after its shutdown grace: asynq cancels the
// uploads still running, and the worker hands their tasks back to the queue and
// closes its clients.
const stopMargin = 10 * time.Second

// apiDrain is how long ikq's HTTP server drains open requests on SIGTERM
// (cmd/ikq's serve).
const apiDrain = 10 * time.Second

// TestTerminationGraceOutlastsIkq: the kubelet's SIGKILL comes after ikq is done. A
// worker pod's grace covers IKQ_SHUTDOWN_GRACE plus stopMargin, or running uploads
// are cut off before they are handed back (they then wait for asynq's lease to
// expire); an API pod's covers its preStop sleep and the server's drain.
func TestTerminationGraceOutlastsIkq(t *testing.T) {
	t.Parallel()
	for _, p := range pods(t) {
		g := p.d.Spec.Template.Spec.TerminationGracePeriodSeconds
		if g == nil {
			t.Errorf("%s: set terminationGracePeriodSeconds", p)
			continue
		}
		grace := time.Duration(*g) * time.Second
		var need time.Duration
		switch p.role {
		case "worker":
			need = shutdownGrace(t, p.b.setting(t, p.c, "IKQ_SHUTDOWN_GRACE")) + stopMargin
		case "api":
			need = apiDrain
		}
		if l := p.c.Lifecycle; l != nil && l.PreStop != nil {
			if l.PreStop.Sleep == nil {
				t.Errorf("%s: preStop: only sleep runs in a distroless image", p)
			} else {
				need += time.Duration(l.PreStop.Sleep.Seconds) * time.Second
			}
		}
		if grace < need {
			t.Errorf("%s: terminationGracePeriodSeconds %d: ikq %s needs %s to stop cleanly", p, *g, p.role, need)
		}
	}
}

// TestPodsAreLockedDown: non-root (the distroless image's nonroot user), read-only
// root file system, no privilege escalation, no capabilities, the runtime's seccomp
// profile, and no service account token (ikq never calls the Kubernetes API).
func TestPodsAreLockedDown(t *testing.T) {
	t.Parallel()
	for _, p := range pods(t) {
		ps := p.d.Spec.Template.Spec
		sc := ps.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
			t.Errorf("%s: the pod must run as a non-root user (runAsNonRoot, runAsUser)", p)
		}
		if sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: want seccompProfile RuntimeDefault", p)
		}
		if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
			t.Errorf("%s: set automountServiceAccountToken: false", p)
		}
		csc := p.c.SecurityContext
		if csc == nil {
			t.Errorf("%s: container %s has no securityContext", p, p.c.Name)
			continue
		}
		if csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
			t.Errorf("%s: want readOnlyRootFilesystem", p)
		}
		if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
			t.Errorf("%s: want allowPrivilegeEscalation: false", p)
		}
		if csc.Privileged != nil && *csc.Privileged {
			t.Errorf("%s: privileged", p)
		}
		if csc.Capabilities == nil || !slices.Contains(capNames(csc.Capabilities.Drop), "ALL") || len(csc.Capabilities.Add) > 0 {
			t.Errorf("%s: want capabilities drop [ALL], add none", p)
		}
	}
}

func capNames(cs []corev1.Capability) []string {
	var out []string
	for _, c := range cs {
		out = append(out, string(c))
	}
	return out
}

// TestPodsRequestResources: requests for CPU and memory (the scheduler places pods
// by them) and a memory limit above the request.
func TestPodsRequestResources(t *testing.T) {
	t.Parallel()
	for _, p := range pods(t) {
		r := p.c.Resources
		cpu, mem := r.Requests[corev1.ResourceCPU], r.Requests[corev1.ResourceMemory]
		if cpu.IsZero() || mem.IsZero() {
			t.Errorf("%s: want cpu and memory requests, have %v", p, r.Requests)
		}
		lim, ok := r.Limits[corev1.ResourceMemory]
		if !ok || lim.Cmp(mem) < 0 {
			t.Errorf("%s: want a memory limit of at least the request %s, have %v", p, mem.String(), r.Limits)
		}
	}
}
