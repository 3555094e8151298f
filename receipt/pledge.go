package receipt

// PledgeStatus is where a pledge is in the handshake.
type PledgeStatus uint8

// Pledge statuses. Only PENDING and ACTIVE encumber the receipt; at most
// one pledge per receipt is ever in either.
const (
	PledgePending   PledgeStatus = iota + 1 // requested by the holder
	PledgeActive                            // confirmed by the bank: the bank controls the receipt
	PledgeRejected                          // refused by the bank
	PledgeWithdrawn                         // request withdrawn by the holder
	PledgeReleased                          // released by the bank (loan repaid), or closed by consented sale or delivery
	PledgeInvoked                           // enforced: control moved to the bank
	PledgeLapsed                            // request lapsed when the receipt expired
)

var pledgeStatusNames = map[PledgeStatus]string{
	PledgePending: "PENDING", PledgeActive: "ACTIVE", PledgeRejected: "REJECTED", PledgeWithdrawn: "WITHDRAWN",
	PledgeReleased: "RELEASED", PledgeInvoked: "INVOKED", PledgeLapsed: "LAPSED",
}

func (s PledgeStatus) String() string {
	if n, ok := pledgeStatusNames[s]; ok {
		return n
	}
	return "UNKNOWN"
}

// Open reports whether the pledge encumbers its receipt.
func (s PledgeStatus) Open() bool { return s == PledgePending || s == PledgeActive }

// Pledge is a receipt given to a bank as collateral (Model Law Art. 19):
// the holder requests, the bank confirms on the receipt version it checked,
// and from then on the bank controls the receipt until it releases it or
// enforces.
type Pledge struct {
	ID             string
	Receipt        string
	Pledgor        string
	Bank           string
	Status         PledgeStatus
	ReceiptVersion uint64 // the receipt version the request left; confirmation must name it
	Quantity       uint64
	RequestedAt    int64
	ConfirmedAt    int64
	ClosedAt       int64
	Maturity       int64 // block time by which the secured debt is due
	// Defaulted is set by the financing rules when a margin call went
	// uncured past its deadline; it allows enforcement before maturity.
	Defaulted bool
	Loan      string // the loan it secures, if the financing rules opened one
	Note      string // why it closed
	Version   uint64
}

// LoadPledge loads a pledge.
func LoadPledge(x *Exec, id string) (*Pledge, error) {
	p, ok := Load[Pledge](x, PledgeKey(id))
	if !ok {
		return nil, errf(ErrPledgeNotFound, "%q", id)
	}
	return p, nil
}

// pledgeAt loads a pledge the signer saw at version.
func pledgeAt(x *Exec, id string, version uint64) (*Pledge, error) {
	p, err := LoadPledge(x, id)
	if err != nil {
		return nil, err
	}
	if p.Version != version {
		return nil, errf(ErrStaleVersion, "pledge %s is at version %d, op names %d", p.ID, p.Version, version)
	}
	return p, nil
}

// SavePledge writes a pledge.
func SavePledge(x *Exec, p *Pledge) { Save(x, PledgeKey(p.ID), p) }

// ClosePledge ends an open pledge with status and note, for the other
// domain packages (delivery and consented sale close pledges too).
func ClosePledge(x *Exec, p *Pledge, status PledgeStatus, note string) {
	p.Status = status
	p.Note = note
	p.ClosedAt = x.Block.Time
	p.Version++
	SavePledge(x, p)
}

// RequestPledge asks a bank to take the receipt as collateral. Signed by
// the holder; the receipt must be free, its lot healthy, and its validity
// must cover the maturity.
type RequestPledge struct {
	Pledge   string
	Receipt  string
	Version  uint64
	Bank     string
	Maturity int64
}

func (*RequestPledge) Type() string { return "pledge.request" }

func (op *RequestPledge) Check() error {
	if err := CheckID("pledge", op.Pledge); err != nil {
		return err
	}
	if err := CheckVersion("receipt", op.Version); err != nil {
		return err
	}
	if err := CheckID("receipt", op.Receipt); err != nil {
		return err
	}
	return CheckID("bank", op.Bank)
}

