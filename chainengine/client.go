package chainengine

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"fmt"

	"github.com/ewrchain/ewr/internal/canon"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
)

// DefaultTxTTL is how many blocks ahead a tx built here expires.
const DefaultTxTTL = 1_000

// OpBody is the canonical, unsigned body of a tx for op.
func OpBody(chainID string, signers []string, nonce uint64, expiresAt int64, op receipt.Op) []byte {
	return canon.Marshal(&Body{
		Version: TxVersion, ChainID: chainID, Signers: signers, Nonce: nonce, ExpiresAt: expiresAt,
		OpType: op.Type(), Op: ledger.EncodeOp(op),
	})
}

// OpTx builds the signed tx for op: signers[0] submits and acts, the others
// co-sign; keys are theirs, in the same order.
func OpTx(chainID string, signers []string, keys []ed25519.PrivateKey, nonce uint64, expiresAt int64, op receipt.Op) []byte {
	if len(keys) != len(signers) {
		panic("chainengine: one key per signer")
	}
	return signAll(OpBody(chainID, signers, nonce, expiresAt, op), keys)
}

// RandomNonce returns a nonce that makes a body unique with overwhelming
// probability, so one signer can have any number of txs in flight.
func RandomNonce() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return binary.LittleEndian.Uint64(b[:])
}

// KeyFunc returns the signing key of a participant this process holds.
type KeyFunc func(participant string) (ed25519.PrivateKey, bool)

// Client signs ops with keys it holds and submits them to a node.
type Client struct {
	Node *Node
	Keys KeyFunc
}

// RuleError is a tx the chain committed as rejected by a domain rule, or
// refused before a block: it wraps the rule's *receipt.Error when there is
// one.
type RuleError struct {
	Outcome TxOutcome
	Height  int64
	rule    *receipt.Error
}

func (e *RuleError) Error() string { return e.Outcome.Log }

// Unwrap lets errors.Is/As reach the domain rule.
func (e *RuleError) Unwrap() error {
	if e.rule != nil {
		return e.rule
	}
	return nil
}

// OutcomeErr turns a tx outcome into nil (applied) or a *RuleError.
func OutcomeErr(out TxOutcome, height int64) error {
	if out.OK() {
		return nil
	}
	re := &RuleError{Outcome: out, Height: height}
	if out.Codespace == CodespaceRule {
		re.rule, _ = receipt.LookupError(out.Code)
	}
	return re
}

// Submit signs op as signers, submits it and waits until it is committed.
// It returns the tx hash, the height, and nil or the rejection as a
// *RuleError; a non-rule error means the node or ctx failed.
func (c *Client) Submit(ctx context.Context, signers []string, op receipt.Op) ([32]byte, int64, error) {
	raw, hash, err := c.Sign(signers, op)
	if err != nil {
		return hash, 0, err
	}
	out, h, err := c.Node.Submit(ctx, raw)
	if err != nil {
		return hash, h, err
	}
	return hash, h, OutcomeErr(out, h)
}

// Sign builds the signed tx for op without submitting it.
func (c *Client) Sign(signers []string, op receipt.Op) ([]byte, [32]byte, error) {
	keys := make([]ed25519.PrivateKey, len(signers))
	for i, s := range signers {
		k, ok := c.Keys(s)
		if !ok {
			return nil, [32]byte{}, fmt.Errorf("chainengine: no key for participant %q", s)
		}
		keys[i] = k
	}
	app, ok := c.Node.App().(*ReceiptApp)
	if !ok {
		return nil, [32]byte{}, fmt.Errorf("chainengine: the node does not run the receipt app")
	}
	raw := OpTx(app.ChainID(), signers, keys, RandomNonce(), app.Height()+DefaultTxTTL, op)
	tx, err := DecodeTx(raw)
	if err != nil {
		return nil, [32]byte{}, err
	}
	return raw, tx.Hash, nil
}
