package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Tests of linux.resources and the cgroup commands (update, pause,
// resume, ps, events). They run on this host's cgroup v1 and, through
// the VM harness, on cgroup v2 and under systemd: expectations are per
// hierarchy, and a container's cgroup is found through its init's
// /proc/PID/cgroup, whichever driver put it there.

// unifiedHost reports whether /sys/fs/cgroup is the v2 hierarchy.
func unifiedHost() bool {
	var st syscall.Statfs_t
	return syscall.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == 0x63677270
}

// cgDir returns the host directory of pid's cgroup holding controller
// ctrl's files (v2: the one cgroup; v1: that controller's hierarchy).
func cgDir(t *testing.T, pid int, ctrl string) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines(string(data)) {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if unifiedHost() {
			if parts[0] == "0" {
				return filepath.Join("/sys/fs/cgroup", parts[2])
			}
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == ctrl {
				return filepath.Join("/sys/fs/cgroup", ctrl, parts[2])
			}
		}
	}
	t.Fatalf("process %d is in no %s cgroup: %s", pid, ctrl, data)
	return ""
}

// cgRead reads a control file of the container whose init is pid; "" if
// the kernel has no such file.
func cgRead(t *testing.T, pid int, ctrl, file string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(cgDir(t, pid, ctrl), file))
	if err != nil {
		if os.IsNotExist(err) {
			return ""
		}
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// cgHas reports whether the container's cgroup has a control file.
func cgHas(t *testing.T, pid int, ctrl, file string) bool {
	t.Helper()
	_, err := os.Stat(filepath.Join(cgDir(t, pid, ctrl), file))
	return err == nil
}

func ptrI64(v int64) *int64   { return &v }
func ptrU64(v uint64) *uint64 { return &v }
func ptrU16(v uint16) *uint16 { return &v }
func ptrU32(v uint32) *uint32 { return &v }
func ptrBool(v bool) *bool    { return &v }
func withResources(r *specs.LinuxResources) bundleOpt {
	return withSpec(func(s *specs.Spec) {
		devs := s.Linux.Resources.Devices
		s.Linux.Resources = r
		r.Devices = append(devs, r.Devices...)
	})
}

// blockDevice returns major, minor of a disk of this machine that I/O
// limits can name (not a zram or loop device), or false.
func blockDevice() (int64, int64, bool) {
	ents, _ := os.ReadDir("/sys/block")
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, "zram") || strings.HasPrefix(n, "loop") || strings.HasPrefix(n, "ram") {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/sys/block", n, "dev"))
		if err != nil {
			continue
		}
		maj, min, ok := strings.Cut(strings.TrimSpace(string(data)), ":")
		if !ok {
			continue
		}
		a, _ := strconv.ParseInt(maj, 10, 64)
		b, _ := strconv.ParseInt(min, 10, 64)
		return a, b, true
	}
	return 0, 0, false
}

// Every resource lands in the kernel's own file, in v1 or v2 units.
func TestCgroupResourcesApplied(t *testing.T) {
	e := newEnv(t)
	res := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptrI64(64 << 20), Reservation: ptrI64(32 << 20), Swap: ptrI64(128 << 20)},
		CPU: &specs.LinuxCPU{Shares: ptrU64(512), Quota: ptrI64(50000), Period: ptrU64(100000), Burst: ptrU64(1000),
			Cpus: "0", Mems: "0"},
		Pids: &specs.LinuxPids{Limit: ptrI64(50)},
	}
	maj, min, haveDisk := blockDevice()
	if haveDisk {
		res.BlockIO = &specs.LinuxBlockIO{ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{
			{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: maj, Minor: min}, Rate: 1 << 20}}}
	}
	runningContainer(e, "res", withResources(res))
	pid := e.state("res").PID
	type want struct{ ctrl, file, value string }
	var checks []want
	if unifiedHost() {
		checks = []want{
			{"memory", "memory.max", strconv.Itoa(64 << 20)},
			{"memory", "memory.low", strconv.Itoa(32 << 20)},
			{"memory", "memory.swap.max", strconv.Itoa(64 << 20)},
			{"cpu", "cpu.max", "50000 100000"},
			{"cpuset", "cpuset.cpus", "0"},
			{"cpuset", "cpuset.mems", "0"},
			{"pids", "pids.max", "50"},
			// Shares map onto the weight so that 1024 is the default 100.
			{"cpu", "cpu.weight", "59"},
		}
		if cgHas(t, pid, "cpu", "cpu.max.burst") {
			checks = append(checks, want{"cpu", "cpu.max.burst", "1000"})
		}
		if haveDisk {
			checks = append(checks, want{"io", "io.max", fmt.Sprintf("%d:%d rbps=1048576 wbps=max riops=max wiops=max", maj, min)})
		}
	} else {
		checks = []want{
			{"memory", "memory.limit_in_bytes", strconv.Itoa(64 << 20)},
			{"memory", "memory.soft_limit_in_bytes", strconv.Itoa(32 << 20)},
			{"memory", "memory.memsw.limit_in_bytes", strconv.Itoa(128 << 20)},
			{"cpu", "cpu.shares", "512"},
			{"cpu", "cpu.cfs_quota_us", "50000"},
			{"cpu", "cpu.cfs_period_us", "100000"},
			{"cpuset", "cpuset.cpus", "0"},
			{"cpuset", "cpuset.mems", "0"},
			{"pids", "pids.max", "50"},
		}
		if cgHas(t, pid, "cpu", "cpu.cfs_burst_us") {
			checks = append(checks, want{"cpu", "cpu.cfs_burst_us", "1000"})
		}
		if haveDisk {
			checks = append(checks, want{"blkio", "blkio.throttle.read_bps_device", fmt.Sprintf("%d:%d 1048576", maj, min)})
		}
	}
	for _, c := range checks {
		if got := cgRead(t, pid, c.ctrl, c.file); got != c.value {
			t.Errorf("%s = %q, want %q", c.file, got, c.value)
		}
	}
}

