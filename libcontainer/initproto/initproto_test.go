package initproto

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestFrames(t *testing.T) {
	var b bytes.Buffer
	Write(&b, Config, []byte(`{"a":1}`))
	Write(&b, Ready, nil)
	p, err := Expect(&b, Config)
	if err != nil || string(p) != `{"a":1}` {
		t.Fatalf("%q %v", p, err)
	}
	if _, err := Expect(&b, Ready); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Read(&b); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("EOF: %v", err)
	}
}

func TestTruncatedAndOversized(t *testing.T) {
	var b bytes.Buffer
	Write(&b, Config, []byte("hello"))
	full := b.Bytes()
	for n := 1; n < len(full); n++ {
		if _, _, err := Read(bytes.NewReader(full[:n])); err == nil {
			t.Errorf("truncated frame of %d bytes read", n)
		}
	}
	huge := []byte{0xff, 0xff, 0xff, 0xff, 5, 0}
	if _, _, err := Read(bytes.NewReader(huge)); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("oversized: %v", err)
	}
}

func TestErrorRoundTrip(t *testing.T) {
	var b bytes.Buffer
	in := &InitError{Stage: "rootfs", Op: "mount", Path: `"tmpfs" on "/dev"`, Errno: syscall.EPERM}
	Write(&b, Error, EncodeError(in))
	_, err := Expect(&b, Ready)
	var ie *InitError
	if !errors.As(err, &ie) || *ie != *in {
		t.Fatalf("got %#v", err)
	}
	if !errors.Is(err, syscall.EPERM) {
		t.Error("errno lost")
	}
	if got := err.Error(); got != `mount "tmpfs" on "/dev": operation not permitted` {
		t.Errorf("message %q", got)
	}
	if DecodeError([]byte{1}).Stage != "protocol" {
		t.Error("malformed error payload not reported")
	}
}

func TestSendErrorWrapsPlainErrors(t *testing.T) {
	var b bytes.Buffer
	SendError(&b, "init", errors.New("boom"))
	_, err := Expect(&b, Ready)
	var ie *InitError
	if !errors.As(err, &ie) || ie.Stage != "init" || ie.Detail != "boom" {
		t.Errorf("%#v", err)
	}
}

// A MountSource frame carries its fd over a socket; the stream goes on
// after it.
func TestFdFrames(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	defer a.Close()
	defer b.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := WriteFd(a, MountSource, nil, int(w.Fd())); err != nil {
		t.Fatal(err)
	}
	w.Close()
	Write(a, Ready, nil)
	Write(a, Config, []byte("x"))
	got, err := ReadFd(b, MountSource)
	if err != nil {
		t.Fatal(err)
	}
	// The fd received is the pipe's write end.
	got.Write([]byte("through"))
	got.Close()
	buf := make([]byte, 16)
	if n, _ := r.Read(buf); string(buf[:n]) != "through" {
		t.Errorf("read %q through the received fd", buf[:n])
	}
	if _, err := Expect(b, Ready); err != nil {
		t.Fatal(err)
	}
	// A frame of another type, without an fd, is an error.
	if _, err := ReadFd(b, MountSource); !errors.Is(err, ErrUnexpected) {
		t.Errorf("config frame read as a mount source: %v", err)
	}
	// An Error frame is the init's error.
	SendError(a, "rootfs", unix.EPERM)
	if _, err := ReadFd(b, MountSource); !errors.Is(err, unix.EPERM) {
		t.Errorf("error frame: %v", err)
	}
}
