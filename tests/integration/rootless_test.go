package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// rootlessEnv runs the runtime as the unprivileged testUID, with
// XDG_RUNTIME_DIR a directory of its own and no --root: the state goes
// under $XDG_RUNTIME_DIR/<runtime>.
type rootlessEnv struct {
	t   *testing.T
	e   *env
	xdg string
	bin string   // the runtime, copied where the user can reach it
	env []string // more environment for the runtime
}

func newRootlessEnv(t *testing.T) *rootlessEnv {
	e := newEnv(t)
	xdg := filepath.Join(e.dir, "xdg")
	if err := os.Mkdir(xdg, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(xdg, testUID, testGID); err != nil {
		t.Fatal(err)
	}
	// The unprivileged user must reach the bundles and the binary.
	for d := e.dir; d != "/" && d != filepath.Dir(suiteDir); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	return &rootlessEnv{t: t, e: e, xdg: xdg, bin: userCopy(t, runtimeBin)}
}

func (r *rootlessEnv) run(args ...string) result {
	r.t.Helper()
	res := invoke(invokeOpts{
		bin:  r.bin,
		cred: &syscall.Credential{Uid: testUID, Gid: testGID},
		env:  append([]string{"XDG_RUNTIME_DIR=" + r.xdg}, r.env...),
	}, args...)
	if res.TimedOut || res.Err != nil {
		r.t.Fatalf("runtime: %s", res)
	}
	return res
}

func (r *rootlessEnv) ok(args ...string) result {
	r.t.Helper()
	res := r.run(args...)
	if res.Code != 0 {
		r.t.Fatalf("expected success: %s", res)
	}
	return res
}

// track deletes the container as the user when the test ends.
func (r *rootlessEnv) track(id string) {
	r.t.Cleanup(func() { r.run("delete", "--force", id) })
}

// bundle writes a `spec --rootless` bundle over the shared rootfs.
func (r *rootlessEnv) bundle(args []string, f func(s *specs.Spec)) string {
	r.t.Helper()
	b := r.e.newBundle(withArgs(args...), withSpec(func(s *specs.Spec) {
		s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace},
			{Type: specs.UTSNamespace}, {Type: specs.MountNamespace}, {Type: specs.UserNamespace}}
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: testUID, Size: 1}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: testGID, Size: 1}}
		s.Linux.Resources = nil
		s.Linux.CgroupsPath = ""
		var mounts []specs.Mount
		for _, m := range s.Mounts {
			switch m.Destination {
			case "/sys":
				m = specs.Mount{Destination: "/sys", Type: "none", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
			case "/dev/pts":
				m.Options = []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}
			case "/sys/fs/cgroup":
				continue
			}
			mounts = append(mounts, m)
		}
		s.Mounts = mounts
		if f != nil {
			f(s)
		}
	}))
	return b.Dir
}

// An unprivileged user runs a container: root inside is the user outside,
// the state lives under $XDG_RUNTIME_DIR, and exec, ps, kill --all and
// delete work without a cgroup of its own.
func TestRootlessLifecycle(t *testing.T) {
	r := newRootlessEnv(t)
	dir := r.bundle([]string{"sleep", "100"}, nil)
	r.track("rl")
	r.ok("run", "--detach", "--bundle", dir, "rl")
	name := filepath.Base(runtimeBin)
	if _, err := os.Stat(filepath.Join(r.xdg, name, "rl", "state.json")); err != nil {
		t.Errorf("no state under $XDG_RUNTIME_DIR/%s: %v", name, err)
	}
	var st containerState
	if err := json.Unmarshal([]byte(r.ok("state", "rl").Stdout), &st); err != nil || st.Status != "running" {
		t.Fatalf("state: %v %+v", err, st)
	}
	out := r.ok("exec", "rl", "sh", "-c", "id -u; cat /proc/self/uid_map").Stdout
	if l := lines(out); len(l) != 2 || l[0] != "0" || strings.Join(strings.Fields(l[1]), " ") != fmt.Sprintf("0 %d 1", testUID) {
		t.Errorf("inside: %q", out)
	}
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", st.PID)); err != nil || !strings.Contains(string(data), fmt.Sprintf("Uid:\t%d\t", testUID)) {
		t.Errorf("the workload does not run as %d on the host", testUID)
	}
	if l := r.ok("list", "-q").Stdout; strings.TrimSpace(l) != "rl" {
		t.Errorf("list -q: %q", l)
	}
	if isRunc() {
		// runc 1.5.3 lists a container's processes from its cgroup only,
		// and this one has none.
		if res := r.run("ps", "--format", "json", "rl"); res.Code != 1 || !strings.Contains(res.Stderr, "unable to get all container pids") {
			t.Errorf("runc ps of a container without a cgroup: %s", res)
		}
	} else {
		var pids []int
		if err := json.Unmarshal([]byte(r.ok("ps", "--format", "json", "rl").Stdout), &pids); err != nil || len(pids) == 0 || pids[0] != st.PID {
			t.Errorf("ps: %v %v", pids, err)
		}
	}
	r.ok("kill", "--all", "rl", "KILL")
	waitProcGone(t, st.PID)
	r.ok("delete", "rl")
	if _, err := os.Stat(filepath.Join(r.xdg, name, "rl")); !os.IsNotExist(err) {
		t.Errorf("state dir left: %v", err)
	}
}

