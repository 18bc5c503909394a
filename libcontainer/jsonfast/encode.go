package jsonfast

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Enc writes one JSON value as json.Marshal would, byte for byte; where it
// would not be sure to (invalid UTF-8, a MarshalJSON's own output that
// needs work), it gives up and Marshal uses encoding/json. (A type with an
// interface field gets no generated encoder at all.)
type Enc struct {
	buf []byte
	err error
}

var errGiveUp = errors.New("jsonfast: encode with encoding/json")

// Encode encodes *v with enc, or fails where enc gives up.
func Encode[T any](v *T, enc func(*Enc, *T)) ([]byte, error) {
	e := &Enc{buf: make([]byte, 0, 4096)}
	enc(e, v)
	return e.buf, e.err
}

// Marshal encodes *v with enc, or with encoding/json where enc gives up.
func Marshal[T any](v *T, enc func(*Enc, *T)) ([]byte, error) {
	if b, err := Encode(v, enc); err == nil {
		return b, nil
	}
	return json.Marshal(v)
}

// Byte appends a delimiter.
func (e *Enc) Byte(c byte) { e.buf = append(e.buf, c) }

// Key appends an object member's name (after a comma unless *first).
func (e *Enc) Key(first *bool, name string) {
	if !*first {
		e.buf = append(e.buf, ',')
	}
	*first = false
	e.str(name)
	e.buf = append(e.buf, ':')
}

const hexDigits = "0123456789abcdef"

// str appends s quoted, escaped as encoding/json does (HTML-safe).
func (e *Enc) str(s string) {
	e.buf = append(e.buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&':
				e.buf = append(e.buf, c)
			case c == '"' || c == '\\':
				e.buf = append(e.buf, '\\', c)
			case c == '\n':
				e.buf = append(e.buf, '\\', 'n')
			case c == '\r':
				e.buf = append(e.buf, '\\', 'r')
			case c == '\t':
				e.buf = append(e.buf, '\\', 't')
			case c == '\b':
				e.buf = append(e.buf, '\\', 'b')
			case c == '\f':
				e.buf = append(e.buf, '\\', 'f')
			default:
				e.buf = append(e.buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			e.err = errGiveUp
		case r == '\u2028' || r == '\u2029':
			e.buf = append(e.buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			e.buf = append(e.buf, s[i:i+size]...)
		}
		i += size
	}
	e.buf = append(e.buf, '"')
}

// Null appends null.
func (e *Enc) Null() { e.buf = append(e.buf, "null"...) }

// EncStr appends a string.
func EncStr[T ~string](e *Enc, p *T) { e.str(string(*p)) }

// EncBool appends true or false.
func EncBool[T ~bool](e *Enc, p *T) { e.buf = strconv.AppendBool(e.buf, bool(*p)) }

// EncInt appends an integer.
func EncInt[T ~int | ~int8 | ~int16 | ~int32 | ~int64](e *Enc, p *T) {
	e.buf = strconv.AppendInt(e.buf, int64(*p), 10)
}

// EncUint appends an unsigned integer.
func EncUint[T ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr](e *Enc, p *T) {
	e.buf = strconv.AppendUint(e.buf, uint64(*p), 10)
}

// EncPtr appends *p's value, or null.
func EncPtr[T any](e *Enc, p **T, elem func(*Enc, *T)) {
	if *p == nil {
		e.Null()
		return
	}
	elem(e, *p)
}

// EncSlice appends an array, or null for a nil slice.
func EncSlice[S ~[]T, T any](e *Enc, p *S, elem func(*Enc, *T)) {
	if *p == nil {
		e.Null()
		return
	}
	EncArray(e, []T(*p), elem)
}

// EncArray appends the elements of s as an array.
func EncArray[T any](e *Enc, s []T, elem func(*Enc, *T)) {
	e.buf = append(e.buf, '[')
	for i := range s {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		elem(e, &s[i])
	}
	e.buf = append(e.buf, ']')
}

// EncMap appends an object, its keys sorted, or null for a nil map.
func EncMap[M ~map[K]V, K ~string, V any](e *Enc, p *M, elem func(*Enc, *V)) {
	if *p == nil {
		e.Null()
		return
	}
	keys := make([]K, 0, len(*p))
	for k := range *p {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	e.buf = append(e.buf, '{')
	for i, k := range keys {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.str(string(k))
		e.buf = append(e.buf, ':')
		v := (*p)[k]
		elem(e, &v)
	}
	e.buf = append(e.buf, '}')
}

// EncMarshaler appends what the type's MarshalJSON gives (time.Time),
// when that needs neither compacting nor escaping.
func EncMarshaler[T any, PT interface {
	*T
	json.Marshaler
}](e *Enc, p *T) {
	b, err := PT(p).MarshalJSON()
	if err != nil {
		e.err = errGiveUp
		return
	}
	for _, c := range b {
		if c <= ' ' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			e.err = errGiveUp
			return
		}
	}
	e.buf = append(e.buf, b...)
}
