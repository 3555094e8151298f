package receipt

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Role is a set of roles a participant holds.
type Role uint32

// Roles. A participant may hold several.
const (
	RoleAdmin             Role = 1 << iota // consortium admin: registers and suspends members and devices
	RoleOperator                           // warehouse operator (WO): registers stock, issues receipts, delivers
	RoleCollateralManager                  // collateral manager / inspector (CM): attests stock, re-counts
	RoleTrader                             // holds, transfers, splits, pledges, redeems receipts
	RoleBank                               // takes pledges, lends, releases or enforces
	RoleRegulator                          // freezes, unfreezes, audits
	RoleOracle                             // posts commodity prices
	roleEnd
)

var roleNames = []struct {
	r    Role
	name string
}{
	{RoleAdmin, "admin"}, {RoleOperator, "operator"}, {RoleCollateralManager, "collateral_manager"},
	{RoleTrader, "trader"}, {RoleBank, "bank"}, {RoleRegulator, "regulator"}, {RoleOracle, "oracle"},
}

// Has reports whether r includes every role in want.
func (r Role) Has(want Role) bool { return want != 0 && r&want == want }

// Any reports whether r includes at least one role in want.
func (r Role) Any(want Role) bool { return r&want != 0 }

func (r Role) String() string {
	var parts []string
	for _, n := range roleNames {
		if r&n.r != 0 {
			parts = append(parts, n.name)
		}
	}
	return strings.Join(parts, ",")
}

// MarshalText implements encoding.TextMarshaler: a comma-separated list.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Role) UnmarshalText(b []byte) error {
	v, ok := ParseRoles(string(b))
	if !ok {
		return fmt.Errorf("receipt: unknown roles %q", b)
	}
	*r = v
	return nil
}

// ParseRoles parses a comma-separated role list.
func ParseRoles(s string) (Role, bool) {
	var r Role
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		found := false
		for _, n := range roleNames {
			if n.name == part {
				r |= n.r
				found = true
			}
		}
		if !found {
			return 0, false
		}
	}
	return r, r != 0
}

// ParticipantStatus is whether a participant may act.
type ParticipantStatus uint8

// Participant statuses.
const (
	ParticipantActive ParticipantStatus = iota + 1
	ParticipantSuspended
)

func (s ParticipantStatus) String() string {
	switch s {
	case ParticipantActive:
		return "ACTIVE"
	case ParticipantSuspended:
		return "SUSPENDED"
	}
	return "UNKNOWN"
}

// PubKey is an ed25519 public key; its text form is hex.
type PubKey [32]byte

// MarshalText implements encoding.TextMarshaler.
func (k PubKey) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(k[:])), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *PubKey) UnmarshalText(b []byte) error {
	if hex.DecodedLen(len(b)) != len(k) {
		return fmt.Errorf("receipt: public key must be %d hex bytes", len(k))
	}
	_, err := hex.Decode(k[:], b)
	return err
}

// Participant is a consortium member or user known to the chain, with the
// ed25519 key that signs its txs.
type Participant struct {
	ID      string
	Name    string
	Roles   Role
	PubKey  PubKey
	Status  ParticipantStatus
	Version uint64
	// Retired are the keys it signed with before, oldest first, each with
	// the height at which its successor took over: a signature a retired
	// key made before that height (a draft, a proof's history) stays its own.
	// Format 2; format 1 records have none.
	Retired []RetiredKey
}

// RetiredKey is a participant's former signing key.
type RetiredKey struct {
	PubKey PubKey
	Until  int64 // the height whose block put the next key in its place
}

// participantV1 is the participant record's first layout, before key
// rotation.
type participantV1 struct {
	ID      string
	Name    string
	Roles   Role
	PubKey  PubKey
	Status  ParticipantStatus
	Version uint64
}

// ParticipantFormat is the participant record's format with key rotation.
const ParticipantFormat = 2

