package cgroups

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/husk-runtime/husk/libcontainer/configs"
)

func TestRestoreValue(t *testing.T) {
	for _, c := range []struct{ file, written, old, want string }{
		{"memory.limit_in_bytes", "1048576", "67108864\n", "67108864"},
		{"cpuset.cpus", "1", "0-1\n", "0-1"},
		{"cpu.max", "50000 100000", "max 100000\n", "max 100000"},
		{"memory.oom_control", "1", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", "0"},
		{"blkio.throttle.read_bps_device", "8:0 1000", "8:16 5\n8:0 7\n", "8:0 7"},
		{"blkio.throttle.read_bps_device", "8:0 1000", "", "8:0 0"},
		{"blkio.weight_device", "8:0 500", "8:16 200\n", "8:0 0"},
		{"io.max", "8:0 rbps=1000", "", "8:0 rbps=max wbps=max riops=max wiops=max"},
		{"io.max", "8:0 rbps=1000", "8:0 rbps=5 wbps=max riops=max wiops=max\n", "8:0 rbps=5 wbps=max riops=max wiops=max"},
		{"io.weight", "200", "default 100\n", "default 100"},
		{"io.weight", "8:0 200", "default 100\n", "8:0 default"},
		{"rdma.max", "mlx4_0 hca_handle=2 hca_object=max", "", "mlx4_0 hca_handle=max hca_object=max"},
		{"net_prio.ifpriomap", "eth0 5", "lo 0\neth0 0\n", "eth0 0"},
	} {
		if got, err := restoreValue(c.file, c.written, c.old); err != nil || got != c.want {
			t.Errorf("restoreValue(%s, %q, %q) = %q, %v; want %q", c.file, c.written, c.old, got, err, c.want)
		}
	}
	if _, err := restoreValue("some.list", "x", "a\nb\n"); err == nil {
		t.Errorf("a file of several unkeyed lines is restored")
	}
}

// Undo writes back what the journal's writes replaced, newest first.
func TestJournalUndo(t *testing.T) {
	dir := t.TempDir()
	write := func(f, v string) {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a", "1\n")
	write("b", "2\n")
	j := Record()
	for _, w := range [][2]string{{"a", "10"}, {"b", "20"}, {"a", "100"}} {
		if err := WriteFile(dir, w[0], w[1]); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	if err := WriteFile(dir, "b", "30"); err != nil { // not recorded
		t.Fatal(err)
	}
	if err := j.Undo(); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{"a": "1", "b": "2"} {
		if got, _ := ReadFile(dir, f); got != want {
			t.Errorf("%s = %q after undo, want %q", f, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	u := func(v uint64) *uint64 { return &v }
	for _, r := range []configs.Resources{
		{MemoryLimit: i(64 << 20), MemorySwap: i(32 << 20)},
		{CPUPeriod: u(100)},
		{CPUQuota: i(500)},
		{CPURtRuntime: i(2000), CPURtPeriod: u(1000)},
		{CPUs: "0-x"},
		{Mems: "3-1"},
	} {
		if err := Validate(&r); err == nil {
			t.Errorf("Validate accepted %+v", r)
		}
	}
	for _, r := range []configs.Resources{
		{MemoryLimit: i(64 << 20), MemorySwap: i(-1)},
		{MemoryLimit: i(-1), MemorySwap: i(32 << 20)},
		{CPUPeriod: u(100000), CPUQuota: i(-1)},
		{CPUs: "0-1,3", Mems: "0"},
	} {
		if err := Validate(&r); err != nil {
			t.Errorf("Validate(%+v): %v", r, err)
		}
	}
}
