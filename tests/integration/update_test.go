package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// update is all or nothing: values that cannot go together are refused
// before anything is written, and a value the kernel refuses partway (a
// memory limit below the usage, written after the cpuset) has what was
// written before it set back; state.json is never rewritten by a failed
// update. A good update after them applies and is recorded.
func TestUpdateAllOrNothing(t *testing.T) {
	if unifiedHost() {
		t.Skip("needs cgroup v1's memory controller: v2's memory.max takes a limit below the usage (and OOM-kills) instead of refusing it")
	}
	e := newEnv(t)
	// 8 MB of anonymous memory that, with swappiness 0, cannot be
	// reclaimed: a 1 MB limit is refused (EBUSY).
	b := e.newBundle(withOut(), withShell(`x=$(head -c 8000000 /dev/zero | tr '\0' a); touch /out/ready; `+waitForever),
		withResources(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptrI64(64 << 20), Swappiness: ptrU64(0)},
			CPU: &specs.LinuxCPU{Shares: ptrU64(512)}, Pids: &specs.LinuxPids{Limit: ptrI64(100)}}))
	e.runDetached(b, "aon")
	waitFile(t, b.outFile("ready"))
	pid := e.state("aon").PID
	cpus, err := parseCPUList(cgRead(t, pid, "cpuset", "cpuset.cpus"))
	if err != nil || len(cpus) < 2 {
		t.Skipf("needs a cpuset of 2 CPUs or more to change (the container has %v, %v)", cpus, err)
	}
	one := strconv.Itoa(cpus[0])
	files := [][2]string{{"cpuset", "cpuset.cpus"}, {"memory", "memory.limit_in_bytes"}, {"memory", "memory.memsw.limit_in_bytes"},
		{"cpu", "cpu.shares"}, {"pids", "pids.max"}}
	snapshot := func() map[string]string {
		m := map[string]string{}
		for _, f := range files {
			m[f[1]] = cgRead(t, pid, f[0], f[1])
		}
		data, err := os.ReadFile(filepath.Join(e.root, "aon", "state.json"))
		if err != nil {
			t.Fatal(err)
		}
		m["state.json"] = string(data)
		return m
	}
	before := snapshot()
	unchanged := func(what string) {
		t.Helper()
		if isRunc() {
			// runc 1.5.3 sets back the new values (it "sets back" the
			// request it merged into its own config), warns "Setting
			// back cgroup configs failed", and leaves cpuset.cpus
			// changed while state.json has the old value.
			return
		}
		after := snapshot()
		for k, v := range before {
			if after[k] != v {
				t.Errorf("after %s: %s is %q, was %q", what, k, after[k], v)
			}
		}
	}

	// husk: "swap: 33554432 is below memory.limit"; runc: the kernel's
	// EINVAL on memory.memsw.limit_in_bytes.
	e.failsWith(huskOrRunc("33554432 is below", "memsw.limit_in_bytes: invalid argument"), "update", "--cpuset-cpus", one, "--memory-swap", "32M", "--pids-limit", "10", "aon")
	unchanged("a refused swap below memory")

	e.failsWith("unable to set memory limit to 1048576", "update", "--cpuset-cpus", one, "--memory", "1M", "--cpu-share", "1000", "--pids-limit", "10", "aon")
	unchanged("a memory limit the kernel refused after the cpuset was written")

	e.ok("update", "--cpuset-cpus", one, "--cpu-share", "1000", "aon")
	if got := cgRead(t, pid, "cpuset", "cpuset.cpus"); got != one {
		t.Errorf("cpuset.cpus after a good update: %q, want %s", got, one)
	}
	if got := cgRead(t, pid, "cpu", "cpu.shares"); got != "1000" {
		t.Errorf("cpu.shares after a good update: %q", got)
	}
	if after := snapshot(); after["state.json"] == before["state.json"] {
		t.Errorf("a good update did not change state.json")
	}
}

// parseCPUList parses a cpuset list ("0-3,7").
func parseCPUList(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				return nil, err
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}
