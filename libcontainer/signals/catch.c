/*
 * A signal handler that writes the signal number, one byte, to a pipe.
 * See catch.go for why this is C.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int catch_fd = -1;

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	/* Non-blocking pipe: if it is full, this signal is dropped, as the
	 * kernel itself merges pending standard signals. */
	(void)!write(catch_fd, &b, 1);
	errno = saved;
}

int husk_catch_signal(int fd, int sig)
{
	struct sigaction sa;

	catch_fd = fd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	/* Go's threads run signal handlers on their own alternate stacks. */
	sa.sa_flags = SA_RESTART | SA_ONSTACK;
	sigfillset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}
