package chainengine

import (
	"context"
	"encoding/hex"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const appChain = "ewr-app-test"

// newTestBaseline opens a baseline app in dir and runs InitChain if fresh.
func newTestBaseline(t *testing.T, dir string) *BaselineApp {
	t.Helper()
	a, err := NewBaselineApp(dir, nil)
	require.NoError(t, err)
	info, err := a.Info(context.Background(), &abci.InfoRequest{})
	require.NoError(t, err)
	if info.LastBlockHeight == 0 {
		_, err = a.InitChain(context.Background(), &abci.InitChainRequest{ChainId: appChain, AppStateBytes: []byte("{}"), InitialHeight: 1})
		require.NoError(t, err)
	}
	return a
}

// block finalizes and commits txs as the next block; it returns the results
// and the committed block the hook saw.
func block(t *testing.T, a *BaselineApp, txs ...[]byte) (*abci.FinalizeBlockResponse, CommittedBlock) {
	t.Helper()
	ctx := context.Background()
	info, err := a.Info(ctx, &abci.InfoRequest{})
	require.NoError(t, err)
	var got CommittedBlock
	a.SetCommitHook(func(b CommittedBlock) { got = b })
	res, err := a.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: info.LastBlockHeight + 1, Time: time.Unix(1e9, 0), Txs: txs})
	require.NoError(t, err)
	_, err = a.Commit(ctx, &abci.CommitRequest{})
	require.NoError(t, err)
	require.Equal(t, info.LastBlockHeight+1, got.Height)
	return res, got
}

func checkTx(t *testing.T, a *BaselineApp, raw []byte, typ abci.CheckTxType) *abci.CheckTxResponse {
	t.Helper()
	res, err := a.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: raw, Type: typ})
	require.NoError(t, err)
	return res
}

func TestBaselineCheckTx(t *testing.T) {
	a := newTestBaseline(t, t.TempDir())
	defer a.Close()
	good := testTx(appChain, 1, 100)
	committed := testTx(appChain, 2, 100)
	block(t, a, committed)

	cases := []struct {
		name string
		raw  []byte
		code uint32
	}{
		{"good", good, abci.CodeTypeOK},
		{"malformed", []byte{1, 2, 3}, CodeTxMalformed},
		{"other chain", testTx("other", 1, 100), CodeTxChainID},
		{"expired", testTx(appChain, 1, 1), CodeTxExpired},
		{"too far ahead", testTx(appChain, 1, 2+MaxTxTTLHeights+1), CodeTxExpiryRange},
		{"forged signature", forge(t, testTx(appChain, 1, 100)), CodeTxBadSig},
		{"replay", committed, CodeTxReplay},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := checkTx(t, a, c.raw, abci.CHECK_TX_TYPE_CHECK)
			assert.Equal(t, c.code, res.Code, res.Log)
			if c.code != abci.CodeTypeOK {
				assert.Equal(t, CodespaceTx, res.Codespace)
			}
		})
	}
}

// A recheck does not verify signatures again: the tx was verified when it
// entered the mempool. (A forged tx can only be rechecked if CheckTx let it
// in, which it does not; here it shows no verification happens.)
func TestBaselineRecheckIsCheap(t *testing.T) {
	a := newTestBaseline(t, t.TempDir())
	defer a.Close()
	forged := forge(t, testTx(appChain, 1, 100))
	assert.Equal(t, CodeTxBadSig, checkTx(t, a, forged, abci.CHECK_TX_TYPE_CHECK).Code)
	assert.Equal(t, abci.CodeTypeOK, checkTx(t, a, forged, abci.CHECK_TX_TYPE_RECHECK).Code)

	// What a block can change is still rechecked: replay and expiry.
	tx := testTx(appChain, 1, 3)
	block(t, a, tx)
	assert.Equal(t, CodeTxReplay, checkTx(t, a, tx, abci.CHECK_TX_TYPE_RECHECK).Code)
	block(t, a)
	block(t, a)
	assert.Equal(t, CodeTxExpired, checkTx(t, a, testTx(appChain, 1, 3), abci.CHECK_TX_TYPE_RECHECK).Code)
}

func TestBaselineProcessProposal(t *testing.T) {
	a := newTestBaseline(t, t.TempDir())
	defer a.Close()
	ctx := context.Background()
	verified := testTx(appChain, 1, 100)
	require.Zero(t, checkTx(t, a, verified, abci.CHECK_TX_TYPE_CHECK).Code)
	unseen := testTx(appChain, 2, 100) // not through this node's CheckTx

	process := func(txs ...[]byte) abci.ProcessProposalStatus {
		res, err := a.ProcessProposal(ctx, &abci.ProcessProposalRequest{Height: 1, Txs: txs})
		require.NoError(t, err)
		return res.Status
	}
	assert.Equal(t, abci.PROCESS_PROPOSAL_STATUS_ACCEPT, process())
	assert.Equal(t, abci.PROCESS_PROPOSAL_STATUS_ACCEPT, process(verified, unseen))
	// A byzantine proposer pairs a body this node verified with a forged
	// signature: the cache is keyed by raw bytes, so it is verified and
	// the proposal rejected.
	assert.Equal(t, abci.PROCESS_PROPOSAL_STATUS_REJECT, process(verified, forge(t, verified)))
	assert.Equal(t, abci.PROCESS_PROPOSAL_STATUS_REJECT, process(unseen, []byte("garbage")))
	// Expiry and replay are results in the block, not grounds to reject it.
	assert.Equal(t, abci.PROCESS_PROPOSAL_STATUS_ACCEPT, process(testTx(appChain, 1, 0)))
}

