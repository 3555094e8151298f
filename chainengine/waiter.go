package chainengine

import (
	"errors"
	"sync"
)

// DefaultMaxWaiters bounds the txs one node waits on at a time: a few
// seconds of saturated load.
const DefaultMaxWaiters = 100_000

// Errors from Waiter.
var (
	ErrTooManyWaiters = errors.New("chainengine: too many txs waiting for commit")
	ErrNodeStopped    = errors.New("chainengine: node stopped")
)

// Committed is what a waiter receives: the tx's outcome and the height of the
// block that carried it.
type Committed struct {
	Outcome TxOutcome
	Height  int64
}

// Waiter matches committed tx outcomes to the submitters waiting on them,
// keyed by tx hash. Several submitters may wait on one hash (a client
// retrying the same tx); all get the same answer. It is fed by an App's
// commit hook and never blocks it. Safe for concurrent use.
type Waiter struct {
	max int
	mu  struct {
		sync.Mutex
		waits  map[[32]byte][]*Wait
		n      int
		closed bool
	}
}

// Wait is one registration. Its channel receives exactly one value unless
// the registration is cancelled first; after Waiter.Close it is closed.
type Wait struct {
	hash [32]byte
	ch   chan Committed
}

// C returns the channel that receives the commit.
func (w *Wait) C() <-chan Committed { return w.ch }

// NewWaiter returns a Waiter that holds at most max registrations.
func NewWaiter(max int) *Waiter {
	w := &Waiter{max: max}
	w.mu.waits = make(map[[32]byte][]*Wait)
	return w
}

// Register starts waiting for hash. Register before submitting the tx, so
// that a commit racing the submission is not missed.
func (w *Waiter) Register(hash [32]byte) (*Wait, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.closed {
		return nil, ErrNodeStopped
	}
	if w.mu.n >= w.max {
		return nil, ErrTooManyWaiters
	}
	wt := &Wait{hash: hash, ch: make(chan Committed, 1)}
	w.mu.waits[hash] = append(w.mu.waits[hash], wt)
	w.mu.n++
	return wt, nil
}

// Cancel stops waiting. It is a no-op if the wait was already answered.
func (w *Waiter) Cancel(wt *Wait) {
	w.mu.Lock()
	defer w.mu.Unlock()
	list := w.mu.waits[wt.hash]
	for i, x := range list {
		if x == wt {
			list = append(list[:i], list[i+1:]...)
			w.mu.n--
			break
		}
	}
	if len(list) == 0 {
		delete(w.mu.waits, wt.hash)
	} else {
		w.mu.waits[wt.hash] = list
	}
}

// Len returns the number of registrations waiting.
func (w *Waiter) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mu.n
}

// Deliver answers the waiters of every tx in b. It is the commit hook. If a
// hash occurs twice in a block (the same body under two signatures), its
// first successful outcome wins, else its first outcome.
func (w *Waiter) Deliver(b CommittedBlock) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.n == 0 {
		return
	}
	var failed map[[32]byte]TxOutcome // first failure per hash, delivered unless a success follows
	for _, o := range b.Txs {
		if _, ok := w.mu.waits[o.Hash]; !ok {
			continue
		}
		if !o.OK() {
			if failed == nil {
				failed = make(map[[32]byte]TxOutcome)
			}
			if _, seen := failed[o.Hash]; !seen {
				failed[o.Hash] = o
			}
			continue
		}
		w.answerLocked(o, b.Height)
	}
	for _, o := range failed {
		if _, ok := w.mu.waits[o.Hash]; ok {
			w.answerLocked(o, b.Height)
		}
	}
}

func (w *Waiter) answerLocked(o TxOutcome, height int64) {
	list := w.mu.waits[o.Hash]
	for _, wt := range list {
		wt.ch <- Committed{Outcome: o, Height: height} // buffered, sent once
	}
	w.mu.n -= len(list)
	delete(w.mu.waits, o.Hash)
}

// Close fails every waiting registration and refuses new ones.
func (w *Waiter) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.closed {
		return
	}
	w.mu.closed = true
	for h, list := range w.mu.waits {
		for _, wt := range list {
			close(wt.ch)
		}
		delete(w.mu.waits, h)
	}
	w.mu.n = 0
}
