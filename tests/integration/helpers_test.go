// Package integration drives a runtime binary (husk, or runc as the
// reference) through its CLI and checks the behaviour runc users rely on.
//
// Run (as root):
//
//	go test ./tests/integration/ -v                            # ../../husk
//	HUSK_BINARY=/usr/local/libexec/husk-test/runc go test ./tests/integration/ -v # reference
//
// The reference is runc 1.5.3 (contrib/deps.sh builds it; `make
// integration-runc` runs the suite against it). Every test passes for both;
// where runc differs, the test says why (isRunc).
//
// Environment:
//
//	HUSK_BINARY        the runtime under test (default ../../husk).
//	HUSK_REFERENCE_RUNC  runc 1.5.3, whose output some tests compare with
//	                   (default /usr/local/libexec/husk-test/runc).
//	HUSK_TEST_SYSTEMD  "1": the systemd cgroup driver. The runtime gets
//	                   --systemd-cgroup, each container's linux.cgroupsPath
//	                   is "husk_itest_<pid>.slice:husk-itest:<leaf>" (a
//	                   transient scope in a slice of the suite's own), and
//	                   the leak checks look in that slice. Needs systemd as
//	                   PID 1 (see tests/vm). Default: cgroupfs, with every
//	                   container under the absolute cgroup
//	                   /husk-itest-<pid>/<leaf>.
//	HUSK_TEST_HELPERS  a directory with the testdata/ helper programs
//	                   already built (named as their directory), for
//	                   machines without a Go toolchain (tests/vm).
//	HUSK_ALLOW_SKIP_ROOT  set: not being root skips the suite; unset, it
//	                   fails it.
package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/husk-runtime/husk/tests/testutil"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const (
	// cmdTimeout bounds one runtime invocation: a hung runtime fails the
	// test that ran it, not the whole suite.
	cmdTimeout = 30 * time.Second
	// waitTimeout bounds polling for a condition (status, marker file).
	waitTimeout = 15 * time.Second
	pollEvery   = 10 * time.Millisecond

	// testUID/testGID is the unprivileged user in the test rootfs.
	testUID = 1000
	testGID = 1000
)

var (
	// runtimeBin is the absolute path of the binary under test.
	runtimeBin string
	// runtimeErr is set when the binary cannot be used; every test fails
	// with it.
	runtimeErr error
	// suiteDir holds everything the suite creates on disk (TMPDIR points
	// here while tests run, so t.TempDir() is inside it too).
	suiteDir string
	// rootfsDir is the shared read-only busybox rootfs.
	rootfsDir string
	// cgroupParent is the cgroup (relative to each hierarchy root) under
	// which every test container's cgroup is placed: a slice with
	// HUSK_TEST_SYSTEMD.
	cgroupParent string
	// systemdCgroup is set by HUSK_TEST_SYSTEMD=1 (see the package doc).
	systemdCgroup = os.Getenv("HUSK_TEST_SYSTEMD") == "1"

	cgroupSeq atomic.Int64

	// referenceRunc is runc 1.5.3, for the reference output of `spec` and
	// side-by-side comparisons.
	referenceRunc = envOr("HUSK_REFERENCE_RUNC", "/usr/local/libexec/husk-test/runc")

	rootsMu sync.Mutex
	roots   []string // every --root dir handed out
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		if os.Getenv("HUSK_ALLOW_SKIP_ROOT") == "" {
			fmt.Fprintln(os.Stderr, "integration tests run real containers and need root (set HUSK_ALLOW_SKIP_ROOT=1 to skip them)")
			return 1
		}
		fmt.Fprintln(os.Stderr, "integration tests need root: skipped (HUSK_ALLOW_SKIP_ROOT)")
		return 0
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		fmt.Fprintln(os.Stderr, "integration tests need a statically linked /bin/busybox: install it with `apt-get install busybox-static`")
		return 1
	}
	runtimeBin, runtimeErr = resolveBinary()
	defer testutil.PrivateCache()()

	var err error
	suiteDir, err = os.MkdirTemp("", "husk-itest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "creating suite dir:", err)
		return 1
	}
	// World-traversable so that a workload or runtime running as an
	// unprivileged user can reach paths below it.
	if err := os.Chmod(suiteDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rootfsDir = filepath.Join(suiteDir, "rootfs")
	if err := buildRootfs(rootfsDir); err != nil {
		fmt.Fprintln(os.Stderr, "building busybox rootfs:", err)
		return 1
	}
	cgroupParent = fmt.Sprintf("husk-itest-%d", os.Getpid())
	if systemdCgroup {
		// No "-" in the name: "a-b.slice" would be nested in a.slice.
		cgroupParent = fmt.Sprintf("husk_itest_%d.slice", os.Getpid())
	}

	oldTmp, hadTmp := os.LookupEnv("TMPDIR")
	os.Setenv("TMPDIR", suiteDir)
	code := m.Run()
	if hadTmp {
		os.Setenv("TMPDIR", oldTmp)
	} else {
		os.Unsetenv("TMPDIR")
	}

	leaks := suiteLeaks()
	if len(leaks) > 0 {
		fmt.Fprintln(os.Stderr, "FAIL: the suite left things behind:")
		for _, l := range leaks {
			fmt.Fprintln(os.Stderr, "  LEAK:", l)
		}
		reapLeaks([]string{suiteDir}, []string{"/" + cgroupParent})
		ms := mountsUnder(suiteDir)
		for i := len(ms) - 1; i >= 0; i-- {
			_ = syscall.Unmount(unescapeMount(strings.Fields(ms[i])[4]), syscall.MNT_DETACH)
		}
		code = 1
	}
	removeCgroupParent()
	if err := os.RemoveAll(suiteDir); err != nil {
		fmt.Fprintln(os.Stderr, "removing suite dir:", err)
		return 1
	}
	return code
}

