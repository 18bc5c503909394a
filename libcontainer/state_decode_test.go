package libcontainer

import (
	"encoding/json"
	"flag"
	"reflect"
	"testing"
	"time"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/jsonfast"
	"github.com/husk-runtime/husk/libcontainer/jsonfast/gen"
)

var update = flag.Bool("update", false, "rewrite state_decode_gen.go")

// state_decode_gen.go is what the generator makes of State today: go test
// -run TestStateDecoderUpToDate -update rewrites it.
func TestStateDecoderUpToDate(t *testing.T) {
	err := gen.UpToDate("state_decode_gen.go", "libcontainer", "github.com/husk-runtime/husk/libcontainer",
		[]gen.Root{{Type: reflect.TypeFor[State](), Func: "decodeState"}}, *update)
	if err != nil {
		t.Fatal(err)
	}
}

func stateSeeds() [][]byte {
	good, _ := json.Marshal(State{ID: "c1", InitPid: 1, Bundle: "/b", Created: time.Unix(0, 0).UTC(),
		Config: &configs.Config{Rootfs: "/b/rootfs", Cgroup: &configs.Cgroup{}}, CgroupPaths: map[string]string{"": "/sys/fs/cgroup/x"}})
	return [][]byte{good, []byte(`{}`), []byte(`{"id":"c","created":"2026-12-06T08:53:00.1+01:00"}`),
		[]byte(`{"created":"bogus"}`), []byte(`{"created":null,"config":null}`), []byte(`{"init_pid":1e3}`)}
}

// Where the generated decoder decodes a state, it decodes what
// encoding/json does; a state husk wrote takes it.
func TestDecodeStateMatchesEncodingJSON(t *testing.T) {
	for _, s := range stateSeeds() {
		if _, err := jsonfast.Compare(s, decodeState); err != nil {
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

func FuzzStateDecoder(f *testing.F) {
	for _, s := range stateSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := jsonfast.Compare(data, decodeState); err != nil {
			t.Fatal(err)
		}
	})
}
