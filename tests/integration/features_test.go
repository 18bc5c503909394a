package integration

import (
	"encoding/json"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
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
	if !isHusk() {
		t.Skip("checks husk's own features against husk")
	}
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
		case "idmap", "ridmap":
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
	if !isHusk() {
		t.Skip("checks husk's own features against husk")
	}
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
