package chainengine

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSigCacheEvictsOldestFirst(t *testing.T) {
	c := NewSigCache(3)
	k := func(i int) [32]byte { return SigCacheKey([]byte{byte(i)}) }
	c.Add(k(1), k(2), k(3))
	c.Add(k(2)) // already there: no refresh, no eviction
	assert.Equal(t, 3, c.Len())
	c.Add(k(4))
	assert.False(t, c.Has(k(1)), "oldest evicted")
	for _, i := range []int{2, 3, 4} {
		assert.True(t, c.Has(k(i)), "key %d", i)
	}
	c.Add(k(5), k(6))
	assert.False(t, c.Has(k(2)))
	assert.False(t, c.Has(k(3)))
	assert.True(t, c.Has(k(4)))
	assert.Equal(t, 3, c.Len())
}

func TestSigCacheVerifyRecordsOnlyGoodSignatures(t *testing.T) {
	c := NewSigCache(10)
	good := testTx("ewr-test", 1, 100)
	bad := forge(t, good)
	gtx, err := DecodeTx(good)
	require.NoError(t, err)
	btx, err := DecodeTx(bad)
	require.NoError(t, err)

	require.NoError(t, c.Verify(gtx))
	assert.True(t, c.Has(SigCacheKey(good)))
	assert.ErrorIs(t, c.Verify(btx), ErrTxBadSig)
	assert.False(t, c.Has(SigCacheKey(bad)), "same body as a cached tx, forged signature: not vouched for")
	assert.ErrorIs(t, c.Verify(btx), ErrTxBadSig)
}

func TestCheckBlockTxs(t *testing.T) {
	for _, n := range []int{1, 5, 3 * minBatchPerWorker} { // one-by-one, one batch, parallel batches
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			c := NewSigCache(1000)
			raws := make([][]byte, n)
			for i := range raws {
				raws[i] = testTx("ewr-test", byte(i%5+1), 100)
			}
			cached := raws[0]
			tx, err := DecodeTx(cached)
			require.NoError(t, err)
			require.NoError(t, c.Verify(tx))

			block := append([][]byte(nil), raws...)
			forged := forge(t, raws[n-1])
			block = append(block, forged, []byte("not a tx"))
			out := c.CheckBlockTxs(block)
			require.Len(t, out, n+2)
			for i := range n {
				require.NoError(t, out[i].Err, "tx %d", i)
				assert.NotNil(t, out[i].Tx)
				assert.True(t, c.Has(SigCacheKey(raws[i])), "tx %d recorded", i)
			}
			assert.ErrorIs(t, out[n].Err, ErrTxBadSig)
			assert.Nil(t, out[n].Tx)
			assert.False(t, c.Has(SigCacheKey(forged)))
			assert.ErrorIs(t, out[n+1].Err, ErrTxMalformed)
		})
	}
}

// Run with -race: CheckTx and the consensus connection share the cache.
func TestSigCacheConcurrent(t *testing.T) {
	c := NewSigCache(64)
	txs := make([]*Tx, 40)
	for i := range txs {
		tx, err := DecodeTx(testTx("ewr-test", byte(i%3+1), 100))
		require.NoError(t, err)
		txs[i] = tx
	}
	raws := make([][]byte, len(txs))
	for i, tx := range txs {
		raws[i] = tx.Raw
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				switch (g + i) % 3 {
				case 0:
					assert.NoError(t, c.Verify(txs[i%len(txs)]))
				case 1:
					c.Has(SigCacheKey(raws[i%len(raws)]))
				default:
					for _, bt := range c.CheckBlockTxs(raws[:8]) {
						assert.NoError(t, bt.Err)
					}
				}
			}
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, c.Len(), 64)
}

func BenchmarkCheckBlockTxsUncached(b *testing.B) {
	raws := make([][]byte, 1000)
	for i := range raws {
		raws[i] = testTx("ewr-test", byte(i%7+1), 100)
	}
	for b.Loop() {
		NewSigCache(len(raws)).CheckBlockTxs(raws)
	}
}

func BenchmarkCheckBlockTxsCached(b *testing.B) {
	raws := make([][]byte, 1000)
	for i := range raws {
		raws[i] = testTx("ewr-test", byte(i%7+1), 100)
	}
	c := NewSigCache(len(raws))
	c.CheckBlockTxs(raws)
	for b.Loop() {
		c.CheckBlockTxs(raws)
	}
}

func TestCheckBlockTxsForRemembersRecentBlocks(t *testing.T) {
	c := NewSigCache(100)
	raws := [][]byte{testTx("ewr-test", 1, 100), forge(t, testTx("ewr-test", 2, 100))}
	first := c.CheckBlockTxsFor([]byte("block-a"), raws)
	again := c.CheckBlockTxsFor([]byte("block-a"), raws)
	require.Len(t, again, 2)
	assert.Same(t, first[0].Tx, again[0].Tx, "FinalizeBlock reuses ProcessProposal's work")
	assert.ErrorIs(t, again[1].Err, ErrTxBadSig)
	for i := range recentBlocks {
		c.CheckBlockTxsFor([]byte{byte(i)}, raws)
	}
	assert.NotSame(t, first[0].Tx, c.CheckBlockTxsFor([]byte("block-a"), raws)[0].Tx, "forgotten after recentBlocks others")
	assert.NotSame(t, c.CheckBlockTxsFor(nil, raws)[0].Tx, c.CheckBlockTxsFor(nil, raws)[0].Tx, "no hash, no memory")
}
