/*
 * The plan's ops on the process: hooks, sysctls, the terminal, names, the
 * workload's attributes, limits, environment, credentials, capabilities,
 * seccomp filter, the handoff to the parent, the exec fifo and the exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <linux/filter.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "husk.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT           47
#define PR_CAP_AMBIENT_RAISE     2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef KEYCTL_JOIN_SESSION_KEYRING
#define KEYCTL_JOIN_SESSION_KEYRING 1
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS   0x04
#endif

extern char **environ;

#define pfail(op, path, err) husk_fail("process", err, op, path, NULL)

static void pfail_num(const char *op, long v, int err)
{
	char num[32];
	snprintf(num, sizeof(num), "%ld", v);
	pfail(op, num, err);
}

/* Write value to NAME below our own procfs. */
static int write_proc(const char *name, const char *value, size_t len)
{
	int fd = openat(husk_proc(), name, O_WRONLY | O_CLOEXEC), e;
	ssize_t n;
	if (fd < 0)
		return -1;
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)len ? 0 : -1;
}

/* ---- hooks ---- */

void husk_op_parent_hooks(const struct husk_op *op)
{
	(void)op;
	husk_debugf("ask the parent to run the prestart and createRuntime hooks");
	if (husk_send_frame(HUSK_MSG_HOOK_REQUEST, NULL, 0) < 0)
		husk_fail("hooks", errno, "ask the parent to run hooks", NULL, NULL);
	husk_expect(HUSK_MSG_HOOK_DONE, "the prestart and createRuntime hooks");
}

void husk_op_hook_state(const struct husk_op *op)
{
	husk.hook_before = op->f[HUSK_F_HOOK_STATE_BEFORE].s;
	husk.hook_after = op->f[HUSK_F_HOOK_STATE_AFTER].s;
}

