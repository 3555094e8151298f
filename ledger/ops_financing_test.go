package ledger

import (
	"testing"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreditPolicy(t *testing.T) {
	h := newHarness(t)
	bad := func(mod func(*financing.SetCreditPolicy)) *financing.SetCreditPolicy {
		op := policyOp()
		mod(op)
		return op
	}
	h.fail(receipt.ErrMissingRole, by(TraderA), policyOp())
	h.fail(receipt.ErrMissingRole, by(Oracle), policyOp())
	h.fail(financing.ErrPolicyInvalid, by(BankA), bad(func(p *financing.SetCreditPolicy) { p.HaircutBps = 10_000 }))
	h.fail(financing.ErrPolicyInvalid, by(BankA), bad(func(p *financing.SetCreditPolicy) { p.InitialLTVBps = 0 }))
	h.fail(financing.ErrPolicyInvalid, by(BankA), bad(func(p *financing.SetCreditPolicy) { p.InitialLTVBps = 9_000 }))
	h.fail(financing.ErrPolicyInvalid, by(BankA), bad(func(p *financing.SetCreditPolicy) { p.MaintenanceLTVBps = 10_001 }))
	h.fail(financing.ErrPolicyInvalid, by(BankA), bad(func(p *financing.SetCreditPolicy) { p.MarginCallGraceSec = 0 }))
	h.fail(financing.ErrPolicyInvalid, by(BankA), bad(func(p *financing.SetCreditPolicy) { p.MarginCallGraceSec = 91 * day }))
	h.fail(financing.ErrPolicyInvalid, by(BankA), bad(func(p *financing.SetCreditPolicy) { p.MaxPriceAgeSec = -1 }))
	h.fail(financing.ErrBadCommodity, by(BankA), bad(func(p *financing.SetCreditPolicy) { p.Commodity = " " }))
	h.fail(financing.ErrBadCommodity, by(BankA), bad(func(p *financing.SetCreditPolicy) { p.Commodity = "copper/cathode" }))

	h.policy(BankA)
	p, ok := Get[financing.CreditPolicy](h.Store, financing.PolicyKey(BankA, copper))
	require.True(t, ok)
	assert.Equal(t, uint32(7_500), p.InitialLTVBps)
	assert.Equal(t, uint64(1), p.Version)
	// The bank sets its own policy only: BankB's is separate.
	_, ok = Get[financing.CreditPolicy](h.Store, financing.PolicyKey(BankB, copper))
	assert.False(t, ok)
	h.ok(by(BankA), bad(func(p *financing.SetCreditPolicy) { p.HaircutBps = 1_500 }))
	p, _ = Get[financing.CreditPolicy](h.Store, financing.PolicyKey(BankA, copper))
	assert.Equal(t, uint32(1_500), p.HaircutBps)
	assert.Equal(t, uint64(2), p.Version)
}

func TestPostPrice(t *testing.T) {
	h := newHarness(t)
	post := func(commodity, currency string, price uint64) *financing.PostPrice {
		return &financing.PostPrice{Commodity: commodity, Currency: currency, MinorPerTonne: price}
	}
	h.fail(receipt.ErrMissingRole, by(TraderA), post(copper, usd, 800_000))
	h.fail(receipt.ErrMissingRole, by(BankA), post(copper, usd, 800_000))
	h.fail(financing.ErrBadCurrency, by(Oracle), post(copper, "usd", 800_000))
	h.fail(financing.ErrBadCurrency, by(Oracle), post(copper, "US", 800_000))
	h.fail(financing.ErrBadAmount, by(Oracle), post(copper, usd, 0))
	h.fail(financing.ErrBadAmount, by(Oracle), post(copper, usd, financing.MaxPriceMinorPerTonne+1))
	h.fail(financing.ErrBadCommodity, by(Oracle), post("", usd, 800_000))
	h.fail(financing.ErrBadCommodity, by(Oracle), post("grain/wheat", usd, 800_000))

	h.ok(by(Oracle), post(copper, usd, 800_000))
	h.Advance(3600)
	res := h.ok(by(Oracle), post(copper, usd, 790_000))
	p, ok := Get[financing.Price](h.Store, financing.PriceKey(usd, copper))
	require.True(t, ok)
	assert.Equal(t, uint64(790_000), p.MinorPerTonne)
	assert.Equal(t, h.Block.Time, p.At, "stamped with block time")
	assert.Equal(t, Oracle, p.Oracle)
	assert.Equal(t, uint64(2), p.Version)
	assert.True(t, hasEvent(res, financing.EvPricePosted))
}

func TestOpenLoan(t *testing.T) {
	h := newHarness(t)
	r, pid := h.pledgedReceipt(20_000, TraderA, BankA) // 20 t: value 14,400,000 at USD 8,000/t less 10%
	mat := h.Block.Time + 60*day
	open := func(id string, principal uint64, pledges ...string) *financing.OpenLoan {
		return h.loanOp(id, TraderA, principal, mat, pledges...)
	}
	h.fail(financing.ErrNoPolicy, by(BankA, TraderA), open("L-1", 1_000_000, pid))
	h.financed()

	h.fail(receipt.ErrMissingRole, by(TraderA, BankA), open("L-1", 1_000_000, pid))
	h.fail(receipt.ErrCosignerMissing, by(BankA), open("L-1", 1_000_000, pid))
	h.fail(receipt.ErrCosignerMissing, by(BankA, TraderB), open("L-1", 1_000_000, pid))
	h.fail(financing.ErrPledgeNotToBank, by(BankB, TraderA), open("L-1", 1_000_000, pid))
	h.fail(financing.ErrPledgorNotBorrower, by(BankA, TraderB), h.loanOp("L-1", TraderB, 1_000_000, mat, pid))
	h.fail(receipt.ErrInvalidOp, by(BankA, TraderA), h.loanOp("L-1", BankA, 1_000_000, mat, pid))
	h.fail(receipt.ErrInvalidOp, by(BankA, TraderA), open("L-1", 1_000_000, pid, pid))
	h.fail(financing.ErrTooManyPledges, by(BankA, TraderA), open("L-1", 1_000_000))
	h.fail(financing.ErrBadAmount, by(BankA, TraderA), open("L-1", 0, pid))
	h.fail(financing.ErrBadAmount, by(BankA, TraderA), open("L-1", financing.MaxAmountMinor+1, pid))
	h.fail(receipt.ErrPledgeNotFound, by(BankA, TraderA), open("L-1", 1_000_000, "PL-NONE"))
	eur := open("L-1", 1_000_000, pid)
	eur.Currency = "EUR"
	h.fail(financing.ErrNoPrice, by(BankA, TraderA), eur)
	eur.Currency = "eur"
	h.fail(financing.ErrBadCurrency, by(BankA, TraderA), eur)
	h.fail(financing.ErrMaturity, by(BankA, TraderA), h.loanOp("L-1", TraderA, 1_000_000, h.Block.Time, pid))
	h.fail(financing.ErrMaturity, by(BankA, TraderA), h.loanOp("L-1", TraderA, 1_000_000, h.Block.Time+91*day, pid))
	// The principal may be at most value × initial LTV: 10,800,000.
	h.fail(financing.ErrOverAdvance, by(BankA, TraderA), open("L-1", 10_800_001, pid))
	h.setHealth(r.Lot, warehouse.HealthUnverified)
	h.fail(warehouse.ErrLotUnhealthy, by(BankA, TraderA), open("L-1", 1_000_000, pid))
	h.setHealth(r.Lot, warehouse.HealthOK)
	pending := h.fresh(5_000, TraderA)
	pendingPl := h.requestPledge(pending, BankA)
	h.fail(receipt.ErrPledgeNotActive, by(BankA, TraderA), open("L-1", 1_000_000, pid, pendingPl))
	other := h.fresh(5_000, TraderA)

	res := h.ok(by(BankA, TraderA), open("L-1", 10_800_000, pid))
	assert.True(t, hasEvent(res, financing.EvLoanOpened))
	l := h.loan("L-1")
	assert.Equal(t, financing.LoanOpen, l.Status)
	assert.Equal(t, copper, l.Commodity)
	assert.Equal(t, uint64(10_800_000), l.Principal)
	assert.Zero(t, l.Disbursed)
	assert.Equal(t, uint32(8_500), l.Terms.MaintenanceLTVBps, "terms copied from the policy")
	assert.Equal(t, []string{pid}, l.Pledges)
	assert.Equal(t, "L-1", h.pledgeRec(pid).Loan)
	assert.Equal(t, []string{"L-1"}, h.openLoans())

	// The double pledge across loans: a pledge secures one loan only.
	h.fail(financing.ErrPledgeSecuresLoan, by(BankA, TraderA), open("L-2", 1_000_000, pid))
	h.fail(financing.ErrLoanExists, by(BankA, TraderA), open("L-1", 1_000_000, h.pledge(other, BankA)))
	// A later policy change binds new loans only.
	h.ok(by(BankA), &financing.SetCreditPolicy{Commodity: copper, HaircutBps: 3_000, InitialLTVBps: 5_000, MaintenanceLTVBps: 6_000, MarginCallGraceSec: day})
	assert.Equal(t, uint32(7_500), h.loan("L-1").Terms.InitialLTVBps)

	// Frozen and expired receipts do not secure new loans.
	frozen, frozenPl := h.pledgedReceipt(1_000, TraderA, BankA)
	h.ok(by(Regulator), &receipt.Freeze{Receipt: frozen.ID, Reason: "inquiry"})
	h.fail(receipt.ErrFrozen, by(BankA, TraderA), open("L-3", 100, frozenPl))
}

func TestOpenLoanRules(t *testing.T) {
	h := newHarness(t)
	h.financed()
	t.Run("one commodity per loan", func(t *testing.T) {
		h.t = t
		_, pid := h.pledgedReceipt(10_000, TraderA, BankA)
		lot := h.next("LOT")
		op := h.stockOp(lot, h.freeBay(), 10_000)
		op.Commodity = "aluminium ingot"
		h.ok(by(Operator, Inspector), op)
		alu := h.issue(h.next("R"), lot, 10_000, TraderA)
		aluPl := h.pledge(alu, BankA)
		h.fail(financing.ErrCommodityMix, by(BankA, TraderA), h.loanOp("L-MIX", TraderA, 100, h.Block.Time+30*day, pid, aluPl))
	})
	t.Run("stale price", func(t *testing.T) {
		h.t = t
		_, pid := h.pledgedReceipt(10_000, TraderA, BankB)
		strict := policyOp()
		strict.MaxPriceAgeSec = day
		h.ok(by(BankB), strict)
		h.Advance(day + 1)
		h.fail(financing.ErrPriceStale, by(BankB, TraderA), h.loanOp("L-STALE", TraderA, 100, h.Block.Time+30*day, pid))
		h.price(800_000)
		h.ok(by(BankB, TraderA), h.loanOp("L-STALE", TraderA, 100, h.Block.Time+30*day, pid))
	})
	t.Run("pledges in any order give the same loan", func(t *testing.T) {
		h.t = t
		_, p1 := h.pledgedReceipt(1_000, TraderB, BankA)
		_, p2 := h.pledgedReceipt(1_000, TraderB, BankA)
		h.ok(by(BankA, TraderB), h.loanOp("L-ORDER", TraderB, 100, h.Block.Time+30*day, p2, p1))
		want := []string{p1, p2}
		if p2 < p1 {
			want = []string{p2, p1}
		}
		assert.Equal(t, want, h.loan("L-ORDER").Pledges)
	})
}

func TestDisbursementAndRepayment(t *testing.T) {
	h := newHarness(t)
	h.financed()
	r, pid := h.pledgedReceipt(20_000, TraderA, BankA)
	h.openLoan("L-1", BankA, TraderA, 10_000_000, pid)
	disburse := func(amount uint64) *financing.RecordDisbursement {
		return &financing.RecordDisbursement{Loan: "L-1", Amount: amount, Ref: "SWIFT-1"}
	}
	repay := func(amount uint64) *financing.RecordRepayment {
		return &financing.RecordRepayment{Loan: "L-1", Amount: amount, Ref: "SWIFT-2"}
	}
	h.fail(financing.ErrNotLender, by(BankB), disburse(1))
	h.fail(financing.ErrNotLender, by(TraderA), disburse(1))
	h.fail(financing.ErrLoanNotFound, by(BankA), &financing.RecordDisbursement{Loan: "L-NONE", Amount: 1, Version: 1})
	// The version the signer saw is required, and must be the loan's now.
	h.Exact = true
	h.fail(receipt.ErrMissingField, by(BankA), &financing.RecordDisbursement{Loan: "L-NONE", Amount: 1})
	h.Exact = false
	h.fail(financing.ErrBadAmount, by(BankA), disburse(0))
	h.fail(financing.ErrOverDisbursement, by(BankA), disburse(10_000_001))
	h.fail(financing.ErrOverRepayment, by(BankA), repay(1))
	seen := h.loan("L-1").Version
	h.ok(by(BankA), disburse(6_000_000))
	stale := repay(1)
	stale.Version = seen
	h.fail(receipt.ErrStaleVersion, by(BankA), stale, "the loan moved since the bank read it")
	h.ok(by(BankA), disburse(4_000_000))
	l := h.loan("L-1")
	assert.Equal(t, uint64(10_000_000), l.Disbursed)
	assert.Equal(t, uint64(10_000_000), l.Outstanding)
	h.fail(financing.ErrOverDisbursement, by(BankA), disburse(1))

	h.fail(financing.ErrNotLender, by(TraderA), repay(1))
	h.fail(financing.ErrNotLender, by(BankB), repay(1))
	h.fail(financing.ErrOverRepayment, by(BankA), repay(10_000_001))
	h.fail(financing.ErrBadAmount, by(BankA), repay(0))
	h.ok(by(BankA), repay(3_000_000))
	assert.Equal(t, uint64(7_000_000), h.loan("L-1").Outstanding)
	assert.Equal(t, receipt.StatePledged, h.receipt(r.ID).State, "a partial repayment releases nothing")

	// Paid in full: the loan is repaid and its collateral released in the same tx.
	res := h.ok(by(BankA), repay(7_000_000))
	l = h.loan("L-1")
	assert.Equal(t, financing.LoanRepaid, l.Status)
	assert.Zero(t, l.Outstanding)
	assert.True(t, hasEvent(res, financing.EvLoanRepaid))
	assert.True(t, hasEvent(res, receipt.EvPledgeReleased))
	assert.Equal(t, receipt.PledgeReleased, h.pledgeRec(pid).Status)
	assert.Equal(t, receipt.StateIssued, h.receipt(r.ID).State)
	assert.Empty(t, h.openLoans())
	h.fail(financing.ErrLoanNotOpen, by(BankA), repay(1))
	h.fail(financing.ErrLoanNotOpen, by(BankA), disburse(1))

	// No disbursement after maturity.
	_, pid2 := h.pledgedReceipt(20_000, TraderB, BankB)
	h.openLoan("L-2", BankB, TraderB, 1_000_000, pid2)
	h.Advance(61 * day)
	h.fail(financing.ErrLoanMatured, by(BankB), &financing.RecordDisbursement{Loan: "L-2", Amount: 1})
}

// TestReleaseGuard: the bank alone releases, and while money is at risk only
// as far as the collateral left keeps the loan within its initial LTV.
func TestReleaseGuard(t *testing.T) {
	h := newHarness(t)
	h.financed()
	// Two 10 t receipts, each worth 7,200,000 after the haircut.
	_, p1 := h.pledgedReceipt(10_000, TraderA, BankA)
	r2, p2 := h.pledgedReceipt(10_000, TraderA, BankA)
	h.openLoan("L-1", BankA, TraderA, 6_000_000, p1, p2)

	// Release by someone other than the bank.
	h.fail(receipt.ErrNotPledgee, by(TraderA), &receipt.ReleasePledge{Pledge: p1})
	h.fail(receipt.ErrNotPledgee, by(BankB), &receipt.ReleasePledge{Pledge: p1})
	h.fail(receipt.ErrNotPledgee, by(Regulator), &receipt.ReleasePledge{Pledge: p1})
	// 6,000,000 against 7,200,000 is 8,334 bps > 7,500: refused, even undrawn.
	h.fail(financing.ErrReleaseBreachesLTV, by(BankA), &receipt.ReleasePledge{Pledge: p1})
	h.ok(by(BankA), &financing.RecordDisbursement{Loan: "L-1", Amount: 6_000_000})
	h.fail(financing.ErrReleaseBreachesLTV, by(BankA), &receipt.ReleasePledge{Pledge: p2})
	h.ok(by(BankA), &financing.RecordRepayment{Loan: "L-1", Amount: 1_000_000})
	// 5,000,000 against 7,200,000 is 6,945 bps: a partial release of a whole receipt.
	h.ok(by(BankA), &receipt.ReleasePledge{Pledge: p2})
	assert.Equal(t, receipt.StateIssued, h.receipt(r2.ID).State)
	l := h.loan("L-1")
	assert.Equal(t, financing.LoanOpen, l.Status)
	assert.Equal(t, []string{p1, p2}, l.Pledges, "the loan keeps its history")
	v := financing.MarkToMarket(&receipt.Exec{Store: h.Store, Block: h.Block}, l)
	assert.Equal(t, "7200000", v.Value.String(), "only the active pledge counts")
	h.fail(financing.ErrReleaseBreachesLTV, by(BankA), &receipt.ReleasePledge{Pledge: p1})

	// A pledge that secures no loan is released as before.
	_, free := h.pledgedReceipt(1_000, TraderB, BankA)
	h.ok(by(BankA), &receipt.ReleasePledge{Pledge: free})
}

// TestRepaidLoanRetainsCollateralItCannotRelease: a frozen receipt stays
// pledged when its loan is repaid; the bank releases it once unfrozen.
func TestRepaidLoanRetainsCollateralItCannotRelease(t *testing.T) {
	h := newHarness(t)
	h.financed()
	_, p1 := h.pledgedReceipt(10_000, TraderA, BankA)
	r2, p2 := h.pledgedReceipt(10_000, TraderA, BankA)
	h.openLoan("L-1", BankA, TraderA, 1_000_000, p1, p2)
	h.ok(by(BankA), &financing.RecordDisbursement{Loan: "L-1", Amount: 1_000_000})
	h.ok(by(Regulator), &receipt.Freeze{Receipt: r2.ID, Reason: "court order"})
	res := h.ok(by(BankA), &financing.RecordRepayment{Loan: "L-1", Amount: 1_000_000})
	assert.True(t, hasEvent(res, financing.EvCollateralRetained))
	assert.Equal(t, receipt.PledgeReleased, h.pledgeRec(p1).Status)
	assert.Equal(t, receipt.PledgeActive, h.pledgeRec(p2).Status)
	h.fail(receipt.ErrFrozen, by(BankA), &receipt.ReleasePledge{Pledge: p2})
	h.ok(by(Regulator), &receipt.Unfreeze{Receipt: r2.ID, Reason: "lifted"})
	h.ok(by(BankA), &receipt.ReleasePledge{Pledge: p2})
	// The pledge of a repaid loan is never enforced.
	_, p3 := h.pledgedReceipt(1_000, TraderB, BankB)
	h.openLoan("L-2", BankB, TraderB, 100, p3)
	h.Advance(91 * day) // past the pledge's own maturity
	h.fail(financing.ErrLoanNotDefaulted, by(BankB), &receipt.InvokePledge{Pledge: p3})
}

func TestAddCollateral(t *testing.T) {
	h := newHarness(t)
	h.financed()
	_, p1 := h.pledgedReceipt(10_000, TraderA, BankA)
	h.openLoan("L-1", BankA, TraderA, 5_000_000, p1)
	_, p2 := h.pledgedReceipt(10_000, TraderA, BankA)
	add := func(pledges ...string) *financing.AddCollateral {
		return &financing.AddCollateral{Loan: "L-1", Pledges: pledges}
	}
	h.fail(financing.ErrNotLender, by(TraderA, BankA), add(p2))
	h.fail(financing.ErrNotLender, by(BankB, TraderA), add(p2))
	h.fail(receipt.ErrCosignerMissing, by(BankA), add(p2))
	h.fail(financing.ErrPledgeSecuresLoan, by(BankA, TraderA), add(p1))
	_, pB := h.pledgedReceipt(1_000, TraderB, BankA)
	h.fail(financing.ErrPledgorNotBorrower, by(BankA, TraderA), add(pB))
	h.fail(receipt.ErrInvalidOp, by(BankA, TraderA), add(p2, p2))
	res := h.ok(by(BankA, TraderA), add(p2))
	assert.True(t, hasEvent(res, financing.EvCollateralAdded))
	assert.Equal(t, "L-1", h.pledgeRec(p2).Loan)
	assert.Len(t, h.loan("L-1").Pledges, 2)
	h.ok(by(BankA, TraderA), &financing.CancelLoan{Loan: "L-1", Reason: "not needed"})
	_, p3 := h.pledgedReceipt(1_000, TraderA, BankA)
	h.fail(financing.ErrLoanNotOpen, by(BankA, TraderA), add(p3))
}

func TestCancelLoan(t *testing.T) {
	h := newHarness(t)
	h.financed()
	r, pid := h.pledgedReceipt(10_000, TraderA, BankA)
	h.openLoan("L-1", BankA, TraderA, 1_000_000, pid)
	h.fail(receipt.ErrForbidden, by(TraderB), &financing.CancelLoan{Loan: "L-1", Reason: "x"})
	h.fail(receipt.ErrForbidden, by(BankB), &financing.CancelLoan{Loan: "L-1", Reason: "x"})
	h.fail(receipt.ErrMissingField, by(BankA), &financing.CancelLoan{Loan: "L-1"})
	h.ok(by(TraderA), &financing.CancelLoan{Loan: "L-1", Reason: "found cheaper money"})
	assert.Equal(t, financing.LoanCancelled, h.loan("L-1").Status)
	assert.Equal(t, receipt.StateIssued, h.receipt(r.ID).State, "collateral released")
	assert.Empty(t, h.openLoans())
	h.fail(financing.ErrLoanNotOpen, by(BankA), &financing.CancelLoan{Loan: "L-1", Reason: "again"})

	_, p2 := h.pledgedReceipt(10_000, TraderA, BankA)
	h.openLoan("L-2", BankA, TraderA, 1_000_000, p2)
	h.ok(by(BankA), &financing.RecordDisbursement{Loan: "L-2", Amount: 1})
	h.fail(financing.ErrLoanDrawn, by(BankA), &financing.CancelLoan{Loan: "L-2", Reason: "x"})
}
