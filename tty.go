package main

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/husk-runtime/husk/libcontainer/console"
	"golang.org/x/sys/unix"
)

// consoleSockets decides where a process's pty master goes, as runc does:
// to --console-socket, or (foreground with a terminal) to husk itself,
// which proxies it to its own stdio. toInit is handed to the init; ours,
// if not nil, is where husk receives the master.
func consoleSockets(path string, terminal, detach bool) (toInit, ours *os.File, err error) {
	switch {
	case terminal && detach && path == "":
		return nil, nil, errors.New("cannot allocate tty if husk will detach without setting console socket")
	case !terminal && path != "":
		return nil, nil, errors.New("cannot use console socket if husk will not detach or allocate tty")
	case !terminal:
		return nil, nil, nil
	case path != "":
		conn, err := net.Dial("unix", path)
		if err != nil {
			return nil, nil, fmt.Errorf("--console-socket: %w", err)
		}
		f, err := conn.(*net.UnixConn).File()
		conn.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("--console-socket: %w", err)
		}
		return f, nil, nil
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("console socket: %w", err)
	}
	return os.NewFile(uintptr(fds[1]), "console-init"), os.NewFile(uintptr(fds[0]), "console"), nil
}

// startProxy receives the pty master on ours and proxies it to our stdio.
func startProxy(ours *os.File) (*console.Proxy, error) {
	master, err := console.RecvFd(ours)
	ours.Close()
	if err != nil {
		return nil, fmt.Errorf("receive the container's pty: %w", err)
	}
	return console.StartProxy(master)
}
