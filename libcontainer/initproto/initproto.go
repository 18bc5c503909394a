// Package initproto is the protocol between a husk command (the parent) and
// the `husk init` process it starts. It is the only place that defines it.
//
// # Transport
//
// The parent makes an AF_UNIX SOCK_STREAM socketpair and hands one end to the
// child as an inherited file descriptor whose number is argv[2] of
// `husk init <fd>`. The init's fds (libcontainer's layoutFds makes them):
//
//	0, 1, 2            stdio
//	3 .. 3+N-1         the caller's --preserve-fds (and LISTEN_FDS)
//	then, each only where there is one, in FdRoles order:
//	  container-pidfd  exec: a pidfd of the container's init, whose
//	                   namespaces are joined (bootstrap record)
//	  console-socket   the socket the pty master is sent over (plan)
//	  parent-pidfd     a pidfd of the parent, which the init must not
//	                   outlive until the handoff (bootstrap record)
//	  socket           this socket (argv[2])
//	  fifo             create: the exec fifo, O_PATH (plan)
//
// Nothing may come after the fifo: the C stage closes every fd above the
// socket + FdsAfterSocket first thing, and marks all but stdio
// close-on-exec before the plan runs; the plan's preserve-fds op lets the
// preserved ones through the workload's exec again.
//
// Every message is one frame:
//
//	+----------------+----------------+------------------------+
//	| length: u32 LE | type:   u16 LE | payload (length bytes) |
//	+----------------+----------------+------------------------+
//
// length counts the payload only and is at most MaxPayload. The C stage
// (libcontainer/nsenter/nsenter.c) reads and writes the same frames; its
// constants live in nsenter/proto.h and a test checks that both agree.
//
// # Conversation
//
// One line per step, in order. "C" is the nsenter constructor that runs in
// `husk init` before the Go runtime would start (and never lets it): the
// container's init is C from its first instruction to the workload's exec.
// "init" is the same C program after the bootstrap, running the plan.
//
//	step  direction      type          payload            when
//	1     parent -> C    Bootstrap     nsenter binary     always, first
//	2     C -> parent    UsernsReady   u32 pid            a new user namespace was made
//	3     parent -> C    MapsDone      (none)             after writing uid_map/gid_map
//	4     C -> parent    ChildPid      u32 pid            always: the pid that goes on, if
//	                                                      the C stage forked; else 0
//	5     parent -> init Plan          the plan (plan.go) always: every op the init runs,
//	                                                      in order, up to the exec
//	6     init -> parent HookRequest   (none)             the plan's parent-hooks op: run
//	                                                      prestart and createRuntime
//	7     parent -> init HookDone      (none)             after the hooks ran
//	8     init -> parent SeccompFd     u32 fd             the filter has notify rules: it
//	                                                      is loaded and this is the
//	                                                      listener's fd in the init
//	9     parent -> init SeccompDone   (none)             the parent has a copy of the
//	                                                      listener (pidfd_getfd) and has
//	                                                      sent it to the seccomp agent
//	10    init -> parent Ready         warnings           set up; waiting for `start`
//	                                   (NUL-separated)    (create) or about to exec (exec)
//	11    parent -> init Handoff       (none)             the container's state is written:
//	                                                      the init may outlive the parent
//	12    init -> parent TakenOver     (none)             the init cleared its parent death
//	                                                      signal: the parent may exit
//	13    parent -> init Joined        (none)             exec --ignore-paused only: the
//	                                                      process was moved into the
//	                                                      (frozen) cgroup after TakenOver
//
// Type 5 (Config, the Go init's JSON) is retired: the number stays taken.
//
// While it makes the mounts (between 5 and 8), the init may ask for the
// source of a bind mount it cannot reach itself (an idmapped mount, or a
// source hidden from a user namespace's root):
//
//	init -> parent MountRequest  u32 index         the index in Config.Mounts
//	parent -> init MountSource   (none) + one fd   the source, opened in the init's
//	                                               mount namespace: a detached
//	                                               idmapped tree, else an O_PATH fd
//
// MountSource is the one frame that carries a file descriptor (SCM_RIGHTS,
// with its first byte): WriteFd and ReadFd send and receive it.
//
// At any step C or init may send Error (EncodeError's fields: stage, op,
// path, errno, detail) instead and exit; the parent turns it into the
// command's one-line error. The parent writes the container's state after
// Ready, then sends Handoff; once TakenOver comes back (and, for exec
// --ignore-paused, Joined has gone) it closes its end; the init then waits
// on the exec fifo (create) or execs at once (exec). After the fifo is
// opened by `start`, the init writes one byte to it: "0" when the exec is
// about to happen, or "2" and a reason when the workload cannot run (a
// seccomp filter that kills its execve), which `start` reports.
//
// Until Handoff the init must not outlive the parent: the C stage sets
// PR_SET_PDEATHSIG (SIGKILL) first thing and checks a pidfd of the parent
// (nsenter/proto.h HUSK_REC_PARENT_PIDFD) once it has it; the plan's
// parent-death op sets it again after every credential change (which
// clears it), and it is cleared at Handoff. Each wait of the parent for
// the init is bounded (initTimeout in ../spawn_linux.go).
//
// # Log records
//
// With --debug the parent asks for a record of each step: the Bootstrap's
// log level record (nsenter/proto.h HUSK_REC_LOG_LEVEL). Then, before any
// frame of the table above, C or init may send any number of
//
//	C/init -> parent  Log  "level" NUL message   (level: debug, info, warning, error)
//
// which the parent writes to its log (stderr or --log, text or json) and
// goes on reading. Without --debug none is sent: nothing is formatted or
// written. Only one process writes at a time: the C stage logs nothing in
// the process it forks into a pid namespace until the forking one has sent
// ChildPid (after which it writes nothing). No record follows Ready.
//
// An EOF where a frame is expected is an error for both sides: if the parent
// dies mid-create, the init sees EOF and exits instead of lingering.
package initproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// FdRoles are the init's fds after stdio and the preserved ones, in the
// order they come (see the package doc); FdsAfterSocket is how many may
// follow the socket.
var FdRoles = []string{"container-pidfd", "console-socket", "parent-pidfd", "socket", "fifo"}

