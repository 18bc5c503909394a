/*
 * Wire constants shared by the C stage (nsenter.c) and its Go twin
 * (bootstrap.go, ../initproto/initproto.go). TestConstantsAgree checks that
 * both sides use the same numbers. Never renumber.
 */
#ifndef HUSK_NSENTER_PROTO_H
#define HUSK_NSENTER_PROTO_H

/* Frame: u32 LE payload length | u16 LE type | payload. */
#define HUSK_FRAME_HEADER 6

/* The frame types (HUSK_MSG_*) are in plan_ops.h, generated from Go. */

/*
 * Bootstrap payload: the 4 bytes "HSK1", then records until the end:
 *   u16 LE type | u32 LE length | value (length bytes)
 */
#define HUSK_BOOTSTRAP_MAGIC "HSK1"
#define HUSK_BOOTSTRAP_MAX   65536 /* a longer payload is refused */

#define HUSK_REC_CLONE_FLAGS  1 /* u32 LE: CLONE_NEW* flags of namespaces to create */
#define HUSK_REC_NS_PATH      2 /* u32 LE CLONE_NEW* type, then the path (no NUL) */
#define HUSK_REC_TIME_OFFSETS 3 /* text written to /proc/self/timens_offsets */
#define HUSK_REC_CGROUP_TASKS 4 /* a cgroup v1 "tasks" file: write "0" to join it */
#define HUSK_REC_SETNS_PIDFD  5 /* u32 LE fd of a pidfd, u32 LE CLONE_NEW* flags: join that process's namespaces */
#define HUSK_REC_LOG_LEVEL    6 /* u32 LE: 1 = send a LOG frame per step (--debug) */
#define HUSK_REC_CPU_AFFINITY 7 /* u32 LE flags, then a CPU mask: set once the cgroups are joined */
#define HUSK_REC_PARENT_PIDFD 8 /* u32 LE: fd of a pidfd of the parent; the init dies with it until the handoff */

#define HUSK_AFFINITY_FINAL 1    /* the mask is execCPUAffinity.final: failing to set it is an error */
#define HUSK_AFFINITY_MAX   1024 /* mask bytes: 8192 CPUs */

#define HUSK_MAX_NS_PATHS 8  /* one per namespace type at most */
#define HUSK_MAX_CGROUPS  16 /* cgroup v1 hierarchies to join */

#endif
