package configs

import (
	"sort"
	"strconv"

	"golang.org/x/sys/unix"
)

// NamespaceType names a namespace as the OCI spec does (linux.namespaces[].type).
type NamespaceType string

const (
	NEWPID    NamespaceType = "pid"
	NEWNET    NamespaceType = "network"
	NEWNS     NamespaceType = "mount"
	NEWIPC    NamespaceType = "ipc"
	NEWUTS    NamespaceType = "uts"
	NEWUSER   NamespaceType = "user"
	NEWCGROUP NamespaceType = "cgroup"
	NEWTIME   NamespaceType = "time"
)

// Namespace is a namespace to create (Path empty) or join.
type Namespace struct {
	Type NamespaceType `json:"type"`
	Path string        `json:"path,omitempty"`
}

// Has reports whether the config names a namespace of type t.
func (c *Config) Has(t NamespaceType) bool {
	for _, ns := range c.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

// Namespace returns the config's namespace of type t, if any.
func (c *Config) Namespace(t NamespaceType) (Namespace, bool) {
	for _, ns := range c.Namespaces {
		if ns.Type == t {
			return ns, true
		}
	}
	return Namespace{}, false
}

// namespaces is every namespace type husk knows, the one list of them:
// its CLONE_NEW* flag and its file in /proc/PID/ns, in the order the C
// stage (nsenter.c) joins namespaces given by path. The user namespace
// comes first, so that the others are joined with its credentials; the
// mount namespace last, as a path may not resolve the same inside it.
// specconv (which types a config may name, features), nsenter (the
// flags the C stage accepts) and the C stage's own tables derive from it;
// TestConstantsAgree (package nsenter) checks the C side against it.
var namespaces = []struct {
	typ  NamespaceType
	flag uint32
	file string
}{
	{NEWUSER, unix.CLONE_NEWUSER, "user"},
	{NEWIPC, unix.CLONE_NEWIPC, "ipc"},
	{NEWUTS, unix.CLONE_NEWUTS, "uts"},
	{NEWNET, unix.CLONE_NEWNET, "net"},
	{NEWPID, unix.CLONE_NEWPID, "pid"},
	{NEWTIME, unix.CLONE_NEWTIME, "time"},
	{NEWCGROUP, unix.CLONE_NEWCGROUP, "cgroup"},
	{NEWNS, unix.CLONE_NEWNS, "mnt"},
}

// NamespaceTypes lists every namespace type, in the C stage's join order.
func NamespaceTypes() []NamespaceType {
	out := make([]NamespaceType, len(namespaces))
	for i, ns := range namespaces {
		out[i] = ns.typ
	}
	return out
}

// NamespaceNames lists the namespace types' names, sorted (features).
func NamespaceNames() []string {
	out := make([]string, len(namespaces))
	for i, ns := range namespaces {
		out[i] = string(ns.typ)
	}
	sort.Strings(out)
	return out
}

// AllCloneFlags is every namespace type's CLONE_NEW* flag.
func AllCloneFlags() uint32 {
	var all uint32
	for _, ns := range namespaces {
		all |= ns.flag
	}
	return all
}

// Known reports whether t is a namespace type husk knows.
func (t NamespaceType) Known() bool { return t.CloneFlag() != 0 }

// CloneFlag is t's CLONE_NEW* flag (the NS_GET_NSTYPE answer for a file
// of t), or 0 for an unknown type.
func (t NamespaceType) CloneFlag() uint32 {
	for _, ns := range namespaces {
		if ns.typ == t {
			return ns.flag
		}
	}
	return 0
}

// ProcPath is the file of process pid's namespace of type t
// (/proc/PID/ns/mnt for a mount namespace).
func (t NamespaceType) ProcPath(pid int) string {
	for _, ns := range namespaces {
		if ns.typ == t {
			return "/proc/" + strconv.Itoa(pid) + "/ns/" + ns.file
		}
	}
	return ""
}
