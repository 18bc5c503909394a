package initproto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// # The plan
//
// The init's whole work after the C stage's namespaces is one Plan frame:
// the parent decides everything (the mounts in order with their flags, the
// devices, masked and read-only paths, the process's credentials,
// capabilities, seccomp program already compiled, ...) and the init, still
// in C and without the Go runtime, executes it record by record and execs
// the workload. The plan is data: the C side has no policy and parses no
// JSON, it only runs a loop over typed records, each a syscall or a few.
//
// The payload is PlanMagic, then records:
//
//	+--------------+--------------+---------------------------+
//	| op: u16 LE   | len: u32 LE  | fields (len bytes)        |
//	+--------------+--------------+---------------------------+
//
// and each op's fields are, in the order Ops gives them, of these kinds:
//
//	u  u32 LE
//	U  u64 LE
//	s  string: u32 LE length, the bytes, a NUL (not counted)
//	S  string list: u32 LE count, then that many strings
//	b  bytes: u32 LE length, the bytes
//	L  u32 list: u32 LE count, then that many u32
//
// A record must use exactly its length; an unknown op, a field running
// past its record, a string without its NUL or with one inside, or a
// record left over is refused. The C decoder (nsenter/plan.c) takes its op
// table from nsenter/plan_ops.h, which `go generate` writes from Ops
// below; TestPlanHeaderCurrent fails when they differ.

// PlanMagic starts a Plan payload; MaxPlan bounds it.
const (
	PlanMagic = "HSP1"
	MaxPlan   = 1 << 20
)

// OpType is a plan record's op.
type OpType uint16

// OpDef is one op of the plan: its wire number, its name and its fields.
type OpDef struct {
	Type   OpType
	Name   string
	Fields []FieldDef
	Doc    string
}

// FieldDef is a field of an op: its name and kind (see the package doc).
type FieldDef struct {
	Name string
	Kind byte
}

func fieldsOf(spec string) []FieldDef {
	if spec == "" {
		return nil
	}
	var out []FieldDef
	for _, p := range strings.Fields(spec) {
		name, kind, _ := strings.Cut(p, ":")
		out = append(out, FieldDef{Name: name, Kind: kind[0]})
	}
	return out
}

// Flag bits of the ops' flag fields (generated into plan_ops.h as
// HUSK_<NAME>).
var PlanFlags = map[string]uint32{
	// mount.opts
	"MNT_TMPCOPYUP":       1 << 0, // fill the new tmpfs with what it covers
	"MNT_ORDINARY_DIR":    1 << 1, // refuse anything but a directory there (proc, sysfs)
	"MNT_DEFER_RO":        1 << 2, // made read-only by deferred-ro, once what is below is in place
	"MNT_SRC_PARENT":      1 << 3, // the source comes from the parent (MountRequest), always
	"MNT_SRC_UNREACHABLE": 1 << 4, // ... or when the init cannot stat it
	"MNT_IDMAP":           1 << 5, // the parent's source is a detached idmapped tree
	"MNT_TMPFS_MODE":      1 << 6, // a tmpfs takes the mode of what it covers (as mode=)
	// mknod.flags
	"DEV_IN_DEV": 1 << 0, // under /dev: replace what is there; elsewhere keep the image's file
	// hook.flags
	"HOOK_CWD_ROOTFS":    1 << 0, // run in the rootfs (createContainer)
	"HOOK_ENV_SET":       1 << 1, // env is the hook's own, else it inherits the init's (empty)
	"HOOK_ENV_PROCESS":   1 << 2, // without an env of its own: the process's (startContainer)
	"HOOK_STATE_CREATED": 1 << 3, // status "created", else "creating"
	// pivot.mode
	"PIVOT_ROOT":   0,
	"PIVOT_NONE":   1, // --no-pivot: the host's mounts detached, then move mount and chroot
	"PIVOT_CHROOT": 2, // no mount namespace of its own: chroot only
	// console.flags
	"CONSOLE_MOUNT":       1 << 0, // bind the pty on /dev/console (the init's)
	"CONSOLE_CLEAR_ONLCR": 1 << 1,
	// ready.flags
	"READY_JOIN_AFTER":  1 << 0, // exec --ignore-paused: wait for Joined after TakenOver
	"READY_KEEP_SOCKET": 1 << 1, // a seccomp notify listener still goes to the parent
	// env.flags
	"ENV_HOME_FROM_PASSWD": 1 << 0, // no HOME: the container's /etc/passwd's, else "/"
}

