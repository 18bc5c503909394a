package libcontainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/diag"
	"github.com/husk-runtime/husk/libcontainer/exeseal"
	"github.com/husk-runtime/husk/libcontainer/initproto"
	"github.com/husk-runtime/husk/libcontainer/lsm"
	"github.com/husk-runtime/husk/libcontainer/plan"
	"github.com/husk-runtime/husk/libcontainer/system"
	"github.com/husk-runtime/husk/libcontainer/timerslack"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// spawned is an init process being set up, and what to undo if that fails.
type spawned struct {
	pid0      int // the process we started; the C stage may fork from it
	reaped0   bool
	sock      *os.File
	pid       int // the pid that runs the plan (after the C stage's fork)
	startTime uint64
	cgroup    cgroups.Manager
	// placeLater: the init is forked outside the cgroup, which Create did
	// not make, and put in by Apply (cgroups.PlacedByApply).
	placeLater bool
	// seccomp is the filter the init loads; its notify listener is sent
	// on to the agent when the init hands it over.
	seccomp *seccompSetup
	// parentPidfd is the number, in the init, of the pidfd of this
	// process it dies with until the handoff.
	parentPidfd int
	// lateNotify: the init loads a seccomp filter with a notify listener
	// after the handoff (no_new_privs) and hands the listener over then.
	lateNotify bool
}

// fdTable lays out the init's fds as initproto's fd table says: stdio,
// the caller's preserved fds, then one fd per role present in
// initproto.FdRoles order, ending with the init socket and the exec fifo.
// The C stage closes everything above them; the numbers of the roles go
// to the init in the bootstrap and the plan.
type fdTable struct {
	files []uintptr // the parent's fds; the init's number is the index
	// The init's number of each role, -1 where there is none.
	containerPidfd, console, parentPidfd, socket, fifo int
}

// fdSources are the parent's fds of the roles (-1: none).
type fdSources struct {
	preserve                                           int
	containerPidfd, console, parentPidfd, socket, fifo int
}

func layoutFds(src fdSources) *fdTable {
	t := &fdTable{files: []uintptr{0, 1, 2}}
	for i := 0; i < src.preserve; i++ {
		t.files = append(t.files, uintptr(3+i))
	}
	// In initproto.FdRoles order.
	for _, r := range []struct {
		from int
		to   *int
	}{
		{src.containerPidfd, &t.containerPidfd},
		{src.console, &t.console},
		{src.parentPidfd, &t.parentPidfd},
		{src.socket, &t.socket},
		{src.fifo, &t.fifo},
	} {
		*r.to = -1
		if r.from >= 0 {
			*r.to = len(t.files)
			t.files = append(t.files, uintptr(r.from))
		}
	}
	return t
}

// forkOptions are what the init is started with.
type forkOptions struct {
	preserve       int
	containerPidfd int      // exec: the container's init, whose namespaces to join; -1
	console        *os.File // the socket the pty master goes to, or nil
	fifo           *os.File // create: the exec fifo (O_PATH), or nil
	cloneFlags     uintptr
}

