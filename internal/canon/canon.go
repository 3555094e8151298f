// Package canon is ewr's canonical binary encoding: one value has exactly one
// encoding, so two nodes that hold the same state hash the same bytes, and a
// signature over an encoded body covers exactly one meaning.
//
// The encoding is driven by the Go type, field by field in declaration order:
//
//	bool                 one byte, 0 or 1
//	uint8                one byte
//	uint16..uint64, uint unsigned varint, minimal length
//	int8..int64, int     zig-zag varint, minimal length
//	string               uvarint length, then UTF-8 bytes
//	[]byte               uvarint length, then bytes
//	[N]byte              N bytes
//	[]T                  uvarint count, then each element
//	struct               each exported field in order (unexported fields are not allowed)
//	*struct              0 for nil, or 1 then the struct
//
// Maps, floats, interfaces and channels are refused when a type is first seen:
// they have no canonical order or no exact value. Decoding is strict: a
// non-minimal varint, a bool other than 0 or 1, invalid UTF-8, a length past
// the input or past MaxLen, and trailing bytes are all errors. Empty and nil
// slices encode alike and decode as nil.
package canon

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"unicode/utf8"
)

// MaxLen bounds any one length or count read from the wire, so a hostile
// input cannot make the decoder allocate more than it was sent.
const MaxLen = 1 << 22

// Errors returned by Unmarshal. They wrap into a *DecodeError that names the
// field path.
var (
	ErrTruncated    = errors.New("canon: truncated input")
	ErrTrailing     = errors.New("canon: trailing bytes")
	ErrNonCanonical = errors.New("canon: non-canonical encoding")
	ErrTooLong      = errors.New("canon: length over limit")
	ErrBadUTF8      = errors.New("canon: invalid utf-8 string")
)

// DecodeError reports where decoding failed.
type DecodeError struct {
	Type string
	Err  error
}

func (e *DecodeError) Error() string { return fmt.Sprintf("%v (decoding %s)", e.Err, e.Type) }
func (e *DecodeError) Unwrap() error { return e.Err }

// Marshal returns the canonical encoding of v. It panics if v's type is not
// encodable: that is a programming error, found by the first test that
// encodes the type.
func Marshal(v any) []byte { return Append(nil, v) }

// Append appends the canonical encoding of v to dst.
func Append(dst []byte, v any) []byte {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			panic("canon: cannot encode a nil pointer at top level")
		}
		rv = rv.Elem()
	}
	return planFor(rv.Type()).enc(dst, rv)
}

// Unmarshal decodes data into the value v points to. All of data must be
// consumed. On error the value may be partly written; callers discard it.
func Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic("canon: Unmarshal needs a non-nil pointer")
	}
	rv = rv.Elem()
	p := planFor(rv.Type())
	d := decoder{buf: data}
	if err := p.dec(&d, rv); err != nil {
		return &DecodeError{Type: rv.Type().String(), Err: err}
	}
	if len(d.buf) != 0 {
		return &DecodeError{Type: rv.Type().String(), Err: ErrTrailing}
	}
	return nil
}

type decoder struct{ buf []byte }

