package integration

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDeleteRunningFailsWithoutForce(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withOut(), withShell("touch /out/ready; "+waitForever))
	e.runDetached(b, "ctr")
	waitFile(t, b.outFile("ready"))
	pid := e.state("ctr").PID
	e.failsWith("cannot delete container ctr that is not stopped: running", "delete", "ctr")
	if s := e.state("ctr"); s.Status != "running" || s.PID != pid {
		t.Errorf("after failed delete: %+v, want running with pid %d", s, pid)
	}
	if !procAlive(pid) {
		t.Errorf("init %d died", pid)
	}
}

func TestDeleteForceKillsAndRemovesRunning(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withOut(), withShell("touch /out/ready; "+waitForever))
	e.runDetached(b, "ctr")
	waitFile(t, b.outFile("ready"))
	pid := e.state("ctr").PID
	e.ok("delete", "--force", "ctr")
	e.assertGone("ctr")
	waitProcGone(t, pid)
	if d := cgroupDirs(b.Cgroup); len(d) != 0 {
		t.Errorf("cgroup dirs left: %v", d)
	}
}

func TestDeleteForceShortFlag(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withOut(), withShell("touch /out/ready; "+waitForever))
	e.runDetached(b, "ctr")
	waitFile(t, b.outFile("ready"))
	e.ok("delete", "-f", "ctr")
	e.assertGone("ctr")
}

func TestDeleteStoppedRemovesState(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	e.runDetached(b, "ctr")
	e.waitStatus("ctr", "stopped")
	// systemd removes a scope, and its cgroup, once its last process is
	// gone: only the cgroupfs driver leaves it to delete.
	if d := cgroupDirs(b.Cgroup); len(d) == 0 && !systemdCgroup {
		t.Errorf("no cgroup dir for the container at %s in any hierarchy", b.Cgroup)
	}
	r := e.ok("delete", "ctr")
	if r.Stdout != "" {
		t.Errorf("delete printed %q", r.Stdout)
	}
	e.assertGone("ctr")
	if d := cgroupDirs(b.Cgroup); len(d) != 0 {
		t.Errorf("cgroup dirs left: %v", d)
	}
	if exists(filepath.Join(e.root, "ctr")) {
		t.Errorf("state dir left")
	}
}

func TestDeleteNonexistentFails(t *testing.T) {
	e := newEnv(t)
	e.failsWith("container does not exist", "delete", "nosuch")
}

// runc: `delete --force` of a container that does not exist succeeds.
func TestDeleteForceNonexistentSucceeds(t *testing.T) {
	e := newEnv(t)
	r := e.run("delete", "--force", "nosuch")
	if r.Code != 0 {
		t.Errorf("delete --force of a missing container: %s, want exit 0", r)
	}
}

// runc: deleting a created (never started) container needs no --force; it
// kills the waiting init and removes the container without running the
// workload.
func TestDeleteCreatedContainer(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withOut(), withShell("touch /out/ran"))
	e.create(b, "ctr")
	pid := e.state("ctr").PID
	e.ok("delete", "ctr")
	e.assertGone("ctr")
	waitProcGone(t, pid)
	if exists(b.outFile("ran")) {
		t.Errorf("the workload ran")
	}
	if d := cgroupDirs(b.Cgroup); len(d) != 0 {
		t.Errorf("cgroup dirs left: %v", d)
	}
}

func TestDeleteForceCreatedContainer(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withOut(), withShell("touch /out/ran"))
	e.create(b, "ctr")
	pid := e.state("ctr").PID
	e.ok("delete", "--force", "ctr")
	e.assertGone("ctr")
	waitProcGone(t, pid)
	if exists(b.outFile("ran")) {
		t.Errorf("the workload ran")
	}
}

// Deleting one container leaves the others alone.
func TestDeleteOnlyRemovesThatContainer(t *testing.T) {
	e := newEnv(t)
	b1 := e.newBundle(withOut(), withShell("touch /out/ready; "+waitForever))
	b2 := e.newBundle(withOut(), withShell("touch /out/ready; "+waitForever))
	e.runDetached(b1, "one")
	e.runDetached(b2, "two")
	waitFile(t, b1.outFile("ready"))
	waitFile(t, b2.outFile("ready"))
	e.ok("delete", "--force", "one")
	e.assertGone("one")
	s := e.state("two")
	if s.Status != "running" || !procAlive(s.PID) {
		t.Errorf("other container disturbed: %+v", s)
	}
	if d := cgroupDirs(b2.Cgroup); len(d) == 0 {
		t.Errorf("other container's cgroup removed")
	}
}

