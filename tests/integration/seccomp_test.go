package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

func withSeccomp(sc *specs.LinuxSeccomp) bundleOpt {
	return withSpec(func(s *specs.Spec) { s.Linux.Seccomp = sc })
}

func errnoPtr(e unix.Errno) *uint { v := uint(e); return &v }

// SCMP_ACT_ERRNO with the default EPERM and with errnoRet.
func TestSeccompErrno(t *testing.T) {
	e := newEnv(t)
	out := e.output("mkdir /tmp/a 2>&1; rmdir /tmp 2>&1; echo done", withSeccomp(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno},
			{Names: []string{"rmdir", "unlinkat"}, Action: specs.ActErrno, ErrnoRet: errnoPtr(unix.ENOTTY)},
		},
	}))
	if !strings.Contains(out, "Operation not permitted") || !strings.Contains(out, "Inappropriate ioctl") {
		t.Errorf("output %q: want EPERM from mkdir and ENOTTY from rmdir", out)
	}
}

// The same profile again (husk then loads the program it compiled the
// first time), and a profile that differs only in an errnoRet: each
// container gets its own profile's filter, and `list` shows containers
// only.
func TestSeccompSameProfileAgain(t *testing.T) {
	e := newEnv(t)
	profile := func(errno unix.Errno) bundleOpt {
		return withSeccomp(&specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: errnoPtr(errno)}},
		})
	}
	for i, c := range []struct {
		errno unix.Errno
		want  string
	}{
		{unix.ENOTTY, "Inappropriate ioctl"},
		{unix.ENOTTY, "Inappropriate ioctl"},
		{unix.EROFS, "Read-only file system"},
		{unix.ENOTTY, "Inappropriate ioctl"},
	} {
		if out := e.output("mkdir /tmp/a 2>&1; echo done", profile(c.errno)); !strings.Contains(out, c.want) {
			t.Errorf("run %d: output %q, want %q from mkdir", i, out, c.want)
		}
	}
	if out := e.ok("list", "-q").Stdout; strings.TrimSpace(out) != "" {
		t.Errorf("list -q with no container: %q", out)
	}
}

// A rule whose action is the default action is accepted (and has no
// effect), as runc and crun do; libseccomp itself refuses such a rule.
func TestSeccompRuleSameAsDefault(t *testing.T) {
	e := newEnv(t)
	out := e.output("mkdir /tmp/a 2>&1; echo done", withSeccomp(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"personality"}, Action: specs.ActAllow},
			{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno},
		},
	}))
	if !strings.Contains(out, "Operation not permitted") {
		t.Errorf("output %q: want EPERM from mkdir", out)
	}
}

// A profile that refuses getcwd does not trip the runtime's own cwd check
// (done before the filter is loaded), with or without no_new_privs.
func TestSeccompBlocksGetcwd(t *testing.T) {
	for _, nnp := range []bool{true, false} {
		t.Run(fmt.Sprintf("noNewPrivileges=%v", nnp), func(t *testing.T) {
			if !nnp && isRunc() {
				t.Skip("runc 1.5.3 loads a filter without no_new_privs before its cwd check (getcwd), which then fails")
			}
			e := newEnv(t)
			out := e.output("echo ran", withSeccomp(&specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow,
				Syscalls:      []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: specs.ActErrno}},
			}), withSpec(func(s *specs.Spec) { s.Process.NoNewPrivileges = nnp }))
			if strings.TrimSpace(out) != "ran" {
				t.Errorf("output %q", out)
			}
		})
	}
}

// SCMP_ACT_KILL_PROCESS: the workload dies of SIGSYS.
func TestSeccompKill(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("mkdir", "/tmp/x"), withSeccomp(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActKillProcess}},
	}))
	r := e.runFG(b, "sckill")
	if r.Code != 128+int(unix.SIGSYS) {
		t.Errorf("run: %s, want exit %d (SIGSYS)", r, 128+int(unix.SIGSYS))
	}
}

