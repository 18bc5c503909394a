package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// --no-pivot: the container still gets its rootfs as "/", through a move
// mount and chroot instead of pivot_root.
func TestRunNoPivot(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withShell("test -x /bin/busybox && test ! -e /bin/husk-test-marker && grep -q ' / ' /proc/self/mountinfo && echo rooted"))
	r := e.runFG(b, "nopivot", "--no-pivot")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "rooted" {
		t.Fatalf("--no-pivot run: %s", r)
	}
}

// --preserve-fds N hands the caller's fds 3..3+N-1 to the workload, and
// nothing else above stdio.
func TestRunPreserveFds(t *testing.T) {
	e := newEnv(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	b := e.newBundle(withShell(`echo through-fd3 >&3; ls /proc/self/fd`))
	e.track("preserve")
	r := e.runOpts(invokeOpts{extraFiles: []*os.File{pw}},
		"run", "--bundle", b.Dir, "--preserve-fds", "1", "preserve")
	pw.Close()
	if r.Code != 0 {
		t.Fatalf("run: %s", r)
	}
	buf := make([]byte, 64)
	n, _ := pr.Read(buf)
	if got := strings.TrimSpace(string(buf[:n])); got != "through-fd3" {
		t.Errorf("read %q from the preserved pipe", got)
	}
	// ls opens one more fd (its directory) itself: 0 1 2 3 and that one.
	fds := strings.Fields(r.Stdout)
	if len(fds) != 5 || fds[3] != "3" {
		t.Errorf("workload fds %v, want stdio, 3 and ls's own", fds)
	}
}

// An fd the caller leaks to the runtime (not close-on-exec, not preserved)
// must reach neither the workload nor the waiting init.
func TestLeakedCallerFdDoesNotReachContainer(t *testing.T) {
	e := newEnv(t)
	leak, err := os.Open("/etc/hostname")
	if err != nil {
		t.Fatal(err)
	}
	defer leak.Close()
	var leakSt syscall.Stat_t
	if err := syscall.Fstat(int(leak.Fd()), &leakSt); err != nil {
		t.Fatal(err)
	}
	b := e.newBundle(withShell("ls /proc/self/fd; sleep 100"), withOut())
	e.track("leak")
	e.runOpts(invokeOpts{extraFiles: []*os.File{leak}}, "create", "--bundle", b.Dir, "leak")
	pid := e.state("leak").PID
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range ents {
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+strconv.Itoa(pid)+"/fd/"+ent.Name(), &st) == nil &&
			st.Dev == leakSt.Dev && st.Ino == leakSt.Ino {
			t.Errorf("the created container's init holds the caller's leaked fd as fd %s", ent.Name())
		}
	}
}

// Foreground run relays signals it receives to the workload.
func TestRunForwardsSignals(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withOut(), withShell(`trap 'echo got-usr1 >/out/sig; exit 7' USR1; touch /out/ready; while true; do sleep 0.1; done`))
	started := make(chan int, 1)
	done := make(chan result, 1)
	e.track("fwd")
	go func() {
		done <- invoke(invokeOpts{started: started}, "--root", e.root, "run", "--bundle", b.Dir, "fwd")
	}()
	runPid := <-started
	waitFile(t, b.outFile("ready"))
	if err := syscall.Kill(runPid, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.Code != 7 {
		t.Fatalf("run after SIGUSR1: %s", r)
	}
	got, _ := os.ReadFile(b.outFile("sig"))
	if strings.TrimSpace(string(got)) != "got-usr1" {
		t.Errorf("workload did not see SIGUSR1: %q", got)
	}
}

// A missing process.cwd is created inside the rootfs, even with a
// read-only root, as runc does.
func TestMissingCwdIsCreated(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withPrivateRootfs(), withShell("pwd"), withSpec(func(s *specs.Spec) {
		s.Process.Cwd = "/work/dir"
	}))
	r := e.runFG(b, "cwd")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "/work/dir" {
		t.Fatalf("run: %s", r)
	}
	if fi, err := os.Stat(filepath.Join(b.Rootfs, "work/dir")); err != nil || !fi.IsDir() {
		t.Errorf("cwd not created in the rootfs: %v", err)
	}
}

