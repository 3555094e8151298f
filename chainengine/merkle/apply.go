package merkle

import (
	"bytes"
	"crypto/sha256"
	"runtime"
	"slices"
	"sort"
	"sync"
)

// Change is one update in a batch: set Key to Value, or remove Key when
// Delete is set (Value is then ignored). A nil Value with Delete unset sets
// the key to the empty value; it does not remove it.
type Change struct {
	Key, Value []byte
	Delete     bool
}

// KV is one record for Build.
type KV struct {
	Key, Value []byte
}

// Thresholds below which work stays on the calling goroutine: a fork costs
// about a microsecond, an op about ten node hashes (5 µs without SHA
// instructions), a node one hash.
const (
	parallelMinOps   = 16
	parallelMinNodes = 1024
	parallelMinKeys  = 4096
)

// Apply returns the snapshot with changes applied, t itself when they change
// nothing. Within one batch the last change to a key wins, so the result
// depends only on the set of keys and values left, never on the order of
// the changes or how they were split into batches. t is not modified and
// stays valid. Apply copies keys and values: callers may reuse the buffers
// once it returns.
//
// Apply hashes each inner node on the union of the changed paths once, and
// spreads the work over up to GOMAXPROCS goroutines when the batch is large.
func (t *Tree) Apply(changes []Change) *Tree {
	return t.apply(changes, runtime.GOMAXPROCS(0))
}

// ApplyWorkers is Apply on at most workers goroutines. A process running
// several validators already keeps every core busy; more goroutines then
// only add scheduling cost, so the chain applies with one.
func (t *Tree) ApplyWorkers(changes []Change, workers int) *Tree {
	return t.apply(changes, max(workers, 1))
}

func (t *Tree) apply(changes []Change, workers int) *Tree {
	var root *node
	n := 0
	if t != nil {
		root, n = t.root, t.n
	}
	ops := sortedOps(len(changes), func(i int) []byte { return changes[i].Key }, workers)
	a := &applier{changes: changes, tokens: newTokens(workers)}
	newRoot := a.apply(root, ops, -1)
	if newRoot == root && t != nil {
		return t
	}
	nt := &Tree{root: newRoot, n: n + a.added - a.removed}
	if invariants {
		nt.mustCheck()
	}
	return nt
}

// Build returns the tree holding pairs, as if they were applied to the empty
// tree in one batch (the last pair for a key wins). It is how a node rebuilds
// its tree from its stored records after a restart: O(n log n) to sort by key
// hash, then one hash per node.
func Build(pairs []KV) *Tree {
	return build(pairs, runtime.GOMAXPROCS(0))
}

func build(pairs []KV, workers int) *Tree {
	ops := sortedOps(len(pairs), func(i int) []byte { return pairs[i].Key }, workers)
	if len(ops) == 0 {
		return &Tree{}
	}
	leaves := make([]*node, len(ops))
	parallelFor(len(ops), workers, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			p := &pairs[ops[j].i]
			leaves[j] = newLeaf(&ops[j].kh, p.Key, p.Value)
		}
	})
	a := &applier{tokens: newTokens(workers)}
	t := &Tree{root: a.buildNodes(leaves), n: len(leaves)}
	if invariants {
		t.mustCheck()
	}
	return t
}

// op is one change or pair, by index, with its key hash.
type op struct {
	kh [32]byte
	i  int
}

// sortedOps hashes n keys, sorts them by key hash and keeps the last entry
// for each key.
func sortedOps(n int, key func(i int) []byte, workers int) []op {
	ops := make([]op, n)
	hashKeys := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ops[i] = op{kh: sha256.Sum256(key(i)), i: i}
		}
	}
	if n >= parallelMinKeys {
		parallelFor(n, workers, hashKeys)
	} else {
		hashKeys(0, n)
	}
	slices.SortFunc(ops, func(x, y op) int {
		if c := compareHash(&x.kh, &y.kh); c != 0 {
			return c
		}
		return x.i - y.i
	})
	w := 0
	for i := range ops {
		if i+1 < len(ops) && ops[i+1].kh == ops[i].kh {
			continue // a later entry for the same key wins
		}
		ops[w] = ops[i]
		w++
	}
	return ops[:w]
}

// applier carries one Apply or Build. A forked goroutine gets its own
// applier sharing changes and tokens; its counts are added in on join.
type applier struct {
	changes []Change
	// tokens holds one slot per goroutine that may run besides the callers';
	// nil when Apply must stay on one goroutine.
	tokens chan struct{}
	// scratch is reused by merge; no two merges of one applier overlap.
	scratch        []*node
	added, removed int
}

func newTokens(workers int) chan struct{} {
	if workers <= 1 {
		return nil
	}
	return make(chan struct{}, workers-1)
}

func (a *applier) tryFork() bool {
	select {
	case a.tokens <- struct{}{}:
		return true
	default:
		return false
	}
}

