package ledger

import (
	"fmt"
	"reflect"
	"strconv"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"pgregory.net/rapid"
)

// The sensor side in the property test: honest supervisors taking
// baselines, proving thefts, asserting gaps and re-counting, and honest
// load-outs closing on the bay scale's reading, among forged, misbound,
// replayed, stale and insufficient evidence and unauthorized assertions
// that must always be refused. With them in the mix, CheckInvariants also
// checks the alarm invariants (a lot in alarm has every live receipt
// frozen; alerts and lots agree) and the lock's (its current phase is its
// open release orders and its expected weight) against every other op.

func init() {
	recordTable2[iot.PrefixAlert] = reflect.TypeOf(iot.Alert{})
	recordTable2[iot.PrefixWatch] = reflect.TypeOf(iot.Watch{})
	recordTable2[iot.PrefixAnchor] = reflect.TypeOf(iot.Anchor{})
	recordTable2[iot.PrefixAnchorHead] = reflect.TypeOf(iot.AnchorHead{})
	recordTable2[iot.PrefixDeviceMark] = reflect.TypeOf(iot.DeviceMark{})
	recordTable2["lh/"] = reflect.TypeOf(warehouse.LockHistory{})
}

func (m *model) iotActions() map[string]func(*rapid.T) {
	return map[string]func(*rapid.T){"sensors": m.sensors}
}

// signed signs r as device's next reading now (block time plus a few ms:
// later readings later), with its own key or, if forger is set, a
// forger's key. used remembers readings the chain took, for replays.
func (m *model) signed(device string, r iot.Reading, forger string) iot.SignedReading {
	m.seq++
	if m.epochs == nil {
		m.epochs = map[string]uint64{}
	}
	ep := max(m.epochs[device], 1)
	r.Event, r.Device, r.Epoch, r.Seq = "p"+strconv.Itoa(m.seq), device, ep, uint64(m.seq)
	r.TimeMs = m.sim.Block.Time*1000 + int64(m.seq%20_000) + 1
	if forger != "" {
		return iot.Sign(r, DemoKey("forger", forger))
	}
	return iot.Sign(r, m.w.Devices[device].Key)
}

// reading signs a bay weight.
func (m *model) reading(device string, qty uint64, stable bool, forger string) iot.SignedReading {
	return m.signed(device, iot.Reading{Weight: &iot.BayWeight{Qty: qty, Unit: "kg", Stable: stable}}, forger)
}

func bayDevice(wh, bay, kind string) string {
	for i, b := range DemoBays {
		if b == bay {
			return fmt.Sprintf("%s-%s-0%d", wh, kind, i+1)
		}
	}
	return ""
}

// closingFor is a bay scale's reading as ro's load-out closes, having
// weighed out net: honest (what the lock then expects, give or take the
// scale's error), or off by more than the lot's tolerance (goods left that
// the tickets do not show).
func (m *model) closingFor(t *rapid.T, ro *warehouse.ReleaseOrder, net uint64) []byte {
	l, ok := Get[warehouse.Lot](m.sim.Store, warehouse.LotKey(ro.Lot))
	if !ok {
		return nil
	}
	qty := l.Expected - min(net, l.Expected)
	if rapid.IntRange(0, 5).Draw(t, "closingOff") == 0 {
		qty -= min(qty, l.Tolerance+1+rapid.Uint64Range(0, 3_000).Draw(t, "unaccounted"))
	} else {
		qty += rapid.Uint64Range(0, l.Tolerance/2).Draw(t, "noise")
	}
	sr := m.reading(bayDevice(l.Warehouse, l.Bay, "LC"), qty, true, "")
	return iot.Encode(&sr)
}

