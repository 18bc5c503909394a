package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The operator features of issue 14 (husk only): check, --dry-run,
// --strict, the structured error fields, the phase timings.

func huskOnly(t *testing.T, what string) {
	t.Helper()
	if isRunc() {
		t.Skip("husk-only: " + what)
	}
}

var checkLine = regexp.MustCompile(`^(ok|warn|missing): [^:]+.*: `)

// `husk check` probes the host: one line per item, each ok, warn or
// missing, and every item the issue asks for.
func TestCheckHost(t *testing.T) {
	huskOnly(t, "husk check")
	e := newEnv(t)
	r := e.ok("check")
	t.Logf("husk check on this host:\n%s", r.Stdout)
	for _, l := range lines(r.Stdout) {
		if !checkLine.MatchString(l) {
			t.Errorf("not a check line: %q", l)
		}
	}
	for _, want := range []string{
		": kernel: ", ": openat2: ", ": mount_setattr: ", ": pidfd_open: ", ": pidfd_send_signal: ",
		": pidfd_getfd: ", ": clone3 CLONE_INTO_CGROUP: ", ": idmapped mounts on ", ": time namespaces: ",
		": cgroup layout: ", ": cgroup delegation: ", ": systemd: ", ": user namespaces: ", ": /etc/subuid for ",
		": newuidmap: ", ": AppArmor: ", ": SELinux: ", ": libseccomp: ", ": seccomp notify: ", ": CRIU: ",
		": state root " + e.root + ": ", ": state root on tmpfs: ",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("no %q line:\n%s", want, r.Stdout)
		}
	}
	// The layout as the host has it.
	layout := "v1"
	if isCgroup2("/sys/fs/cgroup") {
		layout = "v2"
	} else if isCgroup2("/sys/fs/cgroup/unified") {
		layout = "hybrid"
	}
	if !strings.Contains(r.Stdout, "ok: cgroup layout: "+layout) {
		t.Errorf("cgroup layout is %s here:\n%s", layout, r.Stdout)
	}
	// BFQ as the host has it.
	if weights := hostHasBlkioWeights(); weights {
		if !strings.Contains(r.Stdout, "ok: BFQ: ") {
			t.Errorf("this host has blkio weights:\n%s", r.Stdout)
		}
	} else if !strings.Contains(r.Stdout, "missing: BFQ: ") || !strings.Contains(r.Stdout, "blkio.weight / io.bfq.weight cannot be set") {
		t.Errorf("this host has no blkio weights:\n%s", r.Stdout)
	}

	r = e.ok("check", "--format", "json")
	var rep struct {
		OK    bool `json:"ok"`
		Items []struct {
			Name, Status, Detail, Cost string
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("check --format json: %v\n%s", err, r.Stdout)
	}
	if !rep.OK || len(rep.Items) < 20 {
		t.Errorf("check --format json: ok %v, %d items", rep.OK, len(rep.Items))
	}
	for _, it := range rep.Items {
		if it.Status != "ok" && it.Status != "warn" && it.Status != "missing" {
			t.Errorf("item %q: status %q", it.Name, it.Status)
		}
	}
}

func isCgroup2(p string) bool {
	_, err := os.Stat(filepath.Join(p, "cgroup.controllers"))
	return err == nil
}

// hostHasBlkioWeights: a cgroup of this host's has a weight file (CFQ's
// or BFQ's, v1 or v2), in the hierarchy or one of its children.
func hostHasBlkioWeights() bool {
	var dirs []string
	if isCgroup2("/sys/fs/cgroup") {
		dirs = append(dirs, "/sys/fs/cgroup")
	} else {
		dirs = append(dirs, "/sys/fs/cgroup/blkio")
	}
	for _, d := range dirs {
		ents, _ := os.ReadDir(d)
		cands := []string{d}
		for _, e := range ents {
			if e.IsDir() {
				cands = append(cands, filepath.Join(d, e.Name()))
			}
		}
		for _, c := range cands {
			for _, f := range []string{"blkio.weight", "blkio.bfq.weight", "io.bfq.weight", "io.weight"} {
				if exists(filepath.Join(c, f)) {
					return true
				}
			}
		}
	}
	return false
}

