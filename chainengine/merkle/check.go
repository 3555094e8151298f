package merkle

import (
	"crypto/sha256"
	"fmt"
)

// check walks the whole tree and reports the first broken invariant: crit
// bits, order, representatives, hashes, count. It is O(n) hashing; tests
// call it, and Apply and Build call it under the invariants build tag.
func (t *Tree) check() error {
	if t == nil || t.root == nil {
		if t.Len() != 0 {
			return fmt.Errorf("merkle: empty tree with count %d", t.Len())
		}
		return nil
	}
	c := checker{}
	if _, _, err := c.node(t.root, -1); err != nil {
		return err
	}
	if c.leaves != t.n {
		return fmt.Errorf("merkle: count %d, %d leaves", t.n, c.leaves)
	}
	return nil
}

func (t *Tree) mustCheck() {
	if err := t.check(); err != nil {
		panic(err)
	}
}

type checker struct {
	leaves int
	last   *[32]byte // key hash of the previous leaf in order
}

// node checks the subtree n below a parent with crit bit parentBit and
// returns its smallest and largest key hash.
func (c *checker) node(n *node, parentBit int) (lo, hi *[32]byte, err error) {
	if n.child[0] == nil || n.child[1] == nil {
		if n.child[0] != n.child[1] {
			return nil, nil, fmt.Errorf("merkle: node with one child")
		}
		r := n.rep
		if r == nil {
			return nil, nil, fmt.Errorf("merkle: leaf without record")
		}
		if sha256.Sum256(r.key()) != r.keyHash {
			return nil, nil, fmt.Errorf("merkle: leaf %x: key hash does not match key", r.keyHash)
		}
		vh := sha256.Sum256(r.value())
		if hashLeaf(&r.keyHash, &vh) != n.hash {
			return nil, nil, fmt.Errorf("merkle: leaf %x: stale hash", r.keyHash)
		}
		if c.last != nil && compareHash(c.last, &r.keyHash) >= 0 {
			return nil, nil, fmt.Errorf("merkle: leaf %x out of order after %x", r.keyHash, *c.last)
		}
		c.last = &r.keyHash
		c.leaves++
		return &r.keyHash, &r.keyHash, nil
	}
	b := int(n.bit)
	if b <= parentBit || b >= KeyHashBits {
		return nil, nil, fmt.Errorf("merkle: crit bit %d under %d", b, parentBit)
	}
	llo, lhi, err := c.node(n.child[0], b)
	if err != nil {
		return nil, nil, err
	}
	rlo, rhi, err := c.node(n.child[1], b)
	if err != nil {
		return nil, nil, err
	}
	if firstDiff(llo, rhi) != b || bitAt(lhi, b) != 0 || bitAt(rlo, b) != 1 {
		return nil, nil, fmt.Errorf("merkle: crit bit %d does not split its leaves", b)
	}
	if n.rep != n.child[0].rep {
		return nil, nil, fmt.Errorf("merkle: inner node %d: representative is not its leftmost leaf", b)
	}
	if hashInner(n.bit, &n.child[0].hash, &n.child[1].hash) != n.hash {
		return nil, nil, fmt.Errorf("merkle: inner node %d: stale hash", b)
	}
	return llo, rhi, nil
}
