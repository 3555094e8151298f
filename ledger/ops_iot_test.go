package ledger

import (
	"crypto/ed25519"
	"testing"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sensors signs readings with the demo world's device keys on a clock of
// its own: device time origin + ms. Tests move block time with upTo so
// the readings they submit are inside the evidence window.
type sensors struct {
	h      *harness
	origin int64 // block time (s) when the sensors started
}

func newSensors(h *harness) *sensors { return &sensors{h: h, origin: h.Block.Time} }

// dev names the demo device of kind ("LC", "CAM", "SEAL") in a bay of
// warehouse 1.
func dev(kind, bay string) string { return Warehouse1 + "-" + kind + "-0" + bay[len(bay)-1:] }

// at is the sensors' clock at ms, in device milliseconds.
func (s *sensors) at(ms int64) int64 { return s.origin*1000 + ms }

// upTo moves block time to the first second at or after the sensors' ms.
func (s *sensors) upTo(ms int64) {
	if t := (s.at(ms) + 999) / 1000; t > s.h.Block.Time {
		s.h.Advance(t - s.h.Block.Time)
	}
}

func (s *sensors) sign(device string, ms int64, r iot.Reading) iot.SignedReading {
	return s.h.signReading(device, s.at(ms), r)
}

func (s *sensors) weight(device string, ms int64, qty uint64, stable bool) iot.SignedReading {
	return s.sign(device, ms, iot.Reading{Weight: &iot.BayWeight{Qty: qty, Unit: "kg", Stable: stable}})
}

func (s *sensors) heartbeat(device string, ms int64, tamper bool) iot.SignedReading {
	return s.sign(device, ms, iot.Reading{Heartbeat: &iot.Heartbeat{BatteryPermille: 900, Tamper: tamper}})
}

func (s *sensors) motion(device string, ms int64, class iot.MotionClass, conf uint16) iot.SignedReading {
	return s.sign(device, ms, iot.Reading{Motion: &iot.Motion{Zone: "floor", Class: class, ConfidencePermille: conf}})
}

func (s *sensors) seal(device string, ms int64, st iot.SealState) iot.SignedReading {
	return s.sign(device, ms, iot.Reading{Seal: &iot.Seal{SealID: "S-1", State: st}})
}

func ev(rs ...iot.SignedReading) []iot.SignedReading { return rs }

// The demo lot of these tests: 50 t on a bay whose empty scale reads
// DemoBayTareKg, so the lock expects 50,480 kg until the baseline reading
// (50,600 kg, inside the 250 kg tolerance) re-centres it.
const (
	lotNet      = 50_000
	lotBaseline = 50_600
)

// lockedLot registers a 50 t lot (tolerance 250 kg) in bay, takes its
// baseline from its scale and issues two receipts on it (49 t).
func (s *sensors) lockedLot(lot, bay string) {
	h := s.h
	h.t.Helper()
	h.stock(lot, bay, lotNet)
	h.ok(by(Inspector), &iot.SetBaseline{Lot: lot, Reading: s.weight(dev("LC", bay), 1_000, lotBaseline, true)})
	h.issue(lot+"-R1", lot, 30_000, TraderA)
	h.issue(lot+"-R2", lot, 19_000, TraderB)
}

func TestIoTBaseline(t *testing.T) {
	h := newHarness(t)
	s := newSensors(h)
	h.stock("LOT-1", "BAY-01", lotNet)
	require.Equal(t, uint64(lotNet+DemoBayTareKg), h.lot("LOT-1").Expected, "the lock expects the tare and the goods")
	lc := dev("LC", "BAY-01")
	op := func(r iot.SignedReading) *iot.SetBaseline { return &iot.SetBaseline{Lot: "LOT-1", Reading: r} }

	h.fail(warehouse.ErrNotCollateralMgr, by(Operator), op(s.weight(lc, 1_000, 50_500, true)))
	h.fail(warehouse.ErrNotCollateralMgr, by(Inspector2), op(s.weight(lc, 1_000, 50_500, true)))
	forged := s.weight(lc, 1_000, 50_500, true)
	forged.Reading.Weight.Qty = 40_000
	h.fail(iot.ErrReadingSignature, by(Inspector), op(forged))
	h.fail(warehouse.ErrDeviceNotHere, by(Inspector), op(s.weight(dev("LC", "BAY-02"), 1_000, 50_500, true)))
	h.fail(iot.ErrReadingInvalid, by(Inspector), op(s.weight(lc, 1_000, 50_500, false)))
	h.fail(iot.ErrReadingInvalid, by(Inspector), op(s.sign(lc, 1_000, iot.Reading{Heartbeat: &iot.Heartbeat{}})))
	h.fail(iot.ErrEvidenceStale, by(Inspector), op(s.weight(lc, -60_000, 50_500, true)))
	h.fail(iot.ErrEvidenceTooOld, by(Inspector), op(s.weight(lc, 32_000, 50_500, true)), "a reading from the future")
	grams := s.sign(lc, 1_000, iot.Reading{Weight: &iot.BayWeight{Qty: 50_500_000, Unit: "g", Stable: true}})
	h.fail(receipt.ErrUnitMismatch, by(Inspector), op(grams))
	h.fail(warehouse.ErrLotNotFound, by(Inspector), &iot.SetBaseline{Lot: "LOT-9", Reading: s.weight(lc, 1_000, 50_500, true)})
	unsigned := s.weight(lc, 1_000, 50_500, true)
	unsigned.Sig = [64]byte{}
	h.fail(iot.ErrUnsigned, by(Inspector), op(unsigned))
	// A baseline far from the goods would blind the watch: refused.
	h.fail(iot.ErrBaselineOff, by(Inspector), op(s.weight(lc, 1_500, 30_000, true)))
	h.fail(iot.ErrBaselineOff, by(Inspector), op(s.weight(lc, 1_500, lotNet, true)), "the tare is on the scale too")
	h.fail(iot.ErrBaselineOff, by(Inspector), op(s.weight(lc, 1_500, 50_731, true)))
	// A reading taken an hour ago says nothing of the bay now.
	old := s.weight(lc, 600, 50_500, true)
	h.Advance(3600)
	h.fail(iot.ErrEvidenceTooOld, by(Inspector), op(old))

	fresh := s.weight(lc, 3_601_000, 50_600, true)
	s.upTo(3_601_000)
	h.ok(by(Inspector), op(fresh))
	l := h.lot("LOT-1")
	assert.Equal(t, uint64(50_600), l.Baseline)
	assert.Equal(t, uint64(50_600), l.Expected, "the lock re-centres on the scale's own reading")
	w, ok := Get[iot.Watch](h.Store, iot.WatchKey("LOT-1"))
	require.True(t, ok)
	assert.Equal(t, s.at(3_601_000), w.BaselineAtMs)
	m, ok := Get[iot.DeviceMark](h.Store, iot.DeviceMarkKey(lc))
	require.True(t, ok, "the baseline reading is used up")
	assert.Equal(t, fresh.Reading.Pos(), m.Pos())
	h.fail(iot.ErrBaselineSet, by(Inspector), op(s.weight(lc, 3_602_000, 50_600, true)))

	// Not while a load-out is open: the goods are moving.
	h.stock("LOT-2", "BAY-02", 20_000)
	r := h.issue("LOT-2-R1", "LOT-2", 20_000, TraderA)
	h.ok(by(TraderA), &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version, Quantity: 5_000})
	h.fail(iot.ErrReleaseOrderOpen, by(Inspector), &iot.SetBaseline{Lot: "LOT-2", Reading: s.weight(dev("LC", "BAY-02"), 3_602_000, 20_480, true)})
}