// hostHasHugetlbLimits: the hugetlb controller where husk's driver sets
// limits: a v1 hierarchy, or the unified one of a v2 host.
func hostHasHugetlbLimits() bool {
	if isCgroup2("/sys/fs/cgroup") {
		b, _ := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
		return strings.Contains(" "+strings.TrimSpace(string(b))+" ", " hugetlb ")
	}
	for _, m := range cgroupMountInfo() {
		if m.fstype == "cgroup" && m.has([]string{"hugetlb"}) {
			return true
		}
	}
	return false
}

type bundleCheck struct {
	OK     bool   `json:"ok"`
	Error  string `json:"error"`
	Fields []struct {
		Field, Status, Reason string
	} `json:"fields"`
}

// checkThenCreate runs `check --bundle` and then create on the bundle:
// both must agree. It returns check's verdict.
func checkThenCreate(t *testing.T, e *env, b *bundle, id string) bundleCheck {
	t.Helper()
	r := e.run("check", "--bundle", b.Dir, "--format", "json", id)
	var rep bundleCheck
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("check --bundle: %v\n%s", err, r)
	}
	if (r.Code == 0) != rep.OK || (r.Code != 0 && r.Code != 1) {
		t.Errorf("check --bundle: exit %d with ok %v", r.Code, rep.OK)
	}
	text := e.run("check", "--bundle", b.Dir, id)
	t.Logf("check --bundle:\n%s", text.Stdout)
	if rep.OK {
		e.create(b, id)
		e.ok("delete", "--force", id)
	} else {
		e.track(id)
		c := e.run("create", "--bundle", b.Dir, id)
		if c.Code == 0 {
			t.Fatalf("check refused (%s) but create succeeded", rep.Error)
		}
		if !strings.Contains(errText(c), rep.Error) {
			t.Errorf("create failed otherwise than check said (%q): %s", rep.Error, c)
		}
		e.assertNoTrace(b, id)
	}
	return rep
}

func refusedField(rep bundleCheck, prefix string) bool {
	for _, f := range rep.Fields {
		if f.Status == "refused" && strings.HasPrefix(f.Field, prefix) {
			return true
		}
	}
	return false
}

// check --bundle says what create then does: create succeeds where check
// passes, and fails with check's reason where check refuses.
func TestCheckBundleAgreesWithCreate(t *testing.T) {
	huskOnly(t, "husk check --bundle")
	t.Run("plain", func(t *testing.T) {
		e := newEnv(t)
		b := e.newBundle(withArgs("true"))
		rep := checkThenCreate(t, e, b, "chk-plain")
		if !rep.OK {
			t.Errorf("a plain bundle refused: %s", rep.Error)
		}
		for _, f := range rep.Fields {
			if f.Status != "applied" {
				t.Errorf("plain bundle: %s %s: %s", f.Field, f.Status, f.Reason)
			}
		}
	})
	t.Run("blkio-weight", func(t *testing.T) {
		e := newEnv(t)
		w := uint16(500)
		b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
			s.Linux.Resources.BlockIO = &specs.LinuxBlockIO{Weight: &w}
		}))
		rep := checkThenCreate(t, e, b, "chk-blkio")
		if hostHasBlkioWeights() != rep.OK {
			t.Errorf("blkio weights on this host: %v; check says ok %v (%s)", hostHasBlkioWeights(), rep.OK, rep.Error)
		}
		if !rep.OK && !refusedField(rep, "linux.resources.blockIO") {
			t.Errorf("the refusal is not linux.resources.blockIO's: %+v", rep.Fields)
		}
	})
	t.Run("hugetlb-limit", func(t *testing.T) {
		if !exists("/sys/kernel/mm/hugepages/hugepages-2048kB") {
			t.Skip("no 2MB huge pages on this host")
		}
		e := newEnv(t)
		b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
			s.Linux.Resources.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}}
		}))
		rep := checkThenCreate(t, e, b, "chk-huge")
		if hostHasHugetlbLimits() != rep.OK {
			t.Errorf("hugetlb limits on this host: %v; check says ok %v (%s)", hostHasHugetlbLimits(), rep.OK, rep.Error)
		}
		if !rep.OK && !refusedField(rep, "linux.resources.hugepageLimits") {
			t.Errorf("the refusal is not hugepageLimits': %+v", rep.Fields)
		}
	})
	t.Run("host-sysctl", func(t *testing.T) {
		e := newEnv(t)
		b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"vm.swappiness": "10"}
		}))
		rep := checkThenCreate(t, e, b, "chk-sysctl")
		if rep.OK || !refusedField(rep, `linux.sysctl["vm.swappiness"]`) {
			t.Errorf("a host sysctl not refused as linux.sysctl's: %+v", rep)
		}
	})
	t.Run("warned", func(t *testing.T) {
		e := newEnv(t)
		b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
			s.Process.CommandLine = "true"
		}))
		rep := checkThenCreate(t, e, b, "chk-warn")
		found := false
		for _, f := range rep.Fields {
			found = found || (f.Field == "process.commandLine" && f.Status == "warned")
		}
		if !rep.OK || !found {
			t.Errorf("process.commandLine not warned: %+v", rep)
		}
	})
}

