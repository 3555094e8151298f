package chainengine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/cockroachdb/pebble"
	"github.com/ewrchain/ewr/chainengine/merkle"
	"github.com/ewrchain/ewr/ledger"
)

// The receipt app's pebble layout. Only "s/" is authenticated (under the
// merkle root that is the app hash); the rest is derived from blocks.
var (
	prefixState  = []byte("s/") // s/<record key> → canonical record
	prefixResult = []byte("x/") // x/<tx body hash> → TxRecord (the replay guard and the tx index)
	prefixBlock  = []byte("k/") // k/<height, 8 bytes BE> → ledger.BlockRecord
	prefixUndo   = []byte("u/") // u/<height, 8 bytes BE> → the values the block replaced (the latest block only)
)

func stateKey(key string) []byte {
	return append(append(make([]byte, 0, len(prefixState)+len(key)), prefixState...), key...)
}

func resultKey(hash [32]byte) []byte {
	return append(append(make([]byte, 0, len(prefixResult)+32), prefixResult...), hash[:]...)
}

func undoKey(height int64) []byte {
	k := append(make([]byte, 0, len(prefixUndo)+8), prefixUndo...)
	return binary.BigEndian.AppendUint64(k, uint64(height))
}

// undo is what a block replaced: each changed key's value before it (or
// its absence). A restart rebuilds the tree of the block before the last
// from it, so the newest state under a signed header is provable at once.
type undo struct {
	Keys    [][]byte
	Values  [][]byte
	Existed []bool
}

// undoOf records the values changes replace in base (from the block's read
// memo where it has them).
func undoOf(base *merkle.Tree, reads map[string]*[]byte, changes []merkle.Change) *undo {
	u := &undo{Keys: make([][]byte, len(changes)), Values: make([][]byte, len(changes)), Existed: make([]bool, len(changes))}
	for i, c := range changes {
		u.Keys[i] = c.Key
		if v, ok := reads[string(c.Key)]; ok {
			if v != nil {
				u.Values[i], u.Existed[i] = *v, true
			}
			continue
		}
		u.Values[i], u.Existed[i] = base.Get(c.Key)
	}
	return u
}

// revert is the tree before the block u undoes.
func (u *undo) revert(t *merkle.Tree) *merkle.Tree {
	changes := make([]merkle.Change, len(u.Keys))
	for i, k := range u.Keys {
		changes[i] = merkle.Change{Key: k, Value: u.Values[i], Delete: !u.Existed[i]}
	}
	return t.Apply(changes)
}

func blockKey(height int64) []byte {
	k := append(make([]byte, 0, len(prefixBlock)+8), prefixBlock...)
	return binary.BigEndian.AppendUint64(k, uint64(height))
}

// snapshotsKept is how many committed versions of the tree stay in memory
// for proofs: a bank's proof is checked against the newest signed header,
// whose app hash is the state one or two blocks behind the newest commit.
// Each version keeps alive the nodes its block copied, and the collector
// marks them all: under the chain benchmark's load, 128 versions held the
// 4-node process at 3.9 GB RSS against 2.5 GB for 16, with a longer tail
// (p99 0.9-1.7 s against 0.8 s).
const snapshotsKept = 16

// committedState is the app's committed view: the tree after the last
// Commit and a few earlier versions. Trees are immutable, so readers hold a
// snapshot without locks once they have it.
type committedState struct {
	mu struct {
		sync.RWMutex
		chainID   string
		height    int64
		appHash   []byte
		tree      *merkle.Tree
		snapshots map[int64]*merkle.Tree // height → tree after that block
		order     []int64                // snapshot heights, oldest first
		// signerEpoch changes whenever a commit changes a participant
		// record (or the tree is replaced wholesale): two trees with the
		// same epoch hold the same participants. It starts at 1.
		signerEpoch uint64
	}
}

func (s *committedState) view() (chainID string, height int64, appHash []byte, tree *merkle.Tree) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.mu.chainID, s.mu.height, s.mu.appHash, s.mu.tree
}

// checkView is what CheckTx reads: the committed tree and its signer epoch.
func (s *committedState) checkView() (chainID string, height int64, tree *merkle.Tree, signerEpoch uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.mu.chainID, s.mu.height, s.mu.tree, s.mu.signerEpoch
}

