package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/tests/testutil"
)

// Checkpoint and restore need CRIU that works with the running kernel:
// Debian 12's CRIU 3.17 does on Debian's kernel (the tests/vm guests, where
// `make vm-test` copies it in), not on every host kernel.

// needCriu skips a test that needs a CRIU that works here.
func needCriu(t *testing.T) {
	t.Helper()
	if why := testutil.CriuUnusable(); why != "" {
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
	errOut []string // stderr's
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
	go func() {
		s := bufio.NewScanner(ours[2])
		for s.Scan() {
			p.mu.Lock()
			p.errOut = append(p.errOut, s.Text())
			p.mu.Unlock()
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
	global := []string{"--root", e.root}
	if systemdCgroup {
		global = append(global, "--systemd-cgroup")
	}
	cmd := exec.Command(runtimeBin, append(global, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.theirs[0], p.theirs[1], p.theirs[2]
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			// What it said on stderr (its reader may lag a little).
			var said []string
			for deadline := time.Now().Add(time.Second); len(said) == 0 && time.Now().Before(deadline); time.Sleep(pollEvery) {
				p.mu.Lock()
				said = append([]string(nil), p.errOut...)
				p.mu.Unlock()
			}
			e.t.Logf("%v: %v; stderr: %q", args, err, said)
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

// pathWithCriu is a PATH whose first directory holds only "criu" pointing
// at bin, or (bin "") holds nothing: CRIU then is not found.
func pathWithCriu(t *testing.T, bin string) string {
	t.Helper()
	dir := t.TempDir()
	if bin != "" {
		if err := os.Symlink(bin, filepath.Join(dir, "criu")); err != nil {
			t.Fatal(err)
		}
	}
	path := dir
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if !exists(filepath.Join(d, "criu")) {
			path += ":" + d
		}
	}
	return "PATH=" + path
}

// runCounter runs the counter detached with its stdio on new pipes.
func (e *env) runCounter(b *bundle, id string) *stdioPipes {
	e.t.Helper()
	p := newStdioPipes(e.t)
	e.track(id)
	if code := e.runWith(p, "run", "-d", "--bundle", b.Dir, id); code != 0 {
		e.t.Fatalf("run -d %s: exit %d", id, code)
	}
	p.closeTheirs()
	p.waitCount(e.t, 2)
	return p
}

// restoreCounter restores id from img with its stdio on new pipes.
func (e *env) restoreCounter(b *bundle, img, id string, extra ...string) *stdioPipes {
	e.t.Helper()
	p := newStdioPipes(e.t)
	e.track(id)
	args := append([]string{"restore", "-d", "--bundle", b.Dir, "--image-path", img}, extra...)
	if code := e.runWith(p, append(args, id)...); code != 0 {
		logTail(e.t, img)
		for _, a := range extra {
			if w, ok := strings.CutPrefix(a, "--work-path="); ok {
				logTail(e.t, w)
			}
		}
		e.t.Fatalf("restore %s: exit %d", id, code)
	}
	p.closeTheirs()
	return p
}

// lastCount waits for the checkpointed counter's stdout to close (the
// process is gone) and returns its last count.
func lastCount(t *testing.T, p *stdioPipes) (pid, n int) {
	t.Helper()
	var got []string
	waitFor(t, "the checkpointed container's stdout to close", func() bool {
		var eof bool
		got, eof = p.lines()
		return eof
	})
	return counted(t, got[len(got)-1])
}

// countsOn checks that the restored counter goes on from last.
func countsOn(t *testing.T, p *stdioPipes, pid0, last int) {
	t.Helper()
	after := p.waitCount(t, 2)
	for i, l := range after[:2] {
		pid, n := counted(t, l)
		if pid != pid0 || n != last+1+i {
			t.Errorf("after restore line %d is %q, want \"%d %d\" (the same process counting on)", i, l, pid0, last+1+i)
		}
	}
}

// --leave-running: the container goes on running after its checkpoint
// (--work-path gets CRIU's log instead of the image dir); once it is
// deleted, the images restore into a new id.
func TestCheckpointLeaveRunningRestoreNewID(t *testing.T) {
	needCriu(t)
	e := newEnv(t)
	b := e.newBundle(withShell(counter))
	p := e.runCounter(b, "orig")
	img, work := filepath.Join(e.dir, "image"), filepath.Join(e.dir, "work")
	e.criuOK(work, "checkpoint", "--leave-running", "--image-path", img, "--work-path", work, "orig")
	if !exists(filepath.Join(work, "dump.log")) || exists(filepath.Join(img, "dump.log")) {
		t.Errorf("dump.log is not in --work-path only")
	}
	if st := e.state("orig"); st.Status != "running" {
		t.Fatalf("after checkpoint --leave-running: %+v", st)
	}
	n0 := len(p.waitCount(t, 1))
	p.waitCount(t, n0+2) // still counting
	e.ok("delete", "--force", "orig")
	pid0, last := lastCount(t, p)
	if last < n0 {
		t.Fatalf("last count %d", last)
	}
	// The images are of the instant of the checkpoint: the restored
	// counter goes on from then, whatever the original did after.
	p2 := e.restoreCounter(b, img, "copy", "--work-path", work)
	if st := e.state("copy"); st.Status != "running" || st.ID != "copy" {
		t.Errorf("restored into a new id: %+v", st)
	}
	got := p2.waitCount(t, 2)
	if pid, n := counted(t, got[0]); pid != pid0 || n > n0 {
		t.Errorf("restored counter starts at %q: want pid %d and a count at most %d (the checkpoint's)", got[0], pid0, n0)
	}
	if !exists(filepath.Join(work, "restore.log")) {
		t.Errorf("restore.log is not in --work-path")
	}
	e.ok("delete", "--force", "copy")
}

// --pre-dump leaves the container running; a final dump with
// --parent-path (relative to --image-path) and --auto-dedup takes only
// what changed, and restores (with --auto-dedup).
func TestCheckpointPreDumpParentPath(t *testing.T) {
	needCriu(t)
	e := newEnv(t)
	b := e.newBundle(withShell(counter))
	p := e.runCounter(b, "pre")
	parent, img := filepath.Join(e.dir, "parent"), filepath.Join(e.dir, "image")
	e.criuOK(parent, "checkpoint", "--pre-dump", "--image-path", parent, "pre")
	if st := e.state("pre"); st.Status != "running" {
		t.Fatalf("after --pre-dump: %+v", st)
	}
	if exists(filepath.Join(parent, "descriptors.json")) {
		t.Errorf("a pre-dump wrote descriptors.json")
	}
	n := len(p.waitCount(t, 1))
	p.waitCount(t, n+1)
	e.criuOK(img, "checkpoint", "--parent-path", "../parent", "--auto-dedup", "--image-path", img, "pre")
	e.assertGone("pre")
	if l, err := os.Readlink(filepath.Join(img, "parent")); err != nil || l != "../parent" {
		t.Errorf("image dir's parent link: %q %v", l, err)
	}
	pid0, last := lastCount(t, p)
	p2 := e.restoreCounter(b, img, "pre", "--auto-dedup")
	countsOn(t, p2, pid0, last)
	e.ok("delete", "--force", "pre")
}

// A container with a terminal: the pty master went to --console-socket at
// run; after restore a new master comes to restore's --console-socket, on
// the same shell (its variables kept).
func TestCheckpointRestoreTerminal(t *testing.T) {
	needCriu(t)
	e := newEnv(t)
	b := e.newBundle(withSpec(withTerminal))
	sock, masters := consoleReceiver(t)
	e.runDetached(b, "tty", "--console-socket", sock)
	master, ok := <-masters
	if !ok {
		t.Fatal("no pty master at run")
	}
	master.WriteString("X=kept-$((6*7)); echo $X\n")
	readUntil(t, master, "kept-42")
	img := filepath.Join(e.dir, "image")
	e.criuOK(img, "checkpoint", "--image-path", img, "tty")
	master.Close()
	e.assertGone("tty")
	sock2, masters2 := consoleReceiver(t)
	e.track("tty")
	r := e.run("restore", "-d", "--console-socket", sock2, "--bundle", b.Dir, "--image-path", img, "tty")
	if r.Code != 0 {
		logTail(t, img)
		t.Fatalf("restore: %s", r)
	}
	m2, ok := <-masters2
	if !ok {
		t.Fatal("no pty master came to restore's --console-socket")
	}
	defer m2.Close()
	m2.WriteString("echo again-$X; tty\n")
	out := readUntil(t, m2, "again-kept-42")
	if !strings.Contains(readUntil(t, m2, "/dev/pts/"), "/dev/pts/") {
		t.Errorf("no tty after restore: %q", out)
	}
	e.ok("delete", "--force", "tty")
}

// Bind mounts (a directory, read-write; a file, read-only; one inside the
// other) and masked paths (a file and a directory) are described to CRIU
// as external: after restore they are the host's again, and a mount point
// removed meanwhile is made again.
func TestCheckpointRestoreBindMountsMaskedPaths(t *testing.T) {
	needCriu(t)
	e := newEnv(t)
	host := t.TempDir()
	inner := t.TempDir()
	file := filepath.Join(t.TempDir(), "hostfile")
	if err := os.WriteFile(file, []byte("from-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(host, 0o777)
	b := e.newBundle(withShell(counter), withSpec(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/data", Type: "bind", Source: host, Options: []string{"rbind", "rw"}},
			specs.Mount{Destination: "/data/inner", Type: "bind", Source: inner, Options: []string{"rbind", "rw"}},
			specs.Mount{Destination: "/etc/hostfile", Type: "bind", Source: file, Options: []string{"bind", "ro"}})
		s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/etc/hostfile-masked", "/proc/kcore", "/sys/firmware")
	}))
	p := e.runCounter(b, "mnt")
	img := filepath.Join(e.dir, "image")
	e.criuOK(img, "checkpoint", "--image-path", img, "mnt")
	pid0, last := lastCount(t, p)
	// The mount point in the bind mount's source goes: restore makes it.
	if err := os.Remove(filepath.Join(host, "inner")); err != nil {
		t.Fatal(err)
	}
	p2 := e.restoreCounter(b, img, "mnt")
	countsOn(t, p2, pid0, last)
	if err := os.WriteFile(filepath.Join(host, "new"), []byte("written-after\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(inner, "new"), []byte("inner-after\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := e.ok("exec", "mnt", "sh", "-c", "cat /data/new /data/inner/new /etc/hostfile; wc -c </proc/kcore; ls /sys/firmware | wc -l; echo x >/etc/hostfile || echo ro").Stdout
	want := "written-after\ninner-after\nfrom-host\n0\n0\nro\n"
	if strings.ReplaceAll(out, " ", "") != want {
		t.Errorf("in the restored container: %q, want %q", out, want)
	}
	e.ok("delete", "--force", "mnt")
}

// --manage-cgroups-mode, each value: the checkpoint leaves no cgroup, the
// restored container is in its cgroup with its limits (pids.max). strict
// restores only into cgroups that do not exist (see below).
func TestCheckpointManageCgroupsMode(t *testing.T) {
	needCriu(t)
	for _, mode := range []string{"soft", "full", "strict", "ignore"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t)
			limit := int64(77)
			b := e.newBundle(withShell(counter), withSpec(func(s *specs.Spec) {
				s.Linux.Resources.Pids = &specs.LinuxPids{Limit: &limit}
			}))
			p := e.runCounter(b, "cg")
			img := filepath.Join(e.dir, "image")
			e.criuOK(img, "checkpoint", "--manage-cgroups-mode", mode, "--image-path", img, "cg")
			if dirs := cgroupDirs(b.Cgroup); len(dirs) != 0 {
				t.Errorf("the checkpointed container's cgroup is left: %v", dirs)
			}
			pid0, last := lastCount(t, p)
			restoreMode := mode
			if mode == "strict" {
				// CRIU's strict mode restores the cgroups it dumped and
				// refuses ones that exist: the runtime (runc as husk) has
				// made the container's and put CRIU in it. Refused, with
				// nothing left; a soft restore of the images works.
				b2 := e.newBundle(withShell(counter))
				r := e.run("restore", "-d", "--manage-cgroups-mode", mode, "--bundle", b2.Dir, "--image-path", img, "cg")
				if r.Code != 1 || !strings.Contains(r.Stderr, "Abort restore of existing cgroups") {
					t.Errorf("restore --manage-cgroups-mode strict: %s", r)
				}
				e.assertNoTrace2(b2, "cg")
				restoreMode = "soft"
			}
			p2 := e.restoreCounter(b, img, "cg", "--manage-cgroups-mode", restoreMode)
			countsOn(t, p2, pid0, last)
			pid := e.state("cg").PID
			dir := containerCgroupDir(t, pid, "pids.max")
			if b, err := os.ReadFile(filepath.Join(dir, "pids.max")); err != nil || strings.TrimSpace(string(b)) != "77" {
				t.Errorf("restored container's pids.max in %s: %q %v", dir, b, err)
			}
			e.ok("delete", "--force", "cg")
		})
	}
}

// The prestart and createRuntime hooks run at restore (in the runtime's
// namespace, with the restored process's pid), as at create.
func TestRestoreRunsHooks(t *testing.T) {
	needCriu(t)
	e := newEnv(t)
	log := filepath.Join(e.dir, "hooks.log")
	hook := func(name string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "read s; echo " + name + " \"$s\" >>" + log}}
	}
	b := e.newBundle(withShell(counter), withSpec(func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{
			//lint:ignore SA1019 prestart hooks are deprecated but still in the runtime-spec: runtimes run them
			Prestart:      []specs.Hook{hook("prestart")},
			CreateRuntime: []specs.Hook{hook("createRuntime")},
		}
	}))
	p := e.runCounter(b, "hk")
	img := filepath.Join(e.dir, "image")
	e.criuOK(img, "checkpoint", "--image-path", img, "hk")
	lastCount(t, p)
	if err := os.Remove(log); err != nil {
		t.Fatal(err)
	}
	e.restoreCounter(b, img, "hk")
	pid := e.state("hk").PID
	got := lines(readFile(t, log))
	if len(got) != 2 || !strings.HasPrefix(got[0], "prestart ") || !strings.HasPrefix(got[1], "createRuntime ") {
		t.Fatalf("hooks at restore: %q", got)
	}
	for _, l := range got {
		var st specs.State
		if err := json.Unmarshal([]byte(l[strings.IndexByte(l, ' ')+1:]), &st); err != nil {
			t.Fatalf("hook state %q: %v", l, err)
		}
		if st.ID != "hk" || st.Pid != pid || st.Bundle != b.Dir {
			t.Errorf("hook state %+v: want id hk, pid %d, bundle %s", st, pid, b.Dir)
		}
	}
	e.ok("delete", "--force", "hk")
}

// A container that joined a network namespace by path: CRIU records it
// as external at checkpoint, and restore hands the same one back.
func TestCheckpointRestoreJoinedNetns(t *testing.T) {
	needCriu(t)
	e := newEnv(t)
	holder := e.newBundle(withShell(waitForever))
	e.runDetached(holder, "holder")
	netns := fmt.Sprintf("/proc/%d/ns/net", e.state("holder").PID)
	want, err := os.Readlink(netns)
	if err != nil {
		t.Fatal(err)
	}
	b := e.newBundle(withShell(counter), withSpec(func(s *specs.Spec) {
		for i, ns := range s.Linux.Namespaces {
			if ns.Type == specs.NetworkNamespace {
				s.Linux.Namespaces[i].Path = netns
			}
		}
	}))
	p := e.runCounter(b, "joined")
	img := filepath.Join(e.dir, "image")
	e.criuOK(img, "checkpoint", "--image-path", img, "joined")
	pid0, last := lastCount(t, p)
	p2 := e.restoreCounter(b, img, "joined")
	countsOn(t, p2, pid0, last)
	got, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", e.state("joined").PID))
	if err != nil || got != want {
		t.Errorf("restored container's network namespace %q (%v), want the holder's %q", got, err, want)
	}
	e.ok("delete", "--force", "joined")
	e.ok("delete", "--force", "holder")
}

// restore in the foreground waits for the container, exits with its exit
// status and deletes it; --pid-file names the restored init. The other
// flags CRIU takes are passed through (and change nothing here).
func TestRestoreForegroundFlags(t *testing.T) {
	needCriu(t)
	e := newEnv(t)
	b := e.newBundle(withShell(`i=0; while [ $i -lt 60 ]; do i=$((i+1)); read p x </proc/self/stat; echo "$p $i"; sleep 0.05; done; exit 3`))
	p := e.runCounter(b, "fg")
	img := filepath.Join(e.dir, "image")
	e.criuOK(img, "checkpoint", "--tcp-established", "--tcp-skip-in-flight", "--link-remap", "--ext-unix-sk",
		"--shell-job", "--file-locks", "--empty-ns", "network", "--image-path", img, "fg")
	_, last := lastCount(t, p)
	if last >= 60 {
		t.Skip("the counter ended before the checkpoint")
	}
	p2 := newStdioPipes(t)
	pidFile := filepath.Join(e.dir, "pid")
	e.track("fg")
	code := e.runWith(p2, "restore", "--tcp-established", "--ext-unix-sk", "--file-locks",
		"--empty-ns", "network", "--no-subreaper", "--no-pivot", "--pid-file", pidFile,
		"--bundle", b.Dir, "--image-path", img, "fg")
	p2.closeTheirs()
	if code != 3 {
		logTail(t, img)
		t.Errorf("foreground restore exited %d, want the container's 3", code)
	}
	got := p2.waitCount(t, 60-last)
	if _, n := counted(t, got[len(got)-1]); n != 60 {
		t.Errorf("the restored counter ended at %q", got[len(got)-1])
	}
	if s := strings.TrimSpace(readFile(t, pidFile)); s == "" || s == "0" {
		t.Errorf("--pid-file: %q", s)
	}
	e.assertGone("fg")
}

// A checkpoint that fails (a page server nobody listens on; or a CRIU
// that does not work here) with --leave-running leaves the container
// running and usable.
func TestCheckpointFailedLeavesRunning(t *testing.T) {
	if _, err := exec.LookPath("criu"); err != nil {
		t.Skip("needs a criu binary (working or not)")
	}
	e := newEnv(t)
	b := e.newBundle(withShell(counter))
	p := e.runCounter(b, "lr")
	img := filepath.Join(e.dir, "image")
	r := e.run("checkpoint", "--leave-running", "--page-server", "127.0.0.1:1", "--image-path", img, "lr")
	if r.Code != 1 || !strings.Contains(errText(r), "criu") {
		t.Errorf("checkpoint to a page server nobody listens on: %s", r)
	}
	if st := e.state("lr"); st.Status != "running" {
		t.Fatalf("after a failed checkpoint: %+v", st)
	}
	n := len(p.waitCount(t, 1))
	p.waitCount(t, n+2)
	if out := e.ok("exec", "lr", "echo", "usable").Stdout; out != "usable\n" {
		t.Errorf("exec after a failed checkpoint: %q", out)
	}
	if dirs := mountsUnder(e.root); len(dirs) != 0 {
		t.Errorf("mounts left: %v", dirs)
	}
	e.ok("delete", "--force", "lr")
}

// Without CRIU, or with one too old: one line naming what is missing and
// the version needed; the container is left as it was, a restore leaves
// nothing.
func TestCheckpointNoCriu(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withShell(counter))
	p := e.runCounter(b, "nc")
	img := filepath.Join(e.dir, "image")
	for _, c := range []struct {
		name, bin, husk, runc string
	}{
		{"missing", "", "checkpoint/restore needs CRIU 3.17 or later: no criu binary in $PATH", `executable file not found in $PATH`},
		{"too old", buildHelper(t, "oldcriu"), "checkpoint/restore needs CRIU 3.17 or later: criu is 2.9", "CRIU version 20900 must be 30000 or higher"},
	} {
		path := pathWithCriu(t, c.bin)
		r := e.runOpts(invokeOpts{env: []string{path}}, "checkpoint", "--leave-running", "--image-path", img, "nc")
		want := huskOrRunc(c.husk, c.runc)
		if r.Code != 1 || !strings.Contains(errText(r), want) {
			t.Errorf("%s: checkpoint: want %q: %s", c.name, want, r)
		}
		if isHusk() && len(lines(r.Stderr)) != 1 {
			t.Errorf("%s: not one line: %q", c.name, r.Stderr)
		}
		if st := e.state("nc"); st.Status != "running" {
			t.Fatalf("%s: after the failed checkpoint: %+v", c.name, st)
		}
		// restore of a (fake) image: refused, nothing made.
		os.WriteFile(filepath.Join(img, "descriptors.json"), []byte(`["/dev/null","/dev/null","/dev/null"]`), 0o600)
		b2 := e.newBundle(withShell(counter))
		r = e.runOpts(invokeOpts{env: []string{path}}, "restore", "-d", "--bundle", b2.Dir, "--image-path", img, "nc2")
		if r.Code != 1 || !strings.Contains(errText(r), want) {
			t.Errorf("%s: restore: want %q: %s", c.name, want, r)
		}
		e.assertNoTrace2(b2, "nc2")
	}
	n := len(p.waitCount(t, 1))
	p.waitCount(t, n+1)
	e.ok("delete", "--force", "nc")
}

