package ledger

import (
	"bytes"
	"testing"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPriceShock: two loans on copper; a price drop margin-calls both; one
// borrower cures by repaying, the other does nothing, its deadline passes,
// its bank records the default and enforces: the receipt moves to the bank.
func TestPriceShock(t *testing.T) {
	h := newHarness(t)
	h.RecordBlocks()
	h.financed() // USD 8,000/t; 10% haircut; 75% initial, 85% maintenance; 2 days' grace
	ra, pa := h.pledgedReceipt(20_000, TraderA, BankA)
	rb, pb := h.pledgedReceipt(20_000, TraderB, BankB)
	h.openLoan("L-A", BankA, TraderA, 10_000_000, pa) // 20 t worth 14,400,000: LTV 6,945 bps
	h.openLoan("L-B", BankB, TraderB, 10_000_000, pb)
	h.ok(by(BankA), &financing.RecordDisbursement{Loan: "L-A", Amount: 10_000_000, Ref: "A-1"})
	h.ok(by(BankB), &financing.RecordDisbursement{Loan: "L-B", Amount: 10_000_000, Ref: "B-1"})
	assert.Equal(t, []string{"L-A", "L-B"}, h.openLoans())

	// USD 8,000 → 6,400 (−20%): value 11,520,000, LTV 8,681 bps > 8,500.
	h.Advance(3600)
	shock := h.price(640_000)
	require.Equal(t, 2, countEvents(shock, financing.EvMarginCall))
	var called []string
	for _, e := range shock.Events {
		if e.Type == financing.EvMarginCall {
			called = append(called, e.Refs[0].ID)
		}
	}
	assert.Equal(t, []string{"L-A", "L-B"}, called, "evaluated in loan order")
	deadline := h.Block.Time + 2*day
	for _, id := range []string{"L-A", "L-B"} {
		c := h.loan(id).Call
		require.NotNil(t, c, id)
		assert.Equal(t, uint64(8_681), c.LTVBps)
		assert.Equal(t, uint64(208_000), c.ShortfallMinor, "10,000,000 − 11,520,000 × 85%")
		assert.Equal(t, deadline, c.Deadline)
	}

	// A cures by repaying 1,000,000: 9,000,000 / 11,520,000 = 7,813 bps.
	h.Advance(day)
	cure := h.ok(by(BankA), &financing.RecordRepayment{Loan: "L-A", Amount: 1_000_000, Ref: "A-2"})
	assert.True(t, hasEvent(cure, financing.EvMarginCallCured))
	assert.Nil(t, h.loan("L-A").Call)

	// B does nothing. Before the deadline its bank may not enforce.
	h.fail(financing.ErrNoDefault, by(BankB), &financing.MarkDefault{Loan: "L-B"})
	h.fail(receipt.ErrNoDefault, by(BankB), &receipt.InvokePledge{Pledge: pb})
	h.Advance(day + 1) // past the deadline
	require.Greater(t, h.Block.Time, deadline)
	h.fail(financing.ErrNoDefault, by(BankA), &financing.MarkDefault{Loan: "L-A"}) // cured: no default
	h.ok(by(BankB), &financing.MarkDefault{Loan: "L-B"})
	assert.Equal(t, financing.LoanDefaulted, h.loan("L-B").Status)
	assert.Equal(t, []string{"L-A"}, h.openLoans())
	h.ok(by(BankB), &receipt.InvokePledge{Pledge: pb})

	b := h.receipt(rb.ID)
	assert.Equal(t, BankB, b.Holder, "control moved to the bank")
	assert.Equal(t, receipt.StateIssued, b.State)
	assert.Equal(t, receipt.PledgeInvoked, h.pledgeRec(pb).Status)
	a := h.receipt(ra.ID)
	assert.Equal(t, TraderA, a.Holder)
	assert.Equal(t, receipt.StatePledged, a.State)
	h.fail(receipt.ErrNoDefault, by(BankA), &receipt.InvokePledge{Pledge: pa})
	h.Advance(90 * day) // even past the pledge's own maturity, loan A is not in default
	h.fail(financing.ErrLoanNotDefaulted, by(BankA), &receipt.InvokePledge{Pledge: pa})

	// The bank sells what it enforced on; the loan records the recovery.
	h.ok(by(BankB), &financing.RecordRepayment{Loan: "L-B", Amount: 10_000_000, Ref: "recovery"})
	assert.Equal(t, financing.LoanRepaid, h.loan("L-B").Status)
	require.NoError(t, CheckInvariants(h.Store))
	// Every record decodes by its key (the chain's proof bundles rely on it).
	for _, k := range h.Store.Keys() {
		v, _ := h.Store.Get(k)
		_, err := DecodeByKey(k, v)
		require.NoError(t, err, k)
	}
	assert.NotEmpty(t, h.Records)
}

func TestPrecheck(t *testing.T) {
	h := newHarness(t)
	h.financed()
	r := h.fresh(20_000, TraderA)
	mat := h.Block.Time + 60*day
	check := func(receiptID, borrower, bank, currency string, maturity int64) financing.Report {
		before := h.Store.EncodeState()
		rep := financing.Precheck(&receipt.Exec{Store: h.Store, Block: h.Block, Stock: warehouse.Stock{}},
			financing.PrecheckRequest{Receipt: receiptID, Borrower: borrower, Bank: bank, Currency: currency, Maturity: maturity})
		require.True(t, bytes.Equal(before, h.Store.EncodeState()), "a precheck writes nothing")
		require.Len(t, rep.Checks, 13)
		return rep
	}

	rep := check(r.ID, TraderA, BankA, usd, mat)
	assert.True(t, rep.OK, "%v", rep.Checks)
	assert.Empty(t, rep.Failed())
	assert.Equal(t, uint64(14_400_000), rep.ValueMinor)
	assert.Equal(t, uint64(10_800_000), rep.MaxPrincipalMinor)
	assert.Contains(t, rep.Keys, receipt.ReceiptKey(r.ID))
	assert.Contains(t, rep.Keys, warehouse.LotKey(r.Lot))
	assert.Contains(t, rep.Keys, financing.PriceKey(usd, copper))
	assert.LessOrEqual(t, len(rep.Keys), 10, "a handful of point reads: %v", rep.Keys)

	assert.Equal(t, []string{financing.CheckBorrowerIsHolder}, check(r.ID, TraderB, BankA, usd, mat).Failed())
	assert.Equal(t, []string{financing.CheckValidityCovers}, check(r.ID, TraderA, BankA, usd, h.Block.Time+181*day).Failed())
	assert.Equal(t, []string{financing.CheckPriceExists}, check(r.ID, TraderA, BankA, "EUR", mat).Failed())
	noPrice := check(r.ID, TraderA, BankA, "EUR", mat)
	assert.Contains(t, noPrice.Keys, financing.PriceKey("EUR", copper), "absence is proven too")
	assert.Equal(t, []string{financing.CheckParticipants, financing.CheckCreditPolicy}, check(r.ID, TraderA, TraderB, usd, mat).Failed())
	assert.Len(t, check("R-NONE", TraderA, BankA, usd, mat).Failed(), 12)

	// A pending pledge to this same bank is fine; to another bank it is not.
	pid := h.requestPledge(r, BankA)
	assert.Empty(t, check(r.ID, TraderA, BankA, usd, mat).Failed())
	assert.Equal(t, []string{financing.CheckNoOtherPledge}, check(r.ID, TraderA, BankB, usd, mat).Failed())
	h.ok(by(BankA), &receipt.ConfirmPledge{Pledge: pid, ReceiptVersion: h.receipt(r.ID).Version})
	assert.Empty(t, check(r.ID, TraderA, BankA, usd, mat).Failed())
	h.openLoan("L-1", BankA, TraderA, 1_000_000, pid)
	assert.Equal(t, []string{financing.CheckNoOtherPledge}, check(r.ID, TraderA, BankA, usd, mat).Failed(), "already secures a loan")

	// Lot health, freezes, transfers, warehouse standing.
	r2 := h.fresh(1_000, TraderA)
	h.setHealth(r2.Lot, warehouse.HealthUnverified)
	assert.Equal(t, []string{financing.CheckLotHealthy}, check(r2.ID, TraderA, BankA, usd, mat).Failed())
	h.setHealth(r2.Lot, warehouse.HealthOK)
	h.ok(by(TraderA), transfer(r2, TraderB, h.Block.Time+day))
	assert.Equal(t, []string{financing.CheckNotInDealing}, check(r2.ID, TraderA, BankA, usd, mat).Failed())
	h.ok(by(Regulator), &receipt.Freeze{Receipt: r2.ID, Reason: "inquiry"})
	assert.Equal(t, []string{financing.CheckNotFrozen, financing.CheckNotInDealing}, check(r2.ID, TraderA, BankA, usd, mat).Failed())
	r3 := h.fresh(1_000, TraderA)
	w, _ := Get[warehouse.Warehouse](h.Store, warehouse.WarehouseKey(Warehouse1))
	w.Status = warehouse.Suspended
	receipt.Save(&receipt.Exec{Store: h.Store}, warehouse.WarehouseKey(Warehouse1), w)
	assert.Equal(t, []string{financing.CheckWarehouseActive}, check(r3.ID, TraderA, BankA, usd, mat).Failed())
	h.Advance(181 * day)
	assert.Equal(t, []string{financing.CheckNotExpired, financing.CheckWarehouseActive, financing.CheckValidityCovers},
		check(r3.ID, TraderA, BankA, usd, h.Block.Time+day).Failed())
}
