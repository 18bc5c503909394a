package integration

// One test per escape class runc (or crun, youki) has had a CVE for; each
// attacks it and checks the attack fails. TestInitBinaryCannotBeWritten
// (security_test.go) covers CVE-2019-5736, TestMountOverSymlinkStaysInRootfs
// (mounts_test.go) the plain symlink case of CVE-2021-30465, and
// TestCVE202445310MkdirAllRace its racing form.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// CVE-2024-21626: a cwd of /proc/self/fd/N reaching a directory fd the
// runtime leaked into the init would put the workload outside its root.
// Every such cwd must fail or stay inside.
func TestCVE202421626LeakedFdAsCwd(t *testing.T) {
	e := newEnv(t)
	for fd := 3; fd <= 12; fd++ {
		b := e.newBundle(withShell("readlink /proc/self/cwd; ls -d ../../../../etc/hostname 2>/dev/null; cat ../../../../etc/hostname 2>/dev/null"),
			withSpec(func(s *specs.Spec) { s.Process.Cwd = fmt.Sprintf("/proc/self/fd/%d", fd) }))
		id := fmt.Sprintf("cwd%d", fd)
		r := e.runFG(b, id)
		if r.Code != 0 {
			continue // refused: fine
		}
		cwd := strings.TrimSpace(lines(r.Stdout + "\n")[0])
		if !strings.HasPrefix(cwd, "/") || strings.Contains(cwd, "unreachable") {
			t.Errorf("cwd /proc/self/fd/%d: the workload ran outside its root (%q)", fd, r.Stdout)
		}
		host, _ := os.ReadFile("/etc/hostname")
		if len(host) > 0 && strings.Contains(r.Stdout, strings.TrimSpace(string(host))) {
			t.Errorf("cwd /proc/self/fd/%d: the workload read the host's /etc/hostname", fd)
		}
	}
}

// CVE-2024-21626, the other half: a created container's waiting init must
// hold no handle on a host directory that a process exec'd into the
// container could take through /proc/<init>/fd.
func TestCVE202421626NoHostDirFdsInInit(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	e.create(b, "fds")
	pid := e.state("fds").PID
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	hostProc, _ := os.Stat("/proc")
	for _, ent := range ents {
		p := filepath.Join(dir, ent.Name())
		fi, err := os.Stat(p)
		if err != nil || !fi.IsDir() {
			continue
		}
		var sfs unix.Statfs_t
		if unix.Statfs(p, &sfs) == nil && sfs.Type == unix.PROC_SUPER_MAGIC &&
			fi.Sys().(*syscall.Stat_t).Dev != hostProc.Sys().(*syscall.Stat_t).Dev {
			continue // a procfs of the container's own pid namespace
		}
		target, _ := os.Readlink(p)
		t.Errorf("the waiting init holds fd %s on directory %s", ent.Name(), target)
	}
}

