package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/simulators"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVerifyPrintsAmountsExactly: a loan of 2^53 + 1 minor units, above
// what a float64 holds exactly (quantities stop at 10^15 and prices at
// 10^12, but amounts go to 10^18), is printed by ewr verify from the
// position bundle and emitted by --json digit for digit; a bundle whose
// record JSON carries the rounded figure disagrees with its proven bytes
// and is refused.
func TestVerifyPrintsAmountsExactly(t *testing.T) {
	if testing.Short() {
		t.Skip("a localnet")
	}
	const big = uint64(1)<<53 + 1 // 9007199254740993
	now := time.Now().Unix()
	w := ledger.NewWorld("exact", now+365*86400)
	w.Genesis.Lots = append(w.Genesis.Lots, warehouse.Lot{ID: "LOT-BIG", Warehouse: ledger.Warehouse1, Bay: ledger.DemoBays[0],
		Commodity: "copper cathode", Grade: "LME Grade A", Unit: "g", LockedQty: receipt.MaxQuantity, Tolerance: 1000})
	appState, err := json.Marshal(&w.Genesis)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	ln, err := chainengine.StartLocalnet(ctx, dir, 1, func(home string, _ int) (chainengine.App, error) {
		return chainengine.NewReceiptApp(chainengine.ReceiptAppDir(home), log.NewNopLogger())
	}, chainengine.LocalnetOptions{AppState: appState, Logger: log.NewNopLogger()})
	require.NoError(t, err)
	defer ln.Stop()
	d := simulators.NewChainDriver(ln.Node(0), w)
	const cu = "copper cathode"
	for _, step := range []struct {
		signers []string
		op      receipt.Op
	}{
		{[]string{ledger.Operator}, &warehouse.IssueReceipt{ID: "WR-BIG", Lot: "LOT-BIG", Depositor: ledger.TraderA, Negotiable: true,
			Quantity: receipt.MaxQuantity, Description: cu, PlaceOfIssue: "Qingdao", StorageUntil: now + 300*86400, ValidUntil: now + 200*86400,
			StorageAgreementDate: now - 86400, StorageTermsRef: "ST-1", ThirdPartyClaims: "none known", Fees: receipt.FeeTerms{Currency: "CNY"}}},
		{[]string{ledger.Oracle}, &financing.PostPrice{Commodity: cu, Currency: "USD", MinorPerTonne: 100_000_000}},
		{[]string{ledger.BankA}, &financing.SetCreditPolicy{Commodity: cu, HaircutBps: 1_000, InitialLTVBps: 7_500, MaintenanceLTVBps: 8_500,
			MarginCallGraceSec: 7 * 86400}},
		{[]string{ledger.TraderA}, &receipt.RequestPledge{Pledge: "PL-BIG", Receipt: "WR-BIG", Version: 1, Bank: ledger.BankA, Maturity: now + 90*86400}},
		{[]string{ledger.BankA}, &receipt.ConfirmPledge{Pledge: "PL-BIG", ReceiptVersion: 2}},
		{[]string{ledger.BankA, ledger.TraderA}, &financing.OpenLoan{Loan: "LN-BIG", Borrower: ledger.TraderA, Pledges: []string{"PL-BIG"},
			Currency: "USD", Principal: big, Maturity: now + 60*86400}},
	} {
		require.NoError(t, d.Submit(ctx, step.signers, step.op), "%T", step.op)
	}
	prover, err := chainengine.NewProver(ln.Node(0))
	require.NoError(t, err)
	app := ln.Node(0).App().(*chainengine.ReceiptApp)
	b, err := prover.BundleOf(ctx, func(get func(string) ([]byte, bool)) []string { return ledger.PositionKeys(get, "WR-BIG") }, app.Height())
	require.NoError(t, err)
	raw, err := json.Marshal(b)
	require.NoError(t, err)
	require.Contains(t, string(raw), "9007199254740993", "the bundle's own record JSON")
	file := filepath.Join(dir, "big.json")
	require.NoError(t, os.WriteFile(file, raw, 0o600))
	genesis := filepath.Join(dir, "node0", "config", "genesis.json")

	code, out, errs := cli(t, "verify", file, "--genesis", genesis)
	require.Equal(t, 0, code, "%s%s", out, errs)
	assert.Contains(t, out, `"Principal":9007199254740993`)
	code, out, errs = cli(t, "verify", file, "--genesis", genesis, "--json")
	require.Equal(t, 0, code, "%s%s", out, errs)
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	var rep struct {
		Records []struct {
			Key    string
			Record struct{ Principal json.Number }
		}
	}
	require.NoError(t, dec.Decode(&rep))
	var principal string
	for _, r := range rep.Records {
		if r.Key == financing.LoanKey("LN-BIG") {
			principal = r.Record.Principal.String()
		}
	}
	assert.Equal(t, "9007199254740993", principal)

	// The rounded figure in the bundle's record: refused, as any record
	// JSON that disagrees with the proven bytes.
	rounded := bytes.Replace(raw, []byte("9007199254740993"), []byte("9007199254740992"), 1)
	require.NoError(t, os.WriteFile(file, rounded, 0o600))
	code, out, errs = cli(t, "verify", file, "--genesis", genesis)
	assert.Equal(t, 1, code, "%s", out)
	assert.Contains(t, errs, "record does not match its bytes")
}
