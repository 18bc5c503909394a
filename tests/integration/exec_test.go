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
)

// runningContainer starts a detached container that sleeps, with /out.
func runningContainer(e *env, id string, opts ...bundleOpt) *bundle {
	e.t.Helper()
	b := e.newBundle(append([]bundleOpt{withOut(), withShell("touch /out/marker-from-init; sleep 100")}, opts...)...)
	e.runDetached(b, id)
	waitFile(e.t, b.outFile("marker-from-init"))
	return b
}

// exec runs in the container: its pid namespace (the init is pid 1), its
// mount namespace and rootfs, its hostname, its cgroup.
func TestExecJoinsTheContainer(t *testing.T) {
	e := newEnv(t)
	b := runningContainer(e, "ex")
	r := e.run("exec", "ex", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; ls /out; hostname; cat /proc/self/cgroup")
	if r.Code != 0 {
		t.Fatalf("exec: %s", r)
	}
	l := lines(r.Stdout)
	if len(l) < 4 || !strings.HasPrefix(l[0], "sleep 100") || l[1] != "marker-from-init" || l[2] != "runc" {
		t.Errorf("exec sees %q", l)
	}
	initCg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", e.state("ex").PID))
	if err != nil {
		t.Fatal(err)
	}
	// Inside, /proc/self/cgroup is relative to the container's view; the
	// leaf must match the init's.
	leaf := filepath.Base(b.Cgroup)
	if !strings.Contains(strings.Join(l[3:], "\n"), leaf) || !strings.Contains(string(initCg), leaf) {
		t.Errorf("exec'd process not in the container's cgroup %s:\n%s", b.Cgroup, strings.Join(l[3:], "\n"))
	}
	// The init's cgroup directory, found from /proc/PID/cgroup, is the
	// bundle's and lists it.
	pid := e.state("ex").PID
	dir := containerCgroupDir(t, pid, "pids.max")
	procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if !strings.HasSuffix(dir, b.Cgroup) || !contains(lines(string(procs)), strconv.Itoa(pid)) {
		t.Errorf("the init's (pid %d) cgroup dir %s: not the bundle's %s, or not listing it: %q", pid, dir, b.Cgroup, procs)
	}
}

// exec returns the process's exit code, and 255 when the runtime fails.
func TestExecExitCodes(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "codes")
	if r := e.run("exec", "codes", "sh", "-c", "exit 42"); r.Code != 42 {
		t.Errorf("exit 42: %s", r)
	}
	if r := e.run("exec", "codes", "/nonexistent/binary"); r.Code != 255 || r.Stderr == "" {
		t.Errorf("missing binary: %s", r)
	}
	if r := e.run("exec", "nosuchcontainer", "true"); r.Code != 255 {
		t.Errorf("missing container: %s", r)
	}
}

// exec into a stopped container fails.
func TestExecStoppedContainerFails(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	e.runDetached(b, "done")
	e.waitStatus("done", "stopped")
	if r := e.run("exec", "done", "true"); r.Code != 255 {
		t.Errorf("exec into stopped container: %s", r)
	}
}

// -u, -e, --cwd, -g override the container's process.
func TestExecOverrides(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "ovr")
	r := e.ok("exec", "-u", "1000:1000", "-g", "2000", "-e", "FOO=bar", "--cwd", "/tmp", "ovr",
		"sh", "-c", "id -u; id -g; id -G; echo $FOO; pwd")
	if got := lines(r.Stdout); len(got) != 5 || got[0] != "1000" || got[1] != "1000" || got[2] != "1000 2000" || got[3] != "bar" || got[4] != "/tmp" {
		t.Errorf("exec with overrides printed %q", got)
	}
	for _, bad := range []string{"x", "1000:y", "-1", "1000:"} {
		if r := e.run("exec", "-u", bad, "ovr", "true"); r.Code != 255 {
			t.Errorf("--user %q accepted: %s", bad, r)
		}
	}
}

// --process runs a process.json; its errors name the file and field.
func TestExecProcessFile(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "pj")
	p := defaultSpec().Process
	p.Args = []string{"sh", "-c", "echo from-json $X"}
	p.Env = append(p.Env, "X=1")
	data, _ := json.Marshal(p)
	file := filepath.Join(e.dir, "process.json")
	os.WriteFile(file, data, 0o644)
	r := e.ok("exec", "-p", file, "pj")
	if strings.TrimSpace(r.Stdout) != "from-json 1" {
		t.Errorf("exec -p printed %q", r.Stdout)
	}
	p.Args = nil
	data, _ = json.Marshal(p)
	os.WriteFile(file, data, 0o644)
	r = e.run("exec", "-p", file, "pj")
	if r.Code != 255 || (isHusk() && !strings.Contains(r.Stderr, "process.json: args")) {
		t.Errorf("empty args in process.json: %s", r)
	}
}

