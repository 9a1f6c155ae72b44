package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/tasks"
)

// specOf calls specFromFlags as runEnqueue does when only the named flags are set.
func specOf(set map[string]string, now time.Time) (*tasks.Upload, error) {
	values := map[string]*string{}
	isSet := map[string]bool{}
	for _, o := range tasks.Options() {
		v := set[o.Flag()]
		values[o.Flag()] = &v
		_, isSet[o.Flag()] = set[o.Flag()]
	}
	return specFromFlags(values, isSet, now)
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("not JSON: %s", a)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return reflect.DeepEqual(va, vb)
}

// TestEnqueueFlagsCoverOptions sets each job option through its flag, written as its
// example reads on the command line, and expects the job the JSON example makes.
func TestEnqueueFlagsCoverOptions(t *testing.T) {
	t.Parallel()
	for _, o := range tasks.Options() {
		t.Run(o.Name, func(t *testing.T) {
			t.Parallel()
			text := o.Example
			var s string
			if json.Unmarshal([]byte(o.Example), &s) == nil {
				text = s // a string is typed without its quotes
			}
			spec, err := specOf(map[string]string{o.Flag(): text}, time.Now())
			if err != nil {
				t.Fatalf("--%s %s: %v", o.Flag(), text, err)
			}
			want, err := tasks.Decode([]byte(`{"` + o.Name + `": ` + o.Example + `}`))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(spec)
			wantJSON, _ := json.Marshal(want)
			if !jsonEqual(t, got, wantJSON) {
				t.Errorf("--%s %s gave the job\n%s\nwant\n%s", o.Flag(), text, got, wantJSON)
			}
		})
	}
}

func TestSpecFromFlags(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	// Each flag once: the value typed, and the JSON of the field it must set.
	cases := []struct{ flag, value, field, want string }{
		{"file", "https://example.com/a.jpg", "file", `"https://example.com/a.jpg"`},
		{"file-name", "a.jpg", "fileName", `"a.jpg"`},
		{"use-unique-file-name", "false", "useUniqueFileName", `false`},
		{"tags", "a, b", "tags", `["a","b"]`},
		{"folder", "/images/products", "folder", `"/images/products"`},
		{"is-private-file", "true", "isPrivateFile", `true`},
		{"is-published", "false", "isPublished", `false`},
		{"custom-coordinates", "10,10,100,100", "customCoordinates", `"10,10,100,100"`},
		{"response-fields", "tags,customCoordinates", "responseFields", `["tags","customCoordinates"]`},
		{"extensions", `[{"name":"remove-bg"}]`, "extensions", `[{"name":"remove-bg"}]`},
		{"webhook-url", "https://app.example.com/hook", "webhookUrl", `"https://app.example.com/hook"`},
		{"overwrite-file", "false", "overwriteFile", `false`},
		{"overwrite-ai-tags", "0", "overwriteAITags", `false`},
		{"overwrite-tags", "true", "overwriteTags", `true`},
		{"overwrite-custom-metadata", "false", "overwriteCustomMetadata", `false`},
		{"custom-metadata", `{"brand":"Nike","price":10}`, "customMetadata", `{"brand":"Nike","price":10}`},
		{"transformation", `{"pre":"rt-90"}`, "transformation", `{"pre":"rt-90"}`},
		{"checks", `"file.size" < "1mb"`, "checks", `"\"file.size\" < \"1mb\""`},
		{"description", "a photo", "description", `"a photo"`},
		{"callback-url", "https://app.example.com/done", "callbackUrl", `"https://app.example.com/done"`},
		{"queue", "low", "queue", `"low"`},
		{"run-at", "2030-01-02T03:04:05+02:00", "runAt", `"2030-01-02T01:04:05Z"`},
		{"max-attempts", "3", "maxAttempts", `3`},
		{"idempotency-key", "order-1", "idempotencyKey", `"order-1"`},
		{"fetch", "remote", "fetch", `"remote"`},
		{"if-exists", "skip", "ifExists", `"skip"`},
		{"run", "photos-1", "run", `"photos-1"`},
	}
	// Every kind of option is read from the command line at least once here.
	kinds := map[tasks.OptionKind]bool{}
	for _, o := range tasks.Options() {
		for _, c := range cases {
			if c.flag == o.Flag() {
				kinds[o.Kind()] = true
			}
		}
	}
	for _, k := range []tasks.OptionKind{tasks.KindString, tasks.KindList, tasks.KindBool, tasks.KindInt, tasks.KindJSON, tasks.KindTime} {
		if !kinds[k] {
			t.Errorf("no case reads an option of kind %s", k)
		}
	}

	for _, c := range cases {
		t.Run(c.flag, func(t *testing.T) {
			t.Parallel()
			spec, err := specOf(map[string]string{c.flag: c.value}, now)
			if err != nil {
				t.Fatalf("--%s %s: %v", c.flag, c.value, err)
			}
			got, err := json.Marshal(spec)
			if err != nil {
				t.Fatal(err)
			}
			// file and fileName are always written; the flag sets one field besides.
			want := map[string]json.RawMessage{"file": json.RawMessage(`""`), "fileName": json.RawMessage(`""`)}
			want[c.field] = json.RawMessage(c.want)
			wantJSON, _ := json.Marshal(want)
			if !jsonEqual(t, got, wantJSON) {
				t.Errorf("--%s %s gave the job\n%s\nwant\n%s", c.flag, c.value, got, wantJSON)
			}
		})
	}
}

