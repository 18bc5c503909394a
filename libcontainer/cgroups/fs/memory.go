package fs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"golang.org/x/sys/unix"
)

const (
	memLimit = "memory.limit_in_bytes"
	memswLim = "memory.memsw.limit_in_bytes"
)

func (m *Manager) setMemory(r *configs.Resources) error {
	if r.MemoryLimit == nil && r.MemorySwap == nil && r.MemoryReservation == nil &&
		r.MemorySwappiness == nil && !r.OOMKillDisable {
		return nil
	}
	dir, err := m.need("memory", "memory")
	if err != nil {
		return err
	}
	limit, swap := r.MemoryLimit, r.MemorySwap
	// An unlimited memory with swap unset means both unlimited, as runc.
	if limit != nil && *limit == -1 && swap == nil && cgroups.Exists(dir, memswLim) {
		swap = limit
	}
	if swap != nil && !cgroups.Exists(dir, memswLim) {
		return fmt.Errorf("cgroup: linux.resources.memory.swap is set but this kernel has no swap accounting (%s)", memswLim)
	}
	writeLimit := func() error {
		if limit == nil {
			return nil
		}
		err := cgroups.WriteFile(dir, memLimit, strconv.FormatInt(*limit, 10))
		if errors.Is(err, unix.EBUSY) {
			usage, _ := cgroups.ReadUint(dir, "memory.usage_in_bytes")
			peak, _ := cgroups.ReadUint(dir, "memory.max_usage_in_bytes")
			return fmt.Errorf("cgroup: unable to set memory limit to %d (current usage: %d, peak usage: %d)", *limit, usage, peak)
		}
		return err
	}
	writeSwap := func() error {
		if swap == nil {
			return nil
		}
		return cgroups.WriteFile(dir, memswLim, strconv.FormatInt(*swap, 10))
	}
	// memsw must stay >= memory at every step: raise memsw first when it
	// grows, lower memory first when it shrinks.
	first, second := writeLimit, writeSwap
	if swap != nil && limit != nil {
		cur, err := cgroups.ReadUint(dir, memLimit)
		if err != nil {
			return err
		}
		if *swap == -1 || cur < uint64(*swap) {
			first, second = writeSwap, writeLimit
		}
	}
	if err := first(); err != nil {
		return err
	}
	if err := second(); err != nil {
		return err
	}
	if v := r.MemoryReservation; v != nil {
		if err := cgroups.WriteFile(dir, "memory.soft_limit_in_bytes", strconv.FormatInt(*v, 10)); err != nil {
			return err
		}
	}
	if v := r.MemorySwappiness; v != nil {
		if err := cgroups.WriteFile(dir, "memory.swappiness", strconv.FormatUint(*v, 10)); err != nil {
			return err
		}
	}
	if r.OOMKillDisable {
		if err := cgroups.WriteFile(dir, "memory.oom_control", "1"); err != nil {
			return err
		}
	}
	return nil
}

func memoryEntry(dir, prefix string) cgroups.MemoryEntry {
	var e cgroups.MemoryEntry
	e.Usage, _ = cgroups.ReadUint(dir, prefix+".usage_in_bytes")
	e.Max, _ = cgroups.ReadUint(dir, prefix+".max_usage_in_bytes")
	e.Failcnt, _ = cgroups.ReadUint(dir, prefix+".failcnt")
	e.Limit, _ = cgroups.ReadUint(dir, prefix+".limit_in_bytes")
	return e
}

func (m *Manager) memoryStats(s *cgroups.Stats) error {
	dir := m.path("memory")
	if dir == "" {
		return nil
	}
	raw, err := cgroups.ReadKeyValues(dir, "memory.stat")
	if err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	s.Memory.Raw = raw
	s.Memory.Cache = raw["cache"]
	s.Memory.Usage = memoryEntry(dir, "memory")
	s.Memory.Swap = memoryEntry(dir, "memory.memsw")
	s.Memory.Kernel = memoryEntry(dir, "memory.kmem")
	s.Memory.KernelTCP = memoryEntry(dir, "memory.kmem.tcp")
	return nil
}

// OOM implements cgroups.Manager with the v1 OOM notifier: an eventfd
// registered on memory.oom_control through cgroup.event_control.
func (m *Manager) OOM() (<-chan struct{}, func(), error) {
	dir := m.path("memory")
	if dir == "" {
		return nil, nil, errors.New("cgroup: no memory controller: no OOM notifications")
	}
	ctl, err := os.Open(filepath.Join(dir, "memory.oom_control"))
	if err != nil {
		return nil, nil, fmt.Errorf("cgroup: %w", err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		ctl.Close()
		return nil, nil, fmt.Errorf("cgroup: eventfd: %w", err)
	}
	ev := os.NewFile(uintptr(efd), "oom-eventfd")
	if err := cgroups.WriteFile(dir, "cgroup.event_control", fmt.Sprintf("%d %d", efd, ctl.Fd())); err != nil {
		ev.Close()
		ctl.Close()
		return nil, nil, err
	}
	ch := make(chan struct{}, 1)
	go func() {
		defer close(ch)
		buf := make([]byte, 8)
		for {
			if _, err := ev.Read(buf); err != nil {
				return
			}
			// The eventfd also fires when the cgroup is removed.
			if _, err := os.Lstat(dir); err != nil {
				return
			}
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	return ch, func() { ev.Close(); ctl.Close() }, nil
}
