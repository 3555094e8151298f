package receipt

import (
	"crypto/ed25519"
	"fmt"
	"reflect"
	"strconv"
)

// Block is the context a transition runs in. Block time is the only clock:
// every deadline, validity and maturity is compared against Time.
type Block struct {
	Height  int64
	Time    int64 // unix seconds, from the block header
	ChainID string
}

// Store is the key-value state a transition reads and writes. The caller
// gives each op a private overlay and keeps its writes only if the op
// succeeds, so a rejected op changes nothing.
type Store interface {
	Get(key string) ([]byte, bool)
	Set(key string, value []byte)
	Delete(key string)
}

// Op is one state transition. Ops are plain structs; their canonical
// encoding is what a tx carries.
type Op interface {
	// Type is the op's stable name on the wire, e.g. "receipt.transfer.initiate".
	Type() string
	// Check validates the op alone, without state: ids, quantities, limits.
	Check() error
	// Apply executes the op. On error the caller discards every write.
	Apply(x *Exec) error
}

// Stock is what receipt transitions need from the goods behind a receipt.
// Package warehouse implements it; the lot record is the warehouse's.
type Stock interface {
	// Tradable returns nil if receipts on the lot may be newly pledged or
	// transferred: the lot is locked and its supervision healthy.
	Tradable(x *Exec, lot string) error
	// Replace records that the live receipts removed were superseded by
	// added, with the same total quantity (split and merge).
	Replace(x *Exec, lot string, removed, added []string) error
	// Free takes a voided receipt's quantity off the lot.
	Free(x *Exec, lot, receipt string, qty uint64) error
}

// Guards are vetoes that later domain packages add to receipt transitions.
// A nil guard allows.
type Guards struct {
	// Release refuses a pledge release, e.g. while the loan it secures is unpaid.
	Release func(x *Exec, p *Pledge) error
	// Invoke refuses an enforcement, e.g. while the loan the pledge secures
	// is not in default.
	Invoke func(x *Exec, p *Pledge) error
	// Unfreeze refuses to lift a regulator's freeze, e.g. while the lot is
	// in alarm on sensor evidence (the re-count decides then).
	Unfreeze func(x *Exec, r *Receipt) error
}

// Exec is everything one op sees: the block, the verified signers, the
// state overlay. It collects the events the op emits.
type Exec struct {
	Block Block
	// Signers are the participants whose signatures the caller verified,
	// distinct, in tx order; Signers[0] submitted the tx and is the actor.
	Signers []string
	Store   Store
	Stock   Stock
	// Verify checks a device's ed25519 signature (weigh tickets, readings).
	// nil means crypto/ed25519.
	Verify func(pub, msg, sig []byte) bool
	// Guards let domain packages built on this one veto receipt transitions.
	Guards Guards
	// Write names the record types still written at an older format, until
	// the consortium's upgrade (nil: all at their current format).
	Write WriteFormats

	events []Event
	params *Params
	// pmemo holds the participants this op has read: the signer checks and
	// the op's own role checks read the same few records.
	pmemo map[string]*Participant
	// bumped holds the version this op gave each record it changed: one
	// op is one version, however many of its steps touch the record.
	bumped map[string]uint64
	// memo holds copies of the flat records (pledges) this op read or
	// wrote: event refs read the same pledge the op just handled.
	memo map[string]any
}

// BumpOnce advances *version, the version of the record at key, unless
// this op already advanced it: a signer names the version it saw, and one
// op is one change however many steps of it (a delivery, then the alarm
// its closing reading raised) touch the record.
func (x *Exec) BumpOnce(key string, version *uint64) {
	if v, ok := x.bumped[key]; ok && v == *version {
		return
	}
	if x.bumped == nil {
		x.bumped = make(map[string]uint64, 4)
	}
	*version++
	x.bumped[key] = *version
}

// Actor is the participant who submitted the op.
func (x *Exec) Actor() string {
	if len(x.Signers) == 0 {
		return ""
	}
	return x.Signers[0]
}

