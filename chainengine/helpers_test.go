package chainengine

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/internal/canon"
	"github.com/stretchr/testify/require"
)

// testLogger logs CometBFT errors to stderr when EWR_TEST_LOG is set (e.g.
// EWR_TEST_LOG=info), and nothing otherwise.
func testLogger(t testing.TB) log.Logger {
	lvl := os.Getenv("EWR_TEST_LOG")
	if lvl == "" {
		return log.NewNopLogger()
	}
	l, err := NewLogger(os.Stderr, lvl)
	require.NoError(t, err)
	return l
}

// baselineFactory makes baseline apps in each node's home.
func baselineFactory(logger log.Logger) AppFactory {
	return func(home string, _ int) (App, error) {
		return NewBaselineApp(BaselineAppDir(home), logger)
	}
}

var testNonce atomic.Uint64

// testTx returns a fresh signed tx for chainID, valid until expiresAt.
func testTx(chainID string, signer byte, expiresAt int64) []byte {
	body := Body{
		Version: TxVersion, ChainID: chainID, Signers: []string{fmt.Sprintf("signer-%d", signer)},
		Nonce: testNonce.Add(1), ExpiresAt: expiresAt, OpType: "opaque", Op: []byte("test op"),
	}
	return EncodeTx(body, []ed25519.PrivateKey{testKey(signer)})
}

// forge returns raw with one signature byte flipped: it still decodes.
func forge(t testing.TB, raw []byte) []byte {
	tx, err := DecodeTx(raw)
	require.NoError(t, err)
	env := Envelope{Body: tx.body, Sigs: append([]Signature(nil), tx.Sigs...)}
	env.Sigs[0].Sig[7] ^= 0x40
	return canon.Marshal(&env)
}

func hexHash(h [32]byte) string { return strings.ToUpper(fmt.Sprintf("%x", h[:])) }