func resolveBinary() (string, error) {
	// HUSK_BINARY: an absolute path, a path relative to this package's
	// directory (where go test runs it), or a bare name looked up in PATH.
	bin := os.Getenv("HUSK_BINARY")
	if bin == "" {
		bin = filepath.Join("..", "..", "husk")
	} else if !strings.Contains(bin, "/") {
		p, err := exec.LookPath(bin)
		if err != nil {
			return "", fmt.Errorf("HUSK_BINARY=%s: %w", bin, err)
		}
		bin = p
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("runtime binary %s not found (build husk at the repository root with `make husk`, or set HUSK_BINARY): %w", abs, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("runtime binary %s is not an executable file", abs)
	}
	return abs, nil
}

var (
	userCopiesMu sync.Mutex
	userCopies   = map[string]string{}
)

// userCopy returns a copy of the binary at path that any user can run:
// the binary under test may sit in a directory only root can enter (a CI
// checkout under /root). It is made once per path, in the suite dir.
func userCopy(t *testing.T, path string) string {
	t.Helper()
	userCopiesMu.Lock()
	defer userCopiesMu.Unlock()
	if c, ok := userCopies[path]; ok {
		return c
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(suiteDir, "user-bin", strconv.Itoa(len(userCopies)))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(c, data, 0o755); err != nil {
		t.Fatal(err)
	}
	userCopies[path] = c
	return c
}

// isHusk reports whether the binary under test is husk (by basename), for
// husk-specific assertions such as error message text.
func isHusk() bool { return filepath.Base(runtimeBin) == "husk" }

// isRunc reports whether the binary under test is runc (by basename), for
// the places where runc 1.5.3 is known to differ from husk; each use says
// why.
func isRunc() bool { return filepath.Base(runtimeBin) == "runc" }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// needReference returns runc 1.5.3's path, failing the test (not skipping:
// `make test` installs it) when it is missing.
func needReference(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(referenceRunc); err != nil {
		t.Fatalf("reference runc 1.5.3 %s is missing (contrib/deps.sh builds it; or set HUSK_REFERENCE_RUNC): %v", referenceRunc, err)
	}
	return referenceRunc
}

// buildRootfs makes a minimal busybox root filesystem in dir.
func buildRootfs(dir string) error {
	for _, d := range []string{"bin", "proc", "sys", "dev", "etc", "root", "home/tester", "out"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o777); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	if err := os.Chown(filepath.Join(dir, "home/tester"), testUID, testGID); err != nil {
		return err
	}
	data, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/busybox"), data, 0o755); err != nil {
		return err
	}
	out, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	n := 0
	for _, applet := range strings.Fields(string(out)) {
		// `busybox --list` names busybox itself: keep the binary.
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", applet)); err != nil {
			return err
		}
		n++
	}
	for _, applet := range []string{"sh", "sleep", "cat", "id", "touch"} {
		if _, err := os.Lstat(filepath.Join(dir, "bin", applet)); err != nil {
			return fmt.Errorf("busybox lacks the %q applet (%d applets linked)", applet, n)
		}
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\n" +
		fmt.Sprintf("tester:x:%d:%d:tester:/home/tester:/bin/sh\n", testUID, testGID)
	group := "root:x:0:\n" + fmt.Sprintf("tester:x:%d:\n", testGID)
	if err := os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte(passwd), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "etc/group"), []byte(group), 0o644)
}

// copyRootfs makes a private copy of the shared rootfs in dst (busybox is
// hard-linked), for tests that modify the rootfs or must tell their
// container's processes apart from other tests'.
func copyRootfs(dst string) error {
	return filepath.WalkDir(rootfsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(rootfsDir, path)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		switch {
		case d.IsDir():
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			if err := os.Chmod(target, info.Mode().Perm()|info.Mode()&fs.ModeSticky); err != nil {
				return err
			}
			return os.Lchown(target, int(st.Uid), int(st.Gid))
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		default:
			return os.Link(path, target)
		}
	})
}

