package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// recordHook is a hook that saves its stdin as DIR/NAME.json, its network
// namespace as DIR/NAME.netns and appends NAME to DIR/order. sh is the
// shell to run it with: the host's for hooks that resolve in the runtime
// namespace, the container's for startContainer.
func recordHook(sh, dir, name string) specs.Hook {
	script := fmt.Sprintf(`cat > %[1]s/%[2]s.json; readlink /proc/self/ns/net > %[1]s/%[2]s.netns; echo %[2]s >> %[1]s/order`, dir, name)
	return specs.Hook{Path: sh, Args: []string{"sh", "-c", script}}
}

func readState(t *testing.T, file string) specs.State {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var s specs.State
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v: %q", file, err, data)
	}
	return s
}

// Every hook runs, in the lifecycle's order, with the state on stdin and in
// the namespaces the spec gives it.
func TestHooksOrderStateAndNamespaces(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	b := e.newBundle(withOut(), withShell("touch /out/ran"), withSpec(func(s *specs.Spec) {
		s.Annotations = map[string]string{"hook.test": "yes"}
		s.Hooks = &specs.Hooks{
			Prestart:        []specs.Hook{recordHook("/bin/sh", dir, "prestart")},
			CreateRuntime:   []specs.Hook{recordHook("/bin/sh", dir, "createRuntime")},
			CreateContainer: []specs.Hook{recordHook("/bin/sh", dir, "createContainer")},
			// Resolved and run in the container: /out is the bind of b.Out.
			StartContainer: []specs.Hook{recordHook("/bin/sh", "/out", "startContainer")},
			Poststart:      []specs.Hook{recordHook("/bin/sh", dir, "poststart")},
			Poststop:       []specs.Hook{recordHook("/bin/sh", dir, "poststop")},
		}
		// The default capabilities do not let container root write to a
		// directory owned by someone else; /out is world-writable.
	}))
	e.create(b, "hooks")
	pid := e.state("hooks").PID
	e.ok("start", "hooks")
	e.waitStatus("hooks", "stopped")
	e.ok("delete", "hooks")

	order, _ := os.ReadFile(filepath.Join(dir, "order"))
	want := "prestart\ncreateRuntime\ncreateContainer\npoststart\npoststop\n"
	if string(order) != want {
		t.Errorf("hooks ran in order %q, want %q", order, want)
	}
	if _, err := os.Stat(b.outFile("startContainer.json")); err != nil {
		t.Errorf("startContainer hook did not run in the container: %v", err)
	}
	hostNet, _ := os.Readlink("/proc/self/ns/net")
	for _, name := range []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"} {
		d := dir
		if name == "startContainer" {
			d = b.Out
		}
		st := readState(t, filepath.Join(d, name+".json"))
		if st.ID != "hooks" || st.Bundle != b.Dir || st.Annotations["hook.test"] != "yes" {
			t.Errorf("%s got state %+v", name, st)
		}
		if name != "poststop" && st.Pid != pid && isHusk() {
			t.Errorf("%s got pid %d, want the init's %d", name, st.Pid, pid)
		}
		wantStatus := map[string]string{"prestart": "created", "createRuntime": "created", "createContainer": "created",
			"startContainer": "created", "poststart": "running", "poststop": "stopped"}[name]
		if isHusk() && string(st.Status) != wantStatus {
			t.Errorf("%s got status %q, want %q", name, st.Status, wantStatus)
		}
		netns, _ := os.ReadFile(filepath.Join(d, name+".netns"))
		inContainer := strings.TrimSpace(string(netns)) != hostNet
		if wantIn := name == "createContainer" || name == "startContainer"; inContainer != wantIn {
			t.Errorf("%s ran in the container's network namespace: %v, want %v", name, inContainer, wantIn)
		}
	}
}

// A hook sees only its own args and environment.
func TestHookArgsAndEnv(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{
			Path: "/bin/sh",
			Args: []string{"my-hook-name", "-c", `head -c 12 /proc/$$/cmdline > ` + dir + `/argv0; echo "$0" > ` + dir + `/args; env > ` + dir + `/env`, "zeroth"},
			Env:  []string{"HOOKVAR=1"},
		}}}
	}))
	e.runFG(b, "hookenv")
	argv0, _ := os.ReadFile(filepath.Join(dir, "argv0"))
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if string(argv0) != "my-hook-name" || strings.TrimSpace(string(args)) != "zeroth" {
		t.Errorf("hook argv[0] %q, $0 %q", argv0, args)
	}
	env, _ := os.ReadFile(filepath.Join(dir, "env"))
	if !strings.Contains(string(env), "HOOKVAR=1") || strings.Contains(string(env), "HUSK_BINARY") {
		t.Errorf("hook env %q: want only its own", env)
	}
}

