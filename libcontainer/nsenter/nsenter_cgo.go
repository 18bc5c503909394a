package nsenter

/*
#cgo CFLAGS: -Wall -Wextra -O2
#include <stdlib.h>
#include "husk.h"

static int parse_plan(const void *buf, size_t len, size_t *nops, char **why) {
	const char *w = NULL;
	struct husk_op *ops = calloc(len / 6 + 1, sizeof(*ops));
	int r = husk_parse_plan(buf, len, ops, len / 6 + 1, nops, &w);
	free(ops);
	*why = (char *)w;
	return r;
}

static int locked_flags(unsigned long want, unsigned long clear, unsigned long have, unsigned long *flags, char *problem) {
	return husk_locked_flags(want, clear, have, flags, problem, 512);
}

static int recv_with_fd(int sock, uint16_t *type, int *fd) {
	uint8_t buf[64];
	uint32_t len;
	husk_sock = sock;
	return husk_recv_frame(type, buf, sizeof(buf), &len, fd);
}

static int parse(const void *buf, size_t len, struct husk_bootstrap *out, char **why) {
	const char *w = NULL;
	int r = husk_parse_bootstrap(buf, len, out, &w);
	*why = (char *)w;
	return r;
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// parsePlanC runs the C init's plan decoder on buf: the number of ops, or
// its refusal.
func parsePlanC(buf []byte) (int, error) {
	var n C.size_t
	var why *C.char
	p := C.CBytes(buf)
	defer C.free(p)
	if C.parse_plan(p, C.size_t(len(buf)), &n, &why) != 0 {
		return 0, errors.New(C.GoString(why))
	}
	return int(n), nil
}

// statfsFlagsC, flagNamesC and lockedFlagsC are the C init's helpers for
// the flags of a bind's remount.
func statfsFlagsC(st int64) int { return int(C.husk_statfs_flags(C.ulong(st))) }

func flagNamesC(flags int) string {
	buf := make([]byte, 512)
	C.husk_flag_names(C.ulong(flags), (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	return C.GoString((*C.char)(unsafe.Pointer(&buf[0])))
}

func lockedFlagsC(want, clear, have int) (int, string) {
	var flags C.ulong
	problem := make([]byte, 512)
	if C.locked_flags(C.ulong(want), C.ulong(clear), C.ulong(have), &flags, (*C.char)(unsafe.Pointer(&problem[0]))) < 0 {
		return 0, C.GoString((*C.char)(unsafe.Pointer(&problem[0])))
	}
	return int(flags), ""
}

// recvFrameC reads one frame from sock with the C init's reader, and the
// fd that came with it (-1 if none).
func recvFrameC(sock int) (typ uint16, fd int, err error) {
	var t C.uint16_t
	var f C.int
	if C.recv_with_fd(C.int(sock), &t, &f) != 0 {
		return 0, -1, errors.New("husk_recv_frame failed")
	}
	return uint16(t), int(f), nil
}

// parseC runs the C stage's own decoder on buf, so that tests check the code
// that really runs in `husk init`.
func parseC(buf []byte) (*Bootstrap, error) {
	// In C memory: the parser leaves pointers into the struct's strings.
	out := (*C.struct_husk_bootstrap)(C.calloc(1, C.sizeof_struct_husk_bootstrap))
	defer C.free(unsafe.Pointer(out))
	var why *C.char
	p := C.CBytes(buf)
	defer C.free(p)
	if C.parse(p, C.size_t(len(buf)), out, &why) != 0 {
		return nil, errors.New(C.GoString(why))
	}
	b := &Bootstrap{CloneFlags: uint32(out.clone_flags), LogLevel: uint32(out.log_level)}
	for i := 0; i < int(out.nns); i++ {
		ns := out.ns[i]
		b.NsPaths = append(b.NsPaths, NsPath{Type: uint32(ns._type), Path: C.GoString(ns.path)})
	}
	if out.pidfd >= 0 {
		b.Pidfd, b.PidfdFlags = int(out.pidfd), uint32(out.pidfd_flags)
	}
	for i := 0; i < int(out.ncgroups); i++ {
		b.CgroupTasks = append(b.CgroupTasks, C.GoString(out.cgroups[i]))
	}
	if out.affinity_len > 0 {
		off := uintptr(unsafe.Pointer(out.affinity)) - uintptr(p)
		b.Affinity = append([]byte(nil), buf[off:off+uintptr(out.affinity_len)]...)
		b.AffinityFinal = out.affinity_flags&C.HUSK_AFFINITY_FINAL != 0
	}
	if out.parent_pidfd >= 0 {
		b.ParentPidfd = int(out.parent_pidfd)
	}
	if out.time_offsets_len > 0 {
		off := uintptr(unsafe.Pointer(out.time_offsets)) - uintptr(p)
		b.TimeOffsets = string(buf[off : off+uintptr(out.time_offsets_len)])
	}
	return b, nil
}

// cConstants are proto.h's numbers, for TestConstantsAgree.
var cConstants = map[string]int{
	"HUSK_FRAME_HEADER":     C.HUSK_FRAME_HEADER,
	"HUSK_BOOTSTRAP_MAX":    C.HUSK_BOOTSTRAP_MAX,
	"HUSK_REC_CLONE_FLAGS":  C.HUSK_REC_CLONE_FLAGS,
	"HUSK_REC_NS_PATH":      C.HUSK_REC_NS_PATH,
	"HUSK_REC_TIME_OFFSETS": C.HUSK_REC_TIME_OFFSETS,
	"HUSK_MAX_NS_PATHS":     C.HUSK_MAX_NS_PATHS,
	"HUSK_REC_CGROUP_TASKS": C.HUSK_REC_CGROUP_TASKS,
	"HUSK_MAX_CGROUPS":      C.HUSK_MAX_CGROUPS,
	"HUSK_REC_SETNS_PIDFD":  C.HUSK_REC_SETNS_PIDFD,
	"HUSK_REC_LOG_LEVEL":    C.HUSK_REC_LOG_LEVEL,
	"HUSK_REC_CPU_AFFINITY": C.HUSK_REC_CPU_AFFINITY,
	"HUSK_REC_PARENT_PIDFD": C.HUSK_REC_PARENT_PIDFD,
	"HUSK_AFFINITY_FINAL":   C.HUSK_AFFINITY_FINAL,
	"HUSK_AFFINITY_MAX":     C.HUSK_AFFINITY_MAX,
}

// cNamespaces are nsenter.c's namespace tables, for TestConstantsAgree:
// ALL_NS, the join order, and the name it gives each flag in the order.
func cNamespaces() (all uint32, order []uint32, names []string) {
	for i := 0; i < C.HUSK_MAX_NS_PATHS; i++ {
		t := uint32(C.husk_ns_join_order[i])
		order = append(order, t)
		names = append(names, C.GoString(C.husk_ns_name(C.uint32_t(t))))
	}
	return uint32(C.husk_all_ns), order, names
}
