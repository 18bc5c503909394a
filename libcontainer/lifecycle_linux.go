package libcontainer

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

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

// Signal sends sig to the init, or with all to every process in the
// container's cgroup.
func (c *Container) Signal(sig unix.Signal, all bool) error {
	if all {
		// As runc: --all reaches whatever is left in the cgroup of a
		// stopped container too (one without a pid namespace of its own
		// leaves its init's children behind; containerd's shim kills
		// them so when the init exits), and succeeds if nothing is left.
		return c.signalAll(sig)
	}
	if c.Status() == Stopped {
		return fmt.Errorf("%w: container not running", ErrState)
	}
	fd, err := c.pidfd()
	if err != nil {
		return fmt.Errorf("%w: container not running", ErrState)
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		if err == unix.ESRCH {
			return fmt.Errorf("%w: container not running", ErrState)
		}
		return fmt.Errorf("kill: %w", err)
	}
	return nil
}

func (c *Container) signalAll(sig unix.Signal) error {
	cg := c.cgroup()
	paused := c.frozen()
	// SIGKILL to the whole cgroup at once where the kernel can.
	if sig == unix.SIGKILL && cg.Kill() == nil {
		return nil
	}
	pids, err := c.Processes()
	if err != nil {
		return fmt.Errorf("list container processes: %w", err)
	}
	for _, pid := range pids {
		st, err := system.Stat(pid)
		if err != nil {
			continue
		}
		fd, err := system.PidfdOpen(pid, st.StartTime)
		if err != nil {
			continue
		}
		unix.PidfdSendSignal(fd, sig, nil, 0)
		unix.Close(fd)
	}
	if paused && sig == unix.SIGKILL {
		// v1-frozen tasks die only once thawed.
		return cg.Freeze(false)
	}
	return nil
}

// Destroy removes a container: its processes (with force, or if it was
// never started), its cgroup and its state.
func (c *Container) Destroy(force bool) error {
	st := c.Status()
	if st != Stopped && st != Created && !force {
		return fmt.Errorf("%w: cannot delete container %s that is not stopped: %s", ErrState, c.State.ID, st)
	}
	cg := c.cgroup()
	if st == Paused {
		// Frozen tasks cannot die: kill them all, then thaw.
		_ = c.signalAll(unix.SIGKILL)
		_ = cg.Freeze(false)
	}
	if st != Stopped {
		killAndWait(c.State.InitPid, c.State.InitStartTime)
	}
	if pidns, ok := c.State.Config.Namespace(configs.NEWPID); !ok || pidns.Path != "" {
		// Without a pid namespace of its own, processes outlive the init;
		// with one, the kernel killed them all when the init died.
		killCgroup(cg)
	}
	if err := cg.Destroy(); err != nil {
		return err
	}
	unmountAll(c.State.HostMounts)
	if err := os.RemoveAll(c.dir); err != nil {
		return err
	}
	// poststop hooks: a failure is only a warning, and the rest still run.
	// In the caller's directory, as runc's delete (the bundle may be gone).
	for _, err := range hooks.RunAll(hooks.Poststop, c.State.Config.Hooks[hooks.Poststop], c.hookState(Stopped, 0), "") {
		slog.Warn(err.Error())
	}
	return nil
}

// Wait waits for the init to exit and returns its wait status. Only the
// init's parent (or subreaper) can do this: `run` in the foreground.
func (c *Container) Wait() (unix.WaitStatus, error) {
	var ws unix.WaitStatus
	for {
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if pid == c.State.InitPid {
			return ws, nil
		}
	}
}

// RemoveStale removes the state directory of a container whose state.json
// was never written (an aborted create killed from outside).
func RemoveStale(root, id string) error {
	dir := filepath.Join(root, id)
	if _, err := os.Stat(filepath.Join(dir, stateFile)); err == nil {
		return nil
	}
	return os.RemoveAll(dir)
}
