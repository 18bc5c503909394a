package libcontainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/cgroups/manager"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/exeseal"
	"github.com/husk-runtime/husk/libcontainer/hooks"
	"github.com/husk-runtime/husk/libcontainer/initproto"
	"github.com/husk-runtime/husk/libcontainer/netdev"
	"github.com/husk-runtime/husk/libcontainer/notify"
	"github.com/husk-runtime/husk/libcontainer/nsenter"
	"github.com/husk-runtime/husk/libcontainer/seccomp"
	"github.com/husk-runtime/husk/libcontainer/system"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// CreateOptions describe a container to create.
type CreateOptions struct {
	Root    string // --root
	ID      string
	Bundle  string // absolute
	Config  *configs.Config
	Process *configs.Process
	// PreserveFds passes the caller's fds 3 .. 3+N-1 on to the workload.
	PreserveFds int
	// ConsoleSocket receives the pty master when the process has a
	// terminal (a connected --console-socket, or husk's own socketpair).
	ConsoleSocket *os.File
	// ProxyConsole: husk itself proxies the pty (a foreground run): its
	// output post-processing (ONLCR) is turned off, as runc does.
	ProxyConsole bool
	// Notify gives the container an sd_notify socket of its own (husk was
	// started with NOTIFY_SOCKET).
	Notify bool
	// Rootless: husk runs unprivileged. A cgroup it may not create is
	// done without, unless the config sets limits.
	Rootless bool
}

// initConfig is what the parent sends the Go init (initproto.Config).
type initConfig struct {
	ID          string            `json:"id"`
	Config      *configs.Config   `json:"config"`
	Process     *configs.Process  `json:"process"`
	CgroupPaths map[string]string `json:"cgroup_paths,omitempty"`
	// FifoFd is the exec fifo's O_PATH fd in the init; the init blocks on
	// it until `start`.
	FifoFd      int `json:"fifo_fd"`
	PreserveFds int `json:"preserve_fds,omitempty"`
	// Seccomp is the compiled filter; with notify rules, the init hands
	// the listener to the parent (initproto.SeccompFd), which sends it on
	// to linux.seccomp.listenerPath.
	Seccomp *seccomp.Program `json:"seccomp,omitempty"`
	// DumpableHandOver: the parent is unprivileged and can take the
	// listener (pidfd_getfd, a ptrace access) only while the init is
	// dumpable.
	DumpableHandOver bool `json:"dumpable_hand_over,omitempty"`
	// JoinAfterReady: the parent moves the process into its (frozen)
	// cgroup after Ready and says Joined (exec --ignore-paused).
	JoinAfterReady bool `json:"join_after_ready,omitempty"`
	// ConsoleFd is the socket to send the pty master over, or -1.
	ConsoleFd int `json:"console_fd"`
	// ClearONLCR turns off the pty's \n to \r\n translation: the pty
	// goes to husk's own proxy, whose terminal (raw) adds nothing either.
	ClearONLCR bool `json:"clear_onlcr,omitempty"`
	// HookState is the OCI state JSON for the hooks the init runs.
	HookState []byte `json:"hook_state,omitempty"`
	// Exec is set for `husk exec`: the process joins a running container;
	// there is no rootfs to set up and no fifo to wait on.
	Exec bool `json:"exec,omitempty"`
	// MountSources: the parent answers MountRequest (it runs as root), so
	// the init may ask it for a bind mount's source it cannot reach (from
	// a user namespace) and must ask it for idmapped ones.
	MountSources bool `json:"mount_sources,omitempty"`
	// LogLevel "debug" has the init send a Log record per step.
	LogLevel string `json:"log_level,omitempty"`
	// ExecKilled, if set, is the action of the seccomp filter on the
	// workload's execve that would end the process (SCMP_ACT_KILL...): the
	// init loads no filter and tells `start` the workload cannot start.
	ExecKilled string `json:"exec_killed,omitempty"`
	// ParentPidfd is the init's fd of a pidfd of the parent, which it
	// must not outlive until the handoff.
	ParentPidfd int `json:"parent_pidfd,omitempty"`
}

