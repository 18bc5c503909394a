package rootfs

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// copyTree copies the directory open at src into the one open at dst:
// regular files, directories, symlinks and special files, with their modes,
// owners and times. Everything is opened relative to the two directory
// fds and never follows a symlink, so an image's links cannot lead the
// copy out of its tree.
func copyTree(src, dst *os.File) error {
	ents, err := src.ReadDir(-1)
	if err != nil {
		return err
	}
	sfd, dfd := int(src.Fd()), int(dst.Fd())
	for _, ent := range ents {
		name := ent.Name()
		var st unix.Stat_t
		if err := unix.Fstatat(sfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("stat %s: %w", name, err)
		}
		perm := st.Mode & 0o7777
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			if err := unix.Mkdirat(dfd, name, perm); err != nil {
				return fmt.Errorf("mkdir %s: %w", name, err)
			}
			if err := copySub(sfd, dfd, name); err != nil {
				return err
			}
		case unix.S_IFREG:
			if err := copyFile(sfd, dfd, name, perm); err != nil {
				return err
			}
		case unix.S_IFLNK:
			buf := make([]byte, 4096)
			n, err := unix.Readlinkat(sfd, name, buf)
			if err != nil {
				return fmt.Errorf("readlink %s: %w", name, err)
			}
			if err := unix.Symlinkat(string(buf[:n]), dfd, name); err != nil {
				return fmt.Errorf("symlink %s: %w", name, err)
			}
		default: // devices, fifos, sockets
			if err := unix.Mknodat(dfd, name, st.Mode, int(st.Rdev)); err != nil {
				return fmt.Errorf("mknod %s: %w", name, err)
			}
		}
		if err := unix.Fchownat(dfd, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("chown %s: %w", name, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			// chown clears set-id bits: mode again, after it.
			if err := unix.Fchmodat(dfd, name, perm, 0); err != nil {
				return fmt.Errorf("chmod %s: %w", name, err)
			}
		}
		ts := []unix.Timespec{st.Atim, st.Mtim}
		if err := unix.UtimesNanoAt(dfd, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("set times of %s: %w", name, err)
		}
	}
	return nil
}

func copySub(sfd, dfd int, name string) error {
	flags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	s, err := unix.Openat(sfd, name, flags, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	src := os.NewFile(uintptr(s), name)
	defer src.Close()
	d, err := unix.Openat(dfd, name, flags, 0)
	if err != nil {
		return fmt.Errorf("open copy of %s: %w", name, err)
	}
	dst := os.NewFile(uintptr(d), name)
	defer dst.Close()
	if err := copyTree(src, dst); err != nil {
		return fmt.Errorf("%s/%w", name, err)
	}
	return nil
}

func copyFile(sfd, dfd int, name string, perm uint32) error {
	s, err := unix.Openat(sfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	src := os.NewFile(uintptr(s), name)
	defer src.Close()
	d, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	if err != nil {
		return fmt.Errorf("create copy of %s: %w", name, err)
	}
	dst := os.NewFile(uintptr(d), name)
	defer dst.Close()
	if _, err := io.Copy(dst, src); err != nil {
		return fmt.Errorf("copy %s: %w", name, err)
	}
	return nil
}

// copyUp fills the tmpfs just mounted at m's destination with what the
// directory under it (still open as under) held: the tmpcopyup option.
func (s *Setup) copyUp(under *os.File, dest string) error {
	top, err := s.open(dest)
	if err != nil {
		return err
	}
	defer top.Close()
	dfd, err := unix.Openat(int(top.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	dst := os.NewFile(uintptr(dfd), dest)
	defer dst.Close()
	// The tmpfs root keeps its owner, the container's root, as with runc
	// 1.5 (its mode is the directory's: a mode= option of the mount).
	return copyTree(under, dst)
}
