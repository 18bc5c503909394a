package fs2

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"golang.org/x/sys/unix"
)

// Stats implements cgroups.Manager: the v2 files mapped onto runc's
// stats (µs become ns; io.stat becomes the blkio counters).
func (m *Manager) Stats() (*cgroups.Stats, error) {
	s := &cgroups.Stats{}
	st, err := cgroups.ReadKeyValues(m.dir, "cpu.stat")
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	s.CPU.Usage = cgroups.CPUUsage{Total: st["usage_usec"] * 1000, User: st["user_usec"] * 1000, Kernel: st["system_usec"] * 1000}
	s.CPU.Throttling = cgroups.Throttling{Periods: st["nr_periods"], ThrottledPeriods: st["nr_throttled"], ThrottledTime: st["throttled_usec"] * 1000}
	s.CPU.PSI = cgroups.ReadPSI(m.dir, "cpu.pressure")

	if raw, err := cgroups.ReadKeyValues(m.dir, "memory.stat"); err == nil {
		mem := &s.Memory
		mem.Raw, mem.Cache = raw, raw["file"]
		mem.Usage.Usage, _ = cgroups.ReadUint(m.dir, "memory.current")
		mem.Usage.Max, _ = cgroups.ReadUint(m.dir, "memory.peak")
		mem.Usage.Limit, _ = cgroups.ReadUint(m.dir, "memory.max")
		if ev, err := cgroups.ReadKeyValues(m.dir, "memory.events"); err == nil {
			mem.Usage.Failcnt = ev["max"]
		}
		// runc reports memory+swap as "swap", as v1's memsw.
		if sw, err := cgroups.ReadUint(m.dir, "memory.swap.current"); err == nil {
			mem.Swap.Usage = sw + mem.Usage.Usage
			mem.Swap.Max, _ = cgroups.ReadUint(m.dir, "memory.swap.peak")
			if l, err := cgroups.ReadUint(m.dir, "memory.swap.max"); err == nil {
				mem.Swap.Limit = l
				if l != ^uint64(0) && mem.Usage.Limit != ^uint64(0) {
					mem.Swap.Limit = l + mem.Usage.Limit
				}
			}
		}
		mem.Kernel.Usage = raw["kernel"]
		mem.KernelTCP.Usage = raw["sock"]
		mem.PSI = cgroups.ReadPSI(m.dir, "memory.pressure")
	}

	s.Pids.Current, _ = cgroups.ReadUint(m.dir, "pids.current")
	if l, err := cgroups.ReadUint(m.dir, "pids.max"); err == nil && l != ^uint64(0) {
		s.Pids.Limit = l
	}

	m.ioStats(s)

	if cpus, err := cgroups.ReadFile(m.dir, "cpuset.cpus.effective"); err == nil {
		s.CPUSet.CPUs, _ = cgroups.ParseList(cpus)
		mems, _ := cgroups.ReadFile(m.dir, "cpuset.mems.effective")
		s.CPUSet.Mems, _ = cgroups.ParseList(mems)
	}

	if _, err := os.Stat(filepath.Join(m.dir, "hugetlb."+firstSize()+".current")); err == nil {
		s.Hugetlb = map[string]cgroups.Hugetlb{}
		for _, size := range cgroups.HugePageSizes() {
			var h cgroups.Hugetlb
			h.Usage, _ = cgroups.ReadUint(m.dir, "hugetlb."+size+".current")
			if ev, err := cgroups.ReadKeyValues(m.dir, "hugetlb."+size+".events"); err == nil {
				h.Failcnt = ev["max"]
			}
			s.Hugetlb[size] = h
		}
	}
	return s, nil
}

func firstSize() string {
	if sizes := cgroups.HugePageSizes(); len(sizes) > 0 {
		return sizes[0]
	}
	return "none"
}

// ioStats maps io.stat ("MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=..")
// onto the blkio counters, as runc.
func (m *Manager) ioStats(s *cgroups.Stats) {
	data, err := cgroups.ReadFile(m.dir, "io.stat")
	if err != nil {
		return
	}
	b := &s.Blkio
	for _, l := range cgroups.DeviceLines(data) {
		for _, kv := range l.Fields {
			k, v, _ := strings.Cut(kv, "=")
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				continue
			}
			e := cgroups.BlkioEntry{Major: l.Major, Minor: l.Minor, Value: n}
			switch k {
			case "rbytes":
				e.Op = "Read"
				b.IoServiceBytesRecursive = append(b.IoServiceBytesRecursive, e)
			case "wbytes":
				e.Op = "Write"
				b.IoServiceBytesRecursive = append(b.IoServiceBytesRecursive, e)
			case "rios":
				e.Op = "Read"
				b.IoServicedRecursive = append(b.IoServicedRecursive, e)
			case "wios":
				e.Op = "Write"
				b.IoServicedRecursive = append(b.IoServicedRecursive, e)
			}
		}
	}
	b.PSI = cgroups.ReadPSI(m.dir, "io.pressure")
}

// OOM implements cgroups.Manager: memory.events is watched with inotify
// and each rise of its oom_kill count is reported.
func (m *Manager) OOM() (<-chan struct{}, func(), error) {
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, nil, fmt.Errorf("cgroup: inotify: %w", err)
	}
	file := filepath.Join(m.dir, "memory.events")
	if _, err := unix.InotifyAddWatch(in, file, unix.IN_MODIFY); err != nil {
		unix.Close(in)
		return nil, nil, fmt.Errorf("cgroup: watch %s: %w", file, err)
	}
	f := os.NewFile(uintptr(in), "inotify")
	count := func() uint64 {
		ev, _ := cgroups.ReadKeyValues(m.dir, "memory.events")
		return ev["oom_kill"]
	}
	last := count()
	ch := make(chan struct{}, 1)
	go func() {
		defer close(ch)
		buf := make([]byte, 4096)
		for {
			if _, err := f.Read(buf); err != nil {
				return
			}
			// The watch also fires when the cgroup is removed.
			if _, err := os.Lstat(file); err != nil {
				return
			}
			if n := count(); n > last {
				last = n
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}()
	return ch, func() { f.Close() }, nil
}

// Kill implements cgroups.Manager with cgroup.kill (5.14+).
func (m *Manager) Kill() error {
	err := cgroups.WriteFile(m.dir, "cgroup.kill", "1")
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat(m.dir); serr == nil {
			return cgroups.ErrNoKill
		}
		return nil // the cgroup is gone: nothing to kill
	}
	return err
}
