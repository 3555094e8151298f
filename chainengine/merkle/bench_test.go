package merkle

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Benchmarks on trees of receipt-sized records: keys of 16 bytes, values of
// 100. Run: go test -run '^$' -bench . -benchmem ./chainengine/merkle/

const benchValueBytes = 100

func benchKey(i int) []byte { return fmt.Appendf(nil, "receipt/%08d", i) }

func benchPairs(n int) []KV {
	rng := rand.New(rand.NewPCG(uint64(n), 0))
	pairs := make([]KV, n)
	for i := range pairs {
		v := make([]byte, benchValueBytes)
		for j := range v {
			v[j] = byte(rng.Uint32())
		}
		pairs[i] = KV{Key: benchKey(i), Value: v}
	}
	return pairs
}

var benchTrees = struct {
	sync.Mutex
	m map[int]*Tree
}{m: map[int]*Tree{}}

// benchTree builds a tree of n keys (benchKey(0..n-1)) once per process.
func benchTree(b *testing.B, n int) *Tree {
	benchTrees.Lock()
	defer benchTrees.Unlock()
	if t, ok := benchTrees.m[n]; ok {
		return t
	}
	t := Build(benchPairs(n))
	benchTrees.m[n] = t
	return t
}

// benchBatch is a block's worth of changes on a tree of n keys: a third
// updates, a third inserts of new keys, a third deletes.
func benchBatch(n, size int, seed uint64) []Change {
	rng := rand.New(rand.NewPCG(seed, 1))
	changes := make([]Change, size)
	for i := range changes {
		switch i % 3 {
		case 0:
			changes[i] = Change{Key: benchKey(rng.IntN(n)), Value: make([]byte, benchValueBytes)}
		case 1:
			changes[i] = Change{Key: benchKey(n + rng.IntN(n)), Value: make([]byte, benchValueBytes)}
		case 2:
			changes[i] = Change{Key: benchKey(rng.IntN(n)), Delete: true}
		}
	}
	return changes
}

func BenchmarkApply(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
			b.Run(fmt.Sprintf("keys=%d/changes=3000/workers=%d", n, workers), func(b *testing.B) {
				tree := benchTree(b, n)
				batches := make([][]Change, 8)
				for i := range batches {
					batches[i] = benchBatch(n, 3000, uint64(i))
				}
				b.ReportAllocs()
				cpu0 := cpuTime()
				i := 0
				for b.Loop() {
					tree.apply(batches[i%len(batches)], workers)
					i++
				}
				reportCPU(b, cpu0)
			})
		}
	}
}

// reportCPU reports the process CPU time per op since cpu0 (cpu-ns/op),
// which includes the garbage collector's share of the work.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	if cpu0 >= 0 {
		b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkHashInner is the unit everything else is made of: one inner
// node hash, two SHA-256 blocks. Apply's cost is about the number of inner
// nodes on the changed paths times this; compare with it when the machine
// is shared and wall times stretch.
func BenchmarkHashInner(b *testing.B) {
	var l, r [32]byte
	for b.Loop() {
		l = hashInner(7, &l, &r)
	}
}

func BenchmarkProve(b *testing.B) {
	tree := benchTree(b, 1_000_000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tree.Prove(benchKey(i * 7919 % 1_000_000))
		i++
	}
}

func BenchmarkVerify(b *testing.B) {
	tree := benchTree(b, 1_000_000)
	root := tree.Root()
	type claim struct {
		key, value []byte
		p          *Proof
	}
	claims := make([]claim, 1024)
	for i := range claims {
		k := benchKey(i * 977)
		v, _ := tree.Get(k)
		claims[i] = claim{k, v, tree.Prove(k)}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c := &claims[i%len(claims)]
		if err := c.p.Verify(root, c.key, c.value); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkBuild reports the bytes allocated per leaf while building
// (alloc-B/leaf) and the bytes the finished tree keeps live per leaf
// (live-B/leaf, including the copy of its 16-byte key and 100-byte value).
func BenchmarkBuild(b *testing.B) {
	const n = 1_000_000
	pairs := benchPairs(n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tree := Build(pairs)
	runtime.GC()
	runtime.ReadMemStats(&after)
	live := float64(after.HeapAlloc-before.HeapAlloc) / n
	runtime.KeepAlive(tree)
	tree = nil

	b.ReportAllocs()
	runtime.ReadMemStats(&before)
	for b.Loop() {
		Build(pairs)
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/n, "alloc-B/leaf")
	b.ReportMetric(live, "live-B/leaf")
}
