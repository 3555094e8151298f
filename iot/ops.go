package iot

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/ewrchain/ewr/internal/canon"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// Ops lists one value of every op this package defines.
func Ops() []receipt.Op {
	return []receipt.Op{
		&Breach{}, &Gap{}, &Verified{}, &Recount{}, &SetBaseline{}, &AnchorBatch{}, &SetRules{},
	}
}

// GuardUnfreeze is the iot veto on receipt.Unfreeze (receipt.Guards): a
// regulator's freeze on a receipt whose lot is in alarm stays until the
// re-count, which leaves it to the regulator again. Lifting it earlier would
// free a receipt the breach should hold.
func GuardUnfreeze(x *receipt.Exec, r *receipt.Receipt) error {
	l, err := warehouse.LoadLot(x, r.Lot)
	if err != nil {
		return err
	}
	if l.Health == warehouse.HealthAlarm {
		return receipt.Errorf(ErrLotInAlarm, "%s is on lot %s (alert %s)", r.ID, l.ID, l.Alert)
	}
	return nil
}

// requireSupervisor checks the actor may assert, about lot l's warehouse,
// what signed readings cannot prove (a gap, a return to health): its
// collateral manager or a supervisor the consortium registered for it
// (warehouse.SetSupervisors).
func requireSupervisor(x *receipt.Exec, l *warehouse.Lot) error {
	wh, err := warehouse.LoadWarehouse(x, l.Warehouse)
	if err != nil {
		return err
	}
	if !wh.MaySupervise(x.Actor()) {
		return receipt.Errorf(ErrNotSupervisor, "%s is neither %s's collateral manager (%s) nor one of its registered supervisors",
			x.Actor(), wh.ID, wh.CollateralManager)
	}
	return nil
}

// MaxAnchorCount bounds the readings one anchor covers.
const MaxAnchorCount = 1 << 20

func lockedLot(x *receipt.Exec, id string) (*warehouse.Lot, error) {
	l, err := warehouse.LoadLot(x, id)
	if err != nil {
		return nil, err
	}
	if l.Status != warehouse.LotLocked {
		return nil, receipt.Errorf(warehouse.ErrLotNotLocked, "%s is %s", l.ID, l.Status)
	}
	return l, nil
}

func lotRefs(l *warehouse.Lot, alert string) []receipt.Ref {
	return receipt.Refs(receipt.RefLot, l.ID, receipt.RefWarehouse, l.Warehouse, receipt.RefAlert, alert)
}

// Breach freezes a lot's receipts on signed evidence of a breach. Any
// registered participant may submit it (any consortium member may run a
// supervisor): the evidence proves itself. The validators re-check every
// reading's signature and device (trusted, calibrated, bound to the lot's
// bay), that each was taken inside the evidence window and after the last
// reading of its device the chain used, and that the readings prove Kind
// against the lock as it stood when they were taken (see proveBreach);
// then every live receipt of the lot not already frozen is frozen for the
// breach, the lot goes to ALARM, an alert records the evidence's digest,
// and the readings are consumed. A lot already in alarm refuses another
// breach, so the same evidence submitted twice changes nothing.
type Breach struct {
	Lot      string
	Kind     AlertKind
	Evidence []SignedReading
}

func (*Breach) Type() string { return "iot.breach" }

func (op *Breach) Check() error {
	if err := receipt.CheckID("lot", op.Lot); err != nil {
		return err
	}
	if !op.Kind.Provable() {
		return receipt.Errorf(ErrBreachKind, "%d", op.Kind)
	}
	return checkEvidenceShape(op.Evidence, MaxEvidenceLimit)
}

func (op *Breach) Apply(x *receipt.Exec) error {
	l, err := lockedLot(x, op.Lot)
	if err != nil {
		return err
	}
	if l.Health == warehouse.HealthAlarm {
		return receipt.Errorf(ErrLotInAlarm, "%s (alert %s)", l.ID, l.Alert)
	}
	rules := LoadRules(x)
	if len(op.Evidence) > int(rules.MaxEvidence) {
		return receipt.Errorf(receipt.ErrLimit, "%d readings, at most %d", len(op.Evidence), rules.MaxEvidence)
	}
	w := LoadWatch(x, l.ID)
	p, err := proveBreach(x, rules, l, w, op.Kind, op.Evidence)
	if err != nil {
		return err
	}
	consumeAll(x, op.Type(), op.Evidence)
	return raiseAlarm(x, l, w, op.Kind, op.Evidence, p)
}