// A failing prestart, createRuntime or createContainer hook fails create
// and leaves nothing behind.
func TestFailingCreateHooksFailCreate(t *testing.T) {
	for _, kind := range []string{"prestart", "createRuntime", "createContainer"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t)
			b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
				h := []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo hook-said-no >&2; exit 3"}}}
				s.Hooks = &specs.Hooks{}
				switch kind {
				case "prestart":
					s.Hooks.Prestart = h
				case "createRuntime":
					s.Hooks.CreateRuntime = h
				case "createContainer":
					s.Hooks.CreateContainer = h
				}
			}))
			e.track("failhook")
			r := e.fails("create", "--bundle", b.Dir, "failhook")
			if isHusk() && (!strings.Contains(r.Stderr, kind) || !strings.Contains(r.Stderr, "hook-said-no")) {
				t.Errorf("error does not name the hook and its output: %q", r.Stderr)
			}
			e.assertNoTrace(b, "failhook")
		})
	}
}

// A hook that outlives its timeout fails.
func TestHookTimeout(t *testing.T) {
	e := newEnv(t)
	one := 1
	b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sleep", Args: []string{"sleep", "30"}, Timeout: &one}}}
	}))
	e.track("timeout")
	r := e.fails("create", "--bundle", b.Dir, "timeout")
	if isHusk() && !strings.Contains(r.Stderr, "timed out") {
		t.Errorf("stderr %q", r.Stderr)
	}
	e.assertNoTrace(b, "timeout")
}

// A failing startContainer hook fails start; the workload never runs.
func TestFailingStartContainerHookFailsStart(t *testing.T) {
	if !isHusk() {
		t.Skip("runc reports startContainer failures only through the init's exit")
	}
	e := newEnv(t)
	b := e.newBundle(withOut(), withShell("touch /out/ran"), withSpec(func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/false"}}}
	}))
	e.create(b, "startfail")
	r := e.fails("start", "startfail")
	if !strings.Contains(r.Stderr, "startContainer") {
		t.Errorf("stderr %q", r.Stderr)
	}
	e.waitStatus("startfail", "stopped")
	if _, err := os.Stat(b.outFile("ran")); err == nil {
		t.Error("the workload ran although a startContainer hook failed")
	}
}

// Since runtime-spec 1.3 a failing poststart hook is an error that stops
// the container.
func TestFailingPoststartHookStopsContainer(t *testing.T) {
	if !isHusk() {
		t.Skip("runc 1.1 runs poststart hooks differently")
	}
	e := newEnv(t)
	b := e.newBundle(withArgs("sleep", "100"), withSpec(func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/false"}}}
	}))
	e.create(b, "postfail")
	r := e.fails("start", "postfail")
	if !strings.Contains(r.Stderr, "poststart") {
		t.Errorf("stderr %q", r.Stderr)
	}
	e.waitStatus("postfail", "stopped")
}

// A failing poststop hook is a warning: the next hooks still run and
// delete succeeds.
func TestFailingPoststopHookIsAWarning(t *testing.T) {
	if !isHusk() {
		t.Skip("runc 1.1 treats a failing poststop hook as an error")
	}
	e := newEnv(t)
	dir := t.TempDir()
	b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/false"}, recordHook("/bin/sh", dir, "after")}}
	}))
	e.runDetached(b, "stopfail")
	e.waitStatus("stopfail", "stopped")
	r := e.ok("delete", "stopfail")
	if !strings.Contains(r.Stderr, "level=warning") || !strings.Contains(r.Stderr, "poststop") {
		t.Errorf("no warning: %q", r.Stderr)
	}
	if !exists(filepath.Join(dir, "after.json")) {
		t.Errorf("the poststop hook after the failing one did not run")
	}
	e.assertGone("stopfail")
}

// Hook paths must be absolute and timeouts positive.
func TestBadHooksRefused(t *testing.T) {
	if !isHusk() {
		t.Skip("husk's validation")
	}
	e := newEnv(t)
	zero := 0
	for i, h := range []specs.Hook{{Path: "bin/true"}, {Path: "/bin/true", Timeout: &zero}} {
		b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststart: []specs.Hook{h}}
		}))
		id := fmt.Sprintf("badhook%d", i)
		e.track(id)
		r := e.fails("create", "--bundle", b.Dir, id)
		if !strings.Contains(r.Stderr, "hooks.poststart[0]") {
			t.Errorf("error does not name the field: %q", r.Stderr)
		}
		e.assertNoTrace(b, id)
	}
}
