package trading

import (
	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/receipt"
)

// CreateOffer offers a receipt to a named buyer at a price, until a
// deadline. Signed by the holder, on the receipt version it offers. The
// receipt must be negotiable and free, or pledged with its pledgee
// co-signing (the bank's consent to the sale, in the loan's currency): a
// pledged receipt without that consent is refused here, at offer time.
type CreateOffer struct {
	Offer      string
	Receipt    string
	Version    uint64
	Buyer      string
	PriceMinor uint64
	Currency   string
	Deadline   int64
}

func (*CreateOffer) Type() string { return "trading.offer.create" }

func (op *CreateOffer) Check() error {
	if err := receipt.CheckVersion("receipt", op.Version); err != nil {
		return err
	}
	for _, f := range [][2]string{{"offer", op.Offer}, {"receipt", op.Receipt}, {"buyer", op.Buyer}} {
		if err := receipt.CheckID(f[0], f[1]); err != nil {
			return err
		}
	}
	if err := financing.CheckCurrency(op.Currency); err != nil {
		return err
	}
	return financing.CheckAmount("price", op.PriceMinor)
}

func (op *CreateOffer) Apply(x *receipt.Exec) error {
	r, err := receipt.HolderAction(x, op.Receipt, op.Version)
	if err != nil {
		return err
	}
	if !r.Negotiable {
		return receipt.Errorf(receipt.ErrNotNegotiable, "%s", r.ID)
	}
	if receipt.Has(x, OfferKey(op.Offer)) {
		return receipt.Errorf(ErrOfferExists, "%q", op.Offer)
	}
	o := Offer{ID: op.Offer, Status: OfferOpen, Seller: r.Holder, Buyer: op.Buyer, Receipt: r.ID, ReceiptVersion: r.Version,
		PriceMinor: op.PriceMinor, Currency: op.Currency, Deadline: op.Deadline, CreatedAt: x.Block.Time}
	if r.State == receipt.StatePledged {
		p, err := receipt.LoadPledge(x, r.Pledge)
		if err != nil {
			return err
		}
		if !x.SignedBy(p.Bank) {
			return receipt.Errorf(ErrPledgeeConsent, "%s is pledged to %s, which did not co-sign", r.ID, p.Bank)
		}
		if p.Loan != "" {
			l, err := financing.LoadLoan(x, p.Loan)
			if err != nil {
				return err
			}
			if l.Currency != op.Currency {
				return receipt.Errorf(ErrCurrencyMismatch, "price in %s, loan %s in %s", op.Currency, l.ID, l.Currency)
			}
		}
		o.Pledge, o.PledgeBank, o.Loan = p.ID, p.Bank, p.Loan
	} else if err := receipt.RequireFree(r); err != nil {
		return err
	}
	if op.Buyer == r.Holder {
		return receipt.Errorf(receipt.ErrSelfTransfer, "%s", op.Buyer)
	}
	if err := receipt.CheckEligibleHolder(x, op.Buyer); err != nil {
		return err
	}
	if err := checkDeadline(x, r, op.Deadline); err != nil {
		return err
	}
	if err := x.Stock.Tradable(x, r.Lot); err != nil {
		return err
	}
	saveOffer(x, &o)
	x.Emit(EvOfferCreated, receipt.Refs(receipt.RefOffer, o.ID, receipt.RefReceipt, r.ID, receipt.RefLot, r.Lot,
		receipt.RefParticipant, o.Seller, receipt.RefParticipant, o.Buyer, receipt.RefPledge, o.Pledge, receipt.RefParticipant, o.PledgeBank,
		receipt.RefLoan, o.Loan),
		receipt.Attr{Key: "price", Value: receipt.U64(o.PriceMinor)}, receipt.Attr{Key: "currency", Value: o.Currency},
		receipt.Attr{Key: "deadline", Value: receipt.I64(o.Deadline)})
	return nil
}

// checkDeadline refuses a deadline not in the future, beyond the
// consortium's transfer window, or past the receipt's validity (so that a
// trade never outlives the receipt it locks).
func checkDeadline(x *receipt.Exec, r *receipt.Receipt, deadline int64) error {
	now := x.Block.Time
	if deadline <= now || deadline > now+x.Params().MaxTransferWindowSec || deadline > r.ValidUntil {
		return receipt.Errorf(ErrBadDeadline, "deadline %d, now %d, receipt valid until %d", deadline, now, r.ValidUntil)
	}
	return nil
}

// WithdrawOffer takes back an offer not yet accepted. Signed by the seller.
type WithdrawOffer struct {
	Offer string
}

