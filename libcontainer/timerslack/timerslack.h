#ifndef HUSK_TIMERSLACK_H
#define HUSK_TIMERSLACK_H

/* The slack of husk's threads: 1 ms. */
#define HUSK_TIMERSLACK_NS 1000000UL

/* The slack husk was started with, or 0 if husk's threads keep it. */
extern unsigned long husk_caller_timerslack;

#endif