// fork starts `husk init` from the sealed binary, with its fds laid out
// by layoutFds. It is born in the cgroup's unified hierarchy
// (CLONE_INTO_CGROUP; not with placeLater) and with cloneFlags; the v1
// hierarchies' "tasks" files it must join itself are returned.
func (sp *spawned) fork(o forkOptions) (fds *fdTable, tasks []string, err error) {
	parent, child, err := socketpair()
	if err != nil {
		return nil, nil, err
	}
	defer child.Close()
	sp.sock = parent

	exe, err := exeseal.Open()
	if err != nil {
		return nil, nil, err
	}
	defer exe.Close()
	// Until the handoff the init dies with us (PR_SET_PDEATHSIG, checked
	// against this pidfd of ours). The death signal comes when the thread
	// that forked exits, not the process: this goroutine keeps its thread
	// (never unlocked) for as long as the process lives.
	runtime.LockOSThread()
	self, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return nil, nil, fmt.Errorf("pidfd of husk: %w", err)
	}
	defer unix.Close(self)
	src := fdSources{preserve: o.preserve, containerPidfd: o.containerPidfd, console: -1,
		parentPidfd: self, socket: int(child.Fd()), fifo: -1}
	if o.console != nil {
		src.console = int(o.console.Fd())
	}
	if o.fifo != nil {
		src.fifo = int(o.fifo.Fd())
	}
	fds = layoutFds(src)
	files := fds.files
	// The exe is exec'd by path /proc/self/fd/N, so N must survive the
	// child's fd shuffle: Go dup2()s files to 0..len-1 and may first move
	// sources to len, len+1, ... (up to one per file, plus its own pipe).
	exeFd, err := unix.FcntlInt(exe.Fd(), unix.F_DUPFD_CLOEXEC, 2*len(files)+2)
	if err != nil {
		return nil, nil, fmt.Errorf("dup exe fd: %w", err)
	}
	defer unix.Close(exeFd)

	attr := &syscall.ProcAttr{Env: []string{}, Files: files, Sys: &syscall.SysProcAttr{Cloneflags: o.cloneFlags}}
	paths := sp.cgroup.Paths()
	if sp.placeLater {
		paths = nil
	}
	for key, dir := range paths {
		if key != "" {
			tasks = append(tasks, filepath.Join(dir, "tasks"))
			continue
		}
		cgfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("cgroup: open %s: %w", dir, err)
		}
		defer unix.Close(cgfd)
		attr.Sys.UseCgroupFD, attr.Sys.CgroupFD = true, cgfd
	}
	sort.Strings(tasks)
	var pid0 int
	err = timerslack.AsCaller(func() (err error) {
		pid0, err = syscall.ForkExec("/proc/self/fd/"+strconv.Itoa(exeFd), []string{"husk", "init", strconv.Itoa(fds.socket)}, attr)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("start init: %w", err)
	}
	sp.pid0 = pid0
	sp.parentPidfd = fds.parentPidfd
	slog.Debug("started husk init", "pid", pid0)
	return fds, tasks, nil
}

// encodedPlan is the init's plan, and its Plan frame's payload.
type encodedPlan struct {
	ops     []initproto.Op
	payload []byte
}

// encodePlan encodes a plan as it is built (its builder's error passes
// through): made while the C stage makes the namespaces (bootstrap's
// whileWaiting), it is ready to go when they are.
func encodePlan(ops []initproto.Op, err error) (encodedPlan, error) {
	if err != nil {
		return encodedPlan{}, err
	}
	payload, err := initproto.EncodePlan(ops)
	return encodedPlan{ops: ops, payload: payload}, err
}

// run sends the init its plan and waits until it is ready (or has
// failed), answering its requests: the sources of bind mounts it cannot
// reach, its seccomp listener, the runtime's hooks (runtimeHooks).
func (sp *spawned) run(p encodedPlan, cfg *configs.Config, runtimeHooks func() error) error {
	if debugEnabled() {
		for _, op := range p.ops {
			slog.Debug("plan: " + op.String())
		}
	}
	slog.Debug("sending the init its plan", "pid", sp.pid, "ops", len(p.ops), "bytes", len(p.payload))
	if err := initproto.Write(sp.sock, initproto.Plan, p.payload); err != nil {
		return fmt.Errorf("send plan to init: %w", err)
	}
	for {
		t, p, err := sp.read("ready")
		if err != nil {
			return initErr(err)
		}
		switch t {
		case initproto.Log:
			logFromInit(p)
		case initproto.Ready:
			slog.Debug("the init is ready", "pid", sp.pid)
			// Warnings (an ambient capability it could not raise):
			// NUL-terminated strings. Under --strict, the create fails.
			for _, w := range strings.Split(string(p), "\x00") {
				if w == "" {
					continue
				}
				if err := diag.Warn(diag.Warning{Field: "process.capabilities.ambient", Msg: w}); err != nil {
					return err
				}
			}
			return nil
		case initproto.Error:
			return initFailure(initproto.DecodeError(p), cfg)
		case initproto.MountRequest:
			if err := sp.sendMountSource(cfg, p); err != nil {
				return err
			}
		case initproto.SeccompFd:
			if err := sp.passListener(p); err != nil {
				return err
			}
		case initproto.HookRequest:
			if runtimeHooks == nil {
				return fmt.Errorf("%w: init asked for hooks", initproto.ErrUnexpected)
			}
			slog.Debug("running the prestart and createRuntime hooks")
			if err := runtimeHooks(); err != nil {
				return err
			}
			if err := initproto.Write(sp.sock, initproto.HookDone, nil); err != nil {
				return fmt.Errorf("send hook-done to init: %w", err)
			}
		default:
			return fmt.Errorf("%w from init: %v", initproto.ErrUnexpected, t)
		}
	}
}