func TestSpecFromFlagsValues(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	spec, err := specOf(map[string]string{
		"run-at":     "10m",
		"tags":       "a,b",
		"extensions": `[{"name":"remove-bg"}]`,
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	if spec.RunAt == nil || !spec.RunAt.Equal(now.Add(10*time.Minute)) {
		t.Errorf("--run-at 10m: runAt = %v, want %v", spec.RunAt, now.Add(10*time.Minute))
	}
	if !slices.Equal(spec.Tags, []string{"a", "b"}) {
		t.Errorf("--tags a,b: tags = %q, want [a b]", spec.Tags)
	}
	if len(spec.Extensions) != 1 || spec.Extensions[0].Name != "remove-bg" {
		t.Errorf("--extensions: %+v, want one remove-bg", spec.Extensions)
	}
	// An unset flag leaves its field at the job's default.
	if spec.UseUniqueFileName != nil || spec.MaxAttempts != 0 || spec.Queue != "" {
		t.Errorf("unset flags changed fields: %+v", spec)
	}
}

func TestSpecFromFlagsErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ flag, value string }{
		{"use-unique-file-name", "maybe"},
		{"is-private-file", ""},
		{"max-attempts", "ten"},
		{"max-attempts", "2.5"},
		{"extensions", `[{"name":`},
		{"custom-metadata", "brand=Nike"},
		{"transformation", "{"},
		{"run-at", "tomorrow"},
		{"run-at", "2030-01-02"},
		// Valid JSON of the wrong shape: the job's decoder refuses it.
		{"extensions", `{"name":"remove-bg"}`},
		{"extensions", `[{"name":"remove-bg","maxTags":"five"}]`},
		{"custom-metadata", `[1,2]`},
	} {
		_, err := specOf(map[string]string{c.flag: c.value}, time.Now())
		if err == nil || !strings.Contains(err.Error(), "--"+c.flag) {
			t.Errorf("--%s %q: err = %v, want an error naming --%s", c.flag, c.value, err, c.flag)
		}
	}
}

// result is one run of the command.
type result struct {
	code           int
	stdout, stderr string
}