func TestIoTBreachStepFreezesLiveReceipts(t *testing.T) {
	h := newHarness(t)
	s := newSensors(h)
	s.lockedLot("LOT-1", "BAY-01")
	lc := dev("LC", "BAY-01")
	r1, r2 := h.receipt("LOT-1-R1"), h.receipt("LOT-1-R2")
	h.pledge(r1, BankA)
	h.ok(by(Regulator), &receipt.Freeze{Receipt: r2.ID, Reason: "court order"})
	h.issue("LOT-1-R3", "LOT-1", 1_000, TraderA) // R3: free until the theft
	breach := func(k iot.AlertKind, rs ...iot.SignedReading) *iot.Breach {
		return &iot.Breach{Lot: "LOT-1", Kind: k, Evidence: rs}
	}

	// Doctored or insufficient evidence is refused and changes nothing.
	h.fail(iot.ErrWithinTolerance, by(Inspector), breach(iot.AlertStep, s.weight(lc, 5_000, 50_350, true)))
	h.fail(iot.ErrWithinTolerance, by(Inspector), breach(iot.AlertStep, s.weight(lc, 5_000, 50_150, true)), "outside the band, inside the step margin")
	h.fail(iot.ErrWithinTolerance, by(Inspector), breach(iot.AlertStep, s.weight(lc, 5_000, 50_800, true)))
	h.fail(iot.ErrEvidenceTooFew, by(Inspector), breach(iot.AlertStep, s.weight(lc, 5_000, 40_000, false)))
	forged := s.weight(lc, 5_000, 50_600, true)
	forged.Reading.Weight.Qty = 40_000
	h.fail(iot.ErrReadingSignature, by(Inspector), breach(iot.AlertStep, forged))
	rogue := s.weight(lc, 5_000, 40_000, true)
	rogue = iot.Sign(rogue.Reading, DemoKey("rogue", lc))
	h.fail(iot.ErrReadingSignature, by(TraderB), breach(iot.AlertStep, rogue))
	h.fail(warehouse.ErrDeviceNotHere, by(Inspector), breach(iot.AlertStep, s.weight(dev("LC", "BAY-02"), 5_000, 40_000, true)))
	h.fail(warehouse.ErrDeviceType, by(Inspector), breach(iot.AlertStep, s.weight(dev("CAM", "BAY-01"), 5_000, 40_000, true)))
	h.fail(warehouse.ErrDeviceNotFound, by(Inspector), breach(iot.AlertStep, s.weight("LC-NOBODY", 5_000, 40_000, true)))
	h.fail(iot.ErrEvidenceStale, by(Inspector), breach(iot.AlertStep, s.weight(lc, -5_000, 40_000, true)))
	a, b := s.weight(lc, 5_000, 40_000, true), s.weight(lc, 6_000, 40_000, true)
	h.fail(iot.ErrEvidenceOrder, by(Inspector), breach(iot.AlertStep, b, a))
	h.fail(iot.ErrEvidenceOrder, by(Inspector), breach(iot.AlertStep, a, a))
	h.fail(iot.ErrBreachKind, by(Inspector), breach(iot.AlertGap, a))
	h.fail(iot.ErrBreachKind, by(Inspector), breach(iot.AlertLoadOut, a))
	h.fail(iot.ErrNotABreach, by(Inspector), breach(iot.AlertStep, s.motion(dev("CAM", "BAY-01"), 5_000, iot.ClassPerson, 990)))
	h.fail(receipt.ErrUnknownSigner, by("ghost"), breach(iot.AlertStep, s.weight(lc, 5_000, 40_000, true)))
	h.fail(warehouse.ErrLotNotFound, by(Inspector), &iot.Breach{Lot: "LOT-9", Kind: iot.AlertStep, Evidence: ev(s.weight(lc, 5_000, 40_000, true))})
	// A scale whose calibration lapsed, or that was revoked, proves nothing.
	reg := &warehouse.RegisterDevice{ID: "LC-SHORT", Kind: warehouse.BayScale, Warehouse: Warehouse1, Bay: "BAY-01", CalibratedUntil: h.Block.Time + 60}
	copy(reg.PubKey[:], h.deviceKey("LC-SHORT").Public().(ed25519.PublicKey))
	h.ok(by(Admin1, Admin2), reg)
	h.Advance(120)
	h.fail(warehouse.ErrDeviceUncalibrated, by(Inspector), breach(iot.AlertStep, s.weight("LC-SHORT", 120_000, 40_000, true)))
	h.ok(by(Admin1, Admin2), &warehouse.SuspendDevice{ID: "LC-SHORT", Reason: "enclosure opened"})
	h.fail(warehouse.ErrDeviceSuspended, by(Inspector), breach(iot.AlertStep, s.weight("LC-SHORT", 120_000, 40_000, true)))

	// The theft: one stable reading 3.6 t down.
	theft := breach(iot.AlertStep, s.weight(lc, 130_000, 47_000, true))
	s.upTo(130_000)
	res := h.ok(by(TraderB), theft) // any member may submit proven evidence
	l := h.lot("LOT-1")
	require.Equal(t, warehouse.HealthAlarm, l.Health)
	al, ok := Get[iot.Alert](h.Store, iot.AlertKey(l.Alert))
	require.True(t, ok)
	assert.Equal(t, iot.AlertStep, al.Kind)
	assert.Equal(t, iot.AlertOpen, al.Status)
	assert.Equal(t, TraderB, al.By)
	assert.Equal(t, []string{theft.Evidence[0].Reading.ID()}, al.Readings)
	assert.Equal(t, lc+":1:", al.Readings[0][:len(lc)+3], "reading ids name the boot epoch")
	assert.Equal(t, iot.EvidenceDigest("LOT-1", iot.AlertStep, theft.Evidence), al.Digest)
	assert.Equal(t, []string{"LOT-1-R1", "LOT-1-R3"}, al.Frozen)
	for _, id := range []string{"LOT-1-R1", "LOT-1-R3"} {
		r := h.receipt(id)
		require.Equal(t, receipt.StateFrozen, r.State, id)
		assert.Equal(t, receipt.FreezeByBreach, r.Frozen.Cause)
		assert.Equal(t, l.Alert, r.Frozen.Alert)
	}
	assert.Equal(t, receipt.StatePledged, h.receipt("LOT-1-R1").Frozen.Prior)
	assert.Equal(t, receipt.FreezeByRegulator, h.receipt("LOT-1-R2").Frozen.Cause, "a regulator's freeze stays as it is")
	var types []string
	for _, e := range res.Events {
		types = append(types, e.Type)
	}
	assert.Equal(t, []string{receipt.EvReceiptFrozen, receipt.EvReceiptFrozen, iot.EvBreach}, types)

	// Frozen receipts cannot be pledged, moved or unfrozen by the regulator alone.
	r3 := h.receipt("LOT-1-R3")
	h.fail(receipt.ErrFrozen, by(TraderA), &receipt.RequestPledge{Pledge: "PL-x", Receipt: r3.ID, Version: r3.Version, Bank: BankB, Maturity: h.Block.Time + 30*day})
	h.fail(receipt.ErrFrozen, by(TraderA), transfer(r3, TraderB, h.Block.Time+day))
	h.fail(receipt.ErrBreachFreeze, by(Regulator), &receipt.Unfreeze{Receipt: r3.ID, Reason: "looks fine"})
	h.fail(iot.ErrLotInAlarm, by(Regulator), &receipt.Unfreeze{Receipt: "LOT-1-R2", Reason: "court order lifted"}) // the breach holds it too
	h.fail(warehouse.ErrLotUnhealthy, by(Operator), h.issueOp("LOT-1-R4", "LOT-1", 1, TraderA))
	// The same evidence again, or another breach, changes nothing.
	h.fail(iot.ErrLotInAlarm, by(Inspector), theft)
	h.fail(iot.ErrLotInAlarm, by(Inspector), breach(iot.AlertTamper, s.heartbeat(lc, 131_000, true)))
	h.fail(iot.ErrLotInAlarm, by(Inspector), &iot.Gap{Lot: "LOT-1", Device: lc, LastSeenMs: s.at(-200_000), AtMs: s.at(130_000)})
	h.fail(iot.ErrLotInAlarm, by(Inspector), &iot.Verified{Lot: "LOT-1", Evidence: ev(s.weight(lc, 131_000, 50_600, true))})

	t.Run("recount", func(t *testing.T) {
		h.t = t
		s.upTo(200_000)
		rc := func(counted uint64, reading iot.SignedReading) *iot.Recount {
			return &iot.Recount{Lot: "LOT-1", Counted: counted, Baseline: reading, Note: "tally by bundle, 2 inspectors"}
		}
		h.fail(receipt.ErrCosignerMissing, by(Inspector), rc(50_000, s.weight(lc, 200_000, 50_490, true)))
		h.fail(receipt.ErrCosignerMissing, by(Inspector, BankA), rc(50_000, s.weight(lc, 200_000, 50_490, true)))
		h.fail(warehouse.ErrNotCollateralMgr, by(Regulator, Inspector), rc(50_000, s.weight(lc, 200_000, 50_490, true)))
		h.fail(warehouse.ErrNotCollateralMgr, by(Operator, Regulator), rc(50_000, s.weight(lc, 200_000, 50_490, true)))
		h.fail(iot.ErrRecountShort, by(Inspector, Regulator), rc(49_999, s.weight(lc, 200_000, 50_490, true)))
		h.fail(iot.ErrEvidenceStale, by(Inspector, Regulator), rc(50_500, s.weight(lc, 100_000, 50_490, true)))
		h.fail(iot.ErrReadingInvalid, by(Inspector, Regulator), rc(50_500, s.weight(lc, 200_000, 50_490, false)))
		// The breach's own evidence cannot be the new baseline: the chain used
		// it (the console offers only a reading newer than the device's mark).
		h.fail(iot.ErrReadingConsumed, by(Inspector, Regulator), rc(46_000, theft.Evidence[len(theft.Evidence)-1]))
		// The scale still reads 3.6 t short: a count of the full lot disagrees with it.
		h.fail(iot.ErrBaselineOff, by(Inspector, Regulator), rc(50_500, s.weight(lc, 200_000, 47_010, true)))
		h.fail(receipt.ErrMissingField, by(Inspector, Regulator), &iot.Recount{Lot: "LOT-1", Counted: 50_100, Baseline: s.weight(lc, 200_000, 50_490, true)})
		for _, id := range []string{"LOT-1-R1", "LOT-1-R3"} {
			assert.Equal(t, receipt.StateFrozen, h.receipt(id).State, "a refused re-count leaves %s frozen", id)
		}

		// A re-count names the lot's version: one made on a lot that moved
		// since (another alert, a delivery) is refused.
		stale := rc(50_500, s.weight(lc, 200_000, 50_490, true))
		stale.Version = h.lot("LOT-1").Version - 1
		h.fail(receipt.ErrStaleVersion, by(Inspector, Regulator), stale)
		h.Exact = true
		h.fail(receipt.ErrMissingField, by(Inspector, Regulator), rc(50_500, s.weight(lc, 200_000, 50_490, true)), "no lot version")
		h.Exact = false

		// The goods were found (a mis-stacked bundle, put back): the count
		// covers the receipts and the scale agrees with it.
		h.ok(by(Inspector, Regulator), rc(50_500, s.weight(lc, 200_000, 50_490, true)))
		l := h.lot("LOT-1")
		assert.Equal(t, warehouse.HealthOK, l.Health)
		assert.Empty(t, l.Alert)
		assert.Equal(t, uint64(50_490), l.Baseline)
		assert.Equal(t, uint64(50_490), l.Expected)
		assert.Equal(t, uint64(50_000), l.LockedQty, "the lock never grows by count")
		assert.Equal(t, receipt.StatePledged, h.receipt("LOT-1-R1").State)
		assert.Equal(t, receipt.StateIssued, h.receipt("LOT-1-R3").State)
		assert.Equal(t, receipt.StateFrozen, h.receipt("LOT-1-R2").State, "the court's freeze is the regulator's to lift")
		h.ok(by(Regulator), &receipt.Unfreeze{Receipt: "LOT-1-R2", Reason: "court order lifted"})
		closed, _ := Get[iot.Alert](h.Store, iot.AlertKey(al.ID))
		assert.Equal(t, iot.AlertClosed, closed.Status)
		assert.Equal(t, "recount", closed.Resolution)
		assert.Equal(t, uint64(50_500), closed.Counted)

		// The old evidence proves nothing about the lot now: it was used.
		h.fail(iot.ErrReadingConsumed, by(Inspector), theft)
		s.upTo(300_000)
		h.fail(iot.ErrLotHealthy, by(Inspector, Regulator), rc(50_500, s.weight(lc, 300_000, 50_490, true)))
	})
}