// Ops are the plan's ops. Numbers are wire format: never renumber. The
// table is built on first use: commands that make no plan (state, kill,
// delete, ...) do not pay for it at start-up.
var Ops = sync.OnceValue(func() []OpDef {
	return []OpDef{
		{1, "prep-root", fieldsOf("prop:u parent_prop:u rootfs:s"),
			`mount("", "/", prop); the mount the rootfs is on gets parent_prop; bind the rootfs on itself; it is the root for every path below`},
		{2, "prep-root-nomntns", fieldsOf("rootfs:s"),
			`no mount namespace of its own: bind the rootfs on itself, slave`},
		{3, "mount", fieldsOf("index:u bind:u flags:u clear:u rec_set:U rec_clr:U opts:u source:s dest:s fstype:s data:s propagation:L"),
			`one of config.mounts (index): make dest inside the rootfs, mount, then propagation, a bind's exact flags (keeping locked ones in a user namespace), recursive attributes`},
		{4, "bind-cgroup", fieldsOf("source:s dest:s flags:u"),
			`bind a host cgroup directory on dest and remount it with flags`},
		{5, "guard-cgroups", nil,
			`a user namespace without a cgroup one and nothing mounted at /sys/fs/cgroup: make the host's hierarchies there read-only (CVE-2023-25809)`},
		{6, "mknod", fieldsOf("path:s type:u major:u minor:u mode:u uid:u gid:u flags:u"),
			`a device node (bound from the host's where mknod is refused)`},
		{7, "console-file", nil, `replace /dev/console by an empty file, the pty's mount point`},
		{8, "symlink", fieldsOf("target:s path:s replace:u"), `a symlink inside the rootfs (an existing entry is kept, unless replace)`},
		{9, "readonly", fieldsOf("path:s"), `bind path on itself, read-only, recursively`},
		{10, "mask", fieldsOf("data:s data2:s paths:S"), `mask each path: a file under /dev/null, a directory under one shared read-only tmpfs (data, or data2 if the kernel wants more)`},
		{11, "mkdir", fieldsOf("path:s"), `make directory path inside the rootfs if missing`},
		{12, "deferred-ro", nil, `make the MNT_DEFER_RO mounts read-only`},
		{13, "root-ro", nil, `make the root read-only`},
		{14, "parent-hooks", nil, `ask the parent to run the prestart and createRuntime hooks (HookRequest, HookDone)`},
		{15, "hook-state", fieldsOf("before:s after:s"), `the OCI state JSON given to hooks: before + "\"status\":\"...\",\"pid\":N" + after`},
		{16, "hook", fieldsOf("kind:s index:u timeout:u flags:u path:s args:S env:S"), `run a hook with the state on stdin, timeout in seconds (0: none)`},
		{17, "sysctl", fieldsOf("name:s path:s value:s"), `write value to /proc/sys/<path> (the sysctl name's path)`},
		{18, "oom", fieldsOf("value:s"), `write /proc/self/oom_score_adj`},
		{19, "pivot", fieldsOf("mode:u final_prop:u rootfs:s"), `enter the rootfs (PIVOT_*), then final_prop on "/"`},
		{20, "console", fieldsOf("flags:u rows:u cols:u uid:u sockfd:u"), `make the pty, give it to uid, send the master over sockfd, make it the controlling terminal and stdio`},
		{21, "hostname", fieldsOf("name:s"), `sethostname`},
		{22, "domainname", fieldsOf("name:s"), `setdomainname`},
		{23, "keyring", fieldsOf("name:s"), `join a new session keyring`},
		{24, "personality", fieldsOf("persona:u"), `personality(2)`},
		{25, "mempolicy", fieldsOf("mode:u nodes:b"), `set_mempolicy(2)`},
		{26, "sched", fieldsOf("policy:u flags:U nice:u priority:u runtime:U deadline:U period:U own_cpuset:u"), `sched_setattr(2)`},
		{27, "ioprio", fieldsOf("value:u"), `ioprio_set(2) for the process`},
		{28, "lsm-exec", fieldsOf("attr:s value:s what:s"), `write value to /proc/thread-self/<attr> (an LSM's exec label)`},
		{29, "rlimit", fieldsOf("resource:u soft:U hard:U name:s"), `prlimit(2)`},
		{30, "umask", fieldsOf("mask:u"), `umask(2)`},
		{31, "env", fieldsOf("env:S uid:u flags:u"), `the workload's environment (ENV_HOME_FROM_PASSWD: add HOME for uid)`},
		{32, "caps-bounding", fieldsOf("bounding:U"), `drop from the bounding set what is not in it; keep capabilities across the user switch`},
		{33, "cwd", fieldsOf("path:s"), `chdir (again after the user switch if root may not); getcwd must be inside the root`},
		{34, "seccomp", fieldsOf("flags:u notify:u dumpable:u insns:b"), `load the filter; a notify listener goes to the parent (SeccompFd, SeccompDone)`},
		{35, "user", fieldsOf("uid:u gid:u groups:L"), `setgroups, setresgid, setresuid`},
		{36, "caps", fieldsOf("effective:U permitted:U inheritable:U ambient:U"), `capset and the ambient set (a failed raise is a warning)`},
		{37, "nnp", nil, `PR_SET_NO_NEW_PRIVS`},
		{38, "preserve-fds", fieldsOf("count:u"), `let fds 3..3+count-1 through the exec`},
		{39, "lookup", fieldsOf("file:s"), `find the executable as execvp would, with the env's PATH`},
		{40, "ready", fieldsOf("flags:u"), `Ready (with the warnings), then Handoff, clear the parent death signal, TakenOver; close the socket`},
		{41, "fifo-open", fieldsOf("fd:u"), `reopen the exec fifo for writing through a procfs of our own: wait for start`},
		{42, "fifo-done", fieldsOf("cannot_exec:s"), `tell start "0" (or "2" and why the workload cannot start, then exit)`},
		{43, "exec", fieldsOf("argv:S"), `execve the looked-up executable`},
		{44, "chroot", fieldsOf("path:s"), `chroot and chdir / (an exec into a container without a mount namespace)`},
		{45, "parent-death", nil, `set the parent death signal again (credential changes clear it); exit if the parent is gone`},
		{46, "reopen-null", nil, `stdio (fds 0-2) open on a null device: reopened on the container's /dev/null`},
	}
})

