package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/tests/testutil"
)

// mountInfo returns the mountinfo line of path inside a container made
// with the extra mounts, as "opts per-mount | super-opts".
func mountOpts(t *testing.T, e *env, path string, mounts ...specs.Mount) (perMount, propagation string) {
	t.Helper()
	out := e.output(`awk -v p="`+path+`" '$5 == p {print $6; print $7}' /proc/self/mountinfo | tail -2`,
		withSpec(func(s *specs.Spec) { s.Mounts = append(s.Mounts, mounts...) }))
	l := lines(out)
	if len(l) != 2 {
		t.Fatalf("no mount at %s: %q", path, out)
	}
	return l[0], l[1]
}

func has(list, opt string) bool {
	for _, o := range strings.Split(list, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

// The spec's per-mount flags, set and cleared, on a tmpfs and on a bind.
func TestMountFlagOptions(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		opts      []string
		want, not []string
	}{
		{[]string{"ro", "nosuid", "nodev", "noexec"}, []string{"ro", "nosuid", "nodev", "noexec"}, nil},
		{[]string{"ro", "rw", "suid", "dev", "exec"}, []string{"rw"}, []string{"nosuid", "nodev", "noexec"}},
		{[]string{"noatime"}, []string{"noatime"}, []string{"relatime"}},
		{[]string{"strictatime"}, nil, []string{"noatime", "relatime"}},
		{[]string{"relatime", "nodiratime"}, []string{"relatime", "nodiratime"}, nil},
		{[]string{"nosymfollow"}, []string{"nosymfollow"}, nil},
	}
	for _, c := range cases {
		for _, kind := range []string{"tmpfs", "bind"} {
			m := specs.Mount{Destination: "/mnt/x", Type: "tmpfs", Source: "tmpfs", Options: c.opts}
			if kind == "bind" {
				m = specs.Mount{Destination: "/mnt/x", Type: "bind", Source: t.TempDir(), Options: append([]string{"bind"}, c.opts...)}
			}
			got, _ := mountOpts(t, e, "/mnt/x", m)
			for _, w := range c.want {
				if !has(got, w) {
					t.Errorf("%s with %v: options %s lack %s", kind, c.opts, got, w)
				}
			}
			for _, n := range c.not {
				if has(got, n) {
					t.Errorf("%s with %v: options %s have %s", kind, c.opts, got, n)
				}
			}
		}
	}
}

// Propagation options show in mountinfo's optional fields.
func TestMountPropagationOptions(t *testing.T) {
	e := newEnv(t)
	for opt, want := range map[string]string{"shared": "shared:", "private": "", "unbindable": "unbindable", "rslave": ""} {
		m := specs.Mount{Destination: "/mnt/p", Type: "tmpfs", Source: "tmpfs", Options: []string{opt}}
		_, prop := mountOpts(t, e, "/mnt/p", m)
		if want == "" && prop != "-" && strings.Contains(prop, "shared") {
			t.Errorf("%s: optional fields %q", opt, prop)
		}
		if want != "" && !strings.HasPrefix(prop, want) {
			t.Errorf("%s: optional fields %q, want %s", opt, prop, want)
		}
	}
}

// Recursive attributes (rro, rnosuid, ...) reach the submounts of a rbind:
// the host's /sys has cgroup mounts below it.
func TestMountRecursiveAttributes(t *testing.T) {
	e := newEnv(t)
	sub, _ := mountOpts(t, e, "/hostsys/fs/cgroup/pids",
		specs.Mount{Destination: "/hostsys", Type: "bind", Source: "/sys", Options: []string{"rbind", "rro", "rnosuid"}})
	if !has(sub, "ro") || !has(sub, "nosuid") {
		t.Errorf("submount of the rbind has %s, want ro,nosuid", sub)
	}
	// Without the r* options the submount keeps its own flags.
	sub, _ = mountOpts(t, e, "/hostsys/fs/cgroup/pids",
		specs.Mount{Destination: "/hostsys", Type: "bind", Source: "/sys", Options: []string{"rbind", "ro"}})
	if has(sub, "ro") {
		t.Errorf("plain ro reached the submount: %s", sub)
	}
}

// A relative destination is relative to the container's "/".
func TestMountRelativeDestination(t *testing.T) {
	e := newEnv(t)
	got, _ := mountOpts(t, e, "/rel/dest", specs.Mount{Destination: "rel/dest", Type: "tmpfs", Source: "tmpfs"})
	if got == "" {
		t.Error("no mount")
	}
}

// A tmpfs over a directory of the rootfs takes that directory's mode,
// passed as a mode= option, which one given in the config overrides; one
// on a mount point the runtime made keeps its own (mode=, or tmpfs's
// 1777): runc 1.5's rule, tmpcopyup and ro or not. podman's --mount
// type=tmpfs,tmpfs-mode=N relies on it. The directory itself is left as
// it is.
func TestMountTmpfsMode(t *testing.T) {
	e := newEnv(t)
	dirs := []struct {
		dest string
		opts []string
		want string
	}{
		{"/old", []string{"mode=1777"}, "1777"},
		{"/oldinherit", nil, "710"},
		{"/new", []string{"mode=1750"}, "1750"},
		{"/newdefault", nil, "1777"},
		{"/newcopyup", []string{"mode=1700", "tmpcopyup"}, "1700"},
		{"/oldcopyup", []string{"mode=1777", "tmpcopyup"}, "1777"},
		{"/oldcopyupinherit", []string{"tmpcopyup"}, "710"},
		{"/oldro", []string{"mode=1777", "ro"}, "1777"},
		{"/oldroinherit", []string{"ro"}, "710"},
	}
	var script, want string
	for _, d := range dirs {
		script += fmt.Sprintf("stat -c '%%n %%a' %s; ", d.dest)
		want += d.dest + " " + d.want + "\n"
	}
	// The inherited mode is the mount's mode= option.
	script += `grep -o ' /oldinherit tmpfs [^ ]*' /proc/self/mounts`
	want += " /oldinherit tmpfs rw,relatime,mode=710\n"
	b := e.newBundle(withPrivateRootfs(), withShell(script),
		withSpec(func(s *specs.Spec) {
			for _, d := range dirs {
				s.Mounts = append(s.Mounts, specs.Mount{Destination: d.dest, Type: "tmpfs", Source: "tmpfs", Options: d.opts})
			}
		}))
	for _, d := range dirs {
		if strings.HasPrefix(d.dest, "/old") {
			os.Mkdir(filepath.Join(b.Rootfs, d.dest), 0o710)
			os.Chmod(filepath.Join(b.Rootfs, d.dest), 0o710)
		}
	}
	r := e.runFG(b, "tmpfsmode")
	if r.Code != 0 {
		t.Fatal(r)
	}
	if r.Stdout != want {
		t.Errorf("tmpfs modes: got %q, want %q", r.Stdout, want)
	}
	for _, d := range dirs {
		if st, err := os.Stat(filepath.Join(b.Rootfs, d.dest)); err == nil && strings.HasPrefix(d.dest, "/old") && st.Mode().Perm() != 0o710 {
			t.Errorf("the rootfs's %s was changed to %o", d.dest, st.Mode().Perm())
		}
	}
}

// tmpcopyup: the new tmpfs holds a copy of what was under it, with modes,
// owners and symlinks, and writes do not reach the image.
func TestMountTmpcopyup(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withPrivateRootfs(), withShell(`cat /data/file; stat -c '%a %u' /data/file /data/dir /data; readlink /data/link; echo new > /data/file; grep ' /data ' /proc/self/mounts | cut -d' ' -f3`),
		withSpec(func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup"}})
		}))
	data := filepath.Join(b.Rootfs, "data")
	os.MkdirAll(filepath.Join(data, "dir"), 0o750)
	os.WriteFile(filepath.Join(data, "file"), []byte("original\n"), 0o646)
	os.Chown(filepath.Join(data, "file"), 1000, 1000)
	os.Chmod(filepath.Join(data, "dir"), 0o750)
	os.Chmod(filepath.Join(data, "file"), 0o646) // world-writable: container root lacks CAP_DAC_OVERRIDE
	os.Symlink("file", filepath.Join(data, "link"))
	// The tmpfs takes the directory's mode, not its owner (as runc 1.5).
	os.Chown(data, 1000, 1000)
	os.Chmod(data, 0o755)
	r := e.runFG(b, "copyup")
	if r.Code != 0 {
		t.Fatal(r)
	}
	want := "original\n646 1000\n750 0\n755 0\nfile\ntmpfs\n"
	if r.Stdout != want {
		t.Errorf("tmpcopyup: got %q, want %q", r.Stdout, want)
	}
	if got, _ := os.ReadFile(filepath.Join(data, "file")); string(got) != "original\n" {
		t.Errorf("the write reached the image: %q", got)
	}
}

