package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// process.ioPriority is the workload's I/O priority (class and level, as
// /proc/PID/io... shows it through ionice).
func TestIOPriority(t *testing.T) {
	e := newEnv(t)
	if !exists(filepath.Join(rootfsDir, "bin/ionice")) {
		t.Skip("the host's busybox has no ionice applet")
	}
	out := e.output(`ionice -p $$`, withSpec(func(s *specs.Spec) {
		s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_IDLE, Priority: 0}
	}))
	if !strings.Contains(out, "idle") {
		t.Errorf("ionice in the container says %q, want the idle class", out)
	}
}

// process.scheduler sets the workload's policy and nice value.
func TestScheduler(t *testing.T) {
	e := newEnv(t)
	out := e.output(`awk '{print $19, $41}' /proc/self/stat`, withSpec(func(s *specs.Spec) {
		s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedBatch, Nice: 7}
		s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_SYS_NICE")
	}))
	// /proc/PID/stat field 19 is nice, 41 the policy (SCHED_BATCH = 3).
	if strings.TrimSpace(out) != "7 3" {
		t.Errorf("nice and policy %q, want \"7 3\"", out)
	}
}

// rtGroupSched returns the cpu hierarchy's cpu.rt_runtime_us of the
// suite's cgroup parent when the host has RT group scheduling (cgroup v1
// with CONFIG_RT_GROUP_SCHED): there, a task may only be made real-time
// in a cgroup given RT bandwidth, and a new cgroup has none.
func rtGroupSched(t *testing.T) string {
	t.Helper()
	for _, m := range cgroupMountInfo() {
		if m.fstype == "cgroup" && m.has([]string{"cpu"}) && exists(filepath.Join(m.point, "cpu.rt_runtime_us")) {
			return filepath.Join(m.point, cgroupParent, "cpu.rt_runtime_us")
		}
	}
	return ""
}

