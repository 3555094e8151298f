package chainengine

import (
	stded25519 "crypto/ed25519"
	"encoding/json"
	"testing"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/types"
	"github.com/ewrchain/ewr/internal/canon"
	"github.com/ewrchain/ewr/receipt"
)

// FuzzDecodeTx feeds the tx envelope decoder outside bytes: it never
// panics, and what it accepts is canonical (re-encoding gives the input)
// with a shape the ledger can rely on.
func FuzzDecodeTx(f *testing.F) {
	_, key, _ := stded25519.GenerateKey(nil)
	f.Add(OpTx("ewr-fuzz", []string{"trader-a"}, []stded25519.PrivateKey{key}, 1, 100, &receipt.Freeze{Receipt: "WR-1", Reason: "check"}))
	f.Add([]byte{})
	f.Add([]byte{0x02, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		tx, err := DecodeTx(raw)
		if err != nil {
			return
		}
		var env Envelope
		if err := canon.Unmarshal(raw, &env); err != nil {
			t.Fatalf("accepted a tx whose envelope does not decode: %v", err)
		}
		if string(canon.Marshal(&env)) != string(raw) {
			t.Fatal("accepted a non-canonical envelope")
		}
		if len(tx.Body.Signers) == 0 || len(tx.Body.Signers) != len(tx.Sigs) || tx.Body.OpType == "" {
			t.Fatalf("accepted a malformed body: %+v", tx.Body)
		}
	})
}

// FuzzProofBundle feeds the verifier bundles as a bank would receive them
// (JSON from anyone): it never panics and never verifies a bundle against
// a validator set that signed nothing.
func FuzzProofBundle(f *testing.F) {
	pk := cmted25519.GenPrivKey().PubKey()
	trusted := types.NewValidatorSet([]*types.Validator{types.NewValidator(pk, 10)})
	f.Add([]byte(`{"version":1,"chain_id":"c","key":"r/WR-1","value":"AQI=","state_height":3}`))
	f.Add([]byte(`{"version":1,"header":"CgIIAQ==","commit":"","validators":""}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var b ProofBundle
		if json.Unmarshal(raw, &b) != nil {
			return
		}
		if _, err := b.Verify(trusted, b.ChainID); err == nil {
			t.Fatalf("verified a bundle no trusted validator signed: %s", raw)
		}
	})
}
