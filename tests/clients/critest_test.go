package clients

// Kubernetes' CRI validation suite, critest (sigs.k8s.io/cri-tools, pinned
// in tests/critest/go.mod), against containerd 1.6's CRI plugin whose runc
// v2 shim runs the runtime under test (its BinaryName): the node path of
// Kubernetes. It runs once with the reference runc 1.5.3 and once with
// husk; both are held to critestKnownFailures, the tests that fail for
// both on this host, each with its reason: a test that fails and is not
// listed fails TestCritest, and so does a listed one that passes.
//
// Offline: critest's images (busybox, nginx, the user and tag test images,
// pause) are made here from /bin/busybox (critest_images_test.go) and
// served by a registry of the test's own, the mirror in containerd's CRI
// config of every registry critest names, so that PullImage goes the way
// it goes on a node. containerd, the registry and critest run in a network
// namespace the test makes: pods get addresses on a CNI bridge there, host
// ports and the streaming server are on its loopback, nothing is reachable
// from or routed to the host's network.
//
// Environment (besides the package's):
//
//	HUSK_REFERENCE_RUNC the reference runc (default RUNC_REF, else
//	                    /usr/local/libexec/husk-test/runc).
//	CRITEST_RUNTIMES    "husk", "runc" or "runc husk" (the default): which
//	                    runs to make.
//	CRITEST_FOCUS       a ginkgo focus regexp (default: every test but the
//	                    benchmarks); the known-failure checks then cover
//	                    only the tests that ran.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// critestTimeout bounds one critest run (the whole suite takes a few
// minutes).
const critestTimeout = 20 * time.Minute

// critestKnownFailures are the critest tests that fail with runc 1.5.3
// and with husk on this host (Debian 12's containerd 1.6.20, cgroup v1
// hybrid, no AppArmor, no SELinux), by their full ginkgo name, each with
// why. The tests critest skips by itself (48 of 142 with v1.37.0) are its
// benchmarks, and those of features containerd 1.6 lacks (image volumes,
// user namespaces, metrics, recursive read-only mounts, supplemental
// groups policy, image ids in ContainerStatus), of AppArmor (not on this
// kernel) and of NRI (not configured).
var critestKnownFailures = map[string]string{
	"[k8s.io] Image Manager public image with digest should be pulled and removed [Conformance]": "pulls gcr.io/k8s-staging-cri-tools/test-image-digest by the digest of the upstream manifest, which no image made offline can have",
	"[k8s.io] Security Context bucket runtime should support MaskedPaths":                        "the image's sh is Debian's busybox-static, whose ash runs applets in itself (FEATURE_SH_STANDALONE): `sh -c ls` never execs the masked /bin/ls, so the Permission denied the test wants cannot happen (masking itself is covered by tests/integration)",
	"[k8s.io] Idempotence StopPodSandbox should not return an error if not found":                "containerd 1.6's CRI answers NotFound for a sandbox it does not know (later containerd made StopPodSandbox idempotent)",
	"[k8s.io] Idempotence StopContainer should not return an error if not found":                 "containerd 1.6's CRI answers NotFound for a container it does not know (later containerd made StopContainer idempotent)",
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// referenceRunc is the reference runc's path.
func referenceRunc() string {
	return cmp.Or(os.Getenv("HUSK_REFERENCE_RUNC"), os.Getenv("RUNC_REF"), "/usr/local/libexec/husk-test/runc")
}

func TestCritest(t *testing.T) {
	start(t)
	need(t, "containerd", "containerd-shim-runc-v2", "ctr", "nsenter", "iptables", "ipcmk", "gcc", "go")
	for _, p := range []string{"bridge", "host-local", "loopback", "portmap"} {
		if _, err := os.Stat(filepath.Join(critestCNIBin, p)); err != nil {
			t.Fatalf("the CNI plugin %s is missing (containernetworking-plugins; run contrib/deps.sh --clients): %v", p, err)
		}
	}
	runs := strings.Fields(cmp.Or(os.Getenv("CRITEST_RUNTIMES"), "runc husk"))
	bins := map[string]string{"runc": referenceRunc(), "husk": runtimeBin}
	for _, r := range runs {
		if bins[r] == "" {
			t.Fatalf("CRITEST_RUNTIMES: %q is neither husk nor runc", r)
		}
		if _, err := os.Stat(bins[r]); err != nil {
			t.Fatalf("%s: %v", r, err)
		}
	}

	dir, err := os.MkdirTemp(scratch, "critest-")
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	suite := buildCritest(t, dir)
	pause, err := buildC(dir, "pause")
	if err != nil {
		t.Fatal(err)
	}
	nnp, err := buildC(dir, "nonewprivs")
	if err != nil {
		t.Fatal(err)
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := newCRIRegistry(critestImages(pause, nnp, bb))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("critest built, images made: %s", time.Since(began).Round(time.Second))

	results := map[string]map[string]critestResult{}
	for _, r := range runs {
		t.Run(r, func(t *testing.T) {
			began := time.Now()
			res := runCritest(t, bins[r], suite, reg)
			results[r] = res
			var pass, fail, skip int
			for _, name := range sortedKeys(res) {
				switch res[name].State {
				case "passed":
					pass++
				case "skipped", "pending":
					skip++
				default:
					fail++
				}
			}
			// The line the lead reads: counts per runtime.
			t.Logf("critest %s: %d passed, %d failed, %d skipped in %s", r, pass, fail, skip, time.Since(began).Round(time.Second))
			checkCritest(t, res)
		})
	}
	// What runc passes husk passes (checkCritest holds both to the same
	// list; this names the differences directly).
	if rr, hr := results["runc"], results["husk"]; rr != nil && hr != nil {
		for _, name := range sortedKeys(rr) {
			if rr[name].State == "passed" && hr[name].State != "passed" && hr[name].State != "" {
				t.Errorf("runc 1.5.3 passes, husk does not (%s): %s", hr[name].State, name)
			}
		}
	}
}

// critestResult is one spec's outcome.
type critestResult struct {
	State   string
	Failure string
}

// checkCritest holds one run to critestKnownFailures.
func checkCritest(t *testing.T, res map[string]critestResult) {
	t.Helper()
	for _, name := range sortedKeys(res) {
		r := res[name]
		failed := r.State != "passed" && r.State != "skipped" && r.State != "pending"
		reason, known := critestKnownFailures[name]
		switch {
		case failed && !known:
			t.Errorf("critest failed (%s): %s\n%s", r.State, name, r.Failure)
		case !failed && known && r.State == "passed":
			t.Errorf("critest passes a known failure (remove it from critestKnownFailures): %s (listed: %s)", name, reason)
		}
	}
	if os.Getenv("CRITEST_FOCUS") == "" {
		for _, name := range sortedKeys(critestKnownFailures) {
			if _, ran := res[name]; !ran {
				t.Errorf("critestKnownFailures names a test critest no longer has: %s", name)
			}
		}
	}
}

// buildCritest builds critest (a Go test binary: cmd/critest has only a
// _test.go file) from tests/critest's module, pinned there.
func buildCritest(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "critest.test")
	build := exec.Command("go", "test", "-c", "-o", out, "sigs.k8s.io/cri-tools/cmd/critest")
	build.Dir = "../critest"
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOEXPERIMENT=", "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building critest (tests/critest): %v\n%s", err, b)
	}
	return out
}

