package integration

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// CVE-2019-5736: while a created container's init runs the runtime's own
// code, a container process could open /proc/<init>/exe and write through
// it to the host's runtime binary. The init must run from a copy or view
// that cannot be written.
func TestInitBinaryCannotBeWritten(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	e.create(b, "sealed")
	pid := e.state("sealed").PID
	exe := "/proc/" + strconv.Itoa(pid) + "/exe"
	f, err := os.OpenFile(exe, os.O_WRONLY, 0)
	if err == nil {
		f.Close()
		t.Fatalf("opened %s for writing: the runtime binary is exposed", exe)
	}
	if !errors.Is(err, syscall.EROFS) && !errors.Is(err, syscall.ETXTBSY) && !errors.Is(err, syscall.EPERM) {
		t.Errorf("open %s for writing: %v, want EROFS/ETXTBSY/EPERM", exe, err)
	}
	// And it is not the host file itself.
	var host, init syscall.Stat_t
	if err := syscall.Stat(runtimeBin, &host); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Stat(exe, &init); err != nil {
		t.Fatal(err)
	}
	if isHusk() && host.Dev == init.Dev && host.Ino == init.Ino {
		t.Errorf("the init executes the host's husk binary itself")
	}
}

// The workload's fds are exactly stdio (ls adds its own directory fd).
func TestWorkloadFdsAreOnlyStdio(t *testing.T) {
	e := newEnv(t)
	r := e.runFG(e.newBundle(withArgs("ls", "/proc/self/fd")), "fds")
	if r.Code != 0 {
		t.Fatal(r)
	}
	if got := lines(r.Stdout); len(got) != 4 || got[0] != "0" || got[1] != "1" || got[2] != "2" {
		t.Errorf("workload fds %q, want 0 1 2 and ls's own", got)
	}
}

// After chdir the workload's cwd is inside its root (CVE-2024-21626 checks
// getcwd): /proc/self/cwd resolves to the configured directory.
func TestCwdIsInsideRoot(t *testing.T) {
	e := newEnv(t)
	r := e.runFG(e.newBundle(withArgs("readlink", "/proc/self/cwd")), "cwdroot")
	if r.Code != 0 || r.Stdout != "/\n" {
		t.Errorf("cwd as the kernel sees it: %s", r)
	}
}

// An AppArmor profile or SELinux label the host cannot apply is refused
// (husk names the field; runc 1.5.3 says what it could not do); a mount
// label without SELinux is not applied (as crun).
func TestLSMOnHostWithout(t *testing.T) {
	e := newEnv(t)
	if exists("/sys/fs/selinux/enforce") {
		t.Skip("this host has SELinux")
	}
	apparmor, _ := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	for i, c := range []struct {
		field, runc string
		mutate      func(s *specs.Spec)
	}{
		// runc writes the profile and the kernel refuses it.
		{"process.apparmorProfile", "unable to apply apparmor profile", func(s *specs.Spec) { s.Process.ApparmorProfile = "husk-test" }},
		{"process.selinuxLabel", "selinux label is specified in config, but selinux is disabled or not supported", func(s *specs.Spec) {
			s.Process.SelinuxLabel = "system_u:system_r:container_t:s0"
		}},
	} {
		if c.field == "process.apparmorProfile" && strings.HasPrefix(string(apparmor), "Y") {
			continue
		}
		b := e.newBundle(withArgs("true"), withSpec(c.mutate))
		id := fmt.Sprintf("lsm%d", i)
		e.track(id)
		e.failsWith(huskOrRunc(c.field, c.runc), "run", "--bundle", b.Dir, id)
		e.assertNoTrace(b, id)
	}
	runningContainer(e, "lsmexec")
	want := huskOrRunc("selinuxLabel: SELinux is not enabled on this host", "selinux label is specified in config, but selinux is disabled or not supported")
	if r := e.run("exec", "--process-label", "x_u:x_r:x_t:s0", "lsmexec", "true"); r.Code != 255 || !strings.Contains(errText(r), want) {
		t.Errorf("exec --process-label: %s, want exit 255 and %q", r, want)
	}
	if isRunc() {
		t.Skip("runc 1.5.3 passes linux.mountLabel to the mounts as context=, which a kernel without SELinux refuses (EINVAL)")
	}
	out := e.output("echo ran", withSpec(func(s *specs.Spec) { s.Linux.MountLabel = "system_u:object_r:container_file_t:s0" }))
	if strings.TrimSpace(out) != "ran" {
		t.Errorf("mountLabel without SELinux: %q", out)
	}
}
