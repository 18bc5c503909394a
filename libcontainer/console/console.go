// Package console makes a container's pseudo-terminal and carries its
// master end to whoever asked for it (a --console-socket, or husk itself
// for a foreground run), and proxies a terminal for a foreground run.
package console

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

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
