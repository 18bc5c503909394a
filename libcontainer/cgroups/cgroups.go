// Package cgroups places a container's processes in its cgroup and applies
// its limits. Manager is the one interface; the drivers are fs (cgroup v1,
// including hybrid hosts), fs2 (the unified v2 hierarchy) and systemd
// (transient units over D-Bus, on a v2 host); package manager picks one.
package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// Manager manages one container's cgroup.
type Manager interface {
	// Create makes the cgroup so that a process can be born in it
	// (CLONE_INTO_CGROUP, or the C stage joining v1 hierarchies). A
	// driver that makes the cgroup around a process (systemd) does
	// nothing here: Apply does it all.
	Create() error
	// Apply creates the cgroup if need be and moves pid into it.
	Apply(pid int) error
	// Set applies resource limits; on update, only those that are set.
	Set(r *configs.Resources) error
	// Paths maps a hierarchy key (v1 subsystem list, or "" for the unified
	// hierarchy) to the container's cgroup directory. Stored in state.json.
	Paths() map[string]string
	// Pids lists every process in the cgroup and its descendants.
	Pids() ([]int, error)
	// Freeze freezes (or thaws) every process in the cgroup, and returns
	// once the kernel reports the cgroup frozen (thawed).
	Freeze(frozen bool) error
	// Frozen reports whether the cgroup is frozen.
	Frozen() (bool, error)
	// Stats reads the cgroup's usage counters.
	Stats() (*Stats, error)
	// OOM returns a channel that receives a value for each OOM kill in
	// the cgroup from now on, and a function that stops the watch.
	OOM() (<-chan struct{}, func(), error)
	// Kill sends SIGKILL to every process in the cgroup, through
	// cgroup.kill where the kernel has it; ErrNoKill otherwise.
	Kill() error
	// Destroy removes the cgroup. Processes must be gone.
	Destroy() error
}

// PlacedByApply is implemented by a Manager whose Create makes no cgroup,
// because its cgroup is made around a first process (systemd starts a
// transient unit with it): that process is forked outside any container
// cgroup and moved in by Apply before it runs anything of the container.
type PlacedByApply interface {
	PlacedByApply()
}

// ErrNoKill is Kill's answer where the cgroup cannot be killed as one.
var ErrNoKill = errors.New("cgroup.kill not available")

// Root is where cgroup filesystems are mounted.
const Root = "/sys/fs/cgroup"

// IsUnified reports whether the host runs the unified (v2-only) hierarchy.
var IsUnified = sync.OnceValue(func() bool {
	var st unix.Statfs_t
	if err := unix.Statfs(Root, &st); err != nil {
		return false
	}
	return st.Type == unix.CGROUP2_SUPER_MAGIC
})

// WriteFile writes one cgroup control file; the error names file and value.
func WriteFile(dir, file, value string) error {
	p := filepath.Join(dir, file)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cgroup: open %s: %w", p, unwrap(err))
	}
	defer f.Close()
	if _, err := f.WriteString(value); err != nil {
		return fmt.Errorf("cgroup: write %q to %s: %w", value, p, unwrap(err))
	}
	return nil
}

// ReadFile reads one cgroup control file, trimmed.
func ReadFile(dir, file string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	return strings.TrimSpace(string(b)), err
}

func unwrap(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ReadProcs reads cgroup.procs of dir and of every cgroup below it.
func ReadProcs(dir string) ([]int, error) {
	var pids []int
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		for _, l := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(l); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	return pids, err
}

// RemovePath removes dir and every cgroup below it, deepest first. A cgroup
// whose last process has just exited can briefly report EBUSY; that is
// retried a few times.
func RemovePath(dir string) error {
	// Usually the cgroup has no children: one rmdir.
	switch err := unix.Rmdir(dir); err {
	case nil, unix.ENOENT:
		return nil
	}
	var subdirs []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			subdirs = append(subdirs, p)
		}
		return nil
	})
	for i := len(subdirs) - 1; i >= 0; i-- {
		if err := rmdir(subdirs[i]); err != nil {
			return err
		}
	}
	return nil
}

func rmdir(p string) error {
	var err error
	for try := 0; try < 50; try++ {
		err = unix.Rmdir(p)
		if err == nil || err == unix.ENOENT {
			return nil
		}
		if err != unix.EBUSY {
			break
		}
		// Only reached when tasks are still leaving the cgroup.
		unix.Nanosleep(&unix.Timespec{Nsec: int64(1+try) * 1e6}, nil)
	}
	return fmt.Errorf("cgroup: remove %s: %w", p, err)
}

// OwnCgroups parses /proc/self/cgroup: hierarchy key → cgroup path.
// For v1 the key is the controller list ("cpu,cpuacct", "name=systemd"),
// for the unified hierarchy "".
func OwnCgroups() (map[string]string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 {
			out[parts[1]] = parts[2]
		}
	}
	return out, nil
}

// Join resolves the container's cgroup path inside a hierarchy: an absolute
// path is taken from the hierarchy's root, a relative one from own, the
// cgroup of the calling process.
func Join(mountpoint, mountRoot, own, path string) string {
	if !filepath.IsAbs(path) {
		path = filepath.Join(own, path)
	}
	rel, err := filepath.Rel(mountRoot, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		// The hierarchy is mounted from below our cgroup's ancestor; use
		// the path as seen from the mount.
		rel = strings.TrimPrefix(path, "/")
	}
	return filepath.Join(mountpoint, rel)
}
