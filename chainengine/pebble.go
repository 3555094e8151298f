package chainengine

import (
	"bytes"
	"errors"
	"fmt"

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
		// 64 MB tables (up to four queued, plus one kept for reuse) were
		// most of a node's memory outside the Go heap: 4 validators,
		// receipt app, 30 s saturated, alternated, 64 vs 16 MB: 3,909 and
		// 3,887 vs 3,879 and 3,748 tx/s, peak RSS 3,092 and 3,225 vs
		// 2,716 and 2,484 MB.
		MemTableSize:                16 << 20,
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

// Both apps keep their chain id, last committed height and app hash under
// the same keys.
var (
	keyHeight  = []byte("m/height")
	keyAppHash = []byte("m/apphash")
	keyChainID = []byte("m/chainid")
)

// dbGet returns a copy of the value at key, or nil if absent.
func dbGet(db *pebble.DB, key []byte) ([]byte, error) {
	v, closer, err := db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

// appMeta is what an app committed last: found is false on a fresh DB.
type appMeta struct {
	chainID string
	height  int64
	appHash []byte
	found   bool
}

func loadAppMeta(db *pebble.DB) (appMeta, error) {
	var m appMeta
	id, err := dbGet(db, keyChainID)
	if err != nil {
		return m, err
	}
	m.chainID = string(id)
	hb, err := dbGet(db, keyHeight)
	if err != nil || hb == nil {
		return m, err
	}
	h, err := parseU64(hb)
	if err != nil {
		return m, fmt.Errorf("chainengine: app db height: %w", err)
	}
	if m.appHash, err = dbGet(db, keyAppHash); err != nil {
		return m, err
	}
	m.height, m.found = int64(h), true
	return m, nil
}
