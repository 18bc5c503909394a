// Package jsonfast decodes the JSON files husk reads on every command
// (config.json, state.json) without encoding/json's reflection.
//
// encoding/json builds its per-type tables on first use: in a process that
// lives for milliseconds that is every use, and it cost a create 1-1.5 ms
// and every command that reads state.json about 1 ms. The decoders here
// are generated from the types themselves (gen/; the test beside each
// generated file rewrites it with -update) and read tokens with
// encoding/json/jsontext; state.json is written by a generated encoder
// (Enc) too.
//
// They are a fast path, not a second definition of JSON: a decoder either
// produces exactly what encoding/json.Unmarshal would, or gives up with
// ErrFallback, and the caller then decodes with encoding/json, which
// decides what the input means and words its errors. They give up on
// anything but the plain case: a syntax or type error, a number that does
// not fit, a name that matches a field only without regard to case, a
// duplicate name, invalid UTF-8. FuzzDecoders (specconv) and
// FuzzStateDecoder (libcontainer) hold them to that.
package jsonfast

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unsafe"
)

// ErrFallback says the input is not one the fast path decodes: decode it
// with encoding/json instead.
var ErrFallback = errors.New("jsonfast: use encoding/json")

// Dec reads one JSON value.
type Dec struct {
	r *reader
}

// Decode runs dec over data, which must hold exactly one JSON value.
func Decode[T any](data []byte, v *T, dec func(*Dec, *T) error) error {
	r := newReader(data)
	if r == nil {
		return ErrFallback // built without encoding/json/jsontext
	}
	d := &Dec{r: r}
	if err := dec(d, v); err != nil {
		return ErrFallback
	}
	if !d.r.end() {
		return ErrFallback
	}
	return nil
}

// Unmarshal decodes data into *v as json.Unmarshal does: with dec where
// it can, else with encoding/json, which then also words the error.
func Unmarshal[T any](data []byte, v *T, dec func(*Dec, *T) error) error {
	if Decode(data, v, dec) == nil {
		return nil
	}
	var zero T
	*v = zero
	return json.Unmarshal(data, v)
}

// Null consumes a null if one is next.
func (d *Dec) Null() bool {
	if d.r.peek() != 'n' {
		return false
	}
	_, _, err := d.r.next()
	return err == nil
}

// BeginObject consumes a '{'.
func (d *Dec) BeginObject() error {
	kind, _, err := d.r.next()
	if err != nil || kind != '{' {
		return ErrFallback
	}
	return nil
}

// More says whether the object or array has another member; at its end
// it consumes the closing '}' or ']'.
func (d *Dec) More() (bool, error) {
	switch d.r.peek() {
	case '}', ']':
		_, _, err := d.r.next()
		return false, err
	case 0:
		return false, ErrFallback
	}
	return true, nil
}

// Name reads an object member's name.
func (d *Dec) Name() (string, error) {
	kind, s, err := d.r.next()
	if err != nil || kind != '"' {
		return "", ErrFallback
	}
	return s, nil
}

// Unknown skips the value of a member whose name is none of names, which
// encoding/json ignores too; a name that matches one of them but for
// case is left to encoding/json.
func (d *Dec) Unknown(name string, names []string) error {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return ErrFallback
		}
	}
	return d.r.skip()
}

// scalar reads a value of kind ('"' or '0') as text: a string
// unescaped, a number as written.
func (d *Dec) scalar(kind byte) (string, error) {
	k, s, err := d.r.next()
	if err != nil || k != kind {
		return "", ErrFallback
	}
	return s, nil
}

// Str decodes a string; null leaves *p as it is (as encoding/json).
func Str[T ~string](d *Dec, p *T) error {
	if d.Null() {
		return nil
	}
	s, err := d.scalar('"')
	if err != nil {
		return err
	}
	*p = T(s)
	return nil
}

