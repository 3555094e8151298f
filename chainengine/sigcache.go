package chainengine

import (
	"crypto/sha256"
	"runtime"
	"sync"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// DefaultSigCacheSize holds three mempools' worth of txs (about 20 s of
// saturated load on two cores; a tx waits in the mempool under 2 s), so
// ProcessProposal rarely meets a tx this node has not checked. Each entry
// costs ~75 bytes of live heap: 200,000 entries were ~60 MB of the live
// heap of 4 validators (ewr bench chain --memprofile); the peak RSS moved
// less than its run-to-run noise.
const DefaultSigCacheSize = 3 * mempoolSizeTxs

// SigCache remembers which raw txs this node has seen with valid signatures,
// so a tx verified by CheckTx is not verified again by ProcessProposal and
// FinalizeBlock. It is keyed by sha256 of the raw tx bytes, not the body
// hash: a proposer that pairs a cached body with a forged signature produces
// different raw bytes and is verified afresh. Entries are evicted oldest
// first. Safe for concurrent use: CheckTx runs on the mempool connection,
// ProcessProposal and FinalizeBlock on the consensus connection.
type SigCache struct {
	mu struct {
		sync.Mutex
		set  map[[32]byte]struct{}
		ring [][32]byte // insertion order; ring[next] is the oldest once full
		next int
	}
	blocks struct {
		sync.Mutex
		recent [recentBlocks]checkedBlock
		next   int
	}
}

// recentBlocks is how many checked proposals CheckBlockTxsFor remembers: a
// height can see a proposal per round before one is decided.
const recentBlocks = 4

type checkedBlock struct {
	hash string
	txs  []BlockTx
}

// NewSigCache returns a cache holding at most capacity entries.
func NewSigCache(capacity int) *SigCache {
	if capacity <= 0 {
		panic("chainengine: sig cache capacity must be positive")
	}
	c := &SigCache{}
	c.mu.set = make(map[[32]byte]struct{}, capacity)
	c.mu.ring = make([][32]byte, 0, capacity)
	return c
}

// SigCacheKey is the cache key of a raw tx.
func SigCacheKey(raw []byte) [32]byte { return sha256.Sum256(raw) }

// Has reports whether key was recorded and not yet evicted.
func (c *SigCache) Has(key [32]byte) bool {
	c.mu.Lock()
	_, ok := c.mu.set[key]
	c.mu.Unlock()
	return ok
}

// Add records that the tx with this key has valid signatures.
func (c *SigCache) Add(keys ...[32]byte) {
	c.mu.Lock()
	for _, k := range keys {
		c.addLocked(k)
	}
	c.mu.Unlock()
}

func (c *SigCache) addLocked(key [32]byte) {
	if _, ok := c.mu.set[key]; ok {
		return
	}
	if len(c.mu.ring) < cap(c.mu.ring) {
		c.mu.ring = append(c.mu.ring, key)
	} else {
		delete(c.mu.set, c.mu.ring[c.mu.next])
		c.mu.ring[c.mu.next] = key
		c.mu.next = (c.mu.next + 1) % len(c.mu.ring)
	}
	c.mu.set[key] = struct{}{}
}

// Len returns the number of entries.
func (c *SigCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.mu.set)
}

// Verify checks tx's signatures unless the cache already vouches for its raw
// bytes, and records them if they are valid.
func (c *SigCache) Verify(tx *Tx) error {
	key := SigCacheKey(tx.Raw)
	if c.Has(key) {
		return nil
	}
	if err := tx.VerifySigs(); err != nil {
		return err
	}
	c.Add(key)
	return nil
}

// BlockTx is one tx of a proposal or block after decoding and signature
// checks. Exactly one of Tx and Err is set.
type BlockTx struct {
	Tx  *Tx
	Err error
}