// raiseAlarm puts lot l in ALARM for a proven breach: every live receipt
// not already frozen is frozen for it, an open gap is superseded, and an
// alert records the evidence. It saves the lot and the watch.
func raiseAlarm(x *receipt.Exec, l *warehouse.Lot, w *Watch, kind AlertKind, ev []SignedReading, p proof) error {
	digest := EvidenceDigest(l.ID, kind, ev)
	id := "AL-" + hex.EncodeToString(digest[:10])
	if receipt.Has(x, AlertKey(id)) {
		return receipt.Errorf(ErrEvidenceStale, "evidence already judged in alert %s", id)
	}
	if l.Alert != "" { // a gap: the breach overtakes it
		if err := closeAlert(x, l.Alert, AlertSuperseded, id, 0); err != nil {
			return err
		}
	}
	reason := "sensor breach: " + kind.String() + " (" + id + ")"
	var frozen []string
	for _, rid := range l.Live {
		r, err := receipt.LoadReceipt(x, rid)
		if err != nil {
			return err
		}
		if r.State == receipt.StateFrozen {
			continue // a regulator's freeze stays as it is
		}
		if err := receipt.FreezeReceipt(x, r, receipt.FreezeByBreach, reason, id); err != nil {
			return err
		}
		frozen = append(frozen, rid)
	}
	l.Health, l.Alert = warehouse.HealthAlarm, id
	warehouse.SaveLot(x, l)
	saveAlert(x, &Alert{
		ID: id, Lot: l.ID, Warehouse: l.Warehouse, Bay: l.Bay, Kind: kind, Status: AlertOpen, Digest: digest,
		Readings: readingIDs(ev), Device: p.device, AtMs: p.lastMs, By: x.Actor(), Frozen: frozen,
		OpenedAt: x.Block.Time, OpenedHeight: x.Block.Height,
	})
	w.Alerts++
	w.LastAlert = id
	saveWatch(x, w)
	refs := append(lotRefs(l, id), receipt.Ref{Kind: receipt.RefDevice, ID: p.device})
	x.Emit(EvBreach, refs, receipt.Attr{Key: "kind", Value: kind.String()},
		receipt.Attr{Key: "readings", Value: receipt.U64(uint64(len(ev)))},
		receipt.Attr{Key: "frozen", Value: receipt.U64(uint64(len(frozen)))},
		receipt.Attr{Key: "digest", Value: hex.EncodeToString(digest[:])})
	return nil
}

// closeAlert closes (or supersedes) an open alert.
func closeAlert(x *receipt.Exec, id string, status AlertStatus, resolution string, counted uint64) error {
	a, ok := receipt.Load[Alert](x, AlertKey(id))
	if !ok {
		// A lot's alert always has its record; a missing one is a lot whose
		// health was set outside these ops (genesis, tests): nothing to close.
		return nil
	}
	a.Status, a.Resolution, a.Counted = status, resolution, counted
	a.ClosedAt, a.ClosedBy = x.Block.Time, x.Actor()
	saveAlert(x, a)
	return nil
}

// Gap marks a lot UNVERIFIED: one of its bay's devices has been silent past
// the offline limit. Absence cannot be proven by signed readings, so only
// the warehouse's collateral manager or a supervisor the consortium
// registered for the warehouse may assert it; the alert records who
// asserted it and when the device was last heard. The assertion's clock
// must be within the evidence window of block time, and a gap the chain
// can contradict (it used a reading of the device taken after LastSeenMs)
// is refused. One open alert per lot: a lot already unverified or in
// alarm refuses another. New pledges and transfers on the lot wait
// (warehouse.Stock.Tradable) until fresh readings (Verified) or a
// re-count return it to OK.
type Gap struct {
	Lot        string
	Device     string
	LastSeenMs int64 // when the asserting supervisor last heard the device (or began watching it)
	AtMs       int64 // the asserting supervisor's clock
}

func (*Gap) Type() string { return "iot.gap" }