// --detach returns at once; --pid-file names the exec'd process.
func TestExecDetachPidFile(t *testing.T) {
	e := newEnv(t)
	b := runningContainer(e, "det")
	pidFile := filepath.Join(e.dir, "exec.pid")
	e.ok("exec", "-d", "--pid-file", pidFile, "det", "sh", "-c", "touch /out/detached; sleep 100")
	waitFile(t, b.outFile("detached"))
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(data))
	if err != nil || !procAlive(pid) {
		t.Fatalf("pid file %q does not name a live process", data)
	}
	// The shell may be exec'ing sleep right now: cmdline reads empty
	// for that instant.
	var cmd []byte
	waitFor(t, "the exec'd process's cmdline", func() bool {
		cmd, _ = os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		return len(cmd) > 0
	})
	if !strings.Contains(string(cmd), "sleep") && !strings.Contains(string(cmd), "sh") {
		t.Errorf("pid file names %q", cmd)
	}
}

// The exec'd process gets stdio and nothing else.
func TestExecFdsAreOnlyStdio(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "fds")
	r := e.ok("exec", "fds", "ls", "/proc/self/fd")
	if got := lines(r.Stdout); len(got) != 4 || got[3] == "" {
		t.Errorf("exec'd process fds %q, want 0 1 2 and ls's own", got)
	}
}

// exec --preserve-fds N hands the caller's fds 3..3+N-1 to the exec'd
// process, and nothing else above stdio.
func TestExecPreserveFds(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "xfds")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	r := e.runOpts(invokeOpts{extraFiles: []*os.File{pw}},
		"exec", "--preserve-fds", "1", "xfds", "sh", "-c", "echo through-fd3 >&3; ls /proc/self/fd")
	pw.Close()
	if r.Code != 0 {
		t.Fatalf("exec: %s", r)
	}
	buf := make([]byte, 64)
	n, _ := pr.Read(buf)
	if got := strings.TrimSpace(string(buf[:n])); got != "through-fd3" {
		t.Errorf("read %q from the preserved pipe", got)
	}
	if fds := strings.Fields(r.Stdout); len(fds) != 5 || fds[3] != "3" {
		t.Errorf("exec'd process fds %v, want stdio, 3 and ls's own", fds)
	}
}

// exec keeps the container's capabilities and no_new_privs; --cap adds one.
func TestExecCapabilities(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "caps")
	r := e.ok("exec", "caps", "grep", "-E", "^(CapEff|NoNewPrivs)", "/proc/self/status")
	st := statusFields(r.Stdout)
	if st["CapEff"] != "0000000020000420" || st["NoNewPrivs"] != "1" {
		t.Errorf("exec'd process status %v", st)
	}
	r = e.ok("exec", "--cap", "CAP_SYS_ADMIN", "caps", "grep", "^CapEff", "/proc/self/status")
	if statusFields(r.Stdout)["CapEff"] != "0000000020200420" {
		t.Errorf("--cap CAP_SYS_ADMIN: %q", r.Stdout)
	}
}

// A container without its own pid namespace: the exec'd process is a
// plain child of the exec command.
func TestExecWithoutPidNamespace(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "nopid", withSpec(func(s *specs.Spec) { removeNamespace(s, specs.PIDNamespace) }))
	if r := e.run("exec", "nopid", "sh", "-c", "exit 7"); r.Code != 7 {
		t.Errorf("exec without pid namespace: %s", r)
	}
}

