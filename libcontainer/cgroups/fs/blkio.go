package fs

import (
	"fmt"
	"strconv"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/configs"
)

func (m *Manager) setBlkio(r *configs.Resources) error {
	if r.BlkioWeight == nil && r.BlkioLeafWeight == nil && len(r.BlkioWeightDevice) == 0 &&
		len(r.BlkioThrottleReadBps) == 0 && len(r.BlkioThrottleWriteBps) == 0 &&
		len(r.BlkioThrottleReadIOPS) == 0 && len(r.BlkioThrottleWriteIOPS) == 0 {
		return nil
	}
	dir, err := m.need("blkio", "blockIO")
	if err != nil {
		return err
	}
	// CFQ's files, or BFQ's (blkio.bfq.*, no leaf weights) on kernels
	// without CFQ (5.0+).
	weight, weightDev := "blkio.weight", "blkio.weight_device"
	bfq := !cgroups.Exists(dir, weight) && cgroups.Exists(dir, "blkio.bfq.weight")
	if bfq {
		weight, weightDev = "blkio.bfq.weight", "blkio.bfq.weight_device"
	}
	// Only a weight that is set and not 0 needs the files: 0 means no
	// weight (docker sends it), as for runc.
	set := func(v *uint16) bool { return v != nil && *v != 0 }
	needWeights := set(r.BlkioWeight) || set(r.BlkioLeafWeight)
	for _, d := range r.BlkioWeightDevice {
		needWeights = needWeights || set(d.Weight) || set(d.LeafWeight)
	}
	if needWeights && !cgroups.Exists(dir, weight) {
		return fmt.Errorf("cgroup: linux.resources.blockIO weights are set but this kernel has no I/O scheduler with weights (no %s nor blkio.bfq.weight)", weight)
	}
	if v := r.BlkioWeight; v != nil && *v != 0 {
		if err := cgroups.WriteFile(dir, weight, strconv.FormatUint(uint64(*v), 10)); err != nil {
			return err
		}
	}
	if v := r.BlkioLeafWeight; v != nil && *v != 0 {
		if bfq {
			return fmt.Errorf("cgroup: linux.resources.blockIO.leafWeight is not supported by the BFQ scheduler")
		}
		if err := cgroups.WriteFile(dir, "blkio.leaf_weight", strconv.FormatUint(uint64(*v), 10)); err != nil {
			return err
		}
	}
	for _, d := range r.BlkioWeightDevice {
		if set(d.Weight) {
			if err := cgroups.WriteFile(dir, weightDev, fmt.Sprintf("%d:%d %d", d.Major, d.Minor, *d.Weight)); err != nil {
				return err
			}
		}
		if set(d.LeafWeight) {
			if bfq {
				return fmt.Errorf("cgroup: linux.resources.blockIO.weightDevice leafWeight is not supported by the BFQ scheduler")
			}
			if err := cgroups.WriteFile(dir, "blkio.leaf_weight_device", fmt.Sprintf("%d:%d %d", d.Major, d.Minor, *d.LeafWeight)); err != nil {
				return err
			}
		}
	}
	for file, ds := range map[string][]configs.ThrottleDevice{
		"blkio.throttle.read_bps_device":   r.BlkioThrottleReadBps,
		"blkio.throttle.write_bps_device":  r.BlkioThrottleWriteBps,
		"blkio.throttle.read_iops_device":  r.BlkioThrottleReadIOPS,
		"blkio.throttle.write_iops_device": r.BlkioThrottleWriteIOPS,
	} {
		for _, d := range ds {
			if err := cgroups.WriteFile(dir, file, fmt.Sprintf("%d:%d %d", d.Major, d.Minor, d.Rate)); err != nil {
				return err
			}
		}
	}
	return nil
}

// blkioEntries parses a blkio stats file: "MAJ:MIN Op value" lines (and a
// "Total n" line, skipped), or "MAJ:MIN value" for the unnamed counters.
func blkioEntries(dir, file string) []cgroups.BlkioEntry {
	s, err := cgroups.ReadFile(dir, file)
	if err != nil {
		return nil
	}
	var out []cgroups.BlkioEntry
	for _, l := range cgroups.DeviceLines(s) {
		e := cgroups.BlkioEntry{Major: l.Major, Minor: l.Minor}
		v := l.Fields[0]
		if len(l.Fields) == 2 {
			e.Op, v = l.Fields[0], l.Fields[1]
		}
		e.Value, _ = strconv.ParseUint(v, 10, 64)
		out = append(out, e)
	}
	return out
}

func (m *Manager) blkioStats(s *cgroups.Stats) {
	dir := m.path("blkio")
	if dir == "" {
		return
	}
	b := &s.Blkio
	switch {
	case cgroups.Exists(dir, "blkio.io_service_bytes_recursive"): // CFQ
		b.IoServiceBytesRecursive = blkioEntries(dir, "blkio.io_service_bytes_recursive")
		b.IoServicedRecursive = blkioEntries(dir, "blkio.io_serviced_recursive")
		b.IoQueuedRecursive = blkioEntries(dir, "blkio.io_queued_recursive")
		b.IoServiceTimeRecursive = blkioEntries(dir, "blkio.io_service_time_recursive")
		b.IoWaitTimeRecursive = blkioEntries(dir, "blkio.io_wait_time_recursive")
		b.IoMergedRecursive = blkioEntries(dir, "blkio.io_merged_recursive")
		b.IoTimeRecursive = blkioEntries(dir, "blkio.time_recursive")
		b.SectorsRecursive = blkioEntries(dir, "blkio.sectors_recursive")
	case cgroups.Exists(dir, "blkio.bfq.io_service_bytes_recursive"):
		b.IoServiceBytesRecursive = blkioEntries(dir, "blkio.bfq.io_service_bytes_recursive")
		b.IoServicedRecursive = blkioEntries(dir, "blkio.bfq.io_serviced_recursive")
	default:
		b.IoServiceBytesRecursive = blkioEntries(dir, "blkio.throttle.io_service_bytes_recursive")
		b.IoServicedRecursive = blkioEntries(dir, "blkio.throttle.io_serviced_recursive")
	}
}
