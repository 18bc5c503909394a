package integration

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// output runs a shell script in a foreground container built from the
// default config (modified by opts) and returns its stdout; the run must
// succeed.
func (e *env) output(script string, opts ...bundleOpt) string {
	e.t.Helper()
	b := e.newBundle(append([]bundleOpt{withShell(script)}, opts...)...)
	id := fmt.Sprintf("ctr%d", len(e.cgroups))
	r := e.runFG(b, id)
	if r.Code != 0 {
		e.t.Fatalf("workload failed: %s", r)
	}
	return r.Stdout
}

// mountEntry is one line of the container's /proc/mounts.
type mountEntry struct {
	source, target, fstype string
	options                []string
}

func parseMounts(s string) map[string]mountEntry {
	out := map[string]mountEntry{}
	for _, l := range lines(s) {
		f := strings.Fields(l)
		if len(f) < 4 {
			continue
		}
		// Later mounts on the same point hide earlier ones.
		out[unescapeMount(f[1])] = mountEntry{f[0], unescapeMount(f[1]), f[2], strings.Split(f[3], ",")}
	}
	return out
}

func hasOption(m mountEntry, opt string) bool {
	for _, o := range m.options {
		if o == opt {
			return true
		}
	}
	return false
}

// statusFields parses /proc/self/status into key → value.
func statusFields(s string) map[string]string {
	out := map[string]string{}
	for _, l := range lines(s) {
		k, v, ok := strings.Cut(l, ":")
		if ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

func TestContainerHostnameFromConfig(t *testing.T) {
	e := newEnv(t)
	out := e.output("hostname", withSpec(func(s *specs.Spec) { s.Hostname = "itest-host" }))
	if out != "itest-host\n" {
		t.Errorf("hostname = %q, want itest-host", out)
	}
	if out := e.output("hostname"); out != defaultSpec().Hostname+"\n" {
		t.Errorf("hostname with the default config = %q, want %q", out, defaultSpec().Hostname)
	}
}

func TestContainerWorkloadIsPID1(t *testing.T) {
	e := newEnv(t)
	if out := e.output("echo $$"); out != "1\n" {
		t.Errorf("workload pid in its pid namespace = %q, want 1", out)
	}
}

func TestContainerProcIsMounted(t *testing.T) {
	e := newEnv(t)
	out := e.output("cat /proc/mounts; echo ---; cat /proc/self/stat")
	mounts, stat, _ := strings.Cut(out, "---\n")
	m, ok := parseMounts(mounts)["/proc"]
	if !ok || m.fstype != "proc" {
		t.Errorf("/proc is not a proc mount: %+v\n%s", m, mounts)
	}
	if len(strings.Fields(stat)) < 10 {
		t.Errorf("/proc/self/stat unreadable: %q", stat)
	}
}

func TestContainerConfigMountsPresent(t *testing.T) {
	e := newEnv(t)
	mounts := parseMounts(e.output("cat /proc/mounts"))
	for target, fstype := range map[string]string{
		"/proc": "proc", "/dev": "tmpfs", "/dev/pts": "devpts", "/dev/shm": "tmpfs",
		"/dev/mqueue": "mqueue", "/sys": "sysfs",
	} {
		m, ok := mounts[target]
		if !ok {
			t.Errorf("no mount at %s", target)
			continue
		}
		if m.fstype != fstype {
			t.Errorf("%s is %s, want %s", target, m.fstype, fstype)
		}
	}
	if m := mounts["/sys"]; !hasOption(m, "ro") {
		t.Errorf("/sys is not read-only: %v", m.options)
	}
	for _, target := range []string{"/dev/pts", "/dev/shm", "/dev/mqueue"} {
		if m := mounts[target]; !hasOption(m, "nosuid") || !hasOption(m, "noexec") {
			t.Errorf("%s lacks nosuid,noexec: %v", target, m.options)
		}
	}
	// A cgroup mount of some kind (tmpfs with v1 hierarchies, or cgroup2)
	// is at /sys/fs/cgroup.
	found := false
	for target := range mounts {
		if underDir(target, "/sys/fs/cgroup") {
			found = true
		}
	}
	if !found {
		t.Errorf("nothing mounted at /sys/fs/cgroup")
	}
}

func TestContainerRootIsReadOnly(t *testing.T) {
	e := newEnv(t)
	out := e.output("if touch /probe 2>/dev/null; then echo writable; else echo readonly; fi; cat /proc/mounts")
	first, mounts, _ := strings.Cut(out, "\n")
	if first != "readonly" {
		t.Errorf("/ is writable although root.readonly is true")
	}
	if m := parseMounts(mounts)["/"]; !hasOption(m, "ro") {
		t.Errorf("/ is not mounted ro: %+v", m)
	}
	if exists(rootfsDir + "/probe") {
		os.Remove(rootfsDir + "/probe")
		t.Errorf("the workload wrote into the shared rootfs")
	}
}

func TestContainerRootWritableWhenNotReadOnly(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withPrivateRootfs(),
		withShell("echo hello > /probe"),
		withSpec(func(s *specs.Spec) { s.Root.Readonly = false }))
	if r := e.runFG(b, "ctr"); r.Code != 0 {
		t.Fatalf("writing to / with root.readonly false failed: %s", r)
	}
	if data, err := os.ReadFile(b.Rootfs + "/probe"); err != nil || string(data) != "hello\n" {
		t.Errorf("file written in the container: %q, %v", data, err)
	}
}

func TestContainerDevNodes(t *testing.T) {
	e := newEnv(t)
	out := e.output(`stat -c '%n %F %t:%T' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty`)
	want := []string{
		"/dev/null character special file 1:3",
		"/dev/zero character special file 1:5",
		"/dev/full character special file 1:7",
		"/dev/random character special file 1:8",
		"/dev/urandom character special file 1:9",
		"/dev/tty character special file 5:0",
	}
	if got := lines(out); !reflect.DeepEqual(got, want) {
		t.Errorf("device nodes:\n%s", lineDiff(strings.Join(want, "\n"), strings.Join(got, "\n")))
	}
}

func TestContainerDevSymlinks(t *testing.T) {
	e := newEnv(t)
	links := []string{"/dev/ptmx", "/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr"}
	script := ""
	for _, l := range links {
		script += fmt.Sprintf(`echo "%s -> $(readlink %s)"; `, l, l)
	}
	want := []string{
		"/dev/ptmx -> pts/ptmx",
		"/dev/fd -> /proc/self/fd",
		"/dev/stdin -> /proc/self/fd/0",
		"/dev/stdout -> /proc/self/fd/1",
		"/dev/stderr -> /proc/self/fd/2",
	}
	if got := lines(e.output(script)); !reflect.DeepEqual(got, want) {
		t.Errorf("/dev symlinks:\n%s", lineDiff(strings.Join(want, "\n"), strings.Join(got, "\n")))
	}
}

// The default devices (allowed despite the deny-all rule) work.
func TestContainerDevicesUsable(t *testing.T) {
	e := newEnv(t)
	out := e.output(`echo x > /dev/null && echo null-ok; ` +
		`head -c 8 /dev/zero | wc -c; head -c 8 /dev/urandom | wc -c; head -c 8 /dev/random | wc -c`)
	want := []string{"null-ok", "8", "8", "8"}
	if got := lines(out); !reflect.DeepEqual(got, want) {
		t.Errorf("device use = %q, want %q", got, want)
	}
}

// Masked paths that exist on this kernel are empty in the container.
func TestContainerMaskedPaths(t *testing.T) {
	e := newEnv(t)
	var files, dirs []string
	for _, p := range defaultSpec().Linux.MaskedPaths {
		st, err := os.Stat(p)
		switch {
		case err != nil:
		case st.IsDir():
			dirs = append(dirs, p)
		default:
			files = append(files, p)
		}
	}
	if len(files)+len(dirs) == 0 {
		t.Skip("none of the masked paths exists on this kernel")
	}
	script := ""
	for _, f := range files {
		script += fmt.Sprintf(`echo "%s $(cat %s 2>/dev/null | wc -c)"; `, f, f)
	}
	for _, d := range dirs {
		script += fmt.Sprintf(`echo "%s $(ls -A %s 2>/dev/null | wc -l)"; `, d, d)
	}
	for _, l := range lines(e.output(script)) {
		f := strings.Fields(l)
		if len(f) != 2 || f[1] != "0" {
			t.Errorf("masked path not empty in the container: %s", l)
		}
	}
	// Sanity: the host's view is not empty (the test checks something).
	for _, d := range dirs {
		if ents, _ := os.ReadDir(d); len(ents) > 0 {
			return
		}
	}
	for _, f := range files {
		if data, _ := os.ReadFile(f); len(data) > 0 {
			return
		}
	}
	t.Logf("note: every masked path that exists is empty on the host too")
}

// Read-only paths that exist are read-only mounts in the container.
func TestContainerReadonlyPaths(t *testing.T) {
	e := newEnv(t)
	mounts := parseMounts(e.output("cat /proc/mounts"))
	checked := 0
	for _, p := range defaultSpec().Linux.ReadonlyPaths {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		checked++
		m, ok := mounts[p]
		if !ok || !hasOption(m, "ro") {
			t.Errorf("%s is not a read-only mount in the container: %+v", p, m)
		}
	}
	if checked == 0 {
		t.Skip("none of the read-only paths exists on this kernel")
	}
}

// CAP_AUDIT_WRITE(29), CAP_KILL(5), CAP_NET_BIND_SERVICE(10).
const defaultCaps = "0000000020000420"

func TestContainerCapabilities(t *testing.T) {
	e := newEnv(t)
	st := statusFields(e.output("cat /proc/self/status"))
	for k, want := range map[string]string{
		"CapEff": defaultCaps, "CapPrm": defaultCaps, "CapBnd": defaultCaps,
		// No inheritable set in the config, so the ambient set cannot be
		// raised either.
		"CapInh": "0000000000000000", "CapAmb": "0000000000000000",
	} {
		if st[k] != want {
			t.Errorf("%s = %q, want %s", k, st[k], want)
		}
	}
}

func TestContainerNoNewPrivileges(t *testing.T) {
	e := newEnv(t)
	if st := statusFields(e.output("cat /proc/self/status")); st["NoNewPrivs"] != "1" {
		t.Errorf("NoNewPrivs = %q, want 1", st["NoNewPrivs"])
	}
	st := statusFields(e.output("cat /proc/self/status",
		withSpec(func(s *specs.Spec) { s.Process.NoNewPrivileges = false })))
	if st["NoNewPrivs"] != "0" {
		t.Errorf("NoNewPrivs with noNewPrivileges false = %q, want 0", st["NoNewPrivs"])
	}
}

func TestContainerRlimitNofile(t *testing.T) {
	e := newEnv(t)
	if got := lines(e.output("ulimit -n; ulimit -Hn")); !reflect.DeepEqual(got, []string{"1024", "1024"}) {
		t.Errorf("NOFILE soft/hard = %q, want 1024/1024", got)
	}
	got := lines(e.output("ulimit -n; ulimit -Hn", withSpec(func(s *specs.Spec) {
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 512, Hard: 2048}}
	})))
	if !reflect.DeepEqual(got, []string{"512", "2048"}) {
		t.Errorf("NOFILE soft/hard = %q, want 512/2048", got)
	}
}

