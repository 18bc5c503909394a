package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ---------------------------------------------------------------------------
// run (foreground)

func TestRunForegroundStdoutReachesCaller(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("echo", "hello from the container"))
	r := e.runFG(b, "ctr")
	if r.Code != 0 {
		t.Fatalf("run failed: %s", r)
	}
	if r.Stdout != "hello from the container\n" {
		t.Errorf("stdout = %q, want the workload's output", r.Stdout)
	}
}

func TestRunForegroundStderrReachesCaller(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withShell("echo to-stderr >&2"))
	r := e.runFG(b, "ctr")
	if r.Code != 0 {
		t.Fatalf("run failed: %s", r)
	}
	if !strings.Contains(r.Stderr, "to-stderr\n") {
		t.Errorf("stderr = %q, want the workload's stderr", r.Stderr)
	}
	if r.Stdout != "" {
		t.Errorf("stdout = %q, want nothing", r.Stdout)
	}
}

func TestRunForegroundReturnsExitCode(t *testing.T) {
	e := newEnv(t)
	for _, code := range []int{0, 1, 42, 255} {
		b := e.newBundle(withShell(fmt.Sprintf("exit %d", code)))
		id := fmt.Sprintf("exit%d", code)
		if r := e.runFG(b, id); r.Code != code {
			t.Errorf("workload exited %d, run returned %d: %s", code, r.Code, r)
		}
	}
}

// A workload killed by a signal makes run exit 128+signal. The container's
// init is killed from outside (SIGKILL via `kill`): pid 1 of a pid
// namespace cannot be killed by signals from inside it.
func TestRunForegroundKilledBySignalExits137(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withOut(), withShell("touch /out/ready; "+waitForever))
	e.track("ctr")
	done := make(chan result, 1)
	go func() {
		done <- invoke(invokeOpts{}, "--root", e.root, "run", "--bundle", b.Dir, "ctr")
	}()
	waitFile(t, b.outFile("ready"))
	e.ok("kill", "ctr", "KILL")
	r := <-done
	if r.TimedOut || r.Err != nil {
		t.Fatalf("run: %s", r)
	}
	if r.Code != 137 {
		t.Errorf("run exit = %d, want 137 (128+SIGKILL): %s", r.Code, r)
	}
	e.assertGone("ctr")
}

// Without a pid namespace the shell is not pid 1 and can kill itself.
func TestRunForegroundSelfSignalExitCode(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		sig  string
		code int
	}{{"KILL", 137}, {"TERM", 143}} {
		b := e.newBundle(
			withShell("kill -"+tc.sig+" $$; echo not reached"),
			withSpec(func(s *specs.Spec) { removeNamespace(s, specs.PIDNamespace) }))
		r := e.runFG(b, "self-"+strings.ToLower(tc.sig))
		if r.Code != tc.code {
			t.Errorf("sh killed by SIG%s: run exit = %d, want %d: %s", tc.sig, r.Code, tc.code, r)
		}
		if strings.Contains(r.Stdout, "not reached") {
			t.Errorf("workload survived SIG%s", tc.sig)
		}
	}
}

func TestRunForegroundDeletesContainer(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	if r := e.runFG(b, "ctr"); r.Code != 0 {
		t.Fatalf("run failed: %s", r)
	}
	e.assertGone("ctr")
}

func TestRunForegroundFailingWorkloadDeletesContainer(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withShell("exit 3"))
	if r := e.runFG(b, "ctr"); r.Code != 3 {
		t.Fatalf("run exit = %d, want 3: %s", r.Code, r)
	}
	e.assertGone("ctr")
}

func TestRunKeepLeavesStoppedContainer(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withShell("exit 3"))
	if r := e.runFG(b, "ctr", "--keep"); r.Code != 3 {
		t.Fatalf("run --keep exit = %d, want 3: %s", r.Code, r)
	}
	s := e.state("ctr")
	if s.Status != "stopped" {
		t.Errorf("status after run --keep = %q, want stopped", s.Status)
	}
	if s.PID != 0 {
		t.Errorf("pid of stopped container = %d, want 0", s.PID)
	}
	e.ok("delete", "ctr")
	e.assertGone("ctr")
}

// ---------------------------------------------------------------------------
// run --detach

func TestRunDetachReturnsWithContainerRunning(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withOut(), withShell("touch /out/ready; "+waitForever))
	r := e.runDetached(b, "ctr")
	if r.Code != 0 {
		t.Fatalf("run --detach: %s", r)
	}
	s := e.state("ctr")
	if s.Status != "running" {
		t.Errorf("status after run --detach = %q, want running", s.Status)
	}
	if s.PID <= 0 || !procAlive(s.PID) {
		t.Errorf("pid %d is not a live process", s.PID)
	}
	waitFile(t, b.outFile("ready"))
}

