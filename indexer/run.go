package indexer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/ewrchain/ewr/ledger"
)

// Source is where committed block records come from: the chain engine's
// record store, or a MemSource.
type Source interface {
	// Height is the highest height whose block record is available, or
	// FirstHeight-1 when there is none yet.
	Height(ctx context.Context) (int64, error)
	// Block returns the block record at height, which must be available.
	Block(ctx context.Context, height int64) (*ledger.BlockRecord, error)
}

// Waiter is an optional interface of a Source that can say when a block
// arrives, so that Run need not poll: Wait returns nil once the block at
// height is available, or ctx's error.
type Waiter interface {
	Wait(ctx context.Context, height int64) error
}

// Status is the indexer's progress, for /readyz and operators. It is kept
// in memory and costs no query.
type Status struct {
	Height       int64 // the checkpoint: the last block applied, -1 before the first
	SourceHeight int64 // the source's height when Run last asked, -1 before
	// Lag is how many blocks the source has that the read model has not
	// (SourceHeight - Height), once SourceHeight is known; else 0.
	Lag     int64
	Running bool // Run is following its source
	// Err is the last failure: being retried while Running, the reason
	// Run stopped once it is not.
	Err       error
	AppliedAt time.Time // when the last block was applied; zero before
}

// CaughtUp reports whether Run is following its source without an error,
// at most maxLag blocks behind.
func (s Status) CaughtUp(maxLag int64) bool {
	return s.Running && s.Err == nil && s.SourceHeight >= 0 && s.Lag <= maxLag
}

// Status returns the indexer's progress.
func (ix *Indexer) Status() Status {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.mu.status
}

func (ix *Indexer) updateStatus(fn func(s *Status)) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	fn(&ix.mu.status)
	s := &ix.mu.status
	s.Lag = 0
	if s.SourceHeight >= 0 {
		s.Lag = max(0, s.SourceHeight-s.Height)
	}
}

// progress records that the checkpoint is at height.
func (ix *Indexer) progress(height int64) {
	now := time.Now()
	ix.updateStatus(func(s *Status) {
		if height > s.Height {
			s.Height, s.AppliedAt = height, now
		}
		if s.Running {
			s.Err = nil
		}
	})
}

// permanent reports whether err will not go away by retrying.
func permanent(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, ErrGap) || errors.Is(err, ErrDecode) ||
		errors.Is(err, ErrBadBlock) || errors.Is(err, ErrConflict) || errors.Is(err, ErrSchemaNewer) ||
		errors.Is(err, ErrMigrationChanged)
}

// prefetchBlocks bounds how many blocks Run reads and decodes ahead of the
// one it is writing: the Go work of the next blocks overlaps PostgreSQL's
// work on this one.
const prefetchBlocks = 4

// Run follows src from the checkpoint: it applies each next block as soon
// as src has it, waiting (src's Wait, or polling with backoff) when caught
// up. It returns ctx's error when ctx ends, and stops with an error at a
// gap, a block that does not decode or a block that conflicts with the one
// applied: it never skips a block. (A record of a type it has no table for
// is not a stop: it lands in the fallback table.) A failure that
// may be transient (the database or the source unreachable) is retried
// with backoff, at most MaxRetries times in a row.
//
// Run reads and decodes up to prefetchBlocks blocks ahead in a goroutine;
// blocks are still written one SQL transaction each, in height order.
func (ix *Indexer) Run(ctx context.Context, src Source) error {
	return ix.run(ctx, src, math.MaxInt64)
}

// CatchUp applies the blocks src holds when CatchUp starts, from the
// checkpoint on, as Run does, and returns the height it caught up to: a
// rebuild, or a one-off refresh of a read model. Blocks src gains
// meanwhile are left to the next call.
func (ix *Indexer) CatchUp(ctx context.Context, src Source) (int64, error) {
	target, err := retry(ctx, ix, "source height", func() (int64, error) { return src.Height(ctx) })
	if err != nil {
		return 0, err
	}
	return target, ix.run(ctx, src, target)
}

// run is Run until the checkpoint reaches height until.
func (ix *Indexer) run(ctx context.Context, src Source, until int64) (err error) {
	ix.updateStatus(func(s *Status) { s.Running, s.Err = true, nil })
	defer func() {
		ix.updateStatus(func(s *Status) { s.Running, s.Err = false, err })
		if err != nil && ctx.Err() == nil {
			ix.cfg.Logger.Error("indexer: stopped", "err", err)
		}
	}()
	cp, err := retry(ctx, ix, "read checkpoint", func() (Checkpoint, error) { return ReadCheckpoint(ctx, ix.db) })
	if err != nil {
		return err
	}
	ix.progress(cp.Height)
	next := ix.next(cp.Height)
	for next <= until {
		if next, err = ix.follow(ctx, src, next, until); err != nil {
			return err
		}
	}
	return nil
}

