package integration

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// linux.rootfsPropagation: the propagation of the root mount inside, and
// (r-prefixed names) of the mounts below it, /proc here. The r-prefixed
// names are runc's too (podman writes rslave).
func TestRootfsPropagation(t *testing.T) {
	for _, c := range []struct{ prop, root, proc string }{
		{"shared", "shared:", "-"}, {"slave", "master:", "-"}, {"private", "-", "-"}, {"unbindable", "unbindable", "-"},
		{"rshared", "shared:", "shared:"}, {"rslave", "master:", "-"}, {"rprivate", "-", "-"}, {"runbindable", "unbindable", "unbindable"},
	} {
		t.Run(c.prop, func(t *testing.T) {
			if c.prop == "runbindable" && isRunc() && len(cgroupV1Mounts()) > 0 {
				t.Skip("runc 1.5.3 makes every mount of the new namespace unbindable (MS_UNBINDABLE|MS_REC on /) before it binds the host's cgroup v1 hierarchies at /sys/fs/cgroup/<controller>, which then fails with EINVAL")
			}
			e := newEnv(t)
			out := e.output(`awk '$5 == "/" || $5 == "/proc" {print $7}' /proc/self/mountinfo`, withSpec(func(s *specs.Spec) {
				s.Linux.RootfsPropagation = c.prop
			}))
			got := lines(out)
			if len(got) != 2 {
				t.Fatalf("optional fields of / and /proc: %q", got)
			}
			for i, want := range []string{c.root, c.proc} {
				if want == "master:" && got[i] == "-" {
					// A slave of a private host mount has no master to show.
					continue
				}
				if !strings.HasPrefix(got[i], want) {
					t.Errorf("optional fields of / and /proc %q, want %s and %s", got, c.root, c.proc)
				}
			}
		})
	}
}

// cgroupV1Mounts lists the host's cgroup v1 hierarchies.
func cgroupV1Mounts() []cgroupMount {
	var out []cgroupMount
	for _, m := range cgroupMountInfo() {
		if m.fstype == "cgroup" {
			out = append(out, m)
		}
	}
	return out
}

// linux.sysctl: namespaced keys are set inside the container.
func TestSysctl(t *testing.T) {
	e := newEnv(t)
	out := e.output("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni", withSpec(func(s *specs.Spec) {
		s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"}
	}))
	if got := lines(out); len(got) != 2 || got[0] != "1" || got[1] != "1234" {
		t.Errorf("sysctls inside: %q", got)
	}
}

// A sysctl that is not namespaced, or whose namespace the container does
// not have, is refused before anything is created.
func TestSysctlRefused(t *testing.T) {
	e := newEnv(t)
	for i, c := range []struct {
		name, husk, runc string
		noIPC            bool
	}{
		// husk names the field and says why; runc names the sysctl.
		{"vm.swappiness", `linux.sysctl["vm.swappiness"]: not a namespaced sysctl`, `sysctl "vm.swappiness" is not in a separate kernel namespace`, false},
		{"kernel.shmmax", `linux.sysctl["kernel.shmmax"]: not allowed without an IPC namespace`, `sysctl "kernel.shmmax" is not allowed in the hosts ipc namespace`, true},
	} {
		b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{c.name: "1"}
			if c.noIPC {
				removeNamespace(s, specs.IPCNamespace)
			}
		}))
		id := "sysctl" + string(rune('a'+i))
		e.track(id)
		e.failsWith(huskOrRunc(c.husk, c.runc), "run", "--bundle", b.Dir, id)
		e.assertNoTrace(b, id)
	}
}

