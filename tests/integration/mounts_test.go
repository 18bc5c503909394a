package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
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
	if !isHusk() {
		t.Skip("runc 1.1 has no recursive mount attributes")
	}
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

// A tmpfs over a directory of the rootfs takes that directory's mode, one
// on a mount point the runtime made keeps its own (mode=, or tmpfs's 1777),
// tmpcopyup or not: runc's rule, which podman's --mount
// type=tmpfs,tmpfs-mode=N relies on.
func TestMountTmpfsMode(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withPrivateRootfs(), withShell(`stat -c '%n %a' /old /new /newdefault /newcopyup /oldcopyup /oldro`),
		withSpec(func(s *specs.Spec) {
			for _, m := range []struct {
				dest string
				opts []string
			}{
				{"/old", []string{"mode=1777"}},
				{"/new", []string{"mode=1750"}},
				{"/newdefault", nil},
				{"/newcopyup", []string{"mode=1700", "tmpcopyup"}},
				{"/oldcopyup", []string{"mode=1777", "tmpcopyup"}},
				{"/oldro", []string{"mode=1777", "ro"}},
			} {
				s.Mounts = append(s.Mounts, specs.Mount{Destination: m.dest, Type: "tmpfs", Source: "tmpfs", Options: m.opts})
			}
		}))
	for _, d := range []string{"old", "oldcopyup", "oldro"} {
		os.Mkdir(filepath.Join(b.Rootfs, d), 0o710)
		os.Chmod(filepath.Join(b.Rootfs, d), 0o710)
	}
	r := e.runFG(b, "tmpfsmode")
	if r.Code != 0 {
		t.Fatal(r)
	}
	want := "/old 710\n/new 1750\n/newdefault 1777\n/newcopyup 1700\n/oldcopyup 710\n/oldro 710\n"
	if r.Stdout != want {
		t.Errorf("tmpfs modes: got %q, want %q", r.Stdout, want)
	}
}

// tmpcopyup: the new tmpfs holds a copy of what was under it, with modes,
// owners and symlinks, and writes do not reach the image.
func TestMountTmpcopyup(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withPrivateRootfs(), withShell(`cat /data/file; stat -c '%a %u' /data/file /data/dir; readlink /data/link; echo new > /data/file; grep ' /data ' /proc/self/mounts | cut -d' ' -f3`),
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
	r := e.runFG(b, "copyup")
	if r.Code != 0 {
		t.Fatal(r)
	}
	want := "original\n646 1000\n750 0\nfile\ntmpfs\n"
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
	if !isHusk() {
		t.Skip("Debian's runc 1.1.5 has no idmapped mounts")
	}
	e := newEnv(t)
	src := t.TempDir()
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
	if !isHusk() {
		t.Skip("Debian's runc 1.1.5 has no idmapped mounts")
	}
	e := newEnv(t)
	src := t.TempDir()
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
	r := e.fails("run", "--bundle", b.Dir, "idmapbad")
	if !strings.Contains(r.Stderr, "mounts[7].options") {
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
