// Package differential runs the same generated configs (valid, odd and
// broken: see gen_test.go) with `run` against husk and against runc 1.5.3,
// and holds husk to "accept what runc accepts": where runc runs a config
// and husk refuses it, husk must have a reason it can name (a field it
// cannot honour on this host), listed in allow_test.go; where husk runs
// what runc refuses, that is listed there too, with why. Every refusal by
// husk is one line naming the field, and neither runtime may leave
// anything behind (state, cgroup, process, mount).
//
// Run (as root): `make differential`, or
//
//	DIFF_CONFIGS=300 DIFF_SEED=1 go test -count=1 -v ./tests/differential/
//
// Environment (defaults in brackets):
//
//	DIFF_HUSK     husk [../../husk]
//	DIFF_RUNC     runc 1.5.3 [$RUNC_REF, or /usr/local/libexec/husk-test/runc]
//	DIFF_CONFIGS  how many configs [300]
//	DIFF_SEED     the generator's seed [1]
//	DIFF_ONLY     comma-separated config numbers to run alone (to reproduce)
//	DIFF_MATCH    run only the configs whose description matches this regexp
//	DIFF_VERBOSE  1: print every config and both outcomes
//
// The test ends with a line starting "differential:" that sums it up.
package differential

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/husk-runtime/husk/tests/testutil"
)

const (
	// cmdTimeout bounds one `run`: a runtime taking longer hangs.
	cmdTimeout = 30 * time.Second
	// settle bounds how long a leftover may take to go away after the run
	// (a dying process, a cgroup the kernel has not released yet).
	settle = 5 * time.Second
)

// runtime is one of the two runtimes compared.
type runtime struct {
	name, bin, root string
}

// hostInfo is what the generator takes from the host.
type hostInfo struct {
	bindDir, bindFile      string // bind sources of the suite's own
	blockMajor, blockMinor int64  // a real block device, for blockIO
	swappiness             string // the host's vm.swappiness
}

var (
	suiteDir   string
	rootfs     string
	cgParent   string
	husk, runc runtime
	host       hostInfo
	setupErr   error
)

func TestMain(m *testing.M) {
	os.Exit(testutil.RootSuite(m, "differential", func() { setupErr = setup() },
		func() (string, string) { return suiteDir, "/" + cgParent }, settle))
}

func binary(env, def string) (string, error) {
	bin := os.Getenv(env)
	if bin == "" {
		bin = def
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("%s: %w (build husk with `make husk`; set %s)", abs, err, env)
	}
	return abs, nil
}

func setup() error {
	var err error
	suiteDir, err = os.MkdirTemp("", "husk-diff-")
	if err != nil {
		return err
	}
	if err := os.Chmod(suiteDir, 0o755); err != nil {
		return err
	}
	hb, err := binary("DIFF_HUSK", filepath.Join("..", "..", "husk"))
	if err != nil {
		return err
	}
	ref := os.Getenv("RUNC_REF")
	if ref == "" {
		ref = "/usr/local/libexec/husk-test/runc"
	}
	rb, err := binary("DIFF_RUNC", ref)
	if err != nil {
		return err
	}
	husk = runtime{"husk", hb, filepath.Join(suiteDir, "root-husk")}
	runc = runtime{"runc", rb, filepath.Join(suiteDir, "root-runc")}
	rootfs = filepath.Join(suiteDir, "rootfs")
	if err := testutil.BuildRootfs(rootfs); err != nil {
		return err
	}
	cgParent = fmt.Sprintf("husk-diff-%d", os.Getpid())

	host.bindDir = filepath.Join(suiteDir, "bind-src")
	if err := os.Mkdir(host.bindDir, 0o755); err != nil {
		return err
	}
	host.bindFile = filepath.Join(suiteDir, "bind-file")
	if err := os.WriteFile(host.bindFile, []byte("bind\n"), 0o644); err != nil {
		return err
	}
	// The block device of the filesystem holding the suite (its whole
	// disk: partitions cannot be throttled), or the first disk listed.
	host.blockMajor, host.blockMinor = 254, 0
	if ents, _ := filepath.Glob("/sys/block/*/dev"); len(ents) > 0 {
		sort.Strings(ents)
		for _, e := range ents {
			if strings.Contains(e, "/loop") || strings.Contains(e, "/zram") || strings.Contains(e, "/ram") {
				continue
			}
			b, _ := os.ReadFile(e)
			if maj, min, ok := strings.Cut(strings.TrimSpace(string(b)), ":"); ok {
				host.blockMajor, _ = strconv.ParseInt(maj, 10, 64)
				host.blockMinor, _ = strconv.ParseInt(min, 10, 64)
				break
			}
		}
	}
	sw, err := os.ReadFile("/proc/sys/vm/swappiness")
	if err != nil {
		return err
	}
	host.swappiness = strings.TrimSpace(string(sw))
	return nil
}

