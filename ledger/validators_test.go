package ledger

import (
	"testing"

	"github.com/ewrchain/ewr/receipt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSetValidator: the admins' quorum adds, re-weights and removes
// validators of the set the state holds; a change that names a stale set,
// removes a stranger or empties the set is refused and changes nothing.
func TestSetValidator(t *testing.T) {
	h := newHarness(t)
	k := func(b byte) receipt.PubKey { return receipt.PubKey{b, 1, 2, 3} }
	// The chain writes the first set from CometBFT's genesis.
	h.Store.Set(receipt.KeyValidators, receipt.EncodeRecord(&receipt.ValidatorSet{Validators: []receipt.Validator{{PubKey: k(1), Power: 10}, {PubKey: k(3), Power: 10}}, Version: 1}))
	set := func() *receipt.ValidatorSet { return receipt.LoadValidators(&receipt.Exec{Store: h.Store}) }

	h.fail(receipt.ErrAdminQuorum, by(Admin1), &receipt.SetValidator{PubKey: k(2), Power: 10, Version: 1})
	h.fail(receipt.ErrMissingField, by(Admin1, Admin2), &receipt.SetValidator{Power: 10, Version: 1})
	h.fail(receipt.ErrValidatorSet, by(Admin1, Admin2), &receipt.SetValidator{PubKey: k(2), Power: -1, Version: 1})
	h.fail(receipt.ErrStaleVersion, by(Admin1, Admin2), &receipt.SetValidator{PubKey: k(2), Power: 10, Version: 2})
	h.fail(receipt.ErrValidatorSet, by(Admin1, Admin2), &receipt.SetValidator{PubKey: k(2), Power: 0, Version: 1}, "not a validator")
	h.fail(receipt.ErrValidatorSet, by(Admin1, Admin2), &receipt.SetValidator{PubKey: k(1), Power: 10, Version: 1}, "no change")

	res := h.ok(by(Admin1, Admin2), &receipt.SetValidator{PubKey: k(2), Power: 5, Version: 1})
	assert.Equal(t, receipt.EvValidatorSet, res.Events[0].Type)
	assert.Equal(t, []receipt.Validator{{PubKey: k(1), Power: 10}, {PubKey: k(2), Power: 5}, {PubKey: k(3), Power: 10}}, set().Validators, "sorted by key")
	h.ok(by(Admin1, Admin3), &receipt.SetValidator{PubKey: k(3), Power: 20, Version: 2})
	h.ok(by(Admin1, Admin3), &receipt.SetValidator{PubKey: k(1), Power: 0, Version: 3})
	h.ok(by(Admin1, Admin3), &receipt.SetValidator{PubKey: k(2), Power: 0, Version: 4})
	require.Equal(t, []receipt.Validator{{PubKey: k(3), Power: 20}}, set().Validators)
	h.fail(receipt.ErrValidatorSet, by(Admin1, Admin2), &receipt.SetValidator{PubKey: k(3), Power: 0, Version: 5}, "the last validator")
}
