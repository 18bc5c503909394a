// Package rootfs builds a container's filesystem view inside its new mount
// namespace: the mounts in config order, /dev, masked and read-only paths,
// a read-only root, and finally pivot_root.
//
// Every path inside the rootfs is resolved with filepath-securejoin's
// openat2-based lookups relative to one rootfs handle, and every mount
// targets the resulting handle through /proc/self/fd, so a symlink planted
// in the image cannot redirect a mount outside the rootfs (CVE-2021-30465,
// CVE-2024-45310). All of it runs before pivot_root, while /proc is the
// host's procfs in a mount namespace no container process has touched.
package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/initproto"
	"github.com/husk-runtime/husk/libcontainer/lsm"
	"golang.org/x/sys/unix"
)

// Setup is the rootfs work for one container.
type Setup struct {
	cfg *configs.Config
	// CgroupPaths are the container's cgroup directories (for the
	// "cgroup" mount type), keyed as cgroups.Manager.Paths.
	cgroupPaths map[string]string
	root        *os.File // O_PATH handle of the rootfs bind mount
	dirs        map[string]*os.File
	null        *os.File // the container's verified /dev/null
	cwd         string
	// source asks the parent for the source of bind mount number i (see
	// initproto's MountRequest); nil when the parent does not answer.
	source func(i int) (*os.File, error)
	// readonly are the roots of the read-only tmpfs (and /dev) mounts,
	// made read-only once everything below them is in place.
	readonly []*os.File
	// Console asks for a /dev/console mount point.
	Console bool
}

// New prepares a Setup. cwd is the workload's working directory, made if
// missing (as runc does) before the root turns read-only. source, if not
// nil, gets a bind mount's source from the parent.
func New(cfg *configs.Config, cgroupPaths map[string]string, source func(i int) (*os.File, error), cwd string) *Setup {
	return &Setup{cfg: cfg, cgroupPaths: cgroupPaths, source: source, cwd: cwd}
}

// ensureDir makes directory p inside the rootfs if it does not exist.
func (s *Setup) ensureDir(p string) error {
	h, err := s.open(p)
	if errors.Is(err, unix.ENOENT) {
		h, err = s.mkdirAll(p)
	}
	if err != nil {
		return fail("create working directory", p, err)
	}
	h.Close()
	return nil
}

func fail(op, path string, err error) error {
	e := &initproto.InitError{Stage: "rootfs", Op: op, Path: path}
	var errno unix.Errno
	if errors.As(err, &errno) {
		e.Errno = errno
		// A wrapped errno keeps what was said around it.
		if msg := err.Error(); msg != errno.Error() {
			e.Detail = strings.TrimSuffix(msg, ": "+errno.Error())
		}
	} else if err != nil {
		e.Detail = err.Error()
	}
	return e
}

