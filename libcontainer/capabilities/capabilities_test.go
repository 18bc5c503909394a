package capabilities

import (
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		names   []string
		mask    uint64
		unknown []string
	}{
		{nil, 0, nil},
		{[]string{"CAP_CHOWN"}, 1 << unix.CAP_CHOWN, nil},
		{[]string{"cap_kill", "CAP_NET_BIND_SERVICE"}, 1<<unix.CAP_KILL | 1<<unix.CAP_NET_BIND_SERVICE, nil},
		{[]string{"CAP_KILL", "CAP_KILL"}, 1 << unix.CAP_KILL, nil},
		// runc warns and goes on: an unknown name (or a comma-joined pair,
		// which is one unknown name) is returned, not an error.
		{[]string{"CAP_NOPE", "CAP_SYS_ADMIN"}, 1 << unix.CAP_SYS_ADMIN, []string{"CAP_NOPE"}},
		{[]string{"CAP_KILL,CAP_CHOWN"}, 0, []string{"CAP_KILL,CAP_CHOWN"}},
		{[]string{"KILL"}, 0, []string{"KILL"}},
	} {
		mask, unknown := Parse(tc.names)
		if mask != tc.mask || !reflect.DeepEqual(unknown, tc.unknown) {
			t.Errorf("Parse(%q) = %#x, %q; want %#x, %q", tc.names, mask, unknown, tc.mask, tc.unknown)
		}
	}
}

// Every name maps to a distinct number below 64 (the masks are uint64),
// and the running kernel's last capability is one of them or beyond.
func TestNames(t *testing.T) {
	seen := map[int]string{}
	for name, c := range Names {
		if c < 0 || c >= 64 {
			t.Errorf("%s = %d: outside a uint64 mask", name, c)
		}
		if other, dup := seen[c]; dup {
			t.Errorf("%s and %s are both %d", name, other, c)
		}
		seen[c] = name
	}
	if n := len(Names); n != unix.CAP_LAST_CAP+1 {
		t.Errorf("%d names, but the headers define %d capabilities", n, unix.CAP_LAST_CAP+1)
	}
}

// kernelKnows agrees with the kernel's own last capability number.
func TestKernelKnows(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Skipf("no /proc/sys/kernel/cap_last_cap: %v", err)
	}
	last, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	for c := 0; c < 64; c++ {
		if got := kernelKnows(c); got != (c <= last) {
			t.Errorf("kernelKnows(%d) = %v, the kernel's last capability is %d", c, got, last)
		}
	}
}