// hookStateParts is the OCI state the init's hooks get, around the status
// and pid the init fills in.
func hookStateParts(id, bundle string, annotations map[string]string) [2]string {
	jid, _ := json.Marshal(id)
	jb, _ := json.Marshal(bundle)
	before := `{"ociVersion":"` + specs.Version + `","id":` + string(jid) + `,`
	after := `,"bundle":` + string(jb)
	if len(annotations) > 0 {
		ja, _ := json.Marshal(annotations)
		after += `,"annotations":` + string(ja)
	}
	return [2]string{before, after + "}"}
}

// hostPlan gives the plan the host's facts it depends on.
func hostPlan(o *plan.Options) {
	_, err := os.Stat("/proc/kcore")
	o.HostKcore = err == nil
	o.SELinux = lsm.SELinuxEnabled()
	o.AppArmor = lsm.AppArmorEnabled()
}

// phase runs one named step of a command; with --debug its duration is
// logged (the same names for create, run and exec).
func phase(name string, f func() error) error {
	if !debugEnabled() {
		return phaseErr(name, f())
	}
	t := time.Now()
	err := f()
	slog.Debug("phase", "phase", name, "stage", "parent", "duration", time.Since(t).Round(time.Microsecond).String())
	return phaseErr(name, err)
}

// Phase is phase for the commands' own steps (loading the config).
func Phase(name string, f func() error) error { return phase(name, f) }

// phaseErr names the phase in a failure's structured fields (its op,
// when nothing more precise says one).
func phaseErr(name string, err error) error {
	if err == nil {
		return nil
	}
	return diag.Wrap(err, diag.Error{Phase: name})
}

// debugEnabled says whether --debug is on: the init is then asked for a
// record of each step.
func debugEnabled() bool {
	return slog.Default().Enabled(context.Background(), slog.LevelDebug)
}

// logFromInit writes a record the init sent (initproto.Log) to husk's log.
func logFromInit(p []byte) {
	level, msg := initproto.ParseLog(p)
	if level == "phase" {
		// A phase of the init's plan (its C loop timed it): "NAME NS".
		name, ns, _ := strings.Cut(msg, " ")
		n, _ := strconv.ParseInt(ns, 10, 64)
		slog.Debug("phase", "phase", "init."+name, "stage", "init", "duration", time.Duration(n).Round(time.Microsecond).String())
		return
	}
	l := slog.LevelDebug
	switch level {
	case "info":
		l = slog.LevelInfo
	case "warning":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	}
	slog.Log(context.Background(), l, msg)
}

// initErr turns a protocol failure into the error the user sees.
func initErr(err error) error {
	if errors.Is(err, unix.ECONNRESET) || errors.Is(err, os.ErrClosed) || strings.Contains(err.Error(), "unexpected EOF") {
		return fmt.Errorf("container init exited without saying why: %w", err)
	}
	return err
}

func socketpair() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("init socket: %w", err)
	}
	// Our end is non-blocking, so that a read can have a deadline.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, nil, fmt.Errorf("init socket: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "init-parent"), os.NewFile(uintptr(fds[1]), "init-child"), nil
}

// initTimeout bounds each wait for the init's next message: a step of its
// set-up (a mount, a hook it runs) that takes longer fails the command.
const initTimeout = time.Minute

// read reads the init's next frame, waiting initTimeout at most.
func (sp *spawned) read(waitingFor string) (initproto.Type, []byte, error) {
	if err := sp.sock.SetReadDeadline(time.Now().Add(initTimeout)); err != nil {
		return 0, nil, err
	}
	t, p, err := initproto.Read(sp.sock)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, nil, fmt.Errorf("container init did not answer within %v (waiting for: %s)", initTimeout, waitingFor)
	}
	return t, p, err
}

