//go:build goexperiment.jsonv2

package jsonfast

import (
	"bytes"
	"encoding/json/jsontext"
	"io"
)

// reader is the tokenizer: encoding/json/jsontext, with its defaults
// (duplicate names and invalid UTF-8 are errors, hence left to
// encoding/json).
type reader struct {
	d *jsontext.Decoder
}

func newReader(data []byte) *reader {
	return &reader{d: jsontext.NewDecoder(bytes.NewReader(data))}
}

// peek is the kind of the next token ('n', 't', 'f', '"', '0', '{', '}',
// '[', ']'), or 0 at the end or on an error.
func (r *reader) peek() byte { return byte(r.d.PeekKind()) }

// next reads a token: its kind and, for a string, its value unescaped or,
// for a number, its text.
func (r *reader) next() (byte, string, error) {
	tok, err := r.d.ReadToken()
	if err != nil {
		return 0, "", err
	}
	k := byte(tok.Kind())
	if k == '"' || k == '0' {
		return k, tok.String(), nil
	}
	return k, "", nil
}

// end says whether all input was read (but white space).
func (r *reader) end() bool {
	_, err := r.d.ReadToken()
	return err == io.EOF
}

func (r *reader) skip() error { return r.d.SkipValue() }

func (r *reader) value() ([]byte, error) {
	v, err := r.d.ReadValue()
	return []byte(v), err
}

// Available says whether this build has the fast path.
const Available = true
