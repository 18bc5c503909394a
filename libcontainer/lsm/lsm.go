// Package lsm applies AppArmor profiles and SELinux labels: whether the
// host has each, and the /proc/thread-self/attr writes that label the
// workload's exec, done through a procfs handle of husk's own.
package lsm

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/husk-runtime/husk/libcontainer/system"
	"golang.org/x/sys/unix"
)

// AppArmorEnabled reports whether the kernel enforces AppArmor.
var AppArmorEnabled = sync.OnceValue(func() bool {
	b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && strings.HasPrefix(string(b), "Y")
})

// SELinuxEnabled reports whether SELinux is enabled (selinuxfs mounted).
var SELinuxEnabled = sync.OnceValue(func() bool {
	var st unix.Statfs_t
	return unix.Statfs("/sys/fs/selinux", &st) == nil && st.Type == unix.SELINUX_MAGIC
})

// SetExecProfile makes the next exec on this (locked) thread run under
// the AppArmor profile.
func SetExecProfile(profile string) error {
	if profile == "" {
		return nil
	}
	err := writeAttr("apparmor/exec", "exec "+profile)
	if err != nil {
		// Kernels before 5.8 have only the shared attr/exec.
		err = writeAttr("exec", "exec "+profile)
	}
	if err != nil {
		return fmt.Errorf("apparmor profile %q: %w", profile, err)
	}
	return nil
}

// SetExecLabel makes the next exec on this (locked) thread run with the
// SELinux label.
func SetExecLabel(label string) error {
	if label == "" {
		return nil
	}
	if err := writeAttr("exec", label); err != nil {
		return fmt.Errorf("selinux label %q: %w", label, err)
	}
	return nil
}

// writeAttr writes /proc/thread-self/attr/NAME through a procfs handle
// that no mount in the container can have covered (CVE-2019-16884).
func writeAttr(name, value string) error {
	return system.WriteProc(true, "attr/"+name, value)
}

// MountData adds an SELinux context to a mount's data, as runc does: only
// when SELinux is enabled (without it a label means nothing).
func MountData(data, label string) string {
	if label == "" || !SELinuxEnabled() {
		return data
	}
	ctx := fmt.Sprintf("context=%q", label)
	if data == "" {
		return ctx
	}
	return data + "," + ctx
}
