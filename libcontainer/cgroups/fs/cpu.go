package fs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"golang.org/x/sys/unix"
)

func (m *Manager) setCPU(r *configs.Resources) error {
	if r.CPUShares == nil && r.CPUQuota == nil && r.CPUPeriod == nil && r.CPUBurst == nil &&
		r.CPURtRuntime == nil && r.CPURtPeriod == nil && r.CPUIdle == nil {
		return nil
	}
	dir, err := m.need("cpu", "cpu")
	if err != nil {
		return err
	}
	// cpu.idle first: the kernel refuses cpu.shares while the group is
	// idle, and resets them to the default when it stops being idle. So
	// idle 1→0 then the shares; with idle 1, no shares (they would not
	// apply; they are written when idle goes back to 0).
	if v := r.CPUIdle; v != nil {
		if err := cgroups.WriteFile(dir, "cpu.idle", strconv.FormatInt(*v, 10)); err != nil {
			return err
		}
	}
	if v := r.CPUShares; v != nil && *v != 0 && !r.Idle() {
		if err := cgroups.WriteFile(dir, "cpu.shares", strconv.FormatUint(*v, 10)); err != nil {
			return err
		}
		// The kernel clamps out-of-range shares silently; say so, as runc.
		got, err := cgroups.ReadUint(dir, "cpu.shares")
		if err != nil {
			return err
		}
		switch {
		case *v > got:
			return fmt.Errorf("cgroup: cpu shares %d: the maximum allowed is %d", *v, got)
		case *v < got:
			return fmt.Errorf("cgroup: cpu shares %d: the minimum allowed is %d", *v, got)
		}
	}
	var period, quota string
	if r.CPUPeriod != nil && *r.CPUPeriod != 0 {
		period = strconv.FormatUint(*r.CPUPeriod, 10)
	}
	if r.CPUQuota != nil && *r.CPUQuota != 0 {
		quota = strconv.FormatInt(*r.CPUQuota, 10)
	}
	if err := pair(dir, "cpu.cfs_period_us", period, "cpu.cfs_quota_us", quota); err != nil {
		return err
	}
	if v := r.CPUBurst; v != nil {
		if err := cgroups.WriteFile(dir, "cpu.cfs_burst_us", strconv.FormatUint(*v, 10)); err != nil {
			return err
		}
	}
	period, quota = "", ""
	if r.CPURtPeriod != nil && *r.CPURtPeriod != 0 {
		period = strconv.FormatUint(*r.CPURtPeriod, 10)
	}
	if r.CPURtRuntime != nil && *r.CPURtRuntime != 0 {
		quota = strconv.FormatInt(*r.CPURtRuntime, 10)
	}
	return pair(dir, "cpu.rt_period_us", period, "cpu.rt_runtime_us", quota)
}

// pair writes a period and its budget (either may be ""): period first, or
// the budget first if the kernel refuses the period with the current
// budget (a shorter period than the budget it holds).
func pair(dir, pfile, period, bfile, budget string) error {
	if period == "" {
		if budget == "" {
			return nil
		}
		return cgroups.WriteFile(dir, bfile, budget)
	}
	err := cgroups.WriteFile(dir, pfile, period)
	if err == nil {
		if budget == "" {
			return nil
		}
		return cgroups.WriteFile(dir, bfile, budget)
	}
	if budget == "" || !errors.Is(err, unix.EINVAL) {
		return err
	}
	if err := cgroups.WriteFile(dir, bfile, budget); err != nil {
		return err
	}
	return cgroups.WriteFile(dir, pfile, period)
}

func (m *Manager) setCpuset(r *configs.Resources) error {
	if r.CPUs == "" && r.Mems == "" {
		return nil
	}
	dir, err := m.need("cpuset", "cpu.cpus/mems")
	if err != nil {
		return err
	}
	if r.CPUs != "" {
		if err := cgroups.WriteFile(dir, "cpuset.cpus", r.CPUs); err != nil {
			return err
		}
	}
	if r.Mems != "" {
		if err := cgroups.WriteFile(dir, "cpuset.mems", r.Mems); err != nil {
			return err
		}
	}
	return nil
}

// clockTicks is USER_HZ, the unit of cpuacct.stat: 100 on every Linux
// architecture husk builds for.
const clockTicks = 100

func (m *Manager) cpuStats(s *cgroups.Stats) error {
	if dir := m.path("cpu"); dir != "" {
		st, err := cgroups.ReadKeyValues(dir, "cpu.stat")
		if err != nil {
			return fmt.Errorf("cgroup: %w", err)
		}
		s.CPU.Throttling = cgroups.Throttling{
			Periods: st["nr_periods"], ThrottledPeriods: st["nr_throttled"], ThrottledTime: st["throttled_time"],
		}
	}
	if dir := m.path("cpuacct"); dir != "" {
		u := &s.CPU.Usage
		var err error
		if u.Total, err = cgroups.ReadUint(dir, "cpuacct.usage"); err != nil {
			return fmt.Errorf("cgroup: %w", err)
		}
		u.Percpu = readUints(dir, "cpuacct.usage_percpu")
		u.PercpuKernel = readUints(dir, "cpuacct.usage_percpu_sys")
		u.PercpuUser = readUints(dir, "cpuacct.usage_percpu_user")
		if st, err := cgroups.ReadKeyValues(dir, "cpuacct.stat"); err == nil {
			u.User = st["user"] * (1e9 / clockTicks)
			u.Kernel = st["system"] * (1e9 / clockTicks)
		}
	}
	if dir := m.path("cpuset"); dir != "" {
		c := &s.CPUSet
		cpus, _ := cgroups.ReadFile(dir, "cpuset.cpus")
		c.CPUs, _ = cgroups.ParseList(cpus)
		mems, _ := cgroups.ReadFile(dir, "cpuset.mems")
		c.Mems, _ = cgroups.ParseList(mems)
		for f, p := range map[string]*uint64{
			"cpu_exclusive": &c.CPUExclusive, "mem_hardwall": &c.MemHardwall, "mem_exclusive": &c.MemExclusive,
			"memory_migrate": &c.MemoryMigrate, "memory_spread_page": &c.MemorySpreadPage,
			"memory_spread_slab": &c.MemorySpreadSlab, "memory_pressure": &c.MemoryPressure,
			"sched_load_balance": &c.SchedLoadBalance,
		} {
			*p, _ = cgroups.ReadUint(dir, "cpuset."+f)
		}
		if v, err := cgroups.ReadFile(dir, "cpuset.sched_relax_domain_level"); err == nil {
			c.SchedRelaxDomainLevel, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return nil
}

// readUints reads a file of space-separated numbers.
func readUints(dir, file string) []uint64 {
	s, err := cgroups.ReadFile(dir, file)
	if err != nil {
		return nil
	}
	var out []uint64
	for _, f := range strings.Fields(s) {
		v, err := cgroups.ParseUint(f)
		if err != nil {
			return nil
		}
		out = append(out, v)
	}
	return out
}
