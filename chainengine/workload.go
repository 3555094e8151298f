package chainengine

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// Workload produces signed txs for the chain benchmark. Lanes are
// independent: the harness never has two txs of one lane in flight, so a
// lane's next tx may depend on its previous one having committed.
type Workload interface {
	Name() string
	AppState() json.RawMessage // genesis app_state for the network
	Lanes() int                // how many lanes the workload supports at most
	// Next returns lane's next tx, called after the lane's previous tx
	// committed (or was refused). height is the last committed height,
	// for expiry. kind labels the tx in the report's mix.
	Next(lane int, height int64) (tx []byte, kind string, err error)
}

// WorkloadPreparer is implemented by workloads with expensive setup (such as
// signing txs ahead), which the harness runs before the network starts so
// that it is not measured.
type WorkloadPreparer interface {
	Prepare(ctx context.Context, expectedTxs int) error
}

// BaselineWorkload is opaque ~200-byte txs from many signers, for the
// baseline app. It signs txs ahead in Prepare, as clients sign on their own
// machines; past the prepared ones it signs on demand.
type BaselineWorkload struct {
	chainID string
	lanes   int
	keys    []ed25519.PrivateKey

	nonce    atomic.Uint64
	next     atomic.Int64 // index into signed
	signed   [][]byte
	padBytes int
}

// Baseline workload shape.
const (
	baselineSigners     = 1000
	baselineTxBytes     = 200
	baselineMaxLanes    = 50_000
	baselineExpiryAhead = MaxTxTTLHeights / 2 // ample for any run
	// KindOpaque is the baseline workload's only tx kind.
	KindOpaque = "opaque"
)

// NewBaselineWorkload returns the workload for a chain with chainID.
func NewBaselineWorkload(chainID string) *BaselineWorkload {
	w := &BaselineWorkload{chainID: chainID, lanes: baselineMaxLanes, keys: make([]ed25519.PrivateKey, baselineSigners)}
	for i := range w.keys {
		seed := make([]byte, ed25519.SeedSize)
		binary.BigEndian.PutUint64(seed, uint64(i)+1)
		copy(seed[8:], "ewr-baseline-workload")
		w.keys[i] = ed25519.NewKeyFromSeed(seed)
	}
	// Size the op so a tx is baselineTxBytes (a few more for large nonces).
	for pad := max(0, baselineTxBytes-len(w.sign(0, 0))); pad >= 0; pad-- {
		w.padBytes = pad
		if len(w.sign(0, 0)) <= baselineTxBytes {
			break
		}
	}
	return w
}

func (w *BaselineWorkload) sign(i uint64, height int64) []byte {
	signer := i % baselineSigners
	op := make([]byte, w.padBytes)
	if len(op) >= 8 {
		binary.BigEndian.PutUint64(op, i)
	}
	body := Body{
		Version:   TxVersion,
		ChainID:   w.chainID,
		Signers:   []string{fmt.Sprintf("bench-%04d", signer)},
		Nonce:     i,
		ExpiresAt: height + baselineExpiryAhead,
		OpType:    KindOpaque,
		Op:        op,
	}
	return EncodeTx(body, []ed25519.PrivateKey{w.keys[signer]})
}

// Name implements Workload.
func (w *BaselineWorkload) Name() string { return "baseline" }

// AppState implements Workload: the baseline app takes no genesis state.
func (w *BaselineWorkload) AppState() json.RawMessage { return json.RawMessage("{}") }

// Lanes implements Workload.
func (w *BaselineWorkload) Lanes() int { return w.lanes }

// Prepare signs expectedTxs txs ahead on all cores.
func (w *BaselineWorkload) Prepare(ctx context.Context, expectedTxs int) error {
	if expectedTxs <= 0 {
		return nil
	}
	const maxPrepared = 2_000_000 // ~500 MB: beyond that, sign on demand
	n := min(expectedTxs, maxPrepared)
	w.signed = make([][]byte, n)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	var errOnce error
	var mu sync.Mutex
	for k := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k; i < n; i += workers {
				if i%1024 == 0 && ctx.Err() != nil {
					mu.Lock()
					errOnce = ctx.Err()
					mu.Unlock()
					return
				}
				w.signed[i] = w.sign(uint64(i), 0)
			}
		}()
	}
	wg.Wait()
	w.nonce.Store(uint64(n))
	return errOnce
}

// Next implements Workload. Txs do not depend on each other, so lanes only
// bound concurrency.
func (w *BaselineWorkload) Next(lane int, height int64) ([]byte, string, error) {
	if lane < 0 || lane >= w.lanes {
		return nil, "", errors.New("chainengine: baseline workload: lane out of range")
	}
	if i := w.next.Add(1) - 1; i < int64(len(w.signed)) {
		tx := w.signed[i]
		w.signed[i] = nil // let it go once submitted
		return tx, KindOpaque, nil
	}
	return w.sign(w.nonce.Add(1), height), KindOpaque, nil
}
