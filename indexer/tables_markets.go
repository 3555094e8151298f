package indexer

import (
	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/trading"
)

// Decoders of the financing and trading records (entries in recordTables).

func decodePolicy(w *row, ids []string, raw []byte) error {
	p, err := decodeAs[financing.CreditPolicy](raw)
	if err != nil {
		return err
	}
	if err := sameID("bank", ids[0], p.Bank); err != nil {
		return err
	}
	if err := sameID("commodity", ids[1], p.Commodity); err != nil {
		return err
	}
	w.u64(p.Version).i64(int64(p.HaircutBps)).i64(int64(p.InitialLTVBps)).i64(int64(p.MaintenanceLTVBps)).
		i64(p.MarginCallGraceSec).i64(p.MaxPriceAgeSec).i64(p.UpdatedAt)
	return nil
}

func decodePrice(w *row, ids []string, raw []byte) error {
	p, err := decodeAs[financing.Price](raw)
	if err != nil {
		return err
	}
	if err := sameID("currency", ids[0], p.Currency); err != nil {
		return err
	}
	if err := sameID("commodity", ids[1], p.Commodity); err != nil {
		return err
	}
	w.u64(p.Version).u64(p.MinorPerTonne).i64(p.At).i64(p.Height).text(p.Oracle)
	return nil
}

// decodeLoan writes a loan with its open margin call, if any, in the call_
// columns (all NULL without one). exposure is what the bank has at risk
// (financing.Loan.Exposure): outstanding, plus the undrawn principal of
// an open loan.
func decodeLoan(w *row, ids []string, raw []byte) error {
	l, err := decodeAs[financing.Loan](raw)
	if err != nil {
		return err
	}
	if err := sameID("loan", ids[0], l.ID); err != nil {
		return err
	}
	w.u64(l.Version).text(l.Status.String()).text(l.Bank).text(l.Borrower).text(l.Commodity).text(l.Currency).
		texts(l.Pledges).u64(l.Principal).u64(l.Disbursed).u64(l.Outstanding).u64(exposureOf(l)).
		i64(int64(l.Terms.HaircutBps)).i64(int64(l.Terms.InitialLTVBps)).i64(int64(l.Terms.MaintenanceLTVBps)).
		i64(l.Terms.MarginCallGraceSec).u64(l.Terms.PolicyVersion).i64(l.Maturity).i64(l.OpenedAt)
	if c := l.Call; c != nil {
		w.i64(c.RaisedAt).i64(c.Deadline).u64(c.LTVBps).u64(c.ValueMinor).u64(c.PriceMinorPerTonne).u64(c.ShortfallMinor)
	} else {
		w.null().null().null().null().null().null()
	}
	w.i64(l.DefaultedAt).text(l.DefaultReason).i64(l.ClosedAt)
	return nil
}

// exposureOf is l.Exposure, except on a loan that breaks the chain's
// invariant outstanding ≤ disbursed ≤ principal, where Exposure's
// subtraction would wrap around: then it is the principal.
func exposureOf(l *financing.Loan) uint64 {
	if l.Disbursed > l.Principal || l.Outstanding > l.Disbursed {
		return l.Principal
	}
	return l.Exposure()
}

func decodeOpenLoans(w *row, ids []string, raw []byte) error {
	o, err := decodeAs[financing.OpenLoans](raw)
	if err != nil {
		return err
	}
	if err := sameID("currency", ids[0], o.Currency); err != nil {
		return err
	}
	if err := sameID("commodity", ids[1], o.Commodity); err != nil {
		return err
	}
	w.u64(o.Version).texts(o.Loans).i64(int64(len(o.Loans)))
	return nil
}

func decodeOffer(w *row, ids []string, raw []byte) error {
	o, err := decodeAs[trading.Offer](raw)
	if err != nil {
		return err
	}
	if err := sameID("offer", ids[0], o.ID); err != nil {
		return err
	}
	w.u64(o.Version).text(o.Status.String()).text(o.Seller).text(o.Buyer).text(o.Receipt).u64(o.ReceiptVersion).
		u64(o.PriceMinor).text(o.Currency).i64(o.Deadline).text(o.Pledge).text(o.PledgeBank).text(o.Loan).
		i64(o.CreatedAt).i64(o.ClosedAt)
	return nil
}

func decodeTrade(w *row, ids []string, raw []byte) error {
	t, err := decodeAs[trading.Trade](raw)
	if err != nil {
		return err
	}
	if err := sameID("trade", ids[0], t.ID); err != nil {
		return err
	}
	w.u64(t.Version).text(t.Status.String()).text(t.Seller).text(t.Buyer).text(t.BuyerBank).text(t.Receipt).
		u64(t.PriceMinor).text(t.Currency).i64(t.Deadline).text(t.Pledge).text(t.PledgeBank).text(t.Loan).
		i64(t.AcceptedAt).i64(t.FundedAt).text(t.EscrowRef).i64(t.ClosedAt).text(t.Note)
	return nil
}

func decodeSettlement(w *row, ids []string, raw []byte) error {
	s, err := decodeAs[trading.Settlement](raw)
	if err != nil {
		return err
	}
	if err := sameID("trade", ids[0], s.Trade); err != nil {
		return err
	}
	w.u64(s.Version).text(s.Receipt).u64(s.ReceiptVersion).text(s.Seller).text(s.Buyer).text(s.BuyerBank).
		u64(s.PriceMinor).text(s.Currency).u64(s.ToLoanMinor).u64(s.ToSellerMinor).text(s.Loan).text(s.Pledge).
		text(s.PledgeBank).u64(s.LoanOutstanding).i64(s.At).i64(s.Height)
	return nil
}
