package ledger

import (
	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
	"github.com/stretchr/testify/require"
)

// Copper as the harness stocks it ("copper cathode", kg), priced in US
// cents per tonne.
const (
	copper = "copper cathode"
	usd    = "USD"
)

// policy is a credit policy on copper: 10% haircut, 75% initial and 85%
// maintenance LTV, two days' grace for a margin call.
func policyOp() *financing.SetCreditPolicy {
	return &financing.SetCreditPolicy{Commodity: copper, HaircutBps: 1_000, InitialLTVBps: 7_500, MaintenanceLTVBps: 8_500,
		MarginCallGraceSec: 2 * day}
}

func (h *harness) policy(bank string) {
	h.t.Helper()
	h.ok(by(bank), policyOp())
}

func (h *harness) price(minorPerTonne uint64) Result {
	h.t.Helper()
	return h.ok(by(Oracle), &financing.PostPrice{Commodity: copper, Currency: usd, MinorPerTonne: minorPerTonne})
}

func (h *harness) loanOp(id, borrower string, principal uint64, maturity int64, pledges ...string) *financing.OpenLoan {
	return &financing.OpenLoan{Loan: id, Borrower: borrower, Pledges: pledges, Currency: usd, Principal: principal, Maturity: maturity}
}

// openLoan opens a loan of bank to borrower on pledges, maturing in 60 days.
func (h *harness) openLoan(id, bank, borrower string, principal uint64, pledges ...string) *financing.Loan {
	h.t.Helper()
	h.ok(by(bank, borrower), h.loanOp(id, borrower, principal, h.Block.Time+60*day, pledges...))
	return h.loan(id)
}

func (h *harness) loan(id string) *financing.Loan {
	h.t.Helper()
	l, ok := Get[financing.Loan](h.Store, financing.LoanKey(id))
	require.True(h.t, ok, "loan %s", id)
	return l
}

func (h *harness) openLoans() []string {
	idx, ok := Get[financing.OpenLoans](h.Store, financing.IndexKey(usd, copper))
	if !ok {
		return nil
	}
	return idx.Loans
}

func (h *harness) offer(id string) *trading.Offer {
	h.t.Helper()
	o, ok := Get[trading.Offer](h.Store, trading.OfferKey(id))
	require.True(h.t, ok, "offer %s", id)
	return o
}

func (h *harness) trade(id string) *trading.Trade {
	h.t.Helper()
	t, ok := Get[trading.Trade](h.Store, trading.TradeKey(id))
	require.True(h.t, ok, "trade %s", id)
	return t
}

// financed sets up copper lending: both banks' policies and a price of
// USD 8,000 a tonne (800,000 cents).
func (h *harness) financed() {
	h.t.Helper()
	h.policy(BankA)
	h.policy(BankB)
	h.price(800_000)
}

// pledgedReceipt stocks qty kg for holder and pledges it to bank.
func (h *harness) pledgedReceipt(qty uint64, holder, bank string) (*receipt.Receipt, string) {
	h.t.Helper()
	r := h.fresh(qty, holder)
	pid := h.pledge(r, bank)
	return h.receipt(r.ID), pid
}

func hasEvent(res Result, typ string) bool {
	for _, e := range res.Events {
		if e.Type == typ {
			return true
		}
	}
	return false
}

func countEvents(res Result, typ string) int {
	n := 0
	for _, e := range res.Events {
		if e.Type == typ {
			n++
		}
	}
	return n
}
