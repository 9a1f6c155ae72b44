// Command ikq runs ikq's parts: see `ikq help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand of ikq.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"dev":         {"run everything in one process: Redis, the emulator and a worker", runDev},
	"emulator":    {"run the ImageKit-compatible emulator", runEmulator},
	"api":         {"run the HTTP server: REST API, dashboard, metrics, health", runAPI},
	"healthcheck": {"GET a URL and exit 0 on 2xx (for container health checks)", runHealthcheck},
	"worker":      {"run an upload worker", runWorker},
	"enqueue":     {"enqueue one upload job (--wait follows it to its end)", runEnqueue},
	"status":      {"print a job's record", runStatus},
	"list":        {"list jobs, or a run's jobs (-run), optionally of one status", runList},
	"cancel":      {"cancel a job that has not been uploaded yet", runCancel},
	"retry":       {"run a failed job again, or a run's failed jobs (-run)", runRetry},
	"runs":        {"list bulk runs with their jobs' counts by status", runRuns},
	"run":         {"run show ID: a run's counts by status and its failures by reason", runRunCmd},
	"results":     {"export a run's results (-run ID) as CSV or JSON lines", runResults},
	"bulk":        {"enqueue a job per file of a folder or per line of a manifest, with progress", runBulk},
	"version":     {"print ikq's version and the commit it was built from", runVersion},
}

// usageError is bad usage: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "ikq: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	err := cmd.run(ctx, args[1:], stdout, stderr)
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "ikq %s: %s\n", args[0], ue.msg)
		return 2
	default:
		fmt.Fprintf(stderr, "ikq %s: %v\n", args[0], err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: ikq <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'ikq <command> -h' for a command's flags.")
}

// parseFlags parses args, turning flag errors into usage errors, then fills the
// settings whose flags were not given from the environment or their defaults. -h
// prints the flags on fs's output: set it to the command's stderr (default os.Stderr).
func parseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(out)
			fs.PrintDefaults()
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return resolveSettings(fs)
}

// envOr returns the environment variable's value, or def when it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