// A mount destination that is a symlink in the image is resolved inside
// the rootfs, never on the host.
func TestMountOverSymlinkStaysInRootfs(t *testing.T) {
	e := newEnv(t)
	hostDir := t.TempDir()
	b := e.newBundle(withPrivateRootfs(), withShell(`grep -c ' /inside ' /proc/self/mountinfo`), withSpec(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/evil", Type: "tmpfs", Source: "tmpfs"})
	}))
	os.Mkdir(filepath.Join(b.Rootfs, "inside"), 0o755)
	// An absolute link to a host directory: followed as if chrooted.
	if err := os.Symlink(filepath.Join("/", "inside"), filepath.Join(b.Rootfs, "evil")); err != nil {
		t.Fatal(err)
	}
	_ = hostDir
	r := e.runFG(b, "symlink")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "1" {
		t.Errorf("tmpfs did not land on /inside: %s", r)
	}
}

// idmap with the mount's own mappings: an id on disk (containerID) shows
// as the mapping's hostID, as runc and crun apply mount mappings.
func TestMountIdmapOwnMappings(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	if why := testutil.IdmapUnsupported(src); why != "" {
		t.Skip("needs idmapped mounts on the test's temporary directory: " + why)
	}
	f := filepath.Join(src, "owned-by-root")
	os.WriteFile(f, []byte("x"), 0o644)
	out := e.output("stat -c '%u %g' /idm/owned-by-root", withSpec(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{
			Destination: "/idm", Type: "bind", Source: src, Options: []string{"bind", "idmap"},
			UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}},
			GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}},
		})
	}))
	if strings.TrimSpace(out) != "1000 1000" {
		t.Errorf("through the idmapped mount: %q, want \"1000 1000\"", out)
	}
}

