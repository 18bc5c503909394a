package libcontainer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// subCgroupPaths: every hierarchy, or a controller's (a comounted pair
// given different sub-cgroups is refused); nothing out of the cgroup.
func TestSubCgroupPaths(t *testing.T) {
	root := t.TempDir()
	paths := map[string]string{}
	for _, key := range []string{"cpu,cpuacct", "memory", ""} {
		dir := filepath.Join(root, strings.ReplaceAll(key+"x", ",", "_"), "ctr")
		if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		paths[key] = dir
	}
	got, err := subCgroupPaths(paths, map[string]string{"": "sub"})
	if err != nil {
		t.Fatal(err)
	}
	for key, dir := range paths {
		if got[key] != dir+"/sub" {
			t.Errorf("sub: %q is %s", key, got[key])
		}
	}
	got, err = subCgroupPaths(paths, map[string]string{"cpu": "sub", "cpuacct": "sub"})
	if err != nil || got["cpu,cpuacct"] != paths["cpu,cpuacct"]+"/sub" || got["memory"] != paths["memory"] || got[""] != paths[""] {
		t.Errorf("cpu,cpuacct:sub: %v, %v", got, err)
	}
	if paths["memory"] == got["cpu,cpuacct"] {
		t.Errorf("the input was changed")
	}
	for _, subs := range []map[string]string{
		{"cpu": "sub", "cpuacct": "."}, // comounted, different
		{"": "../x"},                   // out of the cgroup
		{"memory": "sub/../.."},        // out of the cgroup
		{"nosuch": "sub"},              // no such controller
		{"memory": "nosuch"},           // no such sub-cgroup
		{"unified": "sub"},             // not a controller
	} {
		if got, err := subCgroupPaths(paths, subs); err == nil {
			t.Errorf("%v: accepted: %v", subs, got)
		}
	}
	if _, err := subCgroupPaths(paths, map[string]string{"": "../x"}); err == nil || !strings.Contains(err.Error(), "bad sub cgroup path: ../x") {
		t.Errorf("../x: %v", err)
	}
	// cgroup v2: a controller's sub-cgroup is ignored, as runc 1.5.
	v2 := map[string]string{"": paths[""]}
	if got, err := subCgroupPaths(v2, map[string]string{"pids": "sub", "nosuch": "../x"}); err != nil || got[""] != v2[""] {
		t.Errorf("pids:sub on v2: %v, %v", got, err)
	}
}
