package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/cgroups/manager"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/initproto"
	"github.com/husk-runtime/husk/libcontainer/nsenter"
	"github.com/husk-runtime/husk/libcontainer/seccomp"
)

// DryRun is what Create would do, worked out by Create's own code (the
// cgroup driver's Set as a dry run, the init's plan as plan.Build makes
// it) with nothing made: no state directory, cgroup, process or mount.
type DryRun struct {
	StateDir string
	// Bootstrap: the namespaces the C stage makes and joins; NewPid: the
	// pid namespace the clone makes.
	Bootstrap nsenter.Bootstrap
	NewPid    bool
	// The cgroup: its driver, its directory in each hierarchy, and every
	// write (control file or systemd property) in order.
	CgroupDriver string
	CgroupPaths  cgroups.Paths
	CgroupWrites []cgroups.Write
	// Ops is the init's plan, in order.
	Ops []initproto.Op
	// Seccomp is the compiled filter, nil without one.
	Seccomp *seccomp.Program
	Config  *configs.Config
	Process *configs.Process
}

// PlanCreate returns what Create(o) would do, or the error it would fail
// with (so far as it can be known without doing it: a mount the kernel
// refuses shows only when it is made).
func PlanCreate(o CreateOptions) (*DryRun, error) {
	if err := configs.ValidateID(o.ID); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadID, err)
	}
	dir := filepath.Join(o.Root, o.ID)
	if _, err := os.Lstat(dir); err == nil {
		return nil, ErrExist
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	cg, err := manager.New(o.Config.Cgroup)
	if err != nil {
		return nil, err
	}
	if err := checkCgroupUnused(cg); err != nil {
		return nil, err
	}
	if o.Notify {
		addNotify(o, dir)
	}
	d := &DryRun{StateDir: dir, Config: o.Config, Process: o.Process, CgroupPaths: cg.Paths(), NewPid: cloneNewPid(o.Config)}
	d.CgroupDriver = cgroupDriver(o.Config.Cgroup)
	sc, err := prepareSeccomp(o.Config, "")
	if err != nil {
		return nil, phaseErr("cgroup", err)
	}
	d.Seccomp = sc.prog
	d.CgroupWrites, err = cgroups.Plan(func() error {
		early, pids, ok := resourceSteps(o)
		if !ok {
			return nil
		}
		if err := cg.Set(&early); err != nil {
			return err
		}
		if !pids.HasLimits() {
			return nil
		}
		return cg.Set(&pids)
	})
	if err != nil {
		return nil, phaseErr("resources", err)
	}
	sp := &spawned{cgroup: cg, seccomp: sc}
	// The init's fds as fork lays them out (the numbers only).
	src := fdSources{preserve: o.PreserveFds, containerPidfd: -1, console: -1, parentPidfd: 0, socket: 0, fifo: 0}
	if o.ConsoleSocket != nil || o.Process.Terminal {
		src.console = 0
	}
	fds := layoutFds(src)
	d.Bootstrap = initBootstrap(o.Config, d.NewPid, nil, fds.parentPidfd)
	if d.Ops, err = sp.initPlan(o, fds); err != nil {
		return nil, phaseErr("init", err)
	}
	return d, nil
}

func cgroupDriver(cg *configs.Cgroup) string {
	switch {
	case cg.Systemd:
		return "systemd"
	case cgroups.IsUnified():
		return "cgroupfs (v2)"
	}
	return "cgroupfs (v1)"
}
