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
)

// Manager is the v1 manager.
type Manager struct {
	paths map[string]string // hierarchy key → container cgroup dir
}

// New resolves the container's cgroup in every mounted hierarchy.
func New(cg *configs.Cgroup) (*Manager, error) {
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
	m := &Manager{paths: map[string]string{}}
	for key, ownPath := range own {
		mnt := findMount(mounts, key)
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
func Load(paths map[string]string) *Manager { return &Manager{paths: paths} }

// findMount finds the mount of the hierarchy with the given controller list
// ("" = cgroup2). The first mount wins: bind mounts of subdirectories come
// later in mountinfo, if at all.
func findMount(mounts []*mountinfo.Info, key string) *mountinfo.Info {
	for _, mi := range mounts {
		if key == "" {
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
		for _, c := range strings.Split(key, ",") {
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
func (m *Manager) Paths() map[string]string { return m.paths }

func (m *Manager) path(ctrl string) string {
	for key, p := range m.paths {
		for _, c := range strings.Split(key, ",") {
			if c == ctrl {
				return p
			}
		}
	}
	return ""
}

// Create implements cgroups.Manager.
func (m *Manager) Create() error {
	for key, p := range m.paths {
		if err := m.mkdir(key, p); err != nil {
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

// mkdir creates p and its missing parents. New cpuset cgroups start with
// no cpus and mems, which makes joining them fail, so each new level copies
// its parent's.
func (m *Manager) mkdir(key, p string) error {
	isCpuset := false
	for _, c := range strings.Split(key, ",") {
		isCpuset = isCpuset || c == "cpuset"
	}
	if !isCpuset {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("cgroup: %w", err)
		}
		return nil
	}
	var missing []string
	for d := p; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == "/" {
			break
		}
		missing = append([]string{d}, missing...)
	}
	for _, d := range missing {
		if err := os.Mkdir(d, 0o755); err != nil && !os.IsExist(err) {
			return fmt.Errorf("cgroup: %w", err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			cur, _ := cgroups.ReadFile(d, f)
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

// Set implements cgroups.Manager.
func (m *Manager) Set(r *configs.Resources) error {
	if r == nil {
		return nil
	}
	if dir := m.path("devices"); dir != "" && len(r.Devices) > 0 {
		for _, d := range r.Devices {
			file := "devices.deny"
			if d.Allow {
				file = "devices.allow"
			}
			if err := cgroups.WriteFile(dir, file, deviceRule(d)); err != nil {
				return err
			}
		}
	}
	type write struct {
		ctrl, file, value string
	}
	var ws []write
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	if r.MemoryLimit != nil {
		ws = append(ws, write{"memory", "memory.limit_in_bytes", i64(*r.MemoryLimit)})
	}
	if r.MemorySwap != nil {
		ws = append(ws, write{"memory", "memory.memsw.limit_in_bytes", i64(*r.MemorySwap)})
	}
	if r.MemoryReservation != nil {
		ws = append(ws, write{"memory", "memory.soft_limit_in_bytes", i64(*r.MemoryReservation)})
	}
	if r.CPUShares != nil {
		ws = append(ws, write{"cpu", "cpu.shares", strconv.FormatUint(*r.CPUShares, 10)})
	}
	if r.CPUPeriod != nil {
		ws = append(ws, write{"cpu", "cpu.cfs_period_us", strconv.FormatUint(*r.CPUPeriod, 10)})
	}
	if r.CPUQuota != nil {
		ws = append(ws, write{"cpu", "cpu.cfs_quota_us", i64(*r.CPUQuota)})
	}
	if r.CPUs != "" {
		ws = append(ws, write{"cpuset", "cpuset.cpus", r.CPUs})
	}
	if r.Mems != "" {
		ws = append(ws, write{"cpuset", "cpuset.mems", r.Mems})
	}
	if r.PidsLimit != nil {
		v := "max"
		if *r.PidsLimit >= 0 {
			v = i64(*r.PidsLimit)
		}
		ws = append(ws, write{"pids", "pids.max", v})
	}
	for _, w := range ws {
		dir := m.path(w.ctrl)
		if dir == "" {
			return fmt.Errorf("cgroup: %s is set but the %s controller is not mounted", w.file, w.ctrl)
		}
		if err := cgroups.WriteFile(dir, w.file, w.value); err != nil {
			return err
		}
	}
	return nil
}

func deviceRule(d configs.DeviceRule) string {
	if d.Type == 'a' {
		return "a"
	}
	num := func(n int64) string {
		if n < 0 {
			return "*"
		}
		return strconv.FormatInt(n, 10)
	}
	return fmt.Sprintf("%c %s:%s %s", d.Type, num(d.Major), num(d.Minor), d.Access)
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

// Freeze implements cgroups.Manager.
func (m *Manager) Freeze(frozen bool) error { return errors.New("cgroup: freezer not implemented yet") }

// Frozen implements cgroups.Manager.
func (m *Manager) Frozen() (bool, error) { return false, nil }

// Stats implements cgroups.Manager.
func (m *Manager) Stats() (*cgroups.Stats, error) {
	return nil, errors.New("cgroup: stats not implemented yet")
}

// OOM implements cgroups.Manager.
func (m *Manager) OOM() (<-chan struct{}, func(), error) {
	return nil, nil, errors.New("cgroup: OOM events not implemented yet")
}

// Kill implements cgroups.Manager.
func (m *Manager) Kill() error { return cgroups.ErrNoKill }
