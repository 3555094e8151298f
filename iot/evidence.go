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
// device's readings in increasing sequence.
func checkEvidenceShape(ev []SignedReading, limit int) error {
	if len(ev) == 0 {
		return receipt.Errorf(receipt.ErrMissingField, "evidence")
	}
	if len(ev) > limit {
		return receipt.Errorf(receipt.ErrLimit, "%d readings, at most %d", len(ev), limit)
	}
	last := make(map[string]uint64, 4) // device → its last sequence so far
	for i := range ev {
		r := &ev[i].Reading
		if err := r.Check(); err != nil {
			return err
		}
		if ev[i].Sig == ([64]byte{}) {
			return receipt.Errorf(ErrUnsigned, "%s", r.ID())
		}
		if prev, ok := last[r.Device]; ok && prev >= r.Seq {
			return receipt.Errorf(ErrEvidenceOrder, "%s after %s", r.ID(), ReadingID(r.Device, prev))
		}
		last[r.Device] = r.Seq
	}
	return nil
}

// verifyReading checks one evidence reading against state: its device is
// trusted for its kind and bound to the lot's bay, its signature is the
// device's, and it is not older than sinceMs.
func verifyReading(x *receipt.Exec, s *SignedReading, l *warehouse.Lot, sinceMs int64) (*warehouse.Device, error) {
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
	if r.TimeMs < sinceMs {
		return nil, receipt.Errorf(ErrEvidenceStale, "%s at %d ms, lot watched since %d ms", r.ID(), r.TimeMs, sinceMs)
	}
	return d, nil
}

// sinceMs is the earliest device time evidence about the lot may have: its
// registration, or its last baseline.
func sinceMs(l *warehouse.Lot, w *Watch) int64 {
	return max(l.RegisteredAt*1000, w.BaselineAtMs)
}

// proof is what proving a breach established.
type proof struct {
	device string // the device whose readings proved it
	lastMs int64  // device time of the last evidence reading
}

// proveBreach checks that the evidence proves a breach of kind k against
// the lot as recorded. Drift and step need consecutive readings of one bay
// scale: every stable weight among them beyond the threshold, enough of
// them, and (drift) spanning the sustain window; unstable weights and
// heartbeats of the same scale may sit between them. Motion, seal and
// tamper need readings that each show the breach.
func proveBreach(x *receipt.Exec, rules *Rules, l *warehouse.Lot, w *Watch, k AlertKind, ev []SignedReading) (proof, error) {
	since := sinceMs(l, w)
	var p proof
	for i := range ev {
		if _, err := verifyReading(x, &ev[i], l, since); err != nil {
			return p, err
		}
		p.lastMs = max(p.lastMs, ev[i].Reading.TimeMs)
	}
	p.device = ev[0].Reading.Device
	switch k {
	case AlertDrift, AlertStep:
		return p, proveWeight(rules, l, k, ev)
	case AlertMotion:
		for i := range ev {
			m := ev[i].Reading.Motion
			if m == nil || !Intrusion(m, rules) {
				return p, receipt.Errorf(ErrNotABreach, "%s is not an intrusion", ev[i].Reading.ID())
			}
		}
		return p, noOpenRelease(x, l)
	case AlertSeal:
		open := false
		for i := range ev {
			s := ev[i].Reading.Seal
			switch {
			case s == nil || s.State == SealClosed:
				return p, receipt.Errorf(ErrNotABreach, "%s shows no broken or open seal", ev[i].Reading.ID())
			case s.State == SealOpen:
				open = true
			}
		}
		if open {
			return p, noOpenRelease(x, l)
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

func proveWeight(rules *Rules, l *warehouse.Lot, k AlertKind, ev []SignedReading) error {
	if l.Baseline == 0 {
		return receipt.Errorf(ErrNoBaseline, "%s", l.ID)
	}
	dev := ev[0].Reading.Device
	threshold, need := l.Tolerance, rules.DriftReadings
	if k == AlertStep {
		threshold, need = rules.StepThreshold(l.Baseline, l.Tolerance, l.Unit), rules.StepReadings
	}
	var stable uint32
	var firstMs, lastMs int64
	for i := range ev {
		r := &ev[i].Reading
		if r.Device != dev {
			return receipt.Errorf(ErrNotABreach, "evidence mixes devices %s and %s", dev, r.Device)
		}
		if i > 0 && r.Seq != ev[i-1].Reading.Seq+1 {
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
			if d := Deviation(r.Weight.Qty, l.Baseline); d <= threshold {
				return receipt.Errorf(ErrWithinTolerance, "%s: %d off baseline %d, threshold %d", r.ID(), d, l.Baseline, threshold)
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
		return receipt.Errorf(ErrEvidenceTooFew, "%d stable readings beyond %d, need %d", stable, threshold, need)
	}
	if k == AlertDrift && lastMs-firstMs < rules.DriftSustainMs {
		return receipt.Errorf(ErrNotSustained, "held %d ms, need %d ms", lastMs-firstMs, rules.DriftSustainMs)
	}
	return nil
}

// noOpenRelease checks no live receipt of the lot has an open release
// order: only then is activity in its bay unexplained.
func noOpenRelease(x *receipt.Exec, l *warehouse.Lot) error {
	for _, id := range l.Live {
		r, err := receipt.LoadReceipt(x, id)
		if err != nil {
			return err
		}
		if r.ReleaseOrder != "" {
			return receipt.Errorf(ErrReleaseOrderOpen, "%s on %s", r.ReleaseOrder, r.ID)
		}
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
