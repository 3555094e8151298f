package financing

import (
	"fmt"
	"math/big"

	"github.com/ewrchain/ewr/receipt"
)

// Causes of a re-evaluation: they decide whether a margin call past its
// deadline can still be cleared (only by the borrower's own cure).
type cause uint8

const (
	byPrice cause = iota + 1
	byDisbursement
	byRepayment
	byCollateral
	bySale
)

func (c cause) String() string {
	switch c {
	case byPrice:
		return "price"
	case byDisbursement:
		return "disbursement"
	case byRepayment:
		return "repayment"
	case byCollateral:
		return "collateral"
	case bySale:
		return "sale"
	}
	return "unknown"
}

// collateralGrams sums, in grams, the current quantity of the receipts
// under the loan's ACTIVE pledges, leaving out the pledge skip. It reads the
// receipts, not the pledges: a consented partial delivery reduces the
// collateral.
func collateralGrams(x *receipt.Exec, l *Loan, skip string) *big.Int {
	sum := new(big.Int)
	for _, id := range l.Pledges {
		if id == skip {
			continue
		}
		p, err := receipt.LoadPledge(x, id)
		if err != nil {
			panic(fmt.Sprintf("financing: loan %s lists missing pledge %s", l.ID, id))
		}
		if p.Status != receipt.PledgeActive {
			continue
		}
		r, err := receipt.LoadReceipt(x, p.Receipt)
		if err != nil {
			panic(fmt.Sprintf("financing: pledge %s names missing receipt %s", p.ID, p.Receipt))
		}
		g, err := Grams(r.Quantity, r.Unit)
		if err != nil {
			panic(fmt.Sprintf("financing: receipt %s: %v", r.ID, err))
		}
		sum.Add(sum, g)
	}
	return sum
}

// mustPrice loads the price a loan is valued at: a loan opens only where a
// price exists, and prices are never deleted.
func mustPrice(x *receipt.Exec, l *Loan) *Price {
	p, err := LoadPrice(x, l.Currency, l.Commodity)
	if err != nil {
		panic(fmt.Sprintf("financing: loan %s without a price: %v", l.ID, err))
	}
	return p
}

// Valuation is a loan marked to market.
type Valuation struct {
	Price *Price
	Value *big.Int // collateral value after the haircut, minor units
	LTV   uint64   // outstanding over value, bps
}

// MarkToMarket values a loan's collateral at the latest price.
func MarkToMarket(x *receipt.Exec, l *Loan) Valuation {
	pr := mustPrice(x, l)
	v := CollateralValue(collateralGrams(x, l, ""), pr.MinorPerTonne, l.Terms.HaircutBps)
	return Valuation{Price: pr, Value: v, LTV: LTVBps(l.Outstanding, v)}
}

// review marks an OPEN loan to market and raises or clears its margin call.
// A call is raised when the LTV is past maintenance (not at it), with the
// policy's grace; it is cleared when the LTV is back at or below
// maintenance, except that after its deadline only the borrower's own cure
// (repayment, collateral, a sale's proceeds) clears it: a price recovery
// then no longer takes away the bank's right to enforce. The caller saves
// the loan.
func review(x *receipt.Exec, l *Loan, why cause) Valuation {
	val := MarkToMarket(x, l)
	if l.Status != LoanOpen {
		return val
	}
	now := x.Block.Time
	maint := uint64(l.Terms.MaintenanceLTVBps)
	switch {
	case l.Call == nil && val.LTV > maint:
		// LTV > maintenance exactly when outstanding > MaxAdvance(value, maintenance).
		shortfall := l.Outstanding - Saturate(MaxAdvance(val.Value, l.Terms.MaintenanceLTVBps))
		l.Call = &MarginCall{RaisedAt: now, Deadline: now + l.Terms.MarginCallGraceSec, LTVBps: val.LTV,
			ValueMinor: Saturate(val.Value), PriceMinorPerTonne: val.Price.MinorPerTonne, ShortfallMinor: shortfall}
		x.Emit(EvMarginCall, loanRefs(l), receipt.Attr{Key: "ltv_bps", Value: receipt.U64(val.LTV)},
			receipt.Attr{Key: "maintenance_bps", Value: receipt.U64(maint)},
			receipt.Attr{Key: "deadline", Value: receipt.I64(l.Call.Deadline)},
			receipt.Attr{Key: "value", Value: val.Value.String()}, receipt.Attr{Key: "shortfall", Value: receipt.U64(shortfall)},
			receipt.Attr{Key: "cause", Value: why.String()})
	case l.Call != nil && val.LTV <= maint && (why != byPrice || now <= l.Call.Deadline):
		x.Emit(EvMarginCallCured, loanRefs(l), receipt.Attr{Key: "ltv_bps", Value: receipt.U64(val.LTV)},
			receipt.Attr{Key: "raised_at", Value: receipt.I64(l.Call.RaisedAt)}, receipt.Attr{Key: "cause", Value: why.String()})
		l.Call = nil
	}
	return val
}

// loanRefs are the refs every loan event carries.
func loanRefs(l *Loan) []receipt.Ref {
	return receipt.Refs(receipt.RefLoan, l.ID, receipt.RefParticipant, l.Bank, receipt.RefParticipant, l.Borrower)
}