// idmap without mappings takes the container's user namespace's: the
// host's root-owned files are the container root's.
func TestMountIdmapContainerMappings(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	if why := testutil.IdmapUnsupported(src); why != "" {
		t.Skip("needs idmapped mounts on the test's temporary directory: " + why)
	}
	os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644)
	userns := withSpec(func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}
	})
	// The container's root cannot make mount points in a root-owned image,
	// and must reach the rootfs by path (as with runc): the test's
	// directories are 0700.
	mkdirs := func(e *env, b *bundle) {
		for d := b.Dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
			os.Chmod(d, 0o755)
		}
		os.Mkdir(filepath.Join(b.Rootfs, "plain"), 0o755)
		os.Mkdir(filepath.Join(b.Rootfs, "idm"), 0o755)
	}
	out := e.output("stat -c %u /plain/f /idm/f", withPrivateRootfs(), mkdirs, userns, withSpec(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/plain", Type: "bind", Source: src, Options: []string{"bind"}},
			specs.Mount{Destination: "/idm", Type: "bind", Source: src, Options: []string{"bind", "ridmap"}})
	}))
	if got := lines(out); len(got) != 2 || got[0] != "65534" || got[1] != "0" {
		t.Errorf("owners without and with idmap: %q, want 65534 then 0", got)
	}
	// Without a user namespace, idmap needs mappings of its own.
	b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/idm", Type: "bind", Source: src, Options: []string{"bind", "idmap"}})
	}))
	e.track("idmapbad")
	r := e.failsWith("mappings", "run", "--bundle", b.Dir, "idmapbad")
	if isHusk() && !strings.Contains(r.Stderr, "mounts[7].options") {
		t.Errorf("stderr %q", r.Stderr)
	}
	e.assertNoTrace(b, "idmapbad")
}

