// Package notify relays sd_notify(3) readiness from a container to the
// NOTIFY_SOCKET husk itself was given (systemd, or conmon), as runc does:
// the container gets a socket of its own at /run/notify/notify.sock
// (its state directory's notify/ bound read-only there), and `run` or
// `start` waits for READY=1 on it and passes READY=1 and MAINPID on.
package notify

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ContainerDir is where the container sees the socket's directory.
const (
	ContainerDir  = "/run/notify"
	socketName    = "notify.sock"
	ContainerPath = ContainerDir + "/" + socketName
)

// Dir is the host directory holding a container's socket.
func Dir(stateDir string) string { return filepath.Join(stateDir, "notify") }

// Listen binds the container's socket in dir (made if missing), replacing
// a stale socket file left by an earlier husk command.
func Listen(dir string) (*net.UnixConn, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	path := filepath.Join(dir, socketName)
	os.Remove(path)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	// Any user in the container may notify.
	if err := os.Chmod(path, 0o777); err != nil {
		conn.Close()
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	return conn, nil
}

// Relay waits on conn for READY=1 from the container, then tells host
// (the NOTIFY_SOCKET husk was given) READY=1 and MAINPID=pid. It returns
// early, without relaying, if the process behind pidfd exits first.
func Relay(conn *net.UnixConn, host string, pid, pidfd int) error {
	defer conn.Close()
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	buf := make([]byte, 4096)
	for {
		var n int
		var rerr error
		ready := false
		err := raw.Read(func(fd uintptr) bool {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
			for {
				if _, err := unix.Poll(fds, -1); err != unix.EINTR {
					break
				}
			}
			if fds[0].Revents&unix.POLLIN == 0 {
				return true // the process exited
			}
			n, _, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
			ready = true
			return rerr != unix.EAGAIN
		})
		if err != nil {
			return err
		}
		if !ready {
			return nil
		}
		if rerr != nil {
			return rerr
		}
		for _, line := range strings.Split(string(buf[:n]), "\n") {
			if line == "READY=1" {
				return send(host, "READY=1\nMAINPID="+strconv.Itoa(pid)+"\n")
			}
		}
	}
}

func send(host, msg string) error {
	// A leading '@' names an abstract socket; net handles it.
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: host, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("NOTIFY_SOCKET %s: %w", host, err)
	}
	defer c.Close()
	_, err = c.Write([]byte(msg))
	return err
}