var _ = RegisterFormat(Participant{}, ParticipantFormat, Legacy{
	Version: 1, Old: participantV1{},
	Up: func(old any) any {
		o := old.(*participantV1)
		return &Participant{ID: o.ID, Name: o.Name, Roles: o.Roles, PubKey: o.PubKey, Status: o.Status, Version: o.Version}
	},
	Down: func(cur any) any {
		c := cur.(*Participant)
		return &participantV1{ID: c.ID, Name: c.Name, Roles: c.Roles, PubKey: c.PubKey, Status: c.Status, Version: c.Version}
	},
})

// Consortium is who governs membership: the admins and how many of them
// must sign a membership change.
type Consortium struct {
	Admins    []string // sorted
	Threshold uint32
	Version   uint64
}

// Params are the consortium's tunable rules. Figures the trade calls
// indicative are parameters, not constants.
type Params struct {
	MaxTransferWindowSec  int64  // how far ahead a transfer deadline may be
	MaxSplitParts         uint32 // parts in one split
	MaxMergeInputs        uint32 // receipts in one merge
	MaxTicketsPerOp       uint32 // weigh tickets in one RegisterStock or ConfirmDelivery
	MaxLiveReceiptsPerLot uint32 // bounds the lot's live list
	DeliveryToleranceBps  uint32 // allowed deviation of weighed-out from ordered quantity
	ScaleErrorPerTicketKg uint64 // in-service weighbridge error allowed per ticket (OIML R76 class III: 60 kg)
	// EvidenceWindowSec is how old a signed sensor reading may be, against
	// block time, to count as evidence on chain: an old reading proves
	// nothing about the goods now, and one taken during a finished
	// load-out cannot be replayed as a theft.
	EvidenceWindowSec int64
	Version           uint64
}

// DefaultParams are the rules a new consortium starts with.
func DefaultParams() Params {
	return Params{
		MaxTransferWindowSec:  30 * 24 * 3600,
		MaxSplitParts:         50,
		MaxMergeInputs:        50,
		MaxTicketsPerOp:       200,
		MaxLiveReceiptsPerLot: 5000,
		DeliveryToleranceBps:  25,
		ScaleErrorPerTicketKg: 60,
		EvidenceWindowSec:     15 * 60,
		Version:               1,
	}
}

// Limits that do not change: they bound the size of any one op.
const (
	MaxIDLen   = 64
	MaxTextLen = 1024
	// MaxQuantity keeps sums of quantities far from uint64 overflow
	// (10^15 grams is a billion tonnes).
	MaxQuantity = 1_000_000_000_000_000
)

// ValidID reports whether s is a well-formed id: 1–64 of [A-Za-z0-9._:-].
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// CheckID returns ErrInvalidID naming field if s is not a valid id.
// CheckVersion requires the version of a record its signer saw: an op
// that changes a receipt names the version it was decided on, and a
// record that moved since refuses it (stale_version). There is no
// "whatever it is now".
func CheckVersion(what string, v uint64) error {
	if v == 0 {
		return errf(ErrMissingField, "%s version: name the version you saw (read the record first)", what)
	}
	return nil
}

func CheckID(field, s string) error {
	if !ValidID(s) {
		return errf(ErrInvalidID, "%s %q", field, s)
	}
	return nil
}

// CheckText returns an error if a free-text field is missing (when
// required) or too long.
func CheckText(field, s string, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return errf(ErrMissingField, "%s", field)
	}
	if len(s) > MaxTextLen {
		return errf(ErrLimit, "%s longer than %d bytes", field, MaxTextLen)
	}
	return nil
}

// CheckQuantity returns an error unless 0 < q ≤ MaxQuantity.
func CheckQuantity(field string, q uint64) error {
	if q == 0 || q > MaxQuantity {
		return errf(ErrInvalidQuantity, "%s %d", field, q)
	}
	return nil
}

// Participant loads a participant.
func (x *Exec) Participant(id string) (*Participant, error) {
	if p, ok := x.pmemo[id]; ok {
		return p, nil
	}
	p, ok := Load[Participant](x, ParticipantKey(id))
	if !ok {
		return nil, errf(ErrUnknownParticipant, "%q", id)
	}
	if x.pmemo == nil {
		x.pmemo = make(map[string]*Participant, 4)
	}
	x.pmemo[id] = p
	return p, nil
}

