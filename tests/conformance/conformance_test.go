// Package conformance runs the OCI runtime validation suite
// (github.com/opencontainers/runtime-tools, its validation/ programs and
// the in-container checker runtimetest) against a runtime binary and holds
// the runtime to a list of known failures, each with its reason.
//
// The suite is a tool dependency of this module (go.mod pins it), built
// through the Go module proxy when the test starts. Every validation
// program prints TAP; it is run from a directory holding ./runtimetest and
// ./rootfs-amd64.tar.gz (a busybox rootfs made from Debian's
// busybox-static), with RUNTIME set to the binary, in a private mount
// namespace (mounts the programs leak die with it).
//
// Run (as root, on a cgroup v1 or hybrid host: the suite reads v1 files):
//
//	make conformance                          # husk, held to knownFailures
//	CONFORMANCE_RUNTIME=/usr/sbin/runc CONFORMANCE_REPORT=1 make conformance
//
// Environment:
//
//	CONFORMANCE_RUNTIME  the runtime (default ../../husk).
//	CONFORMANCE_REPORT   non-empty: only report counts, do not compare with
//	                     knownFailures (for other runtimes).
//	CONFORMANCE_MASK_CGROUP2  non-empty: in each program's private mount
//	                     namespace, hide the cgroup2 mount's controller
//	                     list (crun 1.x refuses a hybrid host whose cgroup2
//	                     mount has a controller, as this one's hugetlb).
//	CONFORMANCE_TESTS    space-separated programs to run (default: all).
//	HUSK_ALLOW_SKIP_ROOT non-empty: not being root skips the suite (else
//	                     it fails).
package conformance

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
)

// programTimeout bounds one validation program.
const programTimeout = 120 * time.Second

// negativeTests pass when the runtime refuses their config: the program
// then exits 0 having printed nothing.
var negativeTests = map[string]bool{
	"process_capabilities_fail": true,
	"process_rlimits_fail":      true,
}

var (
	runtimeBin string
	suiteDir   string // bin/<programs>, runtimetest
	runDir     string // the programs' working directory
	setupErr   error

	totalsMu             sync.Mutex
	passed, failed, skip int
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		if os.Getenv("HUSK_ALLOW_SKIP_ROOT") != "" {
			fmt.Println("conformance: needs root; skipped (HUSK_ALLOW_SKIP_ROOT)")
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "conformance: the suite runs real containers and needs root (set HUSK_ALLOW_SKIP_ROOT=1 to skip it)")
		os.Exit(1)
	}
	tmp, err := os.MkdirTemp("/var/tmp", "husk-conformance-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(tmp, 0o755)
	// husk keeps its compiled seccomp programs under XDG_CACHE_HOME (the
	// runtime inherits it): in tmp, so that the run leaves nothing behind.
	os.Setenv("XDG_CACHE_HOME", filepath.Join(tmp, "cache"))
	setupErr = setup(tmp)
	before := testCgroups()
	code := m.Run()
	removeNewCgroups(before)
	if code == 0 || setupErr != nil {
		os.RemoveAll(tmp)
	}
	os.Exit(code)
}

func setup(tmp string) error {
	bin := os.Getenv("CONFORMANCE_RUNTIME")
	if bin == "" {
		bin = "../../husk"
	}
	if !strings.Contains(bin, "/") {
		p, err := exec.LookPath(bin)
		if err != nil {
			return err
		}
		bin = p
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("CONFORMANCE_RUNTIME: %w", err)
	}
	runtimeBin = abs
	suiteDir = filepath.Join(tmp, "suite")
	runDir = filepath.Join(tmp, "run")
	for _, d := range []string{suiteDir, runDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// The programs and runtimetest static: runtimetest is exec'd inside
	// a busybox container.
	build := exec.Command("go", "build", "-tags", "netgo osusergo", "-o", suiteDir+"/", "tool")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=mod", "GOEXPERIMENT=")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building the suite (go build tool): %v\n%s", err, out)
	}
	if err := copyFile(filepath.Join(suiteDir, "runtimetest"), filepath.Join(runDir, "runtimetest"), 0o755); err != nil {
		return err
	}
	return writeBusyboxRootfs(filepath.Join(runDir, "rootfs-amd64.tar.gz"))
}

