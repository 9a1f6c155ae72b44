package main

// Tests of the container files at the repository root (Dockerfile, .dockerignore,
// docker-compose.yml) that need no Docker: they parse the files and hold them against
// the ikq binary's own command table and flag definitions.
//
// How a service's command is checked without starting it: every command parses its
// flags with parseFlags, which returns flag.ErrHelp on -h, and run turns ErrHelp into
// exit status 0 before the command does anything else. An unknown flag, a bad value
// or a stray argument before the -h makes the parse fail instead: exit status 2. So
// run(sub, args..., "-h") == 0 says exactly "these flags parse". (Flags the command
// only checks after parsing, such as -log-level's value, are not covered; values the
// environment feeds into flag defaults are, since the test sets the service's
// environment first.) The context passed is already canceled, so that a command which
// did not stop at -h would stop at once anyway.
//
// TestComposeHealthchecksPassAgainstTheirServices goes further: it runs each ikq
// service in-process as Compose would (its command and environment, with the listen
// address and volume paths moved to the test's own), runs the service's health check
// against it, and checks that the check passes while the service runs and fails once
// it has stopped.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/redistest"
)

const (
	repoRoot    = "../.."
	composePath = repoRoot + "/docker-compose.yml"
	ikqImage    = "ikq:local"
	ikqBinary   = "/ikq" // where the Dockerfile puts the binary (distroless: not on PATH)
)

// composeFile is the part of the Compose Specification these tests read.
type composeFile struct {
	Version  *string                   `yaml:"version"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
	IKQ      map[string]any            `yaml:"x-ikq"`
}

type composeService struct {
	Image           string       `yaml:"image"`
	Build           any          `yaml:"build"`
	Command         stringOrList `yaml:"command"`
	Environment     envMap       `yaml:"environment"`
	Volumes         []string     `yaml:"volumes"`
	Ports           []string     `yaml:"ports"`
	Healthcheck     *healthcheck `yaml:"healthcheck"`
	DependsOn       any          `yaml:"depends_on"`
	StopGracePeriod string       `yaml:"stop_grace_period"`
	Profiles        []string     `yaml:"profiles"`
	Deploy          struct {
		Replicas *int `yaml:"replicas"`
	} `yaml:"deploy"`
}

type healthcheck struct {
	Test    stringOrList `yaml:"test"`
	Disable bool         `yaml:"disable"`
}

// stringOrList is a command: a YAML list, or a string split into words as a shell
// would (Compose does the same for command).
type stringOrList []string

func (s *stringOrList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		words, err := shellWords(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		*s = words
		return nil
	case yaml.SequenceNode:
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		*s = l
		return nil
	}
	return fmt.Errorf("line %d: want a string or a list", n.Line)
}

// envMap is environment: a mapping (null values pass the host's through) or a list
// of KEY=VALUE.
type envMap map[string]string

func (e *envMap) UnmarshalYAML(n *yaml.Node) error {
	*e = envMap{}
	switch n.Kind {
	case yaml.MappingNode:
		var m map[string]*string
		if err := n.Decode(&m); err != nil {
			return err
		}
		for k, v := range m {
			if v == nil {
				(*e)[k] = os.Getenv(k)
			} else {
				(*e)[k] = *v
			}
		}
		return nil
	case yaml.SequenceNode:
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		for _, kv := range l {
			k, v, _ := strings.Cut(kv, "=")
			(*e)[k] = v
		}
		return nil
	}
	return fmt.Errorf("line %d: environment must be a mapping or a list", n.Line)
}

// varRef is one ${VAR...} or $VAR in the Compose file.
type varRef struct {
	name       string
	hasDefault bool // ${VAR:-x}, ${VAR-x}, ${VAR:+x}, ${VAR+x}, or ${VAR:?msg}/${VAR?msg} (an explicit error)
	line       int
}

// loadCompose parses docker-compose.yml, interpolates every value as `docker compose
// config` would on a machine whose environment sets none of the file's variables,
// and returns the result with every variable reference found.
func loadCompose(t *testing.T) (composeFile, []varRef, []byte) {
	t.Helper()
	raw, err := os.ReadFile(composePath)
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		t.Fatalf("docker-compose.yml is not YAML: %v", err)
	}
	var refs []varRef
	var walkErr error
	var walk func(n *yaml.Node, isValue bool)
	walk = func(n *yaml.Node, isValue bool) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, true)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i], false) // keys are not interpolated
				walk(n.Content[i+1], true)
			}
		case yaml.ScalarNode:
			if !isValue || !strings.Contains(n.Value, "$") {
				return
			}
			v, found, err := interpolate(n.Value, func(string) (string, bool) { return "", false })
			if err != nil && walkErr == nil {
				walkErr = fmt.Errorf("line %d: %w", n.Line, err)
			}
			for _, r := range found {
				r.line = n.Line
				refs = append(refs, r)
			}
			n.Value = v
		}
	}
	walk(&root, true)
	if walkErr != nil {
		t.Fatalf("docker-compose.yml: %v", walkErr)
	}
	var cf composeFile
	if err := root.Decode(&cf); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return cf, refs, raw
}

