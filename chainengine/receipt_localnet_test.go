package chainengine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/simulators"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func receiptFactory(logger log.Logger) chainengine.AppFactory {
	return func(home string, _ int) (chainengine.App, error) {
		return chainengine.NewReceiptApp(chainengine.ReceiptAppDir(home), logger)
	}
}

// startReceiptLocalnet runs n validators of the receipt app with the demo
// world's consortium in genesis.
func startReceiptLocalnet(t *testing.T, ctx context.Context, n int) (*chainengine.Localnet, *ledger.World) {
	t.Helper()
	w := ledger.NewWorld("localnet-test", time.Now().Unix()+365*86400)
	appState, err := json.Marshal(&w.Genesis)
	require.NoError(t, err)
	logger := log.NewNopLogger()
	ln, err := chainengine.StartLocalnet(ctx, t.TempDir(), n, receiptFactory(logger), chainengine.LocalnetOptions{AppState: appState, Logger: logger})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, ln.Stop()) })
	return ln, w
}

// agreeUpToTop waits for every node to reach node 0's height, checks that
// every node has the same block record (and so app hash) at every height
// up to it, calls each with node 0's record, and returns the height.
func agreeUpToTop(t *testing.T, ln *chainengine.Localnet, each func(h int64, b0 *ledger.BlockRecord)) int64 {
	t.Helper()
	n := len(ln.Nodes())
	top := receiptApp(ln, 0).Height()
	testkit.PollTrue(t, 30*time.Second, "every node at the top", func() bool {
		for i := range n {
			if receiptApp(ln, i).Height() < top {
				return false
			}
		}
		return true
	})
	for h := int64(0); h <= top; h++ {
		b0, ok, err := receiptApp(ln, 0).Block(h)
		require.NoError(t, err)
		require.True(t, ok, "block record %d", h)
		for i := 1; i < n; i++ {
			bi, ok, err := receiptApp(ln, i).Block(h)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, b0.AppHash, bi.AppHash, "node %d disagrees on the app hash at height %d", i, h)
			require.Equal(t, ledger.EncodeBlockRecord(b0), ledger.EncodeBlockRecord(bi), "node %d block record %d", i, h)
		}
		if each != nil {
			each(h, b0)
		}
	}
	return top
}

func receiptApp(ln *chainengine.Localnet, i int) *chainengine.ReceiptApp {
	return ln.Node(i).App().(*chainengine.ReceiptApp)
}

// TestReceiptLocalnetCommitsEveryOp drives the lifecycle and the tour (every
// op of the domain core between them) through a 4-validator network and
// checks that all nodes agree on the app hash at every height, that every
// op type was applied, and that the invariants hold on every node.
func TestReceiptLocalnetCommitsEveryOp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ln, w := startReceiptLocalnet(t, ctx, 4)

	var out bytes.Buffer
	for i, tag := range []string{"n0", "n1"} {
		d := simulators.NewChainDriver(ln.Node(i), w) // submit through two different members
		lc := &simulators.Lifecycle{Driver: d, World: w, Out: &out, Tag: tag, Bay: ledger.DemoBays[2*i]}
		require.NoError(t, lc.Run(ctx), out.String())
		tour := &simulators.Tour{Driver: d, World: w, Out: &out, Tag: tag, Bay: ledger.DemoBays[2*i+1], ShortSec: 2}
		require.NoError(t, tour.Run(ctx), out.String())
	}

	applied := map[string]int{}
	top := agreeUpToTop(t, ln, func(_ int64, b0 *ledger.BlockRecord) {
		for _, tx := range b0.Txs {
			if tx.Code == 0 {
				applied[tx.OpType]++
			}
		}
	})
	for _, op := range append(receipt.Ops(), warehouse.Ops()...) {
		if _, vals := op.(*receipt.SetValidator); vals {
			continue // TestReceiptLocalnetValidatorSetChanges
		}
		assert.Positive(t, applied[op.Type()], "op %s was never applied on chain", op.Type())
	}
	for i := range 4 {
		st, _ := receiptApp(ln, i).State()
		require.NoError(t, ledger.CheckInvariants(st.(ledger.Ranger)), "node %d", i)
	}
	t.Logf("%d blocks, %d op types applied", top, len(applied))
}