// ---------------------------------------------------------------------------
// Default config

// defaultSpec returns the config `runc spec` writes, except that
// process.terminal is false. Tests build on it.
func defaultSpec() *specs.Spec {
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Terminal: false,
			User:     specs.User{UID: 0, GID: 0},
			Args:     []string{"sh"},
			Env: []string{
				"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				"TERM=xterm",
			},
			Cwd: "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  append([]string(nil), caps...),
				Effective: append([]string(nil), caps...),
				Permitted: append([]string(nil), caps...),
			},
			Rlimits: []specs.POSIXRlimit{
				{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024},
			},
			NoNewPrivileges: true,
		},
		Root:     &specs.Root{Path: "rootfs", Readonly: true},
		Hostname: "runc",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs",
				Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts",
				Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
				Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue",
				Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs",
				Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup",
				Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		Linux: &specs.Linux{
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.NetworkNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
			},
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
				"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
				"/proc/sched_debug", "/sys/firmware", "/proc/scsi",
			},
			ReadonlyPaths: []string{
				"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
			},
		},
	}
}

// removeNamespace drops a namespace type from the spec.
func removeNamespace(s *specs.Spec, typ specs.LinuxNamespaceType) {
	var kept []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Type != typ {
			kept = append(kept, ns)
		}
	}
	s.Linux.Namespaces = kept
}

// ---------------------------------------------------------------------------
// Running the binary

type result struct {
	Stdout   string
	Stderr   string
	Code     int // exit code; -1 if the runtime was killed by a signal
	TimedOut bool
	Err      error // failure to start or wait, other than a non-zero exit
	Args     []string
}

func (r result) String() string {
	s := fmt.Sprintf("%q: exit %d", r.Args, r.Code)
	if r.TimedOut {
		s += " (TIMED OUT)"
	}
	if r.Err != nil {
		s += fmt.Sprintf(" (error: %v)", r.Err)
	}
	return s + fmt.Sprintf("\nstdout: %q\nstderr: %q", r.Stdout, r.Stderr)
}

type invokeOpts struct {
	dir  string              // working directory ("" = the test's cwd)
	cred *syscall.Credential // run as another user
	bin  string              // binary ("" = runtimeBin)
	env  []string            // extra environment
	// extraFiles become the runtime's fds 3, 4, ... (for --preserve-fds,
	// and for fds a careless caller leaks to it).
	extraFiles []*os.File
	// started, if set, receives the runtime's pid once it runs.
	started chan<- int
	// timerSlack, if set, is the timer slack (ns) the runtime starts
	// with: it is exec'd from a shell that sets its own.
	timerSlack uint64
}

// invoke runs the binary with args and returns what it printed and its exit
// code. stdout and stderr go to files, not pipes, so that a container that
// inherits them (run --detach, create) cannot keep the call from returning.
// It never calls t.Fatal, so it may be used from other goroutines.
func invoke(o invokeOpts, args ...string) result {
	res := result{Args: args}
	bin := o.bin
	if bin == "" {
		bin = runtimeBin
	}
	outF, err := os.CreateTemp("", "stdout-")
	if err != nil {
		res.Err = err
		return res
	}
	defer os.Remove(outF.Name())
	defer outF.Close()
	errF, err := os.CreateTemp("", "stderr-")
	if err != nil {
		res.Err = err
		return res
	}
	defer os.Remove(errF.Name())
	defer errF.Close()

	if systemdCgroup && o.bin == "" {
		args = append([]string{"--systemd-cgroup"}, args...)
	}
	if o.timerSlack != 0 {
		args = append([]string{"-c", `echo "$0" >/proc/self/timerslack_ns && exec "$@"`, strconv.FormatUint(o.timerSlack, 10), bin}, args...)
		bin = "/bin/sh"
	}
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = o.dir
	cmd.Stdout = outF
	cmd.Stderr = errF
	cmd.Env = append(os.Environ(), o.env...)
	if o.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: o.cred}
	}
	cmd.ExtraFiles = o.extraFiles
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	cmd.WaitDelay = 5 * time.Second

	if err := cmd.Start(); err != nil {
		res.Err = err
		res.Code = -1
		return res
	}
	if o.started != nil {
		o.started <- cmd.Process.Pid
	}
	err = cmd.Wait()
	res.TimedOut = ctx.Err() != nil
	var ee *exec.ExitError
	switch {
	case err == nil:
		res.Code = 0
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	default:
		res.Code = -1
		res.Err = err
	}
	o1, _ := os.ReadFile(outF.Name())
	o2, _ := os.ReadFile(errF.Name())
	res.Stdout, res.Stderr = string(o1), string(o2)
	return res
}