func procfd(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

// Prepare does everything up to, not including, pivot_root.
func (s *Setup) Prepare() error {
	c := s.cfg
	if c.Has(configs.NEWNS) {
		if err := s.prepareRoot(); err != nil {
			return err
		}
	} else {
		// Without a mount namespace of its own (as runc allows) the
		// mounts are made in the caller's, whose mounts are left as they
		// are; the rootfs bind is a slave, so that nothing mounted in it
		// propagates. The parent removes them when the container is
		// deleted.
		if err := unix.Mount(c.Rootfs, c.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fail("bind mount rootfs", c.Rootfs, err)
		}
		if err := unix.Mount("", c.Rootfs, "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
			return fail("set propagation of", c.Rootfs, err)
		}
	}
	root, err := os.OpenFile(c.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail("open rootfs", c.Rootfs, err)
	}
	s.root = root

	old := unix.Umask(0)
	defer unix.Umask(old)
	setupDev := true
	for i, m := range c.Mounts {
		if m.Destination == "/dev" && m.IsBind() {
			setupDev = false
		}
		if err := s.mount(i, m); err != nil {
			return err
		}
	}
	if err := s.guardHostCgroups(); err != nil {
		return err
	}
	if setupDev {
		if err := s.createDevices(); err != nil {
			return err
		}
		if s.Console {
			// The mount point for the pty slave, bound there once the
			// pty exists (after pivot_root, in the container's devpts).
			dev, err := s.dir("/dev")
			if err != nil {
				return fail("open", "/dev", err)
			}
			// Whatever the image has there (a symlink to a host file, in
			// CVE-2025-52565) goes: the pty is bound on a file we made.
			if err := unix.Unlinkat(int(dev.Fd()), "console", 0); err != nil && err != unix.ENOENT {
				return fail("remove", "/dev/console", err)
			}
			f, err := createIn(dev, "console", true)
			if err != nil {
				return fail("create", "/dev/console", err)
			}
			f.Close()
		}
		if err := s.devSymlinks(); err != nil {
			return err
		}
	}
	for _, p := range c.ReadonlyPaths {
		if err := s.readonlyPath(p); err != nil {
			return err
		}
	}
	if err := s.maskPaths(); err != nil {
		return err
	}
	if err := s.ensureDir(s.cwd); err != nil {
		return err
	}
	// As runc: read-only tmpfs mounts (and /dev) turn read-only only now,
	// with /dev/pts, the devices, and the mounts below them in place.
	for _, top := range s.readonly {
		if err := setAttr(top, unix.MOUNT_ATTR_RDONLY, 0, false); err != nil {
			return fail("make read-only", top.Name(), err)
		}
	}
	if c.Readonly {
		if err := setAttr(s.root, unix.MOUNT_ATTR_RDONLY, 0, false); err != nil {
			return fail("make read-only", "/", err)
		}
	}
	return nil
}

// prepareRoot sets the propagation of the new mount namespace and binds
// the rootfs on itself, as runc does: "/" takes rootfsPropagation (rslave
// when unset), so that a shared one keeps the host's shared mounts peers
// of the container's binds of them (Kubernetes' Bidirectional mounts);
// the mount the rootfs is on is made private (slave for a slave
// rootfsPropagation), as pivot_root needs, so that what is mounted in the
// rootfs goes nowhere else.
func (s *Setup) prepareRoot() error {
	c := s.cfg
	prop := c.RootPropagation
	if prop == unix.MS_UNBINDABLE|unix.MS_REC {
		// An unbindable tree could not be bound from (cgroup v1's
		// hierarchies, a host directory): runc 1.5 fails there. The root
		// is made unbindable after pivot_root (finalPropagation).
		prop = unix.MS_SLAVE | unix.MS_REC
	}
	if err := unix.Mount("", "/", "", uintptr(prop), ""); err != nil {
		return fail("set propagation of", "/", err)
	}
	parent := uintptr(unix.MS_PRIVATE)
	if c.RootPropagation&unix.MS_SLAVE != 0 {
		parent = unix.MS_SLAVE
	}
	// EINVAL: not a mount point; the mount is further up.
	for p := c.Rootfs; ; p = filepath.Dir(p) {
		err := unix.Mount("", p, "", parent, "")
		if err == nil {
			break
		}
		if err != unix.EINVAL || p == "/" {
			return fail("set propagation of the mount of", c.Rootfs, err)
		}
	}
	if err := unix.Mount(c.Rootfs, c.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fail("bind mount rootfs", c.Rootfs, err)
	}
	return nil
}

// Close releases the rootfs handles.
func (s *Setup) Close() {
	files := append([]*os.File{s.root, s.null}, mapValues(s.dirs)...)
	for _, f := range append(files, s.readonly...) {
		if f != nil {
			f.Close()
		}
	}
	s.root, s.null, s.dirs, s.readonly = nil, nil, nil, nil
}

func mapValues(m map[string]*os.File) []*os.File {
	out := make([]*os.File, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// open resolves p inside the rootfs (symlinks resolved as if chrooted,
// magic links refused) and returns an O_PATH handle.
//
// This is the openat2(RESOLVE_IN_ROOT) call that pathrs.OpenatInRoot makes;
// it is called directly because pathrs-lite then spends ~10 more syscalls
// (a procfs readlink) only to name the returned *os.File, and the init opens
// dozens of paths. On kernels without openat2 it is pathrs-lite's.
func (s *Setup) open(p string) (*os.File, error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for try := 0; ; try++ {
		fd, err := unix.Openat2(int(s.root.Fd()), p, &how)
		switch {
		case err == nil:
			return os.NewFile(uintptr(fd), p), nil
		case err == unix.ENOSYS:
			return pathrs.OpenatInRoot(s.root, p)
		case (err == unix.EAGAIN || err == unix.EXDEV) && try < 128:
			// A rename or mount raced with the lookup of "..": retry.
			continue
		default:
			return nil, err
		}
	}
}

// mkdirAll makes directory p inside the rootfs and returns its handle.
func (s *Setup) mkdirAll(p string) (*os.File, error) {
	return pathrs.MkdirAllHandle(s.root, p, 0o755)
}

// mountpoint resolves dest inside the rootfs and creates it if missing: a
// directory, or an empty file when a bind mount's source is not a
// directory. A dest through a dangling symlink is created where the link
// leads, resolved inside the rootfs (as runc does). Only the last
// component is created by hand, relative to its securely resolved parent;
// deeper missing paths go through MkdirAllHandle.
func (s *Setup) mountpoint(dest string, file bool) (*os.File, error) {
	h, err := s.open(dest)
	if !errors.Is(err, unix.ENOENT) {
		return h, err
	}
	// SecureJoin only names the path (lexically, following the links
	// as if chrooted); it is then made with the handle-based calls, which
	// refuse a link swapped in meanwhile.
	full, err := securejoin.SecureJoin(s.cfg.Rootfs, dest)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(s.cfg.Rootfs, full)
	if err != nil || rel == "." || strings.HasPrefix(rel, "../") {
		return nil, fmt.Errorf("%s resolves to %s, not below the rootfs", dest, full)
	}
	dest = "/" + rel
	parent, err := s.open(filepath.Dir(dest))
	if errors.Is(err, unix.ENOENT) {
		parent, err = s.mkdirAll(filepath.Dir(dest))
	}
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	return createIn(parent, filepath.Base(dest), file)
}

// createIn makes a directory or empty file name in dir (keeping one that
// exists) and opens it without following a symlink put there meanwhile.
func createIn(dir *os.File, name string, file bool) (*os.File, error) {
	dfd := int(dir.Fd())
	flags := uint64(unix.O_PATH | unix.O_CLOEXEC | unix.O_NOFOLLOW)
	if file {
		fd, err := unix.Openat(dfd, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o644)
		if err == nil {
			unix.Close(fd)
		} else if err != unix.EEXIST {
			return nil, err
		}
	} else {
		if err := unix.Mkdirat(dfd, name, 0o755); err != nil && err != unix.EEXIST {
			return nil, err
		}
		flags |= unix.O_DIRECTORY
	}
	fd, err := unix.Openat2(dfd, name, &unix.OpenHow{
		Flags:   flags,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_XDEV,
	})
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// dir returns a handle of directory p inside the rootfs, creating it if
// needed. Handles are cached: call only once all mounts are done.
func (s *Setup) dir(p string) (*os.File, error) {
	if h, ok := s.dirs[p]; ok {
		return h, nil
	}
	h, err := s.mountpoint(p, false)
	if err != nil {
		return nil, err
	}
	if s.dirs == nil {
		s.dirs = map[string]*os.File{}
	}
	s.dirs[p] = h
	return h, nil
}

// mount mounts m, number i of the config's mounts. A bind mount's source
// is looked up here, at mount time and in the container's mount
// namespace, so an earlier mount may have made it; it comes from the
// parent instead (by MountRequest) when it is idmapped, or when the init
// cannot reach it (a user namespace's root), as with runc.
func (s *Setup) mount(i int, m *configs.Mount) error {
	if m.Device == "cgroup" {
		return s.mountCgroup(m)
	}
	what := fmt.Sprintf("%q on %q", m.Source, m.Destination)
	if !m.IsBind() {
		what = fmt.Sprintf("%q (%s) on %q", m.Source, m.Device, m.Destination)
	}
	if m.Device == "proc" || m.Device == "sysfs" {
		if err := s.checkOrdinaryDir(m, what); err != nil {
			return err
		}
	}
	isFile := false
	var src *os.File // the source from the parent
	if m.IsBind() {
		var err error
		if src, err = s.bindSource(i, m); err != nil {
			return err
		}
		if src != nil {
			defer src.Close()
		}
		var st unix.Stat_t
		if src != nil {
			err = unix.Fstat(int(src.Fd()), &st)
		} else {
			err = unix.Stat(m.Source, &st)
		}
		if err != nil {
			return fail("stat bind source", m.Source, err)
		}
		isFile = st.Mode&unix.S_IFMT != unix.S_IFDIR
	}
	data := m.Data
	if m.Device == "tmpfs" {
		// As runc: a tmpfs over something the rootfs has takes its mode,
		// as a mode= option that one given in the config overrides; on a
		// mount point made here it keeps tmpfs's default (1777).
		if h, err := s.open(m.Destination); err == nil {
			var st unix.Stat_t
			err := unix.Fstat(int(h.Fd()), &st)
			h.Close()
			if err != nil {
				return fail("stat", m.Destination, err)
			}
			data = strings.TrimSuffix(fmt.Sprintf("mode=%04o,%s", st.Mode&0o7777, data), ",")
		}
	}
	target, err := s.mountpoint(m.Destination, isFile)
	if err != nil {
		return fail("create mount point", m.Destination, err)
	}
	defer target.Close()

	flags := uintptr(m.Flags)
	// A read-only tmpfs or /dev is made read-only at the end of Prepare.
	deferRO := flags&unix.MS_RDONLY != 0 && !m.IsBind() && (m.Device == "tmpfs" || m.Destination == "/dev")
	if m.IsBind() {
		// The flags other than MS_BIND|MS_REC need a remount, below.
		var err error
		switch {
		case src != nil && m.IDMap != nil:
			// A detached tree the parent made and idmapped.
			err = unix.MoveMount(int(src.Fd()), "", int(target.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
		case src != nil:
			err = unix.Mount(procfd(src), procfd(target), "", flags&(unix.MS_BIND|unix.MS_REC), "")
		default:
			err = unix.Mount(m.Source, procfd(target), "", flags&(unix.MS_BIND|unix.MS_REC), "")
		}
		if err != nil {
			return fail("mount", what, err)
		}
	} else {
		var under *os.File
		if m.TmpCopyUp {
			// Keep the directory being covered open, to copy from.
			fd, err := unix.Openat(int(target.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				return fail("open for tmpcopyup", m.Destination, err)
			}
			under = os.NewFile(uintptr(fd), m.Destination)
			defer under.Close()
		}
		if deferRO {
			flags &^= unix.MS_RDONLY
		}
		if m.Device != "proc" && m.Device != "sysfs" {
			data = lsm.MountData(data, s.cfg.MountLabel)
		}
		if err := unix.Mount(m.Source, procfd(target), m.Device, flags&^unix.MS_REMOUNT, data); err != nil {
			return fail("mount", what, err)
		}
		if under != nil {
			if err := s.copyUp(under, m.Destination); err != nil {
				return fail("tmpcopyup", m.Destination, err)
			}
		}
	}
	return s.finishMount(m, what, deferRO)
}

// bindSource gets bind mount i's source from the parent when it must: an
// idmapped mount, or a source the init cannot stat (hidden from a user
// namespace's root). nil means by path.
func (s *Setup) bindSource(i int, m *configs.Mount) (*os.File, error) {
	if m.IDMap == nil {
		var st unix.Stat_t
		if s.source == nil || unix.Stat(m.Source, &st) == nil {
			return nil, nil
		}
	} else if s.source == nil {
		return nil, fail("mount", fmt.Sprintf("%q on %q", m.Source, m.Destination), errors.New("idmapped mounts need husk to run as root"))
	}
	f, err := s.source(i)
	if err != nil {
		return nil, fail("get the source of", m.Source, err)
	}
	return f, nil
}

// checkOrdinaryDir refuses a proc or sysfs mount on anything but a
// directory (or a missing path): a symlink there, as runc says, is a way
// to get it mounted elsewhere (CVE-2019-19921, CVE-2023-27561).
func (s *Setup) checkOrdinaryDir(m *configs.Mount, what string) error {
	if m.Destination == "/" {
		return nil
	}
	parent, err := s.open(filepath.Dir(m.Destination))
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fail("open", filepath.Dir(m.Destination), err)
	}
	defer parent.Close()
	var st unix.Stat_t
	err = unix.Fstatat(int(parent.Fd()), filepath.Base(m.Destination), &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fail("mount", what, fmt.Errorf("filesystem %q must be mounted on ordinary directory", m.Device))
	}
	return nil
}

// finishMount applies what mount(2) could not do at once: propagation,
// a bind's flags and recursive attributes. It reopens the destination,
// which now resolves to the new mount's root; with deferRO it keeps that
// handle to make the mount read-only at the end of Prepare.
func (s *Setup) finishMount(m *configs.Mount, what string, deferRO bool) error {
	// As runc 1.5 (unlike mount(8)): a bind with any flag option, set or
	// cleared, gets exactly the flags given.
	remount := m.IsBind() && (m.Flags&^(unix.MS_BIND|unix.MS_REC|unix.MS_REMOUNT) != 0 || m.ClearFlags != 0)
	if !remount && !deferRO && len(m.PropagationFlags) == 0 && m.RecAttrSet == 0 && m.RecAttrClr == 0 {
		return nil
	}
	top, err := s.open(m.Destination)
	if err != nil {
		return fail("reopen mount", m.Destination, err)
	}
	if deferRO {
		s.readonly = append(s.readonly, top)
	} else {
		defer top.Close()
	}
	for _, p := range m.PropagationFlags {
		if err := unix.Mount("", procfd(top), "", uintptr(p), ""); err != nil {
			return fail("set propagation of", m.Destination, err)
		}
	}
	if remount {
		if err := remountBind(top, m, what); err != nil {
			return err
		}
	}
	if m.RecAttrSet != 0 || m.RecAttrClr != 0 {
		if err := setAttr(top, m.RecAttrSet, m.RecAttrClr, true); err != nil {
			return fail("set recursive mount attributes of", m.Destination, err)
		}
	}
	return nil
}

// remountBind gives the bind mount at top the flags of m. Where the kernel
// refuses (a user namespace's mount namespace, whose mounts inherited from
// the host have their flags locked), the mount's own lockable flags are
// kept, unless the config explicitly clears one or asks for another atime:
// a read-only host mount stays read-only. As runc 1.5.
func remountBind(top *os.File, m *configs.Mount, what string) error {
	want := m.Flags &^ (unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT)
	remount := func(flags int) error {
		return unix.Mount("", procfd(top), "", uintptr(flags|unix.MS_BIND|unix.MS_REMOUNT), "")
	}
	err := remount(want)
	if err == nil {
		return nil
	}
	var st unix.Statfs_t
	if unix.Fstatfs(int(top.Fd()), &st) != nil {
		return fail("remount", what, err)
	}
	have := statfsFlags(st)
	flags, problem := lockedFlagsRetry(want, m.ClearFlags, have)
	if problem != "" {
		return fail("remount", what, fmt.Errorf("%s: %w", problem, err))
	}
	if err := remount(flags); err != nil {
		return fail("remount", what, fmt.Errorf("with the locked flags %s kept: %w", flagNames(have&lockableFlags), err))
	}
	return nil
}

// setAttr calls mount_setattr(2) on the mount at f.
func setAttr(f *os.File, set, clr uint64, recursive bool) error {
	flags := unix.AT_EMPTY_PATH
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	attr := unix.MountAttr{Attr_set: set, Attr_clr: clr}
	return unix.MountSetattr(int(f.Fd()), "", uint(flags), &attr)
}

// guardHostCgroups keeps a container in a user namespace without a cgroup
// namespace of its own from writing the host's cgroup hierarchies
// (CVE-2023-25809): when no mount of the config puts anything at or below
// /sys/fs/cgroup (the cgroup mount, or a bind of a cgroup delegated to
// it), what is there came with a bind of the host's /sys ("rbind,ro" only
// makes the top mount read-only): it is made read-only, every mount below
// it too. The user's own cgroups are writable to its root otherwise.
func (s *Setup) guardHostCgroups() error {
	c := s.cfg
	if !c.Has(configs.NEWUSER) || c.Has(configs.NEWCGROUP) || !c.Has(configs.NEWNS) {
		return nil
	}
	const dir = "/sys/fs/cgroup"
	for _, m := range c.Mounts {
		if m.Destination == dir || strings.HasPrefix(m.Destination, dir+"/") {
			return nil
		}
	}
	f, err := s.open(dir)
	if err != nil {
		return nil // no /sys/fs/cgroup in the container
	}
	defer f.Close()
	parent, err := s.open(filepath.Dir(dir))
	if err != nil {
		return nil
	}
	defer parent.Close()
	var st, pst unix.Statx_t
	if unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &st) != nil ||
		unix.Statx(int(parent.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &pst) != nil ||
		st.Mask&unix.STATX_MNT_ID == 0 || st.Mnt_id == pst.Mnt_id {
		return nil // not a mount of its own: the image's directory
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &sfs); err != nil {
		return fail("statfs", dir, err)
	}
	switch sfs.Type {
	case unix.CGROUP_SUPER_MAGIC, unix.CGROUP2_SUPER_MAGIC, unix.TMPFS_MAGIC:
	default:
		return nil
	}
	if err := setAttr(f, unix.MOUNT_ATTR_RDONLY, 0, true); err != nil {
		return fail("make read-only", dir+" (the host's cgroups, without a cgroup namespace)", err)
	}
	return nil
}

// mountCgroup mounts the container's own cgroup at m.Destination: on v1 a
// tmpfs with one bind per hierarchy, on v2 a bind of its cgroup directory,
// or a fresh cgroup2 mount when it has a cgroup namespace rooted there.
func (s *Setup) mountCgroup(m *configs.Mount) error {
	target, err := s.mountpoint(m.Destination, false)
	if err != nil {
		return fail("create mount point", m.Destination, err)
	}
	defer target.Close()
	flags := uintptr(m.Flags) &^ (unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT)
	if v2, ok := cgroups.Paths(s.cgroupPaths).UnifiedOnly(); ok {
		if s.cfg.Has(configs.NEWCGROUP) {
			if err := unix.Mount("cgroup2", procfd(target), "cgroup2", flags, ""); err != nil {
				return fail("mount", fmt.Sprintf("cgroup2 on %q", m.Destination), err)
			}
			return nil
		}
		return s.bindCgroup(v2, m.Destination, flags)
	}
	if err := unix.Mount("tmpfs", procfd(target), "tmpfs", flags&^unix.MS_RDONLY, "mode=755"); err != nil {
		return fail("mount", fmt.Sprintf("tmpfs on %q", m.Destination), err)
	}
	for _, h := range cgroups.Paths(s.cgroupPaths).Hierarchies() {
		dir := s.cgroupPaths[string(h)]
		if h.Unified() {
			continue // the hybrid host's cgroup2 mount, as runc: not shown
		}
		dest := filepath.Join(m.Destination, h.DirName())
		if err := s.bindCgroup(dir, dest, flags); err != nil {
			return err
		}
		// Combined hierarchies ("cpu,cpuacct") get a link per controller.
		if ctrls := h.Controllers(); len(ctrls) > 1 {
			for _, p := range ctrls {
				link := filepath.Join(m.Destination, p)
				if err := s.symlink(h.DirName(), link); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (s *Setup) bindCgroup(src, dest string, flags uintptr) error {
	target, err := s.mountpoint(dest, false)
	if err != nil {
		return fail("create mount point", dest, err)
	}
	defer target.Close()
	if err := unix.Mount(src, procfd(target), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fail("mount", fmt.Sprintf("%q on %q", src, dest), err)
	}
	top, err := s.open(dest)
	if err != nil {
		return fail("reopen mount", dest, err)
	}
	defer top.Close()
	if err := unix.Mount("", procfd(top), "", flags|unix.MS_BIND|unix.MS_REMOUNT, ""); err != nil {
		return fail("remount", dest, err)
	}
	return nil
}

// symlink makes a symlink at p inside the rootfs; an existing entry is kept.
func (s *Setup) symlink(target, p string) error {
	dir, err := s.dir(filepath.Dir(p))
	if err != nil {
		return fail("create directory for", p, err)
	}
	if err := unix.Symlinkat(target, int(dir.Fd()), filepath.Base(p)); err != nil && err != unix.EEXIST {
		return fail("symlink", p, err)
	}
	return nil
}

// createDevices makes the configured device nodes, bind mounting the host's
// node instead where mknod is not allowed (in a user namespace).
func (s *Setup) createDevices() error {
	for _, d := range s.cfg.Devices {
		if err := s.createDevice(d); err != nil {
			return err
		}
	}
	return nil
}

func (s *Setup) createDevice(d *configs.Device) error {
	dir, err := s.dir(filepath.Dir(d.Path))
	if err != nil {
		return fail("create directory for", d.Path, err)
	}
	base := filepath.Base(d.Path)
	mode := d.FileMode
	switch d.Type {
	case 'c':
		mode |= unix.S_IFCHR
	case 'b':
		mode |= unix.S_IFBLK
	case 'p':
		mode |= unix.S_IFIFO
	}
	dev := int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))
	inDev := strings.HasPrefix(d.Path, "/dev/")
	if inDev {
		// What the image (or the /dev tmpfs) has there is replaced.
		_ = unix.Unlinkat(int(dir.Fd()), base, 0)
	}
	err = unix.Mknodat(int(dir.Fd()), base, mode, dev)
	if err == unix.EEXIST && !inDev {
		// Elsewhere in the rootfs, the image's file is kept, as runc
		// keeps it: a device node is not a reason to delete its files.
		return nil
	}
	if err == unix.EPERM && d.Type != 'p' {
		return s.bindDevice(dir, base, d)
	}
	if err != nil {
		return fail("mknod", d.Path, err)
	}
	if err := unix.Fchownat(int(dir.Fd()), base, int(d.UID), int(d.GID), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fail("chown", d.Path, err)
	}
	return nil
}

func (s *Setup) bindDevice(dir *os.File, base string, d *configs.Device) error {
	fd, err := unix.Openat(int(dir.Fd()), base, unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o644)
	if err != nil {
		return fail("create bind target for", d.Path, err)
	}
	unix.Close(fd)
	target, err := pathrs.OpenatInRoot(dir, base)
	if err != nil {
		return fail("open", d.Path, err)
	}
	defer target.Close()
	if err := unix.Mount(d.Path, procfd(target), "", unix.MS_BIND, ""); err != nil {
		return fail("bind mount device", d.Path, err)
	}
	return nil
}

func (s *Setup) devSymlinks() error {
	links := [][2]string{
		{"/proc/self/fd", "/dev/fd"},
		{"/proc/self/fd/0", "/dev/stdin"},
		{"/proc/self/fd/1", "/dev/stdout"},
		{"/proc/self/fd/2", "/dev/stderr"},
	}
	if _, err := os.Stat("/proc/kcore"); err == nil {
		links = append(links, [2]string{"/proc/kcore", "/dev/core"})
	}
	for _, l := range links {
		if err := s.symlink(l[0], l[1]); err != nil {
			return err
		}
	}
	// /dev/ptmx is the devpts instance's ptmx.
	dev, err := s.dir("/dev")
	if err != nil {
		return fail("open", "/dev", err)
	}
	if err := unix.Unlinkat(int(dev.Fd()), "ptmx", 0); err != nil && err != unix.ENOENT {
		return fail("remove", "/dev/ptmx", err)
	}
	if err := unix.Symlinkat("pts/ptmx", int(dev.Fd()), "ptmx"); err != nil {
		return fail("symlink", "/dev/ptmx", err)
	}
	return nil
}

// devNull returns the container's /dev/null after checking that it is the
// real null device, not something the image planted (CVE-2025-31133).
func (s *Setup) devNull() (*os.File, error) {
	if s.null != nil {
		return s.null, nil
	}
	f, err := s.open("/dev/null")
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		f.Close()
		return nil, errors.New("/dev/null is not the null device (char 1:3)")
	}
	s.null = f
	return f, nil
}

// maskPaths hides the masked paths: a directory under a read-only tmpfs
// (one for all of them, bound on each after the first, as runc 1.5 does),
// anything else under a bind of /dev/null. A path that does not exist is
// skipped, one given twice is masked once.
func (s *Setup) maskPaths() error {
	var shared *os.File // the first masked directory's tmpfs
	defer func() {
		if shared != nil {
			shared.Close()
		}
	}()
	bindFailed := false
	seen := map[string]bool{}
	for _, p := range s.cfg.MaskedPaths {
		p = filepath.Clean(p)
		if seen[p] {
			continue
		}
		seen[p] = true
		target, err := s.open(p)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fail("open masked path", p, err)
		}
		err = s.maskPath(p, target, &shared, &bindFailed)
		target.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Setup) maskPath(p string, target *os.File, shared **os.File, bindFailed *bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(target.Fd()), &st); err != nil {
		return fail("stat masked path", p, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		null, err := s.devNull()
		if err != nil {
			return fail("mask", p, err)
		}
		if err := unix.Mount(procfd(null), procfd(target), "", unix.MS_BIND, ""); err != nil {
			return fail("mask", p, err)
		}
		return nil
	}
	if *shared != nil && !*bindFailed {
		// A bind keeps the tmpfs's read-only flag.
		if err := unix.Mount(procfd(*shared), procfd(target), "", unix.MS_BIND, ""); err == nil {
			return nil
		}
		*bindFailed = true
	}
	// The smallest tmpfs; a kernel that wants two inodes gets them.
	err := unix.Mount("tmpfs", procfd(target), "tmpfs", unix.MS_RDONLY, lsm.MountData("nr_blocks=1,nr_inodes=1", s.cfg.MountLabel))
	if err != nil {
		err = unix.Mount("tmpfs", procfd(target), "tmpfs", unix.MS_RDONLY, lsm.MountData("nr_blocks=1,nr_inodes=2", s.cfg.MountLabel))
	}
	if err != nil {
		return fail("mask", p, err)
	}
	if *shared == nil && !*bindFailed {
		if *shared, err = s.open(p); err != nil {
			return fail("reopen mask of", p, err)
		}
	}
	return nil
}

// readonlyPath makes p and everything mounted below it read-only.
func (s *Setup) readonlyPath(p string) error {
	target, err := s.open(p)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fail("open read-only path", p, err)
	}
	defer target.Close()
	if err := unix.Mount(procfd(target), procfd(target), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fail("bind mount read-only path", p, err)
	}
	top, err := s.open(p)
	if err != nil {
		return fail("reopen read-only path", p, err)
	}
	defer top.Close()
	if err := setAttr(top, unix.MOUNT_ATTR_RDONLY, 0, true); err != nil {
		return fail("make read-only", p, err)
	}
	return nil
}

// WriteSysctls sets the container's sysctls through /proc/sys, which
// resolves to the init's own (new) namespaces.
func (s *Setup) WriteSysctls() error {
	for k, v := range s.cfg.Sysctl {
		// The dotted name's path: dots and slashes swapped (a slash in a
		// dotted name is a dot in its component, as in "eth0.100").
		p := "/proc/sys/" + strings.Map(func(r rune) rune {
			switch r {
			case '.':
				return '/'
			case '/':
				return '.'
			}
			return r
		}, k)
		if err := os.WriteFile(p, []byte(v), 0); err != nil {
			return fail("write sysctl", k, unwrapPath(err))
		}
	}
	return nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Pivot makes the rootfs the process's root: pivot_root, or with
// NoPivotRoot a move mount and chroot.
func (s *Setup) Pivot() error {
	rootfs := s.cfg.Rootfs
	if !s.cfg.Has(configs.NEWNS) {
		// No mount namespace: the caller's root must stay; chroot only.
		if err := unix.Fchdir(int(s.root.Fd())); err != nil {
			return fail("chdir", rootfs, err)
		}
		if err := unix.Chroot("."); err != nil {
			return fail("chroot", rootfs, err)
		}
		if err := unix.Chdir("/"); err != nil {
			return fail("chdir", "/", err)
		}
		return nil
	}
	if s.cfg.NoPivotRoot {
		if err := s.detachHostMounts(); err != nil {
			return err
		}
		if err := unix.Fchdir(int(s.root.Fd())); err != nil {
			return fail("chdir", rootfs, err)
		}
		if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
			return fail("move mount", rootfs, err)
		}
		if err := unix.Chroot("."); err != nil {
			return fail("chroot", rootfs, err)
		}
		if err := unix.Chdir("/"); err != nil {
			return fail("chdir", "/", err)
		}
		return s.finalPropagation()
	}
	oldroot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail("open", "/", err)
	}
	defer unix.Close(oldroot)
	// pivot_root(".", ".") stacks the old root on top of the new one; it is
	// then detached from there, with no directory needed for it.
	if err := unix.Fchdir(int(s.root.Fd())); err != nil {
		return fail("chdir", rootfs, err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fail("pivot_root", rootfs, err)
	}
	if err := unix.Fchdir(oldroot); err != nil {
		return fail("chdir", "old root", err)
	}
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fail("make old root slave", "/", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fail("unmount old root", "/", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fail("chdir", "/", err)
	}
	return s.finalPropagation()
}

// finalPropagation applies a shared or unbindable rootfsPropagation to the
// container's root, now that it is "/".
func (s *Setup) finalPropagation() error {
	if p := s.cfg.RootPropagation; p&(unix.MS_SHARED|unix.MS_UNBINDABLE) != 0 {
		if err := unix.Mount("", "/", "", p, ""); err != nil {
			return fail("set rootfsPropagation of", "/", err)
		}
	}
	return nil
}
