package merkle

import (
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refRoot is the root the hash layout in doc.go defines, computed the slow,
// obvious way from the set of keys and values, sharing no code with the
// tree: split the set at the first bit where its key hashes disagree.
func refRoot(pairs map[string][]byte) [32]byte {
	type entry struct{ kh, vh [32]byte }
	var es []entry
	for k, v := range pairs {
		es = append(es, entry{sha256.Sum256([]byte(k)), sha256.Sum256(v)})
	}
	bit := func(h [32]byte, i int) byte { return h[i/8] >> (7 - i%8) & 1 }
	var root func(es []entry) [32]byte
	root = func(es []entry) [32]byte {
		switch len(es) {
		case 0:
			return [32]byte{}
		case 1:
			return sha256.Sum256(append(append([]byte{0x00}, es[0].kh[:]...), es[0].vh[:]...))
		}
		for i := 0; i < 256; i++ {
			var zeros, ones []entry
			for _, e := range es {
				if bit(e.kh, i) == 0 {
					zeros = append(zeros, e)
				} else {
					ones = append(ones, e)
				}
			}
			if len(zeros) == 0 || len(ones) == 0 {
				continue
			}
			l, r := root(zeros), root(ones)
			pre := append([]byte{0x01, byte(i >> 8), byte(i)}, l[:]...)
			return sha256.Sum256(append(pre, r[:]...))
		}
		panic("duplicate key hash")
	}
	return root(es)
}

func TestRootLayout(t *testing.T) {
	assert.Equal(t, [32]byte{}, (*Tree)(nil).Root(), "nil tree")
	assert.Equal(t, [32]byte{}, (&Tree{}).Root(), "zero tree")
	assert.Equal(t, [32]byte{}, Build(nil).Root(), "built from nothing")

	kh, vh := sha256.Sum256([]byte("lot-1")), sha256.Sum256([]byte("1000kg"))
	leaf := sha256.Sum256(append(append([]byte{0x00}, kh[:]...), vh[:]...))
	one := Build([]KV{{Key: []byte("lot-1"), Value: []byte("1000kg")}})
	assert.Equal(t, leaf, one.Root(), "a one-leaf tree's root is its leaf hash")

	pairs := map[string][]byte{}
	tree := (*Tree)(nil)
	for i, k := range []string{"lot-1", "lot-2", "lot-3", "bay-7", "", "receipt/42"} {
		v := []byte{byte(i)}
		if k == "bay-7" {
			v = []byte{} // a present empty value is hashed like any other
		}
		pairs[k] = v
		tree = tree.Apply([]Change{{Key: []byte(k), Value: v}})
		require.Equal(t, refRoot(pairs), tree.Root(), "after %d keys", len(pairs))
	}
}

func TestFirstDiffAndBitAt(t *testing.T) {
	var a, b [32]byte
	assert.Equal(t, 256, firstDiff(&a, &b))
	for i := 0; i < 256; i++ {
		b = [32]byte{}
		b[i/8] = 0x80 >> (i % 8)
		assert.Equal(t, i, firstDiff(&a, &b), "bit %d", i)
		assert.Equal(t, 1, bitAt(&b, i), "bit %d", i)
		assert.Equal(t, 0, bitAt(&a, i), "bit %d", i)
		assert.Equal(t, -1, compareHash(&a, &b))
		assert.Equal(t, 0, comparePrefix(&a, &b, i), "prefix %d", i)
		assert.Equal(t, -1, comparePrefix(&a, &b, i+1), "prefix %d", i+1)
	}
}
