package main

import (
	"flag"
	"io"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/bytesize"
	"github.com/ikq-dev/ikq/producer"
)

// roleFlagSets are the flag sets of the commands that run a role, as the commands
// build them.
func roleFlagSets() map[string]*flag.FlagSet {
	api, _ := newAPICommand(io.Discard)
	wrk, _ := newWorkerCommand(io.Discard)
	dev, _ := newDevCommand(io.Discard)
	return map[string]*flag.FlagSet{"api": api, "worker": wrk, "dev": dev}
}

// readmeVariable is a row of the README's configuration table.
type readmeVariable struct {
	def, devDef string // devDef: ikq dev's own default, when the row gives one
}

var codeSpan = regexp.MustCompile("`([^`]*)`")

// readmeConfiguration parses the table under "### Configuration" in README.md. A
// default cell reads "none…" (no default) or "`value`…", optionally followed by
// "(`ikq dev`: `value`)".
func readmeConfiguration(t *testing.T) map[string]readmeVariable {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "### Configuration\n")
	if !ok {
		t.Fatal("README.md has no ### Configuration section")
	}
	vars := map[string]readmeVariable{}
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "#") {
			break
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if !strings.HasPrefix(line, "| `") || len(cells) != 3 {
			continue
		}
		cell := strings.TrimSpace(cells[2])
		var v readmeVariable
		switch {
		case cell == "" || strings.HasPrefix(cell, "none"):
		case strings.HasPrefix(cell, "`"):
			v.def = codeSpan.FindStringSubmatch(cell)[1]
		default:
			t.Errorf("README configuration: the default of %s reads %q: write none… or `value`", cells[0], cell)
		}
		v.devDef = v.def
		if _, dev, ok := strings.Cut(cell, "(`ikq dev`: `"); ok {
			v.devDef, _, _ = strings.Cut(dev, "`")
		}
		for _, m := range codeSpan.FindAllStringSubmatch(cells[0], -1) {
			vars[m[1]] = v
		}
	}
	if len(vars) == 0 {
		t.Fatal("README.md's configuration table has no rows")
	}
	return vars
}

// sdkVariables are read by the object stores' SDKs, not by ikq's settings.
var sdkVariables = map[string]bool{
	"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_REGION": true,
	"GOOGLE_APPLICATION_CREDENTIALS": true, "AZURE_STORAGE_ACCOUNT": true, "AZURE_STORAGE_KEY": true,
}

// TestREADMEConfiguration holds the README's configuration table to the settings the
// commands define: every variable documented, every documented one read, and each
// default the code's.
func TestREADMEConfiguration(t *testing.T) {
	t.Parallel()
	readme := readmeConfiguration(t)
	defined := map[string]bool{}
	for role, fs := range roleFlagSets() {
		fs.VisitAll(func(f *flag.Flag) {
			s := settingOf(f)
			if s == nil {
				return
			}
			defined[s.Env] = true
			doc, ok := readme[s.Env]
			if !ok {
				t.Errorf("%s (ikq %s -%s) is not in README.md's configuration table", s.Env, role, s.Flag)
				return
			}
			want := doc.def
			if role == "dev" {
				want = doc.devDef
			}
			if s.Default != want {
				t.Errorf("%s: ikq %s's default is %q, the README says %q", s.Env, role, s.Default, want)
			}
		})
	}
	for name := range readme {
		if !defined[name] && !sdkVariables[name] {
			t.Errorf("README.md documents %s, which no setting of ikq api, worker or dev reads", name)
		}
	}
}

// TestSettingsDefaultsParse: with an empty environment every role's defaults are
// good values.
func TestSettingsDefaultsParse(t *testing.T) {
	for _, fs := range roleFlagSets() {
		fs.VisitAll(func(f *flag.Flag) {
			if s := settingOf(f); s != nil {
				t.Setenv(s.Env, "")
			}
		})
	}
	for role, fs := range roleFlagSets() {
		if err := parseFlags(fs, nil); err != nil {
			t.Errorf("ikq %s with no configuration: %v", role, err)
		}
	}
}

