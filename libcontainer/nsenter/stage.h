#ifndef HUSK_STAGE_H
#define HUSK_STAGE_H

#include <string.h>

/*
 * Whether argv is one of husk's C-only stages, `husk init` and `husk
 * userns-hold`, which nsenter.c's constructor runs and which never start
 * the Go runtime: the other constructors (timerslack, prefault) leave
 * them alone.
 */
static inline int husk_c_stage(int argc, char **argv)
{
	return argc >= 2 && (strcmp(argv[1], "init") == 0 || strcmp(argv[1], "userns-hold") == 0);
}

#endif