// An rbind with rslave propagation follows the host: a mount made on the
// host under the source after the container started shows up inside.
func TestMountRslaveSeesLaterHostMounts(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	os.Mkdir(filepath.Join(src, "sub"), 0o755)
	// The source must be a shared mount for propagation to reach a slave.
	if err := unix.Mount(src, src, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(src, unix.MNT_DETACH) })
	if err := unix.Mount("", src, "", unix.MS_SHARED, ""); err != nil {
		t.Fatal(err)
	}
	runningContainer(e, "rslave", withSpec(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/prop", Type: "bind", Source: src, Options: []string{"rbind", "rslave"}})
	}))
	if err := unix.Mount("tmpfs", filepath.Join(src, "sub"), "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(filepath.Join(src, "sub"), unix.MNT_DETACH) })
	os.WriteFile(filepath.Join(src, "sub", "late"), []byte("x"), 0o644)
	r := e.run("exec", "rslave", "cat", "/prop/sub/late")
	if r.Code != 0 || r.Stdout != "x" {
		t.Errorf("the host's later mount is not seen through the rslave bind: %s", r)
	}
}

// hostMount mounts on the host for the test, and unmounts at its end.
func hostMount(t *testing.T, source, target, fstype string, flags uintptr, data string) {
	t.Helper()
	if err := unix.Mount(source, target, fstype, flags, data); err != nil {
		t.Fatalf("mount %s on %s: %v", source, target, err)
	}
	t.Cleanup(func() { unix.Unmount(target, unix.MNT_DETACH) })
}

// withUserns gives the container a user namespace whose root is host uid
// and gid hostID, and lets it reach the bundle (the test's directories are
// 0700).
func withUserns(hostID uint32) bundleOpt {
	return func(e *env, b *bundle) {
		s := b.Spec
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: hostID, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: hostID, Size: 65536}}
		for d := b.Dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
			os.Chmod(d, 0o755)
		}
	}
}

// A bind source may be made by an earlier mount of the list: the runtime
// looks it up when it mounts it, in the container's mount namespace, not
// when it reads the config. Also when it is idmapped, and from a user
// namespace whose root cannot reach the host directories (the runtime
// opens them for it). The destinations are given as host paths inside the
// rootfs, which means the container's paths. runc's "mount order" tests.
func TestMountSourceMadeByEarlierMount(t *testing.T) {
	for _, c := range []struct {
		name          string
		userns, idmap bool
	}{{"plain", false, false}, {"userns", true, false}, {"idmap", false, true}, {"userns-idmap", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			mounts := func(_ *env, b *bundle) {
				src := filepath.Join(b.Dir, "bind-src")
				for _, sub := range []string{"a/x", "b/y", "c/z"} {
					os.MkdirAll(filepath.Join(src, sub), 0o755)
					os.WriteFile(filepath.Join(src, sub, "file"), []byte(sub+"\n"), 0o644)
					os.Symlink(filepath.Dir(sub), filepath.Join(src, "sym-"+filepath.Dir(sub)))
				}
				// Out of reach of a user namespace's root.
				os.Chmod(src, 0o750)
				os.Mkdir(filepath.Join(b.Rootfs, "mnt"), 0o755)
				os.Mkdir(filepath.Join(b.Rootfs, "final"), 0o755)
				add := func(source, dest string, fromContainer bool) {
					m := specs.Mount{Source: source, Destination: dest, Type: "bind", Options: []string{"bind", "rprivate"}}
					if fromContainer {
						m.Options[0] = "rbind"
						if c.idmap {
							m.Options = append(m.Options, "idmap")
							m.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
							m.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
						}
					}
					b.Spec.Mounts = append(b.Spec.Mounts, m)
				}
				r := b.Rootfs
				add(filepath.Join(src, "a"), "/mnt", false)
				add(filepath.Join(src, "sym-b"), "/mnt/x", false)
				add(filepath.Join(src, "c"), "/mnt/x/y", false)
				add(filepath.Join(src, "sym-a"), "/mnt/x/y/z", false)
				// Sources that exist only in the container's tree so far.
				add(r+"/mnt/x", r+"/mnt/x/y/z/x", true)
				add(r+"/mnt/x/y", r+"/mnt/x/y/z", true)
				add(r+"/mnt", r+"/final", true)
			}
			opts := []bundleOpt{withPrivateRootfs(), withArgs("cat", "/final/x/y/z/z/x/y/z/x/file")}
			if c.userns {
				opts = append(opts, withUserns(100000))
			}
			b := e.newBundle(append(opts, mounts)...)
			r := e.runFG(b, "order")
			if r.Code != 0 || r.Stdout != "a/x\n" {
				t.Errorf("the mount tree: %s", r)
			}
		})
	}
}