// TestSettingsRejectBadValues: a bad value in the environment stops the command with
// exit 2 and a message naming the variable and its flag, never the default instead.
func TestSettingsRejectBadValues(t *testing.T) {
	cases := []struct{ cmd, env, value, flag string }{
		{"worker", "IKQ_CONCURRENCY", "abc", "concurrency"},
		{"worker", "IKQ_CONCURRENCY", "0", "concurrency"},
		{"worker", "IKQ_SHUTDOWN_GRACE", "-1s", "shutdown-grace"},
		{"worker", "IKQ_RETRY_BASE", "soon", "retry-base"},
		{"worker", "IKQ_QUEUES", "x", "queues"},
		{"worker", "IKQ_QUEUES", "bulk=1", "queues"},
		{"worker", "IKQ_MAX_FILE_SIZE", "big", "max-file-size"},
		{"worker", "IKQ_MAX_FILE_SIZE", "0", "max-file-size"},
		{"worker", "IKQ_METRICS_LISTEN", "9190", "metrics-listen"},
		{"worker", "IMAGEKIT_UPLOAD_URL", "upload.imagekit.io", "imagekit-upload-url"},
		{"worker", "IKQ_FETCH_ALLOW", "10.0.0.0/99", "fetch-allow"},
		{"worker", "IKQ_SOURCE_IDLE_TIMEOUT", "-1s", "source-idle-timeout"},
		{"worker", "IKQ_SOURCE_MIN_RATE", "fast", "source-min-rate"},
		{"worker", "IKQ_SOURCE_HOST_SHARE", "0%", "source-host-share"},
		{"worker", "IKQ_SOURCE_HOST_SHARE", "150%", "source-host-share"},
		{"worker", "IKQ_LOG_LEVEL", "loud", "log-level"},
		{"worker", "IKQ_LOG_FORMAT", "xml", "log-format"},
		{"api", "IKQ_DASHBOARD_WRITABLE", "yes", "dashboard-writable"},
		{"api", "IKQ_LISTEN", "8080", "listen"},
		{"api", "IKQ_PUBLIC_URL", "ikq.example.com", "public-url"},
		{"api", "IKQ_RETENTION", "0", "retention"},
		{"api", "IKQ_RETENTION", "soon", "retention"},
		{"worker", "IKQ_RETENTION", "-7d", "retention"},
		{"api", "IKQ_REDIS_WAIT_REPLICAS", "-1", "redis-wait-replicas"},
		{"api", "IKQ_REDIS_WAIT_TIMEOUT", "0", "redis-wait-timeout"},
		{"dev", "IKQ_CONCURRENCY", "abc", "concurrency"},
		{"dev", "IKQ_QUEUES", "x", "queues"},
		{"dev", "IKQ_SHUTDOWN_GRACE", "-5s", "shutdown-grace"},
		{"dev", "IKQ_MAX_FILE_SIZE", "-1", "max-file-size"},
	}
	for _, c := range cases {
		t.Run(c.cmd+"/"+c.env+"="+c.value, func(t *testing.T) {
			t.Setenv(c.env, c.value)
			t.Setenv("IMAGEKIT_PRIVATE_KEY", "private_test")
			r := ikq(t, c.cmd, "--redis-url", "redis://127.0.0.1:1/0")
			if r.code != 2 || !strings.Contains(r.stderr, c.env) || !strings.Contains(r.stderr, "-"+c.flag) {
				t.Errorf("ikq %s with %s=%q: exit %d, stderr %q; want 2 and a message naming %s and -%s",
					c.cmd, c.env, c.value, r.code, r.stderr, c.env, c.flag)
			}
		})
	}
	// The same on the command line names the flag and the variable.
	r := ikq(t, "worker", "--concurrency", "abc")
	if r.code != 2 || !strings.Contains(r.stderr, "-concurrency") || !strings.Contains(r.stderr, "IKQ_CONCURRENCY") {
		t.Errorf("ikq worker --concurrency abc: exit %d, stderr %q; want 2 naming -concurrency and IKQ_CONCURRENCY", r.code, r.stderr)
	}
}

