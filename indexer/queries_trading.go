package indexer

import (
	"context"
	"fmt"

	"github.com/ewrchain/ewr/trading"
	"github.com/lib/pq"
)

// OfferFilter narrows an offer list. Zero fields do not filter.
type OfferFilter struct {
	Seller  string
	Buyer   string
	Party   string // keeps what Party sells or buys
	Receipt string
	// PledgeBank keeps the offers of receipts pledged to that bank, which
	// consented to them.
	PledgeBank string
	Statuses   []trading.OfferStatus // any of these
}

// TradeFilter narrows a trade list. Zero fields do not filter.
type TradeFilter struct {
	Seller  string
	Buyer   string
	Party   string // keeps what Party sells or buys
	Receipt string
	// BuyerBank keeps the trades whose escrow that bank holds.
	BuyerBank  string
	PledgeBank string
	Statuses   []trading.TradeStatus // any of these
}

// applyParties adds the conditions common to offers and trades.
func applyParties(w *where, seller, buyer, party, receiptID, pledgeBank string, statuses []string) {
	for _, c := range []struct{ col, v string }{
		{"seller", seller}, {"buyer", buyer}, {"receipt", receiptID}, {"pledge_bank", pledgeBank},
	} {
		if c.v != "" {
			w.add(c.col+" = ?", c.v)
		}
	}
	if party != "" {
		w.add("(seller = ? OR buyer = ?)", party, party)
	}
	if len(statuses) > 0 {
		w.add("status = ANY(?)", pq.StringArray(statuses))
	}
}

func statusNames[S fmt.Stringer](ss []S) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.String()
	}
	return out
}

// Offers lists offers in id order.
func (q *Queries) Offers(ctx context.Context, f OfferFilter, p Page) ([]*trading.Offer, string, error) {
	var w where
	w.add("id > ?", p.After)
	applyParties(&w, f.Seller, f.Buyer, f.Party, f.Receipt, f.PledgeBank, statusNames(f.Statuses))
	return pageOf[trading.Offer](ctx, q.db, `SELECT id, raw FROM offers WHERE `+w.sql()+` ORDER BY id`, w.args, p.limit())
}

// Offer returns an offer, or ErrNotFound.
func (q *Queries) Offer(ctx context.Context, id string) (*trading.Offer, error) {
	return one[trading.Offer](ctx, q.db, "offers", id)
}

// Trades lists trades in id order (a trade has its offer's id).
func (q *Queries) Trades(ctx context.Context, f TradeFilter, p Page) ([]*trading.Trade, string, error) {
	var w where
	w.add("id > ?", p.After)
	applyParties(&w, f.Seller, f.Buyer, f.Party, f.Receipt, f.PledgeBank, statusNames(f.Statuses))
	if f.BuyerBank != "" {
		w.add("buyer_bank = ?", f.BuyerBank)
	}
	return pageOf[trading.Trade](ctx, q.db, `SELECT id, raw FROM trades WHERE `+w.sql()+` ORDER BY id`, w.args, p.limit())
}

// Trade returns a trade, or ErrNotFound.
func (q *Queries) Trade(ctx context.Context, id string) (*trading.Trade, error) {
	return one[trading.Trade](ctx, q.db, "trades", id)
}

// SettlementsOfReceipt lists the settled sales of a receipt, in trade id
// order.
func (q *Queries) SettlementsOfReceipt(ctx context.Context, receiptID string, p Page) ([]*trading.Settlement, string, error) {
	var w where
	w.add("receipt = ?", receiptID)
	w.add("id > ?", p.After)
	return pageOf[trading.Settlement](ctx, q.db, `SELECT id, raw FROM settlements WHERE `+w.sql()+` ORDER BY id`, w.args, p.limit())
}

// SettlementsOfLoan lists the sales whose proceeds went to a loan, in
// trade id order.
func (q *Queries) SettlementsOfLoan(ctx context.Context, loan string, p Page) ([]*trading.Settlement, string, error) {
	var w where
	w.add("loan = ?", loan)
	w.add("id > ?", p.After)
	return pageOf[trading.Settlement](ctx, q.db, `SELECT id, raw FROM settlements WHERE `+w.sql()+` ORDER BY id`, w.args, p.limit())
}
