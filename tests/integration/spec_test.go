package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// specIn runs `spec ARGS...` with dir as working directory, without --root
// (spec does not touch container state). Another user (cred) runs a copy
// of the binary that it can reach.
func specIn(t *testing.T, dir string, cred *syscall.Credential, bin string, args ...string) result {
	t.Helper()
	if cred != nil {
		if bin == "" {
			bin = runtimeBin
		}
		bin = userCopy(t, bin)
	}
	r := invoke(invokeOpts{dir: dir, cred: cred, bin: bin}, append([]string{"spec"}, args...)...)
	if r.TimedOut || r.Err != nil {
		t.Fatalf("spec did not run: %s", r)
	}
	return r
}

func readConfig(t *testing.T, dir string) (map[string]any, *specs.Spec) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatalf("config.json not written: %v", err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("config.json does not parse as a runtime spec: %v", err)
	}
	return jsonMap(t, data), &s
}

// withoutVersion drops ociVersion (husk writes "1.3.0", runc "1.0.2-dev").
func withoutVersion(m map[string]any) map[string]any {
	delete(m, "ociVersion")
	return m
}

// runcReference runs the reference runc's `spec` with the same flags and
// returns its config.
func runcReference(t *testing.T, cred *syscall.Credential, args ...string) map[string]any {
	t.Helper()
	ref := needReference(t)
	dir := userDir(t, cred)
	if r := specIn(t, dir, cred, ref, args...); r.Code != 0 {
		t.Fatalf("reference runc spec failed: %s", r)
	}
	m, _ := readConfig(t, dir)
	return m
}

// userDir returns a fresh empty dir writable by cred's user (or root).
func userDir(t *testing.T, cred *syscall.Credential) string {
	t.Helper()
	if cred == nil {
		return t.TempDir()
	}
	// Directly in the (world-traversable) suite dir: t.TempDir()'s parent
	// is private to root.
	dir, err := os.MkdirTemp(suiteDir, "user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSpecWritesConfigInCwd(t *testing.T) {
	newEnv(t)
	dir := t.TempDir()
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)

	r := specIn(t, dir, nil, "")
	if r.Code != 0 {
		t.Fatalf("spec failed: %s", r)
	}
	m, s := readConfig(t, dir)
	if v, _ := m["ociVersion"].(string); v == "" {
		t.Errorf("ociVersion missing or empty: %v", m["ociVersion"])
	}
	if isHusk() && s.Version != "1.3.0" {
		t.Errorf("husk spec ociVersion = %q, want 1.3.0", s.Version)
	}
	if s.Process == nil || !reflect.DeepEqual(s.Process.Args, []string{"sh"}) || !s.Process.Terminal {
		t.Errorf("process = %+v, want args [sh] and terminal true", s.Process)
	}
	if s.Root == nil || s.Root.Path != "rootfs" || !s.Root.Readonly {
		t.Errorf("root = %+v, want {rootfs, readonly}", s.Root)
	}
	st, err := os.Stat(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("config.json mode = %v, want 0644 (0666 minus umask 022)", st.Mode().Perm())
	}
	if strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("spec printed to stdout: %q", r.Stdout)
	}
}

func TestSpecWithBundleFlag(t *testing.T) {
	newEnv(t)
	cwd := t.TempDir()
	bundle := t.TempDir()
	for _, flag := range []string{"--bundle", "-b"} {
		os.Remove(filepath.Join(bundle, "config.json"))
		if r := specIn(t, cwd, nil, "", flag, bundle); r.Code != 0 {
			t.Fatalf("spec %s failed: %s", flag, r)
		}
		readConfig(t, bundle)
		if exists(filepath.Join(cwd, "config.json")) {
			t.Errorf("spec %s DIR also wrote config.json in the working directory", flag)
		}
	}
}

func TestSpecBundleMissingDirFails(t *testing.T) {
	newEnv(t)
	cwd := t.TempDir()
	missing := filepath.Join(t.TempDir(), "nonexistent")
	r := specIn(t, cwd, nil, "", "--bundle", missing)
	// husk names the file it could not write, runc the dir it could not
	// change into.
	want := huskOrRunc("open "+missing+"/config.json: no such file or directory", "chdir "+missing+": no such file or directory")
	if r.Code != 1 || !strings.Contains(errText(r), want) {
		t.Fatalf("spec into a missing bundle dir: %s, want exit 1 and %q", r, want)
	}
	if exists(missing) || exists(filepath.Join(cwd, "config.json")) {
		t.Errorf("spec created files although it failed")
	}
}

