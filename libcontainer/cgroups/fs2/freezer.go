package fs2

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"golang.org/x/sys/unix"
)

// Freeze implements cgroups.Manager with cgroup.freeze. A freeze waits,
// cgroups.FreezeTimeout at most, for the kernel to report every task
// frozen ("frozen 1" in cgroup.events, which it notifies on change); one
// that does not complete is undone and reported, naming the cgroup. A
// thaw is done once cgroup.freeze says so, as runc's: a frozen ancestor
// keeps the cgroup's tasks frozen ("frozen 1"), which it cannot change.
func (m *Manager) Freeze(frozen bool) error {
	if !frozen {
		if err := cgroups.WriteFile(m.dir, "cgroup.freeze", "0"); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("cgroup: %s has no cgroup.freeze (kernel older than 5.2): cannot pause or resume", m.dir)
			}
			return err
		}
		if v, err := cgroups.ReadFile(m.dir, "cgroup.freeze"); err != nil || v != "0" {
			return fmt.Errorf("cgroup: %s/cgroup.freeze is %q (%v) after a thaw", m.dir, v, err)
		}
		return nil
	}
	w, err := m.watchEvents()
	if err != nil {
		return err
	}
	defer unix.Close(w)
	if err := cgroups.WriteFile(m.dir, "cgroup.freeze", "1"); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("cgroup: %s has no cgroup.freeze (kernel older than 5.2): cannot pause or resume", m.dir)
		}
		return err
	}
	if err := m.waitFrozen(w); err != nil {
		// Neither frozen nor running: set it back.
		_ = cgroups.WriteFile(m.dir, "cgroup.freeze", "0")
		return err
	}
	return nil
}

// Frozen implements cgroups.Manager: the cgroup is frozen itself
// (cgroup.freeze 1), not only through a frozen ancestor. While the kernel
// has not frozen every task yet, it waits for it, as runc does,
// cgroups.FreezeTimeout at most: a cgroup that stays half-frozen is
// frozen, with an error naming it. A cgroup not made yet (or removed) is
// not frozen.
func (m *Manager) Frozen() (bool, error) {
	v, err := cgroups.ReadFile(m.dir, "cgroup.freeze")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENODEV) {
			return false, nil
		}
		return false, fmt.Errorf("cgroup: %w", err)
	}
	if v != "1" {
		return false, nil
	}
	w, err := m.watchEvents()
	if err != nil {
		return true, err
	}
	defer unix.Close(w)
	return true, m.waitFrozen(w)
}

// watchEvents returns an inotify fd watching the cgroup's cgroup.events.
func (m *Manager) watchEvents() (int, error) {
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("cgroup: inotify: %w", err)
	}
	events := filepath.Join(m.dir, "cgroup.events")
	if _, err := unix.InotifyAddWatch(in, events, unix.IN_MODIFY); err != nil {
		unix.Close(in)
		return -1, fmt.Errorf("cgroup: watch %s: %w", events, err)
	}
	return in, nil
}

// waitFrozen waits, cgroups.FreezeTimeout at most, for cgroup.events to
// say "frozen 1"; w is watchEvents'.
func (m *Manager) waitFrozen(w int) error {
	deadline := time.Now().Add(cgroups.FreezeTimeout)
	buf := make([]byte, 4096)
	for {
		ev, err := cgroups.ReadKeyValues(m.dir, "cgroup.events")
		if err != nil {
			return fmt.Errorf("cgroup: %w", err)
		}
		if ev["frozen"] == 1 {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("cgroup: %s is still freezing after %v (cgroup.events says frozen 0)", m.dir, cgroups.FreezeTimeout)
		}
		fds := []unix.PollFd{{Fd: int32(w), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, int(left/time.Millisecond)+1); err != nil && err != unix.EINTR {
			return fmt.Errorf("cgroup: poll: %w", err)
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			_, _ = unix.Read(w, buf)
		}
	}
}
