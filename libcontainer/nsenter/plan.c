/*
 * The plan: its decoder, checked against the op table generated from Go
 * (plan_ops.h, from ../initproto/plan.go), and the loop that executes it.
 * No policy here: each op is done as the parent wrote it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "husk.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct husk_ctx husk = {
	.rootfd = -1,
	.procfd = -1,
	.parent_pidfd = -1,
	.nullfd = -1,
};

/* Take a string (u32 length, bytes, NUL) at *off of buf[0:end]. */
static int take_string(const uint8_t *buf, size_t end, size_t *off, const char **s, uint32_t *len)
{
	uint32_t n;
	if (end - *off < 4)
		return -1;
	n = husk_get_u32(buf + *off);
	*off += 4;
	if ((uint64_t)n + 1 > end - *off || buf[*off + n] != 0 || memchr(buf + *off, 0, n) != NULL)
		return -1;
	*s = (const char *)buf + *off;
	*len = n;
	*off += (size_t)n + 1;
	return 0;
}

static int take_field(char kind, const uint8_t *buf, size_t end, size_t *off, struct husk_field *fl)
{
	uint32_t n, len;
	const char *s;

	memset(fl, 0, sizeof(*fl));
	switch (kind) {
	case 'u':
		if (end - *off < 4)
			return -1;
		fl->u = husk_get_u32(buf + *off);
		*off += 4;
		return 0;
	case 'U':
		if (end - *off < 8)
			return -1;
		fl->U = husk_get_u64(buf + *off);
		*off += 8;
		return 0;
	case 's':
		if (take_string(buf, end, off, &fl->s, &fl->u) < 0)
			return -1;
		return 0;
	case 'S':
		if (end - *off < 4)
			return -1;
		n = husk_get_u32(buf + *off);
		*off += 4;
		if (n > (end - *off) / 5)
			return -1;
		fl->u = n;
		fl->p = buf + *off;
		for (uint32_t i = 0; i < n; i++)
			if (take_string(buf, end, off, &s, &len) < 0)
				return -1;
		return 0;
	case 'b':
	case 'L':
		if (end - *off < 4)
			return -1;
		n = husk_get_u32(buf + *off);
		*off += 4;
		if ((kind == 'L' && n > (end - *off) / 4) || (kind == 'b' && n > end - *off))
			return -1;
		fl->u = n;
		fl->p = buf + *off;
		*off += kind == 'L' ? (size_t)n * 4 : n;
		return 0;
	}
	return -1;
}

int husk_parse_plan(const uint8_t *buf, size_t len, struct husk_op *ops, size_t max_ops, size_t *nops, const char **why)
{
	size_t off = sizeof(HUSK_PLAN_MAGIC) - 1;

	*nops = 0;
	if (len < off || memcmp(buf, HUSK_PLAN_MAGIC, off) != 0) {
		*why = "plan without its magic";
		return -1;
	}
	if (len > HUSK_PLAN_MAX) {
		*why = "plan too long";
		return -1;
	}
	while (off < len) {
		uint16_t type;
		uint32_t rlen;
		size_t end;
		const char *kinds;
		struct husk_op *op;

		if (len - off < 6) {
			*why = "plan record header truncated";
			return -1;
		}
		type = husk_get_u16(buf + off);
		rlen = husk_get_u32(buf + off + 2);
		off += 6;
		if (rlen > len - off) {
			*why = "plan record runs past the end";
			return -1;
		}
		end = off + rlen;
		if (type == 0 || type > HUSK_OP_MAX || (kinds = husk_op_kinds[type]) == NULL) {
			*why = "plan record of unknown op";
			return -1;
		}
		if (*nops >= max_ops) {
			*why = "plan has too many records";
			return -1;
		}
		op = &ops[(*nops)++];
		op->type = type;
		for (size_t i = 0; kinds[i] != 0; i++) {
			if (take_field(kinds[i], buf, end, &off, &op->f[i]) < 0) {
				*why = "plan record field truncated or malformed";
				return -1;
			}
		}
		if (off != end) {
			*why = "plan record longer than its fields";
			return -1;
		}
	}
	return 0;
}

const char *husk_str_at(const struct husk_field *fl, uint32_t i)
{
	const uint8_t *p = fl->p;
	for (uint32_t k = 0; k < i; k++)
		p += 4 + husk_get_u32(p) + 1;
	return (const char *)p + 4;
}

uint32_t husk_u32_at(const struct husk_field *fl, uint32_t i)
{
	return husk_get_u32(fl->p + 4 * (size_t)i);
}

typedef void (*op_fn)(const struct husk_op *);

