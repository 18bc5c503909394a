package fs2

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// TestSetDevices checks that Set enforces device rules: a shell born in
// the cgroup may read /dev/null under the default rules and may not once
// the rules deny everything. It uses a cgroup of its own on whatever
// cgroup2 filesystem is mounted (/sys/fs/cgroup/unified on a hybrid host).
func TestSetDevices(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	mnt := ""
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			pre, post, _ := strings.Cut(s.Text(), " - ")
			if fields := strings.Fields(pre); len(fields) >= 5 && strings.HasPrefix(post, "cgroup2 ") && fields[3] == "/" {
				mnt = fields[4]
				break
			}
		}
		f.Close()
	}
	if mnt == "" {
		t.Skip("no cgroup2 filesystem mounted")
	}
	dir := filepath.Join(mnt, fmt.Sprintf("husk-fs2-devices-test-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skip(err)
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		os.Remove(dir)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Close(fd)
		for i := 0; unix.Rmdir(dir) != nil && i < 50; i++ {
			time.Sleep(20 * time.Millisecond) // busy until the child is gone
		}
	})
	sh := func() error {
		cmd := exec.Command("/bin/sh", "-c", "exec cat /dev/null")
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	}

	m := Load(dir)
	null := configs.DeviceRule{Allow: true, Type: 'c', Major: 1, Minor: 3, Access: "rwm"}
	denyAll := configs.DeviceRule{Type: 'a', Major: -1, Minor: -1, Access: "rwm"}
	if err := m.Set(&configs.Resources{Devices: []configs.DeviceRule{denyAll, null}}); err != nil {
		t.Fatal(err)
	}
	if err := sh(); err != nil {
		t.Errorf("reading /dev/null with it allowed: %v", err)
	}
	if err := m.Set(&configs.Resources{Devices: []configs.DeviceRule{null, denyAll}}); err != nil {
		t.Fatal(err)
	}
	var exit *exec.ExitError
	if err := sh(); !errors.As(err, &exit) || !strings.Contains(err.Error(), "Operation not permitted") {
		t.Errorf("reading /dev/null with every device denied: %v", err)
	}
	// An update without device rules leaves the filter alone.
	if err := m.Set(&configs.Resources{}); err != nil {
		t.Fatal(err)
	}
	if err := sh(); err == nil {
		t.Error("an update without device rules lifted the filter")
	}
}
