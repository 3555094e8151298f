package chainengine

import (
	"context"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/internal/machine"
	"github.com/stretchr/testify/require"
)

// BenchmarkFinalizeBlock measures one app's execution cost per tx, without
// consensus: CheckTx of every tx (as the mempool does), then blocks of
// blockTxs through FinalizeBlock and Commit. Signatures are verified in
// CheckTx and cached, as on a node. Compare the two apps' ns/op (per tx).
func BenchmarkFinalizeBlock(b *testing.B) {
	for _, app := range []string{"baseline", "receipt"} {
		b.Run(app, func(b *testing.B) { benchFinalize(b, app) })
	}
}

const blockTxs = 1000

func benchFinalize(b *testing.B, kind string) {
	ctx := context.Background()
	chainID := "ewr-bench"
	var (
		a   App
		wl  Workload
		err error
	)
	switch kind {
	case "baseline":
		a, err = NewBaselineApp(b.TempDir(), log.NewNopLogger())
		wl = NewBaselineWorkload(chainID)
	default:
		a, err = NewReceiptApp(b.TempDir(), log.NewNopLogger())
		wl = NewReceiptWorkload(chainID)
	}
	require.NoError(b, err)
	defer a.(interface{ Close() error }).Close()
	_, err = a.InitChain(ctx, &abci.InitChainRequest{ChainId: chainID, AppStateBytes: wl.AppState(), InitialHeight: 1, Time: time.Now()})
	require.NoError(b, err)

	// Lanes advance in step: block k holds the k-th tx of blockTxs lanes.
	lanes := min(blockTxs, wl.Lanes())
	blocks := b.N/lanes + 1
	txs := make([][][]byte, blocks)
	for k := range txs {
		for l := range lanes {
			raw, _, err := wl.Next(l, 0)
			require.NoError(b, err)
			txs[k] = append(txs[k], raw)
		}
	}
	for _, blk := range txs {
		for _, raw := range blk {
			res, err := a.CheckTx(ctx, &abci.CheckTxRequest{Tx: raw, Type: abci.CHECK_TX_TYPE_CHECK})
			require.NoError(b, err)
			require.Zero(b, res.Code, res.Log)
		}
	}
	if f := os.Getenv("EWR_FINALIZE_PROFILE"); f != "" {
		out, err := os.Create(f)
		require.NoError(b, err)
		require.NoError(b, pprof.StartCPUProfile(out))
		defer func() { pprof.StopCPUProfile(); out.Close() }()
	}
	b.ResetTimer()
	cpu0 := machine.ProcessCPU()
	now := time.Now()
	for k, blk := range txs {
		res, err := a.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: int64(k + 1), Time: now.Add(time.Duration(k) * time.Second), Txs: blk})
		require.NoError(b, err)
		for _, r := range res.TxResults {
			if r.Code != 0 {
				b.Fatalf("block %d: %s", k+1, r.Log)
			}
		}
		_, err = a.Commit(ctx, &abci.CommitRequest{})
		require.NoError(b, err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(blocks*lanes), "ns/tx")
	b.ReportMetric(float64((machine.ProcessCPU()-cpu0).Nanoseconds())/float64(blocks*lanes), "cpu-ns/tx")
}
