package ledger

import (
	"crypto/ed25519"
	"strconv"
	"testing"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sensors signs readings with the demo world's device keys, each device
// counting its own sequence.
type sensors struct {
	h   *harness
	seq map[string]uint64
}

func newSensors(h *harness) *sensors { return &sensors{h: h, seq: map[string]uint64{}} }

// dev names the demo device of kind ("LC", "CAM", "SEAL") in a bay of
// warehouse 1.
func dev(kind, bay string) string { return Warehouse1 + "-" + kind + "-0" + bay[len(bay)-1:] }

// at is block time plus ms, in device milliseconds.
func (s *sensors) at(ms int64) int64 { return s.h.Block.Time*1000 + ms }

func (s *sensors) sign(device string, ms int64, r iot.Reading) iot.SignedReading {
	s.seq[device]++
	r.Device, r.Seq, r.TimeMs = device, s.seq[device], s.at(ms)
	r.Event = "ev-" + strconv.FormatUint(r.Seq, 10)
	return iot.Sign(r, s.key(device))
}

func (s *sensors) key(device string) ed25519.PrivateKey {
	if d, ok := s.h.w.Devices[device]; ok {
		return d.Key
	}
	return DemoKey("test", "device/"+device)
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

// lockedLot registers a 50 t lot (tolerance 250 kg) in bay, takes its
// baseline from its scale and issues two receipts on it (49 t).
func (s *sensors) lockedLot(lot, bay string) {
	h := s.h
	h.t.Helper()
	h.stock(lot, bay, 50_000)
	h.ok(by(Inspector), &iot.SetBaseline{Lot: lot, Reading: s.weight(dev("LC", bay), 1_000, 50_120, true)})
	h.issue(lot+"-R1", lot, 30_000, TraderA)
	h.issue(lot+"-R2", lot, 19_000, TraderB)
}

func TestIoTBaseline(t *testing.T) {
	h := newHarness(t)
	s := newSensors(h)
	h.stock("LOT-1", "BAY-01", 50_000)
	lc := dev("LC", "BAY-01")
	op := func(r iot.SignedReading) *iot.SetBaseline { return &iot.SetBaseline{Lot: "LOT-1", Reading: r} }

	h.fail(warehouse.ErrNotCollateralMgr, by(Operator), op(s.weight(lc, 0, 50_100, true)))
	h.fail(warehouse.ErrNotCollateralMgr, by(Inspector2), op(s.weight(lc, 0, 50_100, true)))
	forged := s.weight(lc, 0, 50_100, true)
	forged.Reading.Weight.Qty = 40_000
	h.fail(iot.ErrReadingSignature, by(Inspector), op(forged))
	h.fail(warehouse.ErrDeviceNotHere, by(Inspector), op(s.weight(dev("LC", "BAY-02"), 0, 50_100, true)))
	h.fail(iot.ErrReadingInvalid, by(Inspector), op(s.weight(lc, 0, 50_100, false)))
	h.fail(iot.ErrReadingInvalid, by(Inspector), op(s.sign(lc, 0, iot.Reading{Heartbeat: &iot.Heartbeat{}})))
	h.fail(iot.ErrEvidenceStale, by(Inspector), op(s.weight(lc, -60_000, 50_100, true)))
	grams := s.sign(lc, 0, iot.Reading{Weight: &iot.BayWeight{Qty: 50_100_000, Unit: "g", Stable: true}})
	h.fail(receipt.ErrUnitMismatch, by(Inspector), op(grams))
	h.fail(warehouse.ErrLotNotFound, by(Inspector), &iot.SetBaseline{Lot: "LOT-9", Reading: s.weight(lc, 0, 50_100, true)})
	unsigned := s.weight(lc, 0, 50_100, true)
	unsigned.Sig = [64]byte{}
	h.fail(iot.ErrUnsigned, by(Inspector), op(unsigned))

	h.ok(by(Inspector), op(s.weight(lc, 1_000, 50_100, true)))
	assert.Equal(t, uint64(50_100), h.lot("LOT-1").Baseline)
	w, ok := Get[iot.Watch](h.Store, iot.WatchKey("LOT-1"))
	require.True(t, ok)
	assert.Equal(t, s.at(1_000), w.BaselineAtMs)
	h.fail(iot.ErrBaselineSet, by(Inspector), op(s.weight(lc, 2_000, 50_100, true)))
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
	h.fail(iot.ErrWithinTolerance, by(Inspector), breach(iot.AlertStep, s.weight(lc, 5_000, 50_000, true)))
	h.fail(iot.ErrWithinTolerance, by(Inspector), breach(iot.AlertStep, s.weight(lc, 5_000, 49_700, true)))
	h.fail(iot.ErrEvidenceTooFew, by(Inspector), breach(iot.AlertStep, s.weight(lc, 5_000, 40_000, false)))
	forged := s.weight(lc, 5_000, 50_100, true)
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
	h.fail(iot.ErrNotABreach, by(Inspector), breach(iot.AlertStep, s.motion(dev("CAM", "BAY-01"), 5_000, iot.ClassPerson, 990)))
	h.fail(receipt.ErrUnknownSigner, by("ghost"), breach(iot.AlertStep, s.weight(lc, 5_000, 40_000, true)))
	h.fail(warehouse.ErrLotNotFound, by(Inspector), &iot.Breach{Lot: "LOT-9", Kind: iot.AlertStep, Evidence: ev(s.weight(lc, 5_000, 40_000, true))})
	// A scale whose calibration lapsed, or that was revoked, proves nothing.
	pk := s.key("LC-SHORT").Public().(ed25519.PublicKey)
	reg := &warehouse.RegisterDevice{ID: "LC-SHORT", Kind: warehouse.BayScale, Warehouse: Warehouse1, Bay: "BAY-01", CalibratedUntil: h.Block.Time + 60}
	copy(reg.PubKey[:], pk)
	h.ok(by(Admin1, Admin2), reg)
	h.Advance(120)
	h.fail(warehouse.ErrDeviceUncalibrated, by(Inspector), breach(iot.AlertStep, s.weight("LC-SHORT", 5_000, 40_000, true)))
	h.ok(by(Admin1, Admin2), &warehouse.SuspendDevice{ID: "LC-SHORT", Reason: "enclosure opened"})
	h.fail(warehouse.ErrDeviceSuspended, by(Inspector), breach(iot.AlertStep, s.weight("LC-SHORT", 5_000, 40_000, true)))

	// The theft: one stable reading 3 t down.
	theft := breach(iot.AlertStep, s.weight(lc, 130_000, 47_000, true))
	res := h.ok(by(TraderB), theft) // any member may submit proven evidence
	l := h.lot("LOT-1")
	require.Equal(t, warehouse.HealthAlarm, l.Health)
	al, ok := Get[iot.Alert](h.Store, iot.AlertKey(l.Alert))
	require.True(t, ok)
	assert.Equal(t, iot.AlertStep, al.Kind)
	assert.Equal(t, iot.AlertOpen, al.Status)
	assert.Equal(t, TraderB, al.By)
	assert.Equal(t, []string{lc + ":" + strconv.FormatUint(s.seq[lc], 10)}, al.Readings)
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
	h.fail(iot.ErrLotInAlarm, by(Inspector), breach(iot.AlertTamper, s.heartbeat(lc, 140_000, true)))
	h.fail(iot.ErrLotInAlarm, by(Inspector), &iot.Gap{Lot: "LOT-1", Device: lc, LastSeenMs: 1, AtMs: 1_000_000})
	h.fail(iot.ErrLotInAlarm, by(Inspector), &iot.Verified{Lot: "LOT-1", Evidence: ev(s.weight(lc, 150_000, 50_100, true))})

	t.Run("recount", func(t *testing.T) {
		h.t = t
		rc := func(counted uint64, reading iot.SignedReading) *iot.Recount {
			return &iot.Recount{Lot: "LOT-1", Counted: counted, Baseline: reading, Note: "tally by bundle, 2 inspectors"}
		}
		h.fail(receipt.ErrCosignerMissing, by(Inspector), rc(47_000, s.weight(lc, 200_000, 47_010, true)))
		h.fail(receipt.ErrCosignerMissing, by(Inspector, BankA), rc(47_000, s.weight(lc, 200_000, 47_010, true)))
		h.fail(warehouse.ErrNotCollateralMgr, by(Regulator, Inspector), rc(47_000, s.weight(lc, 200_000, 47_010, true)))
		h.fail(warehouse.ErrNotCollateralMgr, by(Operator, Regulator), rc(47_000, s.weight(lc, 200_000, 47_010, true)))
		h.fail(iot.ErrRecountShort, by(Inspector, Regulator), rc(49_999, s.weight(lc, 200_000, 47_010, true)))
		h.fail(iot.ErrEvidenceStale, by(Inspector, Regulator), rc(50_500, s.weight(lc, 100_000, 47_010, true)))
		h.fail(iot.ErrReadingInvalid, by(Inspector, Regulator), rc(50_500, s.weight(lc, 200_000, 47_010, false)))
		h.fail(receipt.ErrMissingField, by(Inspector, Regulator), &iot.Recount{Lot: "LOT-1", Counted: 50_100, Baseline: s.weight(lc, 200_000, 50_110, true)})
		for _, id := range []string{"LOT-1-R1", "LOT-1-R3"} {
			assert.Equal(t, receipt.StateFrozen, h.receipt(id).State, "a refused re-count leaves %s frozen", id)
		}

		// The goods were found (a mis-stacked bundle): the count covers the receipts.
		h.ok(by(Inspector, Regulator), rc(50_500, s.weight(lc, 200_000, 50_110, true)))
		l := h.lot("LOT-1")
		assert.Equal(t, warehouse.HealthOK, l.Health)
		assert.Empty(t, l.Alert)
		assert.Equal(t, uint64(50_110), l.Baseline)
		assert.Equal(t, uint64(50_000), l.LockedQty, "the lock never grows by count")
		assert.Equal(t, receipt.StatePledged, h.receipt("LOT-1-R1").State)
		assert.Equal(t, receipt.StateIssued, h.receipt("LOT-1-R3").State)
		assert.Equal(t, receipt.StateFrozen, h.receipt("LOT-1-R2").State, "the court's freeze is the regulator's to lift")
		h.ok(by(Regulator), &receipt.Unfreeze{Receipt: "LOT-1-R2", Reason: "court order lifted"})
		closed, _ := Get[iot.Alert](h.Store, iot.AlertKey(al.ID))
		assert.Equal(t, iot.AlertClosed, closed.Status)
		assert.Equal(t, "recount", closed.Resolution)
		assert.Equal(t, uint64(50_500), closed.Counted)

		// The old evidence proves nothing about the lot now.
		h.fail(iot.ErrEvidenceStale, by(Inspector), theft)
		h.fail(iot.ErrLotHealthy, by(Inspector, Regulator), rc(50_500, s.weight(lc, 300_000, 50_110, true)))
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
	const off = 50_120 - 400 // 400 kg down: beyond 250 tolerance, below the 500 step
	min := int64(60_000)

	h.fail(iot.ErrNotSustained, by(Inspector), drift(s.weight(lc, 1*min, off, true), s.weight(lc, 2*min, off, true), s.weight(lc, 5*min, off, true)))
	h.fail(iot.ErrEvidenceTooFew, by(Inspector), drift(s.weight(lc, 6*min, off, true), s.weight(lc, 12*min, off, true)))
	gapped := ev(s.weight(lc, 13*min, off, true), s.weight(lc, 15*min, off, true))
	s.seq[lc]++ // a reading left out
	gapped = append(gapped, s.weight(lc, 19*min, off, true))
	h.fail(iot.ErrEvidenceGap, by(Inspector), drift(gapped...))
	h.fail(iot.ErrWithinTolerance, by(Inspector), drift(s.weight(lc, 20*min, off, true), s.weight(lc, 22*min, 50_000, true), s.weight(lc, 26*min, off, true)))
	h.fail(iot.ErrNotABreach, by(Inspector), drift(s.weight(lc, 30*min, off, true), s.heartbeat(dev("CAM", "BAY-02"), 32*min, false), s.weight(lc, 36*min, off, true)))
	h.fail(warehouse.ErrDeviceType, by(Inspector), drift(s.weight(lc, 40*min, off, true), s.motion(lc, 41*min, iot.ClassPerson, 999), s.weight(lc, 46*min, off, true)))

	// Held for six minutes, with a heartbeat and an unsettled reading between.
	h.ok(by(Inspector), drift(s.weight(lc, 50*min, off, true), s.heartbeat(lc, 51*min, false), s.weight(lc, 52*min, off-900, false),
		s.weight(lc, 53*min, off, true), s.weight(lc, 56*min, off-10, true)))
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

	// Motion while a release order is open is the load-out, not a breach.
	r := h.receipt("LOT-3-R2")
	h.ok(by(TraderB), &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version, Quantity: 5_000})
	h.fail(iot.ErrReleaseOrderOpen, by(Inspector), breach("LOT-3", iot.AlertMotion, s.motion(cam, 5_000, iot.ClassForklift, 950)))
	h.fail(iot.ErrReleaseOrderOpen, by(Inspector), breach("LOT-3", iot.AlertSeal, s.seal(seal, 5_000, iot.SealOpen)))
	h.ok(by(TraderB), &warehouse.CancelDelivery{ReleaseOrder: warehouse.ReleaseOrderID(r.ID, 1)})
	h.fail(iot.ErrNotABreach, by(Inspector), breach("LOT-3", iot.AlertMotion, s.motion(cam, 6_000, iot.ClassPerson, 500)))
	h.fail(iot.ErrNotABreach, by(Inspector), breach("LOT-3", iot.AlertMotion, s.motion(cam, 6_000, iot.ClassAnimal, 990)))
	h.fail(warehouse.ErrDeviceNotHere, by(Inspector), breach("LOT-3", iot.AlertMotion, s.motion(dev("CAM", "BAY-04"), 6_000, iot.ClassPerson, 990)))
	h.fail(iot.ErrNotABreach, by(Inspector), breach("LOT-3", iot.AlertSeal, s.seal(seal, 6_000, iot.SealClosed)))
	h.fail(iot.ErrNotABreach, by(Inspector), breach("LOT-3", iot.AlertTamper, s.heartbeat(cam, 6_000, false)))
	h.ok(by(BankA), breach("LOT-3", iot.AlertMotion, s.motion(cam, 7_000, iot.ClassPerson, 990)))
	assert.Equal(t, warehouse.HealthAlarm, h.lot("LOT-3").Health)

	// A broken seal needs no release-order check; a tamper switch neither.
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

	h.fail(receipt.ErrMissingRole, by(TraderA), gap(cam, now-200_000, now))
	h.fail(warehouse.ErrDeviceNotHere, by(Inspector), gap(dev("CAM", "BAY-02"), now-200_000, now))
	h.fail(warehouse.ErrDeviceNotFound, by(Inspector), gap("CAM-NOBODY", now-200_000, now))
	h.fail(iot.ErrGapTooShort, by(Inspector), gap(cam, now-100_000, now))
	h.fail(receipt.ErrInvalidOp, by(Inspector), gap(cam, now, now-1))
	h.ok(by(BankA), gap(cam, now-200_000, now)) // a bank's supervisor may assert it
	l := h.lot("LOT-1")
	require.Equal(t, warehouse.HealthUnverified, l.Health)
	al, _ := Get[iot.Alert](h.Store, iot.AlertKey(l.Alert))
	assert.Equal(t, BankA, al.By)
	assert.Equal(t, cam, al.Device)

	// New pledges and transfers wait; nothing is frozen.
	r := h.receipt("LOT-1-R1")
	assert.Equal(t, receipt.StateIssued, r.State)
	h.fail(warehouse.ErrLotUnhealthy, by(TraderA), &receipt.RequestPledge{Pledge: "PL-1", Receipt: r.ID, Version: r.Version, Bank: BankA, Maturity: h.Block.Time + 30*day})
	h.fail(iot.ErrLotUnverified, by(Inspector), gap(cam, now-200_000, now+1))

	verified := func(rs ...iot.SignedReading) *iot.Verified { return &iot.Verified{Lot: "LOT-1", Evidence: rs} }
	h.fail(receipt.ErrMissingRole, by(TraderA), verified(s.heartbeat(cam, 10_000, false), s.weight(lc, 10_000, 50_100, true)))
	h.fail(iot.ErrEvidenceStale, by(Inspector), verified(s.heartbeat(cam, -1_000, false), s.weight(lc, 10_000, 50_100, true)))
	h.fail(iot.ErrEvidenceTooFew, by(Inspector), verified(s.weight(lc, 10_000, 50_100, true)))
	h.fail(iot.ErrEvidenceTooFew, by(Inspector), verified(s.heartbeat(cam, 10_000, false)))
	h.fail(iot.ErrNotABreach, by(Inspector), verified(s.heartbeat(cam, 10_000, false), s.weight(lc, 10_000, 49_000, true)))
	h.ok(by(Inspector), verified(s.heartbeat(cam, 10_000, false), s.weight(lc, 11_000, 50_100, true)))
	assert.Equal(t, warehouse.HealthOK, h.lot("LOT-1").Health)
	h.ok(by(TraderA), &receipt.RequestPledge{Pledge: "PL-1", Receipt: r.ID, Version: h.receipt(r.ID).Version, Bank: BankA, Maturity: h.Block.Time + 30*day})
	h.fail(iot.ErrLotHealthy, by(Inspector), verified(s.heartbeat(cam, 12_000, false), s.weight(lc, 12_000, 50_100, true)))

	// An asserter's clock set in the future cannot hold the lot: the
	// block that recorded the gap bounds it.
	h.ok(by(BankA), gap(cam, now-200_000, now+365*day*1000))
	h.ok(by(Inspector), verified(s.heartbeat(cam, 13_000, false), s.weight(lc, 13_000, 50_100, true)))

	// A breach overtakes a gap.
	h.ok(by(Inspector), gap(cam, now-200_000, now+20_000))
	gapAlert := h.lot("LOT-1").Alert
	h.ok(by(Inspector), &iot.Breach{Lot: "LOT-1", Kind: iot.AlertStep, Evidence: ev(s.weight(lc, 30_000, 45_000, true))})
	sup, _ := Get[iot.Alert](h.Store, iot.AlertKey(gapAlert))
	assert.Equal(t, iot.AlertSuperseded, sup.Status)
	assert.Equal(t, h.lot("LOT-1").Alert, sup.Resolution)
	assert.Equal(t, receipt.StateFrozen, h.receipt("LOT-1-R1").State)
	assert.Equal(t, receipt.StatePledgePending, h.receipt("LOT-1-R1").Frozen.Prior)
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
