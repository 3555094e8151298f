package receipt

import (
	"errors"
	"fmt"
	"sort"
)

// Kind says what sort of rejection an Error is. It decides the HTTP status
// the API answers with; the chain reports the Error's Code.
type Kind uint8

// Error kinds.
const (
	KindInvalid   Kind = iota + 1 // the op itself is malformed: 400
	KindForbidden                 // the signer may not do this: 403
	KindNotFound                  // a named record does not exist: 404
	KindConflict                  // the record is not in a state that allows it: 409
	KindRule                      // a business rule forbids it: 422
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindForbidden:
		return "forbidden"
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindRule:
		return "rule"
	}
	return "unknown"
}

// Error is a rejection that names the rule it enforces. Code is stable on
// the chain (an ABCI result code); Name is stable for machines (the API's
// problem type); Msg is for people. Errors are compared with errors.Is
// against the package's sentinels and may be wrapped with details.
type Error struct {
	Code uint32
	Name string
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

var (
	registry   = map[uint32]*Error{}
	registered []*Error // in registration order, for listing without map iteration
)

// NewError registers a rule error. Codes are global across the domain
// packages and must never be reused for another meaning: receipt 100–199,
// warehouse 200–299, financing 300–399, trading 400–499, iot 500–599,
// ledger 600–699. It panics on a duplicate code (a programming error).
func NewError(code uint32, name string, kind Kind, msg string) *Error {
	if _, dup := registry[code]; dup {
		panic(fmt.Sprintf("receipt: error code %d registered twice", code))
	}
	e := &Error{Code: code, Name: name, Kind: kind, Msg: msg}
	registry[code] = e
	registered = append(registered, e)
	return e
}

// LookupError returns the registered error for code.
func LookupError(code uint32) (*Error, bool) {
	e, ok := registry[code]
	return e, ok
}

// Errors lists every registered error, ordered by code.
func Errors() []*Error {
	out := append([]*Error(nil), registered...)
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// AsError returns the rule error inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// errf wraps a rule error with details for people.
func errf(e *Error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{e}, args...)...)
}

// Errorf wraps a rule error with details; for the other domain packages.
func Errorf(e *Error, format string, args ...any) error { return errf(e, format, args...) }