// CVE-2025-31133: /dev/null planted as a symlink (to a sensitive procfs
// file) before the runtime masks paths with it. Masking must use a real
// null device: husk makes one in its place; runc 1.5.3 keeps what the
// image has and refuses to run.
func TestCVE202531133DevNullSymlink(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withPrivateRootfs(), withShell(`stat -c '%F %t:%T' /proc/keys /dev/null`), withSpec(func(s *specs.Spec) {
		// No /dev tmpfs: the devices go into the image's own /dev.
		var mounts []specs.Mount
		for _, m := range s.Mounts {
			if !strings.HasPrefix(m.Destination, "/dev") {
				mounts = append(mounts, m)
			}
		}
		s.Mounts = mounts
	}))
	dev := filepath.Join(b.Rootfs, "dev")
	os.MkdirAll(dev, 0o755)
	os.Remove(filepath.Join(dev, "null"))
	if err := os.Symlink("/proc/sys/kernel/core_pattern", filepath.Join(dev, "null")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
	// A vulnerable runtime lets the container write the host's
	// core_pattern (runc 1.1.5 does): put it back whatever happens.
	t.Cleanup(func() {
		if now, _ := os.ReadFile("/proc/sys/kernel/core_pattern"); string(now) != string(before) {
			os.WriteFile("/proc/sys/kernel/core_pattern", before, 0)
		}
	})
	r := e.runFG(b, "devnull")
	if isRunc() {
		if r.Code == 0 || !strings.Contains(r.Stderr, "/dev/null is invalid") {
			t.Errorf("runc with a planted /dev/null: %s, want its refusal", r)
		}
	} else if r.Code != 0 {
		t.Fatal(r)
	} else if got := lines(r.Stdout); len(got) != 2 || got[0] != "character special file 1:3" || got[1] != "character special file 1:3" {
		t.Errorf("masked /proc/keys and /dev/null are %q, want the null device", got)
	}
	if after, _ := os.ReadFile("/proc/sys/kernel/core_pattern"); string(after) != string(before) {
		t.Errorf("core_pattern changed: %q -> %q", before, after)
	}
}

// CVE-2025-52565: /dev/console planted as a symlink to a host file before
// the runtime binds the pty on it.
func TestCVE202552565ConsoleSymlink(t *testing.T) {
	e := newEnv(t)
	marker := filepath.Join(t.TempDir(), "host-file")
	os.WriteFile(marker, []byte("untouched\n"), 0o644)
	sock, masters := consoleReceiver(t)
	b := e.newBundle(withPrivateRootfs(), withSpec(withTerminal), withSpec(func(s *specs.Spec) {
		var mounts []specs.Mount
		for _, m := range s.Mounts {
			if m.Destination != "/dev" {
				mounts = append(mounts, m)
			}
		}
		s.Mounts = mounts
		s.Process.Args = []string{"sh", "-c", "stat -c '%F %t' /dev/console; sleep 100"}
	}))
	dev := filepath.Join(b.Rootfs, "dev")
	os.MkdirAll(dev, 0o755)
	os.Symlink(marker, filepath.Join(dev, "console"))
	if isRunc() {
		// Not vulnerable either, runc 1.5.3 refuses such an image: it opens
		// /dev/console without following the symlink (ELOOP) where husk
		// replaces the symlink with the pty.
		e.track("console")
		e.failsWith("open /dev/console: too many levels of symbolic links", "run", "--detach", "--bundle", b.Dir, "--console-socket", sock, "console")
	} else {
		e.runDetached(b, "console", "--console-socket", sock)
		master, ok := <-masters
		if !ok {
			t.Fatal("no pty master")
		}
		defer master.Close()
		out := readUntil(t, master, "character special file")
		if !strings.Contains(out, "character special file 88") {
			t.Errorf("/dev/console in the container: %q", out)
		}
	}
	if data, _ := os.ReadFile(marker); string(data) != "untouched\n" {
		t.Errorf("host file changed: %q", data)
	}
	var mi []byte
	mi, _ = os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), marker) {
		t.Error("something was mounted on the host file")
	}
}

// CVE-2026-41579: the image's /dev is a symlink out of the rootfs. The
// /dev tmpfs and the device nodes must land inside the rootfs.
func TestCVE202641579DevSymlink(t *testing.T) {
	e := newEnv(t)
	hostDir := t.TempDir()
	b := e.newBundle(withPrivateRootfs(), withShell("stat -c %t:%T /dev/null"))
	dev := filepath.Join(b.Rootfs, "dev")
	os.RemoveAll(dev)
	// ../../.. climbs out of the rootfs on the host; inside it is "/".
	rel, _ := filepath.Rel(b.Rootfs, hostDir)
	if err := os.Symlink(rel, dev); err != nil {
		t.Fatal(err)
	}
	r := e.runFG(b, "devlink")
	ents, _ := os.ReadDir(hostDir)
	if len(ents) != 0 {
		t.Errorf("the runtime wrote into the host directory the image's /dev points at: %v", ents)
	}
	if r.Code == 0 && strings.TrimSpace(r.Stdout) != "1:3" {
		t.Errorf("/dev/null in the container: %s", r)
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), hostDir) {
		t.Error("a mount landed on the host directory")
	}
}

