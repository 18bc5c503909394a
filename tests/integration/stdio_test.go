package integration

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	helpersMu sync.Mutex
	helpers   = map[string]string{}
)

// buildHelper builds a static Go program from testdata/NAME once per run
// and returns its path; a test copies it into a private rootfs. With
// HUSK_TEST_HELPERS (see helpers_test.go) it is that directory's NAME.
func buildHelper(t *testing.T, name string) string {
	t.Helper()
	if dir := os.Getenv("HUSK_TEST_HELPERS"); dir != "" {
		p := filepath.Join(dir, name)
		if !exists(p) {
			t.Skipf("helper %s is not in HUSK_TEST_HELPERS=%s", name, dir)
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
		t.Skipf("cannot build the %s helper: %v %s", name, err, out)
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
	if !isHusk() {
		t.Skip("Debian's runc 1.1.5 start never returns in this create/start sd_notify flow")
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
