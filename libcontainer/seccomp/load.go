package seccomp

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	setModeFilter    = 1      // SECCOMP_SET_MODE_FILTER
	flagNewListener  = 1 << 3 // SECCOMP_FILTER_FLAG_NEW_LISTENER
	flagTsync        = 1 << 0
	flagTsyncESRCH   = 1 << 4
	flagWaitKillRecv = 1 << 5
)

// Load installs the program on the calling thread (and with TSYNC on all
// of the process's). It needs no_new_privs or CAP_SYS_ADMIN. With Notify it
// returns the listener fd.
func Load(p *Program) (notifyFd int, err error) {
	if len(p.Insns) == 0 {
		return -1, errors.New("empty seccomp program")
	}
	flags := p.Flags
	if p.Notify {
		flags |= flagNewListener
		if flags&flagTsync != 0 {
			// A listener and TSYNC need TSYNC_ESRCH to tell errors apart.
			flags |= flagTsyncESRCH
		}
	} else {
		flags &^= flagWaitKillRecv // only meaningful with a listener
	}
	prog := unix.SockFprog{Len: uint16(len(p.Insns)), Filter: &p.Insns[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, setModeFilter, uintptr(flags), uintptr(unsafe.Pointer(&prog)))
	if errno != 0 {
		return -1, fmt.Errorf("seccomp(SET_MODE_FILTER): %w", errno)
	}
	if !p.Notify {
		return -1, nil
	}
	return int(r), nil
}

// SendNotifyFd sends the listener fd and the container process state to
// the seccomp agent over conn (linux.seccomp.listenerPath), in one
// message, and closes both.
func SendNotifyFd(conn *os.File, notifyFd int, state []byte) error {
	defer conn.Close()
	defer unix.Close(notifyFd)
	if err := unix.Sendmsg(int(conn.Fd()), state, unix.UnixRights(notifyFd), nil, 0); err != nil {
		return fmt.Errorf("send the seccomp notify fd to the listener: %w", err)
	}
	return nil
}

// SupportedFlags lists the flags of Flags the running kernel accepts: a
// filter load with a NULL program fails with EFAULT once the flags pass.
func SupportedFlags() []string {
	var out []string
	for _, name := range Names(Flags) {
		_, _, errno := unix.Syscall(unix.SYS_SECCOMP, setModeFilter, uintptr(Flags[name]), 0)
		if errno == unix.EFAULT {
			out = append(out, name)
		}
	}
	return out
}
