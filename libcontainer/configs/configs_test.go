package configs

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestValidateID(t *testing.T) {
	for _, ok := range []string{"a", "c1", "my.container_1+x-y", strings.Repeat("a", 1024)} {
		if err := ValidateID(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "../x", "a b", "a\x00", strings.Repeat("a", 1025)} {
		if err := ValidateID(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The namespace table against the kernel: each type's file in /proc/PID/ns
// is a namespace of its CLONE_NEW* flag (NS_GET_NSTYPE), and every flag is
// one bit, given once.
func TestNamespaceTable(t *testing.T) {
	var seen uint32
	for _, typ := range NamespaceTypes() {
		flag := typ.CloneFlag()
		if flag == 0 || flag&(flag-1) != 0 || seen&flag != 0 {
			t.Errorf("%s: flag %#x is not one bit of its own", typ, flag)
		}
		seen |= flag
		p := typ.ProcPath(os.Getpid())
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Errorf("%s: %v", typ, err)
			continue
		}
		got, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
		unix.Close(fd)
		if err != nil || uint32(got) != flag {
			t.Errorf("%s: %s is of type %#x (%v), want %#x", typ, p, got, err, flag)
		}
	}
	if seen != AllCloneFlags() {
		t.Errorf("AllCloneFlags %#x, the types' flags %#x", AllCloneFlags(), seen)
	}
	if NamespaceTypes()[0] != NEWUSER || NamespaceTypes()[len(NamespaceTypes())-1] != NEWNS {
		t.Errorf("join order %v: the user namespace must come first, the mount namespace last", NamespaceTypes())
	}
	if NamespaceType("net").Known() || NamespaceType("net").CloneFlag() != 0 || NamespaceType("net").ProcPath(1) != "" {
		t.Error(`"net" (the file's name, not the type's) is taken for a namespace type`)
	}
	if len(NamespaceNames()) != len(NamespaceTypes()) || !sort.StringsAreSorted(NamespaceNames()) {
		t.Errorf("NamespaceNames %v", NamespaceNames())
	}
}

// fill sets every field of v, recursively, to a value that is not zero:
// numbers and strings from seed, bools to on, one element in each list
// and map.
func fill(t *testing.T, v reflect.Value, seed int, on bool) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), seed, on)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(t, v.Field(i), seed+i, on)
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(t, v.Index(0), seed, on)
	case reflect.Map:
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, k, seed, on)
		fill(t, e, seed, on)
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(k, e)
	case reflect.String:
		v.SetString("v" + strconv.Itoa(seed))
	case reflect.Bool:
		v.SetBool(on)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(seed))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(seed))
	default:
		t.Fatalf("fill: a field of kind %s: teach the test about it", v.Kind())
	}
}

// notUpdated are the fields of Resources that an update leaves as they are.
var notUpdated = map[string]bool{"Devices": true, "OOMKillDisable": true}

// Every field of Resources is either carried by Merge (the update's value
// wins when it is set, the current one stays when it is not) or listed in
// notUpdated: a field added to Resources and forgotten in Merge fails here.
func TestMergeCarriesEveryField(t *testing.T) {
	var cur, upd Resources
	fill(t, reflect.ValueOf(&cur).Elem(), 100, false)
	fill(t, reflect.ValueOf(&upd).Elem(), 200, true)
	keep := cur
	before, err := json.Marshal(cur)
	if err != nil {
		t.Fatal(err)
	}
	got := cur.Merge(&upd)
	typ := reflect.TypeOf(got)
	for i := 0; i < typ.NumField(); i++ {
		name := typ.Field(i).Name
		g, c, u := reflect.ValueOf(got).Field(i).Interface(), reflect.ValueOf(cur).Field(i).Interface(), reflect.ValueOf(upd).Field(i).Interface()
		want := u
		if notUpdated[name] {
			want = c
		}
		if !reflect.DeepEqual(g, want) {
			gj, _ := json.Marshal(g)
			wj, _ := json.Marshal(want)
			t.Errorf("Merge: Resources.%s is %s, want %s (the update's, or list the field in notUpdated)", name, gj, wj)
		}
	}
	// Nothing set in the update: everything stays.
	if got := cur.Merge(&Resources{}); !reflect.DeepEqual(got, keep) {
		t.Errorf("Merge of an empty update changed the resources:\n got %+v\nwant %+v", got, keep)
	}
	if got := cur.Merge(nil); !reflect.DeepEqual(got, keep) {
		t.Errorf("Merge(nil) changed the resources")
	}
	if after, _ := json.Marshal(cur); string(after) != string(before) {
		t.Errorf("Merge changed its receiver:\n%s\n%s", before, after)
	}
	for name := range notUpdated {
		if _, ok := typ.FieldByName(name); !ok {
			t.Errorf("notUpdated names %s, which Resources has not", name)
		}
	}
}

// An update of some fields: the others keep their values; a pids limit of
// 0 is a value, CPUs replace the current ones, the device rules stay.
func TestMergeSomeFields(t *testing.T) {
	p := func(v int64) *int64 { return &v }
	cur := Resources{MemoryLimit: p(1), PidsLimit: p(5), CPUs: "0-1", Devices: []DeviceRule{{Type: 'a'}}}
	got := cur.Merge(&Resources{PidsLimit: p(0), Mems: "0", Devices: []DeviceRule{{Type: 'c'}}})
	if *got.MemoryLimit != 1 || *got.PidsLimit != 0 || got.CPUs != "0-1" || got.Mems != "0" || len(got.Devices) != 1 || got.Devices[0].Type != 'a' {
		t.Errorf("merge: %+v", got)
	}
	if *cur.PidsLimit != 5 {
		t.Errorf("merge changed its input")
	}
}