// handoff tells the init that the container's state is written: from now
// on it may outlive this process. The init clears its parent death signal
// and says so (TakenOver); only then may this process exit (or the init
// would still die with it).
func (sp *spawned) handoff() error {
	if err := initproto.Write(sp.sock, initproto.Handoff, nil); err != nil {
		return fmt.Errorf("hand the container over to its init: %w", initErr(err))
	}
	t, p, err := sp.read("the init to take over")
	switch {
	case err != nil:
		return fmt.Errorf("hand the container over to its init: %w", initErr(err))
	case t == initproto.Error:
		return initproto.DecodeError(p)
	case t != initproto.TakenOver:
		return fmt.Errorf("%w from init after the handoff: %v", initproto.ErrUnexpected, t)
	}
	return nil
}

// lateListener passes on the seccomp notify listener of a filter the init
// loads after the handoff (with no_new_privs), if it has one.
func (sp *spawned) lateListener() error {
	if !sp.lateNotify {
		return nil
	}
	for {
		t, p, err := sp.read("the seccomp listener")
		switch {
		case err != nil:
			return fmt.Errorf("seccomp listener: %w", initErr(err))
		case t == initproto.Error:
			return initproto.DecodeError(p)
		case t == initproto.SeccompFd:
			return sp.passListener(p)
		case t != initproto.Log:
			return fmt.Errorf("%w from init after the handoff: %v", initproto.ErrUnexpected, t)
		}
	}
}

// reap0 waits for the process we started to exit after the C stage forked.
func (sp *spawned) reap0() error {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(sp.pid0, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		sp.reaped0 = true
		if err != nil {
			return fmt.Errorf("init's C stage: %w", err)
		}
		if !ws.Exited() || ws.ExitStatus() != 0 {
			return fmt.Errorf("init's C stage exited with status %v", ws)
		}
		return nil
	}
}

// abort kills whatever was started and removes the cgroup.
func (sp *spawned) abort() {
	if sp == nil {
		return
	}
	if sp.sock != nil {
		sp.sock.Close()
	}
	if sp.pid > 0 && sp.pid != sp.pid0 {
		killAndWait(sp.pid, sp.startTime)
	}
	if sp.pid0 > 0 && !sp.reaped0 {
		// Our child, not reaped yet: its pid is not another's.
		if st, err := system.Stat(sp.pid0); err == nil {
			killAndWait(sp.pid0, st.StartTime)
		}
	}
	if sp.cgroup != nil {
		killCgroup(sp.cgroup)
		if err := sp.cgroup.Destroy(); err != nil {
			slog.Warn("cleaning up after a failed create", "err", err)
		}
	}
}

// killAndWait SIGKILLs the process pid (if it is still the one that started
// at startTime) and waits until it has exited (killTimeout at most),
// reaping it if it is ours.
func killAndWait(pid int, startTime uint64) {
	killAllAndWait([]int{pid}, []uint64{startTime})
}

// killAllAndWait SIGKILLs each process pids[i] that is still the one that
// started at startTimes[i], then waits until they have exited, killTimeout
// at most in all (a process frozen by a cgroup, or stuck in the kernel,
// does not die), and reaps those that are ours.
func killAllAndWait(pids []int, startTimes []uint64) {
	var fds []int
	for i, pid := range pids {
		fd, err := system.PidfdOpen(pid, startTimes[i])
		if err != nil {
			continue
		}
		defer unix.Close(fd)
		if unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) == nil {
			fds = append(fds, fd)
		}
	}
	deadline := time.Now().Add(killTimeout)
	for _, fd := range fds {
		system.WaitPidfdFor(fd, max(time.Until(deadline), 0))
	}
	for _, pid := range pids {
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	}
}

// killCgroup SIGKILLs every process left in the cgroup (containers without
// their own pid namespace can leave some behind).
func killCgroup(cg cgroups.Manager) {
	pids, _ := cg.Pids()
	var alive []int
	var starts []uint64
	for _, pid := range pids {
		if st, err := system.Stat(pid); err == nil {
			alive, starts = append(alive, pid), append(starts, st.StartTime)
		}
	}
	killAllAndWait(alive, starts)
}
