// Package systemd is the systemd cgroup driver (--systemd-cgroup) on
// cgroup v2 hosts, as runc's: the container runs in a transient unit that
// systemd starts around its init over D-Bus (a scope, prefix-name.scope in
// the parent slice, or a slice when the name is one), delegated to the
// container. Resources systemd has properties for are given to it, so
// that it keeps them when it re-applies its settings; everything is then
// written by fs2 on the unit's cgroup, which also does freezing, stats,
// OOM events and kill.
//
// Rootless (an unprivileged caller), the unit is the user's own systemd
// instance's (user@UID.service), reached over the session bus, as runc
// does: under that manager's cgroup, in user.slice by default, and with
// only the controllers the manager was delegated.
package systemd

import (
	"errors"
	"fmt"
	"github.com/husk-runtime/husk/libcontainer/diag"
	"log/slog"
	"os"
	"strings"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/cgroups/fs2"
	"github.com/husk-runtime/husk/libcontainer/configs"
)

// Manager is the systemd driver's cgroups.Manager.
type Manager struct {
	cg   *configs.Cgroup
	unit string
	dir  string // /sys/fs/cgroup and the unit's ControlGroup
	fs   *fs2.Manager
	sd   conn
	// props are the annotations' properties (New only).
	props []sdbus.Property
	// fresh is a manager from New: the unit may be another's until Apply
	// has started it, so until then Pids, Kill and Destroy leave it be.
	fresh, started bool
	// atStart are the resources the unit was started with: Set need not
	// send them again.
	atStart *configs.Resources
	sdVer   int // 0 until asked
	verErr  error
}