func (op *RequestPledge) Apply(x *Exec) error {
	r, err := HolderAction(x, op.Receipt, op.Version)
	if err != nil {
		return err
	}
	if err := requireFree(r); err != nil {
		return err
	}
	if Has(x, PledgeKey(op.Pledge)) {
		return errf(ErrPledgeExists, "%q", op.Pledge)
	}
	bank, err := x.Participant(op.Bank)
	if err != nil {
		return err
	}
	if !bank.Roles.Has(RoleBank) || bank.Status != ParticipantActive || bank.ID == r.Holder {
		return errf(ErrNotABank, "%q", op.Bank)
	}
	if op.Maturity <= x.Block.Time || op.Maturity > r.ValidUntil {
		return errf(ErrValidityTooShort, "maturity %d, now %d, receipt valid until %d", op.Maturity, x.Block.Time, r.ValidUntil)
	}
	if err := x.Stock.Tradable(x, r.Lot); err != nil {
		return err
	}
	r.State = StatePledgePending
	r.Pledge = op.Pledge
	r.Moved = true
	r.bump(x)
	p := Pledge{
		ID: op.Pledge, Receipt: r.ID, Pledgor: r.Holder, Bank: op.Bank, Status: PledgePending,
		ReceiptVersion: r.Version, Quantity: r.Quantity, RequestedAt: x.Block.Time, Maturity: op.Maturity, Version: 1,
	}
	SaveReceipt(x, r)
	SavePledge(x, &p)
	x.Emit(EvPledgeRequested, receiptRefs(x, r), Attr{"quantity", u64(r.Quantity)})
	return nil
}

// ConfirmPledge is the bank taking control. It names the receipt version
// the bank checked: if anything changed since the request, it fails.
type ConfirmPledge struct {
	Pledge         string
	ReceiptVersion uint64
}

func (*ConfirmPledge) Type() string { return "pledge.confirm" }

func (op *ConfirmPledge) Check() error {
	if err := CheckID("pledge", op.Pledge); err != nil {
		return err
	}
	return CheckVersion("receipt", op.ReceiptVersion)
}

func (op *ConfirmPledge) Apply(x *Exec) error {
	p, err := LoadPledge(x, op.Pledge)
	if err != nil {
		return err
	}
	if err := x.RequireActor(p.Bank, RoleBank, ErrNotPledgee); err != nil {
		return err
	}
	if p.Status != PledgePending {
		return errf(ErrPledgeNotPending, "%s is %s", p.ID, p.Status)
	}
	r, err := LoadReceipt(x, p.Receipt)
	if err != nil {
		return err
	}
	if err := notTerminal(r); err != nil {
		return err
	}
	if err := notFrozenOrExpired(x, r); err != nil {
		return err
	}
	if r.Version != op.ReceiptVersion || p.ReceiptVersion != r.Version {
		return errf(ErrStaleVersion, "%s is at version %d; requested at %d; confirmation names %d", r.ID, r.Version, p.ReceiptVersion, op.ReceiptVersion)
	}
	if r.State != StatePledgePending || r.Pledge != p.ID {
		return errf(ErrPledgeNotPending, "%s is %s", r.ID, r.State)
	}
	if err := x.Stock.Tradable(x, r.Lot); err != nil {
		return err
	}
	r.State = StatePledged
	r.bump(x)
	p.Status = PledgeActive
	p.ConfirmedAt = x.Block.Time
	p.Version++
	SaveReceipt(x, r)
	SavePledge(x, p)
	x.Emit(EvPledgeConfirmed, receiptRefs(x, r), Attr{"quantity", u64(r.Quantity)})
	return nil
}

// RejectPledge ends a pending request: by the bank (rejected) or by the
// holder (withdrawn). It is allowed on a frozen receipt: it only lifts an
// encumbrance.
type RejectPledge struct {
	Pledge  string
	Reason  string
	Version uint64 // the pledge version the signer saw
}

