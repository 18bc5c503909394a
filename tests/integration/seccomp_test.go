package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
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
	if isRunc() {
		t.Skip("runc 1.1.5 checks the cwd after loading a filter without no_new_privs")
	}
	e := newEnv(t)
	for _, nnp := range []bool{false, true} {
		out := e.output("echo ran", withSeccomp(&specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: specs.ActErrno}},
		}), withSpec(func(s *specs.Spec) { s.Process.NoNewPrivileges = nnp }))
		if strings.TrimSpace(out) != "ran" {
			t.Errorf("noNewPrivileges=%v: %q", nnp, out)
		}
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

// Syscalls newer than libseccomp and the profile return ENOSYS rather than
// the default action (a libc falls back on ENOSYS only); known ones get
// the default action.
func TestSeccompUnknownSyscallsENOSYS(t *testing.T) {
	if !isHusk() {
		t.Skip("Debian's runc 1.1.5 predates this")
	}
	e := newEnv(t)
	// 460 is newer than libseccomp 2.5's table; 110 is getppid.
	b := e.newBundle(withPrivateRootfs(), withHelper(t, "sysprobe"), withArgs("/sysprobe", "460", "110"),
		withSeccomp(&specs.LinuxSeccomp{DefaultAction: specs.ActLog}))
	r := e.runFG(b, "enosys")
	if got := lines(r.Stdout); r.Code != 0 || len(got) != 2 || got[0] != "ENOSYS" || got[1] != "ok" {
		t.Errorf("probe: %s", r)
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
	if !isHusk() {
		t.Skip("Debian's runc 1.1.5 supports no seccomp flags")
	}
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
	r := e.fails("run", "--bundle", b.Dir, "badsc")
	if isHusk() && !strings.Contains(r.Stderr, "linux.seccomp.defaultAction") {
		t.Errorf("stderr %q", r.Stderr)
	}
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
	if isHusk() && !contains(sc.SupportedFlags, "SECCOMP_FILTER_FLAG_LOG") {
		t.Errorf("supported flags %v", sc.SupportedFlags)
	}
}
