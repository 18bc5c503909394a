package manager

import (
	"errors"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/configs"
)

// errNoCgroup is the answer of a container that has no cgroup.
var errNoCgroup = errors.New("cgroup: the container has no cgroup of its own (created rootless, where husk may not make one)")

// none is the manager of a rootless container that has no cgroup: an
// unprivileged user may not create one unless it was delegated, and a
// config without limits does not need one.
type none struct{}

// None returns the manager of a container without a cgroup.
func None() cgroups.Manager { return none{} }

func (none) Create() error                         { return nil }
func (none) Apply(int) error                       { return nil }
func (none) Set(r *configs.Resources) error        { return nil }
func (none) Paths() cgroups.Paths                  { return cgroups.Paths{} }
func (none) Placement() cgroups.Placement          { return cgroups.BornInside }
func (none) Pids() ([]int, error)                  { return nil, errNoCgroup }
func (none) Freeze(bool) error                     { return errNoCgroup }
func (none) Frozen() (bool, error)                 { return false, nil }
func (none) Stats() (*cgroups.Stats, error)        { return nil, errNoCgroup }
func (none) OOM() (<-chan struct{}, func(), error) { return nil, nil, errNoCgroup }
func (none) Kill() error                           { return cgroups.ErrNoKill }
func (none) Destroy() error                        { return nil }
