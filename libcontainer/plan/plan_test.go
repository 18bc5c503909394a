package plan

import (
	"strings"
	"testing"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/initproto"
	"github.com/husk-runtime/husk/libcontainer/seccomp"
	"golang.org/x/sys/unix"
)

// A config like `runc spec`'s, as specconv makes it.
func defaultConfig() (*configs.Config, *configs.Process) {
	cfg := &configs.Config{
		Rootfs:          "/b/rootfs",
		Readonly:        true,
		RootPropagation: unix.MS_SLAVE | unix.MS_REC,
		Hostname:        "runc",
		Namespaces: []configs.Namespace{
			{Type: configs.NEWPID}, {Type: configs.NEWNET}, {Type: configs.NEWIPC}, {Type: configs.NEWUTS}, {Type: configs.NEWNS},
		},
		Mounts: []*configs.Mount{
			{Source: "proc", Destination: "/proc", Device: "proc"},
			{Source: "tmpfs", Destination: "/dev", Device: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k"},
			{Source: "devpts", Destination: "/dev/pts", Device: "devpts", Flags: unix.MS_NOSUID | unix.MS_NOEXEC, Data: "newinstance,ptmxmode=0666,mode=0620,gid=5"},
			{Source: "sysfs", Destination: "/sys", Device: "sysfs", Flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV | unix.MS_RDONLY},
			{Source: "cgroup", Destination: "/sys/fs/cgroup", Device: "cgroup", Flags: unix.MS_RDONLY},
		},
		Devices:       []*configs.Device{{Path: "/dev/null", Type: 'c', Major: 1, Minor: 3, FileMode: 0o666}},
		MaskedPaths:   []string{"/proc/kcore", "/sys/firmware", "/proc//kcore"},
		ReadonlyPaths: []string{"/proc/sys"},
	}
	proc := &configs.Process{
		Args: []string{"sh"}, Env: []string{"PATH=/bin", "TERM=xterm"}, Cwd: "/",
		Capabilities:    &configs.Caps{Bounding: 1 << unix.CAP_KILL, Effective: 1 << unix.CAP_KILL, Permitted: 1 << unix.CAP_KILL},
		Rlimits:         []configs.Rlimit{{Type: unix.RLIMIT_NOFILE, Hard: 1024, Soft: 1024}},
		NoNewPrivileges: true,
	}
	return cfg, proc
}

func build(t *testing.T, o Options) []initproto.Op {
	t.Helper()
	if o.Fifo == 0 {
		o.Fifo = 9
	}
	ops, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := initproto.EncodePlan(ops); err != nil {
		t.Fatalf("the plan does not encode: %v", err)
	}
	return ops
}

func names(ops []initproto.Op) []string {
	var out []string
	for _, o := range ops {
		out = append(out, strings.Fields(o.String())[0])
	}
	return out
}

func find(ops []initproto.Op, name string) []initproto.Op {
	var out []initproto.Op
	for _, o := range ops {
		if strings.Fields(o.String())[0] == name {
			out = append(out, o)
		}
	}
	return out
}

func indexOf(ops []initproto.Op, name string) int {
	for i, o := range ops {
		if strings.Fields(o.String())[0] == name {
			return i
		}
	}
	return -1
}

// The whole sequence of a default container, in the order runc's init
// does it: the rootfs (mounts in config order, the cgroup mount expanded,
// /dev, read-only, masked), the container (pivot, names), the process
// (limits, environment, credentials), the handoff, the fifo, the exec.
func TestDefaultContainerSequence(t *testing.T) {
	cfg, proc := defaultConfig()
	ops := build(t, Options{ID: "c1", Config: cfg, Process: proc, HostKcore: true,
		CgroupPaths: map[string]string{"memory": "/sys/fs/cgroup/memory/c1", "cpu,cpuacct": "/sys/fs/cgroup/cpu,cpuacct/c1", "": "/sys/fs/cgroup/unified/c1"}})
	want := "prep-root mount mount mount mount mount bind-cgroup symlink symlink bind-cgroup mknod " +
		"symlink symlink symlink symlink symlink symlink readonly mask mkdir deferred-ro root-ro " +
		"pivot reopen-null hostname keyring rlimit env caps-bounding cwd user caps nnp parent-death lookup ready " +
		"fifo-open fifo-done exec"
	if got := strings.Join(names(ops), " "); got != want {
		t.Errorf("sequence:\n got %s\nwant %s", got, want)
	}
	// The cgroup mount on v1: a tmpfs, a bind per hierarchy (not the
	// hybrid host's cgroup2), a link per controller of a combined one.
	if s := ops[5].String(); !strings.Contains(s, `source="tmpfs" dest="/sys/fs/cgroup" fstype="tmpfs" data="mode=755"`) {
		t.Errorf("cgroup mount: %s", s)
	}
	if s := find(ops, "bind-cgroup")[0].String(); !strings.Contains(s, `dest="/sys/fs/cgroup/cpu,cpuacct"`) {
		t.Errorf("first hierarchy: %s", s)
	}
	// Masked paths: cleaned, each once.
	if s := find(ops, "mask")[0].String(); !strings.Contains(s, "paths=[/proc/kcore /sys/firmware]") {
		t.Errorf("mask: %s", s)
	}
	if s := find(ops, "keyring")[0].String(); !strings.Contains(s, `"_ses.c1"`) {
		t.Errorf("keyring: %s", s)
	}
}

// rootfsPropagation: "/" takes it before anything is mounted, except
// runbindable (made after pivot_root: a bind from an unbindable tree would
// fail); shared and unbindable are applied to the new root at the pivot.
func TestRootPropagation(t *testing.T) {
	for _, c := range []struct {
		prop         int
		setup, final string
	}{
		{unix.MS_SLAVE | unix.MS_REC, "prop=540672 parent_prop=524288", "pivot rootfs="},
		{unix.MS_PRIVATE | unix.MS_REC, "prop=278528 parent_prop=262144", "pivot rootfs="},
		{unix.MS_SHARED | unix.MS_REC, "prop=1064960 parent_prop=262144", "pivot final_prop=1064960"},
		{unix.MS_UNBINDABLE | unix.MS_REC, "prop=540672 parent_prop=262144", "pivot final_prop=147456"},
	} {
		cfg, proc := defaultConfig()
		cfg.RootPropagation = uintptr(c.prop)
		ops := build(t, Options{Config: cfg, Process: proc})
		if s := ops[0].String(); !strings.Contains(s, c.setup) {
			t.Errorf("propagation %#x: %s, want %s", c.prop, s, c.setup)
		}
		if s := find(ops, "pivot")[0].String(); !strings.HasPrefix(s, c.final) {
			t.Errorf("propagation %#x: %s, want %s", c.prop, s, c.final)
		}
	}
}

// Mount options: binds ask their source of the parent where it must make
// it (idmapped) or the init may not reach it; a read-only tmpfs is made
// read-only last; proc and sysfs go on directories only; tmpfs takes the
// mode of what it covers.
func TestMountOptions(t *testing.T) {
	cfg, proc := defaultConfig()
	cfg.Mounts = []*configs.Mount{
		{Source: "/host", Destination: "/h", Device: "bind", Flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY},
		{Source: "/idm", Destination: "/i", Device: "bind", Flags: unix.MS_BIND, IDMap: &configs.MountIDMap{}},
		{Source: "tmpfs", Destination: "/t", Device: "tmpfs", Flags: unix.MS_RDONLY, TmpCopyUp: true},
		{Source: "proc", Destination: "/proc", Device: "proc"},
	}
	ops := find(build(t, Options{Config: cfg, Process: proc, MountSources: true}), "mount")
	flag := func(n string) uint32 { return initproto.PlanFlags[n] }
	opts := func(o initproto.Op) uint32 { return o.Fields[6].(uint32) }
	if opts(ops[0]) != flag("MNT_SRC_UNREACHABLE") {
		t.Errorf("bind: %s", ops[0])
	}
	if opts(ops[1]) != flag("MNT_SRC_PARENT")|flag("MNT_IDMAP") {
		t.Errorf("idmapped bind: %s", ops[1])
	}
	if opts(ops[2]) != flag("MNT_TMPCOPYUP")|flag("MNT_DEFER_RO")|flag("MNT_TMPFS_MODE") {
		t.Errorf("read-only tmpfs: %s", ops[2])
	}
	if opts(ops[3]) != flag("MNT_ORDINARY_DIR") {
		t.Errorf("proc: %s", ops[3])
	}
	// Without a parent that can make sources (rootless), an idmapped
	// mount is refused up front.
	if _, err := Build(Options{Config: cfg, Process: proc}); err == nil || !strings.Contains(err.Error(), "idmapped") {
		t.Errorf("idmapped mount without MountSources: %v", err)
	}
}

// /dev is the container's only when no bind covers it; a terminal gets its
// /dev/console mount point; the guard of the host's cgroups comes with a
// user namespace that has no cgroup namespace.
func TestDevAndGuards(t *testing.T) {
	cfg, proc := defaultConfig()
	cfg.Mounts = append(cfg.Mounts, &configs.Mount{Source: "/dev", Destination: "/dev", Device: "bind", Flags: unix.MS_BIND | unix.MS_REC})
	ops := build(t, Options{Config: cfg, Process: proc})
	if len(find(ops, "mknod")) != 0 || len(find(ops, "symlink")) != 0 {
		t.Errorf("a bound /dev got devices: %v", names(ops))
	}
	cfg, proc = defaultConfig()
	proc.Terminal = true
	cfg.Namespaces = append(cfg.Namespaces, configs.Namespace{Type: configs.NEWUSER})
	cfg.Mounts = cfg.Mounts[:4] // no cgroup mount
	ops = build(t, Options{Config: cfg, Process: proc, ConsoleSocket: 5})
	if indexOf(ops, "console-file") < indexOf(ops, "mknod") || indexOf(ops, "guard-cgroups") < 0 {
		t.Errorf("terminal in a user namespace: %v", names(ops))
	}
	if s := find(ops, "console")[0].String(); !strings.Contains(s, "flags=1") || !strings.Contains(s, "sockfd=5") {
		t.Errorf("console: %s", s)
	}
}

// Without no_new_privs the filter is loaded before the user switch (it
// needs CAP_SYS_ADMIN); with it, after the handoff, as close to the exec
// as it gets. A filter that would kill the workload at its execve is not
// loaded: start is told why.
func TestSeccompPlacement(t *testing.T) {
	prog := &seccomp.Program{Insns: []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0x7fff0000}}}
	cfg, proc := defaultConfig()
	proc.NoNewPrivileges = false
	ops := build(t, Options{Config: cfg, Process: proc, Seccomp: prog})
	if i := indexOf(ops, "seccomp"); i < 0 || i > indexOf(ops, "user") {
		t.Errorf("without no_new_privs: %v", names(ops))
	}
	cfg, proc = defaultConfig()
	ops = build(t, Options{Config: cfg, Process: proc, Seccomp: prog})
	if i := indexOf(ops, "seccomp"); i < indexOf(ops, "ready") || i > indexOf(ops, "fifo-open") {
		t.Errorf("with no_new_privs: %v", names(ops))
	}
	prog.Notify = true
	ops = build(t, Options{Config: cfg, Process: proc, Seccomp: prog})
	if s := find(ops, "ready")[0].String(); !strings.Contains(s, "flags=2") {
		t.Errorf("a late notify listener keeps the socket: %s", s)
	}
	ops = build(t, Options{Config: cfg, Process: proc, Seccomp: prog, CannotExec: "kills execve"})
	if len(find(ops, "seccomp")) != 0 || !strings.Contains(find(ops, "fifo-done")[0].String(), "kills execve") {
		t.Errorf("a filter that kills execve: %v", ops)
	}
}

