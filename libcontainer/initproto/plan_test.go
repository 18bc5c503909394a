package initproto

import (
	"os"
	"testing"
)

// The C decoder's op table is generated from Ops: it must be current.
func TestPlanHeaderCurrent(t *testing.T) {
	have, err := os.ReadFile("../nsenter/plan_ops.h")
	if err != nil {
		t.Fatal(err)
	}
	if string(have) != PlanHeader() {
		t.Fatal("libcontainer/nsenter/plan_ops.h is stale: run `go generate ./libcontainer/initproto`")
	}
}

// Every op has a unique number and name, and fields of known kinds.
func TestOpsWellFormed(t *testing.T) {
	nums, names := map[OpType]bool{}, map[string]bool{}
	for _, d := range Ops() {
		if d.Type == 0 || nums[d.Type] || names[d.Name] {
			t.Errorf("op %d %q: zero or repeated", d.Type, d.Name)
		}
		nums[d.Type], names[d.Name] = true, true
		for _, fd := range d.Fields {
			if !containsByte("uUsSbL", fd.Kind) {
				t.Errorf("op %s field %s: kind %q", d.Name, fd.Name, fd.Kind)
			}
		}
	}
}

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}

func samplePlan() []Op {
	return []Op{
		NewOp("prep-root", uint32(0x84000), uint32(0x40000), "/b/rootfs"),
		NewOp("mount", uint32(2), uint32(1), uint32(0x5000), uint32(0), uint64(1), uint64(0), uint32(8),
			"/src", "/dst", "", "", []uint32{0x40000}),
		NewOp("mask", "nr_blocks=1", "", []string{"/proc/kcore", "/sys/firmware"}),
		NewOp("mempolicy", uint32(1), []byte{1, 2}),
		NewOp("user", uint32(1000), uint32(1000), []uint32{}),
		NewOp("exec", []string{"sh", "-c", "true"}),
		NewOp("nnp"),
	}
}

func TestPlanRoundTrip(t *testing.T) {
	ops := samplePlan()
	enc, err := EncodePlan(ops)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodePlan(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ops) {
		t.Fatalf("%d ops back, want %d", len(got), len(ops))
	}
	for i := range ops {
		if got[i].String() != ops[i].String() {
			t.Errorf("op %d: %s, want %s", i, got[i], ops[i])
		}
	}
}

func TestEncodePlanRefusesBadValues(t *testing.T) {
	for _, o := range []Op{
		NewOp("hostname", uint32(1)),
		NewOp("hostname", "a\x00b"),
		NewOp("user", uint32(0)),
		{Type: 9999},
	} {
		if _, err := EncodePlan([]Op{o}); err == nil {
			t.Errorf("%v encoded", o)
		}
	}
}

// FuzzDecodePlan: the Go decoder never panics, and what it accepts
// re-encodes to the same bytes (the C decoder is fuzzed in nsenter).
func FuzzDecodePlan(f *testing.F) {
	enc, _ := EncodePlan(samplePlan())
	f.Add(enc)
	f.Add([]byte(PlanMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		ops, err := DecodePlan(data)
		if err != nil {
			return
		}
		again, err := EncodePlan(ops)
		if err != nil {
			t.Fatalf("decoded plan does not encode: %v", err)
		}
		if string(again) != string(data) {
			t.Fatalf("re-encoding differs")
		}
	})
}
