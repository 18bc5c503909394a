// Package prefault maps, in a few system calls, the memory a husk command
// would otherwise fault in one page at a time.
//
// On a VM a page fault is expensive: 11-21 us here, most of it the trap,
// while MADV_POPULATE_READ maps file pages already in the page cache at
// ~0.13 us a page and MADV_POPULATE_WRITE allocates anonymous ones at
// ~0.9 us. A husk command lives 10-30 ms and, page by page, touches most
// of its 8.6 MB binary (a file fault maps the 64 KB around it), its data
// and bss, and the first megabyte or so of the Go heap: ~350 faults for
// `husk state`, ~450 in the parent of `husk run`, most of its time.
//
// A C constructor (prefault.c) populates the binary's segments before the
// Go runtime starts: code and read-only data for reading, data and bss
// (past RELRO) for writing. This package's init, early in the init order
// (it imports only syscall and unsafe), populates the next heapBytes of the
// heap from its own first object: the heap grows upwards from there.
// The C stage of `husk init` and `husk userns-hold` are left alone.
//
// The price is peak RSS: the pages of the binary a command would not have
// touched (shared page cache, not new memory) and the part of the heap
// span it does not use (~0.5 MB of anonymous memory). Kernels before 5.14
// have no MADV_POPULATE_*: the calls fail and change nothing.
package prefault

/*
#cgo CFLAGS: -Wall -Wextra -O2 -I${SRCDIR}/../nsenter
extern int husk_prefaulted;
*/
import "C"

import (
	"syscall"
	"unsafe"
)

const madvPopulateWrite = 23

// heapBytes of the heap are populated: what `run` and `create` touch
// beyond the runtime's own start-up is ~1.3-1.7 MB, and populating more
// than 1 MB measured no faster.
const heapBytes = 1 << 20

var first *[64]byte

// prefaulted reports whether the constructor populated the binary.
func prefaulted() bool { return C.husk_prefaulted != 0 }

func init() {
	if !prefaulted() {
		return
	}
	first = new([64]byte)
	start := uintptr(unsafe.Pointer(first)) &^ (uintptr(syscall.Getpagesize()) - 1)
	// Past the end of the heap's mapped arena the call fails: what
	// comes before is populated, nothing else changes.
	syscall.Syscall(syscall.SYS_MADVISE, start, heapBytes, madvPopulateWrite)
}