// --dry-run prints the plan and makes nothing: no state dir, no cgroup,
// no process, no mount; the mounts come in the config's order.
func TestDryRunMakesNothing(t *testing.T) {
	huskOnly(t, "create/run --dry-run")
	for _, cmd := range []string{"create", "run"} {
		t.Run(cmd, func(t *testing.T) {
			e := newEnv(t)
			b := e.newBundle(withOut(), withShell("echo ran > /out/ran"), withSpec(func(s *specs.Spec) {
				limit := int64(64 << 20)
				s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "size=1m"}})
			}))
			id := "dry-" + cmd
			r := e.ok(cmd, "--dry-run", "--bundle", b.Dir, id)
			e.assertNoTrace(b, id)
			if exists(b.outFile("ran")) {
				t.Errorf("the workload ran")
			}
			// The mounts in order: the config's destinations appear in
			// the config's order among the mount lines.
			var targets []string
			for _, l := range lines(r.Stdout) {
				if m := regexp.MustCompile(`^mount \d+: \S+ on (\S+) `).FindStringSubmatch(l); m != nil {
					targets = append(targets, m[1])
				}
			}
			i := 0
			for _, t2 := range targets {
				if i < len(b.Spec.Mounts) && t2 == b.Spec.Mounts[i].Destination {
					i++
				}
			}
			if i != len(b.Spec.Mounts) {
				t.Errorf("mounts not in the config's order (%d of %d found in order): %v", i, len(b.Spec.Mounts), targets)
			}
			for _, want := range []string{"namespace mount: new", "masked: /proc/kcore", "readonly: /proc/sys",
				"device: /dev/null c 1:3", "rlimit: RLIMIT_NOFILE soft 1024 hard 1024", "capabilities bounding: CAP_AUDIT_WRITE",
				"memory.", "= 67108864", "seccomp: none"} {
				if !strings.Contains(r.Stdout, want) {
					t.Errorf("no %q in the plan:\n%s", want, r.Stdout)
				}
			}

			r = e.ok(cmd, "--dry-run", "--format", "json", "--bundle", b.Dir, id)
			e.assertNoTrace(b, id)
			var plan struct {
				StateDir string `json:"stateDir"`
				Mounts   []struct {
					Target string   `json:"target"`
					Flags  []string `json:"flags"`
				} `json:"mounts"`
				Cgroup struct {
					Writes []struct{ Path, Value string } `json:"writes"`
				} `json:"cgroup"`
				Plan []string `json:"plan"`
			}
			if err := json.Unmarshal([]byte(r.Stdout), &plan); err != nil {
				t.Fatalf("--format json: %v\n%s", err, r.Stdout)
			}
			if plan.StateDir != filepath.Join(e.root, id) || len(plan.Mounts) < len(b.Spec.Mounts) || len(plan.Plan) == 0 {
				t.Errorf("json plan: %+v", plan)
			}
			found := false
			for _, w := range plan.Cgroup.Writes {
				found = found || (strings.Contains(w.Path, "memory.") && w.Value == "67108864")
			}
			if !found {
				t.Errorf("no memory limit write: %+v", plan.Cgroup.Writes)
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		e := newEnv(t)
		b := e.newBundle(withSpec(func(s *specs.Spec) { s.Process.Cwd = "rel" }))
		e.failsWith("process.cwd", "create", "--dry-run", "--bundle", b.Dir, "dry-bad")
		e.assertNoTrace(b, "dry-bad")
	})
}

