package systemd

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/husk-runtime/husk/libcontainer/configs"
)

func TestControllersNeeded(t *testing.T) {
	u16 := func(v uint16) *uint16 { return &v }
	r := &configs.Resources{
		MemoryLimit: i64(1 << 20), MemoryReservation: i64(1 << 19), PidsLimit: i64(0),
		CPUs: "0", BlkioWeight: u16(100),
		HugetlbLimits: []configs.HugepageLimit{{Pagesize: "2MB", Limit: 0}},
		Unified:       map[string]string{"misc.max": "x 1", "cgroup.max.depth": "3", "memory.high": "1"},
		Devices:       []configs.DeviceRule{{Allow: true, Type: 'a', Major: -1, Minor: -1, Access: "rwm"}},
	}
	got := controllersNeeded(r)
	want := []need{
		{"linux.resources.memory.limit", "memory"},
		{"linux.resources.pids.limit", "pids"},
		{"linux.resources.cpu.cpus", "cpuset"},
		{"linux.resources.blockIO.weight", "io"},
		{"linux.resources.hugepageLimits", "hugetlb"},
		{`linux.resources.unified["misc.max"]`, "misc"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	// Zeros mean unset (as for update), device rules need no controller.
	if n := controllersNeeded(&configs.Resources{MemoryLimit: i64(0), Devices: r.Devices}); len(n) != 0 {
		t.Errorf("nothing set, got %v", n)
	}
}

func TestCheckDelegated(t *testing.T) {
	// A stand-in for the user manager's cgroup under a fake root.
	root := t.TempDir()
	mcg := "/user.slice/user-1000.slice/user@1000.service"
	if err := os.MkdirAll(root+mcg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root+mcg, "cgroup.controllers"), []byte("cpu memory pids\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ok := &configs.Resources{MemoryLimit: i64(1 << 20), PidsLimit: i64(10), CPUShares: u64(512)}
	if err := checkDelegated(ok, root, mcg); err != nil {
		t.Errorf("delegated controllers refused: %v", err)
	}
	err := checkDelegated(&configs.Resources{MemoryLimit: i64(1 << 20), CPUs: "0"}, root, mcg)
	if err == nil || !strings.Contains(err.Error(), "linux.resources.cpu.cpus") || !strings.Contains(err.Error(), "cpuset controller, which is not delegated") {
		t.Errorf("cpuset: %v", err)
	}
}

func TestParentSliceRootless(t *testing.T) {
	cg := &configs.Cgroup{Systemd: true, Rootless: true, ScopePrefix: "husk", Name: "c1"}
	if p, err := unitCgroup(cg); err != nil || p != "/user.slice/husk-c1.scope" {
		t.Errorf("rootless default: %q %v", p, err)
	}
	cg.Rootless = false
	if p, err := unitCgroup(cg); err != nil || p != "/system.slice/husk-c1.scope" {
		t.Errorf("root default: %q %v", p, err)
	}
}

func TestSubCgroup(t *testing.T) {
	for dir, want := range map[string]string{
		"/sys/fs/cgroup/user.slice/u@1000.service/user.slice/husk-c1.scope":      "",
		"/sys/fs/cgroup/user.slice/u@1000.service/user.slice/husk-c1.scope/a/b/": "/a/b",
		"/sys/fs/cgroup/user.slice/husk-c1.scope/x":                              "/x",
	} {
		m := &Manager{unit: "husk-c1.scope", dir: dir}
		if got := m.subCgroup(); got != want {
			t.Errorf("%s: %q, want %q", dir, got, want)
		}
	}
}
