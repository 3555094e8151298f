package ledger

import (
	"bytes"
	"fmt"
	"reflect"

	"github.com/ewrchain/ewr/receipt"
)

// State upgrades. A binary that changes a record's layout keeps decoding
// the old one and keeps writing it while it is in force; the consortium's
// admins then schedule the migration at a height (ScheduleUpgrade). At the
// start of that block, before its txs, every node rewrites every record
// of the migrated kinds in the new format (BeginBlock) and puts the format
// in force: the same bytes on every node, so the app hash agrees, and no
// tx ever sees a half-migrated state.

// Migration is a named state migration this binary knows: the record kinds
// it raises and the format each is raised to. Its rewrite is generic: each
// record is decoded (any format its type knows) and re-encoded at the new
// one.
type Migration struct {
	Name    string
	Formats []receipt.KindFormat
}

// Migrations lists every migration this binary can run, oldest first.
var Migrations = []Migration{
	// Participants gain their key history, so a key can rotate.
	{Name: "participant-key-history", Formats: []receipt.KindFormat{{Kind: "participant", Version: receipt.ParticipantFormat}}},
}

// MigrationNamed finds a migration by name.
func MigrationNamed(name string) (Migration, bool) {
	for _, m := range Migrations {
		if m.Name == name {
			return m, true
		}
	}
	return Migration{}, false
}

// MinUpgradeLead is how many blocks ahead an upgrade must be scheduled:
// time for every member to learn of it (and install a binary that knows it).
const MinUpgradeLead = 2

// ScheduleUpgrade schedules a known migration at a future height. Needs
// the admins' quorum. One upgrade may be pending at a time; a migration
// runs once.
type ScheduleUpgrade struct {
	Migration string
	Height    int64
	Version   uint64 // the formats record's version the signers saw
}

func (*ScheduleUpgrade) Type() string { return "admin.schedule_upgrade" }

func (op *ScheduleUpgrade) Check() error {
	if _, ok := MigrationNamed(op.Migration); !ok {
		return receipt.Errorf(receipt.ErrUpgrade, "unknown migration %q", op.Migration)
	}
	if op.Height <= 0 {
		return receipt.Errorf(receipt.ErrUpgrade, "height %d", op.Height)
	}
	return nil
}

// Cosigners: the admins' quorum.
func (op *ScheduleUpgrade) Cosigners(x *receipt.Exec, actor string) []string {
	return receipt.AdminCosigners(x, actor)
}

func (op *ScheduleUpgrade) Apply(x *receipt.Exec) error {
	if err := x.RequireAdmins(); err != nil {
		return err
	}
	f := receipt.FormatsInForce(x.Store)
	if f.Version != op.Version {
		return receipt.Errorf(receipt.ErrStaleVersion, "formats at version %d, op names %d", f.Version, op.Version)
	}
	if op.Height < x.Block.Height+MinUpgradeLead {
		return receipt.Errorf(receipt.ErrUpgrade, "height %d is less than %d blocks after %d", op.Height, MinUpgradeLead, x.Block.Height)
	}
	if f.Pending != nil {
		return receipt.Errorf(receipt.ErrUpgrade, "%q already scheduled at %d", f.Pending.Name, f.Pending.Height)
	}
	for _, u := range f.Applied {
		if u.Name == op.Migration {
			return receipt.Errorf(receipt.ErrUpgrade, "%q ran at height %d", u.Name, u.Height)
		}
	}
	m, _ := MigrationNamed(op.Migration)
	if !raises(m, f) {
		return receipt.Errorf(receipt.ErrUpgrade, "%q changes nothing: its formats are in force", op.Migration)
	}
	f.Pending = &receipt.Upgrade{Name: op.Migration, Height: op.Height}
	f.Version++
	receipt.Save(x, receipt.KeyFormats, f)
	x.Emit(receipt.EvUpgradeScheduled, nil, receipt.Attr{Key: "migration", Value: op.Migration},
		receipt.Attr{Key: "height", Value: fmt.Sprint(op.Height)})
	return nil
}

