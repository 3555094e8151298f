package ledger

import (
	"testing"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/receipt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// thresholdLoan opens and draws a loan whose LTV is exactly 8,000 bps (its
// maintenance LTV) at USD 10,000 a tonne: 10 t, 10% haircut, so value
// 9,000,000 cents against 7,200,000 outstanding.
func thresholdLoan(h *harness, id, bank, borrower string) string {
	h.t.Helper()
	h.ok(by(bank), &financing.SetCreditPolicy{Commodity: copper, HaircutBps: 1_000, InitialLTVBps: 7_000,
		MaintenanceLTVBps: 8_000, MarginCallGraceSec: 2 * day})
	h.price(1_200_000)
	_, pid := h.pledgedReceipt(10_000, borrower, bank)
	h.openLoan(id, bank, borrower, 7_200_000, pid)
	h.ok(by(bank), &financing.RecordDisbursement{Loan: id, Amount: 7_200_000})
	return pid
}

func TestMarginCallExactlyAtThreshold(t *testing.T) {
	h := newHarness(t)
	thresholdLoan(h, "L-1", BankA, TraderA)

	v0 := h.loan("L-1").Version
	res := h.price(1_000_000) // LTV 8,000 bps = maintenance: no call
	assert.Nil(t, h.loan("L-1").Call)
	assert.False(t, hasEvent(res, financing.EvMarginCall))
	assert.Equal(t, 1, countEvents(res, financing.EvLoanRevalued))
	assert.Equal(t, v0, h.loan("L-1").Version, "a loan whose call did not change is not rewritten")

	res = h.price(999_999) // value 8,999,991: LTV 8,000.008 rounds up to 8,001
	require.True(t, hasEvent(res, financing.EvMarginCall))
	c := h.loan("L-1").Call
	require.NotNil(t, c)
	assert.Equal(t, uint64(8_001), c.LTVBps)
	assert.Equal(t, h.Block.Time+2*day, c.Deadline)
	assert.Equal(t, uint64(8_999_991), c.ValueMinor)
	assert.Equal(t, uint64(8), c.ShortfallMinor, "7,200,000 − ⌊8,999,991 × 80%⌋")

	// A further drop keeps the call and its deadline.
	h.Advance(day)
	h.price(900_000)
	assert.Equal(t, c.Deadline, h.loan("L-1").Call.Deadline)
	// Back at the threshold before the deadline: the price recovery clears it.
	res = h.price(1_000_000)
	assert.True(t, hasEvent(res, financing.EvMarginCallCured))
	assert.Nil(t, h.loan("L-1").Call)
}

func TestMarginCallCures(t *testing.T) {
	h := newHarness(t)
	thresholdLoan(h, "L-1", BankA, TraderA)
	h.price(900_000) // value 8,100,000: LTV 8,889
	require.NotNil(t, h.loan("L-1").Call)
	require.Equal(t, uint64(720_000), h.loan("L-1").Call.ShortfallMinor)

	t.Run("enforcement before the deadline is refused", func(t *testing.T) {
		h.t = t
		h.fail(financing.ErrNoDefault, by(BankA), &financing.MarkDefault{Loan: "L-1"})
		h.Advance(2 * day) // exactly at the deadline: still curable
		h.fail(financing.ErrNoDefault, by(BankA), &financing.MarkDefault{Loan: "L-1"})
		pid := h.loan("L-1").Pledges[0]
		h.fail(receipt.ErrNoDefault, by(BankA), &receipt.InvokePledge{Pledge: pid})
	})
	t.Run("a partial repayment that leaves the loan past maintenance does not cure", func(t *testing.T) {
		h.t = t
		h.ok(by(BankA), &financing.RecordRepayment{Loan: "L-1", Amount: 100_000})
		require.NotNil(t, h.loan("L-1").Call)
	})
	t.Run("repaying the whole shortfall cures, landing exactly on maintenance", func(t *testing.T) {
		h.t = t
		// 8,100,000 × 80% = 6,480,000 may be outstanding.
		res := h.ok(by(BankA), &financing.RecordRepayment{Loan: "L-1", Amount: 620_000})
		assert.True(t, hasEvent(res, financing.EvMarginCallCured))
		assert.Nil(t, h.loan("L-1").Call)
		assert.Equal(t, uint64(6_480_000), h.loan("L-1").Outstanding)
	})
	t.Run("more collateral cures", func(t *testing.T) {
		h.t = t
		h.price(800_000) // value 7,200,000: LTV 9,000
		require.NotNil(t, h.loan("L-1").Call)
		_, more := h.pledgedReceipt(2_000, TraderA, BankA)
		res := h.ok(by(BankA, TraderA), &financing.AddCollateral{Loan: "L-1", Pledges: []string{more}})
		assert.True(t, hasEvent(res, financing.EvMarginCallCured))
		assert.Nil(t, h.loan("L-1").Call)
	})
}

func TestDisbursementAtALowPriceRaisesACall(t *testing.T) {
	h := newHarness(t)
	h.ok(by(BankA), &financing.SetCreditPolicy{Commodity: copper, HaircutBps: 1_000, InitialLTVBps: 7_000,
		MaintenanceLTVBps: 8_000, MarginCallGraceSec: 2 * day})
	h.price(1_200_000)
	_, pid := h.pledgedReceipt(10_000, TraderA, BankA)
	h.openLoan("L-1", BankA, TraderA, 7_200_000, pid)
	h.ok(by(BankA), &financing.RecordDisbursement{Loan: "L-1", Amount: 3_000_000})
	h.price(900_000) // value 8,100,000
	require.Nil(t, h.loan("L-1").Call)
	res := h.ok(by(BankA), &financing.RecordDisbursement{Loan: "L-1", Amount: 4_200_000})
	assert.True(t, hasEvent(res, financing.EvMarginCall))
	assert.Equal(t, uint64(8_889), h.loan("L-1").Call.LTVBps)
}

// TestMarginCallPastDeadline: after the deadline a price recovery no
// longer clears the call (the bank's right to enforce has arisen), but the
// borrower's own cure still does until the bank records the default.
func TestMarginCallPastDeadline(t *testing.T) {
	h := newHarness(t)
	thresholdLoan(h, "L-1", BankA, TraderA)
	h.price(900_000)
	h.Advance(2*day + 1)
	h.price(1_200_000)
	require.NotNil(t, h.loan("L-1").Call, "a recovery after the deadline does not cure")
	res := h.ok(by(BankA), &financing.RecordRepayment{Loan: "L-1", Amount: 1})
	assert.True(t, hasEvent(res, financing.EvMarginCallCured), "the borrower's repayment does")
	h.fail(financing.ErrNoDefault, by(BankA), &financing.MarkDefault{Loan: "L-1"})
}

func TestMarkDefaultAtMaturity(t *testing.T) {
	h := newHarness(t)
	h.financed()
	r, pid := h.pledgedReceipt(20_000, TraderA, BankA) // pledge due in 90 days
	h.ok(by(BankA, TraderA), h.loanOp("L-1", TraderA, 5_000_000, h.Block.Time+30*day, pid))
	h.ok(by(BankA), &financing.RecordDisbursement{Loan: "L-1", Amount: 5_000_000})
	h.fail(financing.ErrNoDefault, by(BankA), &financing.MarkDefault{Loan: "L-1"})
	h.Advance(30 * day)
	h.fail(financing.ErrNoDefault, by(BankA), &financing.MarkDefault{Loan: "L-1"}) // at maturity: not yet passed
	h.Advance(1)
	h.fail(financing.ErrNotLender, by(BankB), &financing.MarkDefault{Loan: "L-1"})
	h.fail(financing.ErrNotLender, by(TraderA), &financing.MarkDefault{Loan: "L-1"})
	h.fail(financing.ErrLoanNotFound, by(BankA), &financing.MarkDefault{Loan: "L-NONE", Version: 1})
	res := h.ok(by(BankA), &financing.MarkDefault{Loan: "L-1"})
	assert.True(t, hasEvent(res, financing.EvLoanDefaulted))
	l := h.loan("L-1")
	assert.Equal(t, financing.LoanDefaulted, l.Status)
	assert.Contains(t, l.DefaultReason, "maturity")
	assert.True(t, h.pledgeRec(pid).Defaulted)
	assert.Empty(t, h.openLoans())
	h.fail(financing.ErrLoanNotOpen, by(BankA), &financing.MarkDefault{Loan: "L-1"})
	// The pledge's own maturity is 60 days away; the recorded default lets
	// the bank enforce now.
	h.fail(receipt.ErrNotPledgee, by(BankB), &receipt.InvokePledge{Pledge: pid})
	h.ok(by(BankA), &receipt.InvokePledge{Pledge: pid})
	assert.Equal(t, BankA, h.receipt(r.ID).Holder)
	// Recoveries are recorded against the defaulted loan.
	h.ok(by(BankA), &financing.RecordRepayment{Loan: "L-1", Amount: 5_000_000})
	assert.Equal(t, financing.LoanRepaid, h.loan("L-1").Status)
}

func TestMarkDefaultNeedsMoneyOutstanding(t *testing.T) {
	h := newHarness(t)
	h.financed()
	_, pid := h.pledgedReceipt(20_000, TraderA, BankA)
	h.ok(by(BankA, TraderA), h.loanOp("L-1", TraderA, 5_000_000, h.Block.Time+30*day, pid))
	h.Advance(31 * day)
	h.fail(financing.ErrNoDefault, by(BankA), &financing.MarkDefault{Loan: "L-1"})
}
