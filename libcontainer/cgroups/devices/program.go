package devices

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// insn is one eBPF instruction, struct bpf_insn: an opcode, a destination
// and a source register (4 bits each), a signed 16-bit jump offset
// (counted in instructions from the next one) and a signed 32-bit
// immediate.
type insn struct {
	code     uint8
	dst, src uint8
	off      int16
	imm      int32
}

// The registers the program uses. R1 holds the context on entry
// (struct bpf_cgroup_dev_ctx *), R0 the verdict on exit.
const (
	r0 = iota
	r1
	r2
	r3
	r4
	r5
)

// What the program keeps where after its prologue.
const (
	rCtx    = r1
	rType   = r2 // BPF_DEVCG_DEV_BLOCK or _CHAR
	rAccess = r3 // BPF_DEVCG_ACC_* bits
	rMajor  = r4
	rMinor  = r5
)

// Offsets in struct bpf_cgroup_dev_ctx {u32 access_type; u32 major; u32 minor}.
// access_type is the device type in its low 16 bits, the access in its
// high 16.
const (
	ctxAccessType = 0
	ctxMajor      = 4
	ctxMinor      = 8
)

// toNext marks a jump to the first instruction after the block it is in;
// block resolves it.
const toNext = -1 << 15

// The few instructions the compiler emits. ALU instructions are 32-bit
// (BPF_ALU: the result is zero-extended into the 64-bit register), and so
// are conditional jumps (BPF_JMP32, Linux ≥ 5.1): the context's fields
// are u32 and any u32 immediate compares as one.

// ldxw: dst = *(u32 *)(src + off).
func ldxw(dst, src uint8, off int16) insn {
	return insn{code: unix.BPF_LDX | unix.BPF_MEM | unix.BPF_W, dst: dst, src: src, off: off}
}

// movImm: dst = (u32)imm.
func movImm(dst uint8, imm int32) insn {
	return insn{code: unix.BPF_ALU | unix.BPF_MOV | unix.BPF_K, dst: dst, imm: imm}
}

// movReg: dst = (u32)src.
func movReg(dst, src uint8) insn {
	return insn{code: unix.BPF_ALU | unix.BPF_MOV | unix.BPF_X, dst: dst, src: src}
}

// andImm: dst = (u32)dst & imm.
func andImm(dst uint8, imm int32) insn {
	return insn{code: unix.BPF_ALU | unix.BPF_AND | unix.BPF_K, dst: dst, imm: imm}
}

// rshImm: dst = (u32)dst >> imm.
func rshImm(dst uint8, imm int32) insn {
	return insn{code: unix.BPF_ALU | unix.BPF_RSH | unix.BPF_K, dst: dst, imm: imm}
}

// jneImm: if (u32)dst != (u32)imm, skip off instructions.
func jneImm(dst uint8, imm uint32, off int16) insn {
	return insn{code: unix.BPF_JMP32 | unix.BPF_JNE | unix.BPF_K, dst: dst, off: off, imm: int32(imm)}
}

// jsetImm: if (u32)dst & (u32)imm != 0, skip off instructions.
func jsetImm(dst uint8, imm uint32, off int16) insn {
	return insn{code: unix.BPF_JMP32 | unix.BPF_JSET | unix.BPF_K, dst: dst, off: off, imm: int32(imm)}
}

// ja: skip off instructions.
func ja(off int16) insn {
	return insn{code: unix.BPF_JMP | unix.BPF_JA, off: off}
}

// exit: return R0.
func exit() insn {
	return insn{code: unix.BPF_JMP | unix.BPF_EXIT}
}

// verdict sets R0 and returns.
func verdict(allow bool) []insn {
	var v int32
	if allow {
		v = 1
	}
	return []insn{movImm(r0, v), exit()}
}

// block resolves the toNext jumps in b to the end of b.
func block(b []insn) []insn {
	for i := range b {
		if b[i].off == toNext {
			b[i].off = int16(len(b) - i - 1)
		}
	}
	return b
}

// compile turns a ruleset into a program: a prologue that loads the
// context into registers, one block per exception that returns the
// exception's verdict if the exception matches and falls through to the
// next block if not, and the default verdict at the end. The exceptions of
// a ruleset all give the same verdict (the opposite of the default), so
// their order does not matter; they are emitted in the kernel's order.
func compile(rs *ruleset) []insn {
	var prog []insn
	if len(rs.exceptions) > 0 {
		prog = append(prog,
			ldxw(rType, rCtx, ctxAccessType),
			movReg(rAccess, rType),
			andImm(rType, 0xffff),
			rshImm(rAccess, 16),
			ldxw(rMajor, rCtx, ctxMajor),
			ldxw(rMinor, rCtx, ctxMinor),
		)
	}
	for _, e := range rs.exceptions {
		prog = append(prog, exceptionBlock(e, !rs.defaultAllow)...)
	}
	return append(prog, verdict(rs.defaultAllow)...)
}

// exceptionBlock returns allow if the device is e's and the access asked
// for is one e decides on: all of it within e's access for an allow
// exception, any of it for a deny exception (the v1 controller's
// match_exception and match_exception_partial).
func exceptionBlock(e exception, allow bool) []insn {
	b := []insn{jneImm(rType, uint32(e.typ), toNext)}
	if e.major != wildcard {
		b = append(b, jneImm(rMajor, uint32(e.major), toNext))
	}
	if e.minor != wildcard {
		b = append(b, jneImm(rMinor, uint32(e.minor), toNext))
	}
	if allow {
		// Any bit asked for outside e.access: not this exception. (The
		// access is the high half of a u32, so 0xffff covers every bit,
		// including any the kernel adds later: those are never allowed.)
		b = append(b, jsetImm(rAccess, 0xffff&^uint32(e.access), toNext))
	} else {
		if e.access == 0 {
			return nil // denies nothing
		}
		// No bit asked for within e.access: not this exception.
		b = append(b, jsetImm(rAccess, uint32(e.access), 1), ja(toNext))
	}
	return block(append(b, verdict(allow)...))
}

// encode lays instructions out as the kernel reads them: struct bpf_insn
// {u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm}, in the machine's
// byte order, where the bit-field takes the low nibble first on
// little-endian machines and the high nibble first on big-endian ones.
func encode(prog []insn) []byte {
	bigEndian := binary.NativeEndian.Uint16([]byte{0, 1}) == 1
	out := make([]byte, 0, 8*len(prog))
	for _, in := range prog {
		regs := in.src<<4 | in.dst&0xf
		if bigEndian {
			regs = in.dst<<4 | in.src&0xf
		}
		out = append(out, in.code, regs)
		out = binary.NativeEndian.AppendUint16(out, uint16(in.off))
		out = binary.NativeEndian.AppendUint32(out, uint32(in.imm))
	}
	return out
}
