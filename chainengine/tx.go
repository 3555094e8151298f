package chainengine

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/ewrchain/ewr/internal/canon"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Limits on the wire. A tx past any of them is refused before its signatures
// are checked.
const (
	MaxTxBytes     = 64 << 10
	MaxSigners     = 8
	MaxOpTypeBytes = 64
	TxVersion      = 1
	// MaxTxTTLHeights bounds how far ahead a tx may expire, which bounds how
	// long the replay guard must remember a tx hash.
	MaxTxTTLHeights = 100_000
)

// signDomain separates tx signatures from every other thing an ed25519 key
// of ours signs (device readings, weigh tickets).
const signDomain = "ewr/tx/v1\x00"

// Errors from decoding and checking the envelope.
var (
	ErrTxTooLarge    = errors.New("tx: too large")
	ErrTxMalformed   = errors.New("tx: malformed")
	ErrTxVersion     = errors.New("tx: unknown version")
	ErrTxSigners     = errors.New("tx: signers and signatures do not match")
	ErrTxBadSig      = errors.New("tx: bad signature")
	ErrTxChainID     = errors.New("tx: wrong chain id")
	ErrTxExpired     = errors.New("tx: expired")
	ErrTxExpiryRange = errors.New("tx: expiry too far ahead")
	ErrTxReplay      = errors.New("tx: already committed")
)

// Body is what signers sign: who acts, the replay guard and the op. One
// signer may have many txs in flight: the guard is the body hash, unique by
// Nonce, remembered until ExpiresAt.
type Body struct {
	Version   uint8
	ChainID   string
	Signers   []string // participant ids; Signers[0] submits and acts
	Nonce     uint64   // any value making the body unique for its signers
	ExpiresAt int64    // last height at which the tx may be included
	OpType    string   // registered op type, e.g. "receipt.transfer.initiate"
	Op        []byte   // canonical encoding of the op
}

// Signature is one signer's ed25519 signature over signDomain || body bytes.
// The public key travels with it so a signature can be verified without
// state; the app then checks the key is the one registered for the signer.
type Signature struct {
	PubKey [ed25519.PublicKeySize]byte
	Sig    [ed25519.SignatureSize]byte
}

// Envelope is the tx as carried by CometBFT.
type Envelope struct {
	Body []byte
	Sigs []Signature
}

// Tx is a decoded envelope.
type Tx struct {
	Raw  []byte   // the exact tx bytes
	Hash [32]byte // sha256 of the body bytes: the tx id and replay key
	Body Body
	Sigs []Signature
	body []byte
}

// The one way a tx is signed, here and by every client: OpBody (client.go) makes the
// canonical body of an op, SignBody signs body bytes, AssembleTx puts a
// body and its signatures into tx bytes.

// DecodeBody decodes an unsigned body.
func DecodeBody(body []byte) (*Body, error) {
	var b Body
	if err := canon.Unmarshal(body, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// SignBytes is what each signer of a tx signs: the domain, then the body.
func SignBytes(body []byte) []byte {
	msg := make([]byte, 0, len(signDomain)+len(body))
	return append(append(msg, signDomain...), body...)
}

// SignBody signs body bytes with key.
func SignBody(key ed25519.PrivateKey, body []byte) Signature {
	var s Signature
	copy(s.PubKey[:], key.Public().(ed25519.PublicKey))
	copy(s.Sig[:], ed25519.Sign(key, SignBytes(body)))
	return s
}

// AssembleTx makes the tx bytes from a body and its signatures, one per
// signer, in the body's signer order.
func AssembleTx(body []byte, sigs []Signature) []byte {
	return canon.Marshal(&Envelope{Body: body, Sigs: sigs})
}

// EncodeTx signs body with keys (one per body.Signers, same order) and
// returns the tx bytes.
func EncodeTx(body Body, keys []ed25519.PrivateKey) []byte {
	if len(keys) != len(body.Signers) {
		panic("chainengine: one key per signer")
	}
	return signAll(canon.Marshal(&body), keys)
}

func signAll(body []byte, keys []ed25519.PrivateKey) []byte {
	sigs := make([]Signature, len(keys))
	for i, k := range keys {
		sigs[i] = SignBody(k, body)
	}
	return AssembleTx(body, sigs)
}

// DecodeTx decodes and checks the shape of a tx, without verifying
// signatures or consulting state.
func DecodeTx(raw []byte) (*Tx, error) {
	if len(raw) > MaxTxBytes {
		return nil, ErrTxTooLarge
	}
	var env Envelope
	if err := canon.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTxMalformed, err)
	}
	tx := &Tx{Raw: raw, Sigs: env.Sigs, body: env.Body, Hash: sha256.Sum256(env.Body)}
	if err := canon.Unmarshal(env.Body, &tx.Body); err != nil {
		return nil, fmt.Errorf("%w: body: %v", ErrTxMalformed, err)
	}
	b := &tx.Body
	if b.Version != TxVersion {
		return nil, ErrTxVersion
	}
	if len(b.Signers) == 0 || len(b.Signers) > MaxSigners || len(b.Signers) != len(env.Sigs) {
		return nil, ErrTxSigners
	}
	seen := make(map[string]bool, len(b.Signers))
	for _, s := range b.Signers {
		if s == "" || seen[s] {
			return nil, ErrTxSigners
		}
		seen[s] = true
	}
	if b.OpType == "" || len(b.OpType) > MaxOpTypeBytes {
		return nil, fmt.Errorf("%w: op type", ErrTxMalformed)
	}
	return tx, nil
}

// VerifySigs checks every signature over the body with curve25519-voi, which
// is faster than crypto/ed25519 and verifies several signatures as a batch.
func (tx *Tx) VerifySigs() error {
	msg := SignBytes(tx.body)
	if len(tx.Sigs) == 1 {
		s := &tx.Sigs[0]
		if !voi.VerifyWithOptions(voi.PublicKey(s.PubKey[:]), msg, s.Sig[:], verifyOpts) {
			return ErrTxBadSig
		}
		return nil
	}
	bv := voi.NewBatchVerifier()
	for i := range tx.Sigs {
		s := &tx.Sigs[i]
		bv.AddWithOptions(voi.PublicKey(s.PubKey[:]), msg, s.Sig[:], verifyOpts)
	}
	if ok, _ := bv.Verify(nil); !ok {
		return ErrTxBadSig
	}
	return nil
}

// verifyOpts pins the verification rules so every node accepts exactly the
// same signatures: RFC 8032 / FIPS 186-5 cofactored verification, the one
// rule under which a batch and one-by-one verification agree (batches fall
// back to one-by-one on any failure, so a bad signature is always found).
var verifyOpts = &voi.Options{Verify: voi.VerifyOptionsFIPS_186_5}

// CheckHeight checks the replay window against the height the tx would be
// included at.
func (tx *Tx) CheckHeight(chainID string, height int64) error {
	if tx.Body.ChainID != chainID {
		return ErrTxChainID
	}
	if tx.Body.ExpiresAt < height {
		return ErrTxExpired
	}
	if tx.Body.ExpiresAt > height+MaxTxTTLHeights {
		return ErrTxExpiryRange
	}
	return nil
}
