/*
 * The plan's filesystem ops: the container's mounts, /dev, masked and
 * read-only paths, and entering the rootfs.
 *
 * Every path inside the rootfs is resolved relative to one rootfs handle
 * with openat2(RESOLVE_IN_ROOT), made with *at() calls on handles that
 * refuse a symlink swapped in meanwhile, and every mount targets the
 * resulting handle through /proc/self/fd, so a symlink planted in the image
 * cannot redirect a mount outside the rootfs (CVE-2021-30465,
 * CVE-2024-45310). All of it runs before pivot_root, while /proc is the
 * host's procfs in a mount namespace no container process has touched.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "husk.h"

#ifndef RESOLVE_NO_XDEV
#define RESOLVE_NO_XDEV       0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS   0x04
#define RESOLVE_BENEATH       0x08
#define RESOLVE_IN_ROOT       0x10
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC      0x00000001
#define FSCONFIG_CMD_CREATE 6
#define FSMOUNT_CLOEXEC     0x00000001
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

struct open_how_ {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};

struct mount_attr_ {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};

static int openat2_(int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how_ how = { .flags = flags | O_CLOEXEC, .resolve = resolve };
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

static int setattr(int fd, uint64_t set, uint64_t clr, int recursive)
{
	struct mount_attr_ a = { .attr_set = set, .attr_clr = clr };
	return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof(a));
}

static const char *procfd(int fd, char buf[32])
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
	return buf;
}

#define fail(op, path, err)       husk_fail("rootfs", err, op, path, NULL)
#define failf(op, path, err, ...) husk_failf("rootfs", err, op, path, __VA_ARGS__)

int husk_open_in_root(const char *path, int flags)
{
	for (int try = 0;; try++) {
		int fd = openat2_(husk.rootfd, path, (uint64_t)flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
		/* A rename or mount raced with the lookup of "..": retry. */
		if (fd < 0 && (errno == EAGAIN || errno == EXDEV) && try < 128)
			continue;
		return fd;
	}
}

static int open_path(const char *path)
{
	return husk_open_in_root(path, O_PATH);
}

/* dirname and basename of an absolute path, in bufs of the caller's. */
static void split(const char *path, char *dir, char *base)
{
	const char *slash = strrchr(path, '/');
	size_t n;
	if (slash == NULL) {
		strcpy(dir, "/");
		strcpy(base, path);
		return;
	}
	n = slash - path;
	if (n == 0)
		strcpy(dir, "/");
	else {
		memcpy(dir, path, n);
		dir[n] = 0;
	}
	strcpy(base, slash + 1);
}

/*
 * Name the path p resolves to inside the rootfs, lexically, following its
 * symlinks as if chrooted (as filepath-securejoin's SecureJoin does): out
 * is an absolute path whose existing components are no symlinks. Where a
 * component does not exist, the rest is taken as it is. The path is then
 * made with handle-based calls, which refuse a link swapped in meanwhile.
 */
