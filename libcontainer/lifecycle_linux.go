package libcontainer

import (
	"errors"
	"fmt"
	"github.com/husk-runtime/husk/libcontainer/diag"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/hooks"
	"github.com/husk-runtime/husk/libcontainer/notify"
	"github.com/husk-runtime/husk/libcontainer/system"
	"golang.org/x/sys/unix"
)

// Start lets a created container's init exec the workload. It returns once
// the init has passed the exec fifo, or with an error if the init died.
func (c *Container) Start() error {
	switch st := c.Status(); st {
	case Created:
	case Stopped:
		return fmt.Errorf("%w: cannot start a container that has stopped", ErrState)
	default:
		return fmt.Errorf("%w: cannot start an already %s container", ErrState, st)
	}
	pidfd, err := c.pidfd()
	if err != nil {
		return fmt.Errorf("%w: cannot start a container that has stopped", ErrState)
	}
	defer unix.Close(pidfd)
	path := filepath.Join(c.dir, fifoFile)
	slog.Debug("start: opening the exec fifo", "id", c.State.ID, "pid", c.State.InitPid)
	fifo, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("%w: container was started already", ErrState)
		}
		return fmt.Errorf("open exec fifo: %w", err)
	}
	defer unix.Close(fifo)
	// The init is blocked opening the fifo for writing; now that it has a
	// reader it writes one byte. Wait for that byte or for the init's death.
	fds := []unix.PollFd{{Fd: int32(fifo), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return fmt.Errorf("wait for init: %w", err)
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			// "0", or "1" and a startContainer hook's error, in one write.
			var b [4096]byte
			n, err := unix.Read(fifo, b[:])
			if n >= 1 && b[0] == '0' {
				break
			}
			if n >= 1 && b[0] == '2' {
				// The workload cannot start (its seccomp filter would
				// kill it at its execve): the init exits.
				os.Remove(path)
				return fmt.Errorf("start %s: %s", c.State.ID, b[1:n])
			}
			if n >= 1 {
				// As runc's: the init tells the failure on its stderr
				// and exits (255); `start` itself has done its part
				// and succeeds. The container stops without its
				// workload or the poststart hooks ever running.
				slog.Debug("startContainer hook failed", "err", string(b[1:n]))
				os.Remove(path)
				return nil
			}
			if err == unix.EAGAIN {
				continue
			}
		}
		if fds[1].Revents != 0 || fds[0].Revents&unix.POLLHUP != 0 {
			return fmt.Errorf("%w: container init exited before it could be started", ErrState)
		}
	}
	slog.Debug("start: the init passed the exec fifo: the workload starts", "pid", c.State.InitPid)
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove exec fifo: %w", err)
	}
	// poststart hooks: since runtime-spec 1.3 a failure stops the container.
	// They run in the bundle, as runc's (which runs them in create).
	if err := hooks.Run(hooks.Poststart, c.State.Config.Hooks[hooks.Poststart], c.hookState(Running, c.State.InitPid), c.State.Bundle); err != nil {
		killAndWait(c.State.InitPid, c.State.InitStartTime)
		return err
	}
	return nil
}

// ListenNotify binds the container's sd_notify socket again (a `start`
// after `create`), if the container has one; false if it has none.
func (c *Container) ListenNotify() (bool, error) {
	if c.notify != nil {
		return true, nil
	}
	if _, err := os.Stat(notify.Dir(c.dir)); err != nil {
		return false, nil
	}
	conn, err := notify.Listen(notify.Dir(c.dir))
	if err != nil {
		return false, err
	}
	c.notify = conn
	return true, nil
}

// RelayNotify waits for the started container's READY=1 and passes it on
// to host (the NOTIFY_SOCKET husk was given).
func (c *Container) RelayNotify(host string) error {
	if c.notify == nil {
		return nil
	}
	fd, err := c.pidfd()
	if err != nil {
		return nil // exited already: nothing will come
	}
	defer unix.Close(fd)
	conn := c.notify
	c.notify = nil
	return notify.Relay(conn, host, c.State.InitPid, fd)
}

// killTimeout bounds the wait for a SIGKILLed init to go (runc's 10 s): an
// init that cannot die (frozen by a cgroup above the container's, stuck in
// the kernel) must not hang husk.
var killTimeout = 10 * time.Second

// ErrInitStillRunning is Destroy's answer when the init outlives SIGKILL
// by killTimeout.
var ErrInitStillRunning = errors.New("container init still running")

// Signal sends sig to the init. As runc 1.5, SIGKILL to a container without
// a pid namespace of its own goes to every process of its cgroup (stopped
// or not): they would outlive the init, where a pid namespace's die with
// its init. SIGKILL also thaws a paused container, whose processes cannot
// die frozen. ErrNotRunning (wrapped) if the init has gone.
func (c *Container) Signal(sig unix.Signal) error {
	if sig == unix.SIGKILL && !c.privatePidNs() {
		if err := c.killAll(); err != nil {
			return fmt.Errorf("unable to kill all processes: %w", err)
		}
		return nil
	}
	return c.signalInit(sig)
}

