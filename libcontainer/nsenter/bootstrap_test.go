package nsenter

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/initproto"
	"golang.org/x/sys/unix"
)

func sample() *Bootstrap {
	return &Bootstrap{
		CloneFlags: unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWTIME,
		NsPaths: []NsPath{
			{Type: unix.CLONE_NEWNET, Path: "/proc/1/ns/net"},
			{Type: unix.CLONE_NEWIPC, Path: "/var/run/netns/x"},
		},
		TimeOffsets: "monotonic 10 0\nboottime 20 0\n",
		CgroupTasks: []string{"/sys/fs/cgroup/cpu/c1/tasks", "/sys/fs/cgroup/memory/c1/tasks"},
		LogLevel:    1,
	}
}

func TestRoundTripThroughC(t *testing.T) {
	exec := &Bootstrap{Pidfd: 7, PidfdFlags: unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET,
		CgroupTasks: []string{"/sys/fs/cgroup/pids/c1/tasks"}, Affinity: []byte{2}, AffinityFinal: true}
	reset := &Bootstrap{Affinity: AllCPUs()}
	for _, b := range []*Bootstrap{sample(), {}, {CloneFlags: unix.CLONE_NEWUSER}, exec, reset} {
		enc, err := b.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseC(enc)
		if err != nil {
			t.Fatalf("C decoder refused %+v: %v", b, err)
		}
		if !reflect.DeepEqual(got, b) {
			t.Errorf("round trip: got %+v, want %+v", got, b)
		}
	}
}

// Every strict prefix of a valid message with a record cut short must be
// refused; prefixes that end exactly on a record boundary are valid messages.
func TestTruncatedRefused(t *testing.T) {
	enc, err := sample().Encode()
	if err != nil {
		t.Fatal(err)
	}
	boundaries := map[int]bool{4: true}
	for off := 4; off < len(enc); {
		off += 6 + int(binary.LittleEndian.Uint32(enc[off+2:]))
		boundaries[off] = true
	}
	for n := 0; n < len(enc); n++ {
		_, err := parseC(enc[:n])
		if boundaries[n] && err != nil {
			t.Errorf("prefix of %d bytes (a record boundary) refused: %v", n, err)
		}
		if !boundaries[n] && err == nil {
			t.Errorf("truncated prefix of %d bytes accepted", n)
		}
	}
}

func TestOversizedRefused(t *testing.T) {
	big := &Bootstrap{TimeOffsets: strings.Repeat("x", MaxBootstrap)}
	if _, err := big.Encode(); err == nil {
		t.Error("Encode accepted an oversized message")
	}
	buf := append([]byte(magic), make([]byte, MaxBootstrap)...)
	if _, err := parseC(buf); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("C decoder on %d bytes: %v, want too long", len(buf), err)
	}
	// A record claiming more bytes than the message holds.
	rec := binary.LittleEndian.AppendUint16([]byte(magic), recTimeOffsets)
	rec = binary.LittleEndian.AppendUint32(rec, 1<<31)
	if _, err := parseC(append(rec, "abc"...)); err == nil {
		t.Error("C decoder accepted a record longer than the message")
	}
}

