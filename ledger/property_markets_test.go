package ledger

import (
	"strings"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
	"pgregory.net/rapid"
)

// The financing and trading half of the property model: honest lending
// and selling, and the attacks on them: a pledge securing a second loan,
// principal over the initial LTV, money moved by someone other than the
// bank, a default before any deadline, the sale of a pledged receipt
// without the bank, settlement without funds. The model's commodity is
// "copper" in kg, priced in USD.

const propCommodity = "copper"

func (m *model) marketActions() map[string]func(*rapid.T) {
	return map[string]func(*rapid.T){
		"setPolicy":     m.setPolicy,
		"postPrice":     m.postPrice,
		"openLoan":      m.openLoan,
		"disburse":      m.disburse,
		"repay":         m.repay,
		"addCollateral": m.addCollateral,
		"markDefault":   m.markDefault,
		"cancelLoan":    m.cancelLoan,
		"offer":         m.offer,
		"acceptOffer":   m.acceptOffer,
		"confirmFunds":  m.confirmFunds,
		"settle":        m.settle,
		"cancelTrade":   m.cancelTrade,
		"borrow":        m.borrow,
		"sell":          m.sell,
	}
}

// sell is delivery versus payment end to end, step by step: offer (with
// the pledgee's consent if the receipt is pledged), acceptance, funds,
// settlement.
func (m *model) sell(t *rapid.T) {
	r, ok := m.liveReceipt(t)
	if !ok || (r.State != receipt.StateIssued && r.State != receipt.StatePledged) || r.Expired(m.sim.Block.Time) {
		return
	}
	signers := by(r.Holder)
	if r.State == receipt.StatePledged {
		p, _ := m.sim.Pledge(r.Pledge)
		signers = append(signers, p.Bank)
	}
	var buyers []string
	for _, h := range holders {
		if h != r.Holder {
			buyers = append(buyers, h)
		}
	}
	buyer := rapid.SampledFrom(buyers).Draw(t, "buyer")
	id := m.id("O")
	price := rapid.Uint64Range(1, 20_000_000).Draw(t, "price")
	deadline := min(m.sim.Block.Time+rapid.Int64Range(1, 5).Draw(t, "days")*day, r.ValidUntil)
	if deadline <= m.sim.Block.Time ||
		!m.step("offer", mayPass, signers, &trading.CreateOffer{Offer: id, Receipt: r.ID, Version: r.Version, Buyer: buyer, PriceMinor: price, Currency: "USD", Deadline: deadline}) {
		return
	}
	bank := rapid.SampledFrom([]string{BankA, BankB}).Draw(t, "buyerBank")
	if !m.step("acceptOffer", mayPass, by(buyer), &trading.AcceptOffer{Offer: id, BuyerBank: bank}) {
		return
	}
	if !m.step("confirmFunds", mayPass, by(bank), &trading.ConfirmFunds{Trade: id, AmountMinor: price, Currency: "USD"}) {
		return
	}
	m.settle(t)
}