// A mount destination through a dangling symlink (in a middle component
// or the last) is made where the link leads, resolved inside the rootfs,
// and mounted there; nothing is made on the host.
func TestMountDestinationThroughDanglingSymlink(t *testing.T) {
	e := newEnv(t)
	srcDir, srcFile := t.TempDir(), filepath.Join(t.TempDir(), "file")
	os.WriteFile(srcFile, []byte("x"), 0o644)
	hostTop := fmt.Sprintf("/husk-itest-dangling-%d", os.Getpid())
	b := e.newBundle(withPrivateRootfs(), withSpec(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Source: srcFile, Destination: "/etc/hosts", Type: "bind", Options: []string{"bind"}},
			specs.Mount{Source: srcFile, Destination: "/etc/hostfile", Type: "bind", Options: []string{"bind"}},
			specs.Mount{Source: srcDir, Destination: "/etc/hostdir", Type: "bind", Options: []string{"bind"}})
		s.Process.Args = []string{"sh", "-c", "stat -c '%n %d:%i' " + hostTop + "/foo/bar/baz/hosts " + hostTop + "/hf " + hostTop + "/hd; " +
			"grep -c " + hostTop + " /proc/self/mounts"}
	}))
	// /etc/hosts -> /jump/baz/hosts, /jump -> HOSTTOP/foo/bar: missing.
	os.Symlink(hostTop+"/foo/bar", filepath.Join(b.Rootfs, "jump"))
	os.Symlink("/jump/baz/hosts", filepath.Join(b.Rootfs, "etc/hosts"))
	os.Symlink(hostTop+"/hf", filepath.Join(b.Rootfs, "etc/hostfile"))
	os.Symlink(hostTop+"/hd", filepath.Join(b.Rootfs, "etc/hostdir"))
	r := e.runFG(b, "dangling")
	if exists(hostTop) {
		os.RemoveAll(hostTop)
		t.Errorf("the runtime made %s on the host", hostTop)
	}
	if r.Code != 0 {
		t.Fatal(r)
	}
	id := func(p string) string {
		var st unix.Stat_t
		unix.Stat(p, &st)
		return fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	}
	want := fmt.Sprintf("%s/foo/bar/baz/hosts %s\n%s/hf %s\n%s/hd %s\n3\n", hostTop, id(srcFile), hostTop, id(srcFile), hostTop, id(srcDir))
	if r.Stdout != want {
		t.Errorf("got %q, want %q", r.Stdout, want)
	}
	for _, p := range []string{"foo/bar/baz/hosts", "hf", "hd"} {
		if !exists(filepath.Join(b.Rootfs, hostTop, p)) {
			t.Errorf("mount point %s not made in the rootfs", p)
		}
	}
}

// A read-only /dev tmpfs (and any read-only tmpfs) turns read-only once
// what goes in it is there: /dev/pts, the devices, the mounts below it.
func TestMountReadonlyDevAndTmpfs(t *testing.T) {
	e := newEnv(t)
	out := e.output(`grep -E ' /dev | /dev/pts | /dev/shm | /mnt/ro | /mnt/ro/sub ' /proc/self/mountinfo | awk '{print $5, $6}'; stat -c '%t:%T' /dev/null; touch /dev/x /mnt/ro/x 2>&1 | sed 's/.*: //'`,
		withSpec(func(s *specs.Spec) {
			for i, m := range s.Mounts {
				if m.Destination == "/dev" {
					s.Mounts[i].Options = append(m.Options, "ro")
				}
			}
			s.Mounts = append(s.Mounts,
				specs.Mount{Destination: "/mnt/ro", Type: "tmpfs", Source: "tmpfs", Options: []string{"ro"}},
				specs.Mount{Destination: "/mnt/ro/sub", Type: "tmpfs", Source: "tmpfs", Options: []string{"ro", "nosuid"}})
		}))
	got := lines(out)
	want := []string{"/dev ro,nosuid", "/dev/pts rw,nosuid,noexec,relatime", "/dev/shm rw,nosuid,nodev,noexec,relatime",
		"/mnt/ro ro,relatime", "/mnt/ro/sub ro,nosuid,relatime", "1:3", "Read-only file system", "Read-only file system"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}
}

