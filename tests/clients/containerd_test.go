package clients

// containerd 1.6 (Debian's containerd, ctr and containerd-shim-runc-v2)
// driving the runtime under test. The test starts its own containerd on a
// private socket, root, state dir and config under scratch, in a
// containerd namespace (and so a cgroup parent) of its own; ctr passes
// the runtime by absolute path (--runc-binary) and its state root
// (--runc-root), so the shim runs
//
//	<runtime> --root <runc-root>/<ns> --log <bundle>/log.json --log-format json ...
//
// ctr 1.6 has no `task update` command, so update is not tested here.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// containerdShimSocketDir is where containerd 1.6's shims put their
// sockets, whatever the daemon's state dir (defaults.DefaultStateDir + "/s").
const containerdShimSocketDir = "/run/containerd/s"

// containerdEnv is one private containerd daemon.
type containerdEnv struct {
	dir         string // everything of this daemon
	sock        string // containerd's grpc socket
	ns          string // containerd namespace, and the containers' cgroup parent
	runcRoot    string // --runc-root: the runtime's state is in runcRoot/ns
	fifoDir     string // ctr's fifos
	snapshotter string
	image       string // the image's name once imported

	mu  sync.Mutex
	ids []string // every container id used
}

// startContainerd starts a containerd of the test's own and imports the
// busybox image; everything is stopped and removed at the end of the test.
func startContainerd(t *testing.T) *containerdEnv {
	t.Helper()
	need(t, "containerd", "ctr", "containerd-shim-runc-v2")
	dir, err := os.MkdirTemp(scratch, "containerd-")
	if err != nil {
		t.Fatal(err)
	}
	c := &containerdEnv{
		dir:      dir,
		sock:     filepath.Join(dir, "c.sock"),
		ns:       fmt.Sprintf("husk-ctrd-%d", os.Getpid()),
		runcRoot: filepath.Join(dir, "runc"),
		fifoDir:  filepath.Join(dir, "fifo"),
	}
	// /run/containerd/s is shared with every other containerd on the host
	// (its shims' sockets): only the directories this test made, and only
	// when empty, are removed at the end.
	var madeDirs []string
	for _, d := range []string{"/run/containerd", containerdShimSocketDir} {
		if _, err := os.Stat(d); os.IsNotExist(err) {
			madeDirs = append([]string{d}, madeDirs...)
		}
	}
	cfg := containerdConfig(filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.sock)
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	daemon := exec.Command("containerd", "--config", cfgPath)
	daemon.Stdout, daemon.Stderr = logf, logf
	if err := daemon.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- daemon.Wait(); logf.Close() }()

	t.Cleanup(func() { c.teardown(t, daemon, exited, madeDirs) })

	waitFor(t, "containerd to serve "+c.sock, func() bool {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("containerd exited: %v; see %s", err, logf.Name())
		default:
		}
		return c.ctr("version").Code == 0
	})

	c.snapshotter = "overlayfs"
	plugins := c.ctrOK(t, "plugins", "ls").Stdout
	if !containerdPluginOK(plugins, "io.containerd.snapshotter.v1", "overlayfs") {
		c.snapshotter = "native"
	}
	c.ctrOK(t, "images", "import", "--snapshotter", c.snapshotter, imageArchive)
	// ctr names the image as a registry would: docker.io/<repo>:<tag>.
	for _, name := range strings.Fields(c.ctrOK(t, "images", "ls", "-q").Stdout) {
		if strings.HasSuffix(name, "/"+imageName) || name == imageName {
			c.image = name
		}
	}
	if c.image == "" {
		t.Fatalf("%s not among the imported images", imageName)
	}
	return c
}

// containerdConfig is a private containerd's config.toml: its own root,
// state and sockets, and no plugin that would reach outside them (no CRI
// with its CNI state, no opt plugin making /opt/containerd).
func containerdConfig(root, state, sock string) string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = %q
[ttrpc]
  address = %q
[debug]
  address = ""
  level = "debug"
