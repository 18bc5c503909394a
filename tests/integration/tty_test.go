package integration

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// openPty makes a pty pair for the test to play the user's terminal.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	// Non-blocking, so that Go's poller serves it and read deadlines work.
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := os.NewFile(uintptr(fd), "ptmx")
	if err := m.SetReadDeadline(time.Time{}); err != nil {
		t.Fatalf("pty master without deadlines: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// readUntil reads from r until want appears (or the deadline passes).
func readUntil(t *testing.T, r *os.File, want string) string {
	t.Helper()
	r.SetReadDeadline(time.Now().Add(waitTimeout))
	var got strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(got.String(), want) {
		n, err := r.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			t.Fatalf("waiting for %q: %v; got %q", want, err, got.String())
		}
	}
	return got.String()
}

// consoleReceiver listens on a unix socket, as a client of --console-socket
// does, and returns the path and a channel with the pty master received.
func consoleReceiver(t *testing.T) (string, <-chan *os.File) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing may wait for ever: with no connection in a minute, the channel
	// closes and the test fails saying so.
	l.(*net.UnixListener).SetDeadline(time.Now().Add(4 * waitTimeout))
	ch := make(chan *os.File, 1)
	go func() {
		defer l.Close()
		conn, err := l.Accept()
		if err != nil {
			close(ch)
			return
		}
		defer conn.Close()
		f, _ := conn.(*net.UnixConn).File()
		defer f.Close()
		buf := make([]byte, 256)
		oob := make([]byte, unix.CmsgSpace(4))
		_, oobn, _, _, err := unix.Recvmsg(int(f.Fd()), buf, oob, 0)
		if err != nil {
			close(ch)
			return
		}
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		if len(msgs) == 1 {
			if fds, err := unix.ParseUnixRights(&msgs[0]); err == nil && len(fds) == 1 {
				ch <- os.NewFile(uintptr(fds[0]), "pty master")
				return
			}
		}
		close(ch)
	}()
	return path, ch
}

func withTerminal(s *specs.Spec) {
	s.Process.Terminal = true
	s.Process.Args = []string{"sh"}
}

// A shell driven over --console-socket: the master arrives, input reaches
// the shell, its output comes back, and its tty is /dev/console's pty.
func TestConsoleSocketShell(t *testing.T) {
	e := newEnv(t)
	sock, masters := consoleReceiver(t)
	b := e.newBundle(withSpec(withTerminal), withSpec(func(s *specs.Spec) {
		s.Process.ConsoleSize = &specs.Box{Height: 33, Width: 99}
	}))
	e.runDetached(b, "tty1", "--console-socket", sock)
	master, ok := <-masters
	if !ok {
		t.Fatal("no pty master came over the console socket")
	}
	defer master.Close()
	master.WriteString("stty size; tty; stat -c %t /dev/console; echo marker-$((6*7)); exit\n")
	out := readUntil(t, master, "marker-42")
	for _, want := range []string{"33 99", "/dev/pts/0", "88"} {
		if !strings.Contains(out, want) {
			t.Errorf("shell output %q lacks %q (size, tty name, /dev/console major 136=0x88)", out, want)
		}
	}
	e.waitStatus("tty1", "stopped")
}

// A foreground run with a terminal proxies the caller's terminal: input,
// output, size, SIGWINCH and the exit code.
func TestRunTerminalForeground(t *testing.T) {
	e := newEnv(t)
	master, slave := openPty(t)
	unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 20, Col: 70})
	b := e.newBundle(withSpec(withTerminal))
	e.track("ttyfg")
	cmd := newCmd(e, "run", "--bundle", b.Dir, "ttyfg")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	master.WriteString("stty size; echo ready-$((2*3))\n")
	if out := readUntil(t, master, "ready-6"); !strings.Contains(out, "20 70") {
		t.Errorf("the container's pty did not get the caller's size 20x70: %q", out)
	}
	// Resize the outer terminal: husk passes it on at SIGWINCH.
	unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120})
	cmd.Process.Signal(syscall.SIGWINCH)
	// The shell polls its size until the resize arrives (or readUntil's
	// deadline passes).
	master.WriteString("until [ \"$(stty size)\" = '40 120' ]; do sleep 0.01; done; echo resized-$((6*7)); exit 7\n")
	readUntil(t, master, "resized-42")
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 7 {
		t.Errorf("exit code %d (%v), want 7", code, err)
	}
}

