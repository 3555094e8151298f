package merkle

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ewrchain/ewr/internal/canon"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// snapshot is a tree together with what it must answer.
type snapshot struct {
	tree   *Tree
	model  map[string][]byte
	root   [32]byte
	proofs map[string][]byte // encoded proofs of every key in model and a few absent ones, when taken
}

func takeSnapshot(tree *Tree, model map[string][]byte) snapshot {
	s := snapshot{tree, maps.Clone(model), tree.Root(), map[string][]byte{}}
	for k := range model {
		s.proofs[k] = canon.Marshal(tree.Prove([]byte(k)))
	}
	for i := range 4 {
		k := fmt.Sprintf("absent/%d", i)
		s.proofs[k] = canon.Marshal(tree.Prove([]byte(k)))
	}
	return s
}

// TestApplyMatchesModel drives random batches against a map. Most keys come
// from a small space so updates and deletes of present keys are common; some
// batches insert many keys from a large space to grow deeper trees and to
// make Apply fork. rapid prints the seed of a failure and replays it.
func TestApplyMatchesModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		space := rapid.IntRange(1, 48).Draw(rt, "keySpace")
		rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(rt, "shuffleSeed"), 0))
		smallKey := rapid.Map(rapid.IntRange(0, space-1), func(i int) []byte { return fmt.Appendf(nil, "lot/%d", i) })
		wideKey := rapid.SliceOfN(rapid.Byte(), 0, 40)
		value := rapid.SliceOfN(rapid.Byte(), 0, 24)

		cur := (*Tree)(nil)
		model := map[string][]byte{}
		history := []snapshot{takeSnapshot(cur, model)}
		batches := rapid.IntRange(1, 12).Draw(rt, "batches")
		for b := range batches {
			wide := rapid.IntRange(0, 7).Draw(rt, "wide") == 0
			var changes []Change
			if wide {
				for range rapid.IntRange(32, 160).Draw(rt, "wideSize") {
					changes = append(changes, Change{Key: wideKey.Draw(rt, "key"), Value: value.Draw(rt, "value")})
				}
			}
			for range rapid.IntRange(0, 24).Draw(rt, "size") {
				c := Change{Key: smallKey.Draw(rt, "key")}
				if len(model) > 0 && rapid.IntRange(0, 3).Draw(rt, "pickPresent") == 0 {
					keys := slices.Sorted(maps.Keys(model))
					c.Key = []byte(keys[rapid.IntRange(0, len(keys)-1).Draw(rt, "present")])
				}
				if rapid.IntRange(0, 3).Draw(rt, "delete") == 0 {
					c.Delete = true
					c.Value = value.Draw(rt, "ignored") // must be ignored
				} else {
					c.Value = value.Draw(rt, "value")
				}
				changes = append(changes, c)
			}
			rng.Shuffle(len(changes), func(i, j int) { changes[i], changes[j] = changes[j], changes[i] })

			for _, c := range changes {
				if c.Delete {
					delete(model, string(c.Key))
				} else {
					model[string(c.Key)] = append([]byte{}, c.Value...)
				}
			}
			workers := rapid.SampledFrom([]int{1, 2, 8}).Draw(rt, "workers")
			next := cur.apply(changes, workers)
			// Apply must have copied: trash the callers' buffers.
			for _, c := range changes {
				clear(c.Key)
				clear(c.Value)
			}

			checkSnapshot(rt, next, model, rng, fmt.Sprintf("after batch %d", b))
			// Every earlier snapshot still answers as it did.
			for i, s := range history {
				require.Equal(rt, s.root, s.tree.Root(), "snapshot %d root", i)
				require.Equal(rt, len(s.model), s.tree.Len(), "snapshot %d len", i)
				for k, v := range s.model {
					got, ok := s.tree.Get([]byte(k))
					require.True(rt, ok, "snapshot %d lost %q", i, k)
					require.Equal(rt, v, got, "snapshot %d value of %q", i, k)
					require.NoError(rt, s.tree.Prove([]byte(k)).Verify(s.root, []byte(k), v), "snapshot %d proof of %q", i, k)
				}
				for k := range model {
					if _, ok := s.model[k]; !ok {
						require.NoError(rt, s.tree.Prove([]byte(k)).Verify(s.root, []byte(k), nil), "snapshot %d absence of %q", i, k)
					}
				}
				for k, enc := range s.proofs {
					require.Equal(rt, enc, canon.Marshal(s.tree.Prove([]byte(k))), "snapshot %d proof of %q changed", i, k)
				}
			}
			history = append(history, takeSnapshot(next, model))
			cur = next
		}
	})
}

