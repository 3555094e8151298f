package iot

import (
	"crypto/ed25519"
	"strconv"

	"github.com/ewrchain/ewr/internal/canon"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// Kind is what a reading reports: which payload it carries.
type Kind uint8

// Reading kinds. The subject token of each is its String.
const (
	KindWeight    Kind = iota + 1 // bay load cells: the bay's weight
	KindMotion                    // camera analytics: motion or intrusion in a zone
	KindSeal                      // door / seal sensor: open, closed, broken
	KindHeartbeat                 // any device: alive, battery, clock, tamper switch
	KindTicket                    // weighbridge: a signed weigh ticket
)

func (k Kind) String() string {
	switch k {
	case KindWeight:
		return "weight"
	case KindMotion:
		return "motion"
	case KindSeal:
		return "seal"
	case KindHeartbeat:
		return "heartbeat"
	case KindTicket:
		return "ticket"
	}
	return "unknown"
}

// BayWeight is what bay load cells report: the weight on the bay in the
// lot's unit, and whether the cells had settled (the device's own debounce
// over its 1–10 Hz samples: a forklift driving on makes it unstable).
type BayWeight struct {
	Qty    uint64
	Unit   string // "kg" or "g"
	Stable bool
}

// MotionClass is what a camera's analytics saw.
type MotionClass uint8

// Motion classes.
const (
	ClassUnknown MotionClass = iota + 1
	ClassPerson
	ClassVehicle
	ClassForklift
	ClassAnimal
)

func (c MotionClass) String() string {
	switch c {
	case ClassUnknown:
		return "unknown"
	case ClassPerson:
		return "person"
	case ClassVehicle:
		return "vehicle"
	case ClassForklift:
		return "forklift"
	case ClassAnimal:
		return "animal"
	}
	return "invalid"
}

// Motion is a camera's motion or intrusion event. ClipHash is sha256 of the
// video clip the camera keeps, so the clip can be produced and checked
// later.
type Motion struct {
	Zone               string
	Class              MotionClass
	ConfidencePermille uint16 // 0..1000
	ClipHash           [32]byte
}

// SealState is a door or seal's state.
type SealState uint8

// Seal states.
const (
	SealClosed SealState = iota + 1
	SealOpen
	SealBroken
)

func (s SealState) String() string {
	switch s {
	case SealClosed:
		return "closed"
	case SealOpen:
		return "open"
	case SealBroken:
		return "broken"
	}
	return "invalid"
}

// Seal is a door or seal sensor's state change.
type Seal struct {
	SealID string
	State  SealState
}

// Heartbeat says a device is alive. Tamper is the enclosure switch.
type Heartbeat struct {
	BatteryPermille uint16 // 0..1000
	ClockSkewMs     int64  // the device's own estimate of its clock error
	Tamper          bool
	Firmware        [32]byte // hash of the running firmware
}

// Reading is what a device signs: the envelope and exactly one payload.
// Epoch counts the device's boots from 1 (the device keeps it across power
// cycles); Seq counts its readings from 1 within the epoch, every kind on
// one counter, so a run of consecutive readings proves nothing was left out
// between them. (Epoch, Seq) only ever rises: a restart starts a new epoch
// rather than reusing sequence numbers, so nothing signed before it can be
// passed off as new.
type Reading struct {
	Event  string // the device's id for the event (e.g. a camera clip's)
	Device string
	Epoch  uint64
	Seq    uint64
	TimeMs int64 // device clock, unix milliseconds

	Weight    *BayWeight
	Motion    *Motion
	Seal      *Seal
	Heartbeat *Heartbeat
	Ticket    *warehouse.SignedTicket
}

// SignedReading is a reading with its device's ed25519 signature. Its
// canonical encoding is what travels on NATS and inside evidence.
type SignedReading struct {
	Reading Reading
	Sig     [64]byte
}

// readingDomain separates reading signatures from every other signature a
// device key makes (weigh tickets have their own).
const readingDomain = "ewr/reading/v2\x00"

// Limits on one reading.
const (
	MaxZoneLen = 64
	// MaxReadingBytes bounds an encoded reading; a weigh ticket is the
	// largest payload.
	MaxReadingBytes = 4096
)

// SignBytes is what a device signs for r.
func SignBytes(r *Reading) []byte { return canon.Append([]byte(readingDomain), r) }

// Sign signs r with a device key (devices, simulators, tests).
func Sign(r Reading, key ed25519.PrivateKey) SignedReading {
	s := SignedReading{Reading: r}
	copy(s.Sig[:], ed25519.Sign(key, SignBytes(&r)))
	return s
}

// Encode is the wire form of a signed reading.
func Encode(s *SignedReading) []byte { return canon.Marshal(s) }

// Decode decodes the wire form strictly and checks the reading's shape. It
// also returns the bytes the signature covers, without re-encoding: the
// canonical encoding of a SignedReading is the reading's followed by the
// 64 signature bytes, and a strict decode proves those bytes canonical.
func Decode(data []byte) (*SignedReading, []byte, error) {
	if len(data) > MaxReadingBytes || len(data) < 64 {
		return nil, nil, receipt.Errorf(ErrReadingInvalid, "%d bytes", len(data))
	}
	s := new(SignedReading)
	if err := canon.Unmarshal(data, s); err != nil {
		return nil, nil, receipt.Errorf(ErrReadingInvalid, "%v", err)
	}
	if err := s.Reading.Check(); err != nil {
		return nil, nil, err
	}
	body := data[:len(data)-64]
	msg := make([]byte, 0, len(readingDomain)+len(body))
	msg = append(append(msg, readingDomain...), body...)
	return s, msg, nil
}

// ID names a reading everywhere: "<device>:<epoch>:<seq>", as the NATS
// message id.
func (r *Reading) ID() string { return ReadingID(r.Device, r.Epoch, r.Seq) }

// ReadingID is the id of a device's seq-th reading of its epoch-th boot.
func ReadingID(device string, epoch, seq uint64) string {
	return device + ":" + strconv.FormatUint(epoch, 10) + ":" + strconv.FormatUint(seq, 10)
}

// Pos is a reading's place in its device's history: boot epoch, then
// sequence.
type Pos struct {
	Epoch uint64
	Seq   uint64
}

// Pos returns r's place in its device's history.
func (r *Reading) Pos() Pos { return Pos{r.Epoch, r.Seq} }

// After reports whether p comes after q in a device's history.
func (p Pos) After(q Pos) bool {
	return p.Epoch > q.Epoch || (p.Epoch == q.Epoch && p.Seq > q.Seq)
}

// Next reports whether p directly follows q: the same boot, the next
// sequence.
func (p Pos) Next(q Pos) bool { return p.Epoch == q.Epoch && p.Seq == q.Seq+1 }

func (p Pos) String() string {
	return strconv.FormatUint(p.Epoch, 10) + ":" + strconv.FormatUint(p.Seq, 10)
}

// Kind returns the kind of the one payload r carries (0 if not exactly one).
func (r *Reading) Kind() Kind {
	var k Kind
	n := 0
	if r.Weight != nil {
		k, n = KindWeight, n+1
	}
	if r.Motion != nil {
		k, n = KindMotion, n+1
	}
	if r.Seal != nil {
		k, n = KindSeal, n+1
	}
	if r.Heartbeat != nil {
		k, n = KindHeartbeat, n+1
	}
	if r.Ticket != nil {
		k, n = KindTicket, n+1
	}
	if n != 1 {
		return 0
	}
	return k
}

// Check validates a reading alone: ids, one payload, ranges.
func (r *Reading) Check() error {
	bad := func(format string, args ...any) error { return receipt.Errorf(ErrReadingInvalid, format, args...) }
	if !receipt.ValidID(r.Event) {
		return bad("event id %q", r.Event)
	}
	if !receipt.ValidID(r.Device) {
		return bad("device id %q", r.Device)
	}
	if r.Epoch == 0 || r.Seq == 0 {
		return bad("%s: epoch %d sequence %d (both count from 1)", r.Device, r.Epoch, r.Seq)
	}
	if r.TimeMs <= 0 {
		return bad("%s:%d: time %d", r.Device, r.Seq, r.TimeMs)
	}
	switch r.Kind() {
	case KindWeight:
		w := r.Weight
		if w.Unit != "kg" && w.Unit != "g" {
			return bad("%s: weight unit %q", r.ID(), w.Unit)
		}
		if w.Qty > receipt.MaxQuantity {
			return bad("%s: weight %d", r.ID(), w.Qty)
		}
	case KindMotion:
		m := r.Motion
		if m.Class < ClassUnknown || m.Class > ClassAnimal || m.ConfidencePermille > 1000 || len(m.Zone) > MaxZoneLen {
			return bad("%s: motion class %d confidence %d zone %q", r.ID(), m.Class, m.ConfidencePermille, m.Zone)
		}
	case KindSeal:
		if !receipt.ValidID(r.Seal.SealID) || r.Seal.State < SealClosed || r.Seal.State > SealBroken {
			return bad("%s: seal %q state %d", r.ID(), r.Seal.SealID, r.Seal.State)
		}
	case KindHeartbeat:
		if r.Heartbeat.BatteryPermille > 1000 {
			return bad("%s: battery %d", r.ID(), r.Heartbeat.BatteryPermille)
		}
	case KindTicket:
		if r.Ticket.Ticket.Device != r.Device {
			return bad("%s: ticket from device %q", r.ID(), r.Ticket.Ticket.Device)
		}
	default:
		return bad("%s: exactly one payload required", r.ID())
	}
	return nil
}

// DeviceTypeFor is the device type that may send a reading of kind k; 0
// means any (heartbeats).
func DeviceTypeFor(k Kind) warehouse.DeviceType {
	switch k {
	case KindWeight:
		return warehouse.BayScale
	case KindMotion:
		return warehouse.Camera
	case KindSeal:
		return warehouse.DoorSeal
	case KindTicket:
		return warehouse.Weighbridge
	}
	return 0
}
