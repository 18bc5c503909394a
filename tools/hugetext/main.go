// Command hugetext reads chosen sections of a program into the page cache
// in 2 MiB folios, and the rest of its code and read-only data in 4 KiB
// ones, so that every process that runs the program maps each whole 2 MiB
// of those sections with one page-table entry instead of 512.
//
//	hugetext [-check] [-sections .init,.plt,.text.c,.text,.gopclntab] FILE...
//
// With -check it changes nothing and says how much of those sections a
// process running the file would map with 2 MiB entries now (make bench
// says it after its run: the page cache can lose the 2 MiB folios).
//
// A short-lived process pays for each page of its binary it touches first
// (on the project's VM ~1 µs a page even when it is already mapped: the
// hypervisor's fault), and a husk command touches thousands of them.
// husk is linked (Makefile) with its segments on 2 MiB boundaries and its C
// code before its Go code (tools/husk.ld); make names its code sections and
// the Go pclntab. Everything else (the read-only data with the C strings,
// the ends of the segments) is read in 4 KiB folios (no readahead): a
// process that touches a page of a folio maps the whole folio, and a
// waiting init should hold only the pages it uses (and the first 2 MiB of
// code, where all its C is).
//
// The page cache decides the folio size when it reads a file in, so the
// tool drops the file's cached pages and reads them back through mappings
// that ask for huge pages (MADV_HUGEPAGE) or for no readahead
// (MADV_RANDOM). Where the filesystem has no large folios, transparent huge
// pages are off, or a running process keeps old pages mapped, the pages
// stay small: nothing is lost but the gain, and the tool says so. A reboot,
// or memory pressure, undoes it: husk's first command as root then does
// the same for its code and pclntab (libcontainer/prefault/hugepages.c), or
// run the tool again (make husk and make install do).
//
// It exits 0 when it could read the files: it is an optimisation.
package main

import (
	"bufio"
	"cmp"
	"debug/elf"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

const (
	huge             = 2 << 20
	madvRandom       = 1
	madvHugepage     = 14
	madvPopulateRead = 22
	fadvDontneed     = 4
)

func main() {
	sections := flag.String("sections", ".text", "the sections to read in 2 MiB folios, comma-separated")
	check := flag.Bool("check", false, "change nothing: say how much of the sections is in 2 MiB pages now")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: hugetext [-check] [-sections .text,...] FILE...")
		os.Exit(2)
	}
	run := warm
	if *check {
		run = inspect
	}
	status := 0
	for _, name := range flag.Args() {
		msg, err := run(name, strings.Split(*sections, ","))
		if err != nil {
			fmt.Fprintf(os.Stderr, "hugetext: %s: %v\n", name, err)
			status = 1
			continue
		}
		fmt.Printf("hugetext: %s: %s\n", name, msg)
	}
	os.Exit(status)
}

// warm re-reads the file's read-only segments: the whole 2 MiB chunks of
// the named sections in 2 MiB folios, the rest in 4 KiB ones. It says how
// much the kernel then maps with 2 MiB entries.
func warm(name string, sections []string) (string, error) {
	f, segs, chunks, err := openLayout(name, sections)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fd := int(f.Fd())
	// Written pages must be on disk before they can be dropped.
	if err := syscall.Fdatasync(fd); err != nil {
		return "", fmt.Errorf("fdatasync: %w", err)
	}
	dropCache(fd)
	want, got, err := readChunks(fd, chunks, madvHugepage)
	if err != nil {
		return "", err
	}
	// Then the rest, a page at a time: the chunks are in the page cache
	// already and stay as they are.
	for _, s := range segs {
		if _, err := readIn(fd, s, madvRandom); err != nil {
			return "", err
		}
	}
	names := strings.Join(sections, ", ")
	if want == 0 {
		return fmt.Sprintf("no whole 2 MiB of %s (not linked with max-page-size=0x200000?): nothing in 2 MiB pages", names), nil
	}
	msg := fmt.Sprintf("%d of %d MiB of %s in 2 MiB pages", got>>20, want>>20, names)
	if got < want {
		msg += " (the rest in small pages: a filesystem without large folios, transparent huge pages off, or a process that has the file mapped)"
	}
	return msg, nil
}

// inspect maps the whole 2 MiB chunks of the named sections as warm
// leaves them, without advice, and says how much of them the kernel maps
// with 2 MiB entries: what a process running the file gets now. A chunk
// that is not cached is read in as a process would read it.
func inspect(name string, sections []string) (string, error) {
	f, _, chunks, err := openLayout(name, sections)
	if err != nil {
		return "", err
	}
	defer f.Close()
	want, got, err := readChunks(int(f.Fd()), chunks, 0)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d of %d MiB of %s in 2 MiB pages now", got>>20, want>>20, strings.Join(sections, ", ")), nil
}

