package chainengine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/simulators"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReceiptLocalnetValidatorSetChanges: the admins' quorum removes two of
// four validators through the chain; CometBFT takes the change; the two
// removed nodes then stop, and the remaining two (half the first set's
// power, which could not commit alone) go on committing.
func TestReceiptLocalnetValidatorSetChanges(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ln, w := startReceiptLocalnet(t, ctx, 4)
	vals, _, err := chainengine.TrustedValidators(filepath.Join(ln.Home(), "node0", "config", "genesis.json"))
	require.NoError(t, err)
	keyOf := func(i int) receipt.PubKey {
		pk, err := ln.Node(i).ValidatorKey()
		require.NoError(t, err)
		return pk
	}
	d := simulators.NewChainDriver(ln.Node(0), w)
	app := receiptApp(ln, 0)
	st, _ := app.State()
	vs := receipt.LoadValidators(&receipt.Exec{Store: st})
	require.Len(t, vs.Validators, vals.Size())
	for _, i := range []int{3, 2} {
		st, _ := app.State()
		vs := receipt.LoadValidators(&receipt.Exec{Store: st})
		require.NoError(t, d.Submit(ctx, []string{ledger.Admin1, ledger.Admin2}, &receipt.SetValidator{PubKey: keyOf(i), Power: 0, Version: vs.Version}))
	}
	st, _ = app.State()
	vs = receipt.LoadValidators(&receipt.Exec{Store: st})
	assert.Len(t, vs.Validators, 2)
	// CometBFT's own set follows two blocks later.
	testkit.Poll(t, 30*time.Second, "CometBFT's validator set down to two", func() error {
		// A refused op still makes a block: it moves the chain on.
		_ = d.Submit(ctx, []string{ledger.TraderA}, &receipt.CancelTransfer{Receipt: "WR-NONE"})
		if n := ln.Node(0).CommitSize(); n != 2 {
			return fmt.Errorf("the last block's commit has %d validators", n)
		}
		return nil
	})
	require.NoError(t, ln.StopNode(3))
	require.NoError(t, ln.StopNode(2))
	h := app.Height()
	_ = d.Submit(ctx, []string{ledger.TraderA}, &receipt.CancelTransfer{Receipt: "WR-NONE"})
	testkit.PollTrue(t, 30*time.Second, "the two remaining validators commit", func() bool { return app.Height() > h })

	// A proof made now, signed by the two, verifies with only the genesis
	// validators trusted: the bundle carries both hand-overs.
	prover, err := chainengine.NewProver(ln.Node(0))
	require.NoError(t, err)
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	defer pcancel()
	bundle, err := prover.Bundle(pctx, receipt.KeyValidators, h)
	require.NoError(t, err)
	require.Len(t, bundle.Changes, 2, "two hand-overs since genesis")
	dec, err := bundle.Verify(vals, ln.ChainID())
	require.NoError(t, err)
	var proven receipt.ValidatorSet
	require.NoError(t, receipt.DecodeRecord(dec.Value, &proven))
	assert.Len(t, proven.Validators, 2)
	raw, err := json.Marshal(bundle)
	require.NoError(t, err)
	tamper := func(name string, f func(b *chainengine.ProofBundle)) {
		var b chainengine.ProofBundle
		require.NoError(t, json.Unmarshal(raw, &b))
		f(&b)
		_, err := b.Verify(vals, ln.ChainID())
		assert.Error(t, err, name)
	}
	tamper("a hand-over left out", func(b *chainengine.ProofBundle) { b.Changes = b.Changes[1:] })
	tamper("no hand-overs", func(b *chainengine.ProofBundle) { b.Changes = nil })
	tamper("hand-overs swapped", func(b *chainengine.ProofBundle) { b.Changes[0], b.Changes[1] = b.Changes[1], b.Changes[0] })
	for i := range 2 {
		for _, part := range []string{"header", "commit", "validators"} {
			tamper(part, func(b *chainengine.ProofBundle) {
				c := &b.Changes[i]
				bs := map[string][]byte{"header": c.Header, "commit": c.Commit, "validators": c.Validators}[part]
				bs[len(bs)/2] ^= 1
			})
		}
	}
}

// TestReceiptLocalnetProvesAtOnceAfterARestart: a node restarted with no
// tx since answers a proof of the newest state a signed header covers at
// once, without waiting for a block.
func TestReceiptLocalnetProvesAtOnceAfterARestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ln, w := startReceiptLocalnet(t, ctx, 4)
	d := simulators.NewChainDriver(ln.Node(0), w)
	require.NoError(t, (&simulators.Lifecycle{Driver: d, World: w, Out: io.Discard, Tag: "rs", Bay: ledger.DemoBays[0]}).Run(ctx))
	// A block that changed the state is followed by one empty block that
	// carries its app hash; then the chain is quiet.
	top := receiptApp(ln, 0).Height() + 1
	testkit.PollTrue(t, 30*time.Second, "the app-hash block, on node 1", func() bool { return receiptApp(ln, 1).Height() >= top })
	require.NoError(t, ln.StopNode(1))
	require.NoError(t, ln.StartNode(ctx, 1))
	prover, err := chainengine.NewProver(ln.Node(1))
	require.NoError(t, err)
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	defer pcancel()
	bundle, err := prover.Bundle(pctx, receipt.ReceiptKey("WR-B-rs"), 0)
	require.NoError(t, err, "a proof at once after the restart")
	vals, _, err := chainengine.TrustedValidators(filepath.Join(ln.Home(), "node0", "config", "genesis.json"))
	require.NoError(t, err)
	_, err = bundle.Verify(vals, ln.ChainID())
	require.NoError(t, err)
	assert.Equal(t, top-1, bundle.StateHeight, "under the last header from before the restart")
}
