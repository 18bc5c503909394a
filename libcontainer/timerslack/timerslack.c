/*
 * The timer slack of husk's own threads, set before the Go runtime starts
 * (see timerslack.go for why and for what the children get).
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/prctl.h>

#include "timerslack.h"

unsigned long husk_caller_timerslack;

__attribute__((constructor)) static void husk_timerslack(int argc, char **argv)
{
	int slack;

	/*
	 * `husk init` (the C stage, which execs the workload) and `husk
	 * userns-hold` keep what their parent gave them.
	 */
	if (argc >= 2 && (strcmp(argv[1], "init") == 0 || strcmp(argv[1], "userns-hold") == 0))
		return;
	slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	if (slack <= 0 || (unsigned long)slack >= HUSK_TIMERSLACK_NS)
		return;
	if (prctl(PR_SET_TIMERSLACK, HUSK_TIMERSLACK_NS, 0, 0, 0) == 0)
		husk_caller_timerslack = (unsigned long)slack;
}
