package initproto

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzRead decodes arbitrary bytes as frames: never a panic, never a
// payload larger than MaxPayload, and what is read re-encodes to the same
// bytes.
func FuzzRead(f *testing.F) {
	var b bytes.Buffer
	Write(&b, Config, []byte(`{"id":"x"}`))
	Write(&b, Ready, nil)
	f.Add(b.Bytes())
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 0})
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for {
			start := len(data) - r.Len()
			typ, payload, err := Read(r)
			if err != nil {
				return
			}
			if len(payload) > MaxPayload {
				t.Fatalf("payload of %d bytes", len(payload))
			}
			var again bytes.Buffer
			if err := Write(&again, typ, payload); err != nil {
				t.Fatal(err)
			}
			end := len(data) - r.Len()
			if !bytes.Equal(again.Bytes(), data[start:end]) {
				t.Fatalf("frame does not re-encode to its bytes")
			}
		}
	})
}

// FuzzDecodeError decodes arbitrary Error payloads (which the C stage and
// the init write): never a panic, and a decoded error re-encodes to an
// equal error.
func FuzzDecodeError(f *testing.F) {
	f.Add(encodeError(&InitError{Stage: "nsenter", Op: "setns", Path: "/proc/1/ns/net", Errno: 1, Detail: "network"}))
	f.Add([]byte{1, 2, 3})
	f.Add([]byte{0, 0, 0, 0, 'a', 0, 'b'})
	f.Fuzz(func(t *testing.T, data []byte) {
		e := DecodeError(data)
		if e == nil {
			t.Fatal("nil error")
		}
		_ = e.Error()
		again := DecodeError(encodeError(e))
		if !reflect.DeepEqual(again, e) && !bytes.Contains(data[min(4, len(data)):], []byte{0}) {
			// Fields with NUL bytes inside cannot round-trip; all others must.
			t.Fatalf("round trip: %+v != %+v", again, e)
		}
	})
}
