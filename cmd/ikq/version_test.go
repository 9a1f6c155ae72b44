package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionText(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "ikq (devel)\n"},
		{"a checkout without VCS", &debug.BuildInfo{GoVersion: "go1.24.0", Main: debug.Module{Version: "(devel)"}},
			"ikq (devel) go1.24.0\n"},
		{"a release", &debug.BuildInfo{GoVersion: "go1.24.0", Main: debug.Module{Version: "v1.2.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "false"},
		}}, "ikq v1.2.0 go1.24.0\ncommit 0123abc (2026-01-02T03:04:05Z)\n"},
		{"a dirty tree", &debug.BuildInfo{GoVersion: "go1.24.0", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.modified", Value: "true"},
		}}, "ikq (devel) go1.24.0\ncommit 0123abc, with uncommitted changes\n"},
	}
	for _, c := range cases {
		if got := versionText(c.info); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

// TestVersionCommand runs `ikq version` as built for this test: it prints one line
// naming ikq and the Go version it was built with, and exits 0.
func TestVersionCommand(t *testing.T) {
	t.Parallel()
	r := ikq(t, "version")
	info, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("this test binary has no build info")
	}
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ikq ") || !strings.Contains(r.stdout, info.GoVersion) {
		t.Errorf("ikq version: exit %d, stdout %q; want 0 and ikq's version built with %s", r.code, r.stdout, info.GoVersion)
	}
	if r := ikq(t, "version", "extra"); r.code != 2 {
		t.Errorf("ikq version extra: exit %d, want 2", r.code)
	}
}