// Argument conditions: EQ, MASKED_EQ and several conditions on one
// argument (each its own rule).
func TestSeccompArgs(t *testing.T) {
	e := newEnv(t)
	deny := func(op specs.LinuxSeccompOperator, v, v2 uint64) []specs.LinuxSyscall {
		return []specs.LinuxSyscall{
			{Names: []string{"chmod"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 1, Value: v, ValueTwo: v2, Op: op}}},
			{Names: []string{"fchmodat"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 2, Value: v, ValueTwo: v2, Op: op}}},
		}
	}
	tmp := withSpec(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"})
	})
	script := "touch /tmp/f; chmod 777 /tmp/f && echo 777-ok; chmod 755 /tmp/f && echo 755-ok; chmod 700 /tmp/f && echo 700-ok; true"
	out := e.output(script, withSeccomp(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: deny(specs.OpEqualTo, 0o777, 0)}), tmp)
	if strings.Contains(out, "777-ok") || !strings.Contains(out, "755-ok") || !strings.Contains(out, "700-ok") {
		t.Errorf("EQ 0777: %q", out)
	}
	// Mask 0007 == 0005: "others may read and execute".
	out = e.output(script, withSeccomp(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: deny(specs.OpMaskedEqual, 0o7, 0o5)}), tmp)
	if !strings.Contains(out, "777-ok") || strings.Contains(out, "755-ok") || !strings.Contains(out, "700-ok") {
		t.Errorf("MASKED_EQ 07==05: %q", out)
	}
	twoOn := func(name string, idx uint) specs.LinuxSyscall {
		return specs.LinuxSyscall{Names: []string{name}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
			{Index: idx, Value: 0o777, Op: specs.OpEqualTo}, {Index: idx, Value: 0o700, Op: specs.OpEqualTo},
		}}
	}
	two := []specs.LinuxSyscall{twoOn("chmod", 1), twoOn("fchmodat", 2)}
	out = e.output(script, withSeccomp(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: two}), tmp)
	if strings.Contains(out, "777-ok") || !strings.Contains(out, "755-ok") || strings.Contains(out, "700-ok") {
		t.Errorf("two conditions on one argument: %q", out)
	}
}

// The ordering operators, each against 0755: which of chmod 777, 755 and
// 700 it denies.
func TestSeccompOperators(t *testing.T) {
	e := newEnv(t)
	tmp := withSpec(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"})
	})
	script := "touch /tmp/f; for m in 777 755 700; do chmod $m /tmp/f && echo $m; done; true"
	for _, c := range []struct {
		op      specs.LinuxSeccompOperator
		allowed string
	}{
		{specs.OpNotEqual, "755"},
		{specs.OpLessThan, "777 755"},
		{specs.OpLessEqual, "777"},
		{specs.OpGreaterThan, "755 700"},
		{specs.OpGreaterEqual, "700"},
	} {
		rules := []specs.LinuxSyscall{
			{Names: []string{"chmod"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 1, Value: 0o755, Op: c.op}}},
			{Names: []string{"fchmodat"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 2, Value: 0o755, Op: c.op}}},
		}
		out := e.output(script, withSeccomp(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: rules}), tmp)
		if got := strings.Join(strings.Fields(out), " "); got != c.allowed {
			t.Errorf("%s 0755: chmod allowed for %q, want %q", c.op, got, c.allowed)
		}
	}
}

