// Command hugetext reads a program's code and read-only data into the page
// cache in 2 MiB folios, where the kernel can, so that every process that
// runs the program maps each whole 2 MiB of them with one page-table entry
// instead of 512.
//
//	hugetext FILE...
//
// A short-lived process pays for each page of its binary it touches first
// (on the project's VM ~1 µs a page even when it is already mapped: the
// hypervisor's fault), and a husk command touches thousands: mapped 2 MiB
// at a time, husk's commands take 6-12 % less time (docs/performance.md).
// The binary is linked so that its code and read-only data start on 2 MiB
// boundaries (Makefile: max-page-size); the page cache decides the folio
// size when it reads a file in, so the tool drops the file's cached pages
// and reads each loadable, non-writable segment back through a 2 MiB
// aligned mapping with MADV_HUGEPAGE. Where the filesystem has no large
// folios, transparent huge pages are off, or a running process keeps the
// old pages mapped, the pages stay as they were: nothing is lost but the
// gain, and the tool says so. A reboot, or memory pressure, undoes it: run
// it again (make husk and make install do).
//
// It always exits 0 when it could read the file: it is an optimisation.
package main

import (
	"bufio"
	"debug/elf"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

const (
	huge             = 2 << 20
	madvHugepage     = 14
	madvPopulateRead = 22
	fadvDontneed     = 4
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: hugetext FILE...")
		os.Exit(2)
	}
	status := 0
	for _, name := range os.Args[1:] {
		msg, err := warm(name)
		if err != nil {
			fmt.Fprintf(os.Stderr, "hugetext: %s: %v\n", name, err)
			status = 1
			continue
		}
		fmt.Printf("hugetext: %s: %s\n", name, msg)
	}
	os.Exit(status)
}

// warm re-reads the file's read-only segments in 2 MiB folios and says how
// much of them the kernel then maps with 2 MiB entries.
func warm(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	segs, err := segments(f)
	if err != nil {
		return "", err
	}
	fd := int(f.Fd())
	// Written pages must be on disk before they can be dropped.
	if err := syscall.Fdatasync(fd); err != nil {
		return "", fmt.Errorf("fdatasync: %w", err)
	}
	dropCache(fd)
	var want, got uint64
	for _, s := range segs {
		want += wholeChunks(s.off, s.size)
		n, err := readHuge(fd, s.off, s.size)
		if err != nil {
			return "", err
		}
		got += n
	}
	if want == 0 {
		return "no 2 MiB-aligned code or read-only data (not linked with max-page-size=0x200000?): nothing to do", nil
	}
	msg := fmt.Sprintf("%d of %d MiB of code and read-only data in 2 MiB pages", got>>20, want>>20)
	if got < want {
		msg += " (the rest in small pages: a filesystem without large folios, transparent huge pages off, or a process that has the file mapped)"
	}
	return msg, nil
}

type segment struct{ off, size uint64 }

// segments are the file ranges of the loadable, non-writable segments.
func segments(f *os.File) ([]segment, error) {
	e, err := elf.NewFile(f)
	if err != nil {
		return nil, err
	}
	var out []segment
	for _, p := range e.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_W == 0 && p.Filesz > 0 {
			out = append(out, segment{p.Off, p.Filesz})
		}
	}
	return out, nil
}

// wholeChunks is how many bytes of [off, off+size) lie in whole 2 MiB
// chunks of the file.
func wholeChunks(off, size uint64) uint64 {
	lo := (off + huge - 1) &^ (huge - 1)
	hi := (off + size) &^ (huge - 1)
	if hi <= lo {
		return 0
	}
	return hi - lo
}

// dropCache drops the file's cached pages but those a process has mapped.
func dropCache(fd int) {
	syscall.Syscall6(syscall.SYS_FADVISE64, uintptr(fd), 0, 0, fadvDontneed, 0, 0)
}

// readHuge maps [off, off+size) of the file at an address congruent to
// its offset modulo 2 MiB, as the program's own mapping is, asks for huge
// pages and reads it in; it returns how much of it the kernel mapped with
// 2 MiB entries.
func readHuge(fd int, off, size uint64) (uint64, error) {
	from := off &^ 4095
	length := off + size - from
	// An anonymous reservation, 4 MiB larger, to place the file mapping
	// inside it at from's offset in a 2 MiB chunk.
	res, err := syscall.Mmap(-1, 0, int(length+2*huge), syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	if err != nil {
		return 0, fmt.Errorf("mmap: %w", err)
	}
	defer syscall.Munmap(res)
	at := (uintptr(unsafe.Pointer(&res[0]))+huge-1)&^(huge-1) + uintptr(from&(huge-1))
	addr, _, errno := syscall.Syscall6(syscall.SYS_MMAP, at, uintptr(length), syscall.PROT_READ,
		syscall.MAP_PRIVATE|syscall.MAP_FIXED, uintptr(fd), uintptr(from))
	if errno != 0 {
		return 0, fmt.Errorf("mmap: %w", errno)
	}
	syscall.Syscall(syscall.SYS_MADVISE, addr, uintptr(length), madvHugepage)
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, addr, uintptr(length), madvPopulateRead); errno != 0 {
		return 0, nil // before Linux 5.14; its page cache has no large folios either
	}
	return pmdMapped(addr)
}

// pmdMapped reads FilePmdMapped of the mapping at addr from
// /proc/self/smaps.
func pmdMapped(addr uintptr) (uint64, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if !strings.HasSuffix(fields[0], ":") { // "start-end perms offset dev inode path"
			lo, _, _ := strings.Cut(fields[0], "-")
			v, err := strconv.ParseUint(lo, 16, 64)
			in = err == nil && uintptr(v) == addr
			continue
		}
		if in && fields[0] == "FilePmdMapped:" && len(fields) > 1 {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, sc.Err()
}