static int secure_join(const char *p, char *out, size_t cap)
{
	char rest[2 * PATH_MAX], res[PATH_MAX] = "", comp[NAME_MAX + 1], link[PATH_MAX];
	int links = 0, exists = 1;

	if (strlen(p) >= sizeof(rest))
		return -ENAMETOOLONG;
	strcpy(rest, p);
	while (rest[0] != 0) {
		char *s = rest, *e;
		size_t n;
		while (*s == '/')
			s++;
		e = strchr(s, '/');
		n = e ? (size_t)(e - s) : strlen(s);
		if (n > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(comp, s, n);
		comp[n] = 0;
		memmove(rest, s + n, strlen(s + n) + 1);
		if (n == 0 || strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			char *slash = strrchr(res, '/');
			if (slash)
				*slash = 0;
			continue;
		}
		if (exists) {
			struct stat st;
			ssize_t l = -1;
			int dfd = open_path(res[0] ? res : "/");
			if (dfd < 0 || fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
				exists = 0;
			else if (S_ISLNK(st.st_mode) && (l = readlinkat(dfd, comp, link, sizeof(link) - 1)) < 0) {
				int e = errno;
				close(dfd);
				return -e;
			}
			if (dfd >= 0)
				close(dfd);
			if (l >= 0) {
				link[l] = 0;
				if (++links > 255)
					return -ELOOP;
				if (strlen(link) + strlen(rest) + 2 > sizeof(rest))
					return -ENAMETOOLONG;
				/* The link's target takes its place. */
				memmove(rest + strlen(link) + 1, rest, strlen(rest) + 1);
				memcpy(rest, link, strlen(link));
				rest[strlen(link)] = '/';
				if (link[0] == '/')
					res[0] = 0;
				continue;
			}
		}
		if (strlen(res) + n + 2 > sizeof(res))
			return -ENAMETOOLONG;
		strcat(res, "/");
		strcat(res, comp);
	}
	if (strlen(res) + 2 > cap)
		return -ENAMETOOLONG;
	strcpy(out, res[0] ? res : "/");
	return 0;
}

/*
 * Make directory name (or an empty file) in dirfd, keeping one that
 * exists, and open it without following a symlink put there meanwhile.
 */
static int create_in(int dirfd, const char *name, int file)
{
	uint64_t flags = O_PATH | O_NOFOLLOW;
	if (file) {
		int fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd >= 0)
			close(fd);
		else if (errno != EEXIST)
			return -1;
	} else {
		if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
			return -1;
		flags |= O_DIRECTORY;
	}
	return openat2_(dirfd, name, flags, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
}

/* Make directory p (and its parents) inside the rootfs; an O_PATH fd. */
static int mkdir_all(const char *p)
{
	char res[PATH_MAX];
	int fd, r;

	if ((r = secure_join(p, res, sizeof(res))) < 0) {
		errno = -r;
		return -1;
	}
	fd = fcntl(husk.rootfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -1;
	for (char *s = res;;) {
		char comp[NAME_MAX + 1];
		char *e;
		size_t n;
		int next;
		while (*s == '/')
			s++;
		if (*s == 0)
			return fd;
		e = strchr(s, '/');
		n = e ? (size_t)(e - s) : strlen(s);
		memcpy(comp, s, n);
		comp[n] = 0;
		s += n;
		if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
			close(fd);
			return -1;
		}
		next = openat2_(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
		close(fd);
		if (next < 0)
			return -1;
		fd = next;
	}
}

/*
 * Resolve dest inside the rootfs and create it if missing: a directory,
 * or an empty file (file). A dest through a dangling symlink is created
 * where the link leads, inside the rootfs (as runc does).
 */
static int mountpoint(const char *dest, int file)
{
	char res[PATH_MAX], dir[PATH_MAX], base[NAME_MAX + 1];
	int fd, parent, r;

	fd = open_path(dest);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	if ((r = secure_join(dest, res, sizeof(res))) < 0) {
		errno = -r;
		return -1;
	}
	if (strcmp(res, "/") == 0) {
		errno = EINVAL;
		return -1;
	}
	split(res, dir, base);
	parent = open_path(dir);
	if (parent < 0 && errno == ENOENT)
		parent = mkdir_all(dir);
	if (parent < 0)
		return -1;
	fd = create_in(parent, base, file);
	r = errno;
	close(parent);
	errno = r;
	return fd;
}

/* A procfs of our own: a detached proc mount made in the container's pid
 * namespace, or, where that is not allowed (no pid namespace of its own
 * in a user namespace), the host's /proc opened before any mount. */
int husk_proc(void)
{
	int fs, mnt;

	if (husk.procfd >= 0)
		return husk.procfd;
	fs = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
	if (fs >= 0) {
		if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0) {
			mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
			if (mnt >= 0) {
				close(fs);
				husk.procfd = mnt;
				return mnt;
			}
		}
		close(fs);
	}
	husk.procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (husk.procfd < 0)
		husk_fail("init", errno, "open", "/proc", "a procfs of our own");
	return husk.procfd;
}

void husk_op_prep_root(const struct husk_op *op)
{
	uint32_t prop = op->f[HUSK_F_PREP_ROOT_PROP].u, parent = op->f[HUSK_F_PREP_ROOT_PARENT_PROP].u;
	const char *rootfs = op->f[HUSK_F_PREP_ROOT_ROOTFS].s;
	char p[PATH_MAX];

	husk_debugf("prepare the rootfs %s", rootfs);
	husk_proc(); /* while /proc is the host's, untouched */
	/*
	 * "/" takes rootfsPropagation (rslave when unset), so that a shared
	 * one keeps the host's shared mounts peers of the container's binds
	 * of them; the mount the rootfs is on is made private (slave for a
	 * slave rootfsPropagation), as pivot_root needs.
	 */
	if (mount("", "/", NULL, prop, NULL) < 0)
		fail("set propagation of", "/", errno);
	if (strlen(rootfs) >= sizeof(p))
		fail("set propagation of the mount of", rootfs, ENAMETOOLONG);
	strcpy(p, rootfs);
	for (;;) {
		char *slash;
		if (mount("", p[0] ? p : "/", NULL, parent, NULL) == 0)
			break;
		/* EINVAL: not a mount point; the mount is further up. */
		if (errno != EINVAL || p[0] == 0)
			fail("set propagation of the mount of", rootfs, errno);
		slash = strrchr(p, '/');
		*slash = 0;
	}
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		fail("bind mount rootfs", rootfs, errno);
	husk.rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (husk.rootfd < 0)
		fail("open rootfs", rootfs, errno);
	husk.old_umask = umask(0);
}

void husk_op_prep_root_nomntns(const struct husk_op *op)
{
	const char *rootfs = op->f[HUSK_F_PREP_ROOT_NOMNTNS_ROOTFS].s;

	husk_debugf("prepare the rootfs %s (no mount namespace)", rootfs);
	husk_proc();
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		fail("bind mount rootfs", rootfs, errno);
	if (mount("", rootfs, NULL, MS_SLAVE | MS_REC, NULL) < 0)
		fail("set propagation of", rootfs, errno);
	husk.rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (husk.rootfd < 0)
		fail("open rootfs", rootfs, errno);
	husk.old_umask = umask(0);
}

/* ---- the flags the kernel locks on a user namespace's mounts ---- */

#define ATIME_ENUM  (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)
#define ATIME_FLAGS (ATIME_ENUM | MS_NODIRATIME)
#define LOCKABLE    (MS_RDONLY | MS_NODEV | MS_NOEXEC | MS_NOSUID | ATIME_FLAGS)

static const struct {
	unsigned long st;
	unsigned long ms;
	const char *name;
} flagmap[] = {
	{ ST_RDONLY, MS_RDONLY, "MS_RDONLY" },
	{ ST_NOSUID, MS_NOSUID, "MS_NOSUID" },
	{ ST_NODEV, MS_NODEV, "MS_NODEV" },
	{ ST_NOEXEC, MS_NOEXEC, "MS_NOEXEC" },
	{ ST_SYNCHRONOUS, MS_SYNCHRONOUS, "MS_SYNCHRONOUS" },
	{ ST_MANDLOCK, MS_MANDLOCK, "MS_MANDLOCK" },
	{ 0x2000 /* ST_NOSYMFOLLOW */, MS_NOSYMFOLLOW, "MS_NOSYMFOLLOW" },
	{ ST_NOATIME, MS_NOATIME, "MS_NOATIME" },
	{ ST_NODIRATIME, MS_NODIRATIME, "MS_NODIRATIME" },
	{ ST_RELATIME, MS_RELATIME, "MS_RELATIME" },
	{ 0, MS_STRICTATIME, "MS_STRICTATIME" },
};

unsigned long husk_statfs_flags(unsigned long f_flags)
{
	unsigned long flags = 0;
	for (size_t i = 0; i < sizeof(flagmap) / sizeof(flagmap[0]); i++)
		if (flagmap[i].st && (f_flags & flagmap[i].st) == flagmap[i].st)
			flags |= flagmap[i].ms;
	if ((flags & ATIME_ENUM) == 0)
		flags |= MS_STRICTATIME;
	return flags;
}

void husk_flag_names(unsigned long flags, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = 0;
	for (size_t i = 0; i < sizeof(flagmap) / sizeof(flagmap[0]); i++)
		if (flags & flagmap[i].ms)
			n += snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? "|" : "", flagmap[i].name);
}

int husk_locked_flags(unsigned long want, unsigned long clear, unsigned long have, unsigned long *flags, char *problem,
                      size_t cap)
{
	char names[256];
	if (have & clear & LOCKABLE) {
		husk_flag_names(have & clear & LOCKABLE, names, sizeof(names));
		snprintf(problem, cap, "cannot clear locked flags %s", names);
		return -1;
	}
	if ((want & ATIME_FLAGS) && (want & ATIME_FLAGS) != (have & ATIME_FLAGS)) {
		husk_flag_names(have & ATIME_FLAGS, names, sizeof(names));
		snprintf(problem, cap, "cannot change locked atime flags %s", names);
		return -1;
	}
	*flags = want | (have & LOCKABLE);
	return 0;
}

/*
 * Give the bind mount at top exactly the flags asked (runc 1.5: a bind
 * with any flag option gets exactly those). Where the kernel refuses (a
 * user namespace's mounts inherited from the host have their flags
 * locked), the mount's own lockable flags are kept, unless the config
 * clears one or asks for another atime: a read-only host mount stays
 * read-only.
 */
static void remount_bind(int top, unsigned long flags, unsigned long clear, const char *what)
{
	unsigned long want = flags & ~(MS_BIND | MS_REC | MS_REMOUNT), have, retry;
	struct statfs st;
	char buf[32], names[256], problem[512];
	int err;

	if (mount("", procfd(top, buf), NULL, want | MS_BIND | MS_REMOUNT, NULL) == 0)
		return;
	err = errno;
	if (fstatfs(top, &st) < 0)
		fail("remount", what, err);
	have = husk_statfs_flags(st.f_flags);
	if (husk_locked_flags(want, clear, have, &retry, problem, sizeof(problem)) < 0)
		husk_fail("rootfs", err, "remount", what, problem);
	if (mount("", procfd(top, buf), NULL, retry | MS_BIND | MS_REMOUNT, NULL) < 0) {
		husk_flag_names(have & LOCKABLE, names, sizeof(names));
		failf("remount", what, errno, "with the locked flags %s kept", names);
	}
}

/* ---- tmpcopyup ---- */

static int copy_tree(int sfd, int dfd, char *err, size_t cap);

static int copy_file(int sfd, int dfd, const char *name, mode_t perm, char *err, size_t cap)
{
	char buf[65536];
	int s = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), d;
	ssize_t n;
	if (s < 0) {
		snprintf(err, cap, "open %s", name);
		return -1;
	}
	d = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm);
	if (d < 0) {
		close(s);
		snprintf(err, cap, "create copy of %s", name);
		return -1;
	}
	while ((n = read(s, buf, sizeof(buf))) > 0)
		if (husk_write_all(d, buf, n) < 0)
			break;
	if (n != 0) {
		int e = errno;
		close(s);
		close(d);
		errno = e;
		snprintf(err, cap, "copy %s", name);
		return -1;
	}
	close(s);
	close(d);
	return 0;
}