// critestCNIBin is where Debian's containernetworking-plugins are.
const critestCNIBin = "/usr/lib/cni"

// runCritest starts a private network namespace, the registry and a
// containerd with the CRI plugin in it, runs critest there against the
// runtime bin, tears everything down (checking that nothing of the
// runtime's is left) and returns each test's outcome by name.
func runCritest(t *testing.T, bin, suite string, reg *criRegistry) map[string]critestResult {
	t.Helper()
	dir, err := os.MkdirTemp(filepath.Dir(suite), filepath.Base(bin)+"-")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "c.sock")
	runcRoot := filepath.Join(dir, "runc")

	// The network namespace: a process holds it, a cat reading a pipe
	// the test holds open (so that it ends with the test, however that
	// ends); containerd and critest enter it with nsenter, the registry's
	// socket is made in it.
	holder := exec.Command("/bin/busybox", "cat")
	holder.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	hold, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatalf("a network namespace: %v", err)
	}
	t.Cleanup(func() { hold.Close(); holder.Process.Kill(); holder.Wait() })
	netns := fmt.Sprintf("--net=/proc/%d/ns/net", holder.Process.Pid)
	ok(t, nil, "nsenter", netns, "/bin/busybox", "ip", "link", "set", "lo", "up")

	l, err := listenInNetns(holder.Process.Pid, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("the registry's listener: %v", err)
	}
	srv := &http.Server{Handler: reg, ReadHeaderTimeout: cmdTimeout}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	cniConf := filepath.Join(dir, "cni")
	if err := os.MkdirAll(cniConf, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cniConf, "10-husk-critest.conflist"), []byte(critestCNIConfig(filepath.Join(dir, "cni-ipam"))), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := critestContainerdConfig(dir, sock, bin, runcRoot, cniConf, "http://"+l.Addr().String())
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	// The cgroup parent critest gives its pods when the CRI has no
	// RuntimeConfig (containerd 1.6): /test.slice, under the cgroupfs
	// driver a plain directory in each hierarchy; the test removes the
	// ones it made.
	slices0, _ := filepath.Glob("/sys/fs/cgroup/*/test.slice")

	// libcni keeps each attachment's result in /var/lib/cni/results (not
	// configurable in containerd 1.6) and removes it at teardown; the
	// directories are removed when the test made them and they are empty.
	var madeDirs []string
	for _, d := range []string{"/run/containerd", containerdShimSocketDir, "/var/lib/cni", "/var/lib/cni/results"} {
		if _, err := os.Stat(d); os.IsNotExist(err) {
			madeDirs = append([]string{d}, madeDirs...)
		}
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	daemon := exec.Command("nsenter", netns, "containerd", "--config", cfgPath)
	daemon.Stdout, daemon.Stderr = logf, logf
	if err := daemon.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- daemon.Wait(); logf.Close() }()
	ctr := func(args ...string) result {
		return run(nil, nil, "ctr", append([]string{"--address", sock, "--namespace", "k8s.io"}, args...)...)
	}
	t.Cleanup(func() {
		critestTeardown(t, dir, sock, runcRoot, daemon, exited, ctr, madeDirs, slices0)
	})
	waitFor(t, "containerd to serve "+sock, func() bool {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("containerd exited: %v; see %s", err, logf.Name())
		default:
		}
		return ctr("version").Code == 0
	})
	if plugins := ctr("plugins", "ls").Stdout; !containerdPluginOK(plugins, "io.containerd.grpc.v1", "cri") {
		t.Fatalf("containerd's CRI plugin is not ok; see %s\n%s", logf.Name(), plugins)
	}

	report := filepath.Join(dir, "report.json")
	args := []string{netns, suite,
		"-runtime-endpoint", "unix://" + sock, "-image-endpoint", "unix://" + sock,
		"-config", filepath.Join(dir, "no-crictl.yaml"),
		"-ginkgo.json-report", report, "-ginkgo.no-color",
		"-ginkgo.timeout", critestTimeout.String()}
	if f := os.Getenv("CRITEST_FOCUS"); f != "" {
		args = append(args, "-ginkgo.focus", f)
	}
	// critest's HostIpc tests make a shared memory segment on the host
	// (ipcmk -M 1048576) and leave it; the test removes those.
	shm0 := hostShmSegments()
	defer func() {
		for id, size := range hostShmSegments() {
			if _, old := shm0[id]; !old && size == "1048576" {
				unix.SysvShmCtl(id, unix.IPC_RMID, nil)
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), critestTimeout+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	out, err := os.Create(filepath.Join(dir, "critest.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 10 * time.Second
	runErr := cmd.Run()
	res, err := readCritestReport(report)
	if err != nil {
		t.Fatalf("critest (%v) left no report: %v; see %s", runErr, err, out.Name())
	}
	if len(res) == 0 {
		t.Fatalf("critest ran no test (%v); see %s", runErr, out.Name())
	}
	var exitErr *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exitErr) {
		t.Errorf("critest: %v; see %s", runErr, out.Name())
	}
	return res
}

// hostShmSegments are the host's System V shared memory segments: their
// size by id.
func hostShmSegments() map[int]string {
	m := map[int]string{}
	b, _ := os.ReadFile("/proc/sysvipc/shm")
	for _, l := range strings.Split(string(b), "\n")[1:] {
		if f := strings.Fields(l); len(f) > 3 {
			if id, err := strconv.Atoi(f[1]); err == nil {
				m[id] = f[3]
			}
		}
	}
	return m
}

// readCritestReport reads ginkgo's JSON report: every It's full name
// (its containers' texts and its own) and state.
func readCritestReport(path string) (map[string]critestResult, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var reports []struct {
		SpecReports []struct {
			ContainerHierarchyTexts []string
			LeafNodeText            string
			LeafNodeType            string
			State                   string
			Failure                 struct {
				Message  string
				Location struct {
					FileName   string
					LineNumber int
				}
			}
		}
	}
	if err := json.Unmarshal(b, &reports); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	res := map[string]critestResult{}
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.LeafNodeType != "It" {
				// A failed suite node (BeforeSuite...) fails the run.
				if s.State != "passed" && s.State != "" {
					res[s.LeafNodeType] = critestResult{State: s.State, Failure: s.Failure.Message}
				}
				continue
			}
			name := strings.Join(append(slices.Clone(s.ContainerHierarchyTexts), s.LeafNodeText), " ")
			f := s.Failure.Message
			if f != "" {
				f = fmt.Sprintf("%s:%d: %s", filepath.Base(s.Failure.Location.FileName), s.Failure.Location.LineNumber, f)
			}
			res[name] = critestResult{State: s.State, Failure: f}
		}
	}
	return res, nil
}

