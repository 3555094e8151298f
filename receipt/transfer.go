package receipt

// InitiateTransfer offers the receipt to a named transferee until a
// deadline (phase one of two). Signed by the holder; the receipt must be
// negotiable and free, or pledged with the pledgee co-signing: a
// transfer the pledgee consented to releases the pledge on acceptance.
type InitiateTransfer struct {
	Receipt  string
	Version  uint64
	To       string
	Deadline int64
}

func (*InitiateTransfer) Type() string { return "receipt.transfer.initiate" }

func (op *InitiateTransfer) Check() error {
	if err := CheckID("receipt", op.Receipt); err != nil {
		return err
	}
	if err := CheckVersion("receipt", op.Version); err != nil {
		return err
	}
	return CheckID("transferee", op.To)
}

func (op *InitiateTransfer) Apply(x *Exec) error {
	r, err := HolderAction(x, op.Receipt, op.Version)
	if err != nil {
		return err
	}
	if !r.Negotiable {
		return errf(ErrNotNegotiable, "%s", r.ID)
	}
	withPledge := ""
	if r.State == StatePledged {
		p, err := LoadPledge(x, r.Pledge)
		if err != nil {
			return err
		}
		if err := x.RequireCosigner(p.Bank, "the receipt is pledged"); err != nil {
			return errf(ErrPledgeeConsent, "%s is pledged to %s", r.ID, p.Bank)
		}
		withPledge = p.ID
	} else if err := requireFree(r); err != nil {
		return err
	}
	if op.To == r.Holder {
		return errf(ErrSelfTransfer, "%s", op.To)
	}
	if err := CheckEligibleHolder(x, op.To); err != nil {
		return err
	}
	if op.Deadline <= x.Block.Time || op.Deadline > x.Block.Time+x.Params().MaxTransferWindowSec {
		return errf(ErrBadDeadline, "deadline %d, now %d", op.Deadline, x.Block.Time)
	}
	if err := x.Stock.Tradable(x, r.Lot); err != nil {
		return err
	}
	r.State = StateTransferPending
	r.Transfer = &Transfer{To: op.To, Deadline: op.Deadline, WithPledge: withPledge}
	r.bump(x)
	SaveReceipt(x, r)
	refs := append(receiptRefs(x, r), Ref{Kind: RefParticipant, ID: op.To})
	x.Emit(EvTransferInitiated, refs, Attr{"to", op.To}, Attr{"deadline", I64(op.Deadline)})
	return nil
}

// AcceptTransfer is the named transferee taking the receipt (phase two),
// on the version it saw, before the deadline. Title moves now.
type AcceptTransfer struct {
	Receipt string
	Version uint64
}

func (*AcceptTransfer) Type() string { return "receipt.transfer.accept" }

func (op *AcceptTransfer) Check() error {
	if err := CheckID("receipt", op.Receipt); err != nil {
		return err
	}
	return CheckVersion("receipt", op.Version)
}

func (op *AcceptTransfer) Apply(x *Exec) error {
	r, err := LoadReceipt(x, op.Receipt)
	if err != nil {
		return err
	}
	if err := notTerminal(r); err != nil {
		return err
	}
	if r.Transfer == nil {
		return errf(ErrNoPendingTransfer, "%s", r.ID)
	}
	if r.Transfer.Trade != "" {
		return errf(ErrTradeLocked, "%s is locked by trade %s", r.ID, r.Transfer.Trade)
	}
	if err := x.RequireActor(r.Transfer.To, 0, ErrNotTransferee); err != nil {
		return err
	}
	if r.Version != op.Version {
		return errf(ErrStaleVersion, "%s is at version %d, op names %d", r.ID, r.Version, op.Version)
	}
	if err := notFrozenOrExpired(x, r); err != nil {
		return err
	}
	if x.Block.Time > r.Transfer.Deadline {
		return errf(ErrDeadlinePassed, "deadline %d, now %d", r.Transfer.Deadline, x.Block.Time)
	}
	if err := CheckEligibleHolder(x, r.Transfer.To); err != nil {
		return err
	}
	if err := x.Stock.Tradable(x, r.Lot); err != nil {
		return err
	}
	return completeTransfer(x, r, "receipt transferred with the pledgee's consent", "transferred with consent")
}

// completeTransfer moves r to its pending transferee, ending the pledge
// whose bank consented to the transfer, if any.
func completeTransfer(x *Exec, r *Receipt, pledgeNote, pledgeReason string, attrs ...Attr) error {
	refs := receiptRefs(x, r)
	if r.Transfer.WithPledge != "" {
		p, err := LoadPledge(x, r.Transfer.WithPledge)
		if err != nil {
			return err
		}
		if p.Status != PledgeActive {
			panic("receipt: consented transfer of a pledge that is not active")
		}
		ClosePledge(x, p, PledgeReleased, pledgeNote)
		x.Emit(EvPledgeReleased, refs, Attr{"reason", pledgeReason})
		r.Pledge = ""
	}
	from := r.Holder
	r.Holder = r.Transfer.To
	r.Transfer = nil
	r.State = StateIssued
	r.Moved = true
	r.bump(x)
	SaveReceipt(x, r)
	refs = append(refs, Ref{Kind: RefParticipant, ID: r.Holder})
	x.Emit(EvTransferAccepted, refs, append([]Attr{{"from", from}, {"to", r.Holder}}, attrs...)...)
	return nil
}

