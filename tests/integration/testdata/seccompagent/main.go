// seccompagent is a seccomp notify agent for the seccomp tests: it accepts
// runtimes on the listening unix socket it inherits as fd 3, takes from
// each the container process state and the listener fd (SCM_RIGHTS), and
// answers every notification: with the errno given for that syscall
// number on the command line (NR=ERRNO), else by letting the call continue.
// NR=hold holds that syscall's notifications: each is answered (continue)
// once a line can be read from stdin.
//
// It appends to the log file named by its first argument, one line each:
//
//	state ID PID METADATA     a runtime handed over a listener
//	call NR                   a notification, by syscall number
//	held NR PID               a held notification, and the caller's pid
//	error TEXT                something went wrong
//
// It runs until it is killed. It is built without cgo, so it speaks the
// seccomp ioctls itself.
//
// A notified call that a signal interrupts (Go's runtime preempts with
// SIGURG) is taken back by the kernel: RECV then fails with ENOENT, which
// is not the end of the listener.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// seccompData, seccompNotif and seccompNotifResp are the kernel's struct
// seccomp_data, seccomp_notif and seccomp_notif_resp.
type seccompData struct {
	Nr                 int32
	Arch               uint32
	InstructionPointer uint64
	Args               [6]uint64
}

type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  seccompData
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// hold marks a held syscall in the NR=ERRNO table.
const hold = -1

var (
	logMu sync.Mutex
	logF  *os.File
	stdin = bufio.NewReader(os.Stdin)
)

func logf(format string, args ...any) {
	logMu.Lock()
	defer logMu.Unlock()
	fmt.Fprintf(logF, format+"\n", args...)
}

// processState is the part of runtime-spec's ContainerProcessState read here.
type processState struct {
	Fds      []string `json:"fds"`
	Pid      int      `json:"pid"`
	Metadata string   `json:"metadata"`
	State    struct {
		ID string `json:"id"`
	} `json:"state"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: seccompagent LOG [NR=ERRNO...]")
		os.Exit(2)
	}
	var err error
	logF, err = os.OpenFile(os.Args[1], os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	errnos := map[int32]int32{}
	for _, a := range os.Args[2:] {
		nr, e, ok := strings.Cut(a, "=")
		n, err1 := strconv.Atoi(nr)
		v, err2 := strconv.Atoi(e)
		if e == "hold" {
			v, err2 = hold, nil
		}
		if !ok || err1 != nil || err2 != nil {
			fmt.Fprintln(os.Stderr, "bad NR=ERRNO:", a)
			os.Exit(2)
		}
		errnos[int32(n)] = int32(v)
	}
	l, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		logf("error listener: %v", err)
		os.Exit(1)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			logf("error accept: %v", err)
			os.Exit(1)
		}
		go serve(c.(*net.UnixConn), errnos)
	}
}

func serve(c *net.UnixConn, errnos map[int32]int32) {
	defer c.Close()
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		logf("error recvmsg: %v", err)
		return
	}
	var fds []int
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if f, err := unix.ParseUnixRights(&m); err == nil {
				fds = append(fds, f...)
			}
		}
	}
	var st processState
	if err := json.Unmarshal(buf[:n], &st); err != nil || len(fds) != 1 || len(st.Fds) != 1 || st.Fds[0] != "seccompFd" {
		logf("error bad hand-over: %d fds, state %q: %v", len(fds), buf[:n], err)
		for _, fd := range fds {
			unix.Close(fd)
		}
		return
	}
	logf("state %s %d %s", st.State.ID, st.Pid, st.Metadata)
	answer(fds[0], errnos)
}

// answer handles the notifications of one listener until no process uses
// its filter any more (the listener then polls as hung up).
func answer(fd int, errnos map[int32]int32) {
	defer unix.Close(fd)
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			logf("error poll: %v", err)
			return
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			return
		}
		var req seccompNotif
		if err := ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&req)); err != nil {
			// EINTR; ENOENT: the caller was interrupted (by a signal)
			// before we got to its call.
			if err == unix.EINTR || err == unix.ENOENT {
				continue
			}
			logf("error recv: %v", err)
			return
		}
		logf("call %d", req.Data.Nr)
		resp := seccompNotifResp{ID: req.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
		switch e, ok := errnos[req.Data.Nr]; {
		case ok && e == hold:
			logf("held %d %d", req.Data.Nr, req.Pid)
			stdin.ReadString('\n')
		case ok:
			resp.Error, resp.Flags = -e, 0
		}
		// ENOENT: the caller was interrupted meanwhile.
		if err := ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp)); err != nil && err != unix.ENOENT {
			logf("error send: %v", err)
		}
	}
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
	if e != 0 {
		return e
	}
	return nil
}
