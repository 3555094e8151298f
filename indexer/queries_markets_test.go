package indexer_test

import (
	"context"
	"errors"
	"math/big"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ids of the price shock.
const (
	shockLoanA = "LN-A" // bank-a to trader-a on 20 t in Shanghai and 10 t in Qingdao, USD, fully drawn at 70%: called
	shockLoanB = "LN-B" // bank-b to trader-b, CNY: the USD shock does not touch it
	shockLoanC = "LN-C" // bank-a to trader-a, USD, drawn at 35%: not called
	shockLot1  = "LOT-QD-wheat"
)

// priceShock is the markets story, then wheat loans of both banks (one
// secured in two warehouses) and a 25% fall of wheat in USD: the loan
// drawn at its initial LTV is called, the others are not.
func priceShock(t testing.TB) *ledger.Sim {
	t.Helper()
	sim, w := fullStory(t)
	g := newRandomOps(t, sim, w, 7)
	g.setup()
	g.priceShock()
	return sim
}

// priceShock opens the shock's loans and drops the price, on g's lots
// (after g.setup).
func (g *randomOps) priceShock() {
	t, sim, w := g.t, g.sim, g.w
	t.Helper()
	do := func(signers []string, op receipt.Op) {
		t.Helper()
		sim.Advance(6)
		_, err := sim.Do(signers, op)
		require.NoError(t, err, "%s", op.Type())
	}
	now := sim.Block.Time
	do([]string{ledger.Operator, ledger.Inspector}, &warehouse.RegisterStock{Lot: shockLot1, Warehouse: ledger.Warehouse1,
		Bay: ledger.DemoBays[2], Commodity: wheat, Grade: "No. 2 hard red", Unit: "kg", Tolerance: 200,
		Tickets: []warehouse.SignedTicket{w.Ticket(ledger.Weighbridge1, "IN-QD-W1", warehouse.In, 40_000, 15_000, "", now)}})
	issue := func(id, lot, holder string, kg uint64) {
		do([]string{ledger.Operator2}, &warehouse.IssueReceipt{ID: id, Lot: lot, Depositor: holder, Negotiable: true, Quantity: kg,
			Description: "wheat in bulk", PlaceOfIssue: "Shanghai", StorageUntil: t0 + 400*day, ValidUntil: t0 + 300*day,
			StorageAgreementDate: now - day, StorageTermsRef: "SGT-2026", ThirdPartyClaims: "none known",
			Fees: receipt.FeeTerms{Currency: "CNY", MinorPerTonnePerDay: 80}})
	}
	issue("SA1", g.lots[0], ledger.TraderA, 20_000)
	sim.Advance(6)
	_, err := sim.Do([]string{ledger.Operator}, &warehouse.IssueReceipt{ID: "SA2", Lot: shockLot1, Depositor: ledger.TraderA, Negotiable: true,
		Quantity: 10_000, Description: "wheat in bulk", PlaceOfIssue: "Qingdao", StorageUntil: t0 + 400*day, ValidUntil: t0 + 300*day,
		StorageAgreementDate: now - day, StorageTermsRef: "QBMW-ST", ThirdPartyClaims: "none known", Fees: receipt.FeeTerms{Currency: "CNY"}})
	require.NoError(t, err)
	issue("SB1", g.lots[1], ledger.TraderB, 30_000)
	issue("SA3", g.lots[2], ledger.TraderA, 15_000)
	for _, p := range []struct{ pledge, receipt, holder, bank string }{
		{"PA1", "SA1", ledger.TraderA, ledger.BankA}, {"PA2", "SA2", ledger.TraderA, ledger.BankA},
		{"PB1", "SB1", ledger.TraderB, ledger.BankB}, {"PA3", "SA3", ledger.TraderA, ledger.BankA},
	} {
		r, _ := sim.Receipt(p.receipt)
		do([]string{p.holder}, &receipt.RequestPledge{Pledge: p.pledge, Receipt: p.receipt, Version: r.Version, Bank: p.bank, Maturity: sim.Block.Time + 60*day})
		r, _ = sim.Receipt(p.receipt)
		do([]string{p.bank}, &receipt.ConfirmPledge{Pledge: p.pledge, ReceiptVersion: r.Version})
	}
	// At USD 300/t and bank-a's 25% haircut, 30 t are worth USD 6,750:
	// 70% of it is 472,500 cents.
	for _, l := range []struct {
		id, bank, borrower, currency string
		pledges                      []string
		principal                    uint64
	}{
		{shockLoanA, ledger.BankA, ledger.TraderA, "USD", []string{"PA1", "PA2"}, 472_500},
		{shockLoanB, ledger.BankB, ledger.TraderB, "CNY", []string{"PB1"}, 2_000_000},
		{shockLoanC, ledger.BankA, ledger.TraderA, "USD", []string{"PA3"}, 200_000},
	} {
		do([]string{l.bank, l.borrower}, &financing.OpenLoan{Loan: l.id, Borrower: l.borrower, Pledges: l.pledges, Currency: l.currency,
			Principal: l.principal, Maturity: sim.Block.Time + 30*day})
	}
	do([]string{ledger.BankA}, &financing.RecordDisbursement{Loan: shockLoanA, Amount: 472_500, Ref: "MT103-A"})
	do([]string{ledger.BankB}, &financing.RecordDisbursement{Loan: shockLoanB, Amount: 2_000_000, Ref: "MT103-B"})
	do([]string{ledger.BankA}, &financing.RecordDisbursement{Loan: shockLoanC, Amount: 100_000, Ref: "MT103-C"})
	do([]string{ledger.Oracle}, &financing.PostPrice{Commodity: wheat, Currency: "USD", MinorPerTonne: 22_500})
	require.NoError(t, ledger.CheckInvariants(sim.Store))
}

func TestPriceShock(t *testing.T) {
	sim := priceShock(t)
	db := newDB(t)
	applyAll(t, indexer.New(db, indexer.Config{}), sim.Records)
	q := indexer.NewQueries(db)
	ctx := t.Context()
	requireFinancingMatchesChain(t, sim, q)

	vals, next, err := q.Valuations(ctx, indexer.LoanFilter{Borrower: ledger.TraderA, Statuses: []financing.LoanStatus{financing.LoanOpen}}, indexer.Page{})
	require.NoError(t, err)
	assert.Empty(t, next)
	require.Len(t, vals, 2)
	a, c := vals[0], vals[1]
	require.Equal(t, shockLoanA, a.Loan.ID)
	require.Equal(t, shockLoanC, c.Loan.ID)
	// 30 t at USD 225/t less 25%: USD 5,062.50; 472,500 / 506,250 is
	// 9,333.3 bps, rounded up.
	assert.Equal(t, uint64(30_000_000), a.CollateralGrams)
	assert.Equal(t, 2, a.Pledges)
	assert.Equal(t, uint64(506_250), a.ValueMinor)
	assert.Equal(t, uint64(9_334), a.LTVBps)
	assert.True(t, a.OverMaintenance)
	require.NotNil(t, a.Loan.Call, "the chain called for margin")
	assert.Equal(t, uint64(9_334), a.Loan.Call.LTVBps)
	// 15 t: USD 2,531.25; 100,000 drawn of 200,000.
	assert.Equal(t, uint64(253_125), c.ValueMinor)
	assert.Equal(t, uint64(3_951), c.LTVBps)
	assert.Equal(t, uint64(7_902), c.ExposureLTVBps)
	assert.False(t, c.OverMaintenance)
	assert.Nil(t, c.Loan.Call)

	calls, err := q.OpenMarginCalls(ctx, ledger.BankA, indexer.MarginCallPage{})
	require.NoError(t, err)
	require.Len(t, calls, 1)
	assert.Equal(t, shockLoanA, calls[0].Loan.ID)
	assert.Equal(t, *a.Loan.Call, calls[0].MarginCall)
	assert.Equal(t, a.Loan.Call.RaisedAt+60, calls[0].Deadline, "bank-a's grace")
	assert.False(t, calls[0].Overdue)
	calls, err = q.OpenMarginCalls(ctx, ledger.BankB, indexer.MarginCallPage{})
	require.NoError(t, err)
	assert.Empty(t, calls, "the CNY loan is untouched")
	called, _, err := q.Loans(ctx, indexer.LoanFilter{Called: true}, indexer.Page{})
	require.NoError(t, err)
	require.Len(t, called, 1)

	// Bank-a's exposure: LN-A is two thirds in Shanghai, one third in
	// Qingdao; LN-C is in Shanghai.
	exp, err := q.BankExposure(ctx, ledger.BankA)
	require.NoError(t, err)
	var wheatRows []indexer.LoanExposure
	for _, e := range exp {
		if e.Commodity == wheat {
			wheatRows = append(wheatRows, e)
		}
	}
	assert.Equal(t, []indexer.LoanExposure{
		{Commodity: wheat, Currency: "USD", Warehouse: ledger.Warehouse1, Loans: 1, Called: 1, Pledges: 1, CollateralGrams: 10_000_000,
			OutstandingMinor: 157_500, ExposureMinor: 157_500, PriceMinorPerTonne: 22_500, PriceAt: a.PriceAt, ValueMinor: 168_750, LTVBps: 9_334},
		{Commodity: wheat, Currency: "USD", Warehouse: ledger.Warehouse2, Loans: 2, Called: 1, Pledges: 2, CollateralGrams: 35_000_000,
			OutstandingMinor: 315_000 + 100_000, ExposureMinor: 315_000 + 200_000, PriceMinorPerTonne: 22_500, PriceAt: a.PriceAt,
			ValueMinor: 337_500 + 253_125, LTVBps: 7_027},
	}, wheatRows)

	// The grace runs out: the call is overdue at the next block.
	sim.Advance(120)
	_, err = sim.Do([]string{ledger.Oracle}, &financing.PostPrice{Commodity: wheat, Currency: "CNY", MinorPerTonne: basePrice["CNY"]})
	require.NoError(t, err)
	require.NoError(t, indexer.New(db, indexer.Config{}).Apply(ctx, sim.Records[len(sim.Records)-1]))
	calls, err = q.OpenMarginCalls(ctx, "", indexer.MarginCallPage{})
	require.NoError(t, err)
	require.Len(t, calls, 1)
	assert.True(t, calls[0].Overdue)
}

// requireFinancingMatchesChain checks the financing queries against the
// chain state: each loan's valuation is financing.MarkToMarket's, the open
// margin calls are the loans with a call, the exposure adds up.
func requireFinancingMatchesChain(t *testing.T, sim *ledger.Sim, q *indexer.Queries) {
	t.Helper()
	ctx := t.Context()
	x := &receipt.Exec{Store: sim.Store, Block: sim.Block}
	all := records(sim, financing.PrefixLoan, func(*financing.Loan) bool { return true })
	require.NotEmpty(t, all)
	parties := map[string]bool{}
	for _, l := range all {
		parties[l.Bank], parties[l.Borrower] = true, true
	}
	for party := range parties {
		for _, f := range []indexer.LoanFilter{{Bank: party}, {Borrower: party}} {
			var got []indexer.Valuation
			p := indexer.Page{Limit: 3}
			for {
				page, next, err := q.Valuations(ctx, f, p)
				require.NoError(t, err)
				got = append(got, page...)
				if next == "" {
					break
				}
				p.After = next
			}
			var want []*financing.Loan
			for _, l := range all {
				if l.Bank == f.Bank || l.Borrower == f.Borrower {
					want = append(want, l)
				}
			}
			require.Len(t, got, len(want), "loans of %+v", f)
			for i, v := range got {
				l := want[i]
				require.Equal(t, l, v.Loan)
				m := financing.MarkToMarket(x, l)
				assert.Equal(t, financing.Saturate(m.Value), v.ValueMinor, "value of %s", l.ID)
				assert.Equal(t, m.LTV, v.LTVBps, "LTV of %s", l.ID)
				assert.Equal(t, m.Price.MinorPerTonne, v.PriceMinorPerTonne)
				assert.Equal(t, m.Price.At, v.PriceAt)
				assert.Equal(t, l.Status == financing.LoanOpen && m.LTV > uint64(l.Terms.MaintenanceLTVBps), v.OverMaintenance)
			}
		}
	}

	// Open margin calls, two at a time, in deadline order.
	var wantCalls []*financing.Loan
	for _, l := range all {
		if l.Call != nil {
			wantCalls = append(wantCalls, l)
		}
	}
	sort.Slice(wantCalls, func(i, j int) bool {
		a, b := wantCalls[i], wantCalls[j]
		return a.Call.Deadline < b.Call.Deadline || a.Call.Deadline == b.Call.Deadline && a.ID < b.ID
	})
	var gotCalls []indexer.MarginCall
	var cur indexer.MarginCallPage
	cur.Limit = 2
	for {
		page, err := q.OpenMarginCalls(ctx, "", cur)
		require.NoError(t, err)
		gotCalls = append(gotCalls, page...)
		if len(page) < cur.Limit {
			break
		}
		last := page[len(page)-1]
		cur.AfterDeadline, cur.AfterLoan = last.Deadline, last.Loan.ID
	}
	require.Len(t, gotCalls, len(wantCalls))
	for i, c := range gotCalls {
		assert.Equal(t, wantCalls[i], c.Loan)
		assert.Equal(t, *wantCalls[i].Call, c.MarginCall)
	}

	// Exposure: per bank and commodity/currency, the rows add up to the
	// live loans' outstanding and collateral; each row's value is the
	// collateral there at each loan's haircut.
	for party := range parties {
		exp, err := q.BankExposure(ctx, party)
		require.NoError(t, err)
		type cc struct{ commodity, currency string }
		wantOut, wantGrams, gotOut, gotGrams := map[cc]uint64{}, map[cc]uint64{}, map[cc]uint64{}, map[cc]uint64{}
		wantValue := map[cc]*big.Int{}
		for _, l := range all {
			if l.Bank != party || !(l.Status == financing.LoanOpen || l.Status == financing.LoanDefaulted && l.Outstanding > 0) {
				continue
			}
			k := cc{l.Commodity, l.Currency}
			wantOut[k] += l.Outstanding
			wantGrams[k] += 0 // a loan with no collateral left has a row too
			pr, _ := ledger.Get[financing.Price](sim.Store, financing.PriceKey(l.Currency, l.Commodity))
			byWH := map[string]*big.Int{}
			for _, id := range l.Pledges {
				p, _ := sim.Pledge(id)
				if p.Status != receipt.PledgeActive {
					continue
				}
				r, _ := sim.Receipt(p.Receipt)
				g, err := financing.Grams(r.Quantity, r.Unit)
				require.NoError(t, err)
				wantGrams[k] += g.Uint64()
				if byWH[r.Warehouse] == nil {
					byWH[r.Warehouse] = new(big.Int)
				}
				byWH[r.Warehouse].Add(byWH[r.Warehouse], g)
			}
			if wantValue[k] == nil {
				wantValue[k] = new(big.Int)
			}
			for _, g := range byWH {
				wantValue[k].Add(wantValue[k], financing.CollateralValue(g, pr.MinorPerTonne, l.Terms.HaircutBps))
			}
		}
		gotValue := map[cc]*big.Int{}
		for i, e := range exp {
			if i > 0 {
				prev := exp[i-1]
				require.Less(t, strings.Join([]string{prev.Commodity, prev.Currency, prev.Warehouse}, "\x00"),
					strings.Join([]string{e.Commodity, e.Currency, e.Warehouse}, "\x00"), "order")
			}
			k := cc{e.Commodity, e.Currency}
			gotOut[k] += e.OutstandingMinor
			gotGrams[k] += e.CollateralGrams
			if gotValue[k] == nil {
				gotValue[k] = new(big.Int)
			}
			gotValue[k].Add(gotValue[k], new(big.Int).SetUint64(e.ValueMinor))
			assert.Equal(t, financing.LTVBps(e.OutstandingMinor, new(big.Int).SetUint64(e.ValueMinor)), e.LTVBps)
		}
		assert.Equal(t, wantOut, gotOut, "outstanding of %s", party)
		assert.Equal(t, wantGrams, gotGrams, "collateral of %s", party)
		assert.Equal(t, wantValue, gotValue, "value of %s", party)
	}
}

// TestTradingQueries checks offers, trades and settlements by party and
// status against the chain state after random ops.
func TestTradingQueries(t *testing.T) {
	sim := storyAndRandom(t, testSeed(t), 200)
	db := newDB(t)
	applyAll(t, indexer.New(db, indexer.Config{}), sim.Records)
	q := indexer.NewQueries(db)
	ctx := t.Context()

	offers := records(sim, trading.PrefixOffer, func(*trading.Offer) bool { return true })
	trades := records(sim, trading.PrefixTrade, func(*trading.Trade) bool { return true })
	require.NotEmpty(t, trades, "the random ops made no trade")
	for _, party := range []string{ledger.TraderA, ledger.TraderB} {
		for _, st := range []trading.OfferStatus{trading.OfferOpen, trading.OfferAccepted, trading.OfferWithdrawn} {
			var want []string
			for _, o := range offers {
				if (o.Seller == party || o.Buyer == party) && o.Status == st {
					want = append(want, o.ID)
				}
			}
			var got []string
			p := indexer.Page{Limit: 2}
			for {
				page, next, err := q.Offers(ctx, indexer.OfferFilter{Party: party, Statuses: []trading.OfferStatus{st}}, p)
				require.NoError(t, err)
				for _, o := range page {
					got = append(got, o.ID)
				}
				if next == "" {
					break
				}
				p.After = next
			}
			assert.Equal(t, want, got, "%s's offers %s", party, st)
		}
		var want []*trading.Trade
		for _, tr := range trades {
			if tr.Buyer == party {
				want = append(want, tr)
			}
		}
		got, _, err := q.Trades(ctx, indexer.TradeFilter{Buyer: party}, indexer.Page{Limit: indexer.MaxPageSize})
		require.NoError(t, err)
		assert.Equal(t, want, got, "%s's purchases", party)
	}
	for _, bank := range []string{ledger.BankA, ledger.BankB} {
		var want []string
		for _, tr := range trades {
			if tr.BuyerBank == bank && tr.Status.Open() {
				want = append(want, tr.ID)
			}
		}
		got, _, err := q.Trades(ctx, indexer.TradeFilter{BuyerBank: bank, Statuses: []trading.TradeStatus{trading.TradeAwaitingFunds, trading.TradeFunded}}, indexer.Page{})
		require.NoError(t, err)
		var gotIDs []string
		for _, tr := range got {
			gotIDs = append(gotIDs, tr.ID)
		}
		assert.Equal(t, want, gotIDs, "open trades in %s's escrow", bank)
	}

	// The tour's DvP: receipt MR2 sold with bank-a's consent, the
	// proceeds to loan ML1.
	ss, _, err := q.SettlementsOfReceipt(ctx, marketsR2, indexer.Page{})
	require.NoError(t, err)
	require.Len(t, ss, 1)
	want, _ := ledger.Get[trading.Settlement](sim.Store, trading.SettlementKey(marketsTrade))
	assert.Equal(t, want, ss[0])
	assert.Equal(t, marketsLoan, ss[0].Loan)
	assert.Equal(t, ss[0].PriceMinor, ss[0].ToLoanMinor+ss[0].ToSellerMinor)
	ss, _, err = q.SettlementsOfLoan(ctx, marketsLoan, indexer.Page{})
	require.NoError(t, err)
	assert.Len(t, ss, 1)
	for _, s := range records(sim, trading.PrefixSettlement, func(*trading.Settlement) bool { return true }) {
		got, _, err := q.SettlementsOfReceipt(ctx, s.Receipt, indexer.Page{})
		require.NoError(t, err)
		assert.True(t, slices.ContainsFunc(got, func(x *trading.Settlement) bool { return x.Trade == s.Trade }))
	}
	tr, err := q.Trade(ctx, marketsTrade)
	require.NoError(t, err)
	assert.Equal(t, trading.TradeSettled, tr.Status)
	o, err := q.Offer(ctx, "MO2-"+marketsTag)
	require.NoError(t, err)
	assert.Equal(t, trading.OfferWithdrawn, o.Status)

	// Loans by status, against the state.
	for _, st := range []financing.LoanStatus{financing.LoanOpen, financing.LoanRepaid, financing.LoanDefaulted, financing.LoanCancelled} {
		var want []string
		for _, l := range records(sim, financing.PrefixLoan, func(l *financing.Loan) bool { return l.Status == st }) {
			want = append(want, l.ID)
		}
		got, _, err := q.Loans(ctx, indexer.LoanFilter{Statuses: []financing.LoanStatus{st}}, indexer.Page{})
		require.NoError(t, err)
		var gotIDs []string
		for _, l := range got {
			gotIDs = append(gotIDs, l.ID)
		}
		assert.Equal(t, want, gotIDs, "loans %s", st)
	}
	pol, err := q.CreditPolicies(ctx, ledger.BankA)
	require.NoError(t, err)
	require.Len(t, pol, 2, "copper and wheat")
	pr, err := q.Price(ctx, "USD", wheat)
	require.NoError(t, err)
	wantPr, _ := ledger.Get[financing.Price](sim.Store, financing.PriceKey("USD", wheat))
	assert.Equal(t, wantPr, pr)
	prices, err := q.Prices(ctx, "")
	require.NoError(t, err)
	assert.Len(t, prices, 3)
}

// TestPrecheckOnTheReadModel checks the pre-lending check run on the read
// model gives the report the chain state gives, for receipts in every
// state, the right and the wrong borrower, both banks and currencies.
func TestPrecheckOnTheReadModel(t *testing.T) {
	sim := storyAndRandom(t, testSeed(t), 200)
	db := newDB(t)
	applyAll(t, indexer.New(db, indexer.Config{}), sim.Records)
	q := indexer.NewQueries(db)
	last := sim.Records[len(sim.Records)-1]
	x := &receipt.Exec{Store: sim.Store, Block: receipt.Block{Height: last.Height, Time: last.Time}, Stock: warehouse.Stock{}}
	rs := records(sim, "r/", func(*receipt.Receipt) bool { return true })
	rs = append(rs, &receipt.Receipt{ID: "WR-none", Holder: ledger.TraderA})
	ok := 0
	for i, r := range rs {
		req := financing.PrecheckRequest{Receipt: r.ID, Borrower: r.Holder, Bank: []string{ledger.BankA, ledger.BankB}[i%2],
			Currency: []string{"USD", "CNY", "EUR"}[i%3], Maturity: last.Time + 20*day}
		if i%5 == 0 {
			req.Borrower = ledger.TraderB
		}
		want := financing.Precheck(x, req)
		got, err := q.Precheck(t.Context(), req, 0)
		require.NoError(t, err)
		require.Equal(t, &want, got, "receipt %s", r.ID)
		if got.OK {
			ok++
		}
	}
	assert.Positive(t, ok, "some receipt passed every check")
	assert.Less(t, ok, len(rs), "and some did not")
}

// TestIoTQueries checks the supervision's records of the full story: the
// open gap on the tour's lot, its watch, and the anchored batches in order.
func TestIoTQueries(t *testing.T) {
	sim, _ := fullStory(t)
	db := newDB(t)
	applyAll(t, indexer.New(db, indexer.Config{}), sim.Records)
	requireMatchesState(t, db, sim.Store)
	q := indexer.NewQueries(db)
	ctx := t.Context()

	open, next, err := q.OpenAlerts(ctx, ledger.Warehouse1, indexer.Page{})
	require.NoError(t, err)
	assert.Empty(t, next)
	require.Len(t, open, 1)
	a := open[0]
	assert.Equal(t, iot.AlertGap, a.Kind)
	assert.Equal(t, iotLot, a.Lot)
	assert.Equal(t, iotDevice, a.Device)
	want, _ := ledger.Get[iot.Alert](sim.Store, iot.AlertKey(a.ID))
	assert.Equal(t, want, a)
	of, _, err := q.AlertsOfLot(ctx, iotLot, indexer.Page{})
	require.NoError(t, err)
	assert.Equal(t, open, of)
	none, _, err := q.OpenAlerts(ctx, ledger.Warehouse2, indexer.Page{})
	require.NoError(t, err)
	assert.Empty(t, none)
	lot, err := q.Lot(ctx, iotLot)
	require.NoError(t, err)
	assert.Equal(t, warehouse.HealthUnverified, lot.Health)
	assert.Equal(t, 1, count(t, db, `SELECT alerts FROM lot_watches WHERE lot = $1 AND last_alert = $2`, iotLot, a.ID))

	var anchors []*iot.Anchor
	p := indexer.Page{Limit: 1}
	for {
		page, next, err := q.Anchors(ctx, ledger.Warehouse1, iotStream, p)
		require.NoError(t, err)
		anchors = append(anchors, page...)
		if next == "" {
			break
		}
		p.After = next
	}
	require.Len(t, anchors, iotAnchors)
	assert.Equal(t, uint64(1), anchors[0].FirstSeq)
	assert.Equal(t, uint64(101), anchors[1].FirstSeq)
	assert.Equal(t, anchors[0].FirstSeq, anchors[1].PrevFirstSeq, "the chain of anchors")
	head, err := q.AnchorHead(ctx, ledger.Warehouse1, iotStream)
	require.NoError(t, err)
	assert.Equal(t, uint64(200), head.LastSeq)
	assert.Equal(t, uint64(iotAnchors), head.Anchors)
	_, err = q.AnchorHead(ctx, ledger.Warehouse2, iotStream)
	assert.ErrorIs(t, err, indexer.ErrNotFound)
}

// TestQueriesWhileIndexing runs the financing queries from several
// goroutines (sharing the prepared statements) while Run applies the
// blocks: each answer comes from one block's state, so no query fails on
// a half-applied block, and the end matches the chain.
func TestQueriesWhileIndexing(t *testing.T) {
	sim := priceShock(t)
	db := newDB(t)
	q := indexer.NewQueries(db)
	ix := indexer.New(db, indexer.Config{PollMin: time.Millisecond})
	src := indexer.NewMemSource(0)
	src.Append(sim.Records...)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bank := []string{ledger.BankA, ledger.BankB}[i%2]
			for ctx.Err() == nil {
				if _, err := q.BankExposure(ctx, bank); err != nil && ctx.Err() == nil {
					errs <- err
					return
				}
				if _, _, err := q.Valuations(ctx, indexer.LoanFilter{Bank: bank}, indexer.Page{}); err != nil && ctx.Err() == nil {
					errs <- err
					return
				}
				if _, err := q.OpenMarginCalls(ctx, bank, indexer.MarginCallPage{}); err != nil && ctx.Err() == nil {
					errs <- err
					return
				}
				_, err := q.Precheck(ctx, financing.PrecheckRequest{Receipt: "SA1", Borrower: ledger.TraderA, Bank: bank, Currency: "USD",
					Maturity: t0 + 100*day}, 0)
				if err != nil && ctx.Err() == nil && !errors.Is(err, indexer.ErrNotFound) {
					errs <- err
					return
				}
			}
		}()
	}
	runUntil(t, ix, src, sim.Records[len(sim.Records)-1].Height)
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	requireFinancingMatchesChain(t, sim, indexer.NewQueries(db))
}