// Limits need a cgroup the user may write: without one (this host does
// not delegate), create fails cleanly.
func TestRootlessLimitsNeedACgroup(t *testing.T) {
	if unifiedHost() {
		t.Skip("cgroup v2 may delegate a subtree to the user")
	}
	r := newRootlessEnv(t)
	dir := r.bundle([]string{"true"}, func(s *specs.Spec) {
		s.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptrI64(10)}}
		s.Linux.CgroupsPath = "/husk-rootless-test"
	})
	r.track("rllim")
	res := r.run("run", "--bundle", dir, "rllim")
	if res.Code == 0 || !strings.Contains(res.Stderr, "cgroup") {
		t.Errorf("rootless limits without a writable cgroup: %s", res)
	}
	if ents, _ := os.ReadDir(filepath.Join(r.xdg, filepath.Base(runtimeBin))); len(ents) != 0 {
		t.Errorf("state left behind: %v", ents)
	}
}

// Mapping more than the user's own id goes through newuidmap/newgidmap,
// with ranges from /etc/subuid and /etc/subgid; without them, the error
// says what is missing.
func TestRootlessSubordinateIDs(t *testing.T) {
	r := newRootlessEnv(t)
	dir := r.bundle([]string{"sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map"}, func(s *specs.Spec) {
		s.Linux.UIDMappings = append(s.Linux.UIDMappings, specs.LinuxIDMapping{ContainerID: 1, HostID: 300000, Size: 1000})
		s.Linux.GIDMappings = append(s.Linux.GIDMappings, specs.LinuxIDMapping{ContainerID: 1, HostID: 300000, Size: 1000})
	})
	_, helperErr := exec.LookPath("newuidmap")
	_, userErr := exec.Command("getent", "passwd", fmt.Sprint(testUID)).Output()
	if helperErr != nil || userErr != nil {
		r.track("rlsub0")
		res := r.run("run", "--bundle", dir, "rlsub0")
		if res.Code == 0 {
			t.Fatalf("mapping subordinate ids without newuidmap succeeded: %s", res)
		}
		if isHusk() && !strings.Contains(res.Stderr, "uidMappings") {
			t.Errorf("error does not name the field: %s", res.Stderr)
		}
		t.Skip("no newuidmap or no passwd entry for the test user: only the error path is tested")
	}
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		old, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if old == nil {
				os.Remove(f)
			} else {
				os.WriteFile(f, old, 0o644)
			}
		})
		if err := os.WriteFile(f, append(old, []byte(fmt.Sprintf("%d:300000:1000\n", testUID))...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.track("rlsub")
	res := r.ok("run", "--bundle", dir, "rlsub")
	got := strings.Join(strings.Fields(res.Stdout), " ")
	want := fmt.Sprintf("0 %d 1 1 300000 1000 0 %d 1 1 300000 1000", testUID, testGID)
	if got != want {
		t.Errorf("maps: %q, want %q", got, want)
	}
}

// userManager makes sure the systemd user instance of testUID runs (the
// systemd guest of tests/vm lingers that user; elsewhere this starts it)
// and returns the address of its session bus and its cgroup path. The
// test skips, saying why, where there is none.
func userManager(t *testing.T) (bus, cgroup string) {
	t.Helper()
	if !systemdCgroup {
		t.Skip("needs HUSK_TEST_SYSTEMD=1 (a systemd host)")
	}
	unit := fmt.Sprintf("user@%d.service", testUID)
	if out, err := exec.Command("systemctl", "start", unit).CombinedOutput(); err != nil {
		t.Skipf("no user manager for uid %d: systemctl start %s: %v: %s", testUID, unit, err, out)
	}
	sock := fmt.Sprintf("/run/user/%d/bus", testUID)
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Type() != os.ModeSocket {
		t.Skipf("the user manager of uid %d has no session bus %s (package dbus-user-session): %v", testUID, sock, err)
	}
	out, err := exec.Command("systemctl", "show", "--value", "-p", "ControlGroup", unit).Output()
	cgroup = strings.TrimSpace(string(out))
	if err != nil || !strings.HasPrefix(cgroup, "/") {
		t.Fatalf("the cgroup of %s: %q %v", unit, cgroup, err)
	}
	return "unix:path=" + sock, cgroup
}

// userUnit reads properties of a unit of testUID's systemd instance, as
// that user: name → value.
func userUnit(t *testing.T, bus, unit string, props ...string) map[string]string {
	t.Helper()
	cmd := exec.Command("systemctl", "--user", "show", unit, "-p", strings.Join(props, ","))
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+bus, fmt.Sprintf("XDG_RUNTIME_DIR=/run/user/%d", testUID))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: testUID, Gid: testGID}}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("systemctl --user show %s: %v", unit, err)
	}
	m := map[string]string{}
	for _, l := range lines(string(out)) {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m
}

