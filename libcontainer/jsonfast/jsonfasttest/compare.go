// Package jsonfasttest holds the generated decoders to encoding/json, for
// the tests beside them.
package jsonfasttest

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/husk-runtime/husk/libcontainer/jsonfast"
)

// Compare decodes data with dec and with encoding/json, for the tests of
// generated decoders: where dec decodes, it must decode what
// json.Unmarshal does, and json.Unmarshal must accept the input too. fast
// says whether dec decoded it.
func Compare[T any](data []byte, dec func(*jsonfast.Dec, *T) error) (fast bool, err error) {
	var f, ref T
	ferr := jsonfast.Decode(data, &f, dec)
	rerr := json.Unmarshal(data, &ref)
	switch {
	case ferr == jsonfast.ErrFallback:
		return false, nil
	case ferr != nil:
		return false, fmt.Errorf("%q: the fast decoder failed with %v, not ErrFallback", data, ferr)
	case rerr != nil:
		return true, fmt.Errorf("%q: the fast decoder accepted what encoding/json refuses: %v", data, rerr)
	case !reflect.DeepEqual(f, ref):
		return true, fmt.Errorf("%q: the fast decoder gave\n%#v\nencoding/json\n%#v", data, f, ref)
	}
	return true, nil
}