func (c *Container) signalInit(sig unix.Signal) error {
	// A zombie init takes signals without complaint: it is not running.
	if !system.Alive(c.State.InitPid, c.State.InitStartTime) {
		return ErrNotRunning
	}
	fd, err := c.pidfd()
	if err != nil {
		return ErrNotRunning
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		if err == unix.ESRCH {
			return ErrNotRunning
		}
		return fmt.Errorf("unable to signal init: %w", err)
	}
	if sig == unix.SIGKILL && c.cgroupExists() {
		// Frozen tasks die only once thawed, and so do tasks a pause left
		// half-frozen (FREEZING, which is not "paused"): thaw whatever
		// the state (a thawed cgroup is left as it is).
		if err := c.cgroup().Freeze(false); err != nil {
			slog.Warn(err.Error())
		}
	}
	return nil
}

// privatePidNs says whether the container has a pid namespace of its own.
func (c *Container) privatePidNs() bool {
	ns, ok := c.State.Config.Namespace(configs.NEWPID)
	return ok && ns.Path == ""
}

// cgroupExists says whether any of the container's cgroup directories is
// still there (systemd removes a scope once it is empty).
func (c *Container) cgroupExists() bool {
	for _, p := range c.State.CgroupPaths {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// killAll SIGKILLs every process in the container's cgroup: at once
// through cgroup.kill, or else one by one with the cgroup frozen so that
// none can fork meanwhile, and thawed after so that they can die.
func (c *Container) killAll() error {
	if !c.cgroupExists() {
		if !system.Alive(c.State.InitPid, c.State.InitStartTime) {
			return ErrNotRunning
		}
		// No cgroup of its own (rootless without one): only the init
		// can be told apart.
		return c.signalInit(unix.SIGKILL)
	}
	cg := c.cgroup()
	if pids, err := cg.Pids(); err == nil && len(pids) == 0 {
		return nil
	}
	if cg.Kill() == nil {
		return nil
	}
	if err := cg.Freeze(true); err != nil {
		slog.Warn(err.Error())
	}
	pids, err := cg.Pids()
	if err == nil {
		for _, pid := range pids {
			if err := unix.Kill(pid, unix.SIGKILL); err != nil && err != unix.ESRCH {
				slog.Warn(fmt.Sprintf("kill %d: %v", pid, err))
			}
		}
	}
	if ferr := cg.Freeze(false); ferr != nil {
		slog.Warn(ferr.Error())
	}
	return err
}

// Destroy removes a container: its processes (with force, or if it was
// never started), its cgroup and its state. With force the container is
// SIGKILLed first, whatever its status, so that processes a container
// without a pid namespace of its own left behind go too; an init that is
// still there killTimeout later fails it with ErrInitStillRunning.
func (c *Container) Destroy(force bool) error {
	st := c.Status()
	if st != Stopped && st != Created && !force {
		return fmt.Errorf("%w: cannot delete container %s that is not stopped: %s", ErrState, c.State.ID, st)
	}
	if force || st == Created {
		if err := phase("kill", c.kill); err != nil {
			return err
		}
	}
	if !c.privatePidNs() || c.State.Creating {
		// Without a pid namespace of its own, processes outlive the init;
		// with one, the kernel killed them all when the init died. A
		// create that died may have left processes whose pid it never
		// recorded: its cgroup knows them.
		phase("kill-all", func() error {
			_ = c.killAll()
			c.waitCgroupEmpty()
			return nil
		})
	}
	if err := phase("cgroup", c.cgroup().Destroy); err != nil {
		return err
	}
	if err := phase("state", func() error {
		unmountAll(c.State.HostMounts)
		return os.RemoveAll(c.dir)
	}); err != nil {
		return err
	}
	// poststop hooks: a failure is only a warning (an error with
	// --strict), and the rest still run. In the caller's directory, as
	// runc's delete (the bundle may be gone).
	return phase("hooks", func() error {
		var strictErr error
		for _, err := range hooks.RunAll(hooks.Poststop, c.State.Config.Hooks[hooks.Poststop], c.hookState(Stopped, 0), "") {
			field := ""
			var he *hooks.Error
			if errors.As(err, &he) {
				field = fmt.Sprintf("hooks.poststop[%d]", he.Index)
			}
			if werr := diag.Warn(diag.Warning{Field: field, Msg: err.Error()}); werr != nil && strictErr == nil {
				strictErr = werr
			}
		}
		return strictErr
	})
}

// waitCgroupEmpty waits, killTimeout at most, for the processes killed in
// the container's cgroup to be gone, so that it can be removed.
func (c *Container) waitCgroupEmpty() {
	cg := c.cgroup()
	deadline := time.Now().Add(killTimeout)
	for {
		pids, err := cg.Pids()
		if err != nil || len(pids) == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill SIGKILLs the container and waits, at most killTimeout, for its
// init to be gone.
func (c *Container) kill() error {
	_ = c.Signal(unix.SIGKILL)
	fd, err := c.pidfd()
	if err != nil {
		return nil // gone
	}
	defer unix.Close(fd)
	slog.Debug("waiting for the container's init to exit", "pid", c.State.InitPid)
	if gone, err := system.WaitPidfdFor(fd, killTimeout); err != nil || !gone {
		return ErrInitStillRunning
	}
	return nil
}
