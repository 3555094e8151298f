package iot_test

import (
	"crypto/ed25519"
	"testing"

	"github.com/ewrchain/ewr/iot"
)

// FuzzDecodeReading feeds the reading envelope decoder bus bytes (from any
// device, or anyone on the bus): it never panics, and what it accepts is a
// well-formed reading that re-encodes to the input.
func FuzzDecodeReading(f *testing.F) {
	_, key, _ := ed25519.GenerateKey(nil)
	for _, r := range []iot.Reading{
		{Event: "e-1", Device: "LC-1", Epoch: 1, Seq: 1, TimeMs: 1, Weight: &iot.BayWeight{Qty: 40_480, Unit: "kg", Stable: true}},
		{Event: "e-2", Device: "CAM-1", Epoch: 3, Seq: 9, TimeMs: 2, Motion: &iot.Motion{Zone: "dock", Class: iot.ClassForklift, ConfidencePermille: 900}},
		{Event: "e-3", Device: "DS-1", Epoch: 2, Seq: 4, TimeMs: 3, Seal: &iot.Seal{SealID: "S-1", State: iot.SealOpen}},
		{Event: "e-4", Device: "DS-1", Epoch: 2, Seq: 5, TimeMs: 4, Heartbeat: &iot.Heartbeat{BatteryPermille: 800, Tamper: true}},
	} {
		sr := iot.Sign(r, key)
		f.Add(iot.Encode(&sr))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sr, _, err := iot.Decode(b)
		if err != nil {
			return
		}
		if err := sr.Reading.Check(); err != nil {
			t.Fatalf("accepted a malformed reading: %v", err)
		}
		if string(iot.Encode(sr)) != string(b) {
			t.Fatal("accepted non-canonical bytes")
		}
		_ = sr.Reading.ID()
	})
}
