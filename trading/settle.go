package trading

import (
	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/receipt"
)

// ConfirmFunds is the buyer's bank confirming it holds the price in escrow
// for the seller, naming the amount and currency it holds. Signed by the
// buyer's bank, before the deadline.
type ConfirmFunds struct {
	Trade       string
	AmountMinor uint64
	Currency    string
	EscrowRef   string
}

func (*ConfirmFunds) Type() string { return "trading.funds.confirm" }

func (op *ConfirmFunds) Check() error {
	if err := receipt.CheckID("trade", op.Trade); err != nil {
		return err
	}
	if err := financing.CheckCurrency(op.Currency); err != nil {
		return err
	}
	if err := receipt.CheckText("escrow reference", op.EscrowRef, false); err != nil {
		return err
	}
	return financing.CheckAmount("amount", op.AmountMinor)
}

func (op *ConfirmFunds) Apply(x *receipt.Exec) error {
	t, err := LoadTrade(x, op.Trade)
	if err != nil {
		return err
	}
	if err := x.RequireActor(t.BuyerBank, receipt.RoleBank, ErrNotBuyerBank); err != nil {
		return err
	}
	if t.Status != TradeAwaitingFunds {
		return receipt.Errorf(ErrNotAwaitingFunds, "%s is %s", t.ID, t.Status)
	}
	if x.Block.Time > t.Deadline {
		return receipt.Errorf(ErrDeadlinePassed, "trade %s: deadline %d, now %d", t.ID, t.Deadline, x.Block.Time)
	}
	if op.AmountMinor != t.PriceMinor || op.Currency != t.Currency {
		return receipt.Errorf(ErrAmountMismatch, "holds %d %s, price %d %s", op.AmountMinor, op.Currency, t.PriceMinor, t.Currency)
	}
	t.Status = TradeFunded
	t.FundedAt = x.Block.Time
	t.EscrowRef = op.EscrowRef
	saveTrade(x, t)
	x.Emit(EvTradeFunded, tradeRefs(t), receipt.Attr{Key: "amount", Value: receipt.U64(op.AmountMinor)},
		receipt.Attr{Key: "currency", Value: op.Currency}, receipt.Attr{Key: "escrow_ref", Value: op.EscrowRef})
	return nil
}

// Settle is delivery versus payment, in one tx: the receipt moves to the
// buyer and the escrowed price is released to the seller. If the receipt
// was pledged with its bank's consent, the proceeds pay the loan the pledge
// secured first, the pledge closes, and only the rest is the seller's.
// Signed by the seller or the buyer, once funds are held and before the
// deadline; the receipt must be neither frozen nor expired and its lot
// healthy. If any leg fails, nothing moves.
type Settle struct {
	Trade string
}

func (*Settle) Type() string { return "trading.settle" }

func (op *Settle) Check() error { return receipt.CheckID("trade", op.Trade) }

