package rpcsource

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/ledger"
)

// Limits.
const (
	// DefaultTimeout bounds one RPC call.
	DefaultTimeout = 30 * time.Second
	// MaxBlockBytes bounds one block record: far above what a CometBFT
	// block (at most 100 MB of txs by its own limit, usually a few MB)
	// writes.
	MaxBlockBytes = 1 << 30
)

// ErrNode is an answer from the node that is not a block record: a query
// path it does not serve (not a receipt app), or a failure it reports.
var ErrNode = errors.New("rpcsource: node refused the query")

// Source is an indexer.Source reading a node over RPC.
type Source struct {
	c       rpcclient.ABCIClient
	Timeout time.Duration
}

var _ indexer.Source = (*Source)(nil)

// New returns a source reading the node whose RPC listens at addr
// ("http://127.0.0.1:26657").
func New(addr string) (*Source, error) {
	c, err := rpchttp.New(addr)
	if err != nil {
		return nil, fmt.Errorf("rpcsource: %w", err)
	}
	return &Source{c: c, Timeout: DefaultTimeout}, nil
}

// NewWithClient returns a source reading through c (an RPC client, or a
// local one wrapping a node in this process).
func NewWithClient(c rpcclient.ABCIClient) *Source { return &Source{c: c, Timeout: DefaultTimeout} }

func (s *Source) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.Timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.Timeout)
}

// Height implements indexer.Source: the node's last committed height, whose
// block record the app stored in the same commit.
func (s *Source) Height(ctx context.Context) (int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	info, err := s.c.ABCIInfo(ctx)
	if err != nil {
		return 0, fmt.Errorf("rpcsource: abci_info: %w", err)
	}
	return info.Response.LastBlockHeight, nil
}

// Block implements indexer.Source. A block the node does not have is
// indexer.ErrNotFound (Run retries it); a record that does not decode, or
// is of another height, is indexer.ErrBadBlock.
func (s *Source) Block(ctx context.Context, height int64) (*ledger.BlockRecord, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	res, err := s.c.ABCIQuery(ctx, "/block/"+strconv.FormatInt(height, 10), nil)
	if err != nil {
		return nil, fmt.Errorf("rpcsource: block %d: %w", height, err)
	}
	r := res.Response
	switch {
	case r.Code == chainengine.CodeQueryNotFound && r.Codespace == chainengine.CodespaceQuery:
		return nil, fmt.Errorf("%w: block %d on the node (at %d)", indexer.ErrNotFound, height, r.Height)
	case r.Code != 0:
		return nil, fmt.Errorf("%w: block %d: code %d (%s): %s", ErrNode, height, r.Code, r.Codespace, r.Log)
	case len(r.Value) > MaxBlockBytes:
		return nil, fmt.Errorf("%w: block %d is %d bytes, at most %d", indexer.ErrBadBlock, height, len(r.Value), MaxBlockBytes)
	}
	rec, err := ledger.DecodeBlockRecord(r.Value)
	if err != nil {
		return nil, fmt.Errorf("%w: block %d from the node: %w", indexer.ErrBadBlock, height, err)
	}
	if rec.Height != height {
		return nil, fmt.Errorf("%w: asked for block %d, the node sent %d", indexer.ErrBadBlock, height, rec.Height)
	}
	return rec, nil
}
