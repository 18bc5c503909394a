package integration

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Checkpoint and restore need CRIU that works with the running kernel:
// Debian 12's CRIU 3.17 does on Debian's kernel (the tests/vm guests, where
// `make vm-test` copies it in), not on every host kernel.

var criuUsable = sync.OnceValue(func() string {
	path, err := exec.LookPath("criu")
	if err != nil {
		return "no criu binary in PATH"
	}
	out, err := exec.Command(path, "check").CombinedOutput()
	if err != nil {
		l := lines(string(out))
		why := err.Error()
		if len(l) > 0 {
			why = l[len(l)-1]
		}
		return "`criu check` fails on this kernel: " + why
	}
	return ""
})

// needCriu skips a test that needs a CRIU that works here.
func needCriu(t *testing.T) {
	t.Helper()
	if why := criuUsable(); why != "" {
		t.Skip("needs a working CRIU: " + why)
	}
}

// counter is a workload that prints "PID N" (its pid as it sees it, and a
// count) every 50 ms on stdout; a restored one goes on counting.
const counter = `i=0; while :; do i=$((i+1)); read p x </proc/self/stat; echo "$p $i"; [ -d /out ] && echo "$p $i" >>/out/log; sleep 0.05; done`

// stdioPipes are three pipes for a runtime's (and its container's)
// stdio: the test keeps its ends, and collects what comes out of stdout.
type stdioPipes struct {
	theirs [3]*os.File
	stdin  *os.File // our (write) end
	mu     sync.Mutex
	out    []string // stdout's lines so far
	eof    bool     // every writer of stdout has gone
}

func newStdioPipes(t *testing.T) *stdioPipes {
	t.Helper()
	p := &stdioPipes{}
	var ours [3]*os.File
	for i := range 3 {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			p.theirs[i], ours[i] = r, w
		} else {
			p.theirs[i], ours[i] = w, r
		}
	}
	p.stdin = ours[0]
	go func() {
		s := bufio.NewScanner(ours[1])
		for s.Scan() {
			p.mu.Lock()
			p.out = append(p.out, s.Text())
			p.mu.Unlock()
		}
		p.mu.Lock()
		p.eof = true
		p.mu.Unlock()
	}()
	go func() { // drained, so that nothing blocks on it
		b := make([]byte, 4096)
		for {
			if _, err := ours[2].Read(b); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		for i := range 3 {
			p.theirs[i].Close()
		}
		ours[0].Close()
	})
	return p
}

// closeTheirs closes the runtime's ends once it has run: the container
// holds its own copies.
func (p *stdioPipes) closeTheirs() {
	for i := range 3 {
		p.theirs[i].Close()
	}
}

func (p *stdioPipes) lines() ([]string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.out...), p.eof
}

// waitCount waits for n counter lines on stdout and returns them.
func (p *stdioPipes) waitCount(t *testing.T, n int) []string {
	t.Helper()
	var got []string
	waitFor(t, fmt.Sprintf("%d lines of the counter on stdout", n), func() bool {
		got, _ = p.lines()
		return len(got) >= n
	})
	return got
}

// runWith runs the runtime with the test's --root, its stdio the pipes'.
func (e *env) runWith(p *stdioPipes, args ...string) int {
	e.t.Helper()
	cmd := exec.Command(runtimeBin, append([]string{"--root", e.root}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.theirs[0], p.theirs[1], p.theirs[2]
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return cmd.ProcessState.ExitCode()
		}
		return 0
	case <-time.After(cmdTimeout):
		cmd.Process.Kill()
		e.t.Fatalf("%v did not finish within %v", args, cmdTimeout)
	}
	return -1
}

// criuOK runs checkpoint or restore, which must succeed; on failure the
// end of CRIU's log in dir is shown.
func (e *env) criuOK(dir string, args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.Code != 0 {
		logTail(e.t, dir)
		e.t.Fatalf("expected success: %s", r)
	}
	return r
}

// logTail shows the end of CRIU's logs in dir.
func logTail(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{"dump.log", "restore.log"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		l := lines(string(b))
		t.Logf("%s (last 40 lines):\n%s", f, strings.Join(l[max(0, len(l)-40):], "\n"))
	}
}

// counted parses a counter line "PID N".
func counted(t *testing.T, line string) (pid, n int) {
	t.Helper()
	f := strings.Fields(line)
	if len(f) != 2 {
		t.Fatalf("counter line %q", line)
	}
	pid, err1 := strconv.Atoi(f[0])
	n, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		t.Fatalf("counter line %q", line)
	}
	return pid, n
}

// A running container is checkpointed (it is gone after, its stdout
// closed) and restored under the same id: the counter goes on from where
// it was, in the same process (same pid inside), its output now on the
// restore's stdout; the state is that of a running container.
func TestCheckpointRestoreRunning(t *testing.T) {
	needCriu(t)
	e := newEnv(t)
	b := e.newBundle(withShell(counter))
	p := newStdioPipes(t)
	e.track("cr")
	if code := e.runWith(p, "run", "-d", "--bundle", b.Dir, "cr"); code != 0 {
		t.Fatalf("run -d: exit %d", code)
	}
	p.closeTheirs()
	p.waitCount(t, 3)
	img := filepath.Join(e.dir, "image")
	e.criuOK(img, "checkpoint", "--image-path", img, "cr")
	e.assertGone("cr")
	var before []string
	waitFor(t, "the checkpointed container's stdout to close", func() bool {
		var eof bool
		before, eof = p.lines()
		return eof
	})
	pid0, last := counted(t, before[len(before)-1])
	for _, f := range []string{"descriptors.json", "dump.log", "inventory.img"} {
		if !exists(filepath.Join(img, f)) {
			t.Errorf("image dir lacks %s", f)
		}
	}

	p2 := newStdioPipes(t)
	if code := e.runWith(p2, "restore", "-d", "--bundle", b.Dir, "--image-path", img, "cr"); code != 0 {
		logTail(t, img)
		t.Fatalf("restore -d: exit %d", code)
	}
	p2.closeTheirs()
	st := e.state("cr")
	if st.Status != "running" || st.PID == 0 || st.Bundle != b.Dir {
		t.Errorf("state after restore: %+v", st)
	}
	after := p2.waitCount(t, 3)
	for i, l := range after[:3] {
		pid, n := counted(t, l)
		if pid != pid0 || n != last+1+i {
			t.Errorf("after restore line %d is %q, want \"%d %d\" (the same process counting on)", i, l, pid0, last+1+i)
		}
	}
	// It is an ordinary running container: exec, kill and delete work.
	if out := e.ok("exec", "cr", "cat", "/proc/1/comm").Stdout; strings.TrimSpace(out) != "sh" {
		t.Errorf("exec in the restored container: %q", out)
	}
	e.ok("kill", "cr", "KILL")
	e.waitStatus("cr", "stopped")
	e.ok("delete", "cr")
}
