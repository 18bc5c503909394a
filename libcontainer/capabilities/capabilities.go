// Package capabilities knows capability names and turns lists of them into
// the masks the container's init (C, libcontainer/nsenter) applies.
package capabilities

import (
	"strings"

	"golang.org/x/sys/unix"
)

// Names maps every capability the kernel headers define to its number.
var Names = map[string]int{
	"CAP_CHOWN": unix.CAP_CHOWN, "CAP_DAC_OVERRIDE": unix.CAP_DAC_OVERRIDE,
	"CAP_DAC_READ_SEARCH": unix.CAP_DAC_READ_SEARCH, "CAP_FOWNER": unix.CAP_FOWNER,
	"CAP_FSETID": unix.CAP_FSETID, "CAP_KILL": unix.CAP_KILL, "CAP_SETGID": unix.CAP_SETGID,
	"CAP_SETUID": unix.CAP_SETUID, "CAP_SETPCAP": unix.CAP_SETPCAP,
	"CAP_LINUX_IMMUTABLE": unix.CAP_LINUX_IMMUTABLE, "CAP_NET_BIND_SERVICE": unix.CAP_NET_BIND_SERVICE,
	"CAP_NET_BROADCAST": unix.CAP_NET_BROADCAST, "CAP_NET_ADMIN": unix.CAP_NET_ADMIN,
	"CAP_NET_RAW": unix.CAP_NET_RAW, "CAP_IPC_LOCK": unix.CAP_IPC_LOCK,
	"CAP_IPC_OWNER": unix.CAP_IPC_OWNER, "CAP_SYS_MODULE": unix.CAP_SYS_MODULE,
	"CAP_SYS_RAWIO": unix.CAP_SYS_RAWIO, "CAP_SYS_CHROOT": unix.CAP_SYS_CHROOT,
	"CAP_SYS_PTRACE": unix.CAP_SYS_PTRACE, "CAP_SYS_PACCT": unix.CAP_SYS_PACCT,
	"CAP_SYS_ADMIN": unix.CAP_SYS_ADMIN, "CAP_SYS_BOOT": unix.CAP_SYS_BOOT,
	"CAP_SYS_NICE": unix.CAP_SYS_NICE, "CAP_SYS_RESOURCE": unix.CAP_SYS_RESOURCE,
	"CAP_SYS_TIME": unix.CAP_SYS_TIME, "CAP_SYS_TTY_CONFIG": unix.CAP_SYS_TTY_CONFIG,
	"CAP_MKNOD": unix.CAP_MKNOD, "CAP_LEASE": unix.CAP_LEASE, "CAP_AUDIT_WRITE": unix.CAP_AUDIT_WRITE,
	"CAP_AUDIT_CONTROL": unix.CAP_AUDIT_CONTROL, "CAP_SETFCAP": unix.CAP_SETFCAP,
	"CAP_MAC_OVERRIDE": unix.CAP_MAC_OVERRIDE, "CAP_MAC_ADMIN": unix.CAP_MAC_ADMIN,
	"CAP_SYSLOG": unix.CAP_SYSLOG, "CAP_WAKE_ALARM": unix.CAP_WAKE_ALARM,
	"CAP_BLOCK_SUSPEND": unix.CAP_BLOCK_SUSPEND, "CAP_AUDIT_READ": unix.CAP_AUDIT_READ,
	"CAP_PERFMON": unix.CAP_PERFMON, "CAP_BPF": unix.CAP_BPF,
	"CAP_CHECKPOINT_RESTORE": unix.CAP_CHECKPOINT_RESTORE,
}

// kernelKnows reports whether the running kernel knows capability c:
// PR_CAPBSET_READ fails with EINVAL past its last one. One system call,
// where reading /proc/sys/kernel/cap_last_cap costs a command ~50 us.
// Any other failure (a seccomp filter refusing prctl) is taken as known,
// as the names compiled in are.
func kernelKnows(c int) bool {
	_, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
	return err != unix.EINVAL
}

// Parse turns names into a mask. Names unknown to husk or to the running
// kernel are returned separately: the spec says to warn about them, not fail.
func Parse(names []string) (mask uint64, unknown []string) {
	// The kernel knows its capabilities from 0 up: if it knows the
	// highest named, it knows them all (the common case: one call).
	top := -1
	for _, n := range names {
		if c, ok := Names[strings.ToUpper(n)]; ok {
			top = max(top, c)
		}
	}
	knowsAll := top < 0 || kernelKnows(top)
	for _, n := range names {
		c, ok := Names[strings.ToUpper(n)]
		if !ok || !knowsAll && !kernelKnows(c) {
			unknown = append(unknown, n)
			continue
		}
		mask |= 1 << uint(c)
	}
	return mask, unknown
}

// Sets are the five capability sets as masks.
type Sets struct {
	Bounding, Effective, Inheritable, Permitted, Ambient uint64
}