// exec -t into a running container under the caller's terminal.
func TestExecTty(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "ttyexec")
	master, slave := openPty(t)
	cmd := newCmd(e, "exec", "-t", "ttyexec", "sh")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	master.WriteString("tty; echo x-$((5*5)); exit 4\n")
	out := readUntil(t, master, "x-25")
	if !strings.Contains(out, "/dev/pts/") {
		t.Errorf("exec -t shell has no tty: %q", out)
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 4 {
		t.Errorf("exit code %d, want 4", code)
	}
}

// A terminal needs somewhere to go; a console socket needs a terminal.
func TestTerminalFlagErrors(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withSpec(withTerminal))
	e.track("noterm1")
	// Each runtime names itself.
	name := filepath.Base(runtimeBin)
	e.failsWith("cannot allocate tty if "+name+" will detach without setting console socket", "create", "--bundle", b.Dir, "noterm1")
	e.assertNoTrace(b, "noterm1")
	plain := e.newBundle(withArgs("true"))
	sock, _ := consoleReceiver(t)
	e.track("noterm2")
	e.failsWith("cannot use console socket if "+name+" will not detach or allocate tty", "create", "--bundle", plain.Dir, "--console-socket", sock, "noterm2")
	e.assertNoTrace(plain, "noterm2")
}

