package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A container can join another's namespaces by path: here its network, pid,
// ipc and uts namespaces.
func TestJoinNamespacesByPath(t *testing.T) {
	e := newEnv(t)
	first := e.newBundle(withOut(), withShell("touch /out/ready; sleep 100"), withSpec(func(s *specs.Spec) { s.Hostname = "first-host" }))
	e.runDetached(first, "first")
	pid := e.state("first").PID
	nsPath := func(kind string) string { return fmt.Sprintf("/proc/%d/ns/%s", pid, kind) }
	want := map[string]string{}
	for _, kind := range []string{"net", "pid", "ipc", "uts"} {
		l, err := os.Readlink(nsPath(kind))
		if err != nil {
			t.Fatal(err)
		}
		want[kind] = l
	}
	second := e.newBundle(withShell(`for n in net pid_for_children ipc uts; do readlink /proc/self/ns/$n; done; hostname; ps -o comm | grep -c sleep`),
		withSpec(func(s *specs.Spec) {
			s.Hostname = ""
			for i, ns := range s.Linux.Namespaces {
				switch ns.Type {
				case specs.NetworkNamespace:
					s.Linux.Namespaces[i].Path = nsPath("net")
				case specs.PIDNamespace:
					s.Linux.Namespaces[i].Path = nsPath("pid")
				case specs.IPCNamespace:
					s.Linux.Namespaces[i].Path = nsPath("ipc")
				case specs.UTSNamespace:
					s.Linux.Namespaces[i].Path = nsPath("uts")
				}
			}
		}))
	waitFile(t, first.outFile("ready"))
	r := e.runFG(second, "second")
	if r.Code != 0 {
		t.Fatalf("run: %s", r)
	}
	got := lines(r.Stdout)
	if len(got) != 6 {
		t.Fatalf("output %q", got)
	}
	for i, kind := range []string{"net", "pid", "ipc", "uts"} {
		if got[i] != want[kind] {
			t.Errorf("%s namespace %s, want %s", kind, got[i], want[kind])
		}
	}
	if got[4] != "first-host" {
		t.Errorf("hostname %q: the uts namespace was not joined", got[4])
	}
	if got[5] != "1" {
		t.Errorf("the joined pid namespace shows %s sleep processes, want first's 1", got[5])
	}
}

// Joining a namespace path that is not a namespace, or of the wrong type,
// is refused before anything is created.
func TestJoinBadNamespacePathRefused(t *testing.T) {
	e := newEnv(t)
	for i, c := range []struct{ path, husk, runc string }{
		// husk names the field and what is wrong; runc says setns failed.
		{"/proc/self/ns/ipc", "not a network namespace", "failed to setns into net namespace: Invalid argument"},
		{"/etc/hostname", "not a namespace", "failed to setns into net namespace: Invalid argument"},
		{"/nonexistent/ns", "no such file or directory", "no such file or directory"},
	} {
		path := c.path
		b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
			for j, ns := range s.Linux.Namespaces {
				if ns.Type == specs.NetworkNamespace {
					s.Linux.Namespaces[j].Path = path
				}
			}
		}))
		id := fmt.Sprintf("badns%d", i)
		e.track(id)
		e.failsWith(huskOrRunc(c.husk, c.runc), "run", "--bundle", b.Dir, id)
		e.assertNoTrace(b, id)
	}
}

// A container can join an existing mount namespace by path: its rootfs is
// set up there.
func TestJoinMountNamespaceByPath(t *testing.T) {
	e := newEnv(t)
	holder := exec.Command("unshare", "--mount", "--propagation", "private", "sleep", "1000")
	if err := holder.Start(); err != nil {
		t.Fatalf("unshare (util-linux): %v", err)
	}
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	nsPath := fmt.Sprintf("/proc/%d/ns/mnt", holder.Process.Pid)
	waitFor(t, "the holder's own mount namespace", func() bool {
		a, _ := os.Readlink(nsPath)
		b, _ := os.Readlink("/proc/self/ns/mnt")
		return a != "" && a != b
	})
	want, _ := os.Readlink(nsPath)
	out := e.output("readlink /proc/self/ns/mnt; ls /bin/busybox", withSpec(func(s *specs.Spec) {
		for i, ns := range s.Linux.Namespaces {
			if ns.Type == specs.MountNamespace {
				s.Linux.Namespaces[i].Path = nsPath
			}
		}
	}))
	if got := lines(out); len(got) != 2 || got[0] != want || got[1] != "/bin/busybox" {
		t.Errorf("in the joined mount namespace: %q, want %s and the rootfs", got, want)
	}
}