func TestSpecRefusesToOverwrite(t *testing.T) {
	newEnv(t)
	for _, viaBundle := range []bool{false, true} {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "config.json")
		const sentinel = "sentinel: not a spec\n"
		if err := os.WriteFile(cfg, []byte(sentinel), 0o644); err != nil {
			t.Fatal(err)
		}
		var r result
		if viaBundle {
			r = specIn(t, t.TempDir(), nil, "", "--bundle", dir)
		} else {
			r = specIn(t, dir, nil, "")
		}
		if r.Code != 1 || !strings.Contains(r.Stderr, "File config.json exists. Remove it first") {
			t.Errorf("spec (bundle flag: %v) with an existing config.json: %s, want exit 1 and runc's \"File config.json exists. Remove it first\"", viaBundle, r)
		}
		if data, _ := os.ReadFile(cfg); string(data) != sentinel {
			t.Errorf("existing config.json was modified: %q", data)
		}
	}
}

func TestSpecRootlessRefusesToOverwrite(t *testing.T) {
	newEnv(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfg, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := specIn(t, dir, nil, "", "--rootless"); r.Code != 1 || !strings.Contains(r.Stderr, "File config.json exists. Remove it first") {
		t.Errorf("spec --rootless with an existing config.json: %s, want exit 1 and runc's \"File config.json exists. Remove it first\"", r)
	}
	if data, _ := os.ReadFile(cfg); string(data) != "{}" {
		t.Errorf("existing config.json was modified: %q", data)
	}
}

// The suite's defaultSpec() must be what `spec` writes (with terminal true
// and the relative rootfs), apart from ociVersion.
func TestSpecMatchesSuiteDefaultConfig(t *testing.T) {
	newEnv(t)
	dir := t.TempDir()
	if r := specIn(t, dir, nil, ""); r.Code != 0 {
		t.Fatalf("spec failed: %s", r)
	}
	got, _ := readConfig(t, dir)
	want := defaultSpec()
	want.Process.Terminal = true
	if unifiedHost() {
		// As runc 1.5's spec: a cgroup namespace on a cgroup v2 host.
		want.Linux.Namespaces = append(want.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	assertSameJSON(t, "spec output vs the suite's default config (ociVersion ignored)",
		withoutVersion(got), withoutVersion(specMap(t, want)))
}

func TestSpecMatchesRuncExceptVersion(t *testing.T) {
	newEnv(t)
	want := runcReference(t, nil)
	dir := t.TempDir()
	if r := specIn(t, dir, nil, ""); r.Code != 0 {
		t.Fatalf("spec failed: %s", r)
	}
	got, _ := readConfig(t, dir)
	assertSameJSON(t, "spec output vs runc spec (ociVersion ignored)", withoutVersion(got), withoutVersion(want))
}

func TestSpecRootless(t *testing.T) {
	newEnv(t)
	for _, tc := range []struct {
		name string
		cred *syscall.Credential
	}{
		{"as-root", nil},
		{"as-uid-1000", &syscall.Credential{Uid: testUID, Gid: testGID, Groups: []uint32{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uid, gid := uint32(0), uint32(0)
			if tc.cred != nil {
				uid, gid = tc.cred.Uid, tc.cred.Gid
			}
			dir := userDir(t, tc.cred)
			r := specIn(t, dir, tc.cred, "", "--rootless")
			if r.Code != 0 {
				t.Fatalf("spec --rootless failed: %s", r)
			}
			got, s := readConfig(t, dir)
			if s.Linux == nil {
				t.Fatal("no linux section")
			}
			has := map[specs.LinuxNamespaceType]bool{}
			for _, ns := range s.Linux.Namespaces {
				has[ns.Type] = true
			}
			if !has[specs.UserNamespace] {
				t.Errorf("no user namespace: %v", s.Linux.Namespaces)
			}
			if has[specs.NetworkNamespace] {
				t.Errorf("rootless spec has a network namespace: %v", s.Linux.Namespaces)
			}
			wantUID := []specs.LinuxIDMapping{{ContainerID: 0, HostID: uid, Size: 1}}
			wantGID := []specs.LinuxIDMapping{{ContainerID: 0, HostID: gid, Size: 1}}
			if !reflect.DeepEqual(s.Linux.UIDMappings, wantUID) {
				t.Errorf("uidMappings = %+v, want %+v", s.Linux.UIDMappings, wantUID)
			}
			if !reflect.DeepEqual(s.Linux.GIDMappings, wantGID) {
				t.Errorf("gidMappings = %+v, want %+v", s.Linux.GIDMappings, wantGID)
			}
			if s.Linux.Resources != nil {
				t.Errorf("rootless spec has linux.resources: %+v", s.Linux.Resources)
			}
			for _, m := range s.Mounts {
				if m.Type == "sysfs" {
					t.Errorf("rootless spec mounts sysfs (needs a network namespace): %+v", m)
				}
				if m.Type == "devpts" {
					for _, o := range m.Options {
						if strings.HasPrefix(o, "gid=") {
							t.Errorf("rootless devpts has %s (gid not mapped)", o)
						}
					}
				}
			}
			want := runcReference(t, tc.cred, "--rootless")
			assertSameJSON(t, "spec --rootless vs runc spec --rootless (ociVersion ignored)",
				withoutVersion(got), withoutVersion(want))
		})
	}
}