// borrow is the honest path end to end, step by step: the holder pledges a
// free receipt, the bank confirms and opens a loan within its policy and
// draws some of it.
func (m *model) borrow(t *rapid.T) {
	r, ok := m.liveReceipt(t)
	if !ok || r.State != receipt.StateIssued || r.Pledge != "" || r.Holder == BankA || r.Holder == BankB {
		return
	}
	bank := rapid.SampledFrom([]string{BankA, BankB}).Draw(t, "bank")
	if _, ok := Get[financing.CreditPolicy](m.sim.Store, financing.PolicyKey(bank, propCommodity)); !ok {
		m.step("setPolicy", mayPass, by(bank), &financing.SetCreditPolicy{Commodity: propCommodity, HaircutBps: 1_000,
			InitialLTVBps: 7_000, MaintenanceLTVBps: 8_000, MarginCallGraceSec: day})
	}
	if _, ok := Get[financing.Price](m.sim.Store, financing.PriceKey("USD", propCommodity)); !ok {
		m.step("postPrice", mayPass, by(Oracle), &financing.PostPrice{Commodity: propCommodity, Currency: "USD", MinorPerTonne: 900_000})
	}
	now := m.sim.Block.Time
	maturity := min(now+rapid.Int64Range(5, 60).Draw(t, "pledgeDays")*day, r.ValidUntil)
	pid := m.id("P")
	if !m.step("requestPledge", mayPass, by(r.Holder), &receipt.RequestPledge{Pledge: pid, Receipt: r.ID, Version: r.Version, Bank: bank, Maturity: maturity}) {
		return
	}
	m.pledges = append(m.pledges, pid)
	if !m.step("confirmPledge", mayPass, by(bank), &receipt.ConfirmPledge{Pledge: pid, ReceiptVersion: m.receipt(r.ID).Version}) {
		return
	}
	max, ok := m.maxAdvance(bank, []string{pid})
	if !ok || max == 0 || rapid.IntRange(0, 3).Draw(t, "declines") == 0 {
		// The bank declines to lend and gives the receipt back.
		m.step("releasePledge", mayPass, by(bank), &receipt.ReleasePledge{Pledge: pid})
		return
	}
	loan := m.id("LN")
	principal := rapid.Uint64Range(1, max).Draw(t, "principal")
	if !m.step("openLoan", mayPass, by(bank, r.Holder), &financing.OpenLoan{Loan: loan, Borrower: r.Holder, Pledges: []string{pid},
		Currency: "USD", Principal: principal, Maturity: now + rapid.Int64Range(1, (maturity-now)/day).Draw(t, "loanDays")*day}) {
		return
	}
	m.step("disburse", mayPass, by(bank), &financing.RecordDisbursement{Loan: loan, Amount: rapid.Uint64Range(1, principal).Draw(t, "drawn")})
}

// ids lists the ids of the records under prefix, sorted.
func (m *model) ids(prefix string) []string {
	var out []string
	m.sim.Store.Range(prefix, func(k string, _ []byte) { out = append(out, strings.TrimPrefix(k, prefix)) })
	return out
}

func (m *model) loanWhere(t *rapid.T, ok func(*financing.Loan) bool) (*financing.Loan, bool) {
	var ids []string
	for _, id := range m.ids(financing.PrefixLoan) {
		if l, _ := Get[financing.Loan](m.sim.Store, financing.LoanKey(id)); ok(l) {
			ids = append(ids, id)
		}
	}
	id, found := m.pick(t, "loan", ids)
	if !found {
		return nil, false
	}
	l, _ := Get[financing.Loan](m.sim.Store, financing.LoanKey(id))
	return l, true
}

func (m *model) tradeWhere(t *rapid.T, ok func(*trading.Trade) bool) (*trading.Trade, bool) {
	var ids []string
	for _, id := range m.ids(trading.PrefixTrade) {
		if tr, _ := Get[trading.Trade](m.sim.Store, trading.TradeKey(id)); ok(tr) {
			ids = append(ids, id)
		}
	}
	id, found := m.pick(t, "trade", ids)
	if !found {
		return nil, false
	}
	tr, _ := Get[trading.Trade](m.sim.Store, trading.TradeKey(id))
	return tr, true
}

// freePledges are the ACTIVE pledges that secure no loan, optionally of one
// pledgor to one bank.
func (m *model) freePledges(pledgor, bank string) []string {
	var out []string
	for _, id := range m.pledges {
		p, _ := m.sim.Pledge(id)
		if p.Status == receipt.PledgeActive && p.Loan == "" && (pledgor == "" || (p.Pledgor == pledgor && p.Bank == bank)) {
			out = append(out, id)
		}
	}
	return out
}

func (m *model) setPolicy(t *rapid.T) {
	bank := rapid.SampledFrom([]string{BankA, BankB}).Draw(t, "bank")
	signer, want := m.signerFor(t, bank)
	if signer != bank {
		if p, _ := m.sim.Store.Get(receipt.ParticipantKey(signer)); p == nil || !strings.HasPrefix(signer, "bank-") {
			want = mustFail // only a bank sets a credit policy (its own)
		} else {
			want = mayPass // the other bank setting its own
		}
	}
	initial := uint32(rapid.IntRange(5_000, 8_000).Draw(t, "initial"))
	maint := initial + uint32(rapid.IntRange(0, 1_000).Draw(t, "margin"))
	if rapid.IntRange(0, 9).Draw(t, "invertLTV") == 0 {
		maint, want = initial-1, mustFail
	}
	m.step("setPolicy", want, by(signer), &financing.SetCreditPolicy{Commodity: propCommodity,
		HaircutBps: uint32(rapid.IntRange(500, 3_000).Draw(t, "haircut")), InitialLTVBps: initial, MaintenanceLTVBps: maint,
		MarginCallGraceSec: rapid.Int64Range(1, 3).Draw(t, "graceDays") * day})
}

