package systemd

import (
	"fmt"
	"sort"
	"strings"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/configs"
)

// need is a field of linux.resources and the cgroup v2 controller it
// needs.
type need struct {
	field, controller string
}

// controllersNeeded lists the controllers the resources need on cgroup
// v2, each with the first field that asks for it (as fs2 writes them).
// Device rules need none (an eBPF program); what v2 has no file for at all
// (network, realtime) is fs2's to refuse.
func controllersNeeded(r *configs.Resources) []need {
	if r == nil {
		return nil
	}
	var out []need
	seen := map[string]bool{}
	add := func(field, ctrl string, set bool) {
		if set && !seen[ctrl] {
			seen[ctrl] = true
			out = append(out, need{"linux.resources." + field, ctrl})
		}
	}
	nz := func(v *int64) bool { return v != nil && *v != 0 }
	swap, _ := cgroups.SwapV2(r.MemorySwap, r.MemoryLimit)
	add("memory.limit", "memory", nz(r.MemoryLimit))
	add("memory.reservation", "memory", nz(r.MemoryReservation))
	add("memory.swap", "memory", swap != "")
	add("pids.limit", "pids", r.PidsLimit != nil)
	add("cpu.shares", "cpu", r.CPUShares != nil && *r.CPUShares != 0)
	add("cpu.quota", "cpu", nz(r.CPUQuota))
	add("cpu.period", "cpu", r.CPUPeriod != nil && *r.CPUPeriod != 0)
	add("cpu.burst", "cpu", r.CPUBurst != nil)
	add("cpu.idle", "cpu", r.CPUIdle != nil)
	add("cpu.cpus", "cpuset", r.CPUs != "")
	add("cpu.mems", "cpuset", r.Mems != "")
	add("blockIO.weight", "io", r.BlkioWeight != nil && *r.BlkioWeight != 0)
	add("blockIO.weightDevice", "io", len(r.BlkioWeightDevice) > 0)
	add("blockIO.throttleReadBpsDevice", "io", len(r.BlkioThrottleReadBps) > 0)
	add("blockIO.throttleWriteBpsDevice", "io", len(r.BlkioThrottleWriteBps) > 0)
	add("blockIO.throttleReadIOPSDevice", "io", len(r.BlkioThrottleReadIOPS) > 0)
	add("blockIO.throttleWriteIOPSDevice", "io", len(r.BlkioThrottleWriteIOPS) > 0)
	add("hugepageLimits", "hugetlb", len(r.HugetlbLimits) > 0)
	add("rdma", "rdma", len(r.Rdma) > 0)
	keys := make([]string, 0, len(r.Unified))
	for k := range r.Unified {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		// cgroup.* files are the core's, not a controller's.
		if ctrl, _, _ := strings.Cut(k, "."); ctrl != "cgroup" {
			add(fmt.Sprintf("unified[%q]", k), ctrl, true)
		}
	}
	return out
}

// checkDelegated refuses resources that need a controller the user's
// systemd instance was not given: its cgroup's cgroup.controllers (what
// user@UID.service's Delegate= and its slice let through) bounds what any
// of its units can have. managerCG is the manager's cgroup path in the
// hierarchy mounted at root.
func checkDelegated(r *configs.Resources, root, managerCG string) error {
	needs := controllersNeeded(r)
	if len(needs) == 0 {
		return nil
	}
	avail, err := cgroups.ReadFile(root+managerCG, "cgroup.controllers")
	if err != nil {
		return fmt.Errorf("rootless: the controllers of the user's systemd instance: %w", err)
	}
	have := map[string]bool{}
	for _, c := range strings.Fields(avail) {
		have[c] = true
	}
	for _, n := range needs {
		if !have[n.controller] {
			if avail == "" {
				avail = "none"
			}
			return fmt.Errorf("%s needs the %s controller, which is not delegated to the user's systemd instance (its cgroup %s has: %s)", n.field, n.controller, managerCG, avail)
		}
	}
	return nil
}
