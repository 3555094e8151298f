// Package snake is the API's JSON: snake_case keys for Go structs that have
// no JSON tags (the domain records and ops), strict decoding, and the JSON
// Schema of a type for the OpenAPI document. One codec for the API's own
// DTOs, the domain records it serves and the ops it accepts keeps every
// body alike: the field ReceiptVersion is "receipt_version" everywhere.
//
// Encoding, by Go type:
//
//	struct                object; key = the json tag's name, else Name(field)
//	encoding.TextMarshaler string (the domain enums print as their names)
//	json.Marshaler        as it says (json.RawMessage passes through)
//	string, bool, ints    as JSON; a ",string" tag option quotes an integer
//	[]byte                base64 (standard, padded)
//	[N]byte               lowercase hex (hashes, keys, signatures)
//	[]T, [N]T             array; a nil slice is []
//	*T                    null or T
//	map[string]T          object, keys sorted
//	interface{}           the dynamic value
//
// Decoding accepts exactly what encoding produces, and refuses what would
// be silently wrong: unknown fields, a number where a string is due,
// negative or fractional values for unsigned fields, integers that
// overflow their field, malformed hex or base64, trailing data.
package snake

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Name is the snake_case form of a Go identifier: ReceiptVersion →
// receipt_version, InitialLTVBps → initial_ltv_bps, ID → id, PubKey →
// pub_key.
func Name(goName string) string {
	rs := []rune(goName)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 {
				prev := rs[i-1]
				nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
				if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
					b.WriteByte('_')
				}
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// field is one struct field as the codec sees it.
type field struct {
	name      string // JSON key
	key       []byte // `"name":`
	index     []int
	typ       reflect.Type
	omitEmpty bool
	quoted    bool // ",string": an integer as a JSON string
}

var fieldCache sync.Map // reflect.Type → []field

// fields lists the JSON fields of struct type t, embedded structs
// flattened as encoding/json does (only one level is needed here).
func fields(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
			for _, ef := range fields(sf.Type) {
				ef.index = append([]int{i}, ef.index...)
				out = append(out, ef)
			}
			continue
		}
		if name == "" {
			name = Name(sf.Name)
		}
		f := field{name: name, index: []int{i}, typ: sf.Type}
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "omitempty":
				f.omitEmpty = true
			case "string":
				f.quoted = true
			}
		}
		f.key = append(appendString(nil, name), ':')
		out = append(out, f)
	}
	fieldCache.Store(t, out)
	return out
}

var (
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
	rawMessage      = reflect.TypeFor[json.RawMessage]()
)

// Marshal encodes v.
func Marshal(v any) ([]byte, error) { return Append(nil, v) }

