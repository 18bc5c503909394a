package clients

// Debian's docker.io (dockerd 20.10 and its /usr/bin/docker client) driving
// the runtime under test: the test starts its own containerd and its own
// dockerd on private sockets and directories under the scratch dir, with
// the runtime registered by absolute path as dockerd's default runtime,
// the cgroupfs driver and a cgroup parent of the test's own. dockerd gets
// no bridge, no iptables, no IP forwarding: the containers run with
// --network none and the host's network is left alone.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

const (
	// dockerCLI is Debian's client, of dockerd's version (a newer client
	// may be first in PATH).
	dockerCLI        = "/usr/bin/docker"
	dockerDaemon     = "/usr/sbin/dockerd"
	dockerContainerd = "/usr/bin/containerd"
	dockerShim       = "/usr/bin/containerd-shim-runc-v2"
	// dockerRuntimeName is the name the runtime under test is registered
	// under in dockerd's daemon.json.
	dockerRuntimeName = "husk"
	// dockerStopTimeout bounds a daemon's clean shutdown.
	dockerStopTimeout = 30 * time.Second
)

// dockerEnv is one containerd + dockerd pair and what the test made for it.
type dockerEnv struct {
	dir      string // everything on disk: scratch/docker
	ctdSock  string // containerd's grpc socket
	sock     string // dockerd's API socket
	dataRoot string
	execRoot string
	// cgParent is dockerd's --cgroup-parent ("/husk-docker-…").
	cgParent string
	logs     map[string]string // daemon name → log file

	daemons []*dockerDaemonProc // started, in order
	// runDirs are host directories dockerd or containerd create whatever
	// their configuration (/run/docker/plugins, the shims' sockets in
	// /run/containerd/s) that did not exist before: removed when empty.
	runDirs []string
}

type dockerDaemonProc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (d *dockerDaemonProc) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// dockerHostDirs are created by dockerd or containerd in fixed places.
var dockerHostDirs = []string{"/run/docker", "/run/docker/plugins", "/run/containerd", "/run/containerd/s"}