// spawned is an init process being set up, and what to undo if that fails.
type spawned struct {
	pid0      int // the process we started; the C stage may fork from it
	reaped0   bool
	sock      *os.File
	pid       int // the pid that runs the Go init (after the C stage's fork)
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
}

// Create creates a container: its state directory, cgroup and init process,
// which waits for Start. On error nothing is left behind.
func Create(o CreateOptions) (_ *Container, retErr error) {
	if err := configs.ValidateID(o.ID); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadID, err)
	}
	if err := ensureRoot(o.Root); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", o.Root, err)
	}
	dir := filepath.Join(o.Root, o.ID)
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, ErrExist
		}
		return nil, fmt.Errorf("state directory: %w", err)
	}
	// The container's lock, held until the container exists (start, in
	// `run`, keeps it): a delete meanwhile waits, and a killed create's
	// lock goes with it.
	lock, err := lockDir(dir, true)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("state directory: %w", err)
	}
	c := &Container{root: o.Root, dir: dir, lock: lock, State: State{
		ID: o.ID, Bundle: o.Bundle, Config: o.Config, Process: o.Process, Created: time.Now().UTC(),
		Creating: true,
	}}
	var sp *spawned
	// Without a mount namespace, the container's mounts are made here.
	var hostMounts map[int]bool
	if !o.Config.Has(configs.NEWNS) {
		hostMounts = mountIDs(o.Config.Rootfs)
	}
	defer func() {
		if retErr != nil {
			sp.abort()
			if hostMounts != nil {
				unmountAll(newMounts(o.Config.Rootfs, hostMounts))
			}
			os.RemoveAll(dir)
			c.Unlock()
		}
	}()

	cg, err := manager.New(o.Config.Cgroup)
	if err != nil {
		return nil, err
	}
	// A cgroup refused here (someone else's processes, frozen) is not
	// ours: it is checked before the state names it for a delete to
	// remove.
	if err := checkCgroupUnused(cg); err != nil {
		return nil, err
	}
	// The state comes before anything is made (cgroup, fifo, process): a
	// create killed at any instant after this leaves a state that `delete`
	// finds, with the cgroup paths to remove.
	c.State.CgroupPaths = cg.Paths()
	if err := c.save(); err != nil {
		return nil, fmt.Errorf("write state: %w", err)
	}

	fifoPath := filepath.Join(dir, fifoFile)
	// The init opens the fifo for writing after it has switched to the
	// workload's user, possibly in a user namespace: world-writable (only
	// root can reach the state directory) and owned by the container's root.
	if err := unix.Mkfifo(fifoPath, 0o622); err != nil {
		return nil, fmt.Errorf("exec fifo: %w", err)
	}
	if err := os.Chmod(fifoPath, 0o622); err != nil {
		return nil, fmt.Errorf("exec fifo: %w", err)
	}
	if err := os.Chown(fifoPath, hostID(o.Config.UIDMappings, 0), hostID(o.Config.GIDMappings, 0)); err != nil && !(o.Rootless && errors.Is(err, os.ErrPermission)) {
		return nil, fmt.Errorf("exec fifo: %w", err)
	}
	fifo, err := os.OpenFile(fifoPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("exec fifo: %w", err)
	}
	defer fifo.Close()

	if o.Notify {
		// The socket lives in the state directory, which the container
		// sees read-only at /run/notify; `start` (or `run`) listens on it.
		conn, err := notify.Listen(notify.Dir(dir))
		if err != nil {
			return nil, err
		}
		c.notify = conn
		defer func() {
			if retErr != nil {
				conn.Close()
			}
		}()
		o.Config.Mounts = append(o.Config.Mounts, &configs.Mount{
			Source: notify.Dir(dir), Destination: notify.ContainerDir, Device: "bind",
			Flags: unix.MS_BIND | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC,
		})
		o.Process.Env = append(o.Process.Env, "NOTIFY_SOCKET="+notify.ContainerPath)
	}

	sp = &spawned{cgroup: cg}
	if err := sp.start(o, fifo); err != nil {
		return nil, err
	}
	c.State.InitPid, c.State.InitStartTime = sp.pid, sp.startTime
	c.State.CgroupPaths = sp.cgroup.Paths()
	c.State.Creating = false
	if hostMounts != nil {
		c.State.HostMounts = newMounts(o.Config.Rootfs, hostMounts)
	}
	if err := c.save(); err != nil {
		return nil, fmt.Errorf("write state: %w", err)
	}
	// The state says it all now: the init may outlive us.
	if err := sp.handoff(); err != nil {
		return nil, err
	}
	sp.sock.Close()
	slog.Debug("container created: the init waits for start", "id", o.ID, "pid", sp.pid)
	return c, nil
}

