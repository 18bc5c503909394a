package devices

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// The rules specconv appends to every container's (runc's defaults).
var defaultRules = []configs.DeviceRule{
	{Allow: true, Type: 'c', Major: -1, Minor: -1, Access: "m"},
	{Allow: true, Type: 'b', Major: -1, Minor: -1, Access: "m"},
	{Allow: true, Type: 'c', Major: 1, Minor: 3, Access: "rwm"},
	{Allow: true, Type: 'c', Major: 1, Minor: 8, Access: "rwm"},
	{Allow: true, Type: 'c', Major: 1, Minor: 7, Access: "rwm"},
	{Allow: true, Type: 'c', Major: 5, Minor: 0, Access: "rwm"},
	{Allow: true, Type: 'c', Major: 1, Minor: 5, Access: "rwm"},
	{Allow: true, Type: 'c', Major: 1, Minor: 9, Access: "rwm"},
	{Allow: true, Type: 'c', Major: 136, Minor: -1, Access: "rwm"},
	{Allow: true, Type: 'c', Major: 5, Minor: 2, Access: "rwm"},
	{Allow: true, Type: 'c', Major: 10, Minor: 200, Access: "rwm"},
}

func rule(s string) configs.DeviceRule {
	// "allow c 1:3 rw", "deny a", "allow b *:* m"
	f := strings.Fields(s)
	r := configs.DeviceRule{Allow: f[0] == "allow", Type: rune(f[1][0]), Major: -1, Minor: -1, Access: "rwm"}
	if len(f) > 2 {
		maj, min, _ := strings.Cut(f[2], ":")
		num := func(s string) int64 {
			if s == "*" {
				return -1
			}
			var n int64
			fmt.Sscan(s, &n)
			return n
		}
		r.Major, r.Minor = num(maj), num(min)
	}
	if len(f) > 3 {
		r.Access = f[3]
	}
	return r
}

func rules(ss ...string) []configs.DeviceRule {
	var rs []configs.DeviceRule
	for _, s := range ss {
		rs = append(rs, rule(s))
	}
	return rs
}

