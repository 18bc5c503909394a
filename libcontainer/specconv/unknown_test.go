package specconv

import (
	"reflect"
	"testing"
)

func TestUnknownFields(t *testing.T) {
	data := []byte(`{"ociVersion":"1.0.0","fooBar":1,"process":{"args":["x"],"Cwd":"/","nope":true,
		"rlimits":[{"type":"RLIMIT_NOFILE","hard":1,"soft":1,"extra":0}]},
		"mounts":[{"destination":"/x","bogus":"y"}],"annotations":{"any":"thing"},
		"linux":{"sysctl":{"a.b":"1"},"resources":{"memory":{"limit":1,"huh":2}}}}`)
	got := UnknownFields(data)
	want := []string{"fooBar", "linux.resources.memory.huh", "mounts[0].bogus", "process.nope", "process.rlimits[0].extra"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
