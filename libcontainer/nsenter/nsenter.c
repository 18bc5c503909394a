/*
 * `husk init`, in C: an ELF constructor that runs before the Go runtime
 * would start, and never lets it. setns() into a mount or user namespace
 * and unshare() of a user namespace need a single-threaded process, a new
 * pid or time namespace applies only to children, and the container's init
 * should not carry a Go runtime (its threads, its memory) for its life.
 *
 * This file is the bootstrap: it reads the bootstrap message, joins the
 * namespaces named by path, makes the new ones (letting the parent write
 * uid/gid maps for a user namespace), writes time namespace offsets, forks
 * into a new pid/time namespace, and reports the pid that goes on. That
 * process then reads the plan the parent made and executes it (plan.c),
 * up to the workload's exec. The conversation is documented in
 * ../initproto/initproto.go.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "husk.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

#define get_u32 husk_get_u32
#define get_u16 husk_get_u16
#define put_u32 husk_put_u32

#define ALL_NS                                                                                                         \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP |   \
	 CLONE_NEWTIME)

/* For TestConstantsAgree: ALL_NS, the join order and ns_name, as Go sees them. */
const uint32_t husk_all_ns = ALL_NS;
const uint32_t husk_ns_join_order[HUSK_MAX_NS_PATHS] = { CLONE_NEWUSER, CLONE_NEWIPC,  CLONE_NEWUTS,    CLONE_NEWNET,
	                                                 CLONE_NEWPID,  CLONE_NEWTIME, CLONE_NEWCGROUP, CLONE_NEWNS };

/* A single namespace flag, or 0. */
static int one_ns(uint32_t t)
{
	return t != 0 && (t & ALL_NS) == t && (t & (t - 1)) == 0;
}

/* A NUL-terminated copy of s[0..n) in out's strings (which a payload
 * within HUSK_BOOTSTRAP_MAX always fits: each string has a record header). */
static const char *keep(struct husk_bootstrap *out, const uint8_t *s, size_t n)
{
	char *p;

	if (n >= sizeof(out->strings) - out->strings_len)
		return NULL;
	p = out->strings + out->strings_len;
	memcpy(p, s, n);
	p[n] = '\0';
	out->strings_len += n + 1;
	return p;
}

