package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/husk-runtime/husk/libcontainer"
	"github.com/husk-runtime/husk/libcontainer/capabilities"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/hooks"
	"golang.org/x/sys/unix"
)

// dryRunReport is `create --dry-run`'s output: the plan that create
// would carry out, rendered from libcontainer.PlanCreate (the init's plan
// ops and the cgroup driver's writes), not worked out again. Its JSON
// shape is documented in docs/check.md.
type dryRunReport struct {
	ID         string         `json:"id"`
	Bundle     string         `json:"bundle"`
	StateDir   string         `json:"stateDir"`
	Namespaces []drNamespace  `json:"namespaces"`
	Mounts     []drMount      `json:"mounts"`
	Masked     []string       `json:"maskedPaths"`
	Readonly   []string       `json:"readonlyPaths"`
	Devices    []drDevice     `json:"devices"`
	Cgroup     drCgroup       `json:"cgroup"`
	Seccomp    *drSeccomp     `json:"seccomp"`
	Caps       map[string]any `json:"capabilities"`
	Rlimits    []drRlimit     `json:"rlimits"`
	Hooks      []drHook       `json:"hooks"`
	Plan       []string       `json:"plan"`
}

type drNamespace struct {
	Type   string `json:"type"`
	Action string `json:"action"` // "new" or "join"
	Path   string `json:"path,omitempty"`
	By     string `json:"by"` // "clone" (the init's clone), "nsenter" (its C stage)
}

type drMount struct {
	Source      string   `json:"source"`
	Target      string   `json:"target"`
	Type        string   `json:"type"`
	Flags       []string `json:"flags"`
	Clear       []string `json:"clearFlags,omitempty"`
	Data        string   `json:"data,omitempty"`
	Propagation []string `json:"propagation,omitempty"`
}

type drDevice struct {
	Path  string `json:"path"`
	Type  string `json:"type"`
	Major uint32 `json:"major"`
	Minor uint32 `json:"minor"`
	Mode  string `json:"mode"`
	UID   uint32 `json:"uid"`
	GID   uint32 `json:"gid"`
}

type drCgroup struct {
	Driver string            `json:"driver"`
	Paths  map[string]string `json:"paths"`
	Writes []drWrite         `json:"writes"`
}

type drWrite struct {
	Path  string `json:"path"`
	Value string `json:"value"`
}

type drSeccomp struct {
	DefaultAction string   `json:"defaultAction"`
	Rules         int      `json:"rules"`
	Architectures []string `json:"architectures"`
	Instructions  int      `json:"instructions"`
	Notify        bool     `json:"notify"`
	Loaded        bool     `json:"loaded"` // false: its filter kills the execve, so start refuses
}

type drRlimit struct {
	Type string `json:"type"`
	Soft uint64 `json:"soft"`
	Hard uint64 `json:"hard"`
}

type drHook struct {
	Kind  string `json:"kind"`
	Index int    `json:"index"`
	Path  string `json:"path"`
	RunBy string `json:"runBy"` // "runtime" or "init"
}

var mountFlagNames = []struct {
	flag uint32
	name string
}{
	{unix.MS_RDONLY, "MS_RDONLY"}, {unix.MS_NOSUID, "MS_NOSUID"}, {unix.MS_NODEV, "MS_NODEV"},
	{unix.MS_NOEXEC, "MS_NOEXEC"}, {unix.MS_SYNCHRONOUS, "MS_SYNCHRONOUS"}, {unix.MS_REMOUNT, "MS_REMOUNT"},
	{unix.MS_MANDLOCK, "MS_MANDLOCK"}, {unix.MS_DIRSYNC, "MS_DIRSYNC"}, {unix.MS_NOSYMFOLLOW, "MS_NOSYMFOLLOW"},
	{unix.MS_NOATIME, "MS_NOATIME"}, {unix.MS_NODIRATIME, "MS_NODIRATIME"}, {unix.MS_BIND, "MS_BIND"},
	{unix.MS_MOVE, "MS_MOVE"}, {unix.MS_REC, "MS_REC"}, {unix.MS_SILENT, "MS_SILENT"},
	{unix.MS_UNBINDABLE, "MS_UNBINDABLE"}, {unix.MS_PRIVATE, "MS_PRIVATE"}, {unix.MS_SLAVE, "MS_SLAVE"},
	{unix.MS_SHARED, "MS_SHARED"}, {unix.MS_RELATIME, "MS_RELATIME"}, {unix.MS_STRICTATIME, "MS_STRICTATIME"},
	{unix.MS_LAZYTIME, "MS_LAZYTIME"},
}

