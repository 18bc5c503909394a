package differential

// The seeded generator of configs. Each config is the default `runc spec`
// config (running /bin/true) with one to three mutations from the catalogue
// below applied: valid, odd and broken values of every part of the spec,
// the zero values docker sends, unknown fields and bad JSON types. A
// mutation draws its value with the config's own random source, so config
// N of a seed is always the same (DIFF_ONLY=N reruns it).
//
// Every value is safe for the host whatever a runtime does with it: bind
// sources are the suite's own directories, hooks are /bin/true, /bin/false
// or missing programs, namespaces are never joined to the host's, and a
// sysctl that is not namespaced (which both runtimes must refuse) is set to
// the value the host already has.

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/husk-runtime/husk/tests/testutil"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// gen is a config being generated.
type gen struct {
	spec *specs.Spec
	// raw are edits of the JSON document, applied in order after the spec
	// is marshalled (for nulls, wrong types and unknown fields).
	raw []func(m map[string]any)
	// prep changes the config's private copy of the rootfs.
	prep []func(rootfs string) error
}

// mutation is one kind of change. fields are the words (JSON keys or
// paths) one of which husk's refusal of a config with this mutation must
// name; name is its category in the report and the allow-lists.
type mutation struct {
	name   string
	fields []string
	apply  func(r *rand.Rand, g *gen) string
}

// config is one generated config.
type config struct {
	n     int
	muts  []*mutation
	descs []string // what each mutation did
	g     *gen
}

func (c *config) String() string {
	var parts []string
	for i, m := range c.muts {
		parts = append(parts, m.name+"("+c.descs[i]+")")
	}
	return fmt.Sprintf("config %d: %s", c.n, strings.Join(parts, "; "))
}

// has reports whether the config has a mutation of category name (or one
// whose name starts with name + ".").
func (c *config) has(name string) bool {
	for _, m := range c.muts {
		if m.name == name || strings.HasPrefix(m.name, name+".") {
			return true
		}
	}
	return false
}

// render writes the config's JSON with the given cgroupsPath.
func (c *config) render(cgroupsPath string) ([]byte, error) {
	s := *c.g.spec
	if s.Linux != nil {
		lx := *s.Linux
		lx.CgroupsPath = cgroupsPath
		s.Linux = &lx
	}
	data, err := json.Marshal(&s)
	if err != nil {
		return nil, err
	}
	if len(c.g.raw) == 0 {
		return data, nil
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	for _, f := range c.g.raw {
		f(m)
	}
	return json.MarshalIndent(m, "", "\t")
}

// generate makes config n of the seed.
func generate(seed uint64, n int) *config {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	s := testutil.DefaultSpec()
	s.Root.Path = "rootfs"
	s.Process.Args = []string{"/bin/true"}
	c := &config{n: n, g: &gen{spec: s}}
	k := 1
	switch x := r.IntN(10); {
	case x >= 9:
		k = 3
	case x >= 6:
		k = 2
	}
	seen := map[string]bool{}
	for len(c.muts) < k {
		m := &catalogue[r.IntN(len(catalogue))]
		if seen[m.name] {
			continue
		}
		seen[m.name] = true
		c.muts = append(c.muts, m)
		c.descs = append(c.descs, m.apply(r, c.g))
	}
	return c
}

// ---------------------------------------------------------------------------
// Helpers

func pick[T any](r *rand.Rand, vals ...T) T { return vals[r.IntN(len(vals))] }

func ptr[T any](v T) *T { return &v }

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func res(g *gen) *specs.LinuxResources {
	if g.spec.Linux.Resources == nil {
		g.spec.Linux.Resources = &specs.LinuxResources{}
	}
	return g.spec.Linux.Resources
}

func mem(g *gen) *specs.LinuxMemory {
	if res(g).Memory == nil {
		res(g).Memory = &specs.LinuxMemory{}
	}
	return res(g).Memory
}

func cpu(g *gen) *specs.LinuxCPU {
	if res(g).CPU == nil {
		res(g).CPU = &specs.LinuxCPU{}
	}
	return res(g).CPU
}

func blkio(g *gen) *specs.LinuxBlockIO {
	if res(g).BlockIO == nil {
		res(g).BlockIO = &specs.LinuxBlockIO{}
	}
	return res(g).BlockIO
}

func hooks(g *gen) *specs.Hooks {
	if g.spec.Hooks == nil {
		g.spec.Hooks = &specs.Hooks{}
	}
	return g.spec.Hooks
}

// setPath sets a value in the JSON document at a dotted path, making the
// objects on the way.
func setPath(m map[string]any, path string, v any) {
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
}

// rawSet is a raw edit setting path to v.
func rawSet(g *gen, path string, v any) {
	g.raw = append(g.raw, func(m map[string]any) { setPath(m, path, v) })
}

func dropNS(s *specs.Spec, t specs.LinuxNamespaceType) {
	var kept []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Type != t {
			kept = append(kept, ns)
		}
	}
	s.Linux.Namespaces = kept
}

func dropMount(s *specs.Spec, dest string) {
	var kept []specs.Mount
	for _, m := range s.Mounts {
		if m.Destination != dest {
			kept = append(kept, m)
		}
	}
	s.Mounts = kept
}

// someOf picks a random subset (possibly empty) of vals, in order.
func someOf[T any](r *rand.Rand, vals ...T) []T {
	var out []T
	for _, v := range vals {
		if r.IntN(3) == 0 {
			out = append(out, v)
		}
	}
	return out
}

var userNSMaps = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}

func addUserNS(s *specs.Spec) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = userNSMaps
	s.Linux.GIDMappings = userNSMaps
}

// ---------------------------------------------------------------------------
// The catalogue