// linux.devices: nodes made with the given type, numbers, mode and owner.
func TestLinuxDevices(t *testing.T) {
	e := newEnv(t)
	mode := os.FileMode(0o640)
	uid, gid := uint32(1000), uint32(1000)
	out := e.output("stat -c '%t:%T %a %u %g %F' /dev/mydev /dev/sub/fifo", withSpec(func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{
			{Path: "/dev/mydev", Type: "c", Major: 1, Minor: 5, FileMode: &mode, UID: &uid, GID: &gid},
			{Path: "/dev/sub/fifo", Type: "p"},
		}
	}))
	got := lines(out)
	if len(got) != 2 || got[0] != "1:5 640 1000 1000 character special file" || !strings.HasSuffix(got[1], "fifo") {
		t.Errorf("devices: %q", got)
	}
}

// domainname is set in the container's UTS namespace.
func TestDomainname(t *testing.T) {
	e := newEnv(t)
	out := e.output("cat /proc/sys/kernel/domainname", withSpec(func(s *specs.Spec) { s.Domainname = "example.test" }))
	if strings.TrimSpace(out) != "example.test" {
		t.Errorf("domainname %q", out)
	}
}

// A time namespace with offsets: CLOCK_BOOTTIME (uptime) is shifted.
func TestTimeNamespaceOffsets(t *testing.T) {
	e := newEnv(t)
	out := e.output("cut -d. -f1 /proc/uptime", withSpec(func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
		s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 86400 * 365}}
	}))
	var up int
	for _, c := range strings.TrimSpace(out) {
		up = up*10 + int(c-'0')
	}
	if up < 86400*365 {
		t.Errorf("uptime inside %s s, want at least a year from the offset", out)
	}
}

// linux.intelRdt on a host without resctrl: a clear error naming it.
func TestIntelRdtWithoutResctrl(t *testing.T) {
	if exists("/sys/fs/resctrl/schemata") {
		t.Skip("this host has resctrl")
	}
	e := newEnv(t)
	b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
		s.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "c1", L3CacheSchema: "L3:0=f"}
	}))
	e.track("rdt")
	// husk names the field and resctrl; runc says Intel RDT is not there.
	r := e.failsWith(huskOrRunc("linux.intelRdt", "intelRdt is specified in config, but Intel RDT is not enabled"), "run", "--bundle", b.Dir, "rdt")
	if isHusk() && !strings.Contains(r.Stderr, "resctrl") {
		t.Errorf("stderr %q", r.Stderr)
	}
	e.assertNoTrace(b, "rdt")
}

// linux.netDevices: a host interface moves into the container under its
// new name, keeps its permanent address and is up.
func TestNetDevices(t *testing.T) {
	e := newEnv(t)
	host, peer := fmt.Sprintf("hk%dh", os.Getpid()%100000), fmt.Sprintf("hk%dp", os.Getpid()%100000)
	if out, err := exec.Command("ip", "link", "add", host, "type", "veth", "peer", "name", peer).CombinedOutput(); err != nil {
		t.Skipf("cannot make a veth pair here: %v %s", err, out)
	}
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", host).Run()
		exec.Command("ip", "link", "del", peer).Run()
	})
	if out, err := exec.Command("ip", "addr", "add", "10.211.0.5/24", "dev", host).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	out := e.output("ip -o addr show dev ctr0; ip -o link show dev ctr0", withSpec(func(s *specs.Spec) {
		s.Linux.NetDevices = map[string]specs.LinuxNetDevice{host: {Name: "ctr0"}}
	}))
	if !strings.Contains(out, "inet 10.211.0.5/24") || !strings.Contains(out, ",UP") {
		t.Errorf("inside the container: %q", out)
	}
	if err := exec.Command("ip", "link", "show", host).Run(); err == nil {
		t.Errorf("%s is still on the host", host)
	}
}

// A netDevices entry naming a missing interface fails create cleanly.
func TestNetDevicesMissingInterface(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
		s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"nosuchif0": {}}
	}))
	e.track("nonet")
	r := e.failsWith("nosuchif0", "run", "--bundle", b.Dir, "nonet")
	if !strings.Contains(r.Stderr, huskOrRunc("linux.netDevices", "link not found")) {
		// husk names the field; runc says the link is not there.
		t.Errorf("stderr %q", r.Stderr)
	}
	e.assertNoTrace(b, "nonet")
}