func (op *Settle) Apply(x *receipt.Exec) error {
	t, err := LoadTrade(x, op.Trade)
	if err != nil {
		return err
	}
	if x.Actor() != t.Seller && x.Actor() != t.Buyer {
		return receipt.Errorf(ErrNotParty, "signer %s; seller %s, buyer %s", x.Actor(), t.Seller, t.Buyer)
	}
	switch t.Status {
	case TradeAwaitingFunds:
		return receipt.Errorf(ErrNoFunds, "%s: %s has not confirmed the funds", t.ID, t.BuyerBank)
	case TradeSettled, TradeCancelled:
		return receipt.Errorf(ErrTradeClosed, "%s is %s", t.ID, t.Status)
	}
	if x.Block.Time > t.Deadline {
		return receipt.Errorf(ErrDeadlinePassed, "trade %s: deadline %d, now %d", t.ID, t.Deadline, x.Block.Time)
	}
	r, err := receipt.LoadReceipt(x, t.Receipt)
	if err != nil {
		return err
	}
	if err := receipt.NotFrozenOrExpired(x, r); err != nil {
		return err
	}
	if err := receipt.CheckEligibleHolder(x, t.Buyer); err != nil {
		return err
	}
	if err := x.Stock.Tradable(x, r.Lot); err != nil {
		return err
	}
	// Title leg: the receipt to the buyer, the consented pledge closed.
	if err := receipt.CompleteTrade(x, r, t.ID, "receipt sold with the pledgee's consent"); err != nil {
		return err
	}
	// Payment leg: the loan first, then the seller.
	s := Settlement{Trade: t.ID, Receipt: t.Receipt, ReceiptVersion: r.Version, Seller: t.Seller, Buyer: t.Buyer,
		BuyerBank: t.BuyerBank, PriceMinor: t.PriceMinor, Currency: t.Currency, Loan: t.Loan, Pledge: t.Pledge,
		PledgeBank: t.PledgeBank, At: x.Block.Time, Height: x.Block.Height, Version: 1}
	if t.Loan != "" {
		applied, err := financing.ApplyProceeds(x, t.Loan, t.PriceMinor, t.ID)
		if err != nil {
			return err
		}
		l, err := financing.LoadLoan(x, t.Loan)
		if err != nil {
			return err
		}
		s.ToLoanMinor, s.LoanOutstanding = applied, l.Outstanding
	}
	s.ToSellerMinor = t.PriceMinor - s.ToLoanMinor
	receipt.Save(x, SettlementKey(s.Trade), &s)
	t.Status = TradeSettled
	t.ClosedAt = x.Block.Time
	saveTrade(x, t)
	x.Emit(EvTradeSettled, tradeRefs(t), receipt.Attr{Key: "price", Value: receipt.U64(t.PriceMinor)},
		receipt.Attr{Key: "currency", Value: t.Currency}, receipt.Attr{Key: "to_loan", Value: receipt.U64(s.ToLoanMinor)},
		receipt.Attr{Key: "to_seller", Value: receipt.U64(s.ToSellerMinor)})
	return nil
}

// CancelTrade ends an open trade: the receipt returns to the seller (free,
// or pledged as it was) and the buyer's bank releases the escrow. Before
// the deadline a trade awaiting funds is cancelled by the seller, the buyer
// or the buyer's bank, and a funded one only by seller and buyer together;
// after the deadline, by anyone.
type CancelTrade struct {
	Trade  string
	Reason string
}

func (*CancelTrade) Type() string { return "trading.cancel" }

func (op *CancelTrade) Check() error {
	if err := receipt.CheckID("trade", op.Trade); err != nil {
		return err
	}
	return receipt.CheckText("reason", op.Reason, true)
}

func (op *CancelTrade) Apply(x *receipt.Exec) error {
	t, err := LoadTrade(x, op.Trade)
	if err != nil {
		return err
	}
	if !t.Status.Open() {
		return receipt.Errorf(ErrTradeClosed, "%s is %s", t.ID, t.Status)
	}
	if x.Block.Time <= t.Deadline {
		switch a := x.Actor(); {
		case t.Status == TradeAwaitingFunds && a != t.Seller && a != t.Buyer && a != t.BuyerBank:
			return receipt.Errorf(ErrNotParty, "signer %s before the deadline %d", a, t.Deadline)
		case t.Status == TradeFunded && !(x.SignedBy(t.Seller) && x.SignedBy(t.Buyer)):
			return receipt.Errorf(ErrCancelRefused, "%s is funded; deadline %d", t.ID, t.Deadline)
		}
	}
	r, err := receipt.LoadReceipt(x, t.Receipt)
	if err != nil {
		return err
	}
	if err := receipt.UnlockTrade(x, r, t.ID); err != nil {
		return err
	}
	funded := t.Status == TradeFunded
	t.Status = TradeCancelled
	t.ClosedAt = x.Block.Time
	t.Note = op.Reason
	saveTrade(x, t)
	x.Emit(EvTradeCancelled, tradeRefs(t), receipt.Attr{Key: "reason", Value: op.Reason},
		receipt.Attr{Key: "escrow_released", Value: boolText(funded)})
	return nil
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// Cosigners (receipt.Cosigner): a funded trade is cancelled by both
// parties.
func (op *CancelTrade) Cosigners(x *receipt.Exec, actor string) []string {
	t, ok := receipt.Load[Trade](x, TradeKey(op.Trade))
	if !ok || t.Status != TradeFunded {
		return nil
	}
	switch actor {
	case t.Seller:
		return []string{t.Buyer}
	case t.Buyer:
		return []string{t.Seller}
	}
	return nil
}
