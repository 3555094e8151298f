package ledger

import (
	"fmt"
	"reflect"
	"strconv"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/warehouse"
	"pgregory.net/rapid"
)

// The sensor side in the property test: honest supervisors taking
// baselines, proving thefts, asserting gaps and re-counting, among forged,
// misbound and insufficient evidence that must always be refused. With
// them in the mix, CheckInvariants also checks the alarm invariants (a lot
// in alarm has every live receipt frozen; alerts and lots agree) against
// every other op.

func init() {
	recordTable2[iot.PrefixAlert] = reflect.TypeOf(iot.Alert{})
	recordTable2[iot.PrefixWatch] = reflect.TypeOf(iot.Watch{})
	recordTable2[iot.PrefixAnchor] = reflect.TypeOf(iot.Anchor{})
	recordTable2[iot.PrefixAnchorHead] = reflect.TypeOf(iot.AnchorHead{})
}

func (m *model) iotActions() map[string]func(*rapid.T) {
	return map[string]func(*rapid.T){"sensors": m.sensors}
}

// reading signs a bay weight from device at the block's time (later
// readings later: seq doubles as milliseconds).
func (m *model) reading(device string, qty uint64, stable bool, key string) iot.SignedReading {
	m.seq++
	r := iot.Reading{Event: "p" + strconv.Itoa(m.seq), Device: device, Seq: uint64(m.seq), TimeMs: m.sim.Block.Time*1000 + int64(m.seq),
		Weight: &iot.BayWeight{Qty: qty, Unit: "kg", Stable: stable}}
	if key != "" {
		return iot.Sign(r, DemoKey("forger", key))
	}
	return iot.Sign(r, m.w.Devices[device].Key)
}

func bayDevice(wh, bay, kind string) string {
	for i, b := range DemoBays {
		if b == bay {
			return fmt.Sprintf("%s-%s-0%d", wh, kind, i+1)
		}
	}
	return ""
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
	base := l.Baseline
	if base == 0 {
		base = l.LockedQty
	}
	supervisor := rapid.SampledFrom([]string{w.CollateralManager, BankA, Regulator, Admin1}).Draw(t, "supervisor")
	breach := func(rs ...iot.SignedReading) *iot.Breach {
		return &iot.Breach{Lot: l.ID, Kind: iot.AlertStep, Evidence: rs}
	}
	switch rapid.IntRange(0, 9).Draw(t, "sensorAct") {
	case 0: // the collateral manager takes the baseline; anyone else may not
		signer := rapid.SampledFrom([]string{w.CollateralManager, w.Operator, BankA}).Draw(t, "signer")
		want := mayPass
		if signer != w.CollateralManager {
			want = mustFail
		}
		m.step("baseline", want, by(signer), &iot.SetBaseline{Lot: l.ID, Reading: m.reading(lc, base, true, "")})
	case 1, 2: // a theft, proven by the bay's scale
		m.step("theft", mayPass, by(supervisor), breach(m.reading(lc, base-min(base, 2_000+rapid.Uint64Range(0, 5_000).Draw(t, "stolen")), true, "")))
	case 3: // forged, misbound, within tolerance: never
		switch rapid.IntRange(0, 2).Draw(t, "doctored") {
		case 0:
			m.step("forgedBreach", mustFail, by(supervisor), breach(m.reading(lc, base/2, true, lc)))
		case 1:
			other := bayDevice(l.Warehouse, rapid.SampledFrom(DemoBays).Draw(t, "otherBay"), "LC")
			if other == lc {
				return
			}
			m.step("misboundBreach", mustFail, by(supervisor), breach(m.reading(other, base/2, true, "")))
		case 2:
			if l.Baseline == 0 {
				return
			}
			m.step("toleratedBreach", mustFail, by(supervisor), breach(m.reading(lc, l.Baseline+l.Tolerance, true, "")))
		}
	case 4, 5: // a gap, asserted by a supervision role (not a trader)
		signer := rapid.SampledFrom([]string{supervisor, TraderA}).Draw(t, "signer")
		want := mayPass
		if signer == TraderA {
			want = mustFail
		}
		now := m.sim.Block.Time*1000 + int64(m.seq)
		m.step("gap", want, by(signer), &iot.Gap{Lot: l.ID, Device: bayDevice(l.Warehouse, l.Bay, "CAM"), LastSeenMs: now - 3_600_000, AtMs: now})
	case 6: // back to health on fresh readings
		m.seq += 1_000
		cam := bayDevice(l.Warehouse, l.Bay, "CAM")
		m.seq++
		hb := iot.Sign(iot.Reading{Event: "p" + strconv.Itoa(m.seq), Device: cam, Seq: uint64(m.seq), TimeMs: m.sim.Block.Time*1000 + int64(m.seq),
			Heartbeat: &iot.Heartbeat{BatteryPermille: 900}}, m.w.Devices[cam].Key)
		m.step("verified", mayPass, by(supervisor), &iot.Verified{Lot: l.ID, Evidence: []iot.SignedReading{hb, m.reading(lc, base, true, "")}})
	default: // the re-count: the collateral manager and a regulator
		cosigner := rapid.SampledFrom([]string{Regulator, BankA}).Draw(t, "cosigner")
		want := mayPass
		if cosigner != Regulator {
			want = mustFail
		}
		counted := l.IssuedQty + rapid.Uint64Range(0, 1_000).Draw(t, "extra")
		m.step("recount", want, by(w.CollateralManager, cosigner), &iot.Recount{Lot: l.ID, Counted: counted,
			Baseline: m.reading(lc, base, true, ""), Note: "re-tallied"})
	}
}
