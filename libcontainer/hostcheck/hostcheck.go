// Package hostcheck probes the host for what husk uses (`husk check`):
// each kernel API is called for real, each file looked at, nothing
// assumed from the kernel version alone. A probe makes nothing that
// outlives it (a user namespace held by a child for the idmapped-mount
// probe, a detached mount tree: both gone when it returns).
package hostcheck

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/cgroups/systemd"
	"github.com/husk-runtime/husk/libcontainer/criu"
	"github.com/husk-runtime/husk/libcontainer/lsm"
	"github.com/husk-runtime/husk/libcontainer/seccomp"
	"github.com/husk-runtime/husk/libcontainer/timerslack"
	"golang.org/x/sys/unix"
)

// Status is a line's verdict.
type Status string

const (
	OK      Status = "ok"
	Warn    Status = "warn"
	Missing Status = "missing"
)

// Item is one line of the report: what was probed, the verdict, what was
// found, and what its absence costs.
type Item struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	// Cost is what husk cannot do without it (missing and warn only).
	Cost string `json:"cost,omitempty"`
	// Required: husk cannot create a container without it.
	Required bool `json:"required,omitempty"`
}

// Options are the places the probes look at.
type Options struct {
	StateRoot string // --root
	// FSPaths are the paths whose filesystems are checked for idmapped
	// mounts (the state root's, a bundle's rootfs, "/").
	FSPaths []string
}

// Report runs every probe.
func Report(o Options) []Item {
	var out []Item
	add := func(it Item) { out = append(out, it) }
	add(kernel())
	add(syscallProbe("openat2", true, "paths in the rootfs cannot be resolved safely (RESOLVE_IN_ROOT)", probeOpenat2))
	add(syscallProbe("mount_setattr", false, "recursive mount attributes (rro, rnosuid, ...) and idmapped mounts cannot be set", probeMountSetattr))
	add(syscallProbe("pidfd_open", true, "processes cannot be signalled and waited for without pid reuse races", probePidfdOpen))
	add(syscallProbe("pidfd_send_signal", true, "processes cannot be signalled through a pidfd", probePidfdSendSignal))
	add(syscallProbe("pidfd_getfd", false, "a seccomp notify listener cannot be passed to the agent", probePidfdGetfd))
	add(clone3())
	out = append(out, idmapped(o.FSPaths)...)
	add(timens())
	out = append(out, cgroupItems(o)...)
	out = append(out, userns()...)
	out = append(out, lsms()...)
	out = append(out, seccompItems()...)
	add(criuItem())
	out = append(out, stateRoot(o.StateRoot)...)
	return out
}

func kernel() Item {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return Item{Name: "kernel", Status: Warn, Detail: err.Error()}
	}
	return Item{Name: "kernel", Status: OK, Detail: unix.ByteSliceToString(u.Release[:])}
}

func syscallProbe(name string, required bool, cost string, probe func() error) Item {
	it := Item{Name: name, Required: required}
	switch err := probe(); {
	case err == nil:
		it.Status, it.Detail = OK, "available"
	case errors.Is(err, unix.ENOSYS):
		it.Status, it.Detail, it.Cost = Missing, "the kernel does not have it (ENOSYS)", cost
	default:
		it.Status, it.Detail, it.Cost = Warn, "probe failed: "+err.Error(), cost
	}
	return it
}

func probeOpenat2() error {
	fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
	if err == nil {
		unix.Close(fd)
	}
	return err
}

// probeMountSetattr: an fd that is no mount is EBADF from a kernel that
// has the call.
func probeMountSetattr() error {
	err := unix.MountSetattr(-1, "", unix.AT_EMPTY_PATH, &unix.MountAttr{})
	if err == unix.EBADF || err == unix.EINVAL {
		return nil
	}
	return err
}

