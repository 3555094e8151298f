package iot

import (
	"github.com/ewrchain/ewr/receipt"
)

// Rules are the consortium's thresholds for sensor supervision. The
// supervisor and the validators read the same record, so a breach the
// supervisor claims is judged by the figures it was found with. Figures
// DOMAIN.md calls indicative are here; a lot's tolerance is the lot's own
// (set at registration: scale error plus storage-loss allowance).
type Rules struct {
	// MaxSkewMs is how far a device's clock may be from the time its
	// reading was stored on the bus (supervisor only).
	MaxSkewMs int64
	// OfflineAfterMs is the silence after which a bay device counts as
	// offline: about three missed heartbeats.
	OfflineAfterMs int64
	// DriftReadings is how many consecutive stable bay-weight readings
	// beyond tolerance make drift, and DriftSustainMs the device time they
	// must span: drift past tolerance held for minutes is a breach, slow
	// drift inside it is information.
	DriftReadings  uint32
	DriftSustainMs int64
	// A step (a theft) is a stable reading outside the lock's band by a
	// margin: min(StepAbsKg, StepBps of the expected weight). StepReadings
	// is how many consecutive stable readings must show it.
	StepAbsKg    uint64
	StepBps      uint32
	StepReadings uint32
	// MotionMinPermille is the least analytics confidence that counts as
	// motion in a locked bay.
	MotionMinPermille uint16
	// MaxBayKg is the heaviest plausible bay reading (supervisor only).
	MaxBayKg uint64
	// MaxTruckKg is the heaviest plausible weigh ticket (supervisor only):
	// the weighbridge's capacity.
	MaxTruckKg uint64
	// MaxEvidence bounds the readings one op carries.
	MaxEvidence uint32
	Version     uint64
}

// DefaultRules are what a consortium starts with.
func DefaultRules() Rules {
	return Rules{
		MaxSkewMs:         30_000,
		OfflineAfterMs:    180_000, // 3 × 60 s heartbeats
		DriftReadings:     3,
		DriftSustainMs:    300_000, // 5 min
		StepAbsKg:         1_000,   // 1 t
		StepBps:           50,      // 0.5%
		StepReadings:      1,
		MotionMinPermille: 800,
		MaxBayKg:          5_000_000, // 5 kt
		MaxTruckKg:        60_000,    // OIML R76 class III truck scale
		MaxEvidence:       256,
		Version:           1,
	}
}

// Hard bounds on the rules: what any consortium may set.
const (
	MaxEvidenceLimit = 1024
	maxWindowMs      = 7 * 24 * 3600 * 1000
)

// Check validates rules.
func (r *Rules) Check() error {
	bad := func(f string, v any) error { return receipt.Errorf(ErrRulesInvalid, "%s %v", f, v) }
	switch {
	case r.MaxSkewMs < 100 || r.MaxSkewMs > maxWindowMs:
		return bad("max skew ms", r.MaxSkewMs)
	case r.OfflineAfterMs < 100 || r.OfflineAfterMs > maxWindowMs:
		return bad("offline after ms", r.OfflineAfterMs)
	case r.DriftReadings < 1 || r.DriftReadings > 64:
		return bad("drift readings", r.DriftReadings)
	case r.DriftSustainMs < 0 || r.DriftSustainMs > maxWindowMs:
		return bad("drift sustain ms", r.DriftSustainMs)
	case r.StepAbsKg > receipt.MaxQuantity/1000:
		return bad("step kg", r.StepAbsKg)
	case r.StepBps > 10_000:
		return bad("step bps", r.StepBps)
	case r.StepReadings < 1 || r.StepReadings > 64:
		return bad("step readings", r.StepReadings)
	case r.MotionMinPermille > 1000:
		return bad("motion confidence", r.MotionMinPermille)
	case r.MaxBayKg == 0 || r.MaxBayKg > receipt.MaxQuantity/1000:
		return bad("max bay kg", r.MaxBayKg)
	case r.MaxTruckKg == 0 || r.MaxTruckKg > receipt.MaxQuantity/1000:
		return bad("max truck kg", r.MaxTruckKg)
	case r.MaxEvidence < 1 || r.MaxEvidence > MaxEvidenceLimit:
		return bad("max evidence", r.MaxEvidence)
	case r.DriftReadings > r.MaxEvidence || r.StepReadings > r.MaxEvidence:
		return bad("readings needed above max evidence", r.MaxEvidence)
	}
	return nil
}

// KeyRules is where the rules are stored.
const KeyRules = "c/iot-rules"

// LoadRules reads the rules, or the defaults if none were set.
func LoadRules(x *receipt.Exec) *Rules {
	r, ok := receipt.Load[Rules](x, KeyRules)
	if !ok {
		d := DefaultRules()
		return &d
	}
	return r
}

// unitScale is how many of unit make a kilogram.
func unitScale(unit string) uint64 {
	if unit == "g" {
		return 1000
	}
	return 1
}

// StepMargin is how far, in the lot's unit, a stable reading must lie
// outside the lock's band to be a step: min(StepAbsKg, StepBps of the
// expected weight).
func (r *Rules) StepMargin(expected uint64, unit string) uint64 {
	abs := r.StepAbsKg * unitScale(unit)
	rel := expected / 10_000 * uint64(r.StepBps) // expected ≤ 2·MaxQuantity: no overflow
	return min(abs, rel)
}

// Deviation is |qty − baseline|.
func Deviation(qty, baseline uint64) uint64 {
	if qty > baseline {
		return qty - baseline
	}
	return baseline - qty
}

// SetRules replaces the supervision rules. Needs the admins' quorum.
type SetRules struct {
	Rules Rules
}

func (*SetRules) Type() string { return "iot.rules.set" }

func (op *SetRules) Check() error { return op.Rules.Check() }

func (op *SetRules) Apply(x *receipt.Exec) error {
	if err := x.RequireAdmins(); err != nil {
		return err
	}
	r := op.Rules
	r.Version = 1
	if cur, ok := receipt.Load[Rules](x, KeyRules); ok {
		r.Version = cur.Version + 1
	}
	receipt.Save(x, KeyRules, &r)
	x.Emit(EvRulesSet, nil, receipt.Attr{Key: "version", Value: receipt.U64(r.Version)})
	return nil
}

// Cosigners (receipt.Cosigner): the rules are the consortium's.
func (*SetRules) Cosigners(x *receipt.Exec, actor string) []string {
	return receipt.AdminCosigners(x, actor)
}