func (m *model) postPrice(t *rapid.T) {
	signer, want := m.signerFor(t, Oracle)
	price := rapid.Uint64Range(500_000, 1_000_000).Draw(t, "price")
	m.step("postPrice", want, by(signer), &financing.PostPrice{Commodity: propCommodity, Currency: "USD", MinorPerTonne: price})
}

// maxAdvance is the most a bank may lend on pledges, worked out here apart
// from package financing: Σ kg × price / 1000 × (10000 − haircut) / 10000,
// rounded down once, × initial / 10000. ok is false without policy or price.
func (m *model) maxAdvance(bank string, pledges []string) (uint64, bool) {
	pol, okPol := Get[financing.CreditPolicy](m.sim.Store, financing.PolicyKey(bank, propCommodity))
	pr, okPr := Get[financing.Price](m.sim.Store, financing.PriceKey("USD", propCommodity))
	if !okPol || !okPr {
		return 0, false
	}
	var kg uint64
	for _, id := range pledges {
		p, _ := m.sim.Pledge(id)
		kg += m.receipt(p.Receipt).Quantity // the model's lots are in kg
	}
	value := kg * pr.MinorPerTonne * uint64(10_000-pol.HaircutBps) / 10_000_000
	return value * uint64(pol.InitialLTVBps) / 10_000, true
}

func (m *model) openLoan(t *rapid.T) {
	free := m.freePledges("", "")
	first, ok := m.pick(t, "pledge", free)
	if !ok {
		return
	}
	p, _ := m.sim.Pledge(first)
	pledges := []string{first}
	if more := m.freePledges(p.Pledgor, p.Bank); len(more) > 1 && rapid.Bool().Draw(t, "two") {
		if second := rapid.SampledFrom(more).Draw(t, "second"); second != first {
			pledges = append(pledges, second)
		}
	}
	want := mayPass
	bank, borrower := p.Bank, p.Pledgor
	signers := by(bank, borrower)
	switch rapid.IntRange(0, 11).Draw(t, "attack") {
	case 0: // the double pledge across loans
		var secured []string
		for _, id := range m.pledges {
			if q, _ := m.sim.Pledge(id); q.Loan != "" && q.Status == receipt.PledgeActive {
				secured = append(secured, id)
			}
		}
		if id, ok := m.pick(t, "secured", secured); ok {
			pledges, want = append(pledges, id), mustFail
		}
	case 1: // another bank lends on this bank's pledge
		other := BankA
		if bank == BankA {
			other = BankB
		}
		signers, want = by(other, borrower), mustFail
	case 2: // without the borrower
		signers, want = by(bank), mustFail
	}
	max, priced := m.maxAdvance(bank, pledges)
	principal := rapid.Uint64Range(1, max+1).Draw(t, "principal")
	if rapid.IntRange(0, 5).Draw(t, "overAdvance") == 0 {
		principal = max + rapid.Uint64Range(1, max+1).Draw(t, "over")
	}
	if priced && principal > max {
		want = mustFail // over the initial LTV
	}
	// Mostly within the pledge's own term, sometimes past it.
	maturity := m.sim.Block.Time + rapid.Int64Range(1, 40).Draw(t, "maturityDays")*day
	if maturity > p.Maturity && rapid.IntRange(0, 3).Draw(t, "pastPledge") != 0 {
		maturity = p.Maturity
	}
	op := &financing.OpenLoan{Loan: m.id("LN"), Borrower: borrower, Pledges: pledges, Currency: "USD", Principal: principal,
		Maturity: maturity}
	m.step("openLoan", want, signers, op)
}