// An RT policy needs CAP_SYS_NICE at set-up time, which the runtime has:
// the workload runs SCHED_FIFO even with the default capabilities. Where
// the host has RT group scheduling, the container's cgroup (and the
// suite's parent) need RT bandwidth for that; without it the kernel
// refuses (EPERM) and so does the runtime, with runc's error.
func TestSchedulerRealtime(t *testing.T) {
	e := newEnv(t)
	fifo := func(s *specs.Spec) {
		s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO, Priority: 10}
	}
	rtFile := rtGroupSched(t)
	if rtFile != "" {
		noBW := e.newBundle(withArgs("true"), withSpec(fifo))
		e.track("nort")
		e.failsWith("error setting scheduler: operation not permitted", "run", "--bundle", noBW.Dir, "nort")
		e.assertNoTrace(noBW, "nort")
		// Bandwidth for the suite's parent (made here if need be), then
		// for the container's cgroup through its config.
		if err := os.MkdirAll(filepath.Dir(rtFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(rtFile, []byte("10000"), 0); err != nil {
			t.Fatalf("giving the suite's cgroup RT bandwidth: %v", err)
		}
		t.Cleanup(func() { os.WriteFile(rtFile, []byte("0"), 0) })
	}
	b := e.newBundle(withShell(`awk '{print $18, $41}' /proc/self/stat`), withSpec(fifo), withSpec(func(s *specs.Spec) {
		if rtFile != "" {
			rt, period := int64(10000), uint64(1000000)
			s.Linux.Resources.CPU = &specs.LinuxCPU{RealtimeRuntime: &rt, RealtimePeriod: &period}
		}
	}))
	r := e.runFG(b, "rt")
	if r.Code != 0 {
		t.Fatal(r)
	}
	// field 18 is the priority as the kernel reports it (-1 - rt priority).
	if strings.TrimSpace(r.Stdout) != "-11 1" {
		t.Errorf("priority and policy %q, want \"-11 1\"", r.Stdout)
	}
}

// Bad process.scheduler and linux.memoryPolicy configs fail with runc
// 1.5's wording (husk's also names the field) and leave nothing behind.
func TestSchedulerAndMemoryPolicyErrors(t *testing.T) {
	e := newEnv(t)
	type bad struct {
		spec  func(s *specs.Spec)
		want  string
		field string
	}
	sched := func(sc specs.Scheduler) func(s *specs.Spec) {
		return func(s *specs.Spec) { s.Process.Scheduler = &sc }
	}
	mpol := func(mp specs.LinuxMemoryPolicy) func(s *specs.Spec) {
		return func(s *specs.Spec) { s.Linux.MemoryPolicy = &mp }
	}
	cases := []bad{
		{sched(specs.Scheduler{Policy: "SCHED_BOGUS"}), "invalid scheduler policy: SCHED_BOGUS", "process.scheduler.policy"},
		{sched(specs.Scheduler{}), "scheduler policy is required", "process.scheduler.policy"},
		{sched(specs.Scheduler{Policy: specs.SchedOther, Nice: 30}), "invalid scheduler.nice: 30 when scheduler.policy is SCHED_OTHER", "process.scheduler.nice"},
		{sched(specs.Scheduler{Policy: specs.SchedBatch, Priority: 3}), "scheduler.priority can only be specified for SchedFIFO or SchedRR policy", "process.scheduler.priority"},
		{sched(specs.Scheduler{Policy: specs.SchedOther, Runtime: 3}), "scheduler runtime/deadline/period can only be specified for SchedDeadline policy", "process.scheduler"},
		{sched(specs.Scheduler{Policy: specs.SchedOther, Flags: []specs.LinuxSchedulerFlag{"SCHED_FLAG_BOGUS"}}), "invalid scheduler flag: SCHED_FLAG_BOGUS", "process.scheduler.flags[0]"},
		{mpol(specs.LinuxMemoryPolicy{Mode: "MPOL_BOGUS"}), `invalid memory policy mode "MPOL_BOGUS"`, "linux.memoryPolicy.mode"},
		{mpol(specs.LinuxMemoryPolicy{Mode: "MPOL_BIND", Nodes: "0", Flags: []specs.MemoryPolicyFlagType{"MPOL_F_BOGUS"}}), `invalid memory policy flag "MPOL_F_BOGUS"`, "linux.memoryPolicy.flags[0]"},
		{mpol(specs.LinuxMemoryPolicy{Mode: "MPOL_BIND", Nodes: "x"}), `invalid memory policy nodes "x": strconv.ParseUint: parsing "x": invalid syntax`, "linux.memoryPolicy.nodes"},
		{mpol(specs.LinuxMemoryPolicy{Mode: "MPOL_BIND", Nodes: "2000"}), `invalid memory policy nodes "2000": values larger than 1023 are not supported`, "linux.memoryPolicy.nodes"},
		{mpol(specs.LinuxMemoryPolicy{Mode: "MPOL_DEFAULT", Nodes: "0-1"}), "memory policy mode requires 0 nodes but got 2", "linux.memoryPolicy.nodes"},
		{mpol(specs.LinuxMemoryPolicy{Mode: "MPOL_LOCAL", Nodes: "0"}), "memory policy mode requires 0 nodes but got 1", "linux.memoryPolicy.nodes"},
		{mpol(specs.LinuxMemoryPolicy{Mode: "MPOL_INTERLEAVE"}), "memory policy mode requires at least one node but got 0", "linux.memoryPolicy.nodes"},
		// Refused by the kernel, with its error.
		{mpol(specs.LinuxMemoryPolicy{Mode: "MPOL_BIND", Nodes: "1000"}), "set_mempolicy: invalid argument", ""},
	}
	if online, _ := os.ReadFile("/sys/devices/system/cpu/online"); strings.TrimSpace(string(online)) != "0" {
		// SCHED_DEADLINE wants all the CPUs of its root domain: a cpuset
		// of fewer is refused (EPERM), which runc words so.
		cases = append(cases, bad{func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 100000, Deadline: 1000000, Period: 1000000}
			s.Linux.Resources.CPU = &specs.LinuxCPU{Cpus: "0"}
		}, "process scheduler can't be used together with AllowedCPUs", ""})
	}
	for i, c := range cases {
		id := fmt.Sprintf("badsched%d", i)
		b := e.newBundle(withArgs("true"), withSpec(c.spec))
		e.track(id)
		r := e.failsWith(c.want, "run", "--bundle", b.Dir, id)
		if isHusk() && !strings.Contains(errText(r), c.field) {
			t.Errorf("case %d: stderr %q, want the field %q", i, r.Stderr, c.field)
		}
		e.assertNoTrace(b, id)
	}
}

