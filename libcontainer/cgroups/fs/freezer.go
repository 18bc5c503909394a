package fs

import (
	"errors"
	"fmt"
	"os"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"golang.org/x/sys/unix"
)

// Freeze implements cgroups.Manager with the v1 freezer. The kernel may
// report FREEZING while a task is in an uninterruptible sleep; the state
// is written again until it settles (v1 gives no notification), and a
// freeze that never completes is undone and reported.
func (m *Manager) Freeze(frozen bool) error {
	dir := m.path("freezer")
	if dir == "" {
		return errors.New("cgroup: this host has no freezer cgroup controller mounted: cannot pause or resume")
	}
	want := "THAWED"
	if frozen {
		want = "FROZEN"
	}
	var st string
	for try := 0; try < 1000; try++ {
		if try > 0 && try%50 == 0 && frozen {
			// A task stuck half-frozen sometimes needs a thaw to move on.
			_ = cgroups.WriteFile(dir, "freezer.state", "THAWED")
		}
		if err := cgroups.WriteFile(dir, "freezer.state", want); err != nil {
			return err
		}
		var err error
		if st, err = cgroups.ReadFile(dir, "freezer.state"); err != nil {
			return fmt.Errorf("cgroup: %w", err)
		}
		if st == want {
			return nil
		}
		unix.Nanosleep(&unix.Timespec{Nsec: int64(min(1+try, 100)) * 10000}, nil)
	}
	if frozen {
		_ = cgroups.WriteFile(dir, "freezer.state", "THAWED")
	}
	return fmt.Errorf("cgroup: %s/freezer.state stays %s, not %s", dir, st, want)
}

// Frozen implements cgroups.Manager: the cgroup is frozen itself, not
// only through a frozen ancestor (freezer.self_freezing, where the kernel
// has it), as runc tells them apart. A cgroup not made yet is not frozen.
func (m *Manager) Frozen() (bool, error) {
	dir := m.path("freezer")
	if dir == "" {
		return false, nil
	}
	st, err := cgroups.ReadFile(dir, "freezer.state")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("cgroup: %w", err)
	}
	if st != "FROZEN" {
		return false, nil
	}
	self, err := cgroups.ReadFile(dir, "freezer.self_freezing")
	return err != nil || self == "1", nil
}
