package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/api/apiclient"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/indexer/pgcluster/pgtest"
	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/iot/device"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/member"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMembersAcrossHomes: `ewr testnet` writes four member homes; each
// member runs its own stack from its home (node, NATS, read model, API for
// its own participants) and they share nothing but the network. The
// warehouse's member registers a lot and issues a receipt, the trader's
// pledges it, the bank's confirms and verifies the receipt's proof bundle
// against the genesis; no member's API acts for another's participants. A
// fifth home, an observer, follows the chain and never signs.
func TestMembersAcrossHomes(t *testing.T) {
	if testing.Short() {
		t.Skip("four member stacks")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	drivers := make([]*apiclient.Driver, 5)
	apps := make([]*chainengine.ReceiptApp, 5)
	nodes := make([]*chainengine.Node, 5)
	members := make([]*member.Member, 5)
	held := map[string]int{} // participant → member
	var out string
	// The testnet's ports are free when it picks them; a test running
	// beside this one may take one before its member binds it. Then the
	// consortium is made afresh (chainengine.FreePorts asks for the retry).
	for attempt := 1; ; attempt++ {
		out = t.TempDir()
		var stderr bytes.Buffer
		require.Equal(t, 0, run([]string{"testnet", "--validators", "4", "--observers", "1", "--out", out, "--base-port", "0", "--api-base", "0"}, &stderr), stderr.String())
		var started []*member.Member
		var err error
		for k := range 5 {
			home := filepath.Join(out, fmt.Sprintf("node%d", k))
			c, lerr := member.LoadConfig(home)
			require.NoError(t, lerr)
			agreed, gerr := member.GenesisHash(filepath.Join(out, "node0"))
			require.NoError(t, gerr)
			require.Equal(t, agreed, c.Genesis, "the testnet names the consortium's genesis in each member's config")
			o, _, oerr := memberOptions(c, true)
			require.NoError(t, oerr)
			o.DB = pgtest.ForTest(t)
			o.ChainLogger = log.NewNopLogger()
			o.Observer = k == 4
			var m *member.Member
			if m, err = member.Start(ctx, c, o); err != nil {
				err = fmt.Errorf("member %d: %w", k, err)
				break
			}
			started = append(started, m)
			tokens := map[string]string{}
			for tok, p := range o.Tokens {
				tokens[p] = tok
				held[p] = k
			}
			if len(c.API.Participants) > 0 {
				drivers[k] = &apiclient.Driver{Client: apiclient.New(m.URL, ""), Tokens: tokens, Reader: c.API.Participants[0]}
			}
			apps[k], nodes[k], members[k] = m.App, m.Node, m
		}
		if err == nil {
			for _, m := range started {
				t.Cleanup(func() { assert.NoError(t, m.Stop()) })
			}
			break
		}
		for _, m := range started {
			assert.NoError(t, m.Stop())
		}
		inUse := errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use") // CometBFT does not always wrap
		require.True(t, inUse && attempt < 3, "%v", err)
		t.Logf("attempt %d: %v; making the consortium again", attempt, err)
		clear(held)
	}
	wh, tr, bk := held[ledger.Operator], held[ledger.TraderA], held[ledger.BankA]
	require.Equal(t, held[ledger.Operator], held[ledger.Inspector], "the warehouse's people share a member")
	require.NotEqual(t, wh, tr)
	require.NotEqual(t, tr, bk)
	testkit.PollTrue(t, time.Minute, "every member's node has the genesis block", func() bool {
		for _, a := range apps {
			if a.Height() < 1 {
				return false
			}
		}
		return true
	})

	// The warehouse's member: a lot from a signed in-ticket, and a receipt.
	w := ledger.NewWorld(ledger.DemoSeed, 0)
	now := time.Now().Unix()
	require.NoError(t, drivers[wh].Submit(ctx, []string{ledger.Operator, ledger.Inspector}, &warehouse.RegisterStock{
		Lot: "LOT-M", Warehouse: ledger.Warehouse1, Bay: ledger.DemoBays[0], Commodity: "copper cathode", Grade: "LME Grade A",
		Unit: "kg", Tolerance: 100, Tickets: []warehouse.SignedTicket{w.Ticket(ledger.Weighbridge1, "TIN-M-1", warehouse.In, 40_000, 15_000, "", now)}}))
	require.NoError(t, drivers[wh].Submit(ctx, []string{ledger.Operator}, &warehouse.IssueReceipt{
		ID: "WR-M", Lot: "LOT-M", Depositor: ledger.TraderA, Negotiable: true, Quantity: 25_000, Description: "copper cathode",
		PlaceOfIssue: "Qingdao", StorageUntil: now + 400*86400, ValidUntil: now + 300*86400, StorageAgreementDate: now - 86400,
		StorageTermsRef: "ST-1", ThirdPartyClaims: "none known", Fees: receipt.FeeTerms{Currency: "CNY"}}))

	// The trader's member sees it and pledges it to the bank.
	var r *receipt.Receipt
	testkit.Poll(t, 30*time.Second, "the trader's member has the receipt", func() (err error) {
		r, err = drivers[tr].Receipt(ctx, "WR-M")
		return err
	})
	assert.Equal(t, ledger.TraderA, r.Holder)
	require.NoError(t, drivers[tr].Submit(ctx, []string{ledger.TraderA}, &receipt.RequestPledge{Pledge: "PL-M", Receipt: "WR-M", Version: r.Version,
		Bank: ledger.BankA, Maturity: now + 90*86400}))
	// Its API acts for its own participants only.
	assert.Error(t, drivers[tr].Submit(ctx, []string{ledger.BankA}, &receipt.ConfirmPledge{Pledge: "PL-M", ReceiptVersion: r.Version + 1}))

	// The bank's member confirms and verifies the proof against the genesis.
	testkit.Poll(t, 30*time.Second, "the bank's member has the pledge request", func() (err error) {
		r, err = drivers[bk].Receipt(ctx, "WR-M")
		if err == nil && r.State != receipt.StatePledgePending {
			err = fmt.Errorf("receipt %s", r.State)
		}
		return err
	})
	require.NoError(t, drivers[bk].Submit(ctx, []string{ledger.BankA}, &receipt.ConfirmPledge{Pledge: "PL-M", ReceiptVersion: r.Version}))
	var bundle chainengine.ProofBundle
	require.NoError(t, drivers[bk].Client.As(drivers[bk].Tokens[ledger.BankA]).Get(ctx, "/v1/receipts/WR-M/proof", &bundle))
	trusted, chainID, err := chainengine.TrustedValidators(filepath.Join(out, "node0", "config", "genesis.json"))
	require.NoError(t, err)
	dec, err := bundle.Verify(trusted, chainID)
	require.NoError(t, err)
	var proven receipt.Receipt
	require.NoError(t, receipt.DecodeRecord(dec.Value, &proven))
	assert.Equal(t, receipt.StatePledged, proven.State)
	assert.Equal(t, "PL-M", proven.Pledge)

	// Every member's chain agrees.
	top := apps[bk].Height()
	testkit.PollTrue(t, 30*time.Second, "every member at the bank's height", func() bool {
		for _, a := range apps {
			if a.Height() < top {
				return false
			}
		}
		return true
	})
	b0, _, err := apps[0].Block(top)
	require.NoError(t, err)
	for k := 1; k < 5; k++ {
		bk, _, err := apps[k].Block(top)
		require.NoError(t, err)
		assert.Equal(t, b0.AppHash, bk.AppHash, "member %d at height %d", k, top)
	}
	// The validators sign; the observer follows without signing.
	signers := map[int]bool{}
	for h := int64(1); h < top; h++ {
		for k, n := range nodes {
			if s, ok := n.SignedCommit(h); ok && s {
				signers[k] = true
			}
		}
	}
	assert.False(t, signers[4], "the observer signed a commit")
	assert.GreaterOrEqual(t, len(signers), 3, "the validators that signed: %v", signers)

	// The bay's load cell, on the warehouse's member's NATS, weighs 5 t
	// gone from LOT-M's bay: that member's supervisor proves the breach on
	// chain, and the bank's member sees the lot in alarm.
	lc := ledger.Warehouse1 + "-LC-01"
	sg := device.NewSigner(lc, ledger.Warehouse1, ledger.DemoBays[0], ledger.DemoKey(ledger.DemoSeed, "device/"+lc), 1)
	for range 4 {
		sr, err := sg.Sign(iot.Reading{Weight: &iot.BayWeight{Qty: ledger.DemoBayTareKg + 20_000, Unit: "kg", Stable: true}}, time.Now())
		require.NoError(t, err)
		msg, err := sg.Message(&sr)
		require.NoError(t, err)
		_, _, err = bus.Publish(ctx, members[wh].JetStream, msg.Subject, msg.MsgID, msg.Data)
		require.NoError(t, err)
		time.Sleep(200 * time.Millisecond)
	}
	testkit.PollTrue(t, time.Minute, "the bank's member has LOT-M in alarm", func() bool {
		st, _ := apps[bk].State()
		l, ok := ledger.Get[warehouse.Lot](st, warehouse.LotKey("LOT-M"))
		return ok && l.Health == warehouse.HealthAlarm
	})
}
