package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// badBundle describes a bundle that create and run must reject.
type badBundle struct {
	name  string
	opts  []bundleOpt
	after func(t *testing.T, b *bundle) // damage the written bundle
	// mention lists strings one of which husk's error message must
	// contain (runc's wording differs and is not checked).
	mention []string
}

func badBundles() []badBundle {
	return []badBundle{
		{name: "missing-config", after: func(t *testing.T, b *bundle) {
			if err := os.Remove(filepath.Join(b.Dir, "config.json")); err != nil {
				t.Fatal(err)
			}
		}, mention: []string{"config.json"}},
		{name: "invalid-json", after: func(t *testing.T, b *bundle) {
			if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), []byte(`{"ociVersion": "1.0.2",`), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "empty-args", opts: []bundleOpt{withArgs()}, mention: []string{"args"}},
		{name: "no-process-args", opts: []bundleOpt{withSpec(func(s *specs.Spec) { s.Process.Args = nil })}, mention: []string{"args"}},
		{name: "nonexistent-absolute-executable", opts: []bundleOpt{withArgs("/bin/no-such-program")}, mention: []string{"no-such-program"}},
		{name: "nonexistent-executable-in-path", opts: []bundleOpt{withArgs("no-such-program")}, mention: []string{"no-such-program"}},
		{name: "nonexistent-rootfs", opts: []bundleOpt{withSpec(func(s *specs.Spec) {
			s.Root.Path = "/nonexistent/husk-itest-rootfs"
		})}, mention: []string{"rootfs", "root.path"}},
		{name: "unknown-mount-type", opts: []bundleOpt{withSpec(func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "no-such-fs", Source: "none"})
		})}, mention: []string{"/mnt", "no-such-fs"}},
		{name: "bind-mount-nonexistent-source", opts: []bundleOpt{withSpec(func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "bind",
				Source: "/nonexistent/husk-itest-src", Options: []string{"rbind"}})
		})}, mention: []string{"/mnt", "husk-itest-src"}},
		{name: "relative-cwd", opts: []bundleOpt{withSpec(func(s *specs.Spec) { s.Process.Cwd = "relative/dir" })}, mention: []string{"cwd"}},
		{name: "unknown-namespace-type", opts: []bundleOpt{withSpec(func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
		})}, mention: []string{"bogus"}},
		{name: "unknown-rlimit", opts: []bundleOpt{withSpec(func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_BOGUS", Hard: 1, Soft: 1})
		})}, mention: []string{"RLIMIT_BOGUS"}},
	}
}

func mentionsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// Every bad bundle is rejected by both create and run with a non-zero exit
// and an error message, leaving nothing behind.
func TestBadBundleRejected(t *testing.T) {
	for _, bb := range badBundles() {
		for _, cmd := range []string{"create", "run"} {
			t.Run(bb.name+"/"+cmd, func(t *testing.T) {
				e := newEnv(t)
				opts := append([]bundleOpt{withPrivateRootfs(), withOut()}, bb.opts...)
				b := e.newBundle(opts...)
				if len(bb.opts) == 0 && bb.after == nil {
					t.Fatal("test case changes nothing")
				}
				if bb.after != nil {
					bb.after(t, b)
				}
				e.track("ctr")
				r := e.fails(cmd, "--bundle", b.Dir, "ctr")
				if isHusk() && len(bb.mention) > 0 && !mentionsAny(r.Stderr, bb.mention) {
					t.Errorf("error message mentions none of %q: %q", bb.mention, r.Stderr)
				}
				if r := e.run("state", "ctr"); r.Code == 0 {
					t.Errorf("state of the rejected container succeeded: %s", r)
				}
				e.assertNoTrace(b, "ctr")
			})
		}
	}
}

// A failed create must not disturb the --root for later containers: the
// same id can then be created from a good bundle.
func TestBadBundleThenGoodBundleSameID(t *testing.T) {
	e := newEnv(t)
	bad := e.newBundle(withArgs("no-such-program"))
	e.track("ctr")
	e.fails("create", "--bundle", bad.Dir, "ctr")
	good := e.newBundle(withOut(), withShell("touch /out/ran"))
	e.create(good, "ctr")
	e.ok("start", "ctr")
	waitFile(t, good.outFile("ran"))
}

func TestInvalidContainerIDRejected(t *testing.T) {
	ids := []string{"../x", "a/b", "..", ".", "/abs", "a:b", "a b", "x\ny", "a*b"}
	for _, cmd := range []string{"create", "run"} {
		t.Run(cmd, func(t *testing.T) {
			e := newEnv(t)
			b := e.newBundle(withPrivateRootfs(), withOut(), withShell("touch /out/ran"))
			for _, id := range ids {
				r := e.fails(cmd, "--bundle", b.Dir, id)
				if isHusk() && !strings.Contains(strings.ToLower(r.Stderr), "id") {
					t.Errorf("%s %q: error does not mention the id: %q", cmd, id, r.Stderr)
				}
				e.assertNoTrace(b, "")
			}
			if exists(b.outFile("ran")) {
				t.Errorf("a workload ran")
			}
			// Nothing escaped the --root dir either.
			parent := filepath.Dir(e.root)
			ents, _ := os.ReadDir(parent)
			for _, ent := range ents {
				if p := filepath.Join(parent, ent.Name()); p != e.root && p != e.dir {
					t.Errorf("unexpected file next to --root: %s", p)
				}
			}
		})
	}
}

func TestEmptyContainerIDRejected(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withPrivateRootfs(), withOut(), withShell("touch /out/ran"))
	for _, args := range [][]string{
		{"create", "--bundle", b.Dir, ""},
		{"run", "--bundle", b.Dir, ""},
		{"create", "--bundle", b.Dir},
		{"state", ""},
		{"start", ""},
		{"kill", ""},
		{"delete", ""},
		{"delete", "--force", ""},
	} {
		r := e.run(args...)
		if r.Code == 0 {
			t.Errorf("%q succeeded: %s", args, r)
		}
	}
	if exists(b.outFile("ran")) {
		t.Errorf("a workload ran")
	}
	e.assertNoTrace(b, "")
}

// Commands on an existing container refuse invalid ids too (they must not
// resolve "../x" to a path outside --root); delete --force of an invalid
// id fails although delete --force of a missing valid id succeeds.
func TestInvalidIDRejectedByOtherCommands(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{"../x", "a/b", ".."} {
		for _, args := range [][]string{
			{"state", id}, {"start", id}, {"kill", id, "KILL"}, {"delete", id}, {"delete", "--force", id},
		} {
			e.fails(args...)
		}
	}
}

func TestUnusualValidIDsAccepted(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{"a..b", "A_b-c.d+e", "0", strings.Repeat("x", 100)} {
		b := e.newBundle(withArgs("true"))
		e.create(b, id)
		if s := e.state(id); s.ID != id || s.Status != "created" {
			t.Errorf("state of %q = %+v", id, s)
		}
		e.ok("delete", id)
		e.assertGone(id)
	}
}

func TestMissingBundleDirFails(t *testing.T) {
	e := newEnv(t)
	missing := filepath.Join(e.dir, "no-such-bundle")
	for _, cmd := range []string{"create", "run"} {
		e.fails(cmd, "--bundle", missing, "ctr")
		if exists(filepath.Join(e.root, "ctr")) {
			t.Errorf("%s left a state dir", cmd)
		}
	}
}