// ---------------------------------------------------------------------------
// Per-test environment

// env is one test's private runtime state dir (--root) and scratch space.
type env struct {
	t    *testing.T
	root string // --root for every call
	dir  string // scratch dir for bundles
	base string // parent of root and dir (the test's temp dir)

	cgroups []string // cgroup leaves of this test's bundles
}

// newEnv fails the test when there is no binary, and sets up the test's
// --root dir. At cleanup (after every container the test started has been
// force-deleted) it checks that nothing was left behind by this test.
func newEnv(t *testing.T) *env {
	t.Helper()
	if runtimeErr != nil {
		t.Fatal(runtimeErr)
	}
	e := &env{t: t, root: t.TempDir(), dir: t.TempDir()}
	e.base = filepath.Dir(e.root)
	rootsMu.Lock()
	roots = append(roots, e.root)
	rootsMu.Unlock()
	// Runs after the per-container delete --force cleanups (registered
	// later) and before the temp dirs are removed (registered earlier).
	t.Cleanup(e.checkNothingLeft)
	return e
}

// run invokes `BIN --root ROOT args...` and fails the test if it hangs.
func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runOpts(invokeOpts{}, args...)
}

func (e *env) runOpts(o invokeOpts, args ...string) result {
	e.t.Helper()
	r := invoke(o, append([]string{"--root", e.root}, args...)...)
	if r.TimedOut {
		e.t.Fatalf("runtime did not finish within %v: %s", cmdTimeout, r)
	}
	if r.Err != nil {
		e.t.Fatalf("running runtime: %s", r)
	}
	return r
}

// ok runs a command that must succeed.
func (e *env) ok(args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.Code != 0 {
		e.t.Fatalf("expected success: %s", r)
	}
	return r
}

// failsWith runs a command that must fail: exit 1 (runc exits 1 on every
// error of its own) with an error that contains want, the kind of error:
// the text husk and runc 1.5.3 both print, or huskOrRunc's where their
// words differ. It returns the result for further checks.
func (e *env) failsWith(want string, args ...string) result {
	e.t.Helper()
	return e.failsCode(1, want, args...)
}

// execFailsWith is failsWith for exec, which exits 255 when the runtime
// fails (the process's own exit code otherwise).
func (e *env) execFailsWith(want string, args ...string) result {
	e.t.Helper()
	return e.failsCode(255, want, append([]string{"exec"}, args...)...)
}

func (e *env) failsCode(code int, want string, args ...string) result {
	e.t.Helper()
	if want == "" {
		e.t.Fatal("no error text to expect")
	}
	r := e.run(args...)
	if r.Code == 0 {
		e.t.Fatalf("expected a non-zero exit: %s", r)
	}
	if r.Code != code {
		e.t.Errorf("expected exit code %d (as runc), got %d: %s", code, r.Code, r)
	}
	if !strings.Contains(errText(r), want) {
		e.t.Errorf("expected an error with %q: %s", want, r)
	}
	return r
}

// errText is the command's stderr with each logrus msg="..." unquoted
// (`msg="a \"b\""` reads `msg=a "b"`), for matching error text.
func errText(r result) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(r.Stderr, "\n") {
		if i := strings.Index(l, ` msg="`); i >= 0 {
			if q, err := strconv.QuotedPrefix(l[i+5:]); err == nil {
				if m, err := strconv.Unquote(q); err == nil {
					l = l[:i+5] + m + l[i+5+len(q):]
				}
			}
		}
		b.WriteString(l)
	}
	return b.String()
}

// huskOrRunc is husk's text, or runc's when the binary under test is
// runc: for errors the two word differently (husk names the config field
// or the value where runc does not, say). The caller says how they differ.
func huskOrRunc(husk, runc string) string {
	if isRunc() {
		return runc
	}
	return husk
}

// track makes sure the container is force-deleted when the test ends.
func (e *env) track(id string) {
	e.t.Cleanup(func() {
		r := invoke(invokeOpts{}, "--root", e.root, "delete", "--force", id)
		if r.TimedOut {
			e.t.Errorf("cleanup: delete --force %s hung: %s", id, r)
		}
	})
}

// ---------------------------------------------------------------------------
// Bundles

type bundle struct {
	Dir    string // bundle directory (absolute)
	Out    string // host dir bind-mounted at /out ("" if none)
	Rootfs string // rootfs (absolute)
	// Cgroup is the container's cgroup relative to each hierarchy's root,
	// as /proc/PID/cgroup shows it: Spec.Linux.CgroupsPath with the
	// cgroupfs driver, the scope's path under the slice with systemd's.
	Cgroup string
	Spec   *specs.Spec // what was written to config.json
}

type bundleOpt func(e *env, b *bundle)

// withArgs sets process.args.
func withArgs(args ...string) bundleOpt {
	return func(_ *env, b *bundle) { b.Spec.Process.Args = args }
}

