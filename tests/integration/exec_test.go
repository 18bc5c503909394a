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
	e.execFailsWith(`exec: "/nonexistent/binary": stat /nonexistent/binary: no such file or directory`, "codes", "/nonexistent/binary")
	e.execFailsWith("container does not exist", "nosuchcontainer", "true")
}

// exec into a stopped container fails.
func TestExecStoppedContainerFails(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	e.runDetached(b, "done")
	e.waitStatus("done", "stopped")
	e.execFailsWith("cannot exec in a stopped container", "done", "true")
}

// -u, -e, --cwd override the container's process; -g adds to its
// additionalGids, as runc does.
func TestExecOverrides(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "ovr", withSpec(func(s *specs.Spec) { s.Process.User.AdditionalGids = []uint32{3000} }))
	r := e.ok("exec", "-u", "1000:1000", "-g", "2000", "-e", "FOO=bar", "--cwd", "/tmp", "ovr",
		"sh", "-c", "id -u; id -g; echo $FOO; pwd; grep ^Groups: /proc/self/status")
	// The supplementary groups as a set: runc 1.5.3's CLI library (urfave
	// cli v1) hands it a single -g value twice, which the kernel keeps.
	got := lines(r.Stdout)
	groups := map[string]bool{}
	if len(got) == 5 {
		for _, g := range strings.Fields(strings.TrimPrefix(got[4], "Groups:")) {
			groups[g] = true
		}
	}
	if len(got) != 5 || got[0] != "1000" || got[1] != "1000" || got[2] != "bar" || got[3] != "/tmp" || len(groups) != 2 || !groups["2000"] || !groups["3000"] {
		t.Errorf("exec with overrides printed %q, want uid and gid 1000, FOO=bar, cwd /tmp, groups 2000 3000", got)
	}
	r = e.ok("exec", "-u", "1000:1000", "ovr", "grep", "^Groups:", "/proc/self/status")
	if g := strings.Fields(strings.TrimPrefix(strings.TrimSpace(r.Stdout), "Groups:")); len(g) != 1 || g[0] != "3000" {
		t.Errorf("exec without -g: groups %q, want the container's 3000", g)
	}
	for _, c := range []struct{ user, husk, runc string }{
		// husk names the flag and says what an id must be; runc says
		// what it could not parse, and takes -1 as (uid_t)-1, which the
		// kernel refuses.
		{"x", `exec: --user "x": the uid must be a number below 4294967295`, `bad uid: strconv.Atoi: parsing "x": invalid syntax`},
		{"1000:y", `exec: --user "1000:y": the gid must be a number below 4294967295`, `bad gid: strconv.Atoi: parsing "y": invalid syntax`},
		{"-1", `exec: --user "-1": the uid must be a number below 4294967295`, "cannot setuid to unmapped uid 4294967295"},
		{"1000:", `exec: --user "1000:": the gid must be a number below 4294967295`, `bad gid: strconv.Atoi: parsing "": invalid syntax`},
	} {
		e.execFailsWith(huskOrRunc(c.husk, c.runc), "-u", c.user, "ovr", "true")
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
	// husk names the file and the field.
	e.execFailsWith(huskOrRunc("process.json: args: must not be empty", "args must not be empty"), "-p", file, "pj")
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
	// husk looks for it first; runc fails to write to it.
	e.execFailsWith(huskOrRunc("--cgroup: no such sub-cgroup", "nosuch/cgroup.procs: no such file or directory"), "--cgroup", "nosuch", "subcg", "true")
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
	for _, c := range []struct {
		args       []string
		husk, runc string // each words it its own way
	}{
		{[]string{"sub", "memory:sub"}, `--cgroup "sub": a path without "controller:" must be the only --cgroup`, "invalid --cgroup argument: sub (missing <controller>: prefix)"},
		{[]string{"memory:sub", "memory,pids:sub"}, "--cgroup: controller memory is given more than once", "invalid --cgroup argument(s): controller memory specified multiple times"},
		{[]string{":sub"}, `--cgroup ":sub": an empty controller name before the colon`, "invalid --cgroup argument: :sub (empty <controller> prefix)"},
	} {
		var flags []string
		for _, a := range c.args {
			flags = append(flags, "--cgroup", a)
		}
		e.execFailsWith(huskOrRunc(c.husk, c.runc), append(flags, "subcg", "true")...)
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
	if aa, _ := os.ReadFile("/sys/module/apparmor/parameters/enabled"); strings.HasPrefix(string(aa), "Y") {
		return
	}
	// husk refuses it up front; runc's init writes it and the kernel
	// refuses.
	e.execFailsWith(huskOrRunc("AppArmor is not enabled on this host", "apparmor failed to apply profile"), "--apparmor", "husk-test", "nnp", "true")
}

// A process that exec started and then killed because of a later failure
// (here the --pid-file cannot be written) is reaped: no process and no
// zombie is left. The test is a subreaper while the runtime runs, so that
// whatever the runtime leaves unreaped comes to it.
func TestExecFailureLeavesNoZombie(t *testing.T) {
	e := newEnv(t)
	b := runningContainer(e, "xz")
	badPidFile := filepath.Join(e.dir, "nosuch", "pid")
	for _, detach := range []bool{false, true} {
		args := []string{"exec", "--pid-file", badPidFile, "xz", "sleep", "1234"}
		if detach {
			args = append([]string{"exec", "-d"}, args[1:]...)
		}
		var r result
		left := asSubreaper(t, func() { r = e.run(args...) })
		if r.Code != 255 || !strings.Contains(r.Stderr, "nosuch") {
			t.Errorf("%v: %s", args, r)
		}
		for _, p := range left {
			t.Errorf("%v left %s", args, p)
		}
		for _, p := range processesUnder(nil, []string{b.Cgroup}) {
			if strings.Contains(p, "1234") {
				t.Errorf("%v left %s in the container", args, p)
			}
		}
	}
}

// asSubreaper runs f with this process as a child subreaper and returns
// the processes that became its children meanwhile (zombies included),
// which it reaps.
func asSubreaper(t *testing.T, f func()) []string {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	f()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	var left []string
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[i+1:])
		if len(f) < 2 || f[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		left = append(left, fmt.Sprintf("%s (state %s)", s[:i+1], f[0]))
		unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
	}
	return left
}

