package clients

// Checkpoint and restore through the clients: `podman container
// checkpoint/restore` (conmon runs the runtime's restore) and containerd's
// `ctr containers checkpoint --task` / `ctr containers restore --live` (the
// runc shim runs the runtime's checkpoint and restore). Both need a CRIU
// that works on the running kernel: on a host where `criu check` fails
// they skip, saying so; `make vm-clients` runs them in the systemd guest
// of tests/vm, where Debian 12's CRIU works.
//
// The workload is the same in both: a shell that appends "started" to
// /out/starts once, then counts, writing its counter to /out/n every tick
// (/out is a bind mount of a directory of the test's). The state survived
// when, after the restore, the counter goes on from where it was at the
// checkpoint (past it, never from 1 again) and /out/starts still says
// "started" once (a container started anew would run the command again).

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/husk-runtime/husk/tests/testutil"
)

// counterScript is the workload: its counter lives only in the shell's
// memory, and it shows it as the target of the symlink /out/n. No file is
// written: a checkpoint that leaves the workload running (containerd's)
// could catch the shell with a file open that it then changes or renames
// (an earlier `echo $i >/out/n.tmp; mv /out/n.tmp /out/n` did), and CRIU
// then cannot restore the file it dumped.
const counterScript = `echo started >>/out/starts; i=0; while :; do i=$((i+1)); ln -sfn $i /out/n; sleep 0.2; done`

// needCriu skips a test that needs a CRIU that works here.
func needCriu(t *testing.T) {
	t.Helper()
	if why := testutil.CriuUnusable(); why != "" {
		t.Skip("needs a working CRIU (make vm-clients runs this test in a guest where it works): " + why)
	}
}

// counterDir makes the directory the workload's /out is bound to.
func counterDir(t *testing.T, parent string) string {
	t.Helper()
	d := filepath.Join(parent, "out")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// counter is the workload's counter as it last wrote it (0: not yet).
func counter(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.Readlink(filepath.Join(dir, "n"))
	if os.IsNotExist(err) {
		return 0 // not yet, or between ln's unlink and its symlink
	}
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(b)
	if err != nil {
		t.Fatalf("counter symlink %q: %v", b, err)
	}
	return n
}

// waitCounter waits for the counter to pass n, and returns it.
func waitCounter(t *testing.T, dir string, n int) int {
	t.Helper()
	var got int
	waitFor(t, "the counter to pass "+strconv.Itoa(n), func() bool {
		got = counter(t, dir)
		return got > n
	})
	return got
}

// checkResumed checks that the workload was restored, not started anew:
// the counter file removed before the restore, the first value it writes
// is past min (a workload started anew writes 1 first), it keeps
// counting, and its command was started once.
func checkResumed(t *testing.T, dir string, min int) {
	t.Helper()
	if first := waitCounter(t, dir, 0); first <= min {
		t.Errorf("after the restore the counter wrote %d, want more than %d: the workload's memory was not restored", first, min)
	}
	if s := readTrim(t, filepath.Join(dir, "starts")); s != "started" {
		t.Errorf("/out/starts is %q, want one \"started\": the command ran again", s)
	}
	waitCounter(t, dir, counter(t, dir))
}

// removeCounter removes the counter file, so that the first value the
// restored workload writes can be told.
func removeCounter(t *testing.T, dir string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, "n")); err != nil {
		t.Fatal(err)
	}
}

// TestPodmanCheckpointRestore: `podman container checkpoint` stops a
// running container into a checkpoint (the runtime's checkpoint), and
// `podman container restore` brings it back (conmon runs the runtime's
// restore) with its processes' memory: the counter goes on.
func TestPodmanCheckpointRestore(t *testing.T) {
	start(t)
	needCriu(t)
	p := newPodman(t)
	out := counterDir(t, p.dir)
	args := append(append([]string{"run", "-d", "--name", "cr1", "-v", out + ":/out"}, p.ctr()...), podmanImage, "sh", "-c", counterScript)
	id := strings.TrimSpace(p.ok(args...).Stdout)
	p.ids[id] = true
	waitCounter(t, out, 3)

	p.ok("container", "checkpoint", "cr1")
	if s := p.status("cr1"); s != "exited" {
		t.Fatalf("after checkpoint: status %q, want exited", s)
	}
	// The workload is gone: its counter stays where the checkpoint took it.
	n := counter(t, out)
	removeCounter(t, out)
	if _, err := os.Stat(filepath.Join(p.stateRoot, id)); err == nil {
		if st, _ := p.runtimeState(id); st != "stopped" {
			t.Errorf("after checkpoint the runtime says %q", st)
		}
	}

	p.ok("container", "restore", "cr1")
	if s := p.status("cr1"); s != "running" {
		t.Fatalf("after restore: status %q, want running", s)
	}
	// The runtime under test restored it: its state has it running with
	// the pid podman knows.
	st, pid := p.runtimeState(id)
	if st != "running" || strconv.Itoa(pid) != p.inspect("cr1", "{{.State.Pid}}") {
		t.Errorf("runtime state %s pid %d, podman: pid %s", st, pid, p.inspect("cr1", "{{.State.Pid}}"))
	}
	checkResumed(t, out, n)
	if r := p.run("exec", "cr1", "cat", "/out/starts"); r.Code != 0 || strings.TrimSpace(r.Stdout) != "started" {
		t.Errorf("exec in the restored container: %s", r)
	}
	p.ok("rm", "-f", "-t", "0", "cr1")
}

// TestContainerdCheckpointRestore: `ctr containers checkpoint --task`
// checkpoints a running task into an image of containerd's content store
// (the shim pauses the task, runs the runtime's checkpoint leaving it
// running, resumes it); the container is then killed and deleted, and
// `ctr containers restore --live` makes it again from the checkpoint and
// starts its task from the dumped processes.
func TestContainerdCheckpointRestore(t *testing.T) {
	start(t)
	needCriu(t)
	c := startContainerd(t)
	id := c.id("cr1")
	out := counterDir(t, c.dir)
	c.runDetached(t, id, []string{"--mount", "type=bind,src=" + out + ",dst=/out,options=rbind:rw"}, "sh", "-c", counterScript)
	pid := c.waitStatus(t, id, "RUNNING")
	c.assertRuntimeUsed(t, id, pid)
	before := waitCounter(t, out, 3)

	ref := "husk-test/checkpoint:" + id
	c.ctrOK(t, "containers", "checkpoint", "--task", id, ref)
	// It was left running, and resumed.
	if st, p := c.taskStatus(id); st != "RUNNING" || p != pid {
		t.Fatalf("after checkpoint: task %s pid %d, want RUNNING pid %d", st, p, pid)
	}
	if r := c.ctrOK(t, "images", "ls", "-q"); !strings.Contains(r.Stdout, ref) {
		t.Fatalf("no checkpoint image %s: %s", ref, r)
	}
	waitCounter(t, out, counter(t, out))

	// The original goes. The checkpoint was taken with the counter
	// past before: the restored workload goes on from there.
	c.ctrOK(t, "tasks", "kill", "--signal", "SIGKILL", id)
	c.waitStatus(t, id, "STOPPED")
	c.remove(t, id)
	removeCounter(t, out)

	c.ctrOK(t, "containers", "restore", "--live", id, ref)
	pid = c.waitStatus(t, id, "RUNNING")
	c.assertRuntimeUsed(t, id, pid)
	checkResumed(t, out, before)
	c.ctrOK(t, "tasks", "kill", "--signal", "SIGKILL", id)
	c.waitStatus(t, id, "STOPPED")
	c.remove(t, id)
	c.ctrOK(t, "images", "rm", ref)
}
