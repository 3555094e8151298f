package receipt

// Freeze stops a receipt: nothing moves until it is unfrozen. Signed by a
// regulator or a consortium admin, with a reason. Freezing never moves a
// receipt or changes a quantity.
type Freeze struct {
	Receipt string
	Reason  string
}

func (*Freeze) Type() string { return "receipt.freeze" }

func (op *Freeze) Check() error {
	if err := CheckID("receipt", op.Receipt); err != nil {
		return err
	}
	return CheckText("reason", op.Reason, true)
}

func (op *Freeze) Apply(x *Exec) error {
	if _, err := x.RequireRole(RoleRegulator | RoleAdmin); err != nil {
		return err
	}
	r, err := LoadReceipt(x, op.Receipt)
	if err != nil {
		return err
	}
	return FreezeReceipt(x, r, FreezeByRegulator, op.Reason, "")
}

// FreezeReceipt freezes r for cause. The iot rules call it for every live
// receipt of a lot whose breach the validators re-checked.
func FreezeReceipt(x *Exec, r *Receipt, cause FreezeCause, reason, alert string) error {
	if err := notTerminal(r); err != nil {
		return err
	}
	if r.State == StateFrozen {
		return errf(ErrAlreadyFrozen, "%s: %s", r.ID, r.Frozen.Reason)
	}
	r.Frozen = &FreezeInfo{Prior: r.State, Reason: reason, By: x.Actor(), Cause: cause, At: x.Block.Time, Alert: alert}
	r.State = StateFrozen
	r.bump(x)
	SaveReceipt(x, r)
	x.Emit(EvReceiptFrozen, receiptRefs(x, r), Attr{"reason", reason}, Attr{"cause", causeName(cause)})
	return nil
}

func causeName(c FreezeCause) string {
	if c == FreezeByBreach {
		return "breach"
	}
	return "regulator"
}

// Unfreeze lifts a regulator's freeze. Signed by a regulator. A freeze on
// sensor evidence is lifted through the lot's re-count instead, which
// needs the collateral manager too.
type Unfreeze struct {
	Receipt string
	Reason  string
}

func (*Unfreeze) Type() string { return "receipt.unfreeze" }

func (op *Unfreeze) Check() error {
	if err := CheckID("receipt", op.Receipt); err != nil {
		return err
	}
	return CheckText("reason", op.Reason, true)
}

func (op *Unfreeze) Apply(x *Exec) error {
	if _, err := x.RequireRole(RoleRegulator); err != nil {
		return err
	}
	r, err := LoadReceipt(x, op.Receipt)
	if err != nil {
		return err
	}
	if err := notTerminal(r); err != nil {
		return err
	}
	if r.State != StateFrozen {
		return errf(ErrNotFrozen, "%s is %s", r.ID, r.State)
	}
	if r.Frozen.Cause == FreezeByBreach {
		return errf(ErrBreachFreeze, "%s (alert %s)", r.ID, r.Frozen.Alert)
	}
	if x.Guards.Unfreeze != nil {
		if err := x.Guards.Unfreeze(x, r); err != nil {
			return err
		}
	}
	return UnfreezeReceipt(x, r, op.Reason)
}

// UnfreezeReceipt returns a frozen receipt to the state it was frozen in.
func UnfreezeReceipt(x *Exec, r *Receipt, reason string) error {
	if r.State != StateFrozen {
		return errf(ErrNotFrozen, "%s is %s", r.ID, r.State)
	}
	r.State = r.Frozen.Prior
	r.Frozen = nil
	r.bump(x)
	SaveReceipt(x, r)
	x.Emit(EvReceiptUnfrozen, receiptRefs(x, r), Attr{"reason", reason})
	return nil
}

// Expire records that block time passed the receipt's validity. Anyone may
// submit it. A pending transfer is cancelled and a pending pledge request
// lapses; an active pledge stays with its bank, which may still release or
// enforce. The holder may still redeem the goods.
type Expire struct {
	Receipt string
}

func (*Expire) Type() string { return "receipt.expire" }

func (op *Expire) Check() error { return CheckID("receipt", op.Receipt) }

