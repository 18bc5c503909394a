#ifndef HUSK_NSENTER_H
#define HUSK_NSENTER_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct husk_ns_path {
	uint32_t type;    /* one CLONE_NEW* flag */
	const char *path; /* in the bootstrap's strings */
};

struct husk_bootstrap {
	uint32_t clone_flags;
	int nns;
	struct husk_ns_path ns[HUSK_MAX_NS_PATHS];
	const char *time_offsets; /* points into the parsed buffer */
	size_t time_offsets_len;
	int pidfd;               /* -1, or a pidfd whose namespaces to join */
	uint32_t pidfd_flags;    /* which of them */
	const uint8_t *affinity; /* CPU mask, points into the parsed buffer */
	size_t affinity_len;
	uint32_t affinity_flags; /* HUSK_AFFINITY_* */
	int ncgroups;
	const char *cgroups[HUSK_MAX_CGROUPS]; /* tasks files, in strings */
	uint32_t log_level;                    /* 1: debug records to the parent */
	int parent_pidfd;                      /* -1, or a pidfd of the parent: the init must not outlive it */
	size_t strings_len;
	/*
	 * The paths above, NUL-terminated, one after the other. Last, and
	 * not cleared by the parser: a process touches only the pages it
	 * uses (fixed PATH_MAX arrays here cost the init ~24 page faults).
	 */
	char strings[HUSK_BOOTSTRAP_MAX];
};

/*
 * The namespace types' CLONE_NEW* flags, the order namespaces given by path
 * are joined in, and their names (the OCI spec's): Go's configs.namespaces,
 * which TestConstantsAgree checks them against.
 */
extern const uint32_t husk_all_ns;
extern const uint32_t husk_ns_join_order[HUSK_MAX_NS_PATHS];
const char *husk_ns_name(uint32_t t);

/* Parse a bootstrap payload. Returns 0, or -1 with *why set. */
int husk_parse_bootstrap(const uint8_t *buf, size_t len, struct husk_bootstrap *out, const char **why);

#endif