[metrics]
  address = ""
`, root, state, sock, sock+".ttrpc")
}

func containerdPluginOK(list, typ, id string) bool {
	for _, l := range strings.Split(list, "\n") {
		f := strings.Fields(l)
		if len(f) >= 4 && f[0] == typ && f[1] == id && f[len(f)-1] == "ok" {
			return true
		}
	}
	return false
}

// teardown removes every container, stops the daemon and checks that
// nothing of the runtime's is left: no process, mount, cgroup or state.
// stopContainerd stops a containerd a test started (SIGTERM; SIGKILL and
// an error if it has not exited within cmdTimeout) and kills the shims of
// its socket that outlive it: they are ours, and leaks (an error each).
func stopContainerd(t *testing.T, daemon *exec.Cmd, exited chan error, sock string) {
	daemon.Process.Signal(syscall.SIGTERM) // nothing, if it has exited
	select {
	case <-exited:
	case <-time.After(cmdTimeout):
		daemon.Process.Kill()
		<-exited
		t.Errorf("containerd did not stop on SIGTERM")
	}
	// A shim's -address is its daemon's socket.
	for _, pid := range containerdProcsWith("-address\x00" + sock + "\x00") {
		t.Errorf("shim %d left running", pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func (c *containerdEnv) teardown(t *testing.T, daemon *exec.Cmd, exited chan error, madeDirs []string) {
	c.mu.Lock()
	ids := append([]string(nil), c.ids...)
	c.mu.Unlock()
	for _, id := range ids {
		if st, _ := c.taskStatus(id); st != "" {
			c.ctr("tasks", "delete", "--force", id)
		}
		c.ctr("containers", "delete", id)
	}
	if st, _ := c.taskStatus(""); st != "" {
		t.Errorf("tasks left: %s", c.ctr("tasks", "ls"))
	}

	stopContainerd(t, daemon, exited, c.sock)
	for _, id := range ids {
		sum := sha256.Sum256([]byte(filepath.Join(c.sock, c.ns, id)))
		os.Remove(filepath.Join(containerdShimSocketDir, hex.EncodeToString(sum[:])))
	}
	for _, d := range madeDirs {
		os.Remove(d) // only when empty: other daemons may use it by now
	}

	for _, m := range mountsUnder(c.dir) {
		t.Errorf("mount left: %s", m)
		unix.Unmount(m, unix.MNT_DETACH)
	}

	// The runtime removes a container's cgroup at delete; the namespace's
	// parent is containerd's to leave, so the test removes it.
	hier, _ := filepath.Glob("/sys/fs/cgroup/*/" + c.ns)
	if unified := "/sys/fs/cgroup/" + c.ns; containerdExists(unified) {
		hier = append(hier, unified)
	}
	for _, p := range hier {
		kids, _ := os.ReadDir(p)
		for _, k := range kids {
			if k.IsDir() {
				t.Errorf("cgroup left: %s", filepath.Join(p, k.Name()))
				os.Remove(filepath.Join(p, k.Name()))
			}
		}
		if err := os.Remove(p); err != nil {
			t.Errorf("removing cgroup %s: %v", p, err)
		}
	}

	if left, _ := os.ReadDir(filepath.Join(c.runcRoot, c.ns)); len(left) > 0 {
		t.Errorf("runtime state left in %s: %v", filepath.Join(c.runcRoot, c.ns), left)
	}
	// The daemon's log is kept with scratch when something failed.
	if t.Failed() || os.Getenv("HUSK_CLIENTS_KEEP") != "" {
		os.RemoveAll(filepath.Join(c.dir, "root"))
		t.Logf("containerd log: %s", filepath.Join(c.dir, "containerd.log"))
	} else if err := os.RemoveAll(c.dir); err != nil {
		t.Errorf("removing %s: %v", c.dir, err)
	}
}

func containerdExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// containerdProcsWith lists the processes whose NUL-separated command
// line contains s.
func containerdProcsWith(s string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(append(cmdline, 0), []byte(s)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// ctr runs ctr against this daemon, in its namespace.
func (c *containerdEnv) ctr(args ...string) result {
	return run(nil, nil, "ctr", append([]string{"--address", c.sock, "--namespace", c.ns}, args...)...)
}

func (c *containerdEnv) ctrOK(t *testing.T, args ...string) result {
	t.Helper()
	r := c.ctr(args...)
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	return r
}

// ctrCmd is a ctr command to start in the background; it is killed at
// the end of the test if it is still running.
func (c *containerdEnv) ctrCmd(t *testing.T, args ...string) (*exec.Cmd, *containerdBuffer) {
	cmd := exec.Command("ctr", append([]string{"--address", c.sock, "--namespace", c.ns}, args...)...)
	out := &containerdBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	t.Cleanup(func() {
		if cmd.Process != nil && cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, out
}

// containerdBuffer is a bytes.Buffer read while a command writes it.
type containerdBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *containerdBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *containerdBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// containerdWait waits for a background command and returns its exit code.
func containerdWait(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(cmdTimeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%v did not finish", cmd.Args)
	}
	return cmd.ProcessState.ExitCode()
}

// id names a new container and registers it for cleanup.
func (c *containerdEnv) id(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids = append(c.ids, name)
	return name
}

// runArgs are the `ctr run` flags every container gets: the runtime under
// test, its root, the fifos and cgroup under the test's own directories.
func (c *containerdEnv) runArgs(id string, extra ...string) []string {
	args := []string{"run", "--runc-binary", runtimeBin, "--runc-root", c.runcRoot,
		"--fifo-dir", c.fifoDir, "--snapshotter", c.snapshotter,
		"--cgroup", "/" + c.ns + "/" + id}
	return append(args, extra...)
}

// runDetached starts a detached container running cmd.
func (c *containerdEnv) runDetached(t *testing.T, id string, extra []string, cmd ...string) {
	t.Helper()
	args := append(c.runArgs(id, extra...), "--detach", "--null-io", c.image, id)
	c.ctrOK(t, append(args, cmd...)...)
}

// taskStatus is a task's status and pid from `ctr tasks ls` ("" when it
// has none); id "" is any task.
func (c *containerdEnv) taskStatus(id string) (string, int) {
	r := c.ctr("tasks", "ls")
	for _, l := range strings.Split(r.Stdout, "\n")[1:] {
		f := strings.Fields(l)
		if len(f) == 3 && (id == "" || f[0] == id) {
			pid, _ := strconv.Atoi(f[1])
			return f[2], pid
		}
	}
	return "", 0
}

func (c *containerdEnv) waitStatus(t *testing.T, id, want string) int {
	t.Helper()
	var pid int
	waitFor(t, id+" to be "+want, func() bool {
		var st string
		st, pid = c.taskStatus(id)
		return st == want
	})
	return pid
}

// remove deletes a container's stopped task and the container, and
// returns the exit code ctr reports for the task (it prints a warning
// for a non-zero one and exits 0).
func (c *containerdEnv) remove(t *testing.T, id string) int {
	t.Helper()
	r := c.ctrOK(t, "tasks", "delete", id)
	c.ctrOK(t, "containers", "delete", id)
	code := 0
	const marker = "exit with non-zero exit code "
	if i := strings.Index(r.Stderr, marker); i >= 0 {
		f := strings.Fields(r.Stderr[i+len(marker):])
		if len(f) > 0 {
			code, _ = strconv.Atoi(strings.Trim(f[0], `"\`))
		}
	}
	return code
}

