// Package console makes a container's pseudo-terminal and carries its
// master end to whoever asked for it (a --console-socket, or husk itself
// for a foreground run), and proxies a terminal for a foreground run.
package console

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// New opens a new pty in the devpts instance mounted at /dev/pts of the
// calling process's root (the container's, after pivot_root). The slave
// end comes from TIOCGPTPEER on the master, never from a path, so a
// /dev/pts/N swapped for a symlink cannot hand us another file
// (CVE-2025-52565); /dev/pts/ptmx itself is checked to be a devpts ptmx.
func New(size *[2]uint16) (master, slave *os.File, err error) {
	fd, err := unix.Open("/dev/pts/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/pts/ptmx: %w", err)
	}
	master = os.NewFile(uintptr(fd), "pty master")
	defer func() {
		if err != nil {
			master.Close()
		}
	}()
	var st unix.Stat_t
	var sfs unix.Statfs_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, nil, err
	}
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return nil, nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(5, 2) || sfs.Type != unix.DEVPTS_SUPER_MAGIC {
		return nil, nil, errors.New("/dev/pts/ptmx is not the ptmx of a devpts mount")
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	peer, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		return nil, nil, fmt.Errorf("open pty peer: %w", errno)
	}
	slave = os.NewFile(peer, "pty slave")
	if size != nil && size[0] > 0 && size[1] > 0 {
		if err := unix.IoctlSetWinsize(int(peer), unix.TIOCSWINSZ, &unix.Winsize{Row: size[0], Col: size[1]}); err != nil {
			slave.Close()
			return nil, nil, fmt.Errorf("set console size: %w", err)
		}
	}
	return master, slave, nil
}

// MakeControlling makes slave the calling process's controlling terminal
// in a new session, and its stdin, stdout and stderr.
func MakeControlling(slave *os.File) error {
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	if err := unix.IoctlSetInt(int(slave.Fd()), unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("set controlling terminal: %w", err)
	}
	for i := 0; i < 3; i++ {
		if err := unix.Dup3(int(slave.Fd()), i, 0); err != nil {
			return fmt.Errorf("dup pty to fd %d: %w", i, err)
		}
	}
	return nil
}

// SendFd sends f over the unix socket sock (SCM_RIGHTS), with f's name as
// the message, as runc's console socket protocol has it.
func SendFd(sock *os.File, f *os.File) error {
	oob := unix.UnixRights(int(f.Fd()))
	return unix.Sendmsg(int(sock.Fd()), []byte(f.Name()), oob, nil, 0)
}

// RecvFd receives one fd sent with SendFd.
func RecvFd(sock *os.File) (*os.File, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, err
	}
	if len(msgs) != 1 {
		return nil, errors.New("no file descriptor received")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, errors.New("no file descriptor received")
	}
	return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
}

// Own gives the pty slave to uid (its group is left as devpts made it),
// as runc does for the process's stdio, so a process that runs as another
// user can use its terminal. Where the kernel does not allow it (an owner
// not mapped in the user namespace, a read-only devpts) it is left alone.
func Own(slave *os.File, uid int) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(slave.Fd()), &st); err != nil {
		return err
	}
	if int(st.Uid) == uid {
		return nil
	}
	if err := unix.Fchown(int(slave.Fd()), uid, -1); err != nil && err != unix.EPERM && err != unix.EROFS {
		return err
	}
	return nil
}

// ClearONLCR turns off the pty's output translation of \n to \r\n (set on
// the master, it applies to the pair), as runc does for the pty it proxies.
func ClearONLCR(master *os.File) error {
	t, err := unix.IoctlGetTermios(int(master.Fd()), unix.TCGETS)
	if err != nil {
		return err
	}
	t.Oflag &^= unix.ONLCR
	return unix.IoctlSetTermios(int(master.Fd()), unix.TCSETS, t)
}