// checkCgroupUnused refuses, as runc does, a container cgroup that exists
// with processes in it (on v1, those of the devices hierarchy, which runc
// looks at) or that is frozen itself: the init would be frozen the moment
// it is born, and create would wait for it forever.
func checkCgroupUnused(cg cgroups.Manager) error {
	paths := cg.Paths()
	dir, _ := paths.Unified()
	if _, p, ok := paths.Find("devices"); ok {
		dir = p
	}
	if dir != "" {
		pids, err := cgroups.ReadProcs(dir)
		if err != nil && !errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("cgroup: reading the processes of %s: %w", dir, err)
		}
		if len(pids) > 0 {
			return fmt.Errorf("container's cgroup is not empty: %d process(es) found in %s", len(pids), dir)
		}
	}
	frozen, err := cg.Frozen()
	if err != nil {
		return fmt.Errorf("cgroup: reading the freezer state: %w", err)
	}
	if frozen {
		return errors.New("container's cgroup unexpectedly frozen")
	}
	return nil
}

// start runs `husk init`, takes it through the C stage and the Go init's
// setup, and returns when the init reports Ready.
func (sp *spawned) start(o CreateOptions, fifo *os.File) error {
	var extra []uintptr
	consoleFd := -1
	if o.ConsoleSocket != nil {
		consoleFd = 3 + o.PreserveFds + len(extra)
		extra = append(extra, o.ConsoleSocket.Fd())
	}
	sc, err := prepareSeccomp(o.Config)
	if err != nil {
		return err
	}
	sp.seccomp = sc
	// The cgroup is made first: the new process is born in it. A driver
	// that makes it around a process (systemd) makes nothing here: the
	// init is placed by Apply right after the fork, while its C stage
	// still waits for the bootstrap.
	slog.Debug("making the container's cgroup")
	if err := sp.cgroup.Create(); err != nil {
		denied := errors.Is(err, os.ErrPermission) || errors.Is(err, unix.EROFS)
		if !o.Rootless || !denied || o.Config.Cgroup.Resources.HasLimits() {
			return err
		}
		// Rootless without a delegated cgroup and without limits: as runc,
		// the container does without a cgroup of its own.
		slog.Debug("rootless: running without a cgroup of its own", "err", err)
		sp.cgroup = manager.None()
	}
	sp.placeLater = sp.cgroup.Placement() == cgroups.PlacedByApply
	// A new pid namespace is made by the clone that starts the init, so the
	// C stage need not fork (and the init's pages are not copied on write)
	// unless the namespaces are of another user namespace or a new time
	// namespace, which must exist first.
	var cloneFlags uintptr
	newPid := cloneNewPid(o.Config)
	if newPid {
		cloneFlags = unix.CLONE_NEWPID
	}
	sockFd, tasks, err := sp.fork(o.PreserveFds, extra, fifo, cloneFlags)
	if err != nil {
		return err
	}
	if sp.placeLater {
		if err := sp.cgroup.Apply(sp.pid0); err != nil {
			return err
		}
	}
	// pids.max is written once the init is ready (below): a low limit would
	// keep the init's own runtime from starting its threads.
	var pids configs.Resources
	if r := o.Config.Cgroup.Resources; r != nil {
		var early configs.Resources
		early, pids = r.SplitPids()
		if o.Rootless {
			// Device rules need privileges an unprivileged user lacks, and
			// it cannot reach devices beyond its own anyway (as runc).
			early.Devices = nil
		}
		if err := sp.cgroup.Set(&early); err != nil {
			return err
		}
	}
	// The init runs on every CPU of its cpuset, not on the caller's taskset
	// (as runc).
	bs := nsenter.Bootstrap{CgroupTasks: tasks, TimeOffsets: o.Config.TimeOffsets, Affinity: nsenter.AllCPUs(), ParentPidfd: sp.parentPidfd}
	for _, ns := range o.Config.Namespaces {
		switch {
		case ns.Type == configs.NEWPID && ns.Path == "" && newPid:
		case ns.Path == "":
			bs.CloneFlags |= ns.Type.CloneFlag()
		default:
			bs.NsPaths = append(bs.NsPaths, nsenter.NsPath{Type: ns.Type.CloneFlag(), Path: ns.Path})
		}
	}
	if err := sp.bootstrap(&bs, o.Config); err != nil {
		return err
	}
	if err := moveNetDevices(sp.pid, o.Config.NetDevices); err != nil {
		return err
	}
	// As runc: the hooks and the seccomp agent see the container "creating".
	state := ociState(o.ID, Creating, sp.pid, o.Bundle, o.Config)
	ic := initConfig{
		ID: o.ID, Config: o.Config, Process: o.Process, CgroupPaths: sp.cgroup.Paths(),
		FifoFd: sockFd + 1, PreserveFds: o.PreserveFds, HookState: state,
		ConsoleFd: consoleFd, MountSources: os.Geteuid() == 0, ClearONLCR: o.ProxyConsole,
		ParentPidfd: sp.parentPidfd,
	}
	sc.fill(&ic, sp.pid, state, o.Config)
	err = sp.configure(&ic, func() error {
		// prestart and createRuntime, in the runtime's namespaces and,
		// as runc's, in the bundle.
		if err := hooks.Run(hooks.Prestart, o.Config.Hooks[hooks.Prestart], state, o.Bundle); err != nil {
			return err
		}
		return hooks.Run(hooks.CreateRuntime, o.Config.Hooks[hooks.CreateRuntime], state, o.Bundle)
	})
	if err != nil || !pids.HasLimits() {
		return err
	}
	return sp.cgroup.Set(&pids)
}

