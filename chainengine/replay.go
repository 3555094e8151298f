package chainengine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync"

	"github.com/cockroachdb/pebble"
)

// replayGuard remembers the txs committed whose expiry has not passed. A tx
// may only be included at a height no later than its ExpiresAt, and
// CheckHeight refuses it after that, so the guard can forget a tx once its
// expiry is behind the chain: a miss is then proof it was never committed.
// That keeps the replay check of every CheckTx and FinalizeBlock in memory;
// the durable record of every tx stays in pebble (x/<hash>) for queries.
//
// On disk, e/<expiresAt BE>/<hash> indexes the remembered txs by expiry, so
// a restart rebuilds the guard from the heights that still matter.
type replayGuard struct {
	mu struct {
		sync.RWMutex
		seen     map[[32]byte]struct{}
		byExpiry map[int64][][32]byte
		pruned   int64 // every expiry below this has been forgotten
	}
}

var prefixExpiry = []byte("e/")

func expiryKey(expiresAt int64, hash [32]byte) []byte {
	k := append(make([]byte, 0, len(prefixExpiry)+8+32), prefixExpiry...)
	k = binary.BigEndian.AppendUint64(k, uint64(expiresAt))
	return append(k, hash[:]...)
}

func newReplayGuard() *replayGuard {
	g := &replayGuard{}
	g.mu.seen = map[[32]byte]struct{}{}
	g.mu.byExpiry = map[int64][][32]byte{}
	return g
}

// committed reports whether the tx was committed and may still be replayed.
func (g *replayGuard) committed(hash [32]byte) bool {
	g.mu.RLock()
	_, ok := g.mu.seen[hash]
	g.mu.RUnlock()
	return ok
}

type guardEntry struct {
	hash      [32]byte
	expiresAt int64
}

// add records a block's txs (after its Commit).
func (g *replayGuard) add(entries []guardEntry) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, e := range entries {
		g.mu.seen[e.hash] = struct{}{}
		g.mu.byExpiry[e.expiresAt] = append(g.mu.byExpiry[e.expiresAt], e.hash)
	}
}

// prune forgets txs that expired before height (they can no longer be
// included from height on). It returns the range of expiries dropped so
// the caller deletes their index entries.
func (g *replayGuard) prune(height int64) (from, to int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	from = g.mu.pruned
	for h := g.mu.pruned; h < height; h++ {
		for _, hash := range g.mu.byExpiry[h] {
			delete(g.mu.seen, hash)
		}
		delete(g.mu.byExpiry, h)
	}
	if height > g.mu.pruned {
		g.mu.pruned = height
	}
	return from, g.mu.pruned
}

// load rebuilds the guard from the expiry index, for txs still includable
// at height.
func (g *replayGuard) load(db *pebble.DB, height int64) error {
	lower := expiryKey(height, [32]byte{})
	upper := append([]byte(nil), prefixExpiry...)
	upper[len(upper)-1]++
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	var entries []guardEntry
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != len(prefixExpiry)+8+32 || !bytes.HasPrefix(k, prefixExpiry) {
			_ = it.Close()
			return errors.New("chainengine: corrupt replay index key")
		}
		var e guardEntry
		e.expiresAt = int64(binary.BigEndian.Uint64(k[len(prefixExpiry):]))
		copy(e.hash[:], k[len(prefixExpiry)+8:])
		entries = append(entries, e)
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return err
	}
	g.add(entries)
	g.mu.Lock()
	g.mu.pruned = height
	g.mu.Unlock()
	return nil
}

// size is how many txs the guard remembers.
func (g *replayGuard) size() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.mu.seen)
}
