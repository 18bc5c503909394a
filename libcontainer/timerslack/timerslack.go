// Package timerslack gives husk's threads a 1 ms timer slack, and the
// processes husk starts the slack of husk's caller.
//
// The Go runtime's sysmon thread wakes every 20 us while the program is
// busy and for its first ~50 idle rounds after each wake-up; a husk
// command lives tens of milliseconds and spends much of them in blocking
// system calls, so sysmon's nanosleeps were ~120 of a `husk run`'s system
// calls and most of its context switches. With a 1 ms slack those sleeps
// end when the kernel next has a reason to wake the CPU, not 20 us later.
// A C constructor (timerslack.c) sets it before the runtime starts its
// threads, which inherit it; `husk init` and `husk userns-hold` are left
// alone, and a caller whose slack is already 1 ms or more keeps it.
//
// A process inherits the timer slack of the thread that forks it, and
// keeps it across execve. The container's init, exec'd processes, hooks,
// criu, ps and the id-mapping helpers must not carry husk's: every place
// husk starts a process does it through AsCaller.
package timerslack

/*
#cgo CFLAGS: -Wall -Wextra -O2 -I${SRCDIR}/../nsenter
#include "timerslack.h"
*/
import "C"

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Caller is the timer slack husk was started with, in nanoseconds, or 0
// if husk's threads kept it.
func Caller() uint64 { return uint64(C.husk_caller_timerslack) }

// AsCaller runs start, which starts a process, on a thread whose timer
// slack is the one husk was started with, so that the process inherits
// that and not husk's. The thread gets husk's slack back afterwards.
func AsCaller(start func() error) error {
	caller := Caller()
	if caller == 0 {
		return start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(caller), 0, 0, 0); err != nil {
		// Not expected (any value is accepted); do not start the
		// process with husk's slack.
		return fmt.Errorf("set the timer slack for a new process: %w", err)
	}
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(C.HUSK_TIMERSLACK_NS), 0, 0, 0)
	return start()
}
