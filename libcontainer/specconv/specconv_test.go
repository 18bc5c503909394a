package specconv

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/husk-runtime/husk/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// bundle makes a bundle directory with a rootfs and returns it with a
// runnable spec (terminal off).
func bundle(t *testing.T) (string, *specs.Spec) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := Example()
	s.Process.Terminal = false
	return dir, s
}

func convert(t *testing.T, dir string, s *specs.Spec) (*configs.Config, *configs.Process, error) {
	t.Helper()
	return Convert(s, Options{ID: "c1", Bundle: dir})
}

func TestConvertExample(t *testing.T) {
	dir, s := bundle(t)
	c, p, err := convert(t, dir, s)
	if err != nil {
		t.Fatal(err)
	}
	if c.Rootfs != filepath.Join(dir, "rootfs") || !c.Readonly {
		t.Errorf("rootfs %q readonly %v", c.Rootfs, c.Readonly)
	}
	if c.Cgroup.Path != "c1" {
		t.Errorf("default cgroup path %q, want the id", c.Cgroup.Path)
	}
	if c.RootPropagation != unix.MS_SLAVE|unix.MS_REC {
		t.Errorf("default root propagation %#x", c.RootPropagation)
	}
	if len(c.Mounts) != 7 || c.Mounts[1].Destination != "/dev" || c.Mounts[1].Data != "mode=755,size=65536k" ||
		c.Mounts[1].Flags != unix.MS_NOSUID|unix.MS_STRICTATIME {
		t.Errorf("mounts: %+v", c.Mounts[1])
	}
	if c.Mounts[5].Flags&unix.MS_RDONLY == 0 {
		t.Errorf("/sys should be read-only: %+v", c.Mounts[5])
	}
	if len(c.Devices) != 6 {
		t.Errorf("want the 6 default devices, got %d", len(c.Devices))
	}
	want := uint64(1<<unix.CAP_AUDIT_WRITE | 1<<unix.CAP_KILL | 1<<unix.CAP_NET_BIND_SERVICE)
	if p.Capabilities.Bounding != want || p.Capabilities.Effective != want || p.Capabilities.Inheritable != 0 {
		t.Errorf("capabilities %+v", p.Capabilities)
	}
	if len(p.Rlimits) != 1 || p.Rlimits[0].Type != unix.RLIMIT_NOFILE || p.Rlimits[0].Hard != 1024 {
		t.Errorf("rlimits %+v", p.Rlimits)
	}
	if !p.NoNewPrivileges {
		t.Error("noNewPrivileges lost")
	}
	// The deny-all rule comes first, then runc's default allows.
	devs := c.Cgroup.Resources.Devices
	if len(devs) < 2 || devs[0].Allow || devs[0].Type != 'a' || !devs[1].Allow {
		t.Errorf("device rules %+v", devs)
	}
}