// withShell sets process.args to `sh -c script`.
func withShell(script string) bundleOpt {
	return withArgs("sh", "-c", script)
}

// withOut bind-mounts a fresh host dir (b.Out) read-write at /out, for the
// workload to report back through files.
func withOut() bundleOpt {
	return func(e *env, b *bundle) {
		b.Out = filepath.Join(b.Dir, "out")
		if err := os.Mkdir(b.Out, 0o777); err != nil {
			e.t.Fatal(err)
		}
		if err := os.Chmod(b.Out, 0o777); err != nil {
			e.t.Fatal(err)
		}
		b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{
			Destination: "/out", Type: "bind", Source: b.Out,
			Options: []string{"rbind", "rw"},
		})
	}
}

// withPrivateRootfs gives the bundle its own copy of the rootfs.
func withPrivateRootfs() bundleOpt {
	return func(e *env, b *bundle) {
		b.Rootfs = filepath.Join(b.Dir, "rootfs")
		if err := copyRootfs(b.Rootfs); err != nil {
			e.t.Fatalf("copying rootfs: %v", err)
		}
		b.Spec.Root.Path = b.Rootfs
	}
}

// withSpec applies an arbitrary change to the config.
func withSpec(f func(s *specs.Spec)) bundleOpt {
	return func(_ *env, b *bundle) { f(b.Spec) }
}

// newBundle writes a bundle with the default config (shared rootfs by
// absolute path, a cgroup under the suite's parent, args `sh`) modified
// by opts.
func (e *env) newBundle(opts ...bundleOpt) *bundle {
	e.t.Helper()
	dir, err := os.MkdirTemp(e.dir, "bundle-")
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	leaf := fmt.Sprintf("c%d", cgroupSeq.Add(1))
	b := &bundle{
		Dir:    dir,
		Rootfs: rootfsDir,
		Cgroup: "/" + cgroupParent + "/" + leaf,
		Spec:   defaultSpec(),
	}
	b.Spec.Root.Path = rootfsDir
	b.Spec.Linux.CgroupsPath = b.Cgroup
	if systemdCgroup {
		b.Spec.Linux.CgroupsPath = cgroupParent + ":husk-itest:" + leaf
		b.Cgroup = "/" + cgroupParent + "/husk-itest-" + leaf + ".scope"
	}
	e.cgroups = append(e.cgroups, b.Cgroup)
	for _, o := range opts {
		o(e, b)
	}
	b.write(e.t)
	return b
}

// write (re)writes config.json from b.Spec.
func (b *bundle) write(t *testing.T) {
	t.Helper()
	data, err := json.MarshalIndent(b.Spec, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// outFile returns the path of a file in the bundle's /out dir.
func (b *bundle) outFile(name string) string {
	if b.Out == "" {
		panic("bundle has no /out mount (use withOut)")
	}
	return filepath.Join(b.Out, name)
}

// create runs `create --bundle DIR id` (which must succeed) and tracks the
// container for cleanup.
func (e *env) create(b *bundle, id string, extra ...string) result {
	e.t.Helper()
	e.track(id)
	args := append([]string{"create", "--bundle", b.Dir}, extra...)
	return e.ok(append(args, id)...)
}

// runDetached runs `run --detach --bundle DIR id` (which must succeed) and
// tracks the container for cleanup.
func (e *env) runDetached(b *bundle, id string, extra ...string) result {
	e.t.Helper()
	e.track(id)
	args := append([]string{"run", "--detach", "--bundle", b.Dir}, extra...)
	return e.ok(append(args, id)...)
}

// runFG runs `run --bundle DIR id` in the foreground and returns its result
// (any exit code); the container is tracked for cleanup.
func (e *env) runFG(b *bundle, id string, extra ...string) result {
	e.t.Helper()
	e.track(id)
	args := append([]string{"run", "--bundle", b.Dir}, extra...)
	return e.run(append(args, id)...)
}

// ---------------------------------------------------------------------------
// State

// containerState is the JSON `state` prints (and `list --format json` prints
// an array of).
type containerState struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	PID         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Owner       string            `json:"owner"`
}

// state runs `state id`, which must succeed, and parses it.
func (e *env) state(id string) containerState {
	e.t.Helper()
	r := e.ok("state", id)
	var s containerState
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		e.t.Fatalf("state output is not JSON: %v: %s", err, r)
	}
	return s
}

// stateRaw runs `state id` and returns the JSON as a generic map.
func (e *env) stateRaw(id string) map[string]any {
	e.t.Helper()
	r := e.ok("state", id)
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &m); err != nil {
		e.t.Fatalf("state output is not a JSON object: %v: %s", err, r)
	}
	return m
}

