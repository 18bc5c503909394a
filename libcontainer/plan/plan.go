// Package plan decides what a container's init does, in order, as the ops
// of initproto's plan: the parent builds the plan from the internal config,
// and the init's C stage (libcontainer/nsenter) executes it without the Go
// runtime. Everything that is policy (which mounts, in which order, with
// which flags; which paths are masked; which credentials, capabilities and
// seccomp program) is decided here, where it is tested without root; the
// C side does each op's few syscalls.
package plan

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/initproto"
	"github.com/husk-runtime/husk/libcontainer/seccomp"
	"golang.org/x/sys/unix"
)

// Options are what a plan is built from besides the config: the parent's
// choices and the host's facts.
type Options struct {
	ID      string // the container's
	Config  *configs.Config
	Process *configs.Process
	// Exec: a process exec'd into a running container (no rootfs, no
	// fifo, no container hooks).
	Exec bool
	// CgroupPaths are the container's cgroup directories (the cgroup
	// mount), keyed as cgroups.Manager.Paths.
	CgroupPaths map[string]string
	// Fifo and ConsoleSocket are the init's fds of the exec fifo and of
	// the socket the pty master goes to; -1 when there is none.
	Fifo, ConsoleSocket int
	PreserveFds         int
	// HookState gives the OCI state the init's hooks get: the JSON before
	// and after the status and pid, which the init fills in. Called only
	// when there are createContainer or startContainer hooks (nil: empty).
	HookState func() [2]string
	// MountSources: the parent answers MountRequest (it runs as root).
	MountSources bool
	// ClearONLCR: the pty goes to husk's own proxy.
	ClearONLCR bool
	// JoinAfterReady: exec --ignore-paused.
	JoinAfterReady bool
	// Seccomp is the compiled filter (nil: none); SeccompDumpable: an
	// unprivileged parent takes the listener, which needs the init
	// dumpable for that moment.
	Seccomp         *seccomp.Program
	SeccompDumpable bool
	// CannotExec, if set, is why the workload can never start (its filter
	// kills execve): start is told so.
	CannotExec string
	// The host: /proc/kcore exists (/dev/core links to it); the LSMs on.
	HostKcore bool
	SELinux   bool
	AppArmor  bool
}

// Build returns the plan of an init (create) or of an exec'd process.
func Build(o Options) ([]initproto.Op, error) {
	b := &builder{o: o, cfg: o.Config, proc: o.Process}
	if o.Exec {
		b.execSetup()
	} else {
		if err := b.rootfs(); err != nil {
			return nil, err
		}
		b.containerSetup()
	}
	if err := b.process(); err != nil {
		return nil, err
	}
	return b.ops, nil
}

type builder struct {
	o    Options
	cfg  *configs.Config
	proc *configs.Process
	ops  []initproto.Op
	// setupDev: the runtime makes the container's /dev (no bind of one
	// at /dev), so its /dev/null is not the host's.
	setupDev bool
}

func (b *builder) add(name string, fields ...any) {
	b.ops = append(b.ops, initproto.NewOp(name, fields...))
}

func boolU32(v bool) uint32 {
	if v {
		return 1
	}
	return 0
}