// CancelTransfer withdraws a pending transfer: by the holder at any time,
// by anyone once the deadline has passed.
type CancelTransfer struct {
	Receipt string
}

func (*CancelTransfer) Type() string { return "receipt.transfer.cancel" }

func (op *CancelTransfer) Check() error { return CheckID("receipt", op.Receipt) }

func (op *CancelTransfer) Apply(x *Exec) error {
	r, err := LoadReceipt(x, op.Receipt)
	if err != nil {
		return err
	}
	if err := notTerminal(r); err != nil {
		return err
	}
	if r.State == StateFrozen {
		return errf(ErrFrozen, "%s: %s", r.ID, r.Frozen.Reason)
	}
	if r.State != StateTransferPending {
		return errf(ErrNoPendingTransfer, "%s is %s", r.ID, r.State)
	}
	if r.Transfer.Trade != "" {
		return errf(ErrTradeLocked, "%s is locked by trade %s", r.ID, r.Transfer.Trade)
	}
	if x.Actor() != r.Holder && x.Block.Time <= r.Transfer.Deadline {
		return errf(ErrNotHolder, "only the holder may cancel before the deadline %d", r.Transfer.Deadline)
	}
	to := r.Transfer.To
	r.Transfer = nil
	r.State = StateIssued
	if r.Pledge != "" {
		r.State = StatePledged
	}
	r.bump(x)
	SaveReceipt(x, r)
	x.Emit(EvTransferCancelled, append(receiptRefs(x, r), Ref{Kind: RefParticipant, ID: to}))
	return nil
}

// LockForTrade puts a receipt under a trade (package trading) for its
// buyer: TRANSFER_PENDING to buyer until deadline, so that it cannot be
// sold twice, pledged, split or redeemed meanwhile. A pledged receipt is
// locked with its pledge, which ends when the trade settles; the caller has
// checked the pledgee's consent, the holder's signature, negotiability, the
// buyer's eligibility, the deadline and the lot.
func LockForTrade(x *Exec, r *Receipt, buyer string, deadline int64, trade string) error {
	if err := notTerminal(r); err != nil {
		return err
	}
	if err := notFrozenOrExpired(x, r); err != nil {
		return err
	}
	withPledge := ""
	if r.State == StatePledged {
		withPledge = r.Pledge
	} else if err := requireFree(r); err != nil {
		return err
	}
	r.State = StateTransferPending
	r.Transfer = &Transfer{To: buyer, Deadline: deadline, WithPledge: withPledge, Trade: trade}
	r.bump(x)
	SaveReceipt(x, r)
	refs := append(receiptRefs(x, r), Ref{Kind: RefParticipant, ID: buyer}, Ref{Kind: RefOffer, ID: trade})
	x.Emit(EvTransferInitiated, refs, Attr{"to", buyer}, Attr{"deadline", I64(deadline)}, Attr{"trade", trade})
	return nil
}

// CompleteTrade moves a receipt locked by trade to the trade's buyer, for
// package trading's settlement: title moves now, and the pledge whose bank
// consented to the sale ends with pledgeNote. The caller has checked the
// deadline, the funds and the lot.
func CompleteTrade(x *Exec, r *Receipt, trade, pledgeNote string) error {
	if r.Transfer == nil || r.Transfer.Trade != trade {
		return errf(ErrNoPendingTransfer, "%s is not locked by trade %s", r.ID, trade)
	}
	if err := notFrozenOrExpired(x, r); err != nil {
		return err
	}
	return completeTransfer(x, r, pledgeNote, "sold with consent", Attr{"trade", trade})
}

// UnlockTrade ends a trade's lock: the receipt returns to its holder free,
// or pledged if it was. It works under a freeze too (the receipt then
// returns there when unfrozen), so a frozen receipt does not hold the
// buyer's funds in escrow.
func UnlockTrade(x *Exec, r *Receipt, trade string) error {
	if err := notTerminal(r); err != nil {
		return err
	}
	if r.Transfer == nil || r.Transfer.Trade != trade {
		return errf(ErrNoPendingTransfer, "%s is not locked by trade %s", r.ID, trade)
	}
	to := r.Transfer.To
	r.Transfer = nil
	back := StateIssued
	if r.Pledge != "" {
		back = StatePledged
	}
	if r.State == StateFrozen {
		r.Frozen.Prior = back
	} else {
		r.State = back
	}
	r.bump(x)
	SaveReceipt(x, r)
	x.Emit(EvTransferCancelled, append(receiptRefs(x, r), Ref{Kind: RefParticipant, ID: to}, Ref{Kind: RefOffer, ID: trade}), Attr{"trade", trade})
	return nil
}