// /proc or /sys that is not a directory in the image (a symlink, which
// would have it mounted elsewhere, or a file) is refused before anything
// is mounted there, with runc's words.
func TestMountProcSysNotDirectoryRefused(t *testing.T) {
	e := newEnv(t)
	for i, c := range []struct{ path, kind, fs string }{
		{"proc", "symlink", "proc"}, {"sys", "symlink", "sysfs"}, {"proc", "file", "proc"},
	} {
		b := e.newBundle(withPrivateRootfs(), withArgs("true"))
		p := filepath.Join(b.Rootfs, c.path)
		os.RemoveAll(p)
		if c.kind == "symlink" {
			os.Mkdir(filepath.Join(b.Rootfs, "bad-"+c.path), 0o755)
			os.Symlink("/bad-"+c.path, p)
		} else {
			os.WriteFile(p, nil, 0o644)
		}
		id := fmt.Sprintf("notdir%d", i)
		e.track(id)
		e.failsWith(fmt.Sprintf("filesystem %q must be mounted on ordinary directory", c.fs), "run", "--bundle", b.Dir, id)
		e.assertNoTrace(b, id)
	}
}

// In a user namespace, the flags the kernel locks on a host mount stay on
// its bind: a read-only host mount stays read-only under a bind that only
// asks for nosuid, its noatime stays; asking to clear a locked flag
// ("rw", "suid") or for another atime fails with EPERM, as runc 1.5.
func TestMountBindLockedFlagsInUserns(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	hostMount(t, "tmpfs", src, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_NOATIME, "")
	bundle := func(opts ...string) *bundle {
		return e.newBundle(withPrivateRootfs(), withUserns(100000),
			withShell(`awk '$5 == "/locked" {print $6}' /proc/self/mountinfo`),
			func(_ *env, b *bundle) { os.Mkdir(filepath.Join(b.Rootfs, "locked"), 0o755) },
			withSpec(func(s *specs.Spec) {
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/locked", Type: "bind", Source: src, Options: opts})
			}))
	}
	for _, opts := range [][]string{{"bind", "nosuid"}, {"bind", "noatime", "nodev"}, {"rbind", "ro"}} {
		r := e.runFG(bundle(opts...), "kept")
		if r.Code != 0 || strings.TrimSpace(r.Stdout) != "ro,nosuid,nodev,noexec,noatime" {
			t.Errorf("%v: %s, want ro,nosuid,nodev,noexec,noatime", opts, r)
		}
	}
	for i, c := range []struct {
		opts []string
		msg  string
	}{
		{[]string{"bind", "rw"}, "cannot clear locked flags MS_RDONLY"},
		{[]string{"bind", "suid", "ro"}, "cannot clear locked flags MS_NOSUID"},
		{[]string{"bind", "relatime"}, "cannot change locked atime flags MS_NOATIME"},
	} {
		b := bundle(c.opts...)
		id := fmt.Sprintf("locked%d", i)
		e.track(id)
		r := e.failsWith(c.msg, "run", "--bundle", b.Dir, id)
		if !strings.Contains(r.Stderr, "operation not permitted") {
			t.Errorf("%v: stderr %q, want EPERM", c.opts, r.Stderr)
		}
		e.assertNoTrace(b, id)
	}
}