// The rest of the memory and cpu knobs, where this hierarchy has them.
func TestCgroupResourcesMore(t *testing.T) {
	e := newEnv(t)
	res := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptrI64(64 << 20), Swappiness: ptrU64(10), DisableOOMKiller: ptrBool(false)},
		CPU:    &specs.LinuxCPU{Idle: ptrI64(1)},
	}
	runningContainer(e, "more", withResources(res))
	pid := e.state("more").PID
	if cgHas(t, pid, "cpu", "cpu.idle") {
		if got := cgRead(t, pid, "cpu", "cpu.idle"); got != "1" {
			t.Errorf("cpu.idle = %q", got)
		}
	}
	if unifiedHost() {
		return
	}
	if got := cgRead(t, pid, "memory", "memory.swappiness"); got != "10" {
		t.Errorf("memory.swappiness = %q", got)
	}
}

// blkioWeightFile is the weight file of the I/O scheduler the container's
// cgroup has ("" if none: no BFQ nor CFQ, as on most VMs and NVMe hosts;
// v2's io.weight is the io controller's own).
func blkioWeightFile(t *testing.T, pid int) string {
	t.Helper()
	files := []string{"blkio.weight", "blkio.bfq.weight"}
	if unifiedHost() {
		files = []string{"io.bfq.weight", "io.weight"}
	}
	for _, f := range files {
		if cgHas(t, pid, "blkio", f) {
			return f
		}
	}
	return ""
}

// blockIO.weight lands in the scheduler's weight file where the host has
// one; where it has none, a weight is refused and nothing is left.
func TestCgroupBlkioWeight(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "probe")
	file := blkioWeightFile(t, e.state("probe").PID)
	t.Run("applied", func(t *testing.T) {
		if file == "" {
			t.Skip("this host has no I/O scheduler with weights (no blkio.weight, blkio.bfq.weight, io.weight)")
		}
		e := newEnv(t)
		runningContainer(e, "w", withResources(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: ptrU16(300)}}))
		got := cgRead(t, e.state("w").PID, "blkio", file)
		want := "300"
		if file == "io.weight" {
			// 300 on blkio's 10-1000 scale is 2930 on io.weight's 1-10000.
			want = "default 2930"
		}
		if !strings.Contains(got, want) {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	})
	t.Run("refused without weights", func(t *testing.T) {
		if file != "" {
			t.Skipf("this host has %s", file)
		}
		e := newEnv(t)
		b := e.newBundle(withArgs("true"), withResources(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: ptrU16(300)}}))
		e.track("w")
		e.failsWith("weight", "run", "--bundle", b.Dir, "w")
		e.assertNoTrace(b, "w")
	})
}

// The zeros that mean "unset" for runc (dockerd sends some for every
// container: cpu.shares 0, blockIO.weight 0) write nothing: the container
// runs on any host (one without an I/O scheduler with weights, without
// net_cls) with the kernel's defaults.
func TestCgroupZeroIsUnset(t *testing.T) {
	e := newEnv(t)
	zero16 := ptrU16(0)
	runningContainer(e, "zero", withResources(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptrI64(0), Reservation: ptrI64(0), Swap: ptrI64(0)},
		CPU: &specs.LinuxCPU{Shares: ptrU64(0), Quota: ptrI64(0), Period: ptrU64(0),
			RealtimeRuntime: ptrI64(0), RealtimePeriod: ptrU64(0)},
		BlockIO: &specs.LinuxBlockIO{Weight: zero16, LeafWeight: zero16, WeightDevice: []specs.LinuxWeightDevice{
			{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Weight: zero16, LeafWeight: zero16}}},
		Network: &specs.LinuxNetwork{ClassID: ptrU32(0)},
	}))
	pid := e.state("zero").PID
	checks := map[string]string{"cpu.shares": "1024", "cpu.cfs_quota_us": "-1", "cpu.cfs_period_us": "100000"}
	mem := "memory.limit_in_bytes"
	if unifiedHost() {
		checks = map[string]string{"cpu.weight": "100", "cpu.max": "max 100000"}
		mem = "memory.max"
	}
	for file, want := range checks {
		if got := cgRead(t, pid, "cpu", file); got != want {
			t.Errorf("%s = %q, want the default %q", file, got, want)
		}
	}
	if got := cgRead(t, pid, "memory", mem); got != "max" && got != "9223372036854771712" {
		t.Errorf("%s = %q, want no limit", mem, got)
	}
}

