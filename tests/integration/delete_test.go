package integration

import (
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
	r := e.fails("delete", "ctr")
	if isHusk() && !strings.Contains(r.Stderr, "ctr") {
		t.Errorf("error does not name the container: %q", r.Stderr)
	}
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
	e.fails("delete", "nosuch")
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
