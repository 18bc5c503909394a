package testutil

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"
)

// ProcAlive reports whether pid is a live (non-zombie) process.
func ProcAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}

// Proc is what the leak scans know of a process.
type Proc struct {
	Pid     int
	Cwd     string
	Root    string
	Cmdline string
	Cgroup  string // /proc/PID/cgroup
}

// Processes lists the live processes other than this one.
func Processes() []Proc {
	ents, _ := os.ReadDir("/proc")
	var out []Proc
	self := os.Getpid()
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == self || !ProcAlive(pid) {
			continue
		}
		p := Proc{Pid: pid}
		p.Cwd, _ = os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		p.Root, _ = os.Readlink(fmt.Sprintf("/proc/%d/root", pid))
		cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		p.Cmdline = strings.ReplaceAll(string(cl), "\x00", " ")
		cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		p.Cgroup = string(cg)
		if !ProcAlive(pid) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// ProcMatch is a process a scan found, and why.
type ProcMatch struct {
	Pid  int
	Desc string
}

// MatchProcesses finds processes whose cwd, root or command line mention
// one of the dirs, or that are in one of the cgroups (cgroupsPaths).
func MatchProcesses(dirs []string, cgroups []string) []ProcMatch {
	var out []ProcMatch
	for _, p := range Processes() {
		hit := ""
		for _, d := range dirs {
			switch {
			case UnderDir(p.Cwd, d):
				hit = "cwd " + p.Cwd
			case UnderDir(p.Root, d):
				hit = "root " + p.Root
			case strings.Contains(p.Cmdline, d):
				hit = "cmdline"
			}
		}
		for _, cg := range cgroups {
			for _, l := range strings.Split(p.Cgroup, "\n") {
				if i := strings.Index(l, cg); i >= 0 && (len(l) == i+len(cg) || l[i+len(cg)] == '/') {
					hit = "cgroup " + cg
				}
			}
		}
		if hit != "" {
			out = append(out, ProcMatch{p.Pid, fmt.Sprintf("pid %d (%s): %s", p.Pid, hit, strings.TrimSpace(p.Cmdline))})
		}
	}
	return out
}

// ProcessesUnder describes the processes MatchProcesses finds.
func ProcessesUnder(dirs []string, cgroups []string) []string {
	var out []string
	for _, m := range MatchProcesses(dirs, cgroups) {
		out = append(out, m.Desc)
	}
	return out
}

// ReapLeaks cleans up after a runtime that left things behind: it kills
// the leftover processes (all started by the suite's containers), waits up
// to timeout for them, and removes leftover cgroup dirs (deepest first).
func ReapLeaks(dirs []string, cgroups []string, timeout time.Duration) {
	ms := MatchProcesses(dirs, cgroups)
	for _, m := range ms {
		_ = syscall.Kill(m.Pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(timeout)
	for _, m := range ms {
		for ProcAlive(m.Pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, cg := range cgroups {
		for _, d := range CgroupDirs(cg) {
			var sub []string
			_ = filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
				if err == nil && de.IsDir() {
					sub = append(sub, p)
				}
				return nil
			})
			for i := len(sub) - 1; i >= 0; i-- {
				_ = os.Remove(sub[i])
			}
		}
	}
}

// UnderDir reports whether path is dir or below it.
func UnderDir(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// MountsUnder lists the mounts of this mount namespace at or below dir (or
// whose root names dir), as "mountpoint (fstype, root)".
func MountsUnder(dir string) []string {
	ms, err := mountinfo.GetMounts(nil)
	if err != nil {
		return []string{"cannot read mountinfo: " + err.Error()}
	}
	var out []string
	for _, m := range ms {
		if UnderDir(m.Mountpoint, dir) || strings.Contains(m.Root, dir) {
			out = append(out, fmt.Sprintf("%s (%s, root %s)", m.Mountpoint, m.FSType, m.Root))
		}
	}
	return out
}

// MountPointsUnder is MountsUnder's mount points, deepest last.
func MountPointsUnder(dir string) []string {
	ms, _ := mountinfo.GetMounts(nil)
	var out []string
	for _, m := range ms {
		if UnderDir(m.Mountpoint, dir) {
			out = append(out, m.Mountpoint)
		}
	}
	return out
}

// CgroupMounts lists the mount points of every cgroup (v1) and cgroup2
// hierarchy.
func CgroupMounts() []string {
	ms, err := mountinfo.GetMounts(func(m *mountinfo.Info) (skip, stop bool) {
		return m.FSType != "cgroup" && m.FSType != "cgroup2", false
	})
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, m := range ms {
		if !seen[m.Mountpoint] {
			seen[m.Mountpoint] = true
			out = append(out, m.Mountpoint)
		}
	}
	sort.Strings(out)
	return out
}

// CgroupDirs lists the existing directories for cgroupsPath cg in every
// hierarchy.
func CgroupDirs(cg string) []string {
	var out []string
	for _, mp := range CgroupMounts() {
		p := filepath.Join(mp, cg)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			out = append(out, p)
		}
	}
	return out
}

// CgroupDirsUnder lists every directory below cgroup parent (not parent
// itself) in every hierarchy.
func CgroupDirsUnder(parent string) []string {
	var out []string
	for _, d := range CgroupDirs(parent) {
		_ = filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
			if err == nil && de.IsDir() && p != d {
				out = append(out, p)
			}
			return nil
		})
	}
	return out
}

// RemoveCgroup removes cgroup cg (and empty sub-cgroups) in every
// hierarchy.
func RemoveCgroup(cg string) {
	for _, d := range CgroupDirs(cg) {
		var sub []string
		_ = filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
			if err == nil && de.IsDir() {
				sub = append(sub, p)
			}
			return nil
		})
		for i := len(sub) - 1; i >= 0; i-- {
			_ = os.Remove(sub[i])
		}
	}
}
