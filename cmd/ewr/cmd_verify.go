package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ewrchain/ewr/chainengine/bundle"
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
type verifyReport = bundle.Report

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
		err = rep.Fresh(*maxAge, *minHeight)
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

func verifyFile(path, genesis string, now time.Time) (*verifyReport, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return &verifyReport{}, err
	}
	g, err := os.ReadFile(genesis)
	if err != nil {
		return &verifyReport{}, fmt.Errorf("trusted validators: %w", err)
	}
	rep, err := bundle.Check(raw, g, now)
	if errors.Is(err, bundle.ErrNotBundle) {
		err = fmt.Errorf("%s is %w", path, err)
	}
	return rep, err
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
		if receipt.DecodeRecord(rep.Value, &r) == nil {
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
