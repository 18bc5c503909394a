package clients

// The images critest pulls, made here from Debian's static busybox and
// served by a registry of the test's own (a read-only OCI distribution
// API over HTTP): containerd's CRI plugin is pointed at it as the mirror
// of every registry critest names, so that PullImage works offline as it
// would against the real registries.

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// critestImage is one image: its names (registry/repository:tag), its
// config's user, command and working dir, and files added on top of the
// busybox layer (a layer of their own).
type critestImage struct {
	names   []string
	user    string
	cmd     []string
	workdir string
	files   map[string]string
	// exec adds executable files (path: content), setuid those of setuid.
	exec   map[string][]byte
	setuid map[string]bool
}

const (
	criStaging = "gcr.io/k8s-staging-cri-tools/"
	criE2E     = "registry.k8s.io/e2e-test-images/"
	// criSandboxImage is the CRI plugin's sandbox_image (containerd 1.6's
	// default name), served like the others.
	criSandboxImage = "registry.k8s.io/pause:3.6"
)

// criMirrored are the registries critest's images come from; each is
// mirrored to the test's registry.
var criMirrored = []string{"gcr.io", "registry.k8s.io", "k8s.gcr.io"}

// critestImages lists what cri-tools v1.37.0's pkg/validate and
// pkg/framework name (consts.go, consts_linux.go, util.go) as its
// images/build makes them: the users of the image-user images, the
// pre-defined group, one file per test image so that different names are
// different images (the same file for the tags of one image), web servers
// (busybox httpd in place of nginx) on port 80 and, for the host-network
// one, 12003. Not here: test-image-digest, pulled by the digest of the
// upstream manifest, which cannot be made offline (a known failure).
func critestImages(pause, nnp, bb []byte) []critestImage {
	passwd := "root:x:0:0:root:/root:/bin/sh\n" +
		"www-data:x:33:33:www-data:/var/www:/bin/sh\n" +
		"default-user:x:1000:1000:Linux User:/home/default-user:/bin/sh\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	group := "root:x:0:\nwww-data:x:33:\ndefault-user:x:1000:\n" +
		"group-defined-in-image:x:50000:default-user\nnogroup:x:65534:\n"
	users := func(extra map[string]string) map[string]string {
		m := map[string]string{"etc/passwd": passwd, "etc/group": group}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	marker := func(name string) map[string]string { return users(map[string]string{name: ""}) }
	sh := []string{"sh"}
	imgs := []critestImage{
		{names: []string{criE2E + "busybox:1.29-2"}, cmd: sh, files: users(nil)},
		// As nginx: a "master process" (pid 1's command line says so)
		// and a server named nginx (pidof) whose pid is in
		// /var/run/nginx.pid: busybox httpd run from a copy of busybox
		// named /usr/sbin/nginx (the name the kernel gives the process)
		// with argv[0] httpd (the applet busybox runs). A copy: a hard link
		// to a lower layer's file cannot be unpacked by a snapshotter.
		{names: []string{criE2E + "nginx:1.14-2"},
			cmd:   []string{"sh", "-c", "exec -a httpd /usr/sbin/nginx -f -p 80 -h /www & echo $! >/var/run/nginx.pid; wait", "nginx: master process"},
			files: users(map[string]string{"www/index.html": "husk critest web server\n", "var/run/.keep": ""}),
			exec:  map[string][]byte{"usr/sbin/nginx": bb}},
		// httpd's log names it (a test looks for "httpd" in it).
		{names: []string{criE2E + "httpd:2.4.39-4"}, cmd: []string{"sh", "-c", "echo httpd: serving /www on port 80 && exec httpd -f -p 80 -h /www"},
			files: users(map[string]string{"www/index.html": "husk critest httpd\n"})},
		// Prints its effective uid, set-user-ID root.
		{names: []string{criE2E + "nonewprivs:1.3"}, cmd: []string{"/usr/local/bin/nonewprivs"}, files: users(nil),
			exec: map[string][]byte{"usr/local/bin/nonewprivs": nnp}, setuid: map[string]bool{"usr/local/bin/nonewprivs": true}},
		{names: []string{criStaging + "hostnet-nginx-" + runtime.GOARCH + ":latest"}, cmd: []string{"httpd", "-f", "-p", "12003", "-h", "/www"},
			files: users(map[string]string{"www/index.html": "husk critest host-network web server\n"})},
		{names: []string{criStaging + "test-image-user-uid:latest"}, user: "1002", cmd: sh, files: users(nil)},
		{names: []string{criStaging + "test-image-user-username:latest"}, user: "www-data", cmd: sh, files: users(nil)},
		{names: []string{criStaging + "test-image-user-uid-group:latest"}, user: "1003:1004", cmd: sh, files: users(nil)},
		{names: []string{criStaging + "test-image-user-username-group:latest"}, user: "www-data:1004", cmd: sh, files: users(nil)},
		{names: []string{criStaging + "test-image-predefined-group:latest"}, user: "1000", cmd: sh, files: users(nil)},
		{names: []string{criStaging + "test-image-latest:latest"}, cmd: sh, files: marker("test-image-latest")},
		{names: []string{criStaging + "test-image-tag:test", criStaging + "test-image-tag:all"}, cmd: sh, files: marker("test-image-tag")},
		{names: []string{criStaging + "test-image-tags:1", criStaging + "test-image-tags:2", criStaging + "test-image-tags:3"},
			cmd: sh, files: marker("same-image")},
		{names: []string{"registry.k8s.io/pause:3.9", "k8s.gcr.io/pause:3.9"}, cmd: []string{"/pause"},
			exec: map[string][]byte{"pause": pause}},
		// The sandbox image apart from pause:3.9: critest removes that one.
		{names: []string{criSandboxImage}, cmd: []string{"/pause"}, exec: map[string][]byte{"pause": pause},
			files: map[string]string{"etc/husk-sandbox": ""}},
	}
	for i := 1; i <= 3; i++ {
		n := fmt.Sprintf("test-image-%d", i)
		imgs = append(imgs, critestImage{names: []string{criStaging + n + ":latest"}, cmd: sh, files: marker(n)})
	}
	return imgs
}

// critestTools stand in, in every image, for the busybox applets critest
// runs that Debian's busybox-static lacks: pgrep (the pids whose command
// name holds the pattern) and ipcs -m (the System V shared memory
// segments, read from /proc/sysvipc/shm as ipcs does; the headers hold no
// digit, since critest looks for a segment's id in the output).
var critestTools = map[string][]byte{
	"usr/bin/pgrep": []byte(`#!/bin/sh
[ $# -eq 1 ] || { echo "usage: pgrep PATTERN" >&2; exit 2; }
rc=1
for d in /proc/[0-9]*; do
	read -r comm <"$d/comm" 2>/dev/null || continue
	case $comm in *"$1"*) echo "${d#/proc/}"; rc=0 ;; esac
done
exit $rc
`),
	"usr/bin/ipcs": []byte(`#!/bin/sh
[ "$*" = "-m" ] || { echo "usage: ipcs -m" >&2; exit 2; }
echo "------ Shared Memory Segments --------"
echo "key        shmid      owner      perms      bytes      nattch"
tail -n +2 /proc/sysvipc/shm | while read -r key id perms size cpid lpid nattch uid rest; do
	echo "$key $id $uid $perms $size $nattch"
done
`),
}

// buildC compiles testdata/<name>.c, static, into dir.
func buildC(dir, name string) ([]byte, error) {
	out := filepath.Join(dir, name)
	if b, err := exec.Command("gcc", "-static", "-Os", "-s", "-o", out, "testdata/"+name+".c").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building testdata/%s.c: %v\n%s", name, err, b)
	}
	return os.ReadFile(out)
}

