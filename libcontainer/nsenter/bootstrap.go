// Package nsenter is the C stage of `husk init` (nsenter.c, run as an ELF
// constructor before the Go runtime starts) and the Go twin of its wire
// format. Importing the package links the constructor into the binary; it
// does nothing unless the process was started as `husk init <fd>`.
//
// The bootstrap payload is "HSK1" followed by records
// (u16 LE type | u32 LE length | value); see proto.h.
package nsenter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/husk-runtime/husk/libcontainer/configs"
)

// Record types of the bootstrap payload (proto.h HUSK_REC_*).
const (
	recCloneFlags  = 1
	recNsPath      = 2
	recTimeOffsets = 3
	recCgroupTasks = 4
	recSetnsPidfd  = 5
	recLogLevel    = 6
	recAffinity    = 7
	recParentPidfd = 8

	affinityFinal = 1
	// MaxAffinity is the size of the largest CPU mask (8192 CPUs).
	MaxAffinity = 1024

	magic        = "HSK1"
	MaxBootstrap = 65536
	maxNsPaths   = 8
	maxCgroups   = 16
	pathMax      = 4096
)

// AllNamespaces are the CLONE_NEW* flags the C stage knows: configs'
// namespace types (nsenter.c's ALL_NS, checked by TestConstantsAgree).
var AllNamespaces = configs.AllCloneFlags()

// NsPath is a namespace to join: one CLONE_NEW* flag and a path such as
// /proc/123/ns/net.
type NsPath struct {
	Type uint32
	Path string
}

// Bootstrap tells the C stage which namespaces to join and create.
type Bootstrap struct {
	CloneFlags  uint32   // namespaces to create
	NsPaths     []NsPath // namespaces to join
	TimeOffsets string   // for /proc/self/timens_offsets, with CLONE_NEWTIME
	// CgroupTasks are cgroup v1 "tasks" files the C stage joins (by
	// writing "0") before anything else.
	CgroupTasks []string
	// PidfdFlags, if not 0, are namespaces to join, all at once, from the
	// process behind the pidfd the C stage has as fd Pidfd (exec).
	Pidfd      int
	PidfdFlags uint32
	// LogLevel 1 has the C stage send a Log frame (initproto.Log) per
	// step, for --debug; 0 sends none.
	LogLevel uint32
	// Affinity, if not empty, is the CPU mask (a byte per 8 CPUs, CPU 0
	// the lowest bit of the first) the C stage sets once in the cgroups;
	// with AffinityFinal a failure is an error (execCPUAffinity.final).
	Affinity      []byte
	AffinityFinal bool
	// ParentPidfd, if not 0, is the fd in the C stage of a pidfd of the
	// parent: until the handoff the init dies with its parent
	// (PR_SET_PDEATHSIG, checked against this pidfd).
	ParentPidfd int
}