func TestIoTBreachDrift(t *testing.T) {
	h := newHarness(t)
	s := newSensors(h)
	s.lockedLot("LOT-2", "BAY-02")
	lc := dev("LC", "BAY-02")
	drift := func(rs ...iot.SignedReading) *iot.Breach {
		return &iot.Breach{Lot: "LOT-2", Kind: iot.AlertDrift, Evidence: rs}
	}
	const off = lotBaseline - 400 // 400 kg down: beyond the 250 tolerance, inside the 250 step margin beyond it
	min := int64(60_000)
	at := func(m int64) int64 { s.upTo(m * min); return m * min }

	h.fail(iot.ErrNotSustained, by(Inspector), drift(s.weight(lc, 1*min, off, true), s.weight(lc, 2*min, off, true), s.weight(lc, at(5), off, true)))
	h.fail(iot.ErrEvidenceTooFew, by(Inspector), drift(s.weight(lc, 6*min, off, true), s.weight(lc, at(12), off, true)))
	gapped := ev(s.weight(lc, 13*min, off, true), s.weight(lc, 15*min, off, true))
	h.devSeq[lc]++ // a reading left out
	gapped = append(gapped, s.weight(lc, at(19), off, true))
	h.fail(iot.ErrEvidenceGap, by(Inspector), drift(gapped...))
	rebooted := ev(s.weight(lc, 20*min, off, true), s.weight(lc, 22*min, off, true))
	h.restart(lc) // the run breaks at a restart: the new epoch's first reading does not follow
	rebooted = append(rebooted, s.weight(lc, at(26), off, true))
	h.fail(iot.ErrEvidenceGap, by(Inspector), drift(rebooted...))
	h.fail(iot.ErrWithinTolerance, by(Inspector), drift(s.weight(lc, 27*min, off, true), s.weight(lc, 29*min, lotBaseline, true), s.weight(lc, at(33), off, true)))
	h.fail(iot.ErrNotABreach, by(Inspector), drift(s.weight(lc, 34*min, off, true), s.heartbeat(dev("CAM", "BAY-02"), 35*min, false), s.weight(lc, at(40), off, true)))
	h.fail(warehouse.ErrDeviceType, by(Inspector), drift(s.weight(lc, 41*min, off, true), s.motion(lc, 42*min, iot.ClassPerson, 999), s.weight(lc, at(47), off, true)))
	// Held for six minutes, but begun before the evidence window.
	early := ev(s.weight(lc, 48*min, off, true), s.weight(lc, 51*min, off, true), s.weight(lc, 54*min, off, true))
	at(70)
	h.fail(iot.ErrEvidenceTooOld, by(Inspector), drift(early...))

	// Held for six minutes, with a heartbeat and an unsettled reading between.
	h.ok(by(Inspector), drift(s.weight(lc, 71*min, off, true), s.heartbeat(lc, 72*min, false), s.weight(lc, 73*min, off-900, false),
		s.weight(lc, 74*min, off, true), s.weight(lc, at(77), off-10, true)))
	assert.Equal(t, warehouse.HealthAlarm, h.lot("LOT-2").Health)
	assert.Equal(t, receipt.StateFrozen, h.receipt("LOT-2-R1").State)
}