// A pids limit of 0 is 1, as runc makes it (systemd refuses TasksMax=0),
// at create and on update.
func TestCgroupPidsLimitZero(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"), withResources(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptrI64(0)}}))
	e.create(b, "pids0")
	pid := e.state("pids0").PID
	if got := cgRead(t, pid, "pids", "pids.max"); got != "1" {
		t.Errorf("pids.max = %q, want 1", got)
	}
}

// cpu.idle 1 → 0 with new shares: the kernel refuses shares while the
// group is idle, so idle must be written first.
func TestCgroupCPUIdleToZero(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "idle", withResources(&specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: ptrI64(1)}}))
	pid := e.state("idle").PID
	if !cgHas(t, pid, "cpu", "cpu.idle") {
		t.Skip("this kernel has no cpu.idle")
	}
	shares, weight := "cpu.shares", func(s int) string { return strconv.Itoa(s) }
	if unifiedHost() {
		// 700 shares on the weight's scale (1024 → 100).
		shares, weight = "cpu.weight", func(s int) string { return map[int]string{700: "75", 1024: "100"}[s] }
	}
	e.ok("update", "--cpu-idle", "0", "idle")
	if got := cgRead(t, pid, "cpu", "cpu.idle"); got != "0" {
		t.Errorf("cpu.idle after update --cpu-idle 0: %q", got)
	}
	if got := cgRead(t, pid, "cpu", shares); got != weight(1024) {
		t.Errorf("%s after update --cpu-idle 0: %q, want the default", shares, got)
	}
	e.ok("update", "--cpu-idle", "1", "idle")
	if got := cgRead(t, pid, "cpu", "cpu.idle"); got != "1" {
		t.Errorf("cpu.idle after update --cpu-idle 1: %q", got)
	}
	if isRunc() && !unifiedHost() {
		t.Skip("runc 1.5.3 writes cpu.shares before cpu.idle on cgroup v1, which the kernel refuses while the group is idle (EINVAL)")
	}
	e.ok("update", "--cpu-idle", "0", "--cpu-share", "700", "idle")
	if got := cgRead(t, pid, "cpu", "cpu.idle"); got != "0" {
		t.Errorf("cpu.idle after update --cpu-idle 0 --cpu-share 700: %q", got)
	}
	if got := cgRead(t, pid, "cpu", shares); got != weight(700) {
		t.Errorf("%s after update --cpu-idle 0 --cpu-share 700: %q, want %s", shares, got, weight(700))
	}
}

// Device rules: a node the rules deny cannot be opened (EPERM from the
// devices cgroup, or the v2 eBPF filter); one they allow reaches the
// driver (c 42:0 has none: ENXIO).
func TestCgroupDeviceRules(t *testing.T) {
	e := newEnv(t)
	mode := os.FileMode(0o666)
	zero := uint32(0)
	out := e.output("head -c1 /dev/denied42 2>&1; echo; head -c1 /dev/allowed42 2>&1; echo", withSpec(func(s *specs.Spec) {
		s.Linux.Devices = append(s.Linux.Devices,
			specs.LinuxDevice{Path: "/dev/denied42", Type: "c", Major: 42, Minor: 0, FileMode: &mode, UID: &zero, GID: &zero},
			specs.LinuxDevice{Path: "/dev/allowed42", Type: "c", Major: 42, Minor: 1, FileMode: &mode, UID: &zero, GID: &zero})
		s.Linux.Resources.Devices = append(s.Linux.Resources.Devices,
			specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: ptrI64(42), Minor: ptrI64(1), Access: "rw"})
	}))
	l := lines(out)
	if len(l) != 2 || !strings.Contains(l[0], "Operation not permitted") || strings.Contains(l[1], "Operation not permitted") {
		t.Errorf("denied then allowed device: %q", l)
	}
}

// Device access "a" is no access (a rule's type "a" is all devices): "rwa"
// is "rw", as runc's parser drops it.
func TestCgroupDeviceAccessA(t *testing.T) {
	e := newEnv(t)
	mode := os.FileMode(0o666)
	zero := uint32(0)
	b := runningContainer(e, "acc", withSpec(func(s *specs.Spec) {
		s.Linux.Devices = append(s.Linux.Devices,
			specs.LinuxDevice{Path: "/dev/allowed42", Type: "c", Major: 42, Minor: 1, FileMode: &mode, UID: &zero, GID: &zero})
		s.Linux.Resources.Devices = append(s.Linux.Resources.Devices,
			specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: ptrI64(42), Minor: ptrI64(1), Access: "rwa"})
	}))
	// Allowed: open reaches the driver, which c 42:1 does not have.
	r := e.run("exec", "acc", "sh", "-c", "head -c1 /dev/allowed42 2>&1; true")
	if r.Code != 0 || strings.Contains(r.Stdout, "Operation not permitted") || !strings.Contains(r.Stdout, "No such device") {
		t.Errorf("open of a device allowed \"rwa\": %s", r)
	}
	if unifiedHost() {
		return
	}
	list := cgRead(t, e.state("acc").PID, "devices", "devices.list")
	if !strings.Contains("\n"+list+"\n", "\nc 42:1 rw\n") {
		t.Errorf("devices.list of %s has no \"c 42:1 rw\": %q", b.Cgroup, list)
	}
}

