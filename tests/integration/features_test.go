package integration

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/tests/testutil"
)

func runtimeFeatures(t *testing.T, e *env) features.Features {
	t.Helper()
	r := e.ok("features")
	var f features.Features
	if err := json.Unmarshal([]byte(r.Stdout), &f); err != nil {
		t.Fatalf("features is not JSON: %v\n%s", err, r.Stdout)
	}
	return f
}

// `features` parses as the spec's structure and covers what runc's does.
func TestFeaturesShape(t *testing.T) {
	e := newEnv(t)
	f := runtimeFeatures(t, e)
	if f.OCIVersionMin == "" || f.OCIVersionMax == "" || f.Linux == nil {
		t.Fatalf("incomplete: %+v", f)
	}
	if isHusk() && f.OCIVersionMax != specs.Version {
		t.Errorf("ociVersionMax %s, want %s", f.OCIVersionMax, specs.Version)
	}
	for _, h := range []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"} {
		if !contains(f.Hooks, h) {
			t.Errorf("hooks lack %s", h)
		}
	}
	for _, ns := range []string{"cgroup", "ipc", "mount", "network", "pid", "user", "uts"} {
		if !contains(f.Linux.Namespaces, ns) {
			t.Errorf("namespaces lack %s", ns)
		}
	}
	if !contains(f.Linux.Capabilities, "CAP_SYS_ADMIN") || f.Linux.Cgroup == nil {
		t.Errorf("linux: %+v", f.Linux)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Every mount option `features` lists is accepted and applied by create:
// features cannot claim what husk does not do.
func TestFeaturesMountOptionsAreAccepted(t *testing.T) {
	e := newEnv(t)
	f := runtimeFeatures(t, e)
	src := t.TempDir()
	var mounts []specs.Mount
	for i, opt := range f.MountOptions {
		dest := "/mnt/opt" + strings.Repeat("x", i%3) + "/" + opt
		m := specs.Mount{Destination: dest, Type: "tmpfs", Source: "tmpfs", Options: []string{opt}}
		switch opt {
		case "bind", "rbind":
			m = specs.Mount{Destination: dest, Type: "bind", Source: src, Options: []string{opt}}
		case "remount":
			// Only a mount that exists can be remounted (runc mounts with
			// MS_REMOUNT straight away): a bind made just before.
			mounts = append(mounts, specs.Mount{Destination: dest, Type: "bind", Source: src, Options: []string{"rbind"}})
			m = specs.Mount{Destination: dest, Type: "bind", Source: src, Options: []string{"bind", opt, "ro"}}
		case "idmap", "ridmap":
			if why := testutil.IdmapUnsupported(src); why != "" {
				t.Logf("%s left out: this host cannot: %s", opt, why)
				continue
			}
			m = specs.Mount{Destination: dest, Type: "bind", Source: src, Options: []string{"rbind", opt},
				UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}},
				GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}}
		}
		mounts = append(mounts, m)
	}
	b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) { s.Mounts = append(s.Mounts, mounts...) }))
	if r := e.runFG(b, "allopts"); r.Code != 0 {
		t.Errorf("a config using every listed mount option failed: %s", r)
	}
}

// Every namespace `features` lists can be created.
func TestFeaturesNamespacesAreAccepted(t *testing.T) {
	e := newEnv(t)
	f := runtimeFeatures(t, e)
	b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
		s.Linux.Namespaces = nil
		for _, ns := range f.Linux.Namespaces {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.LinuxNamespaceType(ns)})
		}
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}
	}))
	if r := e.runFG(b, "allns"); r.Code != 0 {
		t.Errorf("a container with every listed namespace failed: %s", r)
	}
}

// allArchs are the spec's seccomp architectures.
var allArchs = []specs.Arch{specs.ArchX86, specs.ArchX86_64, specs.ArchX32, specs.ArchARM, specs.ArchAARCH64,
	specs.ArchMIPS, specs.ArchMIPS64, specs.ArchMIPS64N32, specs.ArchMIPSEL, specs.ArchMIPSEL64, specs.ArchMIPSEL64N32,
	specs.ArchPPC, specs.ArchPPC64, specs.ArchPPC64LE, specs.ArchS390, specs.ArchS390X, specs.ArchPARISC,
	specs.ArchPARISC64, specs.ArchRISCV64, specs.ArchLOONGARCH64, specs.ArchM68K, specs.ArchSH, specs.ArchSHEB}

