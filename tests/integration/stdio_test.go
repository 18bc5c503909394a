package integration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var (
	helpersMu sync.Mutex
	helpers   = map[string]string{}
)

// buildHelper builds a static Go program from testdata/NAME once per run
// and returns its path; a test copies it into a private rootfs. With
// HUSK_TEST_HELPERS (see helpers_test.go) it is that directory's NAME. A
// helper that is missing or does not build fails the test: a skip would
// hide the bug.
func buildHelper(t *testing.T, name string) string {
	t.Helper()
	if dir := os.Getenv("HUSK_TEST_HELPERS"); dir != "" {
		p := filepath.Join(dir, name)
		if !exists(p) {
			t.Fatalf("helper %s is not in HUSK_TEST_HELPERS=%s", name, dir)
		}
		return p
	}
	helpersMu.Lock()
	defer helpersMu.Unlock()
	if p, ok := helpers[name]; ok {
		return p
	}
	p := filepath.Join(suiteDir, name)
	cmd := exec.Command("go", "build", "-o", p, "./testdata/"+name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cannot build the %s helper: %v %s", name, err, out)
	}
	helpers[name] = p
	return p
}

// withHelper copies a built helper into the bundle's (private) rootfs as /NAME.
func withHelper(t *testing.T, name string) bundleOpt {
	bin := buildHelper(t, name)
	return func(e *env, b *bundle) {
		data, err := os.ReadFile(bin)
		if err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(b.Rootfs, name), data, 0o755); err != nil {
			e.t.Fatal(err)
		}
	}
}

// NOTIFY_SOCKET: READY=1 sent in the container reaches husk's caller,
// with MAINPID the container's init, and `start` waits for it.
func TestNotifySocket(t *testing.T) {
	if isRunc() {
		t.Skip("runc 1.5.3 start lets the workload run before it listens on the container's notify socket: the READY=1 sent at once is refused (ECONNREFUSED) and start waits for it forever")
	}
	e := newEnv(t)
	hostSock := filepath.Join(t.TempDir(), "notify.sock")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: hostSock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	b := e.newBundle(withPrivateRootfs(), withHelper(t, "sdnotify"),
		withShell(`test "$NOTIFY_SOCKET" = /run/notify/notify.sock && /sdnotify STATUS=starting READY=1; sleep 100`))
	env := []string{"NOTIFY_SOCKET=" + hostSock}
	e.track("notify")
	if r := e.runOpts(invokeOpts{env: env}, "create", "--bundle", b.Dir, "notify"); r.Code != 0 {
		t.Fatal(r)
	}
	pid := e.state("notify").PID
	if r := e.runOpts(invokeOpts{env: env}, "start", "notify"); r.Code != 0 {
		t.Fatal(r)
	}
	// start has returned: the message must be there already.
	l.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 256)
	n, err := l.Read(buf)
	if err != nil {
		t.Fatalf("nothing on the caller's NOTIFY_SOCKET after start: %v", err)
	}
	msg := string(buf[:n])
	if !strings.Contains(msg, "READY=1") || (isHusk() && !strings.Contains(msg, "MAINPID="+strconv.Itoa(pid))) {
		t.Errorf("relayed %q, want READY=1 and MAINPID=%d", msg, pid)
	}
}

