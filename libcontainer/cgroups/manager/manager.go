// Package manager picks the cgroup driver for this host and config.
package manager

import (
	"fmt"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/cgroups/fs"
	"github.com/husk-runtime/husk/libcontainer/cgroups/fs2"
	"github.com/husk-runtime/husk/libcontainer/cgroups/systemd"
	"github.com/husk-runtime/husk/libcontainer/configs"
)

// New returns the manager for a new container's cgroup.
func New(cg *configs.Cgroup) (cgroups.Manager, error) {
	if cg.Systemd {
		m, err := systemd.New(cg)
		if err != nil {
			return nil, fmt.Errorf("--systemd-cgroup: %w", err)
		}
		return m, nil
	}
	if cgroups.IsUnified() {
		return fs2.New(cg)
	}
	return fs.New(cg)
}

// Load returns the manager of an existing container: its cgroup config
// and the paths recorded in its state.
func Load(cg *configs.Cgroup, paths cgroups.Paths) cgroups.Manager {
	if len(paths) == 0 {
		return None()
	}
	unified, _ := paths.Unified()
	if cg != nil && cg.Systemd {
		return systemd.Load(cg, unified)
	}
	if cgroups.IsUnified() {
		return fs2.Load(unified)
	}
	return fs.Load(paths)
}