func (op *Gap) Check() error {
	if err := receipt.CheckID("lot", op.Lot); err != nil {
		return err
	}
	if err := receipt.CheckID("device", op.Device); err != nil {
		return err
	}
	if op.LastSeenMs <= 0 || op.AtMs < op.LastSeenMs {
		return receipt.Errorf(receipt.ErrInvalidOp, "last seen %d ms, asserted at %d ms", op.LastSeenMs, op.AtMs)
	}
	return nil
}

func (op *Gap) Apply(x *receipt.Exec) error {
	l, err := lockedLot(x, op.Lot)
	if err != nil {
		return err
	}
	if err := requireSupervisor(x, l); err != nil {
		return err
	}
	switch l.Health {
	case warehouse.HealthAlarm:
		return receipt.Errorf(ErrLotInAlarm, "%s (alert %s)", l.ID, l.Alert)
	case warehouse.HealthUnverified:
		return receipt.Errorf(ErrLotUnverified, "%s (alert %s)", l.ID, l.Alert)
	}
	d, err := warehouse.LoadDevice(x, op.Device)
	if err != nil {
		return err
	}
	if d.Warehouse != l.Warehouse || d.Bay != l.Bay {
		return receipt.Errorf(warehouse.ErrDeviceNotHere, "%q is bound to %s/%s, lot %s is in %s/%s", d.ID, d.Warehouse, d.Bay, l.ID, l.Warehouse, l.Bay)
	}
	rules := LoadRules(x)
	if err := checkFresh(x, rules, &Reading{Event: "gap", Device: d.ID, TimeMs: op.AtMs}); err != nil {
		return err
	}
	if op.AtMs-op.LastSeenMs < rules.OfflineAfterMs {
		return receipt.Errorf(ErrGapTooShort, "%s silent %d ms, limit %d ms", d.ID, op.AtMs-op.LastSeenMs, rules.OfflineAfterMs)
	}
	if m := LoadMark(x, d.ID); m != nil && m.TimeMs > op.LastSeenMs {
		return receipt.Errorf(ErrGapContradicted, "%s: reading %s of %d ms was used on chain, after the claimed last %d ms", d.ID, m.Pos(), m.TimeMs, op.LastSeenMs)
	}
	digest := sha256.Sum256(canon.Append([]byte("ewr/gap/v1\x00"+x.Actor()+"\x00"), op))
	id := "GAP-" + hex.EncodeToString(digest[:10])
	if receipt.Has(x, AlertKey(id)) {
		return receipt.Errorf(ErrLotUnverified, "gap already asserted in alert %s", id)
	}
	l.Health, l.Alert = warehouse.HealthUnverified, id
	warehouse.SaveLot(x, l)
	saveAlert(x, &Alert{
		ID: id, Lot: l.ID, Warehouse: l.Warehouse, Bay: l.Bay, Kind: AlertGap, Status: AlertOpen, Digest: digest,
		Device: d.ID, AtMs: op.AtMs, LastSeenMs: op.LastSeenMs, By: x.Actor(),
		OpenedAt: x.Block.Time, OpenedHeight: x.Block.Height,
	})
	w := LoadWatch(x, l.ID)
	w.Alerts++
	w.LastAlert = id
	saveWatch(x, w)
	x.Emit(EvGap, append(lotRefs(l, id), receipt.Ref{Kind: receipt.RefDevice, ID: d.ID}),
		receipt.Attr{Key: "silent_ms", Value: receipt.I64(op.AtMs - op.LastSeenMs)})
	return nil
}

// Verified returns an UNVERIFIED lot to OK on fresh signed readings: one
// from the device the gap named, and a stable bay-scale weight inside the
// lock's band; all taken after the gap was asserted, inside the evidence
// window. A lot in ALARM needs a re-count instead. Signed by the
// warehouse's collateral manager or a registered supervisor.
type Verified struct {
	Lot      string
	Evidence []SignedReading
}

func (*Verified) Type() string { return "iot.verified" }

func (op *Verified) Check() error {
	if err := receipt.CheckID("lot", op.Lot); err != nil {
		return err
	}
	return checkEvidenceShape(op.Evidence, MaxEvidenceLimit)
}

