package devices

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/husk-runtime/husk/libcontainer/diag"
	"runtime"
	"unsafe"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/system"
	"golang.org/x/sys/unix"
)

// ptr is an __aligned_u64 holding a user-space address: an unsafe.Pointer
// rather than a uintptr, so that what it points to stays alive, and is
// updated if it is on a stack that moves.
type ptr = unsafe.Pointer

// That takes 64-bit pointers (husk is built for 64-bit machines only):
// this constant does not compile elsewhere.
const _ = uint(unsafe.Sizeof(ptr(nil)) - 8)

// The parts of union bpf_attr this package uses (include/uapi/linux/bpf.h).
// The kernel takes the size passed and wants anything past what it knows
// zeroed, so each is only as long as the fields set.

// progLoadAttr is bpf_attr for BPF_PROG_LOAD.
type progLoadAttr struct {
	progType    uint32
	insnCnt     uint32
	insns       ptr
	license     ptr
	logLevel    uint32
	logSize     uint32
	logBuf      ptr
	kernVersion uint32
	_           uint32 // prog_flags
	progName    [unix.BPF_OBJ_NAME_LEN]byte
}

// progAttachAttr is bpf_attr for BPF_PROG_ATTACH and BPF_PROG_DETACH.
type progAttachAttr struct {
	targetFd    uint32
	attachBpfFd uint32
	attachType  uint32
	attachFlags uint32
}

// progQueryAttr is bpf_attr for BPF_PROG_QUERY.
type progQueryAttr struct {
	targetFd   uint32
	attachType uint32
	_          uint32 // query_flags
	_          uint32 // attach_flags
	progIDs    ptr
	progCnt    uint32
	_          uint32
}

// getFdByIDAttr is bpf_attr for BPF_PROG_GET_FD_BY_ID.
type getFdByIDAttr struct {
	progID uint32
	_      uint32 // next_id
	_      uint32 // open_flags
}

func bpf[T any](cmd int, attr *T) (int, error) {
	for try := 0; ; try++ {
		r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(unsafe.Pointer(attr)), unsafe.Sizeof(*attr))
		runtime.KeepAlive(attr)
		if errno == 0 {
			return int(r), nil
		}
		// The verifier gives up with EAGAIN when a signal is pending.
		if (errno == unix.EINTR || errno == unix.EAGAIN) && try < 10 {
			continue
		}
		return -1, errnoError(errno)
	}
}

// errnoError reads "EPERM (operation not permitted)" and is errors.Is the
// errno.
func errnoError(errno unix.Errno) error {
	return fmt.Errorf("%s (%w)", unix.ErrnoName(errno), errno)
}

// progName names the program in bpftool's listings.
const progName = "husk_devices"

// license is the program's license. The kernel only asks GPL-compatible
// ones before letting a program call GPL-only helpers, which this one
// does not call.
var license = []byte("Apache-2.0\x00")

// loadProgram loads a BPF_PROG_TYPE_CGROUP_DEVICE program and returns its
// fd. On failure it loads it once more with the verifier's log on, so the
// error can say why.
func loadProgram(prog []byte) (int, error) {
	attr := progLoadAttr{
		progType: unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		insnCnt:  uint32(len(prog) / 8),
		insns:    unsafe.Pointer(&prog[0]),
		license:  unsafe.Pointer(&license[0]),
	}
	copy(attr.progName[:], progName)
	fd, err := bpf(unix.BPF_PROG_LOAD, &attr)
	if err == nil {
		return fd, nil
	}
	log := make([]byte, 1<<20)
	attr.logLevel, attr.logSize, attr.logBuf = 1, uint32(len(log)), unsafe.Pointer(&log[0])
	if fd, err2 := bpf(unix.BPF_PROG_LOAD, &attr); err2 == nil {
		return fd, nil // the first failure was transient
	}
	if n := bytes.IndexByte(log, 0); n > 0 {
		return -1, fmt.Errorf("%w; verifier log:\n%s", err, bytes.TrimSpace(log[:n]))
	}
	return -1, err
}

// attachedPrograms returns the ids of the device programs attached to the
// cgroup itself (not those it inherits).
func attachedPrograms(dirFd int) ([]uint32, error) {
	ids := make([]uint32, 16)
	for {
		attr := progQueryAttr{
			targetFd:   uint32(dirFd),
			attachType: unix.BPF_CGROUP_DEVICE,
			progIDs:    unsafe.Pointer(&ids[0]),
			progCnt:    uint32(len(ids)),
		}
		_, err := bpf(unix.BPF_PROG_QUERY, &attr)
		if errors.Is(err, unix.ENOSPC) && attr.progCnt > uint32(len(ids)) {
			ids = make([]uint32, attr.progCnt) // more than fit: the kernel said how many
			continue
		}
		if err != nil {
			return nil, err
		}
		return ids[:attr.progCnt], nil
	}
}