// Each case breaks one field; the error must name it.
func TestConvertErrorsNameTheField(t *testing.T) {
	cases := []struct {
		name, field string
		mutate      func(s *specs.Spec)
	}{
		{"empty args", "process.args", func(s *specs.Spec) { s.Process.Args = nil }},
		{"relative cwd", "process.cwd", func(s *specs.Spec) { s.Process.Cwd = "tmp" }},
		{"bad env", "process.env[0]", func(s *specs.Spec) { s.Process.Env = []string{"NOEQUALS"} }},
		{"duplicate rlimit", "process.rlimits[1].type", func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, s.Process.Rlimits[0])
		}},
		{"unknown rlimit", "process.rlimits[0].type", func(s *specs.Spec) { s.Process.Rlimits[0].Type = "RLIMIT_FOO" }},
		{"soft above hard", "process.rlimits[0]", func(s *specs.Spec) { s.Process.Rlimits[0].Soft = 2048 }},
		{"no root", "root.path", func(s *specs.Spec) { s.Root = nil }},
		{"missing rootfs", "root.path", func(s *specs.Spec) { s.Root.Path = "nope" }},
		{"no process", "process", func(s *specs.Spec) { s.Process = nil }},
		{"hostname without uts", "hostname", func(s *specs.Spec) { s.Linux.Namespaces = s.Linux.Namespaces[:2] }},
		{"unknown namespace", "linux.namespaces[0].type", func(s *specs.Spec) { s.Linux.Namespaces[0].Type = "bogus" }},
		{"duplicate namespace", "linux.namespaces[5].type", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "pid"})
		}},
		{"masked paths without a mount namespace", "linux.maskedPaths", func(s *specs.Spec) { s.Linux.Namespaces = s.Linux.Namespaces[:4] }},
		{"relative ns path", "linux.namespaces[1].path", func(s *specs.Spec) { s.Linux.Namespaces[1].Path = "net" }},
		{"ns path of the wrong type", "linux.namespaces[1].path", func(s *specs.Spec) { s.Linux.Namespaces[1].Path = "/proc/self/ns/ipc" }},
		{"ns path not a namespace", "linux.namespaces[1].path", func(s *specs.Spec) { s.Linux.Namespaces[1].Path = "/proc/self/status" }},
		{"mount without destination", "mounts[0].destination", func(s *specs.Spec) { s.Mounts[0].Destination = "" }},
		{"mount without type", "mounts[0].type", func(s *specs.Spec) { s.Mounts[0].Type = "" }},
		{"unsupported mount option", "mounts[0].options[0]", func(s *specs.Spec) { s.Mounts[0].Options = []string{"tmpcopyup"} }},
		{"bad rootfsPropagation", "linux.rootfsPropagation", func(s *specs.Spec) { s.Linux.RootfsPropagation = "sideways" }},
		{"sysctl without ipc ns", `linux.sysctl["kernel.shmmax"]`, func(s *specs.Spec) {
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: "mount"}}
			s.Hostname = ""
			s.Linux.Sysctl = map[string]string{"kernel.shmmax": "1"}
		}},
		{"host sysctl", `linux.sysctl["vm.swappiness"]`, func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"vm.swappiness": "1"} }},
		{"device type", "linux.devices[0].type", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "z"}}
		}},
		{"device rule access", "linux.resources.devices[0].access", func(s *specs.Spec) { s.Linux.Resources.Devices[0].Access = "rwx" }},
		{"seccomp default action", "linux.seccomp.defaultAction", func(s *specs.Spec) { s.Linux.Seccomp = &specs.LinuxSeccomp{} }},
		{"seccomp notify default", "linux.seccomp.defaultAction", func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActNotify}
		}},
		{"seccomp errno on allow", "linux.seccomp.syscalls[0].action", func(s *specs.Spec) {
			one := uint(1)
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
				Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActAllow, ErrnoRet: &one}}}
		}},
		{"seccomp operator", "linux.seccomp.syscalls[0].args[0].op", func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
				Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Op: "SCMP_CMP_X"}}}}}
		}},
		{"seccomp arch", "linux.seccomp.architectures[0]", func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"SCMP_ARCH_Z80"}}
		}},
		{"seccomp notify without listener", "linux.seccomp.listenerPath", func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
				Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}}}
		}},
		{"relative hook path", "hooks.poststop[0].path", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "bin/true"}}}
		}},
		{"io priority class", "process.ioPriority.class", func(s *specs.Spec) {
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_X"}
		}},
		{"io priority level", "process.ioPriority.priority", func(s *specs.Spec) {
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 8}
		}},
		{"scheduler policy", "process.scheduler.policy", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_X"}
		}},
		{"rt priority missing", "process.scheduler.priority", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO}
		}},
		{"scheduler flag", "process.scheduler.flags[0]", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Flags: []specs.LinuxSchedulerFlag{"SCHED_FLAG_X"}}
		}},
		{"cpu list", "process.execCPUAffinity.final", func(s *specs.Spec) {
			s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "3-1"}
		}},
		{"personality", "linux.personality.domain", func(s *specs.Spec) {
			s.Linux.Personality = &specs.LinuxPersonality{Domain: "LINUX64"}
		}},
		{"mempolicy mode", "linux.memoryPolicy.mode", func(s *specs.Spec) {
			s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: "MPOL_X"}
		}},
		{"mempolicy nodes", "linux.memoryPolicy.nodes", func(s *specs.Spec) {
			s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: "MPOL_BIND"}
		}},
		{"mempolicy flag", "linux.memoryPolicy.flags[0]", func(s *specs.Spec) {
			s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: "MPOL_DEFAULT", Flags: []specs.MemoryPolicyFlagType{"MPOL_F_X"}}
		}},
		{"cgroupsPath escaping", "linux.cgroupsPath", func(s *specs.Spec) { s.Linux.CgroupsPath = "../x" }},
		{"uid -1", "process.user.uid", func(s *specs.Spec) { s.Process.User.UID = 4294967295 }},
		{"gid -1", "process.user.gid", func(s *specs.Spec) { s.Process.User.GID = 4294967295 }},
		{"additional gid -1", "process.user.additionalGids[1]", func(s *specs.Spec) {
			s.Process.User.AdditionalGids = []uint32{5, 4294967295}
		}},
		{"sysctl escaping /proc/sys", `linux.sysctl["net/../../etc"]`, func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"net/../../etc": "1"}
		}},
		{"sysctl with an empty component", `linux.sysctl["net..ipv4"]`, func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"net..ipv4": "1"}
		}},
		{"device path /", "linux.devices[0].path", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/..", Type: "c", Major: 1, Minor: 3}}
		}},
		{"time offsets without timens", "linux.timeOffsets", func(s *specs.Spec) {
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 1}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, s := bundle(t)
			tc.mutate(s)
			_, _, err := convert(t, dir, s)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.HasPrefix(err.Error(), "config.json: "+tc.field+": ") {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
		})
	}
}

