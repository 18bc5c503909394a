// Package criu talks to CRIU (criu(8)) over its RPC socket: `criu swrk 3`
// started with one end of a SOCK_SEQPACKET socketpair as its fd 3, one
// protobuf request (go-criu's rpc package), then CRIU's notifications
// (each answered) until its final response. It knows nothing of
// containers: libcontainer builds the requests and handles the
// notifications.
package criu

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/checkpoint-restore/go-criu/v8/rpc"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/timerslack"
)

// MinVersion is the oldest CRIU husk uses (as major*10000+minor*100+
// sublevel): the one it is tested with (Debian 12's).
const MinVersion = 31700

// ErrNotFound: no criu binary in $PATH.
var ErrNotFound = errors.New("no criu binary in $PATH")

var errNoAnswer = errors.New("criu exited without an answer")

// Binary is the name of CRIU's executable, looked up in $PATH.
const Binary = "criu"

// VersionString formats a version number (31701 → "3.17.1").
func VersionString(v int) string {
	s := fmt.Sprintf("%d.%d", v/10000, v/100%100)
	if v%100 != 0 {
		s += fmt.Sprintf(".%d", v%100)
	}
	return s
}

var (
	versionOnce sync.Once
	version     int
	versionErr  error
)

// Version asks CRIU its version (once per process).
func Version() (int, error) {
	versionOnce.Do(func() {
		t := rpc.CriuReqType_VERSION
		resp, err := Run(&rpc.CriuReq{Type: &t}, Options{})
		if err != nil {
			versionErr = err
			return
		}
		v := resp.GetVersion()
		if v == nil {
			versionErr = errors.New("criu: no version in its answer")
			return
		}
		version = int(v.GetMajorNumber())*10000 + int(v.GetMinorNumber())*100 + int(v.GetSublevel())
	})
	return version, versionErr
}

// Check says whether CRIU is there, recent enough, and works with this
// kernel: one line naming what is missing if not.
func Check() error {
	v, err := Version()
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("checkpoint/restore needs CRIU %s or later: %w", VersionString(MinVersion), err)
		}
		return fmt.Errorf("checkpoint/restore needs CRIU %s or later: asking criu its version: %w", VersionString(MinVersion), err)
	}
	if v < MinVersion {
		return fmt.Errorf("checkpoint/restore needs CRIU %s or later: criu is %s", VersionString(MinVersion), VersionString(v))
	}
	return nil
}

// Usable says (nil) whether CRIU is there, recent enough, and passes its
// own check of the kernel: `criu check`, by its exit status (the RPC's
// CHECK wants an images directory to log to, and fails without one).
func Usable() error {
	if err := Check(); err != nil {
		return err
	}
	path, err := exec.LookPath(Binary)
	if err != nil {
		return ErrNotFound
	}
	check := exec.Command(path, "check")
	if err := timerslack.AsCaller(check.Start); err != nil {
		return fmt.Errorf("criu check: %w", err)
	}
	if err := check.Wait(); err != nil {
		return fmt.Errorf("criu check: %w", err)
	}
	return nil
}

// Features asks CRIU which of the features in want it has; the names of
// those it lacks are returned.
func Features(want *rpc.CriuFeatures) ([]string, error) {
	t := rpc.CriuReqType_FEATURE_CHECK
	resp, err := Run(&rpc.CriuReq{Type: &t, Features: want}, Options{})
	if err != nil {
		return nil, fmt.Errorf("criu feature check: %w", err)
	}
	got := resp.GetFeatures()
	var missing []string
	if want.GetMemTrack() && !got.GetMemTrack() {
		missing = append(missing, "memory tracking (--pre-dump)")
	}
	if want.GetLazyPages() && !got.GetLazyPages() {
		missing = append(missing, "lazy pages (--lazy-pages)")
	}
	return missing, nil
}

// Options are how CRIU is run for one request.
type Options struct {
	// Stdio are CRIU's fds 0, 1 and 2 (nil: /dev/null); a restored
	// process can inherit them (InheritFd).
	Stdio [3]*os.File
	// ExtraFiles are CRIU's fds 4, 5, ... (after its RPC socket, 3).
	ExtraFiles []*os.File
	// Started is called once CRIU runs, before the request is sent (to
	// put CRIU in the container's cgroup on restore).
	Started func(pid int) error
	// Notify handles a notification (a "script" of CRIU's, with the fds
	// that came with it, which it must close); CRIU goes on once it
	// returns nil.
	Notify func(n *rpc.CriuNotify, fds []*os.File) error
	// StatusFd is closed once CRIU answers anything (it has its own
	// copy by then); -1 or 0: none.
	StatusFd int
}

