package hooks

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/husk-runtime/husk/libcontainer/configs"
)

func noState() []byte { return nil }

// The state is asked for only when a hook runs (not at all when there is
// none), and each hook reads it on stdin.
func TestStateMadeOnlyForHooks(t *testing.T) {
	calls := 0
	state := func() []byte { calls++; return []byte(`{"id":"c1"}`) }
	if err := Run(Prestart, nil, state, ""); err != nil || calls != 0 {
		t.Fatalf("no hooks: err %v, state made %d times", err, calls)
	}
	dir := t.TempDir()
	cat := func(name string) configs.Hook {
		return configs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > " + filepath.Join(dir, name)}}
	}
	if errs := RunAll(Poststop, []configs.Hook{cat("a"), cat("b")}, state, ""); len(errs) != 0 || calls == 0 {
		t.Fatalf("two hooks: errors %v, state made %d times", errs, calls)
	}
	for _, name := range []string{"a", "b"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != `{"id":"c1"}` {
			t.Errorf("hook %s read %q (%v)", name, b, err)
		}
	}
}

// A failing hook reads as runc's, with what it printed on each stream.
func TestErrorText(t *testing.T) {
	h := configs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}}
	err := Run(Prestart, []configs.Hook{{Path: "/bin/true"}, h}, noState, "")
	want := "error running prestart hook #1: exit status 3, stdout: out\n, stderr: err\n"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Errorf("%v does not unwrap to the exit error", err)
	}
	one := 1
	err = Run(CreateRuntime, []configs.Hook{{Path: "/bin/sleep", Args: []string{"sleep", "10"}, Timeout: &one}}, noState, "")
	if want := "error running createRuntime hook #0: hook ran past specified timeout of 1.0s"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

// An unset env inherits ours, an empty one is empty; dir is the cwd.
func TestEnvAndDir(t *testing.T) {
	t.Setenv("HOOKS_TEST_VAR", "inherited")
	dir := t.TempDir()
	probe := func(name string, env []string) configs.Hook {
		return configs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "env > " + name + "; pwd >> " + name}, Env: env}
	}
	hs := []configs.Hook{probe("unset", nil), probe("empty", []string{}), probe("own", []string{"OWN=1"})}
	if err := Run(Prestart, hs, noState, dir); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if s := read("unset"); !strings.Contains(s, "HOOKS_TEST_VAR=inherited") || !strings.HasSuffix(s, dir+"\n") {
		t.Errorf("unset env: %q", s)
	}
	if s := read("empty"); strings.Contains(s, "HOOKS_TEST_VAR") {
		t.Errorf("empty env: %q", s)
	}
	if s := read("own"); !strings.Contains(s, "OWN=1") || strings.Contains(s, "HOOKS_TEST_VAR") {
		t.Errorf("own env: %q", s)
	}
}
