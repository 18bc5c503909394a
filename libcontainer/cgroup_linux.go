package libcontainer

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/cgroups/manager"
	"github.com/husk-runtime/husk/libcontainer/configs"
)

// cgroup returns the manager of the container's cgroup.
func (c *Container) cgroup() cgroups.Manager {
	return manager.Load(c.State.Config.Cgroup, c.State.CgroupPaths)
}

// Pause freezes every process of a created or running container.
func (c *Container) Pause() error {
	switch st := c.Status(); st {
	case Running, Created:
	default:
		return fmt.Errorf("%w: container not running or created: %s", ErrState, st)
	}
	return c.cgroup().Freeze(true)
}

// Resume thaws a paused container.
func (c *Container) Resume() error {
	if st := c.Status(); st != Paused {
		return fmt.Errorf("%w: container not paused: %s", ErrState, st)
	}
	return c.cgroup().Freeze(false)
}

// Stats reads the container's cgroup counters.
func (c *Container) Stats() (*cgroups.Stats, error) {
	if st := c.Status(); st == Stopped {
		return nil, fmt.Errorf("%w: container not running", ErrState)
	}
	return c.cgroup().Stats()
}

// Processes lists the pids (as the host sees them) in the container's
// cgroup; for a container without one (rootless), those in its pid
// namespace.
func (c *Container) Processes() ([]int, error) {
	if len(c.State.CgroupPaths) == 0 {
		if ns, ok := c.State.Config.Namespace(configs.NEWPID); ok && ns.Path == "" && c.Status() != Stopped {
			return pidsInNamespace(c.State.InitPid)
		}
	}
	return c.cgroup().Pids()
}

// pidsInNamespace lists the processes in the pid namespace of pid.
func pidsInNamespace(pid int) ([]int, error) {
	want, err := os.Readlink(configs.NEWPID.ProcPath(pid))
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ns, err := os.Readlink(configs.NEWPID.ProcPath(p)); err == nil && ns == want {
			out = append(out, p)
		}
	}
	return out, nil
}

// NotifyOOM watches the container's cgroup for OOM kills.
func (c *Container) NotifyOOM() (<-chan struct{}, func(), error) {
	return c.cgroup().OOM()
}

// Update changes the container's resources: the fields upd sets replace
// the current ones (configs.Resources.Merge), and the result is applied
// and recorded, all or nothing: it is checked before anything is written,
// and if a write fails (a value the kernel refuses) or the state cannot be
// saved, every file already written is set back, so that state.json and
// the cgroup never disagree. Device rules are not re-applied, as with runc.
func (c *Container) Update(upd *configs.Resources) error {
	if st := c.Status(); st == Stopped {
		return ErrNotRunning
	}
	cur := c.State.Config.Cgroup.Resources
	if cur == nil {
		cur = &configs.Resources{}
	}
	merged := cur.Merge(upd)
	r := &merged
	if err := cgroups.Validate(r); err != nil {
		return err
	}
	cg := c.cgroup()
	if l := r.MemoryLimit; r.CheckBeforeUpdate != nil && *r.CheckBeforeUpdate && l != nil && *l > 0 {
		// Refused before any driver (or systemd) applies a limit that
		// would have the kernel OOM-kill the container at once.
		if s, err := cg.Stats(); err == nil && s.Memory.Usage.Usage > uint64(*l) {
			return fmt.Errorf("rejecting memory limit %d: below the current usage %d (memory.checkBeforeUpdate)", *l, s.Memory.Usage.Usage)
		}
	}
	apply := *r
	apply.Devices = nil
	old := c.State.Config.Cgroup.Resources
	j := cgroups.Record()
	err := cg.Set(&apply)
	j.Close()
	if err == nil {
		c.State.Config.Cgroup.Resources = r
		if err = c.save(); err != nil {
			c.State.Config.Cgroup.Resources = old
			err = fmt.Errorf("write state: %w", err)
		}
	}
	if err != nil {
		slog.Debug("update failed: setting the cgroup back", "err", err)
		if uerr := j.Undo(); uerr != nil {
			slog.Warn("setting the cgroup back after a failed update: "+uerr.Error()+": the cgroup and state.json may disagree", "container", c.State.ID)
		}
		if p, ok := cg.(interface {
			SetProperties(*configs.Resources) error
		}); ok && old != nil {
			if perr := p.SetProperties(old); perr != nil {
				slog.Warn("setting the unit's properties back after a failed update: " + perr.Error())
			}
		}
		return err
	}
	return nil
}
