/*
 * Internal declarations of husk's init in C: the bootstrap (nsenter.c), the
 * plan's decoder and loop (plan.c), its ops on the filesystem (rootfs.c)
 * and on the process (process.c), and the frames they exchange with the
 * parent (io.c). See ../initproto for the protocol and the plan.
 */
#ifndef HUSK_H
#define HUSK_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nsenter.h"
#include "plan_ops.h"

/* ---- io.c: frames on the init socket, errors, debug records ---- */

extern int husk_sock;          /* the init socket, or -1 */
extern int husk_log_debug;     /* the parent wants a LOG frame per step */
extern const char *husk_stage; /* "nsenter" (bootstrap), then "init" (plan) */

uint32_t husk_get_u32(const uint8_t *p);
uint16_t husk_get_u16(const uint8_t *p);
uint64_t husk_get_u64(const uint8_t *p);
void husk_put_u32(uint8_t *p, uint32_t v);
int husk_write_all(int fd, const void *buf, size_t len);
int husk_read_all(int fd, void *buf, size_t len);
int husk_send_frame(uint16_t type, const void *payload, uint32_t len);
/*
 * Read one frame header and, if want_fd, the one fd sent with it
 * (SCM_RIGHTS, close-on-exec; -1 if none). The payload (*len bytes) is
 * read into a buffer of the caller's (at most cap bytes; longer is an
 * error).
 */
int husk_recv_frame(uint16_t *type, uint8_t *payload, uint32_t cap, uint32_t *len, int *fd);
/* Read a frame that must be of type want with an empty payload. */
void husk_expect(uint16_t want, const char *what);

/*
 * Report an error (initproto.InitError: errno, stage, op, path, detail)
 * and exit. Before the init is ready it goes to the parent; after, to
 * stderr (and, while `start` waits on the exec fifo, to it as "1...").
 */
void husk_fail(const char *stage, int err, const char *op, const char *path, const char *detail)
        __attribute__((noreturn));
/* Like husk_fail with a formatted detail. */
void husk_failf(const char *stage, int err, const char *op, const char *path, const char *fmt, ...)
        __attribute__((noreturn, format(printf, 5, 6)));
void husk_debugf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* strerror as Go says it (syscall.Errno.Error): lower case. */
const char *husk_strerror(int err);
/* Until the exec: a signal that would end the process ends it (the init is
 * pid 1 of its namespace, where an unhandled one would be ignored). */
void husk_die_on_signals(void);

/* After Ready: errors go to stderr; fifo_fd, if set, gets them too. */
extern int husk_after_ready;
extern int husk_fifo_fd;

/* ---- plan.c ---- */

/* One decoded field (see initproto/plan.go for the kinds). */
struct husk_field {
	uint32_t u;       /* u; the count of S and L; the length of s and b */
	uint64_t U;       /* U */
	const char *s;    /* s: NUL-terminated, in the plan buffer */
	const uint8_t *p; /* S, b, L: the encoded items, in the plan buffer */
};

struct husk_op {
	uint16_t type;
	struct husk_field f[HUSK_OP_MAX_FIELDS];
};

/* Decode a plan: each record's fields checked against the op table. */
int husk_parse_plan(const uint8_t *buf, size_t len, struct husk_op *ops, size_t max_ops, size_t *nops,
                    const char **why);
/* The i-th string of an S field, the i-th u32 of an L field. */
const char *husk_str_at(const struct husk_field *fl, uint32_t i);
uint32_t husk_u32_at(const struct husk_field *fl, uint32_t i);
/* Read the Plan frame from the parent and execute it: never returns. */
void husk_run_plan(struct husk_bootstrap *bs) __attribute__((noreturn));

/* ---- the executor's state, shared by the ops ---- */

