package indexer_test

import (
	"testing"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFiltersAgreeWithSQL: each list filter's SQL on the read model and its
// test on the decoded records of the chain's state select the same records,
// over a state of the story, the price shock and random blocks, for every
// filter field alone and in combinations, paged.
func TestFiltersAgreeWithSQL(t *testing.T) {
	sim := storyAndRandom(t, 11, 400)
	db := newDB(t)
	applyAll(t, indexer.New(db, indexer.Config{}), sim.Records)
	q := indexer.NewQueries(db)
	ctx := t.Context()
	yes, no := true, false
	nonEmpty := 0

	// pages reads every page of a list, 7 at a time.
	pages := func(t *testing.T, list func(indexer.Page) ([]string, string, error)) []string {
		all := []string{}
		p := indexer.Page{Limit: 7}
		for {
			ids, next, err := list(p)
			require.NoError(t, err)
			all = append(all, ids...)
			if next == "" {
				return all
			}
			p.After = next
		}
	}
	idsOf := func(n int, id func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = id(i)
		}
		return out
	}

	receipts := []indexer.ReceiptFilter{{}, {Holder: ledger.TraderA}, {Holder: ledger.TraderB, Live: true}, {Lot: shockLot1},
		{States: []receipt.State{receipt.StateIssued, receipt.StatePledged}}, {Live: true, Pledged: &yes}, {Pledged: &no, Negotiable: &yes},
		{Warehouse: ledger.Warehouse1, Commodity: wheat}, {Grade: "No. 2 hard red", ValidAt: sim.Block.Time}, {Negotiable: &no}}
	for _, f := range receipts {
		want := records(sim, receipt.PrefixReceipt, f.Filter().Match)
		got := pages(t, func(p indexer.Page) ([]string, string, error) {
			rs, next, err := q.Receipts(ctx, f, p)
			return idsOf(len(rs), func(i int) string { return rs[i].ID }), next, err
		})
		assert.Equal(t, idsOf(len(want), func(i int) string { return want[i].ID }), got, "receipts %+v", f)
		nonEmpty += min(len(want), 1)
	}
	lots := []indexer.LotFilter{{Warehouse: ledger.Warehouse1}, {Warehouse: ledger.Warehouse1, Unhealthy: true},
		{Warehouse: ledger.Warehouse1, Status: warehouse.LotLocked, Commodity: wheat}, {Warehouse: ledger.Warehouse2, Health: []warehouse.Health{warehouse.HealthOK}}}
	for _, f := range lots {
		want := records(sim, warehouse.PrefixLot, f.Filter().Match)
		got := pages(t, func(p indexer.Page) ([]string, string, error) {
			ls, next, err := q.Lots(ctx, f.Warehouse, f, p)
			return idsOf(len(ls), func(i int) string { return ls[i].ID }), next, err
		})
		assert.Equal(t, idsOf(len(want), func(i int) string { return want[i].ID }), got, "lots %+v", f)
		nonEmpty += min(len(want), 1)
	}
	pledges := []indexer.PledgeFilter{{Bank: ledger.BankA}, {Bank: ledger.BankB, Statuses: []receipt.PledgeStatus{receipt.PledgeActive, receipt.PledgeReleased}}, {Statuses: []receipt.PledgeStatus{receipt.PledgePending}}}
	for _, f := range pledges {
		want := records(sim, receipt.PrefixPledge, f.Filter().Match)
		got := pages(t, func(p indexer.Page) ([]string, string, error) {
			ps, next, err := q.Pledges(ctx, f, p)
			return idsOf(len(ps), func(i int) string { return ps[i].ID }), next, err
		})
		assert.Equal(t, idsOf(len(want), func(i int) string { return want[i].ID }), got, "pledges %+v", f)
		nonEmpty += min(len(want), 1)
	}
	loans := []indexer.LoanFilter{{Party: ledger.TraderA}, {Party: ledger.BankA, Statuses: []financing.LoanStatus{financing.LoanOpen}},
		{Bank: ledger.BankB, Borrower: ledger.TraderB}, {Called: true}, {Currency: "USD", Commodity: wheat}}
	for _, f := range loans {
		want := records(sim, financing.PrefixLoan, f.Filter().Match)
		got := pages(t, func(p indexer.Page) ([]string, string, error) {
			ls, next, err := q.Loans(ctx, f, p)
			return idsOf(len(ls), func(i int) string { return ls[i].ID }), next, err
		})
		assert.Equal(t, idsOf(len(want), func(i int) string { return want[i].ID }), got, "loans %+v", f)
		nonEmpty += min(len(want), 1)
	}
	for _, wh := range []string{ledger.Warehouse1, ledger.Warehouse2} {
		f := indexer.ReleaseOrderFilter{Warehouse: wh, Open: true}
		want := records(sim, warehouse.PrefixReleaseOrder, f.Filter().Match)
		got := pages(t, func(p indexer.Page) ([]string, string, error) {
			os, next, err := q.OpenReleaseOrders(ctx, wh, p)
			return idsOf(len(os), func(i int) string { return os[i].ID }), next, err
		})
		assert.Equal(t, idsOf(len(want), func(i int) string { return want[i].ID }), got, "release orders %+v", f)
	}
	// The filters must select something, or the comparison proves little.
	assert.GreaterOrEqual(t, nonEmpty, 16, "filters with a non-empty answer")
}