// makeCgroup creates the cgroup cg (a path from the hierarchies' root) in
// every hierarchy, and removes it when the test ends (after the runtime's
// own cleanups: register it after them).
func makeCgroup(t *testing.T, cg string) []string {
	t.Helper()
	var dirs []string
	for _, mnt := range cgroupMounts() {
		d := filepath.Join(mnt, cg)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	return dirs
}

func removeCgroup(t *testing.T, dirs []string) {
	for _, d := range dirs {
		if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
			t.Errorf("removing the test's cgroup: %v", err)
		}
	}
}

// create/run into a cgroup that is frozen itself fails at once, as runc:
// the init would be frozen when born.
func TestCgroupFrozenRefused(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	dirs := makeCgroup(t, b.Cgroup)
	freeze, value, thaw := "cgroup.freeze", "1", "0"
	if !unifiedHost() {
		freeze, value, thaw = "freezer.state", "FROZEN", "THAWED"
	}
	var frozen string
	for _, d := range dirs {
		if exists(filepath.Join(d, freeze)) {
			frozen = d
		}
	}
	if frozen == "" {
		t.Skip("no freezer on this host")
	}
	if err := os.WriteFile(filepath.Join(frozen, freeze), []byte(value), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.WriteFile(filepath.Join(frozen, freeze), []byte(thaw), 0)
		removeCgroup(t, dirs)
	})
	e.track("frz")
	e.failsWith("container's cgroup unexpectedly frozen", "run", "--bundle", b.Dir, "frz")
	if exists(filepath.Join(e.root, "frz")) {
		t.Errorf("state dir left behind")
	}
	// The cgroup is not the runtime's: it is left as it was.
	if got, _ := os.ReadFile(filepath.Join(frozen, freeze)); strings.TrimSpace(string(got)) != value {
		t.Errorf("%s of the refused cgroup is now %q", freeze, got)
	}
}

// create/run into a cgroup that has processes fails, as runc (which looks
// at the devices hierarchy on v1).
func TestCgroupNotEmptyRefused(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	dirs := makeCgroup(t, b.Cgroup)
	t.Cleanup(func() { removeCgroup(t, dirs) })
	procs := filepath.Join("/sys/fs/cgroup", b.Cgroup, "cgroup.procs")
	if !unifiedHost() {
		procs = filepath.Join("/sys/fs/cgroup/devices", b.Cgroup, "cgroup.procs")
	}
	sleeper := exec.Command("sleep", "1000")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sleeper.Process.Kill()
		sleeper.Wait()
	})
	if err := os.WriteFile(procs, []byte(strconv.Itoa(sleeper.Process.Pid)), 0); err != nil {
		t.Fatal(err)
	}
	e.track("busy")
	e.failsWith("container's cgroup is not empty: 1 process(es) found", "run", "--bundle", b.Dir, "busy")
	if exists(filepath.Join(e.root, "busy")) {
		t.Errorf("state dir left behind")
	}
	if !procAlive(sleeper.Process.Pid) {
		t.Errorf("the process of the refused cgroup was killed")
	}
}

// The cpuset.cpus and cpuset.mems of a v1 ancestor made by someone else
// (a plain mkdir: empty) are filled from its parent, so that the
// container can join its cgroup below.
func TestCgroupCpusetAncestorFilled(t *testing.T) {
	cpuset := "/sys/fs/cgroup/cpuset"
	if unifiedHost() || !exists(filepath.Join(cpuset, "cpuset.cpus")) {
		t.Skip("needs a cgroup v1 cpuset hierarchy (v2 cgroups inherit their cpus)")
	}
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	if strings.Contains(b.Spec.Linux.CgroupsPath, ":") {
		t.Skip("systemd slice:prefix:name path")
	}
	// b.Cgroup is the ancestor, made empty now; the container goes below.
	dirs := makeCgroup(t, b.Cgroup)
	t.Cleanup(func() { removeCgroup(t, dirs) })
	anc := filepath.Join(cpuset, b.Cgroup)
	if got := cgFile(t, anc, "cpuset.cpus"); got != "" {
		t.Skipf("a new cpuset cgroup here starts with cpus %q (cgroup.clone_children?)", got)
	}
	b.Spec.Linux.CgroupsPath = b.Cgroup + "/ctr"
	b.write(t)
	e.create(b, "anc")
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		if got, want := cgFile(t, anc, f), cgFile(t, filepath.Dir(anc), f); got != want || got == "" {
			t.Errorf("%s of the ancestor: %q, want its parent's %q", f, got, want)
		}
	}
}

