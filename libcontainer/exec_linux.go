package libcontainer

import (
	"fmt"
	"github.com/husk-runtime/husk/libcontainer/diag"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/cgroups/manager"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/initproto"
	"github.com/husk-runtime/husk/libcontainer/nsenter"
	"github.com/husk-runtime/husk/libcontainer/plan"
	"golang.org/x/sys/unix"
)

// ExecOptions describe a process to start in a running container.
type ExecOptions struct {
	Process *configs.Process
	// PreserveFds passes the caller's fds 3 .. 3+N-1 on to the process.
	PreserveFds int
	// ConsoleSocket receives the pty master if the process has a terminal.
	ConsoleSocket *os.File
	// ProxyConsole: husk itself proxies the pty (see CreateOptions).
	ProxyConsole bool
	// IgnorePaused allows exec into a paused container.
	IgnorePaused bool
	// SubCgroups puts the process in sub-cgroups of the container's:
	// controller (or "" for every hierarchy) → path below the container's
	// cgroup. They must exist.
	SubCgroups map[string]string
}

// Exec starts p in the container: in its cgroup, joining all its
// namespaces at once through a pidfd of its init (so a recycled pid can
// never be joined), with the same credential and capability setup as the
// init. It returns the new process's pid once it is about to exec; the
// caller reaps it (it is the caller's child, or is reparented to the caller
// if that is a subreaper).
func (c *Container) Exec(o ExecOptions) (pid int, err error) {
	paused := false
	switch c.Status() {
	case Stopped:
		return 0, fmt.Errorf("%w: cannot exec in a stopped container", ErrState)
	case Paused:
		if !o.IgnorePaused {
			return 0, fmt.Errorf("%w: cannot exec in a paused container (use --ignore-paused)", ErrState)
		}
		paused = true
	}
	pidfd, err := c.pidfd()
	if err != nil {
		return 0, fmt.Errorf("%w: cannot exec in a stopped container", ErrState)
	}
	defer unix.Close(pidfd)

	var flags uint32
	for _, ns := range c.State.Config.Namespaces {
		flags |= ns.Type.CloneFlag()
	}
	slog.Debug("exec: joining the container's init through a pidfd", "id", c.State.ID, "pid", c.State.InitPid, "namespaces", fmt.Sprintf("%#x", flags))
	paths, err := subCgroupPaths(c.State.CgroupPaths, o.SubCgroups)
	if err != nil {
		return 0, err
	}
	cg := manager.Load(c.State.Config.Cgroup, paths)
	sp := &spawned{cgroup: cg}
	if paused {
		// A process joining a frozen cgroup freezes at once: it would
		// never get ready. It joins once ready instead, and runs when the
		// container is resumed.
		sp.cgroup = manager.None()
	}
	defer func() {
		if err != nil {
			sp.abortExec()
		}
	}()
	sc, err := prepareSeccomp(c.State.Config, SeccompCache)
	if err != nil {
		return 0, err
	}
	sp.seccomp = sc
	if sc.prog != nil {
		if action := sc.prog.KillsExec(); action != "" {
			return 0, fmt.Errorf("exec: the container's seccomp filter (linux.seccomp) ends the process at its execve (%s): the process cannot start", action)
		}
	}
	if sp.cgroup.Placement() == cgroups.PlacedByApply {
		sp.placeLater = true
	}
	var fds *fdTable
	var tasks []string
	if err := phase("clone", func() (err error) {
		fds, tasks, err = sp.fork(forkOptions{preserve: o.PreserveFds, containerPidfd: pidfd, console: o.ConsoleSocket})
		if err != nil || !sp.placeLater {
			return err
		}
		return sp.cgroup.Apply(sp.pid0)
	}); err != nil {
		return 0, err
	}
	// As runc: the process runs where execCPUAffinity.initial says until
	// it is in the container's cgroups, then where .final says, or stays
	// on .initial's CPUs if there is no .final, or, with neither, on every
	// CPU of the cpuset, not on the caller's taskset.
	if len(o.Process.CPUAffinityInitial) > 0 {
		var set unix.CPUSet
		for _, cpu := range o.Process.CPUAffinityInitial {
			set.Set(cpu)
		}
		if err := unix.SchedSetaffinity(sp.pid0, &set); err != nil {
			return 0, fmt.Errorf("error setting initial CPU affinity: %w", err)
		}
	}
	bs := nsenter.Bootstrap{CgroupTasks: tasks, Pidfd: fds.containerPidfd, PidfdFlags: flags, ParentPidfd: sp.parentPidfd}
	switch {
	case len(o.Process.CPUAffinityFinal) > 0:
		bs.Affinity, bs.AffinityFinal = nsenter.CPUMask(o.Process.CPUAffinityFinal), true
	case len(o.Process.CPUAffinityInitial) == 0:
		bs.Affinity = nsenter.AllCPUs()
	}
	// The plan is made while the C stage joins the container.
	var ops encodedPlan
	build := func() ([]initproto.Op, error) {
		opts := plan.Options{
			ID: c.State.ID, Config: c.State.Config, Process: o.Process, Exec: true,
			Fifo: -1, ConsoleSocket: fds.console, PreserveFds: o.PreserveFds,
			ClearONLCR: o.ProxyConsole, JoinAfterReady: paused,
		}
		sp.seccompPlan(&opts, o.Process.NoNewPrivileges && !paused)
		hostPlan(&opts)
		return plan.Build(opts)
	}
	if err := phase("namespaces", func() error {
		return sp.bootstrap(&bs, c.State.Config, func() (err error) {
			ops, err = encodePlan(build())
			return err
		})
	}); err != nil {
		return 0, err
	}
	sc.prepare(sp.pid, c.hookState(Running, c.State.InitPid), c.State.Config)
	if err := phase("init", func() error { return sp.run(ops, c.State.Config, nil) }); err != nil {
		return 0, err
	}
	// Handed over before it joins a frozen cgroup, where it could not
	// take over.
	if err := sp.handoff(); err != nil {
		return 0, err
	}
	if paused {
		if err := cg.Apply(sp.pid); err != nil {
			return 0, err
		}
		if err := initproto.Write(sp.sock, initproto.Joined, nil); err != nil {
			return 0, fmt.Errorf("send joined to exec: %w", err)
		}
	}
	if err := sp.lateListener(); err != nil {
		return 0, err
	}
	sp.sock.Close()
	slog.Debug("exec: the process runs", "pid", sp.pid)
	return sp.pid, nil
}