// criRegistry holds the blobs and manifests it serves.
type criRegistry struct {
	blobs     map[string][]byte // digest -> content (layers, configs, manifests)
	manifests map[string]string // repository:tag -> manifest digest
}

const ociManifestType = "application/vnd.oci.image.manifest.v1+json"

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// newCRIRegistry makes every image: the busybox layer shared, a layer of
// each image's own files, an OCI config and manifest.
func newCRIRegistry(imgs []critestImage) (*criRegistry, error) {
	base, err := busyboxLayerLinks(true)
	if err != nil {
		return nil, err
	}
	r := &criRegistry{blobs: map[string][]byte{}, manifests: map[string]string{}}
	baseDigest := digestOf(base)
	r.blobs[baseDigest] = base
	for _, img := range imgs {
		execs := map[string][]byte{}
		for k, v := range critestTools {
			execs[k] = v
		}
		for k, v := range img.exec {
			execs[k] = v
		}
		top, err := filesLayer(img.files, execs, img.setuid)
		if err != nil {
			return nil, err
		}
		topDigest := digestOf(top)
		r.blobs[topDigest] = top
		cfg, _ := json.Marshal(map[string]any{
			"architecture": runtime.GOARCH,
			"os":           "linux",
			"created":      "2026-01-01T00:00:00Z",
			"config": map[string]any{
				"User":       img.user,
				"Cmd":        img.cmd,
				"Env":        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
				"WorkingDir": img.workdir,
			},
			"rootfs": map[string]any{"type": "layers", "diff_ids": []string{baseDigest, topDigest}},
		})
		cfgDigest := digestOf(cfg)
		r.blobs[cfgDigest] = cfg
		desc := func(mt, d string, n int) map[string]any {
			return map[string]any{"mediaType": mt, "digest": d, "size": n}
		}
		man, _ := json.Marshal(map[string]any{
			"schemaVersion": 2,
			"mediaType":     ociManifestType,
			"config":        desc("application/vnd.oci.image.config.v1+json", cfgDigest, len(cfg)),
			"layers": []any{
				desc("application/vnd.oci.image.layer.v1.tar", baseDigest, len(base)),
				desc("application/vnd.oci.image.layer.v1.tar", topDigest, len(top)),
			},
		})
		manDigest := digestOf(man)
		r.blobs[manDigest] = man
		for _, n := range img.names {
			// Mirrors are asked without the registry's host: the
			// repositories of all the mirrored registries share one space.
			_, repoTag, _ := strings.Cut(n, "/")
			if d, dup := r.manifests[repoTag]; dup && d != manDigest {
				return nil, fmt.Errorf("image %s: %s is served twice", n, repoTag)
			}
			r.manifests[repoTag] = manDigest
		}
	}
	return r, nil
}

