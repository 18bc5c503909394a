package system

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// ReadFile reads a small kernel file (/proc, cgroupfs) as os.ReadFile
// does, errors included, with plain system calls: os.File registers each
// file it opens with the runtime's poller (cgroupfs files can be polled),
// four more system calls per file on husk's busiest paths.
func ReadFile(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	b := make([]byte, 0, 512)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := unix.Read(fd, b[len(b):cap(b)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return b, nil
		}
		b = b[:len(b)+n]
	}
}

// WriteFile writes data to an existing kernel file (/proc, cgroupfs) in
// one write(2), as cgroup and /proc files want, with plain system calls
// (see ReadFile); errors are *os.PathError, as os's.
func WriteFile(path string, data string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	var n int
	for {
		n, err = unix.Write(fd, []byte(data))
		if err != unix.EINTR {
			break
		}
	}
	if err == nil && n < len(data) {
		err = io.ErrShortWrite // a second write would be a second value
	}
	cerr := unix.Close(fd)
	if err != nil {
		return &os.PathError{Op: "write", Path: path, Err: err}
	}
	if cerr != nil {
		return &os.PathError{Op: "close", Path: path, Err: cerr}
	}
	return nil
}