// Guards are the financing vetoes on receipt transitions, for the ledger to
// set on every Exec.
func Guards() receipt.Guards {
	return receipt.Guards{Release: guardRelease, Invoke: guardInvoke}
}

// guardRelease refuses to release a pledge that secures a loan with money
// at risk unless the collateral left keeps the loan within its initial LTV.
// That is the partial release of whole receipts; to release part of a
// receipt the borrower splits it before pledging.
func guardRelease(x *receipt.Exec, p *receipt.Pledge) error {
	if p.Loan == "" {
		return nil
	}
	l := mustLoan(x, p.Loan)
	exposure := l.Exposure()
	if exposure == 0 {
		return nil
	}
	pr := mustPrice(x, l)
	left := CollateralValue(collateralGrams(x, l, p.ID), pr.MinorPerTonne, l.Terms.HaircutBps)
	if ltv := LTVBps(exposure, left); ltv > uint64(l.Terms.InitialLTVBps) {
		return receipt.Errorf(ErrReleaseBreachesLTV, "loan %s: %d at risk against %s left is %d bps, initial %d bps",
			l.ID, exposure, left, ltv, l.Terms.InitialLTVBps)
	}
	return nil
}

// guardInvoke refuses to enforce a pledge that secures a loan whose default
// is not recorded, whatever the pledge's own maturity says: the loan's
// terms decide when it is in default.
func guardInvoke(x *receipt.Exec, p *receipt.Pledge) error {
	if p.Loan == "" {
		return nil
	}
	if l := mustLoan(x, p.Loan); l.Status != LoanDefaulted {
		return receipt.Errorf(ErrLoanNotDefaulted, "loan %s is %s", l.ID, l.Status)
	}
	return nil
}

// repay takes amount (≤ outstanding) off an OPEN or DEFAULTED loan. Paid in
// full, the loan is REPAID and its collateral released; otherwise it is
// re-evaluated, which may cure a margin call. The caller saves the loan.
func repay(x *receipt.Exec, l *Loan, amount uint64, why cause, ref string) {
	if amount > l.Outstanding || (l.Status != LoanOpen && l.Status != LoanDefaulted) {
		panic("financing: repayment past the outstanding amount or on a closed loan")
	}
	l.Outstanding -= amount
	x.Emit(EvLoanRepayment, loanRefs(l), receipt.Attr{Key: "amount", Value: receipt.U64(amount)},
		receipt.Attr{Key: "outstanding", Value: receipt.U64(l.Outstanding)}, receipt.Attr{Key: "currency", Value: l.Currency},
		receipt.Attr{Key: "source", Value: why.String()}, receipt.Attr{Key: "ref", Value: ref})
	if l.Outstanding > 0 {
		review(x, l, why)
		return
	}
	if l.Status == LoanOpen {
		indexRemove(x, l)
	}
	l.Status = LoanRepaid
	l.Call = nil
	l.ClosedAt = x.Block.Time
	kept := releaseCollateral(x, l, "loan repaid")
	x.Emit(EvLoanRepaid, loanRefs(l), receipt.Attr{Key: "retained", Value: receipt.U64(uint64(kept))})
}

// releaseCollateral releases the loan's ACTIVE pledges once nothing is at
// risk. A pledge whose receipt cannot be released now (frozen, in a sale or
// in redemption) stays with the bank, which releases it later with
// pledge.release: the guard allows it, the loan being closed. It returns
// how many stayed.
func releaseCollateral(x *receipt.Exec, l *Loan, note string) int {
	kept := 0
	for _, id := range l.Pledges {
		p, err := receipt.LoadPledge(x, id)
		if err != nil {
			panic(fmt.Sprintf("financing: loan %s lists missing pledge %s", l.ID, id))
		}
		if p.Status != receipt.PledgeActive {
			continue
		}
		if err := receipt.EndActivePledge(x, p, note); err != nil {
			kept++
			x.Emit(EvCollateralRetained, append(loanRefs(l), receipt.Ref{Kind: receipt.RefPledge, ID: p.ID},
				receipt.Ref{Kind: receipt.RefReceipt, ID: p.Receipt}), receipt.Attr{Key: "reason", Value: err.Error()})
		}
	}
	return kept
}

// ApplyProceeds pays a sale's proceeds to the loan a sold receipt secured,
// in the same tx as the sale (package trading): at most the outstanding
// amount, and nothing to a loan that is repaid or cancelled. The sold
// receipt's pledge is closed before, so the loan is re-evaluated on what
// collateral is left. It returns the amount applied; the rest is the
// seller's.
func ApplyProceeds(x *receipt.Exec, loanID string, proceeds uint64, trade string) (uint64, error) {
	l, err := LoadLoan(x, loanID)
	if err != nil {
		return 0, err
	}
	if l.Status != LoanOpen && l.Status != LoanDefaulted {
		return 0, nil
	}
	applied := min(proceeds, l.Outstanding)
	if applied > 0 {
		repay(x, l, applied, bySale, trade)
	} else {
		review(x, l, bySale)
	}
	saveLoan(x, l)
	return applied, nil
}
