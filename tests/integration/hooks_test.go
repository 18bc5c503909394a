package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
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
			//lint:ignore SA1019 prestart hooks are deprecated but still in the runtime-spec: runtimes run them
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
		// The hooks run in the container see the init's pid there (1), as
		// runc's do; the others its pid on the host.
		wantPid := map[string]int{"prestart": pid, "createRuntime": pid, "createContainer": 1,
			"startContainer": 1, "poststart": pid, "poststop": 0}[name]
		if st.Pid != wantPid {
			t.Errorf("%s got pid %d, want %d", name, st.Pid, wantPid)
		}
		wantStatus := map[string]string{"prestart": "creating", "createRuntime": "creating", "createContainer": "creating",
			"startContainer": "created", "poststart": "running", "poststop": "stopped"}[name]
		if name == "poststart" && isRunc() {
			// runc 1.5.3 runs poststart hooks at the end of create, before
			// the process runs; the runtime-spec runs them after it started.
			wantStatus = "created"
		}
		if string(st.Status) != wantStatus {
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
// with runc's "error running KIND hook #N: ..." and what the hook printed,
// and leaves nothing behind.
func TestFailingCreateHooksFailCreate(t *testing.T) {
	for _, kind := range []string{"prestart", "createRuntime", "createContainer"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t)
			b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
				ok := specs.Hook{Path: "/bin/true"}
				h := []specs.Hook{ok, {Path: "/bin/sh", Args: []string{"sh", "-c", "echo hook-out; echo hook-said-no >&2; exit 3"}}}
				s.Hooks = &specs.Hooks{}
				switch kind {
				case "prestart":
					//lint:ignore SA1019 prestart hooks are deprecated but still in the runtime-spec: runtimes run them
					s.Hooks.Prestart = h
				case "createRuntime":
					s.Hooks.CreateRuntime = h
				case "createContainer":
					s.Hooks.CreateContainer = h
				}
			}))
			e.track("failhook")
			e.failsWith("error running "+kind+" hook #1: exit status 3, stdout: hook-out\n, stderr: hook-said-no\n", "create", "--bundle", b.Dir, "failhook")
			e.assertNoTrace(b, "failhook")
		})
	}
}

// A hook that outlives its timeout fails, with runc's words.
func TestHookTimeout(t *testing.T) {
	e := newEnv(t)
	one := 1
	b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sleep", Args: []string{"sleep", "30"}, Timeout: &one}}}
	}))
	e.track("timeout")
	e.failsWith("error running createRuntime hook #0: hook ran past specified timeout of 1.0s", "create", "--bundle", b.Dir, "timeout")
	e.assertNoTrace(b, "timeout")
}

// A failing startContainer hook stops the container before its workload
// runs. As with runc, `start` has done its part and succeeds; the init
// tells the failure on its stderr and exits 255, which `run` returns.
func TestFailingStartContainerHook(t *testing.T) {
	e := newEnv(t)
	hook := withSpec(func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo hook-said-no >&2; exit 3"}}}}
	})
	b := e.newBundle(withOut(), withShell("touch /out/ran"), hook)
	e.create(b, "startfail")
	e.ok("start", "startfail")
	e.waitStatus("startfail", "stopped")
	if exists(b.outFile("ran")) {
		t.Error("the workload ran although a startContainer hook failed")
	}
	e.ok("delete", "startfail")

	b = e.newBundle(withOut(), withShell("touch /out/ran"), hook)
	r := e.runFG(b, "startfailfg")
	want := "error running startContainer hook #0: exit status 3, stdout: , stderr: hook-said-no\n"
	if r.Code != 255 || !strings.Contains(r.Stderr, want) {
		t.Errorf("run: %s, want exit 255 and %q", r, want)
	}
	if exists(b.outFile("ran")) {
		t.Error("the workload ran although a startContainer hook failed")
	}
	e.assertNoTrace(b, "startfailfg")
}

