package rootfs

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// detachHostMounts, for --no-pivot, detaches the mounts of the container's
// mount namespace that came from the host, before the rootfs is moved on
// top of them: the rootfs, the mounts in it and those it sits on stay. Left
// there, hidden under the container's root, the host's /proc would still
// count for the kernel as a fully visible procfs, which lets a process of
// the container mount a new one in a user namespace of its own.
//
// Nothing of it reaches the host: every mount is made a slave first (and
// the ones the rootfs sits on, non-recursively), so no unmount propagates
// to a peer. A mount that cannot be unmounted (locked, in a user
// namespace) is covered with an empty tmpfs, as runc does for procfs and
// sysfs.
func (s *Setup) detachHostMounts() error {
	ms, err := mountinfo.GetMounts(nil)
	if err != nil {
		return fail("read", "/proc/self/mountinfo", err)
	}
	rootfs := filepath.Clean(s.cfg.Rootfs)
	kept := map[int]bool{} // the mounts the rootfs is on, and its own
	for _, m := range ms {
		if isAncestor(m.Mountpoint, rootfs) {
			kept[m.ID] = true
			if m.Mountpoint != rootfs {
				if err := unix.Mount("", m.Mountpoint, "", unix.MS_SLAVE, ""); err != nil && err != unix.EINVAL {
					return fail("make slave", m.Mountpoint, err)
				}
			}
		}
	}
	done := map[string]bool{}
	for _, m := range ms {
		p := m.Mountpoint
		if !kept[m.Parent] || kept[m.ID] || isAncestor(rootfs, p) || done[p] {
			continue
		}
		done[p] = true
		if err := detachAll(p, m.FSType, len(ms)); err != nil {
			return err
		}
	}
	return nil
}

// detachAll unmounts the mounts stacked at p (at most n), making each a
// slave, with its submounts, before.
func detachAll(p, fstype string, n int) error {
	for i := 0; i < n; i++ {
		if err := unix.Mount("", p, "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
			// ENOENT: gone with its parent; EINVAL: no mount left at p.
			if i == 0 && err != unix.ENOENT && err != unix.EINVAL {
				return fail("make slave", p, err)
			}
			return nil
		}
		err := unix.Unmount(p, unix.MNT_DETACH)
		if err == nil {
			continue
		}
		if err != unix.EINVAL && err != unix.EPERM {
			return fail("unmount", p, err)
		}
		// Locked: hidden under a tmpfs instead. That matters for procfs
		// and sysfs, which the kernel checks; elsewhere (a mount on a
		// file) it is let be.
		if cerr := unix.Mount("tmpfs", p, "tmpfs", 0, ""); cerr != nil && (fstype == "proc" || fstype == "sysfs") {
			return fail("cover", p, fmt.Errorf("cannot unmount (%v): %w", err, cerr))
		}
		return nil
	}
	return nil
}

// isAncestor reports whether directory a is p or one of its parents.
func isAncestor(a, p string) bool {
	return a == p || a == "/" || strings.HasPrefix(p, a+"/")
}
