// Package manager picks the cgroup driver for this host.
package manager

import (
	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/cgroups/fs"
	"github.com/husk-runtime/husk/libcontainer/cgroups/fs2"
	"github.com/husk-runtime/husk/libcontainer/configs"
)

// New returns the manager for a new container's cgroup.
func New(cg *configs.Cgroup) (cgroups.Manager, error) {
	if cgroups.IsUnified() {
		return fs2.New(cg)
	}
	return fs.New(cg)
}

// Load returns the manager for the paths recorded in a container's state.
func Load(paths map[string]string) cgroups.Manager {
	if cgroups.IsUnified() {
		return fs2.Load(paths[""])
	}
	return fs.Load(paths)
}