// What runc 1.5.3 runs, husk runs too (tests/differential found each): a
// value that means "unset" is unset, a field runc does not read is
// ignored, a path is read where runc reads it.
func TestConvertAcceptsWhatRuncAccepts(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(s *specs.Spec)
		check  func(t *testing.T, c *configs.Config, p *configs.Process)
	}{
		{"cpu quota below -1", func(s *specs.Spec) {
			q := int64(-5)
			s.Linux.Resources = &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: &q}}
		}, func(t *testing.T, c *configs.Config, _ *configs.Process) {
			if q := c.Cgroup.Resources.CPUQuota; q == nil || *q != -1 {
				t.Errorf("quota %v, want -1", q)
			}
		}},
		{"any ociVersion", func(s *specs.Spec) { s.Version = "one" }, nil},
		{"ociVersion 2", func(s *specs.Spec) { s.Version = "2.0.0" }, nil},
		{"username and commandLine", func(s *specs.Spec) {
			s.Process.User.Username = "root"
			s.Process.CommandLine = "cmd.exe"
		}, nil},
		{"mappings without a user namespace", func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
		}, func(t *testing.T, c *configs.Config, _ *configs.Process) {
			if len(c.UIDMappings) != 0 {
				t.Errorf("mappings kept without a user namespace: %v", c.UIDMappings)
			}
		}},
		{"masked and read-only paths", func(s *specs.Spec) {
			s.Linux.MaskedPaths = []string{"", "proc/kcore", "/a/../b"}
			s.Linux.ReadonlyPaths = []string{"", "proc/sys"}
		}, func(t *testing.T, c *configs.Config, _ *configs.Process) {
			if strings.Join(c.MaskedPaths, " ") != "/proc/kcore /b" || strings.Join(c.ReadonlyPaths, " ") != "/proc/sys" {
				t.Errorf("masked %q read-only %q", c.MaskedPaths, c.ReadonlyPaths)
			}
		}},
		{"device paths", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{
				{Path: "/tmp/null", Type: "c", Major: 1, Minor: 3},
				{Path: "dev/rel", Type: "c", Major: 1, Minor: 3},
				{Path: "/dev/../../x", Type: "c", Major: 1, Minor: 3},
			}
		}, func(t *testing.T, c *configs.Config, _ *configs.Process) {
			var got []string
			for _, d := range c.Devices[:3] {
				got = append(got, d.Path)
			}
			if strings.Join(got, " ") != "/tmp/null /dev/rel /x" {
				t.Errorf("device paths %q", got)
			}
		}},
		{"sysctl names in the slash form", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"kernel/shmmax": "1", "net/ipv4/conf/eth0.100/forwarding": "1", "net.ipv4.ip_forward": "1"}
		}, func(t *testing.T, c *configs.Config, _ *configs.Process) {
			for _, k := range []string{"kernel.shmmax", "net.ipv4.conf.eth0/100.forwarding", "net.ipv4.ip_forward"} {
				if _, ok := c.Sysctl[k]; !ok {
					t.Errorf("sysctls %v lack %s", c.Sysctl, k)
				}
			}
			if p := SysctlPath("net.ipv4.conf.eth0/100.forwarding"); p != "net/ipv4/conf/eth0.100/forwarding" {
				t.Errorf("path %s", p)
			}
		}},
		{"hook timeout 0", func(s *specs.Spec) {
			zero := 0
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true", Timeout: &zero}}}
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, s := bundle(t)
			tc.mutate(s)
			c, p, err := convert(t, dir, s)
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, c, p)
			}
		})
	}
}

