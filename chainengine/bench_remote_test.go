package chainengine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRemoteNodesAnswerEachTx: the benchmark's RPC client against real
// nodes' RPC: each tx a lane submits is answered by the block that
// carries it with its result; a tx CheckTx refuses is answered at once
// with the app's code; a tx the node already holds with the node's busy
// code; many lanes at once share the pooled connections.
func TestRemoteNodesAnswerEachTx(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ln, err := StartLocalnet(ctx, t.TempDir(), 2, baselineFactory(testLogger(t)), LocalnetOptions{Logger: testLogger(t), RPC: true})
	require.NoError(t, err)
	defer func() { assert.NoError(t, ln.Stop()) }()
	remote, err := DialRemote(ctx, []string{ln.RPCAddr(0), ln.RPCAddr(1)})
	require.NoError(t, err)
	defer remote.Close()
	targets := remote.Targets()
	require.Len(t, targets, 2)
	chainID := ln.ChainID()

	const lanes = 300 // beyond remoteConnsPerNode to one node
	var wg sync.WaitGroup
	heights := make([]int64, lanes)
	for i := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, h, err := targets[i%2].Submit(ctx, testTx(chainID, byte(i%7), 1000))
			if assert.NoError(t, err) && assert.True(t, out.OK(), "lane %d: %+v", i, out) {
				assert.GreaterOrEqual(t, out.Index, 0)
				heights[i] = h
			}
		}()
	}
	wg.Wait()
	for i, h := range heights {
		assert.Positive(t, h, "lane %d has no commit height", i)
		assert.LessOrEqual(t, h, targets[0].Height(), "lane %d answered before the watcher saw its block", i)
	}

	out, h, err := targets[1].Submit(ctx, forge(t, testTx(chainID, 1, 1000)))
	require.NoError(t, err)
	assert.Equal(t, CodeTxBadSig, out.Code, out.Log)
	assert.Equal(t, CodespaceTx, out.Codespace)
	assert.Equal(t, -1, out.Index)
	assert.Zero(t, h)

	// A tx left in node 0's mempool cache: a second broadcast is refused
	// before CheckTx, as a busy node.
	tx := testTx(chainID, 2, 1000)
	first, _, err := targets[0].Submit(ctx, tx)
	require.NoError(t, err)
	require.True(t, first.OK(), "%+v", first)
	again, _, err := targets[0].Submit(ctx, tx)
	require.NoError(t, err)
	assert.Equal(t, CodeNodeBusy, again.Code, again.Log)
	assert.Contains(t, again.Log, "cache")
}
