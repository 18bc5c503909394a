package main

import "testing"

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
