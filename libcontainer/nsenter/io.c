/*
 * The init's frames on the init socket (../initproto: u32 LE length, u16
 * LE type, payload), its errors and its debug records.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "husk.h"

#include <ctype.h>
#include <signal.h>

int husk_sock = -1;
const char *husk_stage = "nsenter"; /* the prefix of debug records: "init" once the plan runs */
int husk_log_debug;
int husk_after_ready;
int husk_fifo_fd = -1;

uint32_t husk_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint16_t husk_get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

uint64_t husk_get_u64(const uint8_t *p)
{
	return (uint64_t)husk_get_u32(p) | (uint64_t)husk_get_u32(p + 4) << 32;
}

void husk_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

int husk_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

int husk_read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = EPIPE;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

int husk_send_frame(uint16_t type, const void *payload, uint32_t len)
{
	uint8_t hdr[HUSK_FRAME_HEADER];
	husk_put_u32(hdr, len);
	hdr[4] = type;
	hdr[5] = type >> 8;
	if (husk_write_all(husk_sock, hdr, sizeof(hdr)) < 0)
		return -1;
	return len ? husk_write_all(husk_sock, payload, len) : 0;
}

int husk_recv_frame(uint16_t *type, uint8_t *payload, uint32_t cap, uint32_t *len, int *fd)
{
	uint8_t hdr[HUSK_FRAME_HEADER];
	size_t got = 0;

	if (fd != NULL) {
		/* The fd comes with the frame's first byte (initproto.WriteFd). */
		union {
			struct cmsghdr c;
			char buf[CMSG_SPACE(sizeof(int))];
		} u;
		struct iovec iov = { .iov_base = hdr, .iov_len = sizeof(hdr) };
		struct msghdr m = {
			.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)
		};
		ssize_t n;

		*fd = -1;
		do
			n = recvmsg(husk_sock, &m, MSG_CMSG_CLOEXEC);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			if (n == 0)
				errno = EPIPE;
			return -1;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
			    c->cmsg_len >= CMSG_LEN(sizeof(int)))
				memcpy(fd, CMSG_DATA(c), sizeof(int));
		got = n;
	}
	if (husk_read_all(husk_sock, hdr + got, sizeof(hdr) - got) < 0)
		return -1;
	*type = husk_get_u16(hdr + 4);
	*len = husk_get_u32(hdr);
	if (*len > cap) {
		errno = EMSGSIZE;
		return -1;
	}
	return *len ? husk_read_all(husk_sock, payload, *len) : 0;
}

void husk_expect(uint16_t want, const char *what)
{
	uint8_t buf[4096];
	uint16_t type;
	uint32_t len;

	if (husk_recv_frame(&type, buf, sizeof(buf), &len, NULL) < 0)
		husk_fail("init", errno, "wait for", what, "the parent went away");
	if (type == HUSK_MSG_ERROR)
		_exit(1); /* the parent failed: it says why itself */
	if (type != want || len != 0)
		husk_failf("init", EPROTO, "wait for", what, "unexpected message %u", type);
}

/* The text of an initproto.InitError, for stderr after Ready. */
static void error_text(char *out, size_t cap, int err, const char *op, const char *path, const char *detail)
{
	size_t n = 0;
	out[0] = 0;
	if (op && *op)
		n += snprintf(out + n, n < cap ? cap - n : 0, "%s", op);
	if (path && *path)
		n += snprintf(out + n, n < cap ? cap - n : 0, " %s", path);
	if (detail && *detail)
		n += snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? ": " : "", detail);
	if (err)
		snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? ": " : "", husk_strerror(err));
}

void husk_fail(const char *stage, int err, const char *op, const char *path, const char *detail)
{
	if (husk_after_ready) {
		char text[8192];

		error_text(text, sizeof(text), err, op, path, detail);
		if (husk_fifo_fd >= 0) {
			/* `start` waits on the fifo: it gets "1" and the error. */
			char msg[8193];
			int n = snprintf(msg, sizeof(msg), "1%s", text);
			husk_write_all(husk_fifo_fd, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
		}
		dprintf(2, "%s\n", text);
		_exit(255);
	}
	uint8_t msg[4 + 16 + 64 + 8192 + 8192];
	size_t n = 4;
	const char *parts[] = { stage, op ? op : "", path ? path : "", detail ? detail : "" };

	husk_put_u32(msg, (uint32_t)err);
	for (size_t i = 0; i < 4; i++) {
		size_t l = strnlen(parts[i], sizeof(msg) - n - 1 - (3 - i));
		memcpy(msg + n, parts[i], l);
		n += l;
		msg[n++] = 0;
	}
	if (husk_sock >= 0)
		husk_send_frame(HUSK_MSG_ERROR, msg, n);
	_exit(1);
}

void husk_failf(const char *stage, int err, const char *op, const char *path, const char *fmt, ...)
{
	char detail[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	husk_fail(stage, err, op, path, detail);
}

/*
 * With --debug, one LOG frame ("level" NUL message) per step. Only one
 * process writes to the socket at a time: when the bootstrap forks, the
 * forking process sends its last frame (CHILD_PID) and exits.
 */
void husk_debugf(const char *fmt, ...)
{
	char msg[2048];
	int n;
	va_list ap;

	if (!husk_log_debug || husk_sock < 0 || husk_after_ready)
		return;
	n = snprintf(msg, sizeof(msg), "debug%c%s[%d]: ", 0, husk_stage, (int)getpid());
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	husk_send_frame(HUSK_MSG_LOG, msg, n + strlen(msg + n));
}

const char *husk_strerror(int err)
{
	static char buf[256];
	snprintf(buf, sizeof(buf), "%s", strerror(err));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

static void die(int sig)
{
	/* pid 1 of a namespace ignores its own default-action signals:
	 * exit with the signal's status instead. */
	signal(sig, SIG_DFL);
	kill(getpid(), sig);
	_exit(128 + sig);
}

void husk_die_on_signals(void)
{
	static const int sigs[] = { SIGHUP,    SIGINT,  SIGQUIT, SIGABRT,   SIGUSR1, SIGUSR2, SIGALRM, SIGTERM,
		                    SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO,   SIGPWR };
	struct sigaction sa = { .sa_handler = die };
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
		sigaction(s, &sa, NULL);
}