// runsWith runs `true` in a container with the config change and says
// whether the runtime accepted it, and what it printed on stderr.
func runsWith(e *env, id string, change func(s *specs.Spec)) (bool, string) {
	e.t.Helper()
	b := e.newBundle(withArgs("true"), withSpec(change))
	r := e.runFG(b, id)
	if r.Code != 0 {
		e.assertNoTrace(b, id)
	}
	return r.Code == 0, r.Stderr
}

// Every seccomp action, operator, supported flag and architecture
// `features` lists is accepted in a profile, and what it does not list is
// refused: features and behaviour cannot drift apart.
func TestFeaturesSeccompFromConfigs(t *testing.T) {
	e := newEnv(t)
	sc := runtimeFeatures(t, e).Linux.Seccomp
	if sc == nil || sc.Enabled == nil || !*sc.Enabled {
		t.Fatalf("seccomp: %+v", sc)
	}
	// One rule per action, each on a syscall `true` does not make.
	unused := []string{"acct", "swapon", "swapoff", "kexec_load", "init_module", "delete_module", "pivot_root",
		"syslog", "settimeofday", "adjtimex", "quotactl", "lookup_dcookie", "bpf", "perf_event_open"}
	var rules []specs.LinuxSyscall
	for i, a := range sc.Actions {
		if a == string(specs.ActNotify) || a == string(specs.ActAllow) {
			continue // NOTIFY needs an agent (TestSeccompNotify); ALLOW is the default here
		}
		rule := specs.LinuxSyscall{Names: []string{unused[i%len(unused)]}, Action: specs.LinuxSeccompAction(a)}
		if a == string(specs.ActErrno) || a == string(specs.ActTrace) {
			rule.ErrnoRet = errnoPtr(unix.EPERM)
		}
		rules = append(rules, rule)
	}
	for i, op := range sc.Operators {
		rules = append(rules, specs.LinuxSyscall{Names: []string{"personality"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: uint64(0xdead0000 + i), ValueTwo: 0xffffffff, Op: specs.LinuxSeccompOperator(op)}}})
	}
	var flags []specs.LinuxSeccompFlag
	for _, f := range sc.SupportedFlags {
		flags = append(flags, specs.LinuxSeccompFlag(f))
	}
	profile := func(archs []specs.Arch) func(*specs.Spec) {
		return func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: archs, Flags: flags, Syscalls: rules}
		}
	}
	if ok, stderr := runsWith(e, "allsc", profile(nil)); !ok {
		t.Errorf("every listed action, operator and supported flag: refused: %s", stderr)
	}
	var listed []specs.Arch
	for _, a := range sc.Archs {
		listed = append(listed, specs.Arch(a))
	}
	if isRunc() {
		t.Log("runc 1.5.3 lists seccomp architectures its libseccomp cannot add to a filter here (big-endian ones, loongarch64 unknown to libseccomp 2.5.4): not checked")
	} else if ok, stderr := runsWith(e, "archs", profile(listed)); !ok {
		t.Errorf("every listed architecture %v: refused: %s", listed, stderr)
	}
	// What is not listed is refused.
	for _, a := range allArchs {
		if !contains(sc.Archs, string(a)) {
			if ok, _ := runsWith(e, "noarch", profile([]specs.Arch{specs.ArchX86_64, a})); ok {
				t.Errorf("architecture %s is not listed but accepted", a)
			}
		}
	}
	for name, change := range map[string]func(*specs.Spec){
		"action": func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
				Syscalls: []specs.LinuxSyscall{{Names: []string{"acct"}, Action: "SCMP_ACT_BOGUS"}}}
		},
		"operator": func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
				Syscalls: []specs.LinuxSyscall{{Names: []string{"acct"}, Action: specs.ActErrno,
					Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: "SCMP_CMP_BOGUS"}}}}}
		},
		"flag": func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_BOGUS"}}
		},
	} {
		if ok, _ := runsWith(e, "bad"+name, change); ok {
			t.Errorf("an unlisted seccomp %s is accepted", name)
		}
	}
}