/* Append at most what fits; the rest of a stream is read and dropped. */
static void append(char *buf, size_t cap, size_t *len, const char *p, size_t n)
{
	if (*len + n + 1 > cap)
		n = *len + 1 < cap ? cap - *len - 1 : 0;
	memcpy(buf + *len, p, n);
	*len += n;
	buf[*len] = 0;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Run one hook: the state on its stdin, its output kept for the error,
 * killed after its timeout. The error reads as runc's ("error running
 * createContainer hook #0: exit status 3, stdout: ..., stderr: ...").
 */
void husk_op_hook(const struct husk_op *op)
{
	const struct husk_field *f = op->f;
	const char *kind = f[HUSK_F_HOOK_KIND].s, *path = f[HUSK_F_HOOK_PATH].s;
	uint32_t flags = f[HUSK_F_HOOK_FLAGS].u, timeout = f[HUSK_F_HOOK_TIMEOUT].u;
	int in[2], out[2], er[2], ex[2];
	char state[16384], sout[4096] = "", serr[4096] = "", msg[10240];
	size_t lout = 0, lerr = 0;
	int sn, status, execerr = 0;
	pid_t pid;
	long long deadline = timeout ? now_ms() + 1000LL * timeout : 0;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;

	husk_debugf("run %s hook #%u %s", kind, f[HUSK_F_HOOK_INDEX].u, path);
	sn = snprintf(state, sizeof(state), "%s\"status\":\"%s\",\"pid\":%d%s",
	              husk.hook_before ? husk.hook_before : "{",
	              (flags & HUSK_HOOK_STATE_CREATED) ? "created" : "creating", (int)getpid(),
	              husk.hook_after ? husk.hook_after : "}");
	if (sn >= (int)sizeof(state))
		husk_fail("hooks", E2BIG, "hook state", NULL, NULL);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0 ||
	    pipe2(ex, O_CLOEXEC) < 0)
		husk_fail("hooks", errno, "pipe", NULL, NULL);
	pid = fork();
	if (pid < 0)
		husk_fail("hooks", errno, "fork", NULL, NULL);
	if (pid == 0) {
		char *argv[4096], *envp[4096];
		char **env = environ;
		uint32_t n;
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(er[1], 2) < 0)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		if ((flags & HUSK_HOOK_CWD_ROOTFS) && husk.rootfd >= 0)
			fchdir(husk.rootfd);
		n = f[HUSK_F_HOOK_ARGS].u < 4095 ? f[HUSK_F_HOOK_ARGS].u : 4095;
		for (uint32_t i = 0; i < n; i++)
			argv[i] = (char *)husk_str_at(&f[HUSK_F_HOOK_ARGS], i);
		argv[n] = NULL;
		if (flags & HUSK_HOOK_ENV_SET) {
			n = f[HUSK_F_HOOK_ENV].u < 4095 ? f[HUSK_F_HOOK_ENV].u : 4095;
			for (uint32_t i = 0; i < n; i++)
				envp[i] = (char *)husk_str_at(&f[HUSK_F_HOOK_ENV], i);
			envp[n] = NULL;
			env = envp;
		} else if ((flags & HUSK_HOOK_ENV_PROCESS) && husk.env != NULL) {
			env = husk.env;
		}
		execve(path, argv, env);
		execerr = errno;
		husk_write_all(ex[1], &execerr, sizeof(execerr));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(er[1]);
	close(ex[1]);
	/* A hook that does not read its stdin: EPIPE here, not SIGPIPE. */
	sigaction(SIGPIPE, &ign, &old);
	husk_write_all(in[1], state, sn);
	sigaction(SIGPIPE, &old, NULL);
	close(in[1]);
	{
		struct pollfd p[2] = { { .fd = out[0], .events = POLLIN }, { .fd = er[0], .events = POLLIN } };
		int open_ = 2, timed_out = 0;
		while (open_ > 0) {
			int wait = -1, r;
			if (deadline) {
				long long left = deadline - now_ms();
				if (left <= 0) {
					timed_out = 1;
					break;
				}
				wait = (int)left;
			}
			r = poll(p, 2, wait);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				break;
			for (int i = 0; i < 2; i++) {
				char buf[4096];
				ssize_t n;
				if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				n = read(p[i].fd, buf, sizeof(buf));
				if (n <= 0) {
					close(p[i].fd);
					p[i].fd = -1;
					open_--;
					continue;
				}
				if (i == 0)
					append(sout, sizeof(sout), &lout, buf, n);
				else
					append(serr, sizeof(serr), &lerr, buf, n);
			}
		}
		for (int i = 0; i < 2; i++)
			if (p[i].fd >= 0)
				close(p[i].fd);
		if (timed_out) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			close(ex[0]);
			snprintf(msg, sizeof(msg),
			         "error running %s hook #%u: hook ran past specified timeout of %.1fs", kind,
			         f[HUSK_F_HOOK_INDEX].u, (double)timeout);
			husk_fail("hooks", 0, "", NULL, msg);
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (read(ex[0], &execerr, sizeof(execerr)) == (ssize_t)sizeof(execerr)) {
		close(ex[0]);
		snprintf(msg, sizeof(msg), "error running %s hook #%u: fork/exec %s: %s", kind, f[HUSK_F_HOOK_INDEX].u,
		         path, husk_strerror(execerr));
		husk_fail("hooks", 0, "", NULL, msg);
	}
	close(ex[0]);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	if (WIFEXITED(status))
		snprintf(msg, sizeof(msg), "error running %s hook #%u: exit status %d, stdout: %s, stderr: %s", kind,
		         f[HUSK_F_HOOK_INDEX].u, WEXITSTATUS(status), sout, serr);
	else
		snprintf(msg, sizeof(msg), "error running %s hook #%u: signal: %s, stdout: %s, stderr: %s", kind,
		         f[HUSK_F_HOOK_INDEX].u, strsignal(WTERMSIG(status)), sout, serr);
	husk_fail("hooks", 0, "", NULL, msg);
}

/* ---- the container ---- */

void husk_op_sysctl(const struct husk_op *op)
{
	char path[PATH_MAX];
	const char *value = op->f[HUSK_F_SYSCTL_VALUE].s;
	snprintf(path, sizeof(path), "sys/%s", op->f[HUSK_F_SYSCTL_PATH].s);
	husk_debugf("sysctl %s = %s", op->f[HUSK_F_SYSCTL_NAME].s, value);
	if (write_proc(path, value, strlen(value)) < 0)
		husk_fail("rootfs", errno, "write sysctl", op->f[HUSK_F_SYSCTL_NAME].s, NULL);
}

void husk_op_oom(const struct husk_op *op)
{
	const char *v = op->f[HUSK_F_OOM_VALUE].s;
	if (write_proc("self/oom_score_adj", v, strlen(v)) < 0)
		pfail("write", "/proc/self/oom_score_adj", errno);
}

static void send_fd(int sock, int fd)
{
	char name[] = "/dev/ptmx";
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { .iov_base = name, .iov_len = sizeof(name) - 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	ssize_t n;

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	do
		n = sendmsg(sock, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		husk_fail("console", errno, "send pty master", NULL, NULL);
}

/*
 * The process's pty, in the container's devpts: the slave given to the
 * process's user (the only stdio husk ever chowns), bound on /dev/console
 * for the init, the master sent over the console socket, the slave made
 * the controlling terminal and stdio.
 */
void husk_op_console(const struct husk_op *op)
{
	const struct husk_field *f = op->f;
	uint32_t flags = f[HUSK_F_CONSOLE_FLAGS].u;
	int sock = (int)f[HUSK_F_CONSOLE_SOCKFD].u, master, slave, unlock = 0;
	struct stat st;
	struct statfs sfs;

	husk_debugf("set up the terminal");
	if (sock < 0 || sock == (int)(uint32_t)-1)
		husk_fail("console", 0, "", NULL, "a terminal was asked for without a console socket");
	master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		husk_failf("console", errno, "create pty", NULL, "open /dev/pts/ptmx");
	if (fstat(master, &st) < 0 || fstatfs(master, &sfs) < 0)
		husk_failf("console", errno, "create pty", NULL, "stat /dev/pts/ptmx");
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(5, 2) || sfs.f_type != DEVPTS_SUPER_MAGIC)
		husk_fail("console", 0, "create pty", NULL, "/dev/pts/ptmx is not the ptmx of a devpts mount");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		husk_failf("console", errno, "create pty", NULL, "unlock pty");
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		husk_failf("console", errno, "create pty", NULL, "open pty peer");
	if (f[HUSK_F_CONSOLE_ROWS].u > 0 && f[HUSK_F_CONSOLE_COLS].u > 0) {
		struct winsize ws = { .ws_row = f[HUSK_F_CONSOLE_ROWS].u, .ws_col = f[HUSK_F_CONSOLE_COLS].u };
		if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
			husk_failf("console", errno, "create pty", NULL, "set console size");
	}
	if (fstat(slave, &st) < 0)
		husk_fail("console", errno, "chown pty", NULL, NULL);
	if (st.st_uid != f[HUSK_F_CONSOLE_UID].u && fchown(slave, f[HUSK_F_CONSOLE_UID].u, -1) < 0 && errno != EPERM &&
	    errno != EROFS)
		husk_fail("console", errno, "chown pty", NULL, NULL);
	if (flags & HUSK_CONSOLE_CLEAR_ONLCR) {
		struct termios t;
		if (tcgetattr(master, &t) < 0)
			husk_fail("console", errno, "clear ONLCR", NULL, NULL);
		t.c_oflag &= ~ONLCR;
		if (tcsetattr(master, TCSANOW, &t) < 0)
			husk_fail("console", errno, "clear ONLCR", NULL, NULL);
	}
	if (flags & HUSK_CONSOLE_MOUNT) {
		/* Through fds: a clone of the slave's mount moved onto
		 * /dev/console, opened without following any link. */
		struct {
			uint64_t flags, mode, resolve;
		} how = { O_PATH | O_CLOEXEC | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
		int target = (int)syscall(SYS_openat2, AT_FDCWD, "/dev/console", &how, sizeof(how)), tree;
		if (target < 0)
			husk_fail("console", errno, "open", "/dev/console", NULL);
		tree = (int)syscall(SYS_open_tree, slave, "", OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH);
		if (tree < 0)
			husk_fail("console", errno, "clone pty mount", NULL, NULL);
		if (syscall(SYS_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
		    0)
			husk_fail("console", errno, "mount pty on", "/dev/console", NULL);
		close(tree);
		close(target);
	}
	send_fd(sock, master);
	close(master);
	close(sock);
	if (getsid(0) != getpid() && setsid() < 0)
		husk_failf("console", errno, "", NULL, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		husk_failf("console", errno, "", NULL, "set controlling terminal");
	for (int i = 0; i < 3; i++)
		if (dup3(slave, i, 0) < 0)
			husk_failf("console", errno, "", NULL, "dup pty to fd %d", i);
	close(slave);
}

void husk_op_hostname(const struct husk_op *op)
{
	const char *n = op->f[HUSK_F_HOSTNAME_NAME].s;
	husk_debugf("set the hostname %s", n);
	if (sethostname(n, strlen(n)) < 0)
		husk_fail("init", errno, "sethostname", n, NULL);
}

void husk_op_domainname(const struct husk_op *op)
{
	const char *n = op->f[HUSK_F_DOMAINNAME_NAME].s;
	if (setdomainname(n, strlen(n)) < 0)
		husk_fail("init", errno, "setdomainname", n, NULL);
}

void husk_op_keyring(const struct husk_op *op)
{
	/* A session keyring of its own: the host's keys stay out of reach.
	 * Where keyctl is unavailable (ENOSYS), there are none. */
	husk_debugf("join a new session keyring");
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, op->f[HUSK_F_KEYRING_NAME].s) < 0 && errno != ENOSYS)
		husk_fail("init", errno, "join session keyring", NULL, NULL);
}

/* ---- the process ---- */

void husk_op_personality(const struct husk_op *op)
{
	if (syscall(SYS_personality, (unsigned long)op->f[HUSK_F_PERSONALITY_PERSONA].u) < 0)
		pfail_num("personality", op->f[HUSK_F_PERSONALITY_PERSONA].u, errno);
}

void husk_op_mempolicy(const struct husk_op *op)
{
	const struct husk_field *nodes = &op->f[HUSK_F_MEMPOLICY_NODES];
	unsigned long mask[128] = { 0 };
	size_t n = nodes->u < sizeof(mask) ? nodes->u : sizeof(mask);
	memcpy(mask, nodes->p, n);
	if (syscall(SYS_set_mempolicy, (int)op->f[HUSK_F_MEMPOLICY_MODE].u, mask, (unsigned long)n * 8) < 0)
		pfail("set_mempolicy", "", errno);
}

struct sched_attr_ {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
	uint32_t util_min, util_max;
};

void husk_op_sched(const struct husk_op *op)
{
	const struct husk_field *f = op->f;
	struct sched_attr_ a = {
		.size = sizeof(a),
		.sched_policy = f[HUSK_F_SCHED_POLICY].u,
		.sched_flags = f[HUSK_F_SCHED_FLAGS].U,
		.sched_nice = (int32_t)f[HUSK_F_SCHED_NICE].u,
		.sched_priority = f[HUSK_F_SCHED_PRIORITY].u,
		.sched_runtime = f[HUSK_F_SCHED_RUNTIME].U,
		.sched_deadline = f[HUSK_F_SCHED_DEADLINE].U,
		.sched_period = f[HUSK_F_SCHED_PERIOD].U,
	};
	if (syscall(SYS_sched_setattr, 0, &a, 0) < 0) {
		/* As runc: EPERM with a cpuset of the container's own is
		 * SCHED_DEADLINE's admission control. */
		if (errno == EPERM && f[HUSK_F_SCHED_OWN_CPUSET].u)
			husk_fail("process", 0, "", NULL, "process scheduler can't be used together with AllowedCPUs");
		pfail("error setting scheduler", "", errno);
	}
}

void husk_op_ioprio(const struct husk_op *op)
{
	if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)op->f[HUSK_F_IOPRIO_VALUE].u) < 0)
		pfail_num("ioprio_set", op->f[HUSK_F_IOPRIO_VALUE].u, errno);
}

