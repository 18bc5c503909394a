// Package stress kills a runtime at random instants, races commands on one
// container, runs lifecycles in parallel and soaks it, and checks that
// nothing is ever left behind: no process, cgroup, mount or state.
//
// Run (as root): `make stress` (small counts, as CI runs it), or
//
//	STRESS_RUNTIME=/path/to/runtime STRESS_KILLS=1000 STRESS_SOAK=1000 \
//	    go test -count=1 -timeout 0 -v ./tests/stress/
//
// Environment (defaults in brackets):
//
//	STRESS_RUNTIME  the runtime binary [../../husk]; runc and crun work too
//	STRESS_SEED     seed of the random kill instants and op order [1]
//	STRESS_KILLS    kill trials [40]
//	STRESS_RACES    rounds of each same-id race [10]
//	STRESS_WORKERS  parallel lifecycle workers [8]
//	STRESS_CYCLES   lifecycles per worker [5]
//	STRESS_SOAK     soak cycles [50]
//
// Every test ends with a line starting "stress:" that sums it up, for
// comparing runtimes.
package stress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/husk-runtime/husk/tests/testutil"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const (
	// cmdTimeout bounds one runtime command: one that takes longer hangs.
	cmdTimeout = 30 * time.Second
	// settle bounds how long a leftover may take to go away after the
	// delete that should have removed it (a dying process, a cgroup the
	// kernel has not released yet); what is still there after it leaked.
	settle = 5 * time.Second
)

var (
	runtimeBin string
	rtName     string
	suiteDir   string
	rootfs     string
	cgParent   string
	setupErr   error
	seq        atomic.Int64
)

func TestMain(m *testing.M) {
	os.Exit(testutil.RootSuite(m, "stress", func() { setupErr = setup() },
		func() (string, string) { return suiteDir, "/" + cgParent }, settle))
}

func setup() error {
	bin := os.Getenv("STRESS_RUNTIME")
	if bin == "" {
		bin = filepath.Join("..", "..", "husk")
	} else if !strings.Contains(bin, "/") {
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
		return fmt.Errorf("runtime %s: %w (build husk with `make husk`, or set STRESS_RUNTIME)", abs, err)
	}
	runtimeBin, rtName = abs, filepath.Base(abs)
	suiteDir, err = os.MkdirTemp("", "husk-stress-")
	if err != nil {
		return err
	}
	rootfs = filepath.Join(suiteDir, "rootfs")
	if err := testutil.BuildRootfs(rootfs); err != nil {
		return err
	}
	cgParent = fmt.Sprintf("husk-stress-%d", os.Getpid())
	return nil
}

// ---------------------------------------------------------------------------
// Containers

// ctr is one container of a test: its id, bundle, rootfs (a private,
// hard-linked copy, so that its processes can be told from other
// containers'), state root and cgroup.
type ctr struct {
	id, bundle, rootfs, root, cgroup string
}