/*
 * Copy the directory open at sfd into the one at dfd: files, directories,
 * symlinks and special files, with their modes, owners and times. Never
 * follows a symlink, so an image's links cannot lead the copy elsewhere.
 */
static int copy_tree(int sfd, int dfd, char *err, size_t cap)
{
	int lfd = openat(sfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *e;

	if (lfd < 0 || (d = fdopendir(lfd)) == NULL) {
		snprintf(err, cap, "read directory");
		return -1;
	}
	while ((errno = 0, e = readdir(d)) != NULL) {
		const char *name = e->d_name;
		struct stat st;
		mode_t perm;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			snprintf(err, cap, "stat %s", name);
			goto fail;
		}
		perm = st.st_mode & 07777;
		if (S_ISDIR(st.st_mode)) {
			int s2, d2, r;
			if (mkdirat(dfd, name, perm) < 0) {
				snprintf(err, cap, "mkdir %s", name);
				goto fail;
			}
			s2 = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			d2 = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s2 < 0 || d2 < 0) {
				snprintf(err, cap, "open %s", name);
				goto fail;
			}
			r = copy_tree(s2, d2, err, cap);
			close(s2);
			close(d2);
			if (r < 0)
				goto fail;
		} else if (S_ISREG(st.st_mode)) {
			if (copy_file(sfd, dfd, name, perm, err, cap) < 0)
				goto fail;
		} else if (S_ISLNK(st.st_mode)) {
			char link[PATH_MAX];
			ssize_t l = readlinkat(sfd, name, link, sizeof(link) - 1);
			if (l < 0) {
				snprintf(err, cap, "readlink %s", name);
				goto fail;
			}
			link[l] = 0;
			if (symlinkat(link, dfd, name) < 0) {
				snprintf(err, cap, "symlink %s", name);
				goto fail;
			}
		} else if (mknodat(dfd, name, st.st_mode, st.st_rdev) < 0) {
			snprintf(err, cap, "mknod %s", name);
			goto fail;
		}
		if (fchownat(dfd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) {
			snprintf(err, cap, "chown %s", name);
			goto fail;
		}
		if (!S_ISLNK(st.st_mode) && fchmodat(dfd, name, perm, 0) < 0) {
			snprintf(err, cap, "chmod %s", name);
			goto fail;
		}
		struct timespec ts[2] = { st.st_atim, st.st_mtim };
		if (utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0) {
			snprintf(err, cap, "set times of %s", name);
			goto fail;
		}
	}
	if (errno != 0) {
		snprintf(err, cap, "read directory");
		goto fail;
	}
	closedir(d);
	return 0;
fail : {
	int e2 = errno;
	closedir(d);
	errno = e2;
	return -1;
}
}