// A slice option's value is never split on commas, as runc: -e
// NO_PROXY=a,b is one variable, --cap A,B one (unknown) capability, which
// is warned about and left out, --cgroup cpu,cpuacct:sub names the
// controllers of one sub-cgroup, and -g 1,2 is not a gid.
func TestExecSliceOptionsKeepCommas(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "commas")
	r := e.ok("exec", "-e", "NO_PROXY=a,b,c", "-e", "X=1", "commas", "sh", "-c", `echo "$NO_PROXY|$X"`)
	if got := strings.TrimSpace(r.Stdout); got != "a,b,c|1" {
		t.Errorf("exec -e NO_PROXY=a,b,c: %q", got)
	}

	r = e.ok("exec", "--cap", "CAP_SYS_ADMIN,CAP_NET_ADMIN", "commas", "grep", "^CapEff", "/proc/self/status")
	if statusFields(r.Stdout)["CapEff"] != "0000000020000420" {
		t.Errorf("--cap CAP_SYS_ADMIN,CAP_NET_ADMIN raised something: %q", r.Stdout)
	}
	if !strings.Contains(r.Stderr, `level=warning msg="ignoring unknown or unavailable capabilities: [CAP_SYS_ADMIN,CAP_NET_ADMIN]"`) {
		t.Errorf("--cap CAP_SYS_ADMIN,CAP_NET_ADMIN: no warning about one unknown capability: %q", r.Stderr)
	}

	r = e.run("exec", "-g", "1,2", "commas", "id")
	if r.Code != 1 || !strings.Contains(r.Stderr, `invalid value \"1,2\" for flag -g`) {
		t.Errorf("exec -g 1,2: %s", r)
	}

	if unifiedHost() {
		return // one hierarchy: no controllers of their own to name
	}
	pid := e.state("commas").PID
	var made []string
	for _, ctrl := range []string{"cpu.shares", "cpuacct.usage"} {
		dir := filepath.Join(containerCgroupDir(t, pid, ctrl), "sub")
		if err := os.Mkdir(dir, 0o755); err == nil {
			made = append(made, dir)
		}
	}
	t.Cleanup(func() {
		for _, d := range made {
			os.Remove(d)
		}
	})
	r = e.ok("exec", "--cgroup", "cpu,cpuacct:sub", "commas", "cat", "/proc/self/cgroup")
	n := 0
	for _, l := range lines(r.Stdout) {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 {
			continue
		}
		ctrls := strings.Split(f[1], ",")
		want := contains(ctrls, "cpu") || contains(ctrls, "cpuacct")
		if got := strings.HasSuffix(f[2], "/sub"); got != want {
			t.Errorf("exec --cgroup cpu,cpuacct:sub: %q", l)
		}
		if want {
			n++
		}
	}
	if n == 0 {
		t.Errorf("exec --cgroup cpu,cpuacct:sub: no cpu or cpuacct line in %q", r.Stdout)
	}
}

