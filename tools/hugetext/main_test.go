package main

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

func TestWholeChunks(t *testing.T) {
	for _, c := range []struct{ off, size, want uint64 }{
		{0, huge, huge},
		{4096, huge, 0},
		{4096, 2*huge + 8192, huge},
		{huge, 4*huge + 100, 4 * huge},
		{huge - 1, 2, 0},
	} {
		if got := wholeChunks(c.off, c.size); got != c.want {
			t.Errorf("wholeChunks(%#x, %#x) = %#x, want %#x", c.off, c.size, got, c.want)
		}
	}
}

// writeELF writes a file with one loadable read-only segment of size bytes
// at file offset off (random bytes), and a writable one after it.
func writeELF(t *testing.T, path string, off, size uint64) {
	t.Helper()
	b := make([]byte, off+size+8192)
	copy(b, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint16(b[16:], 2)  // ET_EXEC
	le.PutUint16(b[18:], 62) // EM_X86_64
	le.PutUint32(b[20:], 1)  // EV_CURRENT
	le.PutUint64(b[32:], 64) // e_phoff
	le.PutUint16(b[52:], 64) // e_ehsize
	le.PutUint16(b[54:], 56) // e_phentsize
	le.PutUint16(b[56:], 2)  // e_phnum
	ph := func(i int, flags uint32, off, size uint64) {
		p := b[64+56*i:]
		le.PutUint32(p[0:], 1) // PT_LOAD
		le.PutUint32(p[4:], flags)
		le.PutUint64(p[8:], off)
		le.PutUint64(p[16:], 0x400000+off)
		le.PutUint64(p[24:], 0x400000+off)
		le.PutUint64(p[32:], size)
		le.PutUint64(p[40:], size)
		le.PutUint64(p[48:], huge)
	}
	ph(0, 4, off, size)      // R
	ph(1, 6, off+size, 8192) // RW: not read in
	r := rand.New(rand.NewPCG(1, 2))
	for i := 4096; i < len(b); i += 8 {
		le.PutUint64(b[i:], r.Uint64())
	}
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// mappedHuge maps the file's range [off, off+size) the way the kernel maps
// a program (an address congruent to the offset modulo 2 MiB, no advice),
// reads it in and returns FilePmdMapped: what a process running the file
// gets from the page cache as it is.
func mappedHuge(t *testing.T, path string, off, size uint64, advise bool) uint64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := syscall.Mmap(-1, 0, int(size+2*huge), syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(res)
	at := (uintptr(unsafe.Pointer(&res[0]))+huge-1)&^(huge-1) + uintptr(off&(huge-1))
	addr, _, errno := syscall.Syscall6(syscall.SYS_MMAP, at, uintptr(size), syscall.PROT_READ,
		syscall.MAP_PRIVATE|syscall.MAP_FIXED, f.Fd(), uintptr(off))
	if errno != 0 {
		t.Fatal(errno)
	}
	if advise {
		syscall.Syscall(syscall.SYS_MADVISE, addr, uintptr(size), madvHugepage)
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, addr, uintptr(size), madvPopulateRead); errno != 0 {
		t.Skipf("MADV_POPULATE_READ: %v (Linux before 5.14)", errno)
	}
	n, err := pmdMapped(addr)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// needLargeFolios skips unless the page cache of dir's filesystem reads a
// file in 2 MiB folios through a mapping that asks for huge pages.
func needLargeFolios(t *testing.T, dir string) {
	t.Helper()
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || strings.Contains(string(b), "[never]") {
		t.Skip("host feature missing: transparent huge pages are off (or the kernel has none)")
	}
	probe := filepath.Join(dir, "probe")
	if err := os.WriteFile(probe, make([]byte, 2*huge), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(probe)
	if err != nil {
		t.Fatal(err)
	}
	syscall.Fdatasync(int(f.Fd()))
	syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, fadvDontneed, 0, 0)
	f.Close()
	if mappedHuge(t, probe, 0, 2*huge, true) == 0 {
		t.Skipf("host feature missing: the filesystem of %s keeps no 2 MiB folios in the page cache", dir)
	}
}

// After hugetext, a process that maps the file without asking for anything
// gets every whole 2 MiB of its read-only segment with a 2 MiB entry; the
// tool reports that much, and reads nothing of the writable segment.
func TestWarm(t *testing.T) {
	dir := t.TempDir()
	needLargeFolios(t, dir)
	path := filepath.Join(dir, "prog")
	const off, size = huge, 2*huge + 12288 // two whole chunks, a tail
	writeELF(t, path, off, size)           // its pages cached as written: small
	msg, err := warm(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "4 of 4 MiB"; !strings.HasPrefix(msg, want) {
		t.Errorf("warm says %q, want it to start with %q", msg, want)
	}
	if got := mappedHuge(t, path, off, size, false); got != 2*huge {
		t.Errorf("after warm, a plain mapping has %d bytes in 2 MiB pages, want %d", got, 2*huge)
	}
}

// A file whose read-only segments hold no whole 2 MiB chunk is left alone,
// and the tool says why.
func TestWarmNothingAligned(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prog")
	writeELF(t, path, 4096, huge)
	msg, err := warm(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "nothing to do") {
		t.Errorf("warm says %q, want nothing to do", msg)
	}
}

func TestWarmNotELF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := warm(path); err == nil {
		t.Error("warm of a shell script: no error")
	}
}
