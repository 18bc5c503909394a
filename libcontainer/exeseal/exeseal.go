// Package exeseal gives the parent a handle to its own binary that a
// container cannot write through (CVE-2019-5736: a container process that
// opens /proc/PID/exe of `husk init` must not be able to overwrite the host's
// husk binary).
//
// The handle is the binary seen through a private, read-only overlayfs that
// is never attached to any mount tree: no copy of the binary is made, no
// mount is visible anywhere, and the mount goes away when the last process
// executing from it exits. overlayfs without an upper layer cannot be
// written even if remounted, which a read-only bind mount could be. Where
// overlayfs is unavailable, a sealed memfd copy is the (slower) fallback.
package exeseal

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Open returns an O_PATH handle to the running binary on a read-only,
// detached overlayfs, or a sealed memfd copy of it.
func Open() (*os.File, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("exeseal: %w", err)
	}
	f, oerr := overlay(exe)
	if oerr == nil {
		return f, nil
	}
	f, merr := memfdCopy()
	if merr != nil {
		return nil, fmt.Errorf("exeseal: overlayfs: %v; memfd copy: %w", oerr, merr)
	}
	return f, nil
}

func overlay(exe string) (*os.File, error) {
	// overlayfs wants two lower layers when it has no upper one: the
	// binary's directory and an empty, read-only tmpfs.
	empty, err := detachedFS("tmpfs", map[string]string{"size": "4k", "mode": "0555"}, unix.MOUNT_ATTR_RDONLY)
	if err != nil {
		return nil, err
	}
	defer unix.Close(empty)
	mnt, err := detachedFS("overlay", map[string]string{
		"lowerdir+": filepath.Dir(exe),
		"lowerdir2": "/proc/self/fd/" + strconv.Itoa(empty),
		"xino":      "off",
	}, unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_RDONLY)
	if err != nil {
		return nil, err
	}
	defer unix.Close(mnt)
	fd, err := unix.Openat(mnt, filepath.Base(exe), unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s on the overlay: %w", filepath.Base(exe), err)
	}
	return os.NewFile(uintptr(fd), "husk (sealed)"), nil
}

// detachedFS makes a filesystem mount that is attached nowhere. Options are
// applied in a fixed order: "lowerdir2" is a second "lowerdir+".
func detachedFS(fstype string, opts map[string]string, attrs int) (int, error) {
	fs, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen %s: %w", fstype, err)
	}
	defer unix.Close(fs)
	for _, k := range []string{"size", "mode", "lowerdir+", "lowerdir2", "xino"} {
		v, ok := opts[k]
		if !ok {
			continue
		}
		key := k
		if k == "lowerdir2" {
			key = "lowerdir+"
		}
		if err := unix.FsconfigSetString(fs, key, v); err != nil {
			return -1, fmt.Errorf("%s option %s=%s: %w", fstype, key, v, err)
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, fmt.Errorf("create %s: %w", fstype, err)
	}
	mnt, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return -1, fmt.Errorf("fsmount %s: %w", fstype, err)
	}
	return mnt, nil
}

func memfdCopy() (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("husk", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "husk (memfd)")
	if err := copyData(f, src); err != nil {
		f.Close()
		return nil, err
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// copyData copies src into dst, an empty file, leaving src's holes as
// holes: husk's segments start on 2 MiB boundaries (Makefile), and the
// ~6 MB between them are holes a memfd need not be given.
func copyData(dst, src *os.File) error {
	st, err := src.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if err := dst.Truncate(size); err != nil {
		return err
	}
	fd := int(src.Fd())
	for off := int64(0); off < size; {
		data, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			return nil // only a hole past off
		}
		end := size
		if err != nil {
			data = off // no SEEK_DATA here: copy the rest
		} else if end, err = unix.Seek(fd, data, unix.SEEK_HOLE); err != nil {
			return err
		}
		if _, err := io.Copy(io.NewOffsetWriter(dst, data), io.NewSectionReader(src, data, end-data)); err != nil {
			return err
		}
		off = end
	}
	return nil
}