// linux.personality LINUX32 makes uname report a 32-bit machine.
func TestPersonality(t *testing.T) {
	e := newEnv(t)
	out := e.output("uname -m", withSpec(func(s *specs.Spec) {
		s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
	}))
	if got := strings.TrimSpace(out); got != "i686" && got != "armv8l" && got != "armv7l" {
		t.Errorf("uname -m under LINUX32: %q", got)
	}
}

// linux.memoryPolicy: the workload's NUMA policy shows in numa_maps.
func TestMemoryPolicy(t *testing.T) {
	e := newEnv(t)
	out := e.output("grep -m1 -o 'bind:0\\|interleave:0' /proc/self/numa_maps || cat /proc/self/status | grep -i mems", withSpec(func(s *specs.Spec) {
		s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: "MPOL_BIND", Nodes: "0"}
	}))
	if !strings.Contains(out, "bind:0") {
		t.Errorf("numa_maps shows %q, want a bind:0 policy", out)
	}
}

// onCPU0 runs f (which starts the runtime) on a thread bound to CPU 0,
// as `taskset -c 0` would: the runtime inherits that affinity.
func onCPU0(t *testing.T, f func()) {
	t.Helper()
	done := make(chan error)
	go func() {
		// The thread is never unlocked: it ends with the goroutine,
		// and its affinity with it.
		runtime.LockOSThread()
		var set unix.CPUSet
		set.Set(0)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			done <- err
			return
		}
		f()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// cpusAllowed is the Cpus_allowed_list of a host pid.
func cpusAllowed(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	return statusFields(string(data))["Cpus_allowed_list"]
}

// The init and exec'd processes run on every CPU of the container's
// cpuset, not on the caller's taskset; execCPUAffinity applies to exec'd
// processes only, as runc 1.5 does: .initial until the process is in the
// container's cgroups, then .final, or .initial's CPUs if there is no
// .final; a CPU that cannot be used fails the exec with runc's error, a
// list that cannot be parsed fails create.
func TestCPUAffinity(t *testing.T) {
	online, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		t.Fatal(err)
	}
	all := strings.TrimSpace(string(online))
	if all == "0" {
		t.Skip("the host has one CPU: no affinity to tell apart")
	}
	e := newEnv(t)
	b := e.newBundle(withArgs("sleep", "100"), withSpec(func(s *specs.Spec) {
		s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "1"}
	}))
	e.track("aff")
	onCPU0(t, func() { e.ok("run", "-d", "--bundle", b.Dir, "aff") })
	pid := e.state("aff").PID
	if got := cpusAllowed(t, pid); got != all {
		t.Errorf("the init, started under taskset -c 0: CPUs %q, want the cpuset's %q (execCPUAffinity is not for the init)", got, all)
	}
	// And with create and start apart, without any execCPUAffinity.
	plain := e.newBundle(withArgs("sleep", "100"))
	e.track("aff2")
	onCPU0(t, func() { e.ok("create", "--bundle", plain.Dir, "aff2") })
	onCPU0(t, func() { e.ok("start", "aff2") })
	if got := cpusAllowed(t, e.state("aff2").PID); got != all {
		t.Errorf("the init, created under taskset -c 0: CPUs %q, want %q", got, all)
	}
	var r result
	onCPU0(t, func() { r = e.ok("exec", "aff2", "grep", "Cpus_allowed_list", "/proc/self/status") })
	if got := statusFields(r.Stdout)["Cpus_allowed_list"]; got != all {
		t.Errorf("exec without execCPUAffinity, under taskset -c 0: CPUs %q, want %q", got, all)
	}
	e.ok("delete", "-f", "aff2")
	procFile := func(a *specs.CPUAffinity) string {
		p := defaultSpec().Process
		p.Args = []string{"grep", "Cpus_allowed_list", "/proc/self/status"}
		p.ExecCPUAffinity = a
		data, _ := json.Marshal(p)
		f, err := os.CreateTemp(e.dir, "process-*.json")
		if err != nil {
			t.Fatal(err)
		}
		f.Write(data)
		f.Close()
		return f.Name()
	}
	execCPUs := func(what string, args ...string) string {
		t.Helper()
		onCPU0(t, func() { r = e.run(args...) })
		if r.Code != 0 {
			t.Fatalf("%s: %s", what, r)
		}
		return statusFields(r.Stdout)["Cpus_allowed_list"]
	}
	for _, c := range []struct {
		what string
		aff  *specs.CPUAffinity
		want string
	}{
		{"no execCPUAffinity (the container's applies)", nil, "1"},
		{"an empty execCPUAffinity (none)", &specs.CPUAffinity{}, "1"},
		{"initial 1", &specs.CPUAffinity{Initial: "1"}, "1"},
		{"final 1", &specs.CPUAffinity{Final: "1"}, "1"},
		{"initial 0, final 1", &specs.CPUAffinity{Initial: "0", Final: "1"}, "1"},
	} {
		if got := execCPUs(c.what, "exec", "-p", procFile(c.aff), "aff"); got != c.want {
			t.Errorf("exec -p with %s, under taskset -c 0: CPUs %q, want %q", c.what, got, c.want)
		}
	}
	if got := execCPUs("config.json's final 1", "exec", "aff", "grep", "Cpus_allowed_list", "/proc/self/status"); got != "1" {
		t.Errorf("exec with config.json's execCPUAffinity.final 1: CPUs %q", got)
	}
	// CPU 1023 parses but is not there (on hosts with fewer CPUs).
	if !exists("/sys/devices/system/cpu/cpu1023") {
		for _, c := range []struct {
			aff  *specs.CPUAffinity
			want string
		}{
			{&specs.CPUAffinity{Final: "1023"}, "error setting final CPU affinity: invalid argument"},
			{&specs.CPUAffinity{Initial: "1023"}, "error setting initial CPU affinity: invalid argument"},
		} {
			r := e.run("exec", "-p", procFile(c.aff), "aff")
			if r.Code != 255 || !strings.Contains(r.Stderr, c.want) {
				t.Errorf("exec with execCPUAffinity %+v: %s; want exit 255 and %q", *c.aff, r, c.want)
			}
		}
	}
	e.ok("delete", "-f", "aff")
	for i, c := range []struct {
		aff  *specs.CPUAffinity
		want string
	}{
		{&specs.CPUAffinity{Final: "1024"}, "bad CPUAffinity.Final: values larger than 1023 are not supported"},
		{&specs.CPUAffinity{Initial: "3-1"}, "bad CPUAffinity.Initial: invalid range: 3-1"},
		{&specs.CPUAffinity{Final: "x"}, `bad CPUAffinity.Final: strconv.ParseUint: parsing "x": invalid syntax`},
		{&specs.CPUAffinity{Final: " , "}, `bad CPUAffinity.Final: no members found in set " , "`},
	} {
		id := fmt.Sprintf("badaff%d", i)
		bad := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) { s.Process.ExecCPUAffinity = c.aff }))
		e.track(id)
		e.failsWith(c.want, "create", "--bundle", bad.Dir, id)
		e.assertNoTrace(bad, id)
	}
}