// Hooks: createContainer in the rootfs with the init's (empty) env unless
// they have one; startContainer after the fifo opens, with the process's
// env unless they have one; the runtime's own hooks asked of the parent.
func TestHooks(t *testing.T) {
	cfg, proc := defaultConfig()
	cfg.Hooks = configs.Hooks{
		"prestart":        {{Path: "/p"}},
		"createContainer": {{Path: "/cc", Env: []string{"A=1"}}},
		"startContainer":  {{Path: "/sc"}},
	}
	ops := build(t, Options{Config: cfg, Process: proc, HookState: func() [2]string { return [2]string{"{", "}"} }})
	order := []string{"parent-hooks", "hook-state", "hook", "pivot", "ready", "fifo-open", "hook", "fifo-done"}
	last := -1
	for _, n := range order {
		i := -1
		for j := last + 1; j < len(ops); j++ {
			if strings.Fields(ops[j].String())[0] == n {
				i = j
				break
			}
		}
		if i < 0 {
			t.Fatalf("%s missing or out of order: %v", n, names(ops))
		}
		last = i
	}
	hs := find(ops, "hook")
	flag := func(n string) uint32 { return initproto.PlanFlags[n] }
	if f := hs[0].Fields[3].(uint32); f != flag("HOOK_CWD_ROOTFS")|flag("HOOK_ENV_SET") {
		t.Errorf("createContainer hook: %s", hs[0])
	}
	if f := hs[1].Fields[3].(uint32); f != flag("HOOK_STATE_CREATED")|flag("HOOK_ENV_PROCESS") {
		t.Errorf("startContainer hook: %s", hs[1])
	}
}