var catalogue = []mutation{
	// --- namespaces, hostname ---
	{"namespaces.drop", []string{"namespace", "hostname", "maskedPaths", "readonlyPaths", "sysctl"}, func(r *rand.Rand, g *gen) string {
		t := pick(r, specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.MountNamespace)
		dropNS(g.spec, t)
		if t == specs.UTSNamespace && r.IntN(2) == 0 {
			g.spec.Hostname = ""
			return string(t) + ", no hostname"
		}
		return string(t)
	}},
	{"namespaces.add", []string{"namespace", "cgroup", "time"}, func(r *rand.Rand, g *gen) string {
		t := pick(r, specs.CgroupNamespace, specs.TimeNamespace)
		g.spec.Linux.Namespaces = append(g.spec.Linux.Namespaces, specs.LinuxNamespace{Type: t})
		return string(t)
	}},
	{"namespaces.user", []string{"namespace", "uidMappings", "gidMappings", "user"}, func(r *rand.Rand, g *gen) string {
		addUserNS(g.spec)
		switch r.IntN(4) {
		case 0:
			g.spec.Linux.UIDMappings, g.spec.Linux.GIDMappings = nil, nil
			return "no mappings"
		case 1:
			g.spec.Linux.GIDMappings = nil
			return "no gidMappings"
		case 2:
			g.spec.Process.User = specs.User{UID: 1000, GID: 1000}
			return "mapped, uid 1000"
		}
		return "mapped"
	}},
	{"namespaces.mappings-without-userns", []string{"uidMappings", "gidMappings", "user"}, func(r *rand.Rand, g *gen) string {
		g.spec.Linux.UIDMappings, g.spec.Linux.GIDMappings = userNSMaps, userNSMaps
		return "mappings, no user namespace"
	}},
	{"namespaces.dup", []string{"namespace"}, func(r *rand.Rand, g *gen) string {
		t := pick(r, specs.PIDNamespace, specs.NetworkNamespace, specs.MountNamespace)
		g.spec.Linux.Namespaces = append(g.spec.Linux.Namespaces, specs.LinuxNamespace{Type: t})
		return string(t) + " twice"
	}},
	{"namespaces.unknown", []string{"namespace", "bogus"}, func(r *rand.Rand, g *gen) string {
		t := pick(r, "bogus", "PID", "")
		g.spec.Linux.Namespaces = append(g.spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.LinuxNamespaceType(t)})
		return show(t)
	}},
	{"namespaces.badpath", []string{"namespace", "path", "/nonexistent", "/dev/null", "ns/net"}, func(r *rand.Rand, g *gen) string {
		t := pick(r, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace)
		p := pick(r, "/nonexistent/ns", "/dev/null", "relative/ns/net")
		for i := range g.spec.Linux.Namespaces {
			if g.spec.Linux.Namespaces[i].Type == t {
				g.spec.Linux.Namespaces[i].Path = p
			}
		}
		return string(t) + " path " + p
	}},
	{"namespaces.timeoffsets", []string{"timeOffsets", "time"}, func(r *rand.Rand, g *gen) string {
		withNS := r.IntN(4) != 0
		if withNS {
			g.spec.Linux.Namespaces = append(g.spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
		}
		clock := pick(r, "monotonic", "boottime", "realtime")
		off := pick(r, specs.LinuxTimeOffset{Secs: 100}, specs.LinuxTimeOffset{Secs: -5, Nanosecs: 10}, specs.LinuxTimeOffset{Nanosecs: 2e9})
		g.spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{clock: off}
		return fmt.Sprintf("%s %s, time ns %v", clock, show(off), withNS)
	}},
	{"hostname", []string{"hostname"}, func(r *rand.Rand, g *gen) string {
		h := pick(r, "", "h", strings.Repeat("a", 64), strings.Repeat("b", 65), "with space", "dots.and-dash")
		g.spec.Hostname = h
		return show(h)
	}},
	{"domainname", []string{"domainname"}, func(r *rand.Rand, g *gen) string {
		d := pick(r, "example.com", strings.Repeat("d", 65))
		g.spec.Domainname = d
		if r.IntN(3) == 0 {
			dropNS(g.spec, specs.UTSNamespace)
			g.spec.Hostname = ""
			return show(d) + " without uts"
		}
		return show(d)
	}},

	// --- mounts ---
	{"mounts.tmpfs", []string{"mount", "destination", "options", "tmpfs"}, func(r *rand.Rand, g *gen) string {
		dest := pick(r, "/mnt", "/tmp", "/run/x/y", "/var/tmp", "/dev/shm")
		opts := someOf(r, "size=1m", "mode=700", "nr_inodes=100", "uid=1000", "gid=1000", "ro", "nosuid", "nodev", "noexec", "tmpcopyup", "bogusopt=1", "size=abc", "rprivate", "rro")
		g.spec.Mounts = append(g.spec.Mounts, specs.Mount{Destination: dest, Type: "tmpfs", Source: "tmpfs", Options: opts})
		return dest + " " + show(opts)
	}},
	{"mounts.bind", []string{"mount", "destination", "source", "options", "bind"}, func(r *rand.Rand, g *gen) string {
		src := pick(r, host.bindDir, host.bindDir, "rootfs/etc", "/nonexistent/bind-src", host.bindFile)
		dest := pick(r, "/mnt", "/opt/deep/dir", "/etc/bindfile", "/tmp")
		opts := someOf(r, "rbind", "ro", "rro", "rw", "nosuid", "rnosuid", "nodev", "noexec", "relatime", "strictatime", "nosymfollow", "private", "rprivate", "slave", "shared", "mode=755", "idmap", "nonexistent-opt")
		if r.IntN(3) != 0 {
			opts = append([]string{pick(r, "bind", "rbind")}, opts...)
		}
		typ := pick(r, "bind", "bind", "none", "")
		g.spec.Mounts = append(g.spec.Mounts, specs.Mount{Destination: dest, Type: typ, Source: src, Options: opts})
		return fmt.Sprintf("%s -> %s type %q %s", src, dest, typ, show(opts))
	}},
	{"mounts.special", []string{"mount", "destination", "type", "options", "source"}, func(r *rand.Rand, g *gen) string {
		m := pick(r,
			specs.Mount{Destination: "/proc2", Type: "proc", Source: "proc"},
			specs.Mount{Destination: "/sys2", Type: "sysfs", Source: "sysfs", Options: []string{"ro"}},
			specs.Mount{Destination: "/dev/mqueue2", Type: "mqueue", Source: "mqueue"},
			specs.Mount{Destination: "/dev/pts2", Type: "devpts", Source: "devpts", Options: []string{"newinstance", "ptmxmode=0666"}},
			specs.Mount{Destination: "/cg", Type: "cgroup", Source: "cgroup", Options: []string{"ro"}},
			specs.Mount{Destination: "/cg2", Type: "cgroup2", Source: "cgroup2"},
			specs.Mount{Destination: "/ov", Type: "overlay", Source: "overlay", Options: []string{"lowerdir=/nonexistent"}},
			specs.Mount{Destination: "/mnt", Type: "nosuchfs", Source: "none"},
			specs.Mount{Destination: "/mnt", Type: "", Source: "none"},
			specs.Mount{Destination: "", Type: "tmpfs", Source: "tmpfs"},
			specs.Mount{Destination: "mnt/rel", Type: "tmpfs", Source: "tmpfs"},
			specs.Mount{Destination: "/", Type: "tmpfs", Source: "tmpfs"},
			specs.Mount{Destination: "/proc/sys", Type: "tmpfs", Source: "tmpfs"},
			specs.Mount{Destination: "/proc/uptime", Type: "bind", Source: host.bindFile, Options: []string{"bind"}},
			specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"rw"}},
			specs.Mount{Destination: "/tmp/../../../mnt", Type: "tmpfs", Source: "tmpfs"},
			specs.Mount{Destination: "/bin/true", Type: "tmpfs", Source: "tmpfs"},
		)
		g.spec.Mounts = append(g.spec.Mounts, m)
		return fmt.Sprintf("%s type %q %s", show(m.Destination), m.Type, show(m.Options))
	}},
	{"mounts.drop-default", []string{"mount", "/dev", "/proc", "/sys"}, func(r *rand.Rand, g *gen) string {
		d := pick(r, "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup")
		dropMount(g.spec, d)
		return d
	}},
	{"mounts.none", []string{"mount"}, func(r *rand.Rand, g *gen) string {
		g.spec.Mounts = nil
		return "no mounts"
	}},
	{"mounts.dup", []string{"mount", "destination"}, func(r *rand.Rand, g *gen) string {
		m := specs.Mount{Destination: "/mnt", Type: "tmpfs", Source: "tmpfs"}
		g.spec.Mounts = append(g.spec.Mounts, m, m)
		return "tmpfs on /mnt twice"
	}},
	{"mounts.idmapped", []string{"mount", "uidMappings", "gidMappings", "idmap", "options"}, func(r *rand.Rand, g *gen) string {
		m := specs.Mount{Destination: "/mnt", Type: "bind", Source: host.bindDir, Options: []string{"rbind"}}
		switch r.IntN(3) {
		case 0:
			m.UIDMappings, m.GIDMappings = userNSMaps, userNSMaps
		case 1:
			m.UIDMappings = userNSMaps
		default:
			m.Options = append(m.Options, "idmap")
		}
		user := r.IntN(2) == 0
		if user {
			addUserNS(g.spec)
		}
		g.spec.Mounts = append(g.spec.Mounts, m)
		return fmt.Sprintf("uid %v gid %v opts %v, userns %v", m.UIDMappings != nil, m.GIDMappings != nil, m.Options, user)
	}},
	{"root", []string{"root", "path", "readonly"}, func(r *rand.Rand, g *gen) string {
		switch r.IntN(5) {
		case 0:
			g.spec.Root.Readonly = false
			return "readonly false"
		case 1:
			g.spec.Root.Path = "nonexistent-rootfs"
			return "path nonexistent"
		case 2:
			g.spec.Root = nil
			return "no root"
		case 3:
			g.spec.Root.Path = host.bindFile
			return "path is a file"
		}
		g.spec.Root.Path = filepath.Join("rootfs", "..", "rootfs")
		return "path rootfs/../rootfs"
	}},
	{"rootfsPropagation", []string{"rootfsPropagation"}, func(r *rand.Rand, g *gen) string {
		p := pick(r, "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable", "bogus")
		g.spec.Linux.RootfsPropagation = p
		return p
	}},
	{"rootfs.proc-symlink", []string{"/proc", "proc"}, func(r *rand.Rand, g *gen) string {
		target := pick(r, "/tmp", "../../../tmp")
		g.prep = append(g.prep, func(rootfs string) error {
			if err := os.Remove(filepath.Join(rootfs, "proc")); err != nil {
				return err
			}
			return os.Symlink(target, filepath.Join(rootfs, "proc"))
		})
		return "/proc -> " + target
	}},

	// --- devices ---
	{"devices", []string{"devices", "path", "type", "/dev"}, func(r *rand.Rand, g *gen) string {
		d := pick(r,
			specs.LinuxDevice{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229},
			specs.LinuxDevice{Path: "/dev/loop99", Type: "b", Major: 7, Minor: 99},
			specs.LinuxDevice{Path: "/dev/myfifo", Type: "p"},
			specs.LinuxDevice{Path: "/dev/unbuf", Type: "u", Major: 1, Minor: 3},
			specs.LinuxDevice{Path: "/dev/bad", Type: "x", Major: 1, Minor: 3},
			specs.LinuxDevice{Path: "/dev/nulltype", Type: "", Major: 1, Minor: 3},
			specs.LinuxDevice{Path: "/tmp/notdev", Type: "c", Major: 1, Minor: 3},
			specs.LinuxDevice{Path: "dev/relative", Type: "c", Major: 1, Minor: 3},
			specs.LinuxDevice{Path: "/dev/../tmp/escape", Type: "c", Major: 1, Minor: 3},
			specs.LinuxDevice{Path: "/dev/null", Type: "c", Major: 1, Minor: 5},
			specs.LinuxDevice{Path: "/dev/sub/dir/dev", Type: "c", Major: 1, Minor: 3},
			specs.LinuxDevice{Path: "/dev/moded", Type: "c", Major: 1, Minor: 3, FileMode: ptr(os.FileMode(0o600)), UID: ptr(uint32(1000)), GID: ptr(uint32(1000))},
			specs.LinuxDevice{Path: "/dev/pts/0", Type: "c", Major: 136, Minor: 0},
		)
		g.spec.Linux.Devices = append(g.spec.Linux.Devices, d)
		return show(d)
	}},
	{"resources.devices", []string{"devices", "access", "type"}, func(r *rand.Rand, g *gen) string {
		d := pick(r,
			specs.LinuxDeviceCgroup{Allow: true, Access: "rwm"},
			specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(3)), Access: "rw"},
			specs.LinuxDeviceCgroup{Allow: true, Type: "c", Access: "rwx"},
			specs.LinuxDeviceCgroup{Allow: true, Type: "x", Access: "r"},
			specs.LinuxDeviceCgroup{Allow: false, Type: "b", Major: ptr(int64(-1)), Access: "m"},
			specs.LinuxDeviceCgroup{Allow: true, Type: "a"},
			specs.LinuxDeviceCgroup{Allow: false},
		)
		if r.IntN(4) == 0 {
			res(g).Devices = nil
			return "no rules"
		}
		res(g).Devices = append(res(g).Devices, d)
		return show(d)
	}},

	// --- resources (with the zero values docker sends) ---
	{"resources.memory.limit", []string{"memory", "limit"}, func(r *rand.Rand, g *gen) string {
		v := pick[int64](r, 0, -1, 64<<20, 512<<20, 1<<62, -2)
		mem(g).Limit = &v
		return show(v)
	}},
	{"resources.memory.reservation", []string{"memory", "reservation"}, func(r *rand.Rand, g *gen) string {
		v := pick[int64](r, 0, -1, 32<<20)
		mem(g).Reservation = &v
		return show(v)
	}},
	{"resources.memory.swap", []string{"memory", "swap"}, func(r *rand.Rand, g *gen) string {
		v := pick[int64](r, 0, -1, 256<<20, 1<<20)
		mem(g).Swap = &v
		if r.IntN(2) == 0 {
			mem(g).Limit = ptr[int64](128 << 20)
			return show(v) + " with limit 128M"
		}
		return show(v)
	}},
	{"resources.memory.kernel", []string{"memory", "kernel"}, func(r *rand.Rand, g *gen) string {
		v := pick[int64](r, 0, -1, 64<<20)
		if r.IntN(2) == 0 {
			//lint:ignore SA1019 linux.resources.memory.kernel is deprecated but still in the runtime-spec: runtimes must accept it
			mem(g).Kernel = &v
			return "kernel " + show(v)
		}
		mem(g).KernelTCP = &v
		return "kernelTCP " + show(v)
	}},
	{"resources.memory.swappiness", []string{"memory", "swappiness"}, func(r *rand.Rand, g *gen) string {
		switch r.IntN(4) {
		case 0:
			mem(g)
			rawSet(g, "linux.resources.memory.swappiness", nil)
			return "null"
		case 1:
			mem(g)
			rawSet(g, "linux.resources.memory.swappiness", -1)
			return "-1"
		}
		v := pick[uint64](r, 0, 60, 100, 101)
		mem(g).Swappiness = &v
		return show(v)
	}},
	{"resources.memory.flags", []string{"memory", "disableOOMKiller", "useHierarchy", "checkBeforeUpdate"}, func(r *rand.Rand, g *gen) string {
		m := mem(g)
		m.DisableOOMKiller = ptr(r.IntN(2) == 0)
		m.UseHierarchy = ptr(r.IntN(2) == 0)
		m.CheckBeforeUpdate = ptr(r.IntN(2) == 0)
		return show(m)
	}},
	{"resources.memory.empty", []string{"memory"}, func(r *rand.Rand, g *gen) string {
		mem(g)
		return "{}"
	}},
	{"resources.cpu.shares", []string{"cpu", "shares"}, func(r *rand.Rand, g *gen) string {
		v := pick[uint64](r, 0, 0, 1, 2, 1024, 262144, 262145, 1<<40)
		cpu(g).Shares = &v
		return show(v)
	}},
	{"resources.cpu.quota", []string{"cpu", "quota", "period"}, func(r *rand.Rand, g *gen) string {
		q := pick[int64](r, 0, -1, -2, 1000, 50000, 999)
		cpu(g).Quota = &q
		if r.IntN(2) == 0 {
			p := pick[uint64](r, 0, 999, 1000, 100000, 1000000, 2000000)
			cpu(g).Period = &p
			return fmt.Sprintf("quota %d period %d", q, p)
		}
		return fmt.Sprintf("quota %d", q)
	}},
	{"resources.cpu.period", []string{"cpu", "period"}, func(r *rand.Rand, g *gen) string {
		p := pick[uint64](r, 0, 999, 100000, 2000000)
		cpu(g).Period = &p
		return show(p)
	}},
	{"resources.cpu.burst", []string{"cpu", "burst"}, func(r *rand.Rand, g *gen) string {
		v := pick[uint64](r, 0, 1000, 1<<40)
		cpu(g).Burst = &v
		return show(v)
	}},
	{"resources.cpu.realtime", []string{"cpu", "realtime", "rt_"}, func(r *rand.Rand, g *gen) string {
		rt := pick[int64](r, 0, -1, 1000, 950000)
		cpu(g).RealtimeRuntime = &rt
		if r.IntN(2) == 0 {
			p := pick[uint64](r, 0, 1000000)
			cpu(g).RealtimePeriod = &p
			return fmt.Sprintf("runtime %d period %d", rt, p)
		}
		return fmt.Sprintf("runtime %d", rt)
	}},
	{"resources.cpu.cpuset", []string{"cpu", "cpus", "mems", "cpuset"}, func(r *rand.Rand, g *gen) string {
		cpus := pick(r, "", "0", "0-1", "0,1", "7", "a")
		mems := pick(r, "", "0", "1", "x")
		cpu(g).Cpus, cpu(g).Mems = cpus, mems
		return fmt.Sprintf("cpus %q mems %q", cpus, mems)
	}},
	{"resources.cpu.idle", []string{"cpu", "idle"}, func(r *rand.Rand, g *gen) string {
		v := pick[int64](r, 0, 1, 2)
		cpu(g).Idle = &v
		return show(v)
	}},
	{"resources.cpu.empty", []string{"cpu"}, func(r *rand.Rand, g *gen) string {
		cpu(g)
		return "{}"
	}},
	{"resources.pids", []string{"pids", "limit"}, func(r *rand.Rand, g *gen) string {
		if r.IntN(5) == 0 {
			res(g).Pids = &specs.LinuxPids{}
			return "{}"
		}
		v := pick[int64](r, 0, 0, -1, 1, 100, -5)
		res(g).Pids = &specs.LinuxPids{Limit: &v}
		return show(v)
	}},
	{"resources.blockIO.weight", []string{"blockIO", "weight"}, func(r *rand.Rand, g *gen) string {
		v := pick[uint16](r, 0, 0, 10, 500, 1000, 1001, 5)
		blkio(g).Weight = &v
		if r.IntN(3) == 0 {
			l := pick[uint16](r, 0, 500)
			blkio(g).LeafWeight = &l
			return fmt.Sprintf("weight %d leafWeight %d", v, l)
		}
		return fmt.Sprintf("weight %d", v)
	}},
	{"resources.blockIO.weightDevice", []string{"blockIO", "weight"}, func(r *rand.Rand, g *gen) string {
		d := specs.LinuxWeightDevice{}
		d.Major, d.Minor = host.blockMajor, host.blockMinor
		switch r.IntN(4) {
		case 0:
			d.Weight = ptr[uint16](500)
		case 1:
			d.Weight = ptr[uint16](0)
		case 2:
			d.LeafWeight = ptr[uint16](0)
		}
		blkio(g).WeightDevice = append(blkio(g).WeightDevice, d)
		return show(d)
	}},
	{"resources.blockIO.throttle", []string{"blockIO", "throttle", "Device"}, func(r *rand.Rand, g *gen) string {
		d := specs.LinuxThrottleDevice{Rate: pick[uint64](r, 0, 1<<20, 1000)}
		d.Major, d.Minor = host.blockMajor, host.blockMinor
		if r.IntN(3) == 0 {
			d.Major, d.Minor = 240, 240
		}
		b := blkio(g)
		which := r.IntN(4)
		switch which {
		case 0:
			b.ThrottleReadBpsDevice = append(b.ThrottleReadBpsDevice, d)
		case 1:
			b.ThrottleWriteBpsDevice = append(b.ThrottleWriteBpsDevice, d)
		case 2:
			b.ThrottleReadIOPSDevice = append(b.ThrottleReadIOPSDevice, d)
		default:
			b.ThrottleWriteIOPSDevice = append(b.ThrottleWriteIOPSDevice, d)
		}
		return fmt.Sprintf("%d %s", which, show(d))
	}},
	{"resources.blockIO.empty", []string{"blockIO"}, func(r *rand.Rand, g *gen) string {
		blkio(g)
		return "{}"
	}},
	{"resources.hugepageLimits", []string{"hugepageLimits", "hugetlb", "pageSize"}, func(r *rand.Rand, g *gen) string {
		h := pick(r, specs.LinuxHugepageLimit{Pagesize: "2MB", Limit: 0}, specs.LinuxHugepageLimit{Pagesize: "2MB", Limit: 1 << 30},
			specs.LinuxHugepageLimit{Pagesize: "1GB", Limit: 1 << 30}, specs.LinuxHugepageLimit{Pagesize: "3MB", Limit: 1 << 21},
			specs.LinuxHugepageLimit{Pagesize: "2mb", Limit: 1 << 21})
		res(g).HugepageLimits = append(res(g).HugepageLimits, h)
		return show(h)
	}},
	{"resources.network", []string{"network", "classID", "priorities"}, func(r *rand.Rand, g *gen) string {
		n := pick(r, specs.LinuxNetwork{ClassID: ptr[uint32](0x100001)}, specs.LinuxNetwork{ClassID: ptr[uint32](0)},
			specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: "lo", Priority: 1}}}, specs.LinuxNetwork{})
		res(g).Network = &n
		return show(n)
	}},
	{"resources.rdma", []string{"rdma"}, func(r *rand.Rand, g *gen) string {
		res(g).Rdma = map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: ptr[uint32](1)}}
		return "mlx5_0"
	}},
	{"resources.unified", []string{"unified"}, func(r *rand.Rand, g *gen) string {
		u := pick(r, map[string]string{"memory.max": "100M"}, map[string]string{"pids.max": "10"}, map[string]string{})
		res(g).Unified = u
		return show(u)
	}},
	{"resources.null", []string{"resources"}, func(r *rand.Rand, g *gen) string {
		switch r.IntN(3) {
		case 0:
			g.spec.Linux.Resources = nil
			return "no resources"
		case 1:
			g.spec.Linux.Resources = &specs.LinuxResources{}
			return "{}"
		}
		rawSet(g, "linux.resources", nil)
		return "null"
	}},
	{"resources.docker", []string{"resources", "blockIO", "cpu", "memory", "pids", "weight", "shares", "swappiness"}, func(r *rand.Rand, g *gen) string {
		// What docker 20+ writes for `docker run` without resource flags.
		rs := res(g)
		rs.Memory = &specs.LinuxMemory{}
		rs.CPU = &specs.LinuxCPU{Shares: ptr[uint64](0)}
		rs.BlockIO = &specs.LinuxBlockIO{Weight: ptr[uint16](0)}
		if r.IntN(2) == 0 {
			rs.Pids = &specs.LinuxPids{Limit: ptr[int64](0)}
		}
		rawSet(g, "linux.resources.memory.swappiness", nil)
		return show(rs)
	}},

	// --- process ---
	{"process.rlimits", []string{"rlimits", "RLIMIT"}, func(r *rand.Rand, g *gen) string {
		if r.IntN(6) == 0 {
			g.spec.Process.Rlimits = nil
			return "none"
		}
		t := pick(r, "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_CORE", "RLIMIT_STACK", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_RTPRIO", "RLIMIT_FOO", "rlimit_core", "NOFILE")
		hard := pick[uint64](r, 0, 1024, 4096, 1<<20, ^uint64(0))
		soft := pick(r, hard, hard, 0, hard+1)
		g.spec.Process.Rlimits = append(g.spec.Process.Rlimits, specs.POSIXRlimit{Type: t, Hard: hard, Soft: soft})
		return fmt.Sprintf("%s soft %d hard %d", t, soft, hard)
	}},
	{"process.capabilities", []string{"capabilit", "CAP_", "cap_", "KILL"}, func(r *rand.Rand, g *gen) string {
		c := pick(r, "CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SYS_RESOURCE", "CAP_BPF", "CAP_PERFMON", "CAP_CHECKPOINT_RESTORE", "CAP_FOO", "cap_kill", "KILL", "")
		caps := g.spec.Process.Capabilities
		sets := someOf(r, "bounding", "effective", "permitted", "inheritable", "ambient")
		for _, s := range sets {
			switch s {
			case "bounding":
				caps.Bounding = append(caps.Bounding, c)
			case "effective":
				caps.Effective = append(caps.Effective, c)
			case "permitted":
				caps.Permitted = append(caps.Permitted, c)
			case "inheritable":
				caps.Inheritable = append(caps.Inheritable, c)
			case "ambient":
				caps.Ambient = append(caps.Ambient, c)
			}
		}
		return fmt.Sprintf("%q in %v", c, sets)
	}},
	{"process.capabilities.sets", []string{"capabilit"}, func(r *rand.Rand, g *gen) string {
		switch r.IntN(3) {
		case 0:
			g.spec.Process.Capabilities = nil
			return "null"
		case 1:
			g.spec.Process.Capabilities = &specs.LinuxCapabilities{}
			return "all empty"
		}
		var all []string
		for _, c := range []string{"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
			"LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE",
			"SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
			"SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
			"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"} {
			all = append(all, "CAP_"+c)
		}
		g.spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: all, Effective: all, Permitted: all}
		return "every capability"
	}},
	{"process.user", []string{"user", "uid", "gid", "additionalGids", "umask", "groups"}, func(r *rand.Rand, g *gen) string {
		u := &g.spec.Process.User
		u.UID = pick[uint32](r, 0, 1000, 65534, 4294967294, 4294967295)
		u.GID = pick[uint32](r, 0, 1000, 65534, 4294967295)
		switch r.IntN(5) {
		case 0:
			u.AdditionalGids = []uint32{1000, 65534}
		case 1:
			u.AdditionalGids = []uint32{4294967295}
		case 2:
			u.AdditionalGids = make([]uint32, 65537)
		}
		if r.IntN(2) == 0 {
			u.Umask = ptr(pick[uint32](r, 0, 0o22, 0o77, 0o777, 0o1000))
		}
		return fmt.Sprintf("uid %d gid %d %d groups umask %v", u.UID, u.GID, len(u.AdditionalGids), show(u.Umask))
	}},
	{"process.user.username", []string{"username"}, func(r *rand.Rand, g *gen) string {
		g.spec.Process.User.Username = pick(r, "root", "tester")
		return g.spec.Process.User.Username
	}},
	{"process.cwd", []string{"cwd"}, func(r *rand.Rand, g *gen) string {
		c := pick(r, "/", "/tmp", "/nonexistent/deep", "tmp", "", "/bin/true", "/root", "/proc/self", "/../..")
		g.spec.Process.Cwd = c
		if r.IntN(3) == 0 {
			g.spec.Process.User.UID, g.spec.Process.User.GID = 1000, 1000
			return show(c) + " as 1000"
		}
		return show(c)
	}},
	{"process.env", []string{"env", "$PATH", "executable"}, func(r *rand.Rand, g *gen) string {
		e := pick(r, "FOO=bar", "NOEQUALS", "=value", "A=b=c", "PATH=/nowhere", "EMPTY=", "NUL=a\x00b", "LONG="+strings.Repeat("x", 100000), "PATH=")
		if r.IntN(5) == 0 {
			g.spec.Process.Env = nil
			g.spec.Process.Args = []string{"true"}
			return "no env, args [true]"
		}
		g.spec.Process.Env = append(g.spec.Process.Env, e)
		if r.IntN(2) == 0 {
			g.spec.Process.Args = []string{"true"}
			return fmt.Sprintf("%.40q, args [true]", e)
		}
		return fmt.Sprintf("%.40q", e)
	}},
	{"process.args", []string{"args", "exec", "true", "nonexistent", "passwd", "/bin"}, func(r *rand.Rand, g *gen) string {
		a := pick(r, []string{"true"}, []string{"sh", "-c", "exit 0"}, []string{"/bin/nonexistent"}, []string{""}, nil,
			[]string{"/bin"}, []string{"/etc/passwd"}, []string{"./true"}, []string{"/bin/true", "extra", ""})
		g.spec.Process.Args = a
		return show(a)
	}},
	{"process.terminal", []string{"terminal", "console"}, func(r *rand.Rand, g *gen) string {
		g.spec.Process.Terminal = true
		if r.IntN(2) == 0 {
			g.spec.Process.ConsoleSize = &specs.Box{Height: 25, Width: 80}
			return "with consoleSize"
		}
		return "true"
	}},
	{"process.noNewPrivileges", []string{"noNewPrivileges"}, func(r *rand.Rand, g *gen) string {
		g.spec.Process.NoNewPrivileges = false
		return "false"
	}},
	{"process.oomScoreAdj", []string{"oomScoreAdj", "oom_score_adj"}, func(r *rand.Rand, g *gen) string {
		v := pick(r, -1000, -999, 0, 500, 1000, 1001)
		g.spec.Process.OOMScoreAdj = &v
		return show(v)
	}},
	{"process.lsm", []string{"apparmorProfile", "selinuxLabel", "AppArmor", "SELinux", "apparmor", "selinux"}, func(r *rand.Rand, g *gen) string {
		if r.IntN(2) == 0 {
			g.spec.Process.ApparmorProfile = pick(r, "unconfined", "husk-diff-nonexistent")
			return "apparmor " + g.spec.Process.ApparmorProfile
		}
		g.spec.Process.SelinuxLabel = "system_u:system_r:container_t:s0"
		return "selinux label"
	}},
	{"process.ioPriority", []string{"ioPriority", "priority", "class"}, func(r *rand.Rand, g *gen) string {
		p := specs.LinuxIOPriority{Class: pick[specs.IOPriorityClass](r, "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE", "IOPRIO_CLASS_BOGUS"),
			Priority: pick(r, 0, 4, 7, 8, -1)}
		g.spec.Process.IOPriority = &p
		return show(p)
	}},
	{"process.scheduler", []string{"scheduler", "policy", "nice", "priority", "sched"}, func(r *rand.Rand, g *gen) string {
		s := pick(r, specs.Scheduler{Policy: "SCHED_OTHER", Nice: 5}, specs.Scheduler{Policy: "SCHED_BATCH", Nice: -5},
			specs.Scheduler{Policy: "SCHED_IDLE"}, specs.Scheduler{Policy: "SCHED_FIFO", Priority: 1},
			specs.Scheduler{Policy: "SCHED_OTHER", Priority: 1}, specs.Scheduler{Policy: "SCHED_BOGUS"}, specs.Scheduler{})
		g.spec.Process.Scheduler = &s
		return show(s)
	}},
	{"process.execCPUAffinity", []string{"execCPUAffinity", "initial", "final", "affinity", "CPU"}, func(r *rand.Rand, g *gen) string {
		a := pick(r, specs.CPUAffinity{Initial: "0"}, specs.CPUAffinity{Final: "0-1"}, specs.CPUAffinity{Initial: "1", Final: "0"},
			specs.CPUAffinity{Initial: "x"}, specs.CPUAffinity{Final: "64"})
		g.spec.Process.ExecCPUAffinity = &a
		return show(a)
	}},

	// --- seccomp ---
	{"seccomp", []string{"seccomp", "syscall", "action", "SCMP", "architecture", "flag", "listenerPath", "errno"}, func(r *rand.Rand, g *gen) string {
		sc := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
		var what []string
		switch r.IntN(8) {
		case 0:
			sc.DefaultAction = pick[specs.LinuxSeccompAction](r, specs.ActErrno, specs.ActLog, specs.ActTrace, "SCMP_ACT_BOGUS", "")
			what = append(what, "default "+string(sc.DefaultAction))
		case 1:
			sc.DefaultAction, sc.DefaultErrnoRet = specs.ActErrno, ptr[uint](38)
			sc.Syscalls = []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActAllow}}
			what = append(what, "default ERRNO(38), allow mkdir")
		}
		rule := pick(r,
			specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActErrno, ErrnoRet: ptr[uint](1)},
			specs.LinuxSyscall{Names: []string{"nosuchsyscall"}, Action: specs.ActErrno},
			specs.LinuxSyscall{Names: []string{}, Action: specs.ActErrno},
			specs.LinuxSyscall{Names: []string{"mkdir"}, Action: "SCMP_ACT_BOGUS"},
			specs.LinuxSyscall{Names: []string{"personality"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 8, Op: specs.OpEqualTo}}},
			specs.LinuxSyscall{Names: []string{"personality"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 7, Value: 8, Op: specs.OpEqualTo}}},
			specs.LinuxSyscall{Names: []string{"personality"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 8, Op: "SCMP_CMP_BOGUS"}}},
			specs.LinuxSyscall{Names: []string{"getcwd"}, Action: specs.ActNotify},
			specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActKillThread},
			specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActAllow},
		)
		sc.Syscalls = append(sc.Syscalls, rule)
		what = append(what, show(rule))
		if r.IntN(3) == 0 {
			sc.Architectures = pick(r, []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}, []specs.Arch{"SCMP_ARCH_BOGUS"}, []specs.Arch{specs.ArchAARCH64})
			what = append(what, fmt.Sprint(sc.Architectures))
		}
		if r.IntN(3) == 0 {
			sc.Flags = pick(r, []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog}, []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagSpecAllow},
				[]specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_BOGUS"}, []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv})
			what = append(what, fmt.Sprint(sc.Flags))
		}
		if r.IntN(5) == 0 {
			sc.ListenerPath = pick(r, "/nonexistent/seccomp.sock", "relative.sock")
			what = append(what, "listener "+sc.ListenerPath)
		}
		g.spec.Linux.Seccomp = sc
		return strings.Join(what, ", ")
	}},

	// --- hooks ---
	{"hooks", []string{"hook", "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop", "path", "timeout"}, func(r *rand.Rand, g *gen) string {
		h := specs.Hook{Path: pick(r, "/bin/true", "/bin/true", "/bin/false", "/nonexistent/hook", "true", "")}
		if r.IntN(3) == 0 {
			h.Timeout = ptr(pick(r, 0, -1, 5))
		}
		hk := hooks(g)
		kind := pick(r, "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")
		switch kind {
		case "prestart":
			//lint:ignore SA1019 prestart hooks are deprecated but still in the runtime-spec: runtimes run them
			hk.Prestart = append(hk.Prestart, h)
		case "createRuntime":
			hk.CreateRuntime = append(hk.CreateRuntime, h)
		case "createContainer":
			hk.CreateContainer = append(hk.CreateContainer, h)
		case "startContainer":
			hk.StartContainer = append(hk.StartContainer, h)
		case "poststart":
			hk.Poststart = append(hk.Poststart, h)
		case "poststop":
			hk.Poststop = append(hk.Poststop, h)
		}
		return fmt.Sprintf("%s %s", kind, show(h))
	}},

	// --- sysctls ---
	{"sysctl", []string{"sysctl"}, func(r *rand.Rand, g *gen) string {
		kv := pick(r,
			[2]string{"net.ipv4.ip_forward", "1"}, [2]string{"net.ipv4.ping_group_range", "0 2147483647"},
			[2]string{"kernel.shmmax", "68719476736"}, [2]string{"fs.mqueue.msg_max", "20"},
			[2]string{"kernel.domainname", "dom"}, [2]string{"kernel.hostname", "host"},
			[2]string{"vm.swappiness", host.swappiness}, [2]string{"net.nosuch.key", "1"},
			[2]string{"net.ipv4.ip_forward", "abc"}, [2]string{"kernel/shmmax", "1"}, [2]string{"../../etc", "1"},
			[2]string{"", "1"}, [2]string{"net.ipv4.conf.all.forwarding", "1"})
		g.spec.Linux.Sysctl = map[string]string{kv[0]: kv[1]}
		return kv[0] + "=" + kv[1]
	}},

	// --- masked and read-only paths ---
	{"maskedPaths", []string{"maskedPaths", "mask"}, func(r *rand.Rand, g *gen) string {
		p := pick(r, "/nonexistent", "relative/path", "/etc", "/proc/kcore", "/", "/proc", "/sys/fs/cgroup", "")
		if r.IntN(5) == 0 {
			g.spec.Linux.MaskedPaths = nil
			return "none"
		}
		g.spec.Linux.MaskedPaths = append(g.spec.Linux.MaskedPaths, p)
		return show(p)
	}},
	{"readonlyPaths", []string{"readonlyPaths", "read-only", "readonly"}, func(r *rand.Rand, g *gen) string {
		p := pick(r, "/nonexistent", "relative/path", "/etc", "/proc/sys", "/", "/dev", "")
		if r.IntN(5) == 0 {
			g.spec.Linux.ReadonlyPaths = nil
			return "none"
		}
		g.spec.Linux.ReadonlyPaths = append(g.spec.Linux.ReadonlyPaths, p)
		return show(p)
	}},

	// --- linux extras ---
	{"linux.mountLabel", []string{"mountLabel"}, func(r *rand.Rand, g *gen) string {
		g.spec.Linux.MountLabel = "system_u:object_r:container_file_t:s0"
		return "set"
	}},
	{"linux.intelRdt", []string{"intelRdt"}, func(r *rand.Rand, g *gen) string {
		g.spec.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "husk-diff"}
		return "closID"
	}},
	{"linux.memoryPolicy", []string{"memoryPolicy", "mode", "nodes", "flags"}, func(r *rand.Rand, g *gen) string {
		p := pick(r, specs.LinuxMemoryPolicy{Mode: "MPOL_BIND", Nodes: "0"}, specs.LinuxMemoryPolicy{Mode: "MPOL_DEFAULT"},
			specs.LinuxMemoryPolicy{Mode: "MPOL_INTERLEAVE", Nodes: "0-3"}, specs.LinuxMemoryPolicy{Mode: "MPOL_BOGUS"},
			specs.LinuxMemoryPolicy{Mode: "MPOL_PREFERRED", Nodes: "0", Flags: []specs.MemoryPolicyFlagType{"MPOL_F_STATIC_NODES"}})
		g.spec.Linux.MemoryPolicy = &p
		return show(p)
	}},
	{"linux.personality", []string{"personality", "domain"}, func(r *rand.Rand, g *gen) string {
		p := pick(r, specs.LinuxPersonality{Domain: specs.PerLinux}, specs.LinuxPersonality{Domain: specs.PerLinux32}, specs.LinuxPersonality{Domain: "LINUX_BOGUS"})
		g.spec.Linux.Personality = &p
		return show(p)
	}},
	{"linux.netDevices", []string{"netDevices", "nosuchdev", "network device"}, func(r *rand.Rand, g *gen) string {
		g.spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{"nosuchdev0": {Name: "eth5"}}
		return "nosuchdev0"
	}},

	// --- annotations, versions, unknown fields, bad JSON ---
	{"annotations", []string{"annotations"}, func(r *rand.Rand, g *gen) string {
		a := pick(r, map[string]string{"com.example.key": "value"}, map[string]string{"org.systemd.property.TimeoutStopUSec": "uint64 1000"},
			map[string]string{"run.oci.keep_original_groups": "1"}, map[string]string{"": "empty key"}, map[string]string{"k": strings.Repeat("v", 10000)})
		g.spec.Annotations = a
		return fmt.Sprintf("%.60s", show(a))
	}},
	{"ociVersion", []string{"ociVersion", "version"}, func(r *rand.Rand, g *gen) string {
		v := pick(r, "1.0.0", "1.0.2", "1.2.0", "1.3.0", "1.4.0", "0.9.0", "2.0.0", "", "banana", "1.0.0-rc1", "1.0")
		g.spec.Version = v
		return show(v)
	}},
	{"unknown-fields", nil, func(r *rand.Rand, g *gen) string {
		p := pick(r, "fooBar", "process.fooBar", "linux.resources.fooBar", "linux.fooBar", "root.fooBar", "process.user.fooBar", "linux.resources.memory.fooBar")
		rawSet(g, p, map[string]any{"x": 1})
		return p
	}},
	{"bad-json-type", []string{"cannot", "json", "JSON", "unmarshal", "process", "linux", "ociVersion", "args", "uid", "terminal", "mounts", "limit", "hostname", "env", "root"}, func(r *rand.Rand, g *gen) string {
		kv := pick(r,
			[2]any{"process.args", "true"}, [2]any{"ociVersion", 1}, [2]any{"linux.resources.pids.limit", "100"},
			[2]any{"process.user.uid", -1}, [2]any{"process.terminal", "false"}, [2]any{"mounts", map[string]any{}},
			[2]any{"hostname", nil}, [2]any{"linux", nil}, [2]any{"process", nil}, [2]any{"process.env", []any{1, 2}},
			[2]any{"linux.namespaces", "pid"}, [2]any{"root", "rootfs"}, [2]any{"process.user.uid", 1.5},
			[2]any{"linux.resources.memory.limit", 1e30}, [2]any{"process.rlimits", nil}, [2]any{"linux.sysctl", []any{}})
		rawSet(g, kv[0].(string), kv[1])
		return fmt.Sprintf("%s = %s", kv[0], show(kv[1]))
	}},
}
