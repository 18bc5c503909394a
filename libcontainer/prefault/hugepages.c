/*
 * Put husk's code back in 2 MiB pages when the page cache has lost them.
 *
 * tools/hugetext, run by make, reads the whole 2 MiB pieces of husk's code
 * and of the Go pclntab into the page cache as 2 MiB folios, which every
 * husk process then maps with one page-table entry each: ~10 % of a
 * command's time on the project's VM (docs/performance.md). Anything that
 * empties the page cache (a reboot, memory pressure, drop_caches, a
 * package install without the tool) leaves them in small folios: the exec
 * reads the binary back around its first faults, a page at a time.
 *
 * So each husk command (not the init's C stage), before it touches its Go
 * code, looks at each such piece: touching its first page maps the whole
 * 2 MiB folio when there is one, so the page 1 MiB further on is present
 * in /proc/self/pagemap exactly then (one pread a piece: a few
 * microseconds). A piece in small folios is read again, as the tool does:
 * its pages are unmapped here, dropped from the page cache
 * (POSIX_FADV_DONTNEED, which keeps any page another process maps) and read
 * back through the mapping with MADV_HUGEPAGE, in one 2 MiB folio where the
 * filesystem has large folios.
 *
 * Only when no other process maps the piece (/proc/kpagecount of one of
 * its pages; root only): another husk would keep its pages, and the read
 * would fail. The piece holding the C code, which this runs in, can be read
 * again because reread lies after the Go code (section .husk_heal,
 * tools/husk.ld) and makes its system calls itself: a call into the C
 * library would fault the piece back in small pages. When a piece is still
 * small afterwards and no other process maps it, the filesystem or the
 * kernel may not give it 2 MiB folios: a file under /run counts that for
 * the binary (device, inode, modification time; a byte a failure) until
 * the next boot, and after three, later commands leave it alone instead
 * of reading 2 MiB again each time.
 * A process with transparent huge pages disabled (PR_SET_THP_DISABLE,
 * inherited from its caller) leaves them alone too, and says nothing.
 *
 * The price in the usual case, all in 2 MiB folios: one pagemap read a
 * piece. After the page cache lost them: the first command reads ~6 MiB.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hugepages.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

#define HUGE (2UL << 20)
#define PAGE 4096UL

/* Failures to read a piece in a 2 MiB folio before husk stops trying. */
#define HUSK_HEAL_TRIES 3

/* The Go pclntab's bounds, from tools/husk.ld; 0 in a build without it. */
extern const char husk_pclntab_start[] __attribute__((weak));
extern const char husk_pclntab_end[] __attribute__((weak));

struct heal {
	int pagemap, kpagecount, exe;
	uintptr_t reread; /* where reread lies: not in a piece it reads */
	int failed, others;
};

/* The pagemap entry of the page at addr; 0 when it cannot be read. */
static uint64_t pagemap_entry(const struct heal *h, uintptr_t addr)
{
	uint64_t e = 0;
	if (pread(h->pagemap, &e, sizeof(e), (off_t)(addr / PAGE * sizeof(e))) != sizeof(e))
		return 0;
	return e;
}

/* Whether the piece at c is one 2 MiB folio (see above). */
static int piece_huge(const struct heal *h, uintptr_t c)
{
	(void)*(volatile const char *)c;
	return (pagemap_entry(h, c + HUGE / 2) >> 63) & 1;
}

/*
 * Whether a process besides this one maps the page at addr (touched
 * already); 1 when it cannot tell (no PFN without CAP_SYS_ADMIN).
 */
static int mapped_elsewhere(struct heal *h, uintptr_t addr)
{
	uint64_t pfn = pagemap_entry(h, addr) & ((1ULL << 55) - 1), count = 0;
	if (pfn == 0)
		return 1;
	if (h->kpagecount == -2)
		h->kpagecount = open("/proc/kpagecount", O_RDONLY | O_CLOEXEC);
	if (h->kpagecount < 0 ||
	    pread(h->kpagecount, &count, sizeof(count), (off_t)(pfn * sizeof(count))) != sizeof(count))
		return 1;
	return count > 1;
}

#if defined(__x86_64__) || defined(__aarch64__)
/* A system call made here, not through the C library (for reread). */
static inline __attribute__((always_inline)) long raw_syscall4(long n, long a, long b, long c, long d)
{
#if defined(__x86_64__)
	long ret;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
	return ret;
#else
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	__asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
	return x0;
#endif
}

/*
 * Read the piece at c again from file offset off: unmap it here, drop its
 * cached pages, read it back with MADV_HUGEPAGE. It lies outside the
 * pieces (section .husk_heal, after the Go code: tools/husk.ld) and calls
 * nothing, so that it can read again the piece that the rest of this file
 * and the C library run in.
 */
#if defined(__has_attribute) && __has_attribute(no_stack_protector)
__attribute__((no_stack_protector))
#endif
__attribute__((noinline, section(".husk_heal"))) static void
reread(int exe, uintptr_t c, long off)
{
	raw_syscall4(SYS_madvise, (long)c, HUGE, MADV_DONTNEED, 0);
	raw_syscall4(SYS_fadvise64, exe, off, HUGE, POSIX_FADV_DONTNEED);
	raw_syscall4(SYS_madvise, (long)c, HUGE, MADV_HUGEPAGE, 0);
	raw_syscall4(SYS_madvise, (long)c, HUGE, MADV_POPULATE_READ, 0);
}
#define HAVE_REREAD 1
#endif

