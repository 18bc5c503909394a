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
	"sort"
	"strconv"
	"strings"

	"github.com/cyphar/filepath-securejoin/pathrs-lite"
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
	mountFds    map[int]int
	// Console asks for a /dev/console mount point.
	Console bool
}

// New prepares a Setup. cwd is the workload's working directory, made if
// missing (as runc does) before the root turns read-only.
// mountFds are the detached source trees of bind mounts, by mount index.
func New(cfg *configs.Config, cgroupPaths map[string]string, mountFds map[int]int, cwd string) *Setup {
	return &Setup{cfg: cfg, cgroupPaths: cgroupPaths, mountFds: mountFds, cwd: cwd}
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
	} else if err != nil {
		e.Detail = err.Error()
	}
	return e
}

func procfd(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

// Prepare does everything up to, not including, pivot_root.
func (s *Setup) Prepare() error {
	c := s.cfg
	// Until pivot_root, the mount tree is slave (or private) so nothing we
	// mount reaches the host: pivot_root refuses a shared root, and an
	// unbindable one could not be bound. A shared or unbindable
	// rootfsPropagation is applied to the new root after the pivot.
	// Without a mount namespace of its own (as runc allows) the mounts are
	// made in the caller's, whose "/" is left as it is; the parent removes
	// them when the container is deleted.
	setup := c.RootPropagation
	if setup&(unix.MS_SHARED|unix.MS_UNBINDABLE) != 0 {
		setup = unix.MS_SLAVE | unix.MS_REC
	}
	if c.Has(configs.NEWNS) {
		if err := unix.Mount("", "/", "", setup, ""); err != nil {
			return fail("set propagation of", "/", err)
		}
	}
	if err := unix.Mount(c.Rootfs, c.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fail("bind mount rootfs", c.Rootfs, err)
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
		tree, ok := s.mountFds[i]
		if !ok {
			tree = -1
		}
		if err := s.mount(m, tree); err != nil {
			return err
		}
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
	for _, p := range c.MaskedPaths {
		if err := s.maskPath(p); err != nil {
			return err
		}
	}
	if err := s.ensureDir(s.cwd); err != nil {
		return err
	}
	if c.Readonly {
		if err := setAttr(s.root, unix.MOUNT_ATTR_RDONLY, 0, false); err != nil {
			return fail("make read-only", "/", err)
		}
	}
	return nil
}

// Close releases the rootfs handles.
func (s *Setup) Close() {
	for _, f := range append([]*os.File{s.root, s.null}, mapValues(s.dirs)...) {
		if f != nil {
			f.Close()
		}
	}
	s.root, s.null, s.dirs = nil, nil, nil
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
// directory. Only the last component is created by hand, relative to its
// securely resolved parent; deeper missing paths go through MkdirAllHandle.
func (s *Setup) mountpoint(dest string, file bool) (*os.File, error) {
	h, err := s.open(dest)
	if !errors.Is(err, unix.ENOENT) {
		return h, err
	}
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

// mount mounts m. A bind mount attaches tree, the detached copy of its
// source the parent made, if there is one (user namespaces, idmapped
// mounts), else binds the source by path, which keeps the source's
// propagation (a host mount made later under an rslave bind shows up).
func (s *Setup) mount(m *configs.Mount, tree int) error {
	if m.Device == "cgroup" {
		return s.mountCgroup(m)
	}
	isFile := false
	if m.IsBind() {
		var st unix.Stat_t
		var err error
		if tree >= 0 {
			err = unix.Fstat(tree, &st)
		} else {
			err = unix.Stat(m.Source, &st)
		}
		if err != nil {
			return fail("stat bind source", m.Source, err)
		}
		isFile = st.Mode&unix.S_IFMT != unix.S_IFDIR
	}
	// As runc: a tmpfs over a directory the rootfs has takes that
	// directory's mode; one on a mount point made here keeps its own
	// (mode= or tmpfs's default 1777).
	var covered *unix.Stat_t
	if m.Device == "tmpfs" {
		if h, err := s.open(m.Destination); err == nil {
			var st unix.Stat_t
			if unix.Fstat(int(h.Fd()), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
				covered = &st
			}
			h.Close()
		}
	}
	target, err := s.mountpoint(m.Destination, isFile)
	if err != nil {
		return fail("create mount point", m.Destination, err)
	}
	defer target.Close()

	flags := uintptr(m.Flags)
	what := fmt.Sprintf("%q on %q", m.Source, m.Destination)
	if m.IsBind() {
		// The flags other than MS_BIND|MS_REC need a remount, below.
		var err error
		if tree >= 0 {
			err = unix.MoveMount(tree, "", int(target.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
			// The source's handle has served: not kept open in the init.
			unix.Close(tree)
		} else {
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
		if under != nil || covered != nil {
			flags &^= unix.MS_RDONLY // made read-only after the copy and chmod
		}
		data := m.Data
		if m.Device != "proc" && m.Device != "sysfs" {
			data = lsm.MountData(data, s.cfg.MountLabel)
		}
		if err := unix.Mount(m.Source, procfd(target), m.Device, flags&^unix.MS_REMOUNT, data); err != nil {
			return fail("mount", fmt.Sprintf("%q (%s) on %q", m.Source, m.Device, m.Destination), err)
		}
		if under != nil {
			if err := s.copyUp(under, m.Destination); err != nil {
				return fail("tmpcopyup", m.Destination, err)
			}
		}
		if covered != nil {
			if err := s.chmodMountRoot(m.Destination, covered.Mode&0o7777); err != nil {
				return fail("chmod", m.Destination, err)
			}
		}
		if under != nil || covered != nil {
			if m.Flags&unix.MS_RDONLY != 0 {
				top, err := s.open(m.Destination)
				if err != nil {
					return fail("reopen mount", m.Destination, err)
				}
				defer top.Close()
				if err := setAttr(top, unix.MOUNT_ATTR_RDONLY, 0, false); err != nil {
					return fail("make read-only", m.Destination, err)
				}
			}
		}
	}
	return s.finishMount(m, what, flags)
}

// finishMount applies what mount(2) could not do at once: bind remount
// flags, propagation and recursive attributes. It reopens the destination,
// which now resolves to the new mount's root.
func (s *Setup) finishMount(m *configs.Mount, what string, flags uintptr) error {
	remount := m.IsBind() && flags&^(unix.MS_BIND|unix.MS_REC|unix.MS_REMOUNT) != 0
	if !remount && len(m.PropagationFlags) == 0 && m.RecAttrSet == 0 && m.RecAttrClr == 0 {
		return nil
	}
	top, err := s.open(m.Destination)
	if err != nil {
		return fail("reopen mount", m.Destination, err)
	}
	defer top.Close()
	if remount {
		// Keep the flags the kernel locks on this mount (e.g. nodev from
		// the source), or remount fails in a user namespace.
		var st unix.Statfs_t
		if err := unix.Fstatfs(int(top.Fd()), &st); err == nil {
			flags |= uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC) &^ uintptr(m.ClearFlags)
		}
		if err := unix.Mount("", procfd(top), "", flags&^unix.MS_REC|unix.MS_BIND|unix.MS_REMOUNT, ""); err != nil {
			return fail("remount", what, err)
		}
	}
	for _, p := range m.PropagationFlags {
		if err := unix.Mount("", procfd(top), "", uintptr(p), ""); err != nil {
			return fail("set propagation of", m.Destination, err)
		}
	}
	if m.RecAttrSet != 0 || m.RecAttrClr != 0 {
		if err := setAttr(top, m.RecAttrSet, m.RecAttrClr, true); err != nil {
			return fail("set recursive mount attributes of", m.Destination, err)
		}
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

// cgroupName is the directory name a v1 hierarchy gets under /sys/fs/cgroup.
func cgroupName(key string) string {
	return strings.TrimPrefix(key, "name=")
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
	if v2, ok := s.cgroupPaths[""]; ok && len(s.cgroupPaths) == 1 {
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
	keys := make([]string, 0, len(s.cgroupPaths))
	for k := range s.cgroupPaths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		dir := s.cgroupPaths[key]
		if key == "" {
			continue // the hybrid host's cgroup2 mount, as runc: not shown
		}
		dest := filepath.Join(m.Destination, cgroupName(key))
		if err := s.bindCgroup(dir, dest, flags); err != nil {
			return err
		}
		// Combined hierarchies ("cpu,cpuacct") get a link per controller.
		if parts := strings.Split(key, ","); len(parts) > 1 {
			for _, p := range parts {
				link := filepath.Join(m.Destination, p)
				if err := s.symlink(cgroupName(key), link); err != nil {
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
	_ = unix.Unlinkat(int(dir.Fd()), base, 0)
	err = unix.Mknodat(int(dir.Fd()), base, mode, dev)
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

// maskPath hides p: a directory under an empty read-only tmpfs, anything
// else under a bind of /dev/null. A path that does not exist is skipped.
func (s *Setup) maskPath(p string) error {
	target, err := s.open(p)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fail("open masked path", p, err)
	}
	defer target.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(target.Fd()), &st); err != nil {
		return fail("stat masked path", p, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if err := unix.Mount("tmpfs", procfd(target), "tmpfs", unix.MS_RDONLY, ""); err != nil {
			return fail("mask", p, err)
		}
		return nil
	}
	null, err := s.devNull()
	if err != nil {
		return fail("mask", p, err)
	}
	if err := unix.Mount(procfd(null), procfd(target), "", unix.MS_BIND, ""); err != nil {
		return fail("mask", p, err)
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
		p := "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
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