// OpNumber returns the op's wire number by name; it panics on a name no op
// has (a programming error).
func OpNumber(name string) OpType {
	for _, d := range Ops() {
		if d.Name == name {
			return d.Type
		}
	}
	panic("initproto: no op " + name)
}

func opDef(t OpType) (*OpDef, bool) {
	ops := Ops()
	for i := range ops {
		if ops[i].Type == t {
			return &ops[i], true
		}
	}
	return nil, false
}

// Op is one record of a plan: an op and its field values, in order. A
// value is a uint32 (u), uint64 (U), string (s), []string (S), []byte (b)
// or []uint32 (L).
type Op struct {
	Type   OpType
	Fields []any
}

// NewOp makes an op by name; the values must match its fields.
func NewOp(name string, fields ...any) Op {
	return Op{Type: OpNumber(name), Fields: fields}
}

// Name is the op's name.
func (o Op) Name() string {
	if d, ok := opDef(o.Type); ok {
		return d.Name
	}
	return fmt.Sprintf("op(%d)", o.Type)
}

// Field returns the value of the op's field by name (nil if it has none).
func (o Op) Field(name string) any {
	d, ok := opDef(o.Type)
	if !ok {
		return nil
	}
	for i, fd := range d.Fields {
		if fd.Name == name && i < len(o.Fields) {
			return o.Fields[i]
		}
	}
	return nil
}