// newCmd is the runtime with the test's --root, for tests that need to
// wire its stdio themselves (to a pty).
func newCmd(e *env, args ...string) *exec.Cmd {
	cmd := exec.Command(runtimeBin, append([]string{"--root", e.root}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	return cmd
}

// --pidfd-socket receives a pidfd of the init (run) or of the exec'd
// process (exec): signalling it reaches that process.
func TestPidfdSocket(t *testing.T) {
	e := newEnv(t)
	sock, fds := consoleReceiver(t)
	b := e.newBundle(withArgs("sleep", "100"))
	e.runDetached(b, "pidfd", "--pidfd-socket", sock)
	pidfd, ok := <-fds
	if !ok {
		t.Fatal("no pidfd received")
	}
	defer pidfd.Close()
	if err := unix.PidfdSendSignal(int(pidfd.Fd()), unix.SIGKILL, nil, 0); err != nil {
		t.Fatalf("pidfd_send_signal: %v", err)
	}
	e.waitStatus("pidfd", "stopped")

	runningContainer(e, "pidfd2")
	sock2, fds2 := consoleReceiver(t)
	e.ok("exec", "-d", "--pidfd-socket", sock2, "pidfd2", "sleep", "100")
	execfd, ok := <-fds2
	if !ok {
		t.Fatal("no pidfd received for exec")
	}
	defer execfd.Close()
	if err := unix.PidfdSendSignal(int(execfd.Fd()), unix.SIGKILL, nil, 0); err != nil {
		t.Fatalf("pidfd_send_signal to the exec'd process: %v", err)
	}
	if e.state("pidfd2").Status != "running" {
		t.Error("killing the exec'd process through its pidfd stopped the container")
	}
}

// waitRaw waits until the runtime has put its terminal (the caller's pty,
// whose slave is slave) in raw input mode: from then on, what the test
// types reaches the container unechoed.
func waitRaw(t *testing.T, slave *os.File) {
	t.Helper()
	waitFor(t, "the runtime to put its terminal in raw mode", func() bool {
		tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
		return err == nil && tio.Lflag&(unix.ECHO|unix.ICANON) == 0
	})
}

// A foreground run -t or exec -t proxies the container's pty with its
// ONLCR cleared, as runc does: the workload's "\n" reaches a caller whose
// stdout is a pipe as "\n", not "\r\n". On the caller's own terminal
// (raw input, output processing kept, as runc leaves it) each "\n" is
// "\r\n" once, from that terminal alone.
func TestTerminalNoCRLF(t *testing.T) {
	e := newEnv(t)
	script := `read x; printf 'one\ntwo\nthree-END'`
	check := func(what string, toPipe bool, args ...string) {
		t.Helper()
		master, slave := openPty(t)
		cmd := newCmd(e, args...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		var pr *os.File
		if toPipe {
			var pw *os.File
			var err error
			if pr, pw, err = os.Pipe(); err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			defer pw.Close()
			cmd.Stdout, cmd.Stderr = pw, pw
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitRaw(t, slave)
		master.WriteString("go\n")
		var out string
		if toPipe {
			out = readUntil(t, pr, "three-END")
		} else {
			out = readUntil(t, master, "three-END")
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("%s: %v", what, err)
		}
		want := "one\ntwo\nthree-END"
		if !toPipe {
			want = "one\r\ntwo\r\nthree-END"
		}
		if !strings.HasSuffix(out, want) || strings.Count(out, "\r") != strings.Count(want, "\r")+strings.Count(out, "go\r\n") {
			t.Errorf("%s printed %q, want it to end in %q", what, out, want)
		}
	}
	b := e.newBundle(withShell(script), withSpec(func(s *specs.Spec) { s.Process.Terminal = true }))
	for i, toPipe := range []bool{true, false} {
		id := fmt.Sprintf("crlf%d", i)
		e.track(id)
		check(fmt.Sprintf("run -t (stdout a pipe: %v)", toPipe), toPipe, "run", "--bundle", b.Dir, id)
	}
	runningContainer(e, "crlfx")
	for _, toPipe := range []bool{true, false} {
		check(fmt.Sprintf("exec -t (stdout a pipe: %v)", toPipe), toPipe, "exec", "-t", "crlfx", "sh", "-c", script)
	}
}

// The container's pty belongs to the process's user (its group is the
// devpts mount's gid=5), for the init and an exec'd process, with and
// without a user namespace.
func TestTerminalOwner(t *testing.T) {
	for _, userns := range []bool{false, true} {
		name := "host"
		if userns {
			name = "userns"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			sock, masters := consoleReceiver(t)
			b := e.newBundle(withShell(`stat -c "init-owner %u:%g" $(tty); sleep 100`), withSpec(func(s *specs.Spec) {
				s.Process.Terminal = true
				s.Process.User = specs.User{UID: testUID, GID: testGID}
				if userns {
					s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
					s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 500000, Size: 65536}}
					s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 500000, Size: 65536}}
				}
			}))
			e.runDetached(b, "owner", "--console-socket", sock)
			master, ok := <-masters
			if !ok {
				t.Fatal("no pty master came over the console socket")
			}
			defer master.Close()
			if out := readUntil(t, master, "\n"); !strings.Contains(out, "init-owner 1000:5") {
				t.Errorf("the init's pty: %q, want owner 1000:5", out)
			}
			sock2, masters2 := consoleReceiver(t)
			e.ok("exec", "-d", "-t", "--console-socket", sock2, "-u", "2000:2000", "owner",
				"sh", "-c", `stat -c "exec-owner %u:%g" $(tty); sleep 100`)
			m2, ok := <-masters2
			if !ok {
				t.Fatal("no pty master came over the exec's console socket")
			}
			defer m2.Close()
			if out := readUntil(t, m2, "\n"); !strings.Contains(out, "exec-owner 2000:5") {
				t.Errorf("the exec'd process's pty: %q, want owner 2000:5", out)
			}
		})
	}
}