func (op *Verified) Apply(x *receipt.Exec) error {
	l, err := lockedLot(x, op.Lot)
	if err != nil {
		return err
	}
	if err := requireSupervisor(x, l); err != nil {
		return err
	}
	switch l.Health {
	case warehouse.HealthOK:
		return receipt.Errorf(ErrLotHealthy, "%s", l.ID)
	case warehouse.HealthAlarm:
		return receipt.Errorf(ErrLotInAlarm, "%s (alert %s)", l.ID, l.Alert)
	}
	rules := LoadRules(x)
	if len(op.Evidence) > int(rules.MaxEvidence) {
		return receipt.Errorf(receipt.ErrLimit, "%d readings, at most %d", len(op.Evidence), rules.MaxEvidence)
	}
	since := sinceMs(l, LoadWatch(x, l.ID))
	var gapDevice string
	if a, ok := receipt.Load[Alert](x, AlertKey(l.Alert)); ok {
		since = max(since, a.sinceMs()+1)
		gapDevice = a.Device
	}
	hist := warehouse.LoadLockHistory(x, l.ID)
	scaled, err := bayScaled(x, l)
	if err != nil {
		return err
	}
	heard, weighed := gapDevice == "", !scaled
	for i := range op.Evidence {
		r := &op.Evidence[i].Reading
		if _, err := verifyReading(x, rules, &op.Evidence[i], l, since); err != nil {
			return err
		}
		heard = heard || r.Device == gapDevice
		if r.Weight != nil && r.Weight.Stable {
			if r.Weight.Unit != l.Unit {
				return receipt.Errorf(receipt.ErrUnitMismatch, "%s in %s, lot in %s", r.ID(), r.Weight.Unit, l.Unit)
			}
			ph, err := phaseAt(hist, r)
			if err != nil {
				return err
			}
			if ex := ph.Excess(r.Weight.Qty, l.Tolerance); ex > 0 {
				lo, hi := ph.Band(l.Tolerance)
				return receipt.Errorf(ErrNotABreach, "%s: %d %s, the lock allows %d..%d: the lot is not healthy", r.ID(), r.Weight.Qty, l.Unit, lo, hi)
			}
			weighed = true
		}
	}
	if !heard || !weighed {
		return receipt.Errorf(ErrEvidenceTooFew, "need a fresh reading from %s and a stable weight inside the lock's band", gapDevice)
	}
	consumeAll(x, op.Type(), op.Evidence)
	id := l.Alert
	if err := closeAlert(x, id, AlertClosed, "verified", 0); err != nil {
		return err
	}
	l.Health, l.Alert = warehouse.HealthOK, ""
	warehouse.SaveLot(x, l)
	x.Emit(EvVerified, lotRefs(l, id), receipt.Attr{Key: "readings", Value: receipt.U64(uint64(len(op.Evidence)))})
	return nil
}

// Recount clears a lot's alarm (or gap) after the goods were counted
// again. Signed by the warehouse's collateral manager and co-signed by a
// regulator. If the count covers the lot's live receipts, every receipt
// frozen for the breach is unfrozen, the lock shrinks to the count if
// goods are missing (never grows: only weigh tickets add stock), the bay
// scale's new baseline is the re-count's signed reading, and the lot is OK
// again. A count short of the live receipts is refused: they stay frozen.
// So is a baseline reading that disagrees with the lock after the count
// (the bay's tare plus the goods) beyond tolerance: a scale that does not
// see the goods counted cannot watch them.
type Recount struct {
	Lot      string
	Counted  uint64
	Baseline SignedReading // a stable reading of the bay's scale taken at the re-count
	Note     string
	Version  uint64 // the lot's version the collateral manager saw
}

func (*Recount) Type() string { return "iot.recount" }

func (op *Recount) Check() error {
	if err := receipt.CheckID("lot", op.Lot); err != nil {
		return err
	}
	if op.Counted > receipt.MaxQuantity {
		return receipt.Errorf(receipt.ErrInvalidQuantity, "counted %d", op.Counted)
	}
	if err := receipt.CheckText("note", op.Note, true); err != nil {
		return err
	}
	if err := receipt.CheckVersion("lot", op.Version); err != nil {
		return err
	}
	return checkBaselineShape(op.Baseline)
}