func TestIoTBreachMotionSealTamper(t *testing.T) {
	h := newHarness(t)
	s := newSensors(h)
	s.lockedLot("LOT-3", "BAY-03")
	s.lockedLot("LOT-4", "BAY-04")
	cam, seal := dev("CAM", "BAY-03"), dev("SEAL", "BAY-03")
	breach := func(lot string, k iot.AlertKind, rs ...iot.SignedReading) *iot.Breach {
		return &iot.Breach{Lot: lot, Kind: k, Evidence: rs}
	}

	// Motion while a release order is open is the load-out, not a breach;
	// and it stays the load-out after the order closed.
	r := h.receipt("LOT-3-R2")
	h.ok(by(TraderB), &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version, Quantity: 5_000})
	forklift, door := s.motion(cam, 2_000, iot.ClassForklift, 950), s.seal(seal, 2_500, iot.SealOpen)
	s.upTo(4_000)
	h.fail(iot.ErrReleaseOrderOpen, by(Inspector), breach("LOT-3", iot.AlertMotion, forklift))
	h.fail(iot.ErrReleaseOrderOpen, by(Inspector), breach("LOT-3", iot.AlertSeal, door))
	h.ok(by(TraderB), &warehouse.CancelDelivery{ReleaseOrder: warehouse.ReleaseOrderID(r.ID, 1)})
	s.upTo(6_000)
	h.fail(iot.ErrReleaseOrderOpen, by(Inspector), breach("LOT-3", iot.AlertMotion, forklift))
	h.fail(iot.ErrReleaseOrderOpen, by(Inspector), breach("LOT-3", iot.AlertSeal, door))
	h.fail(iot.ErrNotABreach, by(Inspector), breach("LOT-3", iot.AlertMotion, s.motion(cam, 6_000, iot.ClassPerson, 500)))
	h.fail(iot.ErrNotABreach, by(Inspector), breach("LOT-3", iot.AlertMotion, s.motion(cam, 6_000, iot.ClassAnimal, 990)))
	h.fail(warehouse.ErrDeviceNotHere, by(Inspector), breach("LOT-3", iot.AlertMotion, s.motion(dev("CAM", "BAY-04"), 6_000, iot.ClassPerson, 990)))
	h.fail(iot.ErrNotABreach, by(Inspector), breach("LOT-3", iot.AlertSeal, s.seal(seal, 6_000, iot.SealClosed)))
	h.fail(iot.ErrNotABreach, by(Inspector), breach("LOT-3", iot.AlertTamper, s.heartbeat(cam, 6_000, false)))
	h.ok(by(BankA), breach("LOT-3", iot.AlertMotion, s.motion(cam, 7_000, iot.ClassPerson, 990)))
	assert.Equal(t, warehouse.HealthAlarm, h.lot("LOT-3").Health)

	// A broken seal needs no release-order check; a tamper switch neither.
	s.upTo(7_000)
	h.ok(by(Inspector), breach("LOT-4", iot.AlertSeal, s.seal(dev("SEAL", "BAY-04"), 7_000, iot.SealBroken)))
	assert.Equal(t, warehouse.HealthAlarm, h.lot("LOT-4").Health)

	h2 := newHarness(t)
	s2 := newSensors(h2)
	s2.lockedLot("LOT-5", "BAY-01")
	h2.ok(by(Inspector), &iot.Breach{Lot: "LOT-5", Kind: iot.AlertTamper, Evidence: ev(s2.heartbeat(dev("SEAL", "BAY-01"), 7_000, true))})
	assert.Equal(t, warehouse.HealthAlarm, h2.lot("LOT-5").Health)
}