// TestValidation runs every validation program as a subtest.
func TestValidation(t *testing.T) {
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	ents, err := os.ReadDir(suiteDir)
	if err != nil {
		t.Fatal(err)
	}
	var progs []string
	for _, e := range ents {
		if n := e.Name(); n != "runtimetest" {
			progs = append(progs, n)
		}
	}
	if only := strings.Fields(os.Getenv("CONFORMANCE_TESTS")); len(only) > 0 {
		progs = only
	}
	sort.Strings(progs)
	report := os.Getenv("CONFORMANCE_REPORT") != ""
	t.Logf("runtime %s", runtimeBin)
	for _, p := range progs {
		t.Run(p, func(t *testing.T) {
			r := runProgram(t, p)
			totalsMu.Lock()
			passed, failed, skip = passed+r.pass, failed+r.fail, skip+r.skip
			totalsMu.Unlock()
			fmt.Printf("%-32s %4d passed %4d failed %4d skipped%s\n", p, r.pass, r.fail, r.skip, r.note)
			for _, l := range r.failures {
				t.Logf("  %s", l)
			}
			if report {
				return
			}
			known := knownFailures[p]
			switch {
			case r.fail > known.count:
				t.Errorf("%d failed, %d known (%s)", r.fail, known.count, orNone(known.why))
			case r.fail < known.count:
				t.Logf("fewer failures than the %d known: %s", known.count, known.why)
			}
		})
	}
	fmt.Printf("conformance: %s: %d passed, %d failed, %d skipped\n", filepath.Base(runtimeBin), passed, failed, skip)
}

func orNone(s string) string {
	if s == "" {
		return "none known"
	}
	return s
}

// programResult is one validation program's score.
type programResult struct {
	pass, fail, skip int
	note             string
	failures         []string // the "not ok" lines
}

var (
	tapOK    = regexp.MustCompile(`^ok \d+`)
	tapNotOK = regexp.MustCompile(`^not ok \d+`)
	tapSkip  = regexp.MustCompile(`(?i)#\s*skip`)
	tapTodo  = regexp.MustCompile(`(?i)#\s*todo`)
	tapPlan  = regexp.MustCompile(`^1\.\.(\d+)`)
)

// runProgram runs one validation program and scores its TAP: "ok" passes
// ("# skip" skips), "not ok" fails ("# todo" skips); a non-zero exit, a
// timeout, or a plan that does not match the results is one more failure.
// A "1..0" plan with no result passes unless the program reported an
// error (the hook tests do that).
func runProgram(t *testing.T, name string) programResult {
	tdir := filepath.Join(runDir, "tmp", name)
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		t.Fatal(err)
	}
	defer cleanupAfter(t, tdir)
	script := `mount --make-rshared / || exit 97
if [ -n "$MASK" ] && [ -f /sys/fs/cgroup/unified/cgroup.controllers ]; then
	: > "$TMPDIR/.empty" && mount --bind "$TMPDIR/.empty" /sys/fs/cgroup/unified/cgroup.controllers || exit 98
fi
exec "$0"`
	ctx, cancel := context.WithTimeout(context.Background(), programTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--mount", "--propagation", "private", "sh", "-c", script, filepath.Join(suiteDir, name))
	cmd.Dir = runDir
	cmd.Env = append(os.Environ(), "RUNTIME="+runtimeBin, "TMPDIR="+tdir, "MASK="+os.Getenv("CONFORMANCE_MASK_CGROUP2"))
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", name, err)
	}

	var r programResult
	plan := -1
	out := stdout.String()
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case tapNotOK.MatchString(l):
			if tapTodo.MatchString(l) {
				r.skip++
			} else {
				r.fail++
				r.failures = append(r.failures, l)
			}
		case tapOK.MatchString(l):
			if tapSkip.MatchString(l) {
				r.skip++
			} else {
				r.pass++
			}
		default:
			if m := tapPlan.FindStringSubmatch(l); m != nil && plan < 0 {
				fmt.Sscan(m[1], &plan)
			}
		}
	}
	n := r.pass + r.fail + r.skip
	errLine := firstLine(stderr.String())
	switch {
	case ctx.Err() != nil:
		r.fail++
		r.note = fmt.Sprintf(" (killed after %s)", programTimeout)
	case code == 97 || code == 98:
		t.Fatalf("setting up the private mount namespace failed (exit %d): %s", code, stderr.String())
	case negativeTests[name]:
		if code == 0 && n == 0 {
			r = programResult{pass: 1, note: " (the runtime refused the config)"}
		} else {
			r = programResult{fail: 1, note: fmt.Sprintf(" (the runtime accepted a config it must refuse; exit %d)", code)}
		}
	case code != 0:
		r.fail++
		r.note = fmt.Sprintf(" (exit %d: %s)", code, errLine)
	case plan >= 0 && plan != n:
		r.fail++
		r.note = fmt.Sprintf(" (plan 1..%d, %d results)", plan, n)
	case plan < 0:
		r.fail++
		r.note = " (no TAP plan)"
	case n == 0 && strings.Contains(out, `"error":`):
		r.fail++
		r.note = " (reported an error: " + errorMessage(out) + ")"
	case n == 0:
		r.pass++
	}
	return r
}

