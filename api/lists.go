package api

import (
	"context"
	"strings"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
	"github.com/ewrchain/ewr/warehouse"
)

// Record lists. Every list route of records is served by listOf from a
// listing: the records under a key prefix that one filter selects
// (indexer.Filter: the read model's SQL and the test on chain records,
// from one description), from the read model when the list has a query
// there and the read model runs, else from chain state, a page at a time.

// listing is what one request to a list route asks for.
type listing[T any] struct {
	prefix string
	filter indexer.Filter[T]
	// index answers from the read model; nil: chain state only.
	index func(ctx context.Context, q *indexer.Queries, pg indexer.Page) ([]*T, string, error)
}

// listOf is the handler of a list route whose request build reads.
func listOf[T any](s *Server, build func(rc *reqCtx) (listing[T], error)) func(*reqCtx) error {
	return func(rc *reqCtx) error {
		pg, err := rc.page()
		if err != nil {
			return err
		}
		l, err := build(rc)
		if err != nil {
			return err
		}
		var items []*T
		var next string
		if q := s.queries(); q != nil && l.index != nil {
			if items, next, err = l.index(rc.ctx(), q, pg); err != nil {
				return err
			}
		} else {
			items, next = walk[T](rc.state(), l.prefix, pg, l.filter.Match)
		}
		// The read policy: only what the reader may read (the page's
		// cursor stays where the scan stopped).
		rd := rc.reader()
		kept := []*T{}
		for _, it := range items {
			if rd.mayRead(any(it)) {
				kept = append(kept, rd.redact(any(it)).(*T))
			}
		}
		return rc.list(kept, next)
	}
}

// all lists every record under prefix.
func all[T any](prefix string) func(*reqCtx) (listing[T], error) {
	return func(*reqCtx) (listing[T], error) { return listing[T]{prefix: prefix}, nil }
}

// enumsQuery reads a comma-separated ?name= of enum values (none: nil).
func enumsQuery[E any, P interface {
	*E
	UnmarshalText([]byte) error
}](rc *reqCtx, name string) ([]E, error) {
	v := rc.c.Query(name)
	if v == "" {
		return nil, nil
	}
	var out []E
	var zero E
	for _, s := range strings.Split(v, ",") {
		var e E
		if err := P(&e).UnmarshalText([]byte(strings.TrimSpace(s))); err != nil || any(e) == any(zero) {
			return nil, failf(PInvalidParameter, "%s %q", name, s)
		}
		out = append(out, e)
	}
	return out, nil
}

// enumQuery reads one ?name= enum value (none: the zero value).
func enumQuery[E any, P interface {
	*E
	UnmarshalText([]byte) error
}](rc *reqCtx, name string) (E, error) {
	var e E
	if v := rc.c.Query(name); v != "" {
		if err := P(&e).UnmarshalText([]byte(v)); err != nil {
			return e, failf(PInvalidParameter, "%s: %v", name, err)
		}
	}
	return e, nil
}

func (s *Server) bayList(rc *reqCtx) (listing[warehouse.Bay], error) {
	id, err := rc.id("id")
	if err != nil {
		return listing[warehouse.Bay]{}, err
	}
	free, err := rc.boolQuery("free")
	if err != nil {
		return listing[warehouse.Bay]{}, err
	}
	if !hasKey(rc.state(), warehouse.WarehouseKey(id)) {
		return listing[warehouse.Bay]{}, receipt.Errorf(warehouse.ErrWarehouseNotFound, "%q", id)
	}
	var f indexer.Filter[warehouse.Bay]
	if free {
		f = append(f, indexer.Set("locked_by", func(b *warehouse.Bay) bool { return b.LockedBy != "" }, false))
	}
	return listing[warehouse.Bay]{prefix: warehouse.BaysOf(id), filter: f}, nil
}

func (s *Server) warehouseLotList(rc *reqCtx) (listing[warehouse.Lot], error) {
	id, err := rc.id("id")
	if err != nil {
		return listing[warehouse.Lot]{}, err
	}
	unhealthy, err := rc.boolQuery("unhealthy")
	if err != nil {
		return listing[warehouse.Lot]{}, err
	}
	status, err := enumQuery[warehouse.LotStatus](rc, "status")
	if err != nil {
		return listing[warehouse.Lot]{}, err
	}
	f := indexer.LotFilter{Warehouse: id, Unhealthy: unhealthy, Status: status}
	return listing[warehouse.Lot]{prefix: warehouse.PrefixLot, filter: f.Filter(),
		index: func(ctx context.Context, q *indexer.Queries, pg indexer.Page) ([]*warehouse.Lot, string, error) {
			return q.Lots(ctx, id, f, pg)
		}}, nil
}