// ---------------------------------------------------------------------------
// Running one config

// outcome is what one runtime did with one config.
type outcome struct {
	code   int // exit code of `run`; -1: killed or did not finish
	stderr string
	hung   bool
	leaks  []string
	err    error // the suite's own failure to set up the run
}

// ran reports whether the runtime ran the workload: `run` exited 0, or
// with the code of a workload killed by a signal (128+n) and no error of
// its own (say, a workload that cannot even start under RLIMIT_AS 4096).
func (o outcome) ran() bool {
	return !o.hung && o.err == nil && (o.code == 0 || o.code > 128 && len(o.errorLines()) == 0)
}

// errorLines are the error records of a runtime's stderr: its
// logrus-style "level=error" lines, or, when there are none of those, its
// other lines but for warnings (say, a startContainer hook's failure,
// which only the init's stderr can tell).
func (o outcome) errorLines() []string {
	var out, all []string
	for _, l := range strings.Split(strings.TrimSpace(o.stderr), "\n") {
		if l == "" || strings.Contains(l, "level=warning") || strings.Contains(l, "level=info") || strings.Contains(l, "level=debug") {
			continue
		}
		all = append(all, l)
		if strings.Contains(l, "level=error") {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return all
	}
	return out
}

// firstError is the first error line, or "" if there is none.
func (o outcome) firstError() string {
	if l := o.errorLines(); len(l) > 0 {
		return l[0]
	}
	return ""
}

func (o outcome) String() string {
	switch {
	case o.err != nil:
		return "setup failed: " + o.err.Error()
	case o.hung:
		return "HUNG: " + o.firstError()
	case o.code == 0:
		return "ran"
	}
	return fmt.Sprintf("exit %d: %s", o.code, o.firstError())
}

// runConfig runs the config with `run` in a fresh bundle (a private copy of
// the rootfs) and checks what the run left.
func runConfig(rt runtime, c *config) outcome {
	id := fmt.Sprintf("d%s%d", rt.name[:1], c.n)
	dir := filepath.Join(suiteDir, "b-"+id)
	cgroup := fmt.Sprintf("/%s/%s", cgParent, id)
	defer func() {
		if len(testutil.MountPointsUnder(dir)) == 0 {
			os.RemoveAll(dir)
		}
	}()
	if err := os.Mkdir(dir, 0o755); err != nil {
		return outcome{err: err}
	}
	if err := testutil.CopyRootfs(rootfs, filepath.Join(dir, "rootfs")); err != nil {
		return outcome{err: err}
	}
	for _, p := range c.g.prep {
		if err := p(filepath.Join(dir, "rootfs")); err != nil {
			return outcome{err: err}
		}
	}
	data, err := c.render(cgroup)
	if err != nil {
		return outcome{err: err}
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
		return outcome{err: err}
	}
	o := invoke(rt, dir, "run", "--bundle", dir, id)
	o.leaks = leftovers(rt, id, dir, cgroup)
	if len(o.leaks) > 0 {
		invoke(rt, dir, "delete", "--force", id)
		testutil.Sweep(dir, cgroup, settle)
		os.RemoveAll(filepath.Join(rt.root, id))
	}
	return o
}

// invoke runs the runtime in dir, with stdin from /dev/null and stdout and
// stderr to files (a container inherits them).
func invoke(rt runtime, dir string, args ...string) outcome {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, rt.bin, append([]string{"--root", rt.root}, args...)...)
	cmd.Dir = dir
	outF, err := os.CreateTemp(suiteDir, "out-")
	if err != nil {
		return outcome{err: err}
	}
	defer os.Remove(outF.Name())
	defer outF.Close()
	errF, err := os.CreateTemp(suiteDir, "err-")
	if err != nil {
		return outcome{err: err}
	}
	defer os.Remove(errF.Name())
	defer errF.Close()
	cmd.Stdout, cmd.Stderr = outF, errF
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	stderr, _ := os.ReadFile(errF.Name())
	o := outcome{stderr: strings.TrimSpace(string(stderr))}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		o.code, o.hung = -1, true
	case errors.As(err, &ee):
		o.code = ee.ExitCode()
	default:
		o.code, o.err = -1, err
	}
	return o
}