// process.user.umask is the workload's umask.
func TestUmask(t *testing.T) {
	e := newEnv(t)
	mask := uint32(0o027)
	out := e.output("umask", withSpec(func(s *specs.Spec) { s.Process.User.Umask = &mask }))
	if strings.TrimSpace(out) != "0027" {
		t.Errorf("umask %q", out)
	}
}

// oomScoreAdj is set when present and left as inherited when absent.
func TestOOMScoreAdj(t *testing.T) {
	e := newEnv(t)
	adj := 500
	out := e.output("cat /proc/self/oom_score_adj", withSpec(func(s *specs.Spec) { s.Process.OOMScoreAdj = &adj }))
	if strings.TrimSpace(out) != "500" {
		t.Errorf("oom_score_adj %q, want 500", out)
	}
	mine, _ := os.ReadFile("/proc/self/oom_score_adj")
	out = e.output("cat /proc/self/oom_score_adj")
	if strings.TrimSpace(out) != strings.TrimSpace(string(mine)) {
		t.Errorf("without oomScoreAdj: %q, want the caller's %q", out, mine)
	}
}

// Several rlimits apply; an unknown capability is only a warning.
func TestRlimitsAndUnknownCapability(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withShell("ulimit -n; ulimit -u; ulimit -c"), withSpec(func(s *specs.Spec) {
		s.Process.Rlimits = []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Hard: 512, Soft: 256},
			{Type: "RLIMIT_NPROC", Hard: 300, Soft: 300},
			{Type: "RLIMIT_CORE", Hard: 0, Soft: 0},
		}
		s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_NOT_A_REAL_ONE")
	}))
	r := e.runFG(b, "rlim")
	if r.Code != 0 {
		t.Fatal(r)
	}
	if got := lines(r.Stdout); len(got) != 3 || got[0] != "256" || got[1] != "300" || got[2] != "0" {
		t.Errorf("limits %q", got)
	}
	if !strings.Contains(r.Stderr, "level=warning") || !strings.Contains(r.Stderr, "CAP_NOT_A_REAL_ONE") {
		t.Errorf("no warning about the unknown capability: %q", r.Stderr)
	}
}