// Bool decodes true or false.
func Bool[T ~bool](d *Dec, p *T) error {
	if d.Null() {
		return nil
	}
	kind, _, err := d.r.next()
	if err != nil || (kind != 't' && kind != 'f') {
		return ErrFallback
	}
	*p = T(kind == 't')
	return nil
}

// Int decodes an integer that fits T.
func Int[T ~int | ~int8 | ~int16 | ~int32 | ~int64](d *Dec, p *T) error {
	if d.Null() {
		return nil
	}
	s, err := d.scalar('0')
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(s, 10, int(unsafe.Sizeof(*p))*8)
	if err != nil {
		return ErrFallback
	}
	*p = T(n)
	return nil
}

// Uint decodes an unsigned integer that fits T.
func Uint[T ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr](d *Dec, p *T) error {
	if d.Null() {
		return nil
	}
	s, err := d.scalar('0')
	if err != nil {
		return err
	}
	n, err := strconv.ParseUint(s, 10, int(unsafe.Sizeof(*p))*8)
	if err != nil {
		return ErrFallback
	}
	*p = T(n)
	return nil
}

// Ptr decodes into *pp, made if nil; null makes it nil.
func Ptr[T any](d *Dec, pp **T, elem func(*Dec, *T) error) error {
	if d.Null() {
		*pp = nil
		return nil
	}
	if *pp == nil {
		*pp = new(T)
	}
	return elem(d, *pp)
}

// Slice decodes an array; null makes the slice nil, [] an empty one.
func Slice[S ~[]T, T any](d *Dec, p *S, elem func(*Dec, *T) error) error {
	if d.Null() {
		*p = nil
		return nil
	}
	kind, _, err := d.r.next()
	if err != nil || kind != '[' {
		return ErrFallback
	}
	s := S{}
	for {
		more, err := d.More()
		if err != nil {
			return err
		}
		if !more {
			break
		}
		var e T
		if err := elem(d, &e); err != nil {
			return err
		}
		s = append(s, e)
	}
	*p = s
	return nil
}

// Array decodes an array into a Go array's elements s: what is left over
// on either side is skipped or zeroed, null changes nothing (as
// encoding/json).
func Array[T any](d *Dec, s []T, elem func(*Dec, *T) error) error {
	if d.Null() {
		return nil
	}
	kind, _, err := d.r.next()
	if err != nil || kind != '[' {
		return ErrFallback
	}
	i := 0
	for ; ; i++ {
		more, err := d.More()
		if err != nil {
			return err
		}
		if !more {
			break
		}
		if i >= len(s) {
			if err := d.r.skip(); err != nil {
				return ErrFallback
			}
			continue
		}
		if err := elem(d, &s[i]); err != nil {
			return err
		}
	}
	var zero T
	for ; i < len(s); i++ {
		s[i] = zero
	}
	return nil
}

// Map decodes an object with string keys into a map, made if nil; null
// makes it nil.
func Map[M ~map[K]V, K ~string, V any](d *Dec, p *M, elem func(*Dec, *V) error) error {
	if d.Null() {
		*p = nil
		return nil
	}
	if err := d.BeginObject(); err != nil {
		return err
	}
	if *p == nil {
		*p = M{}
	}
	for {
		more, err := d.More()
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
		k, err := d.Name()
		if err != nil {
			return err
		}
		var v V
		if err := elem(d, &v); err != nil {
			return err
		}
		(*p)[K(k)] = v
	}
}

// Unmarshaler hands the raw value to the type's own UnmarshalJSON, as
// encoding/json does (time.Time).
func Unmarshaler[T any, PT interface {
	*T
	json.Unmarshaler
}](d *Dec, p *T) error {
	v, err := d.r.value()
	if err != nil {
		return ErrFallback
	}
	if err := PT(p).UnmarshalJSON(v); err != nil {
		return ErrFallback
	}
	return nil
}

// Never is for what the fast path does not decode (an interface value):
// only null, which makes it nil.
func Never[T any](d *Dec, p *T) error {
	if d.Null() {
		var zero T
		*p = zero
		return nil
	}
	return ErrFallback
}
