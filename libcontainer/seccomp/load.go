package seccomp

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

const (
	setModeFilter    = 1      // SECCOMP_SET_MODE_FILTER
	flagNewListener  = 1 << 3 // SECCOMP_FILTER_FLAG_NEW_LISTENER
	flagTsync        = 1 << 0
	flagTsyncESRCH   = 1 << 4
	flagWaitKillRecv = 1 << 5
)

// loadFlags are the seccomp(2) flags a program is loaded with.
func (p *Program) LoadFlags() uintptr {
	flags := p.Flags
	if p.Notify {
		flags |= flagNewListener
		if flags&flagTsync != 0 {
			// A listener and TSYNC need TSYNC_ESRCH to tell errors apart.
			flags |= flagTsyncESRCH
		}
	} else {
		// The kernel takes it only with a listener: without notify
		// rules there is nothing for it to do.
		flags &^= flagWaitKillRecv
	}
	return uintptr(flags)
}

// SendToAgent connects to the seccomp agent at listenerPath and sends it
// the container process state and the listener fd, in one message.
func SendToAgent(listenerPath string, state []byte, listener int) error {
	conn, err := net.Dial("unix", listenerPath)
	if err != nil {
		return fmt.Errorf("failed to connect with seccomp agent specified in the seccomp profile: %w", err)
	}
	defer conn.Close()
	if _, _, err := conn.(*net.UnixConn).WriteMsgUnix(state, unix.UnixRights(listener), nil); err != nil {
		return fmt.Errorf("cannot send seccomp fd to %s: %w", listenerPath, err)
	}
	return nil
}

// probeFlags are the flags a flag is probed with: WAIT_KILLABLE_RECV is
// only accepted with a listener.
var probeFlags = map[uint]uint{flagWaitKillRecv: flagNewListener}

// FlagSupported says whether the running kernel accepts the named flag: a
// filter load with a NULL program fails with EFAULT once the flags pass
// (and with EINVAL for a flag the kernel does not know).
func FlagSupported(name string) bool {
	bit, ok := Flags[name]
	if !ok {
		return false
	}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, setModeFilter, uintptr(bit|probeFlags[bit]), 0)
	return errno == unix.EFAULT
}

// SupportedFlags lists the flags of Flags the running kernel accepts.
func SupportedFlags() []string {
	var out []string
	for _, name := range Names(Flags) {
		if FlagSupported(name) {
			out = append(out, name)
		}
	}
	return out
}
