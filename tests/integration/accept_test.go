package integration

// What runc 1.5.3 runs, husk runs: the differences tests/differential
// found between the two (issue 16, "accept what runc accepts"), each as a
// real container that both runtimes must run the same way.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The resources docker sends for `docker run` without resource flags: 0
// where it sets nothing. A 0 is no limit: nothing is written, so the
// container runs on every host (without an I/O scheduler with weights,
// without net_cls...) and is not starved by a limit of 0.
func TestAcceptDockerZeroResources(t *testing.T) {
	e := newEnv(t)
	z16, z32, z64, zu := uint16(0), uint32(0), int64(0), uint64(0)
	b := e.newBundle(withArgs("sleep", "100"), withSpec(func(s *specs.Spec) {
		//lint:ignore SA1019 linux.resources.memory.kernel is deprecated but still in the runtime-spec: runtimes must accept it
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &z64, Reservation: &z64, Swap: &z64, Kernel: &z64, KernelTCP: &z64}
		s.Linux.Resources.CPU = &specs.LinuxCPU{Shares: &zu, Quota: &z64, Period: &zu, RealtimeRuntime: &z64, RealtimePeriod: &zu}
		s.Linux.Resources.BlockIO = &specs.LinuxBlockIO{Weight: &z16, LeafWeight: &z16,
			WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 1, Minor: 3}, Weight: &z16, LeafWeight: &z16}}}
		s.Linux.Resources.Network = &specs.LinuxNetwork{ClassID: &z32}
	}))
	e.runDetached(b, "docker0")
	pid := e.state("docker0").PID
	if dir := containerCgroupDir(t, pid, "cgroup.procs"); exists(filepath.Join(dir, "memory.limit_in_bytes")) {
		// v1: no limit means the kernel's "unlimited", a page-rounded
		// huge number; a written 0 would be 0.
		data, err := os.ReadFile(filepath.Join(containerCgroupDir(t, pid, "memory.limit_in_bytes"), "memory.limit_in_bytes"))
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64); v < 1<<40 {
			t.Errorf("memory.limit_in_bytes is %s after memory.limit 0, want unlimited", data)
		}
	} else if exists(filepath.Join(dir, "memory.max")) {
		data, _ := os.ReadFile(filepath.Join(dir, "memory.max"))
		if strings.TrimSpace(string(data)) != "max" {
			t.Errorf("memory.max is %s after memory.limit 0, want max", data)
		}
	}
	if !procAlive(pid) {
		t.Error("the container's init is gone: starved by a limit of 0?")
	}
}

// A container may have no mounts at all (no /proc): runc runs it. The
// init must not need the container's /proc to reopen the exec fifo.
func TestAcceptNoMounts(t *testing.T) {
	e := newEnv(t)
	// A private rootfs: without a /dev tmpfs the devices are made in the
	// image's /dev.
	b := e.newBundle(withPrivateRootfs(), withArgs("/bin/echo", "ran"), withSpec(func(s *specs.Spec) {
		s.Mounts = nil
		s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
	}))
	r := e.runFG(b, "nomounts")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "ran" {
		t.Errorf("a container without mounts: %s", r)
	}
}

