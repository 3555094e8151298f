package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/apitest"
	"github.com/ewrchain/ewr/api/snake"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/simulators/demo"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cli runs `ewr args...` in-process and returns its exit code, stdout and
// stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	stdout, stderr = &out, &errb
	defer func() { stdout, stderr = os.Stdout, os.Stderr }()
	code := run(args, &errb)
	return code, out.String(), errb.String()
}

// jsonOf runs a command with --json and decodes its one line of output.
func jsonOf(t *testing.T, want int, args ...string) map[string]any {
	t.Helper()
	code, out, errs := cli(t, append(args, "--json")...)
	require.Equal(t, want, code, "ewr %s: %s%s", strings.Join(args, " "), out, errs)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 1, "one JSON object on stdout: %q", out)
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &v), "ewr %s printed %q (stderr %q)", strings.Join(args, " "), out, errs)
	return v
}

// TestCLIAgainstARunningSystem drives a real API with the CLI, as scripts
// do (--json: one JSON object per command on stdout, problems included)
// and as people do (tables).
func TestCLIAgainstARunningSystem(t *testing.T) {
	sys := apitest.Start(t, apitest.Options{Validators: 1})
	dir := t.TempDir()
	pfile := filepath.Join(dir, "participants.json")
	var entries []api.ParticipantEntry
	for id, tok := range sys.Tokens {
		entries = append(entries, api.ParticipantEntry{ID: id, Role: sys.World.Actors[id].Roles.String(), Name: sys.World.Actors[id].Name, Token: tok})
	}
	require.NoError(t, api.SaveParticipants(pfile, entries))
	as := func(p string) []string { return []string{"--api", sys.URL, "--participants", pfile, "--as", p} }
	cmd := func(p string, args ...string) []string { return append(args, as(p)...) }

	st := jsonOf(t, 0, cmd(ledger.Regulator, "status")...)
	assert.Equal(t, ledger.Regulator, st["participant"])

	// A lot from signed tickets (the body from a file), then a receipt.
	now := time.Now().Unix()
	stock := warehouse.RegisterStock{Lot: "CLI-LOT", Warehouse: ledger.Warehouse1, Bay: ledger.DemoBays[0], Commodity: "copper cathode",
		Grade: "A", Unit: "kg", Tolerance: 50, Tickets: []warehouse.SignedTicket{sys.World.Ticket(ledger.Weighbridge1, "CLI-1", warehouse.In, 30_000, 10_000, "", now)}}
	raw, err := apiJSON(stock)
	require.NoError(t, err)
	bodyFile := filepath.Join(dir, "stock.json")
	require.NoError(t, os.WriteFile(bodyFile, raw, 0o600))
	res := jsonOf(t, 0, cmd(ledger.Operator, "lot", "register", "--body", "@"+bodyFile)...)
	require.Equal(t, api.StatusAwaitingSignatures, res["status"])
	draftID := res["draft"].(map[string]any)["id"].(string)
	drafts := jsonOf(t, 0, cmd(ledger.Inspector, "draft", "list", "--awaiting", "true")...)
	require.Len(t, drafts["items"], 1)
	res = jsonOf(t, 0, cmd(ledger.Inspector, "draft", "approve", draftID)...)
	require.Equal(t, api.StatusCommitted, res["status"])

	res = jsonOf(t, 0, cmd(ledger.Operator, "receipt", "issue", "--id", "CLI-R1", "--lot", "CLI-LOT", "--depositor", ledger.TraderA,
		"--negotiable", "--quantity", "20000", "--description", "copper", "--place-of-issue", "Qingdao", "--storage-until", "+365d",
		"--valid-until", "+180d", "--storage-agreement-date", "-1d", "--storage-terms-ref", "T", "--third-party-claims", "none known",
		"--fees", `{"currency":"CNY","minor_per_tonne_per_day":100}`)...)
	require.Equal(t, api.StatusCommitted, res["status"], "%v", res)
	r := jsonOf(t, 0, cmd(ledger.TraderA, "receipt", "get", "CLI-R1")...)
	assert.Equal(t, "ISSUED", r["state"])
	assert.Equal(t, float64(20000), r["quantity"])
	list := jsonOf(t, 0, cmd(ledger.TraderA, "receipt", "list")...)
	assert.Len(t, list["items"], 1)

	// A refusal: the rule that was broken, as a problem on stdout, exit 1
	// (the warehouse's operator reads the receipt, but does not hold it).
	p := jsonOf(t, 1, cmd(ledger.Operator, "receipt", "transfer", "CLI-R1", "--to", ledger.TraderB)...)
	assert.Equal(t, api.ProblemBase+"not_holder", p["type"])
	code, _, errs := cli(t, cmd(ledger.Operator, "receipt", "transfer", "CLI-R1", "--to", ledger.TraderB)...)
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "rule not_holder, code 124, HTTP 403")
	assert.Contains(t, errs, "acting on receipt CLI-R1 at version 1", "the CLI reads the version first and says so")
	// To those who are no party to it, the receipt is as missing.
	for _, who := range []string{ledger.TraderB, ledger.BankB} {
		p = jsonOf(t, 1, cmd(who, "receipt", "get", "CLI-R1")...)
		assert.Equal(t, api.ProblemBase+"receipt_not_found", p["type"], who)
		l := jsonOf(t, 0, cmd(who, "receipt", "list", "--lot", "CLI-LOT")...)
		assert.Empty(t, l["items"], who)
	}
	code, _, errs = cli(t, cmd(ledger.TraderA, "receipt", "transfer")...)
	assert.Equal(t, 2, code, "a missing argument is a usage error")
	assert.Contains(t, errs, "takes 1 argument")

	res = jsonOf(t, 0, cmd(ledger.TraderA, "receipt", "transfer", "CLI-R1", "--to", ledger.TraderB, "--deadline", "+2d")...)
	assert.Equal(t, api.StatusCommitted, res["status"])
	txHash := res["tx_hash"].(string)
	tx := jsonOf(t, 0, cmd(ledger.TraderA, "tx", "get", txHash)...)
	assert.Equal(t, "receipt.transfer.initiate", tx["op_type"])
	blocks := jsonOf(t, 0, cmd(ledger.TraderA, "block", "list", "--limit", "3")...)
	assert.Len(t, blocks["items"], 3)

	// Human output: tables and key/value lines.
	code, out, errs := cli(t, cmd(ledger.TraderA, "receipt", "list")...)
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "CLI-R1")
	assert.Contains(t, out, "TRANSFER_PENDING")
	code, out, _ = cli(t, cmd(ledger.TraderB, "receipt", "accept", "CLI-R1")...)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "receipt.transfer.accept committed in block")

	// A proof, verified offline; a tampered one refused.
	proofFile := filepath.Join(dir, "r.proof.json")
	code, out, errs = cli(t, cmd(ledger.TraderB, "receipt", "proof", "CLI-R1")...) // JSON without --json: it is a document
	require.Equal(t, 0, code, errs)
	require.NoError(t, os.WriteFile(proofFile, []byte(out), 0o600))
	v := jsonOf(t, 0, "verify", proofFile, "--genesis", sys.Genesis)
	assert.Equal(t, true, v["ok"])
	assert.Equal(t, "receipt", v["kind"])
	assert.Less(t, v["age_s"], float64(600), "a fresh bundle")
	// Freshness: a bank names how old a bundle may be, or the height it
	// must reach.
	later, err := verifyFile(proofFile, sys.Genesis, time.Now().Add(48*time.Hour))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, later.AgeS, int64(48*3600))
	assert.ErrorContains(t, later.Fresh(24*time.Hour, 0), "stale", "two days later, past the default --max-age")
	assert.NoError(t, later.Fresh(72*time.Hour, 0))
	v = jsonOf(t, 1, "verify", proofFile, "--genesis", sys.Genesis, "--min-height", "1000000")
	assert.Contains(t, v["error"], "stale")
	code, out, _ = cli(t, "verify", proofFile, "--genesis", sys.Genesis)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "VERIFIED")
	assert.Contains(t, out, "held by "+ledger.TraderB)
	tampered := strings.Replace(readFile(t, proofFile), `"Holder":"`+ledger.TraderB, `"Holder":"`+ledger.TraderA, 1)
	require.NoError(t, os.WriteFile(proofFile, []byte(tampered), 0o600))
	v = jsonOf(t, 1, "verify", proofFile, "--genesis", sys.Genesis)
	assert.Equal(t, false, v["ok"])
	assert.Contains(t, v["error"], "record does not match")

	// A record holding a list of records reads as a table, not JSON.
	code, out, errs = cli(t, cmd(ledger.TraderA, "validator", "list")...)
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "validators:")
	assert.Contains(t, out, "POWER")
	assert.NotContains(t, out, "[{", "no JSON in a table cell")

	// Keys kept outside the node; a tx encoded online, signed offline,
	// sent.
	keyDir := filepath.Join(dir, "keys")
	k := jsonOf(t, 0, "keys", "new", "--participant", "someone", "--dir", keyDir)
	assert.Len(t, k["public_key"], 64)
	assert.NotContains(t, k, "private_key")
	kl := jsonOf(t, 0, "keys", "list", "--dir", keyDir)
	assert.Len(t, kl["items"], 1)
	oracleKey := filepath.Join(keyDir, "oracle.key.json")
	seed := sys.World.Key(ledger.Oracle).Seed()
	pub := hex.EncodeToString(sys.World.Key(ledger.Oracle).Public().(ed25519.PublicKey))
	require.NoError(t, os.WriteFile(oracleKey, []byte(`{"participant":"oracle","public_key":"`+pub+`","private_key":"`+hex.EncodeToString(seed)+`"}`), 0o600))
	docFile := filepath.Join(dir, "tx.json")
	code, _, errs = cli(t, append([]string{"tx", "encode", "--op-type", "financing.price.post", "--op",
		`{"commodity":"copper cathode","currency":"USD","minor_per_tonne":700000}`, "--out", docFile}, as(ledger.Oracle)...)...)
	require.Equal(t, 0, code, errs)
	signed := filepath.Join(dir, "tx.signed.json")
	code, _, errs = cli(t, "tx", "sign", "--key", oracleKey, "--in", docFile, "--out", signed)
	require.Equal(t, 0, code, errs)
	res = jsonOf(t, 0, append([]string{"tx", "send", "--in", signed}, as(ledger.Oracle)...)...)
	assert.Equal(t, api.StatusCommitted, res["status"])
	assert.Equal(t, "financing.price.post", res["op_type"])
}