func TestContainerEnvFromConfig(t *testing.T) {
	e := newEnv(t)
	out := e.output("env", withSpec(func(s *specs.Spec) {
		s.Process.Env = append(s.Process.Env, "FOO=bar", "WITH_SPACE=a b c", "EMPTY=")
	}))
	got := map[string]bool{}
	for _, l := range lines(out) {
		got[l] = true
	}
	for _, want := range []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"TERM=xterm", "FOO=bar", "WITH_SPACE=a b c", "EMPTY=",
		// HOME is not in the config: it comes from /etc/passwd.
		"HOME=/root",
	} {
		if !got[want] {
			t.Errorf("%q not in the workload's environment:\n%s", want, out)
		}
	}
}

func TestContainerHomeFromConfigWins(t *testing.T) {
	e := newEnv(t)
	out := e.output("echo $HOME", withSpec(func(s *specs.Spec) {
		s.Process.Env = append(s.Process.Env, "HOME=/custom")
	}))
	if out != "/custom\n" {
		t.Errorf("HOME = %q, want /custom", out)
	}
}

func TestContainerCwdFromConfig(t *testing.T) {
	e := newEnv(t)
	for _, cwd := range []string{"/", "/tmp", "/etc"} {
		out := e.output("pwd", withSpec(func(s *specs.Spec) { s.Process.Cwd = cwd }))
		if out != cwd+"\n" {
			t.Errorf("cwd = %q, want %s", out, cwd)
		}
	}
}

