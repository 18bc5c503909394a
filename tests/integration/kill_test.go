package integration

import (
	"fmt"
	"reflect"
	"strconv"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// trapScript records USR1 and TERM (TERM also exits 0) in /out/sigs and
// announces readiness by creating /out/ready once its traps are set.
const trapScript = `trap 'echo USR1 >> /out/sigs' USR1; ` +
	`trap 'echo TERM >> /out/sigs; exit 0' TERM; ` +
	`touch /out/ready; ` + waitForever

// startTrapper runs a detached container with trapScript and waits for it
// to be ready.
func startTrapper(e *env, id string) *bundle {
	e.t.Helper()
	b := e.newBundle(withOut(), withShell(trapScript))
	e.runDetached(b, id)
	waitFile(e.t, b.outFile("ready"))
	return b
}

func TestKillDefaultSignalIsTERM(t *testing.T) {
	e := newEnv(t)
	b := startTrapper(e, "ctr")
	e.ok("kill", "ctr")
	got := waitLines(t, b.outFile("sigs"), 1)
	if !reflect.DeepEqual(got, []string{"TERM"}) {
		t.Errorf("signals received = %q, want [TERM]", got)
	}
	e.waitStatus("ctr", "stopped")
}

// Signal names with and without the SIG prefix, in any case, and numbers.
func TestKillSignalNameForms(t *testing.T) {
	e := newEnv(t)
	b := startTrapper(e, "ctr")
	forms := []string{"USR1", "SIGUSR1", "10", "usr1", "sigusr1"}
	for i, sig := range forms {
		e.ok("kill", "ctr", sig)
		got := waitLines(t, b.outFile("sigs"), i+1)
		if got[i] != "USR1" {
			t.Errorf("kill %s delivered %q, want USR1", sig, got[i])
		}
	}
	if s := e.state("ctr"); s.Status != "running" {
		t.Errorf("status = %q after USR1s, want running", s.Status)
	}
	got := waitLines(t, b.outFile("sigs"), len(forms))
	if len(got) != len(forms) {
		t.Errorf("got %d signals, want %d: %q", len(got), len(forms), got)
	}
}

func TestKillWithKILLForms(t *testing.T) {
	for _, sig := range []string{"KILL", "SIGKILL", "9"} {
		t.Run(sig, func(t *testing.T) {
			e := newEnv(t)
			b := e.newBundle(withOut(), withShell("touch /out/ready; "+waitForever))
			e.runDetached(b, "ctr")
			waitFile(t, b.outFile("ready"))
			pid := e.state("ctr").PID
			e.ok("kill", "ctr", sig)
			e.waitStatus("ctr", "stopped")
			waitProcGone(t, pid)
		})
	}
}

func TestKillInvalidSignalFails(t *testing.T) {
	e := newEnv(t)
	b := startTrapper(e, "ctr")
	for _, sig := range []string{"FOO", "SIGFOO", "USR1X"} {
		e.failsWith(fmt.Sprintf("unknown signal %q", sig), "kill", "ctr", sig)
	}
	// husk refuses a number that is no signal itself; runc passes it to
	// kill(2), which refuses it (EINVAL).
	e.failsWith(huskOrRunc("invalid signal number 99", "unable to signal init: invalid argument"), "kill", "ctr", "99")
	if s := e.state("ctr"); s.Status != "running" {
		t.Errorf("status = %q after invalid kills, want running", s.Status)
	}
	if exists(b.outFile("sigs")) {
		t.Errorf("an invalid kill delivered a signal")
	}
}

func TestKillStoppedContainerFails(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	e.runDetached(b, "ctr")
	e.waitStatus("ctr", "stopped")
	e.failsWith("container not running", "kill", "ctr", "KILL")
	e.failsWith("container not running", "kill", "ctr")
	if s := e.state("ctr"); s.Status != "stopped" {
		t.Errorf("status = %q, want stopped", s.Status)
	}
}

func TestKillNonexistentFails(t *testing.T) {
	e := newEnv(t)
	e.failsWith("container does not exist", "kill", "nosuch", "KILL")
}

// Killing a created (never started) container stops it; the workload
// never runs.
func TestKillCreatedContainer(t *testing.T) {
	for _, sig := range []string{"KILL", "TERM"} {
		t.Run(sig, func(t *testing.T) {
			e := newEnv(t)
			b := e.newBundle(withOut(), withShell("touch /out/ran"))
			e.create(b, "ctr")
			pid := e.state("ctr").PID
			e.ok("kill", "ctr", sig)
			e.waitStatus("ctr", "stopped")
			waitProcGone(t, pid)
			if exists(b.outFile("ran")) {
				t.Errorf("the workload ran")
			}
			e.failsWith("cannot start a container that has stopped", "start", "ctr")
			if exists(b.outFile("ran")) {
				t.Errorf("the workload ran after start of a killed container")
			}
			e.ok("delete", "ctr")
			e.assertGone("ctr")
		})
	}
}

// As runc 1.5, kill --all is obsolete: a signal goes to the init only (in
// a pid namespace of its own, SIGKILL to the init kills the rest), and
// --all only makes a stopped container no error.
func TestKillAllSignalsInitOnly(t *testing.T) {
	e := newEnv(t)
	// The child records USR1 and, when the init passes USR2 on, a probe:
	// a USR1 pending at the child is handled before the later USR2.
	child := `sh -c 'trap "echo USR1 >> /out/child" USR1; trap "echo probe >> /out/child" USR2; ` +
		`touch /out/child-ready; ` + waitForever + `' & c=$!; `
	b := e.newBundle(withOut(), withShell(child+
		`trap 'echo init >> /out/init' USR1; trap 'kill -USR2 $c' USR2; touch /out/ready; `+waitForever))
	e.runDetached(b, "ctr")
	waitFile(t, b.outFile("ready"))
	waitFile(t, b.outFile("child-ready"))

	e.ok("kill", "--all", "ctr", "USR1")
	waitLines(t, b.outFile("init"), 1)
	e.ok("kill", "ctr", "USR2")
	if got := waitLines(t, b.outFile("child"), 1); !reflect.DeepEqual(got, []string{"probe"}) {
		t.Errorf("the init's child recorded %q: kill --all USR1 reached it", got)
	}

	pid := e.state("ctr").PID
	e.ok("kill", "--all", "ctr", "KILL")
	e.waitStatus("ctr", "stopped")
	waitProcGone(t, pid)
	waitFor(t, "the container's cgroup to be empty", func() bool {
		return len(processesUnder(nil, []string{b.Cgroup})) == 0
	})
}

// kill ID 0 checks that the init runs: of a stopped container it fails
// with runc's "container not running", as any signal does; with --all a
// stopped container is no error.
func TestKillSignalZeroAndStopped(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withOut(), withShell("touch /out/ready; "+waitForever))
	e.runDetached(b, "ctr")
	waitFile(t, b.outFile("ready"))
	e.ok("kill", "ctr", "0")
	e.ok("kill", "ctr", "KILL")
	e.waitStatus("ctr", "stopped")
	for _, sig := range []string{"0", "KILL", "TERM"} {
		e.failsWith("container not running", "kill", "ctr", sig)
		e.ok("kill", "-a", "ctr", sig)
	}
}