// String renders the op as "name field=value ..." (zero and empty values
// left out), for tests and --debug.
func (o Op) String() string {
	d, ok := opDef(o.Type)
	if !ok {
		return fmt.Sprintf("op(%d)", o.Type)
	}
	var b strings.Builder
	b.WriteString(d.Name)
	for i, fd := range d.Fields {
		if i >= len(o.Fields) {
			break
		}
		v := o.Fields[i]
		switch x := v.(type) {
		case uint32:
			if x == 0 {
				continue
			}
		case uint64:
			if x == 0 {
				continue
			}
		case string:
			if x == "" {
				continue
			}
			v = fmt.Sprintf("%q", x)
		case []string:
			if len(x) == 0 {
				continue
			}
		case []byte:
			if len(x) == 0 {
				continue
			}
			v = fmt.Sprintf("<%d bytes>", len(x))
		case []uint32:
			if len(x) == 0 {
				continue
			}
		}
		fmt.Fprintf(&b, " %s=%v", fd.Name, v)
	}
	return b.String()
}

// EncodePlan returns the Plan payload of ops, or an error for an op whose
// values do not match its fields, or a plan too long.
func EncodePlan(ops []Op) ([]byte, error) {
	out := []byte(PlanMagic)
	for _, o := range ops {
		d, ok := opDef(o.Type)
		if !ok {
			return nil, fmt.Errorf("plan: unknown op %d", o.Type)
		}
		if len(o.Fields) != len(d.Fields) {
			return nil, fmt.Errorf("plan: %s: %d values for %d fields", d.Name, len(o.Fields), len(d.Fields))
		}
		var v []byte
		for i, fd := range d.Fields {
			var err error
			if v, err = appendField(v, fd.Kind, o.Fields[i]); err != nil {
				return nil, fmt.Errorf("plan: %s.%s: %w", d.Name, fd.Name, err)
			}
		}
		out = binary.LittleEndian.AppendUint16(out, uint16(o.Type))
		out = binary.LittleEndian.AppendUint32(out, uint32(len(v)))
		out = append(out, v...)
		if len(out) > MaxPlan {
			return nil, fmt.Errorf("plan longer than %d bytes", MaxPlan)
		}
	}
	return out, nil
}

func appendString(v []byte, s string) ([]byte, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, fmt.Errorf("string %q contains NUL", s)
	}
	v = binary.LittleEndian.AppendUint32(v, uint32(len(s)))
	v = append(v, s...)
	return append(v, 0), nil
}

