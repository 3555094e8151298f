package chainengine

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/types"
	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testApp is a baseline app whose proposals a test can tamper with, to play
// a byzantine or buggy proposer.
type testApp struct {
	*BaselineApp
	inject   atomic.Pointer[injection]
	injected atomic.Int64 // proposals tampered with
}

type injection struct {
	txs     [][]byte
	replace bool // propose only txs, leaving the mempool's for later
}

func (a *testApp) PrepareProposal(ctx context.Context, req *abci.PrepareProposalRequest) (*abci.PrepareProposalResponse, error) {
	res, err := a.BaselineApp.PrepareProposal(ctx, req)
	if err != nil {
		return nil, err
	}
	if inj := a.inject.Load(); inj != nil {
		if inj.replace {
			res.Txs = nil
		}
		res.Txs = append(res.Txs, inj.txs...)
		a.injected.Add(1)
	}
	return res, nil
}

func testAppOf(ln *Localnet, i int) *testApp { return ln.Node(i).App().(*testApp) }

// TestLocalnet runs one 4-validator network through several scenarios in
// order; each leaves the network healthy for the next.
func TestLocalnet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logger := testLogger(t)
	home := t.TempDir()
	factory := func(home string, i int) (App, error) {
		app, err := NewBaselineApp(BaselineAppDir(home), logger)
		if err != nil {
			return nil, err
		}
		return &testApp{BaselineApp: app}, nil
	}
	ln, err := StartLocalnet(ctx, home, 4, factory, LocalnetOptions{Logger: logger})
	require.NoError(t, err)
	defer func() { assert.NoError(t, ln.Stop()) }()
	chainID := ln.ChainID()

	// submitAll submits txs round-robin over the running nodes and requires
	// each to commit successfully. It returns the commit heights.
	submitAll := func(t *testing.T, txs [][]byte, nodes ...int) []int64 {
		t.Helper()
		heights := make([]int64, len(txs))
		var wg sync.WaitGroup
		for i, tx := range txs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, h, err := ln.Node(nodes[i%len(nodes)]).Submit(ctx, tx)
				if assert.NoError(t, err) && assert.True(t, out.OK(), "tx %d: %+v", i, out) {
					heights[i] = h
				}
			}()
		}
		wg.Wait()
		return heights
	}
	fresh := func(n int) [][]byte {
		txs := make([][]byte, n)
		for i := range txs {
			txs[i] = testTx(chainID, byte(i%7+1), 1000)
		}
		return txs
	}

	var committed [][]byte
	t.Run("commits and agrees", func(t *testing.T) {
		committed = fresh(40)
		heights := submitAll(t, committed, 0, 1, 2, 3)
		for _, h := range heights {
			assert.Positive(t, h)
		}
		// After the last tx block CometBFT makes one empty block to carry
		// its app hash. That block must not change the app hash, or
		// CometBFT would make empty blocks forever.
		nd := ln.Node(0)
		bs := nd.Comet().BlockStore()
		tip := waitIdle(t, ln)
		empty, _ := bs.LoadBlock(tip)
		require.Empty(t, empty.Txs)
		prev, _ := bs.LoadBlock(tip - 1)
		require.NotEmpty(t, prev.Txs, "block %d", tip-1)
		_, appHash, err := nd.AppInfo(ctx)
		require.NoError(t, err)
		assert.Equal(t, []byte(empty.AppHash), appHash, "app hash changed across empty block %d", tip)
		assert.Never(t, func() bool { return nd.Height() != tip }, time.Second, 50*time.Millisecond, "chain made blocks with no txs")
	})

	t.Run("replay is refused", func(t *testing.T) {
		require.NotEmpty(t, committed)
		raw := committed[0]
		tx, err := DecodeTx(raw)
		require.NoError(t, err)

		res, err := ln.Node(0).App().CheckTx(ctx, &abci.CheckTxRequest{Tx: raw, Type: abci.CHECK_TX_TYPE_CHECK})
		require.NoError(t, err)
		assert.Equal(t, CodeTxReplay, res.Code)
		assert.Equal(t, CodespaceTx, res.Codespace)

		// Resubmitting is idempotent: the original outcome comes back.
		out, h, err := ln.Node(1).Submit(ctx, raw)
		require.NoError(t, err)
		assert.True(t, out.OK(), "%+v", out)
		orig, _, found, err := ln.Node(1).App().(CommittedTxFinder).CommittedTx(tx.Hash)
		require.NoError(t, err)
		require.True(t, found)
		assert.Equal(t, orig, out)
		assert.Positive(t, h)

		// Forced into a block by every proposer, it fails and changes nothing.
		wt, err := ln.Node(2).waiter.Register(tx.Hash)
		require.NoError(t, err)
		for i := range 4 {
			testAppOf(ln, i).inject.Store(&injection{txs: [][]byte{raw}, replace: true})
		}
		trigger := fresh(1)[0] // proposals need a tx in the mempool
		done := make(chan struct{})
		go func() {
			defer close(done)
			submitAll(t, [][]byte{trigger}, 3)
		}()
		var replayed Committed
		select {
		case replayed = <-wt.C():
		case <-ctx.Done():
			t.Fatal("replayed tx never reached a block")
		}
		for i := range 4 {
			testAppOf(ln, i).inject.Store(nil)
		}
		<-done
		assert.Equal(t, CodeTxReplay, replayed.Outcome.Code, "%+v", replayed.Outcome)
		requireAgreement(t, ln)
		bs := ln.Node(0).Comet().BlockStore()
		blk, _ := bs.LoadBlock(replayed.Height)
		require.Equal(t, types.Txs{raw}, blk.Txs)
		next := bs.LoadBlockMeta(replayed.Height + 1)
		require.NotNil(t, next)
		assert.Equal(t, blk.AppHash, next.Header.AppHash, "a failed replay changed the app hash")
	})

	t.Run("byzantine proposer's forged tx never commits", func(t *testing.T) {
		forged := forge(t, fresh(1)[0])
		byz := testAppOf(ln, 0)
		byz.injected.Store(0)
		byz.inject.Store(&injection{txs: [][]byte{forged}})
		defer byz.inject.Store(nil)
		// Commit txs one height at a time until node 0 has proposed twice.
		for round := 0; byz.injected.Load() < 2; round++ {
			require.Less(t, round, 40, "node 0 never proposed")
			submitAll(t, fresh(3), 1, 2, 3)
		}
		byz.inject.Store(nil)
		tip := requireAgreement(t, ln)
		for i, nd := range ln.Nodes() {
			for h := int64(1); h <= tip; h++ {
				blk, _ := nd.Comet().BlockStore().LoadBlock(h)
				for _, tx := range blk.Txs {
					require.False(t, bytes.Equal(tx, forged), "node %d height %d holds the forged tx", i, h)
				}
			}
		}
	})

	t.Run("one validator down", func(t *testing.T) {
		require.NoError(t, ln.StopNode(3))
		before := ln.Node(0).Height()
		heights := submitAll(t, fresh(30), 0, 1, 2)
		for _, h := range heights {
			assert.Greater(t, h, before)
		}
		start := time.Now()
		require.NoError(t, ln.StartNode(ctx, 3))
		requireAgreement(t, ln)
		t.Logf("node 3 caught up in %v", time.Since(start).Round(time.Millisecond))
		submitAll(t, fresh(8), 0, 1, 2, 3)
		requireAgreement(t, ln)
	})

	t.Run("restart resumes the chain", func(t *testing.T) {
		tip := waitIdle(t, ln)
		_, appHash, err := ln.Node(0).AppInfo(ctx)
		require.NoError(t, err)
		require.NoError(t, ln.Stop())
		ln, err = StartLocalnet(ctx, home, 4, factory, LocalnetOptions{Logger: logger})
		require.NoError(t, err)
		assert.Equal(t, tip, requireAgreement(t, ln))
		_, again, err := ln.Node(3).AppInfo(ctx)
		require.NoError(t, err)
		assert.Equal(t, appHash, again)
		tx, err := DecodeTx(committed[0])
		require.NoError(t, err)
		_, _, found, err := ln.Node(3).App().(CommittedTxFinder).CommittedTx(tx.Hash)
		require.NoError(t, err)
		assert.True(t, found)
		submitAll(t, fresh(4), 0, 1, 2, 3)
	})
}

