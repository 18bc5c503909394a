package seccomp

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"golang.org/x/sys/unix"
)

func cacheProfile() *configs.Seccomp {
	return &configs.Seccomp{
		DefaultAction: "SCMP_ACT_ERRNO", DefaultErrno: errnoPtr(uint(unix.EPERM)),
		Architectures: []string{"SCMP_ARCH_X86_64"},
		Syscalls: []configs.SeccompSyscall{
			{Names: []string{"read", "write", "execve"}, Action: "SCMP_ACT_ALLOW"},
			{Names: []string{"kill"}, Action: "SCMP_ACT_ALLOW", Args: []configs.SeccompArg{{Index: 1, Value: 0, Op: "SCMP_CMP_EQ"}}},
			{Names: []string{"mkdir"}, Action: "SCMP_ACT_ERRNO", Errno: errnoPtr(uint(unix.EACCES))},
		},
	}
}

func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// The program comes from the cache the second time, and is Compile's.
func TestCompileCachedIsCompile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "seccomp")
	want, err := Compile(cacheProfile())
	if err != nil {
		t.Fatal(err)
	}
	compiles.Store(0)
	for i := 0; i < 3; i++ {
		got, err := CompileCached(cacheProfile(), dir)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("call %d: the program differs from Compile's", i)
		}
	}
	if compiles.Load() != 1 {
		t.Errorf("compiled %d times, want once", compiles.Load())
	}
	if files := cacheFiles(t, dir); len(files) != 1 {
		t.Errorf("cache files %v, want one", files)
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil || st.Mode&0o777 != 0o700 {
		t.Errorf("cache directory mode %o (%v), want 0700", st.Mode&0o777, err)
	}
}

// A damaged file (a torn write, a flipped bit) is not used: the program is
// compiled again and the file rewritten.
func TestCacheDamagedFileRecompiled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "seccomp")
	want, _ := Compile(cacheProfile())
	compiles.Store(0)
	if _, err := CompileCached(cacheProfile(), dir); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, cacheFiles(t, dir)[0])
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"flipped bit": append(append([]byte(nil), good[:len(good)-20]...), append([]byte{good[len(good)-20] ^ 1}, good[len(good)-19:]...)...),
		"truncated":   good[:len(good)/2],
		"empty":       nil,
	} {
		if err := os.WriteFile(file, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		before := compiles.Load()
		got, err := CompileCached(cacheProfile(), dir)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || compiles.Load() != before+1 {
			t.Errorf("%s: got Compile's program %v after %d compiles, want it after one more", name, reflect.DeepEqual(got, want), compiles.Load()-before)
		}
		if now, _ := os.ReadFile(file); !bytes.Equal(now, good) {
			t.Errorf("%s: the file was not rewritten", name)
		}
	}
}

// Every field Compile reads is in the key; the listener's path and
// metadata, which it does not read, are not.
func TestCacheKeyCoversProfile(t *testing.T) {
	base, ok := cacheKey(cacheProfile())
	if !ok {
		t.Skip("cannot stat /proc/self/exe or uname")
	}
	variants := map[string]func(*configs.Seccomp){
		"defaultAction":    func(s *configs.Seccomp) { s.DefaultAction = "SCMP_ACT_KILL" },
		"defaultErrnoRet":  func(s *configs.Seccomp) { s.DefaultErrno = errnoPtr(13) },
		"no defaultErrno":  func(s *configs.Seccomp) { s.DefaultErrno = nil },
		"architectures":    func(s *configs.Seccomp) { s.Architectures = append(s.Architectures, "SCMP_ARCH_X86") },
		"flags":            func(s *configs.Seccomp) { s.Flags = []string{"SECCOMP_FILTER_FLAG_LOG"} },
		"a name":           func(s *configs.Seccomp) { s.Syscalls[0].Names[2] = "execveat" },
		"names regrouped":  func(s *configs.Seccomp) { s.Syscalls[0].Names = []string{"read", "writeexecve"} },
		"an action":        func(s *configs.Seccomp) { s.Syscalls[2].Action = "SCMP_ACT_KILL" },
		"an errnoRet":      func(s *configs.Seccomp) { s.Syscalls[2].Errno = errnoPtr(2) },
		"an arg's index":   func(s *configs.Seccomp) { s.Syscalls[1].Args[0].Index = 2 },
		"an arg's value":   func(s *configs.Seccomp) { s.Syscalls[1].Args[0].Value = 9 },
		"an arg's value 2": func(s *configs.Seccomp) { s.Syscalls[1].Args[0].ValueTwo = 9 },
		"an arg's op":      func(s *configs.Seccomp) { s.Syscalls[1].Args[0].Op = "SCMP_CMP_NE" },
		"a rule more": func(s *configs.Seccomp) {
			s.Syscalls = append(s.Syscalls, configs.SeccompSyscall{Names: []string{"close"}, Action: "SCMP_ACT_ALLOW"})
		},
	}
	for name, change := range variants {
		s := cacheProfile()
		change(s)
		if k, _ := cacheKey(s); bytes.Equal(k, base) {
			t.Errorf("%s: same key", name)
		}
	}
	s := cacheProfile()
	s.ListenerPath, s.ListenerMetadata = "/run/agent.sock", "x"
	if k, _ := cacheKey(s); !bytes.Equal(k, base) {
		t.Error("the listener's path and metadata changed the key")
	}
}

