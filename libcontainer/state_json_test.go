package libcontainer

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/jsonfast"
	"github.com/husk-runtime/husk/libcontainer/jsonfast/gen"
	"github.com/husk-runtime/husk/libcontainer/jsonfast/jsonfasttest"
)

var update = flag.Bool("update", false, "rewrite state_json_gen.go")

// state_json_gen.go is what the generator makes of State today: go test
// -run TestStateCodecUpToDate -update rewrites it.
func TestStateCodecUpToDate(t *testing.T) {
	err := gen.UpToDate("state_json_gen.go", "libcontainer", "github.com/husk-runtime/husk/libcontainer",
		[]gen.Root{{Type: reflect.TypeFor[State](), Func: "decodeState", Enc: "encodeState"}}, *update)
	if err != nil {
		t.Fatal(err)
	}
}

func stateSeeds() [][]byte {
	good, _ := json.Marshal(State{ID: "c1", InitPid: 1, Bundle: "/b", Created: time.Unix(0, 0).UTC(),
		Config: &configs.Config{Rootfs: "/b/rootfs", Cgroup: &configs.Cgroup{}}, CgroupPaths: map[string]string{"": "/sys/fs/cgroup/x"}})
	return [][]byte{good, []byte(`{}`), []byte(`{"id":"c","created":"2026-12-06T08:53:00.1+01:00"}`),
		[]byte(`{"created":"bogus"}`), []byte(`{"created":null,"config":null}`), []byte(`{"init_pid":1e3}`),
		// A Go array (console_size [2]uint16): short, long and null.
		[]byte(`{"process":{"console_size":[7]}}`), []byte(`{"process":{"console_size":[1,2,3]}}`),
		[]byte(`{"process":{"console_size":null,"args":null,"env":[null,"a"]}}`),
		[]byte(`{"id":"<a&b>\u2028\u0001\b\f\t","bundle":"\ud800","cgroup_paths":{"b":"1","a":"2"},"process":{"args":[]}}`)}
}

// Where the generated decoder decodes a state, it decodes what
// encoding/json does; a state husk wrote takes it.
func TestDecodeStateMatchesEncodingJSON(t *testing.T) {
	for _, s := range stateSeeds() {
		if _, err := jsonfasttest.Compare(s, decodeState); err != nil {
			t.Error(err)
		}
	}
	if !jsonfast.Available {
		return // built without GOEXPERIMENT=jsonv2: all of it is encoding/json's
	}
	var st State
	if err := jsonfast.Decode(stateSeeds()[0], &st, decodeState); err != nil {
		t.Errorf("a state husk wrote left the fast path: %v", err)
	}
}

// compareEncode holds encodeState to json.Marshal, byte for byte, on
// what data decodes to.
func compareEncode(data []byte) error {
	var st State
	if json.Unmarshal(data, &st) != nil {
		return nil
	}
	want, werr := json.Marshal(&st)
	got, gerr := jsonfast.Marshal(&st, encodeState)
	if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
		return fmt.Errorf("%q: encodeState gave\n%s (%v)\njson.Marshal\n%s (%v)", data, got, gerr, want, werr)
	}
	return nil
}

// encodeState writes what json.Marshal does; a plain state takes it.
func TestEncodeStateMatchesEncodingJSON(t *testing.T) {
	for _, s := range stateSeeds() {
		if err := compareEncode(s); err != nil {
			t.Error(err)
		}
	}
	var st State
	json.Unmarshal(stateSeeds()[0], &st)
	if _, err := jsonfast.Encode(&st, encodeState); err != nil {
		t.Errorf("a plain state left the fast path: %v", err)
	}
}

func FuzzStateDecoder(f *testing.F) {
	for _, s := range stateSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := jsonfasttest.Compare(data, decodeState); err != nil {
			t.Fatal(err)
		}
		if err := compareEncode(data); err != nil {
			t.Fatal(err)
		}
	})
}
