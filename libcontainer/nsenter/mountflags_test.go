package nsenter

import (
	"testing"

	"golang.org/x/sys/unix"
)

// The C init's reading of a mount's statfs flags.
func TestStatfsFlags(t *testing.T) {
	for _, c := range []struct {
		st   int64
		want int
	}{
		{0, unix.MS_STRICTATIME},
		{unix.ST_RDONLY | unix.ST_NOSUID | unix.ST_RELATIME, unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_RELATIME},
		{unix.ST_NODEV | unix.ST_NOEXEC | unix.ST_NOATIME | unix.ST_NODIRATIME, unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOATIME | unix.MS_NODIRATIME},
		{0x2000 | unix.ST_NODIRATIME, unix.MS_NOSYMFOLLOW | unix.MS_NODIRATIME | unix.MS_STRICTATIME},
	} {
		if got := statfsFlagsC(c.st); got != c.want {
			t.Errorf("statfs flags %#x: got %s, want %s", c.st, flagNamesC(got), flagNamesC(c.want))
		}
	}
}

// A bind's remount in a user namespace keeps the flags the kernel locks,
// as runc 1.5, unless the config clears one or asks for another atime.
func TestLockedFlags(t *testing.T) {
	roNoatime := unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOATIME
	for _, c := range []struct {
		name              string
		want, clear, have int
		flags             int
		problem           string
	}{
		{"nosuid on a read-only mount stays read-only", unix.MS_NOSUID, 0, roNoatime, roNoatime, ""},
		{"rw clears a locked ro", 0, unix.MS_RDONLY, roNoatime, 0, "cannot clear locked flags MS_RDONLY"},
		{"suid and dev clear two", 0, unix.MS_NOSUID | unix.MS_NODEV, roNoatime, 0, "cannot clear locked flags MS_NOSUID|MS_NODEV"},
		{"clearing an unset flag is fine", unix.MS_RDONLY, unix.MS_NOEXEC, roNoatime, roNoatime, ""},
		{"the same atime", unix.MS_NOATIME, 0, roNoatime, roNoatime, ""},
		{"another atime", unix.MS_RELATIME, 0, roNoatime, 0, "cannot change locked atime flags MS_NOATIME"},
		{"strictatime kept", unix.MS_NOEXEC, 0, unix.MS_STRICTATIME, unix.MS_NOEXEC | unix.MS_STRICTATIME, ""},
		{"not lockable: sync is not added", unix.MS_NOEXEC, 0, unix.MS_SYNCHRONOUS | unix.MS_RELATIME, unix.MS_NOEXEC | unix.MS_RELATIME, ""},
	} {
		flags, problem := lockedFlagsC(c.want, c.clear, c.have)
		if flags != c.flags || problem != c.problem {
			t.Errorf("%s: got %s %q, want %s %q", c.name, flagNamesC(flags), problem, flagNamesC(c.flags), c.problem)
		}
	}
}