// fork starts `husk init` from the sealed binary with fds: stdio, the
// caller's preserved fds, extra, the init socket, then fifo if not nil. It
// is born in the cgroup's unified hierarchy (CLONE_INTO_CGROUP; not with
// placeLater) and with cloneFlags; the v1 hierarchies' "tasks" files it
// must join itself are returned, with the number of the init's socket fd.
func (sp *spawned) fork(preserveFds int, extra []uintptr, fifo *os.File, cloneFlags uintptr) (sockFd int, tasks []string, err error) {
	parent, child, err := socketpair()
	if err != nil {
		return 0, nil, err
	}
	defer child.Close()
	sp.sock = parent

	exe, err := exeseal.Open()
	if err != nil {
		return 0, nil, err
	}
	defer exe.Close()
	// Until the handoff the init dies with us (PR_SET_PDEATHSIG, checked
	// against this pidfd of ours). The death signal comes when the thread
	// that forked exits, not the process: this goroutine keeps its thread
	// (never unlocked) for as long as the process lives.
	runtime.LockOSThread()
	self, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return 0, nil, fmt.Errorf("pidfd of husk: %w", err)
	}
	defer unix.Close(self)
	files := []uintptr{0, 1, 2}
	for i := 0; i < preserveFds; i++ {
		files = append(files, uintptr(3+i))
	}
	files = append(files, extra...)
	sp.parentPidfd = len(files)
	files = append(files, uintptr(self))
	sockFd = len(files)
	files = append(files, child.Fd())
	if fifo != nil {
		files = append(files, fifo.Fd())
	}
	// The exe is exec'd by path /proc/self/fd/N, so N must survive the
	// child's fd shuffle: Go dup2()s files to 0..len-1 and may first move
	// sources to len, len+1, ... (up to one per file, plus its own pipe).
	exeFd, err := unix.FcntlInt(exe.Fd(), unix.F_DUPFD_CLOEXEC, 2*len(files)+2)
	if err != nil {
		return 0, nil, fmt.Errorf("dup exe fd: %w", err)
	}
	defer unix.Close(exeFd)

	attr := &syscall.ProcAttr{Env: []string{}, Files: files, Sys: &syscall.SysProcAttr{Cloneflags: cloneFlags}}
	paths := sp.cgroup.Paths()
	if sp.placeLater {
		paths = nil
	}
	for key, dir := range paths {
		if !cgroups.Hierarchy(key).Unified() {
			tasks = append(tasks, filepath.Join(dir, "tasks"))
			continue
		}
		cgfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return 0, nil, fmt.Errorf("cgroup: open %s: %w", dir, err)
		}
		defer unix.Close(cgfd)
		attr.Sys.UseCgroupFD, attr.Sys.CgroupFD = true, cgfd
	}
	sort.Strings(tasks)
	pid0, err := syscall.ForkExec("/proc/self/fd/"+strconv.Itoa(exeFd), []string{"husk", "init", strconv.Itoa(sockFd)}, attr)
	if err != nil {
		return 0, nil, fmt.Errorf("start init: %w", err)
	}
	sp.pid0 = pid0
	slog.Debug("started husk init", "pid", pid0)
	return sockFd, tasks, nil
}