// exec --cap X also raises X in ambient when the config has an inheritable
// list, as runc does; an ambient capability that cannot be raised (not
// inheritable) is a warning in the runtime's log, for the init (run) and
// for exec, not an error.
func TestExecCapAmbient(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "amb", withSpec(func(s *specs.Spec) {
		c := s.Process.Capabilities
		c.Bounding = append(c.Bounding, "CAP_SYS_ADMIN", "CAP_SYS_PTRACE")
		c.Inheritable = []string{"CAP_KILL", "CAP_SYS_ADMIN"}
		c.Ambient = []string{"CAP_KILL", "CAP_NET_RAW"}
	}))
	const (
		kill     = 1 << 5
		sysAdmin = 1 << 21
		ptrace   = 1 << 19
	)
	amb := func(out string) uint64 {
		v, err := strconv.ParseUint(statusFields(out)["CapAmb"], 16, 64)
		if err != nil {
			t.Fatalf("no CapAmb in %q", out)
		}
		return v
	}
	r := e.ok("exec", "amb", "grep", "^CapAmb", "/proc/self/status")
	if got := amb(r.Stdout); got != kill {
		t.Errorf("exec: CapAmb %x, want CAP_KILL only", got)
	}
	if !strings.Contains(r.Stderr, "can't raise ambient capability CAP_NET_RAW") {
		t.Errorf("exec: no warning about CAP_NET_RAW (ambient, not inheritable): %q", r.Stderr)
	}
	r = e.ok("exec", "--cap", "CAP_SYS_ADMIN", "amb", "grep", "^CapAmb", "/proc/self/status")
	if got := amb(r.Stdout); got != kill|sysAdmin {
		t.Errorf("exec --cap CAP_SYS_ADMIN: CapAmb %x, want CAP_KILL and CAP_SYS_ADMIN (%x)", got, kill|sysAdmin)
	}
	// Not inheritable: raised in the other sets, warned about for ambient,
	// in the --log file when there is one.
	logFile := filepath.Join(e.dir, "log.json")
	r = e.ok("--log", logFile, "--log-format", "json", "exec", "--cap", "CAP_SYS_PTRACE", "amb", "grep", "^Cap", "/proc/self/status")
	st := statusFields(r.Stdout)
	if got := amb(r.Stdout); got != kill {
		t.Errorf("exec --cap CAP_SYS_PTRACE: CapAmb %x, want CAP_KILL only", got)
	}
	if eff, _ := strconv.ParseUint(st["CapEff"], 16, 64); eff&ptrace == 0 {
		t.Errorf("exec --cap CAP_SYS_PTRACE: CapEff %s lacks it", st["CapEff"])
	}
	log, _ := os.ReadFile(logFile)
	var warned []string
	for _, l := range lines(string(log)) {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) == nil && rec["level"] == "warning" {
			warned = append(warned, fmt.Sprint(rec["msg"]))
		}
	}
	for _, c := range []string{"CAP_NET_RAW", "CAP_SYS_PTRACE"} {
		if !contains(warned, "can't raise ambient capability "+c+": operation not permitted") {
			t.Errorf("--log has no warning about ambient %s: %q", c, warned)
		}
	}
	// The init warns too, for run.
	b2 := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
		s.Process.Capabilities.Ambient = []string{"CAP_KILL"}
	}))
	r = e.runFG(b2, "ambinit")
	if r.Code != 0 || !strings.Contains(r.Stderr, "level=warning") || !strings.Contains(r.Stderr, "can't raise ambient capability CAP_KILL: operation not permitted") {
		t.Errorf("run with ambient CAP_KILL not inheritable: %s", r)
	}
	// Without an inheritable list exec --cap leaves ambient alone, quietly.
	runningContainer(e, "noinh")
	r = e.ok("exec", "--cap", "CAP_SYS_ADMIN", "noinh", "grep", "^CapAmb", "/proc/self/status")
	if got := amb(r.Stdout); got != 0 || r.Stderr != "" {
		t.Errorf("exec --cap without an inheritable list: CapAmb %x, stderr %q", got, r.Stderr)
	}
}