// rootfs plans the container's filesystem: its mounts in config order,
// /dev, read-only and masked paths, the cwd, the read-only root.
func (b *builder) rootfs() error {
	c := b.cfg
	if c.Has(configs.NEWNS) {
		prop := uint32(c.RootPropagation)
		if prop == unix.MS_UNBINDABLE|unix.MS_REC {
			// An unbindable tree could not be bound from (cgroup v1's
			// hierarchies, a host directory): made unbindable after
			// pivot_root instead.
			prop = unix.MS_SLAVE | unix.MS_REC
		}
		parent := uint32(unix.MS_PRIVATE)
		if c.RootPropagation&unix.MS_SLAVE != 0 {
			parent = unix.MS_SLAVE
		}
		b.add("prep-root", prop, parent, c.Rootfs)
	} else {
		b.add("prep-root-nomntns", c.Rootfs)
	}
	setupDev := true
	for i, m := range c.Mounts {
		if m.Destination == "/dev" && m.IsBind() {
			setupDev = false
		}
		if m.Device == "cgroup" {
			b.cgroupMount(m)
			continue
		}
		if err := b.mount(i, m); err != nil {
			return err
		}
	}
	if c.Has(configs.NEWUSER) && !c.Has(configs.NEWCGROUP) && c.Has(configs.NEWNS) && !mountsUnder(c, "/sys/fs/cgroup") {
		b.add("guard-cgroups")
	}
	b.setupDev = setupDev && c.Has(configs.NEWNS)
	if setupDev {
		for _, d := range c.Devices {
			mode := d.FileMode
			switch d.Type {
			case 'c':
				mode |= unix.S_IFCHR
			case 'b':
				mode |= unix.S_IFBLK
			case 'p':
				mode |= unix.S_IFIFO
			}
			var flags uint32
			if strings.HasPrefix(d.Path, "/dev/") {
				flags |= initproto.PlanFlags["DEV_IN_DEV"]
			}
			b.add("mknod", d.Path, uint32(d.Type), uint32(d.Major), uint32(d.Minor), mode, d.UID, d.GID, flags)
		}
		if b.proc.Terminal {
			b.add("console-file")
		}
		links := [][2]string{
			{"/proc/self/fd", "/dev/fd"},
			{"/proc/self/fd/0", "/dev/stdin"},
			{"/proc/self/fd/1", "/dev/stdout"},
			{"/proc/self/fd/2", "/dev/stderr"},
		}
		if b.o.HostKcore {
			links = append(links, [2]string{"/proc/kcore", "/dev/core"})
		}
		for _, l := range links {
			b.add("symlink", l[0], l[1], uint32(0))
		}
		// /dev/ptmx is the devpts instance's.
		b.add("symlink", "pts/ptmx", "/dev/ptmx", uint32(1))
	}
	for _, p := range c.ReadonlyPaths {
		b.add("readonly", p)
	}
	var masked []string
	seen := map[string]bool{}
	for _, p := range c.MaskedPaths {
		p = filepath.Clean(p)
		if !seen[p] {
			seen[p] = true
			masked = append(masked, p)
		}
	}
	if len(masked) > 0 {
		// The smallest tmpfs; a kernel that wants two inodes gets them.
		b.add("mask", b.mountData("nr_blocks=1,nr_inodes=1"), b.mountData("nr_blocks=1,nr_inodes=2"), masked)
	}
	b.add("mkdir", b.proc.Cwd)
	b.add("deferred-ro")
	if c.Readonly {
		b.add("root-ro")
	}
	return nil
}

func mountsUnder(c *configs.Config, dir string) bool {
	for _, m := range c.Mounts {
		if m.Destination == dir || strings.HasPrefix(m.Destination, dir+"/") {
			return true
		}
	}
	return false
}

// mountData adds the config's SELinux mount label, where SELinux is on.
func (b *builder) mountData(data string) string {
	label := b.cfg.MountLabel
	if label == "" || !b.o.SELinux {
		return data
	}
	ctx := fmt.Sprintf("context=%q", label)
	if data == "" {
		return ctx
	}
	return data + "," + ctx
}

func (b *builder) mount(i int, m *configs.Mount) error {
	var opts uint32
	set := func(name string) { opts |= initproto.PlanFlags[name] }
	if m.TmpCopyUp {
		set("MNT_TMPCOPYUP")
	}
	if m.Device == "proc" || m.Device == "sysfs" {
		set("MNT_ORDINARY_DIR")
	}
	// As runc: a read-only tmpfs (and /dev) turns read-only only once
	// /dev/pts, the devices and the mounts below it are in place.
	if m.Flags&unix.MS_RDONLY != 0 && !m.IsBind() && (m.Device == "tmpfs" || m.Destination == "/dev") {
		set("MNT_DEFER_RO")
	}
	if m.Device == "tmpfs" {
		set("MNT_TMPFS_MODE")
	}
	data := m.Data
	if m.IsBind() {
		switch {
		case m.IDMap != nil && !b.o.MountSources:
			return fmt.Errorf("mount %q on %q: idmapped mounts need husk to run as root", m.Source, m.Destination)
		case m.IDMap != nil:
			set("MNT_SRC_PARENT")
			set("MNT_IDMAP")
		case b.o.MountSources:
			set("MNT_SRC_UNREACHABLE")
		}
	} else if m.Device != "proc" && m.Device != "sysfs" {
		data = b.mountData(data)
	}
	props := make([]uint32, len(m.PropagationFlags))
	for j, p := range m.PropagationFlags {
		props[j] = uint32(p)
	}
	b.add("mount", uint32(i), boolU32(m.IsBind()), uint32(m.Flags), uint32(m.ClearFlags), m.RecAttrSet, m.RecAttrClr,
		opts, m.Source, m.Destination, m.Device, data, props)
	return nil
}

