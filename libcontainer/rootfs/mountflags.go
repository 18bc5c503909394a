package rootfs

import (
	"strings"

	"golang.org/x/sys/unix"
)

const (
	// atimeEnum are the mutually exclusive atime flags.
	atimeEnum = unix.MS_NOATIME | unix.MS_RELATIME | unix.MS_STRICTATIME
	// atimeFlags are all the atime flags.
	atimeFlags = atimeEnum | unix.MS_NODIRATIME
	// lockableFlags are the flags the kernel locks on the mounts a less
	// privileged (user namespace's) mount namespace inherits: a bind of
	// such a mount can neither clear them nor change its atime.
	lockableFlags = unix.MS_RDONLY | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOSUID | atimeFlags
)

// statfsFlags turns statfs(2)'s f_flags (ST_*) into the MS_* flags a bind
// remount takes. MS_STRICTATIME has no ST_ flag: it is the mount's atime
// when none of the others is set.
func statfsFlags(st unix.Statfs_t) int {
	const stNosymfollow = 0x2000 // ST_NOSYMFOLLOW, <linux/statfs.h>
	var flags int
	for _, f := range [...]struct{ st, ms int }{
		{unix.ST_RDONLY, unix.MS_RDONLY},
		{unix.ST_NOSUID, unix.MS_NOSUID},
		{unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_SYNCHRONOUS, unix.MS_SYNCHRONOUS},
		{unix.ST_MANDLOCK, unix.MS_MANDLOCK},
		{unix.ST_NOATIME, unix.MS_NOATIME},
		{unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
		{stNosymfollow, unix.MS_NOSYMFOLLOW},
	} {
		if int(st.Flags)&f.st == f.st {
			flags |= f.ms
		}
	}
	if flags&atimeEnum == 0 {
		flags |= unix.MS_STRICTATIME
	}
	return flags
}

// flagNames names MS_* flags as runc's messages do ("MS_RDONLY|MS_NOSUID").
func flagNames(flags int) string {
	var names []string
	for _, f := range [...]struct {
		name string
		bit  int
	}{
		{"MS_RDONLY", unix.MS_RDONLY},
		{"MS_NOSUID", unix.MS_NOSUID},
		{"MS_NODEV", unix.MS_NODEV},
		{"MS_NOEXEC", unix.MS_NOEXEC},
		{"MS_SYNCHRONOUS", unix.MS_SYNCHRONOUS},
		{"MS_MANDLOCK", unix.MS_MANDLOCK},
		{"MS_NOSYMFOLLOW", unix.MS_NOSYMFOLLOW},
		{"MS_NOATIME", unix.MS_NOATIME},
		{"MS_NODIRATIME", unix.MS_NODIRATIME},
		{"MS_RELATIME", unix.MS_RELATIME},
		{"MS_STRICTATIME", unix.MS_STRICTATIME},
	} {
		if flags&f.bit != 0 {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, "|")
}

// lockedFlagsRetry decides what a bind remount that the kernel refused
// (EPERM, in a user namespace) may do instead: keep the flags of the mount
// (have, from statfsFlags) that the kernel may have locked, unless the
// config clears one of them (clear) or asks for another atime (want);
// those are refused, named in problem.
func lockedFlagsRetry(want, clear, have int) (flags int, problem string) {
	if locked := have & clear & lockableFlags; locked != 0 {
		return 0, "cannot clear locked flags " + flagNames(locked)
	}
	if want&atimeFlags != 0 && want&atimeFlags != have&atimeFlags {
		return 0, "cannot change locked atime flags " + flagNames(have&atimeFlags)
	}
	return want | have&lockableFlags, ""
}