// --strict turns each warning into an error naming the file, field and
// problem; nothing is left behind. Without it the container is created.
func TestStrictWarnings(t *testing.T) {
	huskOnly(t, "--strict")
	cases := []struct {
		name, field string
		skip        func() string
		opt         bundleOpt
		raw         func(m map[string]any) // on the JSON
	}{
		{name: "unknown-field", field: "process.fooBar", raw: func(m map[string]any) {
			m["process"].(map[string]any)["fooBar"] = 1
		}},
		{name: "ambient-cap", field: "process.capabilities.ambient", opt: withSpec(func(s *specs.Spec) {
			// Not inheritable: it cannot be raised.
			s.Process.Capabilities.Ambient = []string{"CAP_KILL"}
		})},
		{name: "mount-label", field: "linux.mountLabel", skip: func() string {
			if exists("/sys/fs/selinux/enforce") {
				return "SELinux is enabled on this host"
			}
			return ""
		}, opt: withSpec(func(s *specs.Spec) { s.Linux.MountLabel = "system_u:object_r:container_file_t:s0" })},
		{name: "kernel-memory", field: "linux.resources.memory.kernel", opt: withSpec(func(s *specs.Spec) {
			k := int64(64 << 20)
			//lint:ignore SA1019 linux.resources.memory.kernel is deprecated but still in the runtime-spec: the warning about it is tested
			s.Linux.Resources.Memory = &specs.LinuxMemory{Kernel: &k}
		})},
		{name: "bind-fs-options", field: "mounts[7].options", opt: withSpec(func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: "/tmp", Options: []string{"rbind", "mode=755"}})
		})},
		{name: "rec-option-not-bind", field: "mounts[7].options", opt: withSpec(func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "tmpfs", Source: "tmpfs", Options: []string{"rro"}})
		})},
		{name: "oci-version", field: "ociVersion", opt: withSpec(func(s *specs.Spec) { s.Version = "2.0.0" })},
		{name: "mappings-without-userns", field: "linux.uidMappings", opt: withSpec(func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
		})},
		{name: "command-line", field: "process.commandLine", opt: withSpec(func(s *specs.Spec) { s.Process.CommandLine = "x" })},
		{name: "username", field: "process.user.username", opt: withSpec(func(s *specs.Spec) { s.Process.User.Username = "x" })},
		{name: "unknown-capability", field: "process.capabilities.bounding", opt: withSpec(func(s *specs.Spec) {
			s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_NO_SUCH")
		})},
		{name: "poststop-timeout", field: "hooks.poststop[0].timeout", opt: withSpec(func(s *specs.Spec) {
			zero := 0
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true", Timeout: &zero}}}
		})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.skip != nil {
				if why := c.skip(); why != "" {
					t.Skip(why)
				}
			}
			e := newEnv(t)
			opts := []bundleOpt{withArgs("true")}
			if c.opt != nil {
				opts = append(opts, c.opt)
			}
			b := e.newBundle(opts...)
			if c.raw != nil {
				data, _ := json.Marshal(b.Spec)
				var m map[string]any
				json.Unmarshal(data, &m)
				c.raw(m)
				data, _ = json.Marshal(m)
				if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			id := "strict-" + c.name
			e.track(id)
			r := e.failsWith("config.json: "+c.field+": ", "--strict", "run", "--bundle", b.Dir, id)
			if !strings.Contains(errText(r), "--strict") {
				t.Errorf("the error does not say --strict made it one: %s", r)
			}
			e.assertNoTrace(b, id)
			// Without --strict: a warning (or a debug record), and the
			// container runs.
			e.ok("run", "--bundle", b.Dir, id)
		})
	}
}

// lastJSONRecord is the last JSON log record of stderr.
func lastJSONRecord(t *testing.T, stderr string) map[string]any {
	t.Helper()
	ls := lines(stderr)
	if len(ls) == 0 {
		t.Fatal("no log record")
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(ls[len(ls)-1]), &m); err != nil {
		t.Fatalf("not a JSON record: %q", ls[len(ls)-1])
	}
	return m
}