// A detached container whose workload exits stays, stopped, until deleted.
func TestRunDetachExitedWorkloadStaysStopped(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withOut(), withShell("touch /out/done"))
	e.runDetached(b, "ctr")
	waitFile(t, b.outFile("done"))
	if s := e.waitStatus("ctr", "stopped"); s.PID != 0 {
		t.Errorf("pid of stopped container = %d, want 0", s.PID)
	}
	e.ok("delete", "ctr")
	e.assertGone("ctr")
}

var pidFileRE = regexp.MustCompile(`^[1-9][0-9]*$`)

// readPidFile checks the pid file holds just the decimal pid (no newline:
// containerd parses it with strconv.Atoi).
func readPidFile(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("pid file not written: %v", err)
	}
	if !pidFileRE.Match(data) {
		t.Fatalf("pid file content %q is not a bare decimal pid", data)
	}
	pid, _ := strconv.Atoi(string(data))
	return pid
}

func TestRunDetachPidFile(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withOut(), withShell("touch /out/ready; "+waitForever))
	pidFile := filepath.Join(e.dir, "ctr.pid")
	e.runDetached(b, "ctr", "--pid-file", pidFile)
	pid := readPidFile(t, pidFile)
	if s := e.state("ctr"); s.PID != pid {
		t.Errorf("pid file says %d, state says %d", pid, s.PID)
	}
	if !procAlive(pid) {
		t.Errorf("pid %d from the pid file is not alive", pid)
	}
}

// ---------------------------------------------------------------------------
// create / state / start

func TestCreateStateFields(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	before := time.Now()
	e.create(b, "ctr")
	after := time.Now()

	raw := e.stateRaw("ctr")
	for _, k := range []string{"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("state has no %q key: %v", k, raw)
		}
	}
	if _, ok := raw["annotations"]; ok {
		t.Errorf("state has annotations although the config has none: %v", raw["annotations"])
	}
	s := e.state("ctr")
	if s.OCIVersion == "" {
		t.Errorf("empty ociVersion")
	}
	if s.ID != "ctr" {
		t.Errorf("id = %q, want ctr", s.ID)
	}
	if s.Status != "created" {
		t.Errorf("status = %q, want created", s.Status)
	}
	if s.Bundle != b.Dir {
		t.Errorf("bundle = %q, want %q (absolute)", s.Bundle, b.Dir)
	}
	if s.Rootfs != b.Rootfs {
		t.Errorf("rootfs = %q, want %q", s.Rootfs, b.Rootfs)
	}
	// Recorded during the create call (to the second at least).
	if s.Created.Before(before.Truncate(time.Second)) || s.Created.After(after) {
		t.Errorf("created = %v, not between %v and %v", s.Created, before, after)
	}
	if s.PID <= 0 || !procAlive(s.PID) {
		t.Fatalf("pid %d is not a live process", s.PID)
	}
	// The pid is the container's init: in a new pid namespace.
	mine, _ := os.Readlink("/proc/self/ns/pid")
	theirs, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", s.PID))
	if err != nil || theirs == mine {
		t.Errorf("pid %d is not in a new pid namespace (%q vs ours %q, %v)", s.PID, theirs, mine, err)
	}
}

func TestCreateBundleRelativeToCwdIsAbsoluteInState(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	e.track("ctr")
	// No --bundle: the bundle is the working directory.
	r := e.runOpts(invokeOpts{dir: b.Dir}, "create", "ctr")
	if r.Code != 0 {
		t.Fatalf("create in bundle dir: %s", r)
	}
	if s := e.state("ctr"); s.Bundle != b.Dir {
		t.Errorf("bundle = %q, want %q", s.Bundle, b.Dir)
	}
}

func TestStateShowsAnnotations(t *testing.T) {
	e := newEnv(t)
	ann := map[string]string{"org.example.key": "value", "other": "x y z"}
	b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) { s.Annotations = ann }))
	e.create(b, "ctr")
	s := e.state("ctr")
	if len(s.Annotations) != len(ann) {
		t.Errorf("annotations = %v, want %v", s.Annotations, ann)
	}
	for k, v := range ann {
		if s.Annotations[k] != v {
			t.Errorf("annotation %q = %q, want %q", k, s.Annotations[k], v)
		}
	}
}

func TestStartMakesContainerRunning(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withOut(), withShell("touch /out/ready; "+waitForever))
	e.create(b, "ctr")
	created := e.state("ctr")
	r := e.ok("start", "ctr")
	if r.Stdout != "" {
		t.Errorf("start printed %q", r.Stdout)
	}
	s := e.state("ctr")
	if s.Status != "running" {
		t.Errorf("status after start = %q, want running", s.Status)
	}
	if s.PID != created.PID {
		t.Errorf("pid changed from %d to %d on start", created.PID, s.PID)
	}
	waitFile(t, b.outFile("ready"))
}