func (d *decoder) byte1() (byte, error) {
	if len(d.buf) < 1 {
		return 0, ErrTruncated
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b, nil
}

func (d *decoder) uvarint() (uint64, error) {
	x, n := binary.Uvarint(d.buf)
	if n == 0 {
		return 0, ErrTruncated
	}
	if n < 0 {
		return 0, ErrNonCanonical // overflow
	}
	// Minimal: a multi-byte varint may not end in a zero group.
	if n > 1 && d.buf[n-1] == 0 {
		return 0, ErrNonCanonical
	}
	d.buf = d.buf[n:]
	return x, nil
}

func (d *decoder) length() (int, error) {
	x, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if x > MaxLen {
		return 0, ErrTooLong
	}
	return int(x), nil
}

func (d *decoder) take(n int) ([]byte, error) {
	if n > len(d.buf) {
		return nil, ErrTruncated
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b, nil
}

type plan struct {
	enc func(dst []byte, v reflect.Value) []byte
	dec func(d *decoder, v reflect.Value) error
	// minSize is the fewest bytes one value can take; it bounds slice counts.
	minSize int
}

var plans sync.Map // reflect.Type -> *plan

func planFor(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	p := build(t, map[reflect.Type]*plan{})
	actual, _ := plans.LoadOrStore(t, p)
	return actual.(*plan)
}

func build(t reflect.Type, seen map[reflect.Type]*plan) *plan {
	if p, ok := seen[t]; ok {
		return p // recursive type: the plan is filled in below
	}
	p := &plan{}
	seen[t] = p
	switch t.Kind() {
	case reflect.Bool:
		p.minSize = 1
		p.enc = func(dst []byte, v reflect.Value) []byte {
			if v.Bool() {
				return append(dst, 1)
			}
			return append(dst, 0)
		}
		p.dec = func(d *decoder, v reflect.Value) error {
			b, err := d.byte1()
			if err != nil {
				return err
			}
			if b > 1 {
				return ErrNonCanonical
			}
			v.SetBool(b == 1)
			return nil
		}
	case reflect.Uint8:
		p.minSize = 1
		p.enc = func(dst []byte, v reflect.Value) []byte { return append(dst, byte(v.Uint())) }
		p.dec = func(d *decoder, v reflect.Value) error {
			b, err := d.byte1()
			if err != nil {
				return err
			}
			v.SetUint(uint64(b))
			return nil
		}
	case reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		p.minSize = 1
		p.enc = func(dst []byte, v reflect.Value) []byte { return binary.AppendUvarint(dst, v.Uint()) }
		p.dec = func(d *decoder, v reflect.Value) error {
			x, err := d.uvarint()
			if err != nil {
				return err
			}
			if v.OverflowUint(x) {
				return ErrNonCanonical
			}
			v.SetUint(x)
			return nil
		}
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		p.minSize = 1
		p.enc = func(dst []byte, v reflect.Value) []byte { return binary.AppendVarint(dst, v.Int()) }
		p.dec = func(d *decoder, v reflect.Value) error {
			ux, err := d.uvarint()
			if err != nil {
				return err
			}
			x := int64(ux >> 1)
			if ux&1 != 0 {
				x = ^x
			}
			if v.OverflowInt(x) {
				return ErrNonCanonical
			}
			v.SetInt(x)
			return nil
		}
	case reflect.String:
		p.minSize = 1
		p.enc = func(dst []byte, v reflect.Value) []byte {
			s := v.String()
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			return append(dst, s...)
		}
		p.dec = func(d *decoder, v reflect.Value) error {
			n, err := d.length()
			if err != nil {
				return err
			}
			b, err := d.take(n)
			if err != nil {
				return err
			}
			if !utf8.Valid(b) {
				return ErrBadUTF8
			}
			v.SetString(string(b))
			return nil
		}
	case reflect.Array:
		if t.Elem().Kind() != reflect.Uint8 {
			panic(fmt.Sprintf("canon: unsupported array type %s (only byte arrays)", t))
		}
		n := t.Len()
		p.minSize = n
		p.enc = func(dst []byte, v reflect.Value) []byte {
			for i := 0; i < n; i++ {
				dst = append(dst, byte(v.Index(i).Uint()))
			}
			return dst
		}
		p.dec = func(d *decoder, v reflect.Value) error {
			b, err := d.take(n)
			if err != nil {
				return err
			}
			reflect.Copy(v, reflect.ValueOf(b))
			return nil
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			p.minSize = 1
			p.enc = func(dst []byte, v reflect.Value) []byte {
				b := v.Bytes()
				dst = binary.AppendUvarint(dst, uint64(len(b)))
				return append(dst, b...)
			}
			p.dec = func(d *decoder, v reflect.Value) error {
				n, err := d.length()
				if err != nil {
					return err
				}
				b, err := d.take(n)
				if err != nil {
					return err
				}
				if n == 0 {
					v.SetBytes(nil)
					return nil
				}
				v.SetBytes(append([]byte(nil), b...))
				return nil
			}
			break
		}
		ep := build(t.Elem(), seen)
		p.minSize = 1
		p.enc = func(dst []byte, v reflect.Value) []byte {
			n := v.Len()
			dst = binary.AppendUvarint(dst, uint64(n))
			for i := 0; i < n; i++ {
				dst = ep.enc(dst, v.Index(i))
			}
			return dst
		}
		p.dec = func(d *decoder, v reflect.Value) error {
			n, err := d.length()
			if err != nil {
				return err
			}
			if n == 0 {
				v.SetZero()
				return nil
			}
			// Every element takes at least minSize bytes, so a count the
			// input cannot hold is refused before allocating.
			if ep.minSize > 0 && n > len(d.buf)/ep.minSize {
				return ErrTruncated
			}
			s := reflect.MakeSlice(t, n, n)
			for i := 0; i < n; i++ {
				if err := ep.dec(d, s.Index(i)); err != nil {
					return err
				}
			}
			v.Set(s)
			return nil
		}
	case reflect.Struct:
		type field struct {
			idx  int
			plan *plan
		}
		var fields []field
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				panic(fmt.Sprintf("canon: %s has unexported field %s", t, f.Name))
			}
			if f.Tag.Get("canon") == "-" {
				continue
			}
			fields = append(fields, field{idx: i, plan: build(f.Type, seen)})
		}
		if len(fields) == 0 {
			panic(fmt.Sprintf("canon: %s has no encodable fields", t))
		}
		// minSize is computed lazily: recursive types may not be complete yet.
		p.minSize = 1
		p.enc = func(dst []byte, v reflect.Value) []byte {
			for _, f := range fields {
				dst = f.plan.enc(dst, v.Field(f.idx))
			}
			return dst
		}
		p.dec = func(d *decoder, v reflect.Value) error {
			for _, f := range fields {
				if err := f.plan.dec(d, v.Field(f.idx)); err != nil {
					return err
				}
			}
			return nil
		}
	case reflect.Pointer:
		if t.Elem().Kind() != reflect.Struct {
			panic(fmt.Sprintf("canon: unsupported pointer type %s (only *struct)", t))
		}
		ep := build(t.Elem(), seen)
		p.minSize = 1
		p.enc = func(dst []byte, v reflect.Value) []byte {
			if v.IsNil() {
				return append(dst, 0)
			}
			return ep.enc(append(dst, 1), v.Elem())
		}
		p.dec = func(d *decoder, v reflect.Value) error {
			b, err := d.byte1()
			if err != nil {
				return err
			}
			switch b {
			case 0:
				v.SetZero()
				return nil
			case 1:
				nv := reflect.New(t.Elem())
				if err := ep.dec(d, nv.Elem()); err != nil {
					return err
				}
				v.Set(nv)
				return nil
			default:
				return ErrNonCanonical
			}
		}
	default:
		panic(fmt.Sprintf("canon: unsupported type %s (kind %s): no canonical encoding", t, t.Kind()))
	}
	return p
}