int husk_parse_bootstrap(const uint8_t *buf, size_t len, struct husk_bootstrap *out, const char **why)
{
	size_t off = 4;
	uint32_t seen = 0;

	memset(out, 0, offsetof(struct husk_bootstrap, strings));
	out->pidfd = -1;
	out->parent_pidfd = -1;
	if (len > HUSK_BOOTSTRAP_MAX) {
		*why = "bootstrap message too long";
		return -1;
	}
	if (len < 4 || memcmp(buf, HUSK_BOOTSTRAP_MAGIC, 4) != 0) {
		*why = "bootstrap message has a bad magic";
		return -1;
	}
	while (off < len) {
		uint16_t type;
		uint32_t rlen;
		const uint8_t *val;

		if (len - off < 6) {
			*why = "bootstrap record header truncated";
			return -1;
		}
		type = get_u16(buf + off);
		rlen = get_u32(buf + off + 2);
		off += 6;
		if (rlen > len - off) {
			*why = "bootstrap record truncated";
			return -1;
		}
		val = buf + off;
		off += rlen;

		switch (type) {
		case HUSK_REC_CLONE_FLAGS:
			if (rlen != 4) {
				*why = "clone flags record has a bad length";
				return -1;
			}
			out->clone_flags = get_u32(val);
			if ((out->clone_flags & ~ALL_NS) != 0) {
				*why = "clone flags name an unknown namespace";
				return -1;
			}
			break;
		case HUSK_REC_NS_PATH: {
			struct husk_ns_path *ns;
			uint32_t t;

			if (rlen < 5 || rlen - 4 >= PATH_MAX) {
				*why = "namespace path record has a bad length";
				return -1;
			}
			t = get_u32(val);
			if (!one_ns(t)) {
				*why = "namespace path record has a bad type";
				return -1;
			}
			if (seen & t) {
				*why = "namespace path given twice for one type";
				return -1;
			}
			if (memchr(val + 4, 0, rlen - 4) != NULL) {
				*why = "namespace path contains a NUL byte";
				return -1;
			}
			seen |= t;
			ns = &out->ns[out->nns++];
			ns->type = t;
			if ((ns->path = keep(out, val + 4, rlen - 4)) == NULL) {
				*why = "bootstrap strings overflow";
				return -1;
			}
			break;
		}
		case HUSK_REC_CGROUP_TASKS:
			if (out->ncgroups >= HUSK_MAX_CGROUPS) {
				*why = "too many cgroups";
				return -1;
			}
			if (rlen < 1 || rlen >= PATH_MAX || memchr(val, 0, rlen) != NULL) {
				*why = "cgroup record has a bad length or a NUL byte";
				return -1;
			}
			if ((out->cgroups[out->ncgroups] = keep(out, val, rlen)) == NULL) {
				*why = "bootstrap strings overflow";
				return -1;
			}
			out->ncgroups++;
			break;
		case HUSK_REC_SETNS_PIDFD: {
			uint32_t fd;

			if (rlen != 8 || out->pidfd >= 0) {
				*why = "pidfd record has a bad length or is repeated";
				return -1;
			}
			fd = get_u32(val);
			out->pidfd_flags = get_u32(val + 4);
			if (fd > 1 << 20 || out->pidfd_flags == 0 || (out->pidfd_flags & ~ALL_NS) != 0) {
				*why = "pidfd record has a bad fd or flags";
				return -1;
			}
			if (seen & out->pidfd_flags) {
				*why = "a namespace is joined both by pidfd and by path";
				return -1;
			}
			out->pidfd = (int)fd;
			seen |= out->pidfd_flags;
			break;
		}
		case HUSK_REC_LOG_LEVEL:
			if (rlen != 4) {
				*why = "log level record has a bad length";
				return -1;
			}
			out->log_level = get_u32(val);
			if (out->log_level > 1) {
				*why = "log level record has an unknown level";
				return -1;
			}
			break;
		case HUSK_REC_PARENT_PIDFD:
			if (rlen != 4 || get_u32(val) > 1 << 20 || out->parent_pidfd >= 0) {
				*why = "parent pidfd record has a bad length or fd, or is repeated";
				return -1;
			}
			out->parent_pidfd = (int)get_u32(val);
			break;
		case HUSK_REC_CPU_AFFINITY:
			if (rlen < 5 || rlen - 4 > HUSK_AFFINITY_MAX || out->affinity != NULL) {
				*why = "CPU affinity record has a bad length or is repeated";
				return -1;
			}
			out->affinity_flags = get_u32(val);
			if ((out->affinity_flags & ~HUSK_AFFINITY_FINAL) != 0) {
				*why = "CPU affinity record has unknown flags";
				return -1;
			}
			out->affinity = val + 4;
			out->affinity_len = rlen - 4;
			break;
		case HUSK_REC_TIME_OFFSETS:
			out->time_offsets = (const char *)val;
			out->time_offsets_len = rlen;
			break;
		default:
			*why = "bootstrap record of unknown type";
			return -1;
		}
	}
	if (out->clone_flags & seen) {
		*why = "a namespace is both created and joined";
		return -1;
	}
	return 0;
}

/* ---- the constructor: namespaces, then the plan ---- */

#define bail(err, op, path, detail) husk_fail("nsenter", err, op, path, detail)
#define debugf                      husk_debugf
#define sockfd                      husk_sock

static void send_pid(uint16_t type, pid_t pid)
{
	uint8_t p[4];
	put_u32(p, (uint32_t)pid);
	if (husk_send_frame(type, p, sizeof(p)) < 0)
		bail(errno, "write to parent", NULL, NULL);
}

static const char *ns_name(uint32_t t)
{
	switch (t) {
	case CLONE_NEWUSER:
		return "user";
	case CLONE_NEWNS:
		return "mount";
	case CLONE_NEWPID:
		return "pid";
	case CLONE_NEWNET:
		return "network";
	case CLONE_NEWIPC:
		return "ipc";
	case CLONE_NEWUTS:
		return "uts";
	case CLONE_NEWCGROUP:
		return "cgroup";
	case CLONE_NEWTIME:
		return "time";
	}
	return "unknown";
}

const char *husk_ns_name(uint32_t t)
{
	return ns_name(t);
}

/*
 * Join the namespaces named by path. All are opened first (a path may not
 * resolve the same once a mount namespace is joined); the user namespace is
 * joined first so that the others are joined with its credentials, the mount
 * namespace last.
 */
