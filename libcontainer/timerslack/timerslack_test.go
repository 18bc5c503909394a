package timerslack

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A process started through AsCaller gets the slack this process was
// started with; this process's threads have 1 ms (the constructor ran in
// the test binary too).
func TestAsCaller(t *testing.T) {
	own, err := os.ReadFile("/proc/self/timerslack_ns")
	if err != nil {
		t.Fatal(err)
	}
	if Caller() == 0 {
		t.Skipf("started with a timer slack of %s ns, not below husk's: nothing to restore", strings.TrimSpace(string(own)))
	}
	if got := strings.TrimSpace(string(own)); got != "1000000" {
		t.Fatalf("the main thread's timer slack is %s, want 1000000", got)
	}
	var out []byte
	if err := AsCaller(func() (err error) {
		out, err = exec.Command("cat", "/proc/self/timerslack_ns").Output()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(out)), strconv.FormatUint(Caller(), 10); got != want {
		t.Errorf("child's timer slack %s, want the caller's %s", got, want)
	}
}

// Every place husk starts a process does it through AsCaller: a call that
// starts one (syscall.ForkExec, os.StartProcess, or an exec.Cmd's Start,
// Run, Output or CombinedOutput in a file that uses os/exec) must be
// inside AsCaller's argument. Tests and tools are not husk.
func TestEverySpawnSiteUsesAsCaller(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			hidden := rel != "." && strings.HasPrefix(d.Name(), ".")
			if rel == "tests" || rel == "tools" || rel == "contrib" || d.Name() == "testdata" || hidden {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		usesExec := false
		for _, imp := range f.Imports {
			if imp.Path.Value == `"os/exec"` {
				usesExec = true
			}
		}
		checked++
		var walk func(n ast.Node, inside bool)
		walk = func(n ast.Node, inside bool) {
			ast.Inspect(n, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "timerslack" && sel.Sel.Name == "AsCaller" {
					for _, a := range call.Args {
						walk(a, true)
					}
					return false
				}
				spawns := sel.Sel.Name == "ForkExec" || sel.Sel.Name == "StartProcess"
				if usesExec && len(call.Args) == 0 {
					switch sel.Sel.Name {
					case "Start", "Run", "Output", "CombinedOutput":
						spawns = true
					}
				}
				if spawns && !inside {
					t.Errorf("%s: %s starts a process outside timerslack.AsCaller", fset.Position(call.Pos()), sel.Sel.Name)
				}
				return true
			})
		}
		walk(f, false)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked only %d files under %s", checked, root)
	}
}
