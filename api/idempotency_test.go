package api

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ewrchain/ewr/chainengine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// A request that signed its tx and died before answering is retried with
// the same tx bytes after a restart: never a second tx.
func TestIdempotencyTxSurvivesACrash(t *testing.T) {
	dir := t.TempDir()
	s, err := openIdemStore(dir, quiet)
	require.NoError(t, err)
	fp := fingerprint("POST", "/v1/receipts/R/transfer", []byte(`{"to":"b"}`))
	rec, slot, err := s.begin(context.Background(), "trader-a\x00k1", fp)
	require.NoError(t, err)
	require.Nil(t, rec)
	builds := 0
	raw, err := slot.tx(func() ([]byte, error) { builds++; return []byte("signed tx 1"), nil })
	require.NoError(t, err)
	assert.Equal(t, "signed tx 1", string(raw))
	// The process dies here: no finish. A new process opens the store.
	require.NoError(t, s.close())
	s, err = openIdemStore(dir, quiet)
	require.NoError(t, err)
	defer s.close()
	rec, slot, err = s.begin(context.Background(), "trader-a\x00k1", fp)
	require.NoError(t, err)
	require.Nil(t, rec, "no answer was stored")
	assert.Equal(t, "signed tx 1", string(slot.raw()), "the retry resubmits the first tx")
	raw, err = slot.tx(func() ([]byte, error) { builds++; return []byte("signed tx 2"), nil })
	require.NoError(t, err)
	assert.Equal(t, "signed tx 1", string(raw))
	assert.Equal(t, 1, builds)
	s.finish(slot, 200, "application/json", "", []byte(`{"status":"committed"}`))
	rec, _, err = s.begin(context.Background(), "trader-a\x00k1", fp)
	require.NoError(t, err)
	require.NotNil(t, rec)
	assert.Equal(t, `{"status":"committed"}`, string(rec.Body))
	_, _, err = s.begin(context.Background(), "trader-a\x00k1", fingerprint("POST", "/v1/receipts/R/transfer", []byte(`{"to":"c"}`)))
	assert.ErrorIs(t, err, errIdemConflict)
	_, _, err = s.begin(context.Background(), "trader-b\x00k1", fingerprint("POST", "/x", nil))
	assert.NoError(t, err, "keys are scoped by participant")
}

// Concurrent requests with one key: one runs, the others wait and get its
// answer. A 5xx is not stored: the next retry runs again.
func TestIdempotencyConcurrent(t *testing.T) {
	s, err := openIdemStore("", quiet)
	require.NoError(t, err)
	fp := fingerprint("POST", "/p", []byte("b"))
	var runs atomic.Int32
	var wg sync.WaitGroup
	answers := make([]string, 16)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec, slot, err := s.begin(context.Background(), "p\x00k", fp)
			if err != nil {
				answers[i] = err.Error()
				return
			}
			if rec != nil {
				answers[i] = string(rec.Body)
				return
			}
			runs.Add(1)
			time.Sleep(20 * time.Millisecond)
			s.finish(slot, 201, "application/json", "/v1/x", []byte("first"))
			answers[i] = "first"
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), runs.Load())
	for _, a := range answers {
		assert.Equal(t, "first", a)
	}

	fp2 := fingerprint("POST", "/q", nil)
	_, slot, err := s.begin(context.Background(), "p\x00k2", fp2)
	require.NoError(t, err)
	s.finish(slot, 500, "application/problem+json", "", []byte("boom"))
	rec, slot, err := s.begin(context.Background(), "p\x00k2", fp2)
	require.NoError(t, err)
	assert.Nil(t, rec, "a 5xx is not an answer to replay")
	require.NotNil(t, slot)
	s.finish(slot, 200, "", "", nil)

	// A waiting retry gives up with its context.
	_, slot, err = s.begin(context.Background(), "p\x00k3", fp2)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, _, err = s.begin(ctx, "p\x00k3", fp2)
	assert.True(t, errors.Is(err, context.DeadlineExceeded))
	s.finish(slot, 200, "", "", nil)
}

func TestIdempotencySweep(t *testing.T) {
	s, err := openIdemStore(t.TempDir(), quiet)
	require.NoError(t, err)
	defer s.close()
	fp := fingerprint("POST", "/p", nil)
	_, slot, err := s.begin(context.Background(), "p\x00old", fp)
	require.NoError(t, err)
	s.finish(slot, 200, "", "", []byte("x"))
	require.NoError(t, s.sweep(time.Now().Add(IdemTTL+time.Minute).Unix()))
	s.mu.Lock()
	s.dropLocked(s.mu.m["p\x00old"])
	s.mu.Unlock()
	rec, err := s.load("p\x00old")
	require.NoError(t, err)
	assert.Nil(t, rec, "swept")
}

// Drafts: concurrent approvals submit once.
func TestDraftSignsOnce(t *testing.T) {
	keys := map[string]ed25519.PrivateKey{}
	for _, p := range []string{"a", "b", "c"} {
		keys[p] = ed25519.NewKeyFromSeed(append(make([]byte, 31), p[0]))
	}
	d := &Draft{ID: "DR-1", Signers: []string{"a", "b", "c"}, Body: []byte("body"), ExpiresAt: 10}
	d.mu.status = DraftAwaiting
	d.mu.sigs = make([]chainengine.Signature, 3)
	d.mu.signed = make([]bool, 3)
	var wg sync.WaitGroup
	var submits atomic.Int32
	for _, p := range []string{"a", "b", "c", "b", "c"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw, err := d.sign(1, p, chainengine.SignBody(keys[p], d.Body))
			if err == nil && raw != nil {
				submits.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), submits.Load())
	_, err := d.sign(11, "a", chainengine.SignBody(keys["a"], d.Body))
	assert.Error(t, err)
}