// newCtr writes a bundle running args (a long sleep by default) with a
// cgroup of its own under the suite's parent.
func newCtr(t testing.TB, root string, args ...string) *ctr {
	t.Helper()
	n := seq.Add(1)
	c := &ctr{id: fmt.Sprintf("s%d", n), root: root, cgroup: fmt.Sprintf("/%s/c%d", cgParent, n)}
	c.bundle = filepath.Join(suiteDir, "b"+strconv.FormatInt(n, 10))
	if err := os.Mkdir(c.bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	c.rootfs = filepath.Join(c.bundle, "rootfs")
	if err := testutil.CopyRootfs(rootfs, c.rootfs); err != nil {
		t.Fatal(err)
	}
	s := testutil.DefaultSpec()
	// A version every runtime compared here knows: crun 1.8 refuses a
	// newer ociVersion ("unknown version specified"); nothing the suite
	// uses is newer than 1.0.
	s.Version = "1.0.2"
	s.Root.Path = c.rootfs
	s.Linux.CgroupsPath = c.cgroup
	if len(args) == 0 {
		args = []string{"sleep", "3600"}
	}
	s.Process.Args = args
	writeSpec(t, c.bundle, s)
	return c
}

func writeSpec(t testing.TB, dir string, s *specs.Spec) {
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

type result struct {
	code    int // -1: killed or did not finish
	stderr  string
	hung    bool
	elapsed time.Duration
}

// cmd runs the runtime with --root and args; it is killed at cmdTimeout.
func (c *ctr) cmd(args ...string) result {
	return runRT(c.root, args...)
}

func runRT(root string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, runtimeBin, append([]string{"--root", root}, args...)...)
	// stderr goes to a file, not a pipe: a container inherits it, and
	// would keep a pipe open after the runtime has exited.
	errF, err := os.CreateTemp(suiteDir, "stderr-")
	if err != nil {
		return result{code: -1, stderr: err.Error()}
	}
	defer os.Remove(errF.Name())
	defer errF.Close()
	cmd.Stderr = errF
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err = cmd.Run()
	stderr, _ := os.ReadFile(errF.Name())
	r := result{stderr: strings.TrimSpace(string(stderr)), elapsed: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		r.code, r.hung = -1, true
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		r.code = -1
		r.stderr = err.Error()
	}
	return r
}

// leftovers lists what the container left: its state dir, cgroup dirs,
// processes (in its cgroup, or with its rootfs or bundle as root or cwd)
// and mounts under its bundle or the rootfs. Something that goes away
// within settle is not a leftover.
func (c *ctr) leftovers() []string {
	var found []string
	deadline := time.Now().Add(settle)
	for {
		found = found[:0]
		if _, err := os.Lstat(filepath.Join(c.root, c.id)); err == nil {
			found = append(found, "state dir "+filepath.Join(c.root, c.id))
		}
		for _, d := range testutil.CgroupDirs(c.cgroup) {
			found = append(found, "cgroup "+d)
		}
		for _, p := range testutil.ProcessesUnder([]string{c.bundle}, []string{c.cgroup}) {
			found = append(found, "process "+p)
		}
		for _, m := range testutil.MountsUnder(c.bundle) {
			found = append(found, "mount "+m)
		}
		if len(found) == 0 || time.Now().After(deadline) {
			return found
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// clean removes whatever the container left, after it was counted.
func (c *ctr) clean() {
	testutil.Sweep(c.bundle, c.cgroup, settle)
	os.RemoveAll(filepath.Join(c.root, c.id))
}

// remove deletes the bundle once nothing is mounted below it.
func (c *ctr) remove() {
	if len(testutil.MountPointsUnder(c.bundle)) == 0 {
		os.RemoveAll(c.bundle)
	}
}

func need(t *testing.T) string {
	t.Helper()
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	root := filepath.Join(suiteDir, "root-"+strings.ReplaceAll(t.Name(), "/", "-"))
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	return root
}

// ---------------------------------------------------------------------------
// Kill at random instants

// killOp is a command to kill mid-way, with what must exist before it.
type killOp struct {
	name string
	prep func(c *ctr) error // untimed set-up before the command
	args func(c *ctr) []string
}

func ok(r result, what string) error {
	if r.code != 0 {
		return fmt.Errorf("%s: exit %d: %s", what, r.code, r.stderr)
	}
	return nil
}

var killOps = []killOp{
	{"create", nil, func(c *ctr) []string { return []string{"create", "--bundle", c.bundle, c.id} }},
	{"run-d", nil, func(c *ctr) []string { return []string{"run", "-d", "--bundle", c.bundle, c.id} }},
	{"start", created, func(c *ctr) []string { return []string{"start", c.id} }},
	{"exec", running, func(c *ctr) []string { return []string{"exec", c.id, "true"} }},
	{"exec-d", running, func(c *ctr) []string { return []string{"exec", "-d", c.id, "sleep", "3600"} }},
	{"update", running, func(c *ctr) []string { return []string{"update", "--pids-limit", "100", "--memory", "104857600", c.id} }},
	{"pause", running, func(c *ctr) []string { return []string{"pause", c.id} }},
	{"resume", paused, func(c *ctr) []string { return []string{"resume", c.id} }},
	{"kill", running, func(c *ctr) []string { return []string{"kill", c.id, "KILL"} }},
	{"delete", stopped, func(c *ctr) []string { return []string{"delete", c.id} }},
	{"delete-f", running, func(c *ctr) []string { return []string{"delete", "--force", c.id} }},
}

func created(c *ctr) error { return ok(c.cmd("create", "--bundle", c.bundle, c.id), "create") }

func running(c *ctr) error { return ok(c.cmd("run", "-d", "--bundle", c.bundle, c.id), "run -d") }

func paused(c *ctr) error {
	if err := running(c); err != nil {
		return err
	}
	return ok(c.cmd("pause", c.id), "pause")
}

func stopped(c *ctr) error {
	if err := running(c); err != nil {
		return err
	}
	if err := ok(c.cmd("kill", c.id, "KILL"), "kill"); err != nil {
		return err
	}
	deadline := time.Now().Add(cmdTimeout)
	for time.Now().Before(deadline) {
		out, err := exec.Command(runtimeBin, "--root", c.root, "state", c.id).Output()
		if err == nil && bytes.Contains(out, []byte(`"stopped"`)) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New("container did not stop")
}

// startKilled starts the command and SIGKILLs the runtime (only it, as
// when a shim dies) after delay, or lets it finish if it is faster.
func startKilled(c *ctr, args []string, delay time.Duration) (killed bool, err error) {
	cmd := exec.Command(runtimeBin, append([]string{"--root", c.root}, args...)...)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return false, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return false, nil
	case <-time.After(delay):
		_ = cmd.Process.Signal(syscall.SIGKILL)
	}
	select {
	case <-done:
	case <-time.After(cmdTimeout):
		return true, errors.New("killed runtime did not exit")
	}
	return true, nil
}

// median times a few untimed-prep runs of op (to spread the kill instants
// over the command's real duration).
func median(t *testing.T, root string, op killOp) time.Duration {
	var ds []time.Duration
	for i := 0; i < 3; i++ {
		c := newCtr(t, root)
		if op.prep != nil {
			if err := op.prep(c); err != nil {
				t.Fatalf("%s: preparing: %v", op.name, err)
			}
		}
		r := c.cmd(op.args(c)...)
		if r.code != 0 && op.name != "kill" {
			t.Fatalf("%s: %v", op.name, ok(r, op.name))
		}
		ds = append(ds, r.elapsed)
		c.cmd("delete", "--force", c.id)
		if l := c.leftovers(); len(l) > 0 {
			t.Fatalf("%s without a kill left: %v", op.name, l)
		}
		c.remove()
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[1]
}

// TestKillAtRandomInstants SIGKILLs the runtime at a random instant of each
// command (seeded), then runs `delete --force` as a shim would: that must
// succeed and leave nothing of the container behind.
func TestKillAtRandomInstants(t *testing.T) {
	root := need(t)
	trials := testutil.EnvInt("STRESS_KILLS", 40)
	seed := uint64(testutil.EnvInt("STRESS_SEED", 1))
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	dur := map[string]time.Duration{}
	for _, op := range killOps {
		dur[op.name] = median(t, root, op)
	}
	type tally struct{ trials, killed, leaked, deleteFailed int }
	per := map[string]*tally{}
	var examples []string
	for i := 0; i < trials; i++ {
		op := killOps[i%len(killOps)]
		if per[op.name] == nil {
			per[op.name] = &tally{}
		}
		tl := per[op.name]
		tl.trials++
		c := newCtr(t, root)
		if op.prep != nil {
			if err := op.prep(c); err != nil {
				t.Fatalf("trial %d %s: preparing: %v", i, op.name, err)
			}
		}
		// Up to 1.2x the command's median: most kills land inside it.
		delay := time.Duration(rng.Int64N(int64(dur[op.name]*6/5) + 1))
		killed, err := startKilled(c, op.args(c), delay)
		if err != nil {
			t.Fatalf("trial %d %s: %v", i, op.name, err)
		}
		if killed {
			tl.killed++
		}
		r := c.cmd("delete", "--force", c.id)
		if r.hung {
			t.Errorf("trial %d %s (killed after %v): delete --force hung", i, op.name, delay)
		}
		deleteOK := r.code == 0 || strings.Contains(r.stderr, "does not exist")
		if !deleteOK {
			tl.deleteFailed++
		}
		if l := c.leftovers(); len(l) > 0 {
			tl.leaked++
			if len(examples) < 20 {
				examples = append(examples, fmt.Sprintf("trial %d %s killed after %v (delete -f: exit %d %q): %s",
					i, op.name, delay.Round(time.Microsecond), r.code, r.stderr, strings.Join(l, "; ")))
			}
			c.clean()
		}
		c.remove()
	}
	var names []string
	for n := range per {
		names = append(names, n)
	}
	sort.Strings(names)
	total := tally{}
	var cells []string
	for _, n := range names {
		tl := per[n]
		total.trials += tl.trials
		total.killed += tl.killed
		total.leaked += tl.leaked
		total.deleteFailed += tl.deleteFailed
		cells = append(cells, fmt.Sprintf("%s %d/%d", n, tl.leaked, tl.trials))
	}
	for _, e := range examples {
		t.Error(e)
	}
	fmt.Printf("stress: %s kill trials=%d (runtime killed mid-command in %d) leftovers=%d delete-f-failed=%d seed=%d [leftovers/trials: %s]\n",
		rtName, total.trials, total.killed, total.leaked, total.deleteFailed, seed, strings.Join(cells, ", "))
	if total.leaked > 0 || total.deleteFailed > 0 {
		t.Errorf("%d of %d trials left something behind, delete --force failed in %d", total.leaked, total.trials, total.deleteFailed)
	}
}

// ---------------------------------------------------------------------------
// Races on one id

// TestSameIDRaces runs two commands on one container id at once: neither
// may hang, exactly one create and one start may win, and nothing is left.
func TestSameIDRaces(t *testing.T) {
	root := need(t)
	rounds := testutil.EnvInt("STRESS_RACES", 10)
	type race struct {
		name    string
		prep    func(c *ctr) error
		a, b    func(c *ctr) []string
		oneWins bool // exactly one of the two must succeed
	}
	createArgs := func(c *ctr) []string { return []string{"create", "--bundle", c.bundle, c.id} }
	startArgs := func(c *ctr) []string { return []string{"start", c.id} }
	deleteArgs := func(c *ctr) []string { return []string{"delete", c.id} }
	forceArgs := func(c *ctr) []string { return []string{"delete", "--force", c.id} }
	races := []race{
		{"create/create", nil, createArgs, createArgs, true},
		{"start/start", created, startArgs, startArgs, true},
		{"start/delete-f", created, startArgs, forceArgs, false},
		{"delete/delete", stopped, deleteArgs, deleteArgs, false},
		{"delete-f/delete-f", running, forceArgs, forceArgs, false},
	}
	failures := 0
	for _, rc := range races {
		for i := 0; i < rounds; i++ {
			c := newCtr(t, root)
			if rc.prep != nil {
				if err := rc.prep(c); err != nil {
					t.Fatalf("%s round %d: preparing: %v", rc.name, i, err)
				}
			}
			var wg sync.WaitGroup
			var ra, rb result
			wg.Add(2)
			go func() { defer wg.Done(); ra = c.cmd(rc.a(c)...) }()
			go func() { defer wg.Done(); rb = c.cmd(rc.b(c)...) }()
			wg.Wait()
			bad := ""
			switch {
			case ra.hung || rb.hung:
				bad = "a command hung"
			case rc.oneWins && (ra.code == 0) == (rb.code == 0):
				bad = "not exactly one succeeded"
			case !rc.oneWins && ra.code != 0 && rb.code != 0:
				bad = "both failed"
			}
			c.cmd("delete", "--force", c.id)
			if l := c.leftovers(); len(l) > 0 {
				bad += " leftovers: " + strings.Join(l, "; ")
				c.clean()
			}
			c.remove()
			if bad != "" {
				failures++
				t.Errorf("%s round %d: %s (a: exit %d %q; b: exit %d %q)", rc.name, i, bad, ra.code, ra.stderr, rb.code, rb.stderr)
			}
		}
	}
	fmt.Printf("stress: %s same-id races=%d failures=%d\n", rtName, rounds*len(races), failures)
}

// ---------------------------------------------------------------------------
// Parallel lifecycles

// TestParallelLifecycles runs full lifecycles in parallel workers: every
// command must succeed and nothing may be left.
func TestParallelLifecycles(t *testing.T) {
	root := need(t)
	workers, cycles := testutil.EnvInt("STRESS_WORKERS", 8), testutil.EnvInt("STRESS_CYCLES", 5)
	var failures atomic.Int64
	var mu sync.Mutex
	var errs []string
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < cycles; i++ {
				c := newCtr(t, root)
				steps := [][]string{
					{"create", "--bundle", c.bundle, c.id}, {"start", c.id}, {"exec", c.id, "true"},
					{"state", c.id}, {"pause", c.id}, {"resume", c.id}, {"update", "--pids-limit", "50", c.id},
					{"kill", c.id, "KILL"}, {"delete", "--force", c.id},
				}
				for _, s := range steps {
					if r := c.cmd(s...); r.code != 0 {
						failures.Add(1)
						mu.Lock()
						errs = append(errs, fmt.Sprintf("%s %v: exit %d %q", c.id, s, r.code, r.stderr))
						mu.Unlock()
						break
					}
				}
				c.cmd("delete", "--force", c.id)
				if l := c.leftovers(); len(l) > 0 {
					failures.Add(1)
					mu.Lock()
					errs = append(errs, fmt.Sprintf("%s left: %s", c.id, strings.Join(l, "; ")))
					mu.Unlock()
					c.clean()
				}
				c.remove()
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		t.Error(e)
	}
	fmt.Printf("stress: %s parallel workers=%d lifecycles=%d failures=%d in %.1fs\n",
		rtName, workers, workers*cycles, failures.Load(), time.Since(start).Seconds())
}

// ---------------------------------------------------------------------------
// Soak

// TestSoak runs many cycles of run -d, exec, delete -f and counts, per
// cycle, the fds of the container's init, the host's mounts, cgroups and
// state entries: none may grow. Time per cycle is reported, not judged.
func TestSoak(t *testing.T) {
	root := need(t)
	n := testutil.EnvInt("STRESS_SOAK", 50)
	if n < 2 {
		t.Skip("STRESS_SOAK < 2")
	}
	type sample struct {
		fds, mounts, cgroups, state int
		d                           time.Duration
	}
	count := func(path string) int {
		ents, _ := os.ReadDir(path)
		return len(ents)
	}
	mounts := func() int {
		b, _ := os.ReadFile("/proc/self/mountinfo")
		return bytes.Count(b, []byte("\n"))
	}
	base := mounts()
	var ss []sample
	for i := 0; i < n; i++ {
		c := newCtr(t, root)
		start := time.Now()
		if r := c.cmd("run", "-d", "--bundle", c.bundle, c.id); r.code != 0 {
			t.Fatalf("cycle %d: run -d: exit %d %q", i, r.code, r.stderr)
		}
		if r := c.cmd("exec", c.id, "true"); r.code != 0 {
			t.Fatalf("cycle %d: exec: exit %d %q", i, r.code, r.stderr)
		}
		var st struct{ Pid int }
		out, err := exec.Command(runtimeBin, "--root", c.root, "state", c.id).Output()
		if err == nil {
			err = json.Unmarshal(out, &st)
		}
		if err != nil || st.Pid <= 0 {
			t.Fatalf("cycle %d: state of a running container: %v, pid %d, output %q", i, err, st.Pid, out)
		}
		fds := count(fmt.Sprintf("/proc/%d/fd", st.Pid))
		if r := c.cmd("delete", "--force", c.id); r.code != 0 {
			t.Fatalf("cycle %d: delete -f: exit %d %q", i, r.code, r.stderr)
		}
		d := time.Since(start)
		if l := c.leftovers(); len(l) > 0 {
			t.Errorf("cycle %d left: %s", i, strings.Join(l, "; "))
			c.clean()
		}
		c.remove()
		ss = append(ss, sample{fds: fds, mounts: mounts() - base, cgroups: len(testutil.CgroupDirsUnder("/" + cgParent)), state: count(root), d: d})
	}
	k := max(1, n/10)
	avg := func(part []sample, f func(sample) float64) float64 {
		s := 0.0
		for _, x := range part {
			s += f(x)
		}
		return s / float64(len(part))
	}
	first, last := ss[:k], ss[n-k:]
	rows := []struct {
		name string
		f    func(sample) float64
	}{
		{"init fds", func(s sample) float64 { return float64(s.fds) }},
		{"mounts", func(s sample) float64 { return float64(s.mounts) }},
		{"cgroups", func(s sample) float64 { return float64(s.cgroups) }},
		{"state", func(s sample) float64 { return float64(s.state) }},
	}
	var cells []string
	for _, r := range rows {
		a, b := avg(first, r.f), avg(last, r.f)
		cells = append(cells, fmt.Sprintf("%s %.1f->%.1f", r.name, a, b))
		if b > a {
			t.Errorf("%s grew over the soak: first %d cycles %.3f, last %d cycles %.3f", r.name, k, a, k, b)
		}
	}
	ms := func(s sample) float64 { return float64(s.d.Microseconds()) / 1000 }
	fmt.Printf("stress: %s soak cycles=%d %s ms/cycle %.1f->%.1f\n", rtName, n, strings.Join(cells, " "), avg(first, ms), avg(last, ms))
}