// Fields runc does not read, or reads leniently, do not stop a container.
func TestAcceptWhatRuncIgnores(t *testing.T) {
	cases := []struct {
		name   string
		spec   func(s *specs.Spec)
		script string
		want   string
	}{
		{"ociVersion not SemVer", func(s *specs.Spec) { s.Version = "1.0" }, "echo ok", "ok"},
		{"ociVersion 2", func(s *specs.Spec) { s.Version = "2.0.0" }, "echo ok", "ok"},
		{"user.username", func(s *specs.Spec) { s.Process.User.Username = "tester" }, "id -u", "0"},
		{"mappings without a user namespace", func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
			s.Linux.GIDMappings = s.Linux.UIDMappings
		}, "cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //'", "0 0 4294967295"},
		{"empty and relative masked paths", func(s *specs.Spec) {
			s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "", "proc/cpuinfo")
		}, "wc -c < /proc/cpuinfo", "0"},
		{"empty and relative read-only paths", func(s *specs.Spec) {
			s.Linux.ReadonlyPaths = append(s.Linux.ReadonlyPaths, "", "tmp")
			s.Root.Readonly = false
		}, "touch /tmp/x 2>/dev/null && echo writable || echo read-only", "read-only"},
		{"a sysctl name in the slash form", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"net/ipv4/ip_default_ttl": "99"}
		}, "cat /proc/sys/net/ipv4/ip_default_ttl", "99"},
		{"a poststop hook with timeout 0", func(s *specs.Spec) {
			zero := 0
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true", Timeout: &zero}}}
		}, "echo ok", "ok"},
		{"cpu.quota below -1", func(s *specs.Spec) {
			q := int64(-2)
			s.Linux.Resources.CPU = &specs.LinuxCPU{Quota: &q}
		}, "echo ok", "ok"},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "-"), func(t *testing.T) {
			e := newEnv(t)
			got := strings.TrimSpace(e.output(tc.script, withPrivateRootfs(), withSpec(tc.spec)))
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// Device nodes go where linux.devices says, in /dev or not, a relative or
// unclean path resolved inside the rootfs (as runc does); a file the image
// has there is kept, as runc keeps it.
func TestAcceptDevicesOutsideDev(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withPrivateRootfs(), withShell("stat -c '%n %F %t:%T' /tmp/null /opt/zero /etc/passwd"), withSpec(func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{
			{Path: "/tmp/null", Type: "c", Major: 1, Minor: 3},
			{Path: "opt/../opt/zero", Type: "c", Major: 1, Minor: 5},
			{Path: "/etc/passwd", Type: "c", Major: 1, Minor: 3},
		}
	}))
	r := e.runFG(b, "devs")
	if r.Code != 0 {
		t.Fatal(r)
	}
	want := []string{"/tmp/null character special file 1:3", "/opt/zero character special file 1:5", "/etc/passwd regular file 0:0"}
	if got := lines(r.Stdout); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("devices: %q, want %q", got, want)
	}
	if fi, err := os.Stat(filepath.Join(b.Rootfs, "etc/passwd")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("the image's /etc/passwd was replaced: %v %v", fi, err)
	}
}

// (uid_t)-1 and (gid_t)-1 are no ids: setuid(-1)/setgid(-1) would leave the
// workload root. Refused, by runc too ("unmapped uid"), never run as root.
func TestUserIDMinusOneRefused(t *testing.T) {
	cases := []struct {
		field string
		user  specs.User
		runc  string // runc's error: the kernel's refusal, in the init
	}{
		{"process.user.uid", specs.User{UID: 4294967295}, "cannot setuid to unmapped uid 4294967295"},
		{"process.user.gid", specs.User{GID: 4294967295}, "cannot setgid to unmapped gid 4294967295"},
		{"process.user.additionalGids[1]", specs.User{AdditionalGids: []uint32{5, 4294967295}}, "setgroups: invalid argument"},
	}
	for i, tc := range cases {
		t.Run(tc.field, func(t *testing.T) {
			e := newEnv(t)
			b := e.newBundle(withShell("id"), withSpec(func(s *specs.Spec) { s.Process.User = tc.user }))
			id := fmt.Sprintf("minus%d", i)
			r := e.runFG(b, id)
			if r.Code == 0 {
				t.Fatalf("ran as %q", r.Stdout)
			}
			// husk refuses the config, naming the field.
			if want := huskOrRunc(tc.field+": 4294967295 is not a valid", tc.runc); r.Code != 1 || !strings.Contains(errText(r), want) {
				t.Errorf("%s: want exit 1 and %q", r, want)
			}
			e.assertNoTrace(b, id)
		})
	}
}

// A resource limit the init cannot set is named as process.rlimits names
// it: RLIMIT_NOFILE above fs.nr_open is refused by the kernel, with or
// without CAP_SYS_RESOURCE.
func TestRlimitErrorNamesTheResource(t *testing.T) {
	data, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		t.Fatal(err)
	}
	nrOpen, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: nrOpen + 1, Soft: 1024}}
	}))
	r := e.runFG(b, "nofile")
	if r.Code == 0 {
		t.Fatalf("RLIMIT_NOFILE above nr_open %d was set: %s", nrOpen, r)
	}
	// runc names the resource by number (RLIMIT_NOFILE is 7).
	if want := huskOrRunc("setrlimit process.rlimits RLIMIT_NOFILE: operation not permitted", "error setting rlimit type 7: operation not permitted"); r.Code != 1 || !strings.Contains(errText(r), want) {
		t.Errorf("%s: want exit 1 and %q", r, want)
	}
	e.assertNoTrace(b, "nofile")
}
