package systemd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/configs"
)

// These tests talk to the host's systemd: they run as root on a cgroup v2
// host booted with systemd, and skip elsewhere.
func needSystemd(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 || !IsRunningSystemd() || !cgroups.IsUnified() {
		t.Skip("needs root on a cgroup v2 host running systemd")
	}
}

func sleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func unitProp(t *testing.T, m *Manager, name string) any {
	t.Helper()
	var p *sdbus.Property
	err := m.sd.do(func(c *sdbus.Conn) (err error) {
		p, err = c.GetUnitTypePropertyContext(context.Background(), m.unit, "Scope", name)
		return err
	})
	if err != nil {
		t.Fatalf("%s of %s: %v", name, m.unit, err)
	}
	return p.Value.Value()
}

func TestManagerLifecycle(t *testing.T) {
	needSystemd(t)
	cmd := sleeper(t)
	cg := &configs.Cgroup{
		Systemd: true, Parent: "system.slice", ScopePrefix: "husk-test", Name: fmt.Sprint(os.Getpid()),
		SystemdProps: map[string]string{"CollectMode": "'inactive-or-failed'"},
		Resources:    &configs.Resources{MemoryLimit: i64(32 << 20), PidsLimit: i64(10)},
	}
	m, err := New(cg)
	if err != nil {
		t.Fatal(err)
	}
	dir := "/sys/fs/cgroup/system.slice/" + m.Unit()
	if got := m.Paths()[""]; got != dir {
		t.Fatalf("path before start %q, want %q", got, dir)
	}
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("Create made %s (%v)", dir, err)
	}
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Destroy() })
	if err := m.Set(cg.Resources); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", cmd.Process.Pid)); strings.TrimSpace(string(b)) != "0::/system.slice/"+m.Unit() {
		t.Errorf("process in %q", b)
	}
	if got := unitProp(t, m, "MemoryMax"); got != uint64(32<<20) {
		t.Errorf("MemoryMax %v", got)
	}
	if v, _ := cgroups.ReadFile(dir, "memory.max"); v != fmt.Sprint(32<<20) {
		t.Errorf("memory.max %q", v)
	}
	pids, err := m.Pids()
	if err != nil || !slices.Contains(pids, cmd.Process.Pid) {
		t.Errorf("Pids %v, %v", pids, err)
	}

	// A second container of the same unit name fails to start, and its
	// manager leaves the running unit alone.
	other, err := New(cg)
	if err != nil {
		t.Fatal(err)
	}
	cmd2 := sleeper(t)
	if err := other.Apply(cmd2.Process.Pid); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second Apply: %v", err)
	}
	if p, _ := other.Pids(); len(p) != 0 {
		t.Errorf("a manager that started nothing lists %v", p)
	}
	if err := other.Destroy(); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the unit's cgroup is gone after another manager's Destroy: %v", err)
	}

	// Update through a loaded manager (as `update` would), after the
	// connection has been closed under it: it reconnects.
	l := Load(cg, m.Paths()[""])
	if err := l.sd.do(func(*sdbus.Conn) error { return nil }); err != nil {
		t.Fatal(err)
	}
	l.sd.c.Close()
	if err := l.Set(&configs.Resources{MemoryLimit: i64(48 << 20), PidsLimit: i64(-1), CPUShares: u64(2048)}); err != nil {
		t.Fatal(err)
	}
	if got := unitProp(t, l, "MemoryMax"); got != uint64(48<<20) {
		t.Errorf("MemoryMax after update %v", got)
	}
	if got := unitProp(t, l, "TasksMax"); got != infinity {
		t.Errorf("TasksMax after update %v", got)
	}
	if v, _ := cgroups.ReadFile(dir, "pids.max"); v != "max" {
		t.Errorf("pids.max after update %q", v)
	}
	if v, _ := cgroups.ReadFile(dir, "memory.max"); v != fmt.Sprint(48<<20) {
		t.Errorf("memory.max after update %q", v)
	}

	cmd.Process.Kill()
	cmd.Wait()
	if err := l.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still there after Destroy (%v)", dir, err)
	}
	// Gone already: not an error.
	if err := Load(cg, dir).Destroy(); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
}

func TestManagerBadProperty(t *testing.T) {
	needSystemd(t)
	cmd := sleeper(t)
	cg := &configs.Cgroup{
		Systemd: true, ScopePrefix: "husk-test", Name: fmt.Sprint(os.Getpid(), "-bad"),
		SystemdProps: map[string]string{"NoSuchProperty": "true"},
		Resources:    &configs.Resources{},
	}
	m, err := New(cg)
	if err != nil {
		t.Fatal(err)
	}
	err = m.Apply(cmd.Process.Pid)
	if err == nil || !strings.Contains(err.Error(), m.Unit()) || !strings.Contains(err.Error(), "NoSuchProperty") {
		t.Fatalf("Apply: %v", err)
	}
	if err := m.Destroy(); err != nil {
		t.Error(err)
	}
	var units []sdbus.UnitStatus
	m.sd.do(func(c *sdbus.Conn) (err error) {
		units, err = c.ListUnitsByNamesContext(context.Background(), []string{m.Unit()})
		return err
	})
	for _, u := range units {
		if u.LoadState != "not-found" {
			t.Errorf("unit left: %+v", u)
		}
	}
}

// A new container's unit is started around its init (Apply); an exec is
// born in an existing unit's cgroup, but for a rootless container, whose
// exec the user's instance moves in (Apply).
func TestPlacement(t *testing.T) {
	cg := &configs.Cgroup{Systemd: true, Parent: "system.slice", ScopePrefix: "husk", Name: "c1"}
	rootless := &configs.Cgroup{Systemd: true, Parent: "user.slice", ScopePrefix: "husk", Name: "c1", Rootless: true}
	for _, c := range []struct {
		what string
		m    *Manager
		want cgroups.Placement
	}{
		{"a new container", &Manager{cg: cg, fresh: true}, cgroups.PlacedByApply},
		{"a new rootless container", &Manager{cg: rootless, fresh: true}, cgroups.PlacedByApply},
		{"an exec", Load(cg, "/sys/fs/cgroup/system.slice/husk-c1.scope"), cgroups.BornInside},
		{"a rootless exec", Load(rootless, "/sys/fs/cgroup/user.slice/husk-c1.scope"), cgroups.PlacedByApply},
	} {
		if got := c.m.Placement(); got != c.want {
			t.Errorf("%s: placement %v, want %v", c.what, got, c.want)
		}
	}
}