// TestSettingsSecretsStayOut: a secret's value is never part of an error about it,
// nor of -h.
func TestSettingsSecretsStayOut(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var got string
	define(fs, settingDef{Flag: "token", Env: "IKQ_TEST_TOKEN", Secret: true, Doc: "a token",
		Parse: func(v string) error {
			if !strings.HasPrefix(v, "tok_") {
				return io.ErrUnexpectedEOF
			}
			got = v
			return nil
		}})
	t.Setenv("IKQ_TEST_TOKEN", "s3cr3t-value")
	err := parseFlags(fs, nil)
	if err == nil || strings.Contains(err.Error(), "s3cr3t-value") || !strings.Contains(err.Error(), "IKQ_TEST_TOKEN") {
		t.Errorf("bad secret: %v; want an error naming IKQ_TEST_TOKEN without its value", err)
	}
	if got != "" {
		t.Errorf("a bad value reached the field: %q", got)
	}
}

// TestSettingsPrecedence: the flag wins over the variable, the variable over the
// default; an empty variable is unset, except where empty is a value.
func TestSettingsPrecedence(t *testing.T) {
	t.Setenv("IKQ_CONCURRENCY", "5")
	t.Setenv("IKQ_QUEUES", "")
	t.Setenv("IKQ_METRICS_LISTEN", "")
	fs, cmd := newWorkerCommand(io.Discard)
	if err := parseFlags(fs, []string{"--concurrency", "7"}); err != nil {
		t.Fatal(err)
	}
	if cmd.s.concurrency != 7 {
		t.Errorf("--concurrency 7 with IKQ_CONCURRENCY=5: %d", cmd.s.concurrency)
	}
	if want := map[string]int{"critical": 6, "default": 3, "low": 1}; !reflect.DeepEqual(cmd.s.queues, want) {
		t.Errorf("IKQ_QUEUES empty: %v, want the default %v", cmd.s.queues, want)
	}
	if cmd.metricsAddr != "" || !configured(fs, "metrics-listen") {
		t.Errorf("IKQ_METRICS_LISTEN empty: %q (configured %v), want off", cmd.metricsAddr, configured(fs, "metrics-listen"))
	}
	fs, cmd = newWorkerCommand(io.Discard)
	if err := parseFlags(fs, nil); err != nil {
		t.Fatal(err)
	}
	if cmd.s.concurrency != 5 {
		t.Errorf("IKQ_CONCURRENCY=5: %d", cmd.s.concurrency)
	}
}

