package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// badBundle describes a bundle that create and run must reject.
type badBundle struct {
	name  string
	opts  []bundleOpt
	after func(t *testing.T, b *bundle) // damage the written bundle
	// both lists what the error of husk and of runc 1.5.3 contains; husk
	// and runc what only theirs does (husk names the config field, runc
	// words it its own way), where they differ.
	both       []string
	husk, runc string
}

func badBundles() []badBundle {
	return []badBundle{
		{name: "missing-config", after: func(t *testing.T, b *bundle) {
			if err := os.Remove(filepath.Join(b.Dir, "config.json")); err != nil {
				t.Fatal(err)
			}
		}, both: []string{"config.json"}, husk: "config.json: not found in bundle", runc: "JSON specification file config.json not found"},
		{name: "invalid-json", after: func(t *testing.T, b *bundle) {
			if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), []byte(`{"ociVersion": "1.0.2",`), 0o644); err != nil {
				t.Fatal(err)
			}
		}, husk: "config.json: line 1, column 24: unexpected end of JSON input", runc: "unexpected EOF"},
		{name: "empty-args", opts: []bundleOpt{withArgs()}, both: []string{"args", "must not be empty"}, husk: "process.args"},
		{name: "no-process-args", opts: []bundleOpt{withSpec(func(s *specs.Spec) { s.Process.Args = nil })}, both: []string{"args", "must not be empty"}, husk: "process.args"},
		{name: "nonexistent-absolute-executable", opts: []bundleOpt{withArgs("/bin/no-such-program")},
			both: []string{`exec: "/bin/no-such-program": stat /bin/no-such-program: no such file or directory`}},
		{name: "nonexistent-executable-in-path", opts: []bundleOpt{withArgs("no-such-program")},
			both: []string{`exec: "no-such-program": executable file not found in $PATH`}},
		{name: "nonexistent-rootfs", opts: []bundleOpt{withSpec(func(s *specs.Spec) {
			s.Root.Path = "/nonexistent/husk-itest-rootfs"
		})}, both: []string{"no such file or directory"}, husk: "root.path: /nonexistent:", runc: "invalid rootfs: stat /nonexistent/husk-itest-rootfs"},
		{name: "unknown-mount-type", opts: []bundleOpt{withSpec(func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "no-such-fs", Source: "none"})
		})}, both: []string{`"none"`, `"/mnt"`, "no such device"}, husk: "(no-such-fs)"},
		{name: "bind-mount-nonexistent-source", opts: []bundleOpt{withSpec(func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "bind",
				Source: "/nonexistent/husk-itest-src", Options: []string{"rbind"}})
		})}, both: []string{"/nonexistent/husk-itest-src", "no such file or directory"}, husk: `on "/mnt"`},
		{name: "relative-cwd", opts: []bundleOpt{withSpec(func(s *specs.Spec) { s.Process.Cwd = "relative/dir" })},
			both: []string{"absolute path"}, husk: `process.cwd: "relative/dir" is not an absolute path`, runc: "Cwd must be an absolute path"},
		{name: "unknown-namespace-type", opts: []bundleOpt{withSpec(func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
		})}, both: []string{`"bogus"`}, husk: "linux.namespaces[5].type: unknown namespace type", runc: "does not exist"},
		{name: "unknown-rlimit", opts: []bundleOpt{withSpec(func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_BOGUS", Hard: 1, Soft: 1})
		})}, both: []string{"RLIMIT_BOGUS"}, husk: "process.rlimits[1].type: unknown resource", runc: "wrong rlimit value"},
	}
}

// Every bad bundle is rejected by both create and run with exit 1 and an
// error saying what is wrong, leaving nothing behind.
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
				want := bb.both
				if own := huskOrRunc(bb.husk, bb.runc); own != "" {
					want = append(want, own)
				}
				if len(want) == 0 {
					t.Fatal("test case expects no error text")
				}
				r := e.failsWith(want[0], cmd, "--bundle", b.Dir, "ctr")
				for _, w := range want[1:] {
					if !strings.Contains(errText(r), w) {
						t.Errorf("the error does not say %q: %q", w, r.Stderr)
					}
				}
				e.failsWith("container does not exist", "state", "ctr")
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
	e.failsWith(`exec: "no-such-program": executable file not found in $PATH`, "create", "--bundle", bad.Dir, "ctr")
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
				// husk names the id and says what an id may hold.
				e.failsWith(huskOrRunc(fmt.Sprintf("invalid container id %q: use letters, digits", id), "invalid container ID format"),
					cmd, "--bundle", b.Dir, id)
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
		{"state", ""},
		{"start", ""},
		{"kill", ""},
		{"delete", ""},
		{"delete", "--force", ""},
	} {
		e.failsWith("container id cannot be empty", args...)
	}
	e.failsWith(`"create" requires exactly 1 argument(s)`, "create", "--bundle", b.Dir)
	if exists(b.outFile("ran")) {
		t.Errorf("a workload ran")
	}
	e.assertNoTrace(b, "")
}

