// Package bundle is a bank's offline check of a proof bundle: the types a
// node serves and Verify, against the trusted genesis (its validators and
// chain id). It depends on no node: only CometBFT's types and protobufs, the
// state's merkle proofs and the ledger's record decoders, so a bank's own
// system (or a browser, compiled to WebAssembly) embeds it.
package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"

	cmtproto "github.com/cometbft/cometbft/api/cometbft/types/v1"
	"github.com/cometbft/cometbft/types"
	"github.com/cosmos/gogoproto/proto"
	"github.com/ewrchain/ewr/chainengine/merkle"
	"github.com/ewrchain/ewr/internal/canon"
	"github.com/ewrchain/ewr/ledger"
)

// Version is the format version of a bundle.
const Version = 1

// ProofBundle is everything a bank needs to check a record without
// trusting the node that served it: the record, its merkle proof against
// the app hash in a block header, the commit signatures of more than 2/3 of
// the voting power on that header, and the validator set. Checked offline
// against a validator set the bank already trusts (the genesis).
type ProofBundle struct {
	Version int    `json:"version"`
	ChainID string `json:"chain_id"`
	// Key is the record's state key ("r/<receipt id>", "l/<lot id>", ...).
	Key string `json:"key"`
	// Value is the record's canonical bytes; empty for a proof of absence.
	Value []byte `json:"value,omitempty"`
	// Record is Value decoded, for people. It is checked against Value.
	Record json.RawMessage `json:"record,omitempty"`
	// StateHeight is the block after which the state was proven; the header
	// is that of the next block, whose AppHash is the state's root.
	StateHeight int64  `json:"state_height"`
	Proof       []byte `json:"proof"`      // canon-encoded merkle.Proof
	Header      []byte `json:"header"`     // protobuf cometbft.types.v1.Header
	Commit      []byte `json:"commit"`     // protobuf cometbft.types.v1.Commit of that header
	Validators  []byte `json:"validators"` // protobuf cometbft.types.v1.ValidatorSet that signed it
	// Changes are the hand-overs of the validator set since genesis, oldest
	// first: a verifier that trusts only the genesis validators follows
	// them to the set that signed Header.
	Changes []ValidatorChange `json:"validator_changes,omitempty"`
	// Records are more records proven in the same state (a position
	// bundle: everything a bank relies on for one receipt), each with its
	// own proof against the same app hash.
	Records []ProvenRecord `json:"records,omitempty"`
}

// ProvenRecord is one more record of a bundle's state, or its absence.
type ProvenRecord struct {
	Key    string          `json:"key"`
	Value  []byte          `json:"value,omitempty"`
	Record json.RawMessage `json:"record,omitempty"`
	Proof  []byte          `json:"proof"`
}

// ValidatorChange is one hand-over: a header whose next validators differ
// from its own, the commit of that header by the set it names (the set
// being replaced), and the new set, which Header's NextValidatorsHash
// names.
type ValidatorChange struct {
	Header     []byte `json:"header"`     // protobuf cometbft.types.v1.Header
	Commit     []byte `json:"commit"`     // protobuf cometbft.types.v1.Commit of that header
	Validators []byte `json:"validators"` // the new set, canonical (as ProofBundle.Validators)
}

// Errors from Verify. Each names the part of the bundle that failed.
var (
	ErrBundleMalformed  = errors.New("proof bundle: malformed")
	ErrBundleHeader     = errors.New("proof bundle: header does not match")
	ErrBundleValidators = errors.New("proof bundle: validator set is not the trusted one")
	ErrBundleCommit     = errors.New("proof bundle: commit signatures do not verify")
	ErrBundleProof      = errors.New("proof bundle: state proof does not verify")
	ErrBundleRecord     = errors.New("proof bundle: record does not match its bytes")
)

// Decoded is a checked bundle's content.
type Decoded struct {
	ChainID string
	Key     string
	Value   []byte // nil: the key is absent
	// Records are the bundle's other records, as proven (Value nil: absent).
	Records     []ProvenRecord
	StateHeight int64
	Header      types.Header
	Signed      int64 // voting power that signed
	Total       int64
}