// ikq runs the command in-process, as `ikq args...`, bounded by a generous timeout.
func ikq(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

func (r result) job(t *testing.T) *jobstore.Job {
	t.Helper()
	var job jobstore.Job
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(&job); err != nil {
		t.Fatalf("stdout is not a job record: %v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than the job record:\n%s", r.stdout)
	}
	return &job
}

// worker is a running `ikq worker`.
type workerProc struct {
	stderr *ikqtest.LockedBuffer
}

// startWorker runs `ikq worker` until the test ends, then stops it as SIGTERM would
// and checks that it exits 0.
func startWorker(t *testing.T, args ...string) *workerProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &workerProc{stderr: &ikqtest.LockedBuffer{}}
	done := make(chan int, 1)
	go func() {
		// The sources and callbacks of these tests are on loopback, which the SSRF guard refuses unless allowed.
		done <- run(ctx, append([]string{"worker", "--concurrency", "4", "--shutdown-grace", "10s", "--fetch-allow", "127.0.0.0/8"}, args...), io.Discard, w.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("ikq worker exited %d after its context ended, want 0:\n%s", code, w.stderr.String())
			}
		case <-time.After(time.Minute):
			t.Errorf("ikq worker still running a minute after its context ended:\n%s", w.stderr.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case code := <-done:
			t.Fatalf("ikq worker exited %d at start:\n%s", code, w.stderr.String())
		default:
		}
		if strings.Contains(w.stderr.String(), "worker started") {
			return w
		}
	}
	t.Fatalf("ikq worker did not start within 30s:\n%s", w.stderr.String())
	return nil
}

