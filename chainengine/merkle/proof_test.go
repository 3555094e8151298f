package merkle

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"

	"github.com/ewrchain/ewr/internal/canon"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// claim is what a proof is checked for: key present with value, or absent
// when value is nil.
type claim struct {
	key, value []byte
}

func sampleTree(n int) (*Tree, map[string][]byte) {
	model := map[string][]byte{}
	var pairs []KV
	for i := range n {
		k, v := fmt.Appendf(nil, "lot/%d", i), fmt.Appendf(nil, "%d kg", 1000+i)
		if i == 3 {
			v = []byte{}
		}
		model[string(k)] = v
		pairs = append(pairs, KV{Key: k, Value: v})
	}
	return Build(pairs), model
}

// sampleClaims returns true claims about tree: every present key (or a
// sample of them) with its value, and absent keys.
func sampleClaims(tree *Tree, model map[string][]byte) []claim {
	var cs []claim
	for i := range min(len(model), 12) {
		k := fmt.Appendf(nil, "lot/%d", i*max(1, len(model)/12))
		cs = append(cs, claim{k, model[string(k)]})
	}
	for i := range 6 {
		cs = append(cs, claim{fmt.Appendf(nil, "absent/%d", i), nil})
	}
	return cs
}

// mustFail checks that p does not verify c against root, with an error (not
// a panic) that matches ErrProofInvalid.
func mustFail(t *testing.T, p *Proof, root [32]byte, c claim, what string) {
	t.Helper()
	err := p.Verify(root, c.key, c.value)
	if assert.Error(t, err, "%s: claim %q=%q verified", what, c.key, c.value) {
		assert.ErrorIs(t, err, ErrProofInvalid, what)
	}
}

func cloneProof(p *Proof) *Proof {
	q := &Proof{Steps: slices.Clone(p.Steps)}
	if p.Leaf != nil {
		l := *p.Leaf
		q.Leaf = &l
	}
	return q
}

func TestProofTampering(t *testing.T) {
	sizes := []int{0, 1, 2, 3, 200}
	trees := make([]*Tree, len(sizes))
	models := make([]map[string][]byte, len(sizes))
	for i, n := range sizes {
		trees[i], models[i] = sampleTree(n)
	}
	for ti, tree := range trees {
		root, model := tree.Root(), models[ti]
		t.Run(fmt.Sprintf("keys=%d", sizes[ti]), func(t *testing.T) {
			for _, c := range sampleClaims(tree, model) {
				p := tree.Prove(c.key)
				require.NoError(t, p.Verify(root, c.key, c.value), "claim %q", c.key)
				tamperBytes(t, p, root, c)
				tamperFields(t, p, root, c)
				tamperSides(t, p, root, c)
				otherClaims(t, tree, model, p, c)
				for oi, other := range trees {
					if other.Root() != root {
						mustFail(t, p, other.Root(), c, fmt.Sprintf("root of tree %d", oi))
					}
				}
				for i := range 256 {
					r := root
					r[i/8] ^= 0x80 >> (i % 8)
					mustFail(t, p, r, c, fmt.Sprintf("root bit %d flipped", i))
				}
			}
		})
	}
}

// tamperBytes flips single bytes of the encoded proof. Each flip must be
// refused by the decoder or, if it decodes, by Verify.
func tamperBytes(t *testing.T, p *Proof, root [32]byte, c claim) {
	enc := canon.Marshal(p)
	for i := range enc {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			mod := slices.Clone(enc)
			mod[i] ^= mask
			var q Proof
			if canon.Unmarshal(mod, &q) != nil {
				continue
			}
			require.Equal(t, mod, canon.Marshal(&q), "canon is canonical")
			mustFail(t, &q, root, c, fmt.Sprintf("byte %d ^ %#x", i, mask))
		}
	}
}