func TestUnknownCapabilityIsOnlyAWarning(t *testing.T) {
	dir, s := bundle(t)
	s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_NOT_A_THING")
	if _, _, err := convert(t, dir, s); err != nil {
		t.Fatalf("unknown capability refused: %v", err)
	}
}

func TestMountOptions(t *testing.T) {
	m, err := convertMount(specs.Mount{
		Destination: "data", Type: "bind", Source: ".",
		Options: []string{"rbind", "ro", "nosuid", "rw", "rprivate", "rnoexec"},
	}, "/", "mounts[0]")
	if err != nil {
		t.Fatal(err)
	}
	if m.Destination != "/data" {
		t.Errorf("relative destination became %q, want /data", m.Destination)
	}
	if m.Flags != unix.MS_BIND|unix.MS_REC|unix.MS_NOSUID || m.ClearFlags&unix.MS_RDONLY == 0 {
		t.Errorf("flags %#x clear %#x: a later rw must undo ro", m.Flags, m.ClearFlags)
	}
	if len(m.PropagationFlags) != 1 || m.PropagationFlags[0] != unix.MS_PRIVATE|unix.MS_REC {
		t.Errorf("propagation %v", m.PropagationFlags)
	}
	if m.RecAttrSet != unix.MOUNT_ATTR_NOEXEC || m.Device != "bind" {
		t.Errorf("attrs %#x device %q", m.RecAttrSet, m.Device)
	}
	// As runc: the recursive options are for binds; a tmpfs ignores them.
	m, err = convertMount(specs.Mount{Destination: "/t", Type: "tmpfs", Source: "tmpfs", Options: []string{"rro", "size=1", "ro"}}, "/", "mounts[0]")
	if err != nil {
		t.Fatal(err)
	}
	if m.RecAttrSet != 0 || m.RecAttrClr != 0 || m.Data != "size=1" || m.Flags != unix.MS_RDONLY {
		t.Errorf("tmpfs with rro: attrs %#x/%#x data %q flags %#x", m.RecAttrSet, m.RecAttrClr, m.Data, m.Flags)
	}
}

// A bind source is not looked at when the config is read (an earlier
// mount may make it); a destination given as a host path in the rootfs is
// that path in the container.
func TestBindSourceAndRootfsDestination(t *testing.T) {
	dir, s := bundle(t)
	rootfs := filepath.Join(dir, "rootfs")
	s.Mounts = append(s.Mounts,
		specs.Mount{Destination: rootfs + "/mnt/x", Type: "bind", Source: rootfs + "/mnt/not-yet", Options: []string{"rbind"}},
		specs.Mount{Destination: rootfs, Type: "tmpfs", Source: "tmpfs"},
		specs.Mount{Destination: rootfs + "-other/y", Type: "tmpfs", Source: "tmpfs"})
	c, _, err := convert(t, dir, s)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{c.Mounts[7].Destination, c.Mounts[7].Source, c.Mounts[8].Destination, c.Mounts[9].Destination}
	want := []string{"/mnt/x", rootfs + "/mnt/not-yet", "/", rootfs + "-other/y"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, want %q", got, want)
	}
}

// As runc: a [r]private root is refused with --no-pivot; others are not.
func TestNoPivotPrivateRoot(t *testing.T) {
	for prop, ok := range map[string]bool{"private": false, "rprivate": false, "": true, "rshared": true, "slave": true} {
		dir, s := bundle(t)
		s.Linux.RootfsPropagation = prop
		_, _, err := Convert(s, Options{ID: "c1", Bundle: dir, NoPivotRoot: true})
		if ok != (err == nil) || (err != nil && !strings.HasPrefix(err.Error(), "config.json: linux.rootfsPropagation: ")) {
			t.Errorf("%q with --no-pivot: %v", prop, err)
		}
	}
}

