package main

import (
	"testing"

	"github.com/husk-runtime/husk/libcontainer/configs"
)

func TestRAMInBytes(t *testing.T) {
	for in, want := range map[string]int64{"-1": -1, "1024": 1024, "100M": 100 << 20, "100m": 100 << 20, "1g": 1 << 30,
		"1GiB": 1 << 30, "1.5k": 1536, "2kb": 2048, "512 M": 512 << 20} {
		if got, err := ramInBytes(in); err != nil || got != want {
			t.Errorf("ramInBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "lots", "-2", "1e3", "0x10", "M"} {
		if _, err := ramInBytes(bad); err == nil {
			t.Errorf("ramInBytes(%q) accepted", bad)
		}
	}
}

func TestMergeResources(t *testing.T) {
	p := func(v int64) *int64 { return &v }
	cur := configs.Resources{MemoryLimit: p(1), PidsLimit: p(5), CPUs: "0-1", Devices: []configs.DeviceRule{{Type: 'a'}}}
	got := mergeResources(cur, &configs.Resources{PidsLimit: p(0), Mems: "0"})
	if *got.MemoryLimit != 1 || *got.PidsLimit != 0 || got.CPUs != "0-1" || got.Mems != "0" || len(got.Devices) != 1 {
		t.Errorf("merge: %+v", got)
	}
	if *cur.PidsLimit != 5 {
		t.Errorf("merge changed its input")
	}
}