// readChunks reads the chunks in with the advice (readIn) and returns
// their size and how much of it the kernel mapped with 2 MiB entries.
func readChunks(fd int, chunks []segment, advice uintptr) (want, got uint64, err error) {
	for _, c := range chunks {
		n, err := readIn(fd, c, advice)
		if err != nil {
			return 0, 0, err
		}
		want, got = want+c.size, got+n
	}
	return want, got, nil
}

type segment struct{ off, size uint64 }

// openLayout opens the file and reads its layout (layout).
func openLayout(name string, sections []string) (f *os.File, segs, chunks []segment, err error) {
	if f, err = os.Open(name); err != nil {
		return nil, nil, nil, err
	}
	if segs, chunks, err = layout(f, sections); err != nil {
		f.Close()
		return nil, nil, nil, err
	}
	return f, segs, chunks, nil
}

// layout returns the file ranges of the loadable, non-writable segments,
// and the whole 2 MiB chunks of the named sections.
func layout(f *os.File, sections []string) (segs, chunks []segment, err error) {
	e, err := elf.NewFile(f)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range e.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_W == 0 && p.Filesz > 0 {
			segs = append(segs, segment{p.Off, p.Filesz})
		}
	}
	// The named sections, merged where only alignment padding separates
	// them (.init, .plt and .text.c before .text).
	var ranges []segment
	for _, name := range sections {
		if s := e.Section(name); s != nil && s.Type != elf.SHT_NOBITS && s.Size > 0 {
			ranges = append(ranges, segment{s.Offset, s.Size})
		}
	}
	slices.SortFunc(ranges, func(a, b segment) int { return cmp.Compare(a.off, b.off) })
	for i := 0; i < len(ranges); i++ {
		r := ranges[i]
		for i+1 < len(ranges) && ranges[i+1].off <= r.off+r.size+4096 {
			i++
			r.size = max(r.size, ranges[i].off+ranges[i].size-r.off)
		}
		for lo := (r.off + huge - 1) &^ (huge - 1); lo+huge <= r.off+r.size; lo += huge {
			chunks = append(chunks, segment{lo, huge})
		}
	}
	return segs, chunks, nil
}

// dropCache drops the file's cached pages but those a process has mapped.
func dropCache(fd int) {
	syscall.Syscall6(syscall.SYS_FADVISE64, uintptr(fd), 0, 0, fadvDontneed, 0, 0)
}

// readIn maps the file's range s (mapAligned), gives the advice (none if
// 0) and reads the range in; it returns how much of it the kernel mapped
// with 2 MiB entries.
func readIn(fd int, s segment, advice uintptr) (uint64, error) {
	from := s.off &^ 4095
	length := s.off + s.size - from
	addr, unmap, err := mapAligned(fd, from, length)
	if err != nil {
		return 0, err
	}
	defer unmap()
	if advice != 0 {
		syscall.Syscall(syscall.SYS_MADVISE, addr, uintptr(length), advice)
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, addr, uintptr(length), madvPopulateRead); errno != 0 {
		return 0, nil // before Linux 5.14; its page cache has no large folios either
	}
	return smapsField(addr, "FilePmdMapped:")
}

// mapAligned maps length bytes of the file from off (a page boundary),
// read-only, at an address congruent to off modulo 2 MiB, as a process
// running the file maps it; unmap undoes it.
func mapAligned(fd int, off, length uint64) (addr uintptr, unmap func(), err error) {
	// An anonymous reservation, 4 MiB larger, to place the file mapping
	// inside it at off's offset in a 2 MiB chunk.
	res, err := syscall.Mmap(-1, 0, int(length+2*huge), syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	if err != nil {
		return 0, nil, fmt.Errorf("mmap: %w", err)
	}
	unmap = func() { syscall.Munmap(res) } // the file mapping lies inside it
	at := (uintptr(unsafe.Pointer(&res[0]))+huge-1)&^(huge-1) + uintptr(off&(huge-1))
	addr, _, errno := syscall.Syscall6(syscall.SYS_MMAP, at, uintptr(length), syscall.PROT_READ,
		syscall.MAP_PRIVATE|syscall.MAP_FIXED, uintptr(fd), uintptr(off))
	if errno != 0 {
		unmap()
		return 0, nil, fmt.Errorf("mmap: %w", errno)
	}
	return addr, unmap, nil
}

// smapsField reads a field (FilePmdMapped:, Rss:) of the mapping at addr
// from /proc/self/smaps, in bytes.
func smapsField(addr uintptr, field string) (uint64, error) {
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
		if in && fields[0] == field && len(fields) > 1 {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, sc.Err()
}