/* ---- mounts ---- */

/*
 * Get bind mount index's source from the parent (MountRequest): it opens
 * it in our mount namespace, idmapped where asked.
 */
static int source_from_parent(uint32_t index, const char *source)
{
	uint8_t req[4], buf[256];
	uint16_t type;
	uint32_t len;
	int fd;

	husk_put_u32(req, index);
	if (husk_send_frame(HUSK_MSG_MOUNT_REQUEST, req, sizeof(req)) < 0)
		fail("get the source of", source, errno);
	if (husk_recv_frame(&type, buf, sizeof(buf), &len, &fd) < 0)
		fail("get the source of", source, errno);
	if (type == HUSK_MSG_ERROR)
		_exit(1); /* the parent failed: it says why itself */
	if (type != HUSK_MSG_MOUNT_SOURCE || fd < 0) {
		if (fd >= 0)
			close(fd);
		failf("get the source of", source, EPROTO, "unexpected message %u", type);
	}
	return fd;
}

/* A proc or sysfs mount goes on a directory (or a missing path) only: a
 * symlink there is a way to get it mounted elsewhere (CVE-2019-19921,
 * CVE-2023-27561). */
static void check_ordinary_dir(const char *dest, const char *fstype, const char *what)
{
	char dir[PATH_MAX], base[NAME_MAX + 1];
	struct stat st;
	int parent;

	if (strcmp(dest, "/") == 0)
		return;
	split(dest, dir, base);
	parent = open_path(dir);
	if (parent < 0) {
		if (errno == ENOENT)
			return;
		fail("open", dir, errno);
	}
	if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
		husk_failf("rootfs", 0, "mount", what, "filesystem \"%s\" must be mounted on ordinary directory",
		           fstype);
	close(parent);
}

