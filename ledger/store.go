package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"sort"
	"strings"

	"github.com/ewrchain/ewr/receipt"
)

// MemStore is the whole state in memory: what the tests, the property test
// and the in-memory scenario run on. The chain keeps the same records in
// pebble under an authenticated tree.
type MemStore struct {
	m map[string][]byte
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore { return &MemStore{m: map[string][]byte{}} }

// Get implements receipt.Store.
func (s *MemStore) Get(key string) ([]byte, bool) {
	v, ok := s.m[key]
	return v, ok
}

// Set implements receipt.Store.
func (s *MemStore) Set(key string, value []byte) { s.m[key] = value }

// Delete implements receipt.Store.
func (s *MemStore) Delete(key string) { delete(s.m, key) }

// Len is the number of records.
func (s *MemStore) Len() int { return len(s.m) }

// Keys returns every key, sorted.
func (s *MemStore) Keys() []string {
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Range calls fn for every record whose key starts with prefix, in key order.
func (s *MemStore) Range(prefix string, fn func(key string, value []byte)) {
	for _, k := range s.Keys() {
		if strings.HasPrefix(k, prefix) {
			fn(k, s.m[k])
		}
	}
}

// Clone returns an independent copy. Values are shared: they are never
// mutated in place.
func (s *MemStore) Clone() *MemStore {
	c := &MemStore{m: make(map[string][]byte, len(s.m))}
	for k, v := range s.m {
		c.m[k] = v
	}
	return c
}

// stateMagic starts the canonical encoding of a whole state.
const stateMagic = "ewr/state/v1\x00"

// EncodeState is the canonical encoding of the whole state: a version
// header, then every (key, value) in key order, each length-prefixed. Two
// nodes with the same state produce the same bytes.
func (s *MemStore) EncodeState() []byte {
	keys := s.Keys()
	n := len(stateMagic) + binary.MaxVarintLen64
	for _, k := range keys {
		n += len(k) + len(s.m[k]) + 2*binary.MaxVarintLen64
	}
	out := make([]byte, 0, n)
	out = append(out, stateMagic...)
	out = binary.AppendUvarint(out, uint64(len(keys)))
	for _, k := range keys {
		v := s.m[k]
		out = binary.AppendUvarint(out, uint64(len(k)))
		out = append(out, k...)
		out = binary.AppendUvarint(out, uint64(len(v)))
		out = append(out, v...)
	}
	return out
}

// StateHash is sha256 of EncodeState.
func (s *MemStore) StateHash() [32]byte { return sha256.Sum256(s.EncodeState()) }

// Overlay buffers one op's writes over a parent store. The ledger flushes
// it only when the op succeeded, so a rejected op changes nothing.
type Overlay struct {
	parent receipt.Store
	writes map[string]write
	order  []string // keys in first-write order: flushing is deterministic
}

type write struct {
	value   []byte
	deleted bool
}

// NewOverlay returns an overlay on parent.
func NewOverlay(parent receipt.Store) *Overlay {
	return &Overlay{parent: parent, writes: map[string]write{}}
}

// Get implements receipt.Store.
func (o *Overlay) Get(key string) ([]byte, bool) {
	if w, ok := o.writes[key]; ok {
		return w.value, !w.deleted
	}
	return o.parent.Get(key)
}

// Set implements receipt.Store.
func (o *Overlay) Set(key string, value []byte) { o.put(key, write{value: value}) }

// Delete implements receipt.Store.
func (o *Overlay) Delete(key string) { o.put(key, write{deleted: true}) }

func (o *Overlay) put(key string, w write) {
	if _, seen := o.writes[key]; !seen {
		o.order = append(o.order, key)
	}
	o.writes[key] = w
}

// Flush writes the buffered changes to the parent, in first-write order.
func (o *Overlay) Flush() {
	for _, k := range o.order {
		w := o.writes[k]
		if w.deleted {
			o.parent.Delete(k)
		} else {
			o.parent.Set(k, w.value)
		}
	}
	o.writes = map[string]write{}
	o.order = o.order[:0]
}

// Changed returns the keys written, in first-write order.
func (o *Overlay) Changed() []string { return o.order }