func TestBaselineBlocksAndAppHash(t *testing.T) {
	dir := t.TempDir()
	a := newTestBaseline(t, dir)
	ctx := context.Background()

	tx1, tx2 := testTx(appChain, 1, 100), testTx(appChain, 2, 100)
	res, got := block(t, a, tx1, tx2, tx1, forge(t, testTx(appChain, 3, 100)), testTx(appChain, 3, 0))
	require.Len(t, res.TxResults, 5)
	codes := []uint32{0, 0, CodeTxReplay, CodeTxBadSig, CodeTxExpired}
	for i, r := range res.TxResults {
		assert.Equal(t, codes[i], r.Code, "tx %d: %s", i, r.Log)
		assert.Equal(t, codes[i], got.Txs[i].Code, "hook tx %d", i)
		assert.Equal(t, i, got.Txs[i].Index)
	}
	hash1 := res.AppHash
	require.Len(t, hash1, 32)

	// An empty block, and one whose txs all fail, leave the app hash alone.
	res, _ = block(t, a)
	assert.Equal(t, hash1, res.AppHash)
	res, _ = block(t, a, tx1, []byte("garbage"))
	assert.Equal(t, hash1, res.AppHash)
	res, _ = block(t, a, testTx(appChain, 4, 100))
	assert.NotEqual(t, hash1, res.AppHash)
	hash4 := res.AppHash

	// Query and the finder agree on where tx2 committed.
	tx, err := DecodeTx(tx2)
	require.NoError(t, err)
	q, err := a.Query(ctx, &abci.QueryRequest{Path: "/tx/" + hex.EncodeToString(tx.Hash[:])})
	require.NoError(t, err)
	require.Zero(t, q.Code, q.Log)
	rec, err := DecodeTxRecord(q.Value)
	require.NoError(t, err)
	assert.Equal(t, TxRecord{Height: 1, Index: 1}, rec)
	out, height, found, err := a.CommittedTx(tx.Hash)
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, int64(1), height)
	assert.Equal(t, TxOutcome{Hash: tx.Hash, Index: 1}, out)
	for path, code := range map[string]uint32{"/tx/" + hex.EncodeToString(make([]byte, 32)): CodeQueryNotFound, "/tx/zz": CodeQueryBadPath, "/nope": CodeQueryBadPath} {
		q, err := a.Query(ctx, &abci.QueryRequest{Path: path})
		require.NoError(t, err)
		assert.Equal(t, code, q.Code, path)
	}

	// A block finalized but never committed (the node died) is not there
	// after reopening: Info reports the last commit, for CometBFT to replay.
	_, err = a.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: 5, Txs: [][]byte{testTx(appChain, 5, 100)}})
	require.NoError(t, err)
	require.NoError(t, a.Close())
	a = newTestBaseline(t, dir)
	defer a.Close()
	info, err := a.Info(ctx, &abci.InfoRequest{})
	require.NoError(t, err)
	assert.Equal(t, int64(4), info.LastBlockHeight)
	assert.Equal(t, hash4, info.LastBlockAppHash)
	assert.Equal(t, CodeTxReplay, checkTx(t, a, tx1, abci.CHECK_TX_TYPE_CHECK).Code, "chain id and state survive reopening")
}

func TestBaselineRefusesForeignGenesis(t *testing.T) {
	a, err := NewBaselineApp(t.TempDir(), nil)
	require.NoError(t, err)
	defer a.Close()
	_, err = a.InitChain(context.Background(), &abci.InitChainRequest{ChainId: appChain, AppStateBytes: []byte(`{"participants":[]}`)})
	assert.Error(t, err)
}

// BenchmarkBaselineCheckTx is CheckTx of a tx whose signature Submit
// already verified (the in-process submit path).
func BenchmarkBaselineCheckTx(b *testing.B) {
	a, err := NewBaselineApp(b.TempDir(), nil)
	require.NoError(b, err)
	defer a.Close()
	_, err = a.InitChain(context.Background(), &abci.InitChainRequest{ChainId: appChain})
	require.NoError(b, err)
	txs := make([][]byte, 1000)
	for i := range txs {
		txs[i] = testTx(appChain, byte(i%7+1), 100)
		tx, _ := DecodeTx(txs[i])
		require.NoError(b, a.SigCache().Verify(tx))
	}
	i := 0
	for b.Loop() {
		res, _ := a.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: txs[i%len(txs)]})
		if res.Code != 0 {
			b.Fatal(res.Log)
		}
		i++
	}
}

// BenchmarkBaselineBlock is FinalizeBlock and Commit of 1000 txs whose
// signatures are cached, per block.
func BenchmarkBaselineBlock(b *testing.B) {
	a, err := NewBaselineApp(b.TempDir(), nil)
	require.NoError(b, err)
	defer a.Close()
	ctx := context.Background()
	_, err = a.InitChain(ctx, &abci.InitChainRequest{ChainId: appChain})
	require.NoError(b, err)
	height := int64(0)
	for b.Loop() {
		b.StopTimer()
		txs := make([][]byte, 1000)
		for i := range txs {
			txs[i] = testTx(appChain, byte(i%7+1), 100_000)
		}
		a.SigCache().CheckBlockTxs(txs)
		height++
		b.StartTimer()
		if _, err := a.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: height, Txs: txs}); err != nil {
			b.Fatal(err)
		}
		if _, err := a.Commit(ctx, &abci.CommitRequest{}); err != nil {
			b.Fatal(err)
		}
	}
}