// Verify checks a bundle against what its verifier trusts: the genesis
// validator set and chain id of the consortium. On success the record (or
// its absence) is what that chain's validators committed.
func (b *ProofBundle) Verify(trusted *types.ValidatorSet, chainID string) (*Decoded, error) {
	if b.Version != Version {
		return nil, fmt.Errorf("%w: version %d", ErrBundleMalformed, b.Version)
	}
	if b.ChainID != chainID {
		return nil, fmt.Errorf("%w: bundle of chain %q, the trusted chain is %q", ErrBundleHeader, b.ChainID, chainID)
	}
	var ph cmtproto.Header
	if err := proto.Unmarshal(b.Header, &ph); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrBundleMalformed, err)
	}
	header, err := types.HeaderFromProto(&ph)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrBundleMalformed, err)
	}
	var pc cmtproto.Commit
	if err := proto.Unmarshal(b.Commit, &pc); err != nil {
		return nil, fmt.Errorf("%w: commit: %v", ErrBundleMalformed, err)
	}
	commit, err := types.CommitFromProto(&pc)
	if err != nil {
		return nil, fmt.Errorf("%w: commit: %v", ErrBundleMalformed, err)
	}
	var pv cmtproto.ValidatorSet
	if err := proto.Unmarshal(b.Validators, &pv); err != nil {
		return nil, fmt.Errorf("%w: validators: %v", ErrBundleMalformed, err)
	}
	list := make([]*types.Validator, len(pv.Validators))
	for i, v := range pv.Validators {
		if list[i], err = ValidatorFromProto(v); err != nil {
			return nil, fmt.Errorf("%w: validator %d: %v", ErrBundleMalformed, i, err)
		}
	}
	vals, err := types.ValidatorSetFromExistingValidators(list)
	if err != nil {
		return nil, fmt.Errorf("%w: validators: %v", ErrBundleMalformed, err)
	}
	// Only one encoding of the set is accepted, so no byte of it can change
	// unnoticed (proposer priorities play no part in verification).
	if canonical, err := CanonicalValidators(vals); err != nil || !bytes.Equal(canonical, b.Validators) {
		return nil, fmt.Errorf("%w: validators not in canonical form", ErrBundleMalformed)
	}

	// The header: the right chain and height, and the one the commit signed.
	if header.ChainID != b.ChainID {
		return nil, fmt.Errorf("%w: chain %q, bundle says %q", ErrBundleHeader, header.ChainID, b.ChainID)
	}
	if header.Height != b.StateHeight+1 {
		return nil, fmt.Errorf("%w: header height %d for state height %d", ErrBundleHeader, header.Height, b.StateHeight)
	}
	if err := header.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBundleHeader, err)
	}
	if commit.Height != header.Height || !bytes.Equal(commit.BlockID.Hash, header.Hash()) {
		return nil, fmt.Errorf("%w: the commit is for another block", ErrBundleHeader)
	}
	// The validators: the trusted set, followed through every hand-over
	// since genesis, and the one the header names.
	lastChange := int64(0)
	for i, c := range b.Changes {
		next, at, err := c.verify(b.ChainID, trusted)
		if err != nil {
			return nil, fmt.Errorf("%w: validator change %d: %w", ErrBundleValidators, i, err)
		}
		if at <= lastChange || at >= header.Height {
			return nil, fmt.Errorf("%w: validator change %d at height %d out of order", ErrBundleValidators, i, at)
		}
		trusted, lastChange = next, at
	}
	if !bytes.Equal(vals.Hash(), trusted.Hash()) {
		return nil, ErrBundleValidators
	}
	if !bytes.Equal(vals.Hash(), header.ValidatorsHash) {
		return nil, fmt.Errorf("%w: header names validators %X", ErrBundleHeader, header.ValidatorsHash)
	}
	// The signatures: more than 2/3 of the power signed, and every
	// signature present is valid (a tampered one is caught even when the
	// others would be enough).
	if err := commit.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBundleCommit, err)
	}
	if err := trusted.VerifyCommitLightAllSignatures(b.ChainID, commit.BlockID, header.Height, commit); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBundleCommit, err)
	}
	// CometBFT finds each signature's validator by position and does not
	// look at the address the signature names; a bank would call a changed
	// address tampering, so it must match too.
	for i, cs := range commit.Signatures {
		if cs.BlockIDFlag != types.BlockIDFlagAbsent && !bytes.Equal(cs.ValidatorAddress, vals.Validators[i].Address) {
			return nil, fmt.Errorf("%w: signature %d names validator %X, the set has %X there", ErrBundleCommit, i, cs.ValidatorAddress, vals.Validators[i].Address)
		}
	}
	// The records: each one's proof against the header's app hash.
	var root [32]byte
	if len(header.AppHash) != len(root) {
		return nil, fmt.Errorf("%w: app hash of %d bytes", ErrBundleHeader, len(header.AppHash))
	}
	copy(root[:], header.AppHash)
	value, err := verifyRecord(root, ProvenRecord{Key: b.Key, Value: b.Value, Record: b.Record, Proof: b.Proof})
	if err != nil {
		return nil, err
	}
	var records []ProvenRecord
	seen := map[string]bool{b.Key: true}
	for i, r := range b.Records {
		if seen[r.Key] {
			return nil, fmt.Errorf("%w: record %d: %s twice", ErrBundleMalformed, i, r.Key)
		}
		seen[r.Key] = true
		v, err := verifyRecord(root, r)
		if err != nil {
			return nil, fmt.Errorf("record %d (%s): %w", i, r.Key, err)
		}
		records = append(records, ProvenRecord{Key: r.Key, Value: v})
	}
	signed := int64(0)
	for i, s := range commit.Signatures {
		if s.BlockIDFlag == types.BlockIDFlagCommit {
			signed += trusted.Validators[i].VotingPower
		}
	}
	return &Decoded{ChainID: b.ChainID, Key: b.Key, Value: value, Records: records, StateHeight: b.StateHeight, Header: header,
		Signed: signed, Total: trusted.TotalVotingPower()}, nil
}

