package fs

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"golang.org/x/sys/unix"
)

// The freezer's file access, which its tests replace with a stand-in for
// the kernel (a real freezer cannot be made to say FREEZING at will).
var (
	readFile  = cgroups.ReadFile
	writeFile = cgroups.WriteFile
)

// freezeTries is how many times Freeze writes FROZEN before it gives up.
const freezeTries = 1000

// Freeze implements cgroups.Manager with the v1 freezer. The kernel may
// report FREEZING while a task is in an uninterruptible sleep, or while new
// tasks keep coming: FROZEN is written again until it says FROZEN (v1
// gives no notification), with a thaw every 50 tries to let stuck tasks
// move on, as runc does; a freeze that never completes is undone (thawed)
// and reported, naming the cgroup. A thaw is done once the cgroup is not
// freezing itself (freezer.self_freezing 0): a frozen ancestor keeps its
// state FROZEN, which it cannot change.
func (m *Manager) Freeze(frozen bool) error {
	dir := m.path("freezer")
	if dir == "" {
		return errors.New("cgroup: this host has no freezer cgroup controller mounted: cannot pause or resume")
	}
	if !frozen {
		if err := writeFile(dir, "freezer.state", "THAWED"); err != nil {
			return err
		}
		st, self, err := freezerState(dir)
		if err != nil {
			return err
		}
		if self {
			return fmt.Errorf("cgroup: %s/freezer.state is %s after a thaw", dir, st)
		}
		return nil
	}
	var st string
	for try := 0; try < freezeTries; try++ {
		if try%50 == 49 {
			_ = writeFile(dir, "freezer.state", "THAWED")
			unix.Nanosleep(&unix.Timespec{Nsec: 10e6}, nil)
		}
		if err := writeFile(dir, "freezer.state", "FROZEN"); err != nil {
			_ = writeFile(dir, "freezer.state", "THAWED")
			return err
		}
		var err error
		if st, err = readFile(dir, "freezer.state"); err != nil {
			_ = writeFile(dir, "freezer.state", "THAWED")
			return fmt.Errorf("cgroup: %w", err)
		}
		switch st {
		case "FROZEN":
			return nil
		case "FREEZING":
			unix.Nanosleep(&unix.Timespec{Nsec: int64(min(1+try, 100)) * 10000}, nil)
		default:
			_ = writeFile(dir, "freezer.state", "THAWED")
			return fmt.Errorf("cgroup: %s/freezer.state is %q after FROZEN was written", dir, st)
		}
	}
	// Neither frozen nor running: set it back.
	_ = writeFile(dir, "freezer.state", "THAWED")
	return fmt.Errorf("cgroup: %s/freezer.state stays %s, not FROZEN, after %d tries: a task does not freeze (in an uninterruptible sleep?)", dir, st, freezeTries)
}

// Frozen implements cgroups.Manager: the cgroup is frozen itself, not
// only through a frozen ancestor (freezer.self_freezing, where the kernel
// has it), as runc tells them apart. A freeze of its own in progress
// (FREEZING) is waited for, cgroups.FreezeTimeout at most, as runc does
// (without a limit): a cgroup that stays FREEZING is frozen, with an error
// naming it. A cgroup not made yet (or removed) is not frozen.
func (m *Manager) Frozen() (bool, error) {
	dir := m.path("freezer")
	if dir == "" {
		return false, nil
	}
	deadline := time.Now().Add(cgroups.FreezeTimeout)
	for {
		st, self, err := freezerState(dir)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENODEV) {
				return false, nil
			}
			return false, err
		}
		if st != "FREEZING" || !self {
			return self, nil
		}
		if time.Now().After(deadline) {
			return true, fmt.Errorf("cgroup: %s/freezer.state stays FREEZING (for %v): a task does not freeze", dir, cgroups.FreezeTimeout)
		}
		unix.Nanosleep(&unix.Timespec{Nsec: 1e6}, nil)
	}
}

// freezerState reads the freezer's state, and whether the cgroup is
// frozen or freezing itself (not only through an ancestor). Without
// freezer.self_freezing (kernels before 3.13) a cgroup that is not THAWED
// is taken to be.
func freezerState(dir string) (st string, self bool, err error) {
	st, err = readFile(dir, "freezer.state")
	if err != nil {
		return "", false, fmt.Errorf("cgroup: %w", err)
	}
	switch st {
	case "THAWED":
		return st, false, nil
	case "FROZEN", "FREEZING":
	default:
		return st, false, fmt.Errorf("cgroup: %s/freezer.state: unknown state %q", dir, st)
	}
	v, err := readFile(dir, "freezer.self_freezing")
	switch {
	case errors.Is(err, os.ErrNotExist):
		return st, true, nil
	case err != nil:
		return st, false, fmt.Errorf("cgroup: %w", err)
	case v != "0" && v != "1":
		return st, false, fmt.Errorf("cgroup: %s/freezer.self_freezing: unknown value %q", dir, v)
	}
	return st, v == "1", nil
}
