package kubernetes

// What the tests know of ikq, read from the repository rather than repeated here:
// the settings (README.md's configuration table, held to cmd/ikq's definitions by
// cmd/ikq's TestREADMEConfiguration), the image's entrypoint (Dockerfile) and the
// worker's metrics (internal/metrics/doc.go).

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

const repoRoot = "../.."

// ikqSetting is a row of README.md's configuration table.
type ikqSetting struct {
	name       string
	def        string
	hasDefault bool
}

var codeSpan = regexp.MustCompile("`([^`]*)`")

// readSettings parses the table under "### Configuration" in README.md, as cmd/ikq's
// settings test does: a default cell reads "none…", "`value`…" or nothing.
func readSettings() (map[string]ikqSetting, error) {
	b, err := os.ReadFile(repoRoot + "/README.md")
	if err != nil {
		return nil, err
	}
	_, section, ok := strings.Cut(string(b), "### Configuration\n")
	if !ok {
		return nil, fmt.Errorf("README.md has no ### Configuration section")
	}
	out := map[string]ikqSetting{}
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "#") {
			break
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if !strings.HasPrefix(line, "| `") || len(cells) != 3 {
			continue
		}
		var s ikqSetting
		if cell := strings.TrimSpace(cells[2]); strings.HasPrefix(cell, "`") {
			s.def, s.hasDefault = codeSpan.FindStringSubmatch(cell)[1], true
		}
		for _, m := range codeSpan.FindAllStringSubmatch(cells[0], -1) {
			s.name = m[1]
			out[m[1]] = s
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("README.md's configuration table has no rows")
	}
	return out, nil
}

var readmeSettings = sync.OnceValues(readSettings)