// TestDevWorkerReadsWorkerSettings: the worker inside ikq dev gets exactly the
// configuration `ikq worker` gets from the same environment.
func TestDevWorkerReadsWorkerSettings(t *testing.T) {
	env := map[string]string{
		"IMAGEKIT_PRIVATE_KEY":    "private_x",
		"IMAGEKIT_UPLOAD_URL":     "http://127.0.0.1:1/api/v1/files/upload",
		"IMAGEKIT_API_URL":        "http://127.0.0.1:1",
		"IKQ_CONCURRENCY":         "3",
		"IKQ_QUEUES":              "critical=2,low=1",
		"IKQ_SHUTDOWN_GRACE":      "7s",
		"IKQ_RETRY_BASE":          "250ms",
		"IKQ_MAX_FILE_SIZE":       "1MB",
		"IKQ_FILE_ROOT":           "/srv/files",
		"IKQ_S3_ENDPOINT":         "http://127.0.0.1:9000",
		"IKQ_FETCH_ALLOW":         "10.0.0.0/8",
		"IKQ_PUBLIC_URL":          "https://ikq.example.com",
		"IKQ_WEBHOOK_SECRET":      "whsec_x",
		"IKQ_CALLBACK_SECRET":     "whsec_y",
		"IKQ_SOURCE_IDLE_TIMEOUT": "0",
		"IKQ_SOURCE_MIN_RATE":     "16KB/s",
		"IKQ_SOURCE_HOST_SHARE":   "25%",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	wfs, w := newWorkerCommand(io.Discard)
	dfs, d := newDevCommand(io.Discard)
	if err := parseFlags(wfs, nil); err != nil {
		t.Fatal(err)
	}
	if err := parseFlags(dfs, nil); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(w.s, d.w) {
		t.Errorf("ikq dev's worker settings differ from ikq worker's:\n dev    %+v\n worker %+v", d.w, w.s)
	}
	fromWorker, err := workerConfig(w.s, workerParts{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := workerConfig(d.w, workerParts{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromWorker, got) {
		t.Error("ikq dev's worker.Config differs from ikq worker's")
	}
	if got.Concurrency != 3 || got.ShutdownGrace != 7*time.Second || got.RetryBase != 250*time.Millisecond ||
		!reflect.DeepEqual(got.Queues, map[string]int{"critical": 2, "low": 1}) || !got.TrackTransformations ||
		got.CallbackSecret != "whsec_y" || got.UploadURL != env["IMAGEKIT_UPLOAD_URL"] {
		t.Errorf("ikq dev's worker.Config does not hold the environment's values: %+v", got)
	}
	if src := got.Sources; src.IdleTimeout != -1 || src.MinRate != 16<<10 || src.HostShare != 25 {
		t.Errorf("IKQ_SOURCE_IDLE_TIMEOUT=0 (off), IKQ_SOURCE_MIN_RATE=16KB/s, IKQ_SOURCE_HOST_SHARE=25%%: got %+v", src)
	}
	if d.w.maxFileSize != bytesize.Size(1<<20) && d.w.maxFileSize != bytesize.Size(1000*1000) {
		t.Errorf("IKQ_MAX_FILE_SIZE=1MB gave ikq dev's worker %d bytes", d.w.maxFileSize)
	}
	// The API of ikq dev shares the settings both roles read.
	if d.a.publicURL != env["IKQ_PUBLIC_URL"] || d.a.webhookSecret != env["IKQ_WEBHOOK_SECRET"] {
		t.Errorf("ikq dev's API did not get IKQ_PUBLIC_URL and IKQ_WEBHOOK_SECRET: %+v", d.a)
	}
}

// FuzzParseQueues: IKQ_QUEUES is outside input; it parses to known queues with
// positive weights, or is refused.
func FuzzParseQueues(f *testing.F) {
	for _, s := range []string{"critical=6,default=3,low=1", "x", "low=0", "default=1,,", "=3", "low=99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := parseQueues(s)
		if err != nil {
			return
		}
		for name, w := range q {
			if w <= 0 || (name != "critical" && name != "default" && name != "low") {
				t.Errorf("parseQueues(%q) = %v", s, q)
			}
		}
	})
}

// TestStoreSettings: the job store's settings reach every role, and the producer and
// worker configurations built from them.
func TestStoreSettings(t *testing.T) {
	t.Setenv("IKQ_RETENTION", "36h")
	t.Setenv("IKQ_REDIS_WAIT_REPLICAS", "1")
	t.Setenv("IKQ_REDIS_WAIT_TIMEOUT", "250ms")
	want := storeSettings{retention: 36 * time.Hour, waitReplicas: 1, waitTimeout: 250 * time.Millisecond}
	afs, a := newAPICommand(io.Discard)
	wfs, w := newWorkerCommand(io.Discard)
	dfs, d := newDevCommand(io.Discard)
	for role, c := range map[*flag.FlagSet]*common{afs: &a.c, wfs: &w.c, dfs: &d.c} {
		if err := parseFlags(role, nil); err != nil {
			t.Fatal(err)
		}
		if c.store != want {
			t.Errorf("ikq %s: store settings %+v, want %+v", role.Name(), c.store, want)
		}
	}
	p := a.c.producerConfig(producer.Config{})
	if p.Retention != want.retention || p.WaitReplicas != 1 || p.WaitTimeout != want.waitTimeout {
		t.Errorf("producer.Config %+v", p)
	}
	w.s.retention = w.c.store.retention
	if cfg, err := workerConfig(w.s, workerParts{}); err != nil || cfg.Retention != want.retention {
		t.Errorf("worker.Config.Retention = %v, %v", cfg.Retention, err)
	}
}

func TestRetentionValue(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "1d": 24 * time.Hour, "36h": 36 * time.Hour, "90m": 90 * time.Minute} {
		var d time.Duration
		if err := retentionValue(&d)(in); err != nil || d != want {
			t.Errorf("%q: %v, %v; want %v", in, d, err, want)
		}
	}
	for _, in := range []string{"", "0", "0d", "-1d", "d", "7days", "1.5d", "99999999999999d", "-3h"} {
		var d time.Duration
		if err := retentionValue(&d)(in); err == nil {
			t.Errorf("%q accepted as %v", in, d)
		}
	}
}
