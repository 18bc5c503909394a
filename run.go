package main

import (
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/husk-runtime/husk/libcontainer"
	"github.com/husk-runtime/husk/libcontainer/console"
	"github.com/husk-runtime/husk/libcontainer/signals"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "create and run a container",
	ArgsUsage: "<container-id>\n\nWhere \"<container-id>\" is your name for the instance of the container that you\nare starting. The name you provide for the container instance must be unique on\nyour host.",
	Description: `The run command creates an instance of a container for a bundle. The bundle
is a directory with a specification file named "config.json" and a root
filesystem.`,
	Flags: append([]cli.Flag{
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "detach from the container's process"},
		&cli.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits"},
		&cli.BoolFlag{Name: "no-subreaper", Usage: "disable the use of the subreaper used to reap reparented processes"},
	}, createFlags...),
	Action: func(ctx *cli.Context) error {
		if ctx.Bool("dry-run") {
			return dryRun(ctx)
		}
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		return foreground(ctx, foregroundSteps{
			make:        createContainer,
			start:       func(c *libcontainer.Container) error { return libcontainer.Phase("start", c.Start) },
			relayNotify: true,
			keep:        ctx.Bool("keep"),
		})
	},
}

// foregroundSteps are what differs between run and restore.
type foregroundSteps struct {
	// make makes the container (create, or restore) and returns the
	// socket a foreground terminal's pty master comes on.
	make func(ctx *cli.Context, detach bool) (*libcontainer.Container, *os.File, error)
	// start, if any, starts what make made (run's start).
	start func(*libcontainer.Container) error
	// relayNotify relays the workload's sd_notify READY=1 (run).
	relayNotify bool
	// keep leaves the container after it exits (run --keep).
	keep bool
}

// foreground is what run and restore share around the container they
// make: in the foreground, the subreaper and the signals caught first,
// the pty proxied, the pid file, then the signals relayed until the
// container's process exits, whose status becomes ours, and the container
// deleted unless kept; with --detach, return once it runs.
func foreground(ctx *cli.Context, steps foregroundSteps) error {
	detach := ctx.Bool("detach")
	var sigs *os.File
	if !detach {
		// Reparented container processes (the init itself, after the
		// C stage's fork; a restored process, CRIU's sibling) come to
		// us, so we can wait for the init.
		if !ctx.Bool("no-subreaper") {
			if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
				return err
			}
		}
		// Signals that arrive while the container is being made are
		// relayed once it runs, as runc does.
		var err error
		if sigs, err = signals.Catch(); err != nil {
			return err
		}
	}
	c, consoleSock, err := steps.make(ctx, detach)
	if err != nil {
		return err
	}
	var proxy *console.Proxy
	if consoleSock != nil {
		if proxy, err = startProxy(consoleSock); err != nil {
			c.Destroy(true)
			return err
		}
	}
	if p := ctx.String("pid-file"); p != "" {
		if err := writePidFile(p, c.State.InitPid); err != nil {
			c.Destroy(true)
			return err
		}
	}
	if steps.start != nil {
		if err := steps.start(c); err != nil {
			c.Destroy(true)
			return err
		}
	}
	c.Unlock()
	if steps.relayNotify {
		if err := c.RelayNotify(os.Getenv("NOTIFY_SOCKET")); err != nil {
			slog.Warn("sd_notify relay: " + err.Error())
		}
	}
	if detach {
		return nil
	}
	debug.SetGCPercent(100) // this process may now live as long as the workload
	code := forwardAndWait(c.State.InitPid, sigs, proxy)
	if proxy != nil {
		proxy.Close()
	}
	if !steps.keep {
		if err := c.Destroy(true); err != nil {
			return err
		}
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// forwardAndWait relays signals to pid until it exits, reaping every
// child that comes our way, and returns the exit code: the process's exit
// status, or 128+N if a signal N killed it.
func forwardAndWait(pid int, sigs *os.File, proxy *console.Proxy) int {
	buf := make([]byte, 64)
	for {
		if code, done := reap(pid); done {
			return code
		}
		n, err := sigs.Read(buf)
		if err != nil {
			// Cannot happen with our own pipe; do not spin.
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, 0, nil)
			return exitCode(ws)
		}
		for _, b := range buf[:n] {
			sig := unix.Signal(b)
			switch {
			case sig == unix.SIGWINCH && proxy != nil:
				proxy.Resize() // our terminal's size goes to the container's pty
			case signals.Relayed(sig):
				unix.Kill(pid, sig)
			}
		}
	}
}

func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// reap collects exited children without blocking; it reports the init's
// exit code once the init is among them.
func reap(initPid int) (int, bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return 0, false
		}
		if pid == initPid {
			slog.Debug("process exited", "pid", pid, "status", exitCode(ws))
			return exitCode(ws), true
		}
	}
}
