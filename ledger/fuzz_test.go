package ledger

import (
	"testing"

	"github.com/ewrchain/ewr/internal/canon"
	"github.com/ewrchain/ewr/receipt"
)

// FuzzDecodeOp feeds every op decoder outside bytes (a tx's op body, from
// anyone): it never panics, what it accepts is canonical, and an op that
// decodes may be checked without panicking.
func FuzzDecodeOp(f *testing.F) {
	reg := NewRegistry(AllOps()...)
	names := reg.Types()
	for i, fm := range Formats() {
		if fm.Name[:3] == "op " {
			f.Add(uint8(i), canon.Marshal(sample(fm.Type).Interface()))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		typ := names[int(which)%len(names)]
		op, err := reg.Decode(typ, b)
		if err != nil {
			return
		}
		if string(EncodeOp(op)) != string(b) {
			t.Fatalf("%s: accepted non-canonical bytes", typ)
		}
		_ = op.Check()
	})
}

// FuzzDecodeRecord feeds the record decoder what a corrupt or hostile
// store could hold: it never panics, and what it accepts re-encodes, in
// the format it was written in (a legacy layout is decoded into the
// current type), to the input.
func FuzzDecodeRecord(f *testing.F) {
	for _, r := range recordTable {
		f.Add(r.prefix+"x", receipt.EncodeRecord(sample(r.typ).Interface()))
	}
	f.Fuzz(func(t *testing.T, key string, b []byte) {
		v, err := DecodeByKey(key, b)
		if err != nil {
			return
		}
		again, err := receipt.EncodeRecordAt(v, receipt.RecordFormat(b))
		if err != nil {
			t.Fatalf("%s: accepted format %d it cannot write: %v", key, receipt.RecordFormat(b), err)
		}
		if string(again) != string(b) {
			t.Fatalf("%s: accepted non-canonical bytes", key)
		}
	})
}
