package ledger

import (
	"crypto/ed25519"
	"testing"

	"github.com/ewrchain/ewr/receipt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// oldFormatHarness is a chain that starts on every record's first format,
// as one made by the release before the participant's key history.
func oldFormatHarness(t *testing.T) *harness {
	t.Helper()
	w := NewWorld("test", t0+5*365*day)
	w.Genesis.Formats = []receipt.KindFormat{{Kind: "participant", Version: 1}}
	s, err := NewSim(w, "ewr-test", t0)
	require.NoError(t, err)
	return &harness{t: t, Sim: s, w: w, epoch: map[string]uint64{}, devSeq: map[string]uint64{}}
}

func participantFormats(t *testing.T, st *MemStore) map[byte]int {
	t.Helper()
	n := map[byte]int{}
	st.Range(receipt.PrefixParticipant, func(_ string, v []byte) { n[receipt.RecordFormat(v)]++ })
	return n
}

func formatsOf(st receipt.Store) *receipt.Formats { return receipt.FormatsInForce(st) }

// TestUpgradeMigratesAtItsHeight runs a chain on the participant's first
// format, schedules the migration by the admins' quorum, and checks that
// every participant is rewritten at exactly that height, that nothing
// before it writes the new format, and that every record reads the same
// before and after.
func TestUpgradeMigratesAtItsHeight(t *testing.T) {
	h := oldFormatHarness(t)
	n := len(h.w.Genesis.Participants)
	require.Equal(t, map[byte]int{1: n}, participantFormats(t, h.Store), "the genesis writes the format in force")
	before := map[string]any{}
	for _, k := range h.Store.Keys() {
		v, _ := h.Store.Get(k)
		d, err := DecodeByKey(k, v)
		require.NoError(t, err, k)
		before[k] = d
	}

	// Before the upgrade, the new format's op is refused and a new
	// participant is written in the old format.
	newKey := DemoKey("rotated", TraderA).Public().(ed25519.PublicKey)
	var pk receipt.PubKey
	copy(pk[:], newKey)
	h.fail(receipt.ErrFormatNotInForce, by(TraderA), &receipt.RotateKey{ID: TraderA, NewKey: pk, Version: 1})
	h.ok(by(Admin1, Admin2), newParticipant("trader-c", receipt.RoleTrader))
	require.Equal(t, map[byte]int{1: n + 1}, participantFormats(t, h.Store))

	f := formatsOf(h.Store)
	at := h.Block.Height + 12 // past the refusals below, each a block
	sched := &ScheduleUpgrade{Migration: "participant-key-history", Height: at, Version: f.Version}
	h.fail(receipt.ErrAdminQuorum, by(Admin1), sched)
	h.fail(receipt.ErrAdminQuorum, by(TraderA, BankA), sched)
	h.fail(receipt.ErrUpgrade, by(Admin1, Admin2), &ScheduleUpgrade{Migration: "participant-key-history", Height: h.Block.Height + 1, Version: f.Version}, "too soon")
	h.fail(receipt.ErrStaleVersion, by(Admin1, Admin2), &ScheduleUpgrade{Migration: "participant-key-history", Height: at, Version: f.Version + 1})
	h.fail(receipt.ErrUpgrade, by(Admin1, Admin2), &ScheduleUpgrade{Migration: "no-such-migration", Height: at, Version: f.Version})
	res := h.ok(by(Admin1, Admin2), sched)
	assert.Equal(t, receipt.EvUpgradeScheduled, res.Events[0].Type)
	h.fail(receipt.ErrUpgrade, by(Admin1, Admin2), &ScheduleUpgrade{Migration: "participant-key-history", Height: at + 10, Version: f.Version + 1}, "one pending at a time")

	// Blocks up to the height stay on the old format.
	for h.Block.Height+1 < at {
		h.ok(by(Admin1, Admin2), newParticipant(h.next("trader-"), receipt.RoleTrader))
		assert.Equal(t, 0, participantFormats(t, h.Store)[2], "height %d wrote the new format early", h.Block.Height)
	}
	// The block at the height migrates before its tx runs: the tx itself
	// may already use the new format.
	h.ok(by(TraderA), &receipt.RotateKey{ID: TraderA, NewKey: pk, Version: 1})
	require.Equal(t, at, h.Block.Height)
	got := participantFormats(t, h.Store)
	assert.Zero(t, got[1], "participants left on the old format")
	f = formatsOf(h.Store)
	assert.Equal(t, byte(2), f.Of("participant"))
	assert.Nil(t, f.Pending)
	assert.Equal(t, []receipt.Upgrade{{Name: "participant-key-history", Height: at}}, f.Applied)

	p, err := (&receipt.Exec{Store: h.Store}).Participant(TraderA)
	require.NoError(t, err)
	assert.Equal(t, pk, p.PubKey)
	require.Len(t, p.Retired, 1)
	assert.Equal(t, at, p.Retired[0].Until)

	// Every record that existed before reads the same (the trader's key
	// excepted: it rotated).
	for k, want := range before {
		v, ok := h.Store.Get(k)
		require.True(t, ok, k)
		d, err := DecodeByKey(k, v)
		require.NoError(t, err, k)
		if k == receipt.ParticipantKey(TraderA) || k == receipt.KeyFormats {
			continue
		}
		assert.Equal(t, want, d, k)
	}
	require.NoError(t, CheckInvariants(h.Store))

	// A migration runs once.
	h.fail(receipt.ErrUpgrade, by(Admin1, Admin2), &ScheduleUpgrade{Migration: "participant-key-history", Height: h.Block.Height + 5, Version: f.Version})
}

// TestUpgradeIsDeterministic: two chains fed the same blocks across an
// upgrade hold byte-identical state at every height.
func TestUpgradeIsDeterministic(t *testing.T) {
	a, b := oldFormatHarness(t), oldFormatHarness(t)
	for _, h := range []*harness{a, b} {
		h.RecordBlocks()
		h.ok(by(Admin1, Admin3), &ScheduleUpgrade{Migration: "participant-key-history", Height: 4, Version: formatsOf(h.Store).Version})
	}
	for range 6 {
		for _, h := range []*harness{a, b} {
			h.ok(by(Admin1, Admin2), newParticipant(h.next("trader-"), receipt.RoleTrader))
		}
		require.Equal(t, a.Store.StateHash(), b.Store.StateHash(), "height %d", a.Block.Height)
	}
	assert.Equal(t, byte(2), formatsOf(a.Store).Of("participant"))
}

// TestNewChainIsOnCurrentFormats: a genesis without formats starts on
// this binary's, so the migration has nothing to do and is refused.
func TestNewChainIsOnCurrentFormats(t *testing.T) {
	h := newHarness(t)
	assert.Equal(t, map[byte]int{receipt.ParticipantFormat: len(h.w.Genesis.Participants)}, participantFormats(t, h.Store))
	h.fail(receipt.ErrUpgrade, by(Admin1, Admin2), &ScheduleUpgrade{Migration: "participant-key-history", Height: 10, Version: formatsOf(h.Store).Version})
}

// TestRotateKey: the participant rotates its own key, or the admins do for
// a lost one; a retired key never returns.
func TestRotateKey(t *testing.T) {
	h := newHarness(t)
	key := func(name string) receipt.PubKey {
		var pk receipt.PubKey
		copy(pk[:], DemoKey(name, TraderA).Public().(ed25519.PublicKey))
		return pk
	}
	old := h.w.Genesis.Participants[0].PubKey
	for _, p := range h.w.Genesis.Participants {
		if p.ID == TraderA {
			old = p.PubKey
		}
	}
	h.fail(receipt.ErrMissingField, by(TraderA), &receipt.RotateKey{ID: TraderA, Version: 1})
	h.fail(receipt.ErrKeyRotation, by(TraderA), &receipt.RotateKey{ID: TraderA, NewKey: old, Version: 1})
	h.fail(receipt.ErrAdminQuorum, by(TraderB), &receipt.RotateKey{ID: TraderA, NewKey: key("k1"), Version: 1})
	h.fail(receipt.ErrAdminQuorum, by(Admin1), &receipt.RotateKey{ID: TraderA, NewKey: key("k1"), Version: 1})
	h.fail(receipt.ErrStaleVersion, by(TraderA), &receipt.RotateKey{ID: TraderA, NewKey: key("k1"), Version: 2})
	h.ok(by(TraderA), &receipt.RotateKey{ID: TraderA, NewKey: key("k1"), Version: 1})
	h.fail(receipt.ErrKeyRotation, by(Admin1, Admin2), &receipt.RotateKey{ID: TraderA, NewKey: old, Version: 2}, "a retired key")
	h.ok(by(Admin1, Admin2), &receipt.RotateKey{ID: TraderA, NewKey: key("k2"), Version: 2})
	p, err := (&receipt.Exec{Store: h.Store}).Participant(TraderA)
	require.NoError(t, err)
	assert.Equal(t, key("k2"), p.PubKey)
	assert.Equal(t, []receipt.PubKey{old, key("k1")}, []receipt.PubKey{p.Retired[0].PubKey, p.Retired[1].PubKey})
	assert.Equal(t, uint64(3), p.Version)
}