func probePidfdOpen() error {
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

func probePidfdSendSignal() error {
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.PidfdSendSignal(fd, 0, nil, 0)
}

func probePidfdGetfd() error {
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	n, err := unix.PidfdGetfd(fd, 0, 0)
	if err == nil {
		unix.Close(n)
	}
	return err
}

// clone3 is called with a size the kernel refuses (EINVAL where it has
// the call); CLONE_INTO_CGROUP came with clone3's cgroup field (5.7),
// which a struct of that size with a bad cgroup fd is refused for
// (EBADF), where an older clone3 says E2BIG or EINVAL.
func clone3() Item {
	it := Item{Name: "clone3 CLONE_INTO_CGROUP", Required: false}
	type cloneArgs struct {
		flags, pidfd, childTID, parentTID, exitSignal, stack, stackSize, tls, setTID, setTIDSize, cgroup uint64
	}
	_, _, e := unix.Syscall(unix.SYS_CLONE3, 0, 0, 0)
	if e == unix.ENOSYS {
		it.Status, it.Detail = Missing, "no clone3 (ENOSYS)"
		it.Cost = "the init cannot be born in its cgroup: it is moved in after the fork"
		return it
	}
	const cloneIntoCgroup = 0x200000000
	// An fd number that is not open: the kernel refuses it (EBADF) before
	// anything is forked.
	args := cloneArgs{flags: cloneIntoCgroup, exitSignal: uint64(unix.SIGCHLD), cgroup: 0x7fffffff}
	_, _, e = unix.Syscall(unix.SYS_CLONE3, uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args), 0)
	if e == unix.EBADF {
		it.Status, it.Detail = OK, "available"
		return it
	}
	it.Status, it.Detail = Missing, fmt.Sprintf("refused (%v)", e)
	it.Cost = "the init cannot be born in its cgroup: it is moved in after the fork"
	return it
}

// idmapped checks, for each filesystem of paths, that a detached copy of
// its mount takes an idmapping: in a user namespace of a child's that
// holds it meanwhile.
func idmapped(paths []string) []Item {
	const name = "idmapped mounts"
	cost := "mounts with idmap/ridmap options fail on this filesystem"
	cat, err := exec.LookPath("cat")
	if err != nil {
		return []Item{{Name: name, Status: Warn, Detail: "cannot probe: no cat(1) to hold a user namespace", Cost: cost}}
	}
	cmd := exec.Command(cat)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return []Item{{Name: name, Status: Warn, Detail: "cannot probe: " + err.Error(), Cost: cost}}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 65534, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 65534, Size: 1}},
	}
	if err := timerslack.AsCaller(cmd.Start); err != nil {
		return []Item{{Name: name, Status: Missing, Detail: "cannot make a user namespace: " + err.Error(), Cost: cost}}
	}
	defer func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	}()
	ns, err := unix.Open(fmt.Sprintf("/proc/%d/ns/user", cmd.Process.Pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return []Item{{Name: name, Status: Warn, Detail: "cannot probe: " + err.Error(), Cost: cost}}
	}
	defer unix.Close(ns)
	var out []Item
	seen := map[string]bool{}
	for _, p := range paths {
		p = existing(p)
		fs := fsType(p)
		if seen[fs] {
			continue
		}
		seen[fs] = true
		it := Item{Name: fmt.Sprintf("%s on %s (%s)", name, fs, p)}
		fd, err := unix.OpenTree(unix.AT_FDCWD, p, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if err != nil {
			it.Status, it.Detail, it.Cost = Warn, "open_tree: "+err.Error(), cost
			out = append(out, it)
			continue
		}
		err = unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(ns)})
		unix.Close(fd)
		if err != nil {
			it.Status, it.Detail, it.Cost = Missing, "refused: "+err.Error(), cost
		} else {
			it.Status, it.Detail = OK, "supported"
		}
		out = append(out, it)
	}
	return out
}

// existing is path or its nearest existing ancestor.
func existing(p string) string {
	for {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		d := filepath.Dir(p)
		if d == p {
			return p
		}
		p = d
	}
}

// fsName names a statfs f_type (a switch: no map built at start-up).
func fsName(t int64) string {
	switch t {
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.EXT4_SUPER_MAGIC:
		return "ext4"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlay"
	case unix.CGROUP2_SUPER_MAGIC:
		return "cgroup2"
	case unix.NFS_SUPER_MAGIC:
		return "nfs"
	case unix.V9FS_MAGIC:
		return "9p"
	case unix.FUSE_SUPER_MAGIC:
		return "fuse"
	case unix.SQUASHFS_MAGIC:
		return "squashfs"
	case unix.F2FS_SUPER_MAGIC:
		return "f2fs"
	case unix.RAMFS_MAGIC:
		return "ramfs"
	}
	return fmt.Sprintf("%#x", t)
}

func fsType(p string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return "unknown"
	}
	return fsName(int64(st.Type))
}

func timens() Item {
	it := Item{Name: "time namespaces"}
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		it.Status, it.Detail, it.Cost = Missing, "no /proc/self/ns/time", "linux.namespaces \"time\" and linux.timeOffsets cannot be used"
		return it
	}
	it.Status, it.Detail = OK, "available"
	return it
}

func readTrim(p string) (string, error) {
	b, err := os.ReadFile(p)
	return strings.TrimSpace(string(b)), err
}