func TestIoTGapAndVerified(t *testing.T) {
	h := newHarness(t)
	s := newSensors(h)
	s.lockedLot("LOT-1", "BAY-01")
	lc, cam := dev("LC", "BAY-01"), dev("CAM", "BAY-01")
	now := s.at(0)
	gap := func(device string, lastSeen, at int64) *iot.Gap {
		return &iot.Gap{Lot: "LOT-1", Device: device, LastSeenMs: lastSeen, AtMs: at}
	}

	// Only the warehouse's collateral manager or a supervisor the
	// consortium registered for it may assert what readings cannot prove.
	h.fail(iot.ErrNotSupervisor, by(TraderA), gap(cam, now-200_000, now))
	h.fail(iot.ErrNotSupervisor, by(BankA), gap(cam, now-200_000, now))
	h.fail(iot.ErrNotSupervisor, by(Inspector2), gap(cam, now-200_000, now), "the collateral manager of another warehouse")
	h.fail(iot.ErrNotSupervisor, by(Operator), gap(cam, now-200_000, now))
	h.fail(warehouse.ErrDeviceNotHere, by(Inspector), gap(dev("CAM", "BAY-02"), now-200_000, now))
	h.fail(warehouse.ErrDeviceNotFound, by(Inspector), gap("CAM-NOBODY", now-200_000, now))
	h.fail(iot.ErrGapTooShort, by(Inspector), gap(cam, now-100_000, now))
	h.fail(receipt.ErrInvalidOp, by(Inspector), gap(cam, now, now-1))
	// Made-up times: an assertion from an hour ago or a year ahead.
	h.fail(iot.ErrEvidenceTooOld, by(Inspector), gap(cam, now-3_800_000, now-3_600_000))
	h.fail(iot.ErrEvidenceTooOld, by(Inspector), gap(cam, now-200_000, now+365*day*1000))
	h.fail(warehouse.ErrSupervisorInvalid, by(Admin1, Admin2), &warehouse.SetSupervisors{Warehouse: Warehouse1, Supervisors: []string{TraderA}})
	h.fail(receipt.ErrAdminQuorum, by(Admin1), &warehouse.SetSupervisors{Warehouse: Warehouse1, Supervisors: []string{BankA}})
	h.ok(by(Admin1, Admin2), &warehouse.SetSupervisors{Warehouse: Warehouse1, Supervisors: []string{BankA}})
	h.ok(by(BankA), gap(cam, now-200_000, now)) // the bank's registered supervisor
	l := h.lot("LOT-1")
	require.Equal(t, warehouse.HealthUnverified, l.Health)
	al, _ := Get[iot.Alert](h.Store, iot.AlertKey(l.Alert))
	assert.Equal(t, BankA, al.By)
	assert.Equal(t, cam, al.Device)

	// New pledges and transfers wait; nothing is frozen; one open gap per lot.
	r := h.receipt("LOT-1-R1")
	assert.Equal(t, receipt.StateIssued, r.State)
	h.fail(warehouse.ErrLotUnhealthy, by(TraderA), &receipt.RequestPledge{Pledge: "PL-1", Receipt: r.ID, Version: r.Version, Bank: BankA, Maturity: h.Block.Time + 30*day})
	h.fail(iot.ErrLotUnverified, by(Inspector), gap(cam, now-200_000, now+1))
	h.fail(iot.ErrLotUnverified, by(Inspector), gap(lc, now-200_000, now+1))

	verified := func(rs ...iot.SignedReading) *iot.Verified { return &iot.Verified{Lot: "LOT-1", Evidence: rs} }
	s.upTo(11_000)
	h.fail(iot.ErrNotSupervisor, by(TraderA), verified(s.heartbeat(cam, 10_000, false), s.weight(lc, 10_000, 50_600, true)))
	h.fail(iot.ErrEvidenceStale, by(Inspector), verified(s.heartbeat(cam, -1_000, false), s.weight(lc, 10_000, 50_600, true)))
	h.fail(iot.ErrEvidenceTooFew, by(Inspector), verified(s.weight(lc, 10_000, 50_600, true)))
	h.fail(iot.ErrEvidenceTooFew, by(Inspector), verified(s.heartbeat(cam, 10_000, false)))
	h.fail(iot.ErrNotABreach, by(Inspector), verified(s.heartbeat(cam, 10_000, false), s.weight(lc, 10_000, 49_000, true)))
	back := verified(s.heartbeat(cam, 10_000, false), s.weight(lc, 11_000, 50_600, true))
	h.ok(by(Inspector), back)
	assert.Equal(t, warehouse.HealthOK, h.lot("LOT-1").Health)
	h.ok(by(TraderA), &receipt.RequestPledge{Pledge: "PL-1", Receipt: r.ID, Version: h.receipt(r.ID).Version, Bank: BankA, Maturity: h.Block.Time + 30*day})
	h.fail(iot.ErrLotHealthy, by(Inspector), verified(s.heartbeat(cam, 12_000, false), s.weight(lc, 12_000, 50_600, true)))

	// The chain used the camera's reading of 10 s: a gap claiming it was
	// silent since before then is contradicted. Its readings count once.
	h.fail(iot.ErrGapContradicted, by(Inspector), gap(cam, now-200_000, s.at(11_000)))
	s.upTo(220_000)
	h.ok(by(Inspector), gap(cam, s.at(10_000), s.at(220_000)))
	h.fail(iot.ErrReadingConsumed, by(Inspector), back)

	// A breach overtakes a gap.
	gapAlert := h.lot("LOT-1").Alert
	h.ok(by(Inspector), &iot.Breach{Lot: "LOT-1", Kind: iot.AlertStep, Evidence: ev(s.weight(lc, 220_000, 45_000, true))})
	sup, _ := Get[iot.Alert](h.Store, iot.AlertKey(gapAlert))
	assert.Equal(t, iot.AlertSuperseded, sup.Status)
	assert.Equal(t, h.lot("LOT-1").Alert, sup.Resolution)
	assert.Equal(t, receipt.StateFrozen, h.receipt("LOT-1-R1").State)
	assert.Equal(t, receipt.StatePledgePending, h.receipt("LOT-1-R1").Frozen.Prior)
}