func raises(m Migration, f *receipt.Formats) bool {
	for _, k := range m.Formats {
		if f.Of(k.Kind) < k.Version {
			return true
		}
	}
	return false
}

// BeginBlock runs, before a block's txs, the upgrade due at its height: it
// rewrites every record of the migrated kinds (listed from committed,
// the state as the previous block left it) into st and returns the keys
// written, in key order, and the upgrade's event; nothing when none is
// due. Every node runs it at the same height over the same state.
func BeginBlock(st receipt.Store, committed Ranger, blk receipt.Block) (changed []string, events []receipt.Event) {
	f := receipt.FormatsInForce(st)
	if f.Pending == nil || f.Pending.Height > blk.Height {
		return nil, nil
	}
	up := *f.Pending
	m, ok := MigrationNamed(up.Name)
	if !ok {
		// A binary that does not know a scheduled migration cannot go on
		// past its height without forking from the nodes that do.
		panic(fmt.Sprintf("ledger: upgrade %q is due at height %d and this binary does not know it", up.Name, up.Height))
	}
	for _, k := range m.Formats {
		r := recordNamed(k.Kind)
		committed.Range(r.prefix, func(key string, value []byte) {
			if receipt.RecordFormat(value) == k.Version {
				return
			}
			v := reflect.New(r.typ).Interface()
			if err := receipt.DecodeRecord(value, v); err != nil {
				panic(fmt.Sprintf("ledger: upgrade %q: record %s: %v", up.Name, key, err))
			}
			b, err := receipt.EncodeRecordAt(v, k.Version)
			if err != nil {
				panic(fmt.Sprintf("ledger: upgrade %q: %v", up.Name, err))
			}
			st.Set(key, b)
			changed = append(changed, key)
		})
		f.Set(k.Kind, k.Version)
	}
	f.Pending = nil
	f.Applied = append(f.Applied, up)
	f.Version++
	st.Set(receipt.KeyFormats, receipt.EncodeRecord(f))
	changed = append(changed, receipt.KeyFormats)
	ev := receipt.Event{Type: receipt.EvUpgradeApplied, Attrs: []receipt.Attr{{Key: "migration", Value: up.Name},
		{Key: "records", Value: fmt.Sprint(len(changed) - 1)}}}
	return changed, []receipt.Event{ev}
}

func recordNamed(kind string) recordType {
	r, ok := kindNamed(kind)
	if !ok {
		panic("ledger: no record kind " + kind)
	}
	return r
}

func kindNamed(kind string) (recordType, bool) {
	for _, r := range recordTable {
		if r.kind == kind {
			return r, true
		}
	}
	return recordType{}, false
}

// writeFormats is the record types an op must still write at an older
// format, from the formats record of st; cached on the record's bytes.
func (l *Ledger) writeFormats(st receipt.Store) receipt.WriteFormats {
	raw, _ := st.Get(receipt.KeyFormats)
	if c := l.formats.Load(); c != nil && bytes.Equal(c.raw, raw) && (raw != nil) == c.present {
		return c.write
	}
	f := receipt.FormatsInForce(st)
	var w receipt.WriteFormats
	for _, r := range recordTable {
		if in := f.Of(r.kind); in < receipt.CurrentFormat(r.typ) {
			if w == nil {
				w = receipt.WriteFormats{}
			}
			w[r.typ] = in
		}
	}
	l.formats.Store(&formatsCache{raw: append([]byte(nil), raw...), present: raw != nil, write: w})
	return w
}

type formatsCache struct {
	raw     []byte
	present bool
	write   receipt.WriteFormats
}

// currentFormats is the formats record of a chain that starts on this
// binary's formats: every kind at its current format.
func currentFormats() *receipt.Formats {
	f := &receipt.Formats{Version: 1}
	for _, r := range recordTable {
		if v := receipt.CurrentFormat(r.typ); v > 1 {
			f.Set(r.kind, v)
		}
	}
	return f
}