struct husk_ctx {
	int rootfd;       /* O_PATH of the rootfs bind mount, -1 before prep-root */
	int procfd;       /* a procfs of our own (its root, O_PATH), -1 until made */
	int parent_pidfd; /* until the handoff, -1 after */
	int nullfd;       /* the container's verified /dev/null, -1 until needed */
	mode_t old_umask; /* restored once the rootfs is done */
	int deferred_ro[256];
	int ndeferred;
	const char *cwd; /* the workload's */
	int cwd_pending; /* root may not enter it: again after the user switch */
	char **env;      /* the workload's environment (NULL-terminated) */
	size_t nenv;
	char exe[4096]; /* lookup's result */
	const char *hook_before, *hook_after;
	char warnings[8192]; /* for Ready: NUL-separated */
	size_t nwarnings;
	int is_exec;
};

extern struct husk_ctx husk;

/* ---- rootfs.c ---- */
void husk_op_prep_root(const struct husk_op *op);
void husk_op_prep_root_nomntns(const struct husk_op *op);
void husk_op_mount(const struct husk_op *op);
void husk_op_bind_cgroup(const struct husk_op *op);
void husk_op_guard_cgroups(const struct husk_op *op);
void husk_op_mknod(const struct husk_op *op);
void husk_op_console_file(const struct husk_op *op);
void husk_op_symlink(const struct husk_op *op);
void husk_op_readonly(const struct husk_op *op);
void husk_op_mask(const struct husk_op *op);
void husk_op_mkdir(const struct husk_op *op);
void husk_op_deferred_ro(const struct husk_op *op);
void husk_op_root_ro(const struct husk_op *op);
void husk_op_pivot(const struct husk_op *op);
void husk_op_reopen_null(const struct husk_op *op);
void husk_op_chroot(const struct husk_op *op);
/* A procfs of our own for writes to /proc (sysctls, oom_score_adj, LSM
 * attributes) and the exec fifo: made once, before anything of the
 * container can have covered /proc. */
int husk_proc(void);
/* The MS_* flags of a statfs f_flags (MS_STRICTATIME when no atime flag),
 * and their names ("MS_RDONLY|MS_NOSUID"). */
unsigned long husk_statfs_flags(unsigned long f_flags);
void husk_flag_names(unsigned long flags, char *out, size_t cap);
/* The flags to remount a bind with when the kernel refused want: have's
 * locked ones kept; -1 and why when the config clears a locked flag or
 * asks for another atime. */
int husk_locked_flags(unsigned long want, unsigned long clear, unsigned long have, unsigned long *flags, char *problem,
                      size_t cap);
/* Open path inside the rootfs (symlinks resolved as if chrooted). */
int husk_open_in_root(const char *path, int flags);

/* ---- process.c ---- */
void husk_op_parent_hooks(const struct husk_op *op);
void husk_op_hook_state(const struct husk_op *op);
void husk_op_hook(const struct husk_op *op);
void husk_op_sysctl(const struct husk_op *op);
void husk_op_oom(const struct husk_op *op);
void husk_op_console(const struct husk_op *op);
void husk_op_hostname(const struct husk_op *op);
void husk_op_domainname(const struct husk_op *op);
void husk_op_keyring(const struct husk_op *op);
void husk_op_personality(const struct husk_op *op);
void husk_op_mempolicy(const struct husk_op *op);
void husk_op_sched(const struct husk_op *op);
void husk_op_ioprio(const struct husk_op *op);
void husk_op_lsm_exec(const struct husk_op *op);
void husk_op_rlimit(const struct husk_op *op);
void husk_op_umask(const struct husk_op *op);
void husk_op_env(const struct husk_op *op);
void husk_op_caps_bounding(const struct husk_op *op);
void husk_op_cwd(const struct husk_op *op);
void husk_op_seccomp(const struct husk_op *op);
void husk_op_user(const struct husk_op *op);
void husk_op_caps(const struct husk_op *op);
void husk_op_nnp(const struct husk_op *op);
void husk_op_parent_death(const struct husk_op *op);
void husk_op_preserve_fds(const struct husk_op *op);
void husk_op_lookup(const struct husk_op *op);
void husk_op_ready(const struct husk_op *op);
void husk_op_fifo_open(const struct husk_op *op);
void husk_op_fifo_done(const struct husk_op *op);
void husk_op_exec(const struct husk_op *op) __attribute__((noreturn));

#endif
