package configs

import (
	"os"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestValidateID(t *testing.T) {
	for _, ok := range []string{"a", "c1", "my.container_1+x-y", strings.Repeat("a", 1024)} {
		if err := ValidateID(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "../x", "a b", "a\x00", strings.Repeat("a", 1025)} {
		if err := ValidateID(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The namespace table against the kernel: each type's file in /proc/PID/ns
// is a namespace of its CLONE_NEW* flag (NS_GET_NSTYPE), and every flag is
// one bit, given once.
func TestNamespaceTable(t *testing.T) {
	var seen uint32
	for _, typ := range NamespaceTypes() {
		flag := typ.CloneFlag()
		if flag == 0 || flag&(flag-1) != 0 || seen&flag != 0 {
			t.Errorf("%s: flag %#x is not one bit of its own", typ, flag)
		}
		seen |= flag
		p := typ.ProcPath(os.Getpid())
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Errorf("%s: %v", typ, err)
			continue
		}
		got, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
		unix.Close(fd)
		if err != nil || uint32(got) != flag {
			t.Errorf("%s: %s is of type %#x (%v), want %#x", typ, p, got, err, flag)
		}
	}
	if seen != AllCloneFlags() {
		t.Errorf("AllCloneFlags %#x, the types' flags %#x", AllCloneFlags(), seen)
	}
	if NamespaceTypes()[0] != NEWUSER || NamespaceTypes()[len(NamespaceTypes())-1] != NEWNS {
		t.Errorf("join order %v: the user namespace must come first, the mount namespace last", NamespaceTypes())
	}
	if NamespaceType("net").Known() || NamespaceType("net").CloneFlag() != 0 || NamespaceType("net").ProcPath(1) != "" {
		t.Error(`"net" (the file's name, not the type's) is taken for a namespace type`)
	}
	if len(NamespaceNames()) != len(NamespaceTypes()) || !sort.StringsAreSorted(NamespaceNames()) {
		t.Errorf("NamespaceNames %v", NamespaceNames())
	}
}
