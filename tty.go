package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/husk-runtime/husk/libcontainer/console"
	"github.com/husk-runtime/husk/libcontainer/system"
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

// sendPidfd sends a pidfd of pid to the unix socket at path
// (--pidfd-socket), so the caller can wait for or signal the process
// without pid races.
func sendPidfd(path string, pid int, startTime uint64) error {
	if path == "" {
		return nil
	}
	fd, err := system.PidfdOpen(pid, startTime)
	if err != nil {
		return fmt.Errorf("--pidfd-socket: pidfd of %d: %w", pid, err)
	}
	pidfd := os.NewFile(uintptr(fd), "pidfd")
	defer pidfd.Close()
	conn, err := net.Dial("unix", path)
	if err != nil {
		return fmt.Errorf("--pidfd-socket: %w", err)
	}
	defer conn.Close()
	f, err := conn.(*net.UnixConn).File()
	if err != nil {
		return fmt.Errorf("--pidfd-socket: %w", err)
	}
	defer f.Close()
	if err := console.SendFd(f, pidfd); err != nil {
		return fmt.Errorf("--pidfd-socket: %w", err)
	}
	return nil
}

// listenFds is the number of socket-activation fds (LISTEN_FDS) systemd
// passed to this process: they come first after stdio and are passed on
// to the container process with LISTEN_FDS and LISTEN_PID=1, as runc does.
func listenFds() int {
	if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		return 0
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// withListenFds adds the socket-activation environment when there are
// listen fds.
func withListenFds(env []string, n int) []string {
	if n == 0 {
		return env
	}
	return append(env, "LISTEN_FDS="+strconv.Itoa(n), "LISTEN_PID=1")
}