// Every action on mkdir, as the workload sees it: KILL (the thread) and
// TRAP end it with SIGSYS, TRACE without a tracer fails the call with
// ENOSYS, LOG and ALLOW let it through.
func TestSeccompActions(t *testing.T) {
	e := newEnv(t)
	sigsys := 128 + int(unix.SIGSYS)
	for i, c := range []struct {
		action specs.LinuxSeccompAction
		code   int
	}{
		{specs.ActKill, sigsys},
		{specs.ActKillThread, sigsys},
		{specs.ActTrap, sigsys},
		{specs.ActTrace, 1},
		{specs.ActLog, 0},
		{specs.ActAllow, 0},
	} {
		b := e.newBundle(withArgs("mkdir", "/tmp/x"), withSeccomp(&specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: c.action}},
		}), withSpec(func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"})
		}))
		r := e.runFG(b, fmt.Sprintf("scact%d", i))
		if r.Code != c.code {
			t.Errorf("%s: %s, want exit %d", c.action, r, c.code)
		}
		if c.action == specs.ActTrace && !strings.Contains(r.Stderr, "not implemented") {
			t.Errorf("%s: stderr %q, want ENOSYS", c.action, r.Stderr)
		}
	}
}

// With no_new_privs the filter is loaded last: a profile denying getcwd
// (which the runtime itself uses to check the cwd) still starts.
func TestSeccompLoadedLast(t *testing.T) {
	e := newEnv(t)
	out := e.output("echo started", withSeccomp(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: specs.ActErrno}},
	}))
	if strings.TrimSpace(out) != "started" {
		t.Errorf("output %q", out)
	}
}

// Without no_new_privs the filter is loaded while the runtime can still
// (CAP_SYS_ADMIN), and works for a non-root workload.
func TestSeccompWithoutNoNewPrivs(t *testing.T) {
	e := newEnv(t)
	out := e.output("mkdir /tmp/x 2>&1; id -u", withSpec(func(s *specs.Spec) {
		s.Process.NoNewPrivileges = false
		s.Process.User = specs.User{UID: 1000, GID: 1000}
	}), withSeccomp(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno}},
	}))
	if !strings.Contains(out, "Operation not permitted") || !strings.Contains(out, "1000") {
		t.Errorf("output %q", out)
	}
}

// exec'd processes get the container's filter.
func TestSeccompAppliesToExec(t *testing.T) {
	e := newEnv(t)
	runningContainer(e, "scexec", withSeccomp(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno}},
	}))
	r := e.run("exec", "scexec", "mkdir", "/tmp/y")
	if r.Code == 0 || !strings.Contains(r.Stderr, "Operation not permitted") {
		t.Errorf("exec mkdir: %s", r)
	}
}

