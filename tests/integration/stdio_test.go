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
	sdnotifyOnce sync.Once
	sdnotifyBin  string
	sdnotifyErr  error
)

// sdnotify builds the test's sd_notify client (a static Go program).
func sdnotify(t *testing.T) string {
	sdnotifyOnce.Do(func() {
		sdnotifyBin = filepath.Join(suiteDir, "sdnotify")
		cmd := exec.Command("go", "build", "-o", sdnotifyBin, "./testdata/sdnotify")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			sdnotifyErr = err
			sdnotifyBin = string(out)
		}
	})
	if sdnotifyErr != nil {
		t.Skipf("cannot build the sd_notify client: %v %s", sdnotifyErr, sdnotifyBin)
	}
	return sdnotifyBin
}

// NOTIFY_SOCKET: READY=1 sent in the container reaches husk's caller,
// with MAINPID the container's init, and `start` waits for it.
func TestNotifySocket(t *testing.T) {
	if !isHusk() {
		t.Skip("Debian's runc 1.1.5 start never returns in this create/start sd_notify flow")
	}
	e := newEnv(t)
	client := sdnotify(t)
	hostSock := filepath.Join(t.TempDir(), "notify.sock")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: hostSock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	b := e.newBundle(withPrivateRootfs(), withShell(`test "$NOTIFY_SOCKET" = /run/notify/notify.sock && /sdnotify STATUS=starting READY=1; sleep 100`))
	data, _ := os.ReadFile(client)
	os.WriteFile(filepath.Join(b.Rootfs, "sdnotify"), data, 0o755)
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
