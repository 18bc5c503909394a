package specconv

import (
	"encoding/json"
	"flag"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/libcontainer/jsonfast"
	"github.com/husk-runtime/husk/libcontainer/jsonfast/gen"
	"github.com/husk-runtime/husk/libcontainer/jsonfast/jsonfasttest"
)

var update = flag.Bool("update", false, "rewrite decode_gen.go")

// decode_gen.go is what the generator makes of specs.Spec and
// specs.Process today: go test -run TestDecodersUpToDate -update rewrites
// it.
func TestDecodersUpToDate(t *testing.T) {
	err := gen.UpToDate("decode_gen.go", "specconv", "github.com/husk-runtime/husk/libcontainer/specconv", []gen.Root{
		{Type: reflect.TypeFor[specs.Spec](), Func: "decodeSpec"},
		{Type: reflect.TypeFor[specs.Process](), Func: "decodeProcess"},
	}, *update)
	if err != nil {
		t.Fatal(err)
	}
}

func decoderSeeds() [][]byte {
	example, _ := json.Marshal(Example())
	return [][]byte{
		example,
		[]byte(`{}`), []byte(`null`), []byte(`{"ociVersion":null,"process":null,"mounts":[]}`),
		[]byte(`{"process":{"args":["a",1]}}`), []byte(`{"process":{"user":{"uid":1.5}}}`),
		[]byte(`{"process":{"user":{"uid":-1}}}`), []byte(`{"linux":{"uidMappings":[{"size":"x"}]}}`),
		[]byte(`{"OCIVersion":"1"}`), []byte(`{"ociVersion":"1","ociVersion":"2"}`),
		[]byte(`{"annotations":{"a":"b","c":""},"linux":{"sysctl":null}}`),
		[]byte(`{"linux":{"resources":{"blockIO":{"weightDevice":[{"major":8,"minor":0,"weight":10}]}}}}`),
		[]byte(`{"process":{"args":["\u00e9\n"]}} `), []byte("{\"hostname\":\"\xff\"}"), []byte(`{} x`),
		[]byte(`{"windows":{"credentialSpec":{"a":1}}}`), []byte(`{"windows":{"credentialSpec":null}}`),
		[]byte(`{"unknown":{"deep":[1,2,{"x":null}]},"hostname":"h"}`),
		[]byte(`{"linux":{"resources":{"memory":{"limit":9223372036854775807,"swap":-1}}}}`),
		[]byte(`{"linux":{"resources":{"memory":{"limit":9223372036854775808}}}}`),
		[]byte(`{"terminal":true,"user":{"uid":0,"gid":0,"additionalGids":[1,2]},"args":["sh"],"env":[],"cwd":"/"}`),
	}
}

// The generated decoders decode as encoding/json does, and the plain
// configs take them.
func TestDecodeSpecMatchesEncodingJSON(t *testing.T) {
	fast := 0
	for _, s := range decoderSeeds() {
		f, err := jsonfasttest.Compare(s, decodeSpec)
		if err != nil {
			t.Error(err)
		}
		if f {
			fast++
		}
		if _, err := jsonfasttest.Compare(s, decodeProcess); err != nil {
			t.Error(err)
		}
	}
	if !jsonfast.Available {
		return // built without GOEXPERIMENT=jsonv2: all of it is encoding/json's
	}
	var spec specs.Spec
	example, _ := json.Marshal(Example())
	if err := jsonfast.Decode(example, &spec, decodeSpec); err != nil {
		t.Errorf("the example config left the fast path: %v", err)
	}
	if fast < 5 {
		t.Errorf("only %d seeds decoded on the fast path", fast)
	}
}

func FuzzDecoders(f *testing.F) {
	for _, s := range decoderSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := jsonfasttest.Compare(data, decodeSpec); err != nil {
			t.Fatal(err)
		}
		if _, err := jsonfasttest.Compare(data, decodeProcess); err != nil {
			t.Fatal(err)
		}
	})
}
