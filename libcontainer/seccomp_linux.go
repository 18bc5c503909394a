package libcontainer

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/initproto"
	"github.com/husk-runtime/husk/libcontainer/plan"
	"github.com/husk-runtime/husk/libcontainer/seccomp"
	"github.com/husk-runtime/husk/libcontainer/system"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// seccompSetup is a compiled filter and, for notify rules, what the
// seccomp agent is sent with the listener.
type seccompSetup struct {
	prog         *seccomp.Program
	listenerPath string
	state        []byte // the container process state, for the agent
}

// SeccompCache is where compiled seccomp programs are kept
// (seccomp.CompileCached; main sets seccomp.DefaultCacheDir). Empty:
// nowhere.
var SeccompCache string

// prepareSeccomp compiles the config's filter, through the programs kept
// in cache (none if empty).
func prepareSeccomp(cfg *configs.Config, cache string) (*seccompSetup, error) {
	sc := &seccompSetup{}
	if cfg.Seccomp == nil {
		return sc, nil
	}
	prog, err := seccomp.CompileCached(cfg.Seccomp, cache)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: %w", err)
	}
	sc.prog, sc.listenerPath = prog, cfg.Seccomp.ListenerPath
	return sc, nil
}

// prepare makes the container process state the seccomp agent gets
// with the listener: the process's pid as husk sees it, the metadata and
// the container's state.
func (sc *seccompSetup) prepare(pid int, state func() []byte, cfg *configs.Config) {
	if sc.prog == nil || !sc.prog.Notify {
		return
	}
	var st specs.State
	json.Unmarshal(state(), &st)
	sc.state, _ = json.Marshal(specs.ContainerProcessState{
		Version: specs.Version, Fds: []string{specs.SeccompFdName}, Pid: pid,
		Metadata: cfg.Seccomp.ListenerMetadata, State: st,
	})
}

// seccompPlan puts the filter in the plan. A filter that kills the
// process at its execve is not loaded: the workload could never start,
// and `start` says so.
func (sp *spawned) seccompPlan(o *plan.Options, nnp bool) {
	sc := sp.seccomp
	if sc == nil || sc.prog == nil {
		return
	}
	if action := sc.prog.KillsExec(); action != "" {
		o.CannotExec = fmt.Sprintf("the container's seccomp filter (linux.seccomp) ends the process at its execve (%s): the workload cannot start", action)
		return
	}
	o.Seccomp = sc.prog
	o.SeccompDumpable = sc.prog.Notify && os.Geteuid() != 0
	sp.lateNotify = sc.prog.Notify && nnp
}

// passListener takes a copy of the init's seccomp listener (its fd number
// is the SeccompFd payload) with pidfd_getfd, sends it to the seccomp
// agent and lets the init go on. The init has loaded its filter: it must
// not be asked to do anything the filter could notify before the agent
// has the listener.
func (sp *spawned) passListener(payload []byte) error {
	fd, err := initproto.ParseU32(initproto.SeccompFd, payload)
	if err != nil {
		return err
	}
	sc := sp.seccomp
	if sc == nil || sc.prog == nil || !sc.prog.Notify {
		return fmt.Errorf("%w from init: %v without notify rules", initproto.ErrUnexpected, initproto.SeccompFd)
	}
	pidfd, err := system.PidfdOpen(sp.pid, sp.startTime)
	if err != nil {
		return fmt.Errorf("seccomp listener: %w", err)
	}
	defer unix.Close(pidfd)
	listener, err := unix.PidfdGetfd(pidfd, int(fd), 0)
	if err != nil {
		return fmt.Errorf("seccomp listener: pidfd_getfd: %w", err)
	}
	defer unix.Close(listener)
	if err := seccomp.SendToAgent(sc.listenerPath, sc.state, listener); err != nil {
		return err
	}
	if err := initproto.Write(sp.sock, initproto.SeccompDone, nil); err != nil {
		return fmt.Errorf("send seccomp-done to init: %w", err)
	}
	return nil
}