const FdsAfterSocket = 1

// Type identifies a frame.
type Type uint16

// Frame types. The numbers are part of the wire format shared with
// nsenter/proto.h: never renumber.
const (
	Bootstrap    Type = 1
	UsernsReady  Type = 2
	MapsDone     Type = 3
	ChildPid     Type = 4
	Config       Type = 5
	HookRequest  Type = 6
	HookDone     Type = 7
	Ready        Type = 8
	Error        Type = 9
	Joined       Type = 10
	MountRequest Type = 11
	MountSource  Type = 12
	SeccompFd    Type = 13
	SeccompDone  Type = 14
	Log          Type = 15
	Handoff      Type = 16
	TakenOver    Type = 17
	Plan         Type = 18
)

var typeNames = map[Type]string{
	Bootstrap: "bootstrap", UsernsReady: "userns-ready", MapsDone: "maps-done",
	ChildPid: "child-pid", Config: "config", HookRequest: "hook-request",
	HookDone: "hook-done", Ready: "ready", Error: "error", Joined: "joined",
	MountRequest: "mount-request", MountSource: "mount-source",
	SeccompFd: "seccomp-fd", SeccompDone: "seccomp-done", Log: "log", Handoff: "handoff",
	TakenOver: "taken-over", Plan: "plan",
}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type(%d)", uint16(t))
}

// HeaderSize is the size of a frame header; MaxPayload bounds a payload.
const (
	HeaderSize = 6
	MaxPayload = 16 << 20
)

// ErrUnexpected is returned (wrapped) when a frame of another type arrives.
var ErrUnexpected = errors.New("unexpected message")

