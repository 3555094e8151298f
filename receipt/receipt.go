package receipt

import (
	"sort"
)

// State is where a receipt is in its lifecycle.
type State uint8

// Receipt states. CANCELLED (fully delivered), SUPERSEDED (split or merged
// into others) and VOID are terminal: a terminal receipt accepts nothing.
const (
	StateIssued            State = iota + 1 // free: the holder may act
	StateTransferPending                    // the holder offered it to a named transferee
	StatePledgePending                      // the holder asked a bank to take it as collateral
	StatePledged                            // a bank controls it until release or enforcement
	StateRedemptionPending                  // a release order for (part of) the goods is open
	StateFrozen                             // a regulator or sensor evidence stopped it
	StateExpired                            // block time passed its validity
	StateCancelled                          // all goods delivered
	StateSuperseded                         // replaced by split or merge
	StateVoid                               // voided by its issuer before any dealing
)

var stateNames = map[State]string{
	StateIssued: "ISSUED", StateTransferPending: "TRANSFER_PENDING", StatePledgePending: "PLEDGE_PENDING",
	StatePledged: "PLEDGED", StateRedemptionPending: "REDEMPTION_PENDING", StateFrozen: "FROZEN",
	StateExpired: "EXPIRED", StateCancelled: "CANCELLED", StateSuperseded: "SUPERSEDED", StateVoid: "VOID",
}

func (s State) String() string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return "UNKNOWN"
}

// Terminal reports whether the state accepts nothing.
func (s State) Terminal() bool {
	return s == StateCancelled || s == StateSuperseded || s == StateVoid
}

// Live reports whether a receipt in this state still stands for goods.
func (s State) Live() bool { return s >= StateIssued && s <= StateExpired }

// FeeTerms are the storage fee terms printed on the receipt.
type FeeTerms struct {
	Currency            string // ISO 4217
	MinorPerTonnePerDay uint64 // storage fee in minor units
	Terms               string // free text, e.g. "payable monthly in arrears"
}

// Transfer is a pending two-phase transfer.
type Transfer struct {
	To       string
	Deadline int64 // block time after which it can no longer be accepted
	// WithPledge is the active pledge whose bank consented; it is released
	// when the transferee accepts.
	WithPledge string
	// Trade is the trade (package trading) that locked the receipt for its
	// buyer. Such a transfer is not accepted or cancelled here: only that
	// trade's settlement moves the receipt, and only its cancellation frees it.
	Trade string
}

// FreezeInfo records why a receipt was stopped and what state it returns to.
type FreezeInfo struct {
	Prior  State
	Reason string
	By     string // participant, or the supervisor's submitter for a breach
	Cause  FreezeCause
	At     int64
	Alert  string // the alert behind a breach freeze
}

// FreezeCause is who or what froze a receipt.
type FreezeCause uint8

// Freeze causes.
const (
	FreezeByRegulator FreezeCause = iota + 1
	FreezeByBreach
)

// Receipt is an electronic warehouse receipt. Its mandatory contents follow
// the UNCITRAL/UNIDROIT Model Law Art. 10; its lifecycle fields follow
// DESIGN.md. Quantity is an integer in Unit (the lot's unit).
type Receipt struct {
	ID      string
	Version uint64
	State   State

	// Mandatory contents.
	Warehouse            string // warehouse id; the operator is Operator
	Operator             string // the warehouse operator that issued it
	Place                string // place of storage: the bay
	Lot                  string
	Depositor            string
	Negotiable           bool
	OrderOf              string // if negotiable: to whose order it was issued
	Commodity            string
	Grade                string
	Description          string
	Quantity             uint64
	Unit                 string
	IssuedAt             int64 // date of issue: block time
	PlaceOfIssue         string
	StorageUntil         int64 // end of the storage period
	ValidUntil           int64
	StorageAgreementDate int64
	StorageTermsRef      string
	ThirdPartyClaims     string // known third-party claims, or "none known"
	Fees                 FeeTerms
	Insurance            string // optional

	// Control and lifecycle.
	Holder       string
	Pledge       string // the pending or active pledge, if any
	Transfer     *Transfer
	ReleaseOrder string // the open release order, if any
	Frozen       *FreezeInfo
	Delivered    uint64 // quantity delivered out so far
	Deliveries   uint32 // release orders ever opened
	Parents      []string
	Children     []string
	// Moved is set once the receipt was ever transferred, pledged, split or
	// merged: from then on its issuer can no longer void it.
	Moved         bool
	UpdatedHeight int64
}