func (s *Server) releaseOrderList(rc *reqCtx) (listing[warehouse.ReleaseOrder], error) {
	id, err := rc.id("id")
	if err != nil {
		return listing[warehouse.ReleaseOrder]{}, err
	}
	f := indexer.ReleaseOrderFilter{Warehouse: id, Open: true}
	return listing[warehouse.ReleaseOrder]{prefix: warehouse.PrefixReleaseOrder, filter: f.Filter(),
		index: func(ctx context.Context, q *indexer.Queries, pg indexer.Page) ([]*warehouse.ReleaseOrder, string, error) {
			return q.OpenReleaseOrders(ctx, id, pg)
		}}, nil
}

func (s *Server) deviceList(rc *reqCtx) (listing[warehouse.Device], error) {
	type D = warehouse.Device
	var f indexer.Filter[D]
	if wh := rc.c.Query("warehouse"); wh != "" {
		f = append(f, indexer.Eq("warehouse", func(d *D) string { return d.Warehouse }, wh))
	}
	if bay := rc.c.Query("bay"); bay != "" {
		f = append(f, indexer.Eq("bay", func(d *D) string { return d.Bay }, bay))
	}
	return listing[D]{prefix: warehouse.PrefixDevice, filter: f}, nil
}

func (s *Server) alertList(rc *reqCtx) (listing[iot.Alert], error) {
	type A = iot.Alert
	open, err := rc.boolQuery("open")
	if err != nil {
		return listing[A]{}, err
	}
	var f indexer.Filter[A]
	if lot := rc.c.Query("lot"); lot != "" {
		f = append(f, indexer.Eq("lot", func(a *A) string { return a.Lot }, lot))
	}
	if open {
		f = append(f, indexer.Eq("status", func(a *A) iot.AlertStatus { return a.Status }, iot.AlertOpen))
	}
	return listing[A]{prefix: iot.PrefixAlert, filter: f}, nil
}

func receiptListing(f indexer.ReceiptFilter) listing[receipt.Receipt] {
	return listing[receipt.Receipt]{prefix: receipt.PrefixReceipt, filter: f.Filter(),
		index: func(ctx context.Context, q *indexer.Queries, pg indexer.Page) ([]*receipt.Receipt, string, error) {
			return q.Receipts(ctx, f, pg)
		}}
}

func (s *Server) lotReceiptList(rc *reqCtx) (listing[receipt.Receipt], error) {
	id, err := rc.id("id")
	if err != nil {
		return listing[receipt.Receipt]{}, err
	}
	live, err := rc.boolQuery("live")
	if err != nil {
		return listing[receipt.Receipt]{}, err
	}
	return receiptListing(indexer.ReceiptFilter{Lot: id, Live: live}), nil
}

func (s *Server) receiptList(rc *reqCtx) (listing[receipt.Receipt], error) {
	live, err := rc.boolQuery("live")
	if err != nil {
		return listing[receipt.Receipt]{}, err
	}
	states, err := enumsQuery[receipt.State](rc, "state")
	if err != nil {
		return listing[receipt.Receipt]{}, err
	}
	holder, lot := rc.c.Query("holder"), rc.c.Query("lot")
	if holder == "" && lot == "" {
		holder = rc.who
	}
	return receiptListing(indexer.ReceiptFilter{Holder: holder, Lot: lot, States: states, Live: live}), nil
}

func pledgeListing(f indexer.PledgeFilter) listing[receipt.Pledge] {
	return listing[receipt.Pledge]{prefix: receipt.PrefixPledge, filter: f.Filter(),
		index: func(ctx context.Context, q *indexer.Queries, pg indexer.Page) ([]*receipt.Pledge, string, error) {
			return q.Pledges(ctx, f, pg)
		}}
}

func (s *Server) receiptPledgeList(rc *reqCtx) (listing[receipt.Pledge], error) {
	id, err := rc.id("id")
	if err != nil {
		return listing[receipt.Pledge]{}, err
	}
	return pledgeListing(indexer.PledgeFilter{Receipt: id}), nil
}

