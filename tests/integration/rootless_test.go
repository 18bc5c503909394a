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
	bin string // the runtime, copied where the user can reach it
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
	// The binary under test may sit in a directory only root can enter
	// (a CI checkout under /root): the user runs a copy.
	bin := filepath.Join(suiteDir, "rootless-bin", filepath.Base(runtimeBin))
	if _, err := os.Stat(bin); err != nil {
		data, err := os.ReadFile(runtimeBin)
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(bin), 0o755)
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &rootlessEnv{t: t, e: e, xdg: xdg, bin: bin}
}

func (r *rootlessEnv) run(args ...string) result {
	r.t.Helper()
	res := invoke(invokeOpts{
		bin:  r.bin,
		cred: &syscall.Credential{Uid: testUID, Gid: testGID},
		env:  []string{"XDG_RUNTIME_DIR=" + r.xdg},
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
		// runc 1.1.5 has no ps or kill --all without a cgroup.
		r.ok("kill", "rl", "KILL")
	} else {
		var pids []int
		if err := json.Unmarshal([]byte(r.ok("ps", "--format", "json", "rl").Stdout), &pids); err != nil || len(pids) == 0 || pids[0] != st.PID {
			t.Errorf("ps: %v %v", pids, err)
		}
		r.ok("kill", "--all", "rl", "KILL")
	}
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
