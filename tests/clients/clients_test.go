// Package clients runs real higher-level container tools — containerd
// (ctr and its runc shim), podman (conmon) and docker (dockerd) — with husk
// as their OCI runtime, end to end. Each tool is Debian's package, started
// by the test on private sockets and directories under a scratch dir, with
// a busybox image made locally (no registry).
//
// Run (as root, with the clients installed: contrib/deps.sh does it):
//
//	go test ./tests/clients/ -v
//
// Environment:
//
//	HUSK_BINARY       the runtime under test (default ../../husk); the tools
//	                  get it by absolute path.
//	HUSK_CLIENTS_KEEP non-empty: keep the scratch dir (/var/tmp/husk-clients-*,
//	                  daemon logs included) even when every test passed.
//	HUSK_ALLOW_SKIP_ROOT non-empty: not being root skips every test (else
//	                  it fails the suite).
package clients

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/husk-runtime/husk/tests/testutil"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

const (
	// cmdTimeout bounds one client invocation.
	cmdTimeout = 90 * time.Second
	// waitTimeout bounds polling for a condition.
	waitTimeout = 30 * time.Second
	pollEvery   = 20 * time.Millisecond

	// imageName is the busybox image's tag in the archive every tool loads.
	imageName = "husk-test/busybox:latest"
)

var (
	// runtimeBin is the absolute path of the runtime under test.
	runtimeBin string
	// scratch holds everything the suite creates on disk.
	scratch string
	// imageArchive is a docker-archive (`docker save` format) tarball of a
	// one-layer busybox image tagged imageName; containerd, podman and
	// docker all load it.
	imageArchive string
	// setupErr fails every test when the suite could not be set up.
	setupErr error
	// notRoot: not root, and HUSK_ALLOW_SKIP_ROOT set: every test skips.
	notRoot bool
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		if os.Geteuid() != 0 {
			if os.Getenv("HUSK_ALLOW_SKIP_ROOT") == "" {
				fmt.Fprintln(os.Stderr, "client tests run real containers and need root (set HUSK_ALLOW_SKIP_ROOT=1 to skip them)")
				return 1
			}
			notRoot = true
			return m.Run()
		}
		defer testutil.PrivateCache()()
		setupErr = setup()
		code := m.Run()
		if scratch != "" && code == 0 && os.Getenv("HUSK_CLIENTS_KEEP") == "" {
			os.RemoveAll(scratch)
		}
		return code
	}())
}

func setup() error {
	bin := os.Getenv("HUSK_BINARY")
	if bin == "" {
		bin = "../../husk"
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("HUSK_BINARY: %w", err)
	}
	runtimeBin = abs
	// Not under /tmp's possible noexec, and short: unix socket paths are
	// limited to 108 bytes.
	scratch, err = os.MkdirTemp("/var/tmp", "husk-clients-")
	if err != nil {
		return err
	}
	os.Chmod(scratch, 0o755)
	imageArchive = filepath.Join(scratch, "busybox-image.tar")
	return writeImageArchive(imageArchive, imageName)
}

// start is called first by every test.
func start(t *testing.T) {
	t.Helper()
	if notRoot {
		t.Skip("needs root (HUSK_ALLOW_SKIP_ROOT)")
	}
	if setupErr != nil {
		t.Fatalf("setup: %v", setupErr)
	}
}

// need fails the test when a client program is missing: CI installs them
// (contrib/deps.sh), so a missing one is a broken machine, not a skip.
func need(t *testing.T, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s is not installed (run contrib/deps.sh): %v", p, err)
		}
	}
}

// result is what one command did.
type result struct {
	Cmd            string
	Stdout, Stderr string
	Code           int
}

func (r result) String() string {
	return fmt.Sprintf("`%s` exited %d\nstdout: %s\nstderr: %s", r.Cmd, r.Code, r.Stdout, r.Stderr)
}

// run runs a command with stdin from in (may be nil) and returns what it
// did; a command that outlives cmdTimeout is killed and has Code -1.
func run(env []string, in io.Reader, name string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, name, args...)
	c.Env = append(os.Environ(), env...)
	c.Stdin = in
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	c.WaitDelay = 5 * time.Second
	err := c.Run()
	r := result{Cmd: strings.Join(append([]string{name}, args...), " "), Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		r.Code = ee.ExitCode()
	default:
		r.Code = -1
		r.Stderr += fmt.Sprintf("\n(%v)", err)
	}
	return r
}

// ok runs a command that must succeed.
func ok(t *testing.T, env []string, name string, args ...string) result {
	t.Helper()
	r := run(env, nil, name, args...)
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	return r
}

// waitFor polls cond until it is true, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(pollEvery)
	}
}

// mountsUnder lists the mount points at or under any of dirs, the latest
// mounted first (so unmounting in order takes children and stacked mounts
// before what they sit on).
func mountsUnder(dirs ...string) []string {
	ms, err := mountinfo.GetMounts(func(m *mountinfo.Info) (skip, stop bool) {
		for _, d := range dirs {
			if d != "" && (m.Mountpoint == d || strings.HasPrefix(m.Mountpoint, d+"/")) {
				return false, false
			}
		}
		return true, false
	})
	if err != nil {
		return nil
	}
	var out []string
	for i := len(ms) - 1; i >= 0; i-- {
		out = append(out, ms[i].Mountpoint)
	}
	return out
}