// Consortium loads the consortium record.
func (x *Exec) Consortium() *Consortium {
	c, ok := Load[Consortium](x, KeyConsortium)
	if !ok {
		return &Consortium{}
	}
	return c
}

// CheckSigners checks that every signer is a registered, active
// participant. The ledger calls it before any op runs.
func (x *Exec) CheckSigners() error {
	if len(x.Signers) == 0 {
		return errf(ErrUnknownSigner, "no signer")
	}
	for _, id := range x.Signers {
		p, err := x.Participant(id)
		if err != nil {
			return errf(ErrUnknownSigner, "%q", id)
		}
		if p.Status != ParticipantActive {
			return errf(ErrSuspended, "%q", id)
		}
	}
	return nil
}

// RequireRole checks that the actor holds one of the roles in want.
func (x *Exec) RequireRole(want Role) (*Participant, error) {
	p, err := x.Participant(x.Actor())
	if err != nil {
		return nil, err
	}
	if !p.Roles.Any(want) {
		return nil, errf(ErrMissingRole, "%s needs %s", p.ID, want)
	}
	return p, nil
}

// RequireActor checks that the actor is id and holds one of the roles in
// want (any role if want is 0). notParty is the error to name when the
// actor is someone else.
func (x *Exec) RequireActor(id string, want Role, notParty *Error) error {
	if x.Actor() != id {
		return errf(notParty, "signer %s, expected %s", x.Actor(), id)
	}
	if want == 0 {
		return nil
	}
	_, err := x.RequireRole(want)
	return err
}

// RequireCosigner checks that id signed the tx too.
func (x *Exec) RequireCosigner(id, why string) error {
	if !x.SignedBy(id) {
		return errf(ErrCosignerMissing, "%s must co-sign: %s", id, why)
	}
	return nil
}

// RequireAdmins checks that at least the consortium's threshold of its
// admins signed.
func (x *Exec) RequireAdmins() error {
	c := x.Consortium()
	n := uint32(0)
	for _, a := range c.Admins {
		if x.SignedBy(a) {
			p, err := x.Participant(a)
			if err == nil && p.Status == ParticipantActive && p.Roles.Has(RoleAdmin) {
				n++
			}
		}
	}
	if c.Threshold == 0 || n < c.Threshold {
		return errf(ErrAdminQuorum, "%d of %d admin signatures", n, c.Threshold)
	}
	return nil
}

// RegisterParticipant adds a participant. Needs the admins' quorum.
type RegisterParticipant struct {
	ID     string
	Name   string
	Roles  Role
	PubKey PubKey
}

func (*RegisterParticipant) Type() string { return "participant.register" }

func (op *RegisterParticipant) Check() error {
	if err := CheckID("participant", op.ID); err != nil {
		return err
	}
	if err := CheckText("name", op.Name, true); err != nil {
		return err
	}
	if op.Roles == 0 || op.Roles >= roleEnd {
		return errf(ErrInvalidOp, "roles %d", op.Roles)
	}
	if op.PubKey == (PubKey{}) {
		return errf(ErrMissingField, "public key")
	}
	return nil
}

func (op *RegisterParticipant) Apply(x *Exec) error {
	if err := x.RequireAdmins(); err != nil {
		return err
	}
	if Has(x, ParticipantKey(op.ID)) {
		return errf(ErrParticipantExists, "%q", op.ID)
	}
	p := Participant{ID: op.ID, Name: op.Name, Roles: op.Roles, PubKey: op.PubKey, Status: ParticipantActive, Version: 1}
	Save(x, ParticipantKey(p.ID), &p)
	x.Emit(EvParticipantRegistered, Refs(RefParticipant, p.ID), Attr{"roles", p.Roles.String()})
	return nil
}

// SuspendParticipant stops a participant from signing anything. Needs the
// admins' quorum. Receipts it holds stay its own.
type SuspendParticipant struct {
	ID     string
	Reason string
}

func (*SuspendParticipant) Type() string { return "participant.suspend" }

func (op *SuspendParticipant) Check() error {
	if err := CheckID("participant", op.ID); err != nil {
		return err
	}
	return CheckText("reason", op.Reason, true)
}