// CheckBlockTxs decodes every raw tx and verifies the signatures of those the
// cache does not vouch for, as one batch spread over the available cores.
// Txs whose signatures verify are added to the cache. Used by ProcessProposal
// (which rejects the proposal if any Err is set) and FinalizeBlock (which
// gives each failing tx an error result).
func (c *SigCache) CheckBlockTxs(raws [][]byte) []BlockTx {
	out := make([]BlockTx, len(raws))
	var todo []int // indexes of decoded txs to verify
	var keys [][32]byte
	for i, raw := range raws {
		tx, err := DecodeTx(raw)
		if err != nil {
			out[i].Err = err
			continue
		}
		out[i].Tx = tx
		k := SigCacheKey(raw)
		if !c.Has(k) {
			todo = append(todo, i)
			keys = append(keys, k)
		}
	}
	if len(todo) == 0 {
		return out
	}
	txs := make([]*Tx, len(todo))
	for j, i := range todo {
		txs[j] = out[i].Tx
	}
	valid := verifyTxs(txs)
	good := keys[:0]
	for j, i := range todo {
		if valid[j] {
			good = append(good, keys[j])
			continue
		}
		out[i] = BlockTx{Err: ErrTxBadSig}
	}
	c.Add(good...)
	return out
}

// CheckBlockTxsFor is CheckBlockTxs remembered by block hash, so that
// FinalizeBlock reuses what ProcessProposal computed for the same block
// instead of decoding and hashing every tx again. The hash commits to the
// txs, so equal hashes mean equal txs. An empty hash (a block replayed
// without ProcessProposal may still carry one) is never remembered. The
// result is shared: callers must not modify it.
func (c *SigCache) CheckBlockTxsFor(blockHash []byte, raws [][]byte) []BlockTx {
	if len(blockHash) == 0 {
		return c.CheckBlockTxs(raws)
	}
	key := string(blockHash)
	c.blocks.Lock()
	for _, b := range c.blocks.recent {
		if b.hash == key && len(b.txs) == len(raws) {
			c.blocks.Unlock()
			return b.txs
		}
	}
	c.blocks.Unlock()
	txs := c.CheckBlockTxs(raws)
	c.blocks.Lock()
	c.blocks.recent[c.blocks.next] = checkedBlock{hash: key, txs: txs}
	c.blocks.next = (c.blocks.next + 1) % recentBlocks
	c.blocks.Unlock()
	return txs
}

// minBatchPerWorker is the fewest txs worth handing to another goroutine.
const minBatchPerWorker = 64

// verifyTxs reports, for each tx, whether all its signatures are valid. It
// batch-verifies (about 40% cheaper per signature than one by one) and splits
// large batches across GOMAXPROCS goroutines.
func verifyTxs(txs []*Tx) []bool {
	valid := make([]bool, len(txs))
	workers := min(runtime.GOMAXPROCS(0), len(txs)/minBatchPerWorker)
	if workers <= 1 {
		verifyChunk(txs, valid)
		return valid
	}
	var wg sync.WaitGroup
	per := (len(txs) + workers - 1) / workers
	for lo := 0; lo < len(txs); lo += per {
		hi := min(lo+per, len(txs))
		wg.Add(1)
		go func() {
			defer wg.Done()
			verifyChunk(txs[lo:hi], valid[lo:hi])
		}()
	}
	wg.Wait()
	return valid
}

func verifyChunk(txs []*Tx, valid []bool) {
	if len(txs) == 1 {
		valid[0] = txs[0].VerifySigs() == nil
		return
	}
	n := 0
	for _, tx := range txs {
		n += len(tx.Sigs)
	}
	bv := voi.NewBatchVerifierWithCapacity(n)
	for _, tx := range txs {
		msg := SignBytes(tx.body)
		for k := range tx.Sigs {
			s := &tx.Sigs[k]
			bv.AddWithOptions(voi.PublicKey(s.PubKey[:]), msg, s.Sig[:], verifyOpts)
		}
	}
	_, sigOK := bv.Verify(nil) // sigOK is filled in whether or not all are valid
	j := 0
	for i, tx := range txs {
		ok := true
		for range tx.Sigs {
			ok = ok && sigOK[j]
			j++
		}
		valid[i] = ok
	}
}