// cgFile reads a cgroup file by path, trimmed.
func cgFile(t *testing.T, dir, file string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// A value the kernel refuses fails create with the file and value named,
// and leaves nothing behind.
func TestCgroupRefusedValueFailsClean(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"), withResources(&specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "4095"}}))
	e.track("badcpus")
	r := e.failsWith("cpuset.cpus", "create", "--bundle", b.Dir, "badcpus")
	if !strings.Contains(r.Stderr, "4095") {
		t.Errorf("error does not name the value: %s", r.Stderr)
	}
	e.assertNoTrace(b, "badcpus")
}

// Resources a hierarchy cannot apply are refused before anything is
// made: unified (v2 files) on v1 as runc's "invalid configuration",
// network (v1 controllers) on v2 with the field named.
func TestCgroupUnsupportedOnThisHierarchy(t *testing.T) {
	if isRunc() && unifiedHost() {
		t.Skip("runc 1.5.3 ignores linux.resources.network on cgroup v2")
	}
	e := newEnv(t)
	res, want := &specs.LinuxResources{Unified: map[string]string{"memory.high": "1000000"}}, "invalid configuration"
	if unifiedHost() {
		res, want = &specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: ptrU32(7)}}, "linux.resources.network"
	}
	b := e.newBundle(withArgs("true"), withResources(res))
	e.track("unsup")
	r := e.failsWith(want, "create", "--bundle", b.Dir, "unsup")
	if !unifiedHost() && !strings.Contains(r.Stderr, "unified") {
		t.Errorf("error does not name unified: %s", r.Stderr)
	}
	e.assertNoTrace(b, "unsup")
}

// unified keys are written as given on v2.
func TestCgroupUnified(t *testing.T) {
	if !unifiedHost() {
		t.Skip("linux.resources.unified needs cgroup v2")
	}
	e := newEnv(t)
	runningContainer(e, "unified", withResources(&specs.LinuxResources{
		Unified: map[string]string{"memory.high": "50000000", "pids.max": "77"},
	}))
	pid := e.state("unified").PID
	if got := cgRead(t, pid, "memory", "memory.high"); got != "49999872" && got != "50000000" {
		t.Errorf("memory.high = %q", got)
	}
	if got := cgRead(t, pid, "pids", "pids.max"); got != "77" {
		t.Errorf("pids.max = %q", got)
	}
}

// hugetlb limits, where the host has the controller in the container's
// hierarchy.
func TestCgroupHugetlb(t *testing.T) {
	file := "hugetlb.2MB.limit_in_bytes"
	have := exists("/sys/fs/cgroup/hugetlb")
	if unifiedHost() {
		file = "hugetlb.2MB.max"
		ctrls, _ := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
		have = strings.Contains(string(ctrls), "hugetlb")
	}
	if !have || !exists("/sys/kernel/mm/hugepages/hugepages-2048kB") {
		t.Skip("no hugetlb controller with 2MB pages for containers here")
	}
	e := newEnv(t)
	runningContainer(e, "huge", withResources(&specs.LinuxResources{
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}},
	}))
	pid := e.state("huge").PID
	if got := cgRead(t, pid, "hugetlb", file); got != strconv.Itoa(4<<20) {
		t.Errorf("%s = %q", file, got)
	}
}

// pause freezes, state says paused, exec is refused unless
// --ignore-paused; resume thaws.
func TestPauseResume(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "pz")
	pid := e.state("pz").PID
	e.ok("pause", "pz")
	if st := e.state("pz").Status; st != "paused" {
		t.Errorf("status after pause: %s", st)
	}
	frozen := ""
	if unifiedHost() {
		frozen = cgRead(t, pid, "freezer", "cgroup.freeze")
		if ev := cgRead(t, pid, "freezer", "cgroup.events"); !strings.Contains(ev, "frozen 1") {
			t.Errorf("cgroup.events: %q", ev)
		}
	} else {
		frozen = cgRead(t, pid, "freezer", "freezer.state")
	}
	if frozen != "1" && frozen != "FROZEN" {
		t.Errorf("freezer says %q", frozen)
	}
	if r := e.run("exec", "pz", "true"); r.Code != 255 || !strings.Contains(errText(r), "cannot exec in a paused container (use --ignore-paused") {
		t.Errorf("exec into a paused container: %s, want exit 255 and \"cannot exec in a paused container\"", r)
	}
	if r := e.run("list"); !strings.Contains(r.Stdout, "paused") {
		t.Errorf("list does not show paused: %s", r.Stdout)
	}
	// husk adds the state it is in.
	e.failsWith("container not running", "pause", "pz")
	e.ok("resume", "pz")
	if st := e.state("pz").Status; st != "running" {
		t.Errorf("status after resume: %s", st)
	}
	e.ok("exec", "pz", "true")
	// husk adds the state it is in.
	e.failsWith("container not paused", "resume", "pz")
}

