package chainengine

import (
	"context"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPeerFilter: with filter_peers on, CometBFT asks the app before it
// keeps a peer; a member that named its consortium's nodes keeps only
// those.
func TestPeerFilter(t *testing.T) {
	app, err := NewReceiptApp(t.TempDir(), testLogger(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = app.Close() })
	code := func(id string) uint32 {
		res, err := app.Query(context.Background(), &abci.QueryRequest{Path: "/p2p/filter/id/" + id})
		require.NoError(t, err)
		return res.Code
	}
	assert.Zero(t, code("aaaa"), "no list named: any peer")
	app.SetPeerFilter([]string{"aaaa", "bbbb"})
	assert.Zero(t, code("aaaa"))
	assert.Zero(t, code("bbbb"))
	assert.NotZero(t, code("cccc"), "a node the member does not know")
}