void husk_op_lsm_exec(const struct husk_op *op)
{
	const char *attr = op->f[HUSK_F_LSM_EXEC_ATTR].s, *value = op->f[HUSK_F_LSM_EXEC_VALUE].s;
	char path[256];
	snprintf(path, sizeof(path), "thread-self/%s", attr);
	if (write_proc(path, value, strlen(value)) == 0)
		return;
	/* AppArmor's own attr directory is newer than the shared one. */
	if (strcmp(attr, "attr/apparmor/exec") == 0 && write_proc("thread-self/attr/exec", value, strlen(value)) == 0)
		return;
	pfail(op->f[HUSK_F_LSM_EXEC_WHAT].s, "", errno);
}

void husk_op_rlimit(const struct husk_op *op)
{
	struct rlimit lim = { .rlim_cur = op->f[HUSK_F_RLIMIT_SOFT].U, .rlim_max = op->f[HUSK_F_RLIMIT_HARD].U };
	if (prlimit(0, op->f[HUSK_F_RLIMIT_RESOURCE].u, &lim, NULL) < 0)
		pfail("setrlimit", op->f[HUSK_F_RLIMIT_NAME].s, errno);
}

void husk_op_umask(const struct husk_op *op)
{
	umask(op->f[HUSK_F_UMASK_MASK].u);
}

