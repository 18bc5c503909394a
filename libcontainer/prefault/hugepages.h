#ifndef HUSK_HUGEPAGES_H
#define HUSK_HUGEPAGES_H

#include <link.h>

/* Reads the binary's code pieces again in 2 MiB folios if the page cache
 * lost them (hugepages.c). */
void husk_heal_hugepages(const struct dl_phdr_info *info);

#endif
