package cgroups

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestSharesToWeight(t *testing.T) {
	for shares, want := range map[uint64]uint64{0: 0, 1: 1, 2: 1, 512: 59, 1024: 100, 2048: 174, 262144: 10000, 1 << 30: 10000} {
		if got := SharesToWeight(shares); got != want {
			t.Errorf("SharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
}

func TestBlkioWeightToIOWeight(t *testing.T) {
	for w, want := range map[uint16]uint64{0: 0, 10: 1, 300: 2930, 1000: 10000} {
		if got := BlkioWeightToIOWeight(w); got != want {
			t.Errorf("BlkioWeightToIOWeight(%d) = %d, want %d", w, got, want)
		}
	}
}

func TestSwapV2(t *testing.T) {
	p := func(v int64) *int64 { return &v }
	for _, c := range []struct {
		swap, limit *int64
		want        string
		bad         bool
	}{
		{nil, nil, "", false},
		{nil, p(100), "", false},
		{nil, p(-1), "max", false},
		{p(0), p(100), "", false},
		{p(-1), p(100), "max", false},
		{p(300), p(100), "200", false},
		{p(100), p(100), "0", false},
		{p(50), p(100), "", true},
		{p(300), nil, "", true},
		{p(300), p(-1), "", true},
	} {
		got, err := SwapV2(c.swap, c.limit)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("SwapV2(%v, %v) = %q, %v", c.swap, c.limit, got, err)
		}
	}
}

func TestParseList(t *testing.T) {
	got, err := ParseList("0-2,5,7-8")
	if err != nil || !reflect.DeepEqual(got, []uint16{0, 1, 2, 5, 7, 8}) {
		t.Errorf("ParseList: %v %v", got, err)
	}
	for _, bad := range []string{"a", "3-1", "1-", "-1"} {
		if _, err := ParseList(bad); err == nil {
			t.Errorf("ParseList(%q) accepted", bad)
		}
	}
}

func TestReadPSIAndKeyValues(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cpu.pressure"), []byte("some avg10=1.50 avg60=0.20 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n"), 0o644)
	ps := ReadPSI(dir, "cpu.pressure")
	if ps == nil || ps.Some.Avg10 != 1.5 || ps.Some.Total != 1234 || ps.Full.Total != 7 {
		t.Errorf("ReadPSI: %+v", ps)
	}
	if ReadPSI(dir, "none") != nil {
		t.Errorf("ReadPSI of a missing file is not nil")
	}
	os.WriteFile(filepath.Join(dir, "memory.events"), []byte("low 0\nhigh 2\nmax max\noom_kill 3\n"), 0o644)
	kv, err := ReadKeyValues(dir, "memory.events")
	if err != nil || kv["high"] != 2 || kv["oom_kill"] != 3 || kv["max"] != ^uint64(0) {
		t.Errorf("ReadKeyValues: %v %v", kv, err)
	}
}

func TestPageSizeName(t *testing.T) {
	for b, want := range map[uint64]string{2 << 20: "2MB", 1 << 30: "1GB", 64 << 10: "64KB"} {
		if got := PageSizeName(b); got != want {
			t.Errorf("PageSizeName(%d) = %s", b, got)
		}
	}
}

func TestDeviceLines(t *testing.T) {
	v1 := "8:0 Read 4096\n8:0 Write 0\n8:16 Total 4096\nTotal 8192"
	v2 := "259:0 rbytes=1 wbytes=2 rios=3\n"
	got := append(DeviceLines(v1), DeviceLines(v2)...)
	want := []DeviceLine{
		{8, 0, []string{"Read", "4096"}},
		{8, 0, []string{"Write", "0"}},
		{8, 16, []string{"Total", "4096"}},
		{259, 0, []string{"rbytes=1", "wbytes=2", "rios=3"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DeviceLines: %v, want %v", got, want)
	}
}
