package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
)

// runVersion prints the module version and the commit the binary was built from, as
// the Go toolchain recorded them. A binary built from a checkout (go build, go run)
// has the version "(devel)"; without VCS information there is no commit line.
func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	info, _ := debug.ReadBuildInfo()
	_, err := io.WriteString(stdout, versionText(info))
	return err
}

// versionText describes a build: "ikq v1.2.0", then the commit, its time and whether
// the tree had uncommitted changes, when the build recorded them.
func versionText(info *debug.BuildInfo) string {
	if info == nil {
		return "ikq (devel)\n"
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	out := fmt.Sprintf("ikq %s %s\n", version, info.GoVersion)
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		out += "commit " + rev
		if t := settings["vcs.time"]; t != "" {
			out += " (" + t + ")"
		}
		if settings["vcs.modified"] == "true" {
			out += ", with uncommitted changes"
		}
		out += "\n"
	}
	return out
}
