package api

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cockroachdb/pebble"
)

// Idempotency keys. Every POST may carry an Idempotency-Key header; the
// key is scoped to the participant the token acts for, so two
// participants never collide. The first request with a key runs; a retry
// with the same key and the same request (method, path and body) gets the
// first response back, byte for byte, with Idempotent-Replayed: true; the
// same key with another request is refused (409). A retry that arrives
// while the first is still running waits for it.
//
// Before the node submits a tx it signed for a request, it stores the tx
// bytes under the key (synced to disk when the store is persistent). If
// the process dies before the response is stored, the retry submits the
// same bytes again, and the chain, which refuses replays and remembers
// every tx's result, answers with the first outcome: a retry never makes a
// second tx. Responses that say nothing final (5xx, or "still pending"
// after the commit timeout) are not stored, so a retry learns the final
// answer.
//
// Records live TTL (24 h) after their first use; in memory at most
// maxIdemMem of them (least recently used are dropped from memory first),
// and, with a directory, all of them in a pebble database there, which
// survives restarts and is swept of expired records every minute.

// Limits of the idempotency store.
const (
	IdemTTL          = 24 * time.Hour
	maxIdemMem       = 50_000
	maxIdemBodyBytes = 1 << 20
	maxIdemKeyLen    = 255
	idemSweepEvery   = time.Minute
)

// ErrIdemConflict: the key was used with another request.
var errIdemConflict = errors.New("api: idempotency key reused with another request")

// idemRecord is what the store keeps per key.
type idemRecord struct {
	FP       [32]byte `json:"fp"`
	Raw      []byte   `json:"raw,omitempty"` // the signed tx, once made
	Done     bool     `json:"done"`
	Status   int      `json:"status,omitempty"`
	CType    string   `json:"ctype,omitempty"`
	Location string   `json:"location,omitempty"`
	Body     []byte   `json:"body,omitempty"`
	Expires  int64    `json:"expires"` // unix seconds
}

type idemEntry struct {
	key      string
	rec      idemRecord
	inflight chan struct{} // closed when the running request finishes
	elem     *list.Element
}

type idemStore struct {
	db  *pebble.DB // nil: memory only
	log *slog.Logger
	mu  struct {
		sync.Mutex
		m   map[string]*idemEntry
		lru *list.List // of done entries, most recent at the front
	}
	stop chan struct{}
	done chan struct{}
}

type quietPebble struct{ log *slog.Logger }

func (q quietPebble) Infof(string, ...any) {}
func (q quietPebble) Fatalf(format string, args ...any) {
	q.log.Error("idempotency store: pebble fatal", "msg", fmt.Sprintf(format, args...))
	panic(fmt.Sprintf(format, args...))
}

// openIdemStore opens the store, persistent in dir if dir is not empty.
func openIdemStore(dir string, log *slog.Logger) (*idemStore, error) {
	s := &idemStore{log: log, stop: make(chan struct{}), done: make(chan struct{})}
	s.mu.m = map[string]*idemEntry{}
	s.mu.lru = list.New()
	if dir != "" {
		db, err := pebble.Open(dir, &pebble.Options{Logger: quietPebble{log}})
		if err != nil {
			return nil, fmt.Errorf("api: idempotency store %s: %w", dir, err)
		}
		s.db = db
		go s.sweepLoop()
	} else {
		close(s.done)
	}
	return s, nil
}

func (s *idemStore) close() error {
	if s.db == nil {
		return nil
	}
	close(s.stop)
	<-s.done
	return s.db.Close()
}

func recKey(k string) []byte { return append([]byte("i/"), k...) }

func expKey(exp int64, k string) []byte {
	b := binary.BigEndian.AppendUint64([]byte("e/"), uint64(exp))
	return append(b, k...)
}

func (s *idemStore) load(k string) (*idemRecord, error) {
	if s.db == nil {
		return nil, nil
	}
	v, closer, err := s.db.Get(recKey(k))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	var r idemRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("api: idempotency record %q: %w", k, err)
	}
	if r.Expires < time.Now().Unix() {
		return nil, nil
	}
	return &r, nil
}