static const op_fn handlers[HUSK_OP_MAX + 1] = {
	[HUSK_OP_PREP_ROOT] = husk_op_prep_root,
	[HUSK_OP_PREP_ROOT_NOMNTNS] = husk_op_prep_root_nomntns,
	[HUSK_OP_MOUNT] = husk_op_mount,
	[HUSK_OP_BIND_CGROUP] = husk_op_bind_cgroup,
	[HUSK_OP_GUARD_CGROUPS] = husk_op_guard_cgroups,
	[HUSK_OP_MKNOD] = husk_op_mknod,
	[HUSK_OP_CONSOLE_FILE] = husk_op_console_file,
	[HUSK_OP_SYMLINK] = husk_op_symlink,
	[HUSK_OP_READONLY] = husk_op_readonly,
	[HUSK_OP_MASK] = husk_op_mask,
	[HUSK_OP_MKDIR] = husk_op_mkdir,
	[HUSK_OP_DEFERRED_RO] = husk_op_deferred_ro,
	[HUSK_OP_ROOT_RO] = husk_op_root_ro,
	[HUSK_OP_PARENT_HOOKS] = husk_op_parent_hooks,
	[HUSK_OP_HOOK_STATE] = husk_op_hook_state,
	[HUSK_OP_HOOK] = husk_op_hook,
	[HUSK_OP_SYSCTL] = husk_op_sysctl,
	[HUSK_OP_OOM] = husk_op_oom,
	[HUSK_OP_PIVOT] = husk_op_pivot,
	[HUSK_OP_REOPEN_NULL] = husk_op_reopen_null,
	[HUSK_OP_CONSOLE] = husk_op_console,
	[HUSK_OP_HOSTNAME] = husk_op_hostname,
	[HUSK_OP_DOMAINNAME] = husk_op_domainname,
	[HUSK_OP_KEYRING] = husk_op_keyring,
	[HUSK_OP_PERSONALITY] = husk_op_personality,
	[HUSK_OP_MEMPOLICY] = husk_op_mempolicy,
	[HUSK_OP_SCHED] = husk_op_sched,
	[HUSK_OP_IOPRIO] = husk_op_ioprio,
	[HUSK_OP_LSM_EXEC] = husk_op_lsm_exec,
	[HUSK_OP_RLIMIT] = husk_op_rlimit,
	[HUSK_OP_UMASK] = husk_op_umask,
	[HUSK_OP_ENV] = husk_op_env,
	[HUSK_OP_CAPS_BOUNDING] = husk_op_caps_bounding,
	[HUSK_OP_CWD] = husk_op_cwd,
	[HUSK_OP_SECCOMP] = husk_op_seccomp,
	[HUSK_OP_USER] = husk_op_user,
	[HUSK_OP_CAPS] = husk_op_caps,
	[HUSK_OP_NNP] = husk_op_nnp,
	[HUSK_OP_PRESERVE_FDS] = husk_op_preserve_fds,
	[HUSK_OP_LOOKUP] = husk_op_lookup,
	[HUSK_OP_READY] = husk_op_ready,
	[HUSK_OP_FIFO_OPEN] = husk_op_fifo_open,
	[HUSK_OP_FIFO_DONE] = husk_op_fifo_done,
	[HUSK_OP_EXEC] = husk_op_exec,
	[HUSK_OP_CHROOT] = husk_op_chroot,
	[HUSK_OP_PARENT_DEATH] = husk_op_parent_death,
};

/*
 * Phase timings (--debug): the plan's ops grouped into the steps the
 * parent logs one record each for, sent before Ready as LOG frames of
 * level "phase": "NAME NANOSECONDS".
 */
enum { PH_MOUNTS, PH_HOOKS, PH_PIVOT, PH_SECCOMP, PH_PROCESS, PH_N };
static const char *const phase_names[PH_N] = { "mounts", "hooks", "pivot_root", "seccomp", "process" };
static uint64_t phase_ns[PH_N];
static int phase_seen[PH_N];

static int phase_of(uint16_t type)
{
	switch (type) {
	case HUSK_OP_PREP_ROOT:
	case HUSK_OP_PREP_ROOT_NOMNTNS:
	case HUSK_OP_MOUNT:
	case HUSK_OP_BIND_CGROUP:
	case HUSK_OP_GUARD_CGROUPS:
	case HUSK_OP_MKNOD:
	case HUSK_OP_CONSOLE_FILE:
	case HUSK_OP_SYMLINK:
	case HUSK_OP_READONLY:
	case HUSK_OP_MASK:
	case HUSK_OP_MKDIR:
	case HUSK_OP_DEFERRED_RO:
	case HUSK_OP_ROOT_RO:
		return PH_MOUNTS;
	case HUSK_OP_PARENT_HOOKS:
	case HUSK_OP_HOOK_STATE:
	case HUSK_OP_HOOK:
		return PH_HOOKS;
	case HUSK_OP_PIVOT:
	case HUSK_OP_REOPEN_NULL:
	case HUSK_OP_CHROOT:
		return PH_PIVOT;
	case HUSK_OP_SECCOMP:
		return PH_SECCOMP;
	}
	return PH_PROCESS;
}