// set publishes the tree after block height. signersChanged says the block
// changed a participant record (always true when a tree is loaded).
func (s *committedState) set(height int64, appHash []byte, tree *merkle.Tree, signersChanged bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if signersChanged || s.mu.signerEpoch == 0 {
		s.mu.signerEpoch++
	}
	s.mu.height, s.mu.appHash, s.mu.tree = height, appHash, tree
	if s.mu.snapshots == nil {
		s.mu.snapshots = map[int64]*merkle.Tree{}
	}
	s.mu.snapshots[height] = tree
	s.mu.order = append(s.mu.order, height)
	for len(s.mu.order) > snapshotsKept {
		delete(s.mu.snapshots, s.mu.order[0])
		s.mu.order = s.mu.order[1:]
	}
}

// snapshot returns the tree as it was after block height, if still kept.
func (s *committedState) snapshot(height int64) (*merkle.Tree, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.mu.snapshots[height]
	return t, ok
}

// loadTree rebuilds the authenticated tree from the state records in db.
// The tree's shape depends only on its contents, so the rebuilt root equals
// the root committed before the restart; the caller checks it does.
func loadTree(db *pebble.DB) (*merkle.Tree, error) {
	upper := append([]byte(nil), prefixState...)
	upper[len(upper)-1]++
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: prefixState, UpperBound: upper})
	if err != nil {
		return nil, err
	}
	var pairs []merkle.KV
	for ok := it.First(); ok; ok = it.Next() {
		pairs = append(pairs, merkle.KV{Key: bytes.Clone(it.Key()[len(prefixState):]), Value: bytes.Clone(it.Value())})
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return nil, err
	}
	return merkle.Build(pairs), nil
}

// blockState is the state one block sees while it executes: the writes of
// the block's earlier txs over the committed tree. It implements
// receipt.Store; the ledger puts a per-op overlay over it.
type blockState struct {
	base   *merkle.Tree
	writes map[string]*[]byte // nil value: deleted
	order  []string
	// reads memoizes base reads: a block's txs read the same records (their
	// signers, banks, lots) again and again, and each tree read hashes the
	// key and walks the tree. older is the memo's previous generation
	// (hotReads): a read found there moves to reads.
	reads map[string]*[]byte // nil value: absent
	older map[string]*[]byte
}

// newBlockState starts a block over base. m, if not empty, must hold base's
// values (hotReads.forTree); the block adds what it reads to it.
func newBlockState(base *merkle.Tree, m memo) *blockState {
	if m.recent == nil {
		m.recent = map[string]*[]byte{}
	}
	return &blockState{base: base, writes: map[string]*[]byte{}, reads: m.recent, older: m.older}
}

// memo is what hotReads carries: the records the last blocks read or wrote
// (recent) and those the blocks before them did (older).
type memo struct {
	recent, older map[string]*[]byte
}

// hotReadsGen is how many records a generation of the memo holds before it
// becomes the older one and the one before it is dropped: the memo keeps at
// most two (~25 MB per node at the receipt workload's records), and the
// records every block reads (signers, banks, lots) move to the new one as
// soon as a block reads them. With one generation of 2^18 records, dropped
// whole when full, a node's memo held ~100 MB and every record's value a
// second time beside the tree's own copy.
const hotReadsGen = 1 << 15

// hotReads carries a block's read memo over to the next block: consecutive
// blocks read mostly the same records (signers, banks, lots, the receipts
// a trade is working on), and a tree read walks ~20 nodes that are rarely in
// cache. The memo is valid for exactly one tree; Commit moves it to the new
// tree by applying the block's changes to it. Only the consensus connection
// (FinalizeBlock, Commit) touches it.
type hotReads struct {
	tree *merkle.Tree
	memo memo
	gen  int // records per generation; 0: hotReadsGen
}

// forTree returns the memo if it holds tree's values, else an empty one.
func (h *hotReads) forTree(tree *merkle.Tree) memo {
	if h.tree != tree || tree == nil {
		return memo{}
	}
	return h.memo
}

// advance makes m, which held the values of the tree a block started from
// (the block's recent reads, and older as it was), hold those of tree,
// which the block's changes made. The changes go to the recent generation,
// where they shadow any older value.
func (h *hotReads) advance(tree *merkle.Tree, m memo, changes []merkle.Change) {
	if m.recent == nil {
		h.tree, h.memo = nil, memo{}
		return
	}
	for _, c := range changes {
		if c.Delete {
			m.recent[string(c.Key)] = nil
		} else {
			v := c.Value
			m.recent[string(c.Key)] = &v
		}
	}
	gen := h.gen
	if gen <= 0 {
		gen = hotReadsGen
	}
	if len(m.recent) > gen {
		m.older, m.recent = m.recent, make(map[string]*[]byte, gen/4)
	}
	h.tree, h.memo = tree, m
}

