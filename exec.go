package main

import (
	"fmt"
	"github.com/husk-runtime/husk/libcontainer/diag"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/husk-runtime/husk/libcontainer"
	"github.com/husk-runtime/husk/libcontainer/capabilities"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/console"
	"github.com/husk-runtime/husk/libcontainer/signals"
	"github.com/husk-runtime/husk/libcontainer/specconv"
	"github.com/husk-runtime/husk/libcontainer/system"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

var execCommand = &cli.Command{
	Name:  "exec",
	Usage: "execute new process inside the container",
	ArgsUsage: `<container-id> <command> [command options]  || -p process.json <container-id>

Where "<container-id>" is the name for the instance of the container and
"<command>" is the command to be executed in the container.
"<command>" can't be empty unless a "-p" flag provided.

EXAMPLE:
For example, if the container is configured to run the linux ps command the
following will output a list of processes running in the container:

       # husk exec <container-id> ps`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "console-socket", Usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"},
		&cli.StringFlag{Name: "pidfd-socket", Usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the exec process"},
		&cli.StringFlag{Name: "cwd", Usage: "current working directory in the container"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set environment variables"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-TTY"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "UID (format: <uid>[:<gid>])"},
		&cli.Int64SliceFlag{Name: "additional-gids", Aliases: []string{"g"}, Usage: "additional gids"},
		&cli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "path to the process.json"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "detach from the container's process"},
		&cli.StringFlag{Name: "pid-file", Usage: "specify the file to write the process id to"},
		&cli.StringFlag{Name: "process-label", Usage: "set the asm process label for the process commonly used with selinux"},
		&cli.StringFlag{Name: "apparmor", Usage: "set the apparmor profile for the process"},
		&cli.BoolFlag{Name: "no-new-privs", Usage: "set the no new privileges value for the process"},
		&cli.StringSliceFlag{Name: "cap", Aliases: []string{"c"}, Usage: "add a capability to the bounding set for the process"},
		&cli.UintFlag{Name: "preserve-fds", Usage: "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)"},
		&cli.StringSliceFlag{Name: "cgroup", Usage: "run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>."},
		&cli.BoolFlag{Name: "ignore-paused", Usage: "allow exec in a paused container"},
	},
	SkipFlagParsing: false,
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, minArgs); err != nil {
			return err
		}
		code, err := execProcess(ctx)
		if err != nil {
			// runc exits 255 when the runtime fails, so that it is told
			// apart from the process's own exit codes.
			return &exitError{code: 255, err: err}
		}
		if code != 0 {
			return &exitError{code: code}
		}
		return nil
	},
}

func execProcess(ctx *cli.Context) (int, error) {
	// A shared lock while the process is set up: no delete, start or
	// pause of the container meanwhile; other execs may run.
	c, err := getLocked(ctx, false)
	if err != nil {
		return 0, err
	}
	defer c.Unlock()
	p, err := execSpec(ctx, c)
	if err != nil {
		return 0, err
	}
	detach := ctx.Bool("detach")
	toInit, ours, err := consoleSockets(ctx.String("console-socket"), p.Terminal, detach)
	if err != nil {
		return 0, err
	}
	if toInit != nil {
		defer toInit.Close()
	}
	var sigs *os.File
	if !detach {
		// The process (after the C stage's fork into the container's pid
		// namespace) is reparented to us, so we can wait for it.
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			return 0, err
		}
		if sigs, err = signals.Catch(); err != nil {
			return 0, err
		}
	}
	subs, err := parseSubCgroups(ctx.StringSlice("cgroup"))
	if err != nil {
		return 0, err
	}
	listen := listenFds()
	p.Env = withListenFds(p.Env, listen)
	pid, err := c.Exec(libcontainer.ExecOptions{
		Process: p, PreserveFds: listen + int(ctx.Uint("preserve-fds")), ConsoleSocket: toInit, ProxyConsole: ours != nil, SubCgroups: subs,
		IgnorePaused: ctx.Bool("ignore-paused"),
	})
	c.Unlock()
	if err != nil {
		return 0, fmt.Errorf("exec %s: %w", c.ID(), err)
	}
	var proxy *console.Proxy
	if ours != nil {
		if proxy, err = startProxy(ours); err != nil {
			killExec(pid)
			return 0, err
		}
		defer proxy.Close()
	}
	if path := ctx.String("pid-file"); path != "" {
		if err := writePidFile(path, pid); err != nil {
			killExec(pid)
			return 0, err
		}
	}
	if path := ctx.String("pidfd-socket"); path != "" {
		st, err := system.Stat(pid)
		if err == nil {
			err = sendPidfd(path, pid, st.StartTime)
		}
		if err != nil {
			killExec(pid)
			return 0, err
		}
	}
	if detach {
		return 0, nil
	}
	debug.SetGCPercent(100)
	return forwardAndWait(pid, sigs, proxy), nil
}