// delete --force does not wait forever for an init that cannot die: one
// frozen by a cgroup above the container's (which the container cannot
// thaw) is given ~10 s, then delete fails with runc's "container init
// still running" and the container stays. Thawed, it is deleted. On
// cgroup v2, whose freezer lets a fatal signal through, the frozen init
// dies and delete --force succeeds at once (runc 1.5.3 too).
func TestDeleteForceGivesUpOnUnkillableInit(t *testing.T) {
	if systemdCgroup {
		t.Skip("needs the cgroupfs driver: the container's cgroup is put below one the test freezes")
	}
	e := newEnv(t)
	pid, freezer, frozen := runUnderFrozenAncestor(t, e, "stuck")

	if freezer.fstype == "cgroup2" {
		e.ok("delete", "--force", "stuck")
		waitProcGone(t, pid)
		e.assertGone("stuck")
		return
	}
	e.failsWith("container init still running", "delete", "--force", "stuck")
	if !procAlive(pid) {
		t.Fatalf("the frozen init %d died", pid)
	}
	e.state("stuck") // still there

	freezeCgroup(t, freezer, frozen, false)
	e.ok("delete", "--force", "stuck")
	waitProcGone(t, pid)
	e.assertGone("stuck")
}

// A cgroup above the container's is frozen: the container is not paused
// (it does not freeze itself), and SIGKILL, which thaws the container's
// own cgroup, does so at once and without a complaint, though its tasks
// stay frozen by the ancestor. Thawed, the init dies.
func TestKillUnderFrozenAncestor(t *testing.T) {
	if systemdCgroup {
		t.Skip("needs the cgroupfs driver: the container's cgroup is put below one the test freezes")
	}
	e := newEnv(t)
	pid, freezer, frozen := runUnderFrozenAncestor(t, e, "anc")

	if st := e.state("anc").Status; st != "running" {
		t.Errorf("status under a frozen ancestor: %s, want running (the container is not paused itself)", st)
	}
	r := e.ok("kill", "anc", "KILL")
	if strings.Contains(r.Stderr, "freez") || strings.Contains(r.Stderr, "FROZEN") {
		t.Errorf("kill under a frozen ancestor complains about the freezer: %q", r.Stderr)
	}
	freezeCgroup(t, freezer, frozen, false)
	waitProcGone(t, pid)
	e.waitStatus("anc", "stopped")
}

// runUnderFrozenAncestor runs container id (cgroupfs driver) in a cgroup
// below one of the test's own, which it then freezes; the ancestor is
// thawed, the container deleted and the cgroups removed at the end of the
// test. It returns the init's pid and where the ancestor freezes.
func runUnderFrozenAncestor(t *testing.T, e *env, id string) (int, cgroupMount, string) {
	t.Helper()
	parent := fmt.Sprintf("/%s/frz%d", cgroupParent, cgroupSeq.Add(1))
	b := e.newBundle(withOut(), withShell("touch /out/ready; "+waitForever), func(e *env, b *bundle) {
		b.Cgroup = parent + "/c"
		b.Spec.Linux.CgroupsPath = b.Cgroup
		e.cgroups = append(e.cgroups, b.Cgroup)
	})
	e.runDetached(b, id)
	waitFile(t, b.outFile("ready"))
	pid := e.state(id).PID
	freezer := freezerParentMount(t, parent)
	frozen := filepath.Join(freezer.point, parent)
	t.Cleanup(func() {
		freezeCgroup(t, freezer, frozen, false)
		invoke(invokeOpts{}, "--root", e.root, "delete", "--force", id)
		for _, mnt := range cgroupMounts() {
			os.Remove(filepath.Join(mnt, parent))
		}
	})
	freezeCgroup(t, freezer, frozen, true)
	return pid, freezer, frozen
}

// freezerParentMount is the hierarchy in which cgroup dir cg (made)
// freezes: v1's freezer, or a v2 one where it has cgroup.freeze. The test
// skips without either.
func freezerParentMount(t *testing.T, cg string) cgroupMount {
	for _, m := range cgroupMountInfo() {
		if m.fstype == "cgroup" && m.has([]string{"freezer"}) && exists(filepath.Join(m.point, cg)) {
			return m
		}
	}
	for _, m := range cgroupMountInfo() {
		if m.fstype == "cgroup2" && exists(filepath.Join(m.point, cg, "cgroup.freeze")) {
			return m
		}
	}
	t.Skip("this host has no cgroup freezer (neither v1's freezer nor v2's cgroup.freeze)")
	return cgroupMount{}
}

// freezeCgroup freezes (or thaws) the cgroup dir and waits until the kernel
// says it is.
func freezeCgroup(t *testing.T, m cgroupMount, dir string, freeze bool) {
	t.Helper()
	file, value, done := "freezer.state", "THAWED", func(s string) bool { return s == "THAWED" }
	if freeze {
		value, done = "FROZEN", func(s string) bool { return s == "FROZEN" }
	}
	if m.fstype == "cgroup2" {
		file, value = "cgroup.freeze", "0"
		want := "frozen 0"
		if freeze {
			value, want = "1", "frozen 1"
		}
		done = func(string) bool {
			ev, _ := os.ReadFile(filepath.Join(dir, "cgroup.events"))
			return strings.Contains(string(ev), want)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0); err != nil {
		if !freeze && errors.Is(err, os.ErrNotExist) {
			return
		}
		t.Fatalf("freeze %s: %v", dir, err)
	}
	waitFor(t, fmt.Sprintf("%s to be frozen=%v", dir, freeze), func() bool {
		s, _ := os.ReadFile(filepath.Join(dir, file))
		return done(strings.TrimSpace(string(s)))
	})
}
