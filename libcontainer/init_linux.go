package libcontainer

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"github.com/husk-runtime/husk/libcontainer/capabilities"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/console"
	"github.com/husk-runtime/husk/libcontainer/hooks"
	"github.com/husk-runtime/husk/libcontainer/initproto"
	"github.com/husk-runtime/husk/libcontainer/lsm"
	"github.com/husk-runtime/husk/libcontainer/rootfs"
	"github.com/husk-runtime/husk/libcontainer/seccomp"
	"github.com/husk-runtime/husk/libcontainer/system"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Init is `husk init SOCKFD`: the Go side of a container's init, after the
// C stage (nsenter) has put the process in its namespaces. It never
// returns: it execs the workload or exits.
func Init(sockArg string) {
	runtime.LockOSThread()
	fd, err := strconv.Atoi(sockArg)
	if err != nil || fd < 3 {
		fmt.Fprintln(os.Stderr, "husk init: bad socket fd", sockArg)
		os.Exit(1)
	}
	sock := os.NewFile(uintptr(fd), "init-socket")
	if err := initMain(sock); err != nil {
		initproto.SendError(sock, "init", err)
		os.Exit(1)
	}
	// initMain only returns with an error.
	os.Exit(1)
}

func initMain(sock *os.File) error {
	payload, err := initproto.Expect(sock, initproto.Config)
	if err != nil {
		return fmt.Errorf("read config from parent: %w", err)
	}
	var ic initConfig
	if err := json.Unmarshal(payload, &ic); err != nil {
		return fmt.Errorf("decode config from parent: %w", err)
	}
	if ic.LogLevel == "debug" {
		logSock = sock
	}
	if ic.Exec {
		debugf("config received: exec")
	} else {
		debugf("config received: create")
	}
	// Nothing we inherited may reach a hook we run; the preserved fds are
	// let through again just before the workload's exec.
	if err := system.CloseExecFrom(3); err != nil {
		return procErr("close fds", "", err)
	}
	if ic.Exec {
		return execMain(sock, &ic)
	}
	cfg, proc := ic.Config, ic.Process
	// execCPUAffinity is for processes exec'd into the container, "not
	// applicable to the container's init process".
	proc.CPUAffinityInitial, proc.CPUAffinityFinal = nil, nil

	rs := rootfs.New(cfg, ic.CgroupPaths, mountSources(sock, ic.MountSources), proc.Cwd)
	rs.Console = proc.Terminal
	defer rs.Close()
	debugf("prepare the rootfs %s: %d mounts, devices, masked and read-only paths", cfg.Rootfs, len(cfg.Mounts))
	if err := rs.Prepare(); err != nil {
		return err
	}
	// prestart and createRuntime hooks run in the runtime's namespaces: the
	// parent runs them. createContainer hooks run here, in the container's
	// namespaces, still before pivot_root.
	if len(cfg.Hooks[hooks.Prestart])+len(cfg.Hooks[hooks.CreateRuntime]) > 0 {
		debugf("ask the parent to run the prestart and createRuntime hooks")
		if err := initproto.WriteJSON(sock, initproto.HookRequest, initproto.HookCall{Name: hooks.CreateRuntime}); err != nil {
			return err
		}
		if _, err := initproto.Expect(sock, initproto.HookDone); err != nil {
			return err
		}
	}
	if cc := cfg.Hooks[hooks.CreateContainer]; len(cc) > 0 {
		debugf("run %d createContainer hook(s)", len(cc))
		// As runc, they run in the rootfs (before pivot_root, its path in
		// our mount namespace is the host's).
		if err := unix.Chdir(cfg.Rootfs); err != nil {
			return procErr("chdir", cfg.Rootfs, err)
		}
		if err := hooks.Run(hooks.CreateContainer, cc, stateHere(ic.HookState, specs.StateCreating), ""); err != nil {
			return &initproto.InitError{Stage: "hooks", Detail: err.Error()}
		}
	}
	if err := rs.WriteSysctls(); err != nil {
		return err
	}
	if proc.OOMScoreAdj != nil {
		if err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(*proc.OOMScoreAdj)), 0); err != nil {
			return procErr("write", "/proc/self/oom_score_adj", err)
		}
	}
	debugf("enter the rootfs (pivot_root, or chroot with --no-pivot)")
	if err := rs.Pivot(); err != nil {
		return err
	}
	rs.Close()
	if proc.Terminal {
		debugf("set up the console")
		if err := setupConsole(&ic, true); err != nil {
			return err
		}
	}
	if cfg.Hostname != "" {
		debugf("set the hostname %q", cfg.Hostname)
		if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
			return &initproto.InitError{Stage: "init", Op: "sethostname", Path: cfg.Hostname, Errno: errnoOf(err)}
		}
	}
	if cfg.Domainname != "" {
		if err := unix.Setdomainname([]byte(cfg.Domainname)); err != nil {
			return &initproto.InitError{Stage: "init", Op: "setdomainname", Path: cfg.Domainname, Errno: errnoOf(err)}
		}
	}
	if !cfg.NoNewKeyring {
		// A session keyring of its own, so the container cannot see the
		// host's keys. Where keyctl is unavailable (ENOSYS), there are none.
		debugf("join a new session keyring")
		if _, err := unix.KeyctlJoinSessionKeyring("_ses." + ic.ID); err != nil && err != unix.ENOSYS {
			return &initproto.InitError{Stage: "init", Op: "join session keyring", Errno: errnoOf(err)}
		}
	}
	// The exec fifo is reopened (waitForStart) through a procfs handle of
	// pathrs's own, which it makes once and keeps: make it now, while the
	// init still has the capabilities to mount a procfs of the container's
	// pid namespace. Later, with the workload's capabilities, only the
	// container's /proc would be left, and a container may have none.
	if h, err := procfs.OpenProcRoot(); err == nil {
		_ = h.Close()
	}
	path, err := readyToExec(sock, &ic)
	if err != nil {
		return err
	}
	// startContainer hooks run as the workload will (its credentials, its
	// seccomp filter) and, without an environment of their own, with its
	// environment, as runc's.
	startHooks := func() error {
		hs := hooks.WithDefaultEnv(cfg.Hooks[hooks.StartContainer], proc.Env)
		return hooks.Run(hooks.StartContainer, hs, stateHere(ic.HookState, specs.StateCreated), "")
	}
	if ic.ExecKilled != "" {
		// The filter would kill the workload at its execve: say so to
		// `start`, and end as the filter would have ended it.
		startHooks = func() error { return &cannotExec{ic.ExecKilled} }
	}
	if err := waitForStart(ic.FifoFd, startHooks); err != nil {
		// The parent is gone: only stderr is left to tell, and the exit
		// status (255, as runc's init).
		fmt.Fprintln(os.Stderr, err)
		os.Exit(255)
	}
	execWorkload(path, &ic)
	return nil
}