// TestIoTPartialDeliveryFollowsTheGoods is the lock following an ordinary
// load-out: the bay loses what the trucks took, the lock expects it, the
// honest scale's next readings are no breach, and a load-out that took
// more than its tickets say is caught when it closes.
func TestIoTPartialDeliveryFollowsTheGoods(t *testing.T) {
	h := newHarness(t)
	s := newSensors(h)
	s.lockedLot("LOT-1", "BAY-01")
	lc := dev("LC", "BAY-01")
	h.pledge(h.receipt("LOT-1-R1"), BankA)
	r2 := h.receipt("LOT-1-R2")
	h.ok(by(TraderB), &warehouse.RequestDelivery{Receipt: r2.ID, Version: r2.Version, Quantity: 10_000})
	ro := warehouse.ReleaseOrderID(r2.ID, 1)
	o, _ := Get[warehouse.ReleaseOrder](h.Store, warehouse.ReleaseOrderKey(ro))
	assert.Equal(t, uint64(10_000+60), o.MayRemove, "the order may take its quantity and a truck's weighing error")
	breach := func(k iot.AlertKind, rs ...iot.SignedReading) *iot.Breach {
		return &iot.Breach{Lot: "LOT-1", Kind: k, Evidence: rs}
	}

	// The load-out: the door opens, a forklift works, the bay goes down as
	// the truck is loaded.
	door := s.seal(dev("SEAL", "BAY-01"), 10_000, iot.SealOpen)
	forklift := s.motion(dev("CAM", "BAY-01"), 20_000, iot.ClassForklift, 970)
	loading := ev(s.weight(lc, 30_000, 45_100, true), s.weight(lc, 60_000, 40_590, true))
	s.upTo(60_000)
	h.fail(iot.ErrWithinTolerance, by(Inspector), breach(iot.AlertStep, loading[1]), "what the order allows is no theft")
	h.fail(iot.ErrWithinTolerance, by(Inspector), breach(iot.AlertDrift, loading...))
	// Taking more than the order while it is open is a theft.
	over := s.weight(lc, 61_000, 39_000, true)
	h.fail(iot.ErrWithinTolerance, by(Inspector), breach(iot.AlertStep, s.weight(lc, 61_000, 40_250, true)))

	out := h.outTicket(ro, 10_010)
	h.Advance(60)
	confirm := func(closing iot.SignedReading) *warehouse.ConfirmDelivery {
		return &warehouse.ConfirmDelivery{ReleaseOrder: ro, Tickets: []warehouse.SignedTicket{out}, Closing: iot.Encode(&closing)}
	}
	nowMs := func() int64 { return h.Block.Time*1000 - s.origin*1000 }
	h.fail(iot.ErrClosingMissing, by(Operator), &warehouse.ConfirmDelivery{ReleaseOrder: ro, Tickets: []warehouse.SignedTicket{out}})
	h.fail(iot.ErrClosingInvalid, by(Operator), confirm(s.weight(lc, nowMs(), 40_590, false)))
	h.fail(iot.ErrClosingInvalid, by(Operator), confirm(s.heartbeat(lc, nowMs(), false)))
	h.fail(iot.ErrClosingInvalid, by(Operator), confirm(s.weight(lc, 50_000, 40_590, true)), "taken before the truck weighed out")
	h.fail(warehouse.ErrDeviceNotHere, by(Operator), confirm(s.weight(dev("LC", "BAY-02"), nowMs(), 40_590, true)))
	h.fail(warehouse.ErrDeviceType, by(Operator), confirm(s.weight(dev("CAM", "BAY-01"), nowMs(), 40_590, true)))
	bad := confirm(s.weight(lc, nowMs(), 40_590, true))
	bad.Closing = bad.Closing[:len(bad.Closing)-1]
	h.fail(iot.ErrReadingInvalid, by(Operator), bad)
	closing := s.weight(lc, nowMs(), 40_580, true)
	h.ok(by(Operator), confirm(closing))

	l := h.lot("LOT-1")
	assert.Equal(t, warehouse.HealthOK, l.Health, "no alert")
	assert.Equal(t, uint64(40_580), l.Expected, "the lock re-centres on the closing reading, the bay less the weighed-out net")
	assert.Equal(t, uint64(lotNet-10_010), l.LockedQty)
	for _, id := range []string{"LOT-1-R1", "LOT-1-R2"} {
		assert.NotEqual(t, receipt.StateFrozen, h.receipt(id).State, "%s not frozen", id)
	}
	assert.Equal(t, uint64(9_000), h.receipt("LOT-1-R2").Quantity)
	// The honest scale's next readings are what the lot holds: no breach.
	s.upTo(nowMs() + 30_000)
	h.fail(iot.ErrWithinTolerance, by(Inspector), breach(iot.AlertStep, s.weight(lc, nowMs(), 40_600, true)))
	// Every reading of the finished load-out, replayed: refused. The door
	// and the forklift are judged as the lock stood when they were seen;
	// the scale's are older than the closing reading the chain used.
	h.fail(iot.ErrReleaseOrderOpen, by(Inspector), breach(iot.AlertSeal, door))
	h.fail(iot.ErrReleaseOrderOpen, by(Inspector), breach(iot.AlertMotion, forklift))
	for _, r := range loading {
		h.fail(iot.ErrReadingConsumed, by(Inspector), breach(iot.AlertStep, r))
	}
	h.fail(iot.ErrReadingConsumed, by(Inspector), breach(iot.AlertStep, closing), "the closing reading was used")
	h.fail(iot.ErrReadingConsumed, by(Inspector), breach(iot.AlertStep, over), "older than the reading the chain used")
	h.fail(iot.ErrBaselineSet, by(Inspector), &iot.SetBaseline{Lot: "LOT-1", Reading: s.weight(lc, nowMs(), 40_590, true)})

	// A second load-out whose trucks took 2 t more than the ticket says:
	// the delivery stands, the lot goes to alarm on the closing reading.
	h.ok(by(TraderB), &warehouse.RequestDelivery{Receipt: r2.ID, Version: h.receipt(r2.ID).Version, Quantity: 4_000})
	ro2 := warehouse.ReleaseOrderID(r2.ID, 2)
	h.Advance(120)
	short := s.weight(lc, nowMs(), 40_590-6_000, true)
	res := h.ok(by(Operator), &warehouse.ConfirmDelivery{ReleaseOrder: ro2, Tickets: []warehouse.SignedTicket{h.outTicket(ro2, 4_000)}, Closing: iot.Encode(&short)})
	l = h.lot("LOT-1")
	require.Equal(t, warehouse.HealthAlarm, l.Health)
	al, _ := Get[iot.Alert](h.Store, iot.AlertKey(l.Alert))
	assert.Equal(t, iot.AlertLoadOut, al.Kind)
	assert.Equal(t, []string{short.Reading.ID()}, al.Readings)
	assert.Equal(t, []string{"LOT-1-R1", "LOT-1-R2"}, al.Frozen, "the remaining receipts, the pledged one too")
	assert.Equal(t, uint64(5_000), h.receipt("LOT-1-R2").Quantity, "the delivery was confirmed")
	var types []string
	for _, e := range res.Events {
		types = append(types, e.Type)
	}
	assert.Contains(t, types, receipt.EvDeliveryConfirmed)
	assert.Contains(t, types, iot.EvBreach)
}

