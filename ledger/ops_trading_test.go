package ledger

import (
	"testing"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func offerOp(id string, r *receipt.Receipt, buyer string, price uint64, deadline int64) *trading.CreateOffer {
	return &trading.CreateOffer{Offer: id, Receipt: r.ID, Version: r.Version, Buyer: buyer, PriceMinor: price, Currency: usd, Deadline: deadline}
}

// sell takes an offer on r to buyer through acceptance and funding.
func (h *harness) funded(id string, r *receipt.Receipt, seller, buyer, buyerBank string, price uint64, cosigners ...string) {
	h.t.Helper()
	h.ok(append(by(seller), cosigners...), offerOp(id, r, buyer, price, h.Block.Time+5*day))
	h.ok(by(buyer), &trading.AcceptOffer{Offer: id, BuyerBank: buyerBank})
	h.ok(by(buyerBank), &trading.ConfirmFunds{Trade: id, AmountMinor: price, Currency: usd, EscrowRef: "ESC-" + id})
}

func TestCreateOffer(t *testing.T) {
	h := newHarness(t)
	h.financed()
	r := h.fresh(10_000, TraderA)
	dl := h.Block.Time + 5*day
	h.fail(receipt.ErrNotHolder, by(TraderB), offerOp("O-1", r, TraderB, 7_000_000, dl))
	stale := offerOp("O-1", r, TraderB, 7_000_000, dl)
	stale.Version++
	h.fail(receipt.ErrStaleVersion, by(TraderA), stale)
	h.fail(receipt.ErrSelfTransfer, by(TraderA), offerOp("O-1", r, TraderA, 7_000_000, dl))
	h.fail(receipt.ErrNotEligibleHolder, by(TraderA), offerOp("O-1", r, Regulator, 7_000_000, dl))
	h.fail(trading.ErrBadDeadline, by(TraderA), offerOp("O-1", r, TraderB, 7_000_000, h.Block.Time))
	h.fail(trading.ErrBadDeadline, by(TraderA), offerOp("O-1", r, TraderB, 7_000_000, h.Block.Time+31*day))
	h.fail(financing.ErrBadAmount, by(TraderA), offerOp("O-1", r, TraderB, 0, dl))
	bad := offerOp("O-1", r, TraderB, 7_000_000, dl)
	bad.Currency = "dollars"
	h.fail(financing.ErrBadCurrency, by(TraderA), bad)
	h.setHealth(r.Lot, warehouse.HealthAlarm)
	h.fail(warehouse.ErrLotUnhealthy, by(TraderA), offerOp("O-1", r, TraderB, 7_000_000, dl))
	h.setHealth(r.Lot, warehouse.HealthOK)

	res := h.ok(by(TraderA), offerOp("O-1", r, TraderB, 7_000_000, dl))
	assert.True(t, hasEvent(res, trading.EvOfferCreated))
	o := h.offer("O-1")
	assert.Equal(t, trading.OfferOpen, o.Status)
	assert.Equal(t, TraderA, o.Seller)
	assert.Equal(t, receipt.StateIssued, h.receipt(r.ID).State, "an offer does not lock the receipt")
	h.fail(trading.ErrOfferExists, by(TraderA), offerOp("O-1", r, TraderB, 7_000_000, dl))

	t.Run("non-negotiable", func(t *testing.T) {
		h.t = t
		lot := h.next("LOT")
		h.stock(lot, h.freeBay(), 1_000)
		op := h.issueOp("R-NN", lot, 1_000, TraderA)
		op.Negotiable = false
		h.ok(by(Operator), op)
		h.fail(receipt.ErrNotNegotiable, by(TraderA), offerOp("O-NN", h.receipt("R-NN"), TraderB, 1, dl))
	})
	t.Run("sale of a pledged receipt without consent", func(t *testing.T) {
		h.t = t
		p, pid := h.pledgedReceipt(10_000, TraderA, BankA)
		h.openLoan("L-1", BankA, TraderA, 5_000_000, pid)
		h.fail(trading.ErrPledgeeConsent, by(TraderA), offerOp("O-P", p, TraderB, 7_000_000, dl))
		h.fail(trading.ErrPledgeeConsent, by(TraderA, BankB), offerOp("O-P", p, TraderB, 7_000_000, dl))
		eur := offerOp("O-P", p, TraderB, 7_000_000, dl)
		eur.Currency = "EUR"
		h.fail(trading.ErrCurrencyMismatch, by(TraderA, BankA), eur)
		h.ok(by(TraderA, BankA), offerOp("O-P", p, TraderB, 7_000_000, dl))
		o := h.offer("O-P")
		assert.Equal(t, pid, o.Pledge)
		assert.Equal(t, "L-1", o.Loan)
	})
	t.Run("pending pledge, deadline past validity", func(t *testing.T) {
		h.t = t
		q := h.fresh(1_000, TraderA)
		h.fail(trading.ErrBadDeadline, by(TraderA), offerOp("O-V", q, TraderB, 1, q.ValidUntil+1))
		h.requestPledge(q, BankA)
		h.fail(receipt.ErrAlreadyPledged, by(TraderA, BankA), offerOp("O-Q", h.receipt(q.ID), TraderB, 1, dl))
	})
}

func TestWithdrawOffer(t *testing.T) {
	h := newHarness(t)
	r := h.fresh(10_000, TraderA)
	h.ok(by(TraderA), offerOp("O-1", r, TraderB, 7_000_000, h.Block.Time+day))
	h.fail(trading.ErrNotSeller, by(TraderB), &trading.WithdrawOffer{Offer: "O-1"})
	h.fail(trading.ErrOfferNotFound, by(TraderA), &trading.WithdrawOffer{Offer: "O-9"})
	h.ok(by(TraderA), &trading.WithdrawOffer{Offer: "O-1"})
	assert.Equal(t, trading.OfferWithdrawn, h.offer("O-1").Status)
	h.fail(trading.ErrOfferNotOpen, by(TraderA), &trading.WithdrawOffer{Offer: "O-1"})
	h.fail(trading.ErrOfferNotOpen, by(TraderB), &trading.AcceptOffer{Offer: "O-1", BuyerBank: BankB})
}

func TestAcceptOffer(t *testing.T) {
	h := newHarness(t)
	r := h.fresh(10_000, TraderA)
	dl := h.Block.Time + 2*day
	h.ok(by(TraderA), offerOp("O-1", r, TraderB, 7_000_000, dl))
	accept := &trading.AcceptOffer{Offer: "O-1", BuyerBank: BankB}
	h.fail(trading.ErrNotBuyer, by(TraderA), accept)
	h.fail(trading.ErrNotBuyer, by(BankB), accept)
	h.fail(receipt.ErrNotABank, by(TraderB), &trading.AcceptOffer{Offer: "O-1", BuyerBank: TraderA})
	h.fail(receipt.ErrUnknownParticipant, by(TraderB), &trading.AcceptOffer{Offer: "O-1", BuyerBank: "bank-zz"})
	h.fail(trading.ErrOfferNotFound, by(TraderB), &trading.AcceptOffer{Offer: "O-9", BuyerBank: BankB})

	// The receipt changed since the offer: the buyer does not get what it was offered.
	h.ok(by(Operator, TraderA), &receipt.Amend{Receipt: r.ID, Version: r.Version, Description: "copper cathode, re-strapped", ThirdPartyClaims: "none known"})
	h.fail(trading.ErrOfferChanged, by(TraderB), accept)
	r = h.receipt(r.ID)
	h.ok(by(TraderA), offerOp("O-2", r, TraderB, 7_000_000, dl))
	res := h.ok(by(TraderB), &trading.AcceptOffer{Offer: "O-2", BuyerBank: BankB})
	assert.True(t, hasEvent(res, trading.EvOfferAccepted))
	assert.True(t, hasEvent(res, receipt.EvTransferInitiated))
	got := h.receipt(r.ID)
	assert.Equal(t, receipt.StateTransferPending, got.State)
	assert.Equal(t, TraderA, got.Holder, "title does not move before settlement")
	assert.Equal(t, "O-2", got.Transfer.Trade)
	tr := h.trade("O-2")
	assert.Equal(t, trading.TradeAwaitingFunds, tr.Status)
	assert.Equal(t, BankB, tr.BuyerBank)
	h.fail(trading.ErrOfferNotOpen, by(TraderB), &trading.AcceptOffer{Offer: "O-2", BuyerBank: BankB})

	// Locked: it cannot be sold twice, pledged, split, redeemed or moved by receipt ops.
	h.fail(receipt.ErrTransferPending, by(TraderA), offerOp("O-3", got, BankA, 1, dl))
	h.fail(receipt.ErrTransferPending, by(TraderA), &receipt.RequestPledge{Pledge: "PL-X", Receipt: r.ID, Version: got.Version, Bank: BankA, Maturity: dl})
	h.fail(receipt.ErrTransferPending, by(TraderA), &receipt.Split{Receipt: r.ID, Version: got.Version, Parts: []receipt.Part{{ID: "S-1", Quantity: 1}, {ID: "S-2", Quantity: 9_999}}})
	h.fail(receipt.ErrTransferPending, by(TraderA), &warehouse.RequestDelivery{Receipt: r.ID, Version: got.Version, Quantity: 1})
	h.fail(receipt.ErrTradeLocked, by(TraderB), &receipt.AcceptTransfer{Receipt: r.ID, Version: got.Version})
	h.fail(receipt.ErrTradeLocked, by(TraderA), &receipt.CancelTransfer{Receipt: r.ID})

	// Past the deadline an open offer can no longer be accepted.
	q := h.fresh(1_000, TraderA)
	h.ok(by(TraderA), offerOp("O-4", q, TraderB, 1, h.Block.Time+day))
	h.Advance(day + 1)
	h.fail(trading.ErrDeadlinePassed, by(TraderB), &trading.AcceptOffer{Offer: "O-4", BuyerBank: BankB})
}

func TestConfirmFunds(t *testing.T) {
	h := newHarness(t)
	r := h.fresh(10_000, TraderA)
	h.ok(by(TraderA), offerOp("O-1", r, TraderB, 7_000_000, h.Block.Time+2*day))
	h.ok(by(TraderB), &trading.AcceptOffer{Offer: "O-1", BuyerBank: BankB})
	funds := func(amount uint64, currency string) *trading.ConfirmFunds {
		return &trading.ConfirmFunds{Trade: "O-1", AmountMinor: amount, Currency: currency, EscrowRef: "ESC-1"}
	}
	h.fail(trading.ErrNotBuyerBank, by(BankA), funds(7_000_000, usd))
	h.fail(trading.ErrNotBuyerBank, by(TraderB), funds(7_000_000, usd))
	h.fail(trading.ErrAmountMismatch, by(BankB), funds(6_999_999, usd))
	h.fail(trading.ErrAmountMismatch, by(BankB), funds(7_000_000, "EUR"))
	h.fail(trading.ErrTradeNotFound, by(BankB), &trading.ConfirmFunds{Trade: "O-9", AmountMinor: 1, Currency: usd})
	h.ok(by(BankB), funds(7_000_000, usd))
	assert.Equal(t, trading.TradeFunded, h.trade("O-1").Status)
	h.fail(trading.ErrNotAwaitingFunds, by(BankB), funds(7_000_000, usd))

	q := h.fresh(1_000, TraderA)
	h.ok(by(TraderA), offerOp("O-2", q, TraderB, 1, h.Block.Time+day))
	h.ok(by(TraderB), &trading.AcceptOffer{Offer: "O-2", BuyerBank: BankB})
	h.Advance(day + 1)
	h.fail(trading.ErrDeadlinePassed, by(BankB), &trading.ConfirmFunds{Trade: "O-2", AmountMinor: 1, Currency: usd})
}

// TestSettle is delivery versus payment: without funds nothing moves; with
// them the receipt and the payment move in one tx.
func TestSettle(t *testing.T) {
	h := newHarness(t)
	r := h.fresh(10_000, TraderA)
	h.ok(by(TraderA), offerOp("O-1", r, TraderB, 7_000_000, h.Block.Time+2*day))
	h.ok(by(TraderB), &trading.AcceptOffer{Offer: "O-1", BuyerBank: BankB})
	// Settlement without funds.
	h.fail(trading.ErrNoFunds, by(TraderA), &trading.Settle{Trade: "O-1"})
	h.fail(trading.ErrNoFunds, by(TraderB), &trading.Settle{Trade: "O-1"})
	h.ok(by(BankB), &trading.ConfirmFunds{Trade: "O-1", AmountMinor: 7_000_000, Currency: usd})
	h.fail(trading.ErrNotParty, by(BankB), &trading.Settle{Trade: "O-1"})
	h.fail(trading.ErrNotParty, by(BankA), &trading.Settle{Trade: "O-1"})
	h.fail(trading.ErrTradeNotFound, by(TraderA), &trading.Settle{Trade: "O-9"})
	// If the goods leg cannot go, nothing moves.
	h.setHealth(r.Lot, warehouse.HealthUnverified)
	h.fail(warehouse.ErrLotUnhealthy, by(TraderB), &trading.Settle{Trade: "O-1"})
	h.setHealth(r.Lot, warehouse.HealthOK)
	h.ok(by(Regulator), &receipt.Freeze{Receipt: r.ID, Reason: "inquiry"})
	h.fail(receipt.ErrFrozen, by(TraderB), &trading.Settle{Trade: "O-1"})
	h.ok(by(Regulator), &receipt.Unfreeze{Receipt: r.ID, Reason: "cleared"})

	res := h.ok(by(TraderB), &trading.Settle{Trade: "O-1"})
	assert.True(t, hasEvent(res, trading.EvTradeSettled))
	assert.True(t, hasEvent(res, receipt.EvTransferAccepted))
	got := h.receipt(r.ID)
	assert.Equal(t, TraderB, got.Holder)
	assert.Equal(t, receipt.StateIssued, got.State)
	assert.Nil(t, got.Transfer)
	s, ok := Get[trading.Settlement](h.Store, trading.SettlementKey("O-1"))
	require.True(t, ok)
	assert.Equal(t, uint64(7_000_000), s.ToSellerMinor)
	assert.Zero(t, s.ToLoanMinor)
	assert.Equal(t, got.Version, s.ReceiptVersion)
	assert.Equal(t, trading.TradeSettled, h.trade("O-1").Status)
	h.fail(trading.ErrTradeClosed, by(TraderB), &trading.Settle{Trade: "O-1"})
	h.fail(trading.ErrTradeClosed, by(TraderB), &trading.CancelTrade{Trade: "O-1", Reason: "x"})

	// After the deadline no settlement: the trade can only be cancelled.
	q := h.fresh(1_000, TraderA)
	h.funded("O-2", q, TraderA, TraderB, BankB, 1)
	h.Advance(5*day + 1)
	h.fail(trading.ErrDeadlinePassed, by(TraderA), &trading.Settle{Trade: "O-2"})
	// A receipt locked by a trade is not expired under it: cancel first.
	h.Advance(181 * day)
	h.fail(receipt.ErrTradeLocked, by(TraderB), &receipt.Expire{Receipt: q.ID})
	h.ok(by(TraderB), &trading.CancelTrade{Trade: "O-2", Reason: "lapsed"})
	h.ok(by(TraderB), &receipt.Expire{Receipt: q.ID})
}

func TestCancelTrade(t *testing.T) {
	h := newHarness(t)
	cancel := func(id string) *trading.CancelTrade { return &trading.CancelTrade{Trade: id, Reason: "changed terms"} }

	r := h.fresh(10_000, TraderA)
	h.ok(by(TraderA), offerOp("O-1", r, TraderB, 7_000_000, h.Block.Time+2*day))
	h.ok(by(TraderB), &trading.AcceptOffer{Offer: "O-1", BuyerBank: BankB})
	h.fail(trading.ErrNotParty, by(BankA), cancel("O-1"))
	h.fail(receipt.ErrMissingField, by(TraderA), &trading.CancelTrade{Trade: "O-1"})
	res := h.ok(by(BankB), cancel("O-1")) // the buyer's bank will not fund
	assert.True(t, hasEvent(res, trading.EvTradeCancelled))
	assert.Equal(t, receipt.StateIssued, h.receipt(r.ID).State, "the receipt returns")
	assert.Equal(t, trading.TradeCancelled, h.trade("O-1").Status)

	// A funded trade: not by one party alone before the deadline.
	r = h.receipt(r.ID)
	h.funded("O-2", r, TraderA, TraderB, BankB, 7_000_000)
	h.fail(trading.ErrCancelRefused, by(TraderA), cancel("O-2"))
	h.fail(trading.ErrCancelRefused, by(TraderB), cancel("O-2"))
	h.fail(trading.ErrCancelRefused, by(BankB), cancel("O-2"))
	h.ok(by(TraderA, TraderB), cancel("O-2"))
	assert.Equal(t, receipt.StateIssued, h.receipt(r.ID).State)

	// After the deadline anyone may cancel, even under a freeze; the
	// receipt then returns to its holder when unfrozen.
	r = h.receipt(r.ID)
	h.funded("O-3", r, TraderA, TraderB, BankB, 7_000_000)
	h.ok(by(Regulator), &receipt.Freeze{Receipt: r.ID, Reason: "inquiry"})
	h.fail(receipt.ErrFrozen, by(TraderB), &trading.Settle{Trade: "O-3"})
	h.fail(trading.ErrCancelRefused, by(Admin1), cancel("O-3"))
	h.Advance(5*day + 1)
	h.ok(by(Admin1), cancel("O-3"))
	frozen := h.receipt(r.ID)
	assert.Equal(t, receipt.StateFrozen, frozen.State)
	assert.Equal(t, receipt.StateIssued, frozen.Frozen.Prior)
	h.ok(by(Regulator), &receipt.Unfreeze{Receipt: r.ID, Reason: "cleared"})
	assert.Equal(t, TraderA, h.receipt(r.ID).Holder)
}

// TestSaleOfPledgedReceipt: with the bank's consent, the proceeds pay the
// loan first, the pledge closes and the receipt moves, all in one tx.
func TestSaleOfPledgedReceipt(t *testing.T) {
	h := newHarness(t)
	h.financed()
	r1, p1 := h.pledgedReceipt(10_000, TraderA, BankA) // 7,200,000 each
	r2, p2 := h.pledgedReceipt(10_000, TraderA, BankA)
	h.openLoan("L-1", BankA, TraderA, 9_000_000, p1, p2)
	h.ok(by(BankA), &financing.RecordDisbursement{Loan: "L-1", Amount: 9_000_000})

	// Sell r1 for 7,500,000: the loan takes it all.
	h.funded("O-1", r1, TraderA, TraderB, BankB, 7_500_000, BankA)
	assert.Equal(t, p1, h.trade("O-1").Pledge)
	h.fail(receipt.ErrPledgeTransferActive, by(BankA), &receipt.InvokePledge{Pledge: p1})
	res := h.ok(by(TraderA), &trading.Settle{Trade: "O-1"})
	assert.True(t, hasEvent(res, receipt.EvPledgeReleased))
	assert.True(t, hasEvent(res, financing.EvLoanRepayment))
	s, _ := Get[trading.Settlement](h.Store, trading.SettlementKey("O-1"))
	assert.Equal(t, uint64(7_500_000), s.ToLoanMinor)
	assert.Zero(t, s.ToSellerMinor)
	assert.Equal(t, uint64(1_500_000), s.LoanOutstanding)
	assert.Equal(t, TraderB, h.receipt(r1.ID).Holder)
	assert.Equal(t, receipt.PledgeReleased, h.pledgeRec(p1).Status)
	l := h.loan("L-1")
	assert.Equal(t, uint64(1_500_000), l.Outstanding)
	assert.Equal(t, financing.LoanOpen, l.Status)

	// Sell r2 for 7,000,000: 1,500,000 repays the loan, 5,500,000 is the seller's.
	h.funded("O-2", h.receipt(r2.ID), TraderA, BankB, BankB, 7_000_000, BankA)
	h.ok(by(BankB), &trading.Settle{Trade: "O-2"})
	s, _ = Get[trading.Settlement](h.Store, trading.SettlementKey("O-2"))
	assert.Equal(t, uint64(1_500_000), s.ToLoanMinor)
	assert.Equal(t, uint64(5_500_000), s.ToSellerMinor)
	assert.Equal(t, financing.LoanRepaid, h.loan("L-1").Status)
	assert.Equal(t, BankB, h.receipt(r2.ID).Holder)
	assert.Equal(t, receipt.StateIssued, h.receipt(r2.ID).State)
	assert.Empty(t, h.openLoans())
}

// TestPartialSale: split, then sell one part.
func TestPartialSale(t *testing.T) {
	h := newHarness(t)
	r := h.fresh(25_000, TraderA)
	h.ok(by(TraderA), &receipt.Split{Receipt: r.ID, Version: r.Version, Parts: []receipt.Part{{ID: "P-10", Quantity: 10_000}, {ID: "P-15", Quantity: 15_000}}})
	h.funded("O-1", h.receipt("P-10"), TraderA, TraderB, BankB, 8_000_000)
	h.ok(by(TraderA), &trading.Settle{Trade: "O-1"})
	assert.Equal(t, TraderB, h.receipt("P-10").Holder)
	assert.Equal(t, TraderA, h.receipt("P-15").Holder)
	assert.Equal(t, uint64(10_000), h.receipt("P-10").Quantity)
}
