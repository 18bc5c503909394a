package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// --version prints what dockerd and podman parse: "<name> version X" and a
// "spec:" line (and a "commit:" line when built from git).
func TestVersionOutput(t *testing.T) {
	r := invoke(invokeOpts{}, "--version")
	if r.Code != 0 {
		t.Fatal(r)
	}
	l := lines(r.Stdout)
	if len(l) < 3 || !regexp.MustCompile(`^\S+ version \S+`).MatchString(l[0]) {
		t.Errorf("first line %q", l)
	}
	if !regexp.MustCompile(`(?m)^spec: 1\.\d+\.\d+`).MatchString(r.Stdout) {
		t.Errorf("no spec line in %q", r.Stdout)
	}
	// runc's lines, in runc's order.
	if isHusk() && !regexp.MustCompile(`^husk version \S+\ncommit: \S+\nspec: \S+\ngo: \S+\nlibseccomp: \d+\.\d+\.\d+\n$`).MatchString(r.Stdout) {
		t.Errorf("--version printed %q", r.Stdout)
	}
}

// With --log FILE --log-format json a failure is a JSON line in the file
// (what containerd's shim reads) and the plain message on stderr.
func TestLogFileJSON(t *testing.T) {
	e := newEnv(t)
	logFile := filepath.Join(e.dir, "log.json")
	r := e.run("--log", logFile, "--log-format", "json", "state", "nope")
	if r.Code != 1 {
		t.Fatalf("state of a missing container: %s", r)
	}
	if strings.TrimSpace(r.Stderr) != "container does not exist" {
		t.Errorf("stderr %q, want the bare message", r.Stderr)
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("log line %q: %v", b, err)
	}
	if m["level"] != "error" || m["msg"] != "container does not exist" || m["time"] == "" {
		t.Errorf("log line %v", m)
	}
}

// Without --log, the error is one logrus text line on stderr, printed once.
func TestErrorOnStderrOnce(t *testing.T) {
	e := newEnv(t)
	r := e.failsWith("container does not exist", "state", "nope")
	l := lines(r.Stderr)
	if len(l) != 1 || !regexp.MustCompile(`^time="[^"]+" level=error msg="container does not exist"`).MatchString(l[0]) {
		t.Errorf("stderr %q", r.Stderr)
	}
	r = e.failsWith("container does not exist", "--log-format", "json", "state", "nope")
	var m map[string]string
	if err := json.Unmarshal([]byte(r.Stderr), &m); err != nil || m["msg"] != "container does not exist" {
		t.Errorf("json on stderr %q: %v", r.Stderr, err)
	}
}

// A log format other than text or json is refused.
func TestBadLogFormat(t *testing.T) {
	e := newEnv(t)
	// husk says which formats there are; runc only that it is invalid.
	e.failsWith(huskOrRunc(`--log-format: unknown log format "xml": use text or json`, "invalid log-format: xml"), "--log-format", "xml", "list")
}

// --systemd-cgroup wants cgroupsPath as slice:prefix:name.
func TestSystemdCgroupPathForm(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) { s.Linux.CgroupsPath = "/not/a/slice" }))
	e.track("sd0")
	r := e.failsWith("slice:prefix:name", "--systemd-cgroup", "run", "--bundle", b.Dir, "sd0")
	if !strings.Contains(r.Stderr, "/not/a/slice") {
		t.Errorf("bad systemd cgroupsPath: %q", r.Stderr)
	}
	e.assertNoTrace(b, "sd0")
}

