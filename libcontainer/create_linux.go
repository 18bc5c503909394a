package libcontainer

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/cgroups/manager"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/hooks"
	"github.com/husk-runtime/husk/libcontainer/initproto"
	"github.com/husk-runtime/husk/libcontainer/notify"
	"github.com/husk-runtime/husk/libcontainer/nsenter"
	"github.com/husk-runtime/husk/libcontainer/plan"
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

// newContainer makes the state directory of a container to be (create's or
// restore's), holding its lock: held until the container exists (start,
// in `run`, keeps it), so that a delete meanwhile waits, and a killed
// create's lock goes with it. Its state says Creating.
func newContainer(root, id, bundle string, cfg *configs.Config, proc *configs.Process) (*Container, error) {
	if err := ensureRoot(root); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", root, err)
	}
	dir := filepath.Join(root, id)
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, ErrExist
		}
		return nil, fmt.Errorf("state directory: %w", err)
	}
	lock, err := lockDir(dir, true)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("state directory: %w", err)
	}
	return &Container{root: root, dir: dir, lock: lock, State: State{
		ID: id, Bundle: bundle, Config: cfg, Process: proc, Created: time.Now().UTC(),
		Creating: true,
	}}, nil
}

// Create creates a container: its state directory, cgroup and init process,
// which waits for Start. On error nothing is left behind.
func Create(o CreateOptions) (_ *Container, retErr error) {
	if err := configs.ValidateID(o.ID); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadID, err)
	}
	c, err := newContainer(o.Root, o.ID, o.Bundle, o.Config, o.Process)
	if err != nil {
		return nil, err
	}
	dir := c.dir
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
	if err := phase("state", c.save); err != nil {
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
		addNotify(o, dir)
	}

	sp = &spawned{cgroup: cg}
	if err := sp.start(o, fifo); err != nil {
		return nil, err
	}
	c.State.InitPid, c.State.InitStartTime = sp.pid, sp.startTime
	c.State.ExternalDescriptors = stdioNames(sp.pid)
	c.State.CgroupPaths = sp.cgroup.Paths()
	c.State.Creating = false
	if hostMounts != nil {
		c.State.HostMounts = newMounts(o.Config.Rootfs, hostMounts)
	}
	if err := phase("state", c.save); err != nil {
		return nil, fmt.Errorf("write state: %w", err)
	}
	// The state says it all now: the init may outlive us.
	if err := phase("handoff", func() error {
		if err := sp.handoff(); err != nil {
			return err
		}
		return sp.lateListener()
	}); err != nil {
		return nil, err
	}
	sp.sock.Close()
	slog.Debug("container created: the init waits for start", "id", o.ID, "pid", sp.pid)
	return c, nil
}

// addNotify gives the container the sd_notify socket's directory (the
// state directory dir's), read-only, and its NOTIFY_SOCKET.
func addNotify(o CreateOptions, dir string) {
	o.Config.Mounts = append(o.Config.Mounts, &configs.Mount{
		Source: notify.Dir(dir), Destination: notify.ContainerDir, Device: "bind",
		Flags: unix.MS_BIND | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC,
	})
	o.Process.Env = append(o.Process.Env, "NOTIFY_SOCKET="+notify.ContainerPath)
}