func appendField(v []byte, kind byte, x any) ([]byte, error) {
	var err error
	switch kind {
	case 'u':
		n, ok := x.(uint32)
		if !ok {
			return nil, fmt.Errorf("want uint32, have %T", x)
		}
		return binary.LittleEndian.AppendUint32(v, n), nil
	case 'U':
		n, ok := x.(uint64)
		if !ok {
			return nil, fmt.Errorf("want uint64, have %T", x)
		}
		return binary.LittleEndian.AppendUint64(v, n), nil
	case 's':
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("want string, have %T", x)
		}
		return appendString(v, s)
	case 'S':
		ss, ok := x.([]string)
		if !ok {
			return nil, fmt.Errorf("want []string, have %T", x)
		}
		v = binary.LittleEndian.AppendUint32(v, uint32(len(ss)))
		for _, s := range ss {
			if v, err = appendString(v, s); err != nil {
				return nil, err
			}
		}
		return v, nil
	case 'b':
		b, ok := x.([]byte)
		if !ok {
			return nil, fmt.Errorf("want []byte, have %T", x)
		}
		v = binary.LittleEndian.AppendUint32(v, uint32(len(b)))
		return append(v, b...), nil
	case 'L':
		l, ok := x.([]uint32)
		if !ok {
			return nil, fmt.Errorf("want []uint32, have %T", x)
		}
		v = binary.LittleEndian.AppendUint32(v, uint32(len(l)))
		for _, n := range l {
			v = binary.LittleEndian.AppendUint32(v, n)
		}
		return v, nil
	}
	return nil, fmt.Errorf("unknown field kind %q", kind)
}

// DecodePlan is EncodePlan's inverse (the Go twin of the C decoder, for
// tests and --debug).
func DecodePlan(p []byte) ([]Op, error) {
	if len(p) < len(PlanMagic) || string(p[:len(PlanMagic)]) != PlanMagic {
		return nil, errors.New("plan: bad magic")
	}
	if len(p) > MaxPlan {
		return nil, errors.New("plan: too long")
	}
	p = p[len(PlanMagic):]
	var ops []Op
	for len(p) > 0 {
		if len(p) < 6 {
			return nil, errors.New("plan: truncated record header")
		}
		t := OpType(binary.LittleEndian.Uint16(p))
		n := binary.LittleEndian.Uint32(p[2:])
		p = p[6:]
		if uint64(n) > uint64(len(p)) {
			return nil, errors.New("plan: record runs past the end")
		}
		rec := p[:n]
		p = p[n:]
		d, ok := opDef(t)
		if !ok {
			return nil, fmt.Errorf("plan: unknown op %d", t)
		}
		o := Op{Type: t}
		for _, fd := range d.Fields {
			var v any
			var err error
			if v, rec, err = takeField(rec, fd.Kind); err != nil {
				return nil, fmt.Errorf("plan: %s.%s: %w", d.Name, fd.Name, err)
			}
			o.Fields = append(o.Fields, v)
		}
		if len(rec) != 0 {
			return nil, fmt.Errorf("plan: %s: %d bytes left over", d.Name, len(rec))
		}
		ops = append(ops, o)
	}
	return ops, nil
}

func takeU32(p []byte) (uint32, []byte, error) {
	if len(p) < 4 {
		return 0, nil, errors.New("truncated")
	}
	return binary.LittleEndian.Uint32(p), p[4:], nil
}

func takeString(p []byte) (string, []byte, error) {
	n, p, err := takeU32(p)
	if err != nil {
		return "", nil, err
	}
	if uint64(n)+1 > uint64(len(p)) || p[n] != 0 {
		return "", nil, errors.New("string truncated or not NUL-terminated")
	}
	s := string(p[:n])
	if strings.IndexByte(s, 0) >= 0 {
		return "", nil, errors.New("string contains NUL")
	}
	return s, p[n+1:], nil
}