// CVE-2025-52881 / CVE-2019-16884: the config mounts a tmpfs over
// /proc/sys inside the container; the runtime's sysctl write must still
// reach the real procfs of the container's network namespace, not the
// decoy.
func TestCVE202552881ProcWriteRedirect(t *testing.T) {
	if isRunc() {
		t.Skip("runc 1.5.3 refuses any mount inside /proc but for lxcfs's files (\"cannot be mounted because it is inside /proc\"), so the decoy cannot be planted this way")
	}
	e := newEnv(t)
	b := e.newBundle(withArgs("sleep", "100"), withSpec(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/proc/sys", Type: "tmpfs", Source: "tmpfs"})
		s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
	}))
	e.runDetached(b, "procredirect")
	pid := e.state("procredirect").PID
	out, err := exec.Command("nsenter", "--net=/proc/"+strconv.Itoa(pid)+"/ns/net", "cat", "/proc/sys/net/ipv4/ip_forward").CombinedOutput()
	if err != nil {
		t.Fatalf("nsenter into the container's network namespace: %v %s", err, out)
	}
	if strings.TrimSpace(string(out)) != "1" {
		t.Errorf("net.ipv4.ip_forward in the container's network namespace is %q, want 1", out)
	}
}

// CVE-2022-29162: inheritable capabilities stay empty unless configured
// (then ambient ones can really be raised).
func TestCVE202229162Inheritable(t *testing.T) {
	e := newEnv(t)
	out := e.output("grep -E '^Cap(Inh|Amb)' /proc/self/status")
	st := statusFields(out)
	if st["CapInh"] != "0000000000000000" || st["CapAmb"] != "0000000000000000" {
		t.Errorf("without configured inheritable: %v", st)
	}
	out = e.output("grep -E '^Cap(Inh|Amb)' /proc/self/status", withSpec(func(s *specs.Spec) {
		s.Process.Capabilities.Inheritable = []string{"CAP_KILL"}
		s.Process.Capabilities.Ambient = []string{"CAP_KILL"}
	}))
	st = statusFields(out)
	if st["CapInh"] != "0000000000000020" || st["CapAmb"] != "0000000000000020" {
		t.Errorf("with inheritable and ambient CAP_KILL: %v", st)
	}
}

// CVE-2016-9962: the init is not dumpable until it execs, so the
// container's own root (an unprivileged host user) cannot ptrace it.
func TestCVE20169962InitNotPtraceable(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 300000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 300000, Size: 65536}}
	}))
	e.create(b, "ptrace")
	pid := e.state("ptrace").PID
	// /proc/PID of a non-dumpable process belongs to root, not to the
	// (mapped) container root.
	fi, err := os.Stat(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	if uid := fi.Sys().(*syscall.Stat_t).Uid; uid == 300000 {
		t.Errorf("the waiting init's /proc files belong to the container's root (uid %d): it is dumpable", uid)
	}
	// And the container's root cannot attach to it.
	cmd := exec.Command("/bin/busybox", "cat", fmt.Sprintf("/proc/%d/environ", pid))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 300000, Gid: 300000}}
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("uid 300000 read the init's environment: %q", out)
	}
}