// LISTEN_FDS: socket-activation fds passed to husk reach the workload,
// first after stdio, with LISTEN_FDS and LISTEN_PID=1.
func TestListenFds(t *testing.T) {
	e := newEnv(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	b := e.newBundle(withShell(`echo "$LISTEN_FDS $LISTEN_PID"; echo activated >&3`))
	e.track("listen")
	// LISTEN_PID must be husk's own pid: a shell that execs husk.
	r := invoke(invokeOpts{bin: "/bin/sh", extraFiles: []*os.File{pw}},
		"-c", `LISTEN_FDS=1 LISTEN_PID=$$ exec "$0" "$@"`, runtimeBin, "--root", e.root, "run", "--bundle", b.Dir, "listen")
	pw.Close()
	if r.Code != 0 {
		t.Fatal(r)
	}
	if strings.TrimSpace(r.Stdout) != "1 1" {
		t.Errorf("LISTEN_FDS LISTEN_PID in the container: %q", r.Stdout)
	}
	buf := make([]byte, 64)
	if n, _ := pr.Read(buf); strings.TrimSpace(string(buf[:n])) != "activated" {
		t.Errorf("fd 3 in the container is not the activation socket: %q", buf[:n])
	}
}

// fileID is what a runtime must not change on its caller's stdio files
// and on the host's /dev/null: owner, mode and ctime (any chown or chmod,
// even to the same values, moves ctime).
func fileID(t *testing.T, path string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d:%d %o ctime %d.%09d", st.Uid, st.Gid, st.Mode, st.Ctim.Sec, st.Ctim.Nsec)
}

// runStdio runs the runtime with the given stdin, stdout and stderr (a
// pty's slave is made its controlling terminal) and returns its exit code
// and what it wrote to errFile, for failure messages.
func runStdio(e *env, in, out, errOut *os.File, args ...string) int {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, runtimeBin, append([]string{"--root", e.root}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, out, errOut
	if _, err := unix.IoctlGetTermios(int(in.Fd()), unix.TCGETS); err == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	}
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		e.t.Fatalf("%q did not finish within %v", args, cmdTimeout)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		e.t.Fatalf("%q: %v", args, err)
	}
	return cmd.ProcessState.ExitCode()
}

// No runtime command changes the owner, mode or ctime of its caller's
// stdio (files, a terminal, /dev/null) or of the host's /dev/null: with and
// without a user namespace, with and without a terminal, detached and in
// the foreground, for a workload that runs as another user. Only the
// container's own pty is handed to the workload's user.
func TestStdioOwnershipUntouched(t *testing.T) {
	for _, userns := range []bool{false, true} {
		name := "host"
		if userns {
			name = "userns"
		}
		t.Run(name, func(t *testing.T) { testStdioOwnership(t, userns) })
	}
}

func testStdioOwnership(t *testing.T, userns bool) {
	e := newEnv(t)
	devNull, err := os.OpenFile("/dev/null", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	outPath, errPath := filepath.Join(e.dir, "stdout"), filepath.Join(e.dir, "stderr")
	out, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	errF, err := os.Create(errPath)
	if err != nil {
		t.Fatal(err)
	}
	defer errF.Close()
	master, slave := openPty(t)
	go func() { // drain the caller's terminal
		buf := make([]byte, 4096)
		for {
			if _, err := master.Read(buf); err != nil {
				return
			}
		}
	}()
	watched := []string{"/dev/null", outPath, errPath, slave.Name()}
	// runc 1.5.3 chowns the stdio it hands to the workload (create, run -d
	// and exec -d without a terminal: the caller's own files) to the
	// workload's uid, unless that is /dev/null or the chown is not
	// permitted (an owner unmapped in the user namespace).
	callerFilesKept := !isRunc() || userns
	before := map[string]string{}
	for _, p := range watched {
		before[p] = fileID(t, p)
	}
	check := func(step string) {
		t.Helper()
		for _, p := range watched {
			if !callerFilesKept && (p == outPath || p == errPath) {
				continue
			}
			if got := fileID(t, p); got != before[p] {
				t.Errorf("after %s: %s changed from %s to %s", step, p, before[p], got)
			}
		}
	}
	spec := func(s *specs.Spec) {
		s.Process.User = specs.User{UID: testUID, GID: testGID}
		if userns {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 500000, Size: 65536}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 500000, Size: 65536}}
		}
	}
	mustRun := func(step string, in, o, eo *os.File, args ...string) {
		t.Helper()
		if code := runStdio(e, in, o, eo, args...); code != 0 {
			data, _ := os.ReadFile(errPath)
			t.Fatalf("%s: exit %d; stderr so far: %q", step, code, data)
		}
		check(step)
	}
	// A console socket whose master is kept open (a closed master hangs
	// up the slave) until the test ends.
	consoleSock := func() string {
		sock, masters := consoleReceiver(t)
		t.Cleanup(func() {
			select {
			case m, ok := <-masters:
				if ok {
					m.Close()
				}
			default:
			}
		})
		return sock
	}

	sleeper := e.newBundle(withArgs("sleep", "100"), withSpec(spec))
	e.track("own1")
	mustRun("create", devNull, out, errF, "create", "--bundle", sleeper.Dir, "own1")
	mustRun("start", devNull, out, errF, "start", "own1")
	mustRun("exec", devNull, out, errF, "exec", "own1", "true")
	mustRun("exec with /dev/null as stdio", devNull, devNull, devNull, "exec", "own1", "true")
	mustRun("exec -d", devNull, out, errF, "exec", "-d", "own1", "sleep", "100")
	mustRun("exec -t", slave, slave, slave, "exec", "-t", "own1", "true")
	mustRun("exec -d -t", devNull, out, errF, "exec", "-d", "-t", "--console-socket", consoleSock(), "own1", "sleep", "100")
	mustRun("delete -f", devNull, out, errF, "delete", "-f", "own1")

	once := e.newBundle(withArgs("true"), withSpec(spec))
	e.track("own2")
	mustRun("run", devNull, out, errF, "run", "--bundle", once.Dir, "own2")
	e.track("own3")
	mustRun("run -d", devNull, out, errF, "run", "-d", "--bundle", sleeper.Dir, "own3")
	mustRun("delete -f", devNull, out, errF, "delete", "-f", "own3")
	e.track("own4")
	mustRun("run -d with /dev/null as stdio", devNull, devNull, devNull, "run", "-d", "--bundle", sleeper.Dir, "own4")
	mustRun("delete -f", devNull, devNull, devNull, "delete", "-f", "own4")

	tty := e.newBundle(withArgs("true"), withSpec(spec), withSpec(func(s *specs.Spec) { s.Process.Terminal = true }))
	e.track("own5")
	mustRun("run -t", slave, slave, slave, "run", "--bundle", tty.Dir, "own5")
	ttySleeper := e.newBundle(withArgs("sleep", "100"), withSpec(spec), withSpec(func(s *specs.Spec) { s.Process.Terminal = true }))
	e.track("own6")
	mustRun("run -d -t", devNull, out, errF, "run", "-d", "--console-socket", consoleSock(), "--bundle", ttySleeper.Dir, "own6")
	mustRun("delete -f", devNull, out, errF, "delete", "-f", "own6")
}