// --systemd-cgroup where it cannot work (no systemd, or a cgroup v1
// host) fails with an error naming the flag and the reason, and leaves
// nothing behind.
func TestSystemdCgroupRefusedWithoutSystemdV2(t *testing.T) {
	var st unix.Statfs_t
	fi, err := os.Stat("/run/systemd/system")
	systemd := err == nil && fi.IsDir()
	if systemd && unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		t.Skip("this host runs systemd on cgroup v2: the driver works here")
	}
	if systemd && isRunc() {
		t.Skip("runc 1.5.3 drives systemd on cgroup v1 too")
	}
	e := newEnv(t)
	b := e.newBundle(withArgs("true"), withSpec(func(s *specs.Spec) { s.Linux.CgroupsPath = "system.slice:husk-itest:u0" }))
	e.track("u0")
	// runc: "systemd not running on this host, cannot use systemd cgroups
	// manager"; husk names the flag too, and cgroup v1 under systemd.
	want := "not running on this host"
	if systemd {
		want = "cgroup v1"
	}
	r := e.failsWith(want, "--systemd-cgroup", "run", "--bundle", b.Dir, "u0")
	if isHusk() && !strings.Contains(r.Stderr, "--systemd-cgroup") {
		t.Errorf("the error does not name --systemd-cgroup: %q", r.Stderr)
	}
	e.assertNoTrace(b, "u0")
}

// Unknown config fields are ignored, as the spec requires, and with
// --debug they are logged.
func TestUnknownFieldIgnoredAndLoggedAtDebug(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	cfg := filepath.Join(b.Dir, "config.json")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), "{", `{"bogusField": 1,`, 1))
	if err := os.WriteFile(cfg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	e.track("unknown")
	r := e.run("--debug", "run", "--bundle", b.Dir, "unknown")
	if r.Code != 0 {
		t.Fatalf("a config with an unknown field must run: %s", r)
	}
	if isRunc() {
		t.Skip("runc 1.5.3 does not log unknown config fields")
	}
	if !strings.Contains(r.Stderr, "level=debug") || !strings.Contains(r.Stderr, "bogusField") {
		t.Errorf("no debug line about the unknown field: %q", r.Stderr)
	}
}

// Options may follow the container id, as runc's command line takes them
// (urfave/cli v1 reorders them; v2 alone would stop at the id): update,
// kill, delete, run. What follows exec's command is the command's, and
// what follows `--` is never an option.
func TestOptionsAfterContainerID(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withOut(), withShell(trapScript))
	e.track("ord")
	e.ok("run", "ord", "--detach", "--bundle", b.Dir)
	waitFile(t, b.outFile("ready"))
	pid := e.state("ord").PID

	e.ok("update", "ord", "--pids-limit", "42")
	if got := cgRead(t, pid, "pids", "pids.max"); got != "42" {
		t.Errorf("update ord --pids-limit 42: pids.max is %q", got)
	}
	// exec ID CMD ARGS: -c and -e are sh's, not exec's.
	r := e.ok("exec", "ord", "sh", "-c", `echo "$@"`, "sh", "-c", "-e", "X=1", "--", "-t")
	if got := strings.TrimSpace(r.Stdout); got != "-c -e X=1 -- -t" {
		t.Errorf("exec's command got %q, want its own arguments untouched", got)
	}
	// kill ID -a: the default signal, TERM, to the init.
	e.ok("kill", "ord", "-a")
	if got := waitLines(t, b.outFile("sigs"), 1); got[0] != "TERM" {
		t.Errorf("kill ord -a delivered %q", got)
	}
	e.waitStatus("ord", "stopped")
	e.ok("delete", "ord", "-f")
	e.assertGone("ord")
}