// runc 1.5's bind flags: a bind with any flag option, set or cleared,
// gets exactly the flags given (the source's nosuid, nodev, noexec go;
// its atime stays unless one is given), unlike mount(8); one without keeps
// the source's. A bind refuses filesystem options, and the recursive
// options (rro, ...) act on bind mounts only.
func TestMountBindFlagsExact(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	hostMount(t, "tmpfs", src, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_NOATIME, "")
	for _, c := range []struct {
		opts []string
		want string
	}{
		{[]string{"bind"}, "rw,nosuid,nodev,noexec,noatime"},
		{[]string{"rbind", "rprivate"}, "rw,nosuid,nodev,noexec,noatime"},
		{[]string{"bind", "ro"}, "ro,noatime"},
		{[]string{"bind", "rw"}, "rw,noatime"},
		{[]string{"rbind", "nosuid"}, "rw,nosuid,noatime"},
		{[]string{"bind", "relatime", "nodev"}, "rw,nodev,relatime"},
		{[]string{"bind", "rro"}, "ro,nosuid,nodev,noexec,noatime"},
	} {
		got, _ := mountOpts(t, e, "/b", specs.Mount{Destination: "/b", Type: "bind", Source: src, Options: c.opts})
		if got != c.want {
			t.Errorf("bind with %v: %s, want %s", c.opts, got, c.want)
		}
	}
	got, _ := mountOpts(t, e, "/t", specs.Mount{Destination: "/t", Type: "tmpfs", Source: "tmpfs", Options: []string{"rro", "rnosuid"}})
	if !has(got, "rw") || has(got, "nosuid") {
		t.Errorf("a tmpfs with rro,rnosuid: %s, want them ignored (rw, no nosuid) as runc", got)
	}
	b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/b", Type: "bind", Source: src, Options: []string{"bind", "mode=755"}})
	}))
	// runc 1.5.3 refuses filesystem options on a bind; the OCI validation
	// suite gives them (mode=, size=) and crun ignores them, as husk does,
	// with a warning.
	r := e.runFG(b, "binddata")
	if isRunc() {
		if r.Code != 1 || !strings.Contains(r.Stderr, "bind mounts cannot have any filesystem-specific options applied") {
			t.Errorf("runc with a bind with mode=755: %s, want its refusal", r)
		}
	} else if r.Code != 0 || !strings.Contains(r.Stderr, "filesystem options of a bind mount are ignored") {
		t.Errorf("a bind with mode=755: %s", r)
	}
}

// A path given twice in maskedPaths (however written) is masked once, and
// the masked directories share one small read-only tmpfs, as runc 1.5.
func TestMaskedPathsOnceAndShared(t *testing.T) {
	e := newEnv(t)
	out := e.output(`awk '$5 ~ "^/(proc/(acpi|scsi|timer_list)|sys/firmware)$" {print $5, $3, $6}' /proc/self/mountinfo; grep -E ' /proc/acpi ' /proc/self/mounts | cut -d' ' -f4`,
		withSpec(func(s *specs.Spec) {
			s.Linux.MaskedPaths = []string{"/proc/acpi", "/proc/timer_list", "/proc//acpi", "/sys/firmware",
				"/proc/acpi/", "/proc/timer_list", "/proc/scsi", "/proc/no-such-file"}
		}))
	got := lines(out)
	count, devs := map[string]int{}, map[string]string{}
	for _, l := range got[:len(got)-1] {
		f := strings.Fields(l)
		count[f[0]]++
		devs[f[0]] = f[1]
		if f[0] != "/proc/timer_list" && f[2] != "ro,relatime" {
			t.Errorf("%s is mounted %s, want ro", f[0], f[2])
		}
	}
	for _, p := range []string{"/proc/acpi", "/proc/timer_list", "/sys/firmware"} {
		if count[p] != 1 {
			t.Errorf("%s masked %d times, want once: %q", p, count[p], got)
		}
	}
	if devs["/proc/acpi"] != devs["/sys/firmware"] || (count["/proc/scsi"] == 1 && devs["/proc/scsi"] != devs["/proc/acpi"]) {
		t.Errorf("the masked directories are not one tmpfs: %q", got)
	}
	if opts := got[len(got)-1]; !has(opts, "ro") || !has(opts, "size=4k") || !has(opts, "nr_inodes=1") {
		t.Errorf("the mask tmpfs has %s, want ro,size=4k,nr_inodes=1", opts)
	}
}
