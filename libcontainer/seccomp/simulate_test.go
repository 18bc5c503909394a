package seccomp

import (
	"testing"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"golang.org/x/sys/unix"
)

func errnoPtr(e uint) *uint { return &e }

// The simulator agrees with what the profile says, on programs libseccomp
// compiled (with the ENOSYS stub and argument conditions).
func TestRunCompiledProfiles(t *testing.T) {
	arch := auditArch["amd64"]
	if arch == 0 {
		t.Skip("not amd64")
	}
	p, err := Compile(&configs.Seccomp{
		DefaultAction: "SCMP_ACT_ERRNO", DefaultErrno: errnoPtr(uint(unix.EPERM)),
		Syscalls: []configs.SeccompSyscall{
			{Names: []string{"read", "write", "execve"}, Action: "SCMP_ACT_ALLOW"},
			{Names: []string{"kill"}, Action: "SCMP_ACT_ALLOW", Args: []configs.SeccompArg{{Index: 1, Value: 0, Op: "SCMP_CMP_EQ"}}},
			{Names: []string{"mkdir"}, Action: "SCMP_ACT_KILL_PROCESS"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		nr   int32
		args [6]uint64
		want uint32
	}{
		{unix.SYS_READ, [6]uint64{}, 0x7fff0000},
		{unix.SYS_EXECVE, [6]uint64{}, 0x7fff0000},
		{unix.SYS_KILL, [6]uint64{1, 0}, 0x7fff0000},
		{unix.SYS_KILL, [6]uint64{1, 9}, retErrno | uint32(unix.EPERM)},
		{unix.SYS_OPEN, [6]uint64{}, retErrno | uint32(unix.EPERM)},
		{unix.SYS_OPENAT, [6]uint64{}, retErrno | uint32(unix.ENOSYS)}, // newer than the profile's newest
		{unix.SYS_MKDIR, [6]uint64{}, retKillProcess},
		{1000, [6]uint64{}, retErrno | uint32(unix.ENOSYS)}, // newer than the profile: ENOSYS stub
	}
	for _, c := range cases {
		got, err := p.Run(Data{Nr: c.nr, Arch: arch, Args: c.args})
		if err != nil || got != c.want {
			t.Errorf("nr %d args %v: %#x, %v; want %#x", c.nr, c.args, got, err, c.want)
		}
	}
	if k := p.KillsExec(); k != "" {
		t.Errorf("KillsExec = %q for a profile that allows execve", k)
	}
	kill, err := Compile(&configs.Seccomp{DefaultAction: "SCMP_ACT_KILL",
		Syscalls: []configs.SeccompSyscall{{Names: []string{"read", "openat"}, Action: "SCMP_ACT_ALLOW"}}})
	if err != nil {
		t.Fatal(err)
	}
	if k := kill.KillsExec(); k != "SCMP_ACT_KILL" {
		t.Errorf("KillsExec = %q for a default KILL profile", k)
	}
}

// A program the kernel would refuse is an error, not a verdict.
func TestRunBadPrograms(t *testing.T) {
	for _, insns := range [][]unix.SockFilter{
		nil,
		{{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 64}},
		{{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}},
		{{Code: 0xffff}},
	} {
		if _, err := (&Program{Insns: insns}).Run(Data{}); err == nil {
			t.Errorf("%v: no error", insns)
		}
	}
}