// TestStdioDevNullReopened: stdio the caller gives as the host's /dev/null
// is reopened on the container's own /dev/null when the runtime makes its
// /dev (as runc: CRIU cannot dump a file of a mount the container does not
// have, e.g. podman's and containerd's checkpoint of a container whose
// stdin is /dev/null); other stdio is the caller's, untouched. With /dev
// bound from the host it stays the caller's.
func TestStdioDevNullReopened(t *testing.T) {
	// The mount point, in the container's mountinfo, of the mount fd N is
	// on ("" when the container does not have that mount), and its path.
	const script = `for n in 0 1; do
	m=$(awk '/^mnt_id:/ {print $2}' /proc/self/fdinfo/$n)
	echo "$n $(readlink /proc/self/fd/$n) $(awk -v m="$m" '$1 == m {print $5}' /proc/self/mountinfo)"
done >/out/fds.tmp && mv /out/fds.tmp /out/fds`
	for _, bound := range []bool{false, true} {
		name := "own-dev"
		if bound {
			name = "host-dev"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			b := e.newBundle(withShell(script), withOut(), withSpec(func(s *specs.Spec) {
				if bound {
					s.Mounts = append(s.Mounts, specs.Mount{Destination: "/dev", Type: "bind", Source: "/dev", Options: []string{"rbind", "ro"}})
				}
			}))
			// invoke gives the runtime the host's /dev/null as stdin and a
			// file of the host's as stdout; detached, the workload gets
			// them (in the foreground runc gives it pipes).
			e.runDetached(b, "devnull")
			waitFile(t, filepath.Join(b.Out, "fds"))
			got := lines(readFile(t, filepath.Join(b.Out, "fds")))
			if len(got) != 2 {
				t.Fatalf("fds: %q", got)
			}
			want0 := "0 /dev/null /dev"
			if bound {
				want0 = "0 /dev/null" // the host's /dev/null, on a mount the container lacks
			}
			if strings.TrimSpace(got[0]) != want0 {
				t.Errorf("stdin: %q, want %q", got[0], want0)
			}
			if f := strings.Fields(got[1]); len(f) != 2 || f[1] == "/dev/null" {
				t.Errorf("stdout: %q, want the caller's file, on a mount the container lacks", got[1])
			}
		})
	}
}