// CVE-2021-30465 / CVE-2024-45310: while containers start, a component of
// a mount destination is swapped back and forth (atomically, with
// RENAME_EXCHANGE) between a directory and a symlink to a host directory.
// Whatever the interleaving, the runtime's mkdir and mount of the missing
// directories must never reach the host directory.
func TestCVE202445310MkdirAllRace(t *testing.T) {
	e := newEnv(t)
	hostDir := t.TempDir()
	b := e.newBundle(withPrivateRootfs(), withArgs("true"), withSpec(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/race/made/here", Type: "tmpfs", Source: "tmpfs"})
	}))
	dir, link := filepath.Join(b.Rootfs, "race"), filepath.Join(b.Rootfs, "race-swap")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(hostDir, link); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				done <- n
				return
			default:
			}
			if unix.Renameat2(unix.AT_FDCWD, dir, unix.AT_FDCWD, link, unix.RENAME_EXCHANGE) == nil {
				n++
			}
		}
	}()
	for i := range 20 {
		id := fmt.Sprintf("race%d", i)
		e.track(id)
		// Each run may fail (the destination is a symlink at that moment)
		// or succeed; either is fine, escaping is not.
		e.run("run", "--bundle", b.Dir, id)
		e.run("delete", "-f", id)
	}
	close(stop)
	if n := <-done; n == 0 {
		t.Fatal("the swapper never swapped")
	}
	if ents, _ := os.ReadDir(hostDir); len(ents) != 0 {
		t.Errorf("the runtime created %v in the host directory", ents)
	}
}

// CVE-2019-19921, and its regressions CVE-2023-27561 and CVE-2023-28642:
// an image whose /proc is a symlink (into the image, out of the rootfs, or
// into a volume another container writes) would get the container's procfs
// mounted elsewhere, leaving a /proc the attacker controls, where the
// runtime's LSM label writes (/proc/self/attr/...) land on plain files.
// The image is refused up front, by runc 1.5.3 with the same words.
func TestCVE201919921ProcSymlink(t *testing.T) {
	hostDir := t.TempDir()
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, b *bundle) string // returns the symlink target
	}{
		{"into-the-image", func(t *testing.T, b *bundle) string { return "/tmp" }},
		{"out-of-the-rootfs", func(t *testing.T, b *bundle) string {
			rel, _ := filepath.Rel(b.Rootfs, hostDir)
			return rel
		}},
		{"into-a-volume", func(t *testing.T, b *bundle) string {
			// As the CVE: /proc -> /vol/proc, /vol a host dir shared
			// with another container that can swap it for a fake procfs.
			if err := os.MkdirAll(filepath.Join(hostDir, "proc", "self", "attr"), 0o755); err != nil {
				t.Fatal(err)
			}
			b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/vol", Type: "bind", Source: hostDir, Options: []string{"rbind"}})
			b.write(t)
			return "/vol/proc"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := e.newBundle(withPrivateRootfs(), withArgs("true"))
			target := tc.plant(t, b)
			proc := filepath.Join(b.Rootfs, "proc")
			if err := os.Remove(proc); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, proc); err != nil {
				t.Fatal(err)
			}
			r := e.runFG(b, "procsym")
			if r.Code == 0 {
				t.Fatalf("an image whose /proc is a symlink to %s ran", target)
			}
			if !strings.Contains(r.Stderr, `filesystem \"proc\" must be mounted on ordinary directory`) &&
				!strings.Contains(r.Stderr, `filesystem "proc" must be mounted on ordinary directory`) {
				t.Errorf("not refused for its /proc: %s", r.Stderr)
			}
			e.assertNoTrace(b, "procsym")
			mi, _ := os.ReadFile("/proc/self/mountinfo")
			if strings.Contains(string(mi), hostDir) {
				t.Errorf("something was mounted on the host dir %s", hostDir)
			}
			if ents, _ := os.ReadDir(hostDir); tc.name == "out-of-the-rootfs" && len(ents) != 0 {
				t.Errorf("the runtime wrote into the host dir: %v", ents)
			}
		})
	}
}