// MustMarshal encodes v and panics on failure: for values whose types the
// codec is known to handle.
func MustMarshal(v any) []byte {
	b, err := Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Append appends the encoding of v to b.
func Append(b []byte, v any) (out []byte, err error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	rv := reflect.ValueOf(v)
	return encoderOf(rv.Type())(b, rv)
}

// encFunc appends the encoding of a value of one type.
type encFunc func(b []byte, v reflect.Value) ([]byte, error)

var encCache sync.Map // reflect.Type → encFunc

// encoderOf returns the encoder of t, built once per type.
func encoderOf(t reflect.Type) encFunc {
	if f, ok := encCache.Load(t); ok {
		return f.(encFunc)
	}
	// A recursive type finds this indirection while its encoder is built.
	var (
		wg sync.WaitGroup
		f  encFunc
	)
	wg.Add(1)
	fi, loaded := encCache.LoadOrStore(t, encFunc(func(b []byte, v reflect.Value) ([]byte, error) {
		wg.Wait()
		return f(b, v)
	}))
	if loaded {
		return fi.(encFunc)
	}
	f = newEncoder(t)
	wg.Done()
	encCache.Store(t, f)
	return f
}

func newEncoder(t reflect.Type) encFunc {
	switch {
	case t == rawMessage:
		return func(b []byte, v reflect.Value) ([]byte, error) {
			raw := v.Bytes()
			if len(raw) == 0 {
				return append(b, "null"...), nil
			}
			return append(b, raw...), nil
		}
	case t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && t.Implements(textMarshaler):
		return func(b []byte, v reflect.Value) ([]byte, error) {
			txt, err := v.Interface().(encoding.TextMarshaler).MarshalText()
			if err != nil {
				return nil, err
			}
			return appendString(b, string(txt)), nil
		}
	case t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && t.Implements(jsonMarshaler):
		return func(b []byte, v reflect.Value) ([]byte, error) {
			raw, err := v.Interface().(json.Marshaler).MarshalJSON()
			if err != nil {
				return nil, err
			}
			return append(b, raw...), nil
		}
	}
	switch t.Kind() {
	case reflect.String:
		return func(b []byte, v reflect.Value) ([]byte, error) { return appendString(b, v.String()), nil }
	case reflect.Bool:
		return func(b []byte, v reflect.Value) ([]byte, error) { return strconv.AppendBool(b, v.Bool()), nil }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(b []byte, v reflect.Value) ([]byte, error) { return strconv.AppendInt(b, v.Int(), 10), nil }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return func(b []byte, v reflect.Value) ([]byte, error) { return strconv.AppendUint(b, v.Uint(), 10), nil }
	case reflect.Float32, reflect.Float64:
		return func(b []byte, v reflect.Value) ([]byte, error) {
			f := v.Float()
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, fmt.Errorf("snake: unsupported float %v", f)
			}
			return strconv.AppendFloat(b, f, 'g', -1, 64), nil
		}
	case reflect.Pointer:
		elem := encoderOf(t.Elem())
		return func(b []byte, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return append(b, "null"...), nil
			}
			return elem(b, v.Elem())
		}
	case reflect.Interface:
		return func(b []byte, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return append(b, "null"...), nil
			}
			e := v.Elem()
			return encoderOf(e.Type())(b, e)
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return func(b []byte, v reflect.Value) ([]byte, error) {
				b = append(b, '"')
				b = base64.StdEncoding.AppendEncode(b, v.Bytes())
				return append(b, '"'), nil
			}
		}
		return arrayEncoder(encoderOf(t.Elem()))
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			n := t.Len()
			return func(b []byte, v reflect.Value) ([]byte, error) {
				b = append(b, '"')
				for i := 0; i < n; i++ {
					c := byte(v.Index(i).Uint())
					b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
				}
				return append(b, '"'), nil
			}
		}
		return arrayEncoder(encoderOf(t.Elem()))
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return func([]byte, reflect.Value) ([]byte, error) { return nil, fmt.Errorf("snake: map key type %s", t.Key()) }
		}
		elem := encoderOf(t.Elem())
		return func(b []byte, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return append(b, "{}"...), nil
			}
			keys := make([]string, 0, v.Len())
			for _, k := range v.MapKeys() {
				keys = append(keys, k.String())
			}
			sort.Strings(keys)
			b = append(b, '{')
			for i, k := range keys {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(appendString(b, k), ':')
				var err error
				if b, err = elem(b, v.MapIndex(reflect.ValueOf(k).Convert(t.Key()))); err != nil {
					return nil, err
				}
			}
			return append(b, '}'), nil
		}
	case reflect.Struct:
		type fenc struct {
			field
			enc encFunc
		}
		fs := fields(t)
		encs := make([]fenc, len(fs))
		for i, f := range fs {
			encs[i] = fenc{field: f, enc: encoderOf(f.typ)}
			if f.quoted {
				switch f.typ.Kind() {
				case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
					encs[i].enc = func(b []byte, v reflect.Value) ([]byte, error) {
						return append(strconv.AppendInt(append(b, '"'), v.Int(), 10), '"'), nil
					}
				case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
					encs[i].enc = func(b []byte, v reflect.Value) ([]byte, error) {
						return append(strconv.AppendUint(append(b, '"'), v.Uint(), 10), '"'), nil
					}
				}
			}
		}
		return func(b []byte, v reflect.Value) ([]byte, error) {
			b = append(b, '{')
			first := true
			for i := range encs {
				f := &encs[i]
				var fv reflect.Value
				if len(f.index) == 1 {
					fv = v.Field(f.index[0])
				} else {
					fv = v.FieldByIndex(f.index)
				}
				if f.omitEmpty && (fv.IsZero() || ((fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.Len() == 0)) {
					continue
				}
				if !first {
					b = append(b, ',')
				}
				first = false
				b = append(b, f.key...)
				var err error
				if b, err = f.enc(b, fv); err != nil {
					return nil, fmt.Errorf("%s: %w", f.name, err)
				}
			}
			return append(b, '}'), nil
		}
	}
	return func([]byte, reflect.Value) ([]byte, error) { return nil, fmt.Errorf("snake: unsupported type %s", t) }
}