// envValues returns every value `env` printed for key, in order.
func envValues(out, key string) []string {
	var vals []string
	for _, l := range lines(out) {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			vals = append(vals, v)
		}
	}
	return vals
}

// A key given twice in process.env (or by exec -e) is set once, to its
// last value; an empty HOME is replaced by the user's home from the
// container's /etc/passwd, as an unset one is.
func TestEnvDuplicatesAndEmptyHome(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "envs", withSpec(func(s *specs.Spec) {
		s.Process.User = specs.User{UID: testUID, GID: testGID}
		s.Process.Env = append(s.Process.Env, "A=1", "B=2", "A=3", "HOME=")
	}))
	out := e.ok("exec", "envs", "env").Stdout
	if a, home, bv := envValues(out, "A"), envValues(out, "HOME"), envValues(out, "B"); len(a) != 1 || a[0] != "3" || len(home) != 1 || home[0] != "/home/tester" || len(bv) != 1 || bv[0] != "2" {
		t.Errorf("process.env A=1 B=2 A=3 HOME=: A %q, B %q, HOME %q; want A=3, B=2, HOME=/home/tester, each once\n%s", a, bv, home, out)
	}
	out = e.ok("exec", "-e", "A=4", "-e", "HOME=", "-e", "A=5", "-u", "0", "envs", "env").Stdout
	if a, home := envValues(out, "A"), envValues(out, "HOME"); len(a) != 1 || a[0] != "5" || len(home) != 1 || home[0] != "/root" {
		t.Errorf("exec -e A=4 -e HOME= -e A=5 -u 0: A %q, HOME %q; want A=5 and HOME=/root once\n%s", a, home, out)
	}
	out = e.ok("exec", "-e", "HOME=/elsewhere", "envs", "env").Stdout
	if home := envValues(out, "HOME"); len(home) != 1 || home[0] != "/elsewhere" {
		t.Errorf("exec -e HOME=/elsewhere: HOME %q", home)
	}
	// The init's own environment too.
	b2 := e.newBundle(withArgs("env"), withSpec(func(s *specs.Spec) {
		s.Process.Env = append(s.Process.Env, "X=1", "HOME=", "X=2")
	}))
	r := e.runFG(b2, "envinit")
	if x, home := envValues(r.Stdout, "X"), envValues(r.Stdout, "HOME"); r.Code != 0 || len(x) != 1 || x[0] != "2" || len(home) != 1 || home[0] != "/root" {
		t.Errorf("init with X=1 HOME= X=2: X %q, HOME %q: %s", x, home, r)
	}
}