// CVE-2019-19921 / CVE-2023-28642, the write itself: a container that
// covers its own /proc (here with a tmpfs planting a fake
// /proc/self/oom_score_adj and /proc/thread-self/attr/exec) must not
// redirect a write the runtime makes for a process it execs into it. husk's
// C init writes oom_score_adj through the same function as the LSM labels
// (write_proc in libcontainer/nsenter/process.c, through a procfs of its
// own): the value must reach the real process and the decoy stay as it
// was. (This host has neither AppArmor nor SELinux: the label write takes
// the same path but is not exercised here.)
func TestCVE202328642ExecProcWriteNotRedirected(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withPrivateRootfs(), withSpec(func(s *specs.Spec) {
		caps := append(s.Process.Capabilities.Bounding, "CAP_SYS_ADMIN")
		s.Process.Capabilities.Bounding, s.Process.Capabilities.Effective, s.Process.Capabilities.Permitted = caps, caps, caps
		s.Process.Args = []string{"sh", "-c", "mount -t tmpfs decoy /proc && mkdir -p /proc/self /proc/thread-self/attr && " +
			"echo decoy > /proc/self/oom_score_adj && echo decoy > /proc/thread-self/attr/exec && touch /tmp/planted; " + waitForever}
		s.Root.Readonly = false
		adj := 567
		s.Process.OOMScoreAdj = &adj
	}))
	e.runDetached(b, "redirect")
	pid := e.state("redirect").PID
	root := fmt.Sprintf("/proc/%d/root", pid)
	waitFile(t, filepath.Join(root, "tmp/planted"))
	procJSON := filepath.Join(e.dir, "process.json")
	p := defaultSpec().Process
	p.Args = []string{"sleep", "100"}
	adj := 300
	p.OOMScoreAdj = &adj
	data, _ := json.Marshal(p)
	if err := os.WriteFile(procJSON, data, 0o644); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(e.dir, "exec.pid")
	e.ok("exec", "-d", "--pid-file", pidFile, "--process", procJSON, "redirect")
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	execPid := strings.TrimSpace(string(raw))
	got, err := os.ReadFile("/proc/" + execPid + "/oom_score_adj")
	if err != nil {
		t.Fatal(err)
	}
	want := "300"
	if isRunc() {
		// runc 1.5.3 ignores an exec'd process's own oomScoreAdj: it
		// gets the container's, written before it joins the container's
		// namespaces (so no redirection can reach that write either).
		want = "567"
	}
	if strings.TrimSpace(string(got)) != want {
		t.Errorf("the exec'd process's oom_score_adj is %s, want %s: the write went elsewhere", got, want)
	}
	for _, f := range []string{"proc/self/oom_score_adj", "proc/thread-self/attr/exec"} {
		if d, err := os.ReadFile(filepath.Join(root, f)); err != nil || string(d) != "decoy\n" {
			t.Errorf("the decoy %s is %q (%v), want it untouched", f, d, err)
		}
	}
}