// leftovers lists what a finished `run` left: its state dir, cgroup
// dirs, processes (in its cgroup, or with the bundle as root or cwd) and
// mounts under the bundle. Something that goes away within settle is not
// a leftover.
func leftovers(rt runtime, id, dir, cgroup string) []string {
	var found []string
	deadline := time.Now().Add(settle)
	for {
		found = found[:0]
		if _, err := os.Lstat(filepath.Join(rt.root, id)); err == nil {
			found = append(found, "state dir "+filepath.Join(rt.root, id))
		}
		for _, d := range testutil.CgroupDirs(cgroup) {
			found = append(found, "cgroup "+d)
		}
		for _, p := range testutil.ProcessesUnder([]string{dir}, []string{cgroup}) {
			found = append(found, "process "+p)
		}
		for _, m := range testutil.MountsUnder(dir) {
			found = append(found, "mount "+m)
		}
		if len(found) == 0 || time.Now().After(deadline) {
			return found
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// The comparison

// namesField reports whether a refusal line names a field of one of the
// config's mutations.
func namesField(c *config, line string) bool {
	any := false
	for _, m := range c.muts {
		for _, f := range m.fields {
			any = true
			if strings.Contains(line, f) {
				return true
			}
		}
	}
	return !any
}

func TestDifferential(t *testing.T) {
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	n := testutil.EnvInt("DIFF_CONFIGS", 300)
	seed := uint64(testutil.EnvInt("DIFF_SEED", 1))
	verbose := os.Getenv("DIFF_VERBOSE") == "1"
	var only []int
	for _, s := range strings.Split(os.Getenv("DIFF_ONLY"), ",") {
		if i, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			only = append(only, i)
		}
	}
	if len(only) == 0 {
		for i := 0; i < n; i++ {
			only = append(only, i)
		}
	}

	var bothRan, bothRefused, huskOnly, huskOnlyAllowed, runcOnly, runcOnlyListed, hangs, huskLeaks, runcLeaks, badErrors, pending int
	huskCats, runcCats := map[string]int{}, map[string]int{}
	start := time.Now()
	var match *regexp.Regexp
	if m := os.Getenv("DIFF_MATCH"); m != "" {
		match = regexp.MustCompile(m)
	}
	ran := 0
	for _, i := range only {
		c := generate(seed, i)
		if match != nil && !match.MatchString(c.String()) {
			continue
		}
		ran++
		h := runConfig(husk, c)
		r := runConfig(runc, c)
		if h.err != nil || r.err != nil {
			t.Fatalf("%s: the suite could not set up the run: husk: %v, runc: %v", c, h.err, r.err)
		}
		if verbose {
			t.Logf("%s\n\thusk: %s\n\trunc: %s", c, h, r)
		}
		for _, x := range []struct {
			rt    string
			o     outcome
			leaks *int
		}{{"husk", h, &huskLeaks}, {"runc", r, &runcLeaks}} {
			if x.o.hung {
				hangs++
				t.Errorf("%s: %s did not finish `run` within %v", c, x.rt, cmdTimeout)
			}
			if len(x.o.leaks) > 0 {
				*x.leaks++
				t.Errorf("%s: %s left: %s", c, x.rt, strings.Join(x.o.leaks, "; "))
			}
		}
		if !h.ran() && !h.hung {
			// Every refusal is one line naming the field.
			errs := h.errorLines()
			switch {
			case len(errs) != 1:
				badErrors++
				t.Errorf("%s: husk's refusal is %d lines, want one:\n%s", c, len(errs), h.stderr)
			case namesField(c, errs[0]):
			case pendingMessage(c, errs[0]) != nil:
				pending++
			default:
				badErrors++
				t.Errorf("%s: husk's refusal does not name the field: %s", c, errs[0])
			}
		}
		switch {
		case h.ran() && r.ran():
			bothRan++
		case !h.ran() && !r.ran():
			bothRefused++
		case !h.ran():
			huskOnly++
			if a := allowedHuskOnly(c, h.firstError()); a != nil {
				huskOnlyAllowed++
				huskCats[a.category]++
			} else {
				t.Errorf("%s: runc ran it, husk refused without a listed reason: %s", c, h)
			}
		default:
			runcOnly++
			if a := listedRuncOnly(c, r.firstError()); a != nil {
				runcOnlyListed++
				runcCats[a.category]++
			} else {
				t.Errorf("%s: husk ran it, runc refused (not listed): %s", c, r)
			}
		}
	}
	cats := func(m map[string]int) string {
		var ks []string
		for k, v := range m {
			ks = append(ks, fmt.Sprintf("%s=%d", k, v))
		}
		sort.Strings(ks)
		return strings.Join(ks, " ")
	}
	fmt.Printf("differential: %d configs, both ran %d, both refused %d, husk-only-refused %d (allowed %d), runc-only-refused %d (listed %d), husk refusals not one line naming the field %d (pending %d), leftovers husk %d runc %d, hangs %d, seed %d, %.0fs\n",
		ran, bothRan, bothRefused, huskOnly, huskOnlyAllowed, runcOnly, runcOnlyListed, badErrors, pending, huskLeaks, runcLeaks, hangs, seed, time.Since(start).Seconds())
	if len(huskCats) > 0 {
		fmt.Printf("differential: husk-only-refused by category: %s\n", cats(huskCats))
	}
	if len(runcCats) > 0 {
		fmt.Printf("differential: runc-only-refused by category: %s\n", cats(runcCats))
	}
}