// Encode returns the bootstrap payload, or an error for a message the C
// stage would refuse.
func (b *Bootstrap) Encode() ([]byte, error) {
	if b.CloneFlags&^AllNamespaces != 0 {
		return nil, fmt.Errorf("clone flags %#x name an unknown namespace", b.CloneFlags)
	}
	if len(b.NsPaths) > maxNsPaths {
		return nil, fmt.Errorf("%d namespace paths, at most %d", len(b.NsPaths), maxNsPaths)
	}
	out := []byte(magic)
	rec := func(t uint16, v []byte) {
		out = binary.LittleEndian.AppendUint16(out, t)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(v)))
		out = append(out, v...)
	}
	rec(recCloneFlags, binary.LittleEndian.AppendUint32(nil, b.CloneFlags))
	var seen uint32
	for _, ns := range b.NsPaths {
		if ns.Type == 0 || ns.Type&^AllNamespaces != 0 || ns.Type&(ns.Type-1) != 0 {
			return nil, fmt.Errorf("namespace path %q: bad type %#x", ns.Path, ns.Type)
		}
		if seen&ns.Type != 0 {
			return nil, fmt.Errorf("namespace path %q: a second path for one type", ns.Path)
		}
		if b.CloneFlags&ns.Type != 0 {
			return nil, fmt.Errorf("namespace path %q: that namespace is also to be created", ns.Path)
		}
		if ns.Path == "" || len(ns.Path) >= pathMax || strings.IndexByte(ns.Path, 0) >= 0 {
			return nil, fmt.Errorf("namespace path %q: empty, too long or contains NUL", ns.Path)
		}
		seen |= ns.Type
		rec(recNsPath, append(binary.LittleEndian.AppendUint32(nil, ns.Type), ns.Path...))
	}
	if b.PidfdFlags != 0 {
		if b.PidfdFlags&^AllNamespaces != 0 || b.Pidfd < 0 {
			return nil, fmt.Errorf("pidfd %d: bad fd or namespace flags %#x", b.Pidfd, b.PidfdFlags)
		}
		if b.PidfdFlags&(b.CloneFlags|seen) != 0 {
			return nil, fmt.Errorf("pidfd: namespaces %#x also created or joined by path", b.PidfdFlags&(b.CloneFlags|seen))
		}
		v := binary.LittleEndian.AppendUint32(nil, uint32(b.Pidfd))
		rec(recSetnsPidfd, binary.LittleEndian.AppendUint32(v, b.PidfdFlags))
	}
	if len(b.CgroupTasks) > maxCgroups {
		return nil, fmt.Errorf("%d cgroups, at most %d", len(b.CgroupTasks), maxCgroups)
	}
	for _, p := range b.CgroupTasks {
		if p == "" || len(p) >= pathMax || strings.IndexByte(p, 0) >= 0 {
			return nil, fmt.Errorf("cgroup file %q: empty, too long or contains NUL", p)
		}
		rec(recCgroupTasks, []byte(p))
	}
	if len(b.Affinity) > MaxAffinity {
		return nil, fmt.Errorf("CPU mask of %d bytes, at most %d", len(b.Affinity), MaxAffinity)
	}
	if len(b.Affinity) > 0 {
		var flags uint32
		if b.AffinityFinal {
			flags = affinityFinal
		}
		rec(recAffinity, append(binary.LittleEndian.AppendUint32(nil, flags), b.Affinity...))
	} else if b.AffinityFinal {
		return nil, errors.New("a final CPU affinity without a mask")
	}
	if b.TimeOffsets != "" {
		rec(recTimeOffsets, []byte(b.TimeOffsets))
	}
	if b.ParentPidfd < 0 || b.ParentPidfd > 1<<20 {
		return nil, fmt.Errorf("parent pidfd %d: bad fd", b.ParentPidfd)
	}
	if b.ParentPidfd > 0 {
		rec(recParentPidfd, binary.LittleEndian.AppendUint32(nil, uint32(b.ParentPidfd)))
	}
	if b.LogLevel > 1 {
		return nil, fmt.Errorf("log level %d: only 0 and 1 are known", b.LogLevel)
	}
	if b.LogLevel != 0 {
		rec(recLogLevel, binary.LittleEndian.AppendUint32(nil, b.LogLevel))
	}
	if len(out) > MaxBootstrap {
		return nil, errors.New("bootstrap message too long")
	}
	return out, nil
}

// AllCPUs is the mask of every CPU there can be: within its cgroup's
// cpuset, a process given it runs anywhere.
func AllCPUs() []byte {
	m := make([]byte, MaxAffinity)
	for i := range m {
		m[i] = 0xff
	}
	return m
}

// CPUMask is the mask of the listed CPUs (each below 8*MaxAffinity).
func CPUMask(cpus []int) []byte {
	n := 0
	for _, c := range cpus {
		n = max(n, c/8+1)
	}
	m := make([]byte, n)
	for _, c := range cpus {
		m[c/8] |= 1 << (c % 8)
	}
	return m
}