// An exec'd process: no rootfs, no fifo, no hooks; the container's root
// without a mount namespace.
func TestExecPlan(t *testing.T) {
	cfg, proc := defaultConfig()
	ops := build(t, Options{Config: cfg, Process: proc, Exec: true, Fifo: -1})
	want := "rlimit env caps-bounding cwd user caps nnp parent-death lookup ready exec"
	if got := strings.Join(names(ops), " "); got != want {
		t.Errorf("exec:\n got %s\nwant %s", got, want)
	}
	cfg.Namespaces = cfg.Namespaces[:4] // no mount namespace
	if ops := build(t, Options{Config: cfg, Process: proc, Exec: true, Fifo: -1}); names(ops)[0] != "chroot" {
		t.Errorf("exec without a mount namespace: %v", names(ops))
	}
}

// The environment as runc makes it: the last of a key given twice, an
// empty HOME replaced by the passwd one (by the init), bad entries refused.
func TestEnv(t *testing.T) {
	env, home, err := Env([]string{"A=1", "HOME=", "B=2", "A=3"})
	if err != nil || home || strings.Join(env, " ") != "B=2 A=3" {
		t.Errorf("%v %v %v", env, home, err)
	}
	if _, home, _ := Env([]string{"HOME=/h"}); !home {
		t.Error("HOME=/h not kept")
	}
	for _, bad := range [][]string{{"NOEQUALS"}, {"=v"}, {"A=\x00"}} {
		if _, _, err := Env(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Every config of the sequence tests builds a plan the C decoder's op
// table accepts (EncodePlan checks each field's kind).
func TestSysctlPaths(t *testing.T) {
	for in, want := range map[string]string{
		"net.ipv4.ip_forward":      "net/ipv4/ip_forward",
		"net/ipv4/conf/eth0.100/x": "net.ipv4.conf.eth0/100.x",
		"kernel.msgmax":            "kernel/msgmax",
	} {
		if got := sysctlPath(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
