// Package lsm applies AppArmor profiles and SELinux labels: whether the
// host has each, and the /proc/thread-self/attr writes that label the
// workload's exec, done through a procfs handle of husk's own.
package lsm

import (
	"strings"
	"sync"

	"github.com/husk-runtime/husk/libcontainer/system"
	"golang.org/x/sys/unix"
)

// AppArmorEnabled reports whether the kernel enforces AppArmor.
var AppArmorEnabled = sync.OnceValue(func() bool {
	b, err := system.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && strings.HasPrefix(string(b), "Y")
})

// SELinuxEnabled reports whether SELinux is enabled (selinuxfs mounted).
var SELinuxEnabled = sync.OnceValue(func() bool {
	var st unix.Statfs_t
	return unix.Statfs("/sys/fs/selinux", &st) == nil && st.Type == unix.SELINUX_MAGIC
})