// linux.rootfsPropagation: the plain names act on the root mount, the r
// ones on the tree, as runc's flags.
func TestRootfsPropagationFlags(t *testing.T) {
	for prop, want := range map[string]uintptr{
		"": unix.MS_SLAVE | unix.MS_REC, "shared": unix.MS_SHARED, "rshared": unix.MS_SHARED | unix.MS_REC,
		"slave": unix.MS_SLAVE, "private": unix.MS_PRIVATE, "unbindable": unix.MS_UNBINDABLE,
		"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
	} {
		dir, s := bundle(t)
		s.Linux.RootfsPropagation = prop
		c, _, err := convert(t, dir, s)
		if err != nil || c.RootPropagation != want {
			t.Errorf("%q: %#x %v, want %#x", prop, c.RootPropagation, err, want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err == nil || !strings.HasPrefix(err.Error(), "config.json: ") {
		t.Errorf("missing config: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte("{\n  \"ociVersion\": 1\n}"), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "ociVersion") {
		t.Errorf("type error should name the field: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte("{\n  \"ociVersion\": \"1.0.0\",,\n}"), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("syntax error should give the line: %v", err)
	}
}

func TestExampleMatchesRuncSpecShape(t *testing.T) {
	b, err := json.Marshal(Example())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"ociVersion", "process", "root", "hostname", "mounts", "linux"} {
		if _, ok := m[k]; !ok {
			t.Errorf("example spec lacks %q", k)
		}
	}
	s := Example()
	ToRootless(s)
	if len(s.Linux.UIDMappings) != 1 || s.Linux.Resources != nil {
		t.Errorf("rootless: %+v", s.Linux)
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			t.Error("rootless spec keeps the network namespace")
		}
	}
}

func TestParseCPUList(t *testing.T) {
	got, err := ParseCPUList(" 7, 0-3,,")
	if err != nil || len(got) != 5 || got[3] != 3 || got[4] != 7 {
		t.Errorf("7, 0-3,,: %v %v", got, err)
	}
	if got, err := ParseCPUList(""); got != nil || err != nil {
		t.Errorf("\"\": %v %v", got, err)
	}
	for _, bad := range []string{",", "a", "3-1", "-1", "1-2-3", "1024"} {
		if _, err := ParseCPUList(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The zeros runc takes as "unset" are nil after conversion (no driver
// writes them); burst, idle and the pids limit keep their 0.
func TestConvertResourcesZeroIsUnset(t *testing.T) {
	u16, u32, u64, i64 := uint16(0), uint32(0), uint64(0), int64(0)
	r, err := ConvertResources(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &i64, Reservation: &i64, Swap: &i64, KernelTCP: &i64},
		CPU: &specs.LinuxCPU{Shares: &u64, Quota: &i64, Period: &u64, RealtimeRuntime: &i64, RealtimePeriod: &u64,
			Burst: &u64, Idle: &i64},
		Pids:    &specs.LinuxPids{Limit: &i64},
		BlockIO: &specs.LinuxBlockIO{Weight: &u16, LeafWeight: &u16, WeightDevice: []specs.LinuxWeightDevice{{Weight: &u16}}},
		Network: &specs.LinuxNetwork{ClassID: &u32},
	}, "linux.resources")
	if err != nil {
		t.Fatal(err)
	}
	want := configs.Resources{CPUBurst: &u64, CPUIdle: &i64, PidsLimit: &i64}
	if !reflect.DeepEqual(*r, want) {
		t.Errorf("got %+v\nwant %+v", *r, want)
	}
}

// Device access "a" grants nothing and is dropped, as runc's parser does;
// other letters are refused.
func TestConvertDeviceAccess(t *testing.T) {
	maj := int64(42)
	for access, want := range map[string]string{"rwa": "rw", "rwm": "rwm", "mrw": "mrw", "rrw": "rw", "": "rwm"} {
		r, err := ConvertResources(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: &maj, Access: access}}}, "linux.resources")
		if err != nil || len(r.Devices) != 1 || r.Devices[0].Access != want {
			t.Errorf("access %q: %+v, %v; want %q", access, r, err, want)
		}
	}
	if r, err := ConvertResources(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Access: "a"}}}, "linux.resources"); err != nil || len(r.Devices) != 0 {
		t.Errorf(`access "a": %+v, %v; want no rule`, r, err)
	}
	if _, err := ConvertResources(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwx"}}}, "linux.resources"); err == nil || !strings.Contains(err.Error(), "devices[0].access") {
		t.Errorf(`access "rwx": %v`, err)
	}
}

