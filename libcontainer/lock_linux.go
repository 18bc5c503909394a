package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// ErrBusy is returned when another husk command keeps a container locked
// for longer than lockTimeout.
var ErrBusy = errors.New("container is busy: another command holds its lock")

// lockTimeout bounds the wait for another command on the same container
// (a create with slow hooks, a delete waiting for an init to die).
const lockTimeout = 20 * time.Second

// lockDir takes an flock on the container's state directory: exclusive for
// the commands that change the container (create, start, delete, pause,
// resume, update), shared for exec. Every such command on one container is
// so serialized; a crashed command's lock goes with its process. The fd
// is close-on-exec: no child (the init least of all) holds it.
func lockDir(dir string, exclusive bool) (*os.File, error) {
	f, err := os.OpenFile(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	deadline := time.Now().Add(lockTimeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", dir, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w (waited %v for %s)", ErrBusy, lockTimeout, dir)
		}
		time.Sleep(wait)
	}
}

// lockedByOther reports whether another process holds the lock of dir (a
// create still at work), without waiting.
func lockedByOther(dir string) bool {
	f, err := os.OpenFile(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	return unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) == unix.EWOULDBLOCK
}

// LoadLocked loads a container holding its lock (exclusive or shared) until
// Unlock. A state directory without a state (a create that died before it
// wrote anything) is removed under the lock and reported as ErrNotExist.
func LoadLocked(root, id string, exclusive bool) (*Container, error) {
	if err := configs.ValidateID(id); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadID, err)
	}
	dir := filepath.Join(root, id)
	lock, err := lockDir(dir, exclusive)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotExist
		}
		return nil, err
	}
	c, err := Load(root, id)
	if err != nil {
		if errors.Is(err, ErrNotExist) && exclusive {
			os.RemoveAll(dir)
		}
		lock.Close()
		return nil, err
	}
	c.lock = lock
	return c, nil
}

// Unlock releases the lock LoadLocked took (or Create's), if any.
func (c *Container) Unlock() {
	if c != nil && c.lock != nil {
		c.lock.Close()
		c.lock = nil
	}
}