// cannotExec is the init's answer to `start` when the seccomp filter would
// kill the workload at its execve: start fails with it.
type cannotExec struct{ action string }

func (e *cannotExec) Error() string {
	return fmt.Sprintf("the container's seccomp filter (linux.seccomp) ends the process at its execve (%s): the workload cannot start", e.action)
}

// initWarnings are what the init has to warn about; they go to the
// parent, which logs them, with Ready.
var initWarnings []string

// readyToExec finishes the process (credentials, capabilities, cwd, fds,
// seccomp filter), tells the parent it is ready and lets go of the socket.
// It returns the executable to run.
func readyToExec(sock *os.File, ic *initConfig) (string, error) {
	// Without no_new_privs, loading a seccomp filter needs CAP_SYS_ADMIN:
	// load it before the switch to the workload's user drops it.
	early := func() error {
		if ic.Seccomp != nil && !ic.Process.NoNewPrivileges {
			debugf("load the seccomp filter (before the user switch: no no_new_privs)")
			// No log record after it: a write could be filtered.
			logSock = nil
			return loadSeccomp(sock, ic)
		}
		return nil
	}
	path, err := finalizeProcess(ic.Process, ic.Config, early)
	if err != nil {
		return "", err
	}
	// setuid, setgid and capability changes cleared the parent death
	// signal: set again.
	if err := dieWithParent(ic.ParentPidfd); err != nil {
		return "", err
	}
	for fd := 3; fd < 3+ic.PreserveFds; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			return "", procErr("pass preserved fd", strconv.Itoa(fd), err)
		}
	}
	if ic.Exec {
		debugf("ready: about to exec %s", path)
	} else {
		debugf("ready: wait on the exec fifo for start, then exec %s", path)
	}
	// With no_new_privs the filter is loaded as late as the parent still
	// listens (a notify listener goes through it), as runc does: what the
	// init does after (the exec fifo, startContainer hooks, the exec) is
	// filtered. No log record may follow it: a write could be filtered.
	if ic.Seccomp != nil && ic.Process.NoNewPrivileges {
		debugf("load the seccomp filter")
		logSock = nil
		if err := loadSeccomp(sock, ic); err != nil {
			return "", err
		}
	}
	logSock = nil // nothing may follow Ready
	if err := initproto.WriteJSON(sock, initproto.Ready, initproto.ReadyInfo{Warnings: initWarnings}); err != nil {
		return "", err
	}
	// The parent writes the container's state and hands it over; until
	// then, it may not outlive the parent (a parent gone is an EOF here).
	if _, err := initproto.Expect(sock, initproto.Handoff); err != nil {
		return "", err
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0); err != nil {
		return "", procErr("prctl", "PR_SET_PDEATHSIG", err)
	}
	if ic.ParentPidfd > 0 {
		unix.Close(ic.ParentPidfd)
	}
	if err := initproto.Write(sock, initproto.TakenOver, nil); err != nil {
		return "", err
	}
	if ic.JoinAfterReady {
		if _, err := initproto.Expect(sock, initproto.Joined); err != nil {
			return "", err
		}
	}
	sock.Close()
	return path, nil
}

