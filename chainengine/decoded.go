package chainengine

import (
	"sync"
	"unsafe"

	"github.com/ewrchain/ewr/receipt"
)

// decodedTx is a tx this node decoded, verified and whose op it decoded.
type decodedTx struct {
	tx    *Tx
	op    receipt.Op
	opErr error // the op does not decode or is malformed on its face
}

// decodedCapacity bounds the cache to a few mempools' worth of txs.
const decodedCapacity = 20_000

// decodedCache keeps what CheckTx decoded and verified so that
// ProcessProposal and FinalizeBlock do not decode the same bytes again.
// Keyed like the SigCache (sha256 of the raw tx), so a proposal that pairs
// a known body with other signature bytes misses and is verified afresh.
// FinalizeBlock takes entries out: a committed tx is not seen again except
// as a replay, which is refused before decoding matters.
type decodedCache struct {
	mu   sync.Mutex
	m    map[[32]byte]*decodedTx
	ring [][32]byte
	next int
}

func newDecodedCache() *decodedCache {
	return &decodedCache{m: make(map[[32]byte]*decodedTx, decodedCapacity), ring: make([][32]byte, 0, decodedCapacity)}
}

func (c *decodedCache) put(key [32]byte, d *decodedTx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; ok {
		return
	}
	if len(c.ring) < cap(c.ring) {
		c.ring = append(c.ring, key)
	} else {
		delete(c.m, c.ring[c.next])
		c.ring[c.next] = key
		c.next = (c.next + 1) % len(c.ring)
	}
	c.m[key] = d
}

// get returns the entry for key; take also removes it.
func (c *decodedCache) get(key [32]byte, take bool) *decodedTx {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.m[key]
	if take && d != nil {
		delete(c.m, key) // its ring slot is reused in time
	}
	return d
}

// signerCache remembers, per participant, the key and status decoded from
// its record, tied to the record's bytes: tree values are immutable, so the
// same backing array means the same record, and a changed participant is a
// new array that misses.
type signerCache struct {
	mu sync.Mutex
	m  map[string]signerEntry
}

type signerEntry struct {
	raw    *byte
	n      int
	epoch  uint64 // the committed signer epoch it was read at; 0: a block's state
	key    receipt.PubKey
	active bool
}

func (c *signerCache) lookup(id string, raw []byte) (receipt.PubKey, bool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || e.raw != unsafe.SliceData(raw) || e.n != len(raw) {
		return receipt.PubKey{}, false, false
	}
	return e.key, e.active, true
}

// lookupEpoch hits if the entry was read from a committed tree of this
// signer epoch (never for epoch 0).
func (c *signerCache) lookupEpoch(id string, epoch uint64) (receipt.PubKey, bool, bool) {
	if epoch == 0 {
		return receipt.PubKey{}, false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || e.epoch != epoch {
		return receipt.PubKey{}, false, false
	}
	return e.key, e.active, true
}

func (c *signerCache) store(id string, raw []byte, key receipt.PubKey, active bool, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 100_000 {
		c.m = map[string]signerEntry{}
	}
	c.m[id] = signerEntry{raw: unsafe.SliceData(raw), n: len(raw), epoch: epoch, key: key, active: active}
}
