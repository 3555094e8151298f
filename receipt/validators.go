package receipt

import (
	"bytes"
	"encoding/hex"
	"sort"
	"strconv"
)

// The consortium's validators: who runs the BFT consensus, with what
// voting power. The chain (chainengine) tells CometBFT of each change the
// block it is in made; the state holds the set as it stands, so a proof
// can show it.

// KeyValidators is where the validator set is stored.
const KeyValidators = "c/validators"

// MaxValidators bounds the validator set.
const MaxValidators = 100

// MaxValidatorPower bounds one validator's voting power.
const MaxValidatorPower = 1_000_000

// Validator is one validator: its consensus key (ed25519) and power.
type Validator struct {
	PubKey PubKey
	Power  int64
}

// ValidatorSet is the validators as they stand, sorted by key.
type ValidatorSet struct {
	Validators []Validator
	Version    uint64
}

// LoadValidators reads the validator set (empty before the chain wrote it).
func LoadValidators(x *Exec) *ValidatorSet {
	v, ok := Load[ValidatorSet](x, KeyValidators)
	if !ok {
		return &ValidatorSet{}
	}
	return v
}

// SetValidator adds a validator, changes its power, or (power 0) removes
// it. Needs the admins' quorum. The set may not lose all its power. The
// change takes effect two blocks later (CometBFT's validator updates); the
// block that makes it is signed by the set it replaces.
type SetValidator struct {
	PubKey  PubKey
	Power   int64
	Version uint64 // the validator set's version the signers saw
}

func (*SetValidator) Type() string { return "consortium.validator.set" }

func (op *SetValidator) Check() error {
	if op.PubKey == (PubKey{}) {
		return errf(ErrMissingField, "validator key")
	}
	if op.Power < 0 || op.Power > MaxValidatorPower {
		return errf(ErrValidatorSet, "power %d, want 0..%d", op.Power, MaxValidatorPower)
	}
	return CheckVersion("validator set", op.Version)
}

// Cosigners: the admins' quorum.
func (op *SetValidator) Cosigners(x *Exec, actor string) []string { return AdminCosigners(x, actor) }

func (op *SetValidator) Apply(x *Exec) error {
	if err := x.RequireAdmins(); err != nil {
		return err
	}
	vs := LoadValidators(x)
	if vs.Version != op.Version {
		return errf(ErrStaleVersion, "validator set at version %d, op names %d", vs.Version, op.Version)
	}
	var total, old int64
	i := sort.Search(len(vs.Validators), func(i int) bool { return bytes.Compare(vs.Validators[i].PubKey[:], op.PubKey[:]) >= 0 })
	found := i < len(vs.Validators) && vs.Validators[i].PubKey == op.PubKey
	for _, v := range vs.Validators {
		total += v.Power
	}
	if found {
		old = vs.Validators[i].Power
	}
	switch {
	case !found && op.Power == 0:
		return errf(ErrValidatorSet, "%s is not a validator", hex.EncodeToString(op.PubKey[:]))
	case found && old == op.Power:
		return errf(ErrValidatorSet, "%s already has power %d", hex.EncodeToString(op.PubKey[:]), old)
	case !found && len(vs.Validators) >= MaxValidators:
		return errf(ErrValidatorSet, "%d validators already", len(vs.Validators))
	case total-old+op.Power <= 0:
		return errf(ErrValidatorSet, "the set would have no voting power")
	}
	switch {
	case op.Power == 0:
		vs.Validators = append(vs.Validators[:i], vs.Validators[i+1:]...)
	case found:
		vs.Validators[i].Power = op.Power
	default:
		vs.Validators = append(vs.Validators, Validator{})
		copy(vs.Validators[i+1:], vs.Validators[i:])
		vs.Validators[i] = Validator{PubKey: op.PubKey, Power: op.Power}
	}
	vs.Version++
	Save(x, KeyValidators, vs)
	x.Emit(EvValidatorSet, nil, Attr{"pubkey", hex.EncodeToString(op.PubKey[:])}, Attr{"power", strconv.FormatInt(op.Power, 10)})
	return nil
}
