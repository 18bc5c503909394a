// husk is a low-level OCI container runtime: runc's command line, the OCI
// runtime-spec, and a short path from `create` to the workload.

// husk runs for milliseconds: skip the runtime's reading of cgroup CPU
// limits at start-up and its periodic GOMAXPROCS updates.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/husk-runtime/husk/libcontainer"
	"github.com/husk-runtime/husk/libcontainer/diag"
	"github.com/husk-runtime/husk/libcontainer/logs"
	_ "github.com/husk-runtime/husk/libcontainer/nsenter" // the C stage of `husk init`
	_ "github.com/husk-runtime/husk/libcontainer/prefault"
	"github.com/husk-runtime/husk/libcontainer/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
)

// Set with -ldflags "-X main.version=... -X main.gitCommit=...".
var (
	version   = "0.1.0-dev"
	gitCommit = ""
)

const usage = `Open Container Initiative runtime

husk is a command line client for running applications packaged according to
the Open Container Initiative (OCI) format. It is a drop-in replacement for
runc: the same commands, flags, output and exit codes.

Containers are configured using bundles. A bundle for a container is a
directory that includes a specification file named "config.json" and a root
filesystem.

To start a new instance of a container:

    # husk run [ -b bundle ] <container-id>

Where "<container-id>" is your name for the instance of the container that you
are starting.`

func main() {
	// A command lives for milliseconds and allocates little: no GC. (run
	// turns it back on once its container is up.)
	debug.SetGCPercent(-1)
	// `husk init` is all C (libcontainer/nsenter): its constructor never
	// returns. Here only if that stage was left out of the build.
	if len(os.Args) == 3 && os.Args[1] == "init" {
		fmt.Fprintln(os.Stderr, "husk init: this binary has no C stage")
		os.Exit(1)
	}
	libcontainer.SeccompCache = seccomp.DefaultCacheDir()
	app := newApp()
	if err := app.Run(reorderArgs(app, os.Args)); err != nil {
		fatal(err)
	}
}

func newApp() *cli.App {
	v := []string{version}
	if gitCommit != "" {
		v = append(v, "commit: "+gitCommit)
	}
	v = append(v, "spec: "+specs.Version, "go: "+runtime.Version())
	// The libseccomp line is asked of libseccomp (a cgo call) only when
	// the version is printed, not by every command.
	cli.VersionPrinter = func(ctx *cli.Context) {
		fmt.Fprintf(ctx.App.Writer, "%s version %s\nlibseccomp: %s\n", ctx.App.Name, ctx.App.Version, seccomp.LibraryVersion())
	}
	app := &cli.App{
		Name:                   "husk",
		Usage:                  usage,
		Version:                strings.Join(v, "\n"),
		UseShortOptionHandling: true,
		// As runc: a slice option's value is one item, commas and all
		// (`exec -e NO_PROXY=a,b`, `exec --cgroup cpu,cpuacct:sub`).
		DisableSliceFlagSeparator: true,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "debug", Usage: "enable debug logging"},
			&cli.StringFlag{Name: "log", Usage: "set the log file to write husk logs to (default is '/dev/stderr')"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "set the log format ('text' (default), or 'json')"},
			&cli.StringFlag{Name: "root", Value: defaultRoot(), Usage: "root directory for storage of container state (this should be located in tmpfs)"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "enable systemd cgroup support, expects cgroupsPath to be of form \"slice:prefix:name\" for e.g. \"system.slice:husk:434234\""},
			&cli.StringFlag{Name: "rootless", Value: "auto", Usage: "ignore cgroup permission errors ('true', 'false', or 'auto')"},
			&cli.BoolFlag{Name: "strict", Usage: "make every warning an error (unknown config.json fields, settings husk would ignore or could not apply)"},
		},
		Commands: []*cli.Command{
			checkCommand, checkpointCommand, completionCommand, createCommand, deleteCommand, eventsCommand, execCommand, featuresCommand,
			killCommand, listCommand, pauseCommand, psCommand, restoreCommand, resumeCommand, runCommand, specCommand, startCommand, stateCommand,
			updateCommand,
		},
		Before: setupLogging,
		// Errors are printed by fatal, once.
		ExitErrHandler: func(*cli.Context, error) {},
	}
	return app
}

// logToStderr is whether log lines already go to stderr.
var logToStderr = true

// logJSON: --log-format json, whose final error record carries the
// error's structured fields (docs/errors.md); command is the command run.
var (
	logJSON bool
	command string
)

func setupLogging(ctx *cli.Context) error {
	level := slog.LevelInfo
	if ctx.Bool("debug") {
		level = slog.LevelDebug
	}
	var w io.Writer = os.Stderr
	if p := ctx.String("log"); p != "" && p != "/dev/stderr" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("--log: %w", err)
		}
		w = f
		logToStderr = false
	}
	h, err := logs.New(w, ctx.String("log-format"), level)
	if err != nil {
		return fmt.Errorf("--log-format: %w", err)
	}
	slog.SetDefault(slog.New(h))
	logJSON = ctx.String("log-format") == "json"
	command = ctx.Args().First()
	diag.SetStrict(ctx.Bool("strict"))
	switch r := ctx.String("rootless"); r {
	case "auto", "true", "false":
	default:
		return fmt.Errorf("--rootless: %q is not one of true, false, auto", r)
	}
	return nil
}

// exitError carries a command's exit code: the workload's exit status
// for run and exec (err nil), or a failure with a code other than 1 (exec's
// 255).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("exit status %d", e.code)
}

// fatal logs err and exits 1, as runc: the log line goes to --log (or
// stderr); if that is not stderr, the plain message goes there too.
func fatal(err error) {
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err == nil {
			os.Exit(ee.code)
		}
		code, err = ee.code, ee.err
	}
	if logJSON {
		slog.Error(err.Error(), libcontainer.ErrFields(err, command).Attrs()...)
	} else {
		slog.Error(err.Error())
	}
	if !logToStderr {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}