// waitIdle waits until the chain has stopped making blocks: its tip is the
// empty block that carries the last tx block's app hash. It returns the tip
// once all nodes agree on it.
func waitIdle(t *testing.T, ln *Localnet) int64 {
	t.Helper()
	bs := ln.Node(0).Comet().BlockStore()
	testkit.Poll(t, 10*time.Second, "", func() error {
		if blk, _ := bs.LoadBlock(bs.Height()); blk == nil || len(blk.Txs) > 0 {
			return fmt.Errorf("tip %d has txs", bs.Height())
		}
		return nil
	})
	return requireAgreement(t, ln)
}

// requireAgreement waits until every running node has the same last block
// and app state, then checks that they hold the same block hash and app hash
// at every height. It returns the tip height.
func requireAgreement(t *testing.T, ln *Localnet) int64 {
	t.Helper()
	ctx := context.Background()
	nodes := ln.Nodes()
	var tip int64
	testkit.Poll(t, 20*time.Second, "", func() error {
		tip = nodes[0].Height()
		_, hash0, err := nodes[0].AppInfo(ctx)
		if err != nil {
			return err
		}
		for i, nd := range nodes {
			h, hash, err := nd.AppInfo(ctx)
			if err != nil {
				return err
			}
			if nd.Height() != tip || h != tip || !bytes.Equal(hash, hash0) {
				return fmt.Errorf("node %d at block %d app %d %X; node 0 at %d %X", i, nd.Height(), h, hash, tip, hash0)
			}
		}
		return nil
	})
	for h := int64(1); h <= tip; h++ {
		m0 := nodes[0].Comet().BlockStore().LoadBlockMeta(h)
		require.NotNil(t, m0, "height %d", h)
		for i, nd := range nodes[1:] {
			m := nd.Comet().BlockStore().LoadBlockMeta(h)
			require.NotNil(t, m, "node %d height %d", i+1, h)
			require.Equal(t, m0.BlockID, m.BlockID, "node %d height %d", i+1, h)
			require.Equal(t, m0.Header.AppHash, m.Header.AppHash, "node %d height %d", i+1, h)
		}
	}
	return tip
}