// verifyRecord checks one record's proof against root and that its
// readable form says exactly what its bytes say; it returns the proven
// value (nil: absent).
func verifyRecord(root [32]byte, r ProvenRecord) ([]byte, error) {
	var mp merkle.Proof
	if err := canon.Unmarshal(r.Proof, &mp); err != nil {
		return nil, fmt.Errorf("%w: proof: %v", ErrBundleMalformed, err)
	}
	var value []byte
	if len(r.Value) > 0 {
		value = r.Value
	}
	if err := mp.Verify(root, []byte(r.Key), value); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBundleProof, err)
	}
	if value != nil || len(r.Record) > 0 {
		want, err := RecordJSON(r.Key, value)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBundleRecord, err)
		}
		// The record must say exactly what the proven bytes say: every
		// number digit for digit (no rounding past 2^53), no key twice.
		if !sameJSON(want, r.Record) {
			return nil, ErrBundleRecord
		}
	}
	return value, nil
}

// verify checks one hand-over against the set it replaces: that set
// signed the header (more than 2/3 of its power, every signature valid),
// and the header names the new set as next. It returns the new set and
// the header's height.
func (c *ValidatorChange) verify(chainID string, from *types.ValidatorSet) (*types.ValidatorSet, int64, error) {
	header, commit, err := decodeHeaderCommit(c.Header, c.Commit)
	if err != nil {
		return nil, 0, err
	}
	next, err := decodeValidators(c.Validators)
	if err != nil {
		return nil, 0, err
	}
	if header.ChainID != chainID {
		return nil, 0, fmt.Errorf("header of chain %q", header.ChainID)
	}
	if err := header.ValidateBasic(); err != nil {
		return nil, 0, err
	}
	if commit.Height != header.Height || !bytes.Equal(commit.BlockID.Hash, header.Hash()) {
		return nil, 0, errors.New("the commit is for another block")
	}
	if !bytes.Equal(header.ValidatorsHash, from.Hash()) {
		return nil, 0, errors.New("the header is not signed by the set it replaces")
	}
	if err := commit.ValidateBasic(); err != nil {
		return nil, 0, err
	}
	if err := from.VerifyCommitLightAllSignatures(chainID, commit.BlockID, header.Height, commit); err != nil {
		return nil, 0, err
	}
	for i, cs := range commit.Signatures {
		if cs.BlockIDFlag != types.BlockIDFlagAbsent && !bytes.Equal(cs.ValidatorAddress, from.Validators[i].Address) {
			return nil, 0, fmt.Errorf("signature %d names validator %X", i, cs.ValidatorAddress)
		}
	}
	if !bytes.Equal(header.NextValidatorsHash, next.Hash()) {
		return nil, 0, errors.New("the header does not name the new set")
	}
	return next, header.Height, nil
}

func decodeHeaderCommit(hb, cb []byte) (types.Header, *types.Commit, error) {
	var ph cmtproto.Header
	if err := proto.Unmarshal(hb, &ph); err != nil {
		return types.Header{}, nil, fmt.Errorf("header: %v", err)
	}
	header, err := types.HeaderFromProto(&ph)
	if err != nil {
		return types.Header{}, nil, fmt.Errorf("header: %v", err)
	}
	var pc cmtproto.Commit
	if err := proto.Unmarshal(cb, &pc); err != nil {
		return types.Header{}, nil, fmt.Errorf("commit: %v", err)
	}
	commit, err := types.CommitFromProto(&pc)
	if err != nil {
		return types.Header{}, nil, fmt.Errorf("commit: %v", err)
	}
	return header, commit, nil
}

