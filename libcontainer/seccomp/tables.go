// Package seccomp turns a container's seccomp profile into a BPF program
// (in the parent, with libseccomp) and loads it (in the init, with the
// seccomp(2) syscall alone, as the last thing before the workload's exec
// when no_new_privs allows).
package seccomp

import (
	"fmt"
	"sort"

	libseccomp "github.com/seccomp/libseccomp-golang"
)

// Actions are the spec's actions; the converter checks names against this
// table and `husk features` lists it.
var Actions = map[string]libseccomp.ScmpAction{
	"SCMP_ACT_KILL":         libseccomp.ActKillThread,
	"SCMP_ACT_KILL_THREAD":  libseccomp.ActKillThread,
	"SCMP_ACT_KILL_PROCESS": libseccomp.ActKillProcess,
	"SCMP_ACT_TRAP":         libseccomp.ActTrap,
	"SCMP_ACT_ERRNO":        libseccomp.ActErrno,
	"SCMP_ACT_TRACE":        libseccomp.ActTrace,
	"SCMP_ACT_ALLOW":        libseccomp.ActAllow,
	"SCMP_ACT_LOG":          libseccomp.ActLog,
	"SCMP_ACT_NOTIFY":       libseccomp.ActNotify,
}

// TakesErrno says which actions take an errnoRet.
var TakesErrno = map[string]bool{"SCMP_ACT_ERRNO": true, "SCMP_ACT_TRACE": true}

// Operators are the spec's argument comparisons.
var Operators = map[string]libseccomp.ScmpCompareOp{
	"SCMP_CMP_NE":        libseccomp.CompareNotEqual,
	"SCMP_CMP_LT":        libseccomp.CompareLess,
	"SCMP_CMP_LE":        libseccomp.CompareLessOrEqual,
	"SCMP_CMP_EQ":        libseccomp.CompareEqual,
	"SCMP_CMP_GE":        libseccomp.CompareGreaterEqual,
	"SCMP_CMP_GT":        libseccomp.CompareGreater,
	"SCMP_CMP_MASKED_EQ": libseccomp.CompareMaskedEqual,
}

// Archs maps the spec's architectures to libseccomp's names.
var Archs = map[string]string{
	"SCMP_ARCH_X86": "x86", "SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X32": "x32",
	"SCMP_ARCH_ARM": "arm", "SCMP_ARCH_AARCH64": "aarch64",
	"SCMP_ARCH_MIPS": "mips", "SCMP_ARCH_MIPS64": "mips64", "SCMP_ARCH_MIPS64N32": "mips64n32",
	"SCMP_ARCH_MIPSEL": "mipsel", "SCMP_ARCH_MIPSEL64": "mipsel64", "SCMP_ARCH_MIPSEL64N32": "mipsel64n32",
	"SCMP_ARCH_PPC": "ppc", "SCMP_ARCH_PPC64": "ppc64", "SCMP_ARCH_PPC64LE": "ppc64le",
	"SCMP_ARCH_S390": "s390", "SCMP_ARCH_S390X": "s390x",
	"SCMP_ARCH_PARISC": "parisc", "SCMP_ARCH_PARISC64": "parisc64",
	"SCMP_ARCH_RISCV64": "riscv64", "SCMP_ARCH_LOONGARCH64": "loongarch64",
	"SCMP_ARCH_M68K": "m68k", "SCMP_ARCH_SH": "sh", "SCMP_ARCH_SHEB": "sheb",
}

// Flags are the seccomp(2) filter flags the spec names, with their bits.
// husk loads the program itself, so it supports all that the kernel does.
var Flags = map[string]uint{
	"SECCOMP_FILTER_FLAG_TSYNC":              1 << 0,
	"SECCOMP_FILTER_FLAG_LOG":                1 << 1,
	"SECCOMP_FILTER_FLAG_SPEC_ALLOW":         1 << 2,
	"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": 1 << 5,
}

// Names lists a table's keys, sorted, for `husk features`.
func Names[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// SupportedArchs lists the architectures of Archs that the linked
// libseccomp can put in a filter on this host, next to the native one: it
// may not know some (loongarch64 before 2.5.5, m68k and sh before 2.6),
// and never mixes byte orders (no big-endian mips or s390x on x86_64).
func SupportedArchs() []string {
	var out []string
	for _, name := range Names(Archs) {
		arch, err := libseccomp.GetArchFromString(Archs[name])
		if err != nil {
			continue
		}
		f, err := libseccomp.NewFilter(libseccomp.ActAllow)
		if err != nil {
			continue
		}
		if f.AddArch(arch) == nil {
			out = append(out, name)
		}
		f.Release()
	}
	return out
}

// LibraryVersion is the version of the libseccomp husk is linked with, as
// `husk --version` prints it ("2.5.4").
func LibraryVersion() string {
	major, minor, micro := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", major, minor, micro)
}
