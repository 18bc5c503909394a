package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// sharedHostDir makes dir a shared mount of its own on the host, for the
// test.
func sharedHostDir(t *testing.T, dir string) {
	t.Helper()
	hostMount(t, dir, dir, "", unix.MS_BIND, "")
	if err := unix.Mount("", dir, "", unix.MS_SHARED, ""); err != nil {
		t.Fatal(err)
	}
}

// withCap adds a capability to the container process's sets.
func withCap(name string) bundleOpt {
	return withSpec(func(s *specs.Spec) {
		c := s.Process.Capabilities
		c.Bounding = append(c.Bounding, name)
		c.Effective = append(c.Effective, name)
		c.Permitted = append(c.Permitted, name)
	})
}

// rootfsPropagation [r]shared on a rootfs whose host mount is shared: the
// container's root is shared (a peer group of its own), not shared and a
// slave of the host's mount, as runc.
func TestRootfsPropagationSharedNotSlave(t *testing.T) {
	for _, prop := range []string{"shared", "rshared"} {
		t.Run(prop, func(t *testing.T) {
			e := newEnv(t)
			b := e.newBundle(withPrivateRootfs(), withShell(`awk '$5 == "/" {print $7, $8}' /proc/self/mountinfo`),
				withSpec(func(s *specs.Spec) { s.Linux.RootfsPropagation = prop }))
			sharedHostDir(t, b.Dir)
			r := e.runFG(b, "sharedroot")
			f := strings.Fields(r.Stdout)
			if r.Code != 0 || len(f) != 2 || !strings.HasPrefix(f[0], "shared:") || f[1] != "-" {
				t.Errorf("optional fields of /: %s, want shared:N alone", r)
			}
		})
	}
}

// Kubernetes' Bidirectional mount propagation (CSI drivers rely on it):
// with rootfsPropagation rshared, an rshared bind of a shared host
// directory propagates both ways. A mount made in the container shows on
// the host, and one made on the host shows in the container.
func TestMountBidirectionalPropagation(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	for _, d := range []string{"from-container", "from-host"} {
		os.Mkdir(filepath.Join(src, d), 0o755)
	}
	sharedHostDir(t, src)
	// Unmounted before the shared mount above, after the container.
	t.Cleanup(func() { unix.Unmount(filepath.Join(src, "from-container"), unix.MNT_DETACH) })
	runningContainer(e, "bidi", withCap("CAP_SYS_ADMIN"), withSpec(func(s *specs.Spec) {
		s.Linux.RootfsPropagation = "rshared"
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/prop", Type: "bind", Source: src, Options: []string{"rbind", "rshared"}})
	}))
	r := e.run("exec", "bidi", "sh", "-c", "mount -t tmpfs tmpfs /prop/from-container && echo inside > /prop/from-container/f")
	if r.Code != 0 {
		t.Fatalf("mount in the container: %s", r)
	}
	if data, err := os.ReadFile(filepath.Join(src, "from-container", "f")); err != nil || string(data) != "inside\n" {
		t.Errorf("the container's mount is not on the host: %q %v", data, err)
	}
	hostMount(t, "tmpfs", filepath.Join(src, "from-host"), "tmpfs", 0, "")
	os.WriteFile(filepath.Join(src, "from-host", "f"), []byte("outside\n"), 0o644)
	r = e.run("exec", "bidi", "cat", "/prop/from-host/f")
	if r.Code != 0 || r.Stdout != "outside\n" {
		t.Errorf("the host's mount is not in the container: %s", r)
	}
}

// --no-pivot: no mount of the host stays in the container's mount
// namespace under its root, where the host's procfs would let the
// container mount a new procfs from a user namespace of its own (the
// kernel wants a fully visible one). runc's "must not expose bare /proc".
func TestNoPivotHidesHostProc(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withCap("CAP_SETFCAP"), withArgs("unshare", "-mrpf", "sh", "-c", "mount -t proc none /proc && echo mounted"))
	r := e.runFG(b, "nopivotproc", "--no-pivot")
	if r.Code == 0 || strings.Contains(r.Stdout, "mounted") || !strings.Contains(r.Stderr, "permission denied") {
		t.Errorf("mounting a procfs in a nested user namespace: %s, want permission denied", r)
	}
	// As runc: a private root is refused with --no-pivot.
	bad := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) { s.Linux.RootfsPropagation = "rprivate" }))
	e.track("nopivotprivate")
	e.failsWith("not safe without pivot_root", "run", "--bundle", bad.Dir, "--no-pivot", "nopivotprivate")
	e.assertNoTrace(bad, "nopivotprivate")
}

// --no-pivot takes the host's mounts out of the container's namespace
// without touching the host's own, even when they are shared with it
// (rootfsPropagation rshared keeps the copies peers of the host's).
func TestNoPivotKeepsHostMounts(t *testing.T) {
	if isRunc() {
		t.Skip("runc 1.5.3 unmounts the host's procfs mounts from the container's namespace without making their parents slaves first: the unmount of one under a shared mount propagates to the host")
	}
	e := newEnv(t)
	dir := t.TempDir()
	sharedHostDir(t, dir)
	proc := filepath.Join(dir, "proc")
	os.Mkdir(proc, 0o755)
	hostMount(t, "proc", proc, "proc", 0, "")
	b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) { s.Linux.RootfsPropagation = "rshared" }))
	if r := e.runFG(b, "nopivotkeep", "--no-pivot"); r.Code != 0 {
		t.Fatal(r)
	}
	if !exists(filepath.Join(proc, "self")) {
		t.Errorf("the host's procfs at %s is gone", proc)
	}
}