func takeField(p []byte, kind byte) (any, []byte, error) {
	switch kind {
	case 'u':
		return takeU32(p)
	case 'U':
		if len(p) < 8 {
			return nil, nil, errors.New("truncated")
		}
		return binary.LittleEndian.Uint64(p), p[8:], nil
	case 's':
		return takeString(p)
	case 'S':
		n, p, err := takeU32(p)
		if err != nil {
			return nil, nil, err
		}
		if uint64(n) > uint64(len(p))/5 {
			return nil, nil, errors.New("string list longer than its record")
		}
		ss := make([]string, 0, n)
		for i := uint32(0); i < n; i++ {
			var s string
			if s, p, err = takeString(p); err != nil {
				return nil, nil, err
			}
			ss = append(ss, s)
		}
		return ss, p, nil
	case 'b':
		n, p, err := takeU32(p)
		if err != nil {
			return nil, nil, err
		}
		if uint64(n) > uint64(len(p)) {
			return nil, nil, errors.New("bytes truncated")
		}
		return append([]byte{}, p[:n]...), p[n:], nil
	case 'L':
		n, p, err := takeU32(p)
		if err != nil {
			return nil, nil, err
		}
		if uint64(n) > uint64(len(p))/4 {
			return nil, nil, errors.New("list longer than its record")
		}
		l := make([]uint32, n)
		for i := range l {
			l[i], p, _ = takeU32(p)
		}
		return l, p, nil
	}
	return nil, nil, fmt.Errorf("unknown field kind %q", kind)
}

// PlanHeader is the C header (nsenter/plan_ops.h) of the frame types and
// of the op table: op numbers, their field kinds, field indices and the
// flag bits.
func PlanHeader() string {
	var b strings.Builder
	b.WriteString("/* Generated by `go generate ./libcontainer/initproto` from plan.go: do not edit. */\n")
	b.WriteString("#ifndef HUSK_PLAN_OPS_H\n#define HUSK_PLAN_OPS_H\n\n")
	fmt.Fprintf(&b, "#define HUSK_PLAN_MAGIC %q\n#define HUSK_PLAN_MAX %d\n\n", PlanMagic, MaxPlan)
	fmt.Fprintf(&b, "/* The init's fds above its socket that are kept (initproto.FdRoles). */\n#define HUSK_FDS_AFTER_SOCKET %d\n\n", FdsAfterSocket)
	b.WriteString("/* Frame types (initproto.Type). */\n")
	types := make([]Type, 0, len(typeNames))
	for t := range typeNames {
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool { return types[i] < types[j] })
	for _, t := range types {
		fmt.Fprintf(&b, "#define HUSK_MSG_%s %d\n", cName(typeNames[t]), t)
	}
	b.WriteString("\n")
	maxOp, maxFields := 0, 0
	for _, d := range Ops() {
		cname := cName(d.Name)
		fmt.Fprintf(&b, "/* %s */\n#define HUSK_OP_%s %d\n", d.Doc, cname, d.Type)
		for i, fd := range d.Fields {
			fmt.Fprintf(&b, "#define HUSK_F_%s_%s %d\n", cname, cName(fd.Name), i)
		}
		maxOp = max(maxOp, int(d.Type))
		maxFields = max(maxFields, len(d.Fields))
	}
	fmt.Fprintf(&b, "\n#define HUSK_OP_MAX %d\n#define HUSK_OP_MAX_FIELDS %d\n\n", maxOp, maxFields)
	b.WriteString("/* Field kinds of each op, by op number (see initproto/plan.go). */\n")
	b.WriteString("static const char *const husk_op_kinds[HUSK_OP_MAX + 1] = {\n")
	for _, d := range Ops() {
		var kinds []byte
		for _, fd := range d.Fields {
			kinds = append(kinds, fd.Kind)
		}
		fmt.Fprintf(&b, "\t[HUSK_OP_%s] = %q,\n", cName(d.Name), string(kinds))
	}
	b.WriteString("};\n\nstatic const char *const husk_op_names[HUSK_OP_MAX + 1] = {\n")
	for _, d := range Ops() {
		fmt.Fprintf(&b, "\t[HUSK_OP_%s] = %q,\n", cName(d.Name), d.Name)
	}
	b.WriteString("};\n\n")
	names := make([]string, 0, len(PlanFlags))
	for n := range PlanFlags {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "#define HUSK_%s %#x\n", n, PlanFlags[n])
	}
	b.WriteString("\n#endif\n")
	return b.String()
}

func cName(s string) string {
	return strings.ToUpper(strings.ReplaceAll(s, "-", "_"))
}