// configure sends the Go init its configuration and waits until it is
// ready (or has failed), running runtimeHooks when it asks.
func (sp *spawned) configure(ic *initConfig, runtimeHooks func() error) error {
	if debugEnabled() {
		ic.LogLevel = "debug"
	}
	slog.Debug("sending the init its config", "pid", sp.pid)
	if err := initproto.WriteJSON(sp.sock, initproto.Config, ic); err != nil {
		return fmt.Errorf("send config to init: %w", err)
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
			var info initproto.ReadyInfo
			if len(p) > 0 {
				if err := json.Unmarshal(p, &info); err != nil {
					return fmt.Errorf("decode ready from init: %w", err)
				}
			}
			for _, w := range info.Warnings {
				slog.Warn(w)
			}
			return nil
		case initproto.Error:
			return initproto.DecodeError(p)
		case initproto.MountRequest:
			if err := sp.sendMountSource(ic.Config, p); err != nil {
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

// debugEnabled says whether --debug is on: the init is then asked for a
// record of each step.
func debugEnabled() bool {
	return slog.Default().Enabled(context.Background(), slog.LevelDebug)
}

// logFromInit writes a record the init sent (initproto.Log) to husk's log.
func logFromInit(p []byte) {
	level, msg := initproto.ParseLog(p)
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

// bootstrap drives the C stage: namespaces, uid/gid maps, the final pid.
func (sp *spawned) bootstrap(bs *nsenter.Bootstrap, cfg *configs.Config) error {
	if debugEnabled() {
		bs.LogLevel = 1
	}
	payload, err := bs.Encode()
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	slog.Debug("sending the bootstrap to the init's C stage", "pid", sp.pid0)
	if err := initproto.Write(sp.sock, initproto.Bootstrap, payload); err != nil {
		return fmt.Errorf("send bootstrap to init: %w", err)
	}
	for {
		t, p, err := sp.read("the C stage's child pid")
		if err != nil {
			return initErr(err)
		}
		switch t {
		case initproto.Log:
			logFromInit(p)
		case initproto.UsernsReady:
			pid, err := initproto.ParseU32(t, p)
			if err != nil {
				return err
			}
			slog.Debug("writing the uid/gid maps", "pid", pid)
			if err := writeIDMaps(int(pid), cfg); err != nil {
				return err
			}
			if err := writeTimeOffsets(int(pid), cfg); err != nil {
				return err
			}
			if err := initproto.Write(sp.sock, initproto.MapsDone, nil); err != nil {
				return fmt.Errorf("send maps-done to init: %w", err)
			}
		case initproto.ChildPid:
			pid, err := initproto.ParseU32(t, p)
			if err != nil {
				return err
			}
			sp.pid = int(pid)
			if pid == 0 {
				sp.pid = sp.pid0
			}
			st, err := system.Stat(sp.pid)
			if err != nil {
				return fmt.Errorf("init process %d: %w", sp.pid, err)
			}
			sp.startTime = st.StartTime
			slog.Debug("the Go init runs", "pid", sp.pid)
			if sp.pid != sp.pid0 {
				// The C stage forked; its first process exits now.
				if err := sp.reap0(); err != nil {
					return err
				}
			}
			return nil
		case initproto.Error:
			return initproto.DecodeError(p)
		default:
			return fmt.Errorf("%w from init's C stage: %v", initproto.ErrUnexpected, t)
		}
	}
}

// moveNetDevices moves linux.netDevices into the init's network namespace,
// now that it exists and before anything runs in it.
func moveNetDevices(pid int, devs map[string]string) error {
	if len(devs) == 0 {
		return nil
	}
	ns, err := os.Open(configs.NEWNET.ProcPath(pid))
	if err != nil {
		return fmt.Errorf("linux.netDevices: %w", err)
	}
	defer ns.Close()
	names := make([]string, 0, len(devs))
	for host := range devs {
		names = append(names, host)
	}
	sort.Strings(names)
	for _, host := range names {
		if err := netdev.Move(host, devs[host], ns); err != nil {
			return fmt.Errorf("linux.netDevices: %w", err)
		}
	}
	return nil
}

// cloneNewPid says whether the init can be cloned straight into a new pid
// namespace: one is wanted, and no user namespace or new time namespace has
// to come first.
func cloneNewPid(cfg *configs.Config) bool {
	pid, ok := cfg.Namespace(configs.NEWPID)
	if !ok || pid.Path != "" || cfg.Has(configs.NEWUSER) {
		return false
	}
	t, ok := cfg.Namespace(configs.NEWTIME)
	return !ok || t.Path != ""
}

// hostID maps a container id to the host: itself without mappings.
func hostID(ms []configs.IDMap, id uint32) int {
	for _, m := range ms {
		if id >= m.ContainerID && id-m.ContainerID < m.Size {
			return int(m.HostID + id - m.ContainerID)
		}
	}
	return int(id)
}

func writeIDMaps(pid int, cfg *configs.Config) error {
	format := func(ms []configs.IDMap) []byte {
		var b strings.Builder
		for _, m := range ms {
			fmt.Fprintf(&b, "%d %d %d\n", m.ContainerID, m.HostID, m.Size)
		}
		return []byte(b.String())
	}
	proc := "/proc/" + strconv.Itoa(pid)
	if os.Geteuid() == 0 {
		if err := os.WriteFile(proc+"/uid_map", format(cfg.UIDMappings), 0); err != nil {
			return fmt.Errorf("write uid_map: %w", err)
		}
		if err := os.WriteFile(proc+"/gid_map", format(cfg.GIDMappings), 0); err != nil {
			return fmt.Errorf("write gid_map: %w", err)
		}
		return nil
	}
	// Unprivileged, the kernel lets us map only our own id (and our own
	// gid once setgroups is denied); more takes the setuid helpers, which
	// check /etc/subuid and /etc/subgid.
	own := func(ms []configs.IDMap, id int) bool {
		return len(ms) == 1 && ms[0].Size == 1 && int(ms[0].HostID) == id
	}
	if own(cfg.UIDMappings, os.Geteuid()) {
		if err := os.WriteFile(proc+"/uid_map", format(cfg.UIDMappings), 0); err != nil {
			return fmt.Errorf("write uid_map: %w", err)
		}
	} else if err := idmapHelper("newuidmap", "/etc/subuid", pid, cfg.UIDMappings); err != nil {
		return fmt.Errorf("linux.uidMappings: %w", err)
	}
	if own(cfg.GIDMappings, os.Getegid()) {
		if err := os.WriteFile(proc+"/setgroups", []byte("deny"), 0); err != nil {
			return fmt.Errorf("write setgroups: %w", err)
		}
		if err := os.WriteFile(proc+"/gid_map", format(cfg.GIDMappings), 0); err != nil {
			return fmt.Errorf("write gid_map: %w", err)
		}
	} else if err := idmapHelper("newgidmap", "/etc/subgid", pid, cfg.GIDMappings); err != nil {
		return fmt.Errorf("linux.gidMappings: %w", err)
	}
	return nil
}

// writeTimeOffsets writes the offsets of the time namespace the C stage
// made together with a new user namespace: the C stage, not dumpable, may
// not open its own timens_offsets (owned by the host's root) as root of
// that user namespace.
func writeTimeOffsets(pid int, cfg *configs.Config) error {
	if t, ok := cfg.Namespace(configs.NEWTIME); !ok || t.Path != "" || cfg.TimeOffsets == "" {
		return nil
	}
	if err := os.WriteFile("/proc/"+strconv.Itoa(pid)+"/timens_offsets", []byte(cfg.TimeOffsets), 0); err != nil {
		return fmt.Errorf("linux.timeOffsets: %w", err)
	}
	return nil
}

// idmapHelper writes a user namespace's map with newuidmap or newgidmap
// (shadow's setuid helpers), for mappings beyond the caller's own id.
func idmapHelper(helper, subFile string, pid int, ms []configs.IDMap) error {
	path, err := exec.LookPath(helper)
	if err != nil {
		return fmt.Errorf("mapping ids other than your own needs %s (Debian package uidmap) and a range in %s: %w", helper, subFile, err)
	}
	args := []string{strconv.Itoa(pid)}
	for _, m := range ms {
		args = append(args, strconv.FormatUint(uint64(m.ContainerID), 10), strconv.FormatUint(uint64(m.HostID), 10), strconv.FormatUint(uint64(m.Size), 10))
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s (the ranges must be yours in %s)", helper, strings.Join(args, " "), err, strings.TrimSpace(string(out)), subFile)
	}
	return nil
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

// seccompSetup is a compiled filter and, for notify rules, what the
// seccomp agent is sent with the listener.
type seccompSetup struct {
	prog         *seccomp.Program
	listenerPath string
	state        []byte // the container process state, for the agent
}

func prepareSeccomp(cfg *configs.Config) (*seccompSetup, error) {
	sc := &seccompSetup{}
	if cfg.Seccomp == nil {
		return sc, nil
	}
	prog, err := seccomp.Compile(cfg.Seccomp)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: %w", err)
	}
	sc.prog, sc.listenerPath = prog, cfg.Seccomp.ListenerPath
	return sc, nil
}

// fill puts the filter in the init's config and makes the container
// process state the agent gets: the process's pid as husk sees it, the
// metadata and the container's state.
func (sc *seccompSetup) fill(ic *initConfig, pid int, state []byte, cfg *configs.Config) {
	ic.Seccomp = sc.prog
	if sc.prog != nil {
		// A filter that kills the process at its execve is not loaded:
		// the workload could never start, and `start` says so.
		if ic.ExecKilled = sc.prog.KillsExec(); ic.ExecKilled != "" {
			ic.Seccomp = nil
			return
		}
	}
	if sc.prog == nil || !sc.prog.Notify {
		return
	}
	ic.DumpableHandOver = os.Geteuid() != 0
	var st specs.State
	json.Unmarshal(state, &st)
	sc.state, _ = json.Marshal(specs.ContainerProcessState{
		Version: specs.Version, Fds: []string{specs.SeccompFdName}, Pid: pid,
		Metadata: cfg.Seccomp.ListenerMetadata, State: st,
	})
}

// passListener takes a copy of the init's seccomp listener (its fd number
// is the SeccompFd payload) with pidfd_getfd, sends it to the seccomp
// agent and lets the init go on. The init has loaded its filter: it must
// not be asked to do anything the filter could notify before the agent
// has the listener.
func (sp *spawned) passListener(payload []byte) error {
	fd, err := initproto.ParseU32(initproto.SeccompFd, payload)
	if err != nil {
		return err
	}
	sc := sp.seccomp
	if sc == nil || sc.prog == nil || !sc.prog.Notify {
		return fmt.Errorf("%w from init: %v without notify rules", initproto.ErrUnexpected, initproto.SeccompFd)
	}
	pidfd, err := system.PidfdOpen(sp.pid, sp.startTime)
	if err != nil {
		return fmt.Errorf("seccomp listener: %w", err)
	}
	defer unix.Close(pidfd)
	listener, err := unix.PidfdGetfd(pidfd, int(fd), 0)
	if err != nil {
		return fmt.Errorf("seccomp listener: pidfd_getfd: %w", err)
	}
	defer unix.Close(listener)
	if err := seccomp.SendToAgent(sc.listenerPath, sc.state, listener); err != nil {
		return err
	}
	if err := initproto.Write(sp.sock, initproto.SeccompDone, nil); err != nil {
		return fmt.Errorf("send seccomp-done to init: %w", err)
	}
	return nil
}
