package api

import (
	"sync"

	"github.com/ewrchain/ewr/ledger"
)

// blockCache keeps the newest decoded block records. When a block
// commits, every tx waiting in it answers with its events, the event
// streams send it and the metrics count it: without the cache each of
// them would read and decode the whole record (every tx's writes), which
// makes a block of n txs cost n decodes of n txs.
type blockCache struct {
	chain Chain
	mu    struct {
		sync.Mutex
		byHeight map[int64]*blockEntry
		order    []int64
	}
}

// blocksCached is how many records the cache keeps.
const blocksCached = 64

type blockEntry struct {
	once sync.Once
	rec  *ledger.BlockRecord
	ok   bool
	err  error
}

func newBlockCache(c Chain) *blockCache {
	b := &blockCache{chain: c}
	b.mu.byHeight = map[int64]*blockEntry{}
	return b
}

// get returns the record of block h, decoding it once however many ask
// at the same time. Records are immutable once committed; a miss (not yet
// committed) or an error is not cached.
func (b *blockCache) get(h int64) (*ledger.BlockRecord, bool, error) {
	b.mu.Lock()
	e, hit := b.mu.byHeight[h]
	if !hit {
		e = &blockEntry{}
		b.mu.byHeight[h] = e
		b.mu.order = append(b.mu.order, h)
		for len(b.mu.order) > blocksCached {
			delete(b.mu.byHeight, b.mu.order[0])
			b.mu.order = b.mu.order[1:]
		}
	}
	b.mu.Unlock()
	e.once.Do(func() { e.rec, e.ok, e.err = b.chain.Block(h) })
	if e.err != nil || !e.ok {
		b.mu.Lock()
		if b.mu.byHeight[h] == e {
			delete(b.mu.byHeight, h)
		}
		b.mu.Unlock()
	}
	return e.rec, e.ok, e.err
}
