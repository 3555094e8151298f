package merkle

import (
	"crypto/sha256"
	"errors"
	"fmt"
)

// ErrProofInvalid is what every failed Verify matches with errors.Is. The
// finer errors below say why; each of them also matches ErrProofInvalid.
var ErrProofInvalid = errors.New("merkle: proof does not verify")

// Reasons a proof fails.
var (
	// ErrProofMalformed: the proof could not come from any tree (too many
	// steps, bit indices out of range or not increasing, steps without a
	// leaf, a leaf off the path its steps describe).
	ErrProofMalformed = &proofError{"merkle: malformed proof"}
	// ErrRootMismatch: the proof hashes to another root.
	ErrRootMismatch = &proofError{"merkle: proof root mismatch"}
	// ErrKeyPresent: absence was claimed but the proof's leaf is the key's.
	ErrKeyPresent = &proofError{"merkle: key is present"}
	// ErrKeyAbsent: a value was claimed but the proof's leaf is another
	// key's, or the tree is empty.
	ErrKeyAbsent = &proofError{"merkle: key is absent"}
	// ErrValueMismatch: the key is present with another value.
	ErrValueMismatch = &proofError{"merkle: value mismatch"}
)

type proofError struct{ msg string }

func (e *proofError) Error() string        { return e.msg }
func (e *proofError) Is(target error) bool { return target == ErrProofInvalid }

// Proof shows that a key has a given value, or no value, in the tree with a
// given root. It is canon-encodable; decode it with canon.Unmarshal and call
// Verify, which checks everything a hostile sender could have changed.
type Proof struct {
	// Steps are the inner nodes on the search path for the key's hash, from
	// the root down: each crit bit and the hash of the child not taken.
	Steps []Step
	// Leaf is the leaf the search reaches, or nil when the tree is empty.
	Leaf *ProofLeaf
}

// Step is one inner node on a proof's path.
type Step struct {
	BitIndex uint16
	Sibling  [32]byte
}

// ProofLeaf is the leaf at the end of a proof's path.
type ProofLeaf struct {
	KeyHash   [32]byte
	ValueHash [32]byte
}

// Prove returns a proof of key's value if the key is present, or of its
// absence if not. The proof shares no memory with the tree.
func (t *Tree) Prove(key []byte) *Proof {
	if t == nil || t.root == nil {
		return &Proof{}
	}
	keyHash := sha256.Sum256(key)
	depth := 0
	for n := t.root; !n.isLeaf(); n = n.child[bitAt(&keyHash, int(n.bit))] {
		depth++
	}
	steps := make([]Step, 0, depth)
	n := t.root
	for !n.isLeaf() {
		side := bitAt(&keyHash, int(n.bit))
		steps = append(steps, Step{BitIndex: n.bit, Sibling: n.child[1-side].hash})
		n = n.child[side]
	}
	return &Proof{
		Steps: steps,
		Leaf:  &ProofLeaf{KeyHash: n.rep.keyHash, ValueHash: sha256.Sum256(n.rep.value())},
	}
}

// Verify checks the proof against root for key. With a non-nil value it
// checks that key is present with exactly that value; with a nil value it
// checks that key is absent. A present empty value is a non-nil empty slice
// (as Get returns it): callers that decoded a value must not pass nil for it.
// Every failure matches ErrProofInvalid; Verify never panics on a malformed
// proof.
//
// Why an absence proof is sound. The tree behind an honest root is a
// well-formed crit-bit trie: each inner node's crit bit is the first bit at
// which the key hashes below it differ, the keys with a 0 there on the left.
// So the search for a hash h (at each inner node take the side named by h's
// bit at the crit bit) keeps h's leaf below it at every step if h is in the
// tree, and must end at h's leaf. Contrapositive: if the search for h ends at
// a leaf whose key hash is not h, h is not in the tree. The proof pins that
// search: Verify takes every side from h itself (the proof has no say), and
// recomputes the root from the leaf up, hashing each crit bit in. Since node
// hashes are domain separated (a leaf can't pass for an inner node or back)
// over fixed-length preimages, matching the root means, short of a SHA-256
// collision, that the steps are the tree's inner nodes from the root down,
// in order, with their real crit bits, that the search for h takes exactly
// these sides, and that the path ends at a real leaf, not part way down. That
// is the leaf the search for h reaches; if it is not h's, h is absent. The
// empty-tree case is the root of 32 zero bytes, which no node hashes to.
// The checks on bit order and on the leaf agreeing with the path are
// redundant with the root check for honest roots; they bound the work and
// reject garbage early.
func (p *Proof) Verify(root [32]byte, key, value []byte) error {
	if p == nil {
		return fmt.Errorf("%w: nil proof", ErrProofMalformed)
	}
	if len(p.Steps) > KeyHashBits {
		return fmt.Errorf("%w: %d steps, at most %d", ErrProofMalformed, len(p.Steps), KeyHashBits)
	}
	keyHash := sha256.Sum256(key)
	if p.Leaf == nil {
		if len(p.Steps) != 0 {
			return fmt.Errorf("%w: steps without a leaf", ErrProofMalformed)
		}
		if root != emptyRoot {
			return ErrRootMismatch
		}
		if value != nil {
			return ErrKeyAbsent
		}
		return nil
	}
	prev := -1
	for i := range p.Steps {
		b := int(p.Steps[i].BitIndex)
		if b <= prev || b >= KeyHashBits {
			return fmt.Errorf("%w: step %d bit index %d after %d", ErrProofMalformed, i, b, prev)
		}
		prev = b
		// The leaf lies below every step on the side the key takes.
		if bitAt(&p.Leaf.KeyHash, b) != bitAt(&keyHash, b) {
			return fmt.Errorf("%w: leaf off the key's path at step %d", ErrProofMalformed, i)
		}
	}
	switch {
	case value == nil && p.Leaf.KeyHash == keyHash:
		return ErrKeyPresent
	case value != nil && p.Leaf.KeyHash != keyHash:
		return ErrKeyAbsent
	case value != nil:
		if sha256.Sum256(value) != p.Leaf.ValueHash {
			return ErrValueMismatch
		}
	}
	h := hashLeaf(&p.Leaf.KeyHash, &p.Leaf.ValueHash)
	for i := len(p.Steps) - 1; i >= 0; i-- {
		s := &p.Steps[i]
		if bitAt(&keyHash, int(s.BitIndex)) == 0 {
			h = hashInner(s.BitIndex, &h, &s.Sibling)
		} else {
			h = hashInner(s.BitIndex, &s.Sibling, &h)
		}
	}
	if h != root {
		return ErrRootMismatch
	}
	return nil
}