// A failing poststart hook fails `run` with runc's message, and `run`
// leaves nothing behind.
func TestFailingPoststartHook(t *testing.T) {
	e := newEnv(t)
	hook := withSpec(func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/false"}}}
	})
	b := e.newBundle(withArgs("sleep", "100"), hook)
	e.track("postfail")
	e.failsWith("error running poststart hook #0: exit status 1", "run", "--detach", "--bundle", b.Dir, "postfail")
	e.assertNoTrace(b, "postfail")

	if isRunc() {
		t.Skip("runc 1.5.3 runs poststart hooks at the end of create (which fails), not in start as the runtime-spec says")
	}
	// Since runtime-spec 1.3 a failing poststart hook is an error that
	// stops the container.
	b = e.newBundle(withArgs("sleep", "100"), hook)
	e.create(b, "postfail2")
	e.failsWith("error running poststart hook #0: exit status 1", "start", "postfail2")
	e.waitStatus("postfail2", "stopped")
}

// A failing poststop hook is reported as runc does; the container is gone
// all the same.
func TestFailingPoststopHook(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/false"}, recordHook("/bin/sh", dir, "after")}}
	}))
	e.runDetached(b, "stopfail")
	e.waitStatus("stopfail", "stopped")
	r := e.run("delete", "stopfail")
	if want := "error running poststop hook #0: exit status 1"; !strings.Contains(r.Stderr, want) {
		t.Errorf("delete: %s, want %q", r, want)
	}
	e.assertGone("stopfail")

	if isRunc() {
		t.Skip("runc 1.5.3 fails delete and skips the remaining poststop hooks; the runtime-spec makes a failing poststop hook a warning")
	}
	if r.Code != 0 || !strings.Contains(r.Stderr, "level=warning") {
		t.Errorf("delete: %s, want success with a warning", r)
	}
	if !exists(filepath.Join(dir, "after.json")) {
		t.Errorf("the poststop hook after the failing one did not run")
	}
}

// Without an environment of its own a hook inherits that of the process
// that runs it, as with runc: the runtime's for prestart, createRuntime,
// poststart and poststop, the init's (empty) for createContainer, and the
// container process's for startContainer. An empty env is empty. As runc's,
// prestart, createRuntime and poststart hooks run in the bundle, poststop
// (from delete) in the caller's cwd, createContainer in the rootfs and
// startContainer in the process's cwd.
func TestHookEnvAndCwd(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	probe := func(d, name string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", fmt.Sprintf("env > %[1]s/%[2]s.env; pwd > %[1]s/%[2]s.cwd", d, name)}}
	}
	b := e.newBundle(withOut(), withArgs("true"), withSpec(func(s *specs.Spec) {
		s.Process.Env = append(s.Process.Env, "PROCESS_VAR=1")
		s.Process.Cwd = "/tmp"
		s.Hooks = &specs.Hooks{
			//lint:ignore SA1019 prestart hooks are deprecated but still in the runtime-spec: runtimes run them
			Prestart:        []specs.Hook{probe(dir, "prestart"), probe(dir, "prestart-empty")},
			CreateRuntime:   []specs.Hook{probe(dir, "createRuntime")},
			CreateContainer: []specs.Hook{probe(dir, "createContainer")},
			StartContainer:  []specs.Hook{probe("/out", "startContainer")},
			Poststart:       []specs.Hook{probe(dir, "poststart")},
			Poststop:        []specs.Hook{probe(dir, "poststop")},
		}
	}))
	// The second prestart hook gets "env": [] (the spec's Go type drops
	// an empty env).
	var raw map[string]any
	data, _ := os.ReadFile(filepath.Join(b.Dir, "config.json"))
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	raw["hooks"].(map[string]any)["prestart"].([]any)[1].(map[string]any)["env"] = []string{}
	data, _ = json.Marshal(raw)
	if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	const callerVar = "HUSK_HOOK_CALLER=1"
	e.track("hookenv")
	for _, args := range [][]string{{"create", "--bundle", b.Dir, "hookenv"}, {"start", "hookenv"}} {
		if r := e.runOpts(invokeOpts{env: []string{callerVar}}, args...); r.Code != 0 {
			t.Fatalf("%s", r)
		}
	}
	e.waitStatus("hookenv", "stopped")
	if r := e.runOpts(invokeOpts{env: []string{callerVar}}, "delete", "hookenv"); r.Code != 0 {
		t.Fatalf("%s", r)
	}
	cwd, _ := os.Getwd()
	// What a shell sets by itself.
	own := map[string]bool{"PWD": true, "OLDPWD": true, "SHLVL": true, "_": true}
	for _, c := range []struct {
		name, dir, cwd string
		want           []string // variables it must have
		only           bool     // and nothing else
	}{
		{"prestart", dir, b.Dir, []string{callerVar}, false},
		{"prestart-empty", dir, b.Dir, nil, true},
		{"createRuntime", dir, b.Dir, []string{callerVar}, false},
		{"createContainer", dir, b.Rootfs, nil, true},
		{"startContainer", b.Out, "/tmp", []string{"PROCESS_VAR=1", "TERM=xterm", "HOME=/root", defaultSpec().Process.Env[0]}, false},
		{"poststart", dir, b.Dir, []string{callerVar}, false},
		{"poststop", dir, cwd, []string{callerVar}, false},
	} {
		env, err := os.ReadFile(filepath.Join(c.dir, c.name+".env"))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		vars := lines(string(env))
		for _, w := range c.want {
			if !contains(vars, w) {
				t.Errorf("%s: env %q lacks %s", c.name, vars, w)
			}
		}
		for _, v := range vars {
			k, _, _ := strings.Cut(v, "=")
			if c.only && !own[k] {
				t.Errorf("%s: env %q, want it empty", c.name, vars)
				break
			}
			if c.name == "startContainer" && v == callerVar {
				t.Errorf("%s: env %q has the runtime's", c.name, vars)
			}
		}
		got, _ := os.ReadFile(filepath.Join(c.dir, c.name+".cwd"))
		if strings.TrimSpace(string(got)) != c.cwd {
			t.Errorf("%s: cwd %q, want %q", c.name, strings.TrimSpace(string(got)), c.cwd)
		}
	}
}