/* uid's home in the container's /etc/passwd (we are in the rootfs). */
static void passwd_home(uint32_t uid, char *out, size_t cap)
{
	struct stat st;
	FILE *fp;
	char *line = NULL;
	size_t lcap = 0;

	snprintf(out, cap, "/");
	fp = fopen("/etc/passwd", "re");
	if (fp == NULL)
		return;
	if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode)) {
		fclose(fp);
		return;
	}
	while (getline(&line, &lcap, fp) > 0) {
		char *fields[7], *p = line;
		int n = 0;
		line[strcspn(line, "\n")] = 0;
		while (n < 7) {
			fields[n++] = p;
			p = strchr(p, ':');
			if (p == NULL)
				break;
			*p++ = 0;
		}
		if (n >= 6 && fields[5][0] && strtoul(fields[2], NULL, 10) == uid && fields[2][0] >= '0' &&
		    fields[2][0] <= '9') {
			char *end;
			unsigned long v = strtoul(fields[2], &end, 10);
			if (*end == 0 && v == uid) {
				snprintf(out, cap, "%s", fields[5]);
				break;
			}
		}
	}
	free(line);
	fclose(fp);
}

void husk_op_env(const struct husk_op *op)
{
	const struct husk_field *env = &op->f[HUSK_F_ENV_ENV];
	size_t n = env->u;

	husk.env = calloc(n + 2, sizeof(char *));
	if (husk.env == NULL)
		pfail("environment", "", ENOMEM);
	for (size_t i = 0; i < n; i++)
		husk.env[i] = (char *)husk_str_at(env, i);
	if (op->f[HUSK_F_ENV_FLAGS].u & HUSK_ENV_HOME_FROM_PASSWD) {
		/* As runc: HOME from the container's /etc/passwd, else "/". */
		char home[PATH_MAX], *h;
		passwd_home(op->f[HUSK_F_ENV_UID].u, home, sizeof(home));
		h = malloc(strlen(home) + 6);
		if (h == NULL)
			pfail("environment", "", ENOMEM);
		sprintf(h, "HOME=%s", home);
		husk.env[n++] = h;
	}
	husk.env[n] = NULL;
	husk.nenv = n;
}