// Without a mount namespace (as runc allows) the container shares the
// host's: it still runs in its rootfs, exec enters it too, and delete
// removes the mounts it made here.
func TestNoMountNamespace(t *testing.T) {
	if isRunc() {
		t.Skip("runc 1.5.3 leaves such a container's mounts on the host after delete, and its exec does not enter the rootfs (cat /tmp/ns: no such file)")
	}
	e := newEnv(t)
	hostNS, _ := os.Readlink("/proc/self/ns/mnt")
	b := e.newBundle(withPrivateRootfs(), withShell("readlink /proc/self/ns/mnt > /tmp/ns; ls /bin/busybox >> /tmp/ns; sleep 100"),
		withSpec(func(s *specs.Spec) {
			removeNamespace(s, specs.MountNamespace)
			s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
			s.Root.Readonly = false
		}))
	e.runDetached(b, "nomnt")
	got := waitLines(t, filepath.Join(b.Rootfs, "tmp/ns"), 2)
	if got[0] != hostNS || got[1] != "/bin/busybox" {
		t.Errorf("container without a mount namespace: %q, want %s and the rootfs", got, hostNS)
	}
	r := e.ok("exec", "nomnt", "cat", "/tmp/ns")
	if !strings.Contains(r.Stdout, hostNS) {
		t.Errorf("exec does not see the container's root: %s", r)
	}
	if len(mountsUnder(b.Rootfs)) == 0 {
		t.Errorf("no mounts under the rootfs while the container runs")
	}
	e.ok("delete", "--force", "nomnt")
	if ms := mountsUnder(b.Rootfs); len(ms) != 0 {
		t.Errorf("delete left mounts behind: %q", ms)
	}
	// Masking paths would change the host's own view: refused.
	bad := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) { removeNamespace(s, specs.MountNamespace) }))
	e.track("nomntmask")
	r = e.failsWith(huskOrRunc("linux.maskedPaths", "unable to mask"), "run", "--bundle", bad.Dir, "nomntmask")
	if isHusk() && !strings.Contains(r.Stderr, "linux.maskedPaths") {
		t.Errorf("masked paths without a mount namespace: %q", r.Stderr)
	}
	e.assertNoTrace(bad, "nomntmask")
}

// A container joins another's user namespace by path (with the mappings
// that namespace already has): its root is the first container's root,
// the same host uid.
func TestJoinUserNamespaceByPath(t *testing.T) {
	e := newEnv(t)
	userns := func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 300000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 300000, Size: 65536}}
	}
	first := e.newBundle(withOut(), withShell("touch /out/ready; sleep 100"), withSpec(userns))
	e.runDetached(first, "ufirst")
	waitFile(t, first.outFile("ready"))
	pid := e.state("ufirst").PID
	want, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", pid))
	if err != nil {
		t.Fatal(err)
	}
	second := e.newBundle(withShell("readlink /proc/self/ns/user; id -u; cat /proc/self/uid_map"), withSpec(func(s *specs.Spec) {
		userns(s)
		for i, ns := range s.Linux.Namespaces {
			if ns.Type == specs.UserNamespace {
				s.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/user", pid)
			}
		}
	}))
	r := e.runFG(second, "usecond")
	l := lines(r.Stdout)
	if r.Code != 0 || len(l) != 3 {
		t.Fatalf("run: %s", r)
	}
	if l[0] != want || l[1] != "0" || strings.Join(strings.Fields(l[2]), " ") != "0 300000 65536" {
		t.Errorf("in the joined user namespace: %q, want %s as root mapped to 300000", l, want)
	}
	// Without mappings: the namespace's own.
	third := e.newBundle(withShell("id -u; cat /proc/self/uid_map"), withSpec(func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: fmt.Sprintf("/proc/%d/ns/user", pid)})
	}))
	r = e.runFG(third, "uthird")
	if l := lines(r.Stdout); r.Code != 0 || len(l) != 2 || l[0] != "0" || strings.Join(strings.Fields(l[1]), " ") != "0 300000 65536" {
		t.Errorf("joined without mappings: %s", r)
	}
	// Mappings that are not the namespace's are refused.
	bad := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: fmt.Sprintf("/proc/%d/ns/user", pid)})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 400000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 300000, Size: 65536}}
	}))
	e.track("ubad")
	// husk names the field.
	e.failsWith(huskOrRunc("linux.uidMappings", "user namespaces enabled, but both namespace path and non-matching mapping specified"), "run", "--bundle", bad.Dir, "ubad")
	e.failsWith("container does not exist", "state", "ubad")
}