// execSpec is the process to exec: --process, or the container's own
// process with the command line's args and overrides, as runc builds it.
func execSpec(ctx *cli.Context, c *libcontainer.Container) (*configs.Process, error) {
	if path := ctx.String("process"); path != "" {
		p, err := specconv.LoadProcess(path)
		if err != nil {
			return nil, err
		}
		inheritFromContainer(p, c.State.Process)
		return p, nil
	}
	if ctx.NArg() < 2 {
		return nil, fmt.Errorf("exec: a command is needed unless --process is given")
	}
	base := *c.State.Process
	p := &base
	p.Args = ctx.Args().Slice()[1:]
	p.Env = append(append([]string{}, base.Env...), ctx.StringSlice("env")...)
	// As runc: the terminal comes from --tty only, not from the container.
	p.Terminal = ctx.Bool("tty")
	if cwd := ctx.String("cwd"); cwd != "" {
		p.Cwd = cwd
	}
	if v := ctx.String("apparmor"); v != "" {
		p.AppArmorProfile = v
	}
	if v := ctx.String("process-label"); v != "" {
		p.SELinuxLabel = v
	}
	if err := specconv.CheckLSM("", p.AppArmorProfile, p.SELinuxLabel); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	if ctx.IsSet("no-new-privs") {
		p.NoNewPrivileges = ctx.Bool("no-new-privs")
	}
	if u := ctx.String("user"); u != "" {
		uid, gid, err := parseUser(u)
		if err != nil {
			return nil, err
		}
		p.UID = uid
		if gid != nil {
			p.GID = *gid
		}
	}
	if gids := ctx.Int64Slice("additional-gids"); len(gids) > 0 {
		// As runc: added to the container's process.user.additionalGids.
		p.AdditionalGids = append([]uint32(nil), p.AdditionalGids...)
		for _, g := range gids {
			if g < 0 || g >= 1<<32-1 {
				return nil, fmt.Errorf("exec: --additional-gids: %d is not a gid", g)
			}
			p.AdditionalGids = append(p.AdditionalGids, uint32(g))
		}
	}
	if names := ctx.StringSlice("cap"); len(names) > 0 {
		mask, unknown := capabilities.Parse(names)
		if len(unknown) > 0 {
			// As runc: warned about and left out, not an error.
			sort.Strings(unknown)
			if err := diag.Warn(diag.Warning{File: "exec", Field: "--cap", Msg: fmt.Sprint("ignoring unknown or unavailable capabilities: ", slices.Compact(unknown))}); err != nil {
				return nil, err
			}
		}
		caps := configs.Caps{}
		if p.Capabilities != nil {
			caps = *p.Capabilities
		}
		caps.Bounding |= mask
		caps.Effective |= mask
		caps.Permitted |= mask
		// As runc: ambient too when the config has an inheritable list,
		// which is what can let it be raised (else the init warns).
		if caps.InheritableSet {
			caps.Ambient |= mask
		}
		p.Capabilities = &caps
	}
	if len(p.Args) == 0 || p.Args[0] == "" {
		return nil, fmt.Errorf("exec: the command must not be empty")
	}
	return p, nil
}

