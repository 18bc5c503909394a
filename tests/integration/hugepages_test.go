package integration

import (
	"bufio"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

const hugeSize = 2 << 20

// pieces returns the file offsets of the whole 2 MiB pieces that husk keeps
// in 2 MiB folios (libcontainer/prefault/hugepages.c): those of its code
// segment and of the Go pclntab, in a binary linked with tools/husk.ld
// (which adds .text.heal) as make does.
func pieces(t *testing.T, path string) []uint64 {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ranges [][2]uint64
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 && (p.Vaddr-p.Off)%hugeSize == 0 {
			ranges = append(ranges, [2]uint64{p.Off, p.Off + p.Filesz})
			break
		}
	}
	if f.Section(".text.heal") == nil {
		t.Skipf("%s was linked without tools/husk.ld (HUGE_LDFLAGS=, for a linker without INSERT scripts): no 2 MiB layout", path)
	}
	if s := f.Section(".gopclntab"); s != nil {
		ranges = append(ranges, [2]uint64{s.Offset, s.Offset + s.Size})
	}
	var out []uint64
	for _, r := range ranges {
		for off := (r[0] + hugeSize - 1) &^ (hugeSize - 1); off+hugeSize <= r[1]; off += hugeSize {
			out = append(out, off)
		}
	}
	return out
}

// mapPiece maps 2 MiB of path from off at an address congruent to off
// modulo 2 MiB, as a process running the file maps it, with the advice
// given (none if 0), reads it in, and returns how much of it the kernel
// maps with a 2 MiB entry.
func mapPiece(t *testing.T, path string, off uint64, advice int) uint64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := unix.Mmap(-1, 0, 3*hugeSize, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(res)
	at := (uintptr(unsafe.Pointer(&res[0])) + hugeSize - 1) &^ (hugeSize - 1)
	addr, _, errno := unix.Syscall6(unix.SYS_MMAP, at, hugeSize, unix.PROT_READ,
		unix.MAP_PRIVATE|unix.MAP_FIXED, f.Fd(), uintptr(off))
	if errno != 0 {
		t.Fatal(errno)
	}
	if advice != 0 {
		unix.Syscall(unix.SYS_MADVISE, addr, hugeSize, uintptr(advice))
	}
	if _, _, errno := unix.Syscall(unix.SYS_MADVISE, addr, hugeSize, unix.MADV_POPULATE_READ); errno != 0 {
		t.Skipf("host feature missing: MADV_POPULATE_READ (Linux 5.14): %v", errno)
	}
	return smapsPmd(t, addr)
}

