// Package signals catches the signals a foreground `run` relays to its
// container.
//
// os/signal enables each signal with a round trip to the runtime's signal
// thread: for all of them, as runc's `signal.Notify(ch)` asks, that is 1-3 ms
// on every foreground run (measured here). Catch instead installs, with one
// sigaction(2) per signal, a C handler that writes the signal number to a
// pipe. It leaves alone the signals the Go runtime and glibc use (SIGURG,
// SIGPROF, 32, 33) and the synchronous ones, which are not relayed.
package signals

/*
int husk_catch_signal(int fd, int sig);
*/
import "C"

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Relayed reports whether a foreground run relays signal s to its
// container: every catchable signal except the ones the Go runtime, glibc
// and the CPU (faults) use, and SIGCHLD, which the run itself uses.
func Relayed(s unix.Signal) bool {
	switch s {
	case unix.SIGKILL, unix.SIGSTOP, unix.SIGCHLD,
		unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL, unix.SIGTRAP, unix.SIGSYS,
		unix.SIGURG, unix.SIGPROF, 32, 33:
		return false
	}
	return s >= 1 && s <= 64
}

// Catch starts catching SIGCHLD and every relayed signal. Each arrival is
// one byte, the signal number, on the returned pipe.
func Catch() (*os.File, error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("signal pipe: %w", err)
	}
	if err := unix.SetNonblock(p[1], true); err != nil {
		return nil, fmt.Errorf("signal pipe: %w", err)
	}
	r := os.NewFile(uintptr(p[0]), "signals")
	for s := unix.Signal(1); s <= 64; s++ {
		if !Relayed(s) && s != unix.SIGCHLD {
			continue
		}
		if rc, err := C.husk_catch_signal(C.int(p[1]), C.int(s)); rc != 0 {
			r.Close()
			unix.Close(p[1])
			return nil, fmt.Errorf("catch signal %d: %v", s, err)
		}
	}
	return r, nil
}