// dieWithParent sets the parent death signal again (a change of
// credentials clears it) and exits if the parent is already gone, seen on
// its pidfd: until the handoff the init must not outlive the parent.
func dieWithParent(pidfd int) error {
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return procErr("prctl", "PR_SET_PDEATHSIG", err)
	}
	if pidfd <= 0 {
		return nil
	}
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	if n, err := unix.Poll(fds, 0); err != nil || n != 0 {
		os.Exit(1) // the parent is gone: there is nobody to tell
	}
	return nil
}

// logSock is the init socket while the parent wants a record of each step
// (--debug), until Ready.
var logSock *os.File

// debugf sends the parent a debug record (initproto.Log) if it asked for
// them; otherwise it does nothing.
func debugf(format string, args ...any) {
	if logSock == nil {
		return
	}
	msg := fmt.Sprintf("init[%d]: ", os.Getpid()) + fmt.Sprintf(format, args...)
	_ = initproto.Write(logSock, initproto.Log, initproto.LogRecord("debug", msg))
}

// execWorkload execs the process; past Ready, a failure can only be told
// on stderr.
func execWorkload(path string, ic *initConfig) {
	p := ic.Process
	err := unix.Exec(path, p.Args, p.Env)
	// As runc: the error alone, and 255, the code of a runtime failure.
	fmt.Fprintf(os.Stderr, "exec %s: %v\n", path, err)
	os.Exit(255)
}

// execMain is the init of `husk exec`: the C stage has joined the
// container's namespaces and cgroup; set up the process and exec it.
func execMain(sock *os.File, ic *initConfig) error {
	proc := ic.Process
	if ic.ExecKilled != "" {
		return procErr("exec", "", &cannotExec{ic.ExecKilled})
	}
	if !ic.Config.Has(configs.NEWNS) {
		// No mount namespace to join: enter the container's root as its
		// init did.
		debugf("chroot into %s (no mount namespace)", ic.Config.Rootfs)
		if err := unix.Chroot(ic.Config.Rootfs); err != nil {
			return procErr("chroot", ic.Config.Rootfs, err)
		}
		if err := unix.Chdir("/"); err != nil {
			return procErr("chdir", "/", err)
		}
	}
	if proc.OOMScoreAdj != nil {
		// /proc is the container's here: write through a procfs handle
		// of our own, not a path the container could have redirected.
		if err := system.WriteProc(false, "oom_score_adj", strconv.Itoa(*proc.OOMScoreAdj)); err != nil {
			return procErr("write", "/proc/self/oom_score_adj", err)
		}
	}
	if proc.Terminal {
		debugf("set up the terminal")
		if err := setupConsole(ic, false); err != nil {
			return err
		}
	}
	path, err := readyToExec(sock, ic)
	if err != nil {
		return err
	}
	execWorkload(path, ic)
	return nil
}

