/*
 * Map the husk binary's code, read-only data, data and bss before the Go
 * runtime touches them a page at a time (see prefault.go for why).
 */
#define _GNU_SOURCE
#include <link.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hugepages.h"
#include "stage.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Set when the constructor ran: prefault.go then populates the heap. */
int husk_prefaulted;

/*
 * At most this much of the data and bss is populated: all of husk's own
 * (~0.6 MiB). A dependency's large zeroed buffer (Go's crypto packages
 * keep a 32 MiB one in the bss) would otherwise be allocated in every
 * process, ~5 ms each: past the bound, pages are faulted in if touched.
 */
#define HUSK_PREFAULT_WRITE_MAX (2UL << 20)

/* The end of the writable range [start, end) to populate. */
uintptr_t husk_prefault_write_end(uintptr_t start, uintptr_t end)
{
	return end - start > HUSK_PREFAULT_WRITE_MAX ? start + HUSK_PREFAULT_WRITE_MAX : end;
}

static int populate_segments(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), relro_end = 0;
	(void)size;
	(void)data;

	/* Before the Go code is touched: the pieces it reads again. */
	husk_heal_hugepages(info);

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_GNU_RELRO)
			relro_end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + page - 1) & ~(page - 1);
	}
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = (info->dlpi_addr + ph->p_vaddr) & ~(page - 1), end;

		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_flags & PF_W) {
			/* .data and .bss, past what RELRO made read-only. */
			end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
			if (start < relro_end)
				start = relro_end;
			if (start < end)
				madvise((void *)start, husk_prefault_write_end(start, end) - start,
				        MADV_POPULATE_WRITE);
		} else {
			end = info->dlpi_addr + ph->p_vaddr + ph->p_filesz;
			madvise((void *)start, end - start, MADV_POPULATE_READ);
		}
	}
	return 1; /* the executable is the first object: done */
}

__attribute__((constructor)) static void husk_prefault(int argc, char **argv)
{
	/* The C stage of `husk init` runs a few pages of C, then execs. */
	if (husk_c_stage(argc, argv))
		return;
	dl_iterate_phdr(populate_segments, NULL);
	husk_prefaulted = 1;
}
