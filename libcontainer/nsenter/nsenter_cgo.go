package nsenter

/*
#cgo CFLAGS: -Wall -Wextra -O2
#include <stdlib.h>
#include "nsenter.h"

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

// parseC runs the C stage's own decoder on buf, so that tests check the code
// that really runs in `husk init`.
func parseC(buf []byte) (*Bootstrap, error) {
	var out C.struct_husk_bootstrap
	var why *C.char
	p := C.CBytes(buf)
	defer C.free(p)
	if C.parse(p, C.size_t(len(buf)), &out, &why) != 0 {
		return nil, errors.New(C.GoString(why))
	}
	b := &Bootstrap{CloneFlags: uint32(out.clone_flags), LogLevel: uint32(out.log_level)}
	for i := 0; i < int(out.nns); i++ {
		ns := out.ns[i]
		b.NsPaths = append(b.NsPaths, NsPath{Type: uint32(ns._type), Path: C.GoString(&ns.path[0])})
	}
	if out.pidfd >= 0 {
		b.Pidfd, b.PidfdFlags = int(out.pidfd), uint32(out.pidfd_flags)
	}
	for i := 0; i < int(out.ncgroups); i++ {
		b.CgroupTasks = append(b.CgroupTasks, C.GoString(&out.cgroups[i][0]))
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
	"HUSK_MSG_BOOTSTRAP":    C.HUSK_MSG_BOOTSTRAP,
	"HUSK_MSG_USERNS_READY": C.HUSK_MSG_USERNS_READY,
	"HUSK_MSG_MAPS_DONE":    C.HUSK_MSG_MAPS_DONE,
	"HUSK_MSG_CHILD_PID":    C.HUSK_MSG_CHILD_PID,
	"HUSK_MSG_ERROR":        C.HUSK_MSG_ERROR,
	"HUSK_MSG_LOG":          C.HUSK_MSG_LOG,
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