// TestIoTRestartStartsANewEpoch checks a device restart on chain: its new
// epoch's readings count, and nothing signed before the restart counts
// after the chain used a reading of the new epoch.
func TestIoTRestartStartsANewEpoch(t *testing.T) {
	h := newHarness(t)
	s := newSensors(h)
	s.lockedLot("LOT-1", "BAY-01")
	cam, lc := dev("CAM", "BAY-01"), dev("LC", "BAY-01")
	recount := func(ms int64) *iot.Recount {
		return &iot.Recount{Lot: "LOT-1", Counted: 50_000, Note: "no loss", Baseline: s.weight(lc, ms, lotBaseline, true)}
	}
	motion := func(r iot.SignedReading) *iot.Breach {
		return &iot.Breach{Lot: "LOT-1", Kind: iot.AlertMotion, Evidence: ev(r)}
	}
	before := s.motion(cam, 2_000, iot.ClassPerson, 990) // signed, kept back
	h.restart(cam)
	after := s.motion(cam, 3_000, iot.ClassPerson, 990)
	assert.Equal(t, iot.Pos{Epoch: 2, Seq: 1}, after.Reading.Pos(), "the sequence counts afresh in a new epoch")
	s.upTo(3_000)
	h.ok(by(Inspector), motion(after))
	h.ok(by(Inspector, Regulator), recount(4_000))
	h.fail(iot.ErrReadingConsumed, by(Inspector), motion(before), "signed before the restart")

	late := s.motion(cam, 6_000, iot.ClassPerson, 990)
	h.restart(cam)
	h.restart(cam)
	s.upTo(8_000)
	h.ok(by(Inspector), motion(s.motion(cam, 7_000, iot.ClassPerson, 990)))
	h.ok(by(Inspector, Regulator), recount(8_000))
	h.fail(iot.ErrReadingConsumed, by(Inspector), motion(late), "an epoch the device has left")
}