// dockerStart starts containerd and dockerd for t, loads the busybox
// image and registers the cleanup that takes everything down again.
func dockerStart(t *testing.T) *dockerEnv {
	t.Helper()
	need(t, dockerCLI, dockerDaemon, dockerContainerd, dockerShim)
	e := &dockerEnv{dir: filepath.Join(scratch, "docker"), logs: map[string]string{}}
	e.ctdSock = filepath.Join(e.dir, "ctd", "c.sock")
	e.sock = filepath.Join(e.dir, "d.sock")
	e.dataRoot = filepath.Join(e.dir, "data")
	e.execRoot = filepath.Join(e.dir, "exec")
	e.cgParent = "/husk-docker-" + strings.TrimPrefix(filepath.Base(scratch), "husk-clients-")
	for _, d := range dockerHostDirs {
		if _, err := os.Lstat(d); os.IsNotExist(err) {
			e.runDirs = append(e.runDirs, d)
		}
	}
	t.Cleanup(func() { e.cleanup(t) })
	for _, d := range []string{"ctd/root", "ctd/state", "logs", "client", "data", "exec"} {
		if err := os.MkdirAll(filepath.Join(e.dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}

	// containerd: private root, state and sockets; nothing it does not
	// need (no CRI, no /opt/containerd).
	ctdConf := filepath.Join(e.dir, "ctd", "config.toml")
	writeFile(t, ctdConf, containerdConfig(filepath.Join(e.dir, "ctd", "root"), filepath.Join(e.dir, "ctd", "state"), e.ctdSock))
	ctd := e.startDaemon(t, "containerd", dockerContainerd, "--config", ctdConf)
	waitFor(t, "containerd's socket", func() bool {
		if ctd.exited() {
			t.Fatalf("containerd exited: %v\n%s", ctd.err, e.logTail("containerd"))
		}
		c, err := net.Dial("unix", e.ctdSock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	// dockerd: the runtime under test as the default runtime, by absolute
	// path; cgroupfs; our own cgroup parent; the trust key (by default
	// /etc/docker/key.json) in the private dir.
	daemonJSON := filepath.Join(e.dir, "daemon.json")
	// The runtimes and default-runtime of docs/docker.md, and what keeps
	// this dockerd to itself.
	var daemonConf map[string]any
	if err := json.Unmarshal([]byte(docSnippet(t, "docker.md", "daemon.json")), &daemonConf); err != nil {
		t.Fatalf("docs/docker.md's daemon.json: %v", err)
	}
	for k, v := range map[string]any{
		"exec-opts":           []string{"native.cgroupdriver=cgroupfs"},
		"cgroup-parent":       e.cgParent,
		"storage-driver":      "overlay2",
		"log-level":           "debug",
		"deprecated-key-path": filepath.Join(e.dir, "key.json"),
	} {
		daemonConf[k] = v
	}
	conf, _ := json.MarshalIndent(daemonConf, "", "  ")
	writeFile(t, daemonJSON, string(conf))
	dockerd := e.startDaemon(t, "dockerd", dockerDaemon,
		"--config-file", daemonJSON,
		"--containerd", e.ctdSock,
		"--data-root", e.dataRoot,
		"--exec-root", e.execRoot,
		"--pidfile", filepath.Join(e.dir, "dockerd.pid"),
		"-H", "unix://"+e.sock,
		"--bridge", "none",
		"--iptables=false", "--ip6tables=false", "--ip-masq=false", "--ip-forward=false",
		"--userland-proxy=false")
	hc := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", e.sock)
	}}, Timeout: 5 * time.Second}
	waitFor(t, "dockerd's API", func() bool {
		if dockerd.exited() {
			t.Fatalf("dockerd exited: %v\n%s", dockerd.err, e.logTail("dockerd"))
		}
		resp, err := hc.Get("http://docker/_ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	hc.CloseIdleConnections()

	r := e.docker(t, "load", "-i", imageArchive)
	if !strings.Contains(r.Stdout, imageName) {
		t.Fatalf("docker load did not load %s: %s", imageName, r)
	}
	return e
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (e *dockerEnv) startDaemon(t *testing.T, name, bin string, args ...string) *dockerDaemonProc {
	t.Helper()
	log := filepath.Join(e.dir, "logs", name+".log")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e.logs[name] = log
	c := exec.Command(bin, args...)
	c.Dir = e.dir
	c.Stdout, c.Stderr = f, f
	// Its own process group: a ^C to the test does not reach it first.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	d := &dockerDaemonProc{name: name, cmd: c, done: make(chan struct{})}
	go func() { d.err = c.Wait(); close(d.done) }()
	e.daemons = append(e.daemons, d)
	return d
}

// logTail is the end of a daemon's log, for failure messages.
func (e *dockerEnv) logTail(name string) string {
	b, _ := os.ReadFile(e.logs[name])
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return fmt.Sprintf("--- %s log (%s), end:\n%s", name, e.logs[name], b)
}

func (e *dockerEnv) clientArgs(args []string) []string {
	return append([]string{"-H", "unix://" + e.sock}, args...)
}

func (e *dockerEnv) clientEnv() []string {
	// The client's config (and nothing it might write) stays private.
	return []string{"DOCKER_CONFIG=" + filepath.Join(e.dir, "client"), "DOCKER_HOST=", "DOCKER_CONTEXT="}
}

// dockerRun runs the client and returns what it did, success or not.
func (e *dockerEnv) dockerRun(args ...string) result {
	return run(e.clientEnv(), nil, dockerCLI, e.clientArgs(args)...)
}

// docker runs the client, which must succeed.
func (e *dockerEnv) docker(t *testing.T, args ...string) result {
	t.Helper()
	r := e.dockerRun(args...)
	if r.Code != 0 {
		t.Fatalf("%s\n%s", r, e.logTail("dockerd"))
	}
	return r
}

// inspect returns `docker inspect -f format id`, trimmed.
func (e *dockerEnv) inspect(t *testing.T, id, format string) string {
	t.Helper()
	return strings.TrimSpace(e.docker(t, "inspect", "-f", format, id).Stdout)
}

// runDetached starts a container with `docker run -d` and returns its id;
// it is removed when the test ends.
func (e *dockerEnv) runDetached(t *testing.T, args ...string) string {
	t.Helper()
	a := append([]string{"run", "-d", "--network", "none"}, args...)
	id := strings.TrimSpace(e.docker(t, a...).Stdout)
	if len(id) != 64 {
		t.Fatalf("docker run -d printed %q, not a container id", id)
	}
	t.Cleanup(func() {
		if r := e.dockerRun("rm", "-f", id); r.Code != 0 {
			t.Errorf("%s", r)
		}
	})
	return id
}

// runtimeState is the OCI state the runtime under test reports for a
// container, read from the state root the shim gives it (dockerd passes
// <exec-root>/runtime-runc/moby for every runc-like runtime).
func (e *dockerEnv) runtimeState(t *testing.T, id string) map[string]any {
	t.Helper()
	roots, _ := filepath.Glob(filepath.Join(e.execRoot, "runtime-*", "moby"))
	var root string
	for _, r := range roots {
		if _, err := os.Stat(filepath.Join(r, id)); err == nil {
			root = r
		}
	}
	if root == "" {
		t.Fatalf("no runtime state for %s under %s (roots %v)", id, e.execRoot, roots)
	}
	r := ok(t, nil, runtimeBin, "--root", root, "state", id)
	var st map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		t.Fatalf("state: %v\n%s", err, r)
	}
	return st
}

// waitLogs waits for the container's output to contain want.
func (e *dockerEnv) waitLogs(t *testing.T, id, want string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%q in the logs of %.12s", want, id), func() bool {
		r := e.dockerRun("logs", id)
		return strings.Contains(r.Stdout, want)
	})
}

// dockerCgroupFile is the host path of a cgroup v1 file of the process
// pid, for controller (from /proc/PID/cgroup and the host's mounts).
func dockerCgroupFile(t *testing.T, pid int, controller, file string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	var rel string
	for _, l := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == controller {
				rel = parts[2]
			}
		}
	}
	if rel == "" {
		t.Fatalf("pid %d has no %s cgroup:\n%s", pid, controller, b)
	}
	for _, m := range dockerMounts(t, mountinfo.FSTypeFilter("cgroup")) {
		for _, o := range strings.Split(m.VFSOptions, ",") {
			if o == controller {
				return filepath.Join(m.Mountpoint, rel, file)
			}
		}
	}
	t.Fatalf("no cgroup v1 mount for %s", controller)
	return ""
}

// dockerMounts are the host's mounts the filter keeps.
func dockerMounts(t *testing.T, f mountinfo.FilterFunc) []*mountinfo.Info {
	t.Helper()
	ms, err := mountinfo.GetMounts(f)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// ourProcs are the pids of processes whose command line names the private
// dir (containerd's shims, given its socket) other than the daemons.
func (e *dockerEnv) ourProcs() []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	skip := map[int]bool{os.Getpid(): true}
	for _, d := range e.daemons {
		if !d.exited() {
			skip[d.cmd.Process.Pid] = true
		}
	}
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || skip[pid] {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.Contains(string(b), e.dir+"/") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cgroupDirs are our cgroup parent's directories in every mounted
// hierarchy, deepest first.
func (e *dockerEnv) cgroupDirs(t *testing.T) []string {
	var dirs []string
	for _, m := range dockerMounts(t, mountinfo.FSTypeFilter("cgroup", "cgroup2")) {
		top := filepath.Join(m.Mountpoint, e.cgParent)
		filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
	}
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	return dirs
}

// cleanup takes down everything dockerStart made: containers, dockerd,
// containerd, leftover shims, mounts, cgroups, directories; and reports
// what it could not.
func (e *dockerEnv) cleanup(t *testing.T) {
	if t.Failed() {
		for name := range e.logs {
			t.Log(e.logTail(name))
		}
	}
	var dockerd, ctd *dockerDaemonProc
	for _, d := range e.daemons {
		switch d.name {
		case "dockerd":
			dockerd = d
		case "containerd":
			ctd = d
		}
	}
	if dockerd != nil && !dockerd.exited() {
		if r := e.dockerRun("ps", "-aq"); r.Code == 0 {
			if ids := strings.Fields(r.Stdout); len(ids) > 0 {
				if r := e.dockerRun(append([]string{"rm", "-f"}, ids...)...); r.Code != 0 {
					t.Errorf("%s", r)
				}
			}
		} else {
			t.Errorf("%s", r)
		}
	}
	// The shims exit once their containers are deleted.
	deadline := time.Now().Add(waitTimeout)
	for len(e.ourProcs()) > 0 && time.Now().Before(deadline) {
		time.Sleep(pollEvery)
	}
	for _, d := range []*dockerDaemonProc{dockerd, ctd} {
		if d == nil {
			continue
		}
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(dockerStopTimeout):
			t.Errorf("%s did not exit on SIGTERM; killed", d.name)
			d.cmd.Process.Kill()
			<-d.done
		}
	}
	// Whatever is left was started by our daemons: shims, and the
	// processes of containers they did not delete.
	if pids := e.ourProcs(); len(pids) > 0 {
		t.Errorf("processes left after the daemons stopped (killed): %v", pids)
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGKILL)
		}
	}
	for _, dir := range e.cgroupDirs(t) {
		if b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			t.Errorf("processes left in %s (killed): %s", dir, strings.Fields(string(b)))
			for _, p := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(p); err == nil {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
	}
	// Mounts under the private dir, deepest first (dockerd's shared bind
	// mount of its data root, overlays, network namespaces).
	mounts := mountsUnder(e.dir)
	sort.SliceStable(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	for _, m := range mounts {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
			t.Errorf("unmount %s: %v", m, err)
		}
	}
	if len(mounts) > 0 && dockerd != nil && dockerd.err == nil {
		// dockerd unmounts its data root on a clean shutdown.
		t.Logf("unmounted what the daemons left: %v", mounts)
	}
	// cgroups: the containers' (removed by the runtime at delete) and our
	// parent, which the runtime created in every hierarchy.
	for _, dir := range e.cgroupDirs(t) {
		removed := false
		deadline := time.Now().Add(waitTimeout)
		for {
			err := unix.Rmdir(dir)
			if err == nil || err == unix.ENOENT {
				removed = true
				break
			}
			// A killed process leaves its cgroup when it is reaped.
			if err != unix.EBUSY || time.Now().After(deadline) {
				t.Errorf("rmdir %s: %v", dir, err)
				break
			}
			time.Sleep(pollEvery)
		}
		if removed && filepath.Base(dir) != strings.TrimPrefix(e.cgParent, "/") {
			t.Errorf("cgroup %s was left by the runtime", dir)
		}
	}
	for i := len(e.runDirs) - 1; i >= 0; i-- {
		// Only when empty: another tool may have put something there since.
		os.Remove(e.runDirs[i])
	}
	// The private dir, but the daemons' logs: the scaffold removes the
	// scratch dir unless a test failed.
	ents, _ := os.ReadDir(e.dir)
	for _, ent := range ents {
		if ent.Name() == "logs" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(e.dir, ent.Name())); err != nil {
			t.Errorf("%v", err)
		}
	}
}

