package main

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/tasks"
)

// readCSV reads a results file, header first.
func readCSV(t *testing.T, p string) [][]string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return rows
}

// TestRunCommands is a bulk run with failures as a user meets it: the run listed,
// shown with its failures grouped by reason, its results exported in the format
// --results wrote, its failed items re-run to completion and nothing else uploaded
// again; then single jobs listed, canceled and retried. It sets the environment, so
// it does not run in parallel.
func TestRunCommands(t *testing.T) {
	r := redistest.New(t)
	emu := startEmulator(t)
	t.Setenv("IMAGEKIT_PRIVATE_KEY", "private_test")
	t.Setenv("IMAGEKIT_API_URL", emu)
	root := t.TempDir()
	w := startWorker(t, "--redis-url", r.URL(), "--imagekit-upload-url", emu+"/api/v1/files/upload", "--imagekit-api-url", emu, "--file-root", root)
	dir := filepath.Join(root, "tree")
	files := writeTree(t, dir, 6)
	k := func(args ...string) result { t.Helper(); return ikq(t, append(args, "--redis-url", r.URL())...) }

	// The next three uploads are refused: two for one reason, one for another.
	emulatorAPI(t, http.MethodPost, emu+"/_emulator/faults", []map[string]any{
		{"status": 400, "count": 2, "message": "Your request contains invalid syntax."},
		{"status": 403, "count": 1, "message": "Your account is not allowed to upload this file."},
	}, nil)
	waitResults := filepath.Join(t.TempDir(), "wait.csv")
	res := k("bulk", "--mode", "enqueue", "--wait", "--wait-timeout", "2m", "--concurrency", "1",
		"--run", "mig-e2e", "--folder", "/runs", "--results", waitResults, dir)
	if res.code != 1 {
		t.Fatalf("ikq bulk with 3 refused uploads exited %d, want 1\nstderr: %s\nworker: %s", res.code, res.stderr, w.stderr.String())
	}
	for _, want := range []string{"6 jobs: 3 completed, 3 failed", "run mig-e2e: ikq run show mig-e2e",
		"ikq results --run mig-e2e --format csv", "re-run the failed items: ikq retry --run mig-e2e"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("bulk's summary does not say %q:\n%s", want, res.stderr)
		}
	}
	if n := emulatorUploads(t, emu); n != 3 {
		t.Fatalf("%d uploads, want the 3 not refused", n)
	}

	// ikq runs: a table and JSON lines.
	runs := k("runs")
	if runs.code != 0 || !strings.Contains(runs.stdout, "RUN") {
		t.Fatalf("ikq runs: exit %d\n%s%s", runs.code, runs.stdout, runs.stderr)
	}
	if line := lineWith(runs.stdout, "mig-e2e"); !slices.Equal(strings.Fields(line)[3:], []string{"enqueue", "6", "0", "3", "3", "0", dir}) {
		t.Errorf("ikq runs: the run's row %q, want mode enqueue, 6 jobs, 0 running, 3 completed, 3 failed, 0 canceled, its folder", line)
	}
	runs = k("runs", "--json")
	var listed tasks.Run
	if err := json.Unmarshal([]byte(strings.TrimSpace(runs.stdout)), &listed); err != nil || listed.ID != "mig-e2e" || listed.Counts.Failed != 3 || listed.Mode != "enqueue" {
		t.Errorf("ikq runs --json: %v\n%s", err, runs.stdout)
	}

	// ikq run show: counts and failures grouped by reason; exit 1 as failures remain.
	show := k("run", "show", "mig-e2e")
	if show.code != 1 {
		t.Errorf("ikq run show exited %d, want 1 (failures)", show.code)
	}
	for _, want := range []string{"jobs     6 (done): 3 completed, 3 failed, 0 canceled, 0 running",
		"2× Your request contains invalid syntax.", "1× Your account is not allowed to upload this file."} {
		if !strings.Contains(show.stdout, want) {
			t.Errorf("ikq run show does not say %q:\n%s", want, show.stdout)
		}
	}
	show = k("run", "show", "--json", "mig-e2e")
	var shown tasks.Run
	if err := json.Unmarshal([]byte(show.stdout), &shown); err != nil || shown.Counts != (tasks.RunCounts{Completed: 3, Failed: 3}) ||
		shown.Total != 6 || len(shown.Failures) != 2 || shown.Failures[0].Count != 2 || shown.Root != dir {
		t.Errorf("ikq run show --json: %v\n%s", err, show.stdout)
	}

	// ikq list: the run's failed jobs.
	list := k("list", "--run", "mig-e2e", "--status", "failed", "--json")
	var failedIDs []string
	for _, line := range strings.Split(strings.TrimSpace(list.stdout), "\n") {
		var j tasks.Job
		if err := json.Unmarshal([]byte(line), &j); err != nil || j.Status != tasks.StatusFailed || j.Run != "mig-e2e" {
			t.Fatalf("ikq list --run --status failed: line %q: %v", line, err)
		}
		failedIDs = append(failedIDs, j.ID)
	}
	if list.code != 0 || len(failedIDs) != 3 {
		t.Fatalf("ikq list: exit %d, %d failed jobs, want 3\n%s", list.code, len(failedIDs), list.stderr)
	}

	// ikq results: the rows --wait wrote, in one format. A failed item's size comes
	// from the file bulk read, which Redis does not keep.
	exported := filepath.Join(t.TempDir(), "export.csv")
	if res := k("results", "--run", "mig-e2e", "--output", exported); res.code != 0 {
		t.Fatalf("ikq results exited %d: %s", res.code, res.stderr)
	}
	got, want := readCSV(t, exported), readCSV(t, waitResults)
	if len(got) != 7 || !slices.Equal(got[0], want[0]) {
		t.Fatalf("exported results %q, want a header and 6 rows as --results wrote", got)
	}
	key := func(rows [][]string) []string {
		var out []string
		for _, row := range rows[1:] {
			if row[1] != "completed" {
				row[6] = ""
			}
			out = append(out, strings.Join(row, "|"))
		}
		slices.Sort(out)
		return out
	}
	if g, w := key(got), key(want); !slices.Equal(g, w) {
		t.Errorf("exported rows\n%s\nwant the rows --results wrote\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
	failedRows := 0
	for _, row := range got[1:] {
		rel, err := filepath.Rel(dir, row[0])
		switch {
		case err != nil || strings.HasPrefix(rel, ".."):
			t.Errorf("row %q: source is not a file of the folder", row)
		case row[1] == "completed" && (row[3] == "" || row[4] != "/runs/"+filepath.ToSlash(rel) || !strings.HasPrefix(row[5], "http") || row[6] == "" || row[7] != "1"):
			t.Errorf("completed row %q: want its file id, path, url, size and 1 attempt", row)
		case row[1] == "failed":
			failedRows++
			if !strings.HasPrefix(row[9], "Your ") || row[7] != "1" || row[3] != "" {
				t.Errorf("failed row %q: want the reason and 1 attempt", row)
			}
		}
	}
	if failedRows != 3 {
		t.Errorf("%d failed rows, want 3", failedRows)
	}

	// ikq retry --run: exactly the failed items run again, to completion.
	retry := k("retry", "--run", "mig-e2e", "--wait", "--wait-timeout", "2m")
	if retry.code != 0 || !strings.Contains(retry.stderr, "run mig-e2e: 3 failed jobs queued again") {
		t.Fatalf("ikq retry --run exited %d\nstderr: %s\nworker: %s", retry.code, retry.stderr, w.stderr.String())
	}
	var after tasks.Run
	if err := json.Unmarshal([]byte(retry.stdout), &after); err != nil || after.Counts != (tasks.RunCounts{Completed: 6}) || !after.Done {
		t.Errorf("the run after the retry: %v\n%s", err, retry.stdout)
	}
	if n := emulatorUploads(t, emu); n != int64(len(files)) {
		t.Errorf("%d uploads after the retry, want %d: the 3 failed items, and nothing else again", n, len(files))
	}
	if got := emulatorFiles(t, emu, "/runs"); len(got) != len(files) {
		t.Errorf("the emulator holds %d files under /runs, want %d", len(got), len(files))
	}
	jsonl := k("results", "--run", "mig-e2e", "--format", "jsonl")
	lines := strings.Split(strings.TrimSpace(jsonl.stdout), "\n")
	for _, line := range lines {
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil || row["status"] != "completed" || row["fileId"] == nil {
			t.Errorf("JSON lines row %q after the retry (%v): want completed with its file", line, err)
		}
	}
	if len(lines) != len(files) {
		t.Errorf("%d JSON lines, want %d", len(lines), len(files))
	}

	// Single jobs: cancel one that waits, retry it, refuse what cannot be done.
	enq := k("enqueue", "--file", emu+"/_emulator/sample.jpg", "--file-name", "later.jpg", "--run-at", "1h")
	id := enq.job(t).ID
	if c := k("cancel", id); c.code != 0 || c.job(t).Status != tasks.StatusCanceled {
		t.Errorf("ikq cancel: exit %d\n%s%s", c.code, c.stdout, c.stderr)
	}
	if c := k("retry", id); c.code != 0 || c.job(t).Status != tasks.StatusQueued {
		t.Errorf("ikq retry ID: exit %d\n%s%s", c.code, c.stdout, c.stderr)
	}
	if c := k("retry", failedIDs[0]); c.code != 1 || !strings.Contains(c.stderr, "is completed: only failed or canceled jobs can be retried") {
		t.Errorf("ikq retry of a completed job: exit %d, %s", c.code, c.stderr)
	}
	if c := k("cancel", "01JNOSUCHJOB0000000000000"); c.code != 1 || !strings.Contains(c.stderr, "no job 01JNOSUCHJOB0000000000000") {
		t.Errorf("ikq cancel of an unknown job: exit %d, %s", c.code, c.stderr)
	}
	all := k("list", "--limit", "3")
	if all.code != 0 || !strings.Contains(lineWith(all.stdout, id), "queued") || !strings.Contains(all.stderr, "more: add -cursor ") {
		t.Errorf("ikq list --limit 3: exit %d, want the newest job queued and a cursor for more\n%s%s", all.code, all.stdout, all.stderr)
	}
	k("cancel", id)
}

// lineWith is the first line of s that contains sub.
func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// TestRetryLocalRun: a run uploaded from the machine it ran on is retried from there,
// with a worker of its own on the run's queue. It sets the environment, so it does
// not run in parallel.
func TestRetryLocalRun(t *testing.T) {
	r := redistest.New(t)
	emu := startEmulator(t)
	t.Setenv("IMAGEKIT_PRIVATE_KEY", "private_test")
	t.Setenv("IMAGEKIT_UPLOAD_URL", emu+"/api/v1/files/upload")
	t.Setenv("IMAGEKIT_API_URL", emu)
	t.Setenv("IKQ_FILE_ROOT", "")
	dir := t.TempDir()
	writeTree(t, dir, 3)
	emulatorAPI(t, http.MethodPost, emu+"/_emulator/faults", map[string]any{"status": 400, "count": 1, "message": "Refused once."}, nil)
	res := ikq(t, "bulk", "--redis-url", r.URL(), "--mode", "local", "--concurrency", "1", "--run", "laptop-2", "--folder", "/lap", dir)
	if res.code != 1 || !strings.Contains(res.stderr, "3 jobs: 2 completed, 1 failed") {
		t.Fatalf("ikq bulk -mode local with 1 refused upload: exit %d\n%s", res.code, res.stderr)
	}
	retry := ikq(t, "retry", "--redis-url", r.URL(), "--run", "laptop-2")
	if retry.code != 0 || !strings.Contains(retry.stderr, "run laptop-2 uploads from this machine") {
		t.Fatalf("ikq retry --run of a local run: exit %d\n%s", retry.code, retry.stderr)
	}
	var after tasks.Run
	if err := json.Unmarshal([]byte(retry.stdout), &after); err != nil || after.Counts != (tasks.RunCounts{Completed: 3}) {
		t.Errorf("the run after the retry: %v\n%s", err, retry.stdout)
	}
	if n := emulatorUploads(t, emu); n != 3 {
		t.Errorf("%d uploads, want 3", n)
	}

	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"run", "show"}, 2, "usage: ikq run show"},
		{[]string{"run", "show", "bad id"}, 2, "is not a run id"},
		{[]string{"run", "show", "nope"}, 1, "no run nope in this Redis"},
		{[]string{"results", "--run", "laptop-2", "--format", "xml"}, 2, "want csv or jsonl"},
		{[]string{"results"}, 2, "usage: ikq results"},
		{[]string{"retry"}, 2, "usage: ikq retry"},
		{[]string{"retry", "--run", "x", "some-id"}, 2, "usage: ikq retry"},
		{[]string{"list", "--status", "gone"}, 2, "-status \"gone\""},
		{[]string{"runs", "--limit", "0"}, 2, "-limit must be"},
	} {
		got := ikq(t, append(c.args, "--redis-url", r.URL())...)
		if got.code != c.code || !strings.Contains(got.stderr, c.says) {
			t.Errorf("ikq %s: exit %d, stderr %q; want %d saying %q", strings.Join(c.args, " "), got.code, got.stderr, c.code, c.says)
		}
	}
}