// configs' namespace types are the spec's names: each of the spec's is
// converted, a path to this process's namespace of that type accepted.
func TestNamespaceTypesAreTheSpecs(t *testing.T) {
	spec := []specs.LinuxNamespaceType{specs.PIDNamespace, specs.NetworkNamespace, specs.MountNamespace,
		specs.IPCNamespace, specs.UTSNamespace, specs.UserNamespace, specs.CgroupNamespace, specs.TimeNamespace}
	if len(spec) != len(configs.NamespaceTypes()) {
		t.Errorf("the spec has %d namespace types, configs %v", len(spec), configs.NamespaceTypes())
	}
	for _, typ := range spec {
		c := &configs.Config{}
		ids := []specs.LinuxIDMapping{{Size: 1}}
		if err := convertNamespaces(c, &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: typ}}, UIDMappings: ids, GIDMappings: ids}); err != nil {
			t.Errorf("%s: %v", typ, err)
			continue
		}
		if err := checkNsFile(c.Namespaces[0].Type.ProcPath(os.Getpid()), c.Namespaces[0].Type); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
}

// An update request: zeros are "unchanged" (nil), a memory limit of -1
// without swap lifts the swap too, checkBeforeUpdate is kept as given, and
// errors name the request's source, not config.json.
func TestConvertUpdate(t *testing.T) {
	zero, unlimited := int64(0), int64(-1)
	f := false
	upd, err := ConvertUpdate(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &unlimited, Reservation: &zero, CheckBeforeUpdate: &f},
		CPU:    &specs.LinuxCPU{Shares: ptrTo[uint64](0), Quota: &zero, Idle: &zero},
	}, "update flags")
	if err != nil {
		t.Fatal(err)
	}
	if upd.MemoryLimit == nil || *upd.MemoryLimit != -1 || upd.MemorySwap == nil || *upd.MemorySwap != -1 {
		t.Errorf("limit -1 without swap: limit %v, swap %v, want both -1", upd.MemoryLimit, upd.MemorySwap)
	}
	if upd.MemoryReservation != nil || upd.CPUShares != nil || upd.CPUQuota != nil {
		t.Errorf("zeros are not unchanged: %+v", upd)
	}
	if upd.CPUIdle == nil || *upd.CPUIdle != 0 || upd.CheckBeforeUpdate == nil || *upd.CheckBeforeUpdate {
		t.Errorf("idle 0 and checkBeforeUpdate false are values: %v %v", upd.CPUIdle, upd.CheckBeforeUpdate)
	}
	swap := int64(1 << 20)
	upd, err = ConvertUpdate(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &unlimited, Swap: &swap}}, "x")
	if err != nil || *upd.MemorySwap != swap {
		t.Errorf("limit -1 with a swap: %v %v", upd, err)
	}
	_, err = ConvertUpdate(&specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: ptrTo[int64](2)}}, "--resources r.json")
	if err == nil || err.Error() != "--resources r.json: resources.cpu.idle: 2 is neither 0 nor 1" {
		t.Errorf("bad idle: %v", err)
	}
}

var semverRe = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// semverMajor answers as the SemVer regexp does: the same versions match,
// with the same major.
func FuzzSemverMajor(f *testing.F) {
	for _, v := range []string{"1.0.0", "1.3.0", "1.0.2-dev", "1.2.3+build.5", "1.2.3-rc.1+b", "2.0.0",
		"01.2.3", "1.2", "1.2.3.4", "1.2.3-", "1.2.3+", "1.2.3+a+b", "1.2.3-a-b", "v1.2.3", "", "1.2.3 ", "1..3", "１.2.3"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		major, ok := semverMajor(v)
		m := semverRe.FindStringSubmatch(v)
		if ok != (m != nil) || ok && major != m[1] {
			t.Fatalf("semverMajor(%q) = %q, %v; the regexp: %q", v, major, ok, m)
		}
	})
}
