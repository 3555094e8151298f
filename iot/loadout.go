package iot

import (
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// LockJudge is the sensor side of the lock that warehouse.ConfirmDelivery
// asks (warehouse.LockJudge): it judges the bay-scale reading a load-out
// closes with. The ledger installs it in warehouse.Stock.
type LockJudge struct{}

var _ warehouse.LockJudge = LockJudge{}

// LoadOutClosed implements warehouse.LockJudge. Where the lot's bay has an
// active scale, closing must be the wire form of a stable weight from it,
// in the lot's unit, taken after the release order opened and after the
// last out-ticket was weighed, inside the evidence window, and after the
// scale's last reading the chain used. Such a reading is consumed and
// compared with the lock's new expected weight (the bay's tare plus the
// goods left, less what other load-outs still open may take): within the
// lot's tolerance the lock re-centres on it when nothing else moves (a
// baseline taken as the load-out closes: one weighbridge's error does not
// add up over many deliveries; what one load-out could hide is bounded by
// the tolerance, like any single reading); beyond it the lot goes to ALARM
// with the reading as evidence (AlertLoadOut), freezing its remaining
// receipts.
func (LockJudge) LoadOutClosed(x *receipt.Exec, l *warehouse.Lot, ro *warehouse.ReleaseOrder, closing []byte) error {
	scaled, err := bayScaled(x, l)
	if err != nil {
		return err
	}
	if len(closing) == 0 {
		if scaled {
			return receipt.Errorf(ErrClosingMissing, "%s: bay %s/%s has a scale; confirm with its reading after the trucks left",
				ro.ID, l.Warehouse, l.Bay)
		}
		return nil // a bay without a scale has no weight watch to close
	}
	s, _, err := Decode(closing)
	if err != nil {
		return err
	}
	r := &s.Reading
	if r.Weight == nil || !r.Weight.Stable {
		return receipt.Errorf(ErrClosingInvalid, "%s is a %s reading, not a stable bay weight", r.ID(), r.Kind())
	}
	if r.Weight.Unit != l.Unit {
		return receipt.Errorf(receipt.ErrUnitMismatch, "%s in %s, lot in %s", r.ID(), r.Weight.Unit, l.Unit)
	}
	after := max(ro.CreatedAt, ro.LoadedOutAt) * 1000
	if r.TimeMs < after {
		return receipt.Errorf(ErrClosingInvalid, "%s taken at %d ms, before the load-out ended at %d ms", r.ID(), r.TimeMs, after)
	}
	if _, err := verifyReading(x, LoadRules(x), s, l, 0); err != nil {
		return err
	}
	consume(x, "delivery.confirm", s)
	// Judged against the lock as the delivery left it: its new expected
	// weight, less what other load-outs still open on the lot may take.
	cur := warehouse.LoadLockHistory(x, l.ID).Current()
	if l.Status != warehouse.LotLocked {
		cur = warehouse.LockPhase{Expected: l.Expected}
	}
	if cur.Excess(r.Weight.Qty, l.Tolerance) == 0 {
		if l.Status != warehouse.LotLocked || cur.Moving() {
			return nil
		}
		// The scale agrees and nothing else is moving: the lock re-centres
		// on its reading, so the weighbridge's error on this load-out does
		// not carry into the next one.
		l.Expected, l.Baseline = r.Weight.Qty, r.Weight.Qty
		if err := warehouse.RecordPhase(x, l, nil); err != nil {
			return err
		}
		warehouse.SaveLot(x, l)
		return nil
	}
	if l.Health == warehouse.HealthAlarm {
		return nil
	}
	// The tickets prove what left; the scale says the bay lost something
	// else. The delivery stands and the lot goes to alarm on the reading.
	return raiseAlarm(x, l, LoadWatch(x, l.ID), AlertLoadOut, []SignedReading{*s}, proof{device: r.Device, lastMs: r.TimeMs})
}

// bayScaled reports whether lot l's bay has an active bay scale: only then
// does its lock have a weight to watch.
func bayScaled(x *receipt.Exec, l *warehouse.Lot) (bool, error) {
	bay, ok := receipt.Load[warehouse.Bay](x, warehouse.BayKey(l.Warehouse, l.Bay))
	if !ok {
		return false, receipt.Errorf(warehouse.ErrBayNotFound, "%s/%s", l.Warehouse, l.Bay)
	}
	for _, id := range bay.Devices {
		if d, err := warehouse.LoadDevice(x, id); err == nil && d.Type == warehouse.BayScale && d.Status == warehouse.Active {
			return true, nil
		}
	}
	return false, nil
}
