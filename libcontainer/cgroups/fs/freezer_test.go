package fs

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
)

// kernel stands in for a v1 freezer cgroup (the files of dir): a real one
// cannot be made to say FREEZING at will.
type kernel struct {
	dir          string
	state, self  string // freezer.state, freezer.self_freezing ("" = no such file)
	freezing     int    // reads of FREEZING after a freeze before FROZEN; -1: forever
	left         int
	parentFrozen bool
	writes       []string
}

func (k *kernel) read(dir, file string) (string, error) {
	if dir != k.dir {
		return "", fmt.Errorf("read of %s/%s", dir, file)
	}
	switch file {
	case "freezer.state":
		if k.state == "" {
			return "", &os.PathError{Op: "open", Path: dir + "/" + file, Err: os.ErrNotExist}
		}
		st := k.state
		if st == "FREEZING" && k.left > 0 {
			if k.left--; k.left == 0 {
				k.state = "FROZEN"
			}
		}
		return st, nil
	case "freezer.self_freezing":
		if k.self == "" {
			return "", &os.PathError{Op: "open", Path: dir + "/" + file, Err: os.ErrNotExist}
		}
		return k.self, nil
	}
	return "", fmt.Errorf("read of %s", file)
}

func (k *kernel) write(dir, file, v string) error {
	if dir != k.dir || file != "freezer.state" {
		return fmt.Errorf("write of %s/%s", dir, file)
	}
	k.writes = append(k.writes, v)
	switch v {
	case "THAWED":
		k.self, k.state = "0", "THAWED"
		if k.parentFrozen {
			k.state = "FROZEN"
		}
	case "FROZEN":
		// Writing FROZEN again while FREEZING or FROZEN changes nothing.
		if k.state == "THAWED" || k.self == "0" {
			k.self, k.state, k.left = "1", "FROZEN", k.freezing
			if k.freezing != 0 {
				k.state = "FREEZING"
			}
		}
	default:
		return fmt.Errorf("write of %q", v)
	}
	return nil
}

// fake installs k as the kernel and returns a manager of its cgroup.
func fake(t *testing.T, k *kernel) *Manager {
	k.dir = "/sys/fs/cgroup/freezer/c1"
	readFile, writeFile = k.read, k.write
	t.Cleanup(func() { readFile, writeFile = cgroups.ReadFile, cgroups.WriteFile })
	return Load(cgroups.Paths{"freezer": k.dir, "cpu,cpuacct": "/sys/fs/cgroup/cpu,cpuacct/c1"})
}

func count(writes []string, v string) int {
	n := 0
	for _, w := range writes {
		if w == v {
			n++
		}
	}
	return n
}

// FREEZING is retried until the kernel says FROZEN.
func TestFreezeRetriesFreezing(t *testing.T) {
	k := &kernel{state: "THAWED", self: "0", freezing: 3}
	if err := fake(t, k).Freeze(true); err != nil {
		t.Fatal(err)
	}
	if k.state != "FROZEN" || k.writes[len(k.writes)-1] != "FROZEN" {
		t.Errorf("state %s after writes %v", k.state, k.writes)
	}
}

// A freeze that never completes is given up after a bounded number of
// tries, undone (thawed), and reported naming the cgroup.
func TestFreezeStuckFreezing(t *testing.T) {
	k := &kernel{state: "THAWED", self: "0", freezing: -1}
	err := fake(t, k).Freeze(true)
	if err == nil || !strings.Contains(err.Error(), k.dir) || !strings.Contains(err.Error(), "stays FREEZING") {
		t.Fatalf("a freeze stuck in FREEZING: %v", err)
	}
	if n := count(k.writes, "FROZEN"); n != freezeTries {
		t.Errorf("%d tries, want %d", n, freezeTries)
	}
	if k.writes[len(k.writes)-1] != "THAWED" || k.state != "THAWED" {
		t.Errorf("left %s (writes end %v)", k.state, k.writes[len(k.writes)-3:])
	}
	// The occasional thaw that lets stuck tasks move on.
	if n := count(k.writes, "THAWED"); n != freezeTries/50+1 {
		t.Errorf("%d thaws, want %d", n, freezeTries/50+1)
	}
}

// A thaw under a frozen ancestor succeeds at once: the cgroup's state stays
// FROZEN (the ancestor's doing), but it is no longer freezing itself.
func TestThawUnderFrozenAncestor(t *testing.T) {
	k := &kernel{state: "FROZEN", self: "1", parentFrozen: true}
	if err := fake(t, k).Freeze(false); err != nil {
		t.Fatal(err)
	}
	if len(k.writes) != 1 || k.self != "0" {
		t.Errorf("writes %v, self_freezing %s", k.writes, k.self)
	}
}

func TestFrozen(t *testing.T) {
	defer func(d time.Duration) { cgroups.FreezeTimeout = d }(cgroups.FreezeTimeout)
	cgroups.FreezeTimeout = 20 * time.Millisecond
	for _, c := range []struct {
		what   string
		k      kernel
		frozen bool
		err    string
	}{
		{"thawed", kernel{state: "THAWED", self: "0"}, false, ""},
		{"frozen", kernel{state: "FROZEN", self: "1"}, true, ""},
		{"frozen by an ancestor only", kernel{state: "FROZEN", self: "0"}, false, ""},
		{"frozen, on a kernel without self_freezing", kernel{state: "FROZEN"}, true, ""},
		{"an ancestor freezing", kernel{state: "FREEZING", self: "0", left: -1}, false, ""},
		{"freezing itself, then frozen", kernel{state: "FREEZING", self: "1", left: 3}, true, ""},
		{"freezing itself for good", kernel{state: "FREEZING", self: "1", left: -1}, true, "stays FREEZING"},
		{"not made yet", kernel{}, false, ""},
		{"unknown state", kernel{state: "MELTING", self: "0"}, false, "unknown state"},
	} {
		k := c.k
		frozen, err := fake(t, &k).Frozen()
		if frozen != c.frozen || (err == nil) != (c.err == "") || (err != nil && (!strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), k.dir))) {
			t.Errorf("%s: %v, %v; want %v, %q", c.what, frozen, err, c.frozen, c.err)
		}
		if len(k.writes) != 0 {
			t.Errorf("%s: Frozen wrote %v", c.what, k.writes)
		}
	}
}

// Without a freezer hierarchy: pause is refused, nothing is frozen.
func TestNoFreezer(t *testing.T) {
	m := Load(cgroups.Paths{"memory": "/sys/fs/cgroup/memory/c1"})
	if err := m.Freeze(true); err == nil || !strings.Contains(err.Error(), "no freezer") {
		t.Errorf("Freeze: %v", err)
	}
	if f, err := m.Frozen(); f || err != nil {
		t.Errorf("Frozen: %v %v", f, err)
	}
}