// Commands on an existing container refuse invalid ids too: they must not
// resolve "../x" to a path outside --root. Each escaping id leads to the
// state of a real container (created, not started) that a runtime which
// did not check would act on: state would show it, start run it, kill and
// delete end it. Each command fails and the container is untouched. delete
// --force of an invalid id fails too, although delete --force of a missing
// valid id succeeds.
func TestInvalidIDRejectedByOtherCommands(t *testing.T) {
	e := newEnv(t)
	top := filepath.Join(e.dir, "roots")
	for _, c := range []struct {
		id string
		// root is the --root the commands get (below top); victimRoot
		// and victimID make the container whose state dir root/id is.
		root, victimRoot, victimID string
	}{
		{"../x", "a/root", "a", "x"},
		{"a/b", "b", "b/a", "b"},
		{"..", "c/v/sub", "c", "v"},
	} {
		root := filepath.Join(top, c.root)
		victimRoot := filepath.Join(top, c.victimRoot)
		b := e.newBundle(withOut(), withShell("touch /out/ran"))
		victim := func(args ...string) result { return atRoot(t, victimRoot, args...) }
		t.Cleanup(func() {
			if r := invoke(invokeOpts{}, "--root", victimRoot, "delete", "--force", c.victimID); r.Code != 0 {
				t.Errorf("cleanup: %s", r)
			}
		})
		if r := victim("create", "--bundle", b.Dir, c.victimID); r.Code != 0 {
			t.Fatalf("the container to aim at: %s", r)
		}
		if err := os.MkdirAll(root, 0o700); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(root, c.id)
		if !exists(filepath.Join(dir, "state.json")) && !exists(filepath.Join(dir, "config.json")) {
			ents, _ := os.ReadDir(dir)
			t.Fatalf("%s: no container state at %s (%v): the test does not aim at one", c.id, dir, ents)
		}
		before := parseState(t, victim("state", c.victimID))
		if before.Status != "created" || !procAlive(before.PID) {
			t.Fatalf("the container to aim at: %+v", before)
		}
		for _, args := range [][]string{
			{"state", c.id}, {"start", c.id}, {"kill", c.id, "KILL"}, {"delete", c.id}, {"delete", "--force", c.id},
		} {
			// husk names the id and says what an id may hold.
			want := huskOrRunc(fmt.Sprintf("invalid container id %q: use letters, digits", c.id), "invalid container ID format")
			r := atRoot(t, root, args...)
			if r.Code != 1 || !strings.Contains(errText(r), want) {
				t.Errorf("%q: %s, want exit 1 and an error with %q", args, r, want)
			}
		}
		if after := parseState(t, victim("state", c.victimID)); !reflect.DeepEqual(after, before) || !procAlive(after.PID) {
			t.Errorf("%s: the container at %s changed: was %+v, now %+v", c.id, dir, before, after)
		}
		if exists(b.outFile("ran")) {
			t.Errorf("%s: the container at %s was started", c.id, dir)
		}
	}
}

// atRoot runs the binary with --root root (not the test's env's).
func atRoot(t *testing.T, root string, args ...string) result {
	t.Helper()
	r := invoke(invokeOpts{}, append([]string{"--root", root}, args...)...)
	if r.TimedOut || r.Err != nil {
		t.Fatalf("running runtime: %s", r)
	}
	return r
}

// parseState parses the output of a `state` that must have succeeded.
func parseState(t *testing.T, r result) containerState {
	t.Helper()
	var s containerState
	if r.Code != 0 {
		t.Fatalf("state failed: %s", r)
	}
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		t.Fatalf("state output is not JSON: %v: %s", err, r)
	}
	return s
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
		// husk says which file it looked for, runc that it could not
		// change into the bundle.
		e.failsWith(huskOrRunc("config.json: not found in bundle "+missing, "chdir "+missing+": no such file or directory"), cmd, "--bundle", missing, "ctr")
		if exists(filepath.Join(e.root, "ctr")) {
			t.Errorf("%s left a state dir", cmd)
		}
	}
}
