package api

import (
	"bytes"
	"sync"
)

// respCache keeps the JSON of recently read records, keyed by state key
// and checked against the record's current bytes: a record that changed
// has other bytes and misses, so an answer is never stale. Reads of a hot
// record (a bank polling its collateral) then cost a tree lookup and a
// byte comparison instead of a decode and an encode.
type respCache struct {
	mu struct {
		sync.Mutex
		m map[string]*respEntry
	}
}

type respEntry struct {
	val  []byte // the record's canonical bytes the body was made from
	body []byte
	etag string
}

// maxRespCache bounds the entries; when full the cache starts afresh.
const maxRespCache = 8192

func newRespCache() *respCache {
	c := &respCache{}
	c.mu.m = make(map[string]*respEntry)
	return c
}

func (c *respCache) get(key string, val []byte) (*respEntry, bool) {
	c.mu.Lock()
	e, ok := c.mu.m[key]
	c.mu.Unlock()
	if !ok || !bytes.Equal(e.val, val) {
		return nil, false
	}
	return e, true
}

func (c *respCache) put(key string, e *respEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.mu.m) >= maxRespCache {
		c.mu.m = make(map[string]*respEntry, maxRespCache)
	}
	c.mu.m[key] = e
}