// Run starts `criu swrk`, sends req, answers its notifications and
// returns its final response, or an error if it failed.
func Run(req *rpc.CriuReq, o Options) (*rpc.CriuResp, error) {
	path, err := exec.LookPath(Binary)
	if err != nil {
		return nil, ErrNotFound
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("criu socket: %w", err)
	}
	ours := os.NewFile(uintptr(fds[0]), "criu-client")
	defer ours.Close()
	theirs := os.NewFile(uintptr(fds[1]), "criu-server")
	cmd := exec.Command(path, "swrk", "3")
	if o.Stdio[0] != nil {
		cmd.Stdin = o.Stdio[0]
	}
	if o.Stdio[1] != nil {
		cmd.Stdout = o.Stdio[1]
	}
	if o.Stdio[2] != nil {
		cmd.Stderr = o.Stdio[2]
	}
	cmd.ExtraFiles = append([]*os.File{theirs}, o.ExtraFiles...)
	err = timerslack.AsCaller(cmd.Start)
	theirs.Close() // CRIU's death then ends our reads
	if err != nil {
		return nil, fmt.Errorf("start criu: %w", err)
	}
	// Not cmd.Wait: a restored process may be handed os.Files whose copy
	// goroutines (none here: every stdio is an *os.File) would be waited
	// for. Only CRIU itself is waited for.
	proc := cmd.Process
	waited := false
	defer func() {
		if !waited {
			ours.Close()
			proc.Wait()
		}
	}()
	if o.Started != nil {
		if err := o.Started(proc.Pid); err != nil {
			proc.Kill()
			return nil, err
		}
	}
	resp, err := converse(ours, req, o)
	if errors.Is(err, errNoAnswer) {
		// CRIU died: how is the best we can say.
		ours.Close()
		st, _ := proc.Wait()
		waited = true
		if st != nil {
			return nil, fmt.Errorf("%w (%s)", err, st)
		}
	}
	if err != nil {
		return nil, err
	}
	// The connection's end tells CRIU it may go.
	unix.Shutdown(int(ours.Fd()), unix.SHUT_WR)
	st, werr := proc.Wait()
	waited = true
	if werr != nil {
		return nil, fmt.Errorf("wait for criu: %w", werr)
	}
	// A pre-dump's CRIU waits for more requests: once it has answered,
	// its exit status does not matter.
	if !st.Success() && req.GetType() != rpc.CriuReqType_PRE_DUMP {
		return nil, fmt.Errorf("criu exited: %s", st)
	}
	return resp, nil
}

// converse sends req and reads CRIU's messages until its final answer.
func converse(conn *os.File, req *rpc.CriuReq, o Options) (*rpc.CriuResp, error) {
	data, err := req.MarshalVT()
	if err != nil {
		return nil, err
	}
	if _, err := unix.Write(int(conn.Fd()), data); err != nil {
		return nil, fmt.Errorf("send criu its request: %w", err)
	}
	statusFd := o.StatusFd
	defer func() {
		if statusFd > 0 {
			unix.Close(statusFd)
		}
	}()
	buf := make([]byte, 64*1024)
	oob := make([]byte, unix.CmsgSpace(4*16))
	for {
		n, oobn, _, _, err := unix.Recvmsg(int(conn.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if statusFd > 0 {
			unix.Close(statusFd)
			statusFd = -1
		}
		if err != nil {
			return nil, fmt.Errorf("read criu's answer: %w", err)
		}
		if n == 0 {
			return nil, errNoAnswer
		}
		files, err := receivedFiles(oob[:oobn])
		if err != nil {
			return nil, err
		}
		resp := &rpc.CriuResp{}
		if err := resp.UnmarshalVT(buf[:n]); err != nil {
			closeAll(files)
			return nil, fmt.Errorf("criu's answer: %w", err)
		}
		if !resp.GetSuccess() {
			closeAll(files)
			return nil, failure(resp)
		}
		if resp.GetType() != rpc.CriuReqType_NOTIFY {
			closeAll(files)
			if resp.GetType() != req.GetType() {
				return nil, fmt.Errorf("criu answered %s to %s", resp.GetType(), req.GetType())
			}
			return resp, nil
		}
		slog.Debug("criu notification", "script", resp.GetNotify().GetScript(), "pid", resp.GetNotify().GetPid())
		if o.Notify != nil {
			if err := o.Notify(resp.GetNotify(), files); err != nil {
				return nil, err
			}
		} else {
			closeAll(files)
		}
		t := rpc.CriuReqType_NOTIFY
		ok := true
		ack, err := (&rpc.CriuReq{Type: &t, NotifySuccess: &ok}).MarshalVT()
		if err != nil {
			return nil, err
		}
		if _, err := unix.Write(int(conn.Fd()), ack); err != nil {
			return nil, fmt.Errorf("answer criu's notification: %w", err)
		}
	}
}

// failure is the error of an unsuccessful answer.
func failure(resp *rpc.CriuResp) error {
	msg := fmt.Sprintf("criu failed: %s", strings.ToLower(resp.GetType().String()))
	if e := resp.GetCrErrno(); e != 0 {
		msg += ": " + unix.Errno(e).Error()
	}
	if m := resp.GetCrErrmsg(); m != "" {
		msg += ": " + strings.TrimSpace(m)
	}
	return errors.New(msg)
}

func receivedFiles(oob []byte) ([]*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("criu's control message: %w", err)
	}
	var files []*os.File
	for i := range msgs {
		fds, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), "criu-fd"))
		}
	}
	return files, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// LogError returns the last line of CRIU's log file that reports an error
// other than the final "FAILED" ("" if none): the nearest to the failure
// (CRIU's probes of the kernel log errors of their own first). Each error
// line, with the few lines before it, is logged at debug level.
func LogError(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const context = 5
	var (
		prev  []string
		first string
		n     int
	)
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		n++
		line := s.Text()
		if bytes.Contains(s.Bytes(), []byte("Error")) {
			if n == 1 || len(prev) > 0 || first == "" {
				slog.Debug("quoting " + filepath.Clean(path))
			}
			if !strings.Contains(line, "FAILED") || first == "" {
				first = strings.TrimSpace(line)
			}
			for i, p := range prev {
				slog.Debug(fmt.Sprintf("%d:%s", n-len(prev)+i, p))
			}
			slog.Debug(fmt.Sprintf("%d:%s", n, line))
			prev = prev[:0]
			continue
		}
		prev = append(prev, line)
		if len(prev) > context {
			prev = prev[1:]
		}
	}
	return first
}