// Write sends one frame.
func Write(w io.Writer, t Type, payload []byte) error {
	buf, err := Frame(t, payload)
	if err != nil {
		return err
	}
	_, err = w.Write(buf)
	return err
}

// Frame encodes one frame, for a caller that must write it itself.
func Frame(t Type, payload []byte) ([]byte, error) {
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("%v message of %d bytes exceeds %d", t, len(payload), MaxPayload)
	}
	buf := make([]byte, HeaderSize+len(payload))
	binary.LittleEndian.PutUint32(buf[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint16(buf[4:6], uint16(t))
	copy(buf[HeaderSize:], payload)
	return buf, nil
}

// WriteFd sends a frame of type t with fd attached (SCM_RIGHTS) to the
// unix socket conn.
func WriteFd(conn *os.File, t Type, payload []byte, fd int) error {
	if len(payload) > MaxPayload {
		return fmt.Errorf("%v message of %d bytes exceeds %d", t, len(payload), MaxPayload)
	}
	buf := make([]byte, HeaderSize+len(payload))
	binary.LittleEndian.PutUint32(buf[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint16(buf[4:6], uint16(t))
	copy(buf[HeaderSize:], payload)
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Write(func(s uintptr) bool {
		serr = unix.Sendmsg(int(s), buf, unix.UnixRights(fd), nil, 0)
		return serr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return serr
}

// Read receives one frame.
func Read(r io.Reader) (Type, []byte, error) {
	var hdr [HeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.EOF {
			return 0, nil, io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	n := binary.LittleEndian.Uint32(hdr[0:4])
	t := Type(binary.LittleEndian.Uint16(hdr[4:6]))
	if n > MaxPayload {
		return 0, nil, fmt.Errorf("%v message of %d bytes exceeds %d", t, n, MaxPayload)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, fmt.Errorf("reading %v message: %w", t, err)
	}
	return t, payload, nil
}

// InitError is an error raised inside the init (C or Go) and carried back to
// the parent whole. Its wire form is a binary record both C and Go write
// easily:
//
//	errno: i32 LE | stage NUL | op NUL | path NUL | detail NUL
type InitError struct {
	Stage  string        // "nsenter", "rootfs", "process", ...
	Op     string        // what was being done: "mount", "setns", "chdir"
	Path   string        // the file or path involved, if any
	Errno  syscall.Errno // 0 if the error is not a syscall error
	Detail string        // anything else worth saying
}

func (e *InitError) Error() string {
	var b bytes.Buffer
	b.WriteString(e.Op)
	if e.Path != "" {
		fmt.Fprintf(&b, " %s", e.Path)
	}
	if e.Detail != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Detail)
	}
	if e.Errno != 0 {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Errno.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is(err, unix.EPERM) work on errors from the init.
func (e *InitError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// DecodeError decodes an Error payload. A malformed payload still yields an
// error that says so, never a panic.
func DecodeError(p []byte) *InitError {
	if len(p) < 4 {
		return &InitError{Stage: "protocol", Detail: "malformed error message from init"}
	}
	e := &InitError{Errno: syscall.Errno(int32(binary.LittleEndian.Uint32(p[:4])))}
	fields := bytes.SplitN(p[4:], []byte{0}, 5)
	dst := []*string{&e.Stage, &e.Op, &e.Path, &e.Detail}
	for i := range dst {
		if i < len(fields) {
			*dst[i] = string(fields[i])
		}
	}
	return e
}

// ParseLog decodes a Log payload; a payload without a level is a debug
// record.
func ParseLog(p []byte) (level, msg string) {
	l, m, ok := bytes.Cut(p, []byte{0})
	if !ok {
		return "debug", string(p)
	}
	return string(l), string(m)
}

// ParseU32 decodes a u32 payload.
func ParseU32(t Type, p []byte) (uint32, error) {
	if len(p) != 4 {
		return 0, fmt.Errorf("%v message: payload of %d bytes, want 4", t, len(p))
	}
	return binary.LittleEndian.Uint32(p), nil
}