// setupConsole makes the process's pty in the container's devpts, gives
// the slave to the process's user, binds it on /dev/console (for the
// init), sends the master over the console socket and makes the slave the
// controlling terminal and stdio.
func setupConsole(ic *initConfig, mountConsole bool) error {
	sockFd, proc := ic.ConsoleFd, ic.Process
	if sockFd < 0 {
		return &initproto.InitError{Stage: "console", Detail: "a terminal was asked for without a console socket"}
	}
	sock := os.NewFile(uintptr(sockFd), "console-socket")
	defer sock.Close()
	master, slave, err := console.New(proc.ConsoleSize)
	if err != nil {
		return &initproto.InitError{Stage: "console", Op: "create pty", Errno: errnoOf(err), Detail: err.Error()}
	}
	defer slave.Close()
	// The pty is the container's own: the only stdio handed to the
	// process's user (the devpts mount's gid= gives its group). Nothing
	// else is ever chowned: not the caller's files, not /dev/null.
	if err := console.Own(slave, int(proc.UID)); err != nil {
		master.Close()
		return &initproto.InitError{Stage: "console", Op: "chown pty", Errno: errnoOf(err)}
	}
	if ic.ClearONLCR {
		if err := console.ClearONLCR(master); err != nil {
			master.Close()
			return &initproto.InitError{Stage: "console", Op: "clear ONLCR", Errno: errnoOf(err)}
		}
	}
	if mountConsole {
		if err := bindConsole(slave); err != nil {
			master.Close()
			return err
		}
	}
	err = console.SendFd(sock, master)
	master.Close()
	if err != nil {
		return &initproto.InitError{Stage: "console", Op: "send pty master", Errno: errnoOf(err)}
	}
	if err := console.MakeControlling(slave); err != nil {
		return &initproto.InitError{Stage: "console", Detail: err.Error()}
	}
	return nil
}

// bindConsole bind mounts the pty slave on /dev/console, through fds: a
// clone of the slave's mount (open_tree) moved onto /dev/console opened
// without following any link.
func bindConsole(slave *os.File) error {
	target, err := unix.Openat2(unix.AT_FDCWD, "/dev/console", &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return &initproto.InitError{Stage: "console", Op: "open", Path: "/dev/console", Errno: errnoOf(err)}
	}
	defer unix.Close(target)
	tree, err := unix.OpenTree(int(slave.Fd()), "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return &initproto.InitError{Stage: "console", Op: "clone pty mount", Errno: errnoOf(err)}
	}
	defer unix.Close(tree)
	if err := unix.MoveMount(tree, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return &initproto.InitError{Stage: "console", Op: "mount pty on", Path: "/dev/console", Errno: errnoOf(err)}
	}
	return nil
}

// waitForStart blocks until `start` opens the exec fifo, runs the
// startContainer hooks, and tells `start` the outcome: "0", or "1" and
// the hook's error (`start` succeeds either way, as runc's; the init then
// exits). If that `start` went away first, wait for the next.
//
// The fifo's O_PATH fd is reopened for writing through a procfs of our own
// (pathrs.Reopen), not the container's /proc, which a process exec'd into
// the created container could have mounted over, nor a handle on the
// host's /proc, which would sit in the waiting init for such a process to
// take (CVE-2024-21626).
func waitForStart(fifoFd int, startHooks func() error) error {
	handle := os.NewFile(uintptr(fifoFd), "exec-fifo")
	defer handle.Close()
	for {
		f, err := pathrs.Reopen(handle, unix.O_WRONLY|unix.O_CLOEXEC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("open exec fifo: %w", err)
		}
		fd := int(f.Fd())
		msg, herr := []byte{'0'}, startHooks()
		var ce *cannotExec
		switch {
		case errors.As(herr, &ce):
			msg = append([]byte{'2'}, herr.Error()...)
		case herr != nil:
			msg = append([]byte{'1'}, herr.Error()...)
		}
		_, err = unix.Write(fd, msg)
		f.Close()
		if herr != nil {
			return herr
		}
		if err == nil {
			return nil
		}
		if err != unix.EPIPE {
			return fmt.Errorf("write exec fifo: %w", err)
		}
	}
}