// list shows a rule list as devices.allow/deny lines.
func list(rl []configs.DeviceRule) string {
	var s []string
	for _, r := range rl {
		s = append(s, ruleString(r))
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func disasm(prog []insn) string {
	var b strings.Builder
	for i, in := range prog {
		fmt.Fprintf(&b, "%2d: %s\n", i, in)
	}
	return b.String()
}

const prologue = `
ldxw r2, [r1+0]
mov32 r3, r2
and32 r2, 0xffff
rsh32 r3, 0x10
ldxw r4, [r1+4]
ldxw r5, [r1+8]`

func TestCompileListings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []configs.DeviceRule
		want  string
	}{
		{"no rules: deny all", nil, `
mov32 r0, 0x0
exit`},
		{"allow all", rules("allow a"), `
mov32 r0, 0x1
exit`},
		{"allow all, whatever the access on the a rule", rules("deny a", "allow c 1:3 r", "allow a r"), `
mov32 r0, 0x1
exit`},
		{"deny all after allows", rules("allow c 1:3 rwm", "deny a"), `
mov32 r0, 0x0
exit`},
		{"allow all but one block device", rules("allow a", "deny b 8:0 rwm"), prologue + `
jne32 r2, 0x1, +6
jne32 r4, 0x8, +5
jne32 r5, 0x0, +4
jset32 r3, 0x7, +1
ja +2
mov32 r0, 0x0
exit
mov32 r0, 0x1
exit`},
		// runc's "weird" case: the rule before the a rule is gone.
		{"a rule resets", rules("deny b 8:1 rwm", "allow a", "deny b 8:2 w"), prologue + `
jne32 r2, 0x1, +6
jne32 r4, 0x8, +5
jne32 r5, 0x2, +4
jset32 r3, 0x4, +1
ja +2
mov32 r0, 0x0
exit
mov32 r0, 0x1
exit`},
		{"access merged and taken away per device", rules("deny a", "allow c 1:3 r", "allow c 1:3 w", "allow c 4:* m", "deny c 1:3 r", "allow b *:7 rw"), prologue + `
jne32 r2, 0x2, +5
jne32 r4, 0x1, +4
jne32 r5, 0x3, +3
jset32 r3, 0xfffb, +2
mov32 r0, 0x1
exit
jne32 r2, 0x2, +4
jne32 r4, 0x4, +3
jset32 r3, 0xfffe, +2
mov32 r0, 0x1
exit
jne32 r2, 0x1, +4
jne32 r5, 0x7, +3
jset32 r3, 0xfff9, +2
mov32 r0, 0x1
exit
mov32 r0, 0x0
exit`},
		{"a device number above 2^31 compares as a u32", rules("deny a", "allow c 4294967294:2147483648 r"), prologue + `
jne32 r2, 0x2, +5
jne32 r4, 0xfffffffe, +4
jne32 r5, 0x80000000, +3
jset32 r3, 0xfffd, +2
mov32 r0, 0x1
exit
mov32 r0, 0x0
exit`},
		{"the defaults", defaultRules, prologue + `
jne32 r2, 0x2, +3
jset32 r3, 0xfffe, +2
mov32 r0, 0x1
exit
jne32 r2, 0x1, +3
jset32 r3, 0xfffe, +2
mov32 r0, 0x1
exit
` + strings.Repeat(`jne32 r2, 0x2, +5
jne32 r4, 0x%x, +4
jne32 r5, 0x%x, +3
jset32 r3, 0xfff8, +2
mov32 r0, 0x1
exit
`, 6) + `jne32 r2, 0x2, +4
jne32 r4, 0x88, +3
jset32 r3, 0xfff8, +2
mov32 r0, 0x1
exit
` + strings.Repeat(`jne32 r2, 0x2, +5
jne32 r4, 0x%x, +4
jne32 r5, 0x%x, +3
jset32 r3, 0xfff8, +2
mov32 r0, 0x1
exit
`, 2) + `mov32 r0, 0x0
exit`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if strings.Contains(want, "%x") {
				want = fmt.Sprintf(want, 1, 3, 1, 8, 1, 7, 5, 0, 1, 5, 1, 9, 5, 2, 10, 200)
			}
			rs, err := emulate(tc.rules)
			if err != nil {
				t.Fatal(err)
			}
			prog := compile(rs)
			var got []string
			for _, in := range prog {
				got = append(got, in.String())
			}
			if g, w := strings.Join(got, "\n"), strings.TrimSpace(want); g != w {
				t.Errorf("program:\n%s\nwant:\n%s", disasm(prog), w)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	prog := []insn{
		ldxw(r2, r1, 8),
		movReg(r3, r2),
		jneImm(r4, 0xfffffffe, 5),
		ja(-2),
		movImm(r0, 1),
		exit(),
	}
	le := []byte{
		0x61, 0x12, 8, 0, 0, 0, 0, 0,
		0xbc, 0x23, 0, 0, 0, 0, 0, 0,
		0x56, 0x04, 5, 0, 0xfe, 0xff, 0xff, 0xff,
		0x05, 0x00, 0xfe, 0xff, 0, 0, 0, 0,
		0xb4, 0x00, 0, 0, 1, 0, 0, 0,
		0x95, 0x00, 0, 0, 0, 0, 0, 0,
	}
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the expected bytes are little-endian")
	}
	if got := encode(prog); string(got) != string(le) {
		t.Errorf("encode:\n% x\nwant\n% x", got, le)
	}
	// Compile gives the same bytes as encode(compile()).
	got, all, err := Compile(rules("allow a"))
	if err != nil || !all || string(got) != string(le[4*8:]) {
		t.Errorf("Compile(allow a) = % x, %v, %v", got, all, err)
	}
}

func TestEmulateErrors(t *testing.T) {
	for _, tc := range []struct {
		rules []configs.DeviceRule
		want  string
	}{
		{rules("deny a", "allow c *:* rwm", "deny c 1:3 w"), `device rule 2 (deny c 1:3 w): cannot punch a hole in the wider rule "allow c *:* rwm", which goes on applying w to these devices`},
		{rules("deny a", "allow c 1:* r", "deny c 1:3 rw"), `device rule 2 (deny c 1:3 rw): cannot punch a hole in the wider rule "allow c 1:* r", which goes on applying r`},
		{rules("allow a", "deny b *:0 m", "allow b 8:0 m"), `device rule 2 (allow b 8:0 m): cannot punch a hole in the wider rule "deny b *:0 m"`},
		{rules("deny a", "allow x 1:3 r"), `device rule 1 (allow x 1:3 r): type 'x' is not one of a, b, c`},
		{rules("allow c 1:3 rx"), `device rule 0 (allow c 1:3 rx): access "rx" is not made of r, w and m`},
		{rules("allow c 4294967295:3 r"), `major 4294967295 is neither -1 (any) nor a device number`},
		{rules("allow c 1:-2 r"), `minor -2 is neither -1 (any) nor a device number`},
	} {
		_, err := emulate(tc.rules)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("emulate(%s) = %v, want an error with %q", list(tc.rules), err, tc.want)
		}
	}
	// Neither a wildcard of another type nor a disjoint access is a hole.
	for _, rs := range [][]configs.DeviceRule{
		rules("deny a", "allow c *:* m", "deny c 1:3 rw", "deny b 1:3 m"),
		rules("deny a", "allow c 1:3 rwm", "deny c *:* rwm"),
		rules("allow a", "deny c 1:* w", "allow c 1:3 r", "allow c 1:* w"),
	} {
		if _, err := emulate(rs); err != nil {
			t.Errorf("emulate(%s): %v", list(rs), err)
		}
	}
}

// run interprets the handful of opcodes compile emits over a
// bpf_cgroup_dev_ctx, refusing anything else, reads of unset registers
// and backward or out-of-range jumps, and returns R0.
func run(prog []insn, typ, access uint16, major, minor uint32) (uint64, error) {
	var reg [11]uint64
	set := uint16(1<<r1 | 1<<10) // R1 = ctx, R10 = frame pointer
	ctx := [3]uint32{uint32(access)<<16 | uint32(typ), major, minor}
	read := func(r uint8) (uint64, error) {
		if r > 10 || set&(1<<r) == 0 {
			return 0, fmt.Errorf("read of unset r%d", r)
		}
		return reg[r], nil
	}
	write := func(r uint8, v uint64) error {
		if r == r1 || r >= 10 {
			return fmt.Errorf("write to r%d", r)
		}
		reg[r], set = v, set|1<<r
		return nil
	}
	for pc := 0; pc < len(prog); {
		in := prog[pc]
		pc++
		jump := func(cond bool) error {
			if in.off < 0 {
				return fmt.Errorf("backward jump at %d", pc-1)
			}
			if cond {
				pc += int(in.off)
			}
			return nil
		}
		var err error
		switch in.code {
		case unix.BPF_LDX | unix.BPF_MEM | unix.BPF_W:
			if in.src != r1 || in.off < 0 || in.off%4 != 0 || int(in.off)/4 >= len(ctx) {
				return 0, fmt.Errorf("bad context load %s", in)
			}
			err = write(in.dst, uint64(ctx[in.off/4]))
		case unix.BPF_ALU | unix.BPF_MOV | unix.BPF_K:
			err = write(in.dst, uint64(uint32(in.imm)))
		case unix.BPF_ALU | unix.BPF_MOV | unix.BPF_X:
			var v uint64
			if v, err = read(in.src); err == nil {
				err = write(in.dst, uint64(uint32(v)))
			}
		case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K, unix.BPF_ALU | unix.BPF_RSH | unix.BPF_K:
			var v uint64
			if v, err = read(in.dst); err == nil {
				if in.code&0xf0 == unix.BPF_AND {
					err = write(in.dst, uint64(uint32(v)&uint32(in.imm)))
				} else {
					err = write(in.dst, uint64(uint32(v)>>(in.imm&31)))
				}
			}
		case unix.BPF_JMP32 | unix.BPF_JNE | unix.BPF_K, unix.BPF_JMP32 | unix.BPF_JSET | unix.BPF_K:
			var v uint64
			if v, err = read(in.dst); err == nil {
				if in.code&0xf0 == unix.BPF_JNE {
					err = jump(uint32(v) != uint32(in.imm))
				} else {
					err = jump(uint32(v)&uint32(in.imm) != 0)
				}
			}
		case unix.BPF_JMP | unix.BPF_JA:
			err = jump(true)
		case unix.BPF_JMP | unix.BPF_EXIT:
			return read(r0)
		default:
			return 0, fmt.Errorf("opcode not interpreted: %s", in)
		}
		if err != nil {
			return 0, fmt.Errorf("at %d (%s): %w", pc-1, in, err)
		}
	}
	return 0, errors.New("ran off the end")
}

// v1 is the reference: the v1 devices controller's own algorithm
// (security/device_cgroup.c), written out separately from emulate. It
// also reports whether a rule would have left access that it removes in
// force through a wider exception (what emulate refuses).
type v1 struct {
	allow bool
	exc   []v1exc
}

type v1exc struct {
	typ          rune
	major, minor int64
	access       string
}

func (c *v1) write(r configs.DeviceRule) (hole bool) {
	if r.Type == 'a' {
		*c = v1{allow: r.Allow}
		return false
	}
	if r.Allow != c.allow { // dev_exception_add
		for i, e := range c.exc {
			if e.typ == r.Type && e.major == r.Major && e.minor == r.Minor {
				c.exc[i].access = union(e.access, r.Access)
				return false
			}
		}
		c.exc = append(c.exc, v1exc{r.Type, r.Major, r.Minor, union("", r.Access)})
		return false
	}
	// dev_exception_rm: exact matches only.
	var keep []v1exc
	for _, e := range c.exc {
		if e.typ == r.Type && e.major == r.Major && e.minor == r.Minor {
			e.access = minus(e.access, r.Access)
			if e.access == "" {
				continue
			}
		} else if e.typ == r.Type && (e.major == -1 || e.major == r.Major) && (e.minor == -1 || e.minor == r.Minor) && union("", e.access) != minus(e.access, r.Access) {
			hole = true
		}
		keep = append(keep, e)
	}
	c.exc = keep
	return hole
}

func union(a, b string) string {
	var s string
	for _, c := range "rwm" {
		if strings.ContainsRune(a, c) || strings.ContainsRune(b, c) {
			s += string(c)
		}
	}
	return s
}

func minus(a, b string) string {
	var s string
	for _, c := range "rwm" {
		if strings.ContainsRune(a, c) && !strings.ContainsRune(b, c) {
			s += string(c)
		}
	}
	return s
}

// check is devcgroup_legacy_check_permission.
func (c *v1) check(typ rune, major, minor uint32, access string) bool {
	for _, e := range c.exc {
		if e.typ != typ || (e.major != -1 && uint32(e.major) != major) || (e.minor != -1 && uint32(e.minor) != minor) {
			continue
		}
		if c.allow && union("", access) != minus(access, e.access) { // match_exception_partial
			return false
		}
		if !c.allow && minus(access, e.access) == "" { // match_exception
			return true
		}
	}
	return c.allow
}

func randomRules(rnd *rand.Rand) []configs.DeviceRule {
	pick := func(vs ...int64) int64 { return vs[rnd.IntN(len(vs))] }
	accesses := []string{"", "r", "w", "m", "rw", "rm", "wm", "rwm", "mr"}
	var rs []configs.DeviceRule
	for range rnd.IntN(9) {
		r := configs.DeviceRule{
			Allow:  rnd.IntN(2) == 0,
			Type:   rune("aacccbbb"[rnd.IntN(8)]),
			Major:  pick(-1, -1, 1, 8, 0x80000001),
			Minor:  pick(-1, -1, 3, 5, 0xfffffffe),
			Access: accesses[rnd.IntN(len(accesses))],
		}
		rs = append(rs, r)
	}
	return rs
}

// TestAgainstV1 runs the compiled program of many random rule lists on
// every device and access that tells their rules apart, and compares its
// answers with the v1 controller's.
func TestAgainstV1(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	lists := [][]configs.DeviceRule{nil, defaultRules, append(rules("deny a", "allow b 8:* rw"), defaultRules...)}
	for range 5000 {
		lists = append(lists, randomRules(rnd))
	}
	var compared, refused int
	for _, rl := range lists {
		var ref v1
		hole := false
		for _, r := range rl {
			hole = ref.write(r) || hole
		}
		rs, err := emulate(rl)
		if hole {
			if err == nil || !strings.Contains(err.Error(), "cannot punch a hole") {
				t.Fatalf("%s: v1 would keep access a rule takes away, but emulate says %v", list(rl), err)
			}
			refused++
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", list(rl), err)
		}
		prog := compile(rs)
		for _, typ := range []rune{'b', 'c'} {
			for _, major := range []uint32{0, 1, 8, 136, 0x80000001, 0xffffffff} {
				for _, minor := range []uint32{0, 3, 5, 0xfffffffe, 0xffffffff} {
					for access := range uint16(8) {
						bt := uint16(devChar)
						if typ == 'b' {
							bt = devBlock
						}
						got, err := run(prog, bt, access, major, minor)
						if err != nil {
							t.Fatalf("%s: %v\n%s", list(rl), err, disasm(prog))
						}
						want := ref.check(typ, major, minor, accessString(access))
						if (got == 1) != want || got > 1 {
							t.Fatalf("rules %s, %c %d:%d %q: program says %d, v1 says %v\n%s",
								list(rl), typ, major, minor, accessString(access), got, want, disasm(prog))
						}
						compared++
					}
				}
			}
		}
		// Access bits the kernel does not define yet are never allowed by
		// an exception, nor denied by one.
		if got, _ := run(prog, devChar, 0x8|accRead, 1, 3); got == 1 && !rs.defaultAllow {
			t.Fatalf("%s: an unknown access bit is allowed\n%s", list(rl), disasm(prog))
		}
	}
	t.Logf("%d rule lists, %d refused as v1 would ignore a rule; %d answers compared", len(lists), refused, compared)
	if refused == 0 || refused > len(lists)/2 {
		t.Errorf("%d of %d lists refused: the generator does not exercise both sides", refused, len(lists))
	}
}