// With --log-format json the final error record carries op, stage, path,
// field, errno and hint beside msg; the text form stays one line.
func TestErrorFieldsJSON(t *testing.T) {
	huskOnly(t, "structured error fields")
	check := func(t *testing.T, rec map[string]any, want map[string]string) {
		t.Helper()
		for k, v := range want {
			if got, _ := rec[k].(string); got != v {
				t.Errorf("%s: %q, want %q (record %v)", k, got, v, rec)
			}
		}
		if h, _ := rec["hint"].(string); h == "" {
			t.Errorf("no hint: %v", rec)
		}
	}
	t.Run("parent", func(t *testing.T) {
		e := newEnv(t)
		b := e.newBundle(withSpec(func(s *specs.Spec) { s.Process.Cwd = "rel" }))
		e.track("ef-parent")
		r := e.failsWith("process.cwd", "--log-format", "json", "run", "--bundle", b.Dir, "ef-parent")
		check(t, lastJSONRecord(t, r.Stderr), map[string]string{"stage": "parent", "op": "config", "field": "process.cwd", "level": "error"})
		// Text: one line.
		r = e.run("run", "--bundle", b.Dir, "ef-parent")
		if n := len(lines(r.Stderr)); n != 1 || strings.Contains(r.Stderr, "stage=") {
			t.Errorf("text error: %d lines: %q", n, r.Stderr)
		}
	})
	t.Run("init-mount", func(t *testing.T) {
		e := newEnv(t)
		missing := filepath.Join(e.dir, "no-such-source")
		b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: missing, Options: []string{"rbind"}})
		}))
		e.track("ef-init")
		r := e.failsWith("no such file or directory", "--log-format", "json", "run", "--bundle", b.Dir, "ef-init")
		rec := lastJSONRecord(t, r.Stderr)
		check(t, rec, map[string]string{"op": "mount", "path": missing, "errno": "ENOENT", "field": "mounts[7].source"})
		if s, _ := rec["stage"].(string); s != "init" && s != "nsenter" {
			t.Errorf("stage %q, want init or nsenter", s)
		}
		e.assertNoTrace(b, "ef-init")
	})
	t.Run("hook", func(t *testing.T) {
		f, err := exec.LookPath("false")
		if err != nil {
			t.Skip("no false(1) on this host")
		}
		e := newEnv(t)
		b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: f}}}
		}))
		e.track("ef-hook")
		r := e.failsWith("createRuntime hook #0", "--log-format", "json", "run", "--bundle", b.Dir, "ef-hook")
		check(t, lastJSONRecord(t, r.Stderr), map[string]string{"stage": "hook", "op": "hook", "field": "hooks.createRuntime[0]", "path": f})
		e.assertNoTrace(b, "ef-hook")
	})
}

// --debug logs one record per phase (with --log-format json, JSON ones
// with phase, stage and duration); without --debug there is none.
func TestPhaseTimings(t *testing.T) {
	huskOnly(t, "phase timings")
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	e.track("ph")
	phases := map[string]string{}
	collect := func(r result) {
		for _, l := range lines(r.Stderr) {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) != nil || m["msg"] != "phase" {
				continue
			}
			name, _ := m["phase"].(string)
			d, _ := m["duration"].(string)
			phases[name] = d
		}
	}
	collect(e.ok("--debug", "--log-format", "json", "create", "--bundle", b.Dir, "ph"))
	collect(e.ok("--debug", "--log-format", "json", "start", "ph"))
	for _, want := range []string{"load config", "cgroup", "clone", "namespaces", "init.mounts", "init.pivot_root", "init.process", "init", "start"} {
		if phases[want] == "" {
			t.Errorf("no %q phase record: %v", want, phases)
		}
	}
	e.waitStatus("ph", "stopped")
	r := e.ok("--debug", "delete", "ph")
	for _, want := range []string{"phase=cgroup", "phase=state"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("delete --debug: no %s record:\n%s", want, r.Stderr)
		}
	}
	r = e.ok("--log-format", "json", "run", "--bundle", b.Dir, "ph")
	if strings.Contains(r.Stderr, `"phase"`) {
		t.Errorf("phase records without --debug: %s", r.Stderr)
	}
}