// gone reports whether the user's instance has forgotten unit (or keeps
// it only as inactive).
func userUnitGone(t *testing.T, bus, unit string) bool {
	p := userUnit(t, bus, unit, "LoadState", "ActiveState")
	return p["LoadState"] == "not-found" || p["ActiveState"] == "inactive"
}

// Rootless with --systemd-cgroup: the container's scope is started by the
// user's own systemd instance, under its cgroup, delegated, with the
// limits as unit properties and in the cgroup; exec joins it, kill and
// delete work, and delete takes the unit and its cgroup away.
func TestRootlessSystemdCgroup(t *testing.T) {
	bus, mcg := userManager(t)
	r := newRootlessEnv(t)
	r.env = []string{"DBUS_SESSION_BUS_ADDRESS=" + bus}
	id := fmt.Sprintf("rlsd%d", os.Getpid())
	dir := r.bundle([]string{"sleep", "100"}, func(s *specs.Spec) {
		s.Linux.Resources = &specs.LinuxResources{
			Memory: &specs.LinuxMemory{Limit: ptrI64(64 << 20)},
			Pids:   &specs.LinuxPids{Limit: ptrI64(20)},
		}
	})
	r.t.Cleanup(func() { r.run("--systemd-cgroup", "delete", "--force", id) })
	r.ok("--systemd-cgroup", "run", "--detach", "--bundle", dir, id)
	var st containerState
	if err := json.Unmarshal([]byte(r.ok("--systemd-cgroup", "state", id).Stdout), &st); err != nil || st.Status != "running" {
		t.Fatalf("state: %v %+v", err, st)
	}
	// The default cgroupsPath of a rootless container: user.slice:<name>:<id>.
	unit := fmt.Sprintf("%s-%s.scope", filepath.Base(runtimeBin), id)
	wantCg := mcg + "/user.slice/" + unit
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", st.PID))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(data)); got != "0::"+wantCg {
		t.Errorf("the container's cgroup: %q, want 0::%s (in the user manager's %s)", got, wantCg, mcg)
	}
	props := userUnit(t, bus, unit, "ActiveState", "ControlGroup", "Delegate", "MemoryMax", "TasksMax")
	want := map[string]string{"ActiveState": "active", "ControlGroup": wantCg, "Delegate": "yes",
		"MemoryMax": fmt.Sprint(64 << 20), "TasksMax": "20"}
	for k, v := range want {
		if props[k] != v {
			t.Errorf("%s in the user manager: %s=%q, want %q", unit, k, props[k], v)
		}
	}
	cgDir := containerCgroupDir(t, st.PID, "memory.max")
	for file, v := range map[string]string{"memory.max": fmt.Sprint(64 << 20), "pids.max": "20"} {
		if got, err := os.ReadFile(filepath.Join(cgDir, file)); err != nil || strings.TrimSpace(string(got)) != v {
			t.Errorf("%s/%s: %q %v, want %s", cgDir, file, got, err, v)
		}
	}
	// exec joins the scope (the user's instance moves it in: husk, run
	// from outside the user manager's tree, may not).
	if out := strings.TrimSpace(r.ok("--systemd-cgroup", "exec", id, "cat", "/proc/self/cgroup").Stdout); out != "0::"+wantCg {
		t.Errorf("exec'd process in cgroup %q, want 0::%s", out, wantCg)
	}
	r.ok("--systemd-cgroup", "kill", id, "KILL")
	waitProcGone(t, st.PID)
	r.ok("--systemd-cgroup", "delete", id)
	waitFor(t, unit+" gone from the user manager", func() bool { return userUnitGone(t, bus, unit) })
	if _, err := os.Stat(cgDir); !os.IsNotExist(err) {
		t.Errorf("cgroup %s left after delete: %v", cgDir, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(r.xdg, filepath.Base(runtimeBin))); len(ents) != 0 {
		t.Errorf("state left behind: %v", ents)
	}
}

