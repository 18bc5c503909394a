// Package fs2 is the cgroup v2 (unified hierarchy) driver.
package fs2

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/cgroups/devices"
	"github.com/husk-runtime/husk/libcontainer/configs"
)

// Manager is the v2 manager.
type Manager struct {
	dir string
}

// New resolves the container's cgroup directory.
func New(cg *configs.Cgroup) (*Manager, error) {
	own, err := cgroups.OwnCgroups()
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	return &Manager{dir: cgroups.Join(cgroups.Root, "/", own[""], cg.Path)}, nil
}

// Load returns a manager for a path recorded in state.json.
func Load(dir string) *Manager { return &Manager{dir: dir} }

// Paths implements cgroups.Manager.
func (m *Manager) Paths() map[string]string { return map[string]string{"": m.dir} }

// Apply implements cgroups.Manager: it creates the cgroup, enables the
// parent's controllers down to it, and moves pid in.
func (m *Manager) Apply(pid int) error {
	if err := m.Create(); err != nil {
		return err
	}
	return cgroups.WriteFile(m.dir, "cgroup.procs", strconv.Itoa(pid))
}

// Create implements cgroups.Manager.
func (m *Manager) Create() error {
	rel, err := filepath.Rel(cgroups.Root, m.dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("cgroup: %s is not under %s", m.dir, cgroups.Root)
	}
	cur := cgroups.Root
	for _, elem := range strings.Split(rel, "/") {
		// Enable in cur every controller it has, so the child gets them.
		if avail, err := cgroups.ReadFile(cur, "cgroup.controllers"); err == nil && avail != "" {
			var plus []string
			for _, c := range strings.Fields(avail) {
				plus = append(plus, "+"+c)
			}
			if err := cgroups.WriteFile(cur, "cgroup.subtree_control", strings.Join(plus, " ")); err != nil {
				slog.Debug("cannot enable controllers", "cgroup", cur, "err", err)
			}
		}
		cur = filepath.Join(cur, elem)
		if err := os.Mkdir(cur, 0o755); err != nil && !os.IsExist(err) {
			return fmt.Errorf("cgroup: %w", err)
		}
	}
	return nil
}

// Set implements cgroups.Manager.
func (m *Manager) Set(r *configs.Resources) error {
	if r == nil {
		return nil
	}
	if len(r.Devices) > 0 {
		if err := devices.Apply(m.dir, r.Devices); err != nil {
			return err
		}
	}
	type write struct{ file, value string }
	var ws []write
	i64 := func(v int64) string {
		if v < 0 {
			return "max"
		}
		return strconv.FormatInt(v, 10)
	}
	if r.MemoryLimit != nil {
		ws = append(ws, write{"memory.max", i64(*r.MemoryLimit)})
	}
	if r.MemoryReservation != nil {
		ws = append(ws, write{"memory.low", i64(*r.MemoryReservation)})
	}
	if r.MemorySwap != nil {
		swap := *r.MemorySwap
		if swap > 0 && r.MemoryLimit != nil && *r.MemoryLimit > 0 {
			swap -= *r.MemoryLimit // v2's swap.max excludes memory
		}
		ws = append(ws, write{"memory.swap.max", i64(swap)})
	}
	if r.CPUShares != nil && *r.CPUShares != 0 {
		ws = append(ws, write{"cpu.weight", strconv.FormatUint(sharesToWeight(*r.CPUShares), 10)})
	}
	if r.CPUQuota != nil || r.CPUPeriod != nil {
		quota, period := "max", uint64(100000)
		if r.CPUQuota != nil && *r.CPUQuota > 0 {
			quota = strconv.FormatInt(*r.CPUQuota, 10)
		}
		if r.CPUPeriod != nil && *r.CPUPeriod != 0 {
			period = *r.CPUPeriod
		}
		ws = append(ws, write{"cpu.max", quota + " " + strconv.FormatUint(period, 10)})
	}
	if r.CPUs != "" {
		ws = append(ws, write{"cpuset.cpus", r.CPUs})
	}
	if r.Mems != "" {
		ws = append(ws, write{"cpuset.mems", r.Mems})
	}
	if r.PidsLimit != nil {
		ws = append(ws, write{"pids.max", i64(*r.PidsLimit)})
	}
	for _, w := range ws {
		if err := cgroups.WriteFile(m.dir, w.file, w.value); err != nil {
			return err
		}
	}
	return nil
}

// sharesToWeight maps cpu.shares [2, 262144] onto cpu.weight [1, 10000]
// linearly, as runc and crun do.
func sharesToWeight(s uint64) uint64 {
	return 1 + ((s-2)*9999)/262142
}

// Pids implements cgroups.Manager.
func (m *Manager) Pids() ([]int, error) { return cgroups.ReadProcs(m.dir) }

// Destroy implements cgroups.Manager.
func (m *Manager) Destroy() error { return cgroups.RemovePath(m.dir) }

// Freeze implements cgroups.Manager.
func (m *Manager) Freeze(frozen bool) error { return errors.New("cgroup: freezer not implemented yet") }

// Frozen implements cgroups.Manager.
func (m *Manager) Frozen() (bool, error) { return false, nil }

// Stats implements cgroups.Manager.
func (m *Manager) Stats() (*cgroups.Stats, error) {
	return nil, errors.New("cgroup: stats not implemented yet")
}

// OOM implements cgroups.Manager.
func (m *Manager) OOM() (<-chan struct{}, func(), error) {
	return nil, nil, errors.New("cgroup: OOM events not implemented yet")
}

// Kill implements cgroups.Manager.
func (m *Manager) Kill() error { return cgroups.ErrNoKill }