func (m *model) disburse(t *rapid.T) {
	l, ok := m.loanWhere(t, func(l *financing.Loan) bool { return l.Status == financing.LoanOpen })
	if !ok {
		return
	}
	signer, want := m.signerFor(t, l.Bank)
	undrawn := l.Principal - l.Disbursed
	amount := rapid.Uint64Range(1, undrawn+1).Draw(t, "amount")
	if amount > undrawn {
		want = mustFail
	}
	m.step("disburse", want, by(signer), &financing.RecordDisbursement{Loan: l.ID, Amount: amount})
}

func (m *model) repay(t *rapid.T) {
	l, ok := m.loanWhere(t, func(l *financing.Loan) bool {
		return l.Outstanding > 0 && (l.Status == financing.LoanOpen || l.Status == financing.LoanDefaulted)
	})
	if !ok {
		return
	}
	signer, want := m.signerFor(t, l.Bank)
	amount := rapid.Uint64Range(1, l.Outstanding+1).Draw(t, "amount")
	if amount > l.Outstanding {
		want = mustFail
	}
	if rapid.Bool().Draw(t, "full") && want == mayPass {
		amount = l.Outstanding
	}
	if m.step("repay", want, by(signer), &financing.RecordRepayment{Loan: l.ID, Amount: amount}) && amount == l.Outstanding {
		if after, _ := Get[financing.Loan](m.sim.Store, financing.LoanKey(l.ID)); after.Status != financing.LoanRepaid {
			m.t.Fatalf("loan %s paid in full is %s", l.ID, after.Status)
		}
	}
}

func (m *model) addCollateral(t *rapid.T) {
	l, ok := m.loanWhere(t, func(l *financing.Loan) bool { return l.Status == financing.LoanOpen })
	if !ok {
		return
	}
	want := mayPass
	id, ok := m.pick(t, "pledge", m.freePledges(l.Borrower, l.Bank))
	if !ok || rapid.IntRange(0, 4).Draw(t, "otherLoans") == 0 {
		var secured []string
		for _, pid := range m.pledges {
			if q, _ := m.sim.Pledge(pid); q.Loan != "" {
				secured = append(secured, pid)
			}
		}
		if id, ok = m.pick(t, "secured", secured); !ok {
			return
		}
		want = mustFail // a pledge already securing a loan
	}
	signer, sw := m.signerFor(t, l.Bank)
	m.step("addCollateral", worst(want, sw), by(signer, l.Borrower), &financing.AddCollateral{Loan: l.ID, Pledges: []string{id}})
}

func (m *model) markDefault(t *rapid.T) {
	l, ok := m.loanWhere(t, func(l *financing.Loan) bool { return l.Status == financing.LoanOpen })
	if !ok {
		return
	}
	signer, want := m.signerFor(t, l.Bank)
	now := m.sim.Block.Time
	if !((l.Call != nil && now > l.Call.Deadline) || (now > l.Maturity && l.Outstanding > 0)) {
		want = mustFail // enforcement before the deadline
	}
	m.step("markDefault", want, by(signer), &financing.MarkDefault{Loan: l.ID})
}

func (m *model) cancelLoan(t *rapid.T) {
	l, ok := m.loanWhere(t, func(l *financing.Loan) bool { return l.Status == financing.LoanOpen })
	if !ok {
		return
	}
	signer := rapid.SampledFrom([]string{l.Bank, l.Borrower, TraderB, Regulator}).Draw(t, "signer")
	want := mayPass
	if l.Disbursed > 0 || (signer != l.Bank && signer != l.Borrower) {
		want = mustFail
	}
	m.step("cancelLoan", want, by(signer), &financing.CancelLoan{Loan: l.ID, Reason: "not needed"})
}

func (m *model) offer(t *rapid.T) {
	r, ok := m.liveReceipt(t)
	if !ok {
		return
	}
	signer, sw := m.signerFor(t, r.Holder)
	v, vw := versionFor(t, r.Version)
	want := worst(sw, vw)
	signers := by(signer)
	if r.Pledge != "" {
		p, _ := m.sim.Pledge(r.Pledge)
		if p.Status == receipt.PledgeActive && rapid.Bool().Draw(t, "bankConsents") {
			signers = append(signers, p.Bank)
		} else {
			want = mustFail // the sale of a pledged receipt without consent
		}
	}
	if r.State == receipt.StateFrozen {
		want = mustFail
	}
	op := &trading.CreateOffer{Offer: m.id("O"), Receipt: r.ID, Version: v, Buyer: rapid.SampledFrom(holders).Draw(t, "buyer"),
		PriceMinor: rapid.Uint64Range(1, 20_000_000).Draw(t, "price"), Currency: "USD",
		Deadline: m.sim.Block.Time + rapid.Int64Range(1, 8).Draw(t, "days")*day}
	m.step("offer", want, signers, op)
}

