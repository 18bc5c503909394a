package libcontainer

import (
	"fmt"
	"os"

	"github.com/husk-runtime/husk/libcontainer/cgroups/manager"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/nsenter"
	"github.com/husk-runtime/husk/libcontainer/specconv"
	"golang.org/x/sys/unix"
)

// ExecOptions describe a process to start in a running container.
type ExecOptions struct {
	Process *configs.Process
	// PreserveFds passes the caller's fds 3 .. 3+N-1 on to the process.
	PreserveFds int
	// ConsoleSocket receives the pty master if the process has a terminal.
	ConsoleSocket *os.File
}

// Exec starts p in the container: in its cgroup, joining all its
// namespaces at once through a pidfd of its init (so a recycled pid can
// never be joined), with the same credential and capability setup as the
// init. It returns the new process's pid once it is about to exec; the
// caller reaps it (it is the caller's child, or is reparented to the caller
// if that is a subreaper).
func (c *Container) Exec(o ExecOptions) (pid int, err error) {
	switch c.Status() {
	case Stopped:
		return 0, fmt.Errorf("%w: cannot exec in a stopped container", ErrState)
	case Paused:
		return 0, fmt.Errorf("%w: cannot exec in a paused container", ErrState)
	}
	pidfd, err := c.pidfd()
	if err != nil {
		return 0, fmt.Errorf("%w: cannot exec in a stopped container", ErrState)
	}
	defer unix.Close(pidfd)

	var flags uint32
	for _, ns := range c.State.Config.Namespaces {
		flags |= specconv.CloneFlag(ns.Type)
	}
	sp := &spawned{cgroup: manager.Load(c.State.CgroupPaths)}
	defer func() {
		if err != nil {
			sp.abortExec()
		}
	}()
	// The pidfd is the first fd after the preserved ones, then the
	// console socket if any.
	extra := []uintptr{uintptr(pidfd)}
	consoleFd := -1
	if o.ConsoleSocket != nil {
		consoleFd = 3 + o.PreserveFds + 1
		extra = append(extra, o.ConsoleSocket.Fd())
	}
	_, tasks, err := sp.fork(o.PreserveFds, extra, nil, 0)
	if err != nil {
		return 0, err
	}
	if len(o.Process.CPUAffinityInitial) > 0 {
		// Until it joins the container's cgroup, the process runs where
		// execCPUAffinity.initial says.
		var set unix.CPUSet
		for _, cpu := range o.Process.CPUAffinityInitial {
			set.Set(cpu)
		}
		if err := unix.SchedSetaffinity(sp.pid0, &set); err != nil {
			return 0, fmt.Errorf("execCPUAffinity.initial: %w", err)
		}
	}
	bs := nsenter.Bootstrap{CgroupTasks: tasks, Pidfd: 3 + o.PreserveFds, PidfdFlags: flags}
	if err := sp.bootstrap(&bs, c.State.Config); err != nil {
		return 0, err
	}
	ic := initConfig{
		ID: c.State.ID, Config: c.State.Config, Process: o.Process,
		FifoFd: -1, PreserveFds: o.PreserveFds, Exec: true, ConsoleFd: consoleFd,
	}
	if err := sp.configure(&ic, nil); err != nil {
		return 0, err
	}
	sp.release()
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