// TestDocker runs every docker scenario against one containerd + dockerd.
func TestDocker(t *testing.T) {
	start(t)
	e := dockerStart(t)

	t.Run("Runtime", func(t *testing.T) { dockerTestRuntime(t, e) })
	t.Run("RunRm", func(t *testing.T) { dockerTestRunRm(t, e) })
	t.Run("DetachedExecStopWait", func(t *testing.T) { dockerTestDetached(t, e) })
	t.Run("StopKill", func(t *testing.T) { dockerTestStopKill(t, e) })
	t.Run("PauseUnpause", func(t *testing.T) { dockerTestPause(t, e) })
	t.Run("Update", func(t *testing.T) { dockerTestUpdate(t, e) })
	t.Run("Stats", func(t *testing.T) { dockerTestStats(t, e) })
	t.Run("Tty", func(t *testing.T) { dockerTestTty(t, e) })
}

// dockerTestRuntime: dockerd knows the runtime under test by its absolute
// path, uses it by default and has run it (`docker info` reports the
// default runtime's `--version` commit).
func dockerTestRuntime(t *testing.T, e *dockerEnv) {
	r := e.docker(t, "info", "--format", "{{json .}}")
	var info struct {
		DefaultRuntime string
		Runtimes       map[string]struct{ Path string }
		CgroupDriver   string
		Driver         string
		DockerRootDir  string
		RuncCommit     struct{ ID string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &info); err != nil {
		t.Fatalf("docker info: %v\n%s", err, r)
	}
	if info.DefaultRuntime != dockerRuntimeName {
		t.Errorf("default runtime %q, want %q", info.DefaultRuntime, dockerRuntimeName)
	}
	if got := info.Runtimes[dockerRuntimeName].Path; got != runtimeBin {
		t.Errorf("runtime %s has path %q, want %q", dockerRuntimeName, got, runtimeBin)
	}
	if info.CgroupDriver != "cgroupfs" || info.DockerRootDir != e.dataRoot {
		t.Errorf("cgroup driver %q, root %q", info.CgroupDriver, info.DockerRootDir)
	}
	v := ok(t, nil, runtimeBin, "--version")
	var commit string
	for _, l := range strings.Split(v.Stdout, "\n") {
		if c, found := strings.CutPrefix(l, "commit: "); found {
			commit = strings.TrimSpace(c)
		}
	}
	if commit == "" || info.RuncCommit.ID != commit {
		t.Errorf("docker info reports the default runtime's commit %q; `%s --version` says %q", info.RuncCommit.ID, runtimeBin, commit)
	}
}

// dockerTestRunRm: `docker run --rm` prints the container's output,
// propagates its exit code and removes the container; the container runs
// in the cgroup parent given to dockerd, through the runtime under test.
func dockerTestRunRm(t *testing.T, e *dockerEnv) {
	r := e.docker(t, "run", "--rm", "--network", "none", "--name", "husk-rm", imageName, "echo", "hello from busybox")
	if r.Stdout != "hello from busybox\n" {
		t.Errorf("stdout %q", r.Stdout)
	}
	if r := e.dockerRun("inspect", "husk-rm"); r.Code == 0 {
		t.Errorf("container still there after run --rm: %s", r)
	}
	r = e.dockerRun("run", "--rm", "--network", "none", imageName, "sh", "-c", "echo out; echo err >&2; exit 7")
	if r.Code != 7 || r.Stdout != "out\n" || r.Stderr != "err\n" {
		t.Errorf("want exit 7, out/err on their streams: %s", r)
	}
	r = e.docker(t, "run", "--rm", "--network", "none", imageName, "cat", "/proc/self/cgroup")
	if !strings.Contains(r.Stdout, ":memory:"+e.cgParent+"/") {
		t.Errorf("container not under the cgroup parent %s:\n%s", e.cgParent, r.Stdout)
	}
	// The default runtime, and per container by name.
	r = e.docker(t, "run", "--rm", "--network", "none", "--runtime", dockerRuntimeName, imageName, "sh", "-c", "echo $((6*7))")
	if r.Stdout != "42\n" {
		t.Errorf("--runtime %s: stdout %q", dockerRuntimeName, r.Stdout)
	}
}

// dockerTestDetached: `docker run -d`, `exec` (output, exit code, user),
// `stop` with a workload that exits on SIGTERM, and `docker wait`.
func dockerTestDetached(t *testing.T, e *dockerEnv) {
	id := e.runDetached(t, imageName, "sh", "-c", `trap "echo got TERM; exit 42" TERM; echo ready; sleep 1000 & wait`)
	e.waitLogs(t, id, "ready")
	if got := e.inspect(t, id, "{{.HostConfig.Runtime}} {{.State.Status}}"); got != dockerRuntimeName+" running" {
		t.Errorf("runtime and status %q", got)
	}
	// The runtime under test keeps the container's state under the root
	// the shim gives it, with the init docker reports.
	st := e.runtimeState(t, id)
	pid := e.inspect(t, id, "{{.State.Pid}}")
	if st["status"] != "running" || fmt.Sprint(st["pid"]) != pid || st["id"] != id {
		t.Errorf("runtime state %v; docker says pid %s", st, pid)
	}

	// docker top lists the container's processes (the runtime's ps).
	r := e.docker(t, "top", id, "-o", "pid,args")
	if !strings.Contains(r.Stdout, "sleep 1000") || !strings.Contains(r.Stdout, pid) {
		t.Errorf("docker top: %s", r.Stdout)
	}

	r = e.dockerRun("exec", id, "sh", "-c", "echo in $(hostname); exit 3")
	if r.Code != 3 || r.Stdout != "in "+id[:12]+"\n" {
		t.Errorf("exec: want exit 3 and the hostname: %s", r)
	}
	r = e.docker(t, "exec", "-u", "nobody", "-w", "/tmp", id, "sh", "-c", "id -u; pwd")
	if r.Stdout != "65534\n/tmp\n" {
		t.Errorf("exec -u nobody -w /tmp: %q", r.Stdout)
	}
	r = e.docker(t, "exec", "-t", id, "tty")
	if !strings.HasPrefix(r.Stdout, "/dev/pts/") {
		t.Errorf("exec -t: tty printed %q", r.Stdout)
	}
	in := run(e.clientEnv(), strings.NewReader("abc\n"), dockerCLI, e.clientArgs([]string{"exec", "-i", id, "tr", "a-z", "A-Z"})...)
	if in.Code != 0 || in.Stdout != "ABC\n" {
		t.Errorf("exec -i: %s", in)
	}

	// docker wait, started before the container stops, returns its code.
	wait := exec.Command(dockerCLI, e.clientArgs([]string{"wait", id})...)
	wait.Env = append(os.Environ(), e.clientEnv()...)
	var waitOut strings.Builder
	wait.Stdout = &waitOut
	if err := wait.Start(); err != nil {
		t.Fatal(err)
	}
	e.docker(t, "stop", id)
	if err := wait.Wait(); err != nil {
		t.Errorf("docker wait: %v", err)
	}
	if got := strings.TrimSpace(waitOut.String()); got != "42" {
		t.Errorf("docker wait printed %q, want 42", got)
	}
	if got := e.inspect(t, id, "{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}"); got != "exited 42 false" {
		t.Errorf("after stop: %q", got)
	}
	e.waitLogs(t, id, "got TERM")
	// And once it has exited, wait returns at once.
	if r := e.docker(t, "wait", id); strings.TrimSpace(r.Stdout) != "42" {
		t.Errorf("docker wait on an exited container: %s", r)
	}
	// The runtime's state for it is gone (the shim deleted it).
	if roots, _ := filepath.Glob(filepath.Join(e.execRoot, "runtime-*", "moby", id)); len(roots) != 0 {
		t.Errorf("runtime state left after stop: %v", roots)
	}
	// A stopped container starts again.
	e.docker(t, "start", id)
	if got := e.inspect(t, id, "{{.State.Running}}"); got != "true" {
		t.Errorf("after docker start: running %s", got)
	}
}

// dockerTestStopKill: a workload that ignores SIGTERM (sleep as the pid
// namespace's init) is killed by `docker stop` after its grace period;
// `docker kill -s` delivers a named signal.
func dockerTestStopKill(t *testing.T, e *dockerEnv) {
	id := e.runDetached(t, imageName, "sleep", "1000")
	e.docker(t, "stop", "-t", "1", id)
	if got := e.inspect(t, id, "{{.State.Status}} {{.State.ExitCode}}"); got != "exited 137" {
		t.Errorf("after stop of a TERM-ignoring init: %q, want exited 137", got)
	}
	if r := e.docker(t, "wait", id); strings.TrimSpace(r.Stdout) != "137" {
		t.Errorf("docker wait: %s", r)
	}

	id = e.runDetached(t, imageName, "sh", "-c", `trap "exit 10" USR1; echo ready; sleep 1000 & wait`)
	e.waitLogs(t, id, "ready")
	e.docker(t, "kill", "-s", "USR1", id)
	if r := e.docker(t, "wait", id); strings.TrimSpace(r.Stdout) != "10" {
		t.Errorf("docker wait after kill -s USR1: %s", r)
	}
}

// dockerTestPause: pause and unpause freeze and thaw the container
// (docker's State.Paused, the runtime's status, the freezer cgroup).
func dockerTestPause(t *testing.T, e *dockerEnv) {
	id := e.runDetached(t, imageName, "sleep", "1000")
	pid, _ := strconv.Atoi(e.inspect(t, id, "{{.State.Pid}}"))
	freezer := dockerCgroupFile(t, pid, "freezer", "freezer.state")

	e.docker(t, "pause", id)
	if got := e.inspect(t, id, "{{.State.Paused}} {{.State.Status}}"); got != "true paused" {
		t.Errorf("after pause: %q", got)
	}
	if st := e.runtimeState(t, id); st["status"] != "paused" {
		t.Errorf("runtime status %v after pause", st["status"])
	}
	if got := readTrim(t, freezer); got != "FROZEN" {
		t.Errorf("%s: %s", freezer, got)
	}
	if r := e.dockerRun("exec", id, "true"); r.Code == 0 {
		t.Errorf("exec in a paused container succeeded: %s", r)
	}

	e.docker(t, "unpause", id)
	if got := e.inspect(t, id, "{{.State.Paused}} {{.State.Status}}"); got != "false running" {
		t.Errorf("after unpause: %q", got)
	}
	if st := e.runtimeState(t, id); st["status"] != "running" {
		t.Errorf("runtime status %v after unpause", st["status"])
	}
	if got := readTrim(t, freezer); got != "THAWED" {
		t.Errorf("%s: %s", freezer, got)
	}
	if r := e.docker(t, "exec", id, "echo", "alive"); r.Stdout != "alive\n" {
		t.Errorf("exec after unpause: %s", r)
	}
}

// dockerTestUpdate: the limits given to run are in the container's cgroup;
// `docker update` changes them through the shim (`update --resources -`),
// raising memory above the old memory+swap limit and lowering it again
// (the two files must be written in the right order each time).
func dockerTestUpdate(t *testing.T, e *dockerEnv) {
	id := e.runDetached(t, "--memory", "64m", "--memory-swap", "128m", "--pids-limit", "100", "--cpu-shares", "512",
		imageName, "sleep", "1000")
	pid, _ := strconv.Atoi(e.inspect(t, id, "{{.State.Pid}}"))
	files := map[string]string{
		"memory": dockerCgroupFile(t, pid, "memory", "memory.limit_in_bytes"),
		"memsw":  dockerCgroupFile(t, pid, "memory", "memory.memsw.limit_in_bytes"),
		"pids":   dockerCgroupFile(t, pid, "pids", "pids.max"),
		"shares": dockerCgroupFile(t, pid, "cpu", "cpu.shares"),
	}
	if !strings.Contains(files["memory"], e.cgParent+"/"+id+"/") {
		t.Errorf("memory cgroup %s is not under %s", files["memory"], e.cgParent)
	}
	check := func(when string, want map[string]string, inspectWant string) {
		t.Helper()
		for k, w := range want {
			if got := readTrim(t, files[k]); got != w {
				t.Errorf("%s: %s is %s, want %s", when, files[k], got, w)
			}
		}
		if got := e.inspect(t, id, "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}} {{.HostConfig.CPUShares}}"); got != inspectWant {
			t.Errorf("%s: docker inspect %q, want %q", when, got, inspectWant)
		}
	}
	const mi = 1 << 20
	check("after run", map[string]string{"memory": fmt.Sprint(64 * mi), "memsw": fmt.Sprint(128 * mi), "pids": "100", "shares": "512"},
		fmt.Sprintf("%d %d 100 512", 64*mi, 128*mi))

	e.docker(t, "update", "--memory", "256m", "--memory-swap", "512m", "--pids-limit", "50", "--cpu-shares", "256", id)
	check("after update up", map[string]string{"memory": fmt.Sprint(256 * mi), "memsw": fmt.Sprint(512 * mi), "pids": "50", "shares": "256"},
		fmt.Sprintf("%d %d 50 256", 256*mi, 512*mi))

	e.docker(t, "update", "--memory", "32m", "--memory-swap", "48m", id)
	check("after update down", map[string]string{"memory": fmt.Sprint(32 * mi), "memsw": fmt.Sprint(48 * mi), "pids": "50", "shares": "256"},
		fmt.Sprintf("%d %d 50 256", 32*mi, 48*mi))

	// Without --memory: dockerd sends zeros for what it leaves alone, which
	// must stay as they are.
	e.docker(t, "update", "--memory-reservation", "16m", "--cpus", "0.5", id)
	check("after update of the reservation and cpus", map[string]string{"memory": fmt.Sprint(32 * mi), "memsw": fmt.Sprint(48 * mi), "pids": "50", "shares": "256"},
		fmt.Sprintf("%d %d 50 256", 32*mi, 48*mi))
	if got := readTrim(t, dockerCgroupFile(t, pid, "memory", "memory.soft_limit_in_bytes")); got != fmt.Sprint(16*mi) {
		t.Errorf("memory.soft_limit_in_bytes %s, want %d", got, 16*mi)
	}
	if got := readTrim(t, dockerCgroupFile(t, pid, "cpu", "cpu.cfs_quota_us")); got != "50000" {
		t.Errorf("cpu.cfs_quota_us %s, want 50000 (--cpus 0.5)", got)
	}
	// A restart policy only: still an update of the resources for dockerd.
	e.docker(t, "update", "--restart", "unless-stopped", id)
	check("after update of the restart policy", map[string]string{"memory": fmt.Sprint(32 * mi), "pids": "50", "shares": "256"},
		fmt.Sprintf("%d %d 50 256", 32*mi, 48*mi))

	// The new pids limit holds in the container: forks past it fail.
	r := e.dockerRun("exec", id, "sh", "-c", `i=0; while [ $i -lt 60 ]; do sleep 1000 & i=$((i+1)); done`)
	if !strings.Contains(r.Stderr, "can't fork") {
		t.Errorf("60 processes under pids.max 50 and no fork failed: %s", r)
	}
	if ev := readTrim(t, dockerCgroupFile(t, pid, "pids", "pids.events")); ev == "max 0" {
		t.Errorf("pids.events %q: the limit was never hit", ev)
	}
	e.docker(t, "restart", "-t", "0", id)
	pid, _ = strconv.Atoi(e.inspect(t, id, "{{.State.Pid}}"))
	if got := readTrim(t, dockerCgroupFile(t, pid, "pids", "pids.max")); got != "50" {
		t.Errorf("after restart: pids.max %s, want the updated 50", got)
	}
}

// dockerTestStats: `docker stats --no-stream` reports the container's
// memory (with its limit) and pids, read by the shim from its cgroup.
func dockerTestStats(t *testing.T, e *dockerEnv) {
	id := e.runDetached(t, "--memory", "64m", imageName, "sh", "-c", "sleep 1000 & sleep 1000 & echo ready; wait")
	e.waitLogs(t, id, "ready")
	pid, _ := strconv.Atoi(e.inspect(t, id, "{{.State.Pid}}"))
	current := dockerCgroupFile(t, pid, "pids", "pids.current")
	waitFor(t, "3 processes in the container", func() bool { return readTrim(t, current) == "3" })

	r := e.docker(t, "stats", "--no-stream", "--format", "{{json .}}", id)
	var s struct {
		ID, MemUsage, PIDs, CPUPerc string
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.Stdout)), &s); err != nil {
		t.Fatalf("stats: %v\n%s", err, r)
	}
	if s.ID != id[:12] || s.PIDs != "3" {
		t.Errorf("stats: id %q pids %q, want %s and 3", s.ID, s.PIDs, id[:12])
	}
	usage, limit, _ := strings.Cut(s.MemUsage, " / ")
	if limit != "64MiB" || usage == "" || usage == "0B" {
		t.Errorf("stats: memory %q, want some usage of 64MiB", s.MemUsage)
	}
}