// Under a restrictive default action, syscalls newer than the newest the
// profile names return ENOSYS rather than the default action (a libc falls
// back on ENOSYS only), as with runc: also those libseccomp knows. Older
// ones the profile leaves out get the default action.
func TestSeccompUnknownSyscallsENOSYS(t *testing.T) {
	e := newEnv(t)
	nr := func(name string) int {
		n, err := libseccomp.GetSyscallFromName(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return int(n)
	}
	arch, err := libseccomp.GetNativeArch()
	if err != nil {
		t.Fatal(err)
	}
	// Allow everything up to clone3 but getppid; nothing newer.
	var allow []string
	for n := 0; n <= nr("clone3"); n++ {
		if name, err := libseccomp.ScmpSyscall(n).GetNameByArch(arch); err == nil && name != "getppid" {
			allow = append(allow, name)
		}
	}
	// 1000 is newer than any syscall; faccessat2 newer than clone3 but
	// known to libseccomp 2.5.
	probe := []string{"1000", strconv.Itoa(nr("faccessat2")), strconv.Itoa(nr("getppid")), strconv.Itoa(nr("getpid"))}
	b := e.newBundle(withPrivateRootfs(), withHelper(t, "sysprobe"), withArgs(append([]string{"/sysprobe"}, probe...)...),
		withSeccomp(&specs.LinuxSeccomp{
			DefaultAction: specs.ActErrno,
			Syscalls:      []specs.LinuxSyscall{{Names: allow, Action: specs.ActAllow}},
		}))
	r := e.runFG(b, "enosys")
	if got := strings.Join(lines(r.Stdout), " "); r.Code != 0 || got != "ENOSYS ENOSYS EPERM ok" {
		t.Errorf("probe %v: %s, want ENOSYS ENOSYS EPERM ok", probe, r)
	}
}

// SCMP_ACT_NOTIFY: the listener gets the container process state and the
// notify fd, and its answers are what the workload sees.
func TestSeccompNotify(t *testing.T) {
	e := newEnv(t)
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type received struct {
		state specs.ContainerProcessState
		fd    int
		err   error
	}
	got := make(chan received, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- received{err: err}
			return
		}
		defer c.Close()
		buf := make([]byte, 8192)
		oob := make([]byte, unix.CmsgSpace(4))
		n, oobn, _, _, err := c.(*net.UnixConn).ReadMsgUnix(buf, oob)
		if err != nil {
			got <- received{err: err}
			return
		}
		var r received
		r.err = json.Unmarshal(buf[:n], &r.state)
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		r.fd = -1
		if len(msgs) == 1 {
			if fds, err := unix.ParseUnixRights(&msgs[0]); err == nil && len(fds) == 1 {
				r.fd = fds[0]
			}
		}
		got <- r
		if r.fd < 0 {
			return
		}
		// Answer every notification: mkdir fails with ENOTTY.
		for {
			req, err := libseccomp.NotifReceive(libseccomp.ScmpFd(r.fd))
			if err != nil {
				return
			}
			libseccomp.NotifRespond(libseccomp.ScmpFd(r.fd), &libseccomp.ScmpNotifResp{ID: req.ID, Error: int32(unix.ENOTTY)})
		}
	}()
	b := e.newBundle(withShell("mkdir /tmp/z 2>&1; echo after"), withSeccomp(&specs.LinuxSeccomp{
		DefaultAction:    specs.ActAllow,
		ListenerPath:     sock,
		ListenerMetadata: "meta-data",
		Syscalls:         []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActNotify}},
	}))
	r := e.runFG(b, "notify")
	rec := <-got
	if rec.err != nil || rec.fd < 0 {
		t.Fatalf("agent: %v, fd %d", rec.err, rec.fd)
	}
	defer unix.Close(rec.fd)
	if rec.state.Metadata != "meta-data" || rec.state.State.ID != "notify" || len(rec.state.Fds) != 1 || rec.state.Fds[0] != "seccompFd" || rec.state.Pid <= 0 {
		t.Errorf("container process state %+v", rec.state)
	}
	if r.Code != 0 || !strings.Contains(r.Stdout, "Inappropriate ioctl") || !strings.Contains(r.Stdout, "after") {
		t.Errorf("run: %s, want mkdir to fail with the agent's ENOTTY", r)
	}
}