static void join_namespaces(struct husk_bootstrap *bs)
{
	const uint32_t *order = husk_ns_join_order;
	int fds[HUSK_MAX_NS_PATHS];

	for (int i = 0; i < bs->nns; i++) {
		debugf("open the %s namespace %s", ns_name(bs->ns[i].type), bs->ns[i].path);
		fds[i] = open(bs->ns[i].path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			bail(errno, "open namespace", bs->ns[i].path, ns_name(bs->ns[i].type));
	}
	for (size_t o = 0; o < HUSK_MAX_NS_PATHS; o++) {
		for (int i = 0; i < bs->nns; i++) {
			if (bs->ns[i].type != order[o])
				continue;
			debugf("join the %s namespace %s", ns_name(bs->ns[i].type), bs->ns[i].path);
			if (setns(fds[i], bs->ns[i].type) < 0)
				bail(errno, "setns", bs->ns[i].path, ns_name(bs->ns[i].type));
			close(fds[i]);
		}
	}
}

/*
 * Move this (single-threaded) process into its cgroup v1 hierarchies by
 * writing "0" to each "tasks" file. The kernel moves the calling thread
 * without taking the global cgroup_threadgroup_rwsem, which a write of a
 * pid to cgroup.procs takes at the cost of an RCU grace period (10-20 ms).
 * The children forked below inherit the cgroups.
 */
static void join_cgroups(struct husk_bootstrap *bs)
{
	for (int i = 0; i < bs->ncgroups; i++) {
		int fd;

		debugf("join the cgroup of %s", bs->cgroups[i]);
		fd = open(bs->cgroups[i], O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			bail(errno, "open", bs->cgroups[i], "join cgroup");
		if (husk_write_all(fd, "0", 1) < 0)
			bail(errno, "write", bs->cgroups[i], "join cgroup");
		close(fd);
	}
}

/*
 * Until the parent hands the container over (initproto.Handoff), the init
 * must not outlive it: it is SIGKILLed when the parent dies
 * (PR_SET_PDEATHSIG, set before anything else), and a parent that died
 * before that was set is seen on its pidfd (which, unlike getppid(), works
 * across a pid namespace and cannot be fooled by a reparenting).
 */
static void die_with_parent(struct husk_bootstrap *bs)
{
	struct pollfd p = { .fd = bs->parent_pidfd, .events = POLLIN };

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		bail(errno, "prctl", NULL, "PR_SET_PDEATHSIG");
	if (bs->parent_pidfd >= 0 && poll(&p, 1, 0) != 0)
		_exit(1); /* the parent is gone (or its pidfd is bad): nobody to report to */
}

/*
 * Once in the container's cgroups, the process runs on the CPUs the mask
 * allows (within the cgroup's cpuset): all of them for the init and an
 * exec without execCPUAffinity, whatever the caller's taskset was, or
 * execCPUAffinity.final. Children inherit it, so does the Go runtime that
 * starts after this. As runc: failing to widen to all CPUs is not an
 * error, failing to set the final affinity is.
 */
static void set_affinity(struct husk_bootstrap *bs)
{
	if (bs->affinity == NULL)
		return;
	if (syscall(SYS_sched_setaffinity, 0, bs->affinity_len, bs->affinity) < 0 &&
	    (bs->affinity_flags & HUSK_AFFINITY_FINAL))
		bail(errno, "error setting final CPU affinity", NULL, NULL);
}

/* Whether a user namespace is joined by path. */
static int joined_user(struct husk_bootstrap *bs)
{
	for (int i = 0; i < bs->nns; i++)
		if (bs->ns[i].type == CLONE_NEWUSER)
			return 1;
	return 0;
}

static void write_time_offsets(struct husk_bootstrap *bs)
{
	int fd;

	debugf("write the time namespace's offsets");
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		bail(errno, "open", "/proc/self/timens_offsets", NULL);
	if (husk_write_all(fd, bs->time_offsets, bs->time_offsets_len) < 0)
		bail(errno, "write", "/proc/self/timens_offsets", NULL);
	close(fd);
}

/*
 * Close every fd above the init's own (the socket and the exec fifo after
 * it): whatever the caller of husk leaked to it must not sit in the
 * container's init.
 */
static void close_fds_from(int first)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0)
		return;
#endif
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		bail(errno, "open", "/proc/self/fd", "close inherited fds");
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		int fd = atoi(e->d_name);
		if (fd >= first && fd != dirfd(d))
			close(fd);
	}
	closedir(d);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/*
 * The init's stack: creating the container (the plan's mounts above all)
 * takes it ~48 KiB deep, a page fault each 4 KiB (11-21 us on a VM, on the
 * critical path of every create and exec). Map that much below here in
 * one call; the stack's mapping reaches 128 KiB below the arguments from
 * exec on. A kernel without MADV_POPULATE_WRITE (< 5.14) fails the call
 * and the pages are faulted in as before.
 */