// Errors of the receipt package and of what every domain package shares.
var (
	ErrInvalidOp          = NewError(100, "invalid_op", KindInvalid, "op: invalid")
	ErrInvalidID          = NewError(101, "invalid_id", KindInvalid, "op: invalid id")
	ErrInvalidQuantity    = NewError(102, "invalid_quantity", KindInvalid, "op: invalid quantity")
	ErrMissingField       = NewError(103, "missing_field", KindInvalid, "op: mandatory field missing")
	ErrUnknownSigner      = NewError(104, "unknown_signer", KindForbidden, "participant: unknown signer")
	ErrSuspended          = NewError(105, "participant_suspended", KindForbidden, "participant: suspended")
	ErrForbidden          = NewError(106, "forbidden", KindForbidden, "participant: not allowed")
	ErrMissingRole        = NewError(107, "missing_role", KindForbidden, "participant: role required")
	ErrAdminQuorum        = NewError(108, "admin_quorum", KindForbidden, "consortium: admin signatures below threshold")
	ErrCosignerMissing    = NewError(109, "cosigner_missing", KindForbidden, "op: required co-signature missing")
	ErrParticipantExists  = NewError(110, "participant_exists", KindConflict, "participant: already registered")
	ErrUnknownParticipant = NewError(111, "unknown_participant", KindNotFound, "participant: unknown")
	ErrNotSuspended       = NewError(112, "participant_not_suspended", KindConflict, "participant: not suspended")

	ErrReceiptNotFound      = NewError(120, "receipt_not_found", KindNotFound, "receipt: not found")
	ErrReceiptExists        = NewError(121, "receipt_exists", KindConflict, "receipt: id already used")
	ErrTerminal             = NewError(122, "receipt_terminal", KindConflict, "receipt: terminal, accepts nothing")
	ErrStaleVersion         = NewError(123, "stale_version", KindConflict, "receipt: stale version")
	ErrNotHolder            = NewError(124, "not_holder", KindForbidden, "receipt: signer is not the holder")
	ErrFrozen               = NewError(125, "receipt_frozen", KindConflict, "receipt: frozen")
	ErrExpired              = NewError(126, "receipt_expired", KindConflict, "receipt: expired")
	ErrNotNegotiable        = NewError(127, "not_negotiable", KindRule, "receipt: not negotiable")
	ErrEncumbered           = NewError(128, "receipt_encumbered", KindConflict, "receipt: encumbered")
	ErrTransferPending      = NewError(129, "transfer_pending", KindConflict, "receipt: transfer pending")
	ErrNoPendingTransfer    = NewError(130, "no_pending_transfer", KindConflict, "receipt: no pending transfer")
	ErrNotTransferee        = NewError(131, "not_transferee", KindForbidden, "receipt: signer is not the named transferee")
	ErrDeadlinePassed       = NewError(132, "deadline_passed", KindConflict, "receipt: transfer deadline passed")
	ErrBadDeadline          = NewError(133, "bad_deadline", KindInvalid, "receipt: deadline out of range")
	ErrSelfTransfer         = NewError(134, "self_transfer", KindInvalid, "receipt: transfer to the holder")
	ErrNotEligibleHolder    = NewError(135, "not_eligible_holder", KindRule, "receipt: party may not hold receipts")
	ErrPledgeeConsent       = NewError(136, "pledgee_consent_required", KindForbidden, "receipt: pledgee consent required")
	ErrSplitNotConserved    = NewError(137, "split_not_conserved", KindRule, "receipt: split parts do not add up to the quantity")
	ErrMergeMismatch        = NewError(138, "merge_mismatch", KindRule, "receipt: merged receipts differ in lot or terms")
	ErrAlreadyPledged       = NewError(139, "already_pledged", KindConflict, "receipt: already pledged")
	ErrPledgeNotFound       = NewError(140, "pledge_not_found", KindNotFound, "pledge: not found")
	ErrPledgeExists         = NewError(141, "pledge_exists", KindConflict, "pledge: id already used")
	ErrPledgeNotPending     = NewError(142, "pledge_not_pending", KindConflict, "pledge: not pending")
	ErrPledgeNotActive      = NewError(143, "pledge_not_active", KindConflict, "pledge: not active")
	ErrNotPledgee           = NewError(144, "not_pledgee", KindForbidden, "pledge: signer is not that pledge's bank")
	ErrNotABank             = NewError(145, "not_a_bank", KindRule, "pledge: pledgee is not a bank")
	ErrNoDefault            = NewError(146, "no_default", KindRule, "pledge: no default recorded")
	ErrValidityTooShort     = NewError(147, "validity_too_short", KindRule, "pledge: receipt validity does not cover the maturity")
	ErrAlreadyFrozen        = NewError(148, "already_frozen", KindConflict, "receipt: already frozen")
	ErrNotFrozen            = NewError(149, "not_frozen", KindConflict, "receipt: not frozen")
	ErrBreachFreeze         = NewError(150, "breach_freeze", KindRule, "receipt: frozen on sensor evidence; unfreeze through the lot re-count")
	ErrNotYetExpired        = NewError(151, "not_yet_expired", KindRule, "receipt: validity not yet passed")
	ErrVoidNotAllowed       = NewError(152, "void_not_allowed", KindRule, "receipt: void only before any transfer, pledge or split")
	ErrRedemptionPending    = NewError(153, "redemption_pending", KindConflict, "receipt: redemption pending")
	ErrPledgePending        = NewError(154, "pledge_pending", KindConflict, "receipt: pledge request pending")
	ErrNotIssuer            = NewError(155, "not_issuer", KindForbidden, "receipt: signer is not the issuing operator")
	ErrBadValidity          = NewError(156, "bad_validity", KindInvalid, "receipt: validity or storage period out of range")
	ErrLimit                = NewError(157, "limit_exceeded", KindInvalid, "op: limit exceeded")
	ErrQuantityOverflow     = NewError(158, "quantity_overflow", KindInvalid, "op: quantity overflows")
	ErrUnitMismatch         = NewError(159, "unit_mismatch", KindRule, "receipt: unit differs from the lot's")
	ErrPledgeTransferActive = NewError(160, "pledge_transfer_active", KindConflict, "pledge: receipt is being transferred with the pledgee's consent")
	ErrTradeLocked          = NewError(161, "trade_locked", KindConflict, "receipt: locked by a trade; settle or cancel the trade")
	ErrFormatNotInForce     = NewError(162, "format_not_in_force", KindConflict, "op: needs a record format the consortium has not upgraded to yet")
	ErrUpgrade              = NewError(163, "upgrade_invalid", KindInvalid, "upgrade: unknown migration, past height or one already pending")
	ErrKeyRotation          = NewError(164, "key_rotation_invalid", KindInvalid, "participant: key rotation refused")
	ErrValidatorSet         = NewError(165, "validator_set_invalid", KindInvalid, "consortium: validator set change refused")
)