func TestIoTAnchor(t *testing.T) {
	h := newHarness(t)
	root := iot.MerkleRoot([][32]byte{iot.LeafHash(1, []byte("a")), iot.LeafHash(3, []byte("b"))})
	op := func(first, last uint64, n uint32) *iot.AnchorBatch {
		return &iot.AnchorBatch{Warehouse: Warehouse1, Stream: "EWR_READINGS", FirstSeq: first, LastSeq: last, Count: n, Root: root}
	}
	h.fail(iot.ErrNotSupervisor, by(TraderA), op(1, 3, 2))
	h.fail(iot.ErrNotSupervisor, by(Inspector2), op(1, 3, 2))
	h.fail(iot.ErrAnchorInvalid, by(Inspector), op(1, 3, 4))
	h.fail(iot.ErrAnchorInvalid, by(Inspector), op(0, 3, 2))
	h.fail(iot.ErrAnchorInvalid, by(Inspector), &iot.AnchorBatch{Warehouse: Warehouse1, Stream: "EWR_READINGS", FirstSeq: 1, LastSeq: 3, Count: 2})
	h.fail(warehouse.ErrWarehouseNotFound, by(Inspector), &iot.AnchorBatch{Warehouse: "WH-NONE", Stream: "EWR_READINGS", FirstSeq: 1, LastSeq: 3, Count: 2, Root: root})
	h.ok(by(Inspector), op(1, 3, 2))
	h.fail(iot.ErrAnchorOverlap, by(Inspector), op(1, 3, 2))
	h.fail(iot.ErrAnchorOverlap, by(Operator), op(3, 9, 2))
	h.ok(by(Operator), op(4, 9, 5))
	head, ok := Get[iot.AnchorHead](h.Store, iot.AnchorHeadKey(Warehouse1, "EWR_READINGS"))
	require.True(t, ok)
	assert.Equal(t, uint64(9), head.LastSeq)
	assert.Equal(t, uint64(2), head.Anchors)
	assert.Equal(t, uint64(7), head.Readings)
	a, ok := Get[iot.Anchor](h.Store, iot.AnchorKey(Warehouse1, "EWR_READINGS", 4))
	require.True(t, ok)
	assert.Equal(t, root, a.Root)
	assert.Equal(t, uint64(1), a.PrevFirstSeq, "anchors chain back to the one before")
	kind, ok := RecordKind(iot.AnchorKey(Warehouse1, "EWR_READINGS", 4))
	assert.True(t, ok)
	assert.Equal(t, "anchor", kind)
}

func TestIoTRules(t *testing.T) {
	h := newHarness(t)
	r := iot.DefaultRules()
	r.OfflineAfterMs = 5_000
	h.fail(receipt.ErrAdminQuorum, by(Admin1), &iot.SetRules{Rules: r})
	bad := r
	bad.DriftReadings = 0
	h.fail(iot.ErrRulesInvalid, by(Admin1, Admin2), &iot.SetRules{Rules: bad})
	h.ok(by(Admin1, Admin2), &iot.SetRules{Rules: r})
	got, ok := Get[iot.Rules](h.Store, iot.KeyRules)
	require.True(t, ok)
	assert.Equal(t, int64(5_000), got.OfflineAfterMs)
	assert.Equal(t, uint64(1), got.Version)

	// The new limit is what a gap is judged by.
	s := newSensors(h)
	s.lockedLot("LOT-1", "BAY-01")
	now := s.at(0)
	h.fail(iot.ErrGapTooShort, by(Inspector), &iot.Gap{Lot: "LOT-1", Device: dev("CAM", "BAY-01"), LastSeenMs: now - 4_000, AtMs: now})
	h.ok(by(Inspector), &iot.Gap{Lot: "LOT-1", Device: dev("CAM", "BAY-01"), LastSeenMs: now - 5_000, AtMs: now})
}
