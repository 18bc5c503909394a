package seccomp

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"

	"github.com/husk-runtime/husk/libcontainer/configs"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Program is a compiled filter: BPF instructions and the seccomp(2) flags
// to load them with.
type Program struct {
	Insns []unix.SockFilter `json:"insns"`
	Flags uint              `json:"flags"`
	// Notify says the filter has SCMP_ACT_NOTIFY rules: it is loaded with
	// a listener, whose fd goes to linux.seccomp.listenerPath.
	Notify bool `json:"notify,omitempty"`
}

func action(name string, errno *uint) (libseccomp.ScmpAction, error) {
	a, ok := Actions[name]
	if !ok {
		return 0, fmt.Errorf("unknown action %q", name)
	}
	if TakesErrno[name] {
		ret := uint(unix.EPERM)
		if errno != nil {
			ret = *errno
		}
		a = a.SetReturnCode(int16(ret))
	} else if errno != nil {
		return 0, fmt.Errorf("action %s takes no errnoRet", name)
	}
	return a, nil
}

// Compile builds the BPF program of a profile. Syscall names that neither
// libseccomp nor the kernel know are skipped (profiles name syscalls of
// many kernels), as runc does. As with runc, syscalls newer than the
// newest the profile names return ENOSYS instead of a restrictive default
// action, so that a libc trying a syscall newer than the profile falls
// back to the old one (it would take EPERM for a real refusal).
func Compile(s *configs.Seccomp) (*Program, error) {
	def, err := action(s.DefaultAction, s.DefaultErrno)
	if err != nil {
		return nil, fmt.Errorf("defaultAction: %w", err)
	}
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, err
	}
	defer f.Release()
	// husk sets no_new_privs itself, as the config says.
	if err := f.SetNoNewPrivsBit(false); err != nil {
		return nil, err
	}
	for _, name := range s.Architectures {
		arch, err := libseccomp.GetArchFromString(Archs[name])
		if err != nil {
			return nil, fmt.Errorf("architectures: %s: %w", name, err)
		}
		if err := f.AddArch(arch); err != nil {
			return nil, fmt.Errorf("architectures: %s: %w", name, err)
		}
	}
	p := &Program{}
	maxNr := -1
	for i, rule := range s.Syscalls {
		act, err := action(rule.Action, rule.Errno)
		if err != nil {
			return nil, fmt.Errorf("syscalls[%d]: %w", i, err)
		}
		if rule.Action == "SCMP_ACT_NOTIFY" {
			p.Notify = true
		}
		if act == def {
			// The default does it already (libseccomp refuses such a
			// rule); runc and crun skip it too.
			slog.Debug("seccomp: skipping a rule whose action is the default", "rule", i)
			continue
		}
		for _, name := range rule.Names {
			nr, err := libseccomp.GetSyscallFromName(name)
			if err != nil {
				slog.Debug("seccomp: skipping a syscall unknown here", "syscall", name)
				continue
			}
			if n, err := libseccomp.GetSyscallFromNameByArch(name, nativeArch()); err == nil && int(n) > maxNr {
				maxNr = int(n)
			}
			if err := addRule(f, nr, act, rule.Args); err != nil {
				return nil, fmt.Errorf("syscalls[%d]: %s: %w", i, name, err)
			}
		}
	}
	for _, name := range s.Flags {
		p.Flags |= Flags[name]
	}
	insns, err := export(f)
	if err != nil {
		return nil, err
	}
	if !permissive[s.DefaultAction] && !(s.DefaultErrno != nil && *s.DefaultErrno == uint(unix.ENOSYS)) {
		insns = withENOSYSStub(insns, maxNr)
	}
	p.Insns = insns
	return p, nil
}

