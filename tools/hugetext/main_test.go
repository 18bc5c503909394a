package main

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// writeELF writes a file with one loadable read-only segment from offset
// seg to the end of a .text section of size bytes at offset off, a .text.c
// section before it from seg (C code, as husk's), random bytes, and a
// writable segment after it.
func writeELF(t *testing.T, path string, seg, off, size uint64) {
	t.Helper()
	end := off + size
	shoff := end + 8192
	shstr := "\x00.text\x00.shstrtab\x00.text.c\x00"
	b := make([]byte, shoff+4*64+uint64(len(shstr)))
	r := rand.New(rand.NewPCG(1, 2))
	for i := 4096; i+8 <= int(shoff); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	copy(b, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint16(b[16:], 2)  // ET_EXEC
	le.PutUint16(b[18:], 62) // EM_X86_64
	le.PutUint32(b[20:], 1)  // EV_CURRENT
	le.PutUint64(b[32:], 64) // e_phoff
	le.PutUint64(b[40:], shoff)
	le.PutUint16(b[52:], 64) // e_ehsize
	le.PutUint16(b[54:], 56) // e_phentsize
	le.PutUint16(b[56:], 2)  // e_phnum
	le.PutUint16(b[58:], 64) // e_shentsize
	le.PutUint16(b[60:], 4)  // e_shnum
	le.PutUint16(b[62:], 2)  // e_shstrndx
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
	ph(0, 5, seg, end-seg) // R E
	ph(1, 6, end, 8192)    // RW: not read in
	sh := func(i int, name, typ uint32, off, size uint64) {
		p := b[shoff+uint64(64*i):]
		le.PutUint32(p[0:], name)
		le.PutUint32(p[4:], typ)
		le.PutUint64(p[24:], off)
		le.PutUint64(p[32:], size)
	}
	sh(1, 1, 1, off, size)                      // .text, PROGBITS
	sh(2, 7, 3, shoff+4*64, uint64(len(shstr))) // .shstrtab, STRTAB
	sh(3, 17, 1, seg, off-seg)                  // .text.c
	copy(b[shoff+4*64:], shstr)
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prog")
	writeELF(t, path, 4096, 4096, 5<<20)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	segs, chunks, err := layout(f, []string{".text", ".nosuch"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []segment{{4096, 5 << 20}}; !slices.Equal(segs, want) {
		t.Errorf("segments %v, want %v", segs, want)
	}
	// .text is [4 KiB, 5 MiB + 4 KiB): one whole 2 MiB chunk, from 2 MiB.
	if want := []segment{{huge, huge}}; !slices.Equal(chunks, want) {
		t.Errorf("chunks %v, want %v", chunks, want)
	}
}

// Sections that only padding separates count as one range: husk's .init,
// .plt and .text.c start the first 2 MiB of its code, .text ends it.
func TestLayoutMerges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prog")
	writeELF(t, path, huge, huge+huge/2, 2*huge) // .text.c [2, 3) MiB, .text [3, 7) MiB
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, c := range []struct {
		sections []string
		want     []segment
	}{
		{[]string{".text"}, []segment{{2 * huge, huge}}},
		{[]string{".text.c"}, nil},
		{[]string{".text", ".text.c"}, []segment{{huge, huge}, {2 * huge, huge}}},
	} {
		_, chunks, err := layout(f, c.sections)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(chunks, c.want) {
			t.Errorf("layout(%v): chunks %v, want %v", c.sections, chunks, c.want)
		}
	}
}

// mapFile maps the file's range [off, off+size) the way the kernel maps a
// program (at an address congruent to the offset modulo 2 MiB, no advice
// unless advise), reads all of it in, or only its first byte, and returns
// the mapping's Rss and FilePmdMapped: what a process running the file
// gets from the page cache as it is.
func mapFile(t *testing.T, path string, off, size uint64, advise, all bool) (rss, pmd uint64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	addr, unmap, err := mapAligned(int(f.Fd()), off, size)
	if err != nil {
		t.Fatal(err)
	}
	defer unmap()
	if advise {
		syscall.Syscall(syscall.SYS_MADVISE, addr, uintptr(size), madvHugepage)
	}
	n := uintptr(size)
	if !all {
		n = 1
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, addr, n, madvPopulateRead); errno != 0 {
		t.Skipf("host feature missing: MADV_POPULATE_READ (Linux 5.14): %v", errno)
	}
	if pmd, err = smapsField(addr, "FilePmdMapped:"); err != nil {
		t.Fatal(err)
	}
	if rss, err = smapsField(addr, "Rss:"); err != nil {
		t.Fatal(err)
	}
	return rss, pmd
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
	if _, pmd := mapFile(t, probe, 0, 2*huge, true, true); pmd == 0 {
		t.Skipf("host feature missing: the filesystem of %s keeps no 2 MiB folios in the page cache", dir)
	}
}

// After hugetext, a process that maps the file without asking for anything
// gets every whole 2 MiB of the chosen section with a 2 MiB entry, and the
// tool says so; a page of the rest (the C code before husk's Go code, all a
// waiting init runs) maps no more than the 64 KiB around it.
func TestWarm(t *testing.T) {
	dir := t.TempDir()
	needLargeFolios(t, dir)
	path := filepath.Join(dir, "prog")
	// A segment from 2 MiB: a whole 2 MiB of "C code", then .text with
	// two whole chunks and a tail. Its pages are cached as written.
	const off, size = 2 * huge, 2*huge + 12288
	writeELF(t, path, huge, off, size)
	msg, err := warm(path, []string{".text"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "4 of 4 MiB of .text in 2 MiB pages"; msg != want {
		t.Errorf("warm says %q, want %q", msg, want)
	}
	if _, pmd := mapFile(t, path, off, size, false, true); pmd != 2*huge {
		t.Errorf("after warm, a plain mapping of .text has %d bytes in 2 MiB pages, want %d", pmd, 2*huge)
	}
	if rss, pmd := mapFile(t, path, huge, huge, false, false); pmd != 0 || rss > 64<<10 {
		t.Errorf("after warm, one page before .text maps %d bytes (%d in 2 MiB pages), want at most 64 KiB", rss, pmd)
	}
	if msg, err := inspect(path, []string{".text"}); err != nil || msg != "4 of 4 MiB of .text in 2 MiB pages now" {
		t.Errorf("after warm, -check says %q, %v; want 4 of 4 MiB", msg, err)
	}
	// The same pages read back one at a time, as after a reboot with no
	// warm: -check sees none in 2 MiB pages.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dropCache(int(f.Fd()))
	if _, err := readIn(int(f.Fd()), segment{huge, huge + size}, madvRandom); err != nil {
		t.Fatal(err)
	}
	if msg, err := inspect(path, []string{".text"}); err != nil || msg != "0 of 4 MiB of .text in 2 MiB pages now" {
		t.Errorf("with the pages read in 4 KiB, -check says %q, %v; want 0 of 4 MiB", msg, err)
	}
}

// A file whose read-only segments hold no whole 2 MiB chunk is left alone,
// and the tool says why.
func TestWarmNothingAligned(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prog")
	writeELF(t, path, 4096, 4096, huge)
	msg, err := warm(path, []string{".text"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "nothing in 2 MiB pages") {
		t.Errorf("warm says %q, want nothing in 2 MiB pages", msg)
	}
}

func TestWarmNotELF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := warm(path, []string{".text"}); err == nil {
		t.Error("warm of a shell script: no error")
	}
}
