package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
)

func init() {
	register(&command{name: "verify", summary: "check a proof bundle offline against the consortium's genesis validators", run: runVerify})
}

// defaultGenesis is the genesis `ewr run` keeps in .ewr.
func defaultGenesis() string {
	return filepath.Join(defaultDataDir, "localnet", "node0", "config", "genesis.json")
}

// verifyReport is `ewr verify --json`'s answer.
type verifyReport struct {
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
	// Records are a position bundle's other records, each decoded from its
	// proven bytes (record null: proven absent).
	Records []provenView `json:"records,omitempty"`
	value   []byte       // the proven bytes
}

func runVerify(_ context.Context, args []string) error {
	fs := newFlags("verify")
	genesis := fs.String("genesis", defaultGenesis(), "CometBFT genesis file whose validators you trust")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	maxAge := fs.Duration("max-age", 24*time.Hour, "fail a bundle whose header is older than this")
	minHeight := fs.Int64("min-height", 0, "fail a bundle of a state before this height")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: ewr verify FILE [--genesis FILE]")
	}
	rep, err := verifyFile(pos[0], *genesis, time.Now())
	if err == nil {
		err = fresh(rep, *maxAge, *minHeight)
	}
	if *asJSON {
		if err != nil {
			rep.OK, rep.Error = false, err.Error()
		}
		b, _ := json.Marshal(rep)
		fmt.Fprintln(stdout, string(b))
	}
	if err != nil {
		return fmt.Errorf("NOT VERIFIED: %w", err)
	}
	if !*asJSON {
		printVerified(rep)
	}
	return nil
}

// fresh fails a verified bundle older than maxAge or of a state before
// minHeight: a bundle never expires by itself, the bank says how recent it
// must be.
func fresh(rep *verifyReport, maxAge time.Duration, minHeight int64) error {
	if rep.AgeS > int64(maxAge.Seconds()) {
		return fmt.Errorf("stale: the bundle's header is %v old (--max-age %v); ask for a fresh one", time.Duration(rep.AgeS)*time.Second, maxAge)
	}
	if rep.StateHeight < minHeight {
		return fmt.Errorf("stale: the bundle proves the state after block %d (--min-height %d)", rep.StateHeight, minHeight)
	}
	return nil
}

func verifyFile(path, genesis string, now time.Time) (*verifyReport, error) {
	rep := &verifyReport{}
	raw, err := os.ReadFile(path)
	if err != nil {
		return rep, err
	}
	var b chainengine.ProofBundle
	if err := json.Unmarshal(raw, &b); err != nil {
		return rep, fmt.Errorf("%s is not a proof bundle: %w", path, err)
	}
	trusted, chainID, err := chainengine.TrustedValidators(genesis)
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
		// What is shown comes from the proven bytes, decoded by the
		// canonical decoder: never the bundle's own JSON.
		if rep.Record, err = chainengine.RecordJSON(dec.Key, dec.Value); err != nil {
			return rep, err
		}
		rep.value = dec.Value
	}
	for _, r := range dec.Records {
		v := provenView{Key: r.Key, Present: r.Value != nil, Record: json.RawMessage("null")}
		v.Kind, _ = ledger.RecordKind(r.Key)
		if r.Value != nil {
			if v.Record, err = chainengine.RecordJSON(r.Key, r.Value); err != nil {
				return rep, err
			}
		}
		rep.Records = append(rep.Records, v)
	}
	return rep, nil
}

// provenView is one more record a bundle proved, as verify shows it.
type provenView struct {
	Key     string          `json:"key"`
	Kind    string          `json:"kind,omitempty"`
	Present bool            `json:"present"`
	Record  json.RawMessage `json:"record"`
}

// printRecords prints a position bundle's other records.
func printRecords(rep *verifyReport) {
	for _, r := range rep.Records {
		if !r.Present {
			fmt.Fprintf(stdout, "  %s %s: proven absent\n", r.Kind, r.Key)
			continue
		}
		fmt.Fprintf(stdout, "  %s %s: %s\n", r.Kind, r.Key, r.Record)
	}
}

func printVerified(rep *verifyReport) {
	what := "absent"
	if rep.Present {
		what = "present"
	}
	fmt.Fprintf(stdout, "✓ VERIFIED: %s %s is %s in the state of chain %s after block %d\n", rep.Kind, rep.Key, what, rep.ChainID, rep.StateHeight)
	fmt.Fprintf(stdout, "  signed by %d of %d voting power (more than 2/3) on the header of block %d, %s (%v ago), app hash %s\n",
		rep.SignedPower, rep.TotalPower, rep.StateHeight+1, rep.HeaderTime, time.Duration(rep.AgeS)*time.Second, rep.AppHash)
	if rep.Changes > 0 {
		fmt.Fprintf(stdout, "  followed %d validator-set change(s) from the genesis validators\n", rep.Changes)
	}
	if rep.Kind == "receipt" && rep.Present {
		var r receipt.Receipt
		if receipt.DecodeRecord(rep.value, &r) == nil {
			fmt.Fprintf(stdout, "  receipt %s: %s, held by %s, %d %s of %s (%s), lot %s at %s/%s, version %d\n",
				r.ID, r.State, r.Holder, r.Quantity, r.Unit, r.Commodity, r.Grade, r.Lot, r.Warehouse, r.Place, r.Version)
			if r.Pledge != "" {
				fmt.Fprintf(stdout, "  pledge %s\n", r.Pledge)
			}
			printRecords(rep)
			return
		}
	}
	if rep.Present {
		fmt.Fprintf(stdout, "  record %s\n", rep.Record)
	}
	printRecords(rep)
}