// Flags the spec names are accepted; a bad profile is refused before
// anything is created, naming the field.
func TestSeccompFlagsAndBadProfile(t *testing.T) {
	e := newEnv(t)
	out := e.output("echo ok", withSeccomp(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Flags:         []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActLog}},
	}))
	if strings.TrimSpace(out) != "ok" {
		t.Errorf("output %q", out)
	}
	b := e.newBundle(withArgs("true"), withSeccomp(&specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_BOGUS"}))
	e.track("badsc")
	// husk names the field.
	e.failsWith(huskOrRunc(`linux.seccomp.defaultAction: unknown action "SCMP_ACT_BOGUS"`, "string SCMP_ACT_BOGUS is not a valid action for seccomp"), "run", "--bundle", b.Dir, "badsc")
	e.assertNoTrace(b, "badsc")
}

// `features` reports seccomp truthfully.
func TestFeaturesSeccomp(t *testing.T) {
	e := newEnv(t)
	f := runtimeFeatures(t, e)
	sc := f.Linux.Seccomp
	if sc == nil || sc.Enabled == nil || !*sc.Enabled {
		t.Fatalf("seccomp not enabled in features: %+v", sc)
	}
	for _, a := range []string{"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_NOTIFY", "SCMP_ACT_KILL_PROCESS"} {
		if !contains(sc.Actions, a) {
			t.Errorf("actions lack %s", a)
		}
	}
	if !contains(sc.Operators, "SCMP_CMP_MASKED_EQ") || !contains(sc.Archs, "SCMP_ARCH_X86_64") {
		t.Errorf("operators %v archs %v", sc.Operators, sc.Archs)
	}
	if !contains(sc.SupportedFlags, "SECCOMP_FILTER_FLAG_LOG") {
		t.Errorf("supported flags %v", sc.SupportedFlags)
	}
}

// seccompAgent is the seccompagent helper (testdata/seccompagent) serving a
// listening socket of its own.
type seccompAgent struct {
	sock  string // linux.seccomp.listenerPath
	log   string
	stdin *os.File // a line lets a held call go
}

// startSeccompAgent runs the agent. rules name the syscalls it fails with
// ENOTTY ("mkdir") or holds until release ("mkdir=hold"); any other
// notified call continues. It is killed when the test ends.
func startSeccompAgent(t *testing.T, rules ...string) *seccompAgent {
	t.Helper()
	bin := buildHelper(t, "seccompagent")
	dir := t.TempDir()
	a := &seccompAgent{sock: filepath.Join(dir, "agent.sock"), log: filepath.Join(dir, "agent.log")}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: a.sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	args := []string{a.log}
	for _, rule := range rules {
		name, hold := strings.CutSuffix(rule, "=hold")
		nr, err := libseccomp.GetSyscallFromName(name)
		if err != nil {
			continue // no such syscall on this architecture
		}
		if hold {
			args = append(args, fmt.Sprintf("%d=hold", nr))
		} else {
			args = append(args, fmt.Sprintf("%d=%d", nr, unix.ENOTTY))
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	a.stdin = stdin.(*os.File)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		l.Close()
		if data, _ := os.ReadFile(a.log); strings.Contains(string(data), "error ") {
			t.Errorf("seccomp agent: %s", data)
		}
	})
	return a
}

// held waits until the agent holds a call and returns the caller's pid.
func (a *seccompAgent) held(t *testing.T) int {
	t.Helper()
	pid := 0
	waitFor(t, "the seccomp agent to hold a call", func() bool {
		data, _ := os.ReadFile(a.log)
		for _, l := range lines(string(data)) {
			if f := strings.Fields(l); len(f) == 3 && f[0] == "held" {
				pid, _ = strconv.Atoi(f[2])
				return true
			}
		}
		return false
	})
	return pid
}

// release lets a held call continue.
func (a *seccompAgent) release(t *testing.T) {
	t.Helper()
	if _, err := a.stdin.WriteString("\n"); err != nil {
		t.Fatal(err)
	}
}

// handedOver says whether the agent got a listener for container id.
func (a *seccompAgent) handedOver(id string) bool {
	data, _ := os.ReadFile(a.log)
	for _, l := range lines(string(data)) {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "state" && f[1] == id {
			return true
		}
	}
	return false
}

// notifyProfile notifies the agent of names (and mkdir, which the agent
// fails with ENOTTY).
func notifyProfile(a *seccompAgent, names ...string) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		ListenerPath:  a.sock,
		Syscalls: []specs.LinuxSyscall{
			{Names: append([]string{"mkdir", "mkdirat"}, names...), Action: specs.ActNotify},
		},
	}
}