func (op *SuspendParticipant) Apply(x *Exec) error {
	if err := x.RequireAdmins(); err != nil {
		return err
	}
	p, err := x.Participant(op.ID)
	if err != nil {
		return err
	}
	if p.Status == ParticipantSuspended {
		return errf(ErrSuspended, "%q already suspended", op.ID)
	}
	p.Status = ParticipantSuspended
	p.Version++
	Save(x, ParticipantKey(p.ID), p)
	x.Emit(EvParticipantSuspended, Refs(RefParticipant, p.ID), Attr{"reason", op.Reason})
	return nil
}

// ReinstateParticipant lifts a suspension. Needs the admins' quorum.
type ReinstateParticipant struct {
	ID     string
	Reason string
}

func (*ReinstateParticipant) Type() string { return "participant.reinstate" }

func (op *ReinstateParticipant) Check() error {
	if err := CheckID("participant", op.ID); err != nil {
		return err
	}
	return CheckText("reason", op.Reason, true)
}

func (op *ReinstateParticipant) Apply(x *Exec) error {
	if err := x.RequireAdmins(); err != nil {
		return err
	}
	p, err := x.Participant(op.ID)
	if err != nil {
		return err
	}
	if p.Status != ParticipantSuspended {
		return errf(ErrNotSuspended, "%q", op.ID)
	}
	p.Status = ParticipantActive
	p.Version++
	Save(x, ParticipantKey(p.ID), p)
	x.Emit(EvParticipantReinstated, Refs(RefParticipant, p.ID), Attr{"reason", op.Reason})
	return nil
}

// RotateKey replaces a participant's signing key. Signed by the
// participant with its current key, or, for a key that was lost, by the
// admins' quorum. Needs the participant record's format 2 in force. The
// new key signs every later tx; a key once retired never returns.
type RotateKey struct {
	ID      string
	NewKey  PubKey
	Version uint64 // the participant version the signer saw
}

func (*RotateKey) Type() string { return "participant.rotate_key" }

func (op *RotateKey) Check() error {
	if err := CheckID("participant", op.ID); err != nil {
		return err
	}
	if op.NewKey == (PubKey{}) {
		return errf(ErrMissingField, "new key")
	}
	return CheckVersion("participant", op.Version)
}

// Cosigners: the participant itself needs nobody; an admin acting for it
// needs the quorum.
func (op *RotateKey) Cosigners(x *Exec, actor string) []string {
	if actor == op.ID {
		return nil
	}
	return AdminCosigners(x, actor)
}

func (op *RotateKey) Apply(x *Exec) error {
	if err := x.RequireFormat(Participant{}, ParticipantFormat); err != nil {
		return err
	}
	if x.Actor() != op.ID {
		if err := x.RequireAdmins(); err != nil {
			return err
		}
	}
	p, err := x.Participant(op.ID)
	if err != nil {
		return err
	}
	if p.Version != op.Version {
		return errf(ErrStaleVersion, "participant %s is at version %d, op names %d", p.ID, p.Version, op.Version)
	}
	if p.PubKey == op.NewKey {
		return errf(ErrKeyRotation, "%s already signs with that key", p.ID)
	}
	for _, r := range p.Retired {
		if r.PubKey == op.NewKey {
			return errf(ErrKeyRotation, "%s retired that key at height %d", p.ID, r.Until)
		}
	}
	if len(p.Retired) >= MaxRetiredKeys {
		return errf(ErrLimit, "%s has rotated %d times", p.ID, len(p.Retired))
	}
	p.Retired = append(p.Retired, RetiredKey{PubKey: p.PubKey, Until: x.Block.Height})
	p.PubKey = op.NewKey
	p.Version++
	Save(x, ParticipantKey(p.ID), p)
	x.Emit(EvParticipantKeyRotated, Refs(RefParticipant, p.ID), Attr{"retired_keys", strconv.Itoa(len(p.Retired))})
	return nil
}

// MaxRetiredKeys bounds a participant's key history.
const MaxRetiredKeys = 64
