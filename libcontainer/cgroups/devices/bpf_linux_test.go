package devices

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// childEnv makes the test binary a probe: it tries each access its
// arguments name and prints one line per access, "ok" or the errno's name.
const childEnv = "HUSK_DEVICES_TEST_PROBE"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		probe(os.Args[1:])
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// probe runs "open:r|w|rw:path" and "mknod:c|b:major:minor:path".
func probe(args []string) {
	for _, a := range args {
		f := strings.Split(a, ":")
		var err error
		switch f[0] {
		case "open":
			flags := map[string]int{"r": unix.O_RDONLY, "w": unix.O_WRONLY, "rw": unix.O_RDWR}[f[1]]
			var fd int
			if fd, err = unix.Open(f[2], flags|unix.O_CLOEXEC|unix.O_NONBLOCK, 0); err == nil {
				unix.Close(fd)
			}
		case "mknod":
			var major, minor uint32
			fmt.Sscan(f[2], &major)
			fmt.Sscan(f[3], &minor)
			mode := uint32(unix.S_IFCHR)
			if f[1] == "b" {
				mode = unix.S_IFBLK
			}
			if err = unix.Mknod(f[4], mode|0o600, int(unix.Mkdev(major, minor))); err == nil {
				os.Remove(f[4])
			}
		default:
			err = errors.New("bad probe " + a)
		}
		var errno unix.Errno
		switch {
		case err == nil:
			fmt.Println("ok")
		case errors.As(err, &errno):
			fmt.Println(unix.ErrnoName(errno))
		default:
			fmt.Println(err)
		}
	}
}

// cgroup2Mount returns where a cgroup2 filesystem is mounted: /sys/fs/cgroup
// on a unified host, /sys/fs/cgroup/unified on a hybrid one.
func cgroup2Mount(t *testing.T) string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		// id parent maj:min root mountpoint opts [optional...] - fstype source superopts
		pre, post, ok := strings.Cut(s.Text(), " - ")
		if fields := strings.Fields(pre); ok && len(fields) >= 5 && strings.HasPrefix(post, "cgroup2 ") && fields[3] == "/" {
			return fields[4]
		}
	}
	t.Skip("no cgroup2 filesystem mounted (at its root) in this mount namespace")
	return ""
}

// testCgroup makes a cgroup v2 directory of the test's own and removes it
// at the end. It returns its path and an O_PATH fd for CLONE_INTO_CGROUP.
func testCgroup(t *testing.T) (string, int) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: bpf(2) device programs and cgroup directories")
	}
	dir := filepath.Join(cgroup2Mount(t), fmt.Sprintf("husk-devices-test-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot make a cgroup v2 directory: %v", err)
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		os.Remove(dir)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Close(fd)
		// A cgroup whose last process was just reaped can be busy briefly.
		for i := 0; ; i++ {
			err := unix.Rmdir(dir)
			if err == nil || errors.Is(err, unix.ENOENT) {
				return
			}
			if !errors.Is(err, unix.EBUSY) || i == 50 {
				t.Errorf("remove %s: %v", dir, err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	return dir, fd
}

// probeIn runs the probes in a child born in the cgroup and returns its
// answers, one per probe.
func probeIn(t *testing.T, cgroupFd int, probes ...string) []string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, probes...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cgroupFd}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("probe %v: %v\n%s", probes, err, out)
	}
	got := strings.Fields(string(out))
	if len(got) != len(probes) {
		t.Fatalf("probe %v: %q", probes, out)
	}
	return got
}

