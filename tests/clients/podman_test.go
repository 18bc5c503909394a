package clients

// Podman (Debian's 4.3, with conmon) drives the runtime under test, given by
// absolute path with --runtime. Each test has a podman of its own: storage,
// run root, tmpdir (events, exit files, file locks), network config and a
// containers.conf of its own under the scratch dir (CONTAINERS_CONF), and a
// cgroup parent of its own; the host's default podman storage
// (/var/lib/containers) is never used. Its cleanup removes every container,
// waits for (and at worst kills) the conmon and `podman container cleanup`
// processes of its own, unmounts what podman left mounted under its dir,
// removes its cgroups and the dir, and fails the test if any of that leaked.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// podmanImage is the name podman gives the loaded archive's image.
const podmanImage = "localhost/" + imageName

// podmanEnv is one test's private podman.
type podmanEnv struct {
	t *testing.T
	// dir (under the scratch dir) holds the storage and the config files,
	// rundir (under /run: podman wants a run root of at most 50 bytes, and
	// conmon's sockets are under the tmpdir) the run root and the tmpdir.
	dir, rundir string
	// env is added to every podman invocation (CONTAINERS_CONF, ...).
	env []string
	// global are podman's global flags.
	global []string
	// cgParent is the cgroup parent of every container (and of conmon,
	// which podman puts in <cgParent>/conmon).
	cgParent string
	// stateRoot is the runtime's default --root (podman passes none):
	// /run/husk for husk, /run/runc for runc.
	stateRoot string
	// ids are the containers the test made, checked for leaks at cleanup.
	ids map[string]bool
}