// IsRunningSystemd reports whether systemd is the host's init, as
// sd_booted(3): /run/systemd/system is a directory.
func IsRunningSystemd() bool {
	fi, err := os.Lstat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

// New checks that the host can have the container's unit and returns its
// manager; nothing is asked of systemd before Apply.
func New(cg *configs.Cgroup) (*Manager, error) {
	if !IsRunningSystemd() {
		return nil, errors.New("systemd is not running on this host (no /run/systemd/system): use the cgroupfs driver (no --systemd-cgroup)")
	}
	if !cgroups.IsUnified() {
		return nil, fmt.Errorf("husk's systemd cgroup driver needs the unified cgroup v2 hierarchy, and %s on this host is cgroup v1 (boot with systemd.unified_cgroup_hierarchy=1, or drop --systemd-cgroup)", cgroups.Root)
	}
	props, err := ParseProperties(cg.SystemdProps)
	if err != nil {
		return nil, err
	}
	rel, err := unitCgroup(cg)
	if err != nil {
		return nil, fmt.Errorf("linux.cgroupsPath: %w", err)
	}
	m := &Manager{cg: cg, unit: UnitName(cg), props: props, fresh: true}
	if cg.Rootless {
		// The user's instance: its units are under its own cgroup, and
		// only the controllers it was delegated can be had. Both are
		// asked now, so that nothing is made when either fails.
		m.sd.user = true
		mcg, err := m.sd.managerControlGroup()
		if err != nil {
			m.sd.close()
			return nil, err
		}
		if err := checkDelegated(cg.Resources, cgroups.Root, mcg); err != nil {
			m.sd.close()
			return nil, err
		}
		rel = strings.TrimSuffix(mcg, "/") + rel
	}
	m.dir = cgroups.Root + rel
	m.fs = fs2.Load(m.dir)
	return m, nil
}

// Load returns the manager of an existing container, from its config and
// the cgroup directory recorded in its state.
func Load(cg *configs.Cgroup, dir string) *Manager {
	if dir == "" && !cg.Rootless {
		if rel, err := unitCgroup(cg); err == nil {
			dir = cgroups.Root + rel
		}
	}
	m := &Manager{cg: cg, unit: UnitName(cg), dir: dir, fs: fs2.Load(dir)}
	m.sd.user = cg.Rootless
	return m
}

// Unit is the name of the container's unit.
func (m *Manager) Unit() string { return m.unit }

// Placement implements cgroups.Manager: a new container's unit is
// started around its init (Apply), and an exec of a rootless container is
// moved into the unit by Apply (through the user's systemd instance if
// need be); any other exec is born in the unit's cgroup.
func (m *Manager) Placement() cgroups.Placement {
	if m.fresh || m.cg.Rootless {
		return cgroups.PlacedByApply
	}
	return cgroups.BornInside
}

// subCgroup is where m.dir is below the unit's own cgroup (exec
// --cgroup): "" or "/a/b".
func (m *Manager) subCgroup() string {
	_, sub, ok := strings.Cut(m.dir+"/", "/"+m.unit+"/")
	if !ok || sub == "" {
		return ""
	}
	return "/" + strings.Trim(sub, "/")
}

// live reports whether the unit is the container's to act on.
func (m *Manager) live() bool { return !m.fresh || m.started }

// version is systemd's version, asked once; 0 if it cannot be had (the
// properties that need a version are then left to fs2).
func (m *Manager) version() int {
	if m.sdVer == 0 {
		v, err := m.sd.version()
		if err != nil {
			// Under --strict, an error: Apply and Set return it.
			m.verErr = diag.Warn(diag.Warning{Field: "linux.resources", Msg: "systemd: cannot read its version: the properties that need one are left to the cgroup files", Attrs: []any{"err", err}})
			v = -1
		}
		m.sdVer = v
	}
	return max(m.sdVer, 0)
}

// Create implements cgroups.Manager. A transient scope cannot exist
// without a process: Apply makes it.
func (m *Manager) Create() error { return nil }

// Apply implements cgroups.Manager: it starts the unit with pid in it,
// and with the container's resources, and waits until systemd reports
// the unit started.
func (m *Manager) Apply(pid int) error {
	if !m.fresh {
		// A container's existing unit (exec joining it late): move the
		// process in, as cgroupfs would.
		err := m.fs.Apply(pid)
		if err == nil || !m.cg.Rootless || !errors.Is(err, os.ErrPermission) {
			return err
		}
		// Unprivileged, husk may only move a process between cgroups
		// under one it may write (run outside the user manager's tree,
		// it may not): the user's instance does it.
		return m.sd.attach(m.unit, m.subCgroup(), pid)
	}
	props := append(baseProps(m.cg, m.unit, pid), m.props...)
	if p, ok := oomPolicy(m.cg.Resources); ok {
		props = append(props, p)
	}
	// After the annotations: linux.resources win, as with runc (which
	// sets them once the unit is there).
	start := m.startResources()
	res, err := resourceProps(start, m.version)
	if err == nil {
		err = m.verErr
	}
	if err != nil {
		return err
	}
	props = append(props, res...)
	if err := m.sd.startUnit(m.unit, props); err != nil {
		return err
	}
	m.started, m.atStart = true, start
	// The directory was worked out from the slice's name; systemd's word
	// is the one that counts (an annotation may have moved the unit).
	rel, err := m.sd.controlGroup(m.unit)
	if err != nil {
		return err
	}
	if dir := cgroups.Root + rel; dir != m.dir {
		slog.Debug("systemd: unit is not where its slice says", "unit", m.unit, "expected", m.dir, "cgroup", dir)
		m.dir, m.fs = dir, fs2.Load(dir)
	}
	if fi, err := os.Stat(m.dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("systemd: unit %s started, but its cgroup %s is not there", m.unit, m.dir)
	}
	if isSlice(m.unit) {
		// A slice takes no PIDs from systemd: the process is moved in.
		return m.fs.Apply(pid)
	}
	// Enables, along the path, the controllers systemd leaves off
	// (hugetlb, rdma, misc), as runc does.
	return m.fs.Create()
}

// startResources are the resources the unit starts with: no pids limits
// (TasksMax), which are set once the init is ready (a low one would keep
// its runtime, which starts in the unit, from starting its threads); and
// in a user's instance no device rules (an unprivileged user cannot
// attach a device program, and reaches no device beyond its own anyway;
// husk does not set them either, as runc).
func (m *Manager) startResources() *configs.Resources {
	if m.cg.Resources == nil {
		return nil
	}
	r, _ := m.cg.Resources.SplitPids()
	if m.cg.Rootless {
		r.Devices = nil
	}
	return &r
}

// Set implements cgroups.Manager: the resources systemd has properties
// for are set on the unit (unless it was just started with them), then
// all are written to the cgroup.
func (m *Manager) Set(r *configs.Resources) error {
	if r == nil {
		return nil
	}
	if r != m.atStart {
		props, err := resourceProps(r, m.version)
		if err == nil {
			err = m.verErr
		}
		if err != nil {
			return err
		}
		if len(props) > 0 {
			if err := m.sd.setProperties(m.unit, props); err != nil {
				return err
			}
		}
	}
	m.atStart = nil
	return m.fs.Set(r)
}

// SetProperties sets the unit's properties for r, and no file: what a
// failed update sets back (properties r leaves unset stay as they are).
func (m *Manager) SetProperties(r *configs.Resources) error {
	props, err := resourceProps(r, m.version)
	if err != nil || len(props) == 0 {
		return err
	}
	return m.sd.setProperties(m.unit, props)
}

// Paths implements cgroups.Manager.
func (m *Manager) Paths() cgroups.Paths {
	return cgroups.Paths{string(cgroups.UnifiedHierarchy): m.dir}
}

// Pids implements cgroups.Manager.
func (m *Manager) Pids() ([]int, error) {
	if !m.live() {
		return nil, nil
	}
	return m.fs.Pids()
}

// Freeze implements cgroups.Manager, through cgroup.freeze as runc does
// on v2 (systemd is not told: its own freezer state stays "running").
func (m *Manager) Freeze(frozen bool) error { return m.fs.Freeze(frozen) }

// Frozen implements cgroups.Manager.
func (m *Manager) Frozen() (bool, error) { return m.fs.Frozen() }

// Stats implements cgroups.Manager.
func (m *Manager) Stats() (*cgroups.Stats, error) { return m.fs.Stats() }

// OOM implements cgroups.Manager.
func (m *Manager) OOM() (<-chan struct{}, func(), error) { return m.fs.OOM() }

// Kill implements cgroups.Manager.
func (m *Manager) Kill() error {
	if !m.live() {
		return nil
	}
	return m.fs.Kill()
}

// Destroy implements cgroups.Manager: the unit is stopped (a unit already
// gone is fine: systemd collects a scope once its processes are gone),
// then the cgroup is removed if systemd left it (sub-cgroups of a
// delegated unit are ours).
func (m *Manager) Destroy() error {
	if !m.live() {
		return nil
	}
	defer m.sd.close()
	stopErr := m.sd.stopUnit(m.unit)
	if err := m.fs.Destroy(); err != nil {
		return errors.Join(stopErr, err)
	}
	return stopErr
}