// cgroupItems: the layout, the controllers, the weights' scheduler, the
// delegation, systemd and D-Bus.
func cgroupItems(o Options) []Item {
	var out []Item
	var st unix.Statfs_t
	layout, unified := "v1", ""
	if err := unix.Statfs(cgroups.Root, &st); err != nil {
		return []Item{{Name: "cgroup layout", Status: Missing, Detail: "no " + cgroups.Root + ": " + err.Error(), Cost: "no cgroup: no resource limits", Required: true}}
	}
	switch {
	case st.Type == unix.CGROUP2_SUPER_MAGIC:
		layout, unified = "v2 (unified)", cgroups.Root
	default:
		for _, d := range []string{cgroups.Root + "/unified"} {
			var s2 unix.Statfs_t
			if unix.Statfs(d, &s2) == nil && s2.Type == unix.CGROUP2_SUPER_MAGIC {
				layout, unified = "hybrid (v1 controllers, cgroup2 at "+d+")", d
			}
		}
	}
	out = append(out, Item{Name: "cgroup layout", Status: OK, Detail: layout})
	// The controllers: v1's mounted hierarchies, v2's cgroup.controllers.
	have := map[string]string{}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		entries, _ := os.ReadDir(cgroups.Root)
		for _, e := range entries {
			var s unix.Statfs_t
			p := filepath.Join(cgroups.Root, e.Name())
			if unix.Statfs(p, &s) == nil && s.Type == unix.CGROUP_SUPER_MAGIC && !strings.HasPrefix(e.Name(), "name=") {
				for _, c := range strings.Split(e.Name(), ",") {
					have[c] = p
				}
			}
		}
	}
	if unified != "" {
		c, _ := readTrim(filepath.Join(unified, "cgroup.controllers"))
		if st.Type == unix.CGROUP2_SUPER_MAGIC {
			for _, ctrl := range strings.Fields(c) {
				have[ctrl] = unified
			}
		} else if c != "" {
			// The v1 driver makes the container a cgroup there, but
			// sets no limit in it (as runc).
			out = append(out, Item{Name: "cgroup2 controllers of the hybrid mount", Status: Warn, Detail: c + " in " + unified,
				Cost: "not used for limits: the v1 driver sets them in the v1 hierarchies only"})
		}
	}
	for _, c := range []struct{ name, cost string }{
		{"cpu", "linux.resources.cpu cannot be set"},
		{"cpuset", "linux.resources.cpu.cpus/mems cannot be set"},
		{"memory", "linux.resources.memory cannot be set"},
		{"pids", "linux.resources.pids cannot be set"},
		{"io", ""}, {"blkio", ""},
		{"hugetlb", "linux.resources.hugepageLimits cannot be set"},
		{"devices", ""},
		{"freezer", "pause/resume cannot freeze the container"},
		{"rdma", "linux.resources.rdma cannot be set"},
		{"misc", ""},
	} {
		p, ok := have[c.name]
		switch {
		case ok:
			out = append(out, Item{Name: "cgroup controller " + c.name, Status: OK, Detail: p})
		case c.name == "io" && have["blkio"] != "", c.name == "blkio" && have["io"] != "":
		case c.name == "devices" && unified != "" && st.Type == unix.CGROUP2_SUPER_MAGIC:
			out = append(out, Item{Name: "cgroup controller devices", Status: OK, Detail: "cgroup v2: an eBPF device program"})
		case c.name == "freezer" && st.Type == unix.CGROUP2_SUPER_MAGIC:
			out = append(out, Item{Name: "cgroup controller freezer", Status: OK, Detail: "cgroup v2: cgroup.freeze"})
		case c.name == "io" || c.name == "blkio":
			out = append(out, Item{Name: "cgroup controller io/blkio", Status: Missing, Detail: "not available", Cost: "linux.resources.blockIO cannot be set"})
		case c.cost != "":
			out = append(out, Item{Name: "cgroup controller " + c.name, Status: Missing, Detail: "not available", Cost: c.cost})
		}
	}
	// BFQ: the weight files of a cgroup that would be made.
	switch {
	case have["blkio"] != "":
		dir := filepath.Join(have["blkio"], "husk-check-probe")
		if cgroups.WouldExist(dir, "blkio.weight") || cgroups.WouldExist(dir, "blkio.bfq.weight") {
			out = append(out, Item{Name: "BFQ", Status: OK, Detail: "blkio weights can be set"})
		} else {
			out = append(out, Item{Name: "BFQ", Status: Missing, Detail: "no blkio.weight nor blkio.bfq.weight", Cost: "blkio.weight / io.bfq.weight cannot be set: linux.resources.blockIO.weight is refused"})
		}
	case have["io"] != "":
		dir := filepath.Join(have["io"], "husk-check-probe")
		if cgroups.WouldExist(dir, "io.bfq.weight") || cgroups.WouldExist(dir, "io.weight") {
			out = append(out, Item{Name: "BFQ", Status: OK, Detail: "io weights can be set"})
		} else {
			out = append(out, Item{Name: "BFQ", Status: Missing, Detail: "no io.bfq.weight nor io.weight", Cost: "blkio.weight / io.bfq.weight cannot be set: linux.resources.blockIO.weight is refused"})
		}
	}
	if _, err := os.Stat("/sys/fs/resctrl/schemata"); err != nil {
		out = append(out, Item{Name: "resctrl", Status: Missing, Detail: "not mounted at /sys/fs/resctrl", Cost: "linux.intelRdt cannot be used"})
	} else {
		out = append(out, Item{Name: "resctrl", Status: Warn, Detail: "mounted", Cost: "linux.intelRdt is not managed by this version of husk"})
	}
	out = append(out, delegation(unified, st.Type == unix.CGROUP2_SUPER_MAGIC))
	out = append(out, systemdItems()...)
	return out
}