// newPodman sets up a private podman for t, with the busybox image loaded,
// and registers its cleanup.
func newPodman(t *testing.T) *podmanEnv {
	t.Helper()
	start(t)
	need(t, "podman", "conmon", "unshare")
	dir, err := os.MkdirTemp(scratch, "pm")
	if err != nil {
		t.Fatal(err)
	}
	p := &podmanEnv{
		t:         t,
		dir:       dir,
		cgParent:  "/husk-clients-podman-" + filepath.Base(scratch) + "-" + filepath.Base(dir),
		stateRoot: filepath.Join("/run", filepath.Base(runtimeBin)),
		ids:       map[string]bool{},
	}
	t.Cleanup(p.cleanup)
	if p.rundir, err = os.MkdirTemp("/run", "husk-podman-"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{p.path("root"), p.path("net"), p.runpath("runroot"), p.runpath("tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// podman raises the containers' RLIMIT_NOFILE and RLIMIT_NPROC to
	// 1048576 by default and lowers its own RLIMIT_NPROC to 32768 (so the
	// runtime it starts has that); raising a hard limit needs
	// CAP_SYS_RESOURCE, which a test host may not have. The defaults here
	// are the limits the runtime can set either way.
	nofile, nproc := podmanLimit(unix.RLIMIT_NOFILE, 1048576), podmanLimit(unix.RLIMIT_NPROC, 32768)
	conf := fmt.Sprintf(`[containers]
netns = "none"
default_ulimits = ["nofile=%d:%d", "nproc=%d:%d"]

[network]
network_backend = "cni"
network_config_dir = %q

`, nofile, nofile, nproc, nproc, p.path("net"))
	// The runtime: docs/podman-crio.md's [engine] (husk by name, as the
	// default, with runc's JSON error log), and what keeps this podman to
	// itself.
	conf += strings.Replace(docSnippet(t, "podman-crio.md", "containers.conf"), "[engine]\n", fmt.Sprintf(`[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
lock_type = "file"
tmp_dir = %q
`, p.runpath("tmp")), 1)
	storage := fmt.Sprintf("[storage]\ndriver = \"overlay\"\ngraphroot = %q\nrunroot = %q\n", p.path("root"), p.runpath("runroot"))
	registries := "unqualified-search-registries = []\n"
	for name, data := range map[string]string{"containers.conf": conf, "storage.conf": storage, "registries.conf": registries} {
		if err := os.WriteFile(p.path(name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// conmon passes CONTAINERS_CONF on to the `podman container cleanup`
	// it runs when a container exits; the storage is given by flags too.
	p.env = []string{
		"CONTAINERS_CONF=" + p.path("containers.conf"),
		"CONTAINERS_STORAGE_CONF=" + p.path("storage.conf"),
		"CONTAINERS_REGISTRIES_CONF=" + p.path("registries.conf"),
	}
	p.global = []string{
		"--cgroup-manager", "cgroupfs",
		"--events-backend", "file",
		"--root", p.path("root"),
		"--runroot", p.runpath("runroot"),
		"--tmpdir", p.runpath("tmp"),
		"--storage-driver", "overlay",
	}
	// Copying an image goes through containers/image's blob info cache,
	// which for root is /var/lib/containers/cache whatever the storage
	// root: the load runs in a mount namespace of its own where /var/lib
	// is an empty tmpfs, so nothing of the host's is read or written.
	load := strings.Join(append(append([]string{"podman"}, p.global...), "load", "-i", imageArchive), " ")
	r := run(p.env, nil, "unshare", "--mount", "--propagation", "private", "--",
		"sh", "-c", "mount -t tmpfs -o size=1m,mode=0755 husk-podman-load /var/lib && exec "+load)
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	if !strings.Contains(r.Stdout, "Loaded image: "+podmanImage) {
		t.Fatalf("load did not name %s:\n%s", podmanImage, r)
	}
	return p
}

// podmanLimit is the hard limit of resource res, at most max.
func podmanLimit(res int, max uint64) uint64 {
	var rl unix.Rlimit
	if err := unix.Getrlimit(res, &rl); err == nil && rl.Max < max {
		return rl.Max
	}
	return max
}

func (p *podmanEnv) path(name string) string { return filepath.Join(p.dir, name) }

func (p *podmanEnv) runpath(name string) string { return filepath.Join(p.rundir, name) }

// under is whether path is one of the test's dirs or under one.
func (p *podmanEnv) under(path string) bool {
	for _, d := range []string{p.dir, p.rundir} {
		if d != "" && (path == d || strings.HasPrefix(path, d+"/")) {
			return true
		}
	}
	return false
}

// args is podman's command line for args.
func (p *podmanEnv) args(args ...string) []string {
	return append(append([]string{}, p.global...), args...)
}

// run runs podman; it may fail.
func (p *podmanEnv) run(args ...string) result {
	return run(p.env, nil, "podman", p.args(args...)...)
}

// ok runs podman, which must succeed.
func (p *podmanEnv) ok(args ...string) result {
	p.t.Helper()
	r := p.run(args...)
	if r.Code != 0 {
		p.t.Fatalf("%s", r)
	}
	return r
}

// ctr are the flags of every container: its cgroup parent, no network.
func (p *podmanEnv) ctr() []string {
	return []string{"--cgroup-parent", p.cgParent, "--network", "none"}
}

// detached starts a container with `run -d` and returns its full id.
func (p *podmanEnv) detached(name string, cmd ...string) string {
	p.t.Helper()
	args := append(append([]string{"run", "-d", "--name", name}, p.ctr()...), podmanImage)
	r := p.ok(append(args, cmd...)...)
	id := strings.TrimSpace(r.Stdout)
	if len(id) != 64 {
		p.t.Fatalf("run -d printed no container id: %s", r)
	}
	p.ids[id] = true
	return id
}

// inspect is `podman inspect -f format name`, trimmed.
func (p *podmanEnv) inspect(name, format string) string {
	p.t.Helper()
	return strings.TrimSpace(p.ok("inspect", "-f", format, name).Stdout)
}

// status is the container's state as podman inspect shows it.
func (p *podmanEnv) status(name string) string {
	p.t.Helper()
	return p.inspect(name, "{{.State.Status}}")
}

// waitLogs polls the container's logs for s.
func (p *podmanEnv) waitLogs(name, s string) {
	p.t.Helper()
	waitFor(p.t, fmt.Sprintf("%q in the logs of %s", s, name), func() bool {
		return strings.Contains(p.run("logs", name).Stdout, s)
	})
}

// runtimeState is the runtime's own `state` of a container (podman uses
// the runtime's default root).
func (p *podmanEnv) runtimeState(id string) (status string, pid int) {
	p.t.Helper()
	r := run(nil, nil, runtimeBin, "state", id)
	if r.Code != 0 {
		p.t.Fatalf("%s", r)
	}
	var st struct {
		Status string `json:"status"`
		Pid    int    `json:"pid"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		p.t.Fatalf("%s: %v", r, err)
	}
	return st.Status, st.Pid
}

// ownProcs are the processes whose command line names this test's dir:
// the conmons and `podman container cleanup`s this test's podman started.
func (p *podmanEnv) ownProcs() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, arg := range strings.Split(string(cmdline), "\x00") {
			if p.under(arg) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// cgroupDirs are the test's cgroup parent in every cgroup hierarchy
// mounted at its root.
func (p *podmanEnv) cgroupDirs() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var dirs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, fs := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(fs) < 1 || (fs[0] != "cgroup" && fs[0] != "cgroup2") || fields[3] != "/" {
			continue
		}
		d := filepath.Join(fields[4], p.cgParent)
		if _, err := os.Stat(d); err == nil {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

func (p *podmanEnv) cleanup() {
	t := p.t
	// Without its private flags podman would use the host's storage.
	if p.global != nil {
		r := p.run("ps", "-a", "-q", "--no-trunc")
		for _, id := range strings.Fields(r.Stdout) {
			p.ids[id] = true
		}
		if r := p.run("rm", "-a", "-f", "-t", "0"); r.Code != 0 {
			t.Errorf("cleanup: %s", r)
		}
	}
	// conmon exits with its container, then runs `podman container
	// cleanup`: wait for them; kill what is left (ours only).
	deadline := time.Now().Add(waitTimeout)
	for len(p.ownProcs()) > 0 && time.Now().Before(deadline) {
		time.Sleep(pollEvery)
	}
	if pids := p.ownProcs(); len(pids) > 0 {
		t.Errorf("cleanup: processes of this test still running, killed: %v", pids)
		for _, pid := range pids {
			unix.Kill(pid, unix.SIGKILL)
		}
	}
	// The overlay driver bind-mounts its home on itself (and leaves it).
	for _, mp := range mountsUnder(p.dir, p.rundir) {
		if err := unix.Unmount(mp, 0); err != nil {
			unix.Unmount(mp, unix.MNT_DETACH)
		}
	}
	for _, d := range p.cgroupDirs() {
		var sub []string
		filepath.WalkDir(d, func(path string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				sub = append([]string{path}, sub...)
			}
			return nil
		})
		for _, s := range sub {
			if err := unix.Rmdir(s); err != nil {
				t.Errorf("cleanup: rmdir %s: %v", s, err)
			}
		}
	}
	if mps := mountsUnder(p.dir, p.rundir); len(mps) > 0 {
		t.Errorf("cleanup: still mounted: %v", mps)
	} else {
		for _, d := range []string{p.dir, p.rundir} {
			if err := os.RemoveAll(d); d != "" && err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	}
	for id := range p.ids {
		if _, err := os.Stat(filepath.Join(p.stateRoot, id)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cleanup: the runtime's state of %s is left in %s", id, p.stateRoot)
			run(nil, nil, runtimeBin, "delete", "--force", id)
		}
	}
}

// ptyResult is what a command run on a pseudo-terminal did.
type ptyResult struct {
	Cmd  string
	Out  string
	Code int
}

func (r ptyResult) String() string {
	return fmt.Sprintf("`%s` exited %d\nterminal: %q", r.Cmd, r.Code, r.Out)
}

// ptyOutput collects what a pty master reads.
type ptyOutput struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
}

func (o *ptyOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// runPty runs podman with a new pseudo-terminal as its controlling
// terminal and stdin, stdout and stderr, as from an interactive shell. When
// the terminal shows prompt, input is typed into it.
func (p *podmanEnv) runPty(prompt, input string, args ...string) ptyResult {
	t := p.t
	t.Helper()
	master, slave := openPty(t, 24, 80)

	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, "podman", p.args(args...)...)
	c.Env = append(os.Environ(), p.env...)
	c.Stdin, c.Stdout, c.Stderr = slave, slave, slave
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	c.WaitDelay = 5 * time.Second
	out := &ptyOutput{done: make(chan struct{})}
	go func() {
		defer close(out.done)
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			out.mu.Lock()
			out.buf.Write(b[:n])
			out.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	res := ptyResult{Cmd: strings.Join(append([]string{"podman"}, args...), " ")}
	if prompt != "" {
		deadline := time.Now().Add(waitTimeout)
		for !strings.Contains(out.String(), prompt) && time.Now().Before(deadline) {
			time.Sleep(pollEvery)
		}
		if !strings.Contains(out.String(), prompt) {
			c.Process.Kill()
			c.Wait()
			res.Out, res.Code = out.String(), -1
			t.Fatalf("timed out waiting for %q on the terminal: %s", prompt, res)
		}
		if _, err := io.WriteString(master, input); err != nil {
			t.Fatal(err)
		}
	}
	err := c.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		res.Code = ee.ExitCode()
	default:
		res.Code = -1
	}
	// The master reads EIO once no process has the terminal open any more;
	// what podman wrote is read before.
	select {
	case <-out.done:
	case <-time.After(waitTimeout):
		t.Errorf("the terminal is still open after podman exited")
	}
	res.Out = out.String()
	return res
}

// TestPodmanRunRm: `podman run --rm` passes the output through and the
// exit code back, and the container is gone afterwards: from podman, from
// the runtime's state and from the cgroups.
func TestPodmanRunRm(t *testing.T) {
	p := newPodman(t)
	// husk really is the runtime podman uses.
	info := p.ok("info", "--format", "{{.Host.OCIRuntime.Path}}")
	if got := strings.TrimSpace(info.Stdout); got != runtimeBin {
		t.Errorf("podman info: OCI runtime %q, want %q", got, runtimeBin)
	}

	cidfile := p.path("cid")
	args := append(append([]string{"run", "--rm", "--name", "rm1", "--cidfile", cidfile}, p.ctr()...),
		podmanImage, "sh", "-c", "echo out-$((6*7)); echo err-line >&2; exit 7")
	r := p.run(args...)
	if r.Code != 7 {
		t.Fatalf("want exit code 7: %s", r)
	}
	if !strings.Contains(r.Stdout, "out-42") || !strings.Contains(r.Stderr, "err-line") {
		t.Errorf("output not passed through: %s", r)
	}
	cid, err := os.ReadFile(cidfile)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(string(cid))
	p.ids[id] = true
	if r := p.run("container", "exists", "rm1"); r.Code != 1 {
		t.Errorf("the container is still there: %s", r)
	}
	waitFor(t, "the runtime's state of "+id+" to go", func() bool {
		_, err := os.Stat(filepath.Join(p.stateRoot, id))
		return errors.Is(err, os.ErrNotExist)
	})
	for _, d := range p.cgroupDirs() {
		cg := filepath.Join(d, "libpod-"+id)
		waitFor(t, cg+" to go", func() bool {
			_, err := os.Stat(cg)
			return errors.Is(err, os.ErrNotExist)
		})
	}

	// A plain exit 0.
	args = append(append([]string{"run", "--rm"}, p.ctr()...), podmanImage, "true")
	if r := p.run(args...); r.Code != 0 || r.Stdout != "" {
		t.Errorf("want exit code 0, no output: %s", r)
	}
	if r := p.ok("ps", "-a", "-q"); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("containers left: %s", r)
	}
}

// TestPodmanRunErrors: the runtime's failures reach podman with the exit
// codes docker defines (127: no such command, 126: not executable), and
// create, then start -a, runs the workload once with its exit code.
func TestPodmanRunErrors(t *testing.T) {
	p := newPodman(t)
	for _, c := range []struct {
		cmd  string
		code int
	}{{"/no/such/binary", 127}, {"/etc/passwd", 126}} {
		args := append(append([]string{"run", "--rm"}, p.ctr()...), podmanImage, c.cmd)
		r := p.run(args...)
		if r.Code != c.code || !strings.Contains(r.Stderr, c.cmd) {
			t.Errorf("want exit code %d and an error naming %s: %s", c.code, c.cmd, r)
		}
	}
	args := append(append([]string{"create", "--name", "c1"}, p.ctr()...), podmanImage, "sh", "-c", "echo started; exit 9")
	p.ids[strings.TrimSpace(p.ok(args...).Stdout)] = true
	if s := p.status("c1"); s != "created" {
		t.Errorf("after create: status %q", s)
	}
	r := p.run("start", "-a", "c1")
	if r.Code != 9 || strings.TrimSpace(r.Stdout) != "started" {
		t.Errorf("start -a: want exit 9 and the output once: %s", r)
	}
	if s, code := p.status("c1"), p.inspect("c1", "{{.State.ExitCode}}"); s != "exited" || code != "9" {
		t.Errorf("after start: status %s exit code %s, want exited 9", s, code)
	}
	if r := p.ok("ps", "-a", "-q"); strings.TrimSpace(r.Stdout) == "" {
		t.Errorf("c1 is gone: %s", r)
	}
}

// TestPodmanMounts: podman's --mount options as it writes them into the
// runtime's config: a bind with rslave propagation (podman then asks for
// rootfsPropagation rslave) and a tmpfs with its own mode (with tmpcopyup).
func TestPodmanMounts(t *testing.T) {
	p := newPodman(t)
	src := p.path("bind")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "marker"), []byte("from-the-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{"run", "--rm",
		"--mount", "type=bind,src=" + src + ",dst=/b,bind-propagation=rslave",
		"--mount", "type=tmpfs,dst=/t,tmpfs-mode=1700",
	}, p.ctr()...), podmanImage, "sh", "-c", "cat /b/marker; stat -c %a /t")
	r := p.run(args...)
	if r.Code != 0 || r.Stdout != "from-the-host\n1700\n" {
		t.Errorf("want the marker and mode 1700: %s", r)
	}
}

// TestPodmanRunTty: `podman run -it` on a pseudo-terminal: the container's
// stdin is a terminal, typed input reaches it, its output and exit code
// come back.
func TestPodmanRunTty(t *testing.T) {
	p := newPodman(t)
	args := append(append([]string{"run", "-it", "--rm", "--name", "tty1"}, p.ctr()...), podmanImage,
		"sh", "-c", `tty; test -t 0 && test -t 1 && echo stdio-is-a-tty; echo ready; read line; echo "got:$line"; exit 3`)
	r := p.runPty("ready", "hello\n", args...)
	if r.Code != 3 {
		t.Fatalf("want exit code 3: %s", r)
	}
	for _, want := range []string{"/dev/pts/0", "stdio-is-a-tty", "got:hello"} {
		if !strings.Contains(r.Out, want) {
			t.Errorf("no %q on the terminal: %s", want, r)
		}
	}
	if r := p.run("container", "exists", "tty1"); r.Code != 1 {
		t.Errorf("the container is still there: %s", r)
	}
}

// TestPodmanDetachedExecStop: `run -d`, then exec (output, exit code, with
// a terminal), the runtime's own state of it, top and ps, and stop: a
// workload trapping SIGTERM exits with its own code, one ignoring it is
// killed after --time.
func TestPodmanDetachedExecStop(t *testing.T) {
	p := newPodman(t)
	id := p.detached("trap1", "sh", "-c", `trap 'echo got-term; exit 42' TERM; echo ready; sleep 1000 & wait`)
	p.waitLogs("trap1", "ready")
	if s := p.status("trap1"); s != "running" {
		t.Fatalf("status %q, want running", s)
	}

	// husk runs it: podman records it (by the name docs/podman-crio.md's
	// containers.conf gives it; TestPodmanRunRm checks the path), conmon
	// was told so, and husk's state (its default root) has it running with
	// the pid podman knows.
	if got := p.inspect("trap1", "{{.OCIRuntime}}"); got != "husk" {
		t.Errorf("inspect: OCI runtime %q, want husk (the name containers.conf gives it)", got)
	}
	conmonPid := p.inspect("trap1", "{{.State.ConmonPid}}")
	cmdline, err := os.ReadFile("/proc/" + conmonPid + "/cmdline")
	if err != nil {
		t.Fatalf("conmon: %v", err)
	}
	if !bytes.Contains(cmdline, []byte("\x00-r\x00"+runtimeBin+"\x00")) {
		t.Errorf("conmon was not given -r %s: %q", runtimeBin, cmdline)
	}
	if _, err := os.Stat(filepath.Join(p.stateRoot, id, "state.json")); err != nil {
		t.Errorf("no state of the runtime's: %v", err)
	}
	st, pid := p.runtimeState(id)
	if st != "running" || strconv.Itoa(pid) != p.inspect("trap1", "{{.State.Pid}}") {
		t.Errorf("runtime state %s pid %d, podman: pid %s", st, pid, p.inspect("trap1", "{{.State.Pid}}"))
	}

	r := p.run("exec", "trap1", "sh", "-c", "echo exec-out; echo exec-err >&2; exit 5")
	if r.Code != 5 || !strings.Contains(r.Stdout, "exec-out") || !strings.Contains(r.Stderr, "exec-err") {
		t.Errorf("want exit 5 and the output: %s", r)
	}
	r = p.run("exec", "--user", "65534", "--workdir", "/tmp", "--env", "FOO=bar", "trap1", "sh", "-c", `echo "$(id -u) $PWD $FOO"`)
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "65534 /tmp bar" {
		t.Errorf("exec --user --workdir --env: %s", r)
	}
	if r := p.run("exec", "trap1", "/no/such/binary"); r.Code != 127 {
		t.Errorf("exec of a missing binary: want 127: %s", r)
	}
	pr := p.runPty("", "", "exec", "-it", "trap1", "sh", "-c", "test -t 0 && test -t 1 && echo exec-tty; tty; exit 4")
	if pr.Code != 4 || !strings.Contains(pr.Out, "exec-tty") || !strings.Contains(pr.Out, "/dev/pts/") {
		t.Errorf("exec -it: want exit 4 on a terminal: %s", pr)
	}

	// top and ps.
	r = p.ok("top", "trap1", "pid", "args")
	if !strings.Contains(r.Stdout, "sleep 1000") {
		t.Errorf("top shows no sleep: %s", r)
	}
	r = p.ok("ps", "--filter", "id="+id, "--format", "{{.Names}} {{.State}}")
	if !strings.HasPrefix(r.Stdout, "trap1 Up ") {
		t.Errorf("ps: %s", r)
	}

	// stop: SIGTERM, trapped.
	p.ok("stop", "--time", "30", "trap1")
	if s, code := p.status("trap1"), p.inspect("trap1", "{{.State.ExitCode}}"); s != "exited" || code != "42" {
		t.Errorf("after stop: status %s exit code %s, want exited 42", s, code)
	}
	p.waitLogs("trap1", "got-term")

	// stop: SIGTERM ignored (pid 1 without a handler), then SIGKILL.
	p.detached("sleep1", "sleep", "1000")
	p.ok("stop", "--time", "1", "sleep1")
	if s, code := p.status("sleep1"), p.inspect("sleep1", "{{.State.ExitCode}}"); s != "exited" || code != "137" {
		t.Errorf("after stop: status %s exit code %s, want exited 137", s, code)
	}

	// A stopped container starts again.
	p.ok("start", "sleep1")
	if s := p.status("sleep1"); s != "running" {
		t.Errorf("after start: status %q", s)
	}
	p.ok("rm", "-f", "-t", "0", "sleep1", "trap1")
}

// TestPodmanPauseUnpause: pause and unpause as podman inspect and the
// runtime's state show them; a paused container runs no exec and resumes
// where it was.
func TestPodmanPauseUnpause(t *testing.T) {
	p := newPodman(t)
	id := p.detached("pause1", "sh", "-c", `i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done`)
	waitFor(t, "the loop to run", func() bool {
		return p.run("exec", "pause1", "cat", "/tmp/n").Code == 0
	})
	p.ok("pause", "pause1")
	if s := p.status("pause1"); s != "paused" {
		t.Errorf("after pause: status %q", s)
	}
	if st, _ := p.runtimeState(id); st != "paused" {
		t.Errorf("after pause: the runtime says %q", st)
	}
	if r := p.run("exec", "pause1", "true"); r.Code == 0 {
		t.Errorf("exec in a paused container succeeded: %s", r)
	}
	p.ok("unpause", "pause1")
	if s := p.status("pause1"); s != "running" {
		t.Errorf("after unpause: status %q", s)
	}
	if st, _ := p.runtimeState(id); st != "running" {
		t.Errorf("after unpause: the runtime says %q", st)
	}
	first := strings.TrimSpace(p.ok("exec", "pause1", "cat", "/tmp/n").Stdout)
	waitFor(t, "the loop to go on after unpause", func() bool {
		r := p.run("exec", "pause1", "cat", "/tmp/n")
		return r.Code == 0 && strings.TrimSpace(r.Stdout) != first
	})
}

// TestPodmanStats: `podman stats --no-stream` reads the container's
// cgroups: memory in use, and its pids.
func TestPodmanStats(t *testing.T) {
	p := newPodman(t)
	p.detached("stats1", "sh", "-c", "sleep 1000 & sleep 1000 & echo ready; wait")
	p.waitLogs("stats1", "ready")
	r := p.ok("stats", "--no-stream", "--format", "json", "stats1")
	var stats []struct {
		Name     string `json:"name"`
		MemUsage string `json:"mem_usage"`
		Pids     string `json:"pids"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &stats); err != nil || len(stats) != 1 {
		t.Fatalf("%s: %v", r, err)
	}
	s := stats[0]
	if s.Name != "stats1" || s.Pids != "3" {
		t.Errorf("want stats1 with 3 pids: %+v", s)
	}
	used, _, ok := strings.Cut(s.MemUsage, " / ")
	if !ok || used == "" || strings.HasPrefix(used, "0B") || strings.HasPrefix(used, "0.0") {
		t.Errorf("no memory in use: %+v", s)
	}
}
