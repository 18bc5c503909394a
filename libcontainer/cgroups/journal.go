package cgroups

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/husk-runtime/husk/libcontainer/configs"
)

// A Journal records, while it is open, the previous content of every
// control file WriteFile changes, so that a change that fails partway (an
// update the kernel refuses at its third file) can be undone: Undo writes
// the old values back, newest first, which passes through the same states
// backwards, each of which the kernel accepted. Only one journal is open
// at a time in a process; husk opens one around an update.
type Journal struct {
	entries []journalEntry
}

type journalEntry struct {
	dir, file, written, old string
}

var journal struct {
	sync.Mutex
	open *Journal
}

// Record opens a journal of the control files written from now until
// Close.
func Record() *Journal {
	j := &Journal{}
	journal.Lock()
	journal.open = j
	journal.Unlock()
	return j
}

// Close stops recording.
func (j *Journal) Close() {
	journal.Lock()
	if journal.open == j {
		journal.open = nil
	}
	journal.Unlock()
}

// recording returns the open journal, if any.
func recording() *Journal {
	journal.Lock()
	defer journal.Unlock()
	return journal.open
}

// note records a successful write of value over old.
func (j *Journal) note(dir, file, value, old string) {
	journal.Lock()
	defer journal.Unlock()
	j.entries = append(j.entries, journalEntry{dir: dir, file: file, written: value, old: old})
}

// Undo writes back what the recorded writes replaced, newest first. It
// goes on past a failure and returns every one.
func (j *Journal) Undo() error {
	j.Close()
	var errs []error
	for i := len(j.entries) - 1; i >= 0; i-- {
		e := j.entries[i]
		v, err := restoreValue(e.file, e.written, e.old)
		if err == nil {
			err = WriteFile(e.dir, e.file, v)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("restore %s: %w", filepath.Join(e.dir, e.file), err))
		}
	}
	j.entries = nil
	return errors.Join(errs...)
}

// restoreValue is what to write to file to undo writing it: the old
// content for a one-value file; for a file of one line per device (or
// interface), the old line of the device written, or the value that
// removes its setting if it had none.
func restoreValue(file, written, old string) (string, error) {
	old = strings.TrimSpace(old)
	switch {
	case file == "memory.oom_control":
		for _, l := range strings.Split(old, "\n") {
			if v, ok := strings.CutPrefix(l, "oom_kill_disable "); ok {
				return v, nil
			}
		}
		return "", errors.New("no oom_kill_disable in its old content")
	case keyedFile(file):
		key, _, hasKey := strings.Cut(written, " ")
		if !hasKey {
			key = "default" // v2 io.weight's plain number
		}
		for _, l := range strings.Split(old, "\n") {
			if k, _, _ := strings.Cut(l, " "); k == key {
				return l, nil
			}
		}
		switch {
		case file == "io.max":
			return key + " rbps=max wbps=max riops=max wiops=max", nil
		case file == "rdma.max":
			return key + " hca_handle=max hca_object=max", nil
		case strings.HasPrefix(file, "io."):
			return key + " default", nil
		}
		return key + " 0", nil // v1: no weight or rate for the device
	case strings.Contains(old, "\n"):
		return "", errors.New("its old content has several lines")
	}
	return old, nil
}

// keyedFile says whether a control file holds one line per device or
// interface, of which a write changes one.
func keyedFile(file string) bool {
	switch file {
	case "io.max", "io.weight", "io.bfq.weight", "rdma.max", "net_prio.ifpriomap":
		return true
	}
	return strings.HasPrefix(file, "blkio.") && strings.HasSuffix(file, "_device")
}

// Validate checks what can be checked of r before anything is written: the
// values the kernel would refuse whatever the cgroup (an update checks the
// container's resources with its changes merged in, so that it fails
// before its first write rather than halfway).
func Validate(r *configs.Resources) error {
	if r == nil {
		return nil
	}
	if l, s := r.MemoryLimit, r.MemorySwap; l != nil && s != nil && *l > 0 && *s > 0 && *s < *l {
		return fmt.Errorf("memory swap %d is below the memory limit %d (swap is the limit of memory plus swap)", *s, *l)
	}
	if p := r.CPUPeriod; p != nil && *p != 0 && (*p < 1000 || *p > 1000000) {
		return fmt.Errorf("cpu period %d is not in the range 1000-1000000 (µs)", *p)
	}
	if q := r.CPUQuota; q != nil && *q != 0 && *q != -1 && *q < 1000 {
		return fmt.Errorf("cpu quota %d is below 1000 (µs), the smallest the kernel takes", *q)
	}
	if rt, p := r.CPURtRuntime, r.CPURtPeriod; rt != nil && p != nil && *p != 0 && *rt > 0 && uint64(*rt) > *p {
		return fmt.Errorf("cpu realtime runtime %d is above its period %d", *rt, *p)
	}
	for name, list := range map[string]string{"cpus": r.CPUs, "mems": r.Mems} {
		if _, err := ParseList(list); err != nil {
			return fmt.Errorf("cpuset %s: %w", name, err)
		}
	}
	return nil
}
