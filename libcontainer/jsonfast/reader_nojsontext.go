//go:build !goexperiment.jsonv2

package jsonfast

// Without GOEXPERIMENT=jsonv2 there is no encoding/json/jsontext: every
// decode takes encoding/json (Decode returns ErrFallback at once).
type reader struct{}

func newReader([]byte) *reader { return nil }

func (*reader) peek() byte                  { return 0 }
func (*reader) next() (byte, string, error) { return 0, "", ErrFallback }
func (*reader) end() bool                   { return false }
func (*reader) skip() error                 { return ErrFallback }
func (*reader) value() ([]byte, error)      { return nil, ErrFallback }

// Available says whether this build has the fast path.
const Available = false
