// Package cgroups places a container's processes in its cgroup and applies
// its limits. Manager is the one interface; the drivers are fs (cgroup v1,
// including hybrid hosts), fs2 (the unified v2 hierarchy) and systemd
// (transient units over D-Bus, on a v2 host); package manager picks one.
package cgroups

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/system"
	"golang.org/x/sys/unix"
)

// Manager manages one container's cgroup.
type Manager interface {
	// Create makes the cgroup so that a process can be born in it
	// (CLONE_INTO_CGROUP, or the C stage joining v1 hierarchies). A
	// driver that makes the cgroup around a process (systemd) does
	// nothing here: Apply does it all.
	Create() error
	// Apply creates the cgroup if need be and moves pid into it.
	Apply(pid int) error
	// Set applies resource limits; on update, only those that are set.
	Set(r *configs.Resources) error
	// Paths maps each hierarchy (a Hierarchy key) to the container's
	// cgroup directory in it. Stored in state.json.
	Paths() Paths
	// Placement says how a new process gets into the cgroup: born in it,
	// or forked outside and put in by Apply.
	Placement() Placement
	// Pids lists every process in the cgroup and its descendants.
	Pids() ([]int, error)
	// Freeze freezes (or thaws) every process in the cgroup, and returns
	// once the kernel reports the cgroup frozen (thawed).
	Freeze(frozen bool) error
	// Frozen reports whether the cgroup is frozen.
	Frozen() (bool, error)
	// Stats reads the cgroup's usage counters.
	Stats() (*Stats, error)
	// OOM returns a channel that receives a value for each OOM kill in
	// the cgroup from now on, and a function that stops the watch.
	OOM() (<-chan struct{}, func(), error)
	// Kill sends SIGKILL to every process in the cgroup, through
	// cgroup.kill where the kernel has it; ErrNoKill otherwise.
	Kill() error
	// Destroy removes the cgroup. Processes must be gone.
	Destroy() error
}

// FreezeTimeout bounds the wait for a freeze to complete: Freeze's (a
// freeze that does not complete is undone and reported), and that of a
// reader of the state (Frozen) that finds one in progress.
var FreezeTimeout = 10 * time.Second

// ErrNoKill is Kill's answer where the cgroup cannot be killed as one.
var ErrNoKill = errors.New("cgroup.kill not available")

// Root is where cgroup filesystems are mounted.
const Root = "/sys/fs/cgroup"

// IsUnified reports whether the host runs the unified (v2-only) hierarchy.
var IsUnified = sync.OnceValue(func() bool {
	var st unix.Statfs_t
	if err := unix.Statfs(Root, &st); err != nil {
		return false
	}
	return st.Type == unix.CGROUP2_SUPER_MAGIC
})

// WriteFile writes one cgroup control file; the error names file and value.
// While a Journal is open, the file's previous content is recorded.
func WriteFile(dir, file, value string) error {
	if w := dry(); w != nil {
		return dryWrite(w, dir, file, value)
	}
	p := filepath.Join(dir, file)
	j := recording()
	var old []byte
	if j != nil {
		var err error
		if old, err = system.ReadFile(p); err != nil {
			return fmt.Errorf("cgroup: read %s: %w", p, unwrap(err))
		}
	}
	if err := system.WriteFile(p, value); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) && pe.Op == "open" {
			return fmt.Errorf("cgroup: open %s: %w", p, pe.Err)
		}
		return fmt.Errorf("cgroup: write %q to %s: %w", value, p, unwrap(err))
	}
	if j != nil {
		j.note(dir, file, value, string(old))
	}
	return nil
}

// DeviceLine is one "MAJ:MIN field..." line of a per-device cgroup file
// (v1's blkio.* counters, v2's io.stat).
type DeviceLine struct {
	Major, Minor uint64
	Fields       []string // at least one
}

// DeviceLines parses a per-device file's lines; others (v1's "Total N")
// are skipped.
func DeviceLines(data string) []DeviceLine {
	var out []DeviceLine
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		maj, min, ok := strings.Cut(f[0], ":")
		if !ok {
			continue
		}
		l := DeviceLine{Fields: f[1:]}
		l.Major, _ = strconv.ParseUint(maj, 10, 64)
		l.Minor, _ = strconv.ParseUint(min, 10, 64)
		out = append(out, l)
	}
	return out
}

