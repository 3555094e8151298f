package api

import (
	"crypto/ed25519"
	"encoding/hex"
	"strings"

	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/internal/canon"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
)

// txSignDomain prefixes the body bytes a signer signs. It is the chain's
// (chainengine's signDomain); TestSignBytesMatchTheChain keeps them equal.
const txSignDomain = "ewr/tx/v1\x00"

// SignBytes is what each signer of a tx signs: the domain, then the body.
func SignBytes(body []byte) []byte {
	msg := make([]byte, 0, len(txSignDomain)+len(body))
	return append(append(msg, txSignDomain...), body...)
}

// EncodeBody is the canonical body of a tx for op, unsigned.
func EncodeBody(chainID string, signers []string, nonce uint64, expiresAt int64, op receipt.Op) []byte {
	return canon.Marshal(&chainengine.Body{
		Version: chainengine.TxVersion, ChainID: chainID, Signers: signers, Nonce: nonce, ExpiresAt: expiresAt,
		OpType: op.Type(), Op: ledger.EncodeOp(op),
	})
}

// DecodeBody decodes an unsigned body.
func DecodeBody(body []byte) (*chainengine.Body, error) {
	var b chainengine.Body
	if err := canon.Unmarshal(body, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// Sign signs body bytes with key.
func Sign(key ed25519.PrivateKey, body []byte) chainengine.Signature {
	var s chainengine.Signature
	copy(s.PubKey[:], key.Public().(ed25519.PublicKey))
	copy(s.Sig[:], ed25519.Sign(key, SignBytes(body)))
	return s
}

// Assemble makes the tx bytes from a body and its signatures, one per
// signer, in the body's signer order.
func Assemble(body []byte, sigs []chainengine.Signature) []byte {
	return canon.Marshal(&chainengine.Envelope{Body: body, Sigs: sigs})
}

// hashHex is a tx hash as the API prints it.
func hashHex(h [32]byte) string { return hex.EncodeToString(h[:]) }

// parseHash reads a tx hash in hex (either case).
func parseHash(s string) ([32]byte, bool) {
	var h [32]byte
	if len(s) != 64 {
		return h, false
	}
	if _, err := hex.Decode(h[:], []byte(strings.ToLower(s))); err != nil {
		return h, false
	}
	return h, true
}