// errorMessage is the first line of the first "error" in a program's
// YAML diagnostics.
func errorMessage(out string) string {
	_, msg, _ := strings.Cut(out, `"error": `)
	msg, _, _ = strings.Cut(msg, "\n")
	msg, _, _ = strings.Cut(msg, `\n`)
	return strings.Trim(msg, `",`)
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		// The programs' own wrapping lines say less than the runtime's.
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "exit status") && !strings.HasPrefix(l, "failed to create") {
			if len(l) > 160 {
				l = l[:160]
			}
			return l
		}
	}
	return ""
}

// cleanupAfter removes what a program left: containers whose bundle is in
// its directory, then mounts under it (deepest first), then the directory
// (never through a mount that is still there).
func cleanupAfter(t *testing.T, tdir string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, runtimeBin, "list", "-q").Output()
	for _, id := range strings.Fields(string(out)) {
		st, err := exec.CommandContext(ctx, runtimeBin, "state", id).Output()
		if err != nil {
			continue
		}
		var s struct {
			Bundle string `json:"bundle"`
		}
		if json.Unmarshal(st, &s) == nil && strings.HasPrefix(s.Bundle, tdir+"/") {
			exec.CommandContext(ctx, runtimeBin, "delete", "--force", id).Run()
		}
	}
	under := mountinfo.PrefixFilter(tdir)
	mounts, _ := mountinfo.GetMounts(under)
	// The latest first: children and stacked mounts before their parents.
	for i := len(mounts) - 1; i >= 0; i-- {
		exec.Command("umount", "-l", mounts[i].Mountpoint).Run()
	}
	if left, _ := mountinfo.GetMounts(under); len(left) > 0 {
		t.Logf("mounts remain under %s; not removing it", tdir)
		return
	}
	os.RemoveAll(tdir)
}

// testCgroups lists the cgroups the linux_cgroups_relative_* programs
// create ("testdir/cgrouptest[/container]", relative to the runtime's own
// cgroup or to the hierarchy's root) that exist now.
func testCgroups() map[string]bool {
	found := map[string]bool{}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return found
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 {
			continue
		}
		var base string
		if f[1] == "" {
			base = "/sys/fs/cgroup/unified"
			if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
				base = "/sys/fs/cgroup"
			}
		} else {
			c := strings.TrimPrefix(f[1], "name=")
			base = "/sys/fs/cgroup/" + strings.Split(c, ",")[0]
			if _, err := os.Stat(base); err != nil {
				base = "/sys/fs/cgroup/" + c
			}
		}
		for _, p := range []string{base + strings.TrimSuffix(f[2], "/"), base} {
			for _, sub := range []string{"/testdir/cgrouptest/container", "/testdir/cgrouptest", "/testdir"} {
				if _, err := os.Stat(p + sub); err == nil {
					found[p+sub] = true
				}
			}
		}
	}
	return found
}

// removeNewCgroups removes the test cgroups this run created (deepest
// first), leaving ones that were there before.
func removeNewCgroups(before map[string]bool) {
	var now []string
	for p := range testCgroups() {
		if !before[p] {
			now = append(now, p)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(now)))
	for _, p := range now {
		os.Remove(p)
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}

// writeBusyboxRootfs writes the rootfs tarball the programs unpack into
// every bundle: Debian's static busybox with a link per applet in /bin,
// empty /dev, /proc and /sys, a minimal /etc/passwd and /etc/group; all
// owned by 0:0, directories 0755.
func writeBusyboxRootfs(path string) error {
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return fmt.Errorf("need Debian's busybox-static: %w", err)
	}
	list, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	epoch := time.Unix(0, 0)
	for _, d := range []string{"./", "bin/", "dev/", "proc/", "sys/", "etc/"} {
		tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, Typeflag: tar.TypeDir, ModTime: epoch})
	}
	tw.WriteHeader(&tar.Header{Name: "bin/busybox", Mode: 0o755, Size: int64(len(bb)), Typeflag: tar.TypeReg, ModTime: epoch})
	tw.Write(bb)
	for _, a := range strings.Fields(string(list)) {
		if a != "busybox" {
			tw.WriteHeader(&tar.Header{Name: "bin/" + a, Linkname: "busybox", Typeflag: tar.TypeSymlink, Mode: 0o777, ModTime: epoch})
		}
	}
	files := []struct{ name, data string }{
		{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\nbin:x:1:1:bin:/bin:/bin/false\ndaemon:x:2:2:daemon:/sbin:/bin/false\nnobody:x:65534:65534:nobody:/var/empty:/bin/false\n"},
		{"etc/group", "root:x:0:root\nbin:x:1:root,bin,daemon\ndaemon:x:2:root,bin,daemon\ntty:x:5:\nnogroup:x:65533:\nnobody:x:65534:\n"},
	}
	for _, f := range files {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg, ModTime: epoch})
		tw.Write([]byte(f.data))
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
