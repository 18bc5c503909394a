package libcontainer

import (
	"testing"

	"github.com/husk-runtime/husk/libcontainer/initproto"
)

// The fd table is laid out as initproto documents it: stdio, the preserved
// fds, then each role in FdRoles order, with FdsAfterSocket fds after the
// socket (the C stage closes the rest), whatever roles are missing.
func TestFdTableAsDocumented(t *testing.T) {
	all := layoutFds(fdSources{preserve: 2, containerPidfd: 100, console: 101, parentPidfd: 102, socket: 103, fifo: 104})
	byRole := map[string]int{
		"container-pidfd": all.containerPidfd, "console-socket": all.console,
		"parent-pidfd": all.parentPidfd, "socket": all.socket, "fifo": all.fifo,
	}
	if len(byRole) != len(initproto.FdRoles) {
		t.Fatalf("fdTable has %d roles, initproto documents %d", len(byRole), len(initproto.FdRoles))
	}
	for i, role := range initproto.FdRoles {
		n, ok := byRole[role]
		if !ok || n != 5+i {
			t.Errorf("%s is fd %d, want %d (after stdio and 2 preserved fds, in FdRoles order)", role, n, 5+i)
		}
		if all.files[n] != uintptr(100+i) {
			t.Errorf("%s: the parent's fd %d goes there, want %d", role, all.files[n], 100+i)
		}
	}
	if last := len(all.files) - 1; last != all.socket+initproto.FdsAfterSocket {
		t.Errorf("%d fds after the socket, the C stage keeps %d", last-all.socket, initproto.FdsAfterSocket)
	}
	// create: no container pidfd; exec: no fifo, no console.
	c := layoutFds(fdSources{containerPidfd: -1, console: -1, parentPidfd: 7, socket: 8, fifo: 9})
	if c.containerPidfd != -1 || c.console != -1 || c.parentPidfd != 3 || c.socket != 4 || c.fifo != 5 {
		t.Errorf("create: %+v", c)
	}
	e := layoutFds(fdSources{preserve: 1, containerPidfd: 7, console: -1, parentPidfd: 8, socket: 9, fifo: -1})
	if e.containerPidfd != 4 || e.parentPidfd != 5 || e.socket != 6 || e.fifo != -1 || len(e.files) != 7 {
		t.Errorf("exec: %+v", e)
	}
}