func (s *Server) pledgeList(rc *reqCtx) (listing[receipt.Pledge], error) {
	statuses, err := enumsQuery[receipt.PledgeStatus](rc, "status")
	if err != nil {
		return listing[receipt.Pledge]{}, err
	}
	return pledgeListing(indexer.PledgeFilter{Bank: rc.c.Query("bank", rc.who), Statuses: statuses}), nil
}

func (s *Server) policyList(rc *reqCtx) (listing[financing.CreditPolicy], error) {
	prefix := financing.PrefixPolicy
	if b := rc.c.Query("bank"); b != "" {
		prefix += b + "/"
	}
	return listing[financing.CreditPolicy]{prefix: prefix}, nil
}

// loanFilter reads ?bank= and ?borrower=; neither means the token's
// participant on either side.
func (rc *reqCtx) loanFilter() indexer.LoanFilter {
	bank, borrower := rc.c.Query("bank"), rc.c.Query("borrower")
	if bank == "" && borrower == "" {
		return indexer.LoanFilter{Party: rc.who}
	}
	return indexer.LoanFilter{Bank: bank, Borrower: borrower}
}

func loanListing(f indexer.LoanFilter) listing[financing.Loan] {
	return listing[financing.Loan]{prefix: financing.PrefixLoan, filter: f.Filter(),
		index: func(ctx context.Context, q *indexer.Queries, pg indexer.Page) ([]*financing.Loan, string, error) {
			return q.Loans(ctx, f, pg)
		}}
}

func (s *Server) loanList(rc *reqCtx) (listing[financing.Loan], error) {
	status, err := enumQuery[financing.LoanStatus](rc, "status")
	if err != nil {
		return listing[financing.Loan]{}, err
	}
	f := rc.loanFilter()
	if status != 0 {
		f.Statuses = []financing.LoanStatus{status}
	}
	return loanListing(f), nil
}

func (s *Server) marginCallList(rc *reqCtx) (listing[financing.Loan], error) {
	f := rc.loanFilter()
	f.Called = true
	return loanListing(f), nil
}

func (s *Server) offerList(rc *reqCtx) (listing[trading.Offer], error) {
	type O = trading.Offer
	status, err := enumQuery[trading.OfferStatus](rc, "status")
	if err != nil {
		return listing[O]{}, err
	}
	seller, buyer := rc.c.Query("seller"), rc.c.Query("buyer")
	sellerOf, buyerOf := func(o *O) string { return o.Seller }, func(o *O) string { return o.Buyer }
	var f indexer.Filter[O]
	switch {
	case seller == "" && buyer == "": // the token's own: as seller, buyer or the pledge's bank
		f = append(f, indexer.Or(indexer.Eq("seller", sellerOf, rc.who), indexer.Eq("buyer", buyerOf, rc.who),
			indexer.Eq("pledge_bank", func(o *O) string { return o.PledgeBank }, rc.who)))
	default:
		if seller != "" {
			f = append(f, indexer.Eq("seller", sellerOf, seller))
		}
		if buyer != "" {
			f = append(f, indexer.Eq("buyer", buyerOf, buyer))
		}
	}
	if status != 0 {
		f = append(f, indexer.Eq("status", func(o *O) trading.OfferStatus { return o.Status }, status))
	}
	return listing[O]{prefix: trading.PrefixOffer, filter: f}, nil
}

func (s *Server) tradeList(rc *reqCtx) (listing[trading.Trade], error) {
	type T = trading.Trade
	status, err := enumQuery[trading.TradeStatus](rc, "status")
	if err != nil {
		return listing[T]{}, err
	}
	party := rc.c.Query("party", rc.who)
	f := indexer.Filter[T]{indexer.Or(
		indexer.Eq("seller", func(t *T) string { return t.Seller }, party),
		indexer.Eq("buyer", func(t *T) string { return t.Buyer }, party),
		indexer.Eq("buyer_bank", func(t *T) string { return t.BuyerBank }, party),
		indexer.Eq("pledge_bank", func(t *T) string { return t.PledgeBank }, party))}
	if status != 0 {
		f = append(f, indexer.Eq("status", func(t *T) trading.TradeStatus { return t.Status }, status))
	}
	return listing[T]{prefix: trading.PrefixTrade, filter: f}, nil
}
