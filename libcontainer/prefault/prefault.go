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
// Before populating, the constructor reads the code's 2 MiB pieces back
// in 2 MiB folios if the page cache has lost them (hugepages.c).
//
// Below that object, the pages the runtime and the earlier package inits
// left untouched in the spans they took are populated too, from the
// heap's lowest resident page (mincore) up, within its mapping (read
// from /proc/self/maps).
//
// The price is peak RSS: the pages of the binary a command would not have
// touched (shared page cache, not new memory) and the part of the heap
// span it does not use (~0.5 MB of anonymous memory). Kernels before 5.14
// have no MADV_POPULATE_*: the calls fail and change nothing.
package prefault

/*
#cgo CFLAGS: -Wall -Wextra -O2 -I${SRCDIR}/../nsenter
#include <stdint.h>
extern int husk_prefaulted;
uintptr_t husk_prefault_write_end(uintptr_t start, uintptr_t end);
*/
import "C"

import (
	"syscall"
	"unsafe"
)

const madvPopulateWrite = 23

// heapBytes of the heap are populated above this package's first object:
// what `run` and `create` touch beyond the runtime's own start-up is
// ~1.3-1.7 MB, and populating more than 1 MB measured no faster.
const heapBytes = 1 << 20

// below bounds how far under its first object the heap is looked at. The
// runtime and the packages initialised before this one allocated there,
// and left pages in the spans they took untouched: a `create` faulted ~36
// of them in later, one at a time.
const below = 4 << 20

var (
	first *[64]byte
	// One byte a page for mincore, in the bss (populated already).
	residency [below / 4096]byte
	maps      [16 << 10]byte
)

// prefaulted reports whether the constructor populated the binary.
func prefaulted() bool { return C.husk_prefaulted != 0 }

func init() {
	if !prefaulted() {
		return
	}
	first = new([64]byte)
	page := uintptr(syscall.Getpagesize())
	at := uintptr(unsafe.Pointer(first)) &^ (page - 1)
	from := heapStart(at, page)
	// Past the end of the heap's mapped arena the call fails: what
	// comes before is populated, nothing else changes.
	syscall.Syscall(syscall.SYS_MADVISE, from, at+heapBytes-from, madvPopulateWrite)
}

// heapStart returns the lowest page the heap has used below at: in the
// mapping that holds at (the runtime maps its heap read-write in chunks
// inside a larger reservation, and starts it at a random page of it),
// the first one resident. at itself when it cannot tell.
func heapStart(at, page uintptr) uintptr {
	lo, ok := mappingStart(at)
	if !ok {
		return at
	}
	lo = max(lo, at-below)
	n := (at - lo) / page
	if n == 0 {
		return at
	}
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, lo, at-lo, uintptr(unsafe.Pointer(&residency[0]))); e != 0 {
		return at
	}
	for i, v := range residency[:n] {
		if v&1 != 0 {
			return lo + uintptr(i)*page
		}
	}
	return at
}

// mappingStart returns where the mapping that holds addr begins, read
// from /proc/self/maps with plain system calls (no allocation).
func mappingStart(addr uintptr) (uintptr, bool) {
	fd, err := syscall.Open("/proc/self/maps", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	defer syscall.Close(fd)
	n := 0
	for n < len(maps) {
		r, err := syscall.Read(fd, maps[n:])
		if err != nil || r <= 0 {
			break
		}
		n += r
	}
	return findMapping(maps[:n], addr)
}

// findMapping finds the line "start-end perms ..." of /proc/PID/maps whose
// range holds addr and returns its start.
func findMapping(b []byte, addr uintptr) (uintptr, bool) {
	for len(b) > 0 {
		end := 0
		for end < len(b) && b[end] != '\n' {
			end++
		}
		line := b[:end]
		b = b[min(end+1, len(b)):]
		lo, rest, ok := hex(line)
		if !ok || len(rest) == 0 || rest[0] != '-' {
			continue
		}
		if hi, _, ok := hex(rest[1:]); ok && lo <= addr && addr < hi {
			return lo, true
		}
	}
	return 0, false
}

// hex parses the hexadecimal number b starts with.
func hex(b []byte) (uintptr, []byte, bool) {
	var v uintptr
	i := 0
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		default:
			return v, b[i:], i > 0
		}
		v = v<<4 | uintptr(c)
	}
	return v, nil, i > 0
}

// writeEnd is the constructor's bound on the writable range it populates
// (for tests).
func writeEnd(start, end uintptr) uintptr {
	return uintptr(C.husk_prefault_write_end(C.uintptr_t(start), C.uintptr_t(end)))
}