// cgroupFile is a file of the container's cgroup in a v1 hierarchy, or
// the unified one on a cgroup v2 host.
func (c *containerdEnv) cgroupFile(ctrl, id, file string) string {
	if containerdExists("/sys/fs/cgroup/cgroup.controllers") {
		return filepath.Join("/sys/fs/cgroup", c.ns, id, file)
	}
	return filepath.Join("/sys/fs/cgroup", ctrl, c.ns, id, file)
}

// assertRuntimeUsed checks that the container was made by the runtime
// under test: its state, read by that binary from the root the shim
// passed, names the task's pid.
func (c *containerdEnv) assertRuntimeUsed(t *testing.T, id string, pid int) {
	t.Helper()
	root := filepath.Join(c.runcRoot, c.ns)
	if !containerdExists(filepath.Join(root, id)) {
		t.Fatalf("no state of %s under the shim's --root %s", id, root)
	}
	r := run(nil, nil, runtimeBin, "--root", root, "state", id)
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	var st struct {
		ID     string `json:"id"`
		Pid    int    `json:"pid"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		t.Fatalf("state: %v\n%s", err, r)
	}
	if st.ID != id || st.Pid != pid || st.Status != "running" {
		t.Fatalf("runtime state %+v, task pid %d", st, pid)
	}
}

func TestContainerd(t *testing.T) {
	start(t)
	c := startContainerd(t)

	// 1. A container run to completion: its exit code is ctr's, its
	// stdout and stderr are ctr's.
	t.Run("RunExitCode", func(t *testing.T) {
		for _, tc := range []struct {
			code int
			name string
		}{{7, "run-exit7"}, {0, "run-exit0"}} {
			id := c.id(tc.name)
			args := append(c.runArgs(id, "--rm"), c.image, id,
				"sh", "-c", fmt.Sprintf("echo out-%s; echo err-%s >&2; exit %d", id, id, tc.code))
			r := c.ctr(args...)
			if r.Code != tc.code {
				t.Errorf("exit code %d, want %d\n%s", r.Code, tc.code, r)
			}
			if strings.TrimSpace(r.Stdout) != "out-"+id {
				t.Errorf("stdout %q, want %q", r.Stdout, "out-"+id)
			}
			if !strings.Contains(r.Stderr, "err-"+id) {
				t.Errorf("stderr %q lacks %q", r.Stderr, "err-"+id)
			}
			// --rm removed the container and the runtime's state.
			if ls := c.ctrOK(t, "containers", "ls", "-q").Stdout; strings.Contains(ls, id) {
				t.Errorf("container %s still listed: %s", id, ls)
			}
			if containerdExists(filepath.Join(c.runcRoot, c.ns, id)) {
				t.Errorf("runtime state of %s left", id)
			}
		}
	})

	// 2. A detached task: exec into it, signal an exec'd process and the
	// init, and kill everything with SIGKILL as `ctr task kill --all` does.
	t.Run("DetachedExecKill", func(t *testing.T) {
		id := c.id("detached")
		// The init is pid 1 of its namespace: only a signal it handles
		// reaches it, so it traps TERM and exits 42.
		c.runDetached(t, id, nil, "sh", "-c", "echo started > /tmp/marker; trap 'exit 42' TERM; sleep 1000 & wait")
		pid := c.waitStatus(t, id, "RUNNING")
		c.assertRuntimeUsed(t, id, pid)

		r := c.ctr("tasks", "exec", "--fifo-dir", c.fifoDir, "--exec-id", "e1", id,
			"sh", "-c", "cat /tmp/marker; echo exec-err >&2; exit 3")
		if r.Code != 3 || strings.TrimSpace(r.Stdout) != "started" || !strings.Contains(r.Stderr, "exec-err") {
			t.Errorf("exec: want exit 3, stdout started, stderr exec-err\n%s", r)
		}

		// An exec'd process (not pid 1) dies of SIGTERM: ctr reports 143.
		sl, out := c.ctrCmd(t, "tasks", "exec", "--fifo-dir", c.fifoDir, "--exec-id", "sl", id, "sleep", "1000")
		if err := sl.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "exec sl in ctr task ps", func() bool {
			return strings.Contains(c.ctr("tasks", "ps", id).Stdout, "ExecID:sl")
		})
		c.ctrOK(t, "tasks", "kill", "--exec-id", "sl", id)
		if code := containerdWait(t, sl); code != 128+int(syscall.SIGTERM) {
			t.Errorf("exec killed by SIGTERM: ctr exited %d, want %d; output %q", code, 128+int(syscall.SIGTERM), out)
		}
		if st, _ := c.taskStatus(id); st != "RUNNING" {
			t.Errorf("task %s after its exec was killed, want RUNNING", st)
		}

		// SIGTERM (ctr's default) to the init: its trap's exit code.
		c.ctrOK(t, "tasks", "kill", id)
		c.waitStatus(t, id, "STOPPED")
		if code := c.remove(t, id); code != 42 {
			t.Errorf("init exit code after SIGTERM %d, want 42 (its trap)", code)
		}

		// kill --all with SIGKILL: the init and an exec'd process die of it.
		id = c.id("killall")
		c.runDetached(t, id, nil, "sleep", "1000")
		pid = c.waitStatus(t, id, "RUNNING")
		c.assertRuntimeUsed(t, id, pid)
		ex, exOut := c.ctrCmd(t, "tasks", "exec", "--fifo-dir", c.fifoDir, "--exec-id", "ex", id, "sleep", "1001")
		if err := ex.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "exec ex in ctr task ps", func() bool {
			return strings.Contains(c.ctr("tasks", "ps", id).Stdout, "ExecID:ex")
		})
		c.ctrOK(t, "tasks", "kill", "--all", "--signal", "SIGKILL", id)
		c.waitStatus(t, id, "STOPPED")
		if code := containerdWait(t, ex); code != 128+int(syscall.SIGKILL) {
			t.Errorf("exec after kill --all SIGKILL: ctr exited %d, want %d; output %q", code, 128+int(syscall.SIGKILL), exOut)
		}
		if code := c.remove(t, id); code != 128+int(syscall.SIGKILL) {
			t.Errorf("init exit code after kill --all SIGKILL %d, want %d", code, 128+int(syscall.SIGKILL))
		}
		if containerdExists(filepath.Join(c.runcRoot, c.ns, id)) {
			t.Errorf("runtime state of %s left after delete", id)
		}
		if containerdExists(c.cgroupFile("pids", id, "")) {
			t.Errorf("cgroup of %s left after delete", id)
		}
	})

	// A container in the host's pid namespace: when its init exits, the
	// shim kills what is left in its cgroup (`kill --all ID 9` of the
	// stopped container) before it reports the exit.
	t.Run("HostPidNamespaceLeftovers", func(t *testing.T) {
		id := c.id("hostpid")
		c.runDetached(t, id, []string{"--with-ns", fmt.Sprintf("pid:/proc/%d/ns/pid", os.Getpid())},
			"sh", "-c", "sleep 1000 & echo $! > /child; exit 3")
		c.waitStatus(t, id, "STOPPED")
		// The rootfs stays mounted in the bundle until the task is deleted.
		pidFile := filepath.Join(c.dir, "state", "io.containerd.runtime.v2.task", c.ns, id, "rootfs", "child")
		child, err := strconv.Atoi(readTrim(t, pidFile))
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, fmt.Sprintf("the init's child %d to be killed while the task is stopped", child), func() bool {
			return syscall.Kill(child, 0) != nil
		})
		if code := c.remove(t, id); code != 3 {
			t.Errorf("init exit code %d, want 3", code)
		}
	})

	// 3. pause and resume: ctr's status and the freezer's.
	t.Run("PauseResume", func(t *testing.T) {
		id := c.id("pause")
		c.runDetached(t, id, nil, "sleep", "1000")
		c.waitStatus(t, id, "RUNNING")
		v2 := containerdExists("/sys/fs/cgroup/cgroup.controllers")
		frozen := func() string {
			if v2 {
				return readTrim(t, c.cgroupFile("", id, "cgroup.freeze"))
			}
			return readTrim(t, c.cgroupFile("freezer", id, "freezer.state"))
		}
		c.ctrOK(t, "tasks", "pause", id)
		if st, _ := c.taskStatus(id); st != "PAUSED" {
			t.Errorf("status after pause %q, want PAUSED", st)
		}
		if f := frozen(); f != "FROZEN" && f != "1" {
			t.Errorf("freezer after pause: %q", f)
		}
		c.ctrOK(t, "tasks", "resume", id)
		if st, _ := c.taskStatus(id); st != "RUNNING" {
			t.Errorf("status after resume %q, want RUNNING", st)
		}
		if f := frozen(); f != "THAWED" && f != "0" {
			t.Errorf("freezer after resume: %q", f)
		}
		// It runs: an exec works.
		if r := c.ctr("tasks", "exec", "--fifo-dir", c.fifoDir, "--exec-id", "e", id, "echo", "resumed"); r.Code != 0 || strings.TrimSpace(r.Stdout) != "resumed" {
			t.Errorf("exec after resume:\n%s", r)
		}
		// A paused task deleted with --force: the shim kills it (kill
		// --all SIGKILL) frozen, and deletes it.
		c.ctrOK(t, "tasks", "pause", id)
		r := c.ctrOK(t, "tasks", "delete", "--force", id)
		if !strings.Contains(r.Stderr, "exit code 137") {
			t.Errorf("delete --force of a paused task: want exit code 137\n%s", r)
		}
		if st, _ := c.taskStatus(id); st != "" {
			t.Errorf("task still %s after delete --force", st)
		}
		c.ctrOK(t, "containers", "delete", id)
		if containerdExists(filepath.Join(c.runcRoot, c.ns, id)) {
			t.Errorf("runtime state of %s left after delete --force", id)
		}
		if containerdExists(c.cgroupFile("freezer", id, "")) {
			t.Errorf("cgroup of %s left after delete --force", id)
		}
	})

	// The shim's OOM watch on the container's memory cgroup: a task over
	// its limit is killed, and containerd says so (/tasks/oom).
	t.Run("OOM", func(t *testing.T) {
		id := c.id("oom")
		events, evOut := c.ctrCmd(t, "events")
		if err := events.Start(); err != nil {
			t.Fatal(err)
		}
		// `ctr events` prints nothing until an event: it is subscribed
		// once it shows a namespace update the test makes.
		n := 0
		waitFor(t, "ctr events to subscribe", func() bool {
			n++
			c.ctrOK(t, "namespaces", "label", c.ns, fmt.Sprintf("husk-probe=%d", n))
			return strings.Contains(evOut.String(), "/namespaces/update")
		})
		args := append(c.runArgs(id, "--rm", "--memory-limit", strconv.Itoa(16<<20)), c.image, id,
			"sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived")
		r := c.ctr(args...)
		if r.Code != 128+int(syscall.SIGKILL) || strings.Contains(r.Stdout, "survived") {
			t.Errorf("want the task OOM-killed (137)\n%s", r)
		}
		waitFor(t, "a /tasks/oom event for "+id, func() bool {
			return strings.Contains(evOut.String(), `/tasks/oom {"container_id":"`+id+`"}`)
		})
		events.Process.Kill()
		events.Wait()
	})

	// 4. metrics: the shim reads the container's cgroup.
	t.Run("Metrics", func(t *testing.T) {
		id := c.id("metrics")
		const limit = 64 << 20
		c.runDetached(t, id, []string{"--memory-limit", strconv.Itoa(limit)}, "sh", "-c", "sleep 1000 & sleep 1001 & wait")
		pid := c.waitStatus(t, id, "RUNNING")
		c.assertRuntimeUsed(t, id, pid)
		pidsFile := c.cgroupFile("pids", id, "pids.current")
		waitFor(t, "3 processes in the container's cgroup", func() bool {
			return readTrim(t, pidsFile) == "3"
		})
		r := c.ctrOK(t, "tasks", "metrics", "--format", "json", id)
		m := containerdDecode(t, r.Stdout)
		// cgroup v1 (containerd/cgroups stats v1.Metrics): memory.usage
		// is {usage, limit, ...}; v2 (v2.Metrics): memory.usage and
		// memory.usage_limit are numbers.
		usage, lim := m.num("memory", "usage", "usage"), m.num("memory", "usage", "limit")
		if containerdExists("/sys/fs/cgroup/cgroup.controllers") {
			usage, lim = m.num("memory", "usage"), m.num("memory", "usage_limit")
		}
		if cur := m.num("pids", "current"); cur != "3" {
			t.Errorf("metrics pids.current %q, want 3\n%s", cur, r.Stdout)
		}
		if lim != strconv.Itoa(limit) || usage == "" || usage == "0" {
			t.Errorf("metrics memory usage %q limit %q, want limit %d and a usage\n%s", usage, lim, limit, r.Stdout)
		}
		limFile := c.cgroupFile("memory", id, "memory.limit_in_bytes")
		if containerdExists("/sys/fs/cgroup/cgroup.controllers") {
			limFile = c.cgroupFile("", id, "memory.max")
		}
		if got := readTrim(t, limFile); got != strconv.Itoa(limit) {
			t.Errorf("%s = %s, want %d", limFile, got, limit)
		}
		c.ctrOK(t, "tasks", "kill", "--all", "--signal", "SIGKILL", id)
		c.waitStatus(t, id, "STOPPED")
		c.remove(t, id)
	})

	// 5. A terminal: ctr run -t on a pseudo-terminal of the test's, and
	// ctr task exec -t (the shim's exec --console-socket).
	t.Run("TTY", func(t *testing.T) {
		id := c.id("tty")
		args := append(c.runArgs(id, "--rm", "--tty"), c.image, id,
			"sh", "-c", "tty; test -t 0 && echo stdin-is-a-tty; exit 5")
		code, out := c.ctrOnPty(t, args...)
		if code != 5 {
			t.Errorf("ctr run -t exited %d, want 5; output %q", code, out)
		}
		if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "stdin-is-a-tty") {
			t.Errorf("ctr run -t output %q lacks the container's tty name and stdin-is-a-tty", out)
		}

		id = c.id("exec-tty")
		c.runDetached(t, id, nil, "sleep", "1000")
		c.waitStatus(t, id, "RUNNING")
		code, out = c.ctrOnPty(t, "tasks", "exec", "--tty", "--fifo-dir", c.fifoDir, "--exec-id", "t", id,
			"sh", "-c", "tty; test -t 0 && echo exec-stdin-is-a-tty; exit 6")
		if code != 6 {
			t.Errorf("ctr task exec -t exited %d, want 6; output %q", code, out)
		}
		if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "exec-stdin-is-a-tty") {
			t.Errorf("ctr task exec -t output %q lacks the tty name and exec-stdin-is-a-tty", out)
		}
		c.ctrOK(t, "tasks", "kill", "--signal", "SIGKILL", id)
		c.waitStatus(t, id, "STOPPED")
		c.remove(t, id)
	})

	// 6. ctr task ps: the shim's `ps --format json` lists the processes
	// of the container's cgroup.
	t.Run("Ps", func(t *testing.T) {
		id := c.id("ps")
		c.runDetached(t, id, nil, "sh", "-c", "sleep 1000 & sleep 1001 & wait")
		pid := c.waitStatus(t, id, "RUNNING")
		procsFile := c.cgroupFile("pids", id, "cgroup.procs")
		var procs []string
		waitFor(t, "3 processes in the container's cgroup", func() bool {
			procs = strings.Fields(readTrim(t, procsFile))
			return len(procs) == 3
		})
		r := c.ctrOK(t, "tasks", "ps", id)
		var listed []string
		for _, l := range strings.Split(r.Stdout, "\n")[1:] {
			if f := strings.Fields(l); len(f) > 0 {
				listed = append(listed, f[0])
			}
		}
		sort.Strings(procs)
		sort.Strings(listed)
		if strings.Join(listed, " ") != strings.Join(procs, " ") {
			t.Errorf("ctr task ps lists %v, the cgroup has %v\n%s", listed, procs, r)
		}
		if !strings.Contains(" "+strings.Join(listed, " ")+" ", " "+strconv.Itoa(pid)+" ") {
			t.Errorf("ctr task ps lacks the init %d: %v", pid, listed)
		}
		c.ctrOK(t, "tasks", "kill", "--all", "--signal", "SIGKILL", id)
		c.waitStatus(t, id, "STOPPED")
		c.remove(t, id)
	})
}

// ctrOnPty runs ctr with a pseudo-terminal as its controlling terminal
// and stdio, and returns its exit code and what it wrote there.
func (c *containerdEnv) ctrOnPty(t *testing.T, args ...string) (int, string) {
	t.Helper()
	master, slave := openPty(t, 24, 80)
	cmd := exec.Command("ctr", append([]string{"--address", c.sock, "--namespace", c.ns}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err := cmd.Start()
	slave.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	copied := make(chan struct{})
	// The copy ends with EIO once no one holds the terminal any more.
	go func() { io.Copy(&out, master); close(copied) }()
	code := containerdWait(t, cmd)
	select {
	case <-copied:
	case <-time.After(cmdTimeout):
		t.Fatalf("%v: the terminal's output did not end", cmd.Args)
	}
	return code, out.String()
}

// containerdJSON is a decoded JSON object whose numbers are kept as text.
type containerdJSON map[string]any

func containerdDecode(t *testing.T, s string) containerdJSON {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return m
}

// num is the number at path, "" when there is none.
func (m containerdJSON) num(path ...string) string {
	var v any = map[string]any(m)
	for _, k := range path {
		o, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = o[k]
	}
	n, _ := v.(json.Number)
	return string(n)
}

// TestContainerdDocsConfig: docs/containerd.md's config.toml is what
// containerd reads as a CRI runtime running husk through the runc shim
// (`containerd config dump`; the CRI plugin itself is not started here),
// its ctr command line is the one these tests use, and docs/kubernetes.md's
// RuntimeClass names that runtime as its handler.
func TestContainerdDocsConfig(t *testing.T) {
	start(t)
	need(t, "containerd")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	// A root and state of the test's own, before the doc's tables.
	data := fmt.Sprintf("root = %q\nstate = %q\n", filepath.Join(dir, "root"), filepath.Join(dir, "state")) +
		docSnippet(t, "containerd.md", "containerd-config")
	if err := os.WriteFile(cfg, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	dump := ok(t, nil, "containerd", "--config", cfg, "config", "dump").Stdout
	table := `[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk]`
	_, rt, found := strings.Cut(dump, table+"\n")
	if !found {
		t.Fatalf("containerd config dump has no %s:\n%s", table, dump)
	}
	rt, _, _ = strings.Cut(rt, "\n\n    [") // up to the next table of the cri plugin's
	for _, want := range []string{`runtime_type = "io.containerd.runc.v2"`, fmt.Sprintf("BinaryName = %q", runtimeBin),
		`Root = "/run/containerd/husk"`} {
		if !strings.Contains(rt, want) {
			t.Errorf("containerd read no %s in %s:\n%s", want, table, rt)
		}
	}

	ctr := strings.Fields(docSnippet(t, "containerd.md", "ctr-run"))
	args := (&containerdEnv{runcRoot: "/run/containerd/husk"}).runArgs("c1")
	for i, flag := range []string{"--runc-binary", "--runc-root"} {
		if !strings.Contains(strings.Join(ctr, " "), flag+" "+args[2*i+2]) {
			t.Errorf("docs/containerd.md's ctr command has no %s %s (as the tests run it): %q", flag, args[2*i+2], ctr)
		}
	}

	rc := docSnippet(t, "kubernetes.md", "runtimeclass")
	if !strings.Contains(rc, "\nhandler: husk\n") {
		t.Errorf("docs/kubernetes.md's RuntimeClass has no handler husk (the runtime of docs/containerd.md):\n%s", rc)
	}
}
