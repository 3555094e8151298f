package chainengine

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func h(b byte) [32]byte { return [32]byte{b} }

func TestWaiterDeliversToEveryWaiterOfAHash(t *testing.T) {
	w := NewWaiter(10)
	a, err := w.Register(h(1))
	require.NoError(t, err)
	b, err := w.Register(h(1)) // a client retrying the same tx
	require.NoError(t, err)
	other, err := w.Register(h(2))
	require.NoError(t, err)
	assert.Equal(t, 3, w.Len())

	w.Deliver(CommittedBlock{Height: 7, Txs: []TxOutcome{{Hash: h(1), Index: 0}, {Hash: h(9), Index: 1}}})
	for _, wt := range []*Wait{a, b} {
		c := <-wt.C()
		assert.Equal(t, int64(7), c.Height)
		assert.Equal(t, h(1), c.Outcome.Hash)
	}
	assert.Equal(t, 1, w.Len())
	select {
	case <-other.C():
		t.Fatal("tx 2 was not in the block")
	default:
	}
	w.Cancel(other)
	assert.Zero(t, w.Len())
	w.Cancel(a) // answered already: no-op
	assert.Zero(t, w.Len())
}

func TestWaiterPrefersSuccessWhenAHashRepeatsInABlock(t *testing.T) {
	w := NewWaiter(10)
	a, _ := w.Register(h(1))
	b, _ := w.Register(h(2))
	w.Deliver(CommittedBlock{Height: 3, Txs: []TxOutcome{
		{Hash: h(1), Index: 0, Code: CodeTxReplay, Codespace: CodespaceTx},
		{Hash: h(1), Index: 1},
		{Hash: h(2), Index: 2, Code: CodeTxExpired, Codespace: CodespaceTx},
		{Hash: h(2), Index: 3, Code: CodeTxReplay, Codespace: CodespaceTx},
	}})
	assert.Equal(t, 1, (<-a.C()).Outcome.Index, "the success")
	assert.Equal(t, 2, (<-b.C()).Outcome.Index, "the first failure")
}

func TestWaiterIsBounded(t *testing.T) {
	w := NewWaiter(2)
	_, err := w.Register(h(1))
	require.NoError(t, err)
	wt, err := w.Register(h(2))
	require.NoError(t, err)
	_, err = w.Register(h(3))
	assert.ErrorIs(t, err, ErrTooManyWaiters)
	w.Cancel(wt)
	_, err = w.Register(h(3))
	assert.NoError(t, err)
}

func TestWaiterCloseFailsWaiters(t *testing.T) {
	w := NewWaiter(2)
	wt, _ := w.Register(h(1))
	w.Close()
	_, ok := <-wt.C()
	assert.False(t, ok)
	_, err := w.Register(h(1))
	assert.ErrorIs(t, err, ErrNodeStopped)
	w.Deliver(CommittedBlock{Txs: []TxOutcome{{Hash: h(1)}}}) // no panic on a closed channel
	w.Close()
}

// Run with -race: submitters register and cancel while the commit hook
// delivers.
func TestWaiterConcurrent(t *testing.T) {
	w := NewWaiter(1000)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				wt, err := w.Register(h(byte(g*100 + i%50)))
				if !assert.NoError(t, err) {
					return
				}
				if i%2 == 0 {
					w.Cancel(wt)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 200 {
			w.Deliver(CommittedBlock{Height: int64(i), Txs: []TxOutcome{{Hash: h(byte(i))}, {Hash: h(byte(i + 1))}}})
		}
	}()
	wg.Wait()
	w.Close()
	assert.Zero(t, w.Len())
}
