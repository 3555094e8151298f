package device

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ewrchain/ewr/api/snake"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/warehouse"
)

// The line format: one reading as a device or gateway writes it to `ewr
// device run`, one JSON object per line, in the API's snake_case form of
// iot.Reading without the envelope the signer fills in:
//
//	{"weight": {"qty": 40480, "unit": "kg", "stable": true}}
//	{"time_ms": 1764748800000, "event": "clip-0042", "motion": {"zone": "dock", "class": "forklift", "confidence_permille": 930}}
//	{"seal": {"seal_id": "SEAL-WH-QD-01-BAY-01-1", "state": "open"}}
//	{"heartbeat": {"battery_permille": 870, "clock_skew_ms": 12, "tamper": false}}
//	{"ticket": {"number": "OUT-7", "direction": "out", "gross": 25010, "tare": 15010, "net": 10000, "unit": "kg", "plate": "LU-4471", "release_order": "ro-WR-1-1", "weighed_at": 1764748800}}
//
// Exactly one payload per line. time_ms (device clock, unix ms) defaults
// to when the line is read; event (the device's id for the event)
// defaults to "<device>-<epoch>-<seq>". device, epoch and seq are the
// signer's and must be absent. Enumerations take their names or their
// numbers: class unknown|person|vehicle|forklift|animal, seal state
// closed|open|broken; a ticket's direction is named as the API names it. A ticket is a weighbridge's
// weigh ticket: the signer fills in its device and warehouse, and signs
// the ticket with the device key as well as the reading. clip_hash and
// firmware are 64 hex digits. Signer.Parse reads it.

// ErrLine is a line that is not a reading.
var ErrLine = errors.New("device: bad reading line")

var enumNames = map[string]map[string]uint8{
	"class": {"unknown": uint8(iot.ClassUnknown), "person": uint8(iot.ClassPerson), "vehicle": uint8(iot.ClassVehicle), "forklift": uint8(iot.ClassForklift), "animal": uint8(iot.ClassAnimal)},
	"state": {"closed": uint8(iot.SealClosed), "open": uint8(iot.SealOpen), "broken": uint8(iot.SealBroken)},
}

// named replaces an enumeration's name by its number in one payload.
func named(obj map[string]json.RawMessage, field string) error {
	raw, ok := obj[field]
	if field == "" || !ok || len(raw) == 0 || raw[0] != '"' {
		return nil
	}
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		return err
	}
	n, ok := enumNames[field][name]
	if !ok {
		return fmt.Errorf("%s %q", field, name)
	}
	obj[field] = json.RawMessage(fmt.Sprint(n))
	return nil
}

// Parse reads one line into the reading it asks the signer to sign (and,
// for a ticket, the weigh ticket to sign inside it).
func (s *Signer) Parse(line []byte) (iot.Reading, error) {
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil {
		return iot.Reading{}, fmt.Errorf("%w: %v", ErrLine, err)
	}
	for _, f := range []string{"device", "epoch", "seq"} {
		if _, ok := top[f]; ok {
			return iot.Reading{}, fmt.Errorf("%w: %s is the signer's, not the line's", ErrLine, f)
		}
	}
	var ticket *warehouse.WeighTicket
	for _, p := range []struct{ name, enum string }{{"motion", "class"}, {"seal", "state"}, {"ticket", ""}} {
		raw, ok := top[p.name]
		if !ok || string(raw) == "null" {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return iot.Reading{}, fmt.Errorf("%w: %s: %v", ErrLine, p.name, err)
		}
		if err := named(obj, p.enum); err != nil {
			return iot.Reading{}, fmt.Errorf("%w: %s: %v", ErrLine, p.name, err)
		}
		fixed, err := json.Marshal(obj)
		if err != nil {
			return iot.Reading{}, err
		}
		if p.name == "ticket" {
			var t warehouse.WeighTicket
			if err := snake.Unmarshal(fixed, &t); err != nil {
				return iot.Reading{}, fmt.Errorf("%w: ticket: %v", ErrLine, err)
			}
			if (t.Device != "" && t.Device != s.id) || (t.Warehouse != "" && t.Warehouse != s.warehouse) {
				return iot.Reading{}, fmt.Errorf("%w: ticket of %s/%s, this is %s/%s", ErrLine, t.Warehouse, t.Device, s.warehouse, s.id)
			}
			t.Device, t.Warehouse = s.id, s.warehouse
			ticket = &t
			delete(top, "ticket")
			continue
		}
		top[p.name] = fixed
	}
	body, err := json.Marshal(top)
	if err != nil {
		return iot.Reading{}, err
	}
	var r iot.Reading
	if err := snake.Unmarshal(body, &r); err != nil {
		return iot.Reading{}, fmt.Errorf("%w: %v", ErrLine, err)
	}
	if ticket != nil {
		st := warehouse.SignTicket(*ticket, s.key)
		r.Ticket = &st
	}
	return r, nil
}