func (op *Recount) Apply(x *receipt.Exec) error {
	l, err := lockedLotOfCollateralManager(x, op.Lot)
	if err != nil {
		return err
	}
	if l.Version != op.Version {
		return receipt.Errorf(receipt.ErrStaleVersion, "lot %s is at version %d, op names %d", l.ID, l.Version, op.Version)
	}
	if err := requireRegulatorCosigner(x); err != nil {
		return err
	}
	if l.Health == warehouse.HealthOK {
		return receipt.Errorf(ErrLotHealthy, "%s", l.ID)
	}
	w := LoadWatch(x, l.ID)
	since := sinceMs(l, w)
	if a, ok := receipt.Load[Alert](x, AlertKey(l.Alert)); ok {
		since = max(since, a.sinceMs())
	}
	rules := LoadRules(x)
	if err := checkBaselineReading(x, rules, l, &op.Baseline, since); err != nil {
		return err
	}
	if op.Counted < l.IssuedQty {
		return receipt.Errorf(ErrRecountShort, "%s: counted %d, live receipts hold %d", l.ID, op.Counted, l.IssuedQty)
	}
	locked := min(l.LockedQty, op.Counted)
	bay, ok := receipt.Load[warehouse.Bay](x, warehouse.BayKey(l.Warehouse, l.Bay))
	if !ok {
		return receipt.Errorf(warehouse.ErrBayNotFound, "%s/%s", l.Warehouse, l.Bay)
	}
	// The re-count's reading must see the goods counted on the bay. While
	// a load-out is open the goods are moving: the lock then only stops
	// expecting what the count found missing, judged within the open
	// orders' band, and keeps its own accounting for the delivery to close.
	cur := warehouse.LoadLockHistory(x, l.ID).Current()
	expected := warehouse.ExpectedAtLock(bay, locked, l.Unit)
	if cur.Moving() {
		cur.Expected = l.Expected - min(l.LockedQty-locked, l.Expected)
		expected = cur.Expected
	} else {
		cur.Expected = expected
	}
	if ex := cur.Excess(op.Baseline.Reading.Weight.Qty, l.Tolerance); ex > 0 {
		lo, hi := cur.Band(l.Tolerance)
		return receipt.Errorf(ErrBaselineOff, "%s reads %d %s; with tare %d kg and %d counted the lock allows %d..%d",
			op.Baseline.Reading.ID(), op.Baseline.Reading.Weight.Qty, l.Unit, bay.TareKg, locked, lo, hi)
	}
	var unfrozen []string
	for _, rid := range l.Live {
		r, err := receipt.LoadReceipt(x, rid)
		if err != nil {
			return err
		}
		if r.State != receipt.StateFrozen || r.Frozen.Cause != receipt.FreezeByBreach {
			continue
		}
		if err := receipt.UnfreezeReceipt(x, r, "re-count of "+l.ID+": "+op.Note); err != nil {
			return err
		}
		unfrozen = append(unfrozen, rid)
	}
	id := l.Alert
	if err := closeAlert(x, id, AlertClosed, "recount", op.Counted); err != nil {
		return err
	}
	l.LockedQty = locked
	l.Health, l.Alert = warehouse.HealthOK, ""
	if cur.Moving() {
		l.Expected = expected
	}
	if err := adoptBaseline(x, l, w, &op.Baseline, !cur.Moving()); err != nil {
		return err
	}
	consume(x, op.Type(), &op.Baseline)
	w.Counted = op.Counted
	saveWatch(x, w)
	x.Emit(EvRecount, lotRefs(l, id), receipt.Attr{Key: "counted", Value: receipt.U64(op.Counted)},
		receipt.Attr{Key: "baseline", Value: receipt.U64(l.Baseline)},
		receipt.Attr{Key: "unfrozen", Value: receipt.U64(uint64(len(unfrozen)))},
		receipt.Attr{Key: "note", Value: op.Note})
	return nil
}

// checkBaselineShape checks, on its face, a reading offered as a lot's
// weight baseline.
func checkBaselineShape(r SignedReading) error {
	if err := checkEvidenceShape([]SignedReading{r}, 1); err != nil {
		return err
	}
	if r.Reading.Weight == nil {
		return receipt.Errorf(ErrReadingInvalid, "the baseline must be a bay weight")
	}
	return nil
}

// lockedLotOfCollateralManager loads a locked lot whose warehouse's
// collateral manager signs the op.
func lockedLotOfCollateralManager(x *receipt.Exec, id string) (*warehouse.Lot, error) {
	l, err := lockedLot(x, id)
	if err != nil {
		return nil, err
	}
	wh, err := warehouse.LoadWarehouse(x, l.Warehouse)
	if err != nil {
		return nil, err
	}
	if err := x.RequireActor(wh.CollateralManager, receipt.RoleCollateralManager, warehouse.ErrNotCollateralMgr); err != nil {
		return nil, err
	}
	return l, nil
}