#define HUSK_STACK_PREFAULT (48 << 10)

static void populate_stack(void)
{
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t top = (uintptr_t)__builtin_frame_address(0) & ~((uintptr_t)page - 1);

	(void)madvise((void *)(top - HUSK_STACK_PREFAULT), HUSK_STACK_PREFAULT, MADV_POPULATE_WRITE);
}

__attribute__((constructor)) static void husk_nsenter(int argc, char **argv, char **envp)
{
	static uint8_t buf[HUSK_BOOTSTRAP_MAX];
	static struct husk_bootstrap bs; /* 64 KiB of strings: not on the stack */
	uint8_t hdr[HUSK_FRAME_HEADER];
	const char *why = NULL;
	uint32_t len, joined = 0, unshare_flags;
	int time_by_parent, time_made = 0;
	char *end;
	long fd;
	(void)envp;

	if (argc == 2 && strcmp(argv[1], "userns-hold") == 0) {
		/*
		 * Hold a user namespace the parent made with this process (for
		 * an idmapped mount) until the parent closes our stdin.
		 */
		char c;
		while (read(0, &c, 1) > 0 || errno == EINTR)
			;
		_exit(0);
	}
	if (argc < 3 || strcmp(argv[1], "init") != 0)
		return;
	errno = 0;
	fd = strtol(argv[2], &end, 10);
	if (errno || *end || end == argv[2] || fd < 3 || fd > 1 << 20)
		_exit(1); /* no socket to report on: the parent sees EOF */
	sockfd = (int)fd;
	populate_stack();
	close_fds_from(sockfd + 1 + HUSK_FDS_AFTER_SOCKET);

	/* Nobody may ptrace or read our memory until the workload's exec. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		bail(errno, "prctl", NULL, "PR_SET_DUMPABLE");
	/* Die with the parent (checked against its pidfd once it is known). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		bail(errno, "prctl", NULL, "PR_SET_PDEATHSIG");

	if (husk_read_all(sockfd, hdr, sizeof(hdr)) < 0)
		bail(errno ? errno : EPIPE, "read bootstrap", NULL, "parent went away");
	len = get_u32(hdr);
	if ((hdr[4] | hdr[5] << 8) != HUSK_MSG_BOOTSTRAP)
		bail(EPROTO, "read bootstrap", NULL, "first message is not a bootstrap");
	if (len > sizeof(buf))
		bail(EMSGSIZE, "read bootstrap", NULL, "bootstrap message too long");
	if (husk_read_all(sockfd, buf, len) < 0)
		bail(errno ? errno : EPIPE, "read bootstrap", NULL, "truncated");
	if (husk_parse_bootstrap(buf, len, &bs, &why) < 0)
		bail(EINVAL, "parse bootstrap", NULL, why);
	die_with_parent(&bs);
	husk_log_debug = bs.log_level >= 1;
	debugf("bootstrap: create namespaces 0x%x, join %d by path%s, %d cgroup(s)", bs.clone_flags, bs.nns,
	       bs.pidfd >= 0 ? " and the container's by pidfd" : "", bs.ncgroups);

	join_cgroups(&bs);
	set_affinity(&bs);
	/*
	 * /proc/self/timens_offsets is only writable by an owner of the file:
	 * this process is not dumpable, so that is the host's root, which a
	 * process in a user namespace is not. With a new user namespace, the
	 * time namespace is made with it and the parent writes the offsets
	 * with the uid/gid maps (as runc's parent does); with one joined by
	 * path, the time namespace is made and its offsets written here, as
	 * the host's root, before that namespace is joined.
	 */
	time_by_parent = (bs.clone_flags & CLONE_NEWUSER) && (bs.clone_flags & CLONE_NEWTIME);
	if ((bs.clone_flags & CLONE_NEWTIME) && !time_by_parent && joined_user(&bs)) {
		if (unshare(CLONE_NEWTIME) < 0)
			bail(errno, "unshare", NULL, "time namespace");
		if (bs.time_offsets_len > 0)
			write_time_offsets(&bs);
		bs.clone_flags &= ~CLONE_NEWTIME;
		time_made = 1;
	}
	if (bs.pidfd >= 0) {
		/* All of a running container's namespaces at once, by pidfd. */
		debugf("join the namespaces 0x%x of the container's init (pidfd)", bs.pidfd_flags);
		if (setns(bs.pidfd, bs.pidfd_flags) < 0)
			bail(errno, "setns", NULL, "namespaces of the container's init (pidfd)");
		close(bs.pidfd);
		joined |= bs.pidfd_flags;
	}
	join_namespaces(&bs);
	for (int i = 0; i < bs.nns; i++)
		joined |= bs.ns[i].type;

	if (bs.clone_flags & CLONE_NEWUSER) {
		uint8_t ack[HUSK_FRAME_HEADER];

		int unprivileged = geteuid() != 0;

		debugf("create the user namespace");
		if (unshare(CLONE_NEWUSER | (time_by_parent ? CLONE_NEWTIME : 0)) < 0)
			bail(errno, "unshare", NULL, time_by_parent ? "user and time namespaces" : "user namespace");
		/*
		 * An unprivileged parent can open our /proc/PID/uid_map only
		 * while we are dumpable (else those files are root's): just for
		 * the time it takes to write the maps, as runc does.
		 */
		if (unprivileged && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
			bail(errno, "prctl", NULL, "PR_SET_DUMPABLE");
		debugf("wait for the parent to write the uid/gid maps");
		send_pid(HUSK_MSG_USERNS_READY, getpid());
		if (husk_read_all(sockfd, ack, sizeof(ack)) < 0 || get_u32(ack) != 0 ||
		    (ack[4] | ack[5] << 8) != HUSK_MSG_MAPS_DONE)
			bail(EPROTO, "wait for uid/gid maps", NULL, NULL);
		if (unprivileged && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
			bail(errno, "prctl", NULL, "PR_SET_DUMPABLE");
	}
	if ((bs.clone_flags | joined) & CLONE_NEWUSER) {
		/* Become root of the user namespace; groups may be denied. */
		debugf("become root of the user namespace");
		if (setresgid(0, 0, 0) < 0)
			bail(errno, "setresgid", NULL, "in the user namespace");
		if (setgroups(0, NULL) < 0 && errno != EPERM)
			bail(errno, "setgroups", NULL, "in the user namespace");
		if (setresuid(0, 0, 0) < 0)
			bail(errno, "setresuid", NULL, "in the user namespace");
	}

	unshare_flags = bs.clone_flags & ~CLONE_NEWUSER;
	if (time_by_parent)
		unshare_flags &= ~CLONE_NEWTIME;
	if (unshare_flags)
		debugf("create the namespaces 0x%x", unshare_flags);
	if (unshare_flags && unshare(unshare_flags) < 0)
		bail(errno, "unshare", NULL, "namespaces");
	if ((unshare_flags & CLONE_NEWTIME) && bs.time_offsets_len > 0)
		write_time_offsets(&bs);
	if (time_by_parent || time_made)
		bs.clone_flags |= CLONE_NEWTIME; /* for the fork below */

	/*
	 * A new or joined pid/time namespace applies to children only. The
	 * child is made a child of our parent (CLONE_PARENT), not of this
	 * process, which exits: `husk run` and `husk exec` can then wait for it
	 * without being a subreaper. (A raw clone without a stack is a fork;
	 * nothing here needs glibc's atfork handling.)
	 */
	if ((bs.clone_flags | joined) & (CLONE_NEWPID | CLONE_NEWTIME)) {
		pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, 0);
		if (pid < 0)
			bail(errno, "clone", NULL, "into the pid namespace");
		if (pid > 0) {
			debugf("forked into the pid namespace: pid %d runs the plan", (int)pid);
			send_pid(HUSK_MSG_CHILD_PID, pid);
			_exit(0);
		}
		/* A new process: the parent death signal is not inherited. */
		die_with_parent(&bs);
		husk_run_plan(&bs); /* the child runs the plan */
	}
	send_pid(HUSK_MSG_CHILD_PID, 0); /* 0: this process runs the plan */
	husk_run_plan(&bs);
}