// addRule adds one rule. Conditions on distinct arguments are ANDed in one
// rule; several conditions on the same argument become separate rules
// (libseccomp refuses them together), as runc does.
func addRule(f *libseccomp.ScmpFilter, nr libseccomp.ScmpSyscall, act libseccomp.ScmpAction, args []configs.SeccompArg) error {
	if len(args) == 0 {
		return f.AddRule(nr, act)
	}
	var conds []libseccomp.ScmpCondition
	seen := map[uint]int{}
	for _, a := range args {
		seen[a.Index]++
		c, err := condition(a)
		if err != nil {
			return err
		}
		conds = append(conds, c)
	}
	sameArg := false
	for _, n := range seen {
		sameArg = sameArg || n > 1
	}
	if !sameArg {
		return f.AddRuleConditional(nr, act, conds)
	}
	for _, c := range conds {
		if err := f.AddRuleConditional(nr, act, []libseccomp.ScmpCondition{c}); err != nil {
			return err
		}
	}
	return nil
}

func condition(a configs.SeccompArg) (libseccomp.ScmpCondition, error) {
	op, ok := Operators[a.Op]
	if !ok {
		return libseccomp.ScmpCondition{}, fmt.Errorf("unknown operator %q", a.Op)
	}
	if a.Op == "SCMP_CMP_MASKED_EQ" {
		return libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
	}
	return libseccomp.MakeCondition(a.Index, op, a.Value)
}

// export gets the BPF program out of libseccomp (through a pipe: the
// in-memory export needs libseccomp 2.6).
func export(f *libseccomp.ScmpFilter) ([]unix.SockFilter, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	errc := make(chan error, 1)
	go func() {
		errc <- f.ExportBPF(w)
		w.Close()
	}()
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if err := <-errc; err != nil {
		return nil, fmt.Errorf("export the filter: %w", err)
	}
	if len(raw)%8 != 0 {
		return nil, fmt.Errorf("export the filter: %d bytes is not a BPF program", len(raw))
	}
	insns := make([]unix.SockFilter, len(raw)/8)
	for i := range insns {
		b := raw[i*8:]
		insns[i] = unix.SockFilter{
			Code: binary.NativeEndian.Uint16(b[0:]), Jt: b[2], Jf: b[3],
			K: binary.NativeEndian.Uint32(b[4:]),
		}
	}
	return insns, nil
}

func nativeArch() libseccomp.ScmpArch {
	a, err := libseccomp.GetNativeArch()
	if err != nil {
		return libseccomp.ArchNative
	}
	return a
}

// permissive default actions get no ENOSYS stub (as with runc): a new
// syscall they let through is the kernel's to answer; a tracer handles
// ENOSYS itself.
var permissive = map[string]bool{"SCMP_ACT_ALLOW": true, "SCMP_ACT_LOG": true, "SCMP_ACT_TRACE": true}

// auditArch is the AUDIT_ARCH_* of the native architecture.
var auditArch = map[string]uint32{
	"amd64": unix.AUDIT_ARCH_X86_64, "arm64": unix.AUDIT_ARCH_AARCH64,
	"ppc64le": unix.AUDIT_ARCH_PPC64LE, "s390x": unix.AUDIT_ARCH_S390X,
	"riscv64": unix.AUDIT_ARCH_RISCV64,
}

// withENOSYSStub prepends: for a native syscall numbered above maxNr (and
// below the x32 range), return ENOSYS; otherwise run the program.
func withENOSYSStub(prog []unix.SockFilter, maxNr int) []unix.SockFilter {
	arch, ok := auditArch[runtime.GOARCH]
	if !ok || maxNr < 0 {
		return prog
	}
	const (
		ld   = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge  = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		jgt  = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
		ret  = unix.BPF_RET | unix.BPF_K
		x32  = 0x40000000
		nrAt = 0 // offsetof(struct seccomp_data, nr)
		arAt = 4 // offsetof(struct seccomp_data, arch)
	)
	stub := []unix.SockFilter{
		{Code: ld, K: arAt},
		{Code: jeq, K: arch, Jt: 0, Jf: 4},
		{Code: ld, K: nrAt},
		{Code: jge, K: x32, Jt: 2, Jf: 0},
		{Code: jgt, K: uint32(maxNr), Jt: 0, Jf: 1},
		{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
	}
	return append(stub, prog...)
}