// A container without a pid namespace of its own: its init's children
// would outlive it, so SIGKILL (with or without --all, as runc 1.5) goes
// to every process of its cgroup, running or stopped; other signals go to
// the init alone. containerd's shim runs `kill --all ID 9` when such an
// init exits.
func TestKillSharedPidNamespaceKillsCgroup(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withOut(),
		withShell("sleep 1000 & echo $! > /out/child; touch /out/ready; "+waitForever),
		withSpec(func(s *specs.Spec) { removeNamespace(s, specs.PIDNamespace) }))
	e.runDetached(b, "run")
	waitFile(t, b.outFile("ready"))
	child := readPid(t, b.outFile("child"))
	pid := e.state("run").PID
	e.ok("kill", "run", "KILL")
	waitProcGone(t, pid)
	waitProcGone(t, child)
	e.waitStatus("run", "stopped")

	// The init exits and leaves a child behind in the cgroup, which
	// records TERM and, on URG (a higher signal, handled after a pending
	// TERM), a probe. Without a pid namespace its $$ is its host pid.
	leftover := `sh -c 'trap "echo TERM >> /out/left" TERM; trap "echo probe >> /out/left" URG; ` +
		`echo $$ > /out/child; ` + waitForever + `' & `
	b2 := e.newBundle(withOut(), withShell(leftover+"while [ ! -s /out/child ]; do sleep 0.01; done; exit 0"),
		withSpec(func(s *specs.Spec) { removeNamespace(s, specs.PIDNamespace) }))
	e.runDetached(b2, "left")
	e.waitStatus("left", "stopped")
	child = readPid(t, b2.outFile("child"))
	if !procAlive(child) {
		t.Fatalf("the init's child %d is not running", child)
	}
	e.failsWith("container not running", "kill", "left", "TERM")
	e.ok("kill", "--all", "left", "TERM")
	if err := syscall.Kill(child, syscall.SIGURG); err != nil {
		t.Fatal(err)
	}
	if got := waitLines(t, b2.outFile("left"), 1); !reflect.DeepEqual(got, []string{"probe"}) {
		t.Errorf("the leftover recorded %q: a TERM reached it", got)
	}
	e.ok("kill", "left", "KILL")
	waitProcGone(t, child)
	waitFor(t, "the container's cgroup to be empty", func() bool {
		return len(processesUnder(nil, []string{b2.Cgroup})) == 0
	})
	e.ok("kill", "--all", "left", "KILL")
	e.ok("delete", "left")
	e.assertGone("left")
}

// readPid reads a pid a workload wrote to a file.
func readPid(t *testing.T, path string) int {
	t.Helper()
	l := waitLines(t, path, 1)
	pid, err := strconv.Atoi(l[0])
	if err != nil {
		t.Fatalf("pid %q in %s: %v", l[0], path, err)
	}
	return pid
}
