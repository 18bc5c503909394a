package libcontainer

import (
	"fmt"
	"os"
	"runtime"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/diag"
	"github.com/husk-runtime/husk/libcontainer/initproto"
	"github.com/husk-runtime/husk/libcontainer/userns"
	"golang.org/x/sys/unix"
)

// The source of a bind mount is normally looked up by the init itself, at
// the time of the mount and in the container's mount namespace, so that a
// source made by an earlier mount of the list is found. Two kinds it asks
// the parent for (initproto's MountRequest): idmapped mounts, whose
// mapping needs privileges the init may lack, and sources that the root of
// a user namespace cannot reach. The parent opens them as root, in the
// init's mount namespace, which the source's path is resolved in.

// sendMountSource answers a MountRequest: it opens the source of mount
// number payload and sends it to the init.
func (sp *spawned) sendMountSource(cfg *configs.Config, payload []byte) error {
	i, err := initproto.ParseU32(initproto.MountRequest, payload)
	if err != nil {
		return err
	}
	if int(i) >= len(cfg.Mounts) || !cfg.Mounts[i].IsBind() {
		return fmt.Errorf("%w: init asked for the source of mount %d, not a bind mount", initproto.ErrUnexpected, i)
	}
	m := cfg.Mounts[i]
	f, err := openMountSource(sp.pid, m)
	if err != nil {
		// The init's step (its mount), done here for it.
		return diag.Wrap(fmt.Errorf("mount %q on %q: %w", m.Source, m.Destination, err),
			diag.Error{Stage: "init", Op: "mount", Path: m.Source, Field: fmt.Sprintf("mounts[%d].source", i)})
	}
	defer f.Close()
	if err := initproto.WriteFd(sp.sock, initproto.MountSource, nil, int(f.Fd())); err != nil {
		return fmt.Errorf("send mount source to init: %w", err)
	}
	return nil
}

// openMountSource opens m's source in the mount namespace of process pid:
// a detached (open_tree) copy, idmapped, for an idmapped mount, else an
// O_PATH handle.
func openMountSource(pid int, m *configs.Mount) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// This thread joins the init's mount namespace and is never
		// unlocked: the runtime ends it when the goroutine returns.
		runtime.LockOSThread()
		f, err := func() (*os.File, error) {
			if err := unix.Unshare(unix.CLONE_FS); err != nil {
				return nil, fmt.Errorf("unshare fs: %w", err)
			}
			ns, err := os.Open(configs.NEWNS.ProcPath(pid))
			if err != nil {
				return nil, err
			}
			defer ns.Close()
			if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNS); err != nil {
				return nil, fmt.Errorf("join the container's mount namespace: %w", err)
			}
			if m.IDMap == nil {
				fd, err := unix.Open(m.Source, unix.O_PATH|unix.O_CLOEXEC, 0)
				if err != nil {
					return nil, fmt.Errorf("open source: %w", err)
				}
				return os.NewFile(uintptr(fd), m.Source), nil
			}
			flags := unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC
			if m.Flags&unix.MS_REC != 0 {
				flags |= unix.AT_RECURSIVE
			}
			fd, err := unix.OpenTree(unix.AT_FDCWD, m.Source, uint(flags))
			if err != nil {
				return nil, fmt.Errorf("open source: %w", err)
			}
			return os.NewFile(uintptr(fd), m.Source), nil
		}()
		ch <- result{f, err}
	}()
	r := <-ch
	if r.err != nil || m.IDMap == nil {
		return r.f, r.err
	}
	if err := idmapTree(int(r.f.Fd()), m.IDMap); err != nil {
		r.f.Close()
		return nil, err
	}
	return r.f, nil
}

// idmapTree makes the detached tree an idmapped mount (ridmap: with its
// submounts too).
func idmapTree(tree int, im *configs.MountIDMap) error {
	ns, err := userns.New(im.UIDs, im.GIDs)
	if err != nil {
		return err
	}
	defer ns.Close()
	flags := uint(unix.AT_EMPTY_PATH)
	if im.Recursive {
		flags |= unix.AT_RECURSIVE
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(ns.Fd())}
	if err := unix.MountSetattr(tree, "", flags, &attr); err != nil {
		return fmt.Errorf("idmap: %w", err)
	}
	return nil
}