// abortExec kills a half-started exec process; unlike a failed create it
// must leave the container's cgroup alone.
func (sp *spawned) abortExec() {
	cg := sp.cgroup
	sp.cgroup = nil
	sp.abort()
	sp.cgroup = cg
}

// subCgroupPaths applies exec --cgroup to the container's cgroup paths
// (hierarchy key → directory): subs maps a controller, or "" for every
// hierarchy, to a path below the container's cgroup there, which must
// exist. As runc, a path that leads out of the container's cgroup is a
// "bad sub cgroup path" (sub/.. is the cgroup itself).
func subCgroupPaths(paths map[string]string, subs map[string]string) (map[string]string, error) {
	if len(subs) == 0 {
		return paths, nil
	}
	out := maps.Clone(paths)
	via := map[string]string{} // hierarchy key → the controller that moved it
	join := func(key, sub, ctrl string) error {
		base := paths[key]
		p := filepath.Join(base, sub)
		if p != base && !strings.HasPrefix(p, base+"/") {
			return fmt.Errorf("--cgroup: bad sub cgroup path: %s", sub)
		}
		if prev, ok := via[key]; ok && out[key] != p {
			return fmt.Errorf("--cgroup: controllers %s and %s share a hierarchy but were given different sub-cgroups", prev, ctrl)
		}
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			return fmt.Errorf("--cgroup: no such sub-cgroup %s", p)
		}
		out[key], via[key] = p, ctrl
		return nil
	}
	if sub, ok := subs[""]; ok {
		for key := range paths {
			if err := join(key, sub, ""); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	if _, v2 := cgroups.Paths(paths).UnifiedOnly(); v2 {
		// cgroup v2 has no hierarchy of a controller's own: runc 1.5
		// takes only a bare path there and runs the process in the
		// container's cgroup otherwise. So does husk, saying so.
		if err := diag.Warn(diag.Warning{File: "exec", Field: "--cgroup", Msg: "cgroup v2 has one hierarchy, not one per controller: the controllers' sub-cgroups are ignored", Attrs: []any{"cgroup", subs}}); err != nil {
			return nil, err
		}
		return paths, nil
	}
	ctrls := make([]string, 0, len(subs))
	for ctrl := range subs {
		ctrls = append(ctrls, ctrl)
	}
	sort.Strings(ctrls)
	for _, ctrl := range ctrls {
		key, found := "", false
		for k := range paths {
			if cgroups.Hierarchy(k).Has(ctrl) {
				key, found = k, true
			}
		}
		if !found {
			return nil, fmt.Errorf("--cgroup: unknown controller %s (the container's cgroup hierarchies are: %s)", ctrl, hierarchyNames(paths))
		}
		if err := join(key, subs[ctrl], ctrl); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// hierarchyNames lists the controllers of the hierarchies in paths, for
// errors ("the unified hierarchy" for cgroup v2's).
func hierarchyNames(paths map[string]string) string {
	var names []string
	for key := range paths {
		names = append(names, cgroups.Hierarchy(key).Describe())
	}
	sort.Strings(names)
	return strings.Join(names, "; ")
}