func (m *model) acceptOffer(t *rapid.T) {
	var open []string
	for _, id := range m.ids(trading.PrefixOffer) {
		if o, _ := Get[trading.Offer](m.sim.Store, trading.OfferKey(id)); o.Status == trading.OfferOpen {
			open = append(open, id)
		}
	}
	id, ok := m.pick(t, "offer", open)
	if !ok {
		return
	}
	o, _ := Get[trading.Offer](m.sim.Store, trading.OfferKey(id))
	signer, want := m.signerFor(t, o.Buyer)
	m.step("acceptOffer", want, by(signer), &trading.AcceptOffer{Offer: id, BuyerBank: rapid.SampledFrom([]string{BankA, BankB}).Draw(t, "bank")})
}

func (m *model) confirmFunds(t *rapid.T) {
	tr, ok := m.tradeWhere(t, func(tr *trading.Trade) bool { return tr.Status == trading.TradeAwaitingFunds })
	if !ok {
		return
	}
	signer, want := m.signerFor(t, tr.BuyerBank)
	amount := tr.PriceMinor
	if rapid.IntRange(0, 9).Draw(t, "short") == 0 {
		amount, want = amount-1, mustFail
		if amount == 0 {
			return
		}
	}
	m.step("confirmFunds", want, by(signer), &trading.ConfirmFunds{Trade: tr.ID, AmountMinor: amount, Currency: tr.Currency})
}

func (m *model) settle(t *rapid.T) {
	tr, ok := m.tradeWhere(t, func(tr *trading.Trade) bool { return tr.Status.Open() })
	if !ok {
		return
	}
	party := rapid.SampledFrom([]string{tr.Seller, tr.Buyer}).Draw(t, "party")
	signer, want := m.signerFor(t, party)
	if signer == tr.Seller || signer == tr.Buyer {
		want = mayPass
	}
	if tr.Status == trading.TradeAwaitingFunds {
		want = mustFail // settlement without funds
	}
	var before uint64
	if tr.Loan != "" {
		l, _ := Get[financing.Loan](m.sim.Store, financing.LoanKey(tr.Loan))
		before = l.Outstanding
	}
	if !m.step("settle", want, by(signer), &trading.Settle{Trade: tr.ID}) {
		return
	}
	// Delivery versus payment: the receipt is the buyer's, and the loan
	// went down by exactly what the settlement says it was paid.
	if r := m.receipt(tr.Receipt); r.Holder != tr.Buyer || r.Pledge != "" {
		m.t.Fatalf("settled trade %s: receipt %s held by %s, pledge %q", tr.ID, r.ID, r.Holder, r.Pledge)
	}
	s, _ := Get[trading.Settlement](m.sim.Store, trading.SettlementKey(tr.ID))
	if tr.Loan != "" {
		m.passed["settlePledged"]++ // a sale whose proceeds paid a loan
		l, _ := Get[financing.Loan](m.sim.Store, financing.LoanKey(tr.Loan))
		if before-l.Outstanding != s.ToLoanMinor {
			m.t.Fatalf("settled trade %s: loan %s went %d -> %d, settlement paid it %d", tr.ID, l.ID, before, l.Outstanding, s.ToLoanMinor)
		}
	}
}

func (m *model) cancelTrade(t *rapid.T) {
	tr, ok := m.tradeWhere(t, func(tr *trading.Trade) bool { return tr.Status.Open() })
	if !ok {
		return
	}
	signers := rapid.SampledFrom([][]string{by(tr.Seller), by(tr.Buyer), by(tr.BuyerBank), by(tr.Seller, tr.Buyer), by(Regulator)}).Draw(t, "signers")
	m.step("cancelTrade", mayPass, signers, &trading.CancelTrade{Trade: tr.ID, Reason: "called off"})
}