// husk goes a little further than runc 1.5.3, whose urfave/cli v1 does not
// reorder exec's options and takes the next argument as the value of any
// option: options between exec's id and its command, `--` before the
// command, and a signal after kill's -a.
func TestOptionsAfterContainerIDBeyondRunc(t *testing.T) {
	if isRunc() {
		t.Skip("runc 1.5.3 runs `-e` as exec's command (SkipArgReorder), runs `--` as the command, and takes KILL as the value of kill's -a")
	}
	e := newEnv(t)
	runningContainer(e, "beyond")
	r := e.ok("exec", "beyond", "-e", "FOO=1", "--cwd", "/tmp", "sh", "-c", `echo $FOO $(pwd) "$@"`, "sh", "-e")
	if got := strings.TrimSpace(r.Stdout); got != "1 /tmp -e" {
		t.Errorf("exec ID -e FOO=1 --cwd /tmp sh ...: %q", got)
	}
	r = e.ok("exec", "beyond", "--", "sh", "-c", "echo after-dashes")
	if got := strings.TrimSpace(r.Stdout); got != "after-dashes" {
		t.Errorf("exec ID -- sh: %q", got)
	}
	pid := e.state("beyond").PID
	e.ok("kill", "beyond", "-a", "KILL")
	waitProcGone(t, pid)
	e.waitStatus("beyond", "stopped")
}

// Global options after the command are taken as global ones. runc 1.5.3
// refuses them ("flag provided but not defined: -root"): the issue asks
// husk for it.
func TestGlobalOptionsAfterCommand(t *testing.T) {
	if isRunc() {
		t.Skip("runc 1.5.3 refuses `list --root X`: flag provided but not defined: -root")
	}
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	e.create(b, "glob")
	r := invoke(invokeOpts{}, "list", "--root", e.root, "-q")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "glob" {
		t.Errorf("list --root ROOT -q: %s", r)
	}
	r = invoke(invokeOpts{}, "state", "glob", "--root="+e.root, "--log-format", "json")
	if r.Code != 0 || !strings.Contains(r.Stdout, `"id": "glob"`) {
		t.Errorf("state ID --root=ROOT: %s", r)
	}
	// A missing --root is an error, given before or after the command.
	missing := filepath.Join(e.dir, "nosuch")
	r = invoke(invokeOpts{}, "list", "--root", missing, "--log-format", "json")
	var m map[string]string
	if r.Code != 1 || json.Unmarshal([]byte(r.Stderr), &m) != nil || m["msg"] != "open "+missing+": no such file or directory" {
		t.Errorf("list --root MISSING --log-format json: %s", r)
	}
}

// `husk completion bash` prints a script that registers husk's completion
// in bash, completes commands and a command's options, and offers the
// containers of the --root given on the command line (`list -q`).
func TestCompletionBash(t *testing.T) {
	if isRunc() {
		t.Skip("runc 1.5.3 has no completion command (husk's addition)")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skipf("bash is not installed: %v", err)
	}
	e := newEnv(t)
	e.create(e.newBundle(withArgs("true")), "compl-one")
	complete := func(words ...string) string {
		t.Helper()
		var q []string
		for _, w := range append([]string{runtimeBin}, words...) {
			q = append(q, strconv.Quote(w))
		}
		prog := fmt.Sprintf(`source <(%q completion bash) || exit 1
complete -p husk || exit 1
COMP_WORDS=(%s); COMP_CWORD=%d
_husk
echo "${COMPREPLY[*]}"`, runtimeBin, strings.Join(q, " "), len(words))
		out, err := exec.Command(bash, "--norc", "--noprofile", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		l := lines(string(out))
		if len(l) == 0 || l[0] != "complete -F _husk husk" {
			t.Fatalf("complete -p husk printed %q", out)
		}
		return strings.Join(l[1:], "")
	}
	if got := complete("ru"); got != "run" {
		t.Errorf("husk ru<TAB>: %q, want run", got)
	}
	got := " " + complete("run", "--") + " "
	for _, f := range []string{"--bundle", "--console-socket", "--pidfd-socket", "--pid-file", "--no-pivot",
		"--no-new-keyring", "--preserve-fds", "--detach", "--keep", "--no-subreaper"} {
		if !strings.Contains(got, " "+f+" ") {
			t.Errorf("husk run --<TAB> does not offer %s: %q", f, got)
		}
	}
	if got := complete("--root", e.root, "state", "compl-"); got != "compl-one" {
		t.Errorf("husk --root ROOT state compl-<TAB>: %q, want compl-one", got)
	}
}