// interpolate expands Compose's variable syntax in s: $$, $VAR, ${VAR}, ${VAR:-def},
// ${VAR-def}, ${VAR:?err}, ${VAR?err}, ${VAR:+alt}, ${VAR+alt}.
func interpolate(s string, lookup func(string) (string, bool)) (string, []varRef, error) {
	var out strings.Builder
	var refs []varRef
	isName := func(c byte, first bool) bool {
		return c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || !first && '0' <= c && c <= '9'
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			out.WriteByte(s[i])
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '$':
			out.WriteByte('$')
			i++
		case i+1 < len(s) && s[i+1] == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return "", nil, fmt.Errorf("unterminated ${ in %q", s)
			}
			expr := s[i+2 : i+end]
			i += end
			j := 0
			for j < len(expr) && isName(expr[j], j == 0) {
				j++
			}
			name, op := expr[:j], expr[j:]
			if name == "" {
				return "", nil, fmt.Errorf("bad variable ${%s}", expr)
			}
			val, set := lookup(name)
			ref := varRef{name: name, hasDefault: op != ""}
			switch {
			case op == "":
			case strings.HasPrefix(op, ":-"):
				if !set || val == "" {
					val = op[2:]
				}
			case strings.HasPrefix(op, "-"):
				if !set {
					val = op[1:]
				}
			case strings.HasPrefix(op, ":+"):
				if set && val != "" {
					val = op[2:]
				}
			case strings.HasPrefix(op, "+"):
				if set {
					val = op[1:]
				}
			case strings.HasPrefix(op, ":?"), strings.HasPrefix(op, "?"):
				// required, with its own error message: not a silent empty value
			default:
				return "", nil, fmt.Errorf("bad variable ${%s}", expr)
			}
			refs = append(refs, ref)
			out.WriteString(val)
		case i+1 < len(s) && isName(s[i+1], true):
			j := i + 1
			for j < len(s) && isName(s[j], false) {
				j++
			}
			name := s[i+1 : j]
			val, _ := lookup(name)
			refs = append(refs, varRef{name: name})
			out.WriteString(val)
			i = j - 1
		default:
			out.WriteByte('$')
		}
	}
	return out.String(), refs, nil
}

// shellWords splits s into words as a POSIX shell would, for quotes and backslashes
// (no expansions).
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words, inWord = append(words, w.String()), false
				w.Reset()
			}
		case c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
			inWord = true
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unterminated ' in %q", s)
			}
			w.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`"\$`+"`", s[i+1]) >= 0 {
					i++
				}
				w.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf(`unterminated " in %q`, s)
			}
			inWord = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

