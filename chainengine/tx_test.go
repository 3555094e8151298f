package chainengine

import (
	"crypto/ed25519"
	"testing"

	"github.com/ewrchain/ewr/internal/canon"
	"github.com/ewrchain/ewr/receipt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testKey(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	return ed25519.NewKeyFromSeed(s)
}

func testBody() Body {
	return Body{Version: TxVersion, ChainID: "ewr-test", Signers: []string{"alice", "bank"}, Nonce: 7, ExpiresAt: 100, OpType: "test.op", Op: []byte{1, 2, 3}}
}

func TestTxRoundTripAndVerify(t *testing.T) {
	raw := EncodeTx(testBody(), []ed25519.PrivateKey{testKey(1), testKey(2)})
	tx, err := DecodeTx(raw)
	require.NoError(t, err)
	assert.Equal(t, testBody(), tx.Body)
	require.NoError(t, tx.VerifySigs())
	require.NoError(t, tx.CheckHeight("ewr-test", 50))
	assert.ErrorIs(t, tx.CheckHeight("other", 50), ErrTxChainID)
	assert.ErrorIs(t, tx.CheckHeight("ewr-test", 101), ErrTxExpired)
	assert.ErrorIs(t, tx.CheckHeight("ewr-test", 100-MaxTxTTLHeights-1), ErrTxExpiryRange)
}

func TestTxRejectsTampering(t *testing.T) {
	raw := EncodeTx(testBody(), []ed25519.PrivateKey{testKey(1), testKey(2)})
	var env Envelope
	require.NoError(t, canon.Unmarshal(raw, &env))

	t.Run("every flipped body byte breaks a signature or the shape", func(t *testing.T) {
		for i := range env.Body {
			e := env
			e.Body = append([]byte(nil), env.Body...)
			e.Body[i] ^= 0x01
			tx, err := DecodeTx(canon.Marshal(&e))
			if err != nil {
				continue
			}
			assert.ErrorIs(t, tx.VerifySigs(), ErrTxBadSig, "byte %d", i)
		}
	})
	t.Run("second signature forged", func(t *testing.T) {
		e := env
		e.Sigs = append([]Signature(nil), env.Sigs...)
		e.Sigs[1].Sig[5] ^= 0xff
		tx, err := DecodeTx(canon.Marshal(&e))
		require.NoError(t, err)
		assert.ErrorIs(t, tx.VerifySigs(), ErrTxBadSig)
	})
	t.Run("signature count differs from signers", func(t *testing.T) {
		e := env
		e.Sigs = env.Sigs[:1]
		_, err := DecodeTx(canon.Marshal(&e))
		assert.ErrorIs(t, err, ErrTxSigners)
	})
	t.Run("duplicate signer", func(t *testing.T) {
		b := testBody()
		b.Signers = []string{"alice", "alice"}
		_, err := DecodeTx(EncodeTx(b, []ed25519.PrivateKey{testKey(1), testKey(1)}))
		assert.ErrorIs(t, err, ErrTxSigners)
	})
	t.Run("trailing garbage", func(t *testing.T) {
		_, err := DecodeTx(append(append([]byte(nil), raw...), 0))
		assert.ErrorIs(t, err, ErrTxMalformed)
	})
	t.Run("oversize", func(t *testing.T) {
		_, err := DecodeTx(make([]byte, MaxTxBytes+1))
		assert.ErrorIs(t, err, ErrTxTooLarge)
	})
	t.Run("unknown version", func(t *testing.T) {
		b := testBody()
		b.Version = 2
		_, err := DecodeTx(EncodeTx(b, []ed25519.PrivateKey{testKey(1), testKey(2)}))
		assert.ErrorIs(t, err, ErrTxVersion)
	})
}

func BenchmarkVerifyOneSig(b *testing.B) {
	body := testBody()
	body.Signers = body.Signers[:1]
	tx, err := DecodeTx(EncodeTx(body, []ed25519.PrivateKey{testKey(1)}))
	require.NoError(b, err)
	for b.Loop() {
		_ = tx.VerifySigs()
	}
}

// TestSigningParts: a body signed part by part, as an offline signer or the
// API's drafts do (OpBody, SignBody, AssembleTx), is byte for byte the tx
// OpTx makes, and verifies; a signature over other bytes does not.
func TestSigningParts(t *testing.T) {
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	op := &receipt.Freeze{Receipt: "R-1", Reason: "x"}
	body := OpBody("chain", []string{"regulator"}, 7, 100, op)
	mine := AssembleTx(body, []Signature{SignBody(key, body)})
	assert.Equal(t, OpTx("chain", []string{"regulator"}, []ed25519.PrivateKey{key}, 7, 100, op), mine)
	tx, err := DecodeTx(mine)
	require.NoError(t, err)
	require.NoError(t, tx.VerifySigs())
	other := AssembleTx(body, []Signature{SignBody(key, append([]byte{0}, body...))})
	tx, err = DecodeTx(other)
	require.NoError(t, err)
	require.Error(t, tx.VerifySigs())
}
