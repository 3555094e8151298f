package iot

import (
	"crypto/sha256"

	"github.com/ewrchain/ewr/internal/canon"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// CheckDevice checks that d may sign a reading of kind k about a bay of
// warehouse wh at time nowSec: active, of the kind's type (any type for a
// heartbeat), bound to the warehouse and, if bay is not empty, to the bay,
// and calibrated. The supervisor and the validators use it alike.
func CheckDevice(d *warehouse.Device, k Kind, wh, bay string, nowSec int64) error {
	if d.Status != warehouse.Active {
		return receipt.Errorf(warehouse.ErrDeviceSuspended, "%q", d.ID)
	}
	if t := DeviceTypeFor(k); t != 0 && d.Type != t {
		return receipt.Errorf(warehouse.ErrDeviceType, "%q is a %s, a %s reading needs a %s", d.ID, d.Type, k, t)
	}
	if d.Warehouse != wh || (bay != "" && d.Bay != bay) {
		return receipt.Errorf(warehouse.ErrDeviceNotHere, "%q is bound to %s/%s, not %s/%s", d.ID, d.Warehouse, d.Bay, wh, bay)
	}
	if nowSec > d.CalibratedUntil {
		return receipt.Errorf(warehouse.ErrDeviceUncalibrated, "%q calibrated until %d", d.ID, d.CalibratedUntil)
	}
	return nil
}

// checkEvidenceShape checks a list of readings alone: a count within
// limit, each reading well formed and signed, no reading twice, and each
// device's readings in increasing (epoch, sequence).
func checkEvidenceShape(ev []SignedReading, limit int) error {
	if len(ev) == 0 {
		return receipt.Errorf(receipt.ErrMissingField, "evidence")
	}
	if len(ev) > limit {
		return receipt.Errorf(receipt.ErrLimit, "%d readings, at most %d", len(ev), limit)
	}
	last := make(map[string]Pos, 4) // device → its last position so far
	for i := range ev {
		r := &ev[i].Reading
		if err := r.Check(); err != nil {
			return err
		}
		if ev[i].Sig == ([64]byte{}) {
			return receipt.Errorf(ErrUnsigned, "%s", r.ID())
		}
		if prev, ok := last[r.Device]; ok && !r.Pos().After(prev) {
			return receipt.Errorf(ErrEvidenceOrder, "%s after %s", r.ID(), ReadingID(r.Device, prev.Epoch, prev.Seq))
		}
		last[r.Device] = r.Pos()
	}
	return nil
}

// LoadMark reads a device's consumption mark (nil if none of its readings
// was ever used on chain).
func LoadMark(x *receipt.Exec, device string) *DeviceMark {
	m, _ := receipt.Load[DeviceMark](x, DeviceMarkKey(device))
	return m
}

// verifyReading checks one evidence reading against state: its device is
// trusted for its kind and bound to the lot's bay, its signature is the
// device's, it is not older than sinceMs, it was taken inside the evidence
// window of block time (Params.EvidenceWindowSec back, Rules.MaxSkewMs
// ahead), and it comes after the last reading of its device the chain
// consumed. The caller consumes it (consume) if the op succeeds.
func verifyReading(x *receipt.Exec, rules *Rules, s *SignedReading, l *warehouse.Lot, sinceMs int64) (*warehouse.Device, error) {
	r := &s.Reading
	d, err := warehouse.LoadDevice(x, r.Device)
	if err != nil {
		return nil, err
	}
	if err := CheckDevice(d, r.Kind(), l.Warehouse, l.Bay, x.Block.Time); err != nil {
		return nil, err
	}
	if !x.VerifySig(d.PubKey, SignBytes(r), s.Sig) {
		return nil, receipt.Errorf(ErrReadingSignature, "%s", r.ID())
	}
	if err := checkFresh(x, rules, r); err != nil {
		return nil, err
	}
	if m := LoadMark(x, r.Device); m != nil && !r.Pos().After(m.Pos()) {
		return nil, receipt.Errorf(ErrReadingConsumed, "%s: the chain used %s's reading %s (%s)", r.ID(), r.Device, m.Pos(), m.Op)
	}
	if r.TimeMs < sinceMs {
		return nil, receipt.Errorf(ErrEvidenceStale, "%s at %d ms, lot watched since %d ms", r.ID(), r.TimeMs, sinceMs)
	}
	return d, nil
}

// checkFresh checks a reading was taken inside the evidence window of
// block time.
func checkFresh(x *receipt.Exec, rules *Rules, r *Reading) error {
	blockMs := x.Block.Time * 1000
	windowMs := x.Params().EvidenceWindowSec * 1000
	switch {
	case r.TimeMs < blockMs-windowMs:
		return receipt.Errorf(ErrEvidenceTooOld, "%s taken at %d ms, %d ms before block time; the window is %d ms",
			r.ID(), r.TimeMs, blockMs-r.TimeMs, windowMs)
	case r.TimeMs > blockMs+rules.MaxSkewMs:
		return receipt.Errorf(ErrEvidenceTooOld, "%s taken at %d ms, %d ms after block time; clocks may differ by %d ms",
			r.ID(), r.TimeMs, r.TimeMs-blockMs, rules.MaxSkewMs)
	}
	return nil
}

// consume records readings as used on chain: each device's mark moves to
// the last of its readings among them.
func consume(x *receipt.Exec, op string, ev ...*SignedReading) {
	marks := make(map[string]*DeviceMark, 2)
	var order []string
	for _, s := range ev {
		r := &s.Reading
		m, ok := marks[r.Device]
		if !ok {
			if m = LoadMark(x, r.Device); m == nil {
				m = &DeviceMark{Device: r.Device}
			}
			marks[r.Device] = m
			order = append(order, r.Device)
		}
		if r.Pos().After(m.Pos()) {
			m.Epoch, m.Seq, m.TimeMs = r.Epoch, r.Seq, r.TimeMs
		}
	}
	for _, dev := range order {
		m := marks[dev]
		m.Op, m.Height = op, x.Block.Height
		m.Version++
		receipt.Save(x, DeviceMarkKey(dev), m)
	}
}

func consumeAll(x *receipt.Exec, op string, ev []SignedReading) {
	ptrs := make([]*SignedReading, len(ev))
	for i := range ev {
		ptrs[i] = &ev[i]
	}
	consume(x, op, ptrs...)
}

// sinceMs is the earliest device time evidence about the lot may have: the
// second after the block that registered it (block time is in whole
// seconds; a reading in that second may predate the goods' arrival), or
// its last baseline.
func sinceMs(l *warehouse.Lot, w *Watch) int64 {
	return max((l.RegisteredAt+1)*1000, w.BaselineAtMs)
}

// proof is what proving a breach established.
type proof struct {
	device string // the device whose readings proved it
	lastMs int64  // device time of the last evidence reading
}

// phaseAt is the lock phase a reading is judged against: the lock as it
// stood when the reading was taken.
func phaseAt(h *warehouse.LockHistory, r *Reading) (warehouse.LockPhase, error) {
	p, ok := h.At(r.TimeMs)
	if !ok {
		return p, receipt.Errorf(ErrEvidenceStale, "%s at %d ms predates the lock history", r.ID(), r.TimeMs)
	}
	return p, nil
}

// proveBreach checks that the evidence proves a breach of kind k against
// the lock as it stood when each reading was taken. Drift and step need
// consecutive readings of one bay scale: every stable weight among them
// outside the lock's band by the kind's margin, enough of them, and
// (drift) spanning the sustain window; unstable weights and heartbeats of
// the same scale may sit between them. Motion, seal and tamper need
// readings that each show the breach; motion and an open door count only
// if no release order was open on the lot when they were seen.
func proveBreach(x *receipt.Exec, rules *Rules, l *warehouse.Lot, w *Watch, k AlertKind, ev []SignedReading) (proof, error) {
	since := sinceMs(l, w)
	hist := warehouse.LoadLockHistory(x, l.ID)
	var p proof
	for i := range ev {
		if _, err := verifyReading(x, rules, &ev[i], l, since); err != nil {
			return p, err
		}
		if _, err := phaseAt(hist, &ev[i].Reading); err != nil {
			return p, err
		}
		p.lastMs = max(p.lastMs, ev[i].Reading.TimeMs)
	}
	p.device = ev[0].Reading.Device
	moving := func(r *Reading) error {
		ph, _ := hist.At(r.TimeMs)
		if ph.Moving() {
			return receipt.Errorf(ErrReleaseOrderOpen, "%s: %d release order(s) open on %s when it was taken", r.ID(), ph.Open, l.ID)
		}
		return nil
	}
	switch k {
	case AlertDrift, AlertStep:
		return p, proveWeight(rules, l, hist, k, ev)
	case AlertMotion:
		for i := range ev {
			r := &ev[i].Reading
			if r.Motion == nil || !Intrusion(r.Motion, rules) {
				return p, receipt.Errorf(ErrNotABreach, "%s is not an intrusion", r.ID())
			}
			if err := moving(r); err != nil {
				return p, err
			}
		}
		return p, nil
	case AlertSeal:
		for i := range ev {
			r := &ev[i].Reading
			switch {
			case r.Seal == nil || r.Seal.State == SealClosed:
				return p, receipt.Errorf(ErrNotABreach, "%s shows no broken or open seal", r.ID())
			case r.Seal.State == SealOpen:
				if err := moving(r); err != nil {
					return p, err
				}
			}
		}
		return p, nil
	case AlertTamper:
		for i := range ev {
			hb := ev[i].Reading.Heartbeat
			if hb == nil || !hb.Tamper {
				return p, receipt.Errorf(ErrNotABreach, "%s shows no tamper", ev[i].Reading.ID())
			}
		}
		return p, nil
	}
	return p, receipt.Errorf(ErrBreachKind, "%d", k)
}

// Intrusion reports whether a motion event counts as someone or something
// in the bay: a person, vehicle or forklift seen with enough confidence.
func Intrusion(m *Motion, rules *Rules) bool {
	switch m.Class {
	case ClassPerson, ClassVehicle, ClassForklift:
		return m.ConfidencePermille >= rules.MotionMinPermille
	}
	return false
}

func proveWeight(rules *Rules, l *warehouse.Lot, hist *warehouse.LockHistory, k AlertKind, ev []SignedReading) error {
	if l.Expected == 0 {
		return receipt.Errorf(ErrNoBaseline, "%s has no expected bay weight", l.ID)
	}
	dev := ev[0].Reading.Device
	need := rules.DriftReadings
	if k == AlertStep {
		need = rules.StepReadings
	}
	var stable uint32
	var firstMs, lastMs int64
	for i := range ev {
		r := &ev[i].Reading
		if r.Device != dev {
			return receipt.Errorf(ErrNotABreach, "evidence mixes devices %s and %s", dev, r.Device)
		}
		if i > 0 && !r.Pos().Next(ev[i-1].Reading.Pos()) {
			return receipt.Errorf(ErrEvidenceGap, "%s follows %s", r.ID(), ev[i-1].Reading.ID())
		}
		if i > 0 && r.TimeMs < ev[i-1].Reading.TimeMs {
			return receipt.Errorf(ErrEvidenceOrder, "%s earlier than %s", r.ID(), ev[i-1].Reading.ID())
		}
		switch {
		case r.Weight != nil:
			if r.Weight.Unit != l.Unit {
				return receipt.Errorf(receipt.ErrUnitMismatch, "%s in %s, lot in %s", r.ID(), r.Weight.Unit, l.Unit)
			}
			if !r.Weight.Stable {
				continue
			}
			ph, _ := hist.At(r.TimeMs)
			var margin uint64
			if k == AlertStep {
				margin = rules.StepMargin(ph.Expected, l.Unit)
			}
			if ex := ph.Excess(r.Weight.Qty, l.Tolerance); ex <= margin {
				lo, hi := ph.Band(l.Tolerance)
				return receipt.Errorf(ErrWithinTolerance, "%s: %d %s, the lock allowed %d..%d then (margin %d)", r.ID(), r.Weight.Qty, l.Unit, lo, hi, margin)
			}
			if stable == 0 {
				firstMs = r.TimeMs
			}
			lastMs = r.TimeMs
			stable++
		case r.Heartbeat != nil:
		default:
			return receipt.Errorf(ErrNotABreach, "%s is a %s reading", r.ID(), r.Kind())
		}
	}
	if stable < need {
		return receipt.Errorf(ErrEvidenceTooFew, "%d stable readings outside the lock's band, need %d", stable, need)
	}
	if k == AlertDrift && lastMs-firstMs < rules.DriftSustainMs {
		return receipt.Errorf(ErrNotSustained, "held %d ms, need %d ms", lastMs-firstMs, rules.DriftSustainMs)
	}
	return nil
}

const evidenceDomain = "ewr/evidence/v1\x00"

// EvidenceDigest is what a breach alert keeps of its evidence.
func EvidenceDigest(lot string, k AlertKind, ev []SignedReading) [32]byte {
	return sha256.Sum256(canon.Append([]byte(evidenceDomain), &struct {
		Lot      string
		Kind     AlertKind
		Evidence []SignedReading
	}{lot, k, ev}))
}

func readingIDs(ev []SignedReading) []string {
	ids := make([]string, len(ev))
	for i := range ev {
		ids[i] = ev[i].Reading.ID()
	}
	return ids
}