// The syscalls a runtime (and Go's) makes around loading the filter may be
// notified: the listener must reach the agent before the runtime makes any
// of them, or the container hangs. With and without no_new_privs (the
// filter is loaded at different points), for the init and for exec.
func TestSeccompNotifyRuntimeSyscalls(t *testing.T) {
	e := newEnv(t)
	a := startSeccompAgent(t, "mkdir", "mkdirat")
	// Not write: refused (TestSeccompNotifyWriteRefused).
	runtimeCalls := []string{
		"fcntl", "close", "read", "openat", "openat2", "fstat", "newfstatat", "statx", "fstatfs",
		"mmap", "munmap", "madvise", "futex", "epoll_ctl", "epoll_pwait", "epoll_wait",
		"rt_sigprocmask", "rt_sigaction", "sigaltstack", "getpid", "gettid", "tgkill",
		"sched_yield", "nanosleep", "clone", "clone3", "wait4", "waitid", "dup3", "prctl",
		"getcwd", "chdir", "fchdir", "close_range", "readlinkat", "sendmsg", "recvmsg",
		"capget", "capset", "setresuid", "setresgid", "setgroups", "execve",
	}
	for _, nnp := range []bool{true, false} {
		id := fmt.Sprintf("notifyrt%v", nnp)
		b := e.newBundle(withShell("mkdir /tmp/z 2>&1; echo after"), withSeccomp(notifyProfile(a, runtimeCalls...)),
			withSpec(func(s *specs.Spec) { s.Process.NoNewPrivileges = nnp }))
		r := e.runFG(b, id)
		if r.Code != 0 || !strings.Contains(r.Stdout, "Inappropriate ioctl") || !strings.Contains(r.Stdout, "after") {
			t.Errorf("noNewPrivileges=%v: %s, want mkdir to fail with the agent's ENOTTY", nnp, r)
		}
		if !a.handedOver(id) {
			t.Errorf("noNewPrivileges=%v: the agent got no listener for %s", nnp, id)
		}
	}
	runningContainer(e, "notifyexec", withSeccomp(notifyProfile(a, runtimeCalls...)))
	r := e.run("exec", "notifyexec", "sh", "-c", "mkdir /tmp/y 2>&1; echo after")
	if r.Code != 0 || !strings.Contains(r.Stdout, "Inappropriate ioctl") || !strings.Contains(r.Stdout, "after") {
		t.Errorf("exec: %s, want mkdir to fail with the agent's ENOTTY", r)
	}
}

// An unreachable listenerPath fails with runc's "failed to connect with
// seccomp agent", leaving nothing behind.
func TestSeccompNotifyUnreachableAgent(t *testing.T) {
	e := newEnv(t)
	sock := filepath.Join(t.TempDir(), "nobody.sock")
	b := e.newBundle(withArgs("true"), withSeccomp(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		ListenerPath:  sock,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActNotify}},
	}))
	e.track("noagent")
	e.failsWith("failed to connect with seccomp agent specified in the seccomp profile: dial unix "+sock+": connect: no such file or directory", "run", "--bundle", b.Dir, "noagent")
	e.assertNoTrace(b, "noagent")
}

// NOTIFY on write is refused, as runc does (the runtime writes to its
// parent between loading the filter and the agent having the listener),
// and so is NOTIFY as the default action; nothing reaches the agent and
// nothing is left behind.
func TestSeccompNotifyWriteRefused(t *testing.T) {
	e := newEnv(t)
	a := startSeccompAgent(t)
	for i, c := range []struct {
		sc   *specs.LinuxSeccomp
		want string
	}{
		{notifyProfile(a, "write"), "SCMP_ACT_NOTIFY cannot be used for the write syscall"},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActNotify, ListenerPath: a.sock}, "SCMP_ACT_NOTIFY cannot be used as default action"},
	} {
		id := fmt.Sprintf("notifyw%d", i)
		b := e.newBundle(withArgs("true"), withSeccomp(c.sc))
		e.track(id)
		e.failsWith(c.want, "run", "--bundle", b.Dir, id)
		if a.handedOver(id) {
			t.Errorf("%s: the agent got a listener", id)
		}
		e.assertNoTrace(b, id)
	}
}

// procState is the state letter of /proc/PID/stat ("S", "D", ...).
func procState(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return ""
	}
	return s[i+2 : i+3]
}

// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: once the agent has received a
// notification, a signal no longer interrupts the call (Go programs get
// SIGURG all the time): the caller goes on waiting, killable only, which
// /proc shows as "D". The call then completes as the agent says.
func TestSeccompWaitKillableRecv(t *testing.T) {
	const flag = "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
	const newListener, waitKillableRecv = 1 << 3, 1 << 5
	// seccomp(SET_MODE_FILTER) with a NULL program: EFAULT once the
	// kernel has accepted the flags.
	if _, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, 1, newListener|waitKillableRecv, 0); errno != unix.EFAULT {
		t.Skipf("this kernel lacks %s (Linux >= 5.19): %v", flag, errno)
	}
	if isRunc() {
		t.Skip("runc 1.5.3 sets seccomp flags through libseccomp, which knows this one from 2.6 on (this host's is 2.5.4): it refuses the flag")
	}
	e := newEnv(t)
	if f := runtimeFeatures(t, e); !contains(f.Linux.Seccomp.SupportedFlags, flag) {
		t.Errorf("features: supportedFlags %v lack %s, which this kernel has", f.Linux.Seccomp.SupportedFlags, flag)
	}
	a := startSeccompAgent(t, "mkdirat=hold")
	nr, err := libseccomp.GetSyscallFromName("mkdirat")
	if err != nil {
		t.Fatal(err)
	}
	// sysprobe makes the raw syscall: a Go program, with a handler for
	// every signal.
	b := e.newBundle(withPrivateRootfs(), withHelper(t, "sysprobe"), withArgs("/sysprobe", strconv.Itoa(int(nr))), withSeccomp(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		ListenerPath:  a.sock,
		Flags:         []specs.LinuxSeccompFlag{flag},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdirat"}, Action: specs.ActNotify}},
	}))
	e.runDetached(b, "waitkill")
	tid := a.held(t)
	// The thread in the call; the signal (caught) goes to it.
	if err := unix.Tgkill(e.state("waitkill").PID, tid, unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the held caller to wait killable (D)", func() bool { return procState(tid) == "D" })
	a.release(t)
	e.waitStatus("waitkill", "stopped")
}

// An unprivileged runtime hands the listener over too (it may take it from
// its init only while that is dumpable), for the init with and without
// no_new_privs, and (unlike runc 1.5.3) for exec.
func TestRootlessSeccompNotify(t *testing.T) {
	r := newRootlessEnv(t)
	a := startSeccompAgent(t, "mkdir", "mkdirat")
	// The user must reach the agent's socket.
	if err := os.Chmod(filepath.Dir(a.sock), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(a.sock, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, nnp := range []bool{true, false} {
		id := fmt.Sprintf("rlnotify%v", nnp)
		dir := r.bundle([]string{"sh", "-c", "mkdir /tmp/z 2>&1; echo after"}, func(s *specs.Spec) {
			s.Process.NoNewPrivileges = nnp
			s.Linux.Seccomp = notifyProfile(a, "fcntl", "close", "read")
		})
		r.track(id)
		res := r.run("run", "--bundle", dir, id)
		if res.Code != 0 || !strings.Contains(res.Stdout, "Inappropriate ioctl") || !strings.Contains(res.Stdout, "after") {
			t.Errorf("noNewPrivileges=%v: %s, want mkdir to fail with the agent's ENOTTY", nnp, res)
		}
	}
	if isRunc() {
		t.Skip("runc 1.5.3's exec process stays non-dumpable (it joins namespaces): an unprivileged runc cannot take its listener (pidfd_getfd: EPERM)")
	}
	dir := r.bundle([]string{"sleep", "100"}, func(s *specs.Spec) { s.Linux.Seccomp = notifyProfile(a) })
	r.track("rlnotifyexec")
	r.ok("run", "--detach", "--bundle", dir, "rlnotifyexec")
	res := r.run("exec", "rlnotifyexec", "sh", "-c", "mkdir /tmp/y 2>&1; echo after")
	if res.Code != 0 || !strings.Contains(res.Stdout, "Inappropriate ioctl") {
		t.Errorf("exec: %s, want mkdir to fail with the agent's ENOTTY", res)
	}
}