// adoptBaseline makes a checked weight reading the lot's baseline and,
// when recentre is set, re-centres the lock's expected weight on what the
// scale itself reads (l.Expected as it is otherwise). It saves the lot;
// the caller saves the watch.
func adoptBaseline(x *receipt.Exec, l *warehouse.Lot, w *Watch, r *SignedReading, recentre bool) error {
	l.Baseline = r.Reading.Weight.Qty
	if recentre {
		l.Expected = l.Baseline
	}
	if err := warehouse.RecordPhase(x, l, nil); err != nil {
		return err
	}
	warehouse.SaveLot(x, l)
	w.BaselineAtMs, w.BaselineReading, w.BaselineBy = r.Reading.TimeMs, r.Reading.ID(), x.Actor()
	return nil
}

func requireRegulatorCosigner(x *receipt.Exec) error {
	for _, s := range x.Signers[1:] {
		if p, err := x.Participant(s); err == nil && p.Roles.Has(receipt.RoleRegulator) {
			return nil
		}
	}
	return receipt.Errorf(receipt.ErrCosignerMissing, "a regulator must co-sign the re-count")
}

// checkBaselineReading checks a reading a baseline is taken from: a
// stable, non-zero weight in the lot's unit from a trusted scale of its
// bay, fresh and not used before.
func checkBaselineReading(x *receipt.Exec, rules *Rules, l *warehouse.Lot, s *SignedReading, since int64) error {
	if _, err := verifyReading(x, rules, s, l, since); err != nil {
		return err
	}
	wt := s.Reading.Weight
	if wt.Unit != l.Unit {
		return receipt.Errorf(receipt.ErrUnitMismatch, "%s in %s, lot in %s", s.Reading.ID(), wt.Unit, l.Unit)
	}
	if !wt.Stable || wt.Qty == 0 {
		return receipt.Errorf(ErrReadingInvalid, "%s: a baseline needs a stable, non-zero weight", s.Reading.ID())
	}
	return nil
}

// SetBaseline sets the bay-scale baseline of a newly locked lot from a
// signed reading: the lock's expected weight is re-centred on the scale's
// own reading. Signed by the warehouse's collateral manager. The reading
// must agree with what the lock expects (the bay's tare plus the goods
// weighed in) within the lot's tolerance: a baseline far from the goods
// would blind the watch. Only a lot without a baseline takes one, and not
// while a load-out is open; afterwards only a re-count (with a regulator)
// moves it.
type SetBaseline struct {
	Lot     string
	Reading SignedReading
}

func (*SetBaseline) Type() string { return "iot.baseline" }

func (op *SetBaseline) Check() error {
	if err := receipt.CheckID("lot", op.Lot); err != nil {
		return err
	}
	return checkBaselineShape(op.Reading)
}

func (op *SetBaseline) Apply(x *receipt.Exec) error {
	l, err := lockedLotOfCollateralManager(x, op.Lot)
	if err != nil {
		return err
	}
	if l.Baseline != 0 {
		return receipt.Errorf(ErrBaselineSet, "%s: baseline %d", l.ID, l.Baseline)
	}
	if l.Health == warehouse.HealthAlarm {
		return receipt.Errorf(ErrLotInAlarm, "%s (alert %s)", l.ID, l.Alert)
	}
	w := LoadWatch(x, l.ID)
	rules := LoadRules(x)
	if err := checkBaselineReading(x, rules, l, &op.Reading, sinceMs(l, w)); err != nil {
		return err
	}
	if cur := warehouse.LoadLockHistory(x, l.ID).Current(); cur.Moving() {
		return receipt.Errorf(ErrReleaseOrderOpen, "%s: %d release order(s) open; take the baseline after the load-out", l.ID, cur.Open)
	}
	if d := Deviation(op.Reading.Reading.Weight.Qty, l.Expected); d > l.Tolerance {
		return receipt.Errorf(ErrBaselineOff, "%s reads %d %s, the lock expects %d ± %d", op.Reading.Reading.ID(),
			op.Reading.Reading.Weight.Qty, l.Unit, l.Expected, l.Tolerance)
	}
	if err := adoptBaseline(x, l, w, &op.Reading, true); err != nil {
		return err
	}
	consume(x, op.Type(), &op.Reading)
	saveWatch(x, w)
	x.Emit(EvBaseline, lotRefs(l, ""), receipt.Attr{Key: "baseline", Value: receipt.U64(l.Baseline)},
		receipt.Attr{Key: "reading", Value: op.Reading.Reading.ID()})
	return nil
}