// A workload that cannot be executed: a file whose interpreter is missing
// fails in execve itself, which prints exactly "exec /x: no such file or
// directory" on the process's stderr and exits 255; a missing file, a file
// without the exec bit and a directory are found out before, and the
// runtime's error says so as runc's does (exit 1 for run, 255 for exec).
func TestExecFailureMessages(t *testing.T) {
	e := newEnv(t)
	files := func(e *env, b *bundle) {
		os.WriteFile(filepath.Join(b.Rootfs, "x"), []byte("#!/nonexistent\n"), 0o755)
		os.WriteFile(filepath.Join(b.Rootfs, "noexec"), []byte("true\n"), 0o644)
		os.Mkdir(filepath.Join(b.Rootfs, "dir"), 0o755)
	}
	cases := []struct{ arg, want string }{
		{"/nonexistent", `exec: "/nonexistent": stat /nonexistent: no such file or directory`},
		{"/noexec", `exec: "/noexec": permission denied`},
		{"/dir", `exec: "/dir": is a directory`},
		{"nosuch", `exec: "nosuch": executable file not found in $PATH`},
	}
	b := e.newBundle(withPrivateRootfs(), files, withArgs("/x"))
	r := e.runFG(b, "execx")
	if r.Code != 255 || r.Stderr != "exec /x: no such file or directory\n" {
		t.Errorf("run of /x (interpreter missing): %s; want exit 255 and exactly \"exec /x: no such file or directory\\n\"", r)
	}
	for i, c := range cases {
		id := fmt.Sprintf("execf%d", i)
		b := e.newBundle(withPrivateRootfs(), files, withArgs(c.arg))
		e.track(id)
		e.failsWith(c.want, "run", "--bundle", b.Dir, id)
		e.assertNoTrace(b, id)
	}
	runningContainer(e, "execsrc", withPrivateRootfs(), files)
	r = e.run("exec", "execsrc", "/x")
	if r.Code != 255 || r.Stderr != "exec /x: no such file or directory\n" {
		t.Errorf("exec of /x (interpreter missing): %s; want exit 255 and exactly \"exec /x: no such file or directory\\n\"", r)
	}
	for _, c := range cases {
		r := e.run("exec", "execsrc", c.arg)
		if r.Code != 255 || !strings.Contains(r.Stderr, strings.ReplaceAll(c.want, `"`, `\"`)) {
			t.Errorf("exec %s: %s; want exit 255 and %s", c.arg, r, c.want)
		}
	}
}

// timeOffsets reads /proc/self/timens_offsets as printed into a map.
func timeOffsets(out string) map[string]string {
	m := map[string]string{}
	for _, l := range lines(out) {
		if f := strings.Fields(l); len(f) == 3 {
			m[f[0]] = f[1] + " " + f[2]
		}
	}
	return m
}

// Time namespace offsets work together with a user namespace: one made
// with the container, and one joined by path.
func TestTimeOffsetsWithUserNamespace(t *testing.T) {
	if !exists("/proc/self/timens_offsets") {
		t.Skip("the host kernel has no time namespaces")
	}
	e := newEnv(t)
	userns := func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 600000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 600000, Size: 65536}}
	}
	timens := func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
		s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{
			"monotonic": {Secs: 7881, Nanosecs: 2718281},
			"boottime":  {Secs: 1337, Nanosecs: 3141519},
		}
	}
	want := map[string]string{"monotonic": "7881 2718281", "boottime": "1337 3141519"}
	b := e.newBundle(withOut(), withShell("cat /proc/self/timens_offsets > /out/offsets; sleep 100"), withSpec(userns), withSpec(timens))
	e.runDetached(b, "tns")
	waitFor(t, "the container's offsets", func() bool {
		data, _ := os.ReadFile(b.outFile("offsets"))
		return len(lines(string(data))) == 2
	})
	data, _ := os.ReadFile(b.outFile("offsets"))
	if got := timeOffsets(string(data)); !reflect.DeepEqual(got, want) {
		t.Errorf("offsets in a new user and time namespace: %q, want %v", data, want)
	}
	if got := timeOffsets(e.ok("exec", "tns", "cat", "/proc/self/timens_offsets").Stdout); !reflect.DeepEqual(got, want) {
		t.Errorf("offsets seen by exec: %v, want %v", got, want)
	}
	// A second container joins the first one's user namespace and makes
	// a time namespace of its own.
	pid := e.state("tns").PID
	second := e.newBundle(withArgs("cat", "/proc/self/timens_offsets"), withSpec(userns), withSpec(func(s *specs.Spec) {
		for i, ns := range s.Linux.Namespaces {
			if ns.Type == specs.UserNamespace {
				s.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/user", pid)
			}
		}
		timens(s)
		s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 42}}
	}))
	r := e.runFG(second, "tns2")
	if got := timeOffsets(r.Stdout); r.Code != 0 || got["boottime"] != "42 0" || got["monotonic"] != "0 0" {
		t.Errorf("offsets with a joined user namespace: %s", r)
	}
}