// A paused container is killed and removed by delete --force, and kill
// --all KILL on a paused container takes effect.
func TestDeleteForcePaused(t *testing.T) {
	e := newEnv(t)
	b := runningContainer(e, "pzdel")
	pid := e.state("pzdel").PID
	e.ok("pause", "pzdel")
	e.ok("delete", "--force", "pzdel")
	waitProcGone(t, pid)
	e.assertNoTrace(b, "pzdel")

	runningContainer(e, "pzkill")
	pid = e.state("pzkill").PID
	e.ok("pause", "pzkill")
	e.ok("kill", "--all", "pzkill", "KILL")
	waitProcGone(t, pid)
	e.waitStatus("pzkill", "stopped")
}

// ps lists the container's processes, as a table (ps's own columns) or
// a JSON array of host pids.
func TestPs(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "ps1")
	pid := e.state("ps1").PID
	r := e.ok("ps", "--format", "json", "ps1")
	var pids []int
	if err := json.Unmarshal([]byte(r.Stdout), &pids); err != nil {
		t.Fatalf("ps json: %v: %s", err, r)
	}
	found := false
	for _, p := range pids {
		found = found || p == pid
	}
	if !found {
		t.Errorf("ps json %v lacks the init %d", pids, pid)
	}
	r = e.ok("ps", "ps1")
	l := lines(r.Stdout)
	if len(l) < 2 || !strings.Contains(l[0], "PID") || !strings.Contains(r.Stdout, strconv.Itoa(pid)) {
		t.Errorf("ps table: %q", r.Stdout)
	}
	for _, line := range l[1:] {
		if strings.Contains(line, "go-build") || strings.Contains(line, ".test") {
			t.Errorf("ps shows a process outside the container: %q", line)
		}
	}
	r = e.ok("ps", "ps1", "-o", "pid,comm")
	if l := lines(r.Stdout); len(l) < 2 || strings.Fields(l[0])[0] != "PID" || !strings.Contains(r.Stdout, "sleep") {
		t.Errorf("ps with ps options: %q", r.Stdout)
	}
	e.failsWith("invalid format option", "ps", "--format", "yaml", "ps1")
}