// tamperFields changes bit indices, siblings and the leaf, and drops and
// adds steps.
func tamperFields(t *testing.T, p *Proof, root [32]byte, c claim) {
	for i, s := range p.Steps {
		for _, b := range []int{int(s.BitIndex) - 1, int(s.BitIndex) + 1, 0, 1, 255, 256, 300, 65535} {
			if b < 0 || b > 65535 || b == int(s.BitIndex) {
				continue
			}
			q := cloneProof(p)
			q.Steps[i].BitIndex = uint16(b)
			mustFail(t, q, root, c, fmt.Sprintf("step %d bit index %d->%d", i, s.BitIndex, b))
		}
		for _, bit := range []int{0, 7, 128, 255} {
			q := cloneProof(p)
			q.Steps[i].Sibling[bit/8] ^= 0x80 >> (bit % 8)
			mustFail(t, q, root, c, fmt.Sprintf("step %d sibling bit %d", i, bit))
		}
		q := cloneProof(p)
		q.Steps = slices.Delete(q.Steps, i, i+1)
		mustFail(t, q, root, c, fmt.Sprintf("step %d dropped", i))
		if i+1 < len(p.Steps) {
			q := cloneProof(p)
			q.Steps[i], q.Steps[i+1] = q.Steps[i+1], q.Steps[i]
			mustFail(t, q, root, c, fmt.Sprintf("steps %d and %d swapped", i, i+1))
		}
	}
	for i := 0; i <= len(p.Steps); i++ {
		lo, hi := -1, KeyHashBits
		if i > 0 {
			lo = int(p.Steps[i-1].BitIndex)
		}
		if i < len(p.Steps) {
			hi = int(p.Steps[i].BitIndex)
		}
		// A step that keeps the bit order when there is room, one that
		// breaks it when there is not, and a copy of a neighbour.
		extra := []Step{{BitIndex: uint16(min(lo+1, 255)), Sibling: sha256.Sum256([]byte("x"))}}
		if hi-lo > 1 {
			extra = append(extra, Step{BitIndex: uint16((lo + hi) / 2), Sibling: p.Root(c)})
		}
		if i > 0 {
			extra = append(extra, p.Steps[i-1])
		}
		for _, s := range extra {
			q := cloneProof(p)
			q.Steps = slices.Insert(q.Steps, i, s)
			mustFail(t, q, root, c, fmt.Sprintf("step added at %d", i))
		}
	}
	if p.Leaf != nil {
		for _, bit := range []int{0, 100, 255} {
			q := cloneProof(p)
			q.Leaf.KeyHash[bit/8] ^= 0x80 >> (bit % 8)
			mustFail(t, q, root, c, fmt.Sprintf("leaf key hash bit %d", bit))
			q = cloneProof(p)
			q.Leaf.ValueHash[bit/8] ^= 0x80 >> (bit % 8)
			mustFail(t, q, root, c, fmt.Sprintf("leaf value hash bit %d", bit))
		}
		q := cloneProof(p)
		q.Leaf = nil
		mustFail(t, q, root, c, "leaf dropped")
		q.Steps = nil
		mustFail(t, q, root, c, "claimed empty")
	} else {
		kh := sha256.Sum256(c.key)
		for _, leaf := range []ProofLeaf{{}, {KeyHash: kh}, {KeyHash: sha256.Sum256([]byte("other"))}} {
			q := cloneProof(p)
			q.Leaf = &leaf
			mustFail(t, q, root, c, "leaf added to the empty proof")
		}
	}
}

// Root recomputes the root p commits to for c's key, trusting p: it is the
// hash an attacker can most easily get, which makes it a good forged sibling.
func (p *Proof) Root(c claim) [32]byte {
	if p.Leaf == nil {
		return [32]byte{}
	}
	kh := sha256.Sum256(c.key)
	h := hashLeaf(&p.Leaf.KeyHash, &p.Leaf.ValueHash)
	for i := len(p.Steps) - 1; i >= 0; i-- {
		s := &p.Steps[i]
		if bitAt(&kh, int(s.BitIndex)) == 0 {
			h = hashInner(s.BitIndex, &h, &s.Sibling)
		} else {
			h = hashInner(s.BitIndex, &s.Sibling, &h)
		}
	}
	return h
}

// tamperSides uses p for keys whose hashes turn the other way at exactly
// one step and agree at the others. A proof carries no side flags, so such
// a key is the only way to take a path with one side swapped.
func tamperSides(t *testing.T, p *Proof, root [32]byte, c claim) {
	kh := sha256.Sum256(c.key)
	for i := range p.Steps {
		var key []byte
		for n := 0; n < 1<<22 && key == nil; n++ {
			k := fmt.Appendf(nil, "probe/%d", n)
			h := sha256.Sum256(k)
			ok := true
			for j, s := range p.Steps {
				same := bitAt(&h, int(s.BitIndex)) == bitAt(&kh, int(s.BitIndex))
				if same != (j != i) {
					ok = false
					break
				}
			}
			if ok {
				key = k
			}
		}
		require.NotNil(t, key, "no probe key turns at step %d", i)
		mustFail(t, p, root, claim{key, nil}, fmt.Sprintf("side swapped at step %d, absence", i))
		value := c.value
		if value == nil {
			value = []byte("1000 kg")
		}
		mustFail(t, p, root, claim{key, value}, fmt.Sprintf("side swapped at step %d, presence", i))
		mustFail(t, p, root, claim{key, []byte{}}, fmt.Sprintf("side swapped at step %d, empty value", i))
	}
}

