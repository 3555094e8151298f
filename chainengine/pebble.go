package chainengine

import (
	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"
	"github.com/cometbft/cometbft/libs/log"
)

// appCacheBytes is each app DB's block cache.
const appCacheBytes = 64 << 20

// appDBOptions are the pebble options of the apps' own databases. Every tx
// looks its hash up in the replay guard, almost always missing: bloom
// filters make a miss cost a few hash probes instead of reading and
// decompressing sstable blocks (a third of a receipt tx's execution
// without them).
func appDBOptions(logger log.Logger, name string) *pebble.Options {
	opts := &pebble.Options{
		Logger: pebbleLogger{logger.With("module", "pebble", "db", name)},
		Cache:  pebble.NewCache(appCacheBytes),
		// Every block writes its state, results and block record: with
		// pebble's 4 MB default the node flushes and compacts constantly.
		MemTableSize:                64 << 20,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       8,
		L0StopWritesThreshold:       32,
	}
	opts.Levels = make([]pebble.LevelOptions, 7)
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		opts.Levels[i].FilterType = pebble.TableFilter
	}
	return opts.EnsureDefaults()
}
