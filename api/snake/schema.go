package snake

import (
	"encoding"
	"reflect"
	"sort"
)

// Schemas builds JSON Schemas (OpenAPI 3.0 dialect) of Go types as the
// codec encodes them. Named struct types become components referenced by
// $ref; everything else is inline.
type Schemas struct {
	components map[string]map[string]any
	names      map[reflect.Type]string
	taken      map[string]reflect.Type
	// Describe, when set, gives a description for a component type.
	Describe func(t reflect.Type) string
}

// NewSchemas returns an empty set.
func NewSchemas() *Schemas {
	return &Schemas{components: map[string]map[string]any{}, names: map[reflect.Type]string{}, taken: map[string]reflect.Type{}}
}

// Components returns the component schemas, by name.
func (s *Schemas) Components() map[string]map[string]any { return s.components }

// Ref returns the schema of t: a $ref for named structs, inline otherwise.
func (s *Schemas) Ref(t reflect.Type) map[string]any {
	return s.of(t)
}

func (s *Schemas) of(t reflect.Type) map[string]any {
	if t == rawMessage {
		return map[string]any{"description": "any JSON value"}
	}
	if t.Kind() == reflect.Pointer {
		inner := s.of(t.Elem())
		if _, isRef := inner["$ref"]; isRef {
			// Named structs are objects: OpenAPI 3.0's nullable needs a
			// type beside it.
			return map[string]any{"type": "object", "allOf": []any{inner}, "nullable": true}
		}
		c := clone(inner)
		if _, typed := c["type"]; typed {
			c["nullable"] = true
		} // an untyped schema (any JSON value) admits null already
		return c
	}
	if t.Kind() != reflect.Interface && t.Implements(textMarshaler) {
		return textSchema(t)
	}
	if t.Kind() != reflect.Interface && t.Implements(jsonMarshaler) {
		return map[string]any{"description": "any JSON value"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "format": "int64", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Interface:
		return map[string]any{"description": "any JSON value"}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": s.of(t.Elem())}
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "pattern": "^[0-9a-f]{" + itoa(2*t.Len()) + "}$", "description": itoa(t.Len()) + " bytes, hex"}
		}
		return map[string]any{"type": "array", "items": s.of(t.Elem()), "minItems": t.Len(), "maxItems": t.Len()}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": s.of(t.Elem())}
	case reflect.Struct:
		if t.Name() == "" {
			return s.structSchema(t)
		}
		name, ok := s.names[t]
		if !ok {
			name = t.Name()
			if other, taken := s.taken[name]; taken && other != t {
				name = pkgName(t) + t.Name()
			}
			s.names[t] = name
			s.taken[name] = t
			s.components[name] = map[string]any{} // placeholder: recursion
			sc := s.structSchema(t)
			if s.Describe != nil {
				if d := s.Describe(t); d != "" {
					sc["description"] = d
				}
			}
			s.components[name] = sc
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

func (s *Schemas) structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	for _, f := range fields(t) {
		ps := s.of(f.typ)
		if f.quoted && isInteger(f.typ.Kind()) {
			ps = map[string]any{"type": "string", "pattern": "^[0-9]+$", "description": "an integer, as a string"}
		}
		props[f.name] = ps
		if !f.omitEmpty {
			required = append(required, f.name)
		}
	}
	sc := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		// The codec always writes a field without omitempty: a client
		// can rely on it (and a generated one need not take a pointer).
		sort.Strings(required)
		sc["required"] = required
	}
	return sc
}

// textSchema is a string; for small integer enums, with their names.
func textSchema(t reflect.Type) map[string]any {
	sc := map[string]any{"type": "string"}
	switch t.Kind() {
	case reflect.Uint8:
		var names []any
		seen := map[string]bool{}
		for i := 0; i < 256; i++ {
			v := reflect.New(t).Elem()
			v.SetUint(uint64(i))
			txt, err := v.Interface().(encoding.TextMarshaler).MarshalText()
			if err != nil || len(txt) == 0 || string(txt) == "UNKNOWN" || string(txt) == "unknown" || seen[string(txt)] {
				continue
			}
			seen[string(txt)] = true
			names = append(names, string(txt))
		}
		if len(names) > 0 {
			sc["enum"] = append([]any{""}, names...)
		}
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			sc["pattern"] = "^[0-9a-f]{" + itoa(2*t.Len()) + "}$"
		}
	}
	return sc
}

func pkgName(t reflect.Type) string {
	p := t.PkgPath()
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			p = p[i+1:]
			break
		}
	}
	if p == "" {
		return ""
	}
	return string(p[0]-'a'+'A') + p[1:]
}

func clone(m map[string]any) map[string]any {
	c := make(map[string]any, len(m)+1)
	for k, v := range m {
		c[k] = v
	}
	return c
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
