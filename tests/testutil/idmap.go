package testutil

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// IdmapUnsupported says why dir's filesystem cannot be mounted idmapped
// on this host ("" when it can): it tries, on a detached copy of dir's
// mount, with the user namespace of a child that maps 0 to 1000.
func IdmapUnsupported(dir string) string {
	cmd := exec.Command("/bin/sh", "-c", "read x")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 1000, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 1000, Size: 1}},
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "a user namespace: " + err.Error()
	}
	if err := cmd.Start(); err != nil {
		return "a user namespace: " + err.Error()
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	userns, err := os.Open("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/user")
	if err != nil {
		return "a user namespace: " + err.Error()
	}
	defer userns.Close()
	tree, err := unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return "open_tree " + dir + ": " + err.Error()
	}
	defer unix.Close(tree)
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns.Fd())}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, attr); err != nil {
		return "idmapped mounts of " + dir + "'s filesystem: " + err.Error()
	}
	return ""
}