func TestContainerArgsPassedVerbatim(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("sh", "-c", `for a in "$@"; do echo "[$a]"; done`, "sh", "one", "two words", "", "$HOME"))
	r := e.runFG(b, "ctr")
	if r.Code != 0 {
		t.Fatalf("run: %s", r)
	}
	if want := "[one]\n[two words]\n[]\n[$HOME]\n"; r.Stdout != want {
		t.Errorf("args = %q, want %q", r.Stdout, want)
	}
}

func TestContainerUserAndAdditionalGids(t *testing.T) {
	e := newEnv(t)
	out := e.output("id -u; id -un; id -g; cat /proc/self/status; echo HOME=$HOME",
		withSpec(func(s *specs.Spec) {
			s.Process.User = specs.User{UID: testUID, GID: testGID, AdditionalGids: []uint32{2000, 3000}}
		}))
	ls := lines(out)
	if len(ls) < 3 || ls[0] != "1000" || ls[1] != "tester" || ls[2] != "1000" {
		t.Fatalf("id -u / -un / -g = %q, want 1000 tester 1000", ls[:min(3, len(ls))])
	}
	st := statusFields(out)
	if f := strings.Fields(st["Uid"]); !reflect.DeepEqual(f, []string{"1000", "1000", "1000", "1000"}) {
		t.Errorf("Uid = %v, want real/effective/saved/fs all 1000", f)
	}
	if f := strings.Fields(st["Gid"]); !reflect.DeepEqual(f, []string{"1000", "1000", "1000", "1000"}) {
		t.Errorf("Gid = %v, want all 1000", f)
	}
	groups := strings.Fields(st["Groups"])
	sort.Strings(groups)
	if !reflect.DeepEqual(groups, []string{"2000", "3000"}) {
		t.Errorf("supplementary groups = %v, want exactly [2000 3000]", groups)
	}
	// The bounding set is the configured one; as the config has no
	// inheritable (so no ambient) capabilities, exec as a non-root user
	// leaves the permitted and effective sets empty (as with runc).
	if st["CapBnd"] != defaultCaps {
		t.Errorf("CapBnd as uid 1000 = %q, want %s", st["CapBnd"], defaultCaps)
	}
	for _, k := range []string{"CapEff", "CapPrm", "CapAmb"} {
		if st[k] != "0000000000000000" {
			t.Errorf("%s as uid 1000 = %q, want 0", k, st[k])
		}
	}
	if home := ls[len(ls)-1]; home != "HOME=/home/tester" {
		t.Errorf("%s for uid 1000, want HOME=/home/tester (from /etc/passwd)", home)
	}
}

func TestContainerOnlyLoopbackNetwork(t *testing.T) {
	e := newEnv(t)
	if got := strings.Fields(e.output("ls /sys/class/net")); !reflect.DeepEqual(got, []string{"lo"}) {
		t.Errorf("network interfaces = %q, want only lo", got)
	}
}

// The container's init is in new pid/net/ipc/uts/mnt namespaces and shares
// the others (user, cgroup) with the host.
func TestContainerNamespacesFromConfig(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	e.create(b, "ctr")
	pid := e.state("ctr").PID
	for ns, wantNew := range map[string]bool{
		"pid": true, "net": true, "ipc": true, "uts": true, "mnt": true, "user": false,
	} {
		mine, err1 := os.Readlink("/proc/self/ns/" + ns)
		theirs, err2 := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
		if err1 != nil || err2 != nil {
			t.Errorf("reading %s namespace: %v %v", ns, err1, err2)
			continue
		}
		if (mine != theirs) != wantNew {
			t.Errorf("%s namespace: container %s, host %s; want new=%v", ns, theirs, mine, wantNew)
		}
	}
}