// otherClaims checks p against claims it does not prove: other keys, the
// opposite claim for its own key, other values.
func otherClaims(t *testing.T, tree *Tree, model map[string][]byte, p *Proof, c claim) {
	root := tree.Root()
	if c.value != nil {
		assert.ErrorIs(t, p.Verify(root, c.key, nil), ErrKeyPresent, "absence of a present key")
		mustFail(t, p, root, claim{c.key, append(slices.Clone(c.value), 'x')}, "other value")
		if len(c.value) > 0 {
			mustFail(t, p, root, claim{c.key, []byte{}}, "empty value")
		}
	} else {
		mustFail(t, p, root, claim{c.key, []byte{}}, "presence of an absent key (empty value)")
		mustFail(t, p, root, claim{c.key, []byte("1000 kg")}, "presence of an absent key")
		if p.Leaf != nil {
			// The value of the leaf the search ended at.
			var leafValue []byte
			tree.Walk(func(k, v []byte) bool {
				if sha256.Sum256(k) == p.Leaf.KeyHash {
					leafValue = v
					return false
				}
				return true
			})
			require.NotNil(t, leafValue)
			mustFail(t, p, root, claim{c.key, leafValue}, "presence of an absent key with its neighbour's value")
		}
	}
	others := []claim{}
	for k, v := range model {
		others = append(others, claim{[]byte(k), v}, claim{[]byte(k), nil})
	}
	for i := range 64 {
		others = append(others, claim{fmt.Appendf(nil, "absent/%d", i), nil}, claim{fmt.Appendf(nil, "absent/%d", i), []byte("1")})
	}
	for _, o := range others {
		if bytes.Equal(o.key, c.key) {
			continue
		}
		err := p.Verify(root, o.key, o.value)
		if c.value != nil && o.value != nil {
			// An inclusion proof ends at c's leaf: it proves no other presence.
			assert.ErrorIs(t, err, ErrProofInvalid, "proof of %q used for presence of %q", c.key, o.key)
			continue
		}
		if err != nil {
			assert.ErrorIs(t, err, ErrProofInvalid)
			continue
		}
		// A path proves what is true at its leaf for every key whose search
		// ends there: the inclusion of the leaf's own key, and the absence
		// of all the others. So a proof may verify another claim, but only
		// a true one, and only when it is exactly the proof for that key.
		v, present := model[string(o.key)]
		if o.value == nil {
			assert.False(t, present, "proof of %q shows the present %q absent", c.key, o.key)
		} else {
			assert.True(t, present && bytes.Equal(v, o.value), "proof of %q shows %q=%q", c.key, o.key, o.value)
		}
		assert.Equal(t, tree.Prove(o.key), p, "proof of %q verified %q, whose search ends elsewhere", c.key, o.key)
	}
}

func TestProofMalformed(t *testing.T) {
	tree, _ := sampleTree(50)
	root := tree.Root()
	key := []byte("lot/7")
	value, _ := tree.Get(key)
	good := tree.Prove(key)
	require.NoError(t, good.Verify(root, key, value))

	tooMany := cloneProof(good)
	for len(tooMany.Steps) <= KeyHashBits {
		tooMany.Steps = append(tooMany.Steps, Step{BitIndex: 255})
	}
	cases := map[string]*Proof{
		"nil proof":          nil,
		"too many steps":     tooMany,
		"steps without leaf": {Steps: good.Steps},
		"bit index 256":      {Steps: []Step{{BitIndex: 256}}, Leaf: good.Leaf},
		"bit index max":      {Steps: []Step{{BitIndex: 65535}}, Leaf: good.Leaf},
		"bit indices equal":  {Steps: []Step{{BitIndex: 3}, {BitIndex: 3}}, Leaf: good.Leaf},
		"bit indices down":   {Steps: []Step{{BitIndex: 9}, {BitIndex: 3}}, Leaf: good.Leaf},
	}
	for name, p := range cases {
		err := p.Verify(root, key, value)
		assert.ErrorIs(t, err, ErrProofMalformed, name)
		assert.ErrorIs(t, err, ErrProofInvalid, name)
	}

	// The decoder refuses a step count its input cannot hold, before
	// allocating for it.
	var q Proof
	assert.Error(t, canon.Unmarshal([]byte{0xff, 0xff, 0xff, 0x01}, &q))
}

func TestProofFromOlderSnapshot(t *testing.T) {
	old, _ := sampleTree(20)
	key := []byte("lot/5")
	oldValue, _ := old.Get(key)
	p := old.Prove(key)
	next := old.Apply([]Change{{Key: key, Value: []byte("moved")}})
	mustFail(t, p, next.Root(), claim{key, oldValue}, "old value against the new root")
	mustFail(t, p, next.Root(), claim{key, []byte("moved")}, "new value with the old proof")
	require.NoError(t, p.Verify(old.Root(), key, oldValue), "the old root still has the old value")
	require.NoError(t, next.Prove(key).Verify(next.Root(), key, []byte("moved")))

	gone := old.Apply([]Change{{Key: key, Delete: true}})
	mustFail(t, p, gone.Root(), claim{key, oldValue}, "deleted key")
	require.NoError(t, gone.Prove(key).Verify(gone.Root(), key, nil))
}