// events --stats prints one stats event with the cgroup's counters.
func TestEventsStats(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "ev", withResources(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptrI64(100 << 20)}, Pids: &specs.LinuxPids{Limit: ptrI64(99)},
	}))
	r := e.ok("events", "--stats", "ev")
	var ev struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Data struct {
			CPU struct {
				Usage struct {
					Total uint64 `json:"total"`
				} `json:"usage"`
			} `json:"cpu"`
			Memory struct {
				Usage struct {
					Usage uint64 `json:"usage"`
					Limit uint64 `json:"limit"`
				} `json:"usage"`
				Raw map[string]uint64 `json:"raw"`
			} `json:"memory"`
			Pids struct {
				Current uint64 `json:"current"`
				Limit   uint64 `json:"limit"`
			} `json:"pids"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &ev); err != nil {
		t.Fatalf("events --stats: %v: %s", err, r)
	}
	d := ev.Data
	if ev.Type != "stats" || ev.ID != "ev" || d.CPU.Usage.Total == 0 || d.Memory.Usage.Usage == 0 ||
		d.Memory.Usage.Limit != 100<<20 || d.Pids.Current == 0 || d.Pids.Limit != 99 || len(d.Memory.Raw) == 0 {
		t.Errorf("stats event: %s", r.Stdout)
	}
	e.failsWith("duration interval must be greater than 0", "events", "--interval", "0s", "ev")
}

// The events stream reports an OOM kill in the container.
func TestEventsOOM(t *testing.T) {
	e := newEnv(t)
	lim := int64(32 << 20)
	runningContainer(e, "oom", withResources(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &lim, Swap: &lim},
	}))
	cmd := exec.Command(runtimeBin, "--root", e.root, "events", "--interval", "50ms", "oom")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// The first stats event means the OOM watch is in place.
	if l, ok := <-lines; !ok || !strings.Contains(l, `"type":"stats"`) {
		t.Fatalf("first event: %q", l)
	}
	// tail keeps an endless "line" of zeros in memory.
	r := e.run("exec", "oom", "sh", "-c", "head -c 200m /dev/zero | tail")
	if r.Code == 0 {
		t.Errorf("the memory hog survived a 32MiB limit: %s", r)
	}
	for l := range lines {
		if strings.Contains(l, `"type":"oom"`) {
			if !strings.Contains(l, `"id":"oom"`) {
				t.Errorf("oom event: %s", l)
			}
			return
		}
	}
	t.Errorf("no oom event")
}

// update changes limits from flags and from a resources file, and the new
// values are what later updates build on.
func TestUpdate(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "up", withResources(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptrI64(64 << 20)}, Pids: &specs.LinuxPids{Limit: ptrI64(50)},
		CPU: &specs.LinuxCPU{Shares: ptrU64(512)},
	}))
	pid := e.state("up").PID
	e.ok("update", "--memory", "100M", "--pids-limit", "20", "--cpu-quota", "30000", "--cpu-period", "100000", "up")
	mem, quota := "memory.limit_in_bytes", cgRead(t, pid, "cpu", "cpu.cfs_quota_us")
	if unifiedHost() {
		mem, quota = "memory.max", cgRead(t, pid, "cpu", "cpu.max")
	}
	if got := cgRead(t, pid, "memory", mem); got != strconv.Itoa(100<<20) {
		t.Errorf("%s after update: %q", mem, got)
	}
	if got := cgRead(t, pid, "pids", "pids.max"); got != "20" {
		t.Errorf("pids.max after update: %q", got)
	}
	if quota != "30000" && quota != "30000 100000" {
		t.Errorf("cpu quota after update: %q", quota)
	}
	// From a file (and stdin): memory and swap together.
	f := filepath.Join(e.dir, "res.json")
	os.WriteFile(f, []byte(`{"memory":{"limit":209715200,"swap":314572800},"pids":{"limit":30}}`), 0o644)
	e.ok("update", "-r", f, "up")
	if got := cgRead(t, pid, "memory", mem); got != "209715200" {
		t.Errorf("%s after update -r: %q", mem, got)
	}
	if unifiedHost() {
		if got := cgRead(t, pid, "memory", "memory.swap.max"); got != strconv.Itoa(100<<20) {
			t.Errorf("memory.swap.max after update -r: %q", got)
		}
	} else if got := cgRead(t, pid, "memory", "memory.memsw.limit_in_bytes"); got != "314572800" {
		t.Errorf("memsw after update -r: %q", got)
	}
	if got := cgRead(t, pid, "pids", "pids.max"); got != "30" {
		t.Errorf("pids.max after update -r: %q", got)
	}
	// Lowering the limit below the swap limit only: memory first.
	e.ok("update", "--memory", "50M", "up")
	if got := cgRead(t, pid, "memory", mem); got != strconv.Itoa(50<<20) {
		t.Errorf("%s after lowering: %q", mem, got)
	}
	// A bad value changes nothing and names the problem.
	// husk quotes the value as Go does, runc with single quotes.
	e.failsWith(huskOrRunc(`invalid value for memory: invalid size: "lots"`, "invalid value for memory: invalid size: 'lots'"), "update", "--memory", "lots", "up")
	if got := cgRead(t, pid, "memory", mem); got != strconv.Itoa(50<<20) {
		t.Errorf("%s after a refused update: %q", mem, got)
	}
	e.failsWith("container does not exist", "update", "--pids-limit", "5", "nosuch")
}

// In an update request a zero means "unchanged", as for runc: dockerd (via
// containerd's shim) sends every field, zeros for those it does not change.
// A pids limit of 0 is not a zero of that kind: it is 1, as runc has it.
func TestUpdateZeroIsUnchanged(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "upz", withResources(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptrI64(64 << 20)}, Pids: &specs.LinuxPids{Limit: ptrI64(50)},
		CPU: &specs.LinuxCPU{Shares: ptrU64(512)},
	}))
	pid := e.state("upz").PID
	f := filepath.Join(e.dir, "res.json")
	// What `docker update --memory-reservation 32m` sends.
	os.WriteFile(f, []byte(`{"memory":{"limit":0,"reservation":33554432,"kernel":0},"cpu":{"shares":0,"quota":0,"period":0},"blockIO":{"weight":0}}`), 0o644)
	e.ok("update", "-r", f, "upz")
	mem, soft := "memory.limit_in_bytes", "memory.soft_limit_in_bytes"
	if unifiedHost() {
		mem, soft = "memory.max", "memory.low"
	}
	if got := cgRead(t, pid, "memory", mem); got != strconv.Itoa(64<<20) {
		t.Errorf("%s after an update with limit 0: %q", mem, got)
	}
	if got := cgRead(t, pid, "memory", soft); got != strconv.Itoa(32<<20) {
		t.Errorf("%s after update: %q", soft, got)
	}
	if got := cgRead(t, pid, "pids", "pids.max"); got != "50" {
		t.Errorf("pids.max after an update without pids: %q", got)
	}
	if !unifiedHost() {
		if got := cgRead(t, pid, "cpu", "cpu.shares"); got != "512" {
			t.Errorf("cpu.shares after an update with shares 0: %q", got)
		}
	}
	// And from flags.
	e.ok("update", "--memory", "0", "--cpu-share", "0", "--blkio-weight", "0", "upz")
	if got := cgRead(t, pid, "memory", mem); got != strconv.Itoa(64<<20) {
		t.Errorf("%s after update --memory 0: %q", mem, got)
	}
	if !unifiedHost() {
		if got := cgRead(t, pid, "cpu", "cpu.shares"); got != "512" {
			t.Errorf("cpu.shares after update --cpu-share 0: %q", got)
		}
	}
	e.ok("update", "--pids-limit", "0", "upz")
	if got := cgRead(t, pid, "pids", "pids.max"); got != "1" {
		t.Errorf("pids.max after update --pids-limit 0: %q, want 1", got)
	}
	os.WriteFile(f, []byte(`{"pids":{"limit":-1}}`), 0o644)
	e.ok("update", "-r", f, "upz")
	if got := cgRead(t, pid, "pids", "pids.max"); got != "max" {
		t.Errorf("pids.max after an update with limit -1: %q", got)
	}
	os.WriteFile(f, []byte(`{"pids":{"limit":0}}`), 0o644)
	e.ok("update", "-r", f, "upz")
	if got := cgRead(t, pid, "pids", "pids.max"); got != "1" {
		t.Errorf("pids.max after an update with limit 0: %q, want 1", got)
	}
}

// memory.checkBeforeUpdate refuses a limit below the current usage.
func TestUpdateCheckBeforeUpdate(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "cbu")
	f := filepath.Join(e.dir, "res.json")
	os.WriteFile(f, []byte(`{"memory":{"limit":4096,"checkBeforeUpdate":true}}`), 0o644)
	e.failsWith("usage", "update", "-r", f, "cbu")
}

// update on a stopped container fails.
func TestUpdateStopped(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	e.runDetached(b, "upstop")
	e.waitStatus("upstop", "stopped")
	e.failsWith("container not running", "update", "--pids-limit", "5", "upstop")
}

// The init sits exactly in linux.cgroupsPath in every hierarchy: clients
// find a container's stats through its init's /proc/PID/cgroup.
func TestCgroupPathExact(t *testing.T) {
	e := newEnv(t)
	b := runningContainer(e, "exact")
	if strings.Contains(b.Cgroup, ":") {
		t.Skip("systemd slice:prefix:name path")
	}
	pid := e.state("exact").PID
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range lines(string(data)) {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 || parts[1] == "name=systemd" && !exists("/sys/fs/cgroup/systemd") {
			continue
		}
		n++
		if parts[2] != b.Cgroup {
			t.Errorf("hierarchy %q: the init is in %s, not %s", parts[1], parts[2], b.Cgroup)
		}
	}
	if n == 0 {
		t.Errorf("no hierarchies in %s", data)
	}
}

// exec --ignore-paused starts a process in a paused container; it runs
// once the container is resumed.
func TestExecIgnorePaused(t *testing.T) {
	if isRunc() {
		t.Skip("runc 1.5.3 hangs: its exec'd process joins the frozen cgroup before it is ready, and exec --detach waits for it")
	}
	e := newEnv(t)
	b := runningContainer(e, "ip")
	e.ok("pause", "ip")
	e.ok("exec", "--detach", "--ignore-paused", "ip", "touch", "/out/from-exec")
	if exists(b.outFile("from-exec")) {
		t.Errorf("the exec'd process ran while the container was paused")
	}
	e.ok("resume", "ip")
	waitFile(t, b.outFile("from-exec"))
}

// Under --systemd-cgroup the resources are the scope's unit properties
// too (what `systemctl show` says and systemd keeps across reloads).
func TestSystemdUnitProperties(t *testing.T) {
	if !systemdCgroup {
		t.Skip("needs HUSK_TEST_SYSTEMD=1 (a systemd host)")
	}
	e := newEnv(t)
	b := runningContainer(e, "sdprops", withResources(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptrI64(64 << 20), Reservation: ptrI64(32 << 20)},
		CPU:    &specs.LinuxCPU{Shares: ptrU64(1024), Quota: ptrI64(50000), Period: ptrU64(100000), Cpus: "0"},
		Pids:   &specs.LinuxPids{Limit: ptrI64(50)},
	}))
	unit := filepath.Base(b.Cgroup)
	show := func() map[string]string {
		out, err := exec.Command("systemctl", "show", unit, "-p", "MemoryMax,MemoryLow,CPUWeight,CPUQuotaPerSecUSec,TasksMax,AllowedCPUs,Delegate").Output()
		if err != nil {
			t.Fatalf("systemctl show %s: %v", unit, err)
		}
		m := map[string]string{}
		for _, l := range lines(string(out)) {
			k, v, _ := strings.Cut(l, "=")
			m[k] = v
		}
		return m
	}
	want := map[string]string{"MemoryMax": strconv.Itoa(64 << 20), "MemoryLow": strconv.Itoa(32 << 20),
		"CPUWeight": "100", "CPUQuotaPerSecUSec": "500ms", "TasksMax": "50", "AllowedCPUs": "0", "Delegate": "yes"}
	got := show()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s=%q, want %q", unit, k, got[k], v)
		}
	}
	// update reaches the unit as well.
	e.ok("update", "--memory", "100M", "--pids-limit", "20", "sdprops")
	got = show()
	if got["MemoryMax"] != strconv.Itoa(100<<20) || got["TasksMax"] != "20" {
		t.Errorf("after update: %v", got)
	}
	e.ok("delete", "--force", "sdprops")
	if out, _ := exec.Command("systemctl", "is-active", unit).Output(); strings.TrimSpace(string(out)) == "active" {
		t.Errorf("%s is still active after delete", unit)
	}
}