func (*WithdrawOffer) Type() string { return "trading.offer.withdraw" }

func (op *WithdrawOffer) Check() error { return receipt.CheckID("offer", op.Offer) }

func (op *WithdrawOffer) Apply(x *receipt.Exec) error {
	o, err := LoadOffer(x, op.Offer)
	if err != nil {
		return err
	}
	if err := x.RequireActor(o.Seller, 0, ErrNotSeller); err != nil {
		return err
	}
	if o.Status != OfferOpen {
		return receipt.Errorf(ErrOfferNotOpen, "%s is %s", o.ID, o.Status)
	}
	o.Status = OfferWithdrawn
	o.ClosedAt = x.Block.Time
	saveOffer(x, o)
	x.Emit(EvOfferWithdrawn, receipt.Refs(receipt.RefOffer, o.ID, receipt.RefReceipt, o.Receipt,
		receipt.RefParticipant, o.Seller, receipt.RefParticipant, o.Buyer))
	return nil
}

// AcceptOffer is the named buyer taking the offer, naming the bank that
// will hold its funds, before the deadline and on the receipt version
// offered. It opens a trade awaiting funds and locks the receipt for the
// buyer (TRANSFER_PENDING): from now it cannot be sold to anyone else,
// pledged, split or redeemed.
type AcceptOffer struct {
	Offer     string
	BuyerBank string
}

func (*AcceptOffer) Type() string { return "trading.offer.accept" }

func (op *AcceptOffer) Check() error {
	if err := receipt.CheckID("offer", op.Offer); err != nil {
		return err
	}
	return receipt.CheckID("buyer's bank", op.BuyerBank)
}

func (op *AcceptOffer) Apply(x *receipt.Exec) error {
	o, err := LoadOffer(x, op.Offer)
	if err != nil {
		return err
	}
	if err := x.RequireActor(o.Buyer, 0, ErrNotBuyer); err != nil {
		return err
	}
	if o.Status != OfferOpen {
		return receipt.Errorf(ErrOfferNotOpen, "%s is %s", o.ID, o.Status)
	}
	if x.Block.Time > o.Deadline {
		return receipt.Errorf(ErrDeadlinePassed, "offer %s: deadline %d, now %d", o.ID, o.Deadline, x.Block.Time)
	}
	bank, err := x.Participant(op.BuyerBank)
	if err != nil {
		return err
	}
	if !bank.Roles.Has(receipt.RoleBank) || bank.Status != receipt.ParticipantActive {
		return receipt.Errorf(receipt.ErrNotABank, "%q", op.BuyerBank)
	}
	r, err := receipt.LoadReceipt(x, o.Receipt)
	if err != nil {
		return err
	}
	if err := receipt.NotTerminal(r); err != nil {
		return err
	}
	if r.Version != o.ReceiptVersion || r.Holder != o.Seller || r.Pledge != o.Pledge {
		return receipt.Errorf(ErrOfferChanged, "%s is at version %d, offered at %d", r.ID, r.Version, o.ReceiptVersion)
	}
	if err := receipt.NotFrozenOrExpired(x, r); err != nil {
		return err
	}
	if err := receipt.CheckEligibleHolder(x, o.Buyer); err != nil {
		return err
	}
	if err := x.Stock.Tradable(x, r.Lot); err != nil {
		return err
	}
	if err := receipt.LockForTrade(x, r, o.Buyer, o.Deadline, o.ID); err != nil {
		return err
	}
	o.Status = OfferAccepted
	o.ClosedAt = x.Block.Time
	saveOffer(x, o)
	t := Trade{ID: o.ID, Status: TradeAwaitingFunds, Seller: o.Seller, Buyer: o.Buyer, BuyerBank: bank.ID, Receipt: o.Receipt,
		PriceMinor: o.PriceMinor, Currency: o.Currency, Deadline: o.Deadline, Pledge: o.Pledge, PledgeBank: o.PledgeBank,
		Loan: o.Loan, AcceptedAt: x.Block.Time}
	saveTrade(x, &t)
	x.Emit(EvOfferAccepted, tradeRefs(&t), receipt.Attr{Key: "price", Value: receipt.U64(t.PriceMinor)},
		receipt.Attr{Key: "currency", Value: t.Currency}, receipt.Attr{Key: "deadline", Value: receipt.I64(t.Deadline)})
	return nil
}

// Cosigners (receipt.Cosigner): a pledged receipt is offered with its
// bank's consent.
func (op *CreateOffer) Cosigners(x *receipt.Exec, _ string) []string {
	return receipt.PledgeeOf(x, op.Receipt)
}