// TestReceiptLocalnetProofBundles proves a receipt and an absent key from a
// node, verifies the bundles offline against the genesis validators, and
// checks that changing any part of a bundle makes it fail.
func TestReceiptLocalnetProofBundles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ln, w := startReceiptLocalnet(t, ctx, 4)
	d := simulators.NewChainDriver(ln.Node(1), w)
	require.NoError(t, (&simulators.Lifecycle{Driver: d, World: w, Out: io.Discard, Tag: "p", Bay: ledger.DemoBays[0]}).Run(ctx))
	r, err := d.Receipt(ctx, "WR-B-p")
	require.NoError(t, err)

	prover, err := chainengine.NewProver(ln.Node(2))
	require.NoError(t, err)
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	defer pcancel()
	bundle, err := prover.Bundle(pctx, receipt.ReceiptKey(r.ID), r.UpdatedHeight)
	require.NoError(t, err)
	trusted, chainID, err := chainengine.TrustedValidators(filepath.Join(ln.Home(), "node0", "config", "genesis.json"))
	require.NoError(t, err)
	require.Equal(t, chainID, bundle.ChainID)

	dec, err := bundle.Verify(trusted, chainID)
	require.NoError(t, err)
	_, err = bundle.Verify(trusted, "another-chain")
	assert.ErrorIs(t, err, chainengine.ErrBundleHeader, "the same keys on another chain are not trusted")
	assert.Equal(t, receipt.ReceiptKey(r.ID), dec.Key)
	assert.Greater(t, 3*dec.Signed, 2*dec.Total, "more than 2/3 of the power signed")
	var got receipt.Receipt
	require.NoError(t, receipt.DecodeRecord(dec.Value, &got))
	assert.Equal(t, r.Holder, got.Holder)
	assert.Equal(t, r.Quantity, got.Quantity)

	// Through JSON, as a bank receives it.
	raw, err := json.Marshal(bundle)
	require.NoError(t, err)
	var back chainengine.ProofBundle
	require.NoError(t, json.Unmarshal(raw, &back))
	_, err = back.Verify(trusted, chainID)
	require.NoError(t, err)

	// Absence: a receipt that does not exist is provably absent. (One more
	// block first, so this bundle is under a later header.)
	require.NoError(t, d.Submit(ctx, []string{ledger.TraderB}, &receipt.RequestPledge{Pledge: "PL-late", Receipt: r.ID, Version: r.Version, Bank: ledger.BankA, Maturity: time.Now().Unix() + 86400}))
	absent, err := prover.Bundle(pctx, receipt.ReceiptKey("WR-NEVER-ISSUED"), bundle.StateHeight+1)
	require.NoError(t, err)
	dec, err = absent.Verify(trusted, chainID)
	require.NoError(t, err)
	assert.Nil(t, dec.Value)
	// ...and an absence proof cannot be passed off as that of a present key.
	fake := *absent
	fake.Key = receipt.ReceiptKey(r.ID)
	_, err = fake.Verify(trusted, chainID)
	assert.Error(t, err)

	// tamper changes a copy of the bundle (raw) and requires Verify to
	// refuse it, with want if not nil.
	tamper := func(t *testing.T, raw []byte) func(name string, f func(b *chainengine.ProofBundle), want error) {
		return func(name string, f func(b *chainengine.ProofBundle), want error) {
			t.Helper()
			var b chainengine.ProofBundle
			require.NoError(t, json.Unmarshal(raw, &b))
			f(&b)
			_, err := b.Verify(trusted, chainID)
			require.Error(t, err, name)
			if want != nil {
				assert.True(t, errors.Is(err, want), "%s: got %v, want %v", name, err, want)
			}
		}
	}
	t.Run("tampering with any part fails", func(t *testing.T) {
		mutate := tamper(t, raw)
		mutate("value", func(b *chainengine.ProofBundle) { b.Value[len(b.Value)/2] ^= 1 }, nil)
		mutate("record", func(b *chainengine.ProofBundle) {
			b.Record = json.RawMessage(strings.Replace(string(b.Record), `"Holder":"`+r.Holder, `"Holder":"`+ledger.BankB, 1))
		}, chainengine.ErrBundleRecord)
		mutate("key", func(b *chainengine.ProofBundle) { b.Key = receipt.ReceiptKey("WR-A-p") }, nil)
		mutate("state height", func(b *chainengine.ProofBundle) { b.StateHeight++ }, chainengine.ErrBundleHeader)
		mutate("chain id", func(b *chainengine.ProofBundle) { b.ChainID = "other-chain" }, chainengine.ErrBundleHeader)
		mutate("version", func(b *chainengine.ProofBundle) { b.Version = 2 }, chainengine.ErrBundleMalformed)
		mutate("a duplicate key in the record", func(b *chainengine.ProofBundle) {
			b.Record = json.RawMessage(strings.Replace(string(b.Record), `{`, `{"Holder":"`+ledger.BankB+`",`, 1))
		}, chainengine.ErrBundleRecord)
		mutate("a quantity rounded", func(b *chainengine.ProofBundle) {
			b.Record = json.RawMessage(strings.Replace(string(b.Record), fmt.Sprintf(`"Quantity":%d`, r.Quantity), fmt.Sprintf(`"Quantity":%d.0`, r.Quantity), 1))
		}, chainengine.ErrBundleRecord)
		flipEveryByte(bundle, mutate)
		mutate("commit from another height", func(b *chainengine.ProofBundle) { b.Commit = absent.Commit; b.Header = absent.Header }, nil)
	})

	t.Run("a position bundle proves every record a bank relies on at one height", func(t *testing.T) {
		pr, err := d.Receipt(ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, "PL-late", pr.Pledge)
		pos, err := prover.BundleOf(pctx, func(get func(string) ([]byte, bool)) []string { return ledger.PositionKeys(get, r.ID) }, pr.UpdatedHeight)
		require.NoError(t, err)
		raw, err := json.Marshal(pos)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(raw), 16<<10, "a position bundle is at most 16 KiB")
		dec, err := pos.Verify(trusted, chainID)
		require.NoError(t, err)
		got := map[string]bool{}
		for _, rec := range dec.Records {
			got[rec.Key] = rec.Value != nil
		}
		// No supervisor watches this lot: its watch is proven absent.
		assert.Equal(t, map[string]bool{warehouse.LotKey(pr.Lot): true, iot.WatchKey(pr.Lot): false, receipt.PledgeKey("PL-late"): true,
			receipt.ParticipantKey(ledger.BankA): true}, got)

		refused := tamper(t, raw)
		mutate := func(name string, f func(b *chainengine.ProofBundle)) { t.Helper(); refused(name, f, nil) }
		for i, rec := range pos.Records {
			if rec.Value == nil {
				mutate("an absent record given a value", func(b *chainengine.ProofBundle) { b.Records[i].Value = pos.Value })
				mutate("an absent record's proof", func(b *chainengine.ProofBundle) { b.Records[i].Proof[len(b.Records[i].Proof)/2] ^= 1 })
				continue
			}
			mutate("a record's value", func(b *chainengine.ProofBundle) { b.Records[i].Value[len(b.Records[i].Value)/2] ^= 1 })
			mutate("a record's proof", func(b *chainengine.ProofBundle) { b.Records[i].Proof[len(b.Records[i].Proof)/2] ^= 1 })
			mutate("a record's key", func(b *chainengine.ProofBundle) { b.Records[i].Key += "x" })
			mutate("a record passed off as absent", func(b *chainengine.ProofBundle) { b.Records[i].Value, b.Records[i].Record = nil, nil })
			mutate("a record's readable form", func(b *chainengine.ProofBundle) {
				b.Records[i].Record = json.RawMessage(strings.Replace(string(b.Records[i].Record), `"`, `"X`, 2))
			})
		}
		mutate("a record twice", func(b *chainengine.ProofBundle) { b.Records = append(b.Records, b.Records[0]) })
		flipEveryByte(pos, refused)
		mutate("its state height", func(b *chainengine.ProofBundle) { b.StateHeight-- })
		// A record proven at another height cannot be mixed in: its proof is
		// against another root.
		mutate("a record of another state", func(b *chainengine.ProofBundle) {
			b.Records[0].Proof = bundle.Proof
			b.Records[0].Key, b.Records[0].Value, b.Records[0].Record = bundle.Key, bundle.Value, bundle.Record
		})
	})

	t.Run("another consortium's validators are not trusted", func(t *testing.T) {
		other, _ := startReceiptLocalnet(t, ctx, 1)
		otherVals, _, err := chainengine.TrustedValidators(filepath.Join(other.Home(), "node0", "config", "genesis.json"))
		require.NoError(t, err)
		_, err = bundle.Verify(otherVals, other.ChainID())
		assert.ErrorIs(t, err, chainengine.ErrBundleValidators)
	})
}

// flipEveryByte flips each byte of a bundle's proof, header, commit and
// validator set in turn: every one must be refused.
func flipEveryByte(bundle *chainengine.ProofBundle, mutate func(name string, f func(b *chainengine.ProofBundle), want error)) {
	for _, part := range []struct {
		name string
		get  func(b *chainengine.ProofBundle) []byte
	}{
		{"proof", func(b *chainengine.ProofBundle) []byte { return b.Proof }},
		{"header", func(b *chainengine.ProofBundle) []byte { return b.Header }},
		{"commit", func(b *chainengine.ProofBundle) []byte { return b.Commit }},
		{"validators", func(b *chainengine.ProofBundle) []byte { return b.Validators }},
	} {
		n := len(part.get(bundle))
		for i := 0; i < n; i++ {
			mutate(part.name, func(b *chainengine.ProofBundle) { part.get(b)[i] ^= 0x01 }, nil)
		}
	}
}
