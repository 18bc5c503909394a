package initproto

import (
	"bytes"
	"encoding/binary"
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
	typ, p, err := Read(&b)
	if err != nil || typ != Config || string(p) != `{"a":1}` {
		t.Fatalf("%v %q %v", typ, p, err)
	}
	if typ, _, err := Read(&b); err != nil || typ != Ready {
		t.Fatal(typ, err)
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
	Write(&b, Error, encodeError(in))
	_, p, _ := Read(&b)
	var err error = DecodeError(p)
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

// encodeError is DecodeError's inverse: what the C init writes.
func encodeError(e *InitError) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(int32(e.Errno)))
	for _, s := range []string{e.Stage, e.Op, e.Path, e.Detail} {
		b = append(b, s...)
		b = append(b, 0)
	}
	return b
}