// waitStatus polls `state` until the container has the status.
func (e *env) waitStatus(id, status string) containerState {
	e.t.Helper()
	var last containerState
	waitFor(e.t, fmt.Sprintf("container %s to be %s", id, status), func() bool {
		last = e.state(id)
		return last.Status == status
	})
	return last
}

// assertGone checks that the container no longer exists: `state` fails,
// `list -q` does not show it and its state dir is gone.
func (e *env) assertGone(id string) {
	e.t.Helper()
	if r := e.run("state", id); r.Code != 1 || !strings.Contains(r.Stderr, "container does not exist") {
		e.t.Errorf("state of deleted container %s: %s, want \"container does not exist\"", id, r)
	}
	for _, l := range lines(e.ok("list", "-q").Stdout) {
		if l == id {
			e.t.Errorf("list -q still shows %s", id)
		}
	}
	if _, err := os.Lstat(filepath.Join(e.root, id)); err == nil {
		e.t.Errorf("state dir %s still exists", filepath.Join(e.root, id))
	}
}

// ---------------------------------------------------------------------------
// Polling and files

// waitFor polls cond until it is true, failing the test at the deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
		time.Sleep(pollEvery)
	}
}

// waitFile waits until path exists.
func waitFile(t *testing.T, path string) {
	t.Helper()
	waitFor(t, path+" to exist", func() bool {
		_, err := os.Stat(path)
		return err == nil
	})
}

// waitLines waits until the file at path has at least n lines and returns
// them.
func waitLines(t *testing.T, path string, n int) []string {
	t.Helper()
	var got []string
	waitFor(t, fmt.Sprintf("%d lines in %s", n, path), func() bool {
		data, _ := os.ReadFile(path)
		got = lines(string(data))
		return len(got) >= n
	})
	return got
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// lines splits output into non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// waitForever is a shell loop that idles until the shell is killed or a
// trap exits; unlike a plain `sleep`, `wait` returns as soon as a trapped
// signal arrives, so traps run promptly. (A shell that is pid 1 of its pid
// namespace ignores signals it has no trap for, except SIGKILL.)
const waitForever = "while :; do sleep 1000 & wait $!; kill $! 2>/dev/null; done"

// ---------------------------------------------------------------------------
// Processes

// procAlive reports whether pid is a live (non-zombie) process.
func procAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}

// waitProcGone waits until pid is no longer a live process.
func waitProcGone(t *testing.T, pid int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("process %d to be gone", pid), func() bool { return !procAlive(pid) })
}

type procInfo struct {
	pid     int
	cwd     string
	root    string
	cmdline string
	cgroup  string
}

// processes lists the live processes other than this one.
func processes() []procInfo {
	ents, _ := os.ReadDir("/proc")
	var out []procInfo
	self := os.Getpid()
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == self || !procAlive(pid) {
			continue
		}
		p := procInfo{pid: pid}
		p.cwd, _ = os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		p.root, _ = os.Readlink(fmt.Sprintf("/proc/%d/root", pid))
		cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		p.cmdline = strings.ReplaceAll(string(cl), "\x00", " ")
		cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		p.cgroup = string(cg)
		if !procAlive(pid) {
			continue
		}
		out = append(out, p)
	}
	return out
}

type procMatch struct {
	pid  int
	desc string
}

// matchProcesses finds processes whose cwd, root or command line mention
// one of the dirs, or that are in one of the cgroups (cgroupsPaths).
func matchProcesses(dirs []string, cgroups []string) []procMatch {
	var out []procMatch
	for _, p := range processes() {
		hit := ""
		for _, d := range dirs {
			switch {
			case underDir(p.cwd, d):
				hit = "cwd " + p.cwd
			case underDir(p.root, d):
				hit = "root " + p.root
			case strings.Contains(p.cmdline, d):
				hit = "cmdline"
			}
		}
		for _, cg := range cgroups {
			for _, l := range strings.Split(p.cgroup, "\n") {
				if i := strings.Index(l, cg); i >= 0 && (len(l) == i+len(cg) || l[i+len(cg)] == '/') {
					hit = "cgroup " + cg
				}
			}
		}
		if hit != "" {
			out = append(out, procMatch{p.pid, fmt.Sprintf("pid %d (%s): %s", p.pid, hit, strings.TrimSpace(p.cmdline))})
		}
	}
	return out
}

// processesUnder describes the processes matchProcesses finds.
func processesUnder(dirs []string, cgroups []string) []string {
	var out []string
	for _, m := range matchProcesses(dirs, cgroups) {
		out = append(out, m.desc)
	}
	return out
}