// Every capability `features` lists is known to the runtime (no "unknown"
// warning in a config naming them all), and one it does not list is
// warned about.
func TestFeaturesCapabilitiesFromConfigs(t *testing.T) {
	e := newEnv(t)
	f := runtimeFeatures(t, e)
	if len(f.Linux.Capabilities) < 38 {
		t.Fatalf("capabilities: %v", f.Linux.Capabilities)
	}
	// In the bounding set only: one the host's bounding set lacks (here
	// CAP_SYS_RESOURCE may be) is then simply not kept.
	ok, stderr := runsWith(e, "allcaps", func(s *specs.Spec) {
		s.Process.Capabilities.Bounding = append([]string(nil), f.Linux.Capabilities...)
	})
	if !ok || strings.Contains(stderr, "unknown") {
		t.Errorf("every listed capability: ok=%v %s", ok, stderr)
	}
	ok, stderr = runsWith(e, "nocap", func(s *specs.Spec) {
		s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_NOT_LISTED")
	})
	if !ok || !strings.Contains(stderr, "unknown") || !strings.Contains(stderr, "CAP_NOT_LISTED") {
		t.Errorf("an unlisted capability: ok=%v, stderr %q: want a warning naming it", ok, stderr)
	}
}

// A namespace type `features` does not list is refused.
func TestFeaturesUnlistedNamespaceRefused(t *testing.T) {
	e := newEnv(t)
	f := runtimeFeatures(t, e)
	if contains(f.Linux.Namespaces, "bogus") {
		t.Fatalf("namespaces %v", f.Linux.Namespaces)
	}
	if ok, _ := runsWith(e, "nons", func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
	}); ok {
		t.Errorf("an unlisted namespace type is accepted")
	}
}

// The idmap mount extension is enabled (idmap and ridmap mounts work:
// TestFeaturesMountOptionsAreAccepted), the cgroup drivers are all there,
// apparmor and selinux are compiled in (as runc says), the libseccomp
// version annotation is the one --version prints, and the potentially
// unsafe annotations name the systemd properties.
func TestFeaturesTruthful(t *testing.T) {
	e := newEnv(t)
	f := runtimeFeatures(t, e)
	lx := f.Linux
	yes := func(b *bool) bool { return b != nil && *b }
	if lx.MountExtensions == nil || lx.MountExtensions.IDMap == nil || !yes(lx.MountExtensions.IDMap.Enabled) {
		t.Errorf("idmap: %+v", lx.MountExtensions)
	}
	if c := lx.Cgroup; c == nil || !yes(c.V1) || !yes(c.V2) || !yes(c.Systemd) || !yes(c.SystemdUser) {
		t.Errorf("cgroup: %+v", lx.Cgroup)
	}
	if lx.Apparmor == nil || !yes(lx.Apparmor.Enabled) || lx.Selinux == nil || !yes(lx.Selinux.Enabled) {
		t.Errorf("apparmor %+v selinux %+v: compiled in", lx.Apparmor, lx.Selinux)
	}
	v := invoke(invokeOpts{}, "--version")
	m := regexp.MustCompile(`(?m)^libseccomp: (\S+)$`).FindStringSubmatch(v.Stdout)
	if m == nil || f.Annotations["io.github.seccomp.libseccomp.version"] != m[1] {
		t.Errorf("libseccomp version annotation %q, --version says %q", f.Annotations["io.github.seccomp.libseccomp.version"], v.Stdout)
	}
	if !contains(f.PotentiallyUnsafeConfigAnnotations, "org.systemd.property.") {
		t.Errorf("potentiallyUnsafeConfigAnnotations %v", f.PotentiallyUnsafeConfigAnnotations)
	}
	if !contains(f.PotentiallyUnsafeConfigAnnotations, "org.criu.config") {
		t.Errorf("org.criu.config (the CRIU configuration file) not listed: %v", f.PotentiallyUnsafeConfigAnnotations)
	}
	// Checkpoint is said enabled where it works: a CRIU that passes its
	// own check of this kernel. runc 1.5.3 says so whatever the host.
	enabled := f.Annotations["org.opencontainers.runc.checkpoint.enabled"] == "true"
	if why := testutil.CriuUnusable(); why != "" && enabled && !isRunc() {
		t.Errorf("checkpoint said enabled, but %s", why)
	} else if why == "" && !enabled {
		t.Errorf("checkpoint not said enabled, but CRIU works here: %v", f.Annotations)
	}
}
