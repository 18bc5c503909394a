package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Write is one write a driver's Set makes: a control file and its value,
// or (File "systemd:" + property) a property of a systemd unit, or the
// cgroup v2 device program (File "bpf:devices").
type Write struct {
	Dir, File, Value string
}

// A dry run (Plan) runs a driver's Set without touching anything: each
// write is checked against the host (the control file exists in the
// cgroup, or in the nearest one that exists and has the controller: the
// new cgroup does not exist yet) and recorded. The checks and the values
// are those of the real Set: it is the same code.
var dryRun atomic.Pointer[[]Write]

// Plan runs set (a Manager's Set) as a dry run and returns the writes it
// would make, or the error it would fail with.
func Plan(set func() error) ([]Write, error) {
	var writes []Write
	dryRun.Store(&writes)
	defer dryRun.Store(nil)
	err := set()
	return writes, err
}

// dry returns the dry run's record, nil when writes are real.
func dry() *[]Write { return dryRun.Load() }

// IsDryRun reports whether writes are being recorded (Plan), for a
// driver's step that is not a file write (a device program, a D-Bus call).
func IsDryRun() bool { return dry() != nil }

// RecordDry records a write that is not to a control file (a systemd
// property, the v2 device program) during a dry run.
func RecordDry(dir, what, value string) {
	if w := dry(); w != nil {
		*w = append(*w, Write{Dir: dir, File: what, Value: value})
	}
}

// dryWrite checks and records one write of a dry run; the error reads as
// a real write's.
func dryWrite(w *[]Write, dir, file, value string) error {
	p := filepath.Join(dir, file)
	if !Exists(dir, file) {
		return fmt.Errorf("cgroup: open %s: %w", p, unix.ENOENT)
	}
	*w = append(*w, Write{Dir: dir, File: file, Value: value})
	return nil
}

// dryRead reads a file of a dry run: the value written earlier in it, or
// the probe cgroup's.
func dryRead(w *[]Write, dir, file string) (string, error) {
	for i := len(*w) - 1; i >= 0; i-- {
		if (*w)[i].Dir == dir && (*w)[i].File == file {
			return strings.TrimSpace((*w)[i].Value), nil
		}
	}
	b, err := os.ReadFile(filepath.Join(probeDir(dir, file), file))
	return strings.TrimSpace(string(b)), err
}

// Exists reports whether dir has control file file. During a dry run a
// dir that does not exist yet is judged by the cgroup that would stand
// for it (probeDir).
func Exists(dir, file string) bool {
	if dry() != nil {
		dir = probeDir(dir, file)
	}
	_, err := os.Stat(filepath.Join(dir, file))
	return err == nil
}

// probeDir is the cgroup whose files tell which ones dir will have when
// made: dir itself if it exists; else its nearest existing ancestor,
// unless that is a hierarchy's root, which lacks many control files
// (pids.max, and on v2 all the controllers'): then a child of the root
// (on v2, one with file's controller enabled).
func probeDir(dir, file string) string {
	if _, err := os.Stat(dir); err == nil {
		return dir
	}
	d := dir
	for {
		parent := filepath.Dir(d)
		if parent == d {
			return dir
		}
		d = parent
		if _, err := os.Stat(d); err == nil {
			break
		}
	}
	var st unix.Statfs_t
	if err := unix.Statfs(d, &st); err != nil {
		return d
	}
	v2 := st.Type == unix.CGROUP2_SUPER_MAGIC
	var pst unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(d), &pst); err == nil && pst.Type == st.Type {
		return d // not a hierarchy's root
	}
	ctrl, _, _ := strings.Cut(file, ".")
	entries, err := os.ReadDir(d)
	if err != nil {
		return d
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if !v2 {
			return filepath.Join(d, e.Name()) // v1: every cgroup below the root has every file
		}
		c, err := ReadFile(filepath.Join(d, e.Name()), "cgroup.controllers")
		if err == nil && strings.Contains(" "+c+" ", " "+ctrl+" ") {
			return filepath.Join(d, e.Name())
		}
	}
	return d
}

// WouldExist reports whether a cgroup made at dir (which need not exist)
// would have control file file: what a dry run's writes are checked
// against (`husk check` asks it of the host).
func WouldExist(dir, file string) bool {
	_, err := os.Stat(filepath.Join(probeDir(dir, file), file))
	return err == nil
}