// A resource whose controller the user's instance was not delegated
// (systemd 252's user@.service has cpu, memory and pids) is refused at
// create, naming the field, and nothing is left: no state, no unit, no
// cgroup.
func TestRootlessSystemdUndelegatedController(t *testing.T) {
	bus, mcg := userManager(t)
	avail, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", mcg, "cgroup.controllers"))
	if err != nil {
		t.Fatal(err)
	}
	have := " " + strings.TrimSpace(string(avail)) + " "
	var field string
	var res *specs.LinuxResources
	switch {
	case !strings.Contains(have, " cpuset "):
		field, res = "linux.resources.cpu.cpus", &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}}
	case !strings.Contains(have, " hugetlb "):
		field, res = "linux.resources.hugepageLimits", &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1 << 21}}}
	default:
		t.Skipf("the user manager has both cpuset and hugetlb (%s)", avail)
	}
	r := newRootlessEnv(t)
	r.env = []string{"DBUS_SESSION_BUS_ADDRESS=" + bus}
	id := fmt.Sprintf("rlsdu%d", os.Getpid())
	dir := r.bundle([]string{"true"}, func(s *specs.Spec) {
		s.Linux.Resources = res
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: ptrI64(64 << 20)}
	})
	r.t.Cleanup(func() { r.run("--systemd-cgroup", "delete", "--force", id) })
	out := r.run("--systemd-cgroup", "run", "--bundle", dir, id)
	if out.Code == 0 {
		t.Fatalf("a resource of an undelegated controller was accepted: %s", out)
	}
	t.Logf("the user manager has %q; refused: %s", strings.TrimSpace(string(avail)), strings.TrimSpace(out.Stderr))
	if isHusk() && (!strings.Contains(out.Stderr, field) || !strings.Contains(out.Stderr, "not delegated")) {
		t.Errorf("the error does not name %s and say it is not delegated: %s", field, out.Stderr)
	}
	unit := fmt.Sprintf("%s-%s.scope", filepath.Base(runtimeBin), id)
	if !userUnitGone(t, bus, unit) {
		t.Errorf("%s left in the user manager", unit)
	}
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", mcg, "user.slice", unit)); !os.IsNotExist(err) {
		t.Errorf("cgroup of %s left: %v", unit, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(r.xdg, filepath.Base(runtimeBin))); len(ents) != 0 {
		t.Errorf("state left behind: %v", ents)
	}
}

// Without a session bus to reach a user instance, rootless
// --systemd-cgroup fails, saying so, and leaves nothing behind.
func TestRootlessSystemdNoUserBus(t *testing.T) {
	if !systemdCgroup {
		t.Skip("needs HUSK_TEST_SYSTEMD=1 (a systemd host)")
	}
	r := newRootlessEnv(t)
	r.env = []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(r.xdg, "no-bus")}
	dir := r.bundle([]string{"true"}, nil)
	r.t.Cleanup(func() { r.run("--systemd-cgroup", "delete", "--force", "rlsdnobus") })
	out := r.run("--systemd-cgroup", "run", "--bundle", dir, "rlsdnobus")
	if out.Code == 0 {
		t.Fatalf("rootless --systemd-cgroup without a user bus succeeded: %s", out)
	}
	t.Logf("refused: %s", strings.TrimSpace(out.Stderr))
	if isHusk() && !strings.Contains(out.Stderr, "session bus") {
		t.Errorf("the error does not say the session bus is missing: %s", out.Stderr)
	}
	if ents, _ := os.ReadDir(filepath.Join(r.xdg, filepath.Base(runtimeBin))); len(ents) != 0 {
		t.Errorf("state left behind: %v", ents)
	}
}