static void add_phase(uint16_t type, const struct timespec *t0)
{
	struct timespec t1;
	int p = phase_of(type);

	clock_gettime(CLOCK_MONOTONIC, &t1);
	phase_ns[p] += (uint64_t)(t1.tv_sec - t0->tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec - (uint64_t)t0->tv_nsec;
	phase_seen[p] = 1;
}

static void send_phases(void)
{
	char msg[128];

	for (int p = 0; p < PH_N; p++) {
		int n;
		if (!phase_seen[p])
			continue;
		n = snprintf(msg, sizeof(msg), "phase%c%s %llu", 0, phase_names[p], (unsigned long long)phase_ns[p]);
		husk_send_frame(HUSK_MSG_LOG, msg, (uint32_t)n);
		phase_seen[p] = 0;
		phase_ns[p] = 0;
	}
}

/* The most records a plan may have (a config with thousands of mounts is
 * refused by the parent first). */
#define MAX_OPS 8192

void husk_run_plan(struct husk_bootstrap *bs)
{
	uint8_t hdr[HUSK_FRAME_HEADER];
	uint8_t *buf;
	uint32_t len;
	size_t nops, counted = 0;
	struct husk_op *ops;
	const char *why = NULL;

	husk.parent_pidfd = bs->parent_pidfd;
	husk_stage = "init";
	husk_die_on_signals();
	/*
	 * As runc's, the process (the init, or an exec'd one) leads a session
	 * of its own: not the caller's, outside its pid namespace (CRIU will
	 * not dump a tree whose session leader it cannot see). A terminal's
	 * op finds it done. (EPERM: a process group leader already.)
	 */
	(void)setsid();
	/* Nothing inherited reaches a hook or the workload; the preserved
	 * fds are let through again just before the exec. */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		for (int fd = 3; fd < 1024; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	if (husk_read_all(husk_sock, hdr, sizeof(hdr)) < 0)
		husk_fail("init", errno, "read plan", NULL, "the parent went away");
	len = husk_get_u32(hdr);
	if (husk_get_u16(hdr + 4) == HUSK_MSG_ERROR)
		_exit(1); /* the parent failed before it could send a plan */
	if (husk_get_u16(hdr + 4) != HUSK_MSG_PLAN)
		husk_fail("init", EPROTO, "read plan", NULL, "the message is not a plan");
	if (len > HUSK_PLAN_MAX)
		husk_fail("init", EMSGSIZE, "read plan", NULL, "plan too long");
	buf = malloc(len ? len : 1);
	if (buf == NULL)
		husk_fail("init", ENOMEM, "read plan", NULL, NULL);
	if (husk_read_all(husk_sock, buf, len) < 0)
		husk_fail("init", errno, "read plan", NULL, "truncated");
	for (size_t off = sizeof(HUSK_PLAN_MAGIC) - 1; off + 6 <= len && counted < MAX_OPS; counted++)
		off += 6 + (size_t)husk_get_u32(buf + off + 2);
	ops = calloc(counted ? counted : 1, sizeof(*ops));
	if (ops == NULL)
		husk_fail("init", ENOMEM, "read plan", NULL, NULL);
	if (husk_parse_plan(buf, len, ops, counted, &nops, &why) < 0)
		husk_fail("init", EINVAL, "parse plan", NULL, why);
	husk_debugf("plan received: %zu ops", nops);
	for (size_t i = 0; i < nops; i++) {
		op_fn fn = handlers[ops[i].type];
		struct timespec t0;
		if (fn == NULL)
			husk_failf("init", ENOSYS, "run plan", NULL, "op %s has no handler",
			           husk_op_names[ops[i].type]);
		/* With --debug only: no clock is read otherwise. */
		if (husk_log_debug) {
			if (ops[i].type == HUSK_OP_READY)
				send_phases();
			clock_gettime(CLOCK_MONOTONIC, &t0);
		}
		fn(&ops[i]);
		if (husk_log_debug)
			add_phase(ops[i].type, &t0);
	}
	husk_fail("init", EINVAL, "run plan", NULL, "the plan ends without an exec");
}