func arrayEncoder(elem encFunc) encFunc {
	return func(b []byte, v reflect.Value) ([]byte, error) {
		b = append(b, '[')
		n := v.Len()
		for i := 0; i < n; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = elem(b, v.Index(i)); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD;
// <, > and & are escaped so a body is safe to embed in HTML.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Error is a decoding failure, naming the field path ("parts[1].quantity").
type Error struct {
	Path string
	Msg  string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

func errAt(path, format string, args ...any) error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Unmarshal decodes data into v (a non-nil pointer), strictly.
func Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("snake: Unmarshal needs a non-nil pointer")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return &Error{Msg: "malformed JSON: " + err.Error()}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &Error{Msg: "malformed JSON: data after the value"}
	}
	return decodeValue("", doc, rv.Elem())
}

// UnmarshalValue decodes an already parsed JSON value (from encoding/json
// with UseNumber) into v.
func UnmarshalValue(doc any, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("snake: UnmarshalValue needs a non-nil pointer")
	}
	return decodeValue("", doc, rv.Elem())
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func typeName(doc any) string {
	switch doc.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", doc)
}

func decodeValue(path string, doc any, v reflect.Value) error {
	t := v.Type()
	if t == rawMessage {
		if doc == nil {
			v.SetBytes(nil)
			return nil
		}
		raw, err := json.Marshal(doc)
		if err != nil {
			return errAt(path, "%v", err)
		}
		v.SetBytes(raw)
		return nil
	}
	if t.Kind() == reflect.Pointer {
		if doc == nil {
			v.SetZero()
			return nil
		}
		p := reflect.New(t.Elem())
		if err := decodeValue(path, doc, p.Elem()); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
	if t.Kind() == reflect.Interface {
		if t.NumMethod() != 0 {
			return errAt(path, "cannot decode into %s", t)
		}
		v.Set(reflect.ValueOf(doc))
		return nil
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		s, ok := doc.(string)
		if !ok {
			return errAt(path, "must be a string, not %s", typeName(doc))
		}
		if s == "" { // unset: the zero value, which the rules judge
			v.SetZero()
			return nil
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return errAt(path, "%v", err)
		}
		return nil
	}
	return decodePlain(path, doc, v, false)
}

func decodePlain(path string, doc any, v reflect.Value, quoted bool) error {
	t := v.Type()
	switch t.Kind() {
	case reflect.String:
		s, ok := doc.(string)
		if !ok {
			return errAt(path, "must be a string, not %s", typeName(doc))
		}
		v.SetString(s)
		return nil
	case reflect.Bool:
		x, ok := doc.(bool)
		if !ok {
			return errAt(path, "must be true or false, not %s", typeName(doc))
		}
		v.SetBool(x)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s, err := numberText(path, doc, quoted)
		if err != nil {
			return err
		}
		n, err := strconv.ParseInt(s, 10, t.Bits())
		if err != nil {
			return errAt(path, "must be an integer in %d bits: %q", t.Bits(), s)
		}
		v.SetInt(n)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s, err := numberText(path, doc, quoted)
		if err != nil {
			return err
		}
		if strings.HasPrefix(s, "-") {
			return errAt(path, "must not be negative: %s", s)
		}
		n, err := strconv.ParseUint(s, 10, t.Bits())
		if err != nil {
			return errAt(path, "must be a whole number below 2^%d: %q", t.Bits(), s)
		}
		v.SetUint(n)
		return nil
	case reflect.Float32, reflect.Float64:
		num, ok := doc.(json.Number)
		if !ok {
			return errAt(path, "must be a number, not %s", typeName(doc))
		}
		f, err := num.Float64()
		if err != nil {
			return errAt(path, "%v", err)
		}
		v.SetFloat(f)
		return nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			if doc == nil {
				v.SetBytes(nil)
				return nil
			}
			s, ok := doc.(string)
			if !ok {
				return errAt(path, "must be a base64 string, not %s", typeName(doc))
			}
			b, err := decodeBase64(s)
			if err != nil {
				return errAt(path, "must be base64: %v", err)
			}
			v.SetBytes(b)
			return nil
		}
		if doc == nil {
			v.SetZero()
			return nil
		}
		arr, ok := doc.([]any)
		if !ok {
			return errAt(path, "must be an array, not %s", typeName(doc))
		}
		s := reflect.MakeSlice(t, len(arr), len(arr))
		for i, e := range arr {
			if err := decodeValue(fmt.Sprintf("%s[%d]", path, i), e, s.Index(i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			s, ok := doc.(string)
			if !ok {
				return errAt(path, "must be a hex string of %d bytes, not %s", t.Len(), typeName(doc))
			}
			b, err := hex.DecodeString(s)
			if err != nil || len(b) != t.Len() {
				return errAt(path, "must be %d bytes in hex (%d digits)", t.Len(), 2*t.Len())
			}
			reflect.Copy(v, reflect.ValueOf(b))
			return nil
		}
		arr, ok := doc.([]any)
		if !ok || len(arr) != t.Len() {
			return errAt(path, "must be an array of %d", t.Len())
		}
		for i, e := range arr {
			if err := decodeValue(fmt.Sprintf("%s[%d]", path, i), e, v.Index(i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return errAt(path, "cannot decode into %s", t)
		}
		if doc == nil {
			v.SetZero()
			return nil
		}
		obj, ok := doc.(map[string]any)
		if !ok {
			return errAt(path, "must be an object, not %s", typeName(doc))
		}
		m := reflect.MakeMapWithSize(t, len(obj))
		for k, e := range obj {
			ev := reflect.New(t.Elem()).Elem()
			if err := decodeValue(join(path, k), e, ev); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
		}
		v.Set(m)
		return nil
	case reflect.Struct:
		obj, ok := doc.(map[string]any)
		if !ok {
			return errAt(path, "must be an object, not %s", typeName(doc))
		}
		fs := fields(t)
		byName := make(map[string]*field, len(fs))
		for i := range fs {
			byName[fs[i].name] = &fs[i]
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys) // report the first unknown field deterministically
		for _, k := range keys {
			f, ok := byName[k]
			if !ok {
				return errAt(join(path, k), "unknown field")
			}
			fv := v.FieldByIndex(f.index)
			var err error
			if f.quoted && isInteger(fv.Kind()) {
				err = decodePlain(join(path, k), obj[k], fv, true)
			} else {
				err = decodeValue(join(path, k), obj[k], fv)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return errAt(path, "cannot decode into %s", t)
}

func isInteger(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// numberText returns the digits of an integer: a JSON number, or for a
// quoted field, a JSON string of digits (a number is accepted too).
func numberText(path string, doc any, quoted bool) (string, error) {
	switch x := doc.(type) {
	case json.Number:
		s := x.String()
		if strings.ContainsAny(s, ".eE") {
			return "", errAt(path, "must be a whole number, not %s", s)
		}
		return s, nil
	case string:
		if quoted {
			return x, nil
		}
	}
	return "", errAt(path, "must be an integer, not %s", typeName(doc))
}

func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	_, err := base64.StdEncoding.DecodeString(s)
	return nil, err
}

// FieldInfo describes one JSON field of a struct type.
type FieldInfo struct {
	Name      string // the JSON key
	Type      reflect.Type
	OmitEmpty bool
}

// Fields lists the JSON fields of struct type t as the codec sees them.
func Fields(t reflect.Type) []FieldInfo {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []FieldInfo
	for _, f := range fields(t) {
		out = append(out, FieldInfo{Name: f.name, Type: f.typ, OmitEmpty: f.omitEmpty})
	}
	return out
}
