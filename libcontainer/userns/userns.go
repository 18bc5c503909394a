// Package userns makes user namespaces with given id mappings, to
// idmap mounts with (mount_setattr MOUNT_ATTR_IDMAP wants a user namespace
// fd): a short-lived `husk userns-hold` process is cloned into a new user
// namespace, its maps are written, and the namespace is kept by fd.
package userns

import (
	"fmt"
	"os"
	"syscall"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/timerslack"
	"golang.org/x/sys/unix"
)

func toSys(ms []configs.IDMap) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(ms))
	for i, m := range ms {
		out[i] = syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)}
	}
	return out
}

// New returns an fd of a new user namespace with the given mappings.
func New(uids, gids []configs.IDMap) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer w.Close()
	var pid int
	err = timerslack.AsCaller(func() (err error) {
		pid, err = syscall.ForkExec("/proc/self/exe", []string{"husk", "userns-hold"}, &syscall.ProcAttr{
			Env:   []string{},
			Files: []uintptr{r.Fd()},
			Sys: &syscall.SysProcAttr{
				Cloneflags:  unix.CLONE_NEWUSER,
				UidMappings: toSys(uids),
				GidMappings: toSys(gids),
			},
		})
		return err
	})
	r.Close()
	if err != nil {
		return nil, fmt.Errorf("user namespace for an idmapped mount: %w", err)
	}
	defer func() {
		w.Close() // the holder exits
		var ws unix.WaitStatus
		for {
			if _, err := unix.Wait4(pid, &ws, 0, nil); err != unix.EINTR {
				break
			}
		}
	}()
	f, err := os.Open(configs.NEWUSER.ProcPath(pid))
	if err != nil {
		return nil, fmt.Errorf("user namespace for an idmapped mount: %w", err)
	}
	return f, nil
}