// checkSnapshot checks everything tree must answer for model.
func checkSnapshot(t require.TestingT, tree *Tree, model map[string][]byte, rng *rand.Rand, where string) {
	require.NoError(t, tree.check(), where)
	require.Equal(t, len(model), tree.Len(), where)
	root := tree.Root()
	require.Equal(t, refRoot(model), root, "%s: root against the reference", where)

	// History independence: one batch, in any order, and one key at a time
	// in another order, reach the same root.
	pairs := make([]KV, 0, len(model))
	for k, v := range model {
		pairs = append(pairs, KV{Key: []byte(k), Value: v})
	}
	rng.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
	built := Build(pairs)
	require.NoError(t, built.check(), where)
	require.Equal(t, root, built.Root(), "%s: Build", where)
	rng.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
	one := (*Tree)(nil)
	for _, p := range pairs {
		one = one.apply([]Change{{Key: p.Key, Value: p.Value}}, 1)
	}
	require.Equal(t, root, one.Root(), "%s: one key at a time", where)

	// Walk visits every key once in ascending key hash order.
	seen := map[string]bool{}
	var last []byte
	tree.Walk(func(k, v []byte) bool {
		kh := sha256.Sum256(k)
		if last != nil {
			assert.Negative(t, bytes.Compare(last, kh[:]), "%s: walk order", where)
		}
		last = kh[:]
		assert.False(t, seen[string(k)], "%s: walk repeats %q", where, k)
		seen[string(k)] = true
		assert.Equal(t, model[string(k)], v, "%s: walk value of %q", where, k)
		return true
	})
	assert.Len(t, seen, len(model), where)

	for k, v := range model {
		key := []byte(k)
		got, ok := tree.Get(key)
		require.True(t, ok, "%s: Get(%q)", where, k)
		require.NotNil(t, got, "%s: a present value is never nil", where)
		require.Equal(t, v, got, "%s: Get(%q)", where, k)

		p := roundTrip(t, tree.Prove(key))
		require.NoError(t, p.Verify(root, key, v), "%s: proof of %q", where, k)
		require.ErrorIs(t, p.Verify(root, key, append(slices.Clone(v), 0)), ErrValueMismatch, where)
		require.ErrorIs(t, p.Verify(root, key, nil), ErrKeyPresent, where)
	}
	for i := range 8 {
		key := fmt.Appendf(nil, "absent/%d", i)
		if _, ok := model[string(key)]; ok {
			continue
		}
		got, ok := tree.Get(key)
		require.False(t, ok, "%s: Get(%q)", where, key)
		require.Nil(t, got, where)
		p := roundTrip(t, tree.Prove(key))
		require.NoError(t, p.Verify(root, key, nil), "%s: absence of %q", where, key)
		require.ErrorIs(t, p.Verify(root, key, []byte{}), ErrKeyAbsent, where)
	}
}

// roundTrip sends p through the canonical encoding, as a bank receives it.
func roundTrip(t require.TestingT, p *Proof) *Proof {
	var out Proof
	require.NoError(t, canon.Unmarshal(canon.Marshal(p), &out))
	return &out
}

func TestApplyLastChangeWins(t *testing.T) {
	tree := (*Tree)(nil).Apply([]Change{
		{Key: []byte("a"), Value: []byte("1")},
		{Key: []byte("b"), Value: []byte("1")},
		{Key: []byte("a"), Delete: true},
		{Key: []byte("b"), Value: []byte("2")},
		{Key: []byte("c"), Delete: true},
		{Key: []byte("c"), Value: []byte("3")},
	})
	require.NoError(t, tree.check())
	assert.Equal(t, 2, tree.Len())
	_, ok := tree.Get([]byte("a"))
	assert.False(t, ok)
	v, _ := tree.Get([]byte("b"))
	assert.Equal(t, []byte("2"), v)
	v, _ = tree.Get([]byte("c"))
	assert.Equal(t, []byte("3"), v)
}

func TestApplyNoChangeKeepsSnapshot(t *testing.T) {
	tree := Build([]KV{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Value: []byte("2")}})
	assert.Same(t, tree, tree.Apply(nil))
	assert.Same(t, tree, tree.Apply([]Change{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("zz"), Delete: true}}),
		"rewriting a value and deleting an absent key change nothing")
	assert.NotNil(t, (*Tree)(nil).Apply(nil), "Apply always returns a usable tree")
	assert.Equal(t, 0, (*Tree)(nil).Apply(nil).Len())
}

func TestEmptyValueIsPresent(t *testing.T) {
	tree := (*Tree)(nil).Apply([]Change{{Key: []byte("k")}}) // nil Value, no Delete: set to empty
	v, ok := tree.Get([]byte("k"))
	require.True(t, ok)
	assert.NotNil(t, v)
	assert.Empty(t, v)
	p := tree.Prove([]byte("k"))
	assert.NoError(t, p.Verify(tree.Root(), []byte("k"), []byte{}))
	assert.ErrorIs(t, p.Verify(tree.Root(), []byte("k"), nil), ErrKeyPresent)
}