// persist writes a record durably: a tx must be on disk before it is
// submitted, or a crash could let a retry sign a second one.
func (s *idemStore) persist(k string, r *idemRecord) error {
	if s.db == nil {
		return nil
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := errors.Join(b.Set(recKey(k), v, nil), b.Set(expKey(r.Expires, k), nil, nil)); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

func (s *idemStore) remove(k string) {
	if s.db == nil {
		return
	}
	_ = s.db.Delete(recKey(k), pebble.NoSync)
}

// sweepLoop deletes expired records every idemSweepEvery.
func (s *idemStore) sweepLoop() {
	defer close(s.done)
	t := time.NewTicker(idemSweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.sweep(time.Now().Unix()); err != nil {
				s.log.Error("idempotency store: sweep", "err", err)
			}
		}
	}
}

func (s *idemStore) sweep(now int64) error {
	upper := expKey(now, "")
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte("e/"), UpperBound: upper})
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	n := 0
	for ok := it.First(); ok && n < 10_000; ok = it.Next() {
		k := it.Key()
		id := string(k[len("e/")+8:])
		if err := errors.Join(b.Delete(bytes.Clone(k), nil), b.Delete(recKey(id), nil)); err != nil {
			_ = it.Close()
			return err
		}
		n++
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return err
	}
	return b.Commit(pebble.NoSync)
}

// idemSlot is a request running under an idempotency key.
type idemSlot struct {
	store   *idemStore
	e       *idemEntry
	noStore bool
}

// raw is the tx signed for this request before, if any.
func (sl *idemSlot) raw() []byte {
	if sl == nil {
		return nil
	}
	return sl.e.rec.Raw
}

// tx returns the tx for this request: the one stored, or build's, stored
// durably before it is returned.
func (sl *idemSlot) tx(build func() ([]byte, error)) ([]byte, error) {
	if sl.e.rec.Raw != nil {
		return sl.e.rec.Raw, nil
	}
	raw, err := build()
	if err != nil {
		return nil, err
	}
	sl.e.rec.Raw = raw
	if err := sl.store.persist(sl.e.key, &sl.e.rec); err != nil {
		return nil, fmt.Errorf("api: idempotency store: %w", err)
	}
	return raw, nil
}

// begin starts a request with key k (already scoped) and fingerprint fp.
// It returns the stored response to replay, or a slot to run the request
// in, or errIdemConflict.
func (s *idemStore) begin(ctx context.Context, k string, fp [32]byte) (*idemRecord, *idemSlot, error) {
	for {
		s.mu.Lock()
		e, ok := s.mu.m[k]
		if ok && e.rec.Expires < time.Now().Unix() && e.inflight == nil {
			s.dropLocked(e)
			ok = false
		}
		if !ok {
			rec, err := s.load(k)
			if err != nil {
				s.mu.Unlock()
				return nil, nil, err
			}
			e = &idemEntry{key: k}
			if rec != nil {
				e.rec = *rec
			} else {
				e.rec = idemRecord{FP: fp, Expires: time.Now().Add(IdemTTL).Unix()}
			}
			s.mu.m[k] = e
		}
		if e.rec.FP != fp {
			s.mu.Unlock()
			return nil, nil, errIdemConflict
		}
		if e.rec.Done {
			if e.elem != nil {
				s.mu.lru.MoveToFront(e.elem)
			}
			rec := e.rec
			s.mu.Unlock()
			return &rec, nil, nil
		}
		if ch := e.inflight; ch != nil {
			s.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			}
		}
		e.inflight = make(chan struct{})
		s.mu.Unlock()
		return nil, &idemSlot{store: s, e: e}, nil
	}
}

// finish records the response of a slot's request and wakes any retry
// waiting for it.
func (s *idemStore) finish(sl *idemSlot, status int, ctype, location string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := sl.e
	keep := !sl.noStore && status < 500 && len(body) <= maxIdemBodyBytes
	if keep {
		e.rec.Done, e.rec.Status, e.rec.CType, e.rec.Location = true, status, ctype, location
		e.rec.Body = bytes.Clone(body)
		if err := s.persist(e.key, &e.rec); err != nil {
			s.log.Error("idempotency store: persist response", "err", err)
		}
		e.elem = s.mu.lru.PushFront(e)
		for s.mu.lru.Len() > maxIdemMem {
			s.dropLocked(s.mu.lru.Back().Value.(*idemEntry))
		}
	} else if e.rec.Raw == nil {
		// Nothing was signed: forget the key, a retry runs afresh.
		delete(s.mu.m, e.key)
		s.remove(e.key)
	}
	close(e.inflight)
	e.inflight = nil
}

// dropLocked forgets an entry from memory (it stays on disk until it
// expires).
func (s *idemStore) dropLocked(e *idemEntry) {
	if e.elem != nil {
		s.mu.lru.Remove(e.elem)
		e.elem = nil
	}
	delete(s.mu.m, e.key)
}

// fingerprint identifies a request: method, path with query, body.
func fingerprint(method, uri string, body []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write([]byte(uri))
	h.Write([]byte{0})
	h.Write(body)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// validIdemKey reports whether k is a usable key.
func validIdemKey(k string) bool {
	if len(k) == 0 || len(k) > maxIdemKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}
