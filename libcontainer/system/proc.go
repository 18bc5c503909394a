// Package system has small Linux helpers shared by the parent and the init:
// process identity from /proc, writes to /proc through a verified handle,
// pidfds, fd hygiene.
package system

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// ProcStat is what husk needs from /proc/PID/stat.
type ProcStat struct {
	State     byte   // R, S, D, Z, X, ...
	StartTime uint64 // clock ticks after boot: with the pid, identifies a process
}

// Stat reads /proc/PID/stat.
func Stat(pid int) (ProcStat, error) {
	b, err := ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ProcStat{}, err
	}
	return parseStat(b)
}

func parseStat(b []byte) (ProcStat, error) {
	// The command name is in parentheses and may contain anything, so
	// parse from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return ProcStat{}, errors.New("malformed /proc stat")
	}
	fields := bytes.Fields(b[i+2:])
	// fields[0] is field 3 (state); starttime is field 22.
	if len(fields) < 20 {
		return ProcStat{}, errors.New("malformed /proc stat: too few fields")
	}
	st, err := strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return ProcStat{}, fmt.Errorf("malformed /proc stat starttime: %w", err)
	}
	return ProcStat{State: fields[0][0], StartTime: st}, nil
}

// Alive reports whether pid is the process that started at startTime and has
// not exited (a zombie has exited).
func Alive(pid int, startTime uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := Stat(pid)
	if err != nil {
		return false
	}
	return st.StartTime == startTime && st.State != 'Z' && st.State != 'X'
}

// PidfdOpen opens a pidfd for pid and checks, after opening, that pid is
// still the process that started at startTime, so that a recycled pid is
// never signalled.
func PidfdOpen(pid int, startTime uint64) (int, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, err
	}
	if st, err := Stat(pid); err != nil || st.StartTime != startTime {
		unix.Close(fd)
		return -1, unix.ESRCH
	}
	return fd, nil
}

// WaitPidfdFor waits at most timeout (forever if negative) for the process
// behind pidfd to exit, and says whether it did.
func WaitPidfdFor(fd int, timeout time.Duration) (bool, error) {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		ms := -1
		if timeout >= 0 {
			ms = int(time.Until(deadline).Milliseconds())
			if ms < 0 {
				ms = 0
			}
		}
		n, err := unix.Poll(fds, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, err
		}
		return n > 0, nil
	}
}