// dockerTestTty: `docker run -it` from a terminal (a pty the test plays):
// the container has a terminal of the client's size, input reaches it and
// the exit code comes back.
func dockerTestTty(t *testing.T, e *dockerEnv) {
	master, slave := openPty(t, 33, 97)
	// The client resizes the container's terminal after starting it: wait
	// for the size rather than racing it.
	script := `tty; i=0; until [ "$(stty size)" = "33 97" ] || [ $i -ge 600 ]; do sleep 0.05; i=$((i+1)); done; ` +
		`echo "size=$(stty size)"; echo ready; read x; echo "got-$x"; exit 3`
	c := exec.Command(dockerCLI, e.clientArgs([]string{"run", "-it", "--rm", "--network", "none", imageName, "sh", "-c", script})...)
	c.Env = append(os.Environ(), e.clientEnv()...)
	c.Env = append(c.Env, "TERM=xterm")
	c.Stdin, c.Stdout, c.Stderr = slave, slave, slave
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	done := make(chan struct{})
	go func() { waitErr = c.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			c.Process.Kill()
			<-done
		}
	})
	slave.Close()

	out := dockerReadUntil(t, master, "ready")
	if !strings.Contains(out, "/dev/pts/") {
		t.Errorf("tty in the container: %q", out)
	}
	if !strings.Contains(out, "size=33 97") {
		t.Errorf("the container's terminal has not the client's size (33 97): %q", out)
	}
	if _, err := master.Write([]byte("hello\r")); err != nil {
		t.Fatal(err)
	}
	dockerReadUntil(t, master, "got-hello")
	select {
	case <-done:
		var ee *exec.ExitError
		if !errors.As(waitErr, &ee) || ee.ExitCode() != 3 {
			t.Errorf("docker run -it exited %v, want 3", waitErr)
		}
	case <-time.After(cmdTimeout):
		t.Fatalf("docker run -it did not exit")
	}
}

// dockerReadUntil reads from r until want appears (or waitTimeout passes).
func dockerReadUntil(t *testing.T, r *os.File, want string) string {
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