// detachProgram detaches the program with that id from the cgroup. One
// gone meanwhile (unloaded, or detached by someone else) is not an error.
func detachProgram(dirFd int, id uint32) error {
	fd, err := bpf(unix.BPF_PROG_GET_FD_BY_ID, &getFdByIDAttr{progID: id})
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get program %d: %w", id, err)
	}
	defer unix.Close(fd)
	_, err = bpf(unix.BPF_PROG_DETACH, &progAttachAttr{
		targetFd:    uint32(dirFd),
		attachBpfFd: uint32(fd),
		attachType:  unix.BPF_CGROUP_DEVICE,
	})
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("detach program %d: %w", id, err)
	}
	return nil
}

// Apply makes rules the device filter of the cgroup v2 directory dir: it
// compiles them, loads the program, attaches it with BPF_F_ALLOW_MULTI and
// then detaches every device program that was attached to dir before. The
// old and new programs are both attached for a moment, when an access must
// pass both: there is no window in which the cgroup has no filter, or a
// laxer one than either. A program is attached even when the rules allow
// everything (as runc does), so that an update to "allow everything"
// replaces a stricter filter.
//
// Errors name the step that failed (and carry the verifier's log if the
// kernel refused the program). As in runc, an EPERM from bpf(2) is only
// ignored where nothing would be enforced anyway (the rules allow
// everything and no filter is attached) or, with a warning, where husk runs
// in a user namespace, which cannot attach device programs at all.
func Apply(dir string, rules []configs.DeviceRule) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("cgroup v2 device filter for %s: %w", dir, err)
		}
	}()
	rs, err := emulate(rules)
	if err != nil {
		return err
	}
	prog := encode(compile(rs))

	dirFd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		var errno unix.Errno
		if errors.As(err, &errno) {
			err = errnoError(errno)
		}
		return fmt.Errorf("open the cgroup directory: %w", err)
	}
	defer unix.Close(dirFd)

	old, err := attachedPrograms(dirFd)
	if err != nil {
		if skip(err, rs, nil) {
			return nil
		}
		return fmt.Errorf("query attached programs (BPF_PROG_QUERY): %w", err)
	}
	progFd, err := loadProgram(prog)
	if err != nil {
		if skip(err, rs, old) {
			return nil
		}
		return fmt.Errorf("load program (BPF_PROG_LOAD): %w", err)
	}
	defer unix.Close(progFd)
	_, err = bpf(unix.BPF_PROG_ATTACH, &progAttachAttr{
		targetFd:    uint32(dirFd),
		attachBpfFd: uint32(progFd),
		attachType:  unix.BPF_CGROUP_DEVICE,
		attachFlags: unix.BPF_F_ALLOW_MULTI,
	})
	if err != nil {
		if skip(err, rs, old) {
			return nil
		}
		return fmt.Errorf("attach program (BPF_PROG_ATTACH, BPF_F_ALLOW_MULTI): %w", err)
	}
	if len(old) > 1 {
		if err := diag.Warn(diag.Warning{Field: "linux.resources.devices", Msg: "cgroup v2 device filter: more than one program was attached; detaching them all", Attrs: []any{"cgroup", dir, "ids", old}}); err != nil {
			return err
		}
	}
	for _, id := range old {
		if err := detachProgram(dirFd, id); err != nil {
			return fmt.Errorf("replace the old filter: %w", err)
		}
	}
	return nil
}

// skip says whether a bpf(2) failure may be ignored: EPERM where nothing
// would be enforced anyway (the rules allow everything and no filter is
// attached), or where husk runs in a user namespace, which cannot load
// device programs at all.
func skip(err error, rs *ruleset, old []uint32) bool {
	if !errors.Is(err, unix.EPERM) {
		return false
	}
	if rs.allowsEverything() && len(old) == 0 {
		return true
	}
	if inUserNamespace() {
		// Under --strict the failure stands.
		return diag.Warn(diag.Warning{Field: "linux.resources.devices", Msg: "cgroup v2 device filter not applied: bpf(2) is not permitted in a user namespace; the container's device rules are not enforced", Attrs: []any{"err", err}}) == nil
	}
	return false
}

// inUserNamespace reports whether husk runs in a user namespace other than
// the initial one, whose uid_map is the identity over every id.
func inUserNamespace() bool {
	b, err := system.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := bytes.Fields(b)
	return !(len(f) == 3 && string(f[0]) == "0" && string(f[1]) == "0" && string(f[2]) == "4294967295")
}