// TestPipeline runs ikq as a new user would: the emulator, a worker against it, and
// jobs enqueued, followed and looked up from the command line. It sets the
// environment, so it does not run in parallel.
func TestPipeline(t *testing.T) {
	redisURL := redistest.New(t).URL()
	emu := startEmulator(t)
	const key = "private_test"
	t.Setenv("IMAGEKIT_PRIVATE_KEY", key)
	w := startWorker(t, "--redis-url", redisURL, "--imagekit-upload-url", emu+"/api/v1/files/upload")
	sample := emu + "/_emulator/sample.jpg"

	t.Run("completed", func(t *testing.T) {
		r := ikq(t, "enqueue", "--redis-url", redisURL, "--file", sample, "--file-name", "a.jpg", "--wait", "--wait-timeout", "2m")
		if r.code != 0 {
			t.Fatalf("ikq enqueue --wait exited %d, want 0\nstdout: %s\nstderr: %s\nworker: %s", r.code, r.stdout, r.stderr, w.stderr.String())
		}
		job := r.job(t)
		if job.Status != jobstore.StatusCompleted || job.ID == "" || job.Error != nil {
			t.Fatalf("record: id %q, status %s, error %+v; want completed\n%s", job.ID, job.Status, job.Error, r.stdout)
		}
		if !strings.Contains(r.stderr, job.ID) || !strings.Contains(r.stderr, "completed") {
			t.Errorf("stderr does not follow job %s to completed:\n%s", job.ID, r.stderr)
		}
		var res struct {
			URL    string `json:"url"`
			FileID string `json:"fileId"`
		}
		if err := json.Unmarshal(job.Result, &res); err != nil || res.URL == "" {
			t.Fatalf("result %s has no url (%v)", job.Result, err)
		}
		if !bytes.Equal(ikqtest.Get(t, res.URL), ikqtest.Get(t, sample)) {
			t.Errorf("the uploaded file at %s is not the sample", res.URL)
		}

		s := ikq(t, "status", "--redis-url", redisURL, job.ID)
		if s.code != 0 {
			t.Fatalf("ikq status exited %d, want 0\nstderr: %s", s.code, s.stderr)
		}
		again := s.job(t)
		if again.ID != job.ID || again.Status != job.Status || !jsonEqual(t, again.Result, job.Result) {
			t.Errorf("ikq status printed\n%s\nwant the record enqueue printed\n%s", s.stdout, r.stdout)
		}
	})

	t.Run("queued without wait", func(t *testing.T) {
		r := ikq(t, "enqueue", "--redis-url", redisURL, "--file", sample, "--file-name", "b.jpg", "--tags", "x,y")
		if r.code != 0 {
			t.Fatalf("ikq enqueue exited %d, want 0\nstderr: %s", r.code, r.stderr)
		}
		job := r.job(t)
		if job.Status != jobstore.StatusQueued {
			t.Fatalf("enqueue without --wait printed status %s, want queued", job.Status)
		}
		var req tasks.Upload
		if err := json.Unmarshal(job.Request, &req); err != nil || !slices.Equal(req.Tags, []string{"x", "y"}) {
			t.Errorf("request %s: tags %q, %v; want [x y]", job.Request, req.Tags, err)
		}
		var last *jobstore.Job
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			s := ikq(t, "status", "--redis-url", redisURL, job.ID)
			if s.code != 0 {
				t.Fatalf("ikq status of a running or completed job exited %d:\n%s", s.code, s.stderr)
			}
			if last = s.job(t); last.Status == jobstore.StatusCompleted {
				return
			}
		}
		t.Fatalf("job %s not completed within 2 minutes; last status %s\nworker: %s", job.ID, last.Status, w.stderr.String())
	})

	t.Run("failed", func(t *testing.T) {
		r := ikq(t, "enqueue", "--redis-url", redisURL, "--file", sample, "--file-name", "big.jpg",
			"--checks", `"file.size" > "1gb"`, "--wait", "--wait-timeout", "2m")
		if r.code != 1 {
			t.Fatalf("ikq enqueue --wait of a failing job exited %d, want 1\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
		job := r.job(t)
		const msg = "Your request failed 'checks' validation."
		if job.Status != jobstore.StatusFailed || job.Error == nil || job.Error.Message != msg || job.Error.HTTPStatus != http.StatusBadRequest {
			t.Fatalf("record: status %s, error %+v; want failed with 400 %q\n%s", job.Status, job.Error, msg, r.stdout)
		}
		if !strings.Contains(r.stderr, msg) {
			t.Errorf("stderr does not say why the job failed:\n%s", r.stderr)
		}

		s := ikq(t, "status", "--redis-url", redisURL, job.ID)
		if s.code != 1 || s.job(t).Status != jobstore.StatusFailed {
			t.Errorf("ikq status of a failed job exited %d with\n%s\nwant 1 and the failed record", s.code, s.stdout)
		}
	})

	t.Run("status of an unknown job", func(t *testing.T) {
		const id = "01JZZZZZZZZZZZZZZZZZZZZZZZ"
		s := ikq(t, "status", "--redis-url", redisURL, id)
		if s.code != 1 || s.stdout != "" || !strings.Contains(s.stderr, "no job "+id) {
			t.Errorf("ikq status %s: exit %d, stdout %q, stderr %q; want 1, nothing, a message naming the job", id, s.code, s.stdout, s.stderr)
		}
	})

	if strings.Contains(w.stderr.String(), key) {
		t.Errorf("the worker's log holds the private key:\n%s", w.stderr.String())
	}
}

// TestEnqueueBadUsage: mistakes on the command line exit 2, say what is wrong, and
// queue nothing.
func TestEnqueueBadUsage(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	redisURL := r.URL()
	for _, c := range []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"--file-name", "a.jpg"}, "file"},
		{[]string{"--file", "https://example.com/a.jpg", "--file-name", "a.jpg", "--queue", "urgent"}, "queue"},
		{[]string{"--file", "https://example.com/a.jpg", "--file-name", "a.jpg", "--max-attempts", "ten"}, "--max-attempts"},
		{[]string{"--file", "https://example.com/a.jpg", "--file-name", "a.jpg", "--extensions", "remove-bg"}, "--extensions"},
		{[]string{"--file", "https://example.com/a.jpg", "--file-name", "a.jpg", "--no-such-flag"}, "no-such-flag"},
		{[]string{"--file", "https://example.com/a.jpg", "--file-name", "a.jpg", "extra"}, "extra"},
	} {
		args := append([]string{"enqueue", "--redis-url", redisURL}, c.args...)
		res := ikq(t, args...)
		if res.code != 2 || !strings.Contains(res.stderr, c.want) || res.stdout != "" {
			t.Errorf("ikq %s: exit %d, stdout %q, stderr %q; want 2 and a message naming %s",
				strings.Join(c.args, " "), res.code, res.stdout, res.stderr, c.want)
		}
	}
	if res := ikq(t, "enqueue", "--redis-url", redisURL, "--file-name", "a.jpg"); !strings.Contains(res.stderr, "not valid") {
		t.Errorf("a job without a file: stderr %q, want it to say the job is not valid", res.stderr)
	}

	rdb := r.Client(t)
	jobs, _, err := jobstore.New(rdb, jobstore.Options{}).List(t.Context(), jobstore.ListOptions{})
	if err != nil || len(jobs) != 0 {
		t.Errorf("bad usage recorded %d jobs (%v)", len(jobs), err)
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	if queues, err := insp.Queues(); err != nil || len(queues) != 0 {
		t.Errorf("bad usage touched queues %v (%v)", queues, err)
	}
}

func TestStatusUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"status"}, {"status", "a", "b"}, {"status", "--no-such-flag", "a"}} {
		if r := ikq(t, args...); r.code != 2 || !strings.Contains(r.stderr, "ikq status") {
			t.Errorf("ikq %v: exit %d, stderr %q; want 2 and a usage message", args, r.code, r.stderr)
		}
	}
}

func TestWorkerNeedsPrivateKey(t *testing.T) {
	t.Setenv("IMAGEKIT_PRIVATE_KEY", "")
	r := ikq(t, "worker", "--redis-url", "redis://127.0.0.1:1/0")
	if r.code != 2 || !strings.Contains(r.stderr, "IMAGEKIT_PRIVATE_KEY") {
		t.Errorf("ikq worker without a key: exit %d, stderr %q; want 2 and a message naming IMAGEKIT_PRIVATE_KEY", r.code, r.stderr)
	}
}

// TestHelpHidesSecrets: -h prints every command's flags on stderr, and never the
// secrets the environment holds.
func TestHelpHidesSecrets(t *testing.T) {
	secrets := map[string]string{
		"IMAGEKIT_PRIVATE_KEY":        "private_s3cr3t_key_value",
		"REDIS_URL":                   "redis://ikq:hunter2-redis-pass@127.0.0.1:1/0",
		"IKQ_EMULATOR_PRIVATE_KEY":    "emulator_s3cr3t_key",
		"IKQ_EMULATOR_WEBHOOK_SECRET": "emulator_webhook_s3cr3t",
	}
	for name, v := range secrets {
		t.Setenv(name, v)
	}
	leaks := []string{"private_s3cr3t_key_value", "hunter2-redis-pass", "emulator_s3cr3t_key", "emulator_webhook_s3cr3t"}
	for _, cmd := range []string{"worker", "enqueue", "status", "emulator"} {
		r := ikq(t, cmd, "-h")
		if r.code != 0 || !strings.Contains(r.stderr, "-") || r.stdout != "" {
			t.Errorf("ikq %s -h: exit %d, stdout %q, stderr %q; want 0 and the flags on stderr", cmd, r.code, r.stdout, r.stderr)
		}
		for _, s := range leaks {
			if strings.Contains(r.stderr, s) {
				t.Errorf("ikq %s -h prints the secret %q:\n%s", cmd, s, r.stderr)
			}
		}
	}
	if r := ikq(t, "worker", "-h"); !strings.Contains(r.stderr, "IMAGEKIT_PRIVATE_KEY") || !strings.Contains(r.stderr, "-redis-url") {
		t.Errorf("ikq worker -h does not document its key and Redis flags:\n%s", r.stderr)
	}
}

// The emulator reads its key from the environment when the flag is not given, and an
// explicit flag wins.
func TestEmulatorKeyFromEnvironment(t *testing.T) {
	t.Setenv("IKQ_EMULATOR_PRIVATE_KEY", "from_env")
	for _, c := range []struct {
		args []string
		key  string
	}{
		{nil, "from_env"},
		{[]string{"--private-key", "from_flag"}, "from_flag"},
	} {
		base := startEmulator(t, c.args...)
		for _, k := range []string{c.key, "private_test"} {
			req, err := http.NewRequest(http.MethodGet, base+"/v1/files", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.SetBasicAuth(k, "")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if ok := resp.StatusCode == http.StatusOK; ok != (k == c.key) {
				t.Errorf("emulator %v: GET /v1/files with key %q answered %s", c.args, k, resp.Status)
			}
		}
	}
}