// reapLeaks cleans up after a runtime that left things behind, so that one
// failing test does not disturb the next ones or the machine: it kills the
// leftover processes (all started by this suite's containers), waits for
// them, and removes leftover cgroup dirs (deepest first).
func reapLeaks(dirs []string, cgroups []string) {
	ms := matchProcesses(dirs, cgroups)
	for _, m := range ms {
		_ = syscall.Kill(m.pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(waitTimeout)
	for _, m := range ms {
		for procAlive(m.pid) && time.Now().Before(deadline) {
			time.Sleep(pollEvery)
		}
	}
	for _, cg := range cgroups {
		for _, d := range cgroupDirs(cg) {
			var sub []string
			_ = filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
				if err == nil && de.IsDir() {
					sub = append(sub, p)
				}
				return nil
			})
			for i := len(sub) - 1; i >= 0; i-- {
				_ = os.Remove(sub[i])
			}
		}
	}
}

func underDir(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// ---------------------------------------------------------------------------
// Mounts and cgroups

// mountsUnder lists mount points in this mount namespace at or below dir.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return []string{"cannot read mountinfo: " + err.Error()}
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if underDir(mp, dir) || strings.Contains(fields[3], dir) {
			out = append(out, sc.Text())
		}
	}
	return out
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cgroupMounts lists the mount points of every cgroup (v1) and cgroup2
// hierarchy.
func cgroupMounts() []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(l, " - ", 2)
		if len(parts) != 2 {
			continue
		}
		fields := strings.Fields(parts[0])
		fstype := strings.Fields(parts[1])
		if len(fields) < 5 || len(fstype) < 1 {
			continue
		}
		if fstype[0] != "cgroup" && fstype[0] != "cgroup2" {
			continue
		}
		mp := unescapeMount(fields[4])
		if !seen[mp] {
			seen[mp] = true
			out = append(out, mp)
		}
	}
	sort.Strings(out)
	return out
}

// cgroupDirs lists the existing directories for cgroupsPath cg in every
// hierarchy.
func cgroupDirs(cg string) []string {
	var out []string
	for _, mp := range cgroupMounts() {
		p := filepath.Join(mp, cg)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			out = append(out, p)
		}
	}
	return out
}

// containerCgroupDir returns the host directory of the cgroup that process
// pid (say, a container's init) is in, in the hierarchy that has
// controllerFile ("memory.max", "pids.max", "cpu.shares", "cgroup.procs"...).
// It is found from /proc/PID/cgroup and the cgroup mounts, so it works with
// either cgroup driver on v1, hybrid and v2 hosts. A v1 hierarchy of the
// file's controller is preferred. The test fails if no such directory has
// the file.
func containerCgroupDir(t *testing.T, pid int, controllerFile string) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatalf("the cgroup of pid %d: %v", pid, err)
	}
	controller, _, _ := strings.Cut(controllerFile, ".")
	var preferred, others []string
	for _, l := range lines(string(data)) {
		// "ID:controllers:path"; v2's is "0::path".
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 {
			continue
		}
		for _, m := range cgroupMountInfo() {
			if (f[1] == "") != (m.fstype == "cgroup2") || !m.has(strings.Split(f[1], ",")) {
				continue
			}
			if m.root != "/" && !underDir(f[2], m.root) {
				continue
			}
			dir := filepath.Join(m.point, strings.TrimPrefix(f[2], strings.TrimSuffix(m.root, "/")))
			if m.has([]string{controller}) && m.fstype == "cgroup" {
				preferred = append(preferred, dir)
			} else {
				others = append(others, dir)
			}
		}
	}
	for _, dir := range append(preferred, others...) {
		if exists(filepath.Join(dir, controllerFile)) {
			return dir
		}
	}
	t.Fatalf("no cgroup of pid %d has %s (%q)", pid, controllerFile, append(preferred, others...))
	return ""
}

type cgroupMount struct {
	point, root, fstype string
	opts                []string // the super options: v1's controllers
}

// has reports whether the mount's options name every controller in ctrls
// ("" matches any).
func (m cgroupMount) has(ctrls []string) bool {
	for _, c := range ctrls {
		if c != "" && !contains(m.opts, c) {
			return false
		}
	}
	return true
}

