package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cometbft/cometbft/types"
	"github.com/ewrchain/ewr/ledger"
)

// ErrNotBundle: the bytes are not a proof bundle's JSON.
var ErrNotBundle = errors.New("not a proof bundle")

// Report is a checked bundle as a bank reads it: what was proven, at
// which height and how long ago, by how much voting power. Every record in
// it is decoded from the proven bytes by the canonical decoder, never taken
// from the bundle's own JSON. `ewr verify --json` prints it; the browser
// verifier shows it.
type Report struct {
	OK          bool            `json:"ok"`
	Error       string          `json:"error,omitempty"`
	ChainID     string          `json:"chain_id,omitempty"`
	Key         string          `json:"key,omitempty"`
	Kind        string          `json:"kind,omitempty"`
	Present     bool            `json:"present"`
	StateHeight int64           `json:"state_height,omitempty"`
	HeaderTime  string          `json:"header_time,omitempty"`
	AgeS        int64           `json:"age_s"` // how old the header is, seconds
	Changes     int             `json:"validator_changes"`
	AppHash     string          `json:"app_hash,omitempty"`
	SignedPower int64           `json:"signed_power,omitempty"`
	TotalPower  int64           `json:"total_power,omitempty"`
	Record      json.RawMessage `json:"record,omitempty"`
	// Records are a position bundle's other records (record null: proven
	// absent).
	Records []RecordView `json:"records,omitempty"`
	// Value is the main record's proven bytes.
	Value []byte `json:"-"`
}

// RecordView is one more record a bundle proved.
type RecordView struct {
	Key     string          `json:"key"`
	Kind    string          `json:"kind,omitempty"`
	Present bool            `json:"present"`
	Record  json.RawMessage `json:"record"`
}

// Check decodes a bundle (its JSON, duplicate keys refused by Verify's
// exact comparison) and verifies it against the trusted genesis file's
// validators and chain id, as of now.
func Check(bundleJSON, genesisJSON []byte, now time.Time) (*Report, error) {
	rep := &Report{}
	var b ProofBundle
	if err := json.Unmarshal(bundleJSON, &b); err != nil {
		return rep, fmt.Errorf("%w: %v", ErrNotBundle, err)
	}
	trusted, chainID, err := TrustedValidatorsJSON(genesisJSON)
	if err != nil {
		return rep, fmt.Errorf("trusted validators: %w", err)
	}
	if b.ChainID != chainID {
		return rep, fmt.Errorf("bundle is for chain %q, the genesis is chain %q", b.ChainID, chainID)
	}
	dec, err := b.Verify(trusted, chainID)
	if err != nil {
		return rep, err
	}
	rep.OK, rep.ChainID, rep.Key, rep.Present = true, dec.ChainID, dec.Key, dec.Value != nil
	rep.Kind, _ = ledger.RecordKind(dec.Key)
	rep.StateHeight, rep.SignedPower, rep.TotalPower = dec.StateHeight, dec.Signed, dec.Total
	rep.HeaderTime = dec.Header.Time.UTC().Format(time.RFC3339)
	rep.AgeS = max(0, int64(now.Sub(dec.Header.Time).Seconds()))
	rep.Changes = len(b.Changes)
	rep.AppHash = fmt.Sprintf("%X", dec.Header.AppHash)
	if dec.Value != nil {
		if rep.Record, err = RecordJSON(dec.Key, dec.Value); err != nil {
			return rep, err
		}
		rep.Value = dec.Value
	}
	for _, r := range dec.Records {
		v := RecordView{Key: r.Key, Present: r.Value != nil, Record: json.RawMessage("null")}
		v.Kind, _ = ledger.RecordKind(r.Key)
		if r.Value != nil {
			if v.Record, err = RecordJSON(r.Key, r.Value); err != nil {
				return rep, err
			}
		}
		rep.Records = append(rep.Records, v)
	}
	return rep, nil
}

// Fresh fails a verified bundle older than maxAge or of a state before
// minHeight: a bundle never expires by itself, the bank says how recent
// it must be.
func (rep *Report) Fresh(maxAge time.Duration, minHeight int64) error {
	if rep.AgeS > int64(maxAge.Seconds()) {
		return fmt.Errorf("stale: the bundle's header is %v old (max age %v); ask for a fresh one", time.Duration(rep.AgeS)*time.Second, maxAge)
	}
	if rep.StateHeight < minHeight {
		return fmt.Errorf("stale: the bundle proves the state after block %d (min height %d)", rep.StateHeight, minHeight)
	}
	return nil
}

// TrustedValidatorsJSON is TrustedValidators of a genesis file's bytes.
func TrustedValidatorsJSON(raw []byte) (*types.ValidatorSet, string, error) {
	g, err := types.GenesisDocFromJSON(raw)
	if err != nil {
		return nil, "", fmt.Errorf("genesis: %w", err)
	}
	vals := make([]*types.Validator, len(g.Validators))
	for i, v := range g.Validators {
		vals[i] = types.NewValidator(v.PubKey, v.Power)
	}
	set, err := types.ValidatorSetFromExistingValidators(vals)
	if err != nil {
		return nil, "", err
	}
	return set, g.ChainID, nil
}
