package prefault

import (
	"syscall"
	"testing"
	"unsafe"
)

// The constructor runs for any command but `husk init` and `husk
// userns-hold` (this test binary's argv[1] is a -test flag). That the
// pages end up mapped is checked on husk itself by the integration test
// TestRuntimeIsPrefaulted.
func TestConstructorRan(t *testing.T) {
	if !prefaulted() {
		t.Fatal("the constructor did not populate the binary")
	}
}

// findMapping reads /proc/PID/maps lines: the start of the range that
// holds the address, none for an address outside them all.
func TestFindMapping(t *testing.T) {
	maps := []byte("00400000-00401000 r--p 00000000 fe:00 9986456 /usr/sbin/husk\n" +
		"cdf99400000-cdf99800000 rw-p 00000000 00:00 0 \n" +
		"7ffc49802000-7ffc49823000 rw-p 00000000 00:00 0                          [stack]")
	for _, c := range []struct {
		addr, want uintptr
		ok         bool
	}{
		{0x400000, 0x400000, true},
		{0x400fff, 0x400000, true},
		{0x401000, 0, false},
		{0xcdf99512000, 0xcdf99400000, true},
		{0x7ffc49822fff, 0x7ffc49802000, true},
		{0x7ffc49823000, 0, false},
	} {
		got, ok := findMapping(maps, c.addr)
		if got != c.want || ok != c.ok {
			t.Errorf("findMapping(%#x) = %#x, %v; want %#x, %v", c.addr, got, ok, c.want, c.ok)
		}
	}
}

// Our own heap's start is found: in our mapping, below our first object,
// and resident.
func TestHeapStart(t *testing.T) {
	page := uintptr(syscall.Getpagesize())
	at := uintptr(unsafe.Pointer(first)) &^ (page - 1)
	start := heapStart(at, page)
	lo, ok := mappingStart(at)
	if !ok || start < lo || start > at {
		t.Fatalf("heap start %#x: not in [%#x, %#x] (mapping found: %v)", start, lo, at, ok)
	}
}

// The data and bss are populated up to 2 MiB: a dependency's large zeroed
// buffer (crypto's 32 MiB one) must not be allocated in every process.
// husk's own data and bss fit.
func TestWritablePopulateBounded(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct{ start, end, want uintptr }{
		{0x1000, 0x1000 + 600<<10, 0x1000 + 600<<10},
		{0x1000, 0x1000 + 2*mib, 0x1000 + 2*mib},
		{0x1000, 0x1000 + 34*mib, 0x1000 + 2*mib},
	} {
		if got := writeEnd(c.start, c.end); got != c.want {
			t.Errorf("writeEnd(%#x, %#x) = %#x, want %#x", c.start, c.end, got, c.want)
		}
	}
}
