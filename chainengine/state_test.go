package chainengine

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/ewrchain/ewr/chainengine/merkle"
	"github.com/stretchr/testify/require"
)

// TestHotReadsFollowTheTree runs blocks of random reads, writes and deletes
// through blockState with the memo carried from block to block, and checks
// after every block that each memoized read equals what the new tree holds
// (a stale memo would make every node agree on a wrong value), and that a
// memo is never used for a tree it was not made for. Generations of 50
// records over 300 keys turn over every few blocks, so values that moved
// from the older generation, and older values a recent write shadows, are
// read throughout.
func TestHotReadsFollowTheTree(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	key := func() string { return fmt.Sprintf("k/%03d", rng.IntN(300)) }

	hot := hotReads{gen: 50}
	rotations := 0
	tree := merkle.Build(nil)
	for block := range 200 {
		m := hot.forTree(tree)
		if block > 0 {
			require.NotNil(t, m.recent, "block %d: the memo did not follow the committed tree", block)
		}
		st := newBlockState(tree, m)
		for range 40 {
			switch k := key(); rng.IntN(3) {
			case 0:
				got, ok := st.Get(k)
				want, wok := tree.Get([]byte(k))
				if _, written := st.writes[k]; !written {
					require.Equal(t, wok, ok, "block %d: read %s", block, k)
					require.Equal(t, want, got, "block %d: read %s", block, k)
				}
			case 1:
				st.Set(k, []byte(fmt.Sprintf("v%d-%d", block, rng.IntN(1000))))
			case 2:
				st.Delete(k)
			}
		}
		changes := st.changes()
		next := tree
		if len(changes) > 0 {
			next = tree.Apply(changes)
		}
		before := hot.memo.older
		hot.advance(next, memo{recent: st.reads, older: st.older}, changes)
		if block > 0 && fmt.Sprintf("%p", before) != fmt.Sprintf("%p", hot.memo.older) {
			rotations++
		}
		require.LessOrEqual(t, len(hot.memo.recent), hot.gen, "block %d: a generation outgrew its bound", block)
		tree = next
		seen := map[string]bool{}
		var keys []string
		for _, g := range []map[string]*[]byte{hot.memo.recent, hot.memo.older} {
			for k := range g {
				if !seen[k] {
					seen[k] = true
					keys = append(keys, k)
				}
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			want, ok := tree.Get([]byte(k))
			v, inRecent := hot.memo.recent[k]
			if !inRecent {
				v = hot.memo.older[k]
			}
			if v == nil {
				require.False(t, ok, "block %d: memo says %s is absent", block, k)
			} else {
				require.True(t, ok, "block %d: memo holds deleted %s", block, k)
				require.Equal(t, want, *v, "block %d: memo of %s is stale", block, k)
			}
		}
	}
	require.Greater(t, rotations, 10, "the generations never turned over")
	require.Nil(t, hot.forTree(merkle.Build(nil)).recent, "a memo served another tree")
}