// cgroupMountInfo lists the cgroup and cgroup2 mounts of this mount
// namespace.
func cgroupMountInfo() []cgroupMount {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	var out []cgroupMount
	for _, l := range lines(string(data)) {
		pre, post, ok := strings.Cut(l, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 || (g[0] != "cgroup" && g[0] != "cgroup2") {
			continue
		}
		out = append(out, cgroupMount{
			point: unescapeMount(f[4]), root: unescapeMount(f[3]),
			fstype: g[0], opts: strings.Split(g[2], ","),
		})
	}
	return out
}

// checkNothingLeft is the per-test leak check (see newEnv). Whatever it
// finds fails the test and is then cleaned up.
func (e *env) checkNothingLeft() {
	t := e.t
	if ents, err := os.ReadDir(e.root); err == nil {
		for _, ent := range ents {
			t.Errorf("leftover state in --root: %s", filepath.Join(e.root, ent.Name()))
		}
	}
	leaked := false
	for _, cg := range e.cgroups {
		for _, d := range cgroupDirs(cg) {
			t.Errorf("leftover cgroup dir: %s", d)
			leaked = true
		}
	}
	for _, p := range processesUnder([]string{e.base}, e.cgroups) {
		t.Errorf("leftover process: %s", p)
		leaked = true
	}
	if leaked {
		reapLeaks([]string{e.base}, e.cgroups)
	}
	ms := mountsUnder(e.base)
	for _, m := range ms {
		t.Errorf("leftover mount: %s", m)
	}
	// Detach leftover mounts so that removing the temp dirs cannot reach
	// through them; deepest first.
	for i := len(ms) - 1; i >= 0; i-- {
		fields := strings.Fields(ms[i])
		_ = syscall.Unmount(unescapeMount(fields[4]), syscall.MNT_DETACH)
	}
}

// assertNoTrace checks that a failed create/run left nothing behind: no
// state dir for id, no cgroup dir, no process and no mount from the bundle.
func (e *env) assertNoTrace(b *bundle, id string) {
	e.t.Helper()
	if id != "" {
		if _, err := os.Lstat(filepath.Join(e.root, id)); err == nil {
			e.t.Errorf("state dir for %q left behind", id)
		}
	}
	if ents, err := os.ReadDir(e.root); err == nil && len(ents) > 0 {
		var names []string
		for _, ent := range ents {
			names = append(names, ent.Name())
		}
		e.t.Errorf("--root not empty after a failed call: %v", names)
	}
	for _, d := range cgroupDirs(b.Cgroup) {
		e.t.Errorf("cgroup dir left behind: %s", d)
	}
	for _, p := range processesUnder([]string{b.Dir}, []string{b.Cgroup}) {
		e.t.Errorf("process left behind: %s", p)
	}
	for _, m := range mountsUnder(b.Dir) {
		e.t.Errorf("mount left behind: %s", m)
	}
}

// suiteLeaks is the whole-suite leak check run by TestMain.
func suiteLeaks() []string {
	var leaks []string
	for _, m := range mountsUnder(suiteDir) {
		leaks = append(leaks, "mount: "+m)
	}
	for _, p := range processesUnder([]string{suiteDir}, []string{"/" + cgroupParent}) {
		leaks = append(leaks, "process: "+p)
	}
	rootsMu.Lock()
	for _, r := range roots {
		if ents, err := os.ReadDir(r); err == nil && len(ents) > 0 {
			leaks = append(leaks, fmt.Sprintf("state left in --root %s (%d entries)", r, len(ents)))
		}
	}
	rootsMu.Unlock()
	for _, mp := range cgroupMounts() {
		parent := filepath.Join(mp, cgroupParent)
		ents, err := os.ReadDir(parent)
		if err != nil {
			continue
		}
		for _, ent := range ents {
			if ent.IsDir() {
				leaks = append(leaks, "cgroup dir: "+filepath.Join(parent, ent.Name()))
			}
		}
	}
	return leaks
}

// removeCgroupParent removes the suite's cgroup parent in every hierarchy
// (after trying to remove empty leftover children); systemd is asked to
// stop the suite's slice.
func removeCgroupParent() {
	if systemdCgroup {
		if out, err := exec.Command("systemctl", "stop", cgroupParent).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "systemctl stop %s: %v %s\n", cgroupParent, err, out)
		}
	}
	for _, mp := range cgroupMounts() {
		parent := filepath.Join(mp, cgroupParent)
		ents, err := os.ReadDir(parent)
		if err != nil {
			continue
		}
		for _, ent := range ents {
			if ent.IsDir() {
				_ = os.Remove(filepath.Join(parent, ent.Name()))
			}
		}
		if err := os.Remove(parent); err != nil {
			fmt.Fprintf(os.Stderr, "cannot remove cgroup %s: %v\n", parent, err)
		}
	}
}

// ---------------------------------------------------------------------------
// JSON comparison

// jsonMap parses a JSON object.
func jsonMap(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, data)
	}
	return m
}

// specMap turns a spec into the generic form a config.json parses to.
func specMap(t *testing.T, s *specs.Spec) map[string]any {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return jsonMap(t, data)
}

// assertSameJSON compares two parsed JSON documents structurally.
func assertSameJSON(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	t.Errorf("%s differs\n%s", what, lineDiff(string(w), string(g)))
}

// lineDiff is a small line-based diff for failure messages ("-" want,
// "+" got).
func lineDiff(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	// LCS table.
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var buf bytes.Buffer
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			buf.WriteString("  " + a[i] + "\n")
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			buf.WriteString("+ " + b[j] + "\n")
			j++
		default:
			buf.WriteString("- " + a[i] + "\n")
			i++
		}
	}
	return buf.String()
}