// critestCNIConfig is the pods' network: a bridge with a subnet of the
// test's network namespace only, and host ports (portmap).
func critestCNIConfig(ipamDir string) string {
	return fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "husk-critest",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "10.88.0.0/24"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": %q
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, ipamDir)
}

// critestContainerdConfig is the private containerd's config.toml with the
// CRI plugin: its state under dir, the runc v2 shim running bin with its
// state root runcRoot, the CNI config of confDir, the registries critest
// names mirrored to the test's registry. restrict_oom_score_adj: the
// host's bounding set lacks CAP_SYS_RESOURCE, so no oom_score_adj below
// containerd's own can be set (the pause container's -998 included).
func critestContainerdConfig(dir, sock, bin, runcRoot, confDir, registry string) string {
	var mirrors strings.Builder
	for _, r := range criMirrored {
		fmt.Fprintf(&mirrors, "[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.%q]\n  endpoint = [%q]\n", r, registry)
	}
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = %q
[ttrpc]
  address = %q
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  netns_mounts_under_state_dir = true
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = %q
  conf_dir = %q
[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  BinaryName = %q
  Root = %q
%s`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock, sock+".ttrpc",
		criSandboxImage, critestCNIBin, confDir, bin, runcRoot, mirrors.String())
}

// critestTeardown removes what critest left (it removes its own pods; a
// failed test may not), stops containerd and checks that nothing of the
// runtime's is left: no shim, mount, state or cgroup.
func critestTeardown(t *testing.T, dir, sock, runcRoot string, daemon *exec.Cmd, exited chan error,
	ctr func(...string) result, madeDirs, slices0 []string) {
	if daemon.ProcessState == nil {
		// A task's status by id, from `ctr tasks ls`.
		tasks := func() map[string]string {
			m := map[string]string{}
			for _, l := range strings.Split(ctr("tasks", "ls").Stdout, "\n")[1:] {
				if f := strings.Fields(l); len(f) == 3 {
					m[f[0]] = f[2]
				}
			}
			return m
		}
		if left := tasks(); len(left) > 0 {
			t.Logf("critest left %d tasks; removing them", len(left))
			for id := range left {
				ctr("tasks", "kill", "--signal", "SIGKILL", id)
			}
			waitFor(t, "the tasks left to stop", func() bool {
				for _, st := range tasks() {
					if st != "STOPPED" {
						return false
					}
				}
				return true
			})
			for id := range left {
				ctr("tasks", "delete", id)
			}
		}
		for _, id := range strings.Fields(ctr("containers", "ls", "-q").Stdout) {
			ctr("containers", "delete", id)
		}
	}
	stopContainerd(t, daemon, exited, sock)
	for _, d := range madeDirs {
		os.Remove(d)
	}
	for _, m := range mountsUnder(dir) {
		// containerd's own (the pods' network namespaces, shm) are
		// unmounted at its stop only for the pods it removed.
		t.Errorf("mount left: %s", m)
		syscall.Unmount(m, syscall.MNT_DETACH)
	}
	if left, _ := os.ReadDir(filepath.Join(runcRoot, "k8s.io")); len(left) > 0 {
		t.Errorf("runtime state left in %s: %v", filepath.Join(runcRoot, "k8s.io"), left)
	}
	slices1, _ := filepath.Glob("/sys/fs/cgroup/*/test.slice")
	for _, p := range slices1 {
		kids, _ := os.ReadDir(p)
		for _, k := range kids {
			if k.IsDir() {
				t.Errorf("cgroup left: %s", filepath.Join(p, k.Name()))
				os.Remove(filepath.Join(p, k.Name()))
			}
		}
		if !slices.Contains(slices0, p) {
			os.Remove(p)
		}
	}
	if t.Failed() || os.Getenv("HUSK_CLIENTS_KEEP") != "" {
		os.RemoveAll(filepath.Join(dir, "root"))
		t.Logf("containerd log: %s, critest log: %s", filepath.Join(dir, "containerd.log"), filepath.Join(dir, "critest.log"))
	} else if err := os.RemoveAll(dir); err != nil {
		t.Errorf("removing %s: %v", dir, err)
	}
}