// inheritFromContainer gives a --process what it leaves out from the
// container's own process, as runc does: capabilities, rlimits, I/O
// priority, scheduler, execCPUAffinity and LSM labels.
func inheritFromContainer(p, base *configs.Process) {
	if p.Capabilities == nil {
		p.Capabilities = base.Capabilities
	}
	if len(p.Rlimits) == 0 {
		p.Rlimits = base.Rlimits
	}
	if p.IOPriority == nil {
		p.IOPriority = base.IOPriority
	}
	if p.Scheduler == nil {
		p.Scheduler = base.Scheduler
	}
	if p.CPUAffinityInitial == nil && p.CPUAffinityFinal == nil {
		p.CPUAffinityInitial, p.CPUAffinityFinal = base.CPUAffinityInitial, base.CPUAffinityFinal
	}
	if p.AppArmorProfile == "" {
		p.AppArmorProfile = base.AppArmorProfile
	}
	if p.SELinuxLabel == "" {
		p.SELinuxLabel = base.SELinuxLabel
	}
}

// parseSubCgroups parses the --cgroup values as runc does: one bare path,
// a sub-cgroup for every hierarchy (cgroup v2's only form); or any number
// of "controller[,controller...]:path", each controller given once. The
// result maps a controller ("" for all) to its path below the container's
// cgroup.
func parseSubCgroups(args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	subs := make(map[string]string, len(args))
	for _, arg := range args {
		ctrls, sub, ok := strings.Cut(arg, ":")
		if !ok {
			if len(args) != 1 {
				return nil, fmt.Errorf("exec: --cgroup %q: a path without \"controller:\" must be the only --cgroup", arg)
			}
			subs[""] = arg
			continue
		}
		for _, ctrl := range strings.Split(ctrls, ",") {
			if ctrl == "" {
				return nil, fmt.Errorf("exec: --cgroup %q: an empty controller name before the colon", arg)
			}
			if _, dup := subs[ctrl]; dup {
				return nil, fmt.Errorf("exec: --cgroup: controller %s is given more than once", ctrl)
			}
			subs[ctrl] = sub
		}
	}
	return subs, nil
}

// parseUser parses --user uid[:gid], both numeric, strictly.
func parseUser(s string) (uid uint32, gid *uint32, err error) {
	us, gs, hasGid := strings.Cut(s, ":")
	u, err := strconv.ParseUint(us, 10, 32)
	// Decimal digits only (no sign, space or name), below 2^32-1:
	// 4294967295 is (uid_t)-1, which setuid/setgid read as "leave
	// unchanged": it would run the process as root (crun's CVE-2026-30892).
	if err != nil || u == 1<<32-1 {
		return 0, nil, fmt.Errorf("exec: --user %q: the uid must be a number below 4294967295", s)
	}
	if !hasGid {
		return uint32(u), nil, nil
	}
	g, err := strconv.ParseUint(gs, 10, 32)
	if err != nil || g == 1<<32-1 {
		return 0, nil, fmt.Errorf("exec: --user %q: the gid must be a number below 4294967295", s)
	}
	g32 := uint32(g)
	return uint32(u), &g32, nil
}

// killExec SIGKILLs the exec'd process after a failure once it has
// started, and reaps it (it is husk's child): a failed exec leaves neither
// a process nor a zombie. The wait is bounded as delete's.
func killExec(pid int) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil {
		return
	}
	if gone, _ := system.WaitPidfdFor(fd, 10*time.Second); gone {
		var ws unix.WaitStatus
		for {
			if _, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); err != unix.EINTR {
				return
			}
		}
	}
}
