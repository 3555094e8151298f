package chainengine

import (
	"context"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refuseFirstApp refuses each tx the first time its CheckTx sees it, as a
// peer still applying the block that made the tx valid does (a key rotated
// in it): the sender's mempool gossips each tx to each peer only once.
type refuseFirstApp struct {
	*BaselineApp
	seen sync.Map
}

func (a *refuseFirstApp) CheckTx(ctx context.Context, req *abci.CheckTxRequest) (*abci.CheckTxResponse, error) {
	if req.Type == abci.CHECK_TX_TYPE_CHECK {
		if _, again := a.seen.LoadOrStore(string(req.Tx), true); !again {
			return &abci.CheckTxResponse{Code: 99, Log: "not valid yet at this node's height"}, nil
		}
	}
	return a.BaselineApp.CheckTx(ctx, req)
}

// TestTxOnlyOneNodeHoldsIsCommitted: every tx reaches node 0 alone, since its
// three peers refuse the copy gossip brings them. With create_empty_blocks
// off a height starts only on a node whose own mempool holds txs, and one
// validator of four cannot start one, so without regossip the first tx whose
// height node 0 does not propose waits forever. Three txs in a row make
// that all but certain; each must commit.
func TestTxOnlyOneNodeHoldsIsCommitted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logger := testLogger(t)
	factory := func(home string, i int) (App, error) {
		app, err := NewBaselineApp(BaselineAppDir(home), logger)
		if err != nil || i == 0 {
			return app, err
		}
		return &refuseFirstApp{BaselineApp: app}, nil
	}
	ln, err := StartLocalnet(ctx, t.TempDir(), 4, factory, LocalnetOptions{Logger: logger})
	require.NoError(t, err)
	defer func() { assert.NoError(t, ln.Stop()) }()

	for i := range 3 {
		sub, cancelSub := context.WithTimeout(ctx, 20*time.Second)
		out, h, err := ln.Node(0).Submit(sub, testTx(ln.ChainID(), byte(i+1), 1000))
		cancelSub()
		require.NoError(t, err, "tx %d: never committed", i)
		require.Zero(t, out.Code, "tx %d: %s", i, out.Log)
		t.Logf("tx %d committed at height %d; node 0 re-sent its mempool %d times so far", i, h, ln.Node(0).regossips.Load())
	}
}