func TestStateStoppedAfterWorkloadExits(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	e.create(b, "ctr")
	pid := e.state("ctr").PID
	e.ok("start", "ctr")
	s := e.waitStatus("ctr", "stopped")
	if s.PID != 0 {
		t.Errorf("pid of stopped container = %d, want 0", s.PID)
	}
	waitProcGone(t, pid)
}

// The created→start barrier: the workload must not run before start.
func TestCreateDoesNotRunWorkloadUntilStart(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withOut(), withShell("touch /out/marker"))
	e.create(b, "ctr")
	if s := e.state("ctr"); s.Status != "created" {
		t.Fatalf("status = %q, want created", s.Status)
	}
	if exists(b.outFile("marker")) {
		t.Fatal("the workload ran before start")
	}
	// Still not run after more runtime calls.
	e.ok("list")
	if exists(b.outFile("marker")) {
		t.Fatal("the workload ran before start")
	}
	e.ok("start", "ctr")
	waitFile(t, b.outFile("marker"))
	e.waitStatus("ctr", "stopped")
}

func TestStartRunningContainerFails(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withOut(), withShell("echo started >> /out/starts; "+waitForever))
	e.create(b, "ctr")
	e.ok("start", "ctr")
	waitLines(t, b.outFile("starts"), 1)
	e.failsWith("cannot start an already running container", "start", "ctr")
	if s := e.state("ctr"); s.Status != "running" {
		t.Errorf("status after second start = %q, want running", s.Status)
	}
	if got := waitLines(t, b.outFile("starts"), 1); len(got) != 1 {
		t.Errorf("workload started %d times", len(got))
	}
}

func TestStartStoppedContainerFails(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withOut(), withShell("echo started >> /out/starts"))
	e.create(b, "ctr")
	e.ok("start", "ctr")
	e.waitStatus("ctr", "stopped")
	e.failsWith("cannot start a container that has stopped", "start", "ctr")
	if s := e.state("ctr"); s.Status != "stopped" {
		t.Errorf("status = %q, want stopped", s.Status)
	}
	if got := waitLines(t, b.outFile("starts"), 1); len(got) != 1 {
		t.Errorf("workload started %d times", len(got))
	}
}

func TestStartNonexistentFails(t *testing.T) {
	e := newEnv(t)
	e.failsWith("container does not exist", "start", "nosuch")
}

func TestStateNonexistentFails(t *testing.T) {
	e := newEnv(t)
	r := e.failsWith("container does not exist", "state", "nosuch")
	if r.Stdout != "" {
		t.Errorf("state of a missing container printed %q", r.Stdout)
	}
}

func TestCreatePidFileMatchesState(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	pidFile := filepath.Join(e.dir, "ctr.pid")
	e.create(b, "ctr", "--pid-file", pidFile)
	pid := readPidFile(t, pidFile)
	if s := e.state("ctr"); s.PID != pid {
		t.Errorf("pid file %d != state pid %d", pid, s.PID)
	}
}

func TestCreateExistingIDFailsAndKeepsFirst(t *testing.T) {
	e := newEnv(t)
	b1 := e.newBundle(withOut(), withShell("touch /out/ready; "+waitForever))
	b2 := e.newBundle(withOut(), withShell("touch /out/ready; "+waitForever))
	e.create(b1, "ctr")
	first := e.state("ctr")

	e.failsWith("container with given ID already exists", "create", "--bundle", b2.Dir, "ctr")
	if d := cgroupDirs(b2.Cgroup); len(d) != 0 {
		t.Errorf("failed create left cgroup dirs: %v", d)
	}

	again := e.state("ctr")
	if again.PID != first.PID || again.Bundle != b1.Dir || !again.Created.Equal(first.Created) || again.Status != "created" {
		t.Errorf("first container disturbed: was %+v, now %+v", first, again)
	}
	if !procAlive(first.PID) {
		t.Errorf("first container's init %d died", first.PID)
	}
	if d := cgroupDirs(b1.Cgroup); len(d) == 0 {
		t.Errorf("first container's cgroup was removed")
	}
	e.ok("start", "ctr")
	waitFile(t, b1.outFile("ready"))
	if exists(b2.outFile("ready")) {
		t.Errorf("the second bundle's workload ran")
	}
}

func TestRunExistingIDFails(t *testing.T) {
	e := newEnv(t)
	b1 := e.newBundle(withOut(), withShell("touch /out/ready; "+waitForever))
	b2 := e.newBundle(withOut(), withShell("touch /out/ready"))
	e.runDetached(b1, "ctr")
	first := e.state("ctr")
	e.failsWith("container with given ID already exists", "run", "--bundle", b2.Dir, "ctr")
	if exists(b2.outFile("ready")) {
		t.Errorf("the second bundle's workload ran")
	}
	if again := e.state("ctr"); again.PID != first.PID || again.Status != "running" {
		t.Errorf("first container disturbed: was %+v, now %+v", first, again)
	}
}