// smapsPmd reads FilePmdMapped of our mapping at addr, in bytes.
func smapsPmd(t *testing.T, addr uintptr) uint64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if !strings.HasSuffix(fields[0], ":") {
			lo, _, _ := strings.Cut(fields[0], "-")
			v, err := strconv.ParseUint(lo, 16, 64)
			in = err == nil && uintptr(v) == addr
			continue
		}
		if in && fields[0] == "FilePmdMapped:" && len(fields) > 1 {
			kb, _ := strconv.ParseUint(fields[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("no mapping at %#x in /proc/self/smaps", addr)
	return 0
}

// dropCached drops the file's cached pages (none is mapped).
func dropCached(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	unix.Fdatasync(int(f.Fd()))
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
}

// copyBinary copies the binary under test into dir.
func copyBinary(t *testing.T, dir string) string {
	t.Helper()
	in, err := os.Open(runtimeBin)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	path := filepath.Join(dir, "husk")
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// memoPath is the file in which husk counts, until the next boot, its
// failures to read the binary at path in 2 MiB folios (hugepages.c).
func memoPath(t *testing.T, path string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("/run/husk-nohugepages.%x.%x.%x", st.Dev, st.Ino, st.Mtim.Sec)
}

// needPageMonitor skips unless the test runs as root and the kernel has
// /proc/self/pagemap and /proc/kpagecount, with which husk tells whether
// its pieces are in 2 MiB folios and whether another process maps them.
func needPageMonitor(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("husk reads its pieces again only as root (/proc/kpagecount)")
	}
	for _, p := range []string{"/proc/self/pagemap", "/proc/kpagecount"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("host feature missing: %s (CONFIG_PROC_PAGE_MONITOR)", p)
		}
	}
}

// needHugeFolios skips unless dir's filesystem reads a file into the page
// cache in 2 MiB folios through a mapping that asks for huge pages.
func needHugeFolios(t *testing.T, dir string) {
	t.Helper()
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || strings.Contains(string(b), "[never]") {
		t.Skip("host feature missing: transparent huge pages are off (or the kernel has none)")
	}
	probe := filepath.Join(dir, "probe")
	if err := os.WriteFile(probe, make([]byte, hugeSize), 0o644); err != nil {
		t.Fatal(err)
	}
	dropCached(t, probe)
	if mapPiece(t, probe, 0, unix.MADV_HUGEPAGE) == 0 {
		t.Skipf("host feature missing: the filesystem of %s keeps no 2 MiB folios in the page cache", dir)
	}
}

// After the page cache lost husk's 2 MiB folios (here: its pages dropped
// and read back a page at a time, as after a reboot), the first command
// reads its code and pclntab back in 2 MiB folios: a process mapping the
// binary afterwards gets each whole 2 MiB piece with one 2 MiB entry. A
// command whose caller disabled huge pages leaves them as they are.
func TestCodeBackInHugePages(t *testing.T) {
	if !isHusk() {
		t.Skip("husk's own start-up (libcontainer/prefault/hugepages.c)")
	}
	needPageMonitor(t)
	dir := t.TempDir()
	needHugeFolios(t, dir)
	bin := copyBinary(t, dir)
	offs := pieces(t, bin)
	if len(offs) == 0 {
		t.Fatalf("%s has no whole 2 MiB piece of code (not linked as the Makefile does?)", runtimeBin)
	}
	dropCached(t, bin)
	for _, off := range offs {
		if pmd := mapPiece(t, bin, off, unix.MADV_RANDOM); pmd != 0 {
			t.Fatalf("piece at %#x read a page at a time is in a 2 MiB folio", off)
		}
	}
	// A caller that disabled transparent huge pages (inherited by husk):
	// husk leaves the pieces alone, and does not say it cannot have them.
	if err := unix.Prctl(unix.PR_SET_THP_DISABLE, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	unix.Prctl(unix.PR_SET_THP_DISABLE, 0, 0, 0, 0)
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", bin, err, out)
	}
	for _, off := range offs {
		if pmd := mapPiece(t, bin, off, 0); pmd != 0 {
			t.Errorf("with huge pages disabled, a command read the piece at %#x in a 2 MiB folio", off)
		}
	}
	if _, err := os.Stat(memoPath(t, bin)); err == nil {
		t.Fatalf("with huge pages disabled, a command wrote %s", memoPath(t, bin))
	}
	out, err = exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", bin, err, out)
	}
	for _, off := range offs {
		if pmd := mapPiece(t, bin, off, 0); pmd != hugeSize {
			t.Errorf("after one command, the piece at %#x maps %d bytes with 2 MiB entries, want %d", off, pmd, hugeSize)
		}
	}
	if _, err := os.Stat(memoPath(t, bin)); err == nil {
		t.Errorf("%s says the binary cannot have 2 MiB folios", memoPath(t, bin))
	}
}

// Where the pieces cannot be read in 2 MiB folios (here tmpfs without huge
// pages), each command counts its failure in a file under /run, and after
// three the commands stop trying; the binary works throughout.
func TestCodeHugePagesUnavailable(t *testing.T) {
	if !isHusk() {
		t.Skip("husk's own start-up (libcontainer/prefault/hugepages.c)")
	}
	needPageMonitor(t)
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/shmem_enabled")
	if err != nil {
		t.Skip("host feature missing: the kernel has no transparent huge pages")
	}
	if s := string(b); !strings.Contains(s, "[never]") && !strings.Contains(s, "[deny]") {
		t.Skipf("host feature: tmpfs may hold 2 MiB pages here (shmem_enabled: %s)", strings.TrimSpace(s))
	}
	var fs unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &fs); err != nil || fs.Type != unix.TMPFS_MAGIC {
		t.Skip("host feature missing: no tmpfs at /dev/shm")
	}
	dir, err := os.MkdirTemp("/dev/shm", "husk-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := copyBinary(t, dir)
	memo := memoPath(t, bin)
	t.Cleanup(func() { os.Remove(memo) })
	for i := 1; i <= 4; i++ {
		if out, err := exec.Command(bin, "--version").CombinedOutput(); err != nil {
			t.Fatalf("%s --version: %v\n%s", bin, err, out)
		}
		// A byte a failed try; after three, no more tries.
		fi, err := os.Stat(memo)
		if err != nil {
			t.Fatalf("no %s after %d commands from tmpfs: %v", memo, i, err)
		}
		if want := int64(min(i, 3)); fi.Size() != want {
			t.Errorf("after %d commands from tmpfs, %s counts %d failures, want %d", i, memo, fi.Size(), want)
		}
	}
}