// A file found under a profile's name is used only if it was written for
// that very profile: a collision of the names' hash is a miss.
func TestCacheFileOfAnotherKeyRefused(t *testing.T) {
	p, err := Compile(cacheProfile())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := cacheKey(cacheProfile())
	other := cacheProfile()
	other.DefaultAction = "SCMP_ACT_KILL"
	b, _ := cacheKey(other)
	if decodeCached(encodeCached(b, p), a) != nil {
		t.Error("a file written for another profile was accepted")
	}
	if got := decodeCached(encodeCached(a, p), a); !reflect.DeepEqual(got, p) {
		t.Error("a file did not decode to the program it was written with")
	}
}

// A cache directory that others may write to, or that is a symlink, is
// not used: the program is compiled and nothing is kept.
func TestCacheDirMustBePrivate(t *testing.T) {
	want, _ := Compile(cacheProfile())
	for name, setup := range map[string]func(root string) error{
		"group-writable": func(root string) error {
			dir := filepath.Join(root, "seccomp")
			if err := os.Mkdir(dir, 0o700); err != nil {
				return err
			}
			return os.Chmod(dir, 0o770)
		},
		"symlink": func(root string) error {
			if err := os.Mkdir(filepath.Join(root, "elsewhere"), 0o700); err != nil {
				return err
			}
			return os.Symlink("elsewhere", filepath.Join(root, "seccomp"))
		},
	} {
		root := t.TempDir()
		if err := setup(root); err != nil {
			t.Fatal(err)
		}
		compiles.Store(0)
		for i := 0; i < 2; i++ {
			got, err := CompileCached(cacheProfile(), filepath.Join(root, "seccomp"))
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: %v, or not Compile's program", name, err)
			}
		}
		if compiles.Load() != 2 {
			t.Errorf("%s: compiled %d times, want twice (no cache)", name, compiles.Load())
		}
		for _, d := range []string{"seccomp", "elsewhere"} {
			if ents, _ := os.ReadDir(filepath.Join(root, d)); len(ents) != 0 {
				t.Errorf("%s: %d files kept in %s", name, len(ents), d)
			}
		}
	}
}

// Without a directory nothing is kept.
func TestCompileCachedWithoutRoot(t *testing.T) {
	want, _ := Compile(cacheProfile())
	got, err := CompileCached(cacheProfile(), "")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("%v, or not Compile's program", err)
	}
}

// A full cache is emptied before a program is added: the files of a
// replaced binary or kernel do not fill it for good.
func TestCacheFullEmptied(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "seccomp")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < cacheMax; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("stale%d", i)), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := CompileCached(cacheProfile(), dir); err != nil {
		t.Fatal(err)
	}
	if files := cacheFiles(t, dir); len(files) != 1 || strings.HasPrefix(files[0], "stale") {
		t.Errorf("cache files after adding to a full cache: %d, want the new one only", len(files))
	}
}

// A cache file is read back only as what encodeCached wrote for that key:
// any other bytes are refused (nil), never a panic or a different program.
func FuzzDecodeCached(f *testing.F) {
	key, _ := cacheKey(cacheProfile())
	p, err := Compile(cacheProfile())
	if err != nil {
		f.Fatal(err)
	}
	good := encodeCached(key, p)
	f.Add(good)
	f.Add(good[:len(good)-9])
	f.Add([]byte(cacheMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got := decodeCached(b, key)
		if got == nil {
			return
		}
		if !bytes.Equal(encodeCached(key, got), b) {
			t.Fatalf("decoded %d instructions from bytes encodeCached does not write", len(got.Insns))
		}
	})
}

// A cache file that others may write to is not used: it is compiled
// again, and the file replaced by one of this user's alone.
func TestCacheFileMustBePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "seccomp")
	want, _ := Compile(cacheProfile())
	if _, err := CompileCached(cacheProfile(), dir); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, cacheFiles(t, dir)[0])
	if err := os.Chmod(file, 0o666); err != nil {
		t.Fatal(err)
	}
	compiles.Store(0)
	got, err := CompileCached(cacheProfile(), dir)
	if err != nil || !reflect.DeepEqual(got, want) || compiles.Load() != 1 {
		t.Fatalf("%v; Compile's program: %v; compiled %d times, want once", err, reflect.DeepEqual(got, want), compiles.Load())
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the file was not replaced by a private one: %v %v", fi.Mode(), err)
	}
}

// The cache's place: $XDG_CACHE_HOME (absolute), else /var/cache as root,
// else ~/.cache; never a state root.
func TestDefaultCacheDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/x/cache")
	if got := DefaultCacheDir(); got != "/x/cache/husk/seccomp" {
		t.Errorf("with XDG_CACHE_HOME: %q", got)
	}
	t.Setenv("XDG_CACHE_HOME", "relative")
	t.Setenv("HOME", "/home/u")
	want := "/home/u/.cache/husk/seccomp"
	if os.Geteuid() == 0 {
		want = "/var/cache/husk/seccomp"
	}
	if got := DefaultCacheDir(); got != want {
		t.Errorf("without an absolute XDG_CACHE_HOME: %q, want %q", got, want)
	}
}
