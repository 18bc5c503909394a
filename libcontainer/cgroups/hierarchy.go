package cgroups

import (
	"sort"
	"strings"
)

// Hierarchy names a cgroup hierarchy as /proc/PID/cgroup does, and is the
// key of Paths: "" is the unified (v2) hierarchy; a v1 hierarchy is its
// controllers, comma-separated ("cpu,cpuacct" for two mounted together),
// and "name=NAME" for a named one ("name=systemd"). This is the one place
// that reads that form.
type Hierarchy string

// UnifiedHierarchy is the unified (cgroup v2) hierarchy's key.
const UnifiedHierarchy Hierarchy = ""

// Unified reports whether h is the unified (v2) hierarchy.
func (h Hierarchy) Unified() bool { return h == UnifiedHierarchy }

// MountOptions are the options a v1 mount of the hierarchy shows in
// mountinfo (its controllers and name=NAME); none for the unified one.
func (h Hierarchy) MountOptions() []string {
	if h.Unified() {
		return nil
	}
	return strings.Split(string(h), ",")
}

// Controllers lists the v1 controllers of the hierarchy: none for the
// unified one or a named one ("name=systemd").
func (h Hierarchy) Controllers() []string {
	var out []string
	for _, o := range h.MountOptions() {
		if !strings.HasPrefix(o, "name=") {
			out = append(out, o)
		}
	}
	return out
}

// Has reports whether ctrl is one of the v1 hierarchy's controllers.
func (h Hierarchy) Has(ctrl string) bool {
	for _, c := range h.Controllers() {
		if c == ctrl {
			return true
		}
	}
	return false
}

// Name is a named v1 hierarchy's name ("systemd" for "name=systemd"), or
// "".
func (h Hierarchy) Name() string {
	for _, o := range h.MountOptions() {
		if n, ok := strings.CutPrefix(o, "name="); ok {
			return n
		}
	}
	return ""
}

// DirName is the name the v1 hierarchy's directory has under
// /sys/fs/cgroup: the key itself ("cpu,cpuacct"), or a named hierarchy's
// name ("systemd").
func (h Hierarchy) DirName() string { return strings.TrimPrefix(string(h), "name=") }

// Describe names the hierarchy for messages.
func (h Hierarchy) Describe() string {
	if h.Unified() {
		return "the unified hierarchy"
	}
	return string(h)
}

// Paths maps each hierarchy (a Hierarchy key) to a cgroup directory in it:
// Manager.Paths, state.json's cgroup_paths.
type Paths map[string]string

// Unified is the unified hierarchy's directory, if p has one.
func (p Paths) Unified() (string, bool) {
	dir, ok := p[string(UnifiedHierarchy)]
	return dir, ok
}

// UnifiedOnly is the unified hierarchy's directory when p has no v1
// hierarchy (a cgroup v2 host).
func (p Paths) UnifiedOnly() (string, bool) {
	dir, ok := p.Unified()
	return dir, ok && len(p) == 1
}

// Find returns the v1 hierarchy that has controller ctrl, and its
// directory.
func (p Paths) Find(ctrl string) (Hierarchy, string, bool) {
	for key, dir := range p {
		if h := Hierarchy(key); h.Has(ctrl) {
			return h, dir, true
		}
	}
	return "", "", false
}

// Hierarchies lists p's hierarchies, sorted (the unified one first).
func (p Paths) Hierarchies() []Hierarchy {
	out := make([]Hierarchy, 0, len(p))
	for key := range p {
		out = append(out, Hierarchy(key))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Placement is how a new process (a container's init, an exec) gets into
// a Manager's cgroup.
type Placement int

const (
	// BornInside: the process is born in the cgroup (CLONE_INTO_CGROUP
	// for the unified hierarchy; the C stage writes to v1 "tasks" files
	// before it runs anything else), which Create made.
	BornInside Placement = iota
	// PlacedByApply: the process is forked outside any container cgroup
	// and moved in by Apply before it runs anything of the container:
	// the cgroup is made around it (systemd starts a transient unit with
	// it), or only another may move it in (the user's systemd instance,
	// for a rootless container's exec).
	PlacedByApply
)
