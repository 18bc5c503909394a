package nsenter

import (
	"math/rand/v2"
	"os"
	"testing"

	"github.com/husk-runtime/husk/libcontainer/initproto"
	"golang.org/x/sys/unix"
)

// randomOp makes an op with random values of its fields' kinds.
func randomOp(r *rand.Rand) initproto.Op {
	d := initproto.Ops()[r.IntN(len(initproto.Ops()))]
	o := initproto.Op{Type: d.Type}
	str := func() string {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte('a' + r.IntN(26))
		}
		return string(b)
	}
	for _, f := range d.Fields {
		switch f.Kind {
		case 'u':
			o.Fields = append(o.Fields, r.Uint32())
		case 'U':
			o.Fields = append(o.Fields, r.Uint64())
		case 's':
			o.Fields = append(o.Fields, str())
		case 'S':
			ss := make([]string, r.IntN(4))
			for i := range ss {
				ss[i] = str()
			}
			o.Fields = append(o.Fields, ss)
		case 'b':
			b := make([]byte, r.IntN(20))
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			o.Fields = append(o.Fields, b)
		case 'L':
			l := make([]uint32, r.IntN(5))
			for i := range l {
				l[i] = r.Uint32()
			}
			o.Fields = append(o.Fields, l)
		}
	}
	return o
}

// What Go encodes, the C decoder takes, op for op; any prefix that cuts a
// record is refused.
func TestPlanThroughC(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		ops := make([]initproto.Op, 1+r.IntN(20))
		for j := range ops {
			ops[j] = randomOp(r)
		}
		enc, err := initproto.EncodePlan(ops)
		if err != nil {
			t.Fatal(err)
		}
		n, err := parsePlanC(enc)
		if err != nil || n != len(ops) {
			t.Fatalf("C decoder: %d ops, %v; want %d", n, err, len(ops))
		}
		cut := len(initproto.PlanMagic) + r.IntN(len(enc)-len(initproto.PlanMagic))
		if _, errGo := initproto.DecodePlan(enc[:cut]); errGo == nil {
			continue // a record boundary
		}
		if _, err := parsePlanC(enc[:cut]); err == nil {
			t.Fatalf("C decoder took a plan cut at %d of %d bytes", cut, len(enc))
		}
	}
}

// FuzzPlanC feeds arbitrary bytes to the C plan decoder: it must never
// crash, and it takes exactly what the Go decoder takes.
func FuzzPlanC(f *testing.F) {
	enc, _ := initproto.EncodePlan([]initproto.Op{
		initproto.NewOp("hostname", "h"),
		initproto.NewOp("mask", "a", "b", []string{"/proc/kcore"}),
		initproto.NewOp("user", uint32(1), uint32(2), []uint32{3, 4}),
		initproto.NewOp("mempolicy", uint32(1), []byte{1}),
	})
	f.Add(enc)
	f.Add([]byte(initproto.PlanMagic + "\x03\x00\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, errC := parsePlanC(data)
		ops, errGo := initproto.DecodePlan(data)
		if (errC == nil) != (errGo == nil) {
			t.Fatalf("C and Go disagree: C %v, Go %v", errC, errGo)
		}
		if errC == nil && n != len(ops) {
			t.Fatalf("C %d ops, Go %d", n, len(ops))
		}
	})
}

// A MountSource frame (initproto.WriteFd, the parent's) arrives in the C
// init with its fd, and the stream goes on after it.
func TestMountSourceFrameThroughC(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a := os.NewFile(uintptr(fds[0]), "a")
	defer a.Close()
	defer unix.Close(fds[1])
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := initproto.WriteFd(a, initproto.MountSource, nil, int(w.Fd())); err != nil {
		t.Fatal(err)
	}
	w.Close()
	initproto.Write(a, initproto.Ready, nil)
	typ, fd, err := recvFrameC(fds[1])
	if err != nil || typ != uint16(initproto.MountSource) || fd < 0 {
		t.Fatalf("C read %d with fd %d: %v", typ, fd, err)
	}
	got := os.NewFile(uintptr(fd), "received")
	got.Write([]byte("through"))
	got.Close()
	buf := make([]byte, 16)
	if n, _ := r.Read(buf); string(buf[:n]) != "through" {
		t.Errorf("read %q through the received fd", buf[:n])
	}
	typ, fd, err = recvFrameC(fds[1])
	if err != nil || typ != uint16(initproto.Ready) || fd != -1 {
		t.Errorf("next frame: %d fd %d %v", typ, fd, err)
	}
}
