package device

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func key(t *testing.T) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	return k
}

// TestBootRaisesTheEpochDurably checks each boot signs in a later epoch
// than the last, written before the first reading, and that a lost state
// file still boots above any epoch the clock could have given before.
func TestBootRaisesTheEpochDurably(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lc.state")
	k := key(t)
	now := time.Unix(1_800_000_000, 0)
	s1, err := Boot(path, "LC-1", "WH-1", "BAY-1", k, now)
	require.NoError(t, err)
	assert.Equal(t, uint64(now.Unix()), s1.Epoch(), "a first boot without state starts at the clock's seconds")
	s2, err := Boot(path, "LC-1", "WH-1", "BAY-1", k, now.Add(-time.Hour))
	require.NoError(t, err)
	assert.Equal(t, s1.Epoch()+1, s2.Epoch(), "the next boot is one later, whatever the clock says")
	r1, err := s1.Sign(iot.Reading{Weight: &iot.BayWeight{Qty: 1, Unit: "kg", Stable: true}}, now)
	require.NoError(t, err)
	r2, err := s2.Sign(iot.Reading{Weight: &iot.BayWeight{Qty: 1, Unit: "kg", Stable: true}}, now)
	require.NoError(t, err)
	assert.True(t, r2.Reading.Pos().After(r1.Reading.Pos()), "the new boot's first reading comes after the old boot's")

	_, err = Boot(path, "LC-2", "WH-1", "BAY-1", k, now)
	assert.Error(t, err, "another device's state file")
	require.NoError(t, os.WriteFile(path, []byte("{"), 0o600))
	_, err = Boot(path, "LC-1", "WH-1", "BAY-1", k, now)
	assert.Error(t, err, "a corrupt state file is not silently reset")
	_, err = Boot(filepath.Join(dir, "x"), "LC 1", "WH-1", "", k, now)
	assert.Error(t, err, "an id that cannot be a subject token")
}

// TestSignNumbersAndRefusesMalformed checks sequences count from 1 without
// holes: a malformed reading is refused before it takes a number.
func TestSignNumbersAndRefusesMalformed(t *testing.T) {
	k := key(t)
	s := NewSigner("LC-1", "WH-1", "BAY-1", k, 7)
	now := time.Unix(1_800_000_000, 0)
	_, err := s.Sign(iot.Reading{}, now)
	assert.ErrorIs(t, err, iot.ErrReadingInvalid, "no payload")
	_, err = s.Sign(iot.Reading{Weight: &iot.BayWeight{Qty: 1, Unit: "lb"}}, now)
	assert.ErrorIs(t, err, iot.ErrReadingInvalid)
	sr, err := s.Sign(iot.Reading{Weight: &iot.BayWeight{Qty: 40_480, Unit: "kg", Stable: true}}, now)
	require.NoError(t, err)
	assert.Equal(t, iot.Pos{Epoch: 7, Seq: 1}, sr.Reading.Pos())
	assert.Equal(t, now.UnixMilli(), sr.Reading.TimeMs)
	assert.True(t, ed25519.Verify(k.Public().(ed25519.PublicKey), iot.SignBytes(&sr.Reading), sr.Sig[:]))
	o, err := s.Message(&sr)
	require.NoError(t, err)
	assert.Equal(t, "ewr.readings.WH-1.BAY-1.LC-1.weight", o.Subject)
	assert.Regexp(t, `^LC-1:7:1:[0-9a-f]{16}$`, o.MsgID)
	back, _, err := iot.Decode(o.Data)
	require.NoError(t, err)
	assert.Equal(t, sr, *back)
}

// TestParseLines checks the documented line format: names or numbers for
// enumerations, the envelope the signer's alone, tickets signed inside.
func TestParseLines(t *testing.T) {
	k := key(t)
	s := NewSigner("WB-1", "WH-1", "", k, 3)
	cases := []struct {
		line string
		want func(t *testing.T, r iot.Reading)
		err  bool
	}{
		{line: `{"weight": {"qty": 40480, "unit": "kg", "stable": true}}`, want: func(t *testing.T, r iot.Reading) {
			assert.Equal(t, &iot.BayWeight{Qty: 40_480, Unit: "kg", Stable: true}, r.Weight)
		}},
		{line: `{"time_ms": 1764748800000, "event": "clip-42", "motion": {"zone": "dock", "class": "forklift", "confidence_permille": 930}}`, want: func(t *testing.T, r iot.Reading) {
			assert.Equal(t, iot.ClassForklift, r.Motion.Class)
			assert.Equal(t, int64(1764748800000), r.TimeMs)
			assert.Equal(t, "clip-42", r.Event)
		}},
		{line: `{"motion": {"zone": "dock", "class": 2, "confidence_permille": 930}}`, want: func(t *testing.T, r iot.Reading) {
			assert.Equal(t, iot.ClassPerson, r.Motion.Class)
		}},
		{line: `{"seal": {"seal_id": "SEAL-1", "state": "broken"}}`, want: func(t *testing.T, r iot.Reading) {
			assert.Equal(t, iot.SealBroken, r.Seal.State)
		}},
		{line: `{"heartbeat": {"battery_permille": 870, "clock_skew_ms": 12, "tamper": true}}`, want: func(t *testing.T, r iot.Reading) {
			assert.True(t, r.Heartbeat.Tamper)
		}},
		{line: `{"ticket": {"number": "OUT-7", "direction": "out", "gross": 25010, "tare": 15010, "net": 10000, "unit": "kg", "plate": "LU-4471", "release_order": "ro-WR-1-1", "weighed_at": 1764748800}}`,
			want: func(t *testing.T, r iot.Reading) {
				tk := r.Ticket.Ticket
				assert.Equal(t, "WB-1", tk.Device)
				assert.Equal(t, "WH-1", tk.Warehouse)
				assert.Equal(t, warehouse.Out, tk.Direction)
				assert.True(t, ed25519.Verify(k.Public().(ed25519.PublicKey), warehouse.TicketSignBytes(&tk), r.Ticket.Sig[:]), "the ticket is signed by the device")
			}},
		{line: `{"seal": {"seal_id": "SEAL-1", "state": "ajar"}}`, err: true},
		{line: `{"weight": {"qty": 1, "unit": "kg"}, "seq": 99}`, err: true},
		{line: `{"weight": {"qty": 1, "unit": "kg"}, "device": "OTHER"}`, err: true},
		{line: `{"weight": {"qty": 1, "unit": "kg", "colour": "red"}}`, err: true},
		{line: `{"ticket": {"number": "T", "device": "WB-9", "direction": "in"}}`, err: true},
		{line: `not json`, err: true},
	}
	for _, c := range cases {
		r, err := s.Parse([]byte(c.line))
		if c.err {
			assert.ErrorIs(t, err, ErrLine, "%s", c.line)
			continue
		}
		require.NoError(t, err, c.line)
		c.want(t, r)
	}
}