// checkCgroupUnused refuses, as runc does, a container cgroup that exists
// with processes in it (on v1, those of the devices hierarchy, which runc
// looks at) or that is frozen itself: the init would be frozen the moment
// it is born, and create would wait for it forever.
func checkCgroupUnused(cg cgroups.Manager) error {
	paths := cg.Paths()
	dir, _ := paths.Unified()
	if _, d, ok := paths.Find("devices"); ok {
		dir = d
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

// start runs `husk init` and takes it through its bootstrap and its plan,
// phase by phase (the phases' names are those of the --debug timings),
// and returns when the init reports Ready.
func (sp *spawned) start(o CreateOptions, fifo *os.File) error {
	var (
		fds   *fdTable
		tasks []string
		pids  configs.Resources
		ops   encodedPlan
	)
	newPid := cloneNewPid(o.Config)
	err := phase("cgroup", func() error {
		sc, err := prepareSeccomp(o.Config, SeccompCache)
		if err != nil {
			return err
		}
		sp.seccomp = sc
		return sp.makeCgroup(o)
	})
	if err == nil {
		err = phase("clone", func() (err error) {
			// A new pid namespace is made by the clone that starts the
			// init, so the C stage need not fork, unless the namespaces
			// are of another user namespace or a new time namespace,
			// which must exist first.
			var cloneFlags uintptr
			if newPid {
				cloneFlags = unix.CLONE_NEWPID
			}
			fds, tasks, err = sp.fork(forkOptions{preserve: o.PreserveFds, containerPidfd: -1, console: o.ConsoleSocket, fifo: fifo, cloneFlags: cloneFlags})
			if err != nil || !sp.placeLater {
				return err
			}
			return sp.cgroup.Apply(sp.pid0)
		})
	}
	if err == nil {
		err = phase("namespaces", func() error {
			// The init runs on every CPU of its cpuset, not on the
			// caller's taskset (as runc).
			bs := initBootstrap(o.Config, newPid, tasks, sp.parentPidfd)
			if err := sp.bootstrap(&bs, o.Config, func() error {
				// While the C stage joins the cgroups and makes the
				// namespaces: the limits (in place before the init
				// runs anything of the container's: it waits for its
				// plan), and the plan.
				err := phase("resources", func() error {
					// pids.max is written once the init is ready (as
					// runc): its hooks may fork.
					early, late, ok := resourceSteps(o)
					if !ok {
						return nil
					}
					pids = late
					return sp.cgroup.Set(&early)
				})
				if err != nil {
					return err
				}
				ops, err = encodePlan(sp.initPlan(o, fds))
				return err
			}); err != nil {
				return err
			}
			return moveNetDevices(sp.pid, o.Config.NetDevices)
		})
	}
	if err == nil {
		// The init's whole setup (mounts, hooks, pivot_root, the
		// process), until it is ready.
		err = phase("init", func() error { return sp.runPlan(o, ops) })
	}
	if err != nil || !pids.HasLimits() {
		return err
	}
	return phase("pids", func() error { return sp.cgroup.Set(&pids) })
}

// resourceSteps are the container's resources as create sets them: all
// but the pids limit once the cgroup is made, the pids limit once the
// init is ready (its hooks may fork); ok is false without resources.
func resourceSteps(o CreateOptions) (early, pids configs.Resources, ok bool) {
	r := o.Config.Cgroup.Resources
	if r == nil {
		return early, pids, false
	}
	early, pids = r.SplitPids()
	if o.Rootless {
		// Device rules need privileges an unprivileged user lacks, and
		// it cannot reach devices beyond its own anyway (as runc).
		early.Devices = nil
	}
	return early, pids, true
}

// initBootstrap is the C stage's bootstrap: the namespaces it makes (all
// new ones but a pid namespace the clone made, newPid) and joins.
func initBootstrap(cfg *configs.Config, newPid bool, tasks []string, parentPidfd int) nsenter.Bootstrap {
	bs := nsenter.Bootstrap{CgroupTasks: tasks, TimeOffsets: cfg.TimeOffsets, Affinity: nsenter.AllCPUs(), ParentPidfd: parentPidfd}
	for _, ns := range cfg.Namespaces {
		switch {
		case ns.Type == configs.NEWPID && ns.Path == "" && newPid:
		case ns.Path == "":
			bs.CloneFlags |= ns.Type.CloneFlag()
		default:
			bs.NsPaths = append(bs.NsPaths, nsenter.NsPath{Type: ns.Type.CloneFlag(), Path: ns.Path})
		}
	}
	return bs
}

// makeCgroup makes the container's cgroup before the init exists: it is
// born in it. A driver that makes it around a process (systemd) makes
// nothing here: the init is placed by Apply right after the fork, while
// its C stage still waits for the bootstrap.
func (sp *spawned) makeCgroup(o CreateOptions) error {
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
	return nil
}

// initPlan builds the init's plan (create's; --dry-run shows it).
func (sp *spawned) initPlan(o CreateOptions, fds *fdTable) ([]initproto.Op, error) {
	opts := plan.Options{
		ID: o.ID, Config: o.Config, Process: o.Process, CgroupPaths: sp.cgroup.Paths(),
		Fifo: fds.fifo, ConsoleSocket: fds.console, PreserveFds: o.PreserveFds,
		HookState:    func() [2]string { return hookStateParts(o.ID, o.Bundle, o.Config.Annotations) },
		MountSources: os.Geteuid() == 0, ClearONLCR: o.ProxyConsole,
	}
	sp.seccompPlan(&opts, o.Process.NoNewPrivileges)
	hostPlan(&opts)
	return plan.Build(opts)
}

// runPlan runs the init's plan, running the prestart and createRuntime
// hooks when the init asks.
func (sp *spawned) runPlan(o CreateOptions, ops encodedPlan) error {
	// As runc: the hooks and the seccomp agent see the container "creating".
	state := ociState(o.ID, Creating, sp.pid, o.Bundle, o.Config)
	sp.seccomp.prepare(sp.pid, state, o.Config)
	return sp.run(ops, o.Config, func() error {
		// prestart and createRuntime, in the runtime's namespaces and,
		// as runc's, in the bundle.
		if err := hooks.Run(hooks.Prestart, o.Config.Hooks[hooks.Prestart], state, o.Bundle); err != nil {
			return hookErr(err, o.Config)
		}
		return hookErr(hooks.Run(hooks.CreateRuntime, o.Config.Hooks[hooks.CreateRuntime], state, o.Bundle), o.Config)
	})
}