func (b *blockState) Get(key string) ([]byte, bool) {
	if v, ok := b.writes[key]; ok {
		if v == nil {
			return nil, false
		}
		return *v, true
	}
	if v, ok := b.reads[key]; ok {
		if v == nil {
			return nil, false
		}
		return *v, true
	}
	if v, ok := b.older[key]; ok {
		b.reads[key] = v
		if v == nil {
			return nil, false
		}
		return *v, true
	}
	v, ok := b.base.Get([]byte(key))
	if ok {
		b.reads[key] = &v
	} else {
		b.reads[key] = nil
	}
	return v, ok
}

func (b *blockState) Set(key string, value []byte) {
	if _, seen := b.writes[key]; !seen {
		b.order = append(b.order, key)
	}
	b.writes[key] = &value
}

func (b *blockState) Delete(key string) {
	if _, seen := b.writes[key]; !seen {
		b.order = append(b.order, key)
	}
	b.writes[key] = nil
}

// changes returns the block's net writes in key order, for the tree and
// for pebble.
func (b *blockState) changes() []merkle.Change {
	keys := append([]string(nil), b.order...)
	sort.Strings(keys)
	out := make([]merkle.Change, len(keys))
	for i, k := range keys {
		if v := b.writes[k]; v == nil {
			out[i] = merkle.Change{Key: []byte(k), Delete: true}
		} else {
			out[i] = merkle.Change{Key: []byte(k), Value: *v}
		}
	}
	return out
}

// memView reads a tree as a receipt.Store (read-only): genesis building and
// queries use it.
type treeStore struct{ t *merkle.Tree }

func (s treeStore) Get(key string) ([]byte, bool) { return s.t.Get([]byte(key)) }
func (s treeStore) Set(string, []byte)            { panic("chainengine: write to a read-only state view") }
func (s treeStore) Delete(string)                 { panic("chainengine: write to a read-only state view") }

// Range implements ledger.Ranger over a tree (order: sorted keys).
func (s treeStore) Range(prefix string, fn func(key string, value []byte)) {
	var keys []string
	vals := map[string][]byte{}
	s.t.Walk(func(k, v []byte) bool {
		if bytes.HasPrefix(k, []byte(prefix)) {
			keys = append(keys, string(k))
			vals[string(k)] = v
		}
		return true
	})
	sort.Strings(keys)
	for _, k := range keys {
		fn(k, vals[k])
	}
}

var _ ledger.Ranger = treeStore{}

func u64Bytes(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func parseU64(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("chainengine: bad u64 record of %d bytes", len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// pebbleState lists the committed state by key prefix from pebble's s/
// keys, which hold exactly the tree's records after each Commit: a prefix
// read costs what it returns, not a walk of the tree.
type pebbleState struct{ db *pebble.DB }

// Range implements ledger.Ranger (order: sorted keys).
func (s pebbleState) Range(prefix string, fn func(key string, value []byte)) {
	lo := stateKey(prefix)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		panic(fmt.Sprintf("chainengine: state iterator: %v", err))
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		fn(string(it.Key()[len(prefixState):]), append([]byte(nil), it.Value()...))
	}
	if err := it.Error(); err != nil {
		panic(fmt.Sprintf("chainengine: state iterator: %v", err))
	}
}

// prefixEnd is the first key after every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// List implements ledger.Lister: the records under prefix whose key is
// after prefix+after, in key order, until fn returns false; a page costs
// what it reads.
func (s pebbleState) List(prefix, after string, fn func(key string, value []byte) bool) {
	lo := stateKey(prefix)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		panic(fmt.Sprintf("chainengine: state iterator: %v", err))
	}
	defer it.Close()
	ok := it.First()
	if after != "" {
		ok = it.SeekGE(append(stateKey(prefix+after), 0))
	}
	for ; ok; ok = it.Next() {
		if !fn(string(it.Key()[len(prefixState):]), append([]byte(nil), it.Value()...)) {
			return
		}
	}
}

// committedView is the committed state: reads from its tree, lists from
// pebble's ordered keys (which a Commit moves on together with the tree;
// a list racing a Commit may read the newer block).
type committedView struct {
	treeStore
	pebbleState
}

// Range lists from pebble, not by walking the tree.
func (v committedView) Range(prefix string, fn func(key string, value []byte)) {
	v.pebbleState.Range(prefix, fn)
}

var (
	_ ledger.Ranger = pebbleState{}
	_ ledger.Lister = committedView{}
)