func (*RejectPledge) Type() string { return "pledge.reject" }

func (op *RejectPledge) Check() error {
	if err := CheckID("pledge", op.Pledge); err != nil {
		return err
	}
	if err := CheckVersion("pledge", op.Version); err != nil {
		return err
	}
	return CheckText("reason", op.Reason, false)
}

func (op *RejectPledge) Apply(x *Exec) error {
	p, err := pledgeAt(x, op.Pledge, op.Version)
	if err != nil {
		return err
	}
	status, ev := PledgeRejected, EvPledgeRejected
	switch x.Actor() {
	case p.Bank:
	case p.Pledgor:
		status, ev = PledgeWithdrawn, EvPledgeWithdrawn
	default:
		return errf(ErrForbidden, "only the bank or the pledgor may reject pledge %s", p.ID)
	}
	return endPendingPledge(x, p, status, ev, op.Reason)
}

// WithdrawPledgeRequest is the holder taking back a pending request.
type WithdrawPledgeRequest struct {
	Pledge  string
	Version uint64 // the pledge version the signer saw
}

func (*WithdrawPledgeRequest) Type() string { return "pledge.withdraw" }

func (op *WithdrawPledgeRequest) Check() error {
	if err := CheckID("pledge", op.Pledge); err != nil {
		return err
	}
	return CheckVersion("pledge", op.Version)
}

func (op *WithdrawPledgeRequest) Apply(x *Exec) error {
	p, err := pledgeAt(x, op.Pledge, op.Version)
	if err != nil {
		return err
	}
	if err := x.RequireActor(p.Pledgor, 0, ErrNotHolder); err != nil {
		return err
	}
	return endPendingPledge(x, p, PledgeWithdrawn, EvPledgeWithdrawn, "withdrawn by the pledgor")
}

func endPendingPledge(x *Exec, p *Pledge, status PledgeStatus, ev, reason string) error {
	if p.Status != PledgePending {
		return errf(ErrPledgeNotPending, "%s is %s", p.ID, p.Status)
	}
	r, err := LoadReceipt(x, p.Receipt)
	if err != nil {
		return err
	}
	if err := notTerminal(r); err != nil {
		return err
	}
	r.Pledge = ""
	switch {
	case r.State == StatePledgePending:
		r.State = StateIssued
	case r.State == StateFrozen && r.Frozen.Prior == StatePledgePending:
		r.Frozen.Prior = StateIssued
	default:
		panic("receipt: pending pledge on a receipt in state " + r.State.String())
	}
	r.bump(x)
	SaveReceipt(x, r)
	ClosePledge(x, p, status, reason)
	refs := append(receiptRefs(x, r), Ref{Kind: RefPledge, ID: p.ID}, Ref{Kind: RefParticipant, ID: p.Bank})
	x.Emit(ev, refs, Attr{"reason", reason})
	return nil
}

// ReleasePledge is the bank giving up control: the secured debt was
// repaid. The receipt is free again.
type ReleasePledge struct {
	Pledge  string
	Version uint64 // the pledge version the signer saw
}

func (*ReleasePledge) Type() string { return "pledge.release" }

func (op *ReleasePledge) Check() error {
	if err := CheckID("pledge", op.Pledge); err != nil {
		return err
	}
	return CheckVersion("pledge", op.Version)
}

func (op *ReleasePledge) Apply(x *Exec) error {
	if _, err := pledgeAt(x, op.Pledge, op.Version); err != nil {
		return err
	}
	p, r, err := activePledgeAction(x, op.Pledge)
	if err != nil {
		return err
	}
	if x.Guards.Release != nil {
		if err := x.Guards.Release(x, p); err != nil {
			return err
		}
	}
	release(x, p, r, "released by the bank")
	return nil
}

