package fs2

import (
	"errors"
	"fmt"
	"github.com/husk-runtime/husk/libcontainer/diag"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/cgroups/devices"
	"github.com/husk-runtime/husk/libcontainer/configs"
)

// Set implements cgroups.Manager: the spec's v1-style values converted to
// the v2 files as runc does, then linux.resources.unified as given.
func (m *Manager) Set(r *configs.Resources) error {
	if r == nil {
		return nil
	}
	for _, set := range []func(*configs.Resources) error{
		m.setDevices, m.setPids, m.setMemory, m.setIO, m.setCPU, m.setCpuset,
		m.setHugetlb, m.setRdma, m.setNet, m.setUnified,
	} {
		if err := set(r); err != nil {
			return err
		}
	}
	return nil
}

// write writes one file; a missing file is reported as the controller
// missing from this cgroup, with the field that asked for it.
func (m *Manager) write(field, file, value string) error {
	err := cgroups.WriteFile(m.dir, file, value)
	if err != nil && errors.Is(err, os.ErrNotExist) {
		ctrl, _, _ := strings.Cut(file, ".")
		avail, _ := cgroups.ReadFile(m.dir, "cgroup.controllers")
		if !strings.Contains(" "+avail+" ", " "+ctrl+" ") {
			return fmt.Errorf("cgroup: linux.resources.%s needs the %s controller, which %s does not have (it has: %s)", field, ctrl, m.dir, avail)
		}
		return fmt.Errorf("cgroup: linux.resources.%s: this kernel has no %s", field, filepath.Join(m.dir, file))
	}
	return err
}

// setDevices attaches the eBPF program that enforces the device rules
// (v2 has no devices controller). `update` leaves it alone, as runc.
func (m *Manager) setDevices(r *configs.Resources) error {
	if len(r.Devices) == 0 {
		return nil
	}
	if cgroups.IsDryRun() {
		cgroups.RecordDry(m.dir, "bpf:devices", fmt.Sprintf("an eBPF device program of %d rules", len(r.Devices)))
		return nil
	}
	return devices.Apply(m.dir, r.Devices)
}

func (m *Manager) setPids(r *configs.Resources) error {
	if r.PidsLimit == nil {
		return nil
	}
	return m.write("pids", "pids.max", cgroups.PidsMax(*r.PidsLimit))
}

