package specconv

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadConvert feeds arbitrary bytes as a bundle's config.json through
// Load and Convert: they must never panic, every refusal is one line, and
// an accepted config must encode (state.json and the init get it as JSON).
func FuzzLoadConvert(f *testing.F) {
	ex, _ := json.Marshal(Example())
	f.Add(ex)
	rl := Example()
	ToRootless(rl)
	b, _ := json.Marshal(rl)
	f.Add(b)
	f.Add([]byte(`{"ociVersion":"1.3.0","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/"},"linux":{}}`))
	f.Add([]byte(`{"ociVersion":"1.3.0","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/","user":{"uid":1}},` +
		`"mounts":[{"destination":"/x","type":"bind","source":"/tmp","options":["rbind","ro","idmap"]}],` +
		`"linux":{"resources":{"memory":{"limit":-1},"blockIO":{"weight":0},"cpu":{"shares":0,"cpus":"0-1"}},` +
		`"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]}]},` +
		`"namespaces":[{"type":"pid"},{"type":"mount"},{"type":"user"}],"uidMappings":[{"containerID":0,"hostID":1000,"size":1}],` +
		`"gidMappings":[{"containerID":0,"hostID":1000,"size":1}],"maskedPaths":["/proc/kcore"],"sysctl":{"net.ipv4.ip_forward":"1"}}}`))
	f.Add([]byte(`{`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		bundle := t.TempDir()
		if err := os.Mkdir(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		spec, err := Load(bundle)
		if err != nil {
			oneLine(t, err)
			return
		}
		cfg, proc, err := Convert(spec, Options{Bundle: bundle, ID: "fuzz"})
		if err != nil {
			oneLine(t, err)
			return
		}
		if _, err := json.Marshal(cfg); err != nil {
			t.Fatalf("accepted config does not encode: %v", err)
		}
		if _, err := json.Marshal(proc); err != nil {
			t.Fatalf("accepted process does not encode: %v", err)
		}
	})
}

func oneLine(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
		t.Fatalf("error is not one line: %q", msg)
	}
}