func settings(t *testing.T) map[string]ikqSetting {
	t.Helper()
	s, err := readmeSettings()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// emptyIsValue are the variables for which empty is a value, not unset (README.md:
// "an empty variable counts as unset, except IKQ_METRICS_LISTEN").
var emptyIsValue = map[string]bool{"IKQ_METRICS_LISTEN": true}

// listenSetting is the address each command a pod runs serves HTTP on: `ikq api` its
// API, health and metrics; `ikq worker` its /metrics and /healthz (empty: none).
var listenSetting = map[string]string{"api": "IKQ_LISTEN", "worker": "IKQ_METRICS_LISTEN"}

// entrypoint is the path of the ikq binary in the image: the Dockerfile's ENTRYPOINT.
// The image is distroless, so exec probes can run nothing else.
func entrypoint(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(repoRoot + "/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ENTRYPOINT \["([^"]+)"\]`).FindSubmatch(b)
	if m == nil {
		t.Fatal(`the Dockerfile has no ENTRYPOINT ["…"]`)
	}
	return string(m[1])
}

// documentedMetric reports whether internal/metrics/doc.go lists the metric among
// those ikq serves.
func documentedMetric(t *testing.T, name string) bool {
	t.Helper()
	b, err := os.ReadFile(repoRoot + "/internal/metrics/doc.go")
	if err != nil {
		t.Fatal(err)
	}
	return regexp.MustCompile(`(?m)^//\s+` + regexp.QuoteMeta(name) + `[{\s]`).Match(b)
}

// envVar is one variable a container gets.
type envVar struct {
	value string
	known bool   // false when it comes from a Secret, which the builds do not hold
	from  string // where it comes from, for messages
}

// env returns the variables of c by name: its env entries over its envFrom
// ConfigMaps, as the kubelet sets them. A reference to a ConfigMap the build lacks
// is an error; Secrets are outside the builds (see secret.example.yaml).
func (b *build) env(c corev1.Container) (map[string]envVar, error) {
	out := map[string]envVar{}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm := b.configMap(from.ConfigMapRef.Name)
			if cm == nil {
				return nil, fmt.Errorf("container %s: envFrom ConfigMap %q is not in the build", c.Name, from.ConfigMapRef.Name)
			}
			for k, v := range cm.Data {
				out[from.Prefix+k] = envVar{value: v, known: true, from: "ConfigMap " + cm.Name}
			}
		case from.SecretRef != nil:
			return nil, fmt.Errorf("container %s: envFrom Secret %q: take each key with secretKeyRef, so that a pod gets only the secrets its command reads", c.Name, from.SecretRef.Name)
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			out[e.Name] = envVar{value: e.Value, known: true, from: "env"}
		case e.ValueFrom.SecretKeyRef != nil:
			out[e.Name] = envVar{from: "Secret " + e.ValueFrom.SecretKeyRef.Name}
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			cm := b.configMap(ref.Name)
			if cm == nil {
				return nil, fmt.Errorf("container %s: %s: ConfigMap %q is not in the build", c.Name, e.Name, ref.Name)
			}
			v, ok := cm.Data[ref.Key]
			if !ok {
				return nil, fmt.Errorf("container %s: %s: ConfigMap %q has no key %q", c.Name, e.Name, ref.Name, ref.Key)
			}
			out[e.Name] = envVar{value: v, known: true, from: "ConfigMap " + cm.Name}
		default:
			return nil, fmt.Errorf("container %s: %s: only values, ConfigMap and Secret keys are understood here", c.Name, e.Name)
		}
	}
	return out, nil
}

// setting returns the value ikq sees for the named setting in container c: its
// variable, else the README's default. It fails the test when the value is in a
// Secret, out of the test's sight.
func (b *build) setting(t *testing.T, c corev1.Container, name string) string {
	t.Helper()
	s, ok := settings(t)[name]
	if !ok {
		t.Fatalf("%s is not one of ikq's settings", name)
	}
	env, err := b.env(c)
	if err != nil {
		t.Fatalf("%s: %v", b.dir, err)
	}
	if v, ok := env[name]; ok {
		if !v.known {
			t.Fatalf("%s: container %s: %s comes from a %s; the test needs its value", b.dir, c.Name, name, v.from)
		}
		if v.value != "" || emptyIsValue[name] {
			return v.value
		}
	}
	return s.def
}

// port is the port of a listen address like :8080; ok is false when the address is
// empty (off).
func listenPort(t *testing.T, name, addr string) (port int32, ok bool) {
	t.Helper()
	if addr == "" {
		return 0, false
	}
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, addr, err)
	}
	n, err := strconv.ParseInt(p, 10, 32)
	if err != nil {
		t.Fatalf("%s=%q: the port is not a number", name, addr)
	}
	return int32(n), true
}

// shutdownGrace is the worker's IKQ_SHUTDOWN_GRACE as the worker applies it: zero
// means its default (worker.New).
func shutdownGrace(t *testing.T, value string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(value)
	if err != nil || d < 0 {
		t.Fatalf("IKQ_SHUTDOWN_GRACE=%q is not a duration ikq accepts", value)
	}
	if d == 0 {
		d, _ = time.ParseDuration(settings(t)["IKQ_SHUTDOWN_GRACE"].def)
	}
	return d
}

// queues parses IKQ_QUEUES ("critical=6,default=3,low=1") into the queue names.
func queues(t *testing.T, value string) []string {
	t.Helper()
	var out []string
	for _, part := range strings.Split(value, ",") {
		name, weight, ok := strings.Cut(strings.TrimSpace(part), "=")
		if n, err := strconv.Atoi(weight); !ok || name == "" || err != nil || n <= 0 {
			t.Fatalf("IKQ_QUEUES=%q: %q is not queue=weight", value, part)
		}
		out = append(out, name)
	}
	return out
}

// concurrency parses IKQ_CONCURRENCY.
func concurrency(t *testing.T, value string) int {
	t.Helper()
	n, err := strconv.Atoi(value)
	if err != nil || n < 1 {
		t.Fatalf("IKQ_CONCURRENCY=%q is not a whole number of at least 1", value)
	}
	return n
}
