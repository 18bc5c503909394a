package cgroups

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestHierarchy(t *testing.T) {
	for _, c := range []struct {
		key         Hierarchy
		unified     bool
		controllers []string
		name, dir   string
	}{
		{"", true, nil, "", ""},
		{"memory", false, []string{"memory"}, "", "memory"},
		{"cpu,cpuacct", false, []string{"cpu", "cpuacct"}, "", "cpu,cpuacct"},
		{"net_cls,net_prio", false, []string{"net_cls", "net_prio"}, "", "net_cls,net_prio"},
		{"name=systemd", false, nil, "systemd", "systemd"},
	} {
		h := c.key
		if h.Unified() != c.unified || !reflect.DeepEqual(h.Controllers(), c.controllers) || h.Name() != c.name || h.DirName() != c.dir {
			t.Errorf("%q: unified %v, controllers %q, name %q, dir %q; want %v %q %q %q",
				string(h), h.Unified(), h.Controllers(), h.Name(), h.DirName(), c.unified, c.controllers, c.name, c.dir)
		}
		for _, ctrl := range c.controllers {
			if !h.Has(ctrl) {
				t.Errorf("%q has no %s", string(h), ctrl)
			}
		}
		if h.Has("") || h.Has("name=systemd") || h.Has("cpuac") {
			t.Errorf("%q has a controller it has not", string(h))
		}
		if opts := h.MountOptions(); strings.Join(opts, ",") != string(h) {
			t.Errorf("%q: mount options %q", string(h), opts)
		}
	}
	if UnifiedHierarchy.Describe() != "the unified hierarchy" || Hierarchy("cpu,cpuacct").Describe() != "cpu,cpuacct" {
		t.Error("Describe")
	}
}

func TestPaths(t *testing.T) {
	hybrid := Paths{"cpu,cpuacct": "/c", "memory": "/m", "name=systemd": "/s", "": "/u"}
	if h, dir, ok := hybrid.Find("cpuacct"); !ok || h != "cpu,cpuacct" || dir != "/c" {
		t.Errorf("Find(cpuacct): %q %q %v", string(h), dir, ok)
	}
	if _, _, ok := hybrid.Find("systemd"); ok {
		t.Error("a named hierarchy found as a controller")
	}
	if _, _, ok := hybrid.Find(""); ok {
		t.Error("the unified hierarchy found as a controller")
	}
	if dir, ok := hybrid.Unified(); !ok || dir != "/u" {
		t.Errorf("Unified: %q %v", dir, ok)
	}
	if _, ok := hybrid.UnifiedOnly(); ok {
		t.Error("a hybrid host's paths taken for a v2 host's")
	}
	if dir, ok := (Paths{"": "/u"}).UnifiedOnly(); !ok || dir != "/u" {
		t.Errorf("UnifiedOnly: %q %v", dir, ok)
	}
	want := []Hierarchy{"", "cpu,cpuacct", "memory", "name=systemd"}
	if got := hybrid.Hierarchies(); !reflect.DeepEqual(got, want) {
		t.Errorf("Hierarchies: %q", got)
	}
}

// This process's own cgroups parse into hierarchies, each with a cgroup
// path; on a v1 or hybrid host each v1 hierarchy has controllers or a name.
func TestOwnCgroups(t *testing.T) {
	if _, err := os.Stat("/proc/self/cgroup"); err != nil {
		t.Skip("no /proc/self/cgroup:", err)
	}
	own, err := OwnCgroups()
	if err != nil || len(own) == 0 {
		t.Fatalf("%v %v", own, err)
	}
	for _, h := range own.Hierarchies() {
		if !strings.HasPrefix(own[string(h)], "/") {
			t.Errorf("%s: cgroup path %q", h.Describe(), own[string(h)])
		}
		if !h.Unified() && len(h.Controllers()) == 0 && h.Name() == "" {
			t.Errorf("v1 hierarchy %q with neither controllers nor a name", string(h))
		}
	}
}
