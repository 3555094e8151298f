package api_test

import (
	"reflect"
	"testing"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/snake"
)

// FuzzRequestBodies feeds every route's request body decoder what a
// client could send: it never panics, and a body it accepts re-encodes to
// JSON that decodes to a value encoding the same.
func FuzzRequestBodies(f *testing.F) {
	var types []reflect.Type
	for _, r := range api.Routes() {
		if r.Request != nil {
			types = append(types, r.Request)
		}
	}
	for i, t := range types {
		if b, err := snake.Marshal(reflect.New(t).Interface()); err == nil {
			f.Add(uint16(i), b)
		}
	}
	f.Add(uint16(0), []byte(`{"tickets":[{"ticket":{"number":"T","gross":18446744073709551615}}]}`))
	f.Add(uint16(1), []byte(`{"a":1,"a":2}`))
	f.Fuzz(func(t *testing.T, which uint16, body []byte) {
		typ := types[int(which)%len(types)]
		v := reflect.New(typ).Interface()
		if snake.Unmarshal(body, v) != nil {
			return
		}
		again, err := snake.Marshal(v)
		if err != nil {
			t.Fatalf("%s: accepted a body it cannot encode: %v", typ, err)
		}
		w := reflect.New(typ).Interface()
		if err := snake.Unmarshal(again, w); err != nil {
			t.Fatalf("%s: its own encoding %s does not decode: %v", typ, again, err)
		}
		// Nil and empty lists decode alike; the encoding is the fixpoint.
		if twice, _ := snake.Marshal(w); string(twice) != string(again) {
			t.Fatalf("%s: decode(encode(v)) encodes as %s, not %s", typ, twice, again)
		}
	})
}
