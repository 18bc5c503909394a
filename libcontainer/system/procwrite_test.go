package system_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/husk-runtime/husk/libcontainer/lsm"
	"github.com/husk-runtime/husk/libcontainer/system"
	"golang.org/x/sys/unix"
)

// CVE-2019-19921 / CVE-2023-27561 / CVE-2023-28642: the LSM label (and
// oom_score_adj) writes husk makes for a workload go to /proc/thread-self/
// attr/... and /proc/self/...; a /proc the container controls (a symlink,
// a volume, a tmpfs over it) must not receive them. On a thread whose
// mount namespace has a tmpfs over /proc with decoys at those paths,
// system.WriteProc and lsm.SetExec* must reach the real procfs (a
// procfs handle of husk's own, verified to be procfs): the real
// oom_score_adj changes, the decoys do not. (With neither AppArmor nor
// SELinux on the host, as on husk's test VM, the label write itself fails
// in the real procfs with EINVAL: what matters is that it is not a plain
// write into the decoy.)
func TestCVE202328642WriteProcNotRedirected(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: it makes a mount namespace")
	}
	orig, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		t.Fatal(err)
	}
	cur, err := strconv.Atoi(strings.TrimSpace(string(orig)))
	if err != nil {
		t.Fatal(err)
	}
	want := cur + 1
	if want > 1000 {
		want = cur - 1
	}
	t.Cleanup(func() { _ = os.WriteFile("/proc/self/oom_score_adj", orig, 0) })

	decoys := []string{"self/oom_score_adj", "thread-self/attr/exec", "thread-self/attr/apparmor/exec"}
	type result struct {
		oomErr, labelErr, profileErr error
		decoys                       map[string]string
		setup                        error
	}
	done := make(chan result)
	go func() {
		// The thread is left locked: it dies with the goroutine, and its
		// mount namespace with it.
		runtime.LockOSThread()
		var res result
		defer func() { done <- res }()
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			res.setup = err
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			res.setup = err
			return
		}
		if err := unix.Mount("decoy", "/proc", "tmpfs", 0, ""); err != nil {
			res.setup = err
			return
		}
		for _, d := range decoys {
			p := filepath.Join("/proc", d)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				res.setup = err
				return
			}
			if err := os.WriteFile(p, []byte("decoy\n"), 0o644); err != nil {
				res.setup = err
				return
			}
		}
		res.oomErr = system.WriteProc(false, "oom_score_adj", strconv.Itoa(want))
		res.labelErr = lsm.SetExecLabel("system_u:system_r:container_t:s0")
		res.profileErr = lsm.SetExecProfile("husk-test-profile")
		res.decoys = map[string]string{}
		for _, d := range decoys {
			b, _ := os.ReadFile(filepath.Join("/proc", d))
			res.decoys[d] = string(b)
		}
	}()
	res := <-done
	if res.setup != nil {
		t.Fatalf("planting the decoys: %v", res.setup)
	}
	for d, v := range res.decoys {
		if v != "decoy\n" {
			t.Errorf("the decoy /proc/%s was written: %q", d, v)
		}
	}
	if res.oomErr != nil {
		t.Errorf("WriteProc(oom_score_adj): %v", res.oomErr)
	}
	// This process's own file, read outside the decoy's namespace.
	if now, _ := os.ReadFile("/proc/self/oom_score_adj"); strings.TrimSpace(string(now)) != strconv.Itoa(want) {
		t.Errorf("the real oom_score_adj is %s, want %d: the write did not reach procfs", now, want)
	}
	for what, err := range map[string]error{"SELinux label": res.labelErr, "AppArmor profile": res.profileErr} {
		enabled := lsm.SELinuxEnabled()
		if what == "AppArmor profile" {
			enabled = lsm.AppArmorEnabled()
		}
		if !enabled && (err == nil || !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EOPNOTSUPP)) {
			t.Errorf("%s without that LSM: %v, want the real procfs's refusal (EINVAL)", what, err)
		}
	}
}