/*
 * Read the piece at c (file offset c - bias), in small folios, in a 2 MiB
 * folio if no other process maps its page probe.
 */
static void heal_piece(struct heal *h, uintptr_t c, uintptr_t bias, uintptr_t probe)
{
#ifdef HAVE_REREAD
	if (h->reread >= c && h->reread < c + HUGE)
		return;
	if (mapped_elsewhere(h, probe)) {
		h->others = 1;
		return;
	}
	reread(h->exe, c, (long)(c - bias));
	/* The read mapped all of it: unmap it to see what one touch maps. */
	madvise((void *)c, HUGE, MADV_DONTNEED);
	if (!piece_huge(h, c)) {
		if (mapped_elsewhere(h, probe))
			h->others = 1;
		else
			h->failed = 1;
	}
#else
	(void)h, (void)c, (void)bias, (void)probe;
#endif
}

/* A range of code or read-only data to keep in 2 MiB folios. */
struct range {
	uintptr_t from, to, bias;
};

/* The segment of info that holds addr: its address minus its file offset. */
static int bias_of(const struct dl_phdr_info *info, uintptr_t addr, uintptr_t *bias)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && addr >= lo && addr < lo + ph->p_filesz) {
			*bias = lo - ph->p_offset;
			/* Only where file offsets and addresses agree modulo 2 MiB. */
			return (*bias & (HUGE - 1)) == 0;
		}
	}
	return 0;
}

/* The file under /run that counts this binary's failed reads. */
static void memo_path(char *buf, size_t size, const struct stat *st)
{
	snprintf(buf, size, "/run/husk-nohugepages.%llx.%llx.%llx", (unsigned long long)st->st_dev,
	         (unsigned long long)st->st_ino, (unsigned long long)st->st_mtime);
}

/*
 * Whether this process may read pieces again: its binary opened (for
 * POSIX_FADV_DONTNEED), fewer than three failures counted for it, huge
 * pages not disabled by the caller. Sets memo to the counter's path.
 */
static int may_reread(struct heal *h, char *memo, size_t size)
{
	struct stat st;

	h->exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (h->exe < 0 || fstat(h->exe, &st) != 0)
		return 0;
	memo_path(memo, size, &st);
	if (stat(memo, &st) == 0 && st.st_size >= HUSK_HEAL_TRIES)
		return 0;
	return prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) <= 0;
}

void husk_heal_hugepages(const struct dl_phdr_info *info)
{
	struct heal h = { .pagemap = -1, .kpagecount = -2, .exe = -1 };
	struct range r[2];
	int n = 0;
	char memo[96] = "";

	/*
	 * Only in husk as make links it (tools/husk.ld): not in a test
	 * binary of a package that imports this one, nor in the plain layout;
	 * and with 4 KiB pages, whose PMD maps 2 MiB.
	 */
	if (!husk_pclntab_start || sysconf(_SC_PAGESIZE) != (long)PAGE)
		return;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && n == 0 && bias_of(info, lo, &r[n].bias)) {
			r[n].from = lo, r[n].to = lo + ph->p_filesz;
			n++;
		}
	}
	if ((uintptr_t)husk_pclntab_end > (uintptr_t)husk_pclntab_start &&
	    bias_of(info, (uintptr_t)husk_pclntab_start, &r[n].bias)) {
		r[n].from = (uintptr_t)husk_pclntab_start, r[n].to = (uintptr_t)husk_pclntab_end;
		n++;
	}
	if (n == 0)
		return;
#ifdef HAVE_REREAD
	h.reread = (uintptr_t)&reread;
#endif
	h.pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (h.pagemap < 0)
		return;
	/*
	 * Each whole 2 MiB piece, with the page that tells whether another
	 * process maps it: every husk process, a waiting init too, runs the
	 * entry point; the other pieces are mapped by husk commands, which
	 * map all of them (prefault.c): their first page. The usual case is
	 * a pread a piece, all in 2 MiB folios.
	 */
	uintptr_t entry = getauxval(AT_ENTRY);
	int may = 0; /* 1: may read pieces again; -1: may not */
	for (int i = 0; i < n && !h.failed && may >= 0; i++)
		for (uintptr_t c = (r[i].from + HUGE - 1) & ~(HUGE - 1); c + HUGE <= r[i].to && !h.failed; c += HUGE) {
			if (piece_huge(&h, c))
				continue;
			if (may == 0)
				may = may_reread(&h, memo, sizeof(memo)) ? 1 : -1;
			if (may < 0)
				break;
			heal_piece(&h, c, r[i].bias, entry >= c && entry < c + HUGE ? (entry & ~(PAGE - 1)) : c);
		}
	if (h.failed && !h.others) {
		/* A byte a failure: one may have been a race. */
		int fd = open(memo, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd >= 0) {
			if (write(fd, "x", 1) != 1) {
				/* the next command tries again */
			}
			close(fd);
		}
	}
	if (h.exe >= 0)
		close(h.exe);
	close(h.pagemap);
	if (h.kpagecount >= 0)
		close(h.kpagecount);
}
