package integration

import (
	"fmt"
	"os"
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
	for i, path := range []string{"/proc/self/ns/ipc", "/etc/hostname", "/nonexistent/ns"} {
		b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
			for j, ns := range s.Linux.Namespaces {
				if ns.Type == specs.NetworkNamespace {
					s.Linux.Namespaces[j].Path = path
				}
			}
		}))
		id := fmt.Sprintf("badns%d", i)
		e.track(id)
		e.fails("run", "--bundle", b.Dir, id)
		e.assertNoTrace(b, id)
	}
}
