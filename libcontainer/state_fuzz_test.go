package libcontainer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/husk-runtime/husk/libcontainer/configs"
)

// FuzzLoadState reads arbitrary bytes as a container's state.json: Load
// and everything `state`, `list` and `delete` then ask of it (status, the
// OCI state) must never panic on what a crash, a full disk or another
// tool could have left there.
func FuzzLoadState(f *testing.F) {
	good, _ := json.Marshal(State{ID: "c1", InitPid: 1, Bundle: "/b", Created: time.Unix(0, 0).UTC(),
		Config: &configs.Config{Rootfs: "/b/rootfs", Cgroup: &configs.Cgroup{}}, CgroupPaths: map[string]string{"": "/sys/fs/cgroup/x"}})
	f.Add(good)
	f.Add([]byte(`{"id":"c1"}`))
	f.Add([]byte(`{"id":"c1","config":null,"init_pid":-1}`))
	f.Add([]byte(`{"id":"c1","config":{"cgroup":null},"init_pid":99999999}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		if err := os.Mkdir(filepath.Join(root, "c1"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "c1", stateFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(root, "c1")
		if err != nil {
			return
		}
		_ = c.Status()
		_ = c.OCIState()
	})
}