func apiJSON(v any) ([]byte, error) { return snake.Marshal(v) }

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

// TestTablesForPeople: a table shows a quantity with its unit, an amount
// in its currency's major units, exactly, a time in local time, and no JSON
// in a cell.
func TestTablesForPeople(t *testing.T) {
	var out bytes.Buffer
	old := stdout
	stdout = &out
	defer func() { stdout = old }()
	at := time.Date(2026, 12, 3, 9, 30, 0, 0, time.Local).Unix()
	printTable([]any{map[string]any{"id": "LN-1", "status": "OPEN", "outstanding": json.Number("9007199254740993"), "currency": "USD",
		"quantity": json.Number("25000"), "unit": "kg", "time": json.Number(strconv.FormatInt(at, 10)),
		"pledges": []any{map[string]any{"id": "PL-1"}}}})
	s := out.String()
	assert.Contains(t, s, "25,000 kg")
	assert.Contains(t, s, "USD 90,071,992,547,409.93", "exact, in major units")
	assert.Contains(t, s, "2026-12-03 09:30")
	assert.NotContains(t, s, "CURRENCY")
	assert.NotContains(t, s, "UNIT")
	assert.NotContains(t, s, "{")
}

// TestCLISecondBankLearnsNoTerms: after the demo story (bank-a lends on a
// pledged receipt and sets its credit policy), the second bank's CLI reads
// none of bank-a's loans, terms, policies or exposure; bank-a reads its own.
func TestCLISecondBankLearnsNoTerms(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo story on a running system")
	}
	sys := apitest.Start(t, apitest.Options{Validators: 1})
	pfile := filepath.Join(t.TempDir(), "participants.json")
	var entries []api.ParticipantEntry
	for id, tok := range sys.Tokens {
		entries = append(entries, api.ParticipantEntry{ID: id, Role: sys.World.Actors[id].Roles.String(), Name: sys.World.Actors[id].Name, Token: tok})
	}
	require.NoError(t, api.SaveParticipants(pfile, entries))
	cmd := func(p string, args ...string) []string {
		return append(args, "--api", sys.URL, "--participants", pfile, "--as", p)
	}
	var story bytes.Buffer // the story as ewr demo tells it, with this system's device keys
	_, err := demo.Run(context.Background(), demo.Config{API: sys.URL, Tokens: sys.Tokens, World: sys.World, Out: &story, Tag: "cli"})
	require.NoError(t, err, story.String())

	const loan = "LN-cli"
	own := jsonOf(t, 0, cmd(ledger.BankA, "loan", "get", loan)...)
	require.Equal(t, ledger.BankA, own["bank"])
	require.NotEmpty(t, jsonOf(t, 0, cmd(ledger.BankA, "loan", "list", "--bank", ledger.BankA)...)["items"])
	require.NotEmpty(t, jsonOf(t, 0, cmd(ledger.BankA, "policy", "list", "--bank", ledger.BankA)...)["items"])

	// The same reads that hide bank-a's book from bank-b show it to
	// those who may read it.
	code, _, errs := cli(t, cmd(ledger.BankA, "bank", "exposure", ledger.BankA, "--json")...)
	require.Equal(t, 0, code, "bank-a reads its own exposure: %s", errs)
	seen := false
	for _, it := range jsonOf(t, 0, cmd(ledger.Regulator, "loan", "list", "--bank", ledger.BankA)...)["items"].([]any) {
		seen = seen || it.(map[string]any)["id"] == loan
	}
	require.True(t, seen, "the regulator lists bank-a's loan")

	p := jsonOf(t, 1, cmd(ledger.BankB, "loan", "get", loan)...)
	assert.Equal(t, api.ProblemBase+"loan_not_found", p["type"], "another bank's loan is as missing")
	for _, args := range [][]string{{"loan", "list", "--bank", ledger.BankA}, {"loan", "list"}, {"margin-call", "list"}, {"policy", "list", "--bank", ledger.BankA}, {"policy", "list"}} {
		items, _ := jsonOf(t, 0, cmd(ledger.BankB, args...)...)["items"].([]any)
		for _, it := range items {
			assert.NotEqual(t, ledger.BankA, it.(map[string]any)["bank"], "ewr %s as bank-b lists bank-a's %v", strings.Join(args, " "), it)
		}
	}
	p = jsonOf(t, 1, cmd(ledger.BankB, "bank", "exposure", ledger.BankA)...)
	assert.Equal(t, api.ProblemBase+"not_found", p["type"], "another bank's exposure is as missing")
}