// AnchorBatch anchors a batch of a warehouse's readings on chain: the
// Merkle root (MerkleRoot) over the Count messages of its subjects with
// stream sequence in [FirstSeq, LastSeq]. Signed by the warehouse's
// collateral manager, operator or a registered supervisor, whose
// supervisor consumed the batch.
// Batches never overlap: an anchor that starts at or below the last
// anchored sequence is refused, so re-sending one changes nothing.
type AnchorBatch struct {
	Warehouse string
	Stream    string
	FirstSeq  uint64
	LastSeq   uint64
	Count     uint32
	Root      [32]byte
}

func (*AnchorBatch) Type() string { return "iot.anchor" }

func (op *AnchorBatch) Check() error {
	if err := receipt.CheckID("warehouse", op.Warehouse); err != nil {
		return err
	}
	if err := receipt.CheckID("stream", op.Stream); err != nil {
		return err
	}
	if op.FirstSeq == 0 || op.LastSeq < op.FirstSeq || op.Count == 0 || op.Count > MaxAnchorCount ||
		uint64(op.Count) > op.LastSeq-op.FirstSeq+1 || op.Root == ([32]byte{}) {
		return receipt.Errorf(ErrAnchorInvalid, "seq %d..%d count %d", op.FirstSeq, op.LastSeq, op.Count)
	}
	return nil
}

func (op *AnchorBatch) Apply(x *receipt.Exec) error {
	wh, err := warehouse.LoadWarehouse(x, op.Warehouse)
	if err != nil {
		return err
	}
	if a := x.Actor(); a != wh.Operator && !wh.MaySupervise(a) {
		return receipt.Errorf(ErrNotSupervisor, "%s may not anchor %s's readings", a, wh.ID)
	}
	hk := AnchorHeadKey(wh.ID, op.Stream)
	head, ok := receipt.Load[AnchorHead](x, hk)
	if !ok {
		head = &AnchorHead{Warehouse: wh.ID, Stream: op.Stream}
	}
	if op.FirstSeq <= head.LastSeq {
		return receipt.Errorf(ErrAnchorOverlap, "%s/%s anchored to %d, batch starts at %d", wh.ID, op.Stream, head.LastSeq, op.FirstSeq)
	}
	key := AnchorKey(wh.ID, op.Stream, op.FirstSeq)
	var prev uint64
	if head.LastKey != "" {
		if p, ok := receipt.Load[Anchor](x, head.LastKey); ok {
			prev = p.FirstSeq
		}
	}
	receipt.Save(x, key, &Anchor{
		Warehouse: wh.ID, Stream: op.Stream, FirstSeq: op.FirstSeq, LastSeq: op.LastSeq, Count: op.Count,
		Root: op.Root, PrevFirstSeq: prev, By: x.Actor(), Height: x.Block.Height, At: x.Block.Time, Version: 1,
	})
	head.LastSeq, head.LastKey = op.LastSeq, key
	head.Anchors++
	head.Readings += uint64(op.Count)
	head.Version++
	receipt.Save(x, hk, head)
	x.Emit(EvAnchored, receipt.Refs(receipt.RefWarehouse, wh.ID),
		receipt.Attr{Key: "stream", Value: op.Stream}, receipt.Attr{Key: "first_seq", Value: receipt.U64(op.FirstSeq)},
		receipt.Attr{Key: "last_seq", Value: receipt.U64(op.LastSeq)}, receipt.Attr{Key: "count", Value: receipt.U64(uint64(op.Count))},
		receipt.Attr{Key: "root", Value: hex.EncodeToString(op.Root[:])})
	return nil
}

// Cosigners (receipt.Cosigner): a re-count is the collateral manager's
// and a regulator's.
func (*Recount) Cosigners(x *receipt.Exec, _ string) []string {
	if r := receipt.FirstWithRole(x, receipt.RoleRegulator); r != "" {
		return []string{r}
	}
	return nil
}
