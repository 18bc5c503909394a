package integration

import (
	"reflect"
	"strconv"
	"strings"
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
	for _, sig := range []string{"FOO", "SIGFOO", "99", "USR1X"} {
		r := e.fails("kill", "ctr", sig)
		if _, err := strconv.Atoi(sig); err != nil && isHusk() && !strings.Contains(r.Stderr, sig) {
			t.Errorf("kill %s: error does not name the signal: %q", sig, r.Stderr)
		}
	}
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
	e.fails("kill", "ctr", "KILL")
	e.fails("kill", "ctr")
	if s := e.state("ctr"); s.Status != "stopped" {
		t.Errorf("status = %q, want stopped", s.Status)
	}
}

func TestKillNonexistentFails(t *testing.T) {
	e := newEnv(t)
	e.fails("kill", "nosuch", "KILL")
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
			e.fails("start", "ctr")
			if exists(b.outFile("ran")) {
				t.Errorf("the workload ran after start of a killed container")
			}
			e.ok("delete", "ctr")
			e.assertGone("ctr")
		})
	}
}

// kill --all signals every process in the container, plain kill only init.
func TestKillAllSignalsEveryProcess(t *testing.T) {
	e := newEnv(t)
	child := `sh -c 'trap "echo child >> /out/child" USR1; touch /out/child-ready; ` + waitForever + `' &`
	b := e.newBundle(withOut(), withShell(
		`trap 'echo init >> /out/init' USR1; `+child+` touch /out/ready; `+waitForever))
	e.runDetached(b, "ctr")
	waitFile(t, b.outFile("ready"))
	waitFile(t, b.outFile("child-ready"))

	e.ok("kill", "ctr", "USR1")
	waitLines(t, b.outFile("init"), 1)

	e.ok("kill", "--all", "ctr", "USR1")
	waitLines(t, b.outFile("init"), 2)
	got := waitLines(t, b.outFile("child"), 1)
	if len(got) != 1 {
		t.Errorf("child got %d USR1s, want 1 (only from kill --all)", len(got))
	}

	pid := e.state("ctr").PID
	e.ok("kill", "--all", "ctr", "KILL")
	e.waitStatus("ctr", "stopped")
	waitProcGone(t, pid)
	if ps := processesUnder(nil, []string{b.Cgroup}); len(ps) != 0 {
		t.Errorf("processes left in the container's cgroup: %v", ps)
	}
}

// A container without a pid namespace of its own leaves its init's
// children in its cgroup when the init exits: kill --all of the stopped
// container reaches them, and succeeds once nothing is left, as with
// runc (containerd's shim runs `kill --all ID 9` when such an init exits).
// Plain kill of a stopped container still fails.
func TestKillAllStoppedContainerReachesLeftovers(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withOut(),
		withShell("sleep 1000 & echo $! > /out/child; exit 0"),
		withSpec(func(s *specs.Spec) { removeNamespace(s, specs.PIDNamespace) }))
	e.runDetached(b, "ctr")
	e.waitStatus("ctr", "stopped")
	lines := waitLines(t, b.outFile("child"), 1)
	child, err := strconv.Atoi(lines[0])
	if err != nil {
		t.Fatalf("child pid %q: %v", lines[0], err)
	}
	if !procAlive(child) {
		t.Fatalf("the init's child %d is not running", child)
	}
	e.fails("kill", "ctr", "KILL")
	e.ok("kill", "--all", "ctr", "KILL")
	waitProcGone(t, child)
	if ps := processesUnder(nil, []string{b.Cgroup}); len(ps) != 0 {
		t.Errorf("processes left in the container's cgroup: %v", ps)
	}
	e.ok("kill", "--all", "ctr", "KILL")
	e.ok("delete", "ctr")
	e.assertGone("ctr")
}