// readTrim is a file's content without surrounding space; the test fails
// when it cannot be read.
func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// openPty makes a pseudo-terminal pair of rows x cols for a test to play
// the user's terminal; both ends are closed at the end of the test (and
// may be closed before). The master is non-blocking, so that Go's poller
// serves it and read deadlines work.
func openPty(t *testing.T, rows, cols uint16) (master, slave *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	master = os.NewFile(uintptr(fd), "ptmx")
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock the pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatal(err)
	}
	return master, slave
}

// writeImageArchive writes a `docker save` format archive holding one
// image: a single layer with Debian's static busybox as /bin/busybox and a
// link per applet, /etc/passwd and /etc/group, and a config whose default
// command is sh.
func writeImageArchive(path, tag string) error {
	layer, err := busyboxLayer()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(layer)
	diffID := "sha256:" + hex.EncodeToString(sum[:])
	cfg, err := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"created":      "2026-01-01T00:00:00Z",
		"config": map[string]any{
			"Cmd":        []string{"sh"},
			"Env":        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			"WorkingDir": "/",
		},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": []string{diffID}},
		"history": []map[string]any{{"created": "2026-01-01T00:00:00Z", "created_by": "husk tests/clients"}},
	})
	if err != nil {
		return err
	}
	cfgSum := sha256.Sum256(cfg)
	cfgName := hex.EncodeToString(cfgSum[:]) + ".json"
	layerName := hex.EncodeToString(sum[:]) + "/layer.tar"
	manifest, _ := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{tag}, "Layers": []string{layerName}}})
	repo, ref, _ := strings.Cut(tag, ":")
	repos, _ := json.Marshal(map[string]map[string]string{repo: {ref: hex.EncodeToString(sum[:])}})

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, data []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg})
		tw.Write(data)
	}
	tw.WriteHeader(&tar.Header{Name: hex.EncodeToString(sum[:]) + "/", Mode: 0o755, Typeflag: tar.TypeDir, ModTime: time.Unix(0, 0)})
	add(layerName, layer)
	add(cfgName, cfg)
	add("manifest.json", manifest)
	add("repositories", repos)
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// busyboxLayer is the image's only layer, an uncompressed tar.
func busyboxLayer() ([]byte, error) { return busyboxLayerLinks(false) }

// busyboxLayerLinks is the busybox layer with each applet a symbolic link
// to bin/busybox or, with hard, a hard link as in the busybox images of
// registries (a path masked by a bind mount is then the applet's own).
func busyboxLayerLinks(hard bool) ([]byte, error) {
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return nil, fmt.Errorf("need Debian's busybox-static: %w", err)
	}
	out, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox --list: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	for _, d := range []string{"bin/", "dev/", "etc/", "proc/", "sys/", "tmp/", "root/", "var/"} {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		tw.WriteHeader(&tar.Header{Name: d, Mode: mode, Typeflag: tar.TypeDir, ModTime: epoch})
	}
	tw.WriteHeader(&tar.Header{Name: "bin/busybox", Mode: 0o755, Size: int64(len(bb)), Typeflag: tar.TypeReg, ModTime: epoch})
	tw.Write(bb)
	for _, a := range strings.Fields(string(out)) {
		if a == "busybox" {
			continue
		}
		if hard {
			tw.WriteHeader(&tar.Header{Name: "bin/" + a, Linkname: "bin/busybox", Typeflag: tar.TypeLink, Mode: 0o755, ModTime: epoch})
		} else {
			tw.WriteHeader(&tar.Header{Name: "bin/" + a, Linkname: "busybox", Typeflag: tar.TypeSymlink, Mode: 0o777, ModTime: epoch})
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":  "root:x:0:\nnogroup:x:65534:\n",
	}
	for name, data := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: epoch})
		tw.Write([]byte(data))
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// TestImageArchive checks the archive every client test loads.
func TestImageArchive(t *testing.T) {
	start(t)
	f, err := os.Open(imageArchive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names[h.Name] = true
	}
	if !names["manifest.json"] || !names["repositories"] {
		t.Errorf("archive has %v", names)
	}
}

// docInstallPath is where the docs' snippets have husk (make install,
// PREFIX=/usr/local); the tests put the runtime under test in its place.
const docInstallPath = "/usr/local/sbin/husk"

// docSnippet is the fenced code block of docs/PAGE that follows the line
// "<!-- tests/clients: NAME -->", with docInstallPath replaced by the
// runtime under test: the tests run the docs' own configuration, so a
// snippet that stops working fails them.
func docSnippet(t *testing.T, page, name string) string {
	t.Helper()
	path := filepath.Join("..", "..", "docs", page)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "<!-- tests/clients: "+name+" -->\n")
	if !ok {
		t.Fatalf("%s: no snippet %q", path, name)
	}
	_, body, ok := strings.Cut(after, "\n")
	if !ok || !strings.HasPrefix(after, "```") {
		t.Fatalf("%s: snippet %q is not a fenced block right after its marker", path, name)
	}
	body, _, ok = strings.Cut(body, "```")
	if !ok {
		t.Fatalf("%s: snippet %q is not closed", path, name)
	}
	return strings.ReplaceAll(body, docInstallPath, runtimeBin)
}