// startContainer hooks run as the process will: its user, and under its
// seccomp filter (loaded before them, with or without no_new_privs).
func TestStartContainerHookRunsAsTheProcess(t *testing.T) {
	e := newEnv(t)
	for _, nnp := range []bool{true, false} {
		b := e.newBundle(withOut(), withArgs("true"), withSpec(func(s *specs.Spec) {
			s.Process.NoNewPrivileges = nnp
			s.Process.User = specs.User{UID: testUID, GID: testGID}
			s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/sh",
				Args: []string{"sh", "-c", "{ id -u; mkdir /out/d 2>&1; } > /out/hook.out; true"}}}}
		}), withSeccomp(&specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls: []specs.LinuxSyscall{
				{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: errnoPtr(unix.ENOTTY)},
			},
		}))
		if r := e.runFG(b, fmt.Sprintf("hookseccomp%v", nnp)); r.Code != 0 {
			t.Fatalf("noNewPrivileges=%v: run: %s", nnp, r)
		}
		out, _ := os.ReadFile(b.outFile("hook.out"))
		l := lines(string(out))
		if len(l) != 2 || l[0] != strconv.Itoa(testUID) || !strings.Contains(l[1], "Inappropriate ioctl") {
			t.Errorf("noNewPrivileges=%v: hook printed %q, want uid %d and mkdir failing with the filter's ENOTTY", nnp, l, testUID)
		}
	}
}

// Hook paths must be absolute and timeouts positive: husk refuses them up
// front, naming the field; runc 1.5.3 fails create when it runs the hook
// (its poststart hooks run in create). A poststop hook's timeout of 0 only
// makes that hook fail, a warning: both run the container
// (TestAcceptWhatRuncIgnores).
func TestBadHooksRefused(t *testing.T) {
	e := newEnv(t)
	zero := 0
	for i, c := range []struct {
		h          specs.Hook
		husk, runc string
	}{
		{specs.Hook{Path: "bin/true"}, `hooks.poststart[0].path: "bin/true" is not an absolute path`, "error running poststart hook #0: fork/exec bin/true: no such file or directory"},
		{specs.Hook{Path: "/bin/true", Timeout: &zero}, "hooks.poststart[0].timeout: 0 is not greater than zero", "error running poststart hook #0: hook ran past specified timeout of 0.0s"},
	} {
		b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststart: []specs.Hook{c.h}}
		}))
		id := fmt.Sprintf("badhook%d", i)
		e.track(id)
		e.failsWith(huskOrRunc(c.husk, c.runc), "create", "--bundle", b.Dir, id)
		e.assertNoTrace(b, id)
	}
}
