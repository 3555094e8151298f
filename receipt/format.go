package receipt

import (
	"fmt"
	"reflect"
	"sort"

	"github.com/ewrchain/ewr/internal/canon"
)

// Record formats. A stored record is its type's format version (one byte)
// then its canonical encoding. A type whose layout changed keeps decoding
// its superseded layouts (Legacy), and until the consortium's upgrade to
// the new layout takes effect at a height (ledger.ScheduleUpgrade), every
// node keeps writing the old one: nodes on both sides of a binary upgrade
// then store the same bytes, and the app hash agrees.

// Legacy is a superseded layout of a record type.
type Legacy struct {
	Version byte
	// Old is a value of the old layout's Go type (its zero value).
	Old any
	// Up turns a decoded old value (a pointer to Old's type) into the
	// current type (a pointer); Down does the reverse, for writing while
	// the old layout is still in force. Down drops only what the old
	// layout cannot hold, which no op may set before the upgrade.
	Up   func(old any) any
	Down func(cur any) any
}

type recordFormat struct {
	current byte
	legacy  []Legacy
}

// formats holds the record types whose format moved past 1. It is
// written only by RegisterFormat, from package initialisation.
var formats = map[reflect.Type]*recordFormat{}

// RegisterFormat declares that sample's type (a struct value) is at format
// current, with its superseded layouts. Called from var initialisers only.
func RegisterFormat(sample any, current byte, legacy ...Legacy) struct{} {
	t := reflect.TypeOf(sample)
	if _, dup := formats[t]; dup || current < 2 {
		panic(fmt.Sprintf("receipt: format of %v registered twice or below 2", t))
	}
	legacy = append([]Legacy(nil), legacy...)
	sort.Slice(legacy, func(i, j int) bool { return legacy[i].Version < legacy[j].Version })
	formats[t] = &recordFormat{current: current, legacy: legacy}
	return struct{}{}
}

// CurrentFormat is the format version this binary writes for records of
// type t once the consortium adopted it.
func CurrentFormat(t reflect.Type) byte {
	if f, ok := formats[t]; ok {
		return f.current
	}
	return 1
}

// LegacyFormats lists t's superseded layouts, oldest first (callers must
// not change it).
func LegacyFormats(t reflect.Type) []Legacy {
	if f, ok := formats[t]; ok {
		return f.legacy
	}
	return nil
}

// EncodeRecord is the canonical stored form of a record, at its type's
// current format.
func EncodeRecord(v any) []byte {
	return canon.Append([]byte{CurrentFormat(reflect.TypeOf(v).Elem())}, v)
}

// EncodeRecordAt is the stored form of v at format version: the current
// format, or one of its type's legacy layouts.
func EncodeRecordAt(v any, version byte) ([]byte, error) {
	t := reflect.TypeOf(v).Elem()
	if version == CurrentFormat(t) {
		return EncodeRecord(v), nil
	}
	for _, l := range LegacyFormats(t) {
		if l.Version == version {
			return canon.Append([]byte{version}, l.Down(v)), nil
		}
	}
	return nil, fmt.Errorf("receipt: %v has no format %d", t, version)
}

// DecodeRecord decodes a stored record at any format its type knows.
func DecodeRecord(b []byte, v any) error {
	if len(b) == 0 {
		return fmt.Errorf("receipt: empty record")
	}
	t := reflect.TypeOf(v).Elem()
	if b[0] == CurrentFormat(t) {
		return canon.Unmarshal(b[1:], v)
	}
	for _, l := range LegacyFormats(t) {
		if l.Version == b[0] {
			old := reflect.New(reflect.TypeOf(l.Old)).Interface()
			if err := canon.Unmarshal(b[1:], old); err != nil {
				return err
			}
			reflect.ValueOf(v).Elem().Set(reflect.ValueOf(l.Up(old)).Elem())
			return nil
		}
	}
	return fmt.Errorf("receipt: %v record format %d unknown", t, b[0])
}

// RecordFormat is the format version a stored record is written in.
func RecordFormat(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// Formats is the consortium's record formats in force: every record type
// whose format in force is not its first, by kind name, and the upgrades
// scheduled and done. Stored at KeyFormats. A chain without it is on every
// type's first format.
type Formats struct {
	InForce []KindFormat // sorted by kind
	Pending *Upgrade     // the next scheduled upgrade, if any
	Applied []Upgrade    // upgrades done, in height order
	Version uint64
}

// KindFormat is one record kind's format in force.
type KindFormat struct {
	Kind    string
	Version byte
}

// Upgrade is a named state migration the consortium scheduled at a height.
type Upgrade struct {
	Name   string
	Height int64
}

// Of is the format in force for kind.
func (f *Formats) Of(kind string) byte {
	for _, k := range f.InForce {
		if k.Kind == kind {
			return k.Version
		}
	}
	return 1
}

// Set puts kind's format in force.
func (f *Formats) Set(kind string, version byte) {
	for i := range f.InForce {
		if f.InForce[i].Kind == kind {
			f.InForce[i].Version = version
			return
		}
	}
	f.InForce = append(f.InForce, KindFormat{kind, version})
	sort.Slice(f.InForce, func(i, j int) bool { return f.InForce[i].Kind < f.InForce[j].Kind })
}

// WriteFormats tells an op which format to write each record type in: the
// types whose format in force is below the current one, with that format.
// nil (the usual case) writes every type at its current format.
type WriteFormats map[reflect.Type]byte

// FormatsInForce reads the formats record of a state (absent: every
// type's first format).
func FormatsInForce(st Store) *Formats {
	f := new(Formats)
	if b, ok := st.Get(KeyFormats); ok {
		if err := DecodeRecord(b, f); err != nil {
			panic(fmt.Sprintf("receipt: corrupt formats record: %v", err))
		}
	}
	return f
}

// RequireFormat refuses an op that needs records of type sample at format
// version before the consortium put that format in force.
func (x *Exec) RequireFormat(sample any, version byte) error {
	if v, behind := x.Write[reflect.TypeOf(sample)]; behind && v < version {
		return errf(ErrFormatNotInForce, "%T records are at format %d until the consortium's upgrade to %d", sample, v, version)
	}
	return nil
}
