package merkle

import "crypto/sha256"

// Tree is one immutable snapshot of the trie. A nil *Tree and &Tree{} are
// both the empty tree. All methods are safe for concurrent use, including
// while another goroutine calls Apply on the same or an older snapshot.
type Tree struct {
	root *node
	n    int
}

// node is a leaf (child both nil) or an inner node (child both set). Nodes
// are written only by the Apply or Build call that creates them, before the
// snapshot holding them is returned, and never after.
type node struct {
	hash  [32]byte
	child [2]*node
	// rep is a leaf's own record and, for an inner node, the record of its
	// leftmost leaf. Its key hash stands for the prefix that every key hash
	// below the node shares (the first bit bits), which is what Apply needs
	// to tell whether a new key falls under the node.
	rep *record
	bit uint16 // crit bit of an inner node
}

// record is what a leaf holds: its key hash and a private copy of its key and
// value in one allocation.
type record struct {
	keyHash [32]byte
	kv      []byte
	keyLen  int
}

// leafNode puts a leaf and its record in one allocation.
type leafNode struct {
	node
	rec record
}

func (n *node) isLeaf() bool { return n.child[0] == nil }

func (r *record) key() []byte   { return r.kv[:r.keyLen:r.keyLen] }
func (r *record) value() []byte { return r.kv[r.keyLen:len(r.kv):len(r.kv)] }

// newLeaf copies key and value, so callers may reuse their buffers.
func newLeaf(keyHash *[32]byte, key, value []byte) *node {
	ln := &leafNode{}
	// make never returns nil, so a present empty value reads back as a
	// non-nil empty slice: Verify tells absence from presence by nil.
	ln.rec.kv = make([]byte, len(key)+len(value))
	copy(ln.rec.kv, key)
	copy(ln.rec.kv[len(key):], value)
	ln.rec.keyLen = len(key)
	ln.rec.keyHash = *keyHash
	valueHash := sha256.Sum256(value)
	ln.hash = hashLeaf(keyHash, &valueHash)
	ln.rep = &ln.rec
	return &ln.node
}

func newInner(critBit int, left, right *node) *node {
	if critBit < 0 || critBit >= KeyHashBits {
		panic("merkle: crit bit out of range")
	}
	n := &node{child: [2]*node{left, right}, rep: left.rep, bit: uint16(critBit)}
	n.hash = hashInner(n.bit, &left.hash, &right.hash)
	return n
}

// Root returns the root hash: 32 zero bytes for the empty tree.
func (t *Tree) Root() [32]byte {
	if t == nil || t.root == nil {
		return emptyRoot
	}
	return t.root.hash
}

// Len returns the number of keys.
func (t *Tree) Len() int {
	if t == nil {
		return 0
	}
	return t.n
}

// Get returns the value stored under key. A present key always has a non-nil
// value, even when it is empty. The returned bytes belong to the tree and
// must not be modified.
func (t *Tree) Get(key []byte) (value []byte, ok bool) {
	if t == nil || t.root == nil {
		return nil, false
	}
	keyHash := sha256.Sum256(key)
	leaf := t.root.search(&keyHash)
	if leaf.rep.keyHash != keyHash {
		return nil, false
	}
	return leaf.rep.value(), true
}

// search returns the leaf that the search for keyHash ends at: at each inner
// node it takes the side named by keyHash's bit at the crit bit.
func (n *node) search(keyHash *[32]byte) *node {
	for !n.isLeaf() {
		n = n.child[bitAt(keyHash, int(n.bit))]
	}
	return n
}

// Walk calls fn for each key and value in ascending key hash order, until fn
// returns false. The bytes belong to the tree and must not be modified.
func (t *Tree) Walk(fn func(key, value []byte) bool) {
	if t == nil || t.root == nil {
		return
	}
	t.root.walk(fn)
}

func (n *node) walk(fn func(key, value []byte) bool) bool {
	if n.isLeaf() {
		return fn(n.rep.key(), n.rep.value())
	}
	return n.child[0].walk(fn) && n.child[1].walk(fn)
}