static int last_cap(void)
{
	static int last = -1;
	char buf[16] = "";
	int fd;
	if (last >= 0)
		return last;
	last = CAP_LAST_CAP;
	fd = openat(husk_proc(), "sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) > 0)
			last = atoi(buf);
		close(fd);
	}
	return last;
}

static const char *const cap_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

void husk_op_caps_bounding(const struct husk_op *op)
{
	uint64_t keep = op->f[HUSK_F_CAPS_BOUNDING_BOUNDING].U;
	int last = last_cap();

	husk_debugf("set up the process: limits, capabilities, credentials");
	/* Dropped while still root (needs CAP_SETPCAP). */
	for (int c = 0; c <= last && c < 64; c++)
		if (!(keep & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			pfail("drop bounding capabilities", "", errno);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		pfail("prctl", "PR_SET_KEEPCAPS", errno);
}

/* CVE-2024-21626: a cwd reached through a leaked host fd lies outside the
 * root; getcwd then fails or does not start with "/". */
static void check_cwd(const char *cwd)
{
	char wd[PATH_MAX];
	if (syscall(SYS_getcwd, wd, sizeof(wd)) < 0 || wd[0] != '/')
		husk_fail("process", 0, "check cwd", cwd, "current directory is outside the container's root");
}

void husk_op_cwd(const struct husk_op *op)
{
	/* Entered while still root, as runc does; a directory root may not
	 * enter (in a user namespace) is tried again as the user. */
	husk.cwd = op->f[HUSK_F_CWD_PATH].s;
	if (chdir(husk.cwd) < 0) {
		if (errno != EACCES && errno != EPERM)
			pfail("chdir", husk.cwd, errno);
		husk.cwd_pending = 1;
		return;
	}
	check_cwd(husk.cwd);
}

/*
 * Load the seccomp filter. A notify listener goes to the seccomp agent
 * through the parent: one raw write(2) of the listener's fd number (NOTIFY
 * on write is refused) is the only syscall between the load and the
 * parent having it (pidfd_getfd).
 */
void husk_op_seccomp(const struct husk_op *op)
{
	const struct husk_field *f = op->f;
	const struct husk_field *insns = &f[HUSK_F_SECCOMP_INSNS];
	struct sock_filter *prog;
	struct sock_fprog fprog;
	uint8_t frame[HUSK_FRAME_HEADER + 4];
	long r;

	husk_debugf("load the seccomp filter");
	if (insns->u == 0 || insns->u % 8 != 0)
		pfail("load seccomp filter", "", EINVAL);
	prog = malloc(insns->u);
	if (prog == NULL)
		pfail("load seccomp filter", "", ENOMEM);
	for (uint32_t i = 0; i < insns->u / 8; i++) {
		const uint8_t *p = insns->p + 8 * i;
		prog[i].code = (uint16_t)(p[0] | p[1] << 8);
		prog[i].jt = p[2];
		prog[i].jf = p[3];
		prog[i].k = husk_get_u32(p + 4);
	}
	fprog.len = insns->u / 8;
	fprog.filter = prog;
	if (f[HUSK_F_SECCOMP_DUMPABLE].u && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		pfail("prctl", "PR_SET_DUMPABLE", errno);
	/* No log record from now on: a write could be filtered. */
	husk_log_debug = 0;
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f[HUSK_F_SECCOMP_FLAGS].u, &fprog);
	if (r < 0)
		pfail("load seccomp filter", "", errno);
	if (!f[HUSK_F_SECCOMP_NOTIFY].u)
		return;
	husk_put_u32(frame, 4);
	frame[4] = HUSK_MSG_SECCOMP_FD;
	frame[5] = HUSK_MSG_SECCOMP_FD >> 8;
	husk_put_u32(frame + HUSK_FRAME_HEADER, (uint32_t)r);
	if (husk_write_all(husk_sock, frame, sizeof(frame)) < 0)
		pfail("send seccomp listener to parent", "", errno);
	husk_expect(HUSK_MSG_SECCOMP_DONE, "the seccomp agent to have the listener");
	close((int)r);
	if (f[HUSK_F_SECCOMP_DUMPABLE].u && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		pfail("prctl", "PR_SET_DUMPABLE", errno);
	if (husk_after_ready) {
		/* The hand-over after the handoff is the parent's last word. */
		close(husk_sock);
		husk_sock = -1;
	}
}

/* Whether setgroups is denied in our user namespace. */
static int setgroups_denied(void)
{
	char buf[16] = "";
	int fd = openat(husk_proc(), "self/setgroups", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	close(fd);
	return strncmp(buf, "deny", 4) == 0;
}

void husk_op_user(const struct husk_op *op)
{
	const struct husk_field *g = &op->f[HUSK_F_USER_GROUPS];
	uint32_t uid = op->f[HUSK_F_USER_UID].u, gid = op->f[HUSK_F_USER_GID].u;
	gid_t *groups = calloc(g->u ? g->u : 1, sizeof(gid_t));

	if (groups == NULL)
		pfail("setgroups", "", ENOMEM);
	for (uint32_t i = 0; i < g->u; i++)
		groups[i] = husk_u32_at(g, i);
	/* In a user namespace with setgroups denied, no groups can be set:
	 * an error only if some were asked for. */
	if (syscall(SYS_setgroups, (size_t)g->u, groups) < 0 && !(errno == EPERM && g->u == 0 && setgroups_denied()))
		pfail("setgroups", "", errno);
	free(groups);
	if (syscall(SYS_setresgid, gid, gid, gid) < 0)
		pfail_num("setgid", gid, errno);
	if (syscall(SYS_setresuid, uid, uid, uid) < 0)
		pfail_num("setuid", uid, errno);
	if (husk.cwd_pending) {
		if (chdir(husk.cwd) < 0)
			pfail("chdir", husk.cwd, errno);
		check_cwd(husk.cwd);
		husk.cwd_pending = 0;
	}
}

static void warn(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg) || husk.nwarnings + n + 1 > sizeof(husk.warnings))
		return;
	memcpy(husk.warnings + husk.nwarnings, msg, n + 1);
	husk.nwarnings += n + 1;
}

void husk_op_caps(const struct husk_op *op)
{
	const struct husk_field *f = op->f;
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	uint64_t eff = f[HUSK_F_CAPS_EFFECTIVE].U, perm = f[HUSK_F_CAPS_PERMITTED].U;
	uint64_t inh = f[HUSK_F_CAPS_INHERITABLE].U, amb = f[HUSK_F_CAPS_AMBIENT].U;
	int last = last_cap();

	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(eff >> (32 * i));
		data[i].permitted = (uint32_t)(perm >> (32 * i));
		data[i].inheritable = (uint32_t)(inh >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		pfail("set capabilities", "", errno);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		pfail("set capabilities", "", errno);
	for (int c = 0; c <= last && c < 64; c++) {
		if (!(amb & (1ULL << c)))
			continue;
		/* As runc: a warning in the runtime's log, not an error. */
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0) {
			if (c < (int)(sizeof(cap_names) / sizeof(cap_names[0])))
				warn("can't raise ambient capability %s: %s", cap_names[c], husk_strerror(errno));
			else
				warn("can't raise ambient capability CAP_%d: %s", c, husk_strerror(errno));
		}
	}
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		pfail("prctl", "PR_SET_KEEPCAPS", errno);
}

void husk_op_nnp(const struct husk_op *op)
{
	(void)op;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		pfail("prctl", "PR_SET_NO_NEW_PRIVS", errno);
}

void husk_op_parent_death(const struct husk_op *op)
{
	struct pollfd p = { .fd = husk.parent_pidfd, .events = POLLIN };
	(void)op;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		pfail("prctl", "PR_SET_PDEATHSIG", errno);
	if (husk.parent_pidfd >= 0 && poll(&p, 1, 0) != 0)
		_exit(1); /* the parent is gone: there is nobody to tell */
}

void husk_op_preserve_fds(const struct husk_op *op)
{
	for (uint32_t fd = 3; fd < 3 + op->f[HUSK_F_PRESERVE_FDS_COUNT].u; fd++)
		if (fcntl((int)fd, F_SETFD, 0) < 0)
			pfail_num("pass preserved fd", fd, errno);
}

/* Whether p is an executable file: 0, or an errno (*stat_failed set when
 * the file could not be stat'ed). */
static int check_exec(const char *p, int *stat_failed)
{
	struct stat st;
	if (stat(p, &st) < 0) {
		*stat_failed = 1;
		return errno;
	}
	if (S_ISDIR(st.st_mode))
		return EISDIR;
	/* Real and effective ids are one by now: faccessat(2) without flags
	 * (faccessat2 may be beyond the seccomp profile). Where even that is
	 * refused, the mode bits say it, as Go's Faccessat emulates. */
	if (syscall(SYS_faccessat, AT_FDCWD, p, X_OK) == 0)
		return 0;
	if (errno != EPERM && errno != ENOSYS)
		return errno;
	{
		uid_t uid = geteuid();
		mode_t bit = S_IXOTH;
		if (uid == 0)
			return (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) ? 0 : EACCES;
		if (st.st_uid == uid)
			bit = S_IXUSR;
		else if (st.st_gid == getegid())
			bit = S_IXGRP;
		else {
			gid_t groups[256];
			int n = getgroups(256, groups);
			for (int i = 0; i < n; i++)
				if (groups[i] == st.st_gid)
					bit = S_IXGRP;
		}
		return (st.st_mode & bit) ? 0 : EACCES;
	}
}

/* Find the executable as execvp would, with the workload's PATH; the
 * errors read as runc's (Go's exec.LookPath). */
void husk_op_lookup(const struct husk_op *op)
{
	const char *file = op->f[HUSK_F_LOOKUP_FILE].s, *path = "";
	char quoted[PATH_MAX + 2];
	int stat_failed = 0, err;

	snprintf(quoted, sizeof(quoted), "\"%s\"", file);
	if (strchr(file, '/') != NULL) {
		if ((err = check_exec(file, &stat_failed)) != 0) {
			if (stat_failed)
				husk_failf("process", err, "exec:", quoted, "stat %s", file);
			husk_fail("process", err, "exec:", quoted, NULL);
		}
		snprintf(husk.exe, sizeof(husk.exe), "%s", file);
		return;
	}
	for (size_t i = 0; husk.env && husk.env[i]; i++)
		if (strncmp(husk.env[i], "PATH=", 5) == 0)
			path = husk.env[i] + 5;
	for (const char *p = path;;) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char cand[PATH_MAX];
		if (n == 0)
			snprintf(cand, sizeof(cand), "./%s", file);
		else
			snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, p, file);
		stat_failed = 0;
		if (check_exec(cand, &stat_failed) == 0) {
			snprintf(husk.exe, sizeof(husk.exe), "%s", cand);
			return;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	husk_fail("process", 0, "exec:", quoted, "executable file not found in $PATH");
}

/*
 * Ready: the parent gets the warnings, writes the container's state and
 * hands it over; once the parent death signal is cleared (TakenOver) the
 * init may outlive the parent.
 */
void husk_op_ready(const struct husk_op *op)
{
	uint32_t flags = op->f[HUSK_F_READY_FLAGS].u;

	husk_debugf("ready: %s %s", husk.is_exec ? "about to exec" : "wait on the exec fifo for start, then exec",
	            husk.exe);
	if (husk_send_frame(HUSK_MSG_READY, husk.warnings, husk.nwarnings) < 0)
		husk_fail("init", errno, "send ready", NULL, NULL);
	husk_expect(HUSK_MSG_HANDOFF, "the handoff");
	if (prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0)
		pfail("prctl", "PR_SET_PDEATHSIG", errno);
	if (husk.parent_pidfd >= 0) {
		close(husk.parent_pidfd);
		husk.parent_pidfd = -1;
	}
	if (husk_send_frame(HUSK_MSG_TAKEN_OVER, NULL, 0) < 0)
		husk_fail("init", errno, "send taken-over", NULL, NULL);
	if (flags & HUSK_READY_JOIN_AFTER)
		husk_expect(HUSK_MSG_JOINED, "the move into the container's cgroup");
	husk_after_ready = 1;
	if (!(flags & HUSK_READY_KEEP_SOCKET)) {
		close(husk_sock);
		husk_sock = -1;
	}
}

/* Reopen the exec fifo (an O_PATH fd) for writing, through our own procfs
 * (not the container's /proc, which a process exec'd into the created
 * container could have mounted over; CVE-2024-21626): this blocks until
 * `start` opens it. */
void husk_op_fifo_open(const struct husk_op *op)
{
	char path[64];
	int fd;

	if (husk_sock >= 0) {
		close(husk_sock);
		husk_sock = -1;
	}
	husk_after_ready = 1;
	snprintf(path, sizeof(path), "self/fd/%u", op->f[HUSK_F_FIFO_OPEN_FD].u);
	do
		fd = openat(husk_proc(), path, O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		husk_fail("init", errno, "open exec fifo", NULL, NULL);
	husk_fifo_fd = fd;
}

void husk_op_fifo_done(const struct husk_op *op)
{
	const char *why = op->f[HUSK_F_FIFO_DONE_CANNOT_EXEC].s;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	int fd = husk_fifo_fd;

	husk_fifo_fd = -1;
	sigaction(SIGPIPE, &ign, &old);
	if (why[0]) {
		/* The workload can never start: `start` fails with why. */
		char msg[4096];
		int n = snprintf(msg, sizeof(msg), "2%s", why);
		husk_write_all(fd, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
		dprintf(2, "%s\n", why);
		_exit(255);
	}
	if (husk_write_all(fd, "0", 1) < 0)
		husk_fail("init", errno, "write exec fifo", NULL, NULL);
	sigaction(SIGPIPE, &old, NULL);
	close(fd);
}

void husk_op_exec(const struct husk_op *op)
{
	const struct husk_field *a = &op->f[HUSK_F_EXEC_ARGV];
	char **argv = calloc(a->u + 1, sizeof(char *));
	if (argv == NULL)
		_exit(255);
	for (uint32_t i = 0; i < a->u; i++)
		argv[i] = (char *)husk_str_at(a, i);
	execve(husk.exe, argv, husk.env ? husk.env : (char *[]){ NULL });
	/* As runc: the error alone, and 255, the code of a runtime failure. */
	dprintf(2, "exec %s: %s\n", husk.exe, husk_strerror(errno));
	_exit(255);
}
