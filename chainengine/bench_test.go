package chainengine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBaselineWorkload(t *testing.T) {
	w := NewBaselineWorkload("ewr-bench")
	require.NoError(t, w.Prepare(context.Background(), 10))
	seen := map[[32]byte]bool{}
	for i := range 20 { // past the prepared ones, it signs on demand
		raw, kind, err := w.Next(i%3, 5)
		require.NoError(t, err)
		assert.Equal(t, KindOpaque, kind)
		assert.InDelta(t, 200, len(raw), 4)
		tx, err := DecodeTx(raw)
		require.NoError(t, err)
		require.NoError(t, tx.VerifySigs())
		require.NoError(t, tx.CheckHeight("ewr-bench", 6))
		assert.False(t, seen[tx.Hash], "tx %d repeats", i)
		seen[tx.Hash] = true
	}
	_, _, err := w.Next(w.Lanes(), 0)
	assert.Error(t, err)
}

// A short open-loop run on one validator: the harness reports what it saw.
func TestRunChainBench(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const chainID = "ewr-bench-test"
	res, err := RunChainBench(ctx, BenchConfig{
		Validators: 1, Duration: time.Second, Warmup: 300 * time.Millisecond, RatePerS: 200,
		Home: t.TempDir(), ChainID: chainID, App: "baseline", Workload: NewBaselineWorkload(chainID),
		NewApp: baselineFactory(testLogger(t)), Logger: testLogger(t),
	})
	require.NoError(t, err)
	assert.Equal(t, "open", res.Mode)
	assert.Positive(t, res.Committed)
	assert.Equal(t, res.Committed, res.Mix[KindOpaque])
	assert.Positive(t, res.P50Ms)
	assert.GreaterOrEqual(t, res.P99Ms, res.P50Ms)
	assert.Positive(t, res.BlocksPerS)
	assert.Positive(t, res.CPUCoresUsed)
	// The machine's own ceiling, stated in the same run.
	require.Positive(t, res.VerifyUs)
	assert.InDelta(t, float64(res.Cores)*1e6/res.VerifyUs, res.CeilingTxPerS, 1, "one validator: cores / verify_us")
	assert.InDelta(t, res.TxPerS/res.CeilingTxPerS, res.CeilingFraction, 0.001)
	assert.Positive(t, res.VerifyUsLoaded, "the same measured under the load")
	assert.LessOrEqual(t, res.VerifyUs, res.verifyFastest+0.05, "the ceiling takes the fastest measurement (verify_us is rounded to 0.1)")
	assert.Positive(t, res.GossipSleepMs, "the node config the run used")
	assert.Positive(t, res.CPUUsPerTx)
	assert.Positive(t, res.RSSMB)
	assert.Empty(t, res.Rejected)
	assert.Zero(t, res.Errors)
}

// TestRunChainBenchRefusesNegativeTimers: a negative override is an error,
// not silently the tuned default.
func TestRunChainBenchRefusesNegativeTimers(t *testing.T) {
	for _, cfg := range []BenchConfig{{GossipSleep: -time.Millisecond}, {FlushThrottle: -time.Millisecond}, {TimeoutPropose: -time.Second}} {
		cfg.Validators, cfg.Duration, cfg.Workload, cfg.NewApp = 1, time.Second, NewBaselineWorkload("x"), baselineFactory(testLogger(t))
		_, err := RunChainBench(t.Context(), cfg)
		require.ErrorContains(t, err, "cannot be negative")
	}
}