// exec --cgroup puts the process in an existing sub-cgroup of the
// container's, in every hierarchy or in one controller's, with runc's
// syntax: "sub", "ctrl:sub", "ctrl1,ctrl2:sub" (the comma is not a list
// separator), a path out of the container's cgroup refused.
func TestExecSubCgroup(t *testing.T) {
	e := newEnv(t)
	b := runningContainer(e, "subcg")
	var made []string
	for _, mnt := range cgroupMounts() {
		dir := filepath.Join(mnt, b.Cgroup, "sub")
		if err := os.Mkdir(dir, 0o755); err == nil {
			made = append(made, dir)
		}
		// A new v1 cpuset cgroup has no cpus or mems until given some.
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if v, err := os.ReadFile(filepath.Join(filepath.Dir(dir), f)); err == nil {
				os.WriteFile(filepath.Join(dir, f), v, 0)
			}
		}
	}
	t.Cleanup(func() {
		for _, d := range made {
			os.Remove(d)
		}
	})
	r := e.ok("exec", "--cgroup", "sub", "subcg", "cat", "/proc/self/cgroup")
	for _, l := range lines(r.Stdout) {
		if !strings.HasSuffix(l, "/sub") {
			t.Errorf("exec --cgroup sub: %q is not in the sub-cgroup", l)
		}
	}
	if unifiedHost() {
		// One hierarchy: no controller has a cgroup of its own. runc 1.5
		// takes only the bare path there, and runs the process in the
		// container's cgroup.
		r = e.ok("exec", "--cgroup", "pids:sub", "subcg", "cat", "/proc/self/cgroup")
		for _, l := range lines(r.Stdout) {
			if strings.HasSuffix(l, "/sub") {
				t.Errorf("exec --cgroup pids:sub on cgroup v2: %q is in the sub-cgroup", l)
			}
		}
	} else {
		r = e.ok("exec", "--cgroup", "pids:sub", "subcg", "cat", "/proc/self/cgroup")
		for _, l := range lines(r.Stdout) {
			inSub := strings.HasSuffix(l, "/sub")
			if isPids := strings.Contains(l, ":pids:"); isPids != inSub {
				t.Errorf("exec --cgroup pids:sub: %q", l)
			}
		}
	}
	if r := e.run("exec", "--cgroup", "nosuch", "subcg", "true"); r.Code != 255 {
		t.Errorf("a missing sub-cgroup: %s", r)
	}
	// A path that stays in the container's cgroup is fine, one that
	// leaves it is not.
	r = e.ok("exec", "--cgroup", "sub/..", "subcg", "cat", "/proc/self/cgroup")
	for _, l := range lines(r.Stdout) {
		if strings.HasSuffix(l, "/sub") {
			t.Errorf("exec --cgroup sub/..: %q is in the sub-cgroup", l)
		}
	}
	bad := []string{"../sub", "sub/../.."}
	if !unifiedHost() {
		bad = append(bad, "memory:../sub")
	}
	for _, arg := range bad {
		_, sub, _ := strings.Cut(arg, ":")
		if !strings.Contains(arg, ":") {
			sub = arg
		}
		r := e.run("exec", "--cgroup", arg, "subcg", "true")
		if r.Code != 255 || !strings.Contains(r.Stderr, "bad sub cgroup path: "+sub) {
			t.Errorf("exec --cgroup %s: %s", arg, r)
		}
	}
	// A bare path is the only --cgroup or none; a controller is named
	// once; an empty controller name is refused.
	for _, args := range [][]string{{"sub", "memory:sub"}, {"memory:sub", "memory,pids:sub"}, {":sub"}} {
		var flags []string
		for _, a := range args {
			flags = append(flags, "--cgroup", a)
		}
		if r := e.run(append(append([]string{"exec"}, flags...), "subcg", "true")...); r.Code != 255 || !strings.Contains(r.Stderr, "--cgroup") {
			t.Errorf("exec %q: %s", flags, r)
		}
	}
	if unifiedHost() {
		return
	}
	// Two controllers of different hierarchies, one value.
	r = e.ok("exec", "--cgroup", "memory,pids:sub", "subcg", "cat", "/proc/self/cgroup")
	for _, l := range lines(r.Stdout) {
		inSub := strings.HasSuffix(l, "/sub")
		if want := strings.Contains(l, ":pids:") || strings.Contains(l, ":memory:"); want != inSub {
			t.Errorf("exec --cgroup memory,pids:sub: %q", l)
		}
	}
}

// --no-new-privs sets no_new_privs for the exec'd process only; --apparmor
// on a host without AppArmor is refused with an error that says so.
func TestExecNoNewPrivsAndAppArmor(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "nnp", withSpec(func(s *specs.Spec) { s.Process.NoNewPrivileges = false }))
	if got := statusFields(e.ok("exec", "nnp", "grep", "^NoNewPrivs", "/proc/self/status").Stdout)["NoNewPrivs"]; got != "0" {
		t.Errorf("exec without --no-new-privs: NoNewPrivs %q", got)
	}
	if got := statusFields(e.ok("exec", "--no-new-privs", "nnp", "grep", "^NoNewPrivs", "/proc/self/status").Stdout)["NoNewPrivs"]; got != "1" {
		t.Errorf("exec --no-new-privs: NoNewPrivs %q", got)
	}
	if aa, _ := os.ReadFile("/sys/module/apparmor/parameters/enabled"); !isHusk() || strings.HasPrefix(string(aa), "Y") {
		return
	}
	if r := e.run("exec", "--apparmor", "husk-test", "nnp", "true"); r.Code != 255 || !strings.Contains(r.Stderr, "AppArmor") {
		t.Errorf("exec --apparmor on a host without AppArmor: %s", r)
	}
}