func (op *Expire) Apply(x *Exec) error {
	r, err := LoadReceipt(x, op.Receipt)
	if err != nil {
		return err
	}
	if err := notTerminal(r); err != nil {
		return err
	}
	switch r.State {
	case StateExpired:
		return errf(ErrExpired, "%s already expired", r.ID)
	case StateFrozen:
		return errf(ErrFrozen, "%s: %s", r.ID, r.Frozen.Reason)
	case StateRedemptionPending:
		return errf(ErrRedemptionPending, "%s", r.ID)
	}
	if r.Transfer != nil && r.Transfer.Trade != "" {
		// A trade's deadline is within the receipt's validity: once it is
		// expired anyone may cancel the trade, and then expire the receipt.
		return errf(ErrTradeLocked, "%s is locked by trade %s", r.ID, r.Transfer.Trade)
	}
	if !r.Expired(x.Block.Time) {
		return errf(ErrNotYetExpired, "%s valid until %d, now %d", r.ID, r.ValidUntil, x.Block.Time)
	}
	refs := receiptRefs(x, r)
	switch r.State {
	case StateTransferPending:
		r.Transfer = nil
	case StatePledgePending:
		p, err := LoadPledge(x, r.Pledge)
		if err != nil {
			return err
		}
		ClosePledge(x, p, PledgeLapsed, "receipt expired before confirmation")
		x.Emit(EvPledgeLapsed, refs)
		r.Pledge = ""
	}
	r.State = StateExpired
	r.bump(x)
	SaveReceipt(x, r)
	x.Emit(EvReceiptExpired, refs, Attr{"valid_until", I64(r.ValidUntil)})
	return nil
}

// Void cancels a receipt issued in error. Signed by its issuing operator,
// only while the depositor still holds it and before any transfer, pledge
// or split. The lot's quantity is freed.
type Void struct {
	Receipt string
	Version uint64
	Reason  string
}

func (*Void) Type() string { return "receipt.void" }

func (op *Void) Check() error {
	if err := CheckID("receipt", op.Receipt); err != nil {
		return err
	}
	if err := CheckVersion("receipt", op.Version); err != nil {
		return err
	}
	return CheckText("reason", op.Reason, true)
}

func (op *Void) Apply(x *Exec) error {
	r, err := LoadReceipt(x, op.Receipt)
	if err != nil {
		return err
	}
	if err := notTerminal(r); err != nil {
		return err
	}
	if err := x.RequireActor(r.Operator, RoleOperator, ErrNotIssuer); err != nil {
		return err
	}
	if r.Version != op.Version {
		return errf(ErrStaleVersion, "%s is at version %d, op names %d", r.ID, r.Version, op.Version)
	}
	if r.State == StateFrozen {
		return errf(ErrFrozen, "%s: %s", r.ID, r.Frozen.Reason)
	}
	if r.State != StateIssued || r.Moved || r.Holder != r.Depositor || len(r.Parents) > 0 || r.Deliveries > 0 {
		return errf(ErrVoidNotAllowed, "%s", r.ID)
	}
	if err := x.Stock.Free(x, r.Lot, r.ID, r.Quantity); err != nil {
		return err
	}
	refs := receiptRefs(x, r)
	r.State = StateVoid
	r.bump(x)
	SaveReceipt(x, r)
	x.Emit(EvReceiptVoided, refs, Attr{"reason", op.Reason})
	return nil
}

// Amend changes the receipt's non-economic text: description, known
// third-party claims, insurance. Quantity, goods, parties, validity and
// terms never change by amendment. Signed by the issuing operator and
// co-signed by the holder.
type Amend struct {
	Receipt          string
	Version          uint64
	Description      string
	ThirdPartyClaims string
	Insurance        string
}

func (*Amend) Type() string { return "receipt.amend" }

func (op *Amend) Check() error {
	if err := CheckID("receipt", op.Receipt); err != nil {
		return err
	}
	if err := CheckVersion("receipt", op.Version); err != nil {
		return err
	}
	if err := CheckText("description", op.Description, true); err != nil {
		return err
	}
	if err := CheckText("third-party claims", op.ThirdPartyClaims, true); err != nil {
		return err
	}
	return CheckText("insurance", op.Insurance, false)
}

func (op *Amend) Apply(x *Exec) error {
	r, err := LoadReceipt(x, op.Receipt)
	if err != nil {
		return err
	}
	if err := notTerminal(r); err != nil {
		return err
	}
	if err := x.RequireActor(r.Operator, RoleOperator, ErrNotIssuer); err != nil {
		return err
	}
	if err := x.RequireCosigner(r.Holder, "the holder agrees to the amendment"); err != nil {
		return err
	}
	if r.Version != op.Version {
		return errf(ErrStaleVersion, "%s is at version %d, op names %d", r.ID, r.Version, op.Version)
	}
	if r.State == StateFrozen {
		return errf(ErrFrozen, "%s: %s", r.ID, r.Frozen.Reason)
	}
	var changed []Attr
	if r.Description != op.Description {
		changed = append(changed, Attr{"description", op.Description})
	}
	if r.ThirdPartyClaims != op.ThirdPartyClaims {
		changed = append(changed, Attr{"third_party_claims", op.ThirdPartyClaims})
	}
	if r.Insurance != op.Insurance {
		changed = append(changed, Attr{"insurance", op.Insurance})
	}
	if len(changed) == 0 {
		return errf(ErrInvalidOp, "amendment changes nothing")
	}
	r.Description, r.ThirdPartyClaims, r.Insurance = op.Description, op.ThirdPartyClaims, op.Insurance
	r.bump(x)
	SaveReceipt(x, r)
	x.Emit(EvReceiptAmended, receiptRefs(x, r), changed...)
	return nil
}
