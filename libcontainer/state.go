package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/husk-runtime/husk/libcontainer/cgroups/manager"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/jsonfast"
	"github.com/husk-runtime/husk/libcontainer/system"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Lifecycle errors; test with errors.Is.
var (
	ErrNotExist = errors.New("container does not exist")
	ErrExist    = errors.New("container with given ID already exists")
	ErrState    = errors.New("container is not in the right state")
	ErrBadID    = errors.New("invalid container id")
	// ErrNotRunning: the container's init is gone (runc's words).
	ErrNotRunning = errors.New("container not running")
)

// Status is the OCI status of a container.
type Status string

const (
	Creating Status = "creating"
	Created  Status = "created"
	Running  Status = "running"
	Stopped  Status = "stopped"
	Paused   Status = "paused"
)

const (
	stateFile = "state.json"
	fifoFile  = "exec.fifo"
)

// State is what husk records about a container in ROOT/ID/state.json.
type State struct {
	ID            string          `json:"id"`
	InitPid       int             `json:"init_pid"`
	InitStartTime uint64          `json:"init_start_time"`
	Bundle        string          `json:"bundle"`
	Created       time.Time       `json:"created"`
	Owner         string          `json:"owner"`
	Config        *configs.Config `json:"config"`
	// Process is the init's process, what `exec` starts from.
	Process     *configs.Process  `json:"process"`
	CgroupPaths map[string]string `json:"cgroup_paths"`
	// HostMounts are the mounts a container without a mount namespace of
	// its own made in husk's, removed at delete.
	HostMounts []string `json:"host_mounts,omitempty"`
	// Creating is set while `create` runs: it writes the state, with the
	// cgroup paths, before it makes anything, so that a delete after a
	// create that was killed at any instant finds all there is to remove.
	Creating bool `json:"creating,omitempty"`
	// ExternalDescriptors name the init's fds 0, 1 and 2 as they were when
	// it was made (before the workload could move them): a checkpoint
	// records them, and restore hands the pipes among them back.
	ExternalDescriptors []string `json:"external_descriptors,omitempty"`
}

// Container is a container known to husk, loaded from its state directory.
type Container struct {
	root  string // --root
	dir   string // ROOT/ID
	State State
	// notify is the container's sd_notify socket while this command
	// listens on it.
	notify *net.UnixConn
	// lock is the container's lock while this command holds it
	// (LoadLocked, Create).
	lock *os.File
}

// Load reads a container's state.
func Load(root, id string) (*Container, error) {
	if err := configs.ValidateID(id); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadID, err)
	}
	dir := filepath.Join(root, id)
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotExist
		}
		return nil, err
	}
	c := &Container{root: root, dir: dir}
	if err := jsonfast.Unmarshal(b, &c.State, decodeState); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	// What another tool, a full disk or a crash could have left there is
	// refused here, not dereferenced later.
	switch {
	case c.State.ID != id:
		return nil, fmt.Errorf("%s: id %q, want %q", filepath.Join(dir, stateFile), c.State.ID, id)
	case c.State.Config == nil || c.State.Process == nil:
		return nil, fmt.Errorf("%s: no container config in it", filepath.Join(dir, stateFile))
	}
	return c, nil
}

// List returns the names of the directories under root, sorted: the
// containers, and whatever else is there (a create in progress, a state
// directory damaged); Load tells them apart.
func List(root string) ([]string, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// save writes state.json atomically: a temporary file renamed over it.
func (c *Container) save() error {
	b, err := jsonfast.Marshal(&c.State, encodeState)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.dir, ".state-")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(c.dir, stateFile)); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// ID returns the container's id.
func (c *Container) ID() string { return c.State.ID }

// Status derives the status from the init process and the exec fifo: a dead
// init means stopped; a fifo nobody has opened yet means created. A
// container whose create is still at work (it holds the lock) is creating;
// one whose create died is stopped, whatever it left.
func (c *Container) Status() Status {
	if c.State.Creating {
		if c.lock == nil && lockedByOther(c.dir) {
			return Creating
		}
		return Stopped
	}
	if !system.Alive(c.State.InitPid, c.State.InitStartTime) {
		return Stopped
	}
	if c.frozen() {
		return Paused
	}
	if _, err := os.Lstat(filepath.Join(c.dir, fifoFile)); err == nil {
		return Created
	}
	return Running
}

// frozen reports whether the container's cgroup is frozen (paused). One
// that stays half-frozen (FREEZING) is: it does not run freely, and
// resume or delete thaw it.
func (c *Container) frozen() bool {
	if c.State.Config == nil || c.State.Config.Cgroup == nil {
		return false
	}
	f, err := manager.Load(c.State.Config.Cgroup, c.State.CgroupPaths).Frozen()
	if err != nil {
		slog.Debug("reading the container's freezer state", "id", c.State.ID, "err", err)
	}
	return f
}

// OCIState is the state of the OCI runtime spec, plus runc's extra fields
// (rootfs, created, owner), as `state` and `list --format json` print it.
type OCIState struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      Status            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Owner       string            `json:"owner"`
}

// OCIState returns the container's OCI state.
func (c *Container) OCIState() OCIState {
	st := c.Status()
	pid := c.State.InitPid
	if st == Stopped {
		pid = 0
	}
	return OCIState{
		OCIVersion:  specs.Version,
		ID:          c.State.ID,
		Pid:         pid,
		Status:      st,
		Bundle:      c.State.Bundle,
		Rootfs:      c.State.Config.Rootfs,
		Created:     c.State.Created,
		Annotations: c.State.Config.Annotations,
		Owner:       c.State.Owner,
	}
}

// ociState is the spec's state, as hooks get it on stdin. It is encoded
// when first asked for, once: most containers have no hook and no seccomp
// agent, and encoding/json's first Marshal of a type costs a command
// ~0.3 ms building its tables.
func ociState(id string, status Status, pid int, bundle string, cfg *configs.Config) func() []byte {
	return sync.OnceValue(func() []byte {
		b, _ := json.Marshal(specs.State{
			Version: specs.Version, ID: id, Status: specs.ContainerState(status), Pid: pid,
			Bundle: bundle, Annotations: cfg.Annotations,
		})
		return b
	})
}

// hookState is ociState for this container.
func (c *Container) hookState(status Status, pid int) func() []byte {
	return ociState(c.State.ID, status, pid, c.State.Bundle, c.State.Config)
}

// pidfd returns a pidfd of the init, or ESRCH if it has exited.
func (c *Container) pidfd() (int, error) {
	return system.PidfdOpen(c.State.InitPid, c.State.InitStartTime)
}

// ensureRoot makes the state root, readable by root only.
func ensureRoot(root string) error {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return err
	}
	return unix.Access(root, unix.W_OK)
}
