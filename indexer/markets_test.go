package indexer_test

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"testing"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/simulators"
	"github.com/ewrchain/ewr/trading"
	"github.com/stretchr/testify/require"
)

// The financing and trading blocks the tests index: the markets tour of
// package simulators after the story, and random financing and trading ops
// mixed into randomOps.

// Ids of the markets tour (simulators.Markets with tag "t1").
const (
	marketsTag   = "t1"
	marketsLoan  = "ML1-t1" // defaulted and enforced at the end of the tour
	marketsLoan2 = "ML2-t1" // cancelled before drawing
	marketsR2    = "MR2-t1" // sold by DvP, then pledged to bank-b
	marketsTrade = "MO1-t1" // settled
)

// Ids of the IoT supervision's records in fullStory.
const (
	iotStream  = "EWR_READINGS"
	iotLot     = "MLOT-t1" // the markets tour's copper lot: a gap on its bay scale
	iotDevice  = ledger.Warehouse1 + "-LC-02"
	iotAnchors = 2
)

// fullStory is the story, then the markets tour in a free bay of warehouse
// 1, then the IoT supervision: a monitoring gap on the tour's lot and two
// anchored batches of warehouse 1's readings. Every record type the chain
// has is written.
func fullStory(t testing.TB) (*ledger.Sim, *ledger.World) {
	t.Helper()
	sim, w := story(t)
	var out bytes.Buffer
	m := &simulators.Markets{Driver: &simulators.MemDriver{Sim: sim}, World: w, Out: &out, Tag: marketsTag,
		Bay: ledger.DemoBays[1], ShortSec: 600}
	require.NoError(t, m.Run(context.Background()), out.String())
	do := func(signers []string, op receipt.Op) {
		t.Helper()
		sim.Advance(6)
		_, err := sim.Do(signers, op)
		require.NoError(t, err, "%s", op.Type())
	}
	nowMs := sim.Block.Time * 1000
	do([]string{ledger.Inspector}, &iot.Gap{Lot: iotLot, Device: iotDevice, LastSeenMs: nowMs - 3_600_000, AtMs: nowMs})
	for i := range iotAnchors {
		do([]string{ledger.Inspector}, &iot.AnchorBatch{Warehouse: ledger.Warehouse1, Stream: iotStream,
			FirstSeq: uint64(1 + 100*i), LastSeq: uint64(100 + 100*i), Count: 100, Root: [32]byte{byte(i + 1)}})
	}
	require.NoError(t, ledger.CheckInvariants(sim.Store))
	return sim, w
}

// Wheat, the random ops' commodity, in two currencies.
const wheat = "wheat"

var (
	currencies = []string{"USD", "CNY"}
	// basePrice is wheat per tonne in minor units.
	basePrice = map[string]uint64{"USD": 30_000, "CNY": 215_000}
)

// setupMarkets sets both banks' wheat policies and the first prices.
func (g *randomOps) setupMarkets() {
	for _, st := range []struct {
		signer string
		op     receipt.Op
	}{
		{ledger.BankA, &financing.SetCreditPolicy{Commodity: wheat, HaircutBps: 2_500, InitialLTVBps: 7_000, MaintenanceLTVBps: 8_000, MarginCallGraceSec: 60}},
		{ledger.BankB, &financing.SetCreditPolicy{Commodity: wheat, HaircutBps: 2_000, InitialLTVBps: 7_500, MaintenanceLTVBps: 8_500, MarginCallGraceSec: 120}},
		{ledger.Oracle, &financing.PostPrice{Commodity: wheat, Currency: "USD", MinorPerTonne: basePrice["USD"]}},
		{ledger.Oracle, &financing.PostPrice{Commodity: wheat, Currency: "CNY", MinorPerTonne: basePrice["CNY"]}},
	} {
		g.sim.Advance(6)
		_, err := g.sim.Do([]string{st.signer}, st.op)
		require.NoError(g.t, err, "%s", st.op.Type())
	}
}

// records decodes every record of a prefix that keep accepts.
func records[T any](sim *ledger.Sim, prefix string, keep func(*T) bool) []*T {
	var out []*T
	sim.Store.Range(prefix, func(_ string, v []byte) {
		x := new(T)
		if err := receipt.DecodeRecord(v, x); err != nil {
			panic(err)
		}
		if keep(x) {
			out = append(out, x)
		}
	})
	return out
}

func pickOne[T any](g *randomOps, xs []*T) (*T, bool) {
	if len(xs) == 0 {
		return nil, false
	}
	return xs[g.rng.IntN(len(xs))], true
}

// pct is x × (lo..hi)/100, at least 1.
func (g *randomOps) pct(x uint64, lo, hi int) uint64 {
	return max(1, x*uint64(lo+g.rng.IntN(hi-lo+1))/100)
}