// ReadFile reads one cgroup control file, trimmed.
func ReadFile(dir, file string) (string, error) {
	if w := dry(); w != nil {
		return dryRead(w, dir, file)
	}
	b, err := system.ReadFile(filepath.Join(dir, file))
	return strings.TrimSpace(string(b)), err
}

func unwrap(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ReadProcs reads cgroup.procs of dir and of every cgroup below it.
func ReadProcs(dir string) ([]int, error) {
	var pids []int
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		b, err := system.ReadFile(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		for _, l := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(l); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	return pids, err
}

// RemovePath removes dir and every cgroup below it, deepest first. A cgroup
// whose last process has just exited can briefly report EBUSY; that is
// retried a few times.
func RemovePath(dir string) error {
	// Usually the cgroup has no children: one rmdir.
	switch err := unix.Rmdir(dir); err {
	case nil, unix.ENOENT:
		return nil
	}
	var subdirs []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			subdirs = append(subdirs, p)
		}
		return nil
	})
	for i := len(subdirs) - 1; i >= 0; i-- {
		if err := rmdir(subdirs[i]); err != nil {
			return err
		}
	}
	return nil
}

func rmdir(p string) error {
	var err error
	for try := 0; try < 50; try++ {
		err = unix.Rmdir(p)
		if err == nil || err == unix.ENOENT {
			return nil
		}
		if err != unix.EBUSY {
			break
		}
		// Only reached when tasks are still leaving the cgroup.
		unix.Nanosleep(&unix.Timespec{Nsec: int64(1+try) * 1e6}, nil)
	}
	return fmt.Errorf("cgroup: remove %s: %w", p, err)
}

// OwnCgroups parses /proc/self/cgroup: hierarchy (Hierarchy key) →
// cgroup path.
func OwnCgroups() (Paths, error) {
	b, err := system.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	out := Paths{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 {
			out[parts[1]] = parts[2]
		}
	}
	return out, nil
}

// Join resolves the container's cgroup path inside a hierarchy: an absolute
// path is taken from the hierarchy's root, a relative one from own, the
// cgroup of the calling process.
func Join(mountpoint, mountRoot, own, path string) string {
	if !filepath.IsAbs(path) {
		path = filepath.Join(own, path)
	}
	rel, err := filepath.Rel(mountRoot, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		// The hierarchy is mounted from below our cgroup's ancestor; use
		// the path as seen from the mount.
		rel = strings.TrimPrefix(path, "/")
	}
	return filepath.Join(mountpoint, rel)
}

// ParseUint parses a cgroup number; "max" (and -1, as some v1 files say
// for unlimited) is math.MaxUint64.
func ParseUint(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if s == "max" || s == "-1" {
		return math.MaxUint64, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		// Negative values (v1 counters gone wrong) read as 0.
		if i, ierr := strconv.ParseInt(s, 10, 64); ierr == nil && i < 0 {
			return 0, nil
		}
		return 0, err
	}
	return v, nil
}

// ReadUint reads a one-number cgroup file.
func ReadUint(dir, file string) (uint64, error) {
	s, err := ReadFile(dir, file)
	if err != nil {
		return 0, err
	}
	v, err := ParseUint(s)
	if err != nil {
		return 0, fmt.Errorf("cgroup: parse %s: %w", filepath.Join(dir, file), err)
	}
	return v, nil
}

// ReadKeyValues reads a flat-keyed file ("key value" per line), such as
// memory.stat, cpu.stat or memory.events.
func ReadKeyValues(dir, file string) (map[string]uint64, error) {
	s, err := ReadFile(dir, file)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if n, err := ParseUint(v); err == nil {
			out[k] = n
		}
	}
	return out, nil
}

// ReadPSI reads a *.pressure file (nil if the kernel has none).
func ReadPSI(dir, file string) *PSIStats {
	s, err := ReadFile(dir, file)
	if err != nil {
		return nil
	}
	var ps PSIStats
	for _, line := range strings.Split(s, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		var d *PSIData
		switch fields[0] {
		case "some":
			d = &ps.Some
		case "full":
			d = &ps.Full
		default:
			continue
		}
		for _, kv := range fields[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "avg10":
				d.Avg10, _ = strconv.ParseFloat(v, 64)
			case "avg60":
				d.Avg60, _ = strconv.ParseFloat(v, 64)
			case "avg300":
				d.Avg300, _ = strconv.ParseFloat(v, 64)
			case "total":
				d.Total, _ = strconv.ParseUint(v, 10, 64)
			}
		}
	}
	return &ps
}