// CVE-2023-25809: a rootless container without a cgroup namespace must not
// get the host's cgroup hierarchies writable: /sys/fs/cgroup is read-only
// or masked (no cgroup is delegated to it here). The attack is a cgroup
// the unprivileged user owns on the host (systemd delegates the user's own
// to it): the container's root is that user, and could write it.
func TestCVE202325809RootlessCgroupNotWritable(t *testing.T) {
	// A host cgroup directory the test user owns, in a hierarchy the
	// container may see: pids (v1) or the unified one (v2).
	var hier string
	for _, m := range cgroupMountInfo() {
		if m.fstype == "cgroup" && m.has([]string{"pids"}) || m.fstype == "cgroup2" && m.point == "/sys/fs/cgroup" {
			hier = m.point
			break
		}
	}
	if hier == "" {
		t.Skip("the host has neither a v1 pids hierarchy nor cgroup2 at /sys/fs/cgroup")
	}
	owned := filepath.Join(hier, cgroupParent, "rootless-owned")
	if err := os.MkdirAll(owned, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(filepath.Join(owned, "sub")); os.Remove(owned) })
	if err := os.Chown(owned, testUID, testGID); err != nil {
		t.Fatal(err)
	}
	script := "cat /proc/self/mountinfo; echo ---; mkdir " + filepath.Join(owned, "sub") + " 2>/dev/null && echo created; true"
	cgMount := func(opts ...string) func(s *specs.Spec) {
		return func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: opts})
		}
	}
	for _, tc := range []struct {
		name string
		spec func(s *specs.Spec)
		runc string // why runc 1.5.3 fails the case, if it does
	}{
		// What `runc spec --rootless` writes: /sys an rbind,ro of the
		// host's, and a read-only cgroup mount.
		{"spec-rootless", cgMount("nosuid", "noexec", "nodev", "relatime", "ro"), ""},
		{"rw-cgroup-mount", cgMount("nosuid", "noexec", "nodev", "relatime"),
			"runc 1.5.3 binds the host's hierarchies into a rootless container with the cgroup mount's own flags, read-write here (its CVE-2023-25809 fix masks only a cgroup2 path it cannot find): the user's cgroup is writable"},
		{"no-cgroup-mount", nil,
			"runc 1.5.3 leaves the hierarchies that come with an rbind,ro /sys read-write (ro is the top mount's only) when the config has no /sys/fs/cgroup mount"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if isRunc() && tc.runc != "" {
				t.Skip(tc.runc)
			}
			r := newRootlessEnv(t)
			dir := r.bundle([]string{"sh", "-c", script}, tc.spec)
			r.track("cg25809")
			res := r.run("run", "--bundle", dir, "cg25809")
			if res.Code != 0 {
				t.Fatalf("rootless run: %s", res)
			}
			mi, after, _ := strings.Cut(res.Stdout, "---\n")
			for _, m := range visibleCgroupMounts(mi) {
				t.Errorf("in the container, the host's cgroups are writable at %s", m)
			}
			if strings.Contains(after, "created") || exists(filepath.Join(owned, "sub")) {
				t.Errorf("the container created a cgroup in the host's %s", owned)
			}
		})
	}
}