func flagNames(f uint32) []string {
	out := []string{}
	for _, n := range mountFlagNames {
		if f&n.flag != 0 {
			out = append(out, n.name)
			f &^= n.flag
		}
	}
	if f != 0 {
		out = append(out, fmt.Sprintf("%#x", f))
	}
	return out
}

func capNames(mask uint64) []string {
	out := []string{}
	for name, c := range capabilities.Names {
		if mask&(1<<uint(c)) != 0 {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func u32(v any) uint32 { x, _ := v.(uint32); return x }
func u64(v any) uint64 { x, _ := v.(uint64); return x }
func str(v any) string { x, _ := v.(string); return x }

// newDryRunReport renders d.
func newDryRunReport(id, bundle string, d *libcontainer.DryRun) *dryRunReport {
	r := &dryRunReport{ID: id, Bundle: bundle, StateDir: d.StateDir, Masked: []string{}, Readonly: []string{},
		Mounts: []drMount{}, Devices: []drDevice{}, Rlimits: []drRlimit{}, Hooks: []drHook{}, Namespaces: []drNamespace{}}
	for _, ns := range d.Config.Namespaces {
		n := drNamespace{Type: string(ns.Type), Action: "new", By: "nsenter"}
		switch {
		case ns.Path != "":
			n.Action, n.Path = "join", ns.Path
		case ns.Type == configs.NEWPID && d.NewPid:
			n.By = "clone"
		}
		r.Namespaces = append(r.Namespaces, n)
	}
	r.Cgroup = drCgroup{Driver: d.CgroupDriver, Paths: map[string]string{}, Writes: []drWrite{}}
	for k, v := range d.CgroupPaths {
		if k == "" {
			k = "unified"
		}
		r.Cgroup.Paths[k] = v
	}
	for _, w := range d.CgroupWrites {
		p := w.Dir + "/" + w.File
		if strings.Contains(w.File, ":") {
			p = w.Dir + " " + w.File // a systemd property, the v2 device program
		}
		r.Cgroup.Writes = append(r.Cgroup.Writes, drWrite{Path: p, Value: w.Value})
	}
	caps := map[string]any{}
	for _, op := range d.Ops {
		r.Plan = append(r.Plan, op.String())
		switch op.Name() {
		case "prep-root", "prep-root-nomntns":
			r.Mounts = append(r.Mounts, drMount{Source: str(op.Field("rootfs")), Target: str(op.Field("rootfs")), Type: "bind",
				Flags: flagNames(unix.MS_BIND | unix.MS_REC), Propagation: flagNames(u32(op.Field("prop")))})
		case "mount":
			m := drMount{Source: str(op.Field("source")), Target: str(op.Field("dest")), Type: str(op.Field("fstype")),
				Flags: flagNames(u32(op.Field("flags"))), Clear: flagNames(u32(op.Field("clear"))), Data: str(op.Field("data"))}
			if len(m.Clear) == 0 {
				m.Clear = nil
			}
			if props, ok := op.Field("propagation").([]uint32); ok {
				for _, p := range props {
					m.Propagation = append(m.Propagation, flagNames(p)...)
				}
			}
			r.Mounts = append(r.Mounts, m)
		case "bind-cgroup":
			r.Mounts = append(r.Mounts, drMount{Source: str(op.Field("source")), Target: str(op.Field("dest")), Type: "bind",
				Flags: flagNames(unix.MS_BIND | u32(op.Field("flags")))})
		case "readonly":
			r.Readonly = append(r.Readonly, str(op.Field("path")))
		case "mask":
			if ps, ok := op.Field("paths").([]string); ok {
				r.Masked = append(r.Masked, ps...)
			}
		case "mknod":
			mode := u32(op.Field("mode"))
			r.Devices = append(r.Devices, drDevice{Path: str(op.Field("path")), Type: string(rune(u32(op.Field("type")))),
				Major: u32(op.Field("major")), Minor: u32(op.Field("minor")), Mode: fmt.Sprintf("%04o", mode&0o7777),
				UID: u32(op.Field("uid")), GID: u32(op.Field("gid"))})
		case "caps-bounding":
			caps["bounding"] = capNames(u64(op.Field("bounding")))
		case "caps":
			for _, k := range []string{"effective", "permitted", "inheritable", "ambient"} {
				caps[k] = capNames(u64(op.Field(k)))
			}
		case "rlimit":
			r.Rlimits = append(r.Rlimits, drRlimit{Type: strings.TrimPrefix(str(op.Field("name")), "process.rlimits "),
				Soft: u64(op.Field("soft")), Hard: u64(op.Field("hard"))})
		}
	}
	r.Caps = caps
	if s := d.Config.Seccomp; s != nil {
		sc := &drSeccomp{DefaultAction: s.DefaultAction, Rules: len(s.Syscalls), Architectures: s.Architectures}
		if sc.Architectures == nil {
			sc.Architectures = []string{}
		}
		if p := d.Seccomp; p != nil {
			sc.Instructions, sc.Notify = len(p.Insns), p.Notify
		}
		for _, op := range d.Ops {
			sc.Loaded = sc.Loaded || op.Name() == "seccomp"
		}
		r.Seccomp = sc
	}
	for _, kind := range hooks.Names {
		by := "runtime"
		if kind == hooks.CreateContainer || kind == hooks.StartContainer {
			by = "init"
		}
		for i, h := range d.Config.Hooks[kind] {
			r.Hooks = append(r.Hooks, drHook{Kind: kind, Index: i, Path: h.Path, RunBy: by})
		}
	}
	return r
}

func (r *dryRunReport) write(w io.Writer, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	p := func(f string, a ...any) { fmt.Fprintf(w, f+"\n", a...) }
	p("dry run: container %s, bundle %s: nothing is made", r.ID, r.Bundle)
	p("state directory: %s", r.StateDir)
	for _, n := range r.Namespaces {
		if n.Action == "join" {
			p("namespace %s: join %s", n.Type, n.Path)
		} else {
			p("namespace %s: new (%s)", n.Type, n.By)
		}
	}
	for i, m := range r.Mounts {
		line := fmt.Sprintf("mount %d: %s on %s type %s flags %s", i+1, m.Source, m.Target, m.Type, orNone(m.Flags))
		if len(m.Clear) > 0 {
			line += " clear " + strings.Join(m.Clear, "|")
		}
		if m.Data != "" {
			line += " data " + m.Data
		}
		if len(m.Propagation) > 0 {
			line += " propagation " + strings.Join(m.Propagation, "|")
		}
		p("%s", line)
	}
	for _, m := range r.Masked {
		p("masked: %s", m)
	}
	for _, m := range r.Readonly {
		p("readonly: %s", m)
	}
	for _, d := range r.Devices {
		p("device: %s %s %d:%d mode %s uid %d gid %d", d.Path, d.Type, d.Major, d.Minor, d.Mode, d.UID, d.GID)
	}
	p("cgroup driver: %s", r.Cgroup.Driver)
	keys := make([]string, 0, len(r.Cgroup.Paths))
	for k := range r.Cgroup.Paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p("cgroup path %s: %s", k, r.Cgroup.Paths[k])
	}
	for _, wr := range r.Cgroup.Writes {
		p("cgroup write: %s = %s", wr.Path, wr.Value)
	}
	if s := r.Seccomp; s != nil {
		p("seccomp: default action %s, %d rules, architectures %s, %d instructions, notify %v, loaded %v",
			s.DefaultAction, s.Rules, orNone(s.Architectures), s.Instructions, s.Notify, s.Loaded)
	} else {
		p("seccomp: none")
	}
	for _, k := range []string{"bounding", "effective", "permitted", "inheritable", "ambient"} {
		if v, ok := r.Caps[k].([]string); ok {
			p("capabilities %s: %s", k, orNone(v))
		}
	}
	for _, l := range r.Rlimits {
		p("rlimit: %s soft %d hard %d", l.Type, l.Soft, l.Hard)
	}
	for _, h := range r.Hooks {
		p("hook: %s[%d] %s (run by the %s)", h.Kind, h.Index, h.Path, h.RunBy)
	}
	p("init plan: %d ops", len(r.Plan))
	for i, op := range r.Plan {
		p("  %d: %s", i+1, op)
	}
	return nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "|")
}