// EndActivePledge releases an active pledge whose secured debt is settled,
// for the other domain packages: the financing rules release a repaid
// loan's collateral. The caller has checked its authority. The receipt
// must not be frozen, in a transfer or in redemption; if it is, a typed
// error is returned and nothing is written.
func EndActivePledge(x *Exec, p *Pledge, note string) error {
	if p.Status != PledgeActive {
		return errf(ErrPledgeNotActive, "%s is %s", p.ID, p.Status)
	}
	r, err := LoadReceipt(x, p.Receipt)
	if err != nil {
		return err
	}
	if err := notTerminal(r); err != nil {
		return err
	}
	if err := releasable(r); err != nil {
		return err
	}
	release(x, p, r, note, Attr{"reason", note})
	return nil
}

// release frees r from its active pledge p.
func release(x *Exec, p *Pledge, r *Receipt, note string, attrs ...Attr) {
	refs := receiptRefs(x, r)
	r.Pledge = ""
	if r.State == StatePledged {
		r.State = StateIssued
	}
	r.bump(x)
	SaveReceipt(x, r)
	ClosePledge(x, p, PledgeReleased, note)
	x.Emit(EvPledgeReleased, refs, attrs...)
}

// InvokePledge is the bank enforcing: control of the receipt moves to the
// bank. Allowed once a default is recorded: maturity passed unpaid, or a
// margin call went uncured.
type InvokePledge struct {
	Pledge  string
	Version uint64 // the pledge version the signer saw
}

func (*InvokePledge) Type() string { return "pledge.invoke" }

func (op *InvokePledge) Check() error {
	if err := CheckID("pledge", op.Pledge); err != nil {
		return err
	}
	return CheckVersion("pledge", op.Version)
}

func (op *InvokePledge) Apply(x *Exec) error {
	if _, err := pledgeAt(x, op.Pledge, op.Version); err != nil {
		return err
	}
	p, r, err := activePledgeAction(x, op.Pledge)
	if err != nil {
		return err
	}
	if !p.Defaulted && x.Block.Time <= p.Maturity {
		return errf(ErrNoDefault, "maturity %d not passed (now %d) and no uncured margin call", p.Maturity, x.Block.Time)
	}
	if x.Guards.Invoke != nil {
		if err := x.Guards.Invoke(x, p); err != nil {
			return err
		}
	}
	refs := receiptRefs(x, r)
	prior := r.Holder
	r.Holder = p.Bank
	r.Pledge = ""
	if r.State == StatePledged {
		r.State = StateIssued
	}
	r.Moved = true
	r.bump(x)
	SaveReceipt(x, r)
	ClosePledge(x, p, PledgeInvoked, "enforced by the bank")
	x.Emit(EvPledgeInvoked, refs, Attr{"from", prior}, Attr{"to", p.Bank})
	return nil
}

// activePledgeAction loads an active pledge and its receipt for an action
// of that pledge's bank.
func activePledgeAction(x *Exec, id string) (*Pledge, *Receipt, error) {
	p, err := LoadPledge(x, id)
	if err != nil {
		return nil, nil, err
	}
	if err := x.RequireActor(p.Bank, RoleBank, ErrNotPledgee); err != nil {
		return nil, nil, err
	}
	if p.Status != PledgeActive {
		return nil, nil, errf(ErrPledgeNotActive, "%s is %s", p.ID, p.Status)
	}
	r, err := LoadReceipt(x, p.Receipt)
	if err != nil {
		return nil, nil, err
	}
	if err := notTerminal(r); err != nil {
		return nil, nil, err
	}
	if err := releasable(r); err != nil {
		return nil, nil, err
	}
	return p, r, nil
}

// releasable refuses to end an active pledge on a receipt that is frozen,
// being transferred or being redeemed.
func releasable(r *Receipt) error {
	switch r.State {
	case StateFrozen:
		return errf(ErrFrozen, "%s: %s", r.ID, r.Frozen.Reason)
	case StateTransferPending:
		return errf(ErrPledgeTransferActive, "%s", r.ID)
	case StateRedemptionPending:
		return errf(ErrRedemptionPending, "%s", r.ID)
	}
	return nil
}
