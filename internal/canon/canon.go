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
	"sync/atomic"
	"unicode/utf8"
	"unsafe"
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
	var ptr unsafe.Pointer
	var t reflect.Type
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			panic("canon: cannot encode a nil pointer at top level")
		}
		ptr, t = rv.UnsafePointer(), rv.Type().Elem()
	} else {
		// A value: copy it somewhere addressable.
		nv := reflect.New(rv.Type())
		nv.Elem().Set(rv)
		ptr, t = nv.UnsafePointer(), rv.Type()
	}
	p := planFor(t)
	// Grow once to the size this type last encoded to, instead of doubling
	// up from nothing field by field.
	if hint := int(p.lastSize.Load()); cap(dst)-len(dst) < hint {
		dst = append(make([]byte, 0, len(dst)+hint+hint/8), dst...)
	}
	start := len(dst)
	dst = p.enc(dst, ptr)
	p.lastSize.Store(int64(len(dst) - start))
	return dst
}

// Unmarshal decodes data into the value v points to. All of data must be
// consumed. On error the value may be partly written; callers discard it.
func Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic("canon: Unmarshal needs a non-nil pointer")
	}
	t := rv.Type().Elem()
	p := planFor(t)
	d := decoder{buf: data}
	if err := p.dec(&d, rv.UnsafePointer()); err != nil {
		return &DecodeError{Type: t.String(), Err: err}
	}
	if len(d.buf) != 0 {
		return &DecodeError{Type: t.String(), Err: ErrTrailing}
	}
	return nil
}

type decoder struct {
	buf []byte
	// arena holds the bytes of the strings decoded so far: one allocation
	// for all of a value's strings instead of one each. It is never written
	// again once a string points into it.
	arena []byte
}

// str returns b as a string backed by the arena.
func (d *decoder) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if cap(d.arena)-len(d.arena) < len(b) {
		// Room for the rest of the input: no string can be longer.
		d.arena = make([]byte, 0, max(len(b), len(d.buf)+len(b)))
	}
	start := len(d.arena)
	d.arena = append(d.arena, b...)
	return unsafe.String(&d.arena[start], len(b))
}