// stateHere is the OCI state for a hook the init runs in the container:
// with status, and, as runc's, the pid as the container sees it.
func stateHere(state []byte, status specs.ContainerState) []byte {
	var st specs.State
	if err := json.Unmarshal(state, &st); err != nil {
		return state
	}
	st.Status, st.Pid = status, os.Getpid()
	b, err := json.Marshal(st)
	if err != nil {
		return state
	}
	return b
}

func errnoOf(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

func procErr(op, path string, err error) error {
	ie := &initproto.InitError{Stage: "process", Op: op, Path: path, Errno: errnoOf(err)}
	if ie.Errno == 0 {
		ie.Detail = err.Error()
	}
	return ie
}

// checkCwd guards against CVE-2024-21626: a cwd reached through a leaked
// host fd would lie outside the root; getcwd then fails or does not start
// with "/".
func checkCwd(cwd string) error {
	if wd, err := unix.Getwd(); err != nil || !strings.HasPrefix(wd, "/") {
		return procErr("check cwd", cwd, fmt.Errorf("current directory is outside the container's root"))
	}
	return nil
}

// finalizeProcess sets the workload's limits, credentials, capabilities and
// cwd, and finds its executable. It runs after pivot_root and leaves the
// thread as the workload will run (no_new_privs and the seccomp filter are
// the last things before exec).
func finalizeProcess(p *configs.Process, cfg *configs.Config, beforeSetUser func() error) (string, error) {
	// Scheduling, I/O priority, NUMA policy and personality are per thread
	// and inherited by the exec on this (locked) thread; some need the
	// capabilities that are dropped below.
	debugf("set up the process: scheduling, LSM labels, rlimits, capabilities, user %d:%d, cwd %s", p.UID, p.GID, p.Cwd)
	if err := setThreadAttrs(p, cfg); err != nil {
		return "", err
	}
	if err := lsm.SetExecProfile(p.AppArmorProfile); err != nil {
		return "", procErr("apparmor", "", err)
	}
	if err := lsm.SetExecLabel(p.SELinuxLabel); err != nil {
		return "", procErr("selinux", "", err)
	}
	for _, rl := range p.Rlimits {
		lim := unix.Rlimit{Cur: rl.Soft, Max: rl.Hard}
		if err := unix.Prlimit(0, rl.Type, &lim, nil); err != nil {
			return "", procErr("setrlimit", rlimitName(rl.Type), err)
		}
	}
	if p.Umask != nil {
		unix.Umask(int(*p.Umask))
	}
	env, err := workloadEnv(p.Env, p.UID)
	if err != nil {
		return "", procErr("environment", "", err)
	}
	p.Env = env
	var caps capabilities.Sets
	if p.Capabilities != nil {
		c := p.Capabilities
		caps = capabilities.Sets{Bounding: c.Bounding, Effective: c.Effective, Inheritable: c.Inheritable, Permitted: c.Permitted, Ambient: c.Ambient}
	}
	// The bounding set is dropped while still root (needs CAP_SETPCAP).
	if err := capabilities.DropBounding(caps.Bounding); err != nil {
		return "", procErr("drop bounding capabilities", "", err)
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return "", procErr("prctl", "PR_SET_KEEPCAPS", err)
	}
	// The cwd is entered while still root, as runc does (a directory root
	// may not enter, in a user namespace, is tried again as the user), and
	// checked before a seccomp filter could refuse getcwd.
	chdirLater := false
	if err := unix.Chdir(p.Cwd); err != nil {
		if !errors.Is(err, os.ErrPermission) {
			return "", procErr("chdir", p.Cwd, err)
		}
		chdirLater = true
	} else if err := checkCwd(p.Cwd); err != nil {
		return "", err
	}
	if err := beforeSetUser(); err != nil {
		return "", err
	}
	if err := setUser(p); err != nil {
		return "", err
	}
	if chdirLater {
		if err := unix.Chdir(p.Cwd); err != nil {
			return "", procErr("chdir", p.Cwd, err)
		}
		if err := checkCwd(p.Cwd); err != nil {
			return "", err
		}
	}
	failed, err := capabilities.Apply(caps)
	if err != nil {
		return "", procErr("set capabilities", "", err)
	}
	for _, f := range failed {
		// As runc: a warning in the runtime's log, not an error.
		initWarnings = append(initWarnings, f.Error())
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return "", procErr("prctl", "PR_SET_KEEPCAPS", err)
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return "", procErr("prctl", "PR_SET_NO_NEW_PRIVS", err)
		}
	}
	return lookPath(p.Args[0], p.Env)
}