// cgroupMount plans the "cgroup" mount: on v2 a bind of the container's
// cgroup directory, or a fresh cgroup2 mount with a cgroup namespace; on
// v1 a tmpfs with a bind per hierarchy (and a link per controller of a
// combined one).
func (b *builder) cgroupMount(m *configs.Mount) {
	flags := uint32(m.Flags) &^ (unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT)
	paths := cgroups.Paths(b.o.CgroupPaths)
	if v2, ok := paths.UnifiedOnly(); ok {
		if b.cfg.Has(configs.NEWCGROUP) {
			b.add("mount", uint32(0), uint32(0), flags, uint32(0), uint64(0), uint64(0), uint32(0),
				"cgroup2", m.Destination, "cgroup2", "", []uint32{})
			return
		}
		b.add("bind-cgroup", v2, m.Destination, flags)
		return
	}
	b.add("mount", uint32(0), uint32(0), flags&^unix.MS_RDONLY, uint32(0), uint64(0), uint64(0), uint32(0),
		"tmpfs", m.Destination, "tmpfs", "mode=755", []uint32{})
	for _, h := range paths.Hierarchies() {
		if h.Unified() { // the hybrid host's cgroup2 mount, as runc: not shown
			continue
		}
		name := h.DirName()
		b.add("bind-cgroup", paths[string(h)], filepath.Join(m.Destination, name), flags)
		if ctrls := h.MountOptions(); len(ctrls) > 1 {
			for _, c := range ctrls {
				b.add("symlink", name, filepath.Join(m.Destination, c), uint32(0))
			}
		}
	}
}

// containerSetup plans what comes between the rootfs and the process: the
// hooks in the container's namespaces, sysctls, entering the rootfs, the
// terminal, names and the keyring.
func (b *builder) containerSetup() {
	c, p := b.cfg, b.proc
	if len(c.Hooks["prestart"])+len(c.Hooks["createRuntime"]) > 0 {
		b.add("parent-hooks")
	}
	if len(c.Hooks["createContainer"]) > 0 || len(c.Hooks["startContainer"]) > 0 {
		var st [2]string
		if b.o.HookState != nil {
			st = b.o.HookState()
		}
		b.add("hook-state", st[0], st[1])
	}
	for i, h := range c.Hooks["createContainer"] {
		flags := initproto.PlanFlags["HOOK_CWD_ROOTFS"]
		if h.Env != nil {
			flags |= initproto.PlanFlags["HOOK_ENV_SET"]
		}
		b.hook("createContainer", i, h, flags)
	}
	keys := make([]string, 0, len(c.Sysctl))
	for k := range c.Sysctl {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.add("sysctl", k, sysctlPath(k), c.Sysctl[k])
	}
	if p.OOMScoreAdj != nil {
		b.add("oom", strconv.Itoa(*p.OOMScoreAdj))
	}
	mode := initproto.PlanFlags["PIVOT_ROOT"]
	var final uint32
	switch {
	case !c.Has(configs.NEWNS):
		mode = initproto.PlanFlags["PIVOT_CHROOT"]
	case c.NoPivotRoot:
		mode = initproto.PlanFlags["PIVOT_NONE"]
	}
	if c.Has(configs.NEWNS) && c.RootPropagation&(unix.MS_SHARED|unix.MS_UNBINDABLE) != 0 {
		final = uint32(c.RootPropagation)
	}
	b.add("pivot", mode, final, c.Rootfs)
	if b.setupDev {
		// The stdio the caller gave as the host's /dev/null becomes the
		// container's (as runc): CRIU cannot dump a file of a mount the
		// container does not have.
		b.add("reopen-null")
	}
	if p.Terminal {
		b.console(true)
	}
	if c.Hostname != "" {
		b.add("hostname", c.Hostname)
	}
	if c.Domainname != "" {
		b.add("domainname", c.Domainname)
	}
}

// sysctlPath is a sysctl's path below /proc/sys: dots and slashes swapped
// (a slash in a dotted name is a dot in its component, as in "eth0.100").
func sysctlPath(k string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, k)
}

func (b *builder) hook(kind string, i int, h configs.Hook, flags uint32) {
	var timeout uint32
	if h.Timeout != nil && *h.Timeout > 0 {
		timeout = uint32(*h.Timeout)
	}
	args := h.Args
	if len(args) == 0 {
		args = []string{h.Path}
	}
	env := h.Env
	if env == nil {
		env = []string{}
	}
	b.add("hook", kind, uint32(i), timeout, flags, h.Path, args, env)
}