// marketsKinds is how many kinds of op marketsOp makes.
const marketsKinds = 14

// marketsOp returns a random financing or trading op: mostly one that fits
// the state it picks from, else one the chain refuses (a made-up id, an
// amount past the limit, a deadline not yet passed).
func (g *randomOps) marketsOp(kind int) ([]string, receipt.Op) {
	now := g.sim.Block.Time
	sim := g.sim
	loans := func(keep func(l *financing.Loan) bool) []*financing.Loan {
		return records(sim, financing.PrefixLoan, keep)
	}
	open := func(l *financing.Loan) bool { return l.Status == financing.LoanOpen }
	noLoan := &financing.Loan{ID: "LN-none", Bank: ledger.BankA, Borrower: ledger.TraderA, Currency: "USD"}
	orNone := func(l *financing.Loan, ok bool) *financing.Loan {
		if !ok {
			return noLoan
		}
		return l
	}
	cur := currencies[g.rng.IntN(2)]
	switch kind {
	case 0: // the oracle moves the price: down to 55%, up to 130%
		return []string{ledger.Oracle}, &financing.PostPrice{Commodity: wheat, Currency: cur, MinorPerTonne: g.pct(basePrice[cur], 55, 130)}
	case 1, 2: // a bank lends against one or two of its borrower's pledges
		free := records(sim, "pl/", func(p *receipt.Pledge) bool { return p.Status == receipt.PledgeActive && p.Loan == "" })
		p, ok := pickOne(g, free)
		if !ok {
			return []string{ledger.BankA, ledger.TraderA}, &financing.OpenLoan{Loan: g.id("LN"), Borrower: ledger.TraderA,
				Pledges: []string{"PL-none"}, Currency: cur, Principal: 1_000, Maturity: now + 20*day}
		}
		pledges := []string{p.ID}
		for _, q := range free {
			if q.ID != p.ID && q.Bank == p.Bank && q.Pledgor == p.Pledgor && len(pledges) < 2 && g.rng.IntN(2) == 0 {
				pledges = append(pledges, q.ID)
			}
		}
		var grams uint64
		for _, id := range pledges {
			pl, _ := sim.Pledge(id)
			r, _ := sim.Receipt(pl.Receipt)
			grams += r.Quantity * 1000
		}
		pol, _ := ledger.Get[financing.CreditPolicy](sim.Store, financing.PolicyKey(p.Bank, wheat))
		pr, _ := ledger.Get[financing.Price](sim.Store, financing.PriceKey(cur, wheat))
		principal := uint64(1_000)
		if pol != nil && pr != nil {
			v := financing.CollateralValue(new(big.Int).SetUint64(grams), pr.MinorPerTonne, pol.HaircutBps)
			principal = g.pct(financing.Saturate(financing.MaxAdvance(v, pol.InitialLTVBps)), 40, 104) // past 100: over-advance
		}
		return []string{p.Bank, p.Pledgor}, &financing.OpenLoan{Loan: g.id("LN"), Borrower: p.Pledgor, Pledges: pledges,
			Currency: cur, Principal: principal, Maturity: now + 20*day}
	case 3: // the bank pays out part or all of the principal (past it: refused)
		l := orNone(pickOne(g, loans(func(l *financing.Loan) bool { return open(l) && l.Disbursed < l.Principal })))
		return []string{l.Bank}, &financing.RecordDisbursement{Loan: l.ID, Amount: g.pct(l.Principal-l.Disbursed+1, 30, 110), Ref: g.id("MT103")}
	case 4: // a repayment, in full a sixth of the time
		l := orNone(pickOne(g, loans(func(l *financing.Loan) bool {
			return (l.Status == financing.LoanOpen || l.Status == financing.LoanDefaulted) && l.Outstanding > 0
		})))
		amount := l.Outstanding
		if g.rng.IntN(6) > 0 {
			amount = g.pct(l.Outstanding+1, 5, 40)
		}
		return []string{l.Bank}, &financing.RecordRepayment{Loan: l.ID, Amount: max(1, amount), Ref: g.id("MT103R")}
	case 5: // default on a margin call (refused before its deadline)
		l := orNone(pickOne(g, loans(func(l *financing.Loan) bool { return open(l) && l.Call != nil })))
		return []string{l.Bank}, &financing.MarkDefault{Loan: l.ID}
	case 6: // enforcement of a defaulted loan's pledge
		l := orNone(pickOne(g, loans(func(l *financing.Loan) bool { return l.Status == financing.LoanDefaulted })))
		pledge := "PL-none"
		for _, id := range l.Pledges {
			if p, ok := sim.Pledge(id); ok && p.Status == receipt.PledgeActive {
				pledge = id
			}
		}
		return []string{l.Bank}, &receipt.InvokePledge{Pledge: pledge}
	case 7: // the borrower cancels a loan: mostly a drawn one, refused
		l := orNone(pickOne(g, loans(func(l *financing.Loan) bool { return open(l) && (l.Disbursed > 0 || g.rng.IntN(4) == 0) })))
		return []string{l.Borrower}, &financing.CancelLoan{Loan: l.ID, Reason: "not needed"}
	case 8: // more collateral for a called loan
		l := orNone(pickOne(g, loans(func(l *financing.Loan) bool { return open(l) && l.Call != nil })))
		more := records(sim, "pl/", func(p *receipt.Pledge) bool {
			return p.Status == receipt.PledgeActive && p.Loan == "" && p.Bank == l.Bank && p.Pledgor == l.Borrower
		})
		p, ok := pickOne(g, more)
		if !ok {
			p = &receipt.Pledge{ID: "PL-none"}
		}
		return []string{l.Bank, l.Borrower}, &financing.AddCollateral{Loan: l.ID, Pledges: []string{p.ID}}
	case 9: // an offer of a free receipt, or of a pledged one with its bank's consent
		r, ok := g.find(func(r *receipt.Receipt) bool {
			return r.Negotiable && (r.State == receipt.StateIssued || r.State == receipt.StatePledged)
		})
		if !ok {
			r = &receipt.Receipt{ID: "WR-none", Holder: ledger.TraderA, Version: 1}
		}
		signers := []string{r.Holder}
		if p, ok := sim.Pledge(r.Pledge); ok && r.State == receipt.StatePledged {
			signers = append(signers, p.Bank)
			if l, ok := ledger.Get[financing.Loan](sim.Store, financing.LoanKey(p.Loan)); ok {
				cur = l.Currency
			}
		}
		buyer := ledger.TraderB
		if r.Holder == ledger.TraderB {
			buyer = ledger.TraderA
		}
		return signers, &trading.CreateOffer{Offer: g.id("OF"), Receipt: r.ID, Version: r.Version, Buyer: buyer,
			PriceMinor: g.pct(r.Quantity*basePrice[cur]/1000+1, 60, 120), Currency: cur, Deadline: now + 3*day}
	case 10: // the buyer accepts, funds at a bank
		o, ok := pickOne(g, records(sim, trading.PrefixOffer, func(o *trading.Offer) bool { return o.Status == trading.OfferOpen }))
		if !ok {
			o = &trading.Offer{ID: "OF-none", Buyer: ledger.TraderA}
		}
		return []string{o.Buyer}, &trading.AcceptOffer{Offer: o.ID, BuyerBank: []string{ledger.BankA, ledger.BankB}[g.rng.IntN(2)]}
	case 11: // the buyer's bank confirms the escrow (sometimes the wrong amount)
		t, ok := pickOne(g, records(sim, trading.PrefixTrade, func(t *trading.Trade) bool { return t.Status == trading.TradeAwaitingFunds }))
		if !ok {
			t = &trading.Trade{ID: "OF-none", BuyerBank: ledger.BankA, Currency: "USD", PriceMinor: 1}
		}
		amount := t.PriceMinor
		if g.rng.IntN(8) == 0 {
			amount++
		}
		return []string{t.BuyerBank}, &trading.ConfirmFunds{Trade: t.ID, AmountMinor: amount, Currency: t.Currency, EscrowRef: g.id("ESC")}
	case 12: // DvP
		t, ok := pickOne(g, records(sim, trading.PrefixTrade, func(t *trading.Trade) bool { return t.Status == trading.TradeFunded }))
		if !ok {
			t = &trading.Trade{ID: "OF-none", Buyer: ledger.TraderA}
		}
		return []string{t.Buyer}, &trading.Settle{Trade: t.ID}
	case 13: // a trade called off, or an offer withdrawn
		if g.rng.IntN(2) == 0 {
			o, ok := pickOne(g, records(sim, trading.PrefixOffer, func(o *trading.Offer) bool { return o.Status == trading.OfferOpen }))
			if !ok {
				o = &trading.Offer{ID: "OF-none", Seller: ledger.TraderA}
			}
			return []string{o.Seller}, &trading.WithdrawOffer{Offer: o.ID}
		}
		t, ok := pickOne(g, records(sim, trading.PrefixTrade, func(t *trading.Trade) bool { return t.Status.Open() }))
		if !ok {
			t = &trading.Trade{ID: "OF-none", BuyerBank: ledger.BankA}
		}
		return []string{t.BuyerBank}, &trading.CancelTrade{Trade: t.ID, Reason: fmt.Sprintf("called off %d", g.seq)}
	}
	panic("unreachable")
}