// The container's init, an exec'd process and the hooks run with the timer
// slack of the runtime's caller, whatever the runtime's own threads use
// (husk's are at 1 ms, a process inherits the slack of the thread that
// forks it).
func TestTimerSlackIsTheCallers(t *testing.T) {
	e := newEnv(t)
	const caller = 123000 // ns: below husk's own 1 ms
	opts := invokeOpts{timerSlack: caller}
	b := e.newBundle(withOut(), withArgs("cat", "/proc/self/timerslack_ns"))
	b.Spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c",
		fmt.Sprintf("cat /proc/self/timerslack_ns > %s; cat /proc/$PPID/timerslack_ns > %s", b.outFile("hook"), b.outFile("runtime"))}}}}
	b.write(t)
	e.track("slack-run")
	r := e.runOpts(opts, "run", "--bundle", b.Dir, "slack-run")
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	want := strconv.Itoa(caller)
	if got := strings.TrimSpace(r.Stdout); got != want {
		t.Errorf("container's init: timer slack %q, want the caller's %s", got, want)
	}
	if got := strings.TrimSpace(readFile(t, b.outFile("hook"))); got != want {
		t.Errorf("createRuntime hook: timer slack %q, want the caller's %s", got, want)
	}
	if isHusk() {
		// What makes the checks above mean something: husk's own
		// threads do not run with the caller's slack.
		if got := strings.TrimSpace(readFile(t, b.outFile("runtime"))); got != "1000000" {
			t.Errorf("husk's own timer slack %q, want 1000000", got)
		}
	}

	sleeper := e.newBundle(withArgs("sleep", "1000"))
	e.track("slack-exec")
	if r := e.runOpts(opts, "run", "--detach", "--bundle", sleeper.Dir, "slack-exec"); r.Code != 0 {
		t.Fatalf("%s", r)
	}
	r = e.runOpts(opts, "exec", "slack-exec", "cat", "/proc/self/timerslack_ns")
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	if got := strings.TrimSpace(r.Stdout); got != want {
		t.Errorf("exec'd process: timer slack %q, want the caller's %s", got, want)
	}
}

// husk maps its whole binary and the start of its heap in a few system
// calls when a command starts (libcontainer/prefault), rather than a page
// fault at a time: in the parent of `run`, seen from a createRuntime
// hook, every page of husk's code is resident (page by page, a run
// touches ~94 % of it).
func TestRuntimeIsPrefaulted(t *testing.T) {
	if !isHusk() {
		t.Skip("husk's own start-up (libcontainer/prefault)")
	}
	// Linux < 5.14 has no MADV_POPULATE_READ: husk then faults its pages
	// in as they are used.
	page, err := unix.Mmap(-1, 0, os.Getpagesize(), unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(page)
	if err := unix.Madvise(page, unix.MADV_POPULATE_READ); err == unix.EINVAL {
		t.Skip("the kernel has no MADV_POPULATE_READ (Linux < 5.14)")
	}
	e := newEnv(t)
	b := e.newBundle(withOut(), withArgs("true"))
	b.Spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c",
		fmt.Sprintf("cat /proc/$PPID/smaps > %s; readlink /proc/$PPID/exe > %s", b.outFile("smaps"), b.outFile("exe"))}}}}
	b.write(t)
	if r := e.runFG(b, "prefaulted"); r.Code != 0 {
		t.Fatalf("%s", r)
	}
	exe := strings.TrimSpace(readFile(t, b.outFile("exe")))
	var size, rss int
	inCode := false
	for _, line := range strings.Split(readFile(t, b.outFile("smaps")), "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 && strings.Contains(f[0], "-") {
			inCode = f[1] == "r-xp" && f[5] == exe
			continue
		}
		if inCode && len(f) >= 2 {
			n, _ := strconv.Atoi(f[1])
			switch f[0] {
			case "Size:":
				size += n
			case "Rss:":
				rss += n
			}
		}
	}
	if size == 0 {
		t.Fatalf("no r-xp mapping of %s in the runtime's smaps", exe)
	}
	if rss != size {
		t.Errorf("%d of the %d kB of husk's code resident in the parent of run, want all", rss, size)
	}
}