// apply returns the subtree n with ops applied. ops are sorted by key hash,
// hold at most one op per key, and are all the ops whose keys belong beside
// or under n: they and n's keys share their first known bits (those below
// the parent's crit bit, and the parent's crit bit itself; known is -1 at
// the root). n may be nil.
func (a *applier) apply(n *node, ops []op, known int) *node {
	if len(ops) == 0 {
		return n
	}
	if n == nil {
		return a.merge(nil, ops, nil)
	}
	// The keys under n are exactly the key hashes sharing n's first critBit
	// bits (all 256 for a leaf). Sorted, the ops split into a run before
	// that prefix, a run inside it, and a run after it. When n's crit bit
	// follows the known bits directly all ops are inside, and n's
	// representative, most often a cache miss away, need not be read.
	critBit := KeyHashBits
	if !n.isLeaf() {
		critBit = int(n.bit)
	}
	lo, hi := 0, len(ops)
	if ref := &n.rep.keyHash; critBit > known+1 &&
		(comparePrefix(&ops[0].kh, ref, critBit) != 0 || comparePrefix(&ops[hi-1].kh, ref, critBit) != 0) {
		lo = sort.Search(len(ops), func(i int) bool { return comparePrefix(&ops[i].kh, ref, critBit) >= 0 })
		hi = lo + sort.Search(len(ops)-lo, func(i int) bool { return comparePrefix(&ops[lo+i].kh, ref, critBit) > 0 })
	}
	under := n
	if lo < hi {
		if n.isLeaf() {
			under = a.update(n, &ops[lo]) // hi == lo+1: one op per key
		} else {
			in := ops[lo:hi]
			split := sort.Search(len(in), func(i int) bool { return bitAt(&in[i].kh, critBit) == 1 })
			l, r := a.applyChildren(n, in[:split], in[split:])
			under = join(n, l, r)
		}
	}
	if lo == 0 && hi == len(ops) {
		return under
	}
	// Ops outside n's prefix are absent keys: deleting them does nothing,
	// setting them makes new leaves beside what is left of n.
	return a.merge(under, ops[:lo], ops[hi:])
}

// update applies the op for leaf's own key.
func (a *applier) update(leaf *node, o *op) *node {
	c := &a.changes[o.i]
	if c.Delete {
		a.removed++
		return nil
	}
	if bytes.Equal(c.Value, leaf.rep.value()) {
		return leaf
	}
	return newLeaf(&o.kh, c.Key, c.Value)
}

func (a *applier) applyChildren(n *node, lops, rops []op) (l, r *node) {
	b := int(n.bit)
	if len(lops) >= parallelMinOps && len(rops) >= parallelMinOps && a.tryFork() {
		return a.applyChildrenForked(n, lops, rops)
	}
	return a.apply(n.child[0], lops, b), a.apply(n.child[1], rops, b)
}

// applyChildrenForked runs the left side on another goroutine. It is apart
// from applyChildren so that only forks pay for the result the goroutine
// writes escaping to the heap.
func (a *applier) applyChildrenForked(n *node, lops, rops []op) (l, r *node) {
	b := int(n.bit)
	sub := &applier{changes: a.changes, tokens: a.tokens}
	done := make(chan struct{})
	go func() {
		l = sub.apply(n.child[0], lops, b)
		<-a.tokens
		close(done)
	}()
	r = a.apply(n.child[1], rops, b)
	<-done
	a.added += sub.added
	a.removed += sub.removed
	return l, r
}

// join rebuilds inner node n over its possibly changed children. When one
// side emptied, the other takes n's place: its own crit bit is higher, and
// it holds every key that is left under n's prefix.
func join(n, l, r *node) *node {
	switch {
	case l == n.child[0] && r == n.child[1]:
		return n
	case l == nil:
		return r
	case r == nil:
		return l
	}
	return newInner(int(n.bit), l, r)
}

// merge builds the subtree over the new leaves of the set ops in below and
// above, and under between them. under is nil or a subtree holding exactly
// the keys with its prefix, which no op in below or above has.
func (a *applier) merge(under *node, below, above []op) *node {
	items := a.scratch[:0]
	items = a.appendLeaves(items, below)
	if under != nil {
		items = append(items, under)
	}
	items = a.appendLeaves(items, above)
	a.scratch = items[:0]
	if len(items) == 0 {
		return nil
	}
	return a.buildNodes(items)
}

func (a *applier) appendLeaves(items []*node, ops []op) []*node {
	for i := range ops {
		c := &a.changes[ops[i].i]
		if c.Delete {
			continue
		}
		items = append(items, newLeaf(&ops[i].kh, c.Key, c.Value))
		a.added++
	}
	return items
}

// buildNodes builds the crit-bit trie over ns: leaves and whole subtrees in
// ascending key hash order, where each subtree holds every key with its
// prefix. It touches no applier state but tokens, so forks share a.
//
// The crit bit c of the result is firstDiff of the first and last item's
// representative key hashes: all keys agree before c, and as no item holds
// every key, no item straddles c, so the first item sits wholly on the 0
// side and the last wholly on the 1 side, whichever of its keys stands for it.
func (a *applier) buildNodes(ns []*node) *node {
	if len(ns) == 1 {
		return ns[0]
	}
	c := firstDiff(&ns[0].rep.keyHash, &ns[len(ns)-1].rep.keyHash)
	if c >= KeyHashBits {
		panic("merkle: duplicate key hash in build")
	}
	split := 1 + sort.Search(len(ns)-1, func(i int) bool { return bitAt(&ns[1+i].rep.keyHash, c) == 1 })
	if split >= parallelMinNodes && len(ns)-split >= parallelMinNodes && a.tryFork() {
		l, r := a.buildNodesForked(ns[:split], ns[split:])
		return newInner(c, l, r)
	}
	return newInner(c, a.buildNodes(ns[:split]), a.buildNodes(ns[split:]))
}

func (a *applier) buildNodesForked(lns, rns []*node) (l, r *node) {
	done := make(chan struct{})
	go func() {
		l = a.buildNodes(lns)
		<-a.tokens
		close(done)
	}()
	r = a.buildNodes(rns)
	<-done
	return l, r
}

// parallelFor runs fn over [0, n) in up to workers contiguous chunks.
func parallelFor(n, workers int, fn func(lo, hi int)) {
	if workers <= 1 || n < 2*parallelMinKeys {
		fn(0, n)
		return
	}
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
