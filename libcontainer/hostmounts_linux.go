package libcontainer

import (
	"log/slog"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// A container without a mount namespace of its own (linux.namespaces has
// no "mount", as runc allows) makes its mounts (the rootfs bind, /proc,
// /dev...) in the caller's namespace, where they would outlive it. husk
// notes the mounts under the rootfs before the init starts, records the
// new ones in the state, and unmounts them when the container is deleted
// or its creation fails.

// mountIDs returns the ids of the mounts at or below dir.
func mountIDs(dir string) map[int]bool {
	ms, _ := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	ids := map[int]bool{}
	for _, m := range ms {
		ids[m.ID] = true
	}
	return ids
}

// newMounts lists, in mount order, the mount points at or below dir of
// the mounts not in before.
func newMounts(dir string, before map[int]bool) []string {
	ms, _ := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	var out []string
	for _, m := range ms {
		if !before[m.ID] {
			out = append(out, m.Mountpoint)
		}
	}
	return out
}

// unmountAll detaches mount points in reverse order (the last made, the
// deepest or the top of a stack, first).
func unmountAll(points []string) {
	for i := len(points) - 1; i >= 0; i-- {
		if err := unix.Unmount(points[i], unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
			slog.Warn("unmounting a container mount", "path", points[i], "err", err)
		}
	}
}
