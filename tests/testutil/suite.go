package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// RootSuite is the TestMain of a suite that runs real containers (the
// stress and differential suites): not root, it fails, or skips when
// HUSK_ALLOW_SKIP_ROOT is set; root, it runs setup and the tests, then
// sweeps what they left under the directory and cgroup place names
// (place is read after the tests: setup chooses them) and removes the
// directory. It returns the exit code.
func RootSuite(m *testing.M, suite string, setup func(), place func() (dir, cgroup string), settle time.Duration) int {
	if os.Geteuid() != 0 {
		if os.Getenv("HUSK_ALLOW_SKIP_ROOT") != "" {
			fmt.Fprintf(os.Stderr, "%s tests need root: skipped (HUSK_ALLOW_SKIP_ROOT)\n", suite)
			return 0
		}
		fmt.Fprintf(os.Stderr, "%s tests run real containers and need root (set HUSK_ALLOW_SKIP_ROOT=1 to skip them)\n", suite)
		return 1
	}
	defer PrivateCache()()
	setup()
	code := m.Run()
	dir, cgroup := place()
	Sweep(dir, cgroup, settle)
	os.RemoveAll(dir)
	return code
}

// PrivateCache points XDG_CACHE_HOME, which the runtimes the suite starts
// inherit, at a temporary directory: husk keeps its compiled seccomp
// programs under it (seccomp.DefaultCacheDir), and a test run must leave
// nothing on the host. Not every client passes its environment on to the
// runtime (a daemon started apart from the test's), so husk's default
// cache as root, /var/cache/husk, may be made or added to as well. It
// returns what removes the directory, and /var/cache/husk if the run made
// it, or else the files the run added to it.
func PrivateCache() func() { return privateCache("/var/cache/husk") }

func privateCache(hostCache string) func() {
	_, err := os.Lstat(hostCache)
	hadHostCache := err == nil
	had := cacheFiles(hostCache)
	dir, err := os.MkdirTemp("", "husk-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cache dir:", err)
		return func() {}
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	return func() {
		os.RemoveAll(dir)
		if !hadHostCache {
			os.RemoveAll(hostCache)
			return
		}
		// The host's cache was there: take out only what the run put in.
		for f := range cacheFiles(hostCache) {
			if !had[f] {
				os.Remove(f)
			}
		}
	}
}

// cacheFiles are the files under dir (husk's cache holds one level of
// directories: seccomp/).
func cacheFiles(dir string) map[string]bool {
	files := map[string]bool{}
	subs, _ := os.ReadDir(dir)
	for _, s := range subs {
		if !s.IsDir() {
			continue
		}
		names, _ := os.ReadDir(filepath.Join(dir, s.Name()))
		for _, n := range names {
			files[filepath.Join(dir, s.Name(), n.Name())] = true
		}
	}
	return files
}

// Sweep removes what containers left under dir and in cgroup: their
// processes (waiting at most settle for them to go), the mounts under dir
// (deepest first) and the cgroup.
func Sweep(dir, cgroup string, settle time.Duration) {
	ReapLeaks([]string{dir}, []string{cgroup}, settle)
	mps := MountPointsUnder(dir)
	for i := len(mps) - 1; i >= 0; i-- {
		_ = syscall.Unmount(mps[i], syscall.MNT_DETACH)
	}
	RemoveCgroup(cgroup)
}

// EnvInt is the non-negative integer in the environment variable name, or
// def.
func EnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}