func (b *builder) console(mount bool) {
	var flags, rows, cols uint32
	if mount {
		flags |= initproto.PlanFlags["CONSOLE_MOUNT"]
	}
	if b.o.ClearONLCR {
		flags |= initproto.PlanFlags["CONSOLE_CLEAR_ONLCR"]
	}
	if s := b.proc.ConsoleSize; s != nil {
		rows, cols = uint32(s[0]), uint32(s[1])
	}
	b.add("console", flags, rows, cols, b.proc.UID, uint32(b.o.ConsoleSocket))
}

// execSetup plans what an exec'd process needs before the process setup:
// the container's root without a mount namespace, its oom_score_adj, its
// terminal.
func (b *builder) execSetup() {
	if !b.cfg.Has(configs.NEWNS) {
		b.add("chroot", b.cfg.Rootfs)
	}
	if b.proc.OOMScoreAdj != nil {
		b.add("oom", strconv.Itoa(*b.proc.OOMScoreAdj))
	}
	if b.proc.Terminal {
		b.console(false)
	}
}

// process plans the workload's process: per-thread attributes, labels,
// limits, environment, credentials and capabilities, the seccomp filter,
// the handoff, the exec fifo and the exec itself, in the order runc's
// init does them.
func (b *builder) process() error {
	c, p := b.cfg, b.proc
	if !b.o.Exec && !c.NoNewKeyring {
		b.add("keyring", "_ses."+b.o.ID)
	}
	if c.Personality != nil {
		b.add("personality", uint32(*c.Personality))
	}
	if mp := c.MemoryPolicy; mp != nil {
		var nodes unix.CPUSet // a bit mask like a CPU set
		for _, n := range mp.Nodes {
			nodes.Set(n)
		}
		mask := make([]byte, 0, 8*len(nodes))
		for _, w := range nodes {
			for i := 0; i < 8; i++ {
				mask = append(mask, byte(w>>(8*i)))
			}
		}
		b.add("mempolicy", uint32(mp.Mode), mask)
	}
	if s := p.Scheduler; s != nil {
		own := c.Cgroup != nil && c.Cgroup.Resources != nil && c.Cgroup.Resources.CPUs != ""
		b.add("sched", s.Policy, s.Flags, uint32(s.Nice), s.Priority, s.Runtime, s.Deadline, s.Period, boolU32(own))
	}
	if p.IOPriority != nil {
		b.add("ioprio", uint32(*p.IOPriority))
	}
	if p.AppArmorProfile != "" {
		// AppArmor's own attr directory where the kernel has it, else
		// the shared one (written by the init: it knows which exists).
		b.add("lsm-exec", "attr/apparmor/exec", "exec "+p.AppArmorProfile, "apparmor")
	}
	if p.SELinuxLabel != "" {
		b.add("lsm-exec", "attr/exec", p.SELinuxLabel, "selinux")
	}
	for _, rl := range p.Rlimits {
		b.add("rlimit", uint32(rl.Type), rl.Soft, rl.Hard, RlimitName(rl.Type))
	}
	if p.Umask != nil {
		b.add("umask", *p.Umask)
	}
	env, home, err := Env(p.Env)
	if err != nil {
		return err
	}
	var envFlags uint32
	if !home {
		envFlags = initproto.PlanFlags["ENV_HOME_FROM_PASSWD"]
	}
	b.add("env", env, p.UID, envFlags)
	var caps configs.Caps
	if p.Capabilities != nil {
		caps = *p.Capabilities
	}
	// The bounding set is dropped while still root (needs CAP_SETPCAP);
	// the cwd is entered while still root, as runc does.
	b.add("caps-bounding", caps.Bounding)
	b.add("cwd", p.Cwd)
	// Without no_new_privs, loading a seccomp filter needs CAP_SYS_ADMIN:
	// it is loaded before the user switch drops it.
	prog := b.o.Seccomp
	if b.o.CannotExec != "" {
		prog = nil
	}
	if prog != nil && !p.NoNewPrivileges {
		b.seccomp(prog)
	}
	groups := make([]uint32, len(p.AdditionalGids))
	copy(groups, p.AdditionalGids)
	b.add("user", p.UID, p.GID, groups)
	b.add("caps", caps.Effective, caps.Permitted, caps.Inheritable, caps.Ambient)
	if p.NoNewPrivileges {
		b.add("nnp")
	}
	// setuid, setgid and capability changes cleared the parent death
	// signal: set again until the handoff.
	b.add("parent-death")
	if b.o.PreserveFds > 0 {
		b.add("preserve-fds", uint32(b.o.PreserveFds))
	}
	b.add("lookup", p.Args[0])
	var ready uint32
	if b.o.JoinAfterReady {
		ready |= initproto.PlanFlags["READY_JOIN_AFTER"]
	}
	if prog != nil && p.NoNewPrivileges && prog.Notify {
		ready |= initproto.PlanFlags["READY_KEEP_SOCKET"]
	}
	if b.o.Exec && b.o.CannotExec != "" {
		return errors.New(b.o.CannotExec)
	}
	b.add("ready", ready)
	// With no_new_privs the filter is loaded after the handoff, as close
	// to the exec as it can be: the exec fifo, the startContainer hooks
	// and the exec run under it, as with runc.
	if prog != nil && p.NoNewPrivileges {
		b.seccomp(prog)
	}
	if !b.o.Exec {
		b.add("fifo-open", uint32(b.o.Fifo))
		for i, h := range c.Hooks["startContainer"] {
			flags := initproto.PlanFlags["HOOK_STATE_CREATED"]
			if len(h.Env) > 0 {
				flags |= initproto.PlanFlags["HOOK_ENV_SET"]
			} else {
				flags |= initproto.PlanFlags["HOOK_ENV_PROCESS"]
			}
			b.hook("startContainer", i, h, flags)
		}
		b.add("fifo-done", b.o.CannotExec)
	}
	b.add("exec", p.Args)
	return nil
}

