package specconv

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// UnknownFields lists, as JSON paths, the members of config.json's
// objects that the runtime-spec does not define (and husk thus ignores).
// data must be valid JSON.
func UnknownFields(data []byte) []string {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil
	}
	var out []string
	walkUnknown(v, reflect.TypeOf(specs.Spec{}), "", &out)
	return out
}

func walkUnknown(v any, t reflect.Type, path string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return
		}
		fields := map[string]reflect.Type{}
		jsonFields(t, fields)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			ft, ok := fields[k]
			if !ok {
				// encoding/json matches names without regard to case.
				ft, ok = fields[strings.ToLower(k)]
			}
			if !ok {
				*out = append(*out, p)
				continue
			}
			walkUnknown(obj[k], ft, p, out)
		}
	case reflect.Slice, reflect.Array:
		arr, ok := v.([]any)
		if !ok {
			return
		}
		for i, e := range arr {
			walkUnknown(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), out)
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k, e := range obj {
			walkUnknown(e, t.Elem(), fmt.Sprintf("%s[%q]", path, k), out)
		}
	}
}

// jsonFields maps the JSON names of struct t's fields (and lower-cased
// ones) to their types, embedded structs' included.
func jsonFields(t reflect.Type, out map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				jsonFields(ft, out)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
		if _, ok := out[strings.ToLower(name)]; !ok {
			out[strings.ToLower(name)] = f.Type
		}
	}
}
