package merkle

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrentReadersAndApply has readers check old and new snapshots
// while one goroutine keeps building new ones from them, as the chain serves
// proofs for the last committed block while it builds the next. Run with
// -race: a write to a published node is a race report.
func TestConcurrentReadersAndApply(t *testing.T) {
	const (
		keys    = 4000
		batches = 40
		readers = 4
	)
	// Values hold the version that wrote them, so a reader can tell what a
	// snapshot of version v must answer: every key written at or before v.
	val := func(version, i int) []byte {
		return binary.BigEndian.AppendUint64(fmt.Appendf(nil, "v%d/", version), uint64(i))
	}
	key := func(i int) []byte { return fmt.Appendf(nil, "receipt/%d", i) }

	type published struct {
		tree    *Tree
		root    [32]byte
		version int
		model   map[int]int // key index -> version that wrote it
	}
	base := func() *published {
		pairs := make([]KV, keys)
		model := map[int]int{}
		for i := range pairs {
			pairs[i] = KV{Key: key(i), Value: val(0, i)}
			model[i] = 0
		}
		tree := Build(pairs)
		return &published{tree, tree.Root(), 0, model}
	}()
	var latest atomic.Pointer[published]
	latest.Store(base)
	var done atomic.Bool

	check := func(rng *rand.Rand, p *published) {
		assert.Equal(t, p.root, p.tree.Root(), "version %d root changed", p.version)
		assert.Equal(t, len(p.model), p.tree.Len(), "version %d len", p.version)
		for range 50 {
			i := rng.IntN(keys + keys/4)
			v, ok := p.tree.Get(key(i))
			wrote, want := p.model[i]
			if !assert.Equal(t, want, ok, "version %d key %d presence", p.version, i) {
				return
			}
			var claimed []byte
			if want {
				claimed = val(wrote, i)
				assert.Equal(t, claimed, v, "version %d key %d", p.version, i)
			}
			assert.NoError(t, p.tree.Prove(key(i)).Verify(p.root, key(i), claimed), "version %d key %d proof", p.version, i)
		}
	}

	var wg sync.WaitGroup
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			for !done.Load() {
				check(rng, base)
				check(rng, latest.Load())
			}
		}()
	}

	rng := rand.New(rand.NewPCG(42, 0))
	cur := base
	for version := 1; version <= batches; version++ {
		model := make(map[int]int, len(cur.model))
		for k, v := range cur.model {
			model[k] = v
		}
		changes := make([]Change, 0, 300)
		for range 300 {
			i := rng.IntN(keys + keys/4)
			if rng.IntN(4) == 0 {
				changes = append(changes, Change{Key: key(i), Delete: true})
				delete(model, i)
			} else {
				changes = append(changes, Change{Key: key(i), Value: val(version, i)})
				model[i] = version
			}
		}
		next := cur.tree.Apply(changes)
		cur = &published{next, next.Root(), version, model}
		latest.Store(cur)
	}
	done.Store(true)
	wg.Wait()
	require.NoError(t, cur.tree.check())
	require.NoError(t, base.tree.check())
	require.Equal(t, base.root, base.tree.Root())
}

// TestParallelMatchesSerial builds and applies batches large enough to fork
// and checks the result is the one a single goroutine gets.
func TestParallelMatchesSerial(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	pairs := make([]KV, 30_000)
	for i := range pairs {
		pairs[i] = KV{Key: fmt.Appendf(nil, "lot/%d", i), Value: fmt.Appendf(nil, "%d", rng.Uint64())}
	}
	serial, parallel := build(pairs, 1), build(pairs, 4)
	require.NoError(t, parallel.check())
	require.Equal(t, serial.Root(), parallel.Root())

	changes := make([]Change, 5000)
	for i := range changes {
		changes[i] = Change{Key: fmt.Appendf(nil, "lot/%d", rng.IntN(40_000)), Value: []byte("x"), Delete: rng.IntN(3) == 0}
	}
	a, b := serial.apply(changes, 1), parallel.apply(changes, 4)
	require.NoError(t, b.check())
	require.Equal(t, a.Root(), b.Root())
	require.Equal(t, a.Len(), b.Len())
}