// assertNoTrace2 is assertNoTrace where other containers of the test
// still run: only id's state, and the bundle's cgroup, processes and
// mounts.
func (e *env) assertNoTrace2(b *bundle, id string) {
	e.t.Helper()
	if exists(filepath.Join(e.root, id)) {
		e.t.Errorf("state dir for %q left behind", id)
	}
	for _, d := range cgroupDirs(b.Cgroup) {
		e.t.Errorf("cgroup dir left behind: %s", d)
	}
	for _, p := range processesUnder([]string{b.Dir}, []string{b.Cgroup}) {
		e.t.Errorf("process left behind: %s", p)
	}
	for _, m := range append(mountsUnder(b.Dir), mountsUnder(e.root)...) {
		e.t.Errorf("mount left behind: %s", m)
	}
}

// Checkpoint of a container that is not running, or not there; bad flag
// values: one line, exit 1, the container as it was.
func TestCheckpointBadInput(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withShell(counter))
	e.create(b, "created")
	img := filepath.Join(e.dir, "image")
	e.failsWith("cannot be checkpointed in created state", "checkpoint", "--image-path", img, "created")
	if exists(img) {
		t.Errorf("a refused checkpoint made the image dir")
	}
	e.ok("delete", "--force", "created")
	e.failsWith("container does not exist", "checkpoint", "--image-path", img, "nosuch")
	stopped := e.newBundle(withShell("true"))
	e.create(stopped, "stopped")
	e.ok("start", "stopped")
	e.waitStatus("stopped", "stopped")
	e.failsWith("cannot be checkpointed in stopped state", "checkpoint", "--image-path", img, "stopped")
	e.ok("delete", "stopped")

	p := e.runCounter(b, "run")
	e.failsWith(huskOrRunc(`--empty-ns: namespace "pid" is not supported`, `namespace "pid" is not supported`),
		"checkpoint", "--empty-ns", "pid", "--image-path", img, "run")
	e.failsWith("--parent-path must be relative", "checkpoint", "--parent-path", "/abs", "--image-path", img, "run")
	e.failsWith(huskOrRunc("use ADDRESS:PORT", "Use --page-server ADDRESS:PORT"), "checkpoint", "--page-server", "nocolon", "--image-path", img, "run")
	e.failsWith(huskOrRunc(`--manage-cgroups-mode: "bogus" is not one of soft, full, strict, ignore`, "invalid manage-cgroups-mode value"),
		"checkpoint", "--manage-cgroups-mode", "bogus", "--image-path", img, "run")
	if st := e.state("run"); st.Status != "running" {
		t.Fatalf("after refused checkpoints: %+v", st)
	}
	n := len(p.waitCount(t, 1))
	p.waitCount(t, n+1)
	e.ok("delete", "--force", "run")
}