// bump records a change: every state change bumps the version.
func (r *Receipt) bump(x *Exec) {
	x.BumpOnce(ReceiptKey(r.ID), &r.Version)
	r.UpdatedHeight = x.Block.Height
}

// Expired reports whether block time is past the receipt's validity.
func (r *Receipt) Expired(now int64) bool { return now > r.ValidUntil }

// LoadReceipt loads a receipt.
func LoadReceipt(x *Exec, id string) (*Receipt, error) {
	r, ok := Load[Receipt](x, ReceiptKey(id))
	if !ok {
		return nil, errf(ErrReceiptNotFound, "%q", id)
	}
	return r, nil
}

// SaveReceipt writes a receipt.
func SaveReceipt(x *Exec, r *Receipt) { Save(x, ReceiptKey(r.ID), r) }

// Bump records a change on a receipt made by another domain package.
func (r *Receipt) Bump(x *Exec) { r.bump(x) }

// notTerminal returns ErrTerminal for a terminal receipt.
func notTerminal(r *Receipt) error {
	if r.State.Terminal() {
		return errf(ErrTerminal, "%s is %s", r.ID, r.State)
	}
	return nil
}

// NotTerminal is notTerminal for the other domain packages.
func NotTerminal(r *Receipt) error { return notTerminal(r) }

// notFrozenOrExpired refuses a frozen receipt, and one whose validity has
// passed (whether or not Expire has recorded it yet).
func notFrozenOrExpired(x *Exec, r *Receipt) error {
	if r.State == StateFrozen {
		return errf(ErrFrozen, "%s: %s", r.ID, r.Frozen.Reason)
	}
	if r.State == StateExpired || r.Expired(x.Block.Time) {
		return errf(ErrExpired, "%s was valid until %d", r.ID, r.ValidUntil)
	}
	return nil
}

// NotFrozenOrExpired is notFrozenOrExpired for the other domain packages.
func NotFrozenOrExpired(x *Exec, r *Receipt) error { return notFrozenOrExpired(x, r) }

// HolderAction loads a receipt for an action of its holder on the version
// the holder saw: it must exist, not be terminal, be signed by the holder,
// match the version, and be neither frozen nor expired.
func HolderAction(x *Exec, id string, version uint64) (*Receipt, error) {
	r, err := LoadReceipt(x, id)
	if err != nil {
		return nil, err
	}
	if err := notTerminal(r); err != nil {
		return nil, err
	}
	if err := x.RequireActor(r.Holder, 0, ErrNotHolder); err != nil {
		return nil, err
	}
	if r.Version != version {
		return nil, errf(ErrStaleVersion, "%s is at version %d, op names %d", r.ID, r.Version, version)
	}
	if err := notFrozenOrExpired(x, r); err != nil {
		return nil, err
	}
	return r, nil
}

// requireFree refuses a receipt that is encumbered, naming why.
func requireFree(r *Receipt) error {
	if r.Pledge != "" {
		return errf(ErrAlreadyPledged, "%s has pledge %s", r.ID, r.Pledge)
	}
	switch r.State {
	case StateIssued:
		return nil
	case StateTransferPending:
		return errf(ErrTransferPending, "%s", r.ID)
	case StateRedemptionPending:
		return errf(ErrRedemptionPending, "%s", r.ID)
	}
	return errf(ErrEncumbered, "%s is %s", r.ID, r.State)
}

// RequireFree is requireFree for the other domain packages.
func RequireFree(r *Receipt) error { return requireFree(r) }

// CheckEligibleHolder checks that id may hold receipts: an active trader or bank.
func CheckEligibleHolder(x *Exec, id string) error {
	p, err := x.Participant(id)
	if err != nil {
		return err
	}
	if p.Status != ParticipantActive {
		return errf(ErrSuspended, "%q", id)
	}
	if !p.Roles.Any(RoleTrader | RoleBank) {
		return errf(ErrNotEligibleHolder, "%q is %s", id, p.Roles)
	}
	return nil
}

// sortedUnique returns ids sorted, and whether they were all distinct.
func sortedUnique(ids []string) ([]string, bool) {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	for i := 1; i < len(out); i++ {
		if out[i] == out[i-1] {
			return out, false
		}
	}
	return out, true
}
