/*
 * The timer slack of husk's own threads, set before the Go runtime starts
 * (see timerslack.go for why and for what the children get).
 */
#define _GNU_SOURCE
#include <sys/prctl.h>

#include "stage.h"

#include "timerslack.h"

unsigned long husk_caller_timerslack;

__attribute__((constructor)) static void husk_timerslack(int argc, char **argv)
{
	int slack;

	/* `husk init` and `husk userns-hold` keep what their parent gave them. */
	if (husk_c_stage(argc, argv))
		return;
	slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	if (slack <= 0 || (unsigned long)slack >= HUSK_TIMERSLACK_NS)
		return;
	if (prctl(PR_SET_TIMERSLACK, HUSK_TIMERSLACK_NS, 0, 0, 0) == 0)
		husk_caller_timerslack = (unsigned long)slack;
}