func TestBadRecordsRefused(t *testing.T) {
	rec := func(typ uint16, v []byte) []byte {
		b := binary.LittleEndian.AppendUint16([]byte(magic), typ)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
		return append(b, v...)
	}
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	cases := map[string][]byte{
		"bad magic":        []byte("XSK1"),
		"unknown record":   rec(99, nil),
		"short flags":      rec(recCloneFlags, []byte{1, 2}),
		"unknown ns flag":  rec(recCloneFlags, u32(1)),
		"two ns in path":   rec(recNsPath, append(u32(unix.CLONE_NEWNET|unix.CLONE_NEWIPC), "/x"...)),
		"empty path":       rec(recNsPath, u32(unix.CLONE_NEWNET)),
		"NUL in path":      rec(recNsPath, append(u32(unix.CLONE_NEWNET), "/a\x00b"...)),
		"path too long":    rec(recNsPath, append(u32(unix.CLONE_NEWNET), strings.Repeat("a", 5000)...)),
		"created + joined": append(rec(recCloneFlags, u32(unix.CLONE_NEWNET)), rec(recNsPath, append(u32(unix.CLONE_NEWNET), "/x"...))[4:]...),
		"empty cgroup":     rec(recCgroupTasks, nil),
		"short pidfd":      rec(recSetnsPidfd, u32(3)),
		"pidfd no flags":   rec(recSetnsPidfd, append(u32(3), u32(0)...)),
		"NUL in cgroup":    rec(recCgroupTasks, []byte("/a\x00b")),
		"short log level":  rec(recLogLevel, []byte{1}),
		"bad log level":    rec(recLogLevel, u32(7)),
		"joined twice":     append(rec(recNsPath, append(u32(unix.CLONE_NEWNET), "/x"...)), rec(recNsPath, append(u32(unix.CLONE_NEWNET), "/y"...))[4:]...),
	}
	for name, buf := range cases {
		if _, err := parseC(buf); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestEncodeRefusesWhatCRefuses(t *testing.T) {
	bad := []*Bootstrap{
		{CloneFlags: 1},
		{NsPaths: []NsPath{{Type: unix.CLONE_NEWNET, Path: ""}}},
		{NsPaths: []NsPath{{Type: unix.CLONE_NEWNET | unix.CLONE_NEWIPC, Path: "/x"}}},
		{NsPaths: []NsPath{{Type: unix.CLONE_NEWNET, Path: "/x"}, {Type: unix.CLONE_NEWNET, Path: "/y"}}},
		{CloneFlags: unix.CLONE_NEWNET, NsPaths: []NsPath{{Type: unix.CLONE_NEWNET, Path: "/x"}}},
		{LogLevel: 2},
	}
	for _, b := range bad {
		if _, err := b.Encode(); err == nil {
			t.Errorf("Encode accepted %+v", b)
		}
	}
}

func TestConstantsAgree(t *testing.T) {
	want := map[string]int{
		"HUSK_FRAME_HEADER":     initproto.HeaderSize,
		"HUSK_BOOTSTRAP_MAX":    MaxBootstrap,
		"HUSK_REC_CLONE_FLAGS":  recCloneFlags,
		"HUSK_REC_NS_PATH":      recNsPath,
		"HUSK_REC_TIME_OFFSETS": recTimeOffsets,
		"HUSK_MAX_NS_PATHS":     maxNsPaths,
		"HUSK_REC_CGROUP_TASKS": recCgroupTasks,
		"HUSK_MAX_CGROUPS":      maxCgroups,
		"HUSK_REC_SETNS_PIDFD":  recSetnsPidfd,
		"HUSK_REC_LOG_LEVEL":    recLogLevel,
		"HUSK_REC_CPU_AFFINITY": recAffinity,
		"HUSK_REC_PARENT_PIDFD": recParentPidfd,
		"HUSK_AFFINITY_FINAL":   affinityFinal,
		"HUSK_AFFINITY_MAX":     MaxAffinity,
	}
	if !reflect.DeepEqual(cConstants, want) {
		t.Errorf("proto.h and Go disagree:\n C: %v\nGo: %v", cConstants, want)
	}
	// The namespace types: nsenter.c's ALL_NS, join order and names are
	// configs' table (one entry per type, in its order).
	all, order, names := cNamespaces()
	var wantOrder []uint32
	var wantNames []string
	for _, typ := range configs.NamespaceTypes() {
		wantOrder = append(wantOrder, typ.CloneFlag())
		wantNames = append(wantNames, string(typ))
	}
	if all != configs.AllCloneFlags() || all != AllNamespaces {
		t.Errorf("nsenter.c's ALL_NS is %#x, configs' namespace types %#x", all, configs.AllCloneFlags())
	}
	if !reflect.DeepEqual(order, wantOrder) || !reflect.DeepEqual(names, wantNames) {
		t.Errorf("nsenter.c joins namespaces in the order %#x (%q), configs' table says %#x (%q)", order, names, wantOrder, wantNames)
	}
	if maxNsPaths != len(wantOrder) {
		t.Errorf("at most %d namespace paths, for %d namespace types", maxNsPaths, len(wantOrder))
	}
}

// FuzzParse feeds arbitrary bytes to the C decoder: it must never crash, and
// whatever it accepts must re-encode to a message it accepts the same way.
func FuzzParse(f *testing.F) {
	enc, _ := sample().Encode()
	f.Add(enc)
	f.Add([]byte(magic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, buf []byte) {
		b, err := parseC(buf)
		if err != nil {
			return
		}
		again, err := b.Encode()
		if err != nil {
			t.Fatalf("C accepted %q but Go cannot encode the result: %v", buf, err)
		}
		b2, err := parseC(again)
		if err != nil || !reflect.DeepEqual(b, b2) {
			t.Fatalf("re-encoding changed the message: %+v vs %+v (%v)", b, b2, err)
		}
	})
}

// CVE-2021-43784: runc's bootstrap encoder wrote a 16-bit attribute length,
// which a value over 64 KiB wrapped, and the C decoder then read the rest
// of the value as records of the attacker's choosing. Here each record's
// length is 32 bits: a length that overflows what is left of the message
// (0xffffffff and friends), or whose sum with the offset and the header
// wraps a 32-bit integer back to the message's start, must be refused (not
// read out of bounds, not looped on); and the encoder must refuse a value
// too long for the message rather than write a length that wrapped.
func TestCVE202143784RecordLengthOverflow(t *testing.T) {
	hdr := func(typ uint16, n uint32) []byte {
		return binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint16(nil, typ), n)
	}
	first, err := (&Bootstrap{CloneFlags: unix.CLONE_NEWNS}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{}
	for _, typ := range []uint16{recCloneFlags, recNsPath, recTimeOffsets, recCgroupTasks, recSetnsPidfd, recLogLevel, recAffinity} {
		for _, n := range []uint32{0xffffffff, 0xfffffffe, 0xfffffffa, 0x80000000, 0x7fffffff, 1 << 16, 1<<16 + 1} {
			cases[fmt.Sprintf("record %d of length %#x", typ, n)] = append(append([]byte(magic), hdr(typ, n)...), "0123456789abcdef"...)
		}
		// After a valid record, a length whose 32-bit sum with the offset
		// and the header is 0 (the magic) or 4 (the first record again).
		after := uint32(len(first)) + 6
		for _, to := range []uint32{0, 4} {
			buf := append(append([]byte(nil), first...), hdr(typ, to-after)...)
			cases[fmt.Sprintf("record %d wrapping to offset %d", typ, to)] = append(buf, "0123456789abcdef"...)
		}
	}
	for name, buf := range cases {
		done := make(chan error, 1)
		go func() {
			_, err := parseC(buf)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "truncated") {
				t.Errorf("%s: %v, want the record refused as truncated", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the C decoder does not return (it loops on a wrapped length)", name)
		}
	}
	// A value over 64 KiB (the length runc's 16-bit field wrapped) is
	// refused whole by the encoder, never written with a wrapped length.
	long := strings.Repeat("a", 1<<16+5)
	for _, b := range []*Bootstrap{
		{NsPaths: []NsPath{{Type: unix.CLONE_NEWNET, Path: "/" + long}}},
		{CgroupTasks: []string{"/" + long}},
		{TimeOffsets: long},
	} {
		if enc, err := b.Encode(); err == nil {
			t.Errorf("Encode wrote a %d-byte message for a value of %d bytes", len(enc), len(long))
		}
	}
}