// fetched is a block the fetcher read and decoded, or why it could not.
type fetched struct {
	height int64
	p      *prepared
	err    error
}

// follow applies the blocks from next on, in order, as a fetcher goroutine
// reads and decodes them ahead. It returns on an error, or with the height
// to go on from when the checkpoint moved past what the fetcher expected
// (another indexer applied blocks meanwhile), so that Run restarts the
// fetcher there, or past until.
func (ix *Indexer) follow(ctx context.Context, src Source, next, until int64) (int64, error) {
	fctx, cancel := context.WithCancel(ctx)
	ch := make(chan fetched, prefetchBlocks)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ix.fetch(fctx, src, next, ch)
	}()
	defer func() {
		cancel()
		wg.Wait()
	}()
	for {
		var f fetched
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case f = <-ch:
		}
		if f.err != nil {
			return 0, f.err
		}
		a, err := retry(ctx, ix, "apply", func() (applied, error) { return ix.commit(ctx, f.p) })
		if err != nil {
			return 0, err
		}
		if n := ix.next(a.checkpoint); n != f.height+1 || n > until {
			return n, nil
		}
	}
}

// fetch reads and decodes the blocks from next on into out, in order,
// until ctx ends or it fails; a failure is the last thing it sends.
func (ix *Indexer) fetch(ctx context.Context, src Source, next int64, out chan<- fetched) {
	send := func(f fetched) bool {
		select {
		case out <- f:
			return true
		case <-ctx.Done():
			return false
		}
	}
	top := int64(-1)
	idle := ix.cfg.PollMin
	for h := next; ; h++ {
		for h > top {
			t, err := retry(ctx, ix, "source height", func() (int64, error) { return src.Height(ctx) })
			if err != nil {
				send(fetched{height: h, err: err})
				return
			}
			top = t
			ix.updateStatus(func(s *Status) { s.SourceHeight = t })
			if h > top {
				ix.waitFor(ctx, src, h, idle)
				idle = min(2*idle, ix.cfg.PollMax)
				if ctx.Err() != nil {
					return
				}
			}
		}
		idle = ix.cfg.PollMin
		rec, err := retry(ctx, ix, "read block", func() (*ledger.BlockRecord, error) {
			rec, err := src.Block(ctx, h)
			if err == nil && (rec == nil || rec.Height != h) {
				return nil, fmt.Errorf("%w: the source gave %v for height %d", ErrBadBlock, heightOf(rec), h)
			}
			return rec, err
		})
		if err != nil {
			send(fetched{height: h, err: err})
			return
		}
		p, err := prepare(rec)
		if !send(fetched{height: h, p: p, err: err}) || err != nil {
			return
		}
	}
}

func heightOf(rec *ledger.BlockRecord) any {
	if rec == nil {
		return "no block"
	}
	return fmt.Sprintf("block %d", rec.Height)
}

// waitFor returns when src may have the block at height: at once if src
// says so (Waiter), else after the poll interval, or when ctx ends.
func (ix *Indexer) waitFor(ctx context.Context, src Source, height int64, poll time.Duration) {
	if w, ok := src.(Waiter); ok {
		// Bounded, so that Status sees the source's height now and then
		// even from a Waiter that never wakes.
		wctx, cancel := context.WithTimeout(ctx, ix.cfg.PollMax)
		defer cancel()
		if err := w.Wait(wctx, height); err == nil || ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
			return
		}
		// A failing Waiter falls back to polling.
	}
	sleep(ctx, poll)
}

// retry runs fn until it succeeds, fails permanently or has failed
// MaxRetries times in a row, with backoff between attempts.
func retry[T any](ctx context.Context, ix *Indexer, what string, fn func() (T, error)) (T, error) {
	wait := ix.cfg.PollMin
	for attempt := 1; ; attempt++ {
		v, err := fn()
		if err == nil {
			return v, nil
		}
		ix.updateStatus(func(s *Status) { s.Err = err })
		if permanent(ctx, err) {
			if ctx.Err() != nil {
				return v, ctx.Err()
			}
			return v, err
		}
		if attempt >= ix.cfg.MaxRetries {
			return v, fmt.Errorf("indexer: %s: gave up after %d attempts: %w", what, attempt, err)
		}
		ix.cfg.Logger.Warn("indexer: retrying", "step", what, "attempt", attempt, "err", err)
		sleep(ctx, wait)
		wait = min(2*wait, ix.cfg.PollMax)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