// ParseList parses a cpuset list ("0-3,7") into its members.
func ParseList(s string) ([]uint16, error) {
	var out []uint16
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("cpuset list %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
				return nil, fmt.Errorf("cpuset list %q: bad range %q", s, part)
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, uint16(i))
		}
	}
	return out, nil
}

// HugePageSizes lists the host's hugepage sizes in the cgroup files' form
// ("2MB", "1GB").
var HugePageSizes = sync.OnceValue(func() []string {
	ents, _ := os.ReadDir("/sys/kernel/mm/hugepages")
	var out []string
	for _, e := range ents {
		kb, ok := strings.CutPrefix(e.Name(), "hugepages-")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(kb, "kB"), 10, 64)
		if err != nil {
			continue
		}
		out = append(out, PageSizeName(n*1024))
	}
	return out
})

// PageSizeName names a page size as the hugetlb files do: 2MB, 1GB, 64KB.
func PageSizeName(bytes uint64) string {
	units := []string{"B", "KB", "MB", "GB", "TB", "PB"}
	i := 0
	for bytes >= 1024 && bytes%1024 == 0 && i < len(units)-1 {
		bytes /= 1024
		i++
	}
	return strconv.FormatUint(bytes, 10) + units[i]
}

// CheckHugePageSize says whether the host has page size s.
func CheckHugePageSize(s string) error {
	for _, have := range HugePageSizes() {
		if have == s {
			return nil
		}
	}
	return fmt.Errorf("hugepage size %s is not supported by this host (it has %s)", s, strings.Join(HugePageSizes(), ", "))
}

// PidsMax is pids.max for the spec's pids limit: a negative limit is
// "max", and 0 is 1, as runc has it with every driver (systemd refuses
// TasksMax=0; a group that may not even fork once works the same).
func PidsMax(limit int64) string {
	switch {
	case limit < 0:
		return "max"
	case limit == 0:
		return "1"
	}
	return strconv.FormatInt(limit, 10)
}

// SharesToWeight converts cpu.shares [2, 262144] to cpu.weight [1, 10000]
// with runc's current formula, which keeps the defaults aligned (1024 →
// 100) on a logarithmic scale: ⌈10^((L²+125L)/612 − 7/34)⌉, L = log2(shares).
func SharesToWeight(shares uint64) uint64 {
	if shares == 0 {
		return 0
	}
	shares = min(max(shares, 2), 262144)
	l := math.Log2(float64(shares))
	w := math.Ceil(math.Pow(10, (l*l+125*l)/612.0-7.0/34.0))
	return min(max(uint64(w), 1), 10000)
}

// BlkioWeightToIOWeight converts blkio.weight [10, 1000] to io.weight
// [1, 10000] linearly, as runc.
func BlkioWeightToIOWeight(w uint16) uint64 {
	if w == 0 {
		return 0
	}
	return 1 + (uint64(w)-10)*9999/990
}

// SwapV2 converts the spec's memory+swap to v2's memory.swap.max, as
// runc: "" leaves it alone (swap unset or 0), -1 is unlimited, as is an
// unset swap with an unlimited memory; otherwise swap-limit, which needs a
// limit at or below swap.
func SwapV2(swap, limit *int64) (string, error) {
	var s, l int64
	if swap != nil {
		s = *swap
	}
	if limit != nil {
		l = *limit
	}
	switch {
	case s == -1 || (s == 0 && l == -1):
		return "max", nil
	case s == 0:
		return "", nil
	case l == 0 || l == -1:
		return "", fmt.Errorf("memory swap %d needs a memory limit too (swap is memory+swap)", s)
	case s < l:
		return "", fmt.Errorf("memory swap %d is below the memory limit %d (swap is memory+swap)", s, l)
	}
	return strconv.FormatInt(s-l, 10), nil
}

// RdmaLines are the rdma.max lines for r ("dev hca_handle=N hca_object=M",
// "max" where unset), in device order.
func RdmaLines(r map[string]configs.RdmaLimit) []string {
	v := func(p *uint32) string {
		if p == nil {
			return "max"
		}
		return strconv.FormatUint(uint64(*p), 10)
	}
	var out []string
	for dev, l := range r {
		out = append(out, fmt.Sprintf("%s hca_handle=%s hca_object=%s", dev, v(l.HcaHandles), v(l.HcaObjects)))
	}
	sort.Strings(out)
	return out
}
