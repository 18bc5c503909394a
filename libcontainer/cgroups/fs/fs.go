// Package fs is the cgroup v1 driver. It also runs on hybrid hosts (v1
// controllers plus a cgroup2 mount, usually at /sys/fs/cgroup/unified): the
// container then gets a cgroup in every mounted hierarchy, the unified one
// included, as runc does.
package fs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Manager is the v1 manager.
type Manager struct {
	paths cgroups.Paths // hierarchy → container cgroup dir
}

// New resolves the container's cgroup in every mounted hierarchy. A
// config it cannot apply (v2 files) is refused here, before anything is
// made.
func New(cg *configs.Cgroup) (*Manager, error) {
	if err := checkNoUnified(cg.Resources); err != nil {
		return nil, err
	}
	own, err := cgroups.OwnCgroups()
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	mounts, err := mountinfo.GetMounts(func(i *mountinfo.Info) (skip, stop bool) {
		return i.FSType != "cgroup" && i.FSType != "cgroup2", false
	})
	if err != nil {
		return nil, fmt.Errorf("cgroup: reading mountinfo: %w", err)
	}
	m := &Manager{paths: cgroups.Paths{}}
	for key, ownPath := range own {
		mnt := findMount(mounts, cgroups.Hierarchy(key))
		if mnt == nil {
			continue // a hierarchy not mounted here (e.g. net_cls)
		}
		m.paths[key] = cgroups.Join(mnt.Mountpoint, mnt.Root, ownPath, cg.Path)
	}
	if len(m.paths) == 0 {
		return nil, errors.New("cgroup: no cgroup hierarchy is mounted")
	}
	return m, nil
}

// Load returns a manager for paths recorded in state.json.
func Load(paths cgroups.Paths) *Manager { return &Manager{paths: paths} }

// findMount finds the mount of hierarchy h. The first mount wins: bind
// mounts of subdirectories come later in mountinfo, if at all.
func findMount(mounts []*mountinfo.Info, h cgroups.Hierarchy) *mountinfo.Info {
	for _, mi := range mounts {
		if h.Unified() {
			if mi.FSType == "cgroup2" {
				return mi
			}
			continue
		}
		if mi.FSType != "cgroup" {
			continue
		}
		opts := map[string]bool{}
		for _, o := range strings.Split(mi.VFSOptions, ",") {
			opts[o] = true
		}
		all := true
		for _, c := range h.MountOptions() {
			if !opts[c] {
				all = false
				break
			}
		}
		if all {
			return mi
		}
	}
	return nil
}

// Paths implements cgroups.Manager.
func (m *Manager) Paths() cgroups.Paths { return m.paths }

// Placement implements cgroups.Manager: a new process is born in the
// cgroups (the C stage joins the v1 hierarchies first thing, and the
// unified one of a hybrid host by CLONE_INTO_CGROUP).
func (m *Manager) Placement() cgroups.Placement { return cgroups.BornInside }

func (m *Manager) path(ctrl string) string {
	_, dir, _ := m.paths.Find(ctrl)
	return dir
}

// Create implements cgroups.Manager.
func (m *Manager) Create() error {
	for key, p := range m.paths {
		if err := m.mkdir(cgroups.Hierarchy(key), p); err != nil {
			return err
		}
	}
	return nil
}

// Apply implements cgroups.Manager.
func (m *Manager) Apply(pid int) error {
	if err := m.Create(); err != nil {
		return err
	}
	for _, p := range m.paths {
		if err := cgroups.WriteFile(p, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// mkdir creates p and its missing parents. A cpuset cgroup starts with
// no cpus and mems, and no process can join one that has none, nor a
// child of it: so each level below the hierarchy's root, made now or
// before (by another program's plain mkdir), gets its parent's where it
// has none, top down, as runc does.
func (m *Manager) mkdir(h cgroups.Hierarchy, p string) error {
	if !h.Has("cpuset") {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("cgroup: %w", err)
		}
		return nil
	}
	// The levels from p up to the hierarchy's root (not included): the
	// root is the directory whose parent is not a cgroup filesystem.
	var levels []string
	for d := p; ; d = filepath.Dir(d) {
		parent := filepath.Dir(d)
		if parent == d {
			return fmt.Errorf("cgroup: %s is not in a cgroup filesystem", p)
		}
		var st unix.Statfs_t
		err := unix.Statfs(parent, &st)
		if err == nil && st.Type != unix.CGROUP_SUPER_MAGIC {
			break
		}
		if err != nil && err != unix.ENOENT {
			return fmt.Errorf("cgroup: statfs %s: %w", parent, err)
		}
		levels = append(levels, d)
	}
	for i := len(levels) - 1; i >= 0; i-- {
		d := levels[i]
		if err := os.Mkdir(d, 0o755); err != nil && !os.IsExist(err) {
			return fmt.Errorf("cgroup: %w", err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			cur, err := cgroups.ReadFile(d, f)
			if err != nil {
				return fmt.Errorf("cgroup: %w", err)
			}
			if cur != "" {
				continue
			}
			parent, err := cgroups.ReadFile(filepath.Dir(d), f)
			if err != nil {
				return fmt.Errorf("cgroup: %w", err)
			}
			if err := cgroups.WriteFile(d, f, parent); err != nil {
				return err
			}
		}
	}
	return nil
}

// Set implements cgroups.Manager: each controller's files, in runc's
// order. A limit on a controller this host has not mounted is an error.
func (m *Manager) Set(r *configs.Resources) error {
	if r == nil {
		return nil
	}
	for _, set := range []func(*configs.Resources) error{
		m.setCpuset, m.setDevices, m.setMemory, m.setCPU, m.setPids,
		m.setBlkio, m.setHugetlb, m.setNet, m.setRdma, m.setUnified,
	} {
		if err := set(r); err != nil {
			return err
		}
	}
	return nil
}

// need returns the directory of controller ctrl, or an error naming the
// field that asked for it.
func (m *Manager) need(ctrl, field string) (string, error) {
	if dir := m.path(ctrl); dir != "" {
		return dir, nil
	}
	return "", fmt.Errorf("cgroup: linux.resources.%s is set but this host has no %s cgroup controller mounted", field, ctrl)
}

// Pids implements cgroups.Manager.
func (m *Manager) Pids() ([]int, error) {
	for _, ctrl := range []string{"pids", "freezer", "devices", "memory", "cpu"} {
		if dir := m.path(ctrl); dir != "" {
			return cgroups.ReadProcs(dir)
		}
	}
	for _, p := range m.paths {
		return cgroups.ReadProcs(p)
	}
	return nil, nil
}

// Destroy implements cgroups.Manager.
func (m *Manager) Destroy() error {
	var errs []error
	for _, p := range m.paths {
		if err := cgroups.RemovePath(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Stats implements cgroups.Manager.
func (m *Manager) Stats() (*cgroups.Stats, error) {
	s := &cgroups.Stats{}
	if err := m.cpuStats(s); err != nil {
		return nil, err
	}
	if err := m.memoryStats(s); err != nil {
		return nil, err
	}
	m.pidsStats(s)
	m.blkioStats(s)
	m.hugetlbStats(s)
	return s, nil
}

// Kill implements cgroups.Manager: v1 has no cgroup.kill.
func (m *Manager) Kill() error { return cgroups.ErrNoKill }