// SignedBy reports whether id is among the verified signers.
func (x *Exec) SignedBy(id string) bool {
	for _, s := range x.Signers {
		if s == id {
			return true
		}
	}
	return false
}

// Events returns what the op emitted, in order.
func (x *Exec) Events() []Event { return x.events }

// VerifySig checks a device signature.
func (x *Exec) VerifySig(pub PubKey, msg []byte, sig [64]byte) bool {
	if x.Verify != nil {
		return x.Verify(pub[:], msg, sig[:])
	}
	return ed25519.Verify(pub[:], msg, sig[:])
}

// Params returns the consortium's parameters (defaults if genesis set none).
func (x *Exec) Params() *Params {
	if x.params == nil {
		p, ok := Load[Params](x, KeyParams)
		if !ok {
			d := DefaultParams()
			p = &d
		}
		x.params = p
	}
	return x.params
}

// Load reads and decodes the record at key. A record that does not decode
// is corrupt state, which no op can cause: it panics.
func Load[T any](x *Exec, key string) (*T, bool) {
	v := new(T)
	_, flat := any(v).(*Pledge)
	if flat {
		// Pledges are flat (no slices or pointers): a memoized one is
		// handed out as a copy, so the caller may change it freely.
		if m, ok := x.memo[key]; ok {
			*any(v).(*Pledge) = *m.(*Pledge)
			return v, true
		}
	}
	b, ok := x.Store.Get(key)
	if !ok {
		return nil, false
	}
	if err := DecodeRecord(b, v); err != nil {
		panic(fmt.Sprintf("receipt: corrupt record %q: %v", key, err))
	}
	if flat {
		x.remember(key, any(v).(*Pledge))
	}
	return v, true
}

// remember memoizes a copy of a flat record this op read or wrote.
func (x *Exec) remember(key string, p *Pledge) {
	if x.memo == nil {
		x.memo = make(map[string]any, 4)
	}
	c := *p
	x.memo[key] = &c
}

// Save encodes and writes the record at key.
func Save(x *Exec, key string, v any) {
	switch r := v.(type) {
	case *Participant:
		if x.pmemo != nil {
			x.pmemo[r.ID] = r
		}
	case *Pledge:
		x.remember(key, r)
	}
	if f, behind := x.Write[reflect.TypeOf(v).Elem()]; behind {
		b, err := EncodeRecordAt(v, f)
		if err != nil {
			panic(err.Error())
		}
		x.Store.Set(key, b)
		return
	}
	x.Store.Set(key, EncodeRecord(v))
}

// Has reports whether a record exists at key.
func Has(x *Exec, key string) bool {
	_, ok := x.Store.Get(key)
	return ok
}

// Record keys. One prefix per record type; ids never contain '/'.
const (
	KeyConsortium = "c/consortium"
	KeyParams     = "c/params"
	KeyFormats    = "c/formats"
)

// Key prefixes of the receipt's records: the state's key layout is the
// domain's, and the ledger's record table, the API, the proofs and the
// read model take these constants (a test refuses the literals elsewhere).
const (
	PrefixParticipant = "p/"
	PrefixReceipt     = "r/"
	PrefixPledge      = "pl/"
)

// Key builders.
func ParticipantKey(id string) string { return PrefixParticipant + id }
func ReceiptKey(id string) string     { return PrefixReceipt + id }
func PledgeKey(id string) string      { return PrefixPledge + id }

// Emit records an event.
func (x *Exec) Emit(typ string, refs []Ref, attrs ...Attr) {
	x.events = append(x.events, Event{Type: typ, Refs: refs, Attrs: attrs})
}

func u64(v uint64) string { return strconv.FormatUint(v, 10) }

// U64 formats a quantity for an event attribute.
func U64(v uint64) string { return u64(v) }

// I64 formats a time or height for an event attribute.
func I64(v int64) string { return strconv.FormatInt(v, 10) }