// delegation: whether the current user may make cgroups of its own.
func delegation(unified string, v2 bool) Item {
	it := Item{Name: "cgroup delegation"}
	if os.Geteuid() == 0 {
		it.Status, it.Detail = OK, "root: not needed"
		return it
	}
	if !v2 {
		it.Status, it.Detail, it.Cost = Warn, "cgroup v1 is not delegated to unprivileged users", "rootless containers run without cgroup limits"
		return it
	}
	own, err := cgroups.OwnCgroups()
	if err != nil {
		it.Status, it.Detail = Warn, err.Error()
		return it
	}
	dir, _ := own.Unified()
	p := filepath.Join(unified, dir)
	if unix.Access(filepath.Join(p, "cgroup.subtree_control"), unix.W_OK) == nil {
		it.Status, it.Detail = OK, p+" is delegated to uid "+strconv.Itoa(os.Geteuid())
		return it
	}
	it.Status, it.Detail, it.Cost = Warn, p+" is not writable by uid "+strconv.Itoa(os.Geteuid()), "rootless containers run without cgroup limits"
	return it
}

func systemdItems() []Item {
	if !systemd.IsRunningSystemd() {
		return []Item{{Name: "systemd", Status: Missing, Detail: "not the init (no /run/systemd/system)", Cost: "--systemd-cgroup cannot be used"}}
	}
	v, err := systemd.Probe(os.Geteuid() != 0)
	if err != nil {
		return []Item{
			{Name: "systemd", Status: OK, Detail: "running"},
			{Name: "D-Bus", Status: Missing, Detail: err.Error(), Cost: "--systemd-cgroup cannot start units"},
		}
	}
	return []Item{
		{Name: "systemd", Status: OK, Detail: "running, version " + strconv.Itoa(v)},
		{Name: "D-Bus", Status: OK, Detail: "systemd reachable"},
	}
}

func userns() []Item {
	var out []Item
	v, err := readTrim("/proc/sys/user/max_user_namespaces")
	switch n, _ := strconv.Atoi(v); {
	case err != nil:
		out = append(out, Item{Name: "user namespaces", Status: Missing, Detail: "no /proc/sys/user/max_user_namespaces", Cost: "linux.namespaces \"user\" cannot be used"})
	case n == 0:
		out = append(out, Item{Name: "user namespaces", Status: Missing, Detail: "max_user_namespaces is 0", Cost: "linux.namespaces \"user\" cannot be used"})
	default:
		out = append(out, Item{Name: "user namespaces", Status: OK, Detail: "max_user_namespaces " + v})
	}
	name := strconv.Itoa(os.Getuid())
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		it := Item{Name: f + " for " + name}
		if r := subIDs(f, name, os.Getuid()); r != "" {
			it.Status, it.Detail = OK, r
		} else if os.Geteuid() == 0 {
			it.Status, it.Detail = OK, "none (root maps any ids)"
		} else {
			it.Status, it.Detail, it.Cost = Warn, "no range", "a rootless container maps only the user's own id"
		}
		out = append(out, it)
	}
	for _, b := range []string{"newuidmap", "newgidmap"} {
		if p, err := exec.LookPath(b); err == nil {
			out = append(out, Item{Name: b, Status: OK, Detail: p})
		} else if os.Geteuid() == 0 {
			out = append(out, Item{Name: b, Status: OK, Detail: "not found (root does not need it)"})
		} else {
			out = append(out, Item{Name: b, Status: Warn, Detail: "not found", Cost: "a rootless container cannot map more than one id"})
		}
	}
	return out
}

