package seccomp

import (
	"encoding/binary"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Return values of a seccomp filter (SECCOMP_RET_*): the action in the top
// 16 bits (KILL_PROCESS uses the sign bit), data in the low 16.
const (
	retKillProcess = 0x80000000
	retKillThread  = 0x00000000
	retTrap        = 0x00030000
	retErrno       = 0x00050000
	retActionFull  = 0xffff0000
)

// Data is what a filter sees of a syscall (struct seccomp_data).
type Data struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

// bytes is the seccomp_data layout the filter loads words from (host
// byte order, little-endian on the architectures husk runs on).
func (d *Data) bytes() []byte {
	b := make([]byte, 64)
	binary.LittleEndian.PutUint32(b[0:], uint32(d.Nr))
	binary.LittleEndian.PutUint32(b[4:], d.Arch)
	binary.LittleEndian.PutUint64(b[8:], d.IP)
	for i, a := range d.Args {
		binary.LittleEndian.PutUint64(b[16+8*i:], a)
	}
	return b
}

// Run evaluates the classic BPF program of a seccomp filter on d, as the
// kernel would, and returns the filter's return value. A program the
// kernel would refuse (a bad instruction, a jump or load out of range, no
// return) is an error.
func (p *Program) Run(d Data) (uint32, error) {
	data := d.bytes()
	var a, x uint32
	var mem [16]uint32
	insns := p.Insns
	for pc := 0; pc < len(insns); pc++ {
		in := insns[pc]
		k := in.K
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			if k%4 != 0 || int(k)+4 > len(data) {
				return 0, fmt.Errorf("bpf: load at %d out of seccomp_data", k)
			}
			a = binary.LittleEndian.Uint32(data[k:])
		case unix.BPF_LD | unix.BPF_W | unix.BPF_LEN:
			a = uint32(len(data))
		case unix.BPF_LDX | unix.BPF_W | unix.BPF_LEN:
			x = uint32(len(data))
		case unix.BPF_LD | unix.BPF_IMM:
			a = k
		case unix.BPF_LDX | unix.BPF_IMM:
			x = k
		case unix.BPF_LD | unix.BPF_MEM:
			if k >= 16 {
				return 0, fmt.Errorf("bpf: scratch slot %d", k)
			}
			a = mem[k]
		case unix.BPF_LDX | unix.BPF_MEM:
			if k >= 16 {
				return 0, fmt.Errorf("bpf: scratch slot %d", k)
			}
			x = mem[k]
		case unix.BPF_ST:
			if k >= 16 {
				return 0, fmt.Errorf("bpf: scratch slot %d", k)
			}
			mem[k] = a
		case unix.BPF_STX:
			if k >= 16 {
				return 0, fmt.Errorf("bpf: scratch slot %d", k)
			}
			mem[k] = x
		case unix.BPF_MISC | unix.BPF_TAX:
			x = a
		case unix.BPF_MISC | unix.BPF_TXA:
			a = x
		case unix.BPF_RET | unix.BPF_K:
			return k, nil
		case unix.BPF_RET | unix.BPF_A:
			return a, nil
		case unix.BPF_JMP | unix.BPF_JA:
			pc += int(k)
		default:
			switch in.Code & 0x07 {
			case unix.BPF_ALU:
				v := k
				if in.Code&unix.BPF_X != 0 {
					v = x
				}
				switch in.Code & 0xf0 {
				case unix.BPF_ADD:
					a += v
				case unix.BPF_SUB:
					a -= v
				case unix.BPF_MUL:
					a *= v
				case unix.BPF_DIV:
					if v == 0 {
						return 0, nil // the kernel's classic BPF returns 0
					}
					a /= v
				case unix.BPF_MOD:
					if v == 0 {
						return 0, nil
					}
					a %= v
				case unix.BPF_AND:
					a &= v
				case unix.BPF_OR:
					a |= v
				case unix.BPF_XOR:
					a ^= v
				case unix.BPF_LSH:
					a <<= v & 31
				case unix.BPF_RSH:
					a >>= v & 31
				case unix.BPF_NEG:
					a = -a
				default:
					return 0, fmt.Errorf("bpf: ALU op %#x", in.Code)
				}
			case unix.BPF_JMP:
				v := k
				if in.Code&unix.BPF_X != 0 {
					v = x
				}
				var cond bool
				switch in.Code & 0xf0 {
				case unix.BPF_JEQ:
					cond = a == v
				case unix.BPF_JGT:
					cond = a > v
				case unix.BPF_JGE:
					cond = a >= v
				case unix.BPF_JSET:
					cond = a&v != 0
				default:
					return 0, fmt.Errorf("bpf: jump op %#x", in.Code)
				}
				if cond {
					pc += int(in.Jt)
				} else {
					pc += int(in.Jf)
				}
			default:
				return 0, fmt.Errorf("bpf: instruction %#x", in.Code)
			}
		}
	}
	return 0, fmt.Errorf("bpf: the program ends without a return")
}

// KillsExec says whether the filter, loaded, would kill (or trap) the
// process on its execve or execveat of the native architecture, so that
// the workload could never start: the name of the action, or "".
// Conditions on the arguments are evaluated with the arguments zero.
func (p *Program) KillsExec() string {
	arch := auditArch[runtime.GOARCH]
	for _, nr := range []int32{unix.SYS_EXECVE, unix.SYS_EXECVEAT} {
		ret, err := p.Run(Data{Nr: nr, Arch: arch})
		if err != nil {
			continue
		}
		switch ret & retActionFull {
		case retKillProcess:
			return "SCMP_ACT_KILL_PROCESS"
		case retKillThread:
			return "SCMP_ACT_KILL"
		case retTrap:
			return "SCMP_ACT_TRAP"
		}
	}
	return ""
}
