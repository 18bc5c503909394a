// Package fs2 is the cgroup v2 (unified hierarchy) driver.
package fs2

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
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
	ownDir, _ := own.Unified()
	return &Manager{dir: cgroups.Join(cgroups.Root, "/", ownDir, cg.Path)}, nil
}

// Load returns a manager for a path recorded in state.json.
func Load(dir string) *Manager { return &Manager{dir: dir} }

// Paths implements cgroups.Manager.
func (m *Manager) Paths() cgroups.Paths {
	return cgroups.Paths{string(cgroups.UnifiedHierarchy): m.dir}
}

// Placement implements cgroups.Manager: a new process is born in the
// cgroup (CLONE_INTO_CGROUP).
func (m *Manager) Placement() cgroups.Placement { return cgroups.BornInside }

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
			on, _ := cgroups.ReadFile(cur, "cgroup.subtree_control")
			enabled := map[string]bool{}
			for _, c := range strings.Fields(on) {
				enabled[c] = true
			}
			var plus []string
			for _, c := range strings.Fields(avail) {
				if !enabled[c] {
					plus = append(plus, "+"+c)
				}
			}
			if len(plus) > 0 {
				if err := cgroups.WriteFile(cur, "cgroup.subtree_control", strings.Join(plus, " ")); err != nil {
					// A cgroup with processes of its own (not the root)
					// cannot hand controllers down; the limits that need
					// them will say so.
					slog.Debug("cannot enable controllers", "cgroup", cur, "err", err)
				}
			}
		}
		cur = filepath.Join(cur, elem)
		if err := os.Mkdir(cur, 0o755); err != nil && !os.IsExist(err) {
			return fmt.Errorf("cgroup: %w", err)
		}
	}
	return nil
}

// Pids implements cgroups.Manager.
func (m *Manager) Pids() ([]int, error) { return cgroups.ReadProcs(m.dir) }

// Destroy implements cgroups.Manager.
func (m *Manager) Destroy() error { return cgroups.RemovePath(m.dir) }