// loadSeccomp installs the container's seccomp filter on this thread. A
// notify listener goes to the seccomp agent through the parent: the init
// writes the listener's fd number to the parent in one raw write(2), the
// only syscall between the load and the parent having it (NOTIFY on write
// is refused), and the parent takes a copy with pidfd_getfd. A notified
// call after that waits for the agent, which has the listener by then or
// will soon.
func loadSeccomp(sock *os.File, ic *initConfig) error {
	sockFd := int(sock.Fd())
	frame, err := initproto.Frame(initproto.SeccompFd, initproto.U32(0))
	if err != nil {
		return err
	}
	if ic.DumpableHandOver {
		// Just for the hand-over, as for the uid/gid maps (nsenter).
		if err := unix.Prctl(unix.PR_SET_DUMPABLE, 1, 0, 0, 0); err != nil {
			return procErr("prctl", "PR_SET_DUMPABLE", err)
		}
	}
	listener, err := seccomp.Load(ic.Seccomp)
	if err != nil {
		return procErr("load seccomp filter", "", err)
	}
	if listener < 0 {
		return nil
	}
	binary.LittleEndian.PutUint32(frame[initproto.HeaderSize:], uint32(listener))
	for len(frame) > 0 {
		n, _, errno := unix.RawSyscall(unix.SYS_WRITE, uintptr(sockFd), uintptr(unsafe.Pointer(&frame[0])), uintptr(len(frame)))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return procErr("send seccomp listener to parent", "", errno)
		}
		frame = frame[n:]
	}
	_, err = initproto.Expect(sock, initproto.SeccompDone)
	unix.Close(listener)
	if err != nil {
		return err
	}
	if ic.DumpableHandOver {
		if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
			return procErr("prctl", "PR_SET_DUMPABLE", err)
		}
	}
	return nil
}

func setThreadAttrs(p *configs.Process, cfg *configs.Config) error {
	if cfg.Personality != nil {
		if _, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, uintptr(*cfg.Personality), 0, 0); e != 0 {
			return procErr("personality", strconv.Itoa(*cfg.Personality), e)
		}
	}
	if mp := cfg.MemoryPolicy; mp != nil {
		var nodes unix.CPUSet // a bit mask like a CPU set
		for _, n := range mp.Nodes {
			nodes.Set(n)
		}
		if err := unix.SetMemPolicy(mp.Mode, &nodes); err != nil {
			return procErr("set_mempolicy", "", err)
		}
	}
	if s := p.Scheduler; s != nil {
		attr := unix.SchedAttr{Policy: s.Policy, Flags: s.Flags, Nice: s.Nice, Priority: s.Priority,
			Runtime: s.Runtime, Deadline: s.Deadline, Period: s.Period}
		if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
			// As runc: EPERM with a cpuset of the container's own is
			// SCHED_DEADLINE's admission control (the root domain's CPUs).
			if err == unix.EPERM && cfg.Cgroup != nil && cfg.Cgroup.Resources != nil && cfg.Cgroup.Resources.CPUs != "" {
				return &initproto.InitError{Stage: "process", Detail: "process scheduler can't be used together with AllowedCPUs"}
			}
			return procErr("error setting scheduler", "", err)
		}
	}
	if p.IOPriority != nil {
		const ioprioWhoProcess = 1
		if _, _, e := unix.RawSyscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, uintptr(*p.IOPriority)); e != 0 {
			return procErr("ioprio_set", strconv.Itoa(*p.IOPriority), e)
		}
	}
	return nil
}