func TestComposeShellWords(t *testing.T) {
	for in, want := range map[string][]string{
		`worker`:                          {"worker"},
		`  api   --listen :8080 `:         {"api", "--listen", ":8080"},
		`emulator --data '/my data' -x=1`: {"emulator", "--data", "/my data", "-x=1"},
		`a "b \"c\" d" e\ f ''`:           {"a", `b "c" d`, "e f", ""},
	} {
		got, err := shellWords(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("shellWords(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := shellWords(`a 'b`); err == nil {
		t.Error("an unterminated quote is not an error")
	}
}

func TestComposeInterpolate(t *testing.T) {
	env := map[string]string{"SET": "v", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for in, want := range map[string]string{
		"${SET}":         "v",
		"$SET/x":         "v/x",
		"${UNSET:-d}":    "d",
		"${EMPTY:-d}":    "d",
		"${EMPTY-d}":     "",
		"${UNSET-d}":     "d",
		"${SET:+alt}":    "alt",
		"${UNSET:+alt}":  "",
		"$$SET":          "$SET",
		"a${UNSET}b":     "ab",
		"http://${SET}:": "http://v:",
	} {
		got, _, err := interpolate(in, lookup)
		if err != nil || got != want {
			t.Errorf("interpolate(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// ikqServices are the services that run the ikq image, in a stable order.
func ikqServices(cf composeFile) []string {
	var names []string
	for name, s := range cf.Services {
		if s.Image == ikqImage || s.Build != nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// flagValue returns the value of -name or --name in args (both spellings, with a
// space or =), and whether it is there.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		for _, p := range []string{"-" + name, "--" + name} {
			if a == p && i+1 < len(args) {
				return args[i+1], true
			}
			if v, ok := strings.CutPrefix(a, p+"="); ok {
				return v, true
			}
		}
	}
	return "", false
}

// setServiceEnv gives the test process the service's environment, as its container
// would have it.
func setServiceEnv(t *testing.T, s composeService) {
	for k, v := range s.Environment {
		t.Setenv(k, v)
	}
}

func TestComposeServices(t *testing.T) {
	cf, _, _ := loadCompose(t)
	if cf.Version != nil {
		t.Error("docker-compose.yml has a version key: the Compose Specification ignores it and Compose warns")
	}
	for _, name := range []string{"redis", "emulator", "api", "worker", "minio"} {
		if _, ok := cf.Services[name]; !ok {
			t.Errorf("no %s service", name)
		}
	}
	if cf.IKQ["image"] != ikqImage || cf.IKQ["build"] == nil {
		t.Errorf("x-ikq = %v; want image %s and a build", cf.IKQ, ikqImage)
	}
	if got := ikqServices(cf); !slices.Equal(got, []string{"api", "emulator", "worker"}) {
		t.Errorf("services running the ikq image: %v; want api, emulator, worker", got)
	}

	redis := cf.Services["redis"]
	cmd := strings.Join(redis.Command, " ")
	if !strings.Contains(cmd, "--appendonly yes") {
		t.Errorf("redis command %q: want --appendonly yes, so queued jobs survive a restart", cmd)
	}
	checkNamedVolume(t, cf, "redis", "/data")
	checkNamedVolume(t, cf, "emulator", "/data")

	if r := cf.Services["worker"].Deploy.Replicas; r == nil || *r != 3 {
		t.Errorf("worker deploy.replicas = %v; want 3", r)
	}

	for name, s := range cf.Services {
		hc := s.Healthcheck
		switch {
		case hc == nil:
			t.Errorf("%s has no healthcheck", name)
		case hc.Disable || len(hc.Test) == 0 || hc.Test[0] == "NONE":
			t.Errorf("%s: healthcheck disabled or empty: %+v", name, hc)
		}
	}

	// depends_on names services of this file.
	for name, s := range cf.Services {
		deps := map[string]any{}
		switch d := s.DependsOn.(type) {
		case []any:
			for _, x := range d {
				deps[fmt.Sprint(x)] = nil
			}
		case map[string]any:
			deps = d
		}
		for dep := range deps {
			if _, ok := cf.Services[dep]; !ok {
				t.Errorf("%s depends on %s, which is not a service", name, dep)
			}
		}
	}
}

// checkNamedVolume checks that service mounts a named volume, declared at the top
// level, at target.
func checkNamedVolume(t *testing.T, cf composeFile, service, target string) {
	t.Helper()
	for _, v := range cf.Services[service].Volumes {
		src, rest, _ := strings.Cut(v, ":")
		dst, _, _ := strings.Cut(rest, ":")
		if dst != target {
			continue
		}
		if _, ok := cf.Volumes[src]; !ok {
			t.Errorf("%s mounts %q at %s: not a volume declared under volumes:", service, src, target)
		}
		return
	}
	t.Errorf("%s has no volume at %s", service, target)
}

func TestComposeIkqCommandsParse(t *testing.T) {
	cf, _, _ := loadCompose(t)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	// The method itself: -h alone is exit 0, an unknown flag before it exit 2.
	if code := run(canceled, []string{"emulator", "-h"}, io.Discard, io.Discard); code != 0 {
		t.Fatalf("ikq emulator -h: exit %d; want 0", code)
	}
	if code := run(canceled, []string{"emulator", "--no-such-flag", "x", "-h"}, io.Discard, io.Discard); code != 2 {
		t.Fatalf("ikq emulator --no-such-flag x -h: exit %d; want 2", code)
	}

	for _, name := range ikqServices(cf) {
		t.Run(name, func(t *testing.T) {
			s := cf.Services[name]
			if len(s.Command) == 0 {
				t.Fatal("no command: the image's default is `ikq help`")
			}
			sub := s.Command[0]
			if _, ok := commands[sub]; !ok {
				t.Fatalf("command %q: ikq has no %q subcommand", s.Command, sub)
			}
			setServiceEnv(t, s)
			var stderr bytes.Buffer
			args := append(slices.Clone(s.Command), "-h")
			if code := run(canceled, args, io.Discard, &stderr); code != 0 {
				t.Errorf("ikq %s: exit %d; the flags do not parse:\n%s", strings.Join(args, " "), code, lastLines(stderr.String(), 5))
			}
		})
	}
}

// listenPort is the port a service's --listen flag names.
func listenPort(t *testing.T, s composeService) string {
	t.Helper()
	addr, ok := flagValue(s.Command, "listen")
	if !ok {
		return ""
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("--listen %q: %v", addr, err)
	}
	return port
}

func TestComposeHealthchecks(t *testing.T) {
	cf, _, _ := loadCompose(t)
	for _, name := range ikqServices(cf) {
		t.Run(name, func(t *testing.T) {
			s := cf.Services[name]
			if s.Healthcheck == nil {
				t.Fatal("no healthcheck")
			}
			test := s.Healthcheck.Test
			// The image has no shell: only the exec form works, with the binary's path.
			if len(test) < 3 || test[0] != "CMD" || test[1] != ikqBinary {
				t.Fatalf("healthcheck test %q: want [CMD, %s, <subcommand>, ...] (the image has no shell)", test, ikqBinary)
			}
			sub := test[2]
			if _, ok := commands[sub]; !ok {
				t.Fatalf("healthcheck %q: ikq has no %q subcommand", test, sub)
			}
			port := listenPort(t, s)
			for _, a := range test[3:] {
				u, err := url.Parse(a)
				if err != nil || u.Host == "" {
					continue
				}
				if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
					t.Errorf("healthcheck %q probes %s: a container's health check must probe itself", test, h)
				}
				if u.Port() != port {
					t.Errorf("healthcheck %q probes port %s; the service listens on %q", test, u.Port(), port)
				}
			}
		})
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func TestComposeHealthchecksPassAgainstTheirServices(t *testing.T) {
	if testing.Short() {
		t.Skip("runs each service")
	}
	cf, _, _ := loadCompose(t)
	rdb := redistest.New(t) // before any t.Setenv("REDIS_URL"): redistest reads it
	for _, name := range ikqServices(cf) {
		t.Run(name, func(t *testing.T) {
			s := cf.Services[name]
			if len(s.Command) == 0 || s.Healthcheck == nil || len(s.Healthcheck.Test) < 3 {
				t.Fatal("no command or no healthcheck (see the other tests)")
			}
			if _, ok := commands[s.Command[0]]; !ok {
				t.Fatalf("ikq has no %q subcommand", s.Command[0])
			}
			setServiceEnv(t, s)
			if _, ok := s.Environment["REDIS_URL"]; ok {
				t.Setenv("REDIS_URL", rdb.URL())
			}

			// The service's command with the container's addresses and paths moved
			// to this test's: a free loopback port, a temporary directory per volume.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			_ = ln.Close()
			targets := map[string]bool{}
			for _, v := range s.Volumes {
				_, rest, _ := strings.Cut(v, ":")
				dst, _, _ := strings.Cut(rest, ":")
				targets[dst] = true
			}
			args := slices.Clone(s.Command)
			for i, a := range args {
				prev := ""
				if i > 0 {
					prev = args[i-1]
				}
				switch {
				case prev == "--listen" || prev == "-listen":
					args[i] = addr
				case strings.HasPrefix(a, "--listen=") || strings.HasPrefix(a, "-listen="):
					args[i], _, _ = strings.Cut(a, "=")
					args[i] += "=" + addr
				case targets[a]:
					args[i] = t.TempDir()
				}
			}
			port := listenPort(t, s)
			check := slices.Clone(s.Healthcheck.Test[2:])
			for i, a := range check {
				if u, err := url.Parse(a); err == nil && u.Host != "" && u.Port() == port {
					u.Host = addr
					check[i] = u.String()
				}
			}

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out ikqtest.LockedBuffer
			done := make(chan int, 1)
			go func() { done <- run(ctx, args, io.Discard, &out) }()
			stopped := false
			stop := func() {
				if stopped {
					return
				}
				stopped = true
				cancel()
				select {
				case <-done:
				case <-time.After(30 * time.Second):
					t.Errorf("ikq %s did not stop within 30s of its context ending", strings.Join(args, " "))
				}
			}
			defer stop()

			healthy := func() (int, string) {
				var e bytes.Buffer
				cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer ccancel()
				return run(cctx, check, io.Discard, &e), e.String()
			}
			deadline := time.Now().Add(15 * time.Second)
			for {
				code, errOut := healthy()
				if code == 0 {
					break
				}
				select {
				case c := <-done:
					stopped = true
					t.Fatalf("ikq %s exited (status %d) before its health check passed:\n%s",
						strings.Join(args, " "), c, lastLines(out.String(), 10))
				default:
				}
				if time.Now().After(deadline) {
					hint := ""
					if u, err := url.Parse(check[len(check)-1]); err != nil || u.Scheme == "" {
						hint = fmt.Sprintf(" (does `ikq healthcheck` know the target %q?)", check[len(check)-1])
					}
					t.Fatalf("health check `ikq %s` never passed against the running `ikq %s`%s: exit %d:\n%s",
						strings.Join(check, " "), strings.Join(args, " "), hint, code, lastLines(errOut, 5))
				}
				time.Sleep(100 * time.Millisecond)
			}

			// A check that passes whatever the service does proves nothing: stopped,
			// the service must fail it.
			stop()
			if code, _ := healthy(); code == 0 {
				t.Errorf("health check `ikq %s` still passes after the service stopped", strings.Join(check, " "))
			}
		})
	}
}

func TestComposeEnvironment(t *testing.T) {
	cf, _, _ := loadCompose(t)
	for _, need := range []struct{ service, variable string }{
		{"api", "REDIS_URL"},
		{"worker", "REDIS_URL"},
		{"worker", "IMAGEKIT_PRIVATE_KEY"},
		{"worker", "IMAGEKIT_UPLOAD_URL"},
	} {
		if v := cf.Services[need.service].Environment[need.variable]; v == "" {
			t.Errorf("%s: %s is not set (or empty by default)", need.service, need.variable)
		}
	}

	// A malformed number stops the worker at start: catch it here, before compose up.
	for _, k := range []string{"IKQ_CONCURRENCY"} {
		if v, ok := cf.Services["worker"].Environment[k]; ok {
			if _, err := strconv.Atoi(v); err != nil {
				t.Errorf("worker: %s=%q is not a number (ikq would silently use its default)", k, v)
			}
		}
	}

	// URLs in the environment reach services of this file, by name and port.
	for name, s := range cf.Services {
		for k, v := range s.Environment {
			u, err := url.Parse(v)
			if err != nil || u.Host == "" || u.Hostname() == "localhost" || strings.Contains(u.Hostname(), ".") {
				continue
			}
			target, ok := cf.Services[u.Hostname()]
			if !ok {
				t.Errorf("%s: %s=%s: no service %q", name, k, v, u.Hostname())
				continue
			}
			if p := listenPort(t, target); p != "" && u.Port() != p {
				t.Errorf("%s: %s=%s: %s listens on port %s", name, k, v, u.Hostname(), p)
			}
		}
	}

	// The worker's key matches the emulator's, which it uploads to by default.
	emuKey, _ := flagValue(cf.Services["emulator"].Command, "private-key")
	if got := cf.Services["worker"].Environment["IMAGEKIT_PRIVATE_KEY"]; got != emuKey {
		t.Errorf("worker's default IMAGEKIT_PRIVATE_KEY %q is not the emulator's --private-key %q", got, emuKey)
	}

	// Compose waits stop_grace_period before SIGKILL: longer than the worker's own
	// --shutdown-grace, so running uploads finish.
	w := cf.Services["worker"]
	grace := 30 * time.Second // worker.go's default
	if v, ok := flagValue(w.Command, "shutdown-grace"); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("worker --shutdown-grace %q: %v", v, err)
		}
		grace = d
	}
	stopGrace, err := time.ParseDuration(w.StopGracePeriod)
	if err != nil {
		t.Fatalf("worker stop_grace_period %q: %v (Compose's default, 10s, is too short)", w.StopGracePeriod, err)
	}
	if stopGrace <= grace {
		t.Errorf("worker stop_grace_period %v is not longer than its --shutdown-grace %v", stopGrace, grace)
	}
}

// requiredDoc finds "required" comments: a variable used without a default must be
// named on a comment line that says it is required.
var requiredDoc = regexp.MustCompile(`(?i)^\s*#.*\brequired\b`)

func TestComposeVariablesHaveDefaults(t *testing.T) {
	_, refs, raw := loadCompose(t)
	var docs []string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if requiredDoc.MatchString(sc.Text()) {
			docs = append(docs, sc.Text())
		}
	}
	if len(refs) == 0 {
		t.Fatal("no variables found: the interpolation scan is broken")
	}
	for _, r := range refs {
		if r.hasDefault {
			continue
		}
		documented := slices.ContainsFunc(docs, func(line string) bool {
			return regexp.MustCompile(`\b` + regexp.QuoteMeta(r.name) + `\b`).MatchString(line)
		})
		if !documented {
			t.Errorf("line %d: ${%s} has no default (${%s:-...}) and no comment says it is required", r.line, r.name, r.name)
		}
	}
}

// dockerInstr is one Dockerfile instruction, continuation lines joined.
type dockerInstr struct {
	cmd, args string
	stage     int // index of its FROM
}

func parseDockerfile(t *testing.T) []dockerInstr {
	t.Helper()
	raw, err := os.ReadFile(repoRoot + "/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var out []dockerInstr
	stage := -1
	var cur strings.Builder
	for line := range strings.SplitSeq(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasPrefix(trimmed, "#") { // a comment inside a continued instruction
			continue
		}
		if s, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		cur.Reset()
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stage++
		}
		out = append(out, dockerInstr{cmd: cmd, args: strings.TrimSpace(args), stage: stage})
	}
	return out
}

func TestDockerfile(t *testing.T) {
	instrs := parseDockerfile(t)
	var froms []dockerInstr
	for _, in := range instrs {
		if in.cmd == "FROM" {
			froms = append(froms, in)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("%d FROM: want a multi-stage build (a Go toolchain stage, a small final stage)", len(froms))
	}
	final := len(froms) - 1
	stageNames := map[string]int{}
	for i, f := range froms {
		fields := strings.Fields(f.args)
		if n := len(fields); n >= 3 && strings.EqualFold(fields[n-2], "AS") {
			stageNames[fields[n-1]] = i
		}
	}

	var user, entrypoint string
	var built, copied string // the go build -o output; the final stage's copy of it
	var exposed []string
	for _, in := range instrs {
		switch {
		case in.cmd == "RUN" && strings.Contains(in.args, "go build") && in.stage < final:
			if !strings.Contains(in.args, "./cmd/ikq") {
				t.Errorf("RUN %s: does not build ./cmd/ikq", in.args)
			}
			if !strings.Contains(in.args, "CGO_ENABLED=0") {
				t.Errorf("RUN %s: the final stage has no libc: build with CGO_ENABLED=0", in.args)
			}
			f := strings.Fields(in.args)
			if i := slices.Index(f, "-o"); i >= 0 && i+1 < len(f) {
				built = f[i+1]
			}
		case in.stage != final:
		case in.cmd == "USER":
			user = in.args
		case in.cmd == "ENTRYPOINT":
			entrypoint = in.args
		case in.cmd == "EXPOSE":
			exposed = append(exposed, strings.Fields(in.args)...)
		case in.cmd == "COPY" && strings.Contains(in.args, "--from="):
			f := strings.Fields(in.args)
			var from string
			var paths []string
			for _, x := range f {
				if v, ok := strings.CutPrefix(x, "--from="); ok {
					from = v
				} else if !strings.HasPrefix(x, "--") {
					paths = append(paths, x)
				}
			}
			if _, ok := stageNames[from]; !ok {
				if _, err := strconv.Atoi(from); err != nil {
					t.Errorf("COPY --from=%s: no such stage", from)
				}
			}
			if len(paths) == 2 && paths[1] == ikqBinary {
				copied = paths[0]
			}
		}
	}
	if built == "" {
		t.Error("no `go build -o ...` in a build stage")
	}
	if copied == "" || copied != built {
		t.Errorf("the final stage copies %q to %s; the build writes %q", copied, ikqBinary, built)
	}
	name, _, _ := strings.Cut(user, ":")
	if name == "" || name == "root" || name == "0" {
		t.Errorf("final stage USER %q: want a non-root user", user)
	}
	if entrypoint != `["`+ikqBinary+`"]` {
		t.Errorf("ENTRYPOINT %s: want [%q] (exec form: the image has no shell)", entrypoint, ikqBinary)
	}
	cf, _, _ := loadCompose(t)
	for _, name := range ikqServices(cf) {
		if p := listenPort(t, cf.Services[name]); p != "" && !slices.Contains(exposed, p) && !slices.Contains(exposed, p+"/tcp") {
			t.Errorf("%s listens on %s; the Dockerfile exposes %v", name, p, exposed)
		}
	}
}

// TestDockerfileContext checks that .dockerignore keeps out of the build context
// nothing the build needs: go.mod, go.sum, the non-test Go files and every file they
// embed.
func TestDockerfileContext(t *testing.T) {
	raw, err := os.ReadFile(repoRoot + "/.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for line := range strings.SplitSeq(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") {
			t.Fatalf(".dockerignore %q: exceptions are not understood by this test", line)
		}
		patterns = append(patterns, strings.TrimPrefix(line, "/"))
	}
	// ignored reports whether a pattern matches path or one of its parent directories.
	// Enough of Docker's syntax for this file: globs per segment and a leading **/.
	ignored := func(path string) string {
		for _, p := range patterns {
			for dir := path; dir != "."; dir = filepath.Dir(dir) {
				if ok, _ := filepath.Match(p, dir); ok {
					return p
				}
				if rest, ok := strings.CutPrefix(p, "**/"); ok {
					if ok, _ := filepath.Match(rest, filepath.Base(dir)); ok {
						return p
					}
				}
			}
		}
		return ""
	}

	if ignored(".git") == "" {
		t.Error(".dockerignore does not keep out .git")
	}
	needed := []string{"go.mod", "go.sum"}
	embed := regexp.MustCompile(`(?m)^//go:embed\s+(.+)$`)
	err = filepath.WalkDir(repoRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, p)
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() && p != repoRoot {
			// A folder with its own go.mod (examples, .ci/rclone) is another module,
			// which the image does not build.
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		needed = append(needed, rel)
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range embed.FindAllStringSubmatch(string(src), -1) {
			for _, pat := range strings.Fields(m[1]) {
				files, _ := filepath.Glob(filepath.Join(filepath.Dir(p), strings.Trim(pat, `"`)))
				for _, f := range files {
					r, _ := filepath.Rel(repoRoot, f)
					needed = append(needed, r)
				}
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, p := range needed {
		if pat := ignored(p); pat != "" {
			t.Errorf(".dockerignore pattern %q keeps %s, which the build needs, out of the context", pat, p)
		}
	}
}