// A user namespace with mappings: the workload is root inside, an
// unprivileged id outside.
func TestUserNamespaceMappings(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withOut(), withShell("id -u; cat /proc/self/uid_map; touch /out/owned"), withSpec(func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}
	}))
	r := e.runFG(b, "userns")
	if r.Code != 0 {
		t.Fatalf("run: %s", r)
	}
	l := lines(r.Stdout)
	if len(l) != 2 || l[0] != "0" || strings.Join(strings.Fields(l[1]), " ") != "0 200000 65536" {
		t.Errorf("inside the user namespace: %q", r.Stdout)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(b.outFile("owned"), &st); err != nil || st.Uid != 200000 {
		t.Errorf("file made by container root is owned by host uid %d (%v), want 200000", st.Uid, err)
	}
}

// A session keyring of the container's own, unless --no-new-keyring.
func TestSessionKeyring(t *testing.T) {
	e := newEnv(t)
	host, err := os.ReadFile("/proc/self/stat")
	if err != nil || len(host) == 0 {
		t.Skip("no /proc")
	}
	if _, err := os.Stat("/proc/keys"); err != nil {
		t.Skip("kernel without /proc/keys")
	}
	// /proc/keys is masked in the default config; unmask it for the test.
	unmask := withSpec(func(s *specs.Spec) {
		var kept []string
		for _, p := range s.Linux.MaskedPaths {
			if p != "/proc/keys" {
				kept = append(kept, p)
			}
		}
		s.Linux.MaskedPaths = kept
	})
	b := e.newBundle(withShell("grep -c '_ses.keyring' /proc/keys || true"), unmask)
	r := e.runFG(b, "keyring")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) == "0" {
		t.Errorf("no session keyring named after the container: %s", r)
	}
	b2 := e.newBundle(withShell("grep -c '_ses.nokeyring' /proc/keys || true"), unmask)
	r = e.runFG(b2, "nokeyring", "--no-new-keyring")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "0" {
		t.Errorf("--no-new-keyring still made a keyring: %s", r)
	}
}

// Many bind mounts (each source handed to the init as an fd) together with
// preserved fds: every mount lands where it should and fd 3 is still the
// caller's.
func TestManyBindMountsWithPreservedFds(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	var script strings.Builder
	b := e.newBundle(withSpec(func(s *specs.Spec) {
		for i := 0; i < 24; i++ {
			name := "f" + strconv.Itoa(i)
			if err := os.WriteFile(filepath.Join(src, name), []byte(name), 0o644); err != nil {
				t.Fatal(err)
			}
			s.Mounts = append(s.Mounts, specs.Mount{
				Destination: "/binds/" + name, Type: "bind", Source: filepath.Join(src, name), Options: []string{"bind", "ro"},
			})
			script.WriteString("cat /binds/" + name + "; echo; ")
		}
		script.WriteString("echo fd3 >&3")
		s.Process.Args = []string{"sh", "-c", script.String()}
	}), withPrivateRootfs())
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	e.track("binds")
	r := e.runOpts(invokeOpts{extraFiles: []*os.File{pw}}, "run", "--bundle", b.Dir, "--preserve-fds", "1", "binds")
	pw.Close()
	if r.Code != 0 {
		t.Fatalf("run: %s", r)
	}
	got := lines(r.Stdout)
	if len(got) != 24 || got[0] != "f0" || got[23] != "f23" {
		t.Errorf("bind mounts show %q", got)
	}
	buf := make([]byte, 16)
	if n, _ := pr.Read(buf); strings.TrimSpace(string(buf[:n])) != "fd3" {
		t.Errorf("fd 3 got %q", buf[:n])
	}
}

// run --no-subreaper still returns the workload's exit code, also when the
// init is forked by the C stage (a user namespace comes first).
func TestRunNoSubreaperExitCode(t *testing.T) {
	e := newEnv(t)
	plain := e.newBundle(withShell("exit 9"))
	if r := e.runFG(plain, "nosub1", "--no-subreaper"); r.Code != 9 {
		t.Errorf("--no-subreaper: %s", r)
	}
	userns := e.newBundle(withShell("exit 11"), withSpec(func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}
	}))
	if r := e.runFG(userns, "nosub2", "--no-subreaper"); r.Code != 11 {
		t.Errorf("--no-subreaper with a user namespace: %s", r)
	}
}
