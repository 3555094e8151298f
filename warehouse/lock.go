package warehouse

import (
	"github.com/ewrchain/ewr/receipt"
)

// The lock as a physical model. A locked lot's bay should weigh what the
// lot's Expected says: the bay's tare plus the goods, as the adopted
// baseline reading put it and every authorized movement since moved it.
// Intake sets it (RegisterStock: tare plus the weighed-in net), a baseline
// re-centres it on the scale's own reading (within tolerance), a confirmed
// delivery lowers it by the weighed-out net, and a release order open on
// the lot makes a load-out expected: the bay may lose up to what the open
// orders allow (ordered quantity plus the delivery allowance), and motion
// and an open door are excused.
//
// Sensor evidence is judged as the lock stood when the reading was taken,
// so each lot keeps its LockHistory: the phases of the lock by block time.
// A reading taken during a load-out is excused forever, and one taken
// after the load-out closed is judged against the lowered expectation.
// Phases that ended before the evidence window (Params.EvidenceWindowSec)
// can judge nothing any more and are dropped.

// LockPhase is one stretch of a lot's lock: from FromMs (block time, unix
// milliseconds) until the next phase, the bay scale should read Expected,
// less at most OutQty while Open release orders are loading out.
type LockPhase struct {
	FromMs   int64
	Expected uint64 // in the lot's unit
	Open     uint32 // release orders open on the lot
	OutQty   uint64 // what the open orders may take off the bay, in the lot's unit
}

// Band is the lowest and highest reading the phase allows, tolerance
// included: [Expected − OutQty − tol, Expected + tol], floored at zero.
func (p LockPhase) Band(tol uint64) (lo, hi uint64) {
	hi = p.Expected + tol // both ≤ MaxQuantity: no overflow
	if down := p.OutQty + tol; down < p.Expected {
		lo = p.Expected - down
	}
	return lo, hi
}

// Excess is how far qty lies outside the phase's band: 0 inside it.
func (p LockPhase) Excess(qty, tol uint64) uint64 {
	lo, hi := p.Band(tol)
	switch {
	case qty > hi:
		return qty - hi
	case qty < lo:
		return lo - qty
	}
	return 0
}

// Moving reports whether a load-out is expected: motion in the bay and an
// open door are excused.
func (p LockPhase) Moving() bool { return p.Open > 0 }

// LockHistory is a lot's lock phases, oldest first.
type LockHistory struct {
	Lot     string
	Phases  []LockPhase
	Version uint64
}

// MaxLockPhases bounds a lot's history inside the evidence window: a
// movement that would exceed it is refused (ErrLockHistoryFull).
const MaxLockPhases = 512

// LockHistoryKey is where a lot's lock history is stored.
func LockHistoryKey(lot string) string { return PrefixLockHistory + lot }

// LoadLockHistory reads a lot's lock history (empty if none).
func LoadLockHistory(x *receipt.Exec, lot string) *LockHistory {
	h, ok := receipt.Load[LockHistory](x, LockHistoryKey(lot))
	if !ok {
		return &LockHistory{Lot: lot}
	}
	return h
}

// At returns the phase in force at ms, and false if ms is before the
// history begins (or was pruned): such a reading cannot be judged.
func (h *LockHistory) At(ms int64) (LockPhase, bool) {
	for i := len(h.Phases) - 1; i >= 0; i-- {
		if h.Phases[i].FromMs <= ms {
			return h.Phases[i], true
		}
	}
	return LockPhase{}, false
}

// Current is the phase in force now (the last).
func (h *LockHistory) Current() LockPhase {
	if len(h.Phases) == 0 {
		return LockPhase{}
	}
	return h.Phases[len(h.Phases)-1]
}

// RecordPhase starts a new phase of l's lock at this block from l's
// Expected and change (applied to a copy of the current phase), saves the
// history and drops the phases that ended before the evidence window. Two
// movements in one block make one phase. The caller saves l.
func RecordPhase(x *receipt.Exec, l *Lot, change func(p *LockPhase)) error {
	h := LoadLockHistory(x, l.ID)
	p := h.Current()
	p.Expected = l.Expected
	if change != nil {
		change(&p)
	}
	l.Expected = p.Expected
	nowMs := x.Block.Time * 1000
	p.FromMs = nowMs
	if n := len(h.Phases); n > 0 && h.Phases[n-1].FromMs >= nowMs {
		h.Phases[n-1] = p
	} else {
		h.Phases = append(h.Phases, p)
	}
	windowStart := nowMs - x.Params().EvidenceWindowSec*1000
	drop := 0
	for drop+1 < len(h.Phases) && h.Phases[drop+1].FromMs <= windowStart {
		drop++
	}
	h.Phases = append(h.Phases[:0:0], h.Phases[drop:]...)
	if len(h.Phases) > MaxLockPhases {
		return receipt.Errorf(ErrLockHistoryFull, "%s: %d lock phases inside the evidence window", l.ID, len(h.Phases))
	}
	x.BumpOnce(LockHistoryKey(l.ID), &h.Version)
	receipt.Save(x, LockHistoryKey(l.ID), h)
	return nil
}

// ExpectedAtLock is what a lot's bay should weigh when it is locked: the
// bay's tare plus the goods weighed in, in the lot's unit.
func ExpectedAtLock(b *Bay, lockedQty uint64, unit string) uint64 {
	scale, _ := unitScale(unit)
	return lockedQty + b.TareKg*scale
}

// LockJudge is the sensor side of the lock (package iot implements it; the
// ledger installs it in Stock). It judges the bay-scale reading a load-out
// closes with.
type LockJudge interface {
	// LoadOutClosed judges closing, the wire form of a signed bay-scale
	// reading taken after the goods left, against l as the delivery left
	// it (saved, Expected already lowered). A reading that cannot be
	// trusted, or a missing one where the bay has a scale, refuses the
	// delivery; a trusted reading that disagrees with the lock beyond
	// tolerance puts the lot in alarm with that reading as evidence.
	LoadOutClosed(x *receipt.Exec, l *Lot, ro *ReleaseOrder, closing []byte) error
}

// judge returns the installed lock judge; a ledger without one is a
// wiring bug.
func judge(x *receipt.Exec) LockJudge {
	if s, ok := x.Stock.(Stock); ok && s.Judge != nil {
		return s.Judge
	}
	panic("warehouse: no lock judge installed (warehouse.Stock.Judge)")
}

// loadOutAllowance is what an order of qty may take off the bay beyond
// its quantity: the delivery tolerance for the trucks it needs (one per
// 30 t).
func loadOutAllowance(p *receipt.Params, qty uint64, unit string) uint64 {
	scale, _ := unitScale(unit)
	perTruck := 30_000 * scale
	trucks := int((qty + perTruck - 1) / perTruck)
	return deliveryTolerance(p, qty, max(trucks, 1), unit)
}