void husk_op_mount(const struct husk_op *op)
{
	const struct husk_field *f = op->f;
	uint32_t index = f[HUSK_F_MOUNT_INDEX].u, opts = f[HUSK_F_MOUNT_OPTS].u;
	unsigned long flags = f[HUSK_F_MOUNT_FLAGS].u, clear = f[HUSK_F_MOUNT_CLEAR].u;
	uint64_t rec_set = f[HUSK_F_MOUNT_REC_SET].U, rec_clr = f[HUSK_F_MOUNT_REC_CLR].U;
	const char *source = f[HUSK_F_MOUNT_SOURCE].s, *dest = f[HUSK_F_MOUNT_DEST].s;
	const char *fstype = f[HUSK_F_MOUNT_FSTYPE].s;
	int bind = f[HUSK_F_MOUNT_BIND].u != 0, src = -1, target, top, defer_ro = opts & HUSK_MNT_DEFER_RO;
	int is_file = 0, remount;
	char what[2 * PATH_MAX + 64], data[8192], b1[32], b2[32];
	struct stat st;

	if (bind)
		snprintf(what, sizeof(what), "\"%s\" on \"%s\"", source, dest);
	else
		snprintf(what, sizeof(what), "\"%s\" (%s) on \"%s\"", source, fstype, dest);
	husk_debugf("mount %s", what);
	if (opts & HUSK_MNT_ORDINARY_DIR)
		check_ordinary_dir(dest, fstype, what);
	if (bind) {
		/*
		 * The source is looked up now, in the container's mount
		 * namespace: an earlier mount may have made it. It comes from
		 * the parent when it is idmapped, or when we cannot reach it.
		 */
		if ((opts & HUSK_MNT_SRC_PARENT) || ((opts & HUSK_MNT_SRC_UNREACHABLE) && stat(source, &st) < 0))
			src = source_from_parent(index, source);
		if ((src >= 0 ? fstat(src, &st) : stat(source, &st)) < 0)
			fail("stat bind source", source, errno);
		is_file = !S_ISDIR(st.st_mode);
	}
	if (snprintf(data, sizeof(data), "%s", f[HUSK_F_MOUNT_DATA].s) >= (int)sizeof(data))
		fail("mount", what, E2BIG);
	if (opts & HUSK_MNT_TMPFS_MODE) {
		/* As runc: a tmpfs over something the rootfs has takes its
		 * mode, as a mode= option that one in the config overrides. */
		int h = open_path(dest);
		if (h >= 0) {
			char tmp[8192 + 16];
			if (fstat(h, &st) < 0)
				fail("stat", dest, errno);
			close(h);
			snprintf(tmp, sizeof(tmp), "mode=%04o%s%s", st.st_mode & 07777, data[0] ? "," : "", data);
			if (strlen(tmp) >= sizeof(data))
				fail("mount", what, E2BIG);
			strcpy(data, tmp);
		}
	}
	target = mountpoint(dest, is_file);
	if (target < 0)
		fail("create mount point", dest, errno);
	if (bind) {
		int r;
		/* The flags other than MS_BIND|MS_REC need a remount, below. */
		if (src >= 0 && (opts & HUSK_MNT_IDMAP))
			r = (int)syscall(SYS_move_mount, src, "", target, "",
			                 MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
		else if (src >= 0)
			r = mount(procfd(src, b1), procfd(target, b2), NULL, flags & (MS_BIND | MS_REC), NULL);
		else
			r = mount(source, procfd(target, b2), NULL, flags & (MS_BIND | MS_REC), NULL);
		if (r < 0)
			fail("mount", what, errno);
		if (src >= 0)
			close(src);
	} else {
		int under = -1;
		if (opts & HUSK_MNT_TMPCOPYUP) {
			/* Keep the directory being covered open, to copy from. */
			under = openat(target, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (under < 0)
				fail("open for tmpcopyup", dest, errno);
		}
		if (mount(source, procfd(target, b2), fstype, (flags & ~MS_REMOUNT) & ~(defer_ro ? MS_RDONLY : 0),
		          data) < 0)
			fail("mount", what, errno);
		if (under >= 0) {
			char err[PATH_MAX + 64];
			int tfd, dfd;
			if ((tfd = open_path(dest)) < 0)
				fail("tmpcopyup", dest, errno);
			dfd = openat(tfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd < 0)
				fail("tmpcopyup", dest, errno);
			/* The tmpfs root keeps its owner (the container's root),
			 * as with runc 1.5; its mode came with mode=. */
			if (copy_tree(under, dfd, err, sizeof(err)) < 0)
				husk_failf("rootfs", errno, "tmpcopyup", dest, "%s", err);
			close(dfd);
			close(tfd);
			close(under);
		}
	}
	close(target);
	remount = bind && ((flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) != 0 || clear != 0);
	if (!remount && !defer_ro && f[HUSK_F_MOUNT_PROPAGATION].u == 0 && rec_set == 0 && rec_clr == 0)
		return;
	/* dest now resolves to the new mount's root. */
	top = open_path(dest);
	if (top < 0)
		fail("reopen mount", dest, errno);
	for (uint32_t i = 0; i < f[HUSK_F_MOUNT_PROPAGATION].u; i++)
		if (mount("", procfd(top, b1), NULL, husk_u32_at(&f[HUSK_F_MOUNT_PROPAGATION], i), NULL) < 0)
			fail("set propagation of", dest, errno);
	if (remount)
		remount_bind(top, flags, clear, what);
	if ((rec_set || rec_clr) && setattr(top, rec_set, rec_clr, 1) < 0)
		fail("set recursive mount attributes of", dest, errno);
	if (defer_ro && husk.ndeferred < (int)(sizeof(husk.deferred_ro) / sizeof(husk.deferred_ro[0])))
		husk.deferred_ro[husk.ndeferred++] = top;
	else
		close(top);
}

void husk_op_bind_cgroup(const struct husk_op *op)
{
	const char *src = op->f[HUSK_F_BIND_CGROUP_SOURCE].s, *dest = op->f[HUSK_F_BIND_CGROUP_DEST].s;
	unsigned long flags = op->f[HUSK_F_BIND_CGROUP_FLAGS].u;
	char what[2 * PATH_MAX + 16], b[32];
	int target, top;

	snprintf(what, sizeof(what), "\"%s\" on \"%s\"", src, dest);
	target = mountpoint(dest, 0);
	if (target < 0)
		fail("create mount point", dest, errno);
	if (mount(src, procfd(target, b), NULL, MS_BIND | MS_REC, NULL) < 0)
		fail("mount", what, errno);
	close(target);
	top = open_path(dest);
	if (top < 0)
		fail("reopen mount", dest, errno);
	if (mount("", procfd(top, b), NULL, flags | MS_BIND | MS_REMOUNT, NULL) < 0)
		fail("remount", dest, errno);
	close(top);
}

/*
 * A container in a user namespace without a cgroup namespace, whose mounts
 * put nothing at /sys/fs/cgroup: what is there came with a bind of the
 * host's /sys ("rbind,ro" makes only the top mount read-only). It is made
 * read-only, everything below too (CVE-2023-25809).
 */
void husk_op_guard_cgroups(const struct husk_op *op)
{
	struct statx st, pst;
	struct statfs sfs;
	int f, parent;
	(void)op;

	f = open_path("/sys/fs/cgroup");
	if (f < 0)
		return; /* no /sys/fs/cgroup in the container */
	parent = open_path("/sys/fs");
	if (parent < 0) {
		close(f);
		return;
	}
	if (statx(f, "", AT_EMPTY_PATH, STATX_MNT_ID, &st) < 0 ||
	    statx(parent, "", AT_EMPTY_PATH, STATX_MNT_ID, &pst) < 0 || !(st.stx_mask & STATX_MNT_ID) ||
	    st.stx_mnt_id == pst.stx_mnt_id)
		goto out; /* not a mount of its own: the image's directory */
	if (fstatfs(f, &sfs) < 0)
		fail("statfs", "/sys/fs/cgroup", errno);
	if (sfs.f_type != CGROUP_SUPER_MAGIC && sfs.f_type != CGROUP2_SUPER_MAGIC && sfs.f_type != TMPFS_MAGIC)
		goto out;
	if (setattr(f, MOUNT_ATTR_RDONLY, 0, 1) < 0)
		fail("make read-only", "/sys/fs/cgroup (the host's cgroups, without a cgroup namespace)", errno);
out:
	close(f);
	close(parent);
}

/* The directory of p, made if needed; an O_PATH fd. */
static int dir_of(const char *p, const char *op)
{
	char dir[PATH_MAX], base[NAME_MAX + 1];
	int fd;
	split(p, dir, base);
	fd = mountpoint(dir, 0);
	if (fd < 0 && strcmp(dir, "/") == 0)
		fd = fcntl(husk.rootfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		fail(op, p, errno);
	return fd;
}

void husk_op_mknod(const struct husk_op *op)
{
	const struct husk_field *f = op->f;
	const char *path = f[HUSK_F_MKNOD_PATH].s;
	char dir[PATH_MAX], base[NAME_MAX + 1], b[32];
	uint32_t type = f[HUSK_F_MKNOD_TYPE].u;
	int in_dev = f[HUSK_F_MKNOD_FLAGS].u & HUSK_DEV_IN_DEV;
	int dfd = dir_of(path, "create directory for"), r;

	split(path, dir, base);
	if (in_dev)
		unlinkat(dfd, base, 0); /* what the image (or the /dev tmpfs) has there goes */
	r = mknodat(dfd, base, f[HUSK_F_MKNOD_MODE].u, makedev(f[HUSK_F_MKNOD_MAJOR].u, f[HUSK_F_MKNOD_MINOR].u));
	if (r < 0 && errno == EEXIST && !in_dev) {
		/* Elsewhere, the image's file is kept, as runc keeps it. */
		close(dfd);
		return;
	}
	if (r < 0 && errno == EPERM && type != 'p') {
		/* In a user namespace: bind the host's node instead. */
		int fd = openat(dfd, base, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644), target;
		if (fd < 0)
			fail("create bind target for", path, errno);
		close(fd);
		target = openat2_(dfd, base, O_PATH, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
		if (target < 0)
			fail("open", path, errno);
		if (mount(path, procfd(target, b), NULL, MS_BIND, NULL) < 0)
			fail("bind mount device", path, errno);
		close(target);
		close(dfd);
		return;
	}
	if (r < 0)
		fail("mknod", path, errno);
	if (fchownat(dfd, base, f[HUSK_F_MKNOD_UID].u, f[HUSK_F_MKNOD_GID].u, AT_SYMLINK_NOFOLLOW) < 0)
		fail("chown", path, errno);
	close(dfd);
}

/* The mount point for the pty slave, bound there once the pty exists.
 * Whatever the image has there (a symlink to a host file, in
 * CVE-2025-52565) goes: the pty is bound on a file made here. */
void husk_op_console_file(const struct husk_op *op)
{
	int dev = mountpoint("/dev", 0), fd;
	(void)op;
	if (dev < 0)
		fail("open", "/dev", errno);
	if (unlinkat(dev, "console", 0) < 0 && errno != ENOENT)
		fail("remove", "/dev/console", errno);
	fd = create_in(dev, "console", 1);
	if (fd < 0)
		fail("create", "/dev/console", errno);
	close(fd);
	close(dev);
}

void husk_op_symlink(const struct husk_op *op)
{
	const char *target = op->f[HUSK_F_SYMLINK_TARGET].s, *path = op->f[HUSK_F_SYMLINK_PATH].s;
	char dir[PATH_MAX], base[NAME_MAX + 1];
	int dfd = dir_of(path, "create directory for");

	split(path, dir, base);
	if (op->f[HUSK_F_SYMLINK_REPLACE].u && unlinkat(dfd, base, 0) < 0 && errno != ENOENT)
		fail("remove", path, errno);
	if (symlinkat(target, dfd, base) < 0 && errno != EEXIST)
		fail("symlink", path, errno);
	close(dfd);
}

void husk_op_readonly(const struct husk_op *op)
{
	const char *p = op->f[HUSK_F_READONLY_PATH].s;
	char b1[32];
	int target = open_path(p), top;

	if (target < 0) {
		if (errno == ENOENT)
			return;
		fail("open read-only path", p, errno);
	}
	if (mount(procfd(target, b1), procfd(target, b1), NULL, MS_BIND | MS_REC, NULL) < 0)
		fail("bind mount read-only path", p, errno);
	close(target);
	top = open_path(p);
	if (top < 0)
		fail("reopen read-only path", p, errno);
	if (setattr(top, MOUNT_ATTR_RDONLY, 0, 1) < 0)
		fail("make read-only", p, errno);
	close(top);
}

/* The container's /dev/null, checked to be the null device, not something
 * the image planted (CVE-2025-31133). */
static int dev_null(void)
{
	struct stat st;
	if (husk.nullfd >= 0)
		return husk.nullfd;
	husk.nullfd = open_path("/dev/null");
	if (husk.nullfd < 0)
		return -1;
	if (fstat(husk.nullfd, &st) < 0)
		return -1;
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
		close(husk.nullfd);
		husk.nullfd = -1;
		errno = EINVAL;
		return -1;
	}
	return husk.nullfd;
}

/*
 * Mask each path: a directory under a read-only tmpfs (one for all of
 * them, bound on each after the first, as runc 1.5), anything else under
 * a bind of /dev/null. A path that does not exist is skipped.
 */
void husk_op_mask(const struct husk_op *op)
{
	const struct husk_field *paths = &op->f[HUSK_F_MASK_PATHS];
	int shared = -1, bind_failed = 0;
	char b1[32], b2[32];

	for (uint32_t i = 0; i < paths->u; i++) {
		const char *p = husk_str_at(paths, i);
		struct stat st;
		int target = open_path(p);

		if (target < 0) {
			if (errno == ENOENT)
				continue;
			fail("open masked path", p, errno);
		}
		if (fstat(target, &st) < 0)
			fail("stat masked path", p, errno);
		if (!S_ISDIR(st.st_mode)) {
			int null = dev_null();
			if (null < 0)
				husk_failf("rootfs", 0, "mask", p, "/dev/null is not the null device (char 1:3)");
			if (mount(procfd(null, b1), procfd(target, b2), NULL, MS_BIND, NULL) < 0)
				fail("mask", p, errno);
		} else {
			int done = 0;
			if (shared >= 0 && !bind_failed) {
				/* A bind keeps the tmpfs's read-only flag. */
				if (mount(procfd(shared, b1), procfd(target, b2), NULL, MS_BIND, NULL) == 0)
					done = 1;
				else
					bind_failed = 1;
			}
			if (!done) {
				if (mount("tmpfs", procfd(target, b2), "tmpfs", MS_RDONLY, op->f[HUSK_F_MASK_DATA].s) <
				            0 &&
				    mount("tmpfs", procfd(target, b2), "tmpfs", MS_RDONLY, op->f[HUSK_F_MASK_DATA2].s) <
				            0)
					fail("mask", p, errno);
				if (shared < 0 && !bind_failed && (shared = open_path(p)) < 0)
					fail("reopen mask of", p, errno);
			}
		}
		close(target);
	}
	if (shared >= 0)
		close(shared);
}

void husk_op_mkdir(const struct husk_op *op)
{
	const char *p = op->f[HUSK_F_MKDIR_PATH].s;
	int fd = open_path(p);
	if (fd < 0 && errno == ENOENT)
		fd = mkdir_all(p);
	if (fd < 0)
		fail("create working directory", p, errno);
	close(fd);
}

void husk_op_deferred_ro(const struct husk_op *op)
{
	(void)op;
	umask(husk.old_umask); /* the rootfs is made */
	/* As runc: read-only tmpfs mounts (and /dev) turn read-only only now,
	 * with /dev/pts, the devices and the mounts below them in place. */
	for (int i = 0; i < husk.ndeferred; i++) {
		if (setattr(husk.deferred_ro[i], MOUNT_ATTR_RDONLY, 0, 0) < 0)
			fail("make read-only", "a read-only tmpfs", errno);
		close(husk.deferred_ro[i]);
	}
	husk.ndeferred = 0;
}

void husk_op_root_ro(const struct husk_op *op)
{
	(void)op;
	if (setattr(husk.rootfd, MOUNT_ATTR_RDONLY, 0, 0) < 0)
		fail("make read-only", "/", errno);
}

/* ---- entering the rootfs ---- */

/* The mount points of /proc/self/mountinfo with their ids and fs types. */
struct mnt {
	int id, parent;
	char point[PATH_MAX];
	char fstype[64];
};

static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
		    p[3] <= '7') {
			*o++ = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = 0;
}

static struct mnt *read_mounts(int *n)
{
	FILE *fp = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	struct mnt *ms = NULL;
	int nm = 0, am = 0;

	if (fp == NULL)
		fail("read", "/proc/self/mountinfo", errno);
	while (getline(&line, &cap, fp) > 0) {
		struct mnt m;
		char root[PATH_MAX], point[PATH_MAX], *sep;
		if (sscanf(line, "%d %d %*s %4095s %4095s", &m.id, &m.parent, root, point) != 4)
			continue;
		sep = strstr(line, " - ");
		if (sep == NULL || sscanf(sep + 3, "%63s", m.fstype) != 1)
			continue;
		unescape(point);
		snprintf(m.point, sizeof(m.point), "%s", point);
		if (nm == am) {
			am = am ? 2 * am : 64;
			ms = realloc(ms, am * sizeof(*ms));
			if (ms == NULL)
				fail("read", "/proc/self/mountinfo", ENOMEM);
		}
		ms[nm++] = m;
	}
	free(line);
	fclose(fp);
	*n = nm;
	return ms;
}

static int is_ancestor(const char *a, const char *p)
{
	size_t n = strlen(a);
	return strcmp(a, p) == 0 || strcmp(a, "/") == 0 || (strncmp(p, a, n) == 0 && p[n] == '/');
}

/*
 * --no-pivot: nothing of the host may stay reachable. Every host mount
 * but the rootfs and the mounts it is on is detached (made a slave first,
 * so that nothing propagates back); one that cannot be unmounted is
 * covered with a tmpfs.
 */
static void detach_host_mounts(const char *rootfs)
{
	int n;
	struct mnt *ms = read_mounts(&n);
	char *kept = calloc(n ? n : 1, 1), *done = calloc(n ? n : 1, 1);

	if (kept == NULL || done == NULL)
		fail("read", "/proc/self/mountinfo", ENOMEM);
	for (int i = 0; i < n; i++) {
		if (!is_ancestor(ms[i].point, rootfs))
			continue;
		kept[i] = 1;
		if (strcmp(ms[i].point, rootfs) != 0 && mount("", ms[i].point, NULL, MS_SLAVE, NULL) < 0 &&
		    errno != EINVAL)
			fail("make slave", ms[i].point, errno);
	}
	for (int i = 0; i < n; i++) {
		int parent_kept = 0;
		for (int j = 0; j < n; j++)
			if (kept[j] && ms[j].id == ms[i].parent)
				parent_kept = 1;
		if (!parent_kept || kept[i] || is_ancestor(rootfs, ms[i].point))
			continue;
		for (int j = 0; j < i; j++)
			if (done[j] && strcmp(ms[j].point, ms[i].point) == 0)
				goto next;
		done[i] = 1;
		for (int k = 0; k < n; k++) {
			if (mount("", ms[i].point, NULL, MS_SLAVE | MS_REC, NULL) < 0) {
				if (k == 0 && errno != ENOENT && errno != EINVAL)
					fail("make slave", ms[i].point, errno);
				break;
			}
			if (umount2(ms[i].point, MNT_DETACH) == 0)
				continue;
			if (errno != EINVAL && errno != EPERM)
				fail("unmount", ms[i].point, errno);
			if (mount("tmpfs", ms[i].point, "tmpfs", 0, NULL) < 0 &&
			    (strcmp(ms[i].fstype, "proc") == 0 || strcmp(ms[i].fstype, "sysfs") == 0))
				husk_failf("rootfs", errno, "cover", ms[i].point, "cannot unmount");
			break;
		}
	next:;
	}
	free(kept);
	free(done);
	free(ms);
}

void husk_op_pivot(const struct husk_op *op)
{
	uint32_t mode = op->f[HUSK_F_PIVOT_MODE].u, final = op->f[HUSK_F_PIVOT_FINAL_PROP].u;
	const char *rootfs = op->f[HUSK_F_PIVOT_ROOTFS].s;
	int oldroot;

	husk_debugf("enter the rootfs (%s)", mode == HUSK_PIVOT_ROOT ? "pivot_root" : "chroot");
	if (fchdir(husk.rootfd) < 0)
		fail("chdir", rootfs, errno);
	if (mode == HUSK_PIVOT_CHROOT) {
		/* No mount namespace: the caller's root stays; chroot only. */
		if (chroot(".") < 0)
			fail("chroot", rootfs, errno);
		if (chdir("/") < 0)
			fail("chdir", "/", errno);
		goto done;
	}
	if (mode == HUSK_PIVOT_NONE) {
		detach_host_mounts(rootfs);
		if (fchdir(husk.rootfd) < 0)
			fail("chdir", rootfs, errno);
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
			fail("move mount", rootfs, errno);
		if (chroot(".") < 0)
			fail("chroot", rootfs, errno);
		if (chdir("/") < 0)
			fail("chdir", "/", errno);
		goto prop;
	}
	oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0)
		fail("open", "/", errno);
	/* pivot_root(".", ".") stacks the old root on the new one; it is then
	 * detached from there, with no directory needed for it. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		fail("pivot_root", rootfs, errno);
	if (fchdir(oldroot) < 0)
		fail("chdir", "old root", errno);
	if (mount("", ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		fail("make old root slave", "/", errno);
	if (umount2(".", MNT_DETACH) < 0)
		fail("unmount old root", "/", errno);
	if (chdir("/") < 0)
		fail("chdir", "/", errno);
	close(oldroot);
prop:
	if (final && mount("", "/", NULL, final, NULL) < 0)
		fail("set rootfsPropagation of", "/", errno);
done:
	close(husk.rootfd);
	husk.rootfd = -1;
	if (husk.nullfd >= 0) {
		close(husk.nullfd);
		husk.nullfd = -1;
	}
}

/*
 * The stdio the caller gave open on a null device (the host's /dev/null)
 * is reopened on the container's, checked to be the null device: a file
 * of a mount outside the container is what CRIU cannot dump (as runc).
 */
void husk_op_reopen_null(const struct husk_op *op)
{
	struct stat st;
	int fd;

	(void)op;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		husk_fail("rootfs", errno, "reopen", "/dev/null", NULL);
	if (fstat(fd, &st) < 0)
		husk_fail("rootfs", errno, "stat", "/dev/null", NULL);
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		husk_failf("rootfs", 0, "reopen", "/dev/null", "/dev/null is not the null device (char 1:3)");
	for (int i = 0; i < 3; i++) {
		if (fstat(i, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
			continue;
		if (dup3(fd, i, 0) < 0)
			husk_fail("rootfs", errno, "reopen /dev/null as stdio", "/dev/null", NULL);
	}
	close(fd);
}

void husk_op_chroot(const struct husk_op *op)
{
	const char *p = op->f[HUSK_F_CHROOT_PATH].s;
	husk_debugf("chroot into %s (no mount namespace)", p);
	if (chroot(p) < 0)
		husk_fail("process", errno, "chroot", p, NULL);
	if (chdir("/") < 0)
		husk_fail("process", errno, "chdir", "/", NULL);
}
