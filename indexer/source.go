package indexer

import (
	"context"
	"fmt"
	"sync"

	"github.com/ewrchain/ewr/ledger"
)

// MemSource is a Source of block records held in memory: what an
// in-process chain (ledger.Sim, a local consortium) appends to and the
// tests feed Run from. It implements Waiter.
type MemSource struct {
	mu     sync.Mutex
	first  int64 // height of blocks[0]
	blocks []*ledger.BlockRecord
	grew   chan struct{} // closed and replaced on every Append
}

// NewMemSource returns a source whose first block will be at height first.
func NewMemSource(first int64) *MemSource {
	return &MemSource{first: first, grew: make(chan struct{})}
}

// Append adds blocks, which must continue the source's heights without a
// gap: anything else is a bug in the caller, and panics.
func (s *MemSource) Append(recs ...*ledger.BlockRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rec := range recs {
		if want := s.first + int64(len(s.blocks)); rec.Height != want {
			panic(fmt.Sprintf("indexer: MemSource.Append: block %d, want %d", rec.Height, want))
		}
		s.blocks = append(s.blocks, rec)
	}
	close(s.grew)
	s.grew = make(chan struct{})
}

// Height implements Source.
func (s *MemSource) Height(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first + int64(len(s.blocks)) - 1, nil
}

// Block implements Source.
func (s *MemSource) Block(_ context.Context, height int64) (*ledger.BlockRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := height - s.first
	if i < 0 || i >= int64(len(s.blocks)) {
		return nil, fmt.Errorf("%w: block %d", ErrNotFound, height)
	}
	return s.blocks[i], nil
}

// Wait implements Waiter.
func (s *MemSource) Wait(ctx context.Context, height int64) error {
	for {
		s.mu.Lock()
		have := s.first + int64(len(s.blocks)) - 1
		grew := s.grew
		s.mu.Unlock()
		if height <= have {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-grew:
		}
	}
}