// visibleCgroupMounts lists the cgroup and cgroup2 mounts at or below
// /sys/fs/cgroup that a mountinfo shows read-write and not covered by a
// later mount on them or on a directory above them.
func visibleCgroupMounts(mountinfo string) []string {
	type ent struct{ mp, opts, fstype string }
	var ents []ent
	for _, l := range lines(mountinfo) {
		pre, post, ok := strings.Cut(l, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 6 || len(g) < 1 {
			continue
		}
		ents = append(ents, ent{unescapeMount(f[4]), f[5], g[0]})
	}
	var out []string
	for i, e := range ents {
		if !underDir(e.mp, "/sys/fs/cgroup") || e.fstype != "cgroup" && e.fstype != "cgroup2" {
			continue
		}
		covered := false
		for _, later := range ents[i+1:] {
			covered = covered || underDir(e.mp, later.mp) && later.mp != "/"
		}
		if !covered && !contains(strings.Split(e.opts, ","), "ro") {
			out = append(out, e.mp)
		}
	}
	return out
}

// crun's CVE-2026-30892: `exec -u` parsed loosely ran a process as root
// when asked for another user. Every form of --user either runs the
// process as exactly the ids asked (the gid, when not given, the
// container process's) or is refused with an error naming --user; never
// as root in its place. Neither runtime resolves names: runc 1.5.3's
// --user is uid[:gid], numbers only. runc 1.5.3 is compared row by row.
func TestCVE202630892ExecUserParsing(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("sleep", "1000"))
	e.runDetached(b, "execu")
	const refused = "refused"
	rows := []struct {
		user string
		want string // "uid:gid" the process runs as, or refused
		runc string // runc 1.5.3's outcome where it differs, and why
	}{
		{"0", "0:0", ""},
		{"1000", "1000:0", ""},
		{"1000:1000", "1000:1000", ""},
		{"0:1000", "0:1000", ""},
		{"65534:65534", "65534:65534", ""},
		{"4294967294:4294967294", "4294967294:4294967294", ""},
		{"01000", "1000:0", ""},
		{"tester", refused, ""},
		{"tester:tester", refused, ""},
		{"root", refused, ""},
		{"1000:tester", refused, ""},
		{"-1", refused, ""},
		{"-0", refused, "runs as 0:0: runc's strconv.Atoi reads \"-0\" as 0, which is what was asked"},
		{"+1000", refused, "runs as 1000:0: strconv.Atoi takes a sign; the ids asked, not root"},
		{"1000:-1", refused, ""},
		{"4294967295", refused, ""},
		{"1000:4294967295", refused, ""},
		{"4294967296", refused, "runc 1.5.3 is not fixed: strconv.Atoi, then uint32(), wraps 4294967296 to uid 0: it runs the process as root"},
		{"1000:4294967296", refused, "runc 1.5.3 is not fixed: the gid 4294967296 wraps to 0: it runs the process in group root"},
		{"18446744073709551616", refused, ""},
		{"0x3e8", refused, ""},
		{"1e3", refused, ""},
		{"0:", refused, ""},
		{":0", refused, ""},
		{":", refused, ""},
		{" 1000", refused, ""},
		{"1000 ", refused, ""},
		{"1000: 1000", refused, ""},
		{"1:2:3", refused, ""},
		{"abc", refused, ""},
		{"١٠٠٠", refused, ""},
	}
	for _, row := range rows {
		t.Run(strconv.Quote(row.user), func(t *testing.T) {
			if isRunc() && row.runc != "" {
				t.Skip(row.runc)
			}
			r := e.run("exec", "-u", row.user, "execu", "sh", "-c", "echo $(id -u):$(id -g)")
			got := strings.TrimSpace(r.Stdout)
			if r.Code != 0 {
				got = refused
			}
			if got != row.want {
				t.Fatalf("exec -u %q: got %s, want %s: %s", row.user, got, row.want, r)
			}
			if got == refused {
				if r.Stdout != "" {
					t.Errorf("a refused exec ran something: %q", r.Stdout)
				}
				if isHusk() && (!strings.Contains(r.Stderr, "exec: --user") || !strings.Contains(r.Stderr, "must be a number")) {
					t.Errorf("the error does not say what is wrong with --user: %s", r.Stderr)
				}
				if strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
					t.Errorf("the error is not one line: %q", r.Stderr)
				}
			}
		})
	}
	// The same ids in an exec --process file.
	for _, c := range []struct {
		u          specs.User
		husk, runc string // husk refuses the file, runc's init the id
	}{
		{specs.User{UID: 4294967295}, "user.uid: 4294967295 is not a valid uid", "cannot setuid to unmapped uid 4294967295"},
		{specs.User{UID: 1000, GID: 4294967295}, "user.gid: 4294967295 is not a valid gid", "cannot setgid to unmapped gid 4294967295"},
	} {
		u := c.u
		p := defaultSpec().Process
		p.Args, p.User = []string{"id"}, u
		data, _ := json.Marshal(p)
		f := filepath.Join(e.dir, "process-user.json")
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if r := e.run("exec", "--process", f, "execu"); r.Code != 255 || !strings.Contains(errText(r), huskOrRunc(c.husk, c.runc)) {
			t.Errorf("exec --process with user %+v: %s, want exit 255 and %q", u, r, huskOrRunc(c.husk, c.runc))
		}
	}
	// Nothing of the refused ones is left in the container.
	if out := e.ok("exec", "execu", "ps", "-o", "pid=,comm=").Stdout; len(lines(out)) != 2 {
		t.Errorf("processes left in the container: %q", out)
	}
}
