package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// blockingHook is a hook that records its pid in marker and then blocks
// until fifo is opened for writing (or it is killed).
func blockingHook(marker, fifo string) specs.Hook {
	return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c",
		fmt.Sprintf("echo $$ > %s.tmp && mv %s.tmp %s && read x < %s", marker, marker, marker, fifo)}}
}

// release opens fifo for writing, so that a blockingHook returns.
func release(t *testing.T, fifo string) {
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Error(err)
		return
	}
	f.Write([]byte("go\n"))
	f.Close()
}

// A create killed (SIGKILL, as when a shim dies) at any instant leaves a
// container that `state` still finds, and `delete --force` removes every
// trace of it: the init dies with its parent until the handoff, and the
// state with the cgroup paths was written before anything was made.
// (Before, the init could sit forever in open(exec.fifo), unfindable, and
// the cgroup directories were left.)
func TestKilledCreateLeavesNothing(t *testing.T) {
	if isRunc() {
		t.Skip("runc 1.5.3 fails this: after its killed create, state says the container does not exist, and its cgroup (with `runc init` and the hook in it) is left")
	}
	for _, kind := range []string{"createRuntime", "createContainer"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t)
			marker := filepath.Join(e.dir, "hook-pid")
			fifo := filepath.Join(e.dir, "hook-fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			b := e.newBundle(withArgs("sleep", "100"), withSpec(func(s *specs.Spec) {
				h := blockingHook(marker, fifo)
				if kind == "createRuntime" {
					s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{h}}
				} else {
					s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{h}}
				}
			}))
			e.track("kc")
			started := make(chan int, 1)
			done := make(chan result, 1)
			go func() {
				done <- invoke(invokeOpts{started: started}, "--root", e.root, "create", "--bundle", b.Dir, "kc")
			}()
			rtPid := <-started
			waitFile(t, marker)
			hookPid, _ := strconv.Atoi(strings.TrimSpace(readFile(t, marker)))
			// The runtime is in the middle of its create, its init waiting
			// for a hook: kill the runtime alone.
			if err := syscall.Kill(rtPid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-done
			if kind == "createRuntime" {
				// The runtime ran this hook itself: it is the test's to end.
				release(t, fifo)
			}
			// The container is still known: state works and says it
			// stopped (its create died); nothing of it keeps running but
			// what is in its cgroup (the createContainer hook, which the
			// delete kills).
			if st := e.state("kc"); st.Status != "stopped" {
				t.Errorf("status after a killed create: %q, want stopped", st.Status)
			}
			waitFor(t, "the container's init to die with its parent", func() bool {
				for _, p := range processesUnder(nil, []string{b.Cgroup}) {
					if !strings.Contains(p, strconv.Itoa(hookPid)) {
						return false
					}
				}
				return true
			})
			e.ok("delete", "--force", "kc")
			e.assertNoTrace(b, "kc")
		})
	}
}

// Two starts of one container at once: exactly one starts it, the other
// fails, and neither waits forever (it did about 1 in 30 tries).
func TestConcurrentStarts(t *testing.T) {
	if isRunc() {
		t.Skip("runc 1.5.3 fails this: one of two concurrent starts can wait forever")
	}
	e := newEnv(t)
	b := e.newBundle(withArgs("sleep", "100"))
	for i := 0; i < 10; i++ {
		id := fmt.Sprintf("cs%d", i)
		e.create(b, id)
		var wg sync.WaitGroup
		res := make([]result, 2)
		for j := range res {
			wg.Add(1)
			go func() { defer wg.Done(); res[j] = invoke(invokeOpts{}, "--root", e.root, "start", id) }()
		}
		wg.Wait()
		okN := 0
		for _, r := range res {
			if r.TimedOut {
				t.Fatalf("a concurrent start hung: %s", r)
			}
			if r.Code == 0 {
				okN++
			} else if !strings.Contains(r.Stderr, "running") && !strings.Contains(r.Stderr, "started") {
				t.Errorf("the losing start's error: %s", r)
			}
		}
		if okN != 1 {
			t.Errorf("round %d: %d starts succeeded, want 1: %v", i, okN, res)
		}
		if st := e.state(id); st.Status != "running" {
			t.Errorf("round %d: status %q after the starts", i, st.Status)
		}
		e.ok("delete", "--force", id)
	}
}

// A seccomp profile whose default action kills (SCMP_ACT_KILL) and that
// does not allow execve: the workload can never start. `start` says so and
// fails; what is left is removed by `delete --force` at once. (Before,
// create and start succeeded for a workload that never ran, and every
// delete --force failed after ~13 s with "device or resource busy".)
func TestSeccompKillDefaultStartFails(t *testing.T) {
	if isRunc() {
		t.Skip("runc 1.5.3 fails this: its delete --force of such a container fails and leaves the state and the cgroup")
	}
	e := newEnv(t)
	b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
		s.Linux.Seccomp = &specs.LinuxSeccomp{
			DefaultAction: specs.ActKill,
			Architectures: []specs.Arch{specs.ArchX86_64},
			Syscalls: []specs.LinuxSyscall{{
				Names:  []string{"read", "write", "close", "openat", "futex", "exit_group"},
				Action: specs.ActAllow,
			}},
		}
	}))
	e.create(b, "sk")
	r := e.run("start", "sk")
	if r.Code == 0 || !strings.Contains(r.Stderr, "seccomp") || !strings.Contains(r.Stderr, "cannot start") {
		t.Errorf("start of a container whose filter kills execve: %s", r)
	}
	e.waitStatus("sk", "stopped")
	e.ok("delete", "--force", "sk")
	e.assertNoTrace(b, "sk")
	// run fails the same way, and leaves nothing.
	if r := e.runFG(b, "sk2"); r.Code == 0 || !strings.Contains(r.Stderr, "seccomp") {
		t.Errorf("run of a container whose filter kills execve: %s", r)
	}
	e.run("delete", "--force", "sk2")
	e.assertNoTrace(b, "sk2")
}

// Commands on one container are serialized: a delete while a create is at
// work waits for it (it used to remove the state dir from under it).
func TestDeleteWaitsForCreate(t *testing.T) {
	e := newEnv(t)
	if isRunc() {
		// Seen failing for runc whenever its delete gets in first: "unable
		// to store init state ... no such file or directory".
		t.Skip("runc 1.5.3 has no per-container lock: a delete --force during a create removes the state dir under it")
	}
	marker := filepath.Join(e.dir, "hook-pid")
	fifo := filepath.Join(e.dir, "hook-fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	b := e.newBundle(withArgs("sleep", "100"), withSpec(func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{blockingHook(marker, fifo)}}
	}))
	e.track("dw")
	created := make(chan result, 1)
	go func() {
		created <- invoke(invokeOpts{}, "--root", e.root, "create", "--bundle", b.Dir, "dw")
	}()
	waitFile(t, marker)
	if isHusk() {
		// While the create holds the container, it is "creating".
		if st := e.state("dw"); st.Status != "creating" {
			t.Errorf("status during create: %q", st.Status)
		}
	}
	deleted := make(chan result, 1)
	cmd := exec.Command(runtimeBin, "--root", e.root, "delete", "--force", "dw")
	go func() {
		out, err := cmd.CombinedOutput()
		r := result{Stderr: string(out)}
		if err != nil {
			r.Code = 1
		}
		deleted <- r
	}()
	release(t, fifo)
	if r := <-created; r.Code != 0 {
		t.Errorf("create, with a delete waiting: %s", r)
	}
	if r := <-deleted; r.Code != 0 {
		t.Errorf("delete --force after the create: %s", r)
	}
	e.assertNoTrace(b, "dw")
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
