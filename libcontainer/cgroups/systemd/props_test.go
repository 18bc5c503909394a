package systemd

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/configs"
)

func TestUnitName(t *testing.T) {
	for _, tc := range []struct{ prefix, name, want string }{
		{"husk", "abc", "husk-abc.scope"},
		{"cri-containerd", "0123", "cri-containerd-0123.scope"},
		{"", "abc", "-abc.scope"}, // as runc
		{"husk", "pod.slice", "pod.slice"},
		{"", "a-b.slice", "a-b.slice"},
	} {
		if got := UnitName(&configs.Cgroup{ScopePrefix: tc.prefix, Name: tc.name}); got != tc.want {
			t.Errorf("UnitName(%q, %q) = %q, want %q", tc.prefix, tc.name, got, tc.want)
		}
	}
}

func TestExpandSlice(t *testing.T) {
	for in, want := range map[string]string{
		"-.slice":        "/",
		"system.slice":   "/system.slice",
		"a-b.slice":      "/a.slice/a-b.slice",
		"a-b-c.slice":    "/a.slice/a-b.slice/a-b-c.slice",
		"user-0.slice":   "/user.slice/user-0.slice",
		"kubepods.slice": "/kubepods.slice",
	} {
		got, err := ExpandSlice(in)
		if err != nil || got != want {
			t.Errorf("ExpandSlice(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".slice", "a", "a.scope", "-a.slice", "a--b.slice", "a-.slice", "a/b.slice"} {
		if got, err := ExpandSlice(in); err == nil {
			t.Errorf("ExpandSlice(%q) = %q, want an error", in, got)
		}
	}
}

func TestUnitCgroup(t *testing.T) {
	for _, tc := range []struct {
		cg   configs.Cgroup
		want string
	}{
		{configs.Cgroup{ScopePrefix: "husk", Name: "c1"}, "/system.slice/husk-c1.scope"},
		{configs.Cgroup{Parent: "system.slice", ScopePrefix: "husk", Name: "c1"}, "/system.slice/husk-c1.scope"},
		{configs.Cgroup{Parent: "a-b.slice", ScopePrefix: "p", Name: "c1"}, "/a.slice/a-b.slice/p-c1.scope"},
		{configs.Cgroup{Parent: "-.slice", ScopePrefix: "p", Name: "c1"}, "/p-c1.scope"},
		// A slice lives where its name says, whatever the parent.
		{configs.Cgroup{Parent: "system.slice", Name: "x-y.slice"}, "/x.slice/x-y.slice"},
	} {
		got, err := unitCgroup(&tc.cg)
		if err != nil || got != tc.want {
			t.Errorf("unitCgroup(%+v) = %q, %v; want %q", tc.cg, got, err, tc.want)
		}
	}
	if _, err := unitCgroup(&configs.Cgroup{Parent: "a--b.slice", ScopePrefix: "p", Name: "n"}); err == nil {
		t.Error("a bad parent slice gave no error")
	}
}

func propMap(t *testing.T, props []sdbus.Property) map[string]any {
	t.Helper()
	m := map[string]any{}
	for _, p := range props {
		m[p.Name] = p.Value.Value()
	}
	return m
}

func TestBaseProps(t *testing.T) {
	m := propMap(t, baseProps(&configs.Cgroup{ScopePrefix: "husk", Name: "c1"}, "husk-c1.scope", 42))
	want := map[string]any{
		"Description": "husk container c1", "Slice": "system.slice", "Delegate": true,
		"PIDs": []uint32{42}, "DefaultDependencies": false, "MemoryAccounting": true,
		"CPUAccounting": true, "TasksAccounting": true, "IOAccounting": true,
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("scope properties:\n got %v\nwant %v", m, want)
	}
	m = propMap(t, baseProps(&configs.Cgroup{Parent: "a.slice", Name: "a-b.slice"}, "a-b.slice", 42))
	if _, ok := m["PIDs"]; ok {
		t.Error("a slice was given PIDs")
	}
	if _, ok := m["Delegate"]; ok {
		t.Error("a slice was given Delegate")
	}
	if !reflect.DeepEqual(m["Wants"], []string{"a.slice"}) {
		t.Errorf("slice Wants = %v", m["Wants"])
	}
}

func TestParseProperties(t *testing.T) {
	props, err := ParseProperties(map[string]string{
		"TimeoutStopSec":   "5",        // int32 seconds → µs, renamed
		"RuntimeMaxSec":    "uint64 2", // typed
		"CPUQuotaSec":      "1.5",      // double
		"CollectMode":      "'inactive-or-failed'",
		"TasksMax":         "uint64 77", // not Sec: as given
		"IOSchedulingPrio": "7",
		"WatchdogUSec":     "uint64 9", // USec: the 'U' is not lower-case
	})
	if err != nil {
		t.Fatal(err)
	}
	got := propMap(t, props)
	want := map[string]any{
		"TimeoutStopUSec": uint64(5000000), "RuntimeMaxUSec": uint64(2000000),
		"CPUQuotaUSec": uint64(1500000), "CollectMode": "inactive-or-failed",
		"TasksMax": uint64(77), "IOSchedulingPrio": int32(7), "WatchdogUSec": uint64(9),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	for name, value := range map[string]string{
		"Ab":              "1",          // too short
		"Foo1":            "1",          // not letters
		"Foo_Bar":         "1",          // not letters
		"Description":     "unquoted",   // not GVariant text
		"TimeoutStopSec":  "'five'",     // Sec wants a number
		"TimeoutStartSec": "-1",         // negative
		"MemoryMax":       "uint64 abc", // bad number
	} {
		_, err := ParseProperties(map[string]string{name: value})
		if err == nil {
			t.Errorf("%s=%s: no error", name, value)
		} else if !strings.Contains(err.Error(), "org.systemd.property."+name) {
			t.Errorf("%s=%s: error does not name the annotation: %v", name, value, err)
		}
	}
}

func TestQuotaPerSec(t *testing.T) {
	for _, tc := range []struct {
		quota  int64
		period uint64
		want   uint64
	}{
		{-1, 0, infinity},
		{0, 100000, infinity},
		{50000, 100000, 500000},   // 50%
		{100000, 0, 1000000},      // default period
		{200000, 100000, 2000000}, // 2 CPUs
		{12345, 100000, 130000},   // 12.345% → 13%
		{1000, 100000, 10000},     // 1%
		{1, 100000, 10000},        // 0.001% → 1%
		{25000, 50000, 500000},
		{33333, 100000, 340000}, // 33.333% → 34%
	} {
		if got := quotaPerSec(tc.quota, tc.period); got != tc.want {
			t.Errorf("quotaPerSec(%d, %d) = %d, want %d", tc.quota, tc.period, got, tc.want)
		}
	}
}

func TestRangeToBits(t *testing.T) {
	for in, want := range map[string][]byte{
		"0":         {0x01},
		"0-3":       {0x0f},
		"1,3":       {0x0a},
		"7":         {0x80},
		"8":         {0x00, 0x01},
		"0-3,8-9":   {0x0f, 0x03},
		" 0 , 2 ":   {0x05},
		"0-15":      {0xff, 0xff},
		"3-3":       {0x08},
		"63":        {0, 0, 0, 0, 0, 0, 0, 0x80},
		"0,0,0-1":   {0x03},
		"10-11,0-1": {0x03, 0x0c},
	} {
		got, err := RangeToBits(in)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("RangeToBits(%q) = %x, %v; want %x", in, got, err, want)
		}
	}
	for _, in := range []string{"", "a", "1-", "-1", "3-1", "1,,2", "0-70000", "1.5"} {
		if got, err := RangeToBits(in); err == nil {
			t.Errorf("RangeToBits(%q) = %x, want an error", in, got)
		}
	}
}

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }
func u16(v uint16) *uint16 { return &v }
func ver(v int) func() int { return func() int { return v } }

func TestResourceProps(t *testing.T) {
	r := &configs.Resources{
		MemoryLimit:       i64(64 << 20),
		MemoryReservation: i64(32 << 20),
		MemorySwap:        i64(96 << 20),
		CPUShares:         u64(512),
		CPUQuota:          i64(50000),
		CPUPeriod:         u64(100000),
		CPUs:              "0-1",
		Mems:              "0",
		PidsLimit:         i64(100),
		BlkioWeight:       u16(500),
	}
	got := propMap(t, mustProps(t, r, 252))
	want := map[string]any{
		"MemoryMax": uint64(64 << 20), "MemoryLow": uint64(32 << 20), "MemorySwapMax": uint64(32 << 20),
		"CPUWeight": cgroups.SharesToWeight(512), "CPUQuotaPeriodUSec": uint64(100000), "CPUQuotaPerSecUSec": uint64(500000),
		"AllowedCPUs": []byte{0x03}, "AllowedMemoryNodes": []byte{0x01}, "TasksMax": uint64(100),
		"IOWeight": uint64(1 + 490*9999/990),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}

	// Old systemd: no period, no cpusets (fs2 writes them).
	got = propMap(t, mustProps(t, r, 239))
	for _, p := range []string{"CPUQuotaPeriodUSec", "AllowedCPUs", "AllowedMemoryNodes"} {
		if _, ok := got[p]; ok {
			t.Errorf("systemd 239 was given %s", p)
		}
	}

	// Unlimited values are infinity; a pids limit of 0 is 1 (as runc:
	// systemd refuses 0).
	got = propMap(t, mustProps(t, &configs.Resources{MemoryLimit: i64(-1), MemorySwap: i64(-1), PidsLimit: i64(-1), CPUQuota: i64(-1)}, 252))
	for _, p := range []string{"MemoryMax", "MemorySwapMax", "TasksMax", "CPUQuotaPerSecUSec"} {
		if got[p] != infinity {
			t.Errorf("%s = %v, want infinity", p, got[p])
		}
	}
	got = propMap(t, mustProps(t, &configs.Resources{PidsLimit: i64(0)}, 252))
	if got["TasksMax"] != uint64(1) {
		t.Errorf("pids limit 0: TasksMax = %v, want 1", got["TasksMax"])
	}

	// Nothing set, nothing sent (an update touches only what it sets).
	if p := mustProps(t, &configs.Resources{}, 252); len(p) != 0 {
		t.Errorf("empty resources gave %v", p)
	}
	// Version asked only when needed.
	asked := false
	if _, err := resourceProps(&configs.Resources{MemoryLimit: i64(1 << 20)}, func() int { asked = true; return 252 }); err != nil || asked {
		t.Errorf("version asked for a memory limit (err %v)", err)
	}

	// cpu.idle 1 becomes CPUWeight 0, which takes precedence over shares.
	got = propMap(t, mustProps(t, &configs.Resources{CPUIdle: i64(1), CPUShares: u64(1024)}, 252))
	if got["CPUWeight"] != uint64(0) {
		t.Errorf("idle: CPUWeight = %v, want 0", got["CPUWeight"])
	}
	// Older systemd gets no weight for an idle group (fs2 writes
	// cpu.idle, and the kernel refuses a weight while it is 1).
	got = propMap(t, mustProps(t, &configs.Resources{CPUIdle: i64(1), CPUShares: u64(1024)}, 251))
	if w, ok := got["CPUWeight"]; ok {
		t.Errorf("idle on systemd 251: CPUWeight = %v, want none", w)
	}
	got = propMap(t, mustProps(t, &configs.Resources{CPUIdle: i64(0), CPUShares: u64(1024)}, 252))
	if got["CPUWeight"] != cgroups.SharesToWeight(1024) {
		t.Errorf("idle 0: CPUWeight = %v", got["CPUWeight"])
	}

	if _, err := resourceProps(&configs.Resources{CPUs: "1-0"}, ver(252)); err == nil || !strings.Contains(err.Error(), "cpu.cpus") {
		t.Errorf("bad cpus: %v", err)
	}
}

func mustProps(t *testing.T, r *configs.Resources, v int) []sdbus.Property {
	t.Helper()
	p, err := resourceProps(r, ver(v))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUnifiedProps(t *testing.T) {
	got := propMap(t, mustProps(t, &configs.Resources{Unified: map[string]string{
		"memory.high": "1048576", "memory.min": "max", "pids.max": "0", "cpu.weight": "200",
		"cpu.max": "25000 50000", "cpuset.cpus": "1", "hugetlb.2MB.max": "0", "io.max": "8:0 rbps=1",
	}}, 252))
	want := map[string]any{
		"MemoryHigh": uint64(1048576), "MemoryMin": infinity, "CPUWeight": uint64(200),
		"CPUQuotaPeriodUSec": uint64(50000), "CPUQuotaPerSecUSec": uint64(500000), "AllowedCPUs": []byte{0x02},
		"TasksMax": uint64(1), // pids.max 0: systemd refuses 0 (fs2 writes it), as runc
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if _, err := resourceProps(&configs.Resources{Unified: map[string]string{"memory.max": "lots"}}, ver(252)); err == nil {
		t.Error("bad unified memory.max: no error")
	}
	if p, ok := oomPolicy(&configs.Resources{Unified: map[string]string{"memory.oom.group": "1"}}); !ok || p.Value.Value() != "kill" {
		t.Errorf("memory.oom.group 1: %v %v", p, ok)
	}
}

func TestDeviceProps(t *testing.T) {
	rules := []configs.DeviceRule{
		{Allow: false, Type: 'a', Major: -1, Minor: -1, Access: "rwm"},
		{Allow: true, Type: 'c', Major: -1, Minor: -1, Access: "m"},
		{Allow: true, Type: 'b', Major: -1, Minor: -1, Access: "m"},
		{Allow: true, Type: 'c', Major: 1, Minor: 3, Access: "rwm"},
		{Allow: true, Type: 'c', Major: 136, Minor: -1, Access: "rwm"},
		{Allow: true, Type: 'b', Major: 8, Minor: 0, Access: "r"},
		{Allow: true, Type: 'b', Major: 8, Minor: 0, Access: "w"},
		{Allow: true, Type: 'c', Major: 10, Minor: 200, Access: "rwm"},
		{Allow: false, Type: 'c', Major: 10, Minor: 200, Access: "w"},
		{Allow: true, Type: 'c', Major: 5, Minor: 1, Access: "rw"},
		{Allow: false, Type: 'c', Major: 5, Minor: 1, Access: "rwm"},
	}
	got := fmt.Sprint(propMap(t, deviceProps(rules)))
	want := fmt.Sprint(map[string]any{
		"DevicePolicy": "strict",
		"DeviceAllow": []deviceAllowEntry{
			{"/dev/block/8:0", "rw"}, {"/dev/char/10:200", "rm"}, {"/dev/char/1:3", "rwm"},
			{"block-*", "m"}, {"char-*", "m"}, {"char-136", "rwm"},
		},
	})
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	p := deviceProps(rules)
	if len(p) != 3 || p[1].Name != "DeviceAllow" || fmt.Sprint(p[1].Value.Value()) != "[]" {
		t.Errorf("the list is not cleared first: %v", p)
	}

	// Allow-all, and deny rules within it, which systemd cannot express:
	// it is told to allow all.
	for _, rules := range [][]configs.DeviceRule{
		{{Allow: true, Type: 'a', Major: -1, Minor: -1, Access: "rwm"}},
		{{Allow: true, Type: 'a', Major: -1, Minor: -1, Access: "rwm"}, {Allow: false, Type: 'c', Major: 1, Minor: 3, Access: "w"}},
	} {
		got := fmt.Sprint(propMap(t, deviceProps(rules)))
		want := fmt.Sprint(map[string]any{"DevicePolicy": "auto", "DeviceAllow": []deviceAllowEntry{}})
		if got != want {
			t.Errorf("%v: got %s, want %s", rules, got, want)
		}
	}
	// "any major, minor 3" widens to the type.
	got = fmt.Sprint(propMap(t, deviceProps([]configs.DeviceRule{{Allow: true, Type: 'c', Major: -1, Minor: 3, Access: "r"}})))
	if !strings.Contains(got, "{char-* r}") {
		t.Errorf("*:3 rule: %s", got)
	}
}

func TestVersionAtoi(t *testing.T) {
	for in, want := range map[string]int{`"252.36-1~deb12u1"`: 252, "v245.4-1.fc32": 245, "245": 245, `"v239"`: 239} {
		if got, err := versionAtoi(in); err != nil || got != want {
			t.Errorf("versionAtoi(%q) = %d, %v", in, got, err)
		}
	}
	if _, err := versionAtoi("abc"); err == nil {
		t.Error("versionAtoi(abc): no error")
	}
}
