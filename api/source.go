package api

import (
	"context"
	"fmt"

	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/ledger"
)

// ChainSource feeds the read model (indexer.Run) from a node's receipt
// app: its block records, and its commit notifications so the indexer
// need not poll.
type ChainSource struct{ Chain Chain }

var (
	_ indexer.Source = ChainSource{}
	_ indexer.Waiter = ChainSource{}
)

// Height implements indexer.Source.
func (s ChainSource) Height(context.Context) (int64, error) { return s.Chain.Height(), nil }

// Block implements indexer.Source.
func (s ChainSource) Block(_ context.Context, h int64) (*ledger.BlockRecord, error) {
	rec, ok, err := s.Chain.Block(h)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: block %d", indexer.ErrNotFound, h)
	}
	return rec, nil
}

// Wait implements indexer.Waiter.
func (s ChainSource) Wait(ctx context.Context, h int64) error {
	for {
		ch := s.Chain.Committed()
		if s.Chain.Height() >= h {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}
