package fs2

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"golang.org/x/sys/unix"
)

// fakeCgroup is a directory with the freezer's files of a v2 cgroup:
// cgroup.freeze (a fifo when fifo is set, so that the test sees the
// write) and cgroup.events.
func fakeCgroup(t *testing.T, freeze, frozen string, fifo bool) *Manager {
	t.Helper()
	dir := t.TempDir()
	if fifo {
		if err := unix.Mkfifo(filepath.Join(dir, "cgroup.freeze"), 0o600); err != nil {
			t.Fatal(err)
		}
	} else {
		writeTestFile(t, dir, "cgroup.freeze", freeze)
	}
	writeTestFile(t, dir, "cgroup.events", "populated 1\nfrozen "+frozen+"\n")
	return Load(dir)
}

func writeTestFile(t *testing.T, dir, file, v string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(v), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readTestFile(t *testing.T, dir, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// A freeze returns once the kernel says every task is frozen: the test
// plays the kernel, which reports "frozen 1" once "1" is written.
func TestFreezeWaitsForFrozen(t *testing.T) {
	m := fakeCgroup(t, "", "0", true)
	done := make(chan error, 1)
	go func() { done <- m.Freeze(true) }()
	f, err := os.Open(filepath.Join(m.dir, "cgroup.freeze")) // until Freeze writes
	if err != nil {
		t.Fatal(err)
	}
	v, err := io.ReadAll(f)
	f.Close()
	if err != nil || string(v) != "1" {
		t.Fatalf("cgroup.freeze written %q (%v)", v, err)
	}
	select {
	case err := <-done:
		t.Fatalf("Freeze returned before the kernel said frozen: %v", err)
	default:
	}
	writeTestFile(t, m.dir, "cgroup.events", "populated 1\nfrozen 1\n")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A freeze that does not complete in cgroups.FreezeTimeout is undone and
// reported, naming the cgroup.
func TestFreezeStuckFreezing(t *testing.T) {
	defer func(d time.Duration) { cgroups.FreezeTimeout = d }(cgroups.FreezeTimeout)
	cgroups.FreezeTimeout = 20 * time.Millisecond
	m := fakeCgroup(t, "0", "0", false)
	err := m.Freeze(true)
	if err == nil || !strings.Contains(err.Error(), m.dir) || !strings.Contains(err.Error(), "still freezing") {
		t.Fatalf("a freeze that does not complete: %v", err)
	}
	if v := readTestFile(t, m.dir, "cgroup.freeze"); v != "0" {
		t.Errorf("cgroup.freeze left %q", v)
	}
}

// A thaw does not wait for the tasks to run: under a frozen ancestor they
// stay frozen ("frozen 1"), which the cgroup cannot change.
func TestThawUnderFrozenAncestor(t *testing.T) {
	defer func(d time.Duration) { cgroups.FreezeTimeout = d }(cgroups.FreezeTimeout)
	cgroups.FreezeTimeout = 0 // a thaw that waited would fail at once
	m := fakeCgroup(t, "1", "1", false)
	if err := m.Freeze(false); err != nil {
		t.Fatal(err)
	}
	if v := readTestFile(t, m.dir, "cgroup.freeze"); v != "0" {
		t.Errorf("cgroup.freeze %q after a thaw", v)
	}
}

func TestFrozen(t *testing.T) {
	defer func(d time.Duration) { cgroups.FreezeTimeout = d }(cgroups.FreezeTimeout)
	cgroups.FreezeTimeout = 20 * time.Millisecond
	for _, c := range []struct {
		what           string
		freeze, frozen string
		want           bool
		err            string
	}{
		{"thawed", "0", "0", false, ""},
		{"frozen", "1", "1", true, ""},
		{"frozen by an ancestor only", "0", "1", false, ""},
		{"freezing for good", "1", "0", true, "still freezing"},
	} {
		m := fakeCgroup(t, c.freeze, c.frozen, false)
		got, err := m.Frozen()
		if got != c.want || (err == nil) != (c.err == "") || (err != nil && (!strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), m.dir))) {
			t.Errorf("%s: %v, %v; want %v, %q", c.what, got, err, c.want, c.err)
		}
	}
	// Not made yet, or removed.
	if got, err := Load(filepath.Join(t.TempDir(), "gone")).Frozen(); got || err != nil {
		t.Errorf("a cgroup that is not there: %v, %v", got, err)
	}
}

// A freeze in progress is waited for: Frozen says frozen once the kernel
// does, without an error.
func TestFrozenWaitsForFreezing(t *testing.T) {
	m := fakeCgroup(t, "1", "0", false)
	done := make(chan error, 1)
	go func() {
		frozen, err := m.Frozen()
		if err == nil && !frozen {
			err = os.ErrInvalid
		}
		done <- err
	}()
	writeTestFile(t, m.dir, "cgroup.events", "populated 1\nfrozen 1\n")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestNoFreezeFile(t *testing.T) {
	m := Load(t.TempDir())
	writeTestFile(t, m.dir, "cgroup.events", "populated 0\nfrozen 0\n")
	for _, frozen := range []bool{true, false} {
		if err := m.Freeze(frozen); err == nil || !strings.Contains(err.Error(), "no cgroup.freeze") {
			t.Errorf("Freeze(%v) without cgroup.freeze: %v", frozen, err)
		}
	}
}