// filesLayer is a tar of files (mode 0644) and executables (0755, or
// 04755 for those in setuid), owned by root, with the directories they
// need.
func filesLayer(files map[string]string, execs map[string][]byte, setuid map[string]bool) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	dirs := map[string]bool{}
	add := func(name string, data []byte, mode int64) error {
		for d := filepath.Dir(name); d != "." && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Name: d + "/", Mode: 0o755, Typeflag: tar.TypeDir, ModTime: epoch}); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: epoch}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, name := range sortedKeys(files) {
		if err := add(name, []byte(files[name]), 0o644); err != nil {
			return nil, err
		}
	}
	for _, name := range sortedKeys(execs) {
		mode := int64(0o755)
		if setuid[name] {
			mode |= 0o4000
		}
		if err := add(name, execs[name], mode); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ServeHTTP answers the pull side of the distribution API: /v2/, manifests
// by tag or digest, blobs by digest (GET and HEAD).
func (r *criRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		http.Error(w, `{"errors":[{"code":"UNSUPPORTED"}]}`, http.StatusMethodNotAllowed)
		return
	}
	p := strings.TrimPrefix(req.URL.Path, "/v2/")
	if p == "" || p == req.URL.Path {
		w.WriteHeader(http.StatusOK)
		return
	}
	var body []byte
	var digest, mediaType string
	if i := strings.LastIndex(p, "/manifests/"); i >= 0 {
		repo, ref := p[:i], p[i+len("/manifests/"):]
		digest = ref
		if !strings.HasPrefix(ref, "sha256:") {
			digest = r.manifests[repo+":"+ref]
		}
		body, mediaType = r.blobs[digest], ociManifestType
	} else if i := strings.LastIndex(p, "/blobs/"); i >= 0 {
		digest = p[i+len("/blobs/"):]
		body, mediaType = r.blobs[digest], "application/octet-stream"
	}
	if body == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"not served by the test's registry"}]}`)
		return
	}
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Docker-Content-Digest", digest)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	if req.Method == http.MethodGet {
		w.Write(body)
	}
}

// listenInNetns opens a TCP listener on addr inside the network namespace
// of pid: the socket is made by a thread that entered it, a thread the Go
// runtime then ends (it stays locked to the goroutine that exits).
func listenInNetns(pid int, addr string) (net.Listener, error) {
	type res struct {
		l   net.Listener
		err error
	}
	ch := make(chan res, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with this goroutine
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/net", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- res{err: err}
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			ch <- res{err: fmt.Errorf("setns: %w", err)}
			return
		}
		l, err := net.Listen("tcp", addr)
		ch <- res{l, err}
	}()
	r := <-ch
	return r.l, r.err
}
