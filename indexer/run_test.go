package indexer_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/ewrchain/ewr/ledger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pollSource is a Source without Wait: Run must poll it.
type pollSource struct{ src *indexer.MemSource }

func (p pollSource) Height(ctx context.Context) (int64, error) { return p.src.Height(ctx) }
func (p pollSource) Block(ctx context.Context, h int64) (*ledger.BlockRecord, error) {
	return p.src.Block(ctx, h)
}

func TestRunFollowsTheSource(t *testing.T) {
	sim, _ := story(t)
	recs := sim.Records
	for _, tc := range []struct {
		name string
		wrap func(*indexer.MemSource) indexer.Source
	}{
		{"waiter", func(s *indexer.MemSource) indexer.Source { return s }},
		{"polling", func(s *indexer.MemSource) indexer.Source { return pollSource{s} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := newDB(t)
			ix := indexer.New(db, indexer.Config{PollMin: time.Millisecond, PollMax: 20 * time.Millisecond})
			st := ix.Status()
			assert.Equal(t, int64(-1), st.Height)
			assert.False(t, st.Running)
			assert.False(t, st.CaughtUp(0))

			src := indexer.NewMemSource(0)
			half := len(recs) / 2
			src.Append(recs[:half]...)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- ix.Run(ctx, tc.wrap(src)) }()

			testkit.Poll(t, 30*time.Second, "caught up with the first half", func() error {
				if st := ix.Status(); !st.CaughtUp(0) || st.Height != int64(half-1) {
					return fmt.Errorf("status %+v", st)
				}
				return nil
			})
			// The source grows while Run waits.
			for _, rec := range recs[half:] {
				src.Append(rec)
			}
			last := recs[len(recs)-1].Height
			testkit.Poll(t, 30*time.Second, "caught up with all", func() error {
				if s := ix.Status(); s.Height != last || s.SourceHeight != last {
					return fmt.Errorf("status %+v", s)
				}
				return nil
			})
			st = ix.Status()
			assert.True(t, st.Running)
			assert.Zero(t, st.Lag)
			assert.NoError(t, st.Err)
			assert.False(t, st.AppliedAt.IsZero())

			cancel()
			require.ErrorIs(t, <-done, context.Canceled)
			st = ix.Status()
			assert.False(t, st.Running)
			assert.False(t, st.CaughtUp(10))

			reference := newDB(t)
			applyAll(t, indexer.New(reference, indexer.Config{}), recs)
			requireSameChecksum(t, reference, db)
		})
	}
}

// TestTwoIndexersOneDatabase runs two indexers on one database at once,
// as two processes after a botched deploy would: the checkpoint lock makes
// each block land once.
func TestTwoIndexersOneDatabase(t *testing.T) {
	sim := storyAndRandom(t, testSeed(t), 100)
	recs := sim.Records
	db := newDB(t)
	src := indexer.NewMemSource(0)
	src.Append(recs...)
	last := recs[len(recs)-1].Height

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	ixs := []*indexer.Indexer{
		indexer.New(db, indexer.Config{PollMin: time.Millisecond}),
		indexer.New(db, indexer.Config{PollMin: time.Millisecond}),
	}
	errs := make([]error, len(ixs))
	for i, ix := range ixs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = ix.Run(ctx, src) }()
	}
	testkit.PollTrue(t, 60*time.Second, fmt.Sprintf("checkpoint reaches %d", last), func() bool {
		cp, err := indexer.ReadCheckpoint(ctx, db)
		return err == nil && cp.Height == last
	})
	cancel()
	wg.Wait()
	for _, err := range errs {
		require.ErrorIs(t, err, context.Canceled)
	}
	reference := newDB(t)
	applyAll(t, indexer.New(reference, indexer.Config{}), recs)
	requireSameChecksum(t, reference, db)
}
