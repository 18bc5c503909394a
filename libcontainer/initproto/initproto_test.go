package initproto

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
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