func subIDs(file, name string, uid int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	var ranges []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(strings.TrimSpace(l), ":")
		if len(f) == 3 && (f[0] == name || f[0] == strconv.Itoa(uid)) {
			ranges = append(ranges, f[1]+"+"+f[2])
		}
	}
	return strings.Join(ranges, ", ")
}

func lsms() []Item {
	var out []Item
	active, _ := readTrim("/sys/kernel/security/lsm")
	if lsm.AppArmorEnabled() {
		out = append(out, Item{Name: "AppArmor", Status: OK, Detail: "enabled"})
	} else {
		out = append(out, Item{Name: "AppArmor", Status: Missing, Detail: "not enabled", Cost: "process.apparmorProfile is refused"})
	}
	if lsm.SELinuxEnabled() {
		out = append(out, Item{Name: "SELinux", Status: OK, Detail: "enabled"})
	} else {
		out = append(out, Item{Name: "SELinux", Status: Missing, Detail: "not enabled", Cost: "process.selinuxLabel is refused; linux.mountLabel is ignored"})
	}
	if active != "" {
		out = append(out, Item{Name: "LSMs active", Status: OK, Detail: active})
	}
	return out
}

func seccompItems() []Item {
	var out []Item
	out = append(out, Item{Name: "libseccomp", Status: OK, Detail: "version " + seccomp.LibraryVersion() + " (linked in)"})
	// SECCOMP_GET_NOTIF_SIZES answers where the kernel has user
	// notification (5.0); SECCOMP_GET_ACTION_AVAIL says it is on.
	var sizes [3]uint16
	_, _, e := unix.Syscall(unix.SYS_SECCOMP, 3 /* SECCOMP_GET_NOTIF_SIZES */, 0, uintptr(unsafe.Pointer(&sizes)))
	if e != 0 {
		out = append(out, Item{Name: "seccomp notify", Status: Missing, Detail: "SECCOMP_GET_NOTIF_SIZES: " + e.Error(), Cost: "SCMP_ACT_NOTIFY rules cannot be used"})
		return out
	}
	action := uint32(0x7fc00000) // SECCOMP_RET_USER_NOTIF
	_, _, e = unix.Syscall(unix.SYS_SECCOMP, 2 /* SECCOMP_GET_ACTION_AVAIL */, 0, uintptr(unsafe.Pointer(&action)))
	if e != 0 {
		out = append(out, Item{Name: "seccomp notify", Status: Missing, Detail: "SECCOMP_RET_USER_NOTIF: " + e.Error(), Cost: "SCMP_ACT_NOTIFY rules cannot be used"})
		return out
	}
	out = append(out, Item{Name: "seccomp notify", Status: OK, Detail: "available"})
	return out
}

func criuItem() Item {
	p, err := exec.LookPath(criu.Binary)
	if err != nil {
		return Item{Name: "CRIU", Status: Missing, Detail: "not found",
			Cost: "checkpoint/restore is not possible (needs CRIU " + criu.VersionString(criu.MinVersion) + " or later)"}
	}
	// The same test checkpoint and restore (and features) make.
	if err := criu.Usable(); err != nil {
		return Item{Name: "CRIU", Status: Warn, Detail: p + ": " + err.Error(), Cost: "checkpoint/restore will fail"}
	}
	v, _ := criu.Version()
	return Item{Name: "CRIU", Status: OK, Detail: p + ": version " + criu.VersionString(v) + ", criu check passes"}
}

// stateRoot: --root writable (or makeable) and on a tmpfs.
func stateRoot(root string) []Item {
	var out []Item
	p := existing(root)
	it := Item{Name: "state root " + root, Required: true}
	if unix.Access(p, unix.W_OK) == nil {
		it.Status, it.Detail = OK, "writable"
		if p != root {
			it.Detail = "can be made (" + p + " is writable)"
		}
	} else {
		it.Status, it.Detail, it.Cost = Missing, p+" is not writable", "no container can be created with this --root"
	}
	out = append(out, it)
	fs := fsType(p)
	if fs == "tmpfs" || fs == "ramfs" {
		out = append(out, Item{Name: "state root on tmpfs", Status: OK, Detail: fs})
	} else {
		out = append(out, Item{Name: "state root on tmpfs", Status: Warn, Detail: "on " + fs, Cost: "state of containers survives a reboot: stale entries after one"})
	}
	return out
}