func attached(t *testing.T, dir string) []uint32 {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	ids, err := attachedPrograms(fd)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestApplyKernel applies filters to a real cgroup and checks what a
// process in it may open and mknod, and that each Apply replaces the
// filter before it.
func TestApplyKernel(t *testing.T) {
	dir, cgFd := testCgroup(t)
	tmp := t.TempDir()
	probes := []string{
		"open:r:/dev/null", "open:rw:/dev/null", "open:w:/dev/null",
		"open:r:/dev/zero",
		"mknod:c:1:3:" + tmp + "/null", "mknod:c:1:5:" + tmp + "/zero", "mknod:b:7:0:" + tmp + "/loop",
	}
	steps := []struct {
		name  string
		rules []configs.DeviceRule
		want  string
	}{
		{
			"no filter yet", nil,
			"ok ok ok ok ok ok ok",
		},
		{
			"allowlist: /dev/null rw, mknod of /dev/zero", rules("deny a", "allow c 1:3 rw", "allow c 1:5 m"),
			"ok ok ok EPERM EPERM ok EPERM",
		},
		{
			// O_RDWR is denied when only writes are: v1's partial match.
			"denylist: writes to /dev/null, mknod of block devices", rules("allow a", "deny c 1:3 w", "deny b *:* m"),
			"ok EPERM EPERM ok ok ok EPERM",
		},
		{
			"the defaults", defaultRules,
			"ok ok ok ok ok ok ok",
		},
		{
			"the defaults after a deny-all", append(rules("allow c 1:5 r", "deny a"), defaultRules...),
			"ok ok ok ok ok ok ok",
		},
		{
			"nothing", rules("deny a"),
			"EPERM EPERM EPERM EPERM EPERM EPERM EPERM",
		},
		{
			"allow all", rules("allow a"),
			"ok ok ok ok ok ok ok",
		},
	}
	var before []uint32
	for i, step := range steps {
		if i > 0 {
			if err := Apply(dir, step.rules); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			ids := attached(t, dir)
			if len(ids) != 1 {
				t.Fatalf("%s: programs attached after Apply: %v, want one", step.name, ids)
			}
			for _, id := range before {
				if ids[0] == id {
					t.Fatalf("%s: the old program %d is still attached", step.name, id)
				}
			}
			before = ids
		}
		if got := strings.Join(probeIn(t, cgFd, probes...), " "); got != step.want {
			t.Errorf("%s:\n probes %q\n got    %s\n want   %s", step.name, probes, got, step.want)
		}
	}
}

func TestApplyErrors(t *testing.T) {
	dir, _ := testCgroup(t)

	err := Apply(dir+"-not-there", rules("deny a"))
	if want := "cgroup v2 device filter for " + dir + "-not-there: open the cgroup directory: ENOENT"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Apply on a missing directory: %v, want %q", err, want)
	}
	err = Apply(dir, rules("deny a", "allow c *:* rwm", "deny c 1:3 rw"))
	if want := "cgroup v2 device filter for " + dir + ": device rule 2 (deny c 1:3 rw): cannot punch a hole"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Apply of a hole: %v, want %q", err, want)
	}
	if ids := attached(t, dir); len(ids) != 0 {
		t.Errorf("a failed Apply left programs attached: %v", ids)
	}

	// The verifier's reasons come with a refused program.
	_, err = loadProgram(encode([]insn{exit()}))
	if err == nil || !errors.Is(err, unix.EACCES) || !strings.Contains(err.Error(), "verifier log:") || !strings.Contains(err.Error(), "R0 !read_ok") {
		t.Errorf("loading a program that returns nothing: %v", err)
	}
}

// TestAttrLayout checks the bpf_attr structs against the kernel's offsets.
func TestAttrLayout(t *testing.T) {
	var l progLoadAttr
	var q progQueryAttr
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"prog_load.insns", unsafe.Offsetof(l.insns), 8},
		{"prog_load.license", unsafe.Offsetof(l.license), 16},
		{"prog_load.log_level", unsafe.Offsetof(l.logLevel), 24},
		{"prog_load.log_buf", unsafe.Offsetof(l.logBuf), 32},
		{"prog_load.kern_version", unsafe.Offsetof(l.kernVersion), 40},
		{"prog_load.prog_name", unsafe.Offsetof(l.progName), 48},
		{"sizeof prog_load", unsafe.Sizeof(l), 64},
		{"query.prog_ids", unsafe.Offsetof(q.progIDs), 16},
		{"query.prog_cnt", unsafe.Offsetof(q.progCnt), 24},
		{"sizeof query", unsafe.Sizeof(q), 32},
		{"sizeof attach", unsafe.Sizeof(progAttachAttr{}), 16},
		{"sizeof get_fd_by_id", unsafe.Sizeof(getFdByIDAttr{}), 12},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
}