func i64(v int64) string {
	if v < 0 {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}

func (m *Manager) setMemory(r *configs.Resources) error {
	if r.MemorySwappiness != nil {
		if err := diag.Warn(diag.Warning{Field: "linux.resources.memory.swappiness", Msg: "cgroup v2 has no memory swappiness: linux.resources.memory.swappiness is ignored"}); err != nil {
			return err
		}
	}
	if r.OOMKillDisable {
		if err := diag.Warn(diag.Warning{Field: "linux.resources.memory.disableOOMKiller", Msg: "cgroup v2 cannot disable the OOM killer: linux.resources.memory.disableOOMKiller is ignored"}); err != nil {
			return err
		}
	}
	swap, err := cgroups.SwapV2(r.MemorySwap, r.MemoryLimit)
	if err != nil {
		return fmt.Errorf("cgroup: linux.resources.memory.swap: %w", err)
	}
	// swap first: memory.max then only shrinks what is left for memory.
	// A kernel without swap accounting has no memory.swap.max: then
	// there is no swap to lift ("max") or take away ("0"), as runc takes it.
	if !cgroups.Exists(m.dir, "memory.swap.max") && (swap == "max" || swap == "0") {
		swap = ""
	}
	if swap != "" {
		if err := m.write("memory.swap", "memory.swap.max", swap); err != nil {
			return err
		}
	}
	if v := r.MemoryLimit; v != nil && *v != 0 {
		if err := m.write("memory.limit", "memory.max", i64(*v)); err != nil {
			return err
		}
	}
	if v := r.MemoryReservation; v != nil && *v != 0 {
		if err := m.write("memory.reservation", "memory.low", i64(*v)); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) setIO(r *configs.Resources) error {
	// BFQ takes blkio weights as they are; io.weight is on another scale.
	bfq := cgroups.Exists(m.dir, "io.bfq.weight")
	weight := func(w uint16) string {
		if bfq {
			return strconv.FormatUint(uint64(w), 10)
		}
		return strconv.FormatUint(cgroups.BlkioWeightToIOWeight(w), 10)
	}
	file := "io.weight"
	if bfq {
		file = "io.bfq.weight"
	}
	if v := r.BlkioWeight; v != nil && *v != 0 {
		if err := m.write("blockIO.weight", file, weight(*v)); err != nil {
			return err
		}
	}
	if v := r.BlkioLeafWeight; v != nil && *v != 0 {
		return errors.New("cgroup: linux.resources.blockIO.leafWeight has no cgroup v2 equivalent")
	}
	for _, d := range r.BlkioWeightDevice {
		if d.LeafWeight != nil {
			return errors.New("cgroup: linux.resources.blockIO.weightDevice leafWeight has no cgroup v2 equivalent")
		}
		if d.Weight != nil {
			if err := m.write("blockIO.weightDevice", file, fmt.Sprintf("%d:%d %s", d.Major, d.Minor, weight(*d.Weight))); err != nil {
				return err
			}
		}
	}
	for _, t := range []struct {
		key, field string
		ds         []configs.ThrottleDevice
	}{
		{"rbps", "throttleReadBpsDevice", r.BlkioThrottleReadBps},
		{"wbps", "throttleWriteBpsDevice", r.BlkioThrottleWriteBps},
		{"riops", "throttleReadIOPSDevice", r.BlkioThrottleReadIOPS},
		{"wiops", "throttleWriteIOPSDevice", r.BlkioThrottleWriteIOPS},
	} {
		for _, d := range t.ds {
			v := "max"
			if d.Rate != 0 {
				v = strconv.FormatUint(d.Rate, 10)
			}
			if err := m.write("blockIO."+t.field, "io.max", fmt.Sprintf("%d:%d %s=%s", d.Major, d.Minor, t.key, v)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Manager) setCPU(r *configs.Resources) error {
	if r.CPURtRuntime != nil || r.CPURtPeriod != nil {
		if (r.CPURtRuntime != nil && *r.CPURtRuntime != 0) || (r.CPURtPeriod != nil && *r.CPURtPeriod != 0) {
			return errors.New("cgroup: linux.resources.cpu.realtimeRuntime/realtimePeriod need the v1 cpu controller; cgroup v2 has no realtime group scheduling")
		}
	}
	// cpu.idle first, and no weight with idle 1: see fs's setCPU.
	if v := r.CPUIdle; v != nil {
		if err := m.write("cpu.idle", "cpu.idle", strconv.FormatInt(*v, 10)); err != nil {
			return err
		}
	}
	if v := r.CPUShares; v != nil && *v != 0 && !r.Idle() {
		if err := m.write("cpu.shares", "cpu.weight", strconv.FormatUint(cgroups.SharesToWeight(*v), 10)); err != nil {
			return err
		}
	}
	if r.CPUQuota != nil || r.CPUPeriod != nil {
		// cpu.max takes "$QUOTA $PERIOD"; an unset part keeps its value.
		cur, _ := cgroups.ReadFile(m.dir, "cpu.max")
		quota, period, _ := strings.Cut(cur, " ")
		if quota == "" {
			quota, period = "max", "100000"
		}
		if v := r.CPUQuota; v != nil && *v != 0 {
			quota = i64(*v)
		}
		if v := r.CPUPeriod; v != nil && *v != 0 {
			period = strconv.FormatUint(*v, 10)
		}
		if err := m.write("cpu.quota", "cpu.max", quota+" "+period); err != nil {
			return err
		}
	}
	if v := r.CPUBurst; v != nil {
		if err := m.write("cpu.burst", "cpu.max.burst", strconv.FormatUint(*v, 10)); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) setCpuset(r *configs.Resources) error {
	if r.CPUs != "" {
		if err := m.write("cpu.cpus", "cpuset.cpus", r.CPUs); err != nil {
			return err
		}
	}
	if r.Mems != "" {
		if err := m.write("cpu.mems", "cpuset.mems", r.Mems); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) setHugetlb(r *configs.Resources) error {
	for _, h := range r.HugetlbLimits {
		if err := cgroups.CheckHugePageSize(h.Pagesize); err != nil {
			return fmt.Errorf("cgroup: linux.resources.hugepageLimits: %w", err)
		}
		v := strconv.FormatUint(h.Limit, 10)
		if err := m.write("hugepageLimits", "hugetlb."+h.Pagesize+".max", v); err != nil {
			return err
		}
		// The reservation counter (5.7+) is what the spec means first.
		rsvd := "hugetlb." + h.Pagesize + ".rsvd.max"
		if cgroups.Exists(m.dir, rsvd) {
			if err := m.write("hugepageLimits", rsvd, v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Manager) setRdma(r *configs.Resources) error {
	for _, line := range cgroups.RdmaLines(r.Rdma) {
		if err := m.write("rdma", "rdma.max", line); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) setNet(r *configs.Resources) error {
	if r.NetClsClassid != nil || len(r.NetPrioIfpriomap) > 0 {
		return errors.New("cgroup: linux.resources.network (net_cls classID, net_prio priorities) needs cgroup v1 controllers, which a cgroup v2 host does not have")
	}
	return nil
}

func (m *Manager) setUnified(r *configs.Resources) error {
	keys := make([]string, 0, len(r.Unified))
	for k := range r.Unified {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := m.write(fmt.Sprintf("unified[%q]", k), k, r.Unified[k]); err != nil {
			return err
		}
	}
	return nil
}