func (m *model) sensors(t *rapid.T) {
	id, ok := m.pick(t, "lot", m.lots)
	if !ok {
		return
	}
	l, _ := Get[warehouse.Lot](m.sim.Store, warehouse.LotKey(id))
	if l.Status != warehouse.LotLocked {
		return
	}
	w, _ := Get[warehouse.Warehouse](m.sim.Store, warehouse.WarehouseKey(l.Warehouse))
	lc := bayDevice(l.Warehouse, l.Bay, "LC")
	cam := bayDevice(l.Warehouse, l.Bay, "CAM")
	cur := warehouse.LoadLockHistory(&receipt.Exec{Store: m.sim.Store}, l.ID).Current()
	lo, _ := cur.Band(l.Tolerance)
	base := l.Expected
	// Anyone may submit a proven breach; only the collateral manager (no
	// supervisor is registered in the demo world) asserts gaps.
	submitter := rapid.SampledFrom([]string{w.CollateralManager, BankA, Regulator, Admin1, TraderB}).Draw(t, "submitter")
	breach := func(k iot.AlertKind, rs ...iot.SignedReading) *iot.Breach {
		return &iot.Breach{Lot: l.ID, Kind: k, Evidence: rs}
	}
	took := func(label string, want expect, signers []string, op receipt.Op, ev ...iot.SignedReading) {
		if m.step(label, want, signers, op) {
			m.used = append(m.used, ev...)
		}
	}
	act := rapid.IntRange(0, 11).Draw(t, "sensorAct")
	if l.Health == warehouse.HealthUnverified && rapid.Bool().Draw(t, "returning") {
		act = 6 // an unverified lot's supervisor comes back with fresh readings
	}
	switch act {
	case 0: // the collateral manager takes the baseline; anyone else may not
		signer := rapid.SampledFrom([]string{w.CollateralManager, w.Operator, BankA}).Draw(t, "signer")
		want := mayPass
		if signer != w.CollateralManager {
			want = mustFail
		}
		r := m.reading(lc, base+rapid.Uint64Range(0, l.Tolerance).Draw(t, "noise"), true, "")
		took("baseline", want, by(signer), &iot.SetBaseline{Lot: l.ID, Reading: r}, r)
	case 1, 2: // a theft beyond what the lock allows now, proven by the bay's scale
		rules := iot.DefaultRules()
		margin := rules.StepMargin(cur.Expected, l.Unit)
		r := m.reading(lc, lo-min(lo, margin+1+rapid.Uint64Range(0, 5_000).Draw(t, "stolen")), true, "")
		took("theft", mayPass, by(submitter), breach(iot.AlertStep, r), r)
	case 3: // forged, misbound, within the band, replayed, stale: never
		switch rapid.IntRange(0, 5).Draw(t, "doctored") {
		case 0:
			m.step("forgedBreach", mustFail, by(submitter), breach(iot.AlertStep, m.reading(lc, base/2, true, lc)))
		case 1:
			other := bayDevice(l.Warehouse, rapid.SampledFrom(DemoBays).Draw(t, "otherBay"), "LC")
			if other == lc {
				return
			}
			m.step("misboundBreach", mustFail, by(submitter), breach(iot.AlertStep, m.reading(other, base/2, true, "")))
		case 2:
			m.step("toleratedBreach", mustFail, by(submitter), breach(iot.AlertStep, m.reading(lc, max(lo, base-l.Tolerance), true, "")))
		case 3: // evidence the chain already used, replayed as a breach
			if len(m.used) == 0 {
				return
			}
			r := rapid.SampledFrom(m.used).Draw(t, "replayed")
			if r.Reading.Weight == nil {
				return
			}
			m.step("replayedBreach", mustFail, by(submitter), breach(iot.AlertStep, r))
		case 4: // taken long before this block
			r := m.reading(lc, base/2, true, "")
			r.Reading.TimeMs = m.sim.Block.Time*1000 - receipt.DefaultParams().EvidenceWindowSec*1000 - 1
			r = iot.Sign(r.Reading, m.w.Devices[lc].Key)
			m.step("staleBreach", mustFail, by(submitter), breach(iot.AlertStep, r))
		case 5: // motion while the lot's load-out is open is the load-out
			if !cur.Moving() {
				return
			}
			r := m.signed(cam, iot.Reading{Motion: &iot.Motion{Zone: "dock", Class: iot.ClassForklift, ConfidencePermille: 990}}, "")
			m.step("loadOutMotion", mustFail, by(submitter), breach(iot.AlertMotion, r))
		}
	case 4, 5: // a gap: only the warehouse's collateral manager may assert it
		signer := rapid.SampledFrom([]string{w.CollateralManager, TraderA, BankA, w.Operator, Inspector2, Regulator}).Draw(t, "signer")
		want := mayPass
		if signer != w.CollateralManager {
			want = mustFail
		}
		now := m.sim.Block.Time * 1000
		m.step("gap", want, by(signer), &iot.Gap{Lot: l.ID, Device: cam, LastSeenMs: now - 3_600_000, AtMs: now})
	case 6: // back to health on fresh readings
		signer := rapid.SampledFrom([]string{w.CollateralManager, BankA}).Draw(t, "signer")
		want := mayPass
		if signer != w.CollateralManager {
			want = mustFail
		}
		hb := m.signed(cam, iot.Reading{Heartbeat: &iot.Heartbeat{BatteryPermille: 900}}, "")
		wt := m.reading(lc, base, true, "")
		took("verified", want, by(signer), &iot.Verified{Lot: l.ID, Evidence: []iot.SignedReading{hb, wt}}, hb, wt)
	case 7: // a device restarts: a new epoch
		if m.epochs == nil {
			m.epochs = map[string]uint64{}
		}
		dev := rapid.SampledFrom([]string{lc, cam}).Draw(t, "restarted")
		m.epochs[dev] = max(m.epochs[dev], 1) + 1
	default: // the re-count: the collateral manager and a regulator
		cosigner := rapid.SampledFrom([]string{Regulator, BankA}).Draw(t, "cosigner")
		want := mayPass
		if cosigner != Regulator {
			want = mustFail
		}
		counted := l.IssuedQty + rapid.Uint64Range(0, 1_000).Draw(t, "extra")
		bay, _ := Get[warehouse.Bay](m.sim.Store, warehouse.BayKey(l.Warehouse, l.Bay))
		qty := warehouse.ExpectedAtLock(bay, min(l.LockedQty, counted), l.Unit)
		if cur.Moving() {
			qty = base - min(base, l.LockedQty-min(l.LockedQty, counted))
		}
		r := m.reading(lc, qty, true, "")
		took("recount", want, by(w.CollateralManager, cosigner), &iot.Recount{Lot: l.ID, Counted: counted, Baseline: r, Note: "re-tallied"}, r)
	}
}