func (b *builder) seccomp(prog *seccomp.Program) {
	insns := make([]byte, 0, 8*len(prog.Insns))
	for _, in := range prog.Insns {
		insns = append(insns, byte(in.Code), byte(in.Code>>8), in.Jt, in.Jf,
			byte(in.K), byte(in.K>>8), byte(in.K>>16), byte(in.K>>24))
	}
	b.add("seccomp", uint32(prog.LoadFlags()), boolU32(prog.Notify), boolU32(b.o.SeccompDumpable), insns)
}

// Env is the workload's environment as runc makes it: a key given twice is
// set once (the last wins), an empty HOME is dropped (the init then adds
// the passwd one); home says whether a HOME is left.
func Env(env []string) (out []string, home bool, err error) {
	out = make([]string, 0, len(env)+1)
	seen := make(map[string]bool, len(env))
	for i := len(env) - 1; i >= 0; i-- {
		key, val, ok := strings.Cut(env[i], "=")
		switch {
		case !ok:
			return nil, false, errors.New("invalid environment variable: missing '='")
		case key == "":
			return nil, false, errors.New("invalid environment variable: name cannot be empty")
		case seen[key]:
			continue
		}
		seen[key] = true
		if strings.IndexByte(env[i], 0) >= 0 {
			return nil, false, fmt.Errorf("invalid environment variable %q: contains nul byte (\\x00)", key)
		}
		if key == "HOME" {
			if val == "" {
				continue
			}
			home = true
		}
		out = append(out, env[i])
	}
	slices.Reverse(out)
	return out, home, nil
}

// RlimitName names a resource as process.rlimits does.
func RlimitName(t int) string {
	names := map[int]string{
		unix.RLIMIT_AS: "RLIMIT_AS", unix.RLIMIT_CORE: "RLIMIT_CORE", unix.RLIMIT_CPU: "RLIMIT_CPU",
		unix.RLIMIT_DATA: "RLIMIT_DATA", unix.RLIMIT_FSIZE: "RLIMIT_FSIZE", unix.RLIMIT_LOCKS: "RLIMIT_LOCKS",
		unix.RLIMIT_MEMLOCK: "RLIMIT_MEMLOCK", unix.RLIMIT_MSGQUEUE: "RLIMIT_MSGQUEUE",
		unix.RLIMIT_NICE: "RLIMIT_NICE", unix.RLIMIT_NOFILE: "RLIMIT_NOFILE", unix.RLIMIT_NPROC: "RLIMIT_NPROC",
		unix.RLIMIT_RSS: "RLIMIT_RSS", unix.RLIMIT_RTPRIO: "RLIMIT_RTPRIO", unix.RLIMIT_RTTIME: "RLIMIT_RTTIME",
		unix.RLIMIT_SIGPENDING: "RLIMIT_SIGPENDING", unix.RLIMIT_STACK: "RLIMIT_STACK",
	}
	if n, ok := names[t]; ok {
		return "process.rlimits " + n
	}
	return "process.rlimits " + strconv.Itoa(t)
}