// Restore onto an id that exists, from a missing or corrupt image dir:
// refused, and nothing is left (no state, cgroup, mount, process); the
// existing container is untouched.
func TestRestoreBadInput(t *testing.T) {
	if _, err := exec.LookPath("criu"); err != nil {
		t.Skip("needs a criu binary (runc asks it its version first)")
	}
	e := newEnv(t)
	b := e.newBundle(withShell(counter))
	p := e.runCounter(b, "there")
	img := filepath.Join(e.dir, "image")
	if err := os.Mkdir(img, 0o700); err != nil {
		t.Fatal(err)
	}
	e.failsWith("container with given ID already exists", "restore", "-d", "--bundle", b.Dir, "--image-path", img, "there")
	if st := e.state("there"); st.Status != "running" {
		t.Fatalf("the existing container after a refused restore: %+v", st)
	}
	n := len(p.waitCount(t, 1))
	p.waitCount(t, n+1)

	b2 := e.newBundle(withShell(counter))
	missing := filepath.Join(e.dir, "missing")
	e.failsWith("no such file or directory", "restore", "-d", "--bundle", b2.Dir, "--image-path", missing, "new")
	e.assertNoTrace2(b2, "new")
	if isHusk() && exists(missing) {
		// runc 1.5.3 makes the image dir (MkdirAll) before it fails.
		t.Errorf("a failed restore made the image dir")
	}
	if err := os.WriteFile(filepath.Join(img, "descriptors.json"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.failsWith("invalid character", "restore", "-d", "--bundle", b2.Dir, "--image-path", img, "new")
	e.assertNoTrace2(b2, "new")
	e.failsWith(huskOrRunc(`--manage-cgroups-mode: "bogus" is not one of soft, full, strict, ignore`, "invalid manage-cgroups-mode value"),
		"restore", "-d", "--manage-cgroups-mode", "bogus", "--bundle", b2.Dir, "--image-path", img, "new")
	e.assertNoTrace2(b2, "new")
	e.ok("delete", "--force", "there")
}

// A checkpoint's images that are damaged (a truncated image file): CRIU
// fails the restore, and nothing is left.
func TestRestoreCorruptImage(t *testing.T) {
	needCriu(t)
	e := newEnv(t)
	b := e.newBundle(withShell(counter))
	p := e.runCounter(b, "cor")
	img := filepath.Join(e.dir, "image")
	e.criuOK(img, "checkpoint", "--image-path", img, "cor")
	lastCount(t, p)
	for _, f := range []string{"pstree.img", "inventory.img"} {
		if err := os.Truncate(filepath.Join(img, f), 3); err != nil {
			t.Fatal(err)
		}
	}
	r := e.run("restore", "-d", "--bundle", b.Dir, "--image-path", img, "cor")
	if r.Code != 1 || !strings.Contains(strings.ToLower(errText(r)), "criu") {
		t.Errorf("restore of damaged images: %s", r)
	}
	if isHusk() && len(lines(r.Stderr)) != 1 {
		t.Errorf("not one line: %q", r.Stderr)
	}
	e.assertNoTrace(b, "cor")
}

// As runc's, a container's init (and an exec'd process) leads a session
// of its own: CRIU dumps only a tree whose session leader it sees.
func TestRunSessionLeader(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withShell("read a b c d e f g </proc/self/stat; echo $a $e $f; " + waitForever))
	p := newStdioPipes(t)
	e.track("sid")
	if code := e.runWith(p, "run", "-d", "--bundle", b.Dir, "sid"); code != 0 {
		t.Fatalf("run -d: exit %d", code)
	}
	p.closeTheirs()
	if got := p.waitCount(t, 1)[0]; got != "1 1 1" {
		t.Errorf("init's pid, process group and session: %q, want \"1 1 1\"", got)
	}
	out := strings.Fields(e.ok("exec", "sid", "sh", "-c", "read a b c d e f g </proc/self/stat; echo $a $e $f").Stdout)
	if len(out) != 3 || out[0] != out[1] || out[0] != out[2] {
		t.Errorf("exec'd process's pid, process group and session: %v, want all the same", out)
	}
	e.ok("delete", "--force", "sid")
}

// --lazy-pages with --page-server and --status-fd: the checkpoint serves
// the memory pages (it writes \0 to the status fd once ready), CRIU's
// lazy-pages daemon fetches them, and restore --lazy-pages resumes the
// process before all its memory is back.
func TestCheckpointLazyPages(t *testing.T) {
	needCriu(t)
	e := newEnv(t)
	b := e.newBundle(withShell(counter))
	p := e.runCounter(b, "lazy")
	img := filepath.Join(e.dir, "image")
	if err := os.Mkdir(img, 0o700); err != nil {
		t.Fatal(err)
	}
	sr, sw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Close()
	const port = "27277"
	cpt := exec.Command(runtimeBin, "--root", e.root, "checkpoint", "--lazy-pages", "--page-server", "127.0.0.1:"+port,
		"--status-fd", "3", "--manage-cgroups-mode", "ignore", "--image-path", img, "lazy")
	cpt.ExtraFiles = []*os.File{sw}
	if systemdCgroup {
		cpt.Args = append([]string{cpt.Args[0], "--systemd-cgroup"}, cpt.Args[1:]...)
	}
	if err := cpt.Start(); err != nil {
		t.Fatal(err)
	}
	sw.Close()
	cptDone := make(chan error, 1)
	go func() { cptDone <- cpt.Wait() }()
	defer func() {
		cpt.Process.Kill()
		<-cptDone
	}()
	sr.SetReadDeadline(time.Now().Add(cmdTimeout))
	b1 := make([]byte, 1)
	if n, err := sr.Read(b1); n != 1 || b1[0] != 0 {
		logTail(t, img)
		t.Fatalf("status fd: read %q, %v (want \\0: the page server is ready)", b1[:n], err)
	}
	lp := exec.Command("criu", "lazy-pages", "--page-server", "--address", "127.0.0.1", "--port", port, "-D", img)
	if err := lp.Start(); err != nil {
		t.Fatal(err)
	}
	lpDone := make(chan error, 1)
	go func() { lpDone <- lp.Wait() }()
	defer func() {
		lp.Process.Kill()
		<-lpDone
	}()
	// The dumped process stays (frozen, its memory served) until the
	// pages are fetched: restore into another id and cgroup, as runc's
	// test does. It counts on from where the dump froze it.
	seen, _ := p.lines()
	pid0, last := counted(t, seen[len(seen)-1])
	b2 := e.newBundle(withShell(counter))
	p2 := e.restoreCounter(b2, img, "lazy2", "--lazy-pages", "--manage-cgroups-mode", "ignore")
	got := p2.waitCount(t, 2)
	if pid, n := counted(t, got[0]); pid != pid0 || n < last+1 {
		t.Errorf("lazily restored counter starts at %q: want pid %d and a count after %d", got[0], pid0, last)
	}
	lastCount(t, p) // the dumped one is gone once its pages are
	select {
	case err := <-cptDone:
		if err != nil {
			t.Errorf("checkpoint --lazy-pages: %v", err)
		}
		cptDone <- nil
	case <-time.After(cmdTimeout):
		t.Errorf("checkpoint --lazy-pages did not end once the pages were fetched")
	}
	e.ok("delete", "--force", "lazy2")
}