func setUser(p *configs.Process) error {
	gids := make([]int, len(p.AdditionalGids))
	for i, g := range p.AdditionalGids {
		gids[i] = int(g)
	}
	if err := unix.Setgroups(gids); err != nil {
		// In a user namespace with setgroups denied, no groups can be
		// set; that is only an error if some were asked for.
		if !(err == unix.EPERM && len(gids) == 0 && setgroupsDenied()) {
			return procErr("setgroups", "", err)
		}
	}
	if err := unix.Setresgid(int(p.GID), int(p.GID), int(p.GID)); err != nil {
		return procErr("setgid", strconv.Itoa(int(p.GID)), err)
	}
	if err := unix.Setresuid(int(p.UID), int(p.UID), int(p.UID)); err != nil {
		return procErr("setuid", strconv.Itoa(int(p.UID)), err)
	}
	return nil
}

// homeOf finds uid's home directory in the container's /etc/passwd (we are
// pivoted into the rootfs); "/" if there is none.
func homeOf(uid uint32) string {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return "/"
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return "/"
	}
	b, err := io.ReadAll(io.LimitReader(f, 4<<20))
	if err != nil {
		return "/"
	}
	want := strconv.FormatUint(uint64(uid), 10)
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Split(line, ":")
		if len(fields) >= 6 && fields[2] == want && fields[5] != "" {
			return fields[5]
		}
	}
	return "/"
}

func setgroupsDenied() bool {
	b, err := os.ReadFile("/proc/self/setgroups")
	return err == nil && strings.TrimSpace(string(b)) == "deny"
}

// lookPath finds the executable as execvp would, with the workload's PATH.
func lookPath(file string, env []string) (string, error) {
	// The errors read as runc's (Go's exec.LookPath): exec: "/x": stat
	// /x: no such file or directory, exec: "/x": permission denied, ...
	statFailed := false
	check := func(p string) error {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			statFailed = true
			return err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return unix.EISDIR
		}
		return unix.Faccessat(unix.AT_FDCWD, p, unix.X_OK, unix.AT_EACCESS)
	}
	if strings.Contains(file, "/") {
		if err := check(file); err != nil {
			ie := &initproto.InitError{Stage: "process", Op: "exec:", Path: strconv.Quote(file), Errno: errnoOf(err)}
			if statFailed {
				ie.Detail = "stat " + file
			}
			return "", ie
		}
		return file, nil
	}
	pathEnv := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			pathEnv = v
		}
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if check(p) == nil {
			return p, nil
		}
	}
	return "", &initproto.InitError{Stage: "process", Op: "exec:", Path: strconv.Quote(file), Detail: "executable file not found in $PATH"}
}

// rlimitName names a resource as process.rlimits does.
func rlimitName(t int) string {
	names := map[int]string{
		unix.RLIMIT_AS: "RLIMIT_AS", unix.RLIMIT_CORE: "RLIMIT_CORE", unix.RLIMIT_CPU: "RLIMIT_CPU",
		unix.RLIMIT_DATA: "RLIMIT_DATA", unix.RLIMIT_FSIZE: "RLIMIT_FSIZE", unix.RLIMIT_LOCKS: "RLIMIT_LOCKS",
		unix.RLIMIT_MEMLOCK: "RLIMIT_MEMLOCK", unix.RLIMIT_MSGQUEUE: "RLIMIT_MSGQUEUE",
		unix.RLIMIT_NICE: "RLIMIT_NICE", unix.RLIMIT_NOFILE: "RLIMIT_NOFILE", unix.RLIMIT_NPROC: "RLIMIT_NPROC",
		unix.RLIMIT_RSS: "RLIMIT_RSS", unix.RLIMIT_RTPRIO: "RLIMIT_RTPRIO", unix.RLIMIT_RTTIME: "RLIMIT_RTTIME",
		unix.RLIMIT_SIGPENDING: "RLIMIT_SIGPENDING", unix.RLIMIT_STACK: "RLIMIT_STACK",
	}
	if n, ok := names[t]; ok {
		return "process.rlimits " + n
	}
	return "process.rlimits " + strconv.Itoa(t)
}