func (d *decoder) byte1() (byte, error) {
	if len(d.buf) < 1 {
		return 0, ErrTruncated
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b, nil
}

func (d *decoder) uvarint() (uint64, error) {
	// Fast path: one byte.
	if len(d.buf) > 0 && d.buf[0] < 0x80 {
		x := uint64(d.buf[0])
		d.buf = d.buf[1:]
		return x, nil
	}
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

// A plan encodes and decodes one Go type, working on the value's address:
// fields are reached by their offsets, without reflect.Value on the hot
// path (that made decoding a receipt several times slower).
type plan struct {
	lastSize atomic.Int64 // bytes the last top-level encoding of this type took
	enc      func(dst []byte, p unsafe.Pointer) []byte
	dec      func(d *decoder, p unsafe.Pointer) error
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

// sliceHeader is the layout of a Go slice.
type sliceHeader struct {
	data unsafe.Pointer
	len  int
	cap  int
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
		p.enc = func(dst []byte, v unsafe.Pointer) []byte {
			if *(*bool)(v) {
				return append(dst, 1)
			}
			return append(dst, 0)
		}
		p.dec = func(d *decoder, v unsafe.Pointer) error {
			b, err := d.byte1()
			if err != nil {
				return err
			}
			if b > 1 {
				return ErrNonCanonical
			}
			*(*bool)(v) = b == 1
			return nil
		}
	case reflect.Uint8:
		p.minSize = 1
		p.enc = func(dst []byte, v unsafe.Pointer) []byte { return append(dst, *(*uint8)(v)) }
		p.dec = func(d *decoder, v unsafe.Pointer) error {
			b, err := d.byte1()
			if err != nil {
				return err
			}
			*(*uint8)(v) = b
			return nil
		}
	case reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		p.minSize = 1
		load, store, bits := uintAccess(t.Size())
		p.enc = func(dst []byte, v unsafe.Pointer) []byte { return binary.AppendUvarint(dst, load(v)) }
		p.dec = func(d *decoder, v unsafe.Pointer) error {
			x, err := d.uvarint()
			if err != nil {
				return err
			}
			if bits < 64 && x>>bits != 0 {
				return ErrNonCanonical
			}
			store(v, x)
			return nil
		}
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		p.minSize = 1
		load, store, bits := intAccess(t.Size())
		p.enc = func(dst []byte, v unsafe.Pointer) []byte { return binary.AppendVarint(dst, load(v)) }
		p.dec = func(d *decoder, v unsafe.Pointer) error {
			ux, err := d.uvarint()
			if err != nil {
				return err
			}
			x := int64(ux >> 1)
			if ux&1 != 0 {
				x = ^x
			}
			if bits < 64 && (x < -(1<<(bits-1)) || x >= 1<<(bits-1)) {
				return ErrNonCanonical
			}
			store(v, x)
			return nil
		}
	case reflect.String:
		p.minSize = 1
		p.enc = func(dst []byte, v unsafe.Pointer) []byte {
			s := *(*string)(v)
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			return append(dst, s...)
		}
		p.dec = func(d *decoder, v unsafe.Pointer) error {
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
			*(*string)(v) = d.str(b)
			return nil
		}
	case reflect.Array:
		if t.Elem().Kind() != reflect.Uint8 {
			panic(fmt.Sprintf("canon: unsupported array type %s (only byte arrays)", t))
		}
		n := t.Len()
		p.minSize = n
		p.enc = func(dst []byte, v unsafe.Pointer) []byte { return append(dst, unsafe.Slice((*byte)(v), n)...) }
		p.dec = func(d *decoder, v unsafe.Pointer) error {
			b, err := d.take(n)
			if err != nil {
				return err
			}
			copy(unsafe.Slice((*byte)(v), n), b)
			return nil
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			p.minSize = 1
			p.enc = func(dst []byte, v unsafe.Pointer) []byte {
				b := *(*[]byte)(v)
				dst = binary.AppendUvarint(dst, uint64(len(b)))
				return append(dst, b...)
			}
			p.dec = func(d *decoder, v unsafe.Pointer) error {
				n, err := d.length()
				if err != nil {
					return err
				}
				b, err := d.take(n)
				if err != nil {
					return err
				}
				if n == 0 {
					*(*[]byte)(v) = nil
					return nil
				}
				*(*[]byte)(v) = append([]byte(nil), b...)
				return nil
			}
			break
		}
		et := t.Elem()
		ep := build(et, seen)
		size := et.Size()
		p.minSize = 1
		p.enc = func(dst []byte, v unsafe.Pointer) []byte {
			h := (*sliceHeader)(v)
			dst = binary.AppendUvarint(dst, uint64(h.len))
			for i := 0; i < h.len; i++ {
				dst = ep.enc(dst, unsafe.Add(h.data, uintptr(i)*size))
			}
			return dst
		}
		p.dec = func(d *decoder, v unsafe.Pointer) error {
			n, err := d.length()
			if err != nil {
				return err
			}
			h := (*sliceHeader)(v)
			if n == 0 {
				*h = sliceHeader{}
				return nil
			}
			// Every element takes at least minSize bytes, so a count the
			// input cannot hold is refused before allocating.
			if ep.minSize > 0 && n > len(d.buf)/ep.minSize {
				return ErrTruncated
			}
			// Allocate through reflect so the garbage collector knows the
			// element type; fill through pointers.
			data := reflect.MakeSlice(t, n, n).UnsafePointer()
			for i := 0; i < n; i++ {
				if err := ep.dec(d, unsafe.Add(data, uintptr(i)*size)); err != nil {
					return err
				}
			}
			*h = sliceHeader{data: data, len: n, cap: n}
			return nil
		}
	case reflect.Struct:
		type field struct {
			off  uintptr
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
			fields = append(fields, field{off: f.Offset, plan: build(f.Type, seen)})
		}
		if len(fields) == 0 {
			panic(fmt.Sprintf("canon: %s has no encodable fields", t))
		}
		// minSize is kept at 1: recursive types may not be complete yet.
		p.minSize = 1
		p.enc = func(dst []byte, v unsafe.Pointer) []byte {
			for i := range fields {
				dst = fields[i].plan.enc(dst, unsafe.Add(v, fields[i].off))
			}
			return dst
		}
		p.dec = func(d *decoder, v unsafe.Pointer) error {
			for i := range fields {
				if err := fields[i].plan.dec(d, unsafe.Add(v, fields[i].off)); err != nil {
					return err
				}
			}
			return nil
		}
	case reflect.Pointer:
		if t.Elem().Kind() != reflect.Struct {
			panic(fmt.Sprintf("canon: unsupported pointer type %s (only *struct)", t))
		}
		et := t.Elem()
		ep := build(et, seen)
		p.minSize = 1
		p.enc = func(dst []byte, v unsafe.Pointer) []byte {
			ptr := *(*unsafe.Pointer)(v)
			if ptr == nil {
				return append(dst, 0)
			}
			return ep.enc(append(dst, 1), ptr)
		}
		p.dec = func(d *decoder, v unsafe.Pointer) error {
			b, err := d.byte1()
			if err != nil {
				return err
			}
			switch b {
			case 0:
				*(*unsafe.Pointer)(v) = nil
				return nil
			case 1:
				np := reflect.New(et).UnsafePointer()
				if err := ep.dec(d, np); err != nil {
					return err
				}
				*(*unsafe.Pointer)(v) = np
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

func uintAccess(size uintptr) (load func(unsafe.Pointer) uint64, store func(unsafe.Pointer, uint64), bits uint) {
	switch size {
	case 2:
		return func(p unsafe.Pointer) uint64 { return uint64(*(*uint16)(p)) },
			func(p unsafe.Pointer, x uint64) { *(*uint16)(p) = uint16(x) }, 16
	case 4:
		return func(p unsafe.Pointer) uint64 { return uint64(*(*uint32)(p)) },
			func(p unsafe.Pointer, x uint64) { *(*uint32)(p) = uint32(x) }, 32
	case 8:
		return func(p unsafe.Pointer) uint64 { return *(*uint64)(p) },
			func(p unsafe.Pointer, x uint64) { *(*uint64)(p) = x }, 64
	}
	panic(fmt.Sprintf("canon: unsigned integer of %d bytes", size))
}

func intAccess(size uintptr) (load func(unsafe.Pointer) int64, store func(unsafe.Pointer, int64), bits uint) {
	switch size {
	case 1:
		return func(p unsafe.Pointer) int64 { return int64(*(*int8)(p)) },
			func(p unsafe.Pointer, x int64) { *(*int8)(p) = int8(x) }, 8
	case 2:
		return func(p unsafe.Pointer) int64 { return int64(*(*int16)(p)) },
			func(p unsafe.Pointer, x int64) { *(*int16)(p) = int16(x) }, 16
	case 4:
		return func(p unsafe.Pointer) int64 { return int64(*(*int32)(p)) },
			func(p unsafe.Pointer, x int64) { *(*int32)(p) = int32(x) }, 32
	case 8:
		return func(p unsafe.Pointer) int64 { return *(*int64)(p) },
			func(p unsafe.Pointer, x int64) { *(*int64)(p) = x }, 64
	}
	panic(fmt.Sprintf("canon: signed integer of %d bytes", size))
}
