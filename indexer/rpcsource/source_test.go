package rpcsource_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/indexer/pgcluster/pgtest"
	"github.com/ewrchain/ewr/indexer/rpcsource"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/simulators"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { pgtest.TestMain(m) }

// appSource is the in-process source: the node's app.
type appSource struct{ app *chainengine.ReceiptApp }

func (s appSource) Height(context.Context) (int64, error) { return s.app.Height(), nil }
func (s appSource) Block(_ context.Context, h int64) (*ledger.BlockRecord, error) {
	rec, ok, err := s.app.Block(h)
	if err == nil && !ok {
		err = indexer.ErrNotFound
	}
	return rec, err
}

// upTo is a source cut at a height.
type upTo struct {
	indexer.Source
	top int64
}

func (s upTo) Height(ctx context.Context) (int64, error) {
	h, err := s.Source.Height(ctx)
	return min(h, s.top), err
}

// TestRebuildFromANodeOverRPC runs the lifecycle and the markets tour on a
// one-validator network, then builds one read model from the node over its
// RPC and one from the app in process: they are the same.
func TestRebuildFromANodeOverRPC(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	w := ledger.NewWorld("rpcsource-test", time.Now().Unix()+365*86400)
	appState, err := json.Marshal(&w.Genesis)
	require.NoError(t, err)
	logger := log.NewNopLogger()
	ln, err := chainengine.StartLocalnet(ctx, t.TempDir(), 1, func(home string, _ int) (chainengine.App, error) {
		return chainengine.NewReceiptApp(chainengine.ReceiptAppDir(home), logger)
	}, chainengine.LocalnetOptions{AppState: appState, Logger: logger, RPC: true})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, ln.Stop()) })

	d := simulators.NewChainDriver(ln.Node(0), w)
	var out bytes.Buffer
	require.NoError(t, (&simulators.Lifecycle{Driver: d, World: w, Out: &out, Tag: "r", Bay: ledger.DemoBays[0]}).Run(ctx), out.String())
	require.NoError(t, (&simulators.Markets{Driver: d, World: w, Out: &out, Tag: "r", Bay: ledger.DemoBays[1], ShortSec: 2}).Run(ctx), out.String())

	app := ln.Node(0).App().(*chainengine.ReceiptApp)
	src, err := rpcsource.New(ln.RPCAddr(0))
	require.NoError(t, err)
	// Both up to one height: the network goes on making blocks.
	top := app.Height()
	require.GreaterOrEqual(t, top, int64(30), "the stories' blocks")

	overRPC := pgtest.ForTest(t)
	require.NoError(t, indexer.Migrate(ctx, overRPC))
	h, err := indexer.New(overRPC, indexer.Config{PollMin: time.Millisecond}).CatchUp(ctx, upTo{src, top})
	require.NoError(t, err)
	require.Equal(t, top, h)

	inProcess := pgtest.ForTest(t)
	require.NoError(t, indexer.Migrate(ctx, inProcess))
	h, err = indexer.New(inProcess, indexer.Config{PollMin: time.Millisecond}).CatchUp(ctx, upTo{appSource{app}, top})
	require.NoError(t, err)
	require.Equal(t, top, h)

	a, err := indexer.ChecksumTables(ctx, overRPC)
	require.NoError(t, err)
	b, err := indexer.ChecksumTables(ctx, inProcess)
	require.NoError(t, err)
	assert.Equal(t, b, a)
	var loans int
	require.NoError(t, overRPC.QueryRowContext(ctx, `SELECT count(*) FROM loans`).Scan(&loans))
	assert.Equal(t, 2, loans)

	// A height the node does not have yet.
	_, err = src.Block(ctx, top+1_000_000)
	assert.ErrorIs(t, err, indexer.ErrNotFound)
}