// decodeValidators decodes a canonical validator set; any other encoding
// is refused.
func decodeValidators(raw []byte) (*types.ValidatorSet, error) {
	var pv cmtproto.ValidatorSet
	if err := proto.Unmarshal(raw, &pv); err != nil {
		return nil, fmt.Errorf("validators: %v", err)
	}
	list := make([]*types.Validator, len(pv.Validators))
	for i, v := range pv.Validators {
		var err error
		if list[i], err = ValidatorFromProto(v); err != nil {
			return nil, fmt.Errorf("validator %d: %v", i, err)
		}
	}
	vals, err := types.ValidatorSetFromExistingValidators(list)
	if err != nil {
		return nil, fmt.Errorf("validators: %v", err)
	}
	if canonical, err := CanonicalValidators(vals); err != nil || !bytes.Equal(canonical, raw) {
		return nil, errors.New("validators not in canonical form")
	}
	return vals, nil
}

// sameJSON reports whether a and b are the same JSON value: objects with
// the same keys, none repeated, and the same values (key order aside),
// arrays in order, numbers digit for digit, strings exact.
func sameJSON(a, b []byte) bool {
	va, ok := exactJSON(a)
	if !ok {
		return false
	}
	vb, ok := exactJSON(b)
	return ok && reflect.DeepEqual(va, vb)
}

// exactJSON decodes one JSON value with numbers as their digits, refusing
// a repeated key or trailing data.
func exactJSON(raw []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, ok := exactValue(dec)
	if !ok {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return v, true
}

func exactValue(dec *json.Decoder) (any, bool) {
	tok, err := dec.Token()
	if err != nil {
		return nil, false
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := map[string]any{}
			for dec.More() {
				k, err := dec.Token()
				key, isStr := k.(string)
				if err != nil || !isStr {
					return nil, false
				}
				if _, dup := m[key]; dup {
					return nil, false
				}
				v, ok := exactValue(dec)
				if !ok {
					return nil, false
				}
				m[key] = v
			}
			_, err := dec.Token()
			return m, err == nil
		case '[':
			var l []any
			for dec.More() {
				v, ok := exactValue(dec)
				if !ok {
					return nil, false
				}
				l = append(l, v)
			}
			_, err := dec.Token()
			return l, err == nil
		}
		return nil, false
	case json.Number:
		return string(t), true
	default:
		return tok, true
	}
}

// RecordJSON decodes a record's canonical bytes by its key prefix and
// returns it as JSON (nil value: JSON null).
func RecordJSON(key string, value []byte) (json.RawMessage, error) {
	if value == nil {
		return json.RawMessage("null"), nil
	}
	v, err := ledger.DecodeByKey(key, value)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// TrustedValidators reads the validator set a bank trusts from a CometBFT
// genesis file.
func TrustedValidators(genesisFile string) (*types.ValidatorSet, string, error) {
	raw, err := os.ReadFile(genesisFile)
	if err != nil {
		return nil, "", err
	}
	set, chainID, err := TrustedValidatorsJSON(raw)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", genesisFile, err)
	}
	return set, chainID, nil
}

// ValidatorFromProto is types.ValidatorFromProto made safe for hostile
// input: CometBFT v1.0.1 dereferences a nil public key when the key type
// is unknown.
func ValidatorFromProto(v *cmtproto.Validator) (val *types.Validator, err error) {
	if v == nil {
		return nil, errors.New("nil validator")
	}
	defer func() {
		if r := recover(); r != nil {
			val, err = nil, fmt.Errorf("undecodable validator: %v", r)
		}
	}()
	return types.ValidatorFromProto(v)
}

// CanonicalValidators encodes a validator set as bundles carry it: the
// validators in order with their keys and power, proposer priorities zero
// and no proposer.
func CanonicalValidators(vals *types.ValidatorSet) ([]byte, error) {
	pv := &cmtproto.ValidatorSet{TotalVotingPower: vals.TotalVotingPower()}
	for _, v := range vals.Validators {
		p, err := v.ToProto()
		if err != nil {
			return nil, err
		}
		p.ProposerPriority = 0
		pv.Validators = append(pv.Validators, p)
	}
	return proto.Marshal(pv)
}
