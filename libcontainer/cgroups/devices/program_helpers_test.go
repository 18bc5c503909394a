package devices

import (
	"fmt"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// Compile returns the eBPF program (struct bpf_insn array, native byte
// order) that enforces rules, and whether it lets everything through.
func Compile(rules []configs.DeviceRule) (prog []byte, allowAll bool, err error) {
	rs, err := emulate(rules)
	if err != nil {
		return nil, false, err
	}
	return encode(compile(rs)), rs.allowsEverything(), nil
}

// String disassembles the instruction, for tests and error messages.
func (in insn) String() string {
	alu := map[uint8]string{unix.BPF_MOV: "mov32", unix.BPF_AND: "and32", unix.BPF_RSH: "rsh32"}
	jmp := map[uint8]string{unix.BPF_JNE: "jne32", unix.BPF_JSET: "jset32"}
	op, src := in.code&0xf0, in.code&0x08
	switch in.code & 0x07 {
	case unix.BPF_LDX:
		if in.code == unix.BPF_LDX|unix.BPF_MEM|unix.BPF_W {
			return fmt.Sprintf("ldxw r%d, [r%d%+d]", in.dst, in.src, in.off)
		}
	case unix.BPF_ALU:
		if name, ok := alu[op]; ok {
			if src == unix.BPF_X {
				return fmt.Sprintf("%s r%d, r%d", name, in.dst, in.src)
			}
			return fmt.Sprintf("%s r%d, %#x", name, in.dst, uint32(in.imm))
		}
	case unix.BPF_JMP32:
		if name, ok := jmp[op]; ok && src == unix.BPF_K {
			return fmt.Sprintf("%s r%d, %#x, %+d", name, in.dst, uint32(in.imm), in.off)
		}
	case unix.BPF_JMP:
		switch op {
		case unix.BPF_JA:
			return fmt.Sprintf("ja %+d", in.off)
		case unix.BPF_EXIT:
			return "exit"
		}
	}
	return fmt.Sprintf("insn{code: %#02x, dst: r%d, src: r%d, off: %d, imm: %d}", in.code, in.dst, in.src, in.off, in.imm)
}
