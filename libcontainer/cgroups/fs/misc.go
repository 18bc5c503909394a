package fs

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/configs"
)

func (m *Manager) setPids(r *configs.Resources) error {
	if r.PidsLimit == nil {
		return nil
	}
	dir, err := m.need("pids", "pids")
	if err != nil {
		return err
	}
	return cgroups.WriteFile(dir, "pids.max", cgroups.PidsMax(*r.PidsLimit))
}

func (m *Manager) pidsStats(s *cgroups.Stats) {
	dir := m.path("pids")
	if dir == "" {
		return
	}
	s.Pids.Current, _ = cgroups.ReadUint(dir, "pids.current")
	if l, err := cgroups.ReadUint(dir, "pids.max"); err == nil && l != ^uint64(0) {
		s.Pids.Limit = l
	}
}

func (m *Manager) setHugetlb(r *configs.Resources) error {
	if len(r.HugetlbLimits) == 0 {
		return nil
	}
	dir, err := m.need("hugetlb", "hugepageLimits")
	if err != nil {
		return err
	}
	for _, h := range r.HugetlbLimits {
		if err := cgroups.CheckHugePageSize(h.Pagesize); err != nil {
			return fmt.Errorf("cgroup: linux.resources.hugepageLimits: %w", err)
		}
		v := strconv.FormatUint(h.Limit, 10)
		if err := cgroups.WriteFile(dir, "hugetlb."+h.Pagesize+".limit_in_bytes", v); err != nil {
			return err
		}
		// The reservation counter, where the kernel has it (5.7+), is
		// what the spec means first.
		if rsvd := "hugetlb." + h.Pagesize + ".rsvd.limit_in_bytes"; cgroups.Exists(dir, rsvd) {
			if err := cgroups.WriteFile(dir, rsvd, v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Manager) hugetlbStats(s *cgroups.Stats) {
	dir := m.path("hugetlb")
	if dir == "" {
		return
	}
	s.Hugetlb = map[string]cgroups.Hugetlb{}
	for _, size := range cgroups.HugePageSizes() {
		var h cgroups.Hugetlb
		p := "hugetlb." + size
		h.Usage, _ = cgroups.ReadUint(dir, p+".usage_in_bytes")
		h.Max, _ = cgroups.ReadUint(dir, p+".max_usage_in_bytes")
		h.Failcnt, _ = cgroups.ReadUint(dir, p+".failcnt")
		s.Hugetlb[size] = h
	}
}

func (m *Manager) setNet(r *configs.Resources) error {
	if r.NetClsClassid != nil {
		dir, err := m.need("net_cls", "network.classID")
		if err != nil {
			return err
		}
		if err := cgroups.WriteFile(dir, "net_cls.classid", strconv.FormatUint(uint64(*r.NetClsClassid), 10)); err != nil {
			return err
		}
	}
	if len(r.NetPrioIfpriomap) > 0 {
		dir, err := m.need("net_prio", "network.priorities")
		if err != nil {
			return err
		}
		for _, p := range r.NetPrioIfpriomap {
			if err := cgroups.WriteFile(dir, "net_prio.ifpriomap", fmt.Sprintf("%s %d", p.Interface, p.Priority)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Manager) setRdma(r *configs.Resources) error {
	if len(r.Rdma) == 0 {
		return nil
	}
	dir, err := m.need("rdma", "rdma")
	if err != nil {
		return err
	}
	for _, line := range cgroups.RdmaLines(r.Rdma) {
		if err := cgroups.WriteFile(dir, "rdma.max", line); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) setUnified(r *configs.Resources) error {
	return checkNoUnified(r)
}

// checkNoUnified refuses linux.resources.unified, which are cgroup v2
// files, on a v1 host: an invalid configuration, as runc calls it.
func checkNoUnified(r *configs.Resources) error {
	if r == nil || len(r.Unified) == 0 {
		return nil
	}
	keys := make([]string, 0, len(r.Unified))
	for k := range r.Unified {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return errors.New("invalid configuration: linux.resources.unified (" + strings.Join(keys, ", ") + ") cannot be used on cgroup v1, which this host runs")
}
