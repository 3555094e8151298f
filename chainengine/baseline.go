package chainengine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/internal/canon"
)

// BaselineApp is the smallest app that does what every ewr app must: check
// envelopes and signatures, refuse replays, persist each block durably with
// its app hash, and resume after kill -9. Ops are opaque and do nothing. The
// chain benchmark measures it to separate CometBFT's cost from the receipt
// rules'.
//
// State is one key per committed tx (its body hash) plus the last height and
// app hash, in a pebble DB at <home>/data/app.db. The app hash chains
// sha256(previous app hash, hashes of the block's successful txs); a block
// with no successful tx leaves it unchanged, so that CometBFT does not make
// empty blocks forever.
type BaselineApp struct {
	abci.BaseApplication
	db     *pebble.DB
	sigs   *SigCache
	logger log.Logger
	hook   atomic.Pointer[func(CommittedBlock)]

	// mu guards the committed view, read by CheckTx and Query and replaced
	// by Commit.
	mu struct {
		sync.RWMutex
		chainID string
		height  int64
		appHash []byte
	}
	// pending is the block FinalizeBlock staged and Commit persists. Only the
	// consensus connection touches it, and CometBFT serializes those calls.
	pending *baselineBlock
}

type baselineBlock struct {
	height   int64
	time     time.Time
	batch    *pebble.Batch
	appHash  []byte
	outcomes []TxOutcome
}

// TxRecord is what an app keeps for a committed tx, as returned by the
// /tx/<hex body hash> query (canon-encoded in QueryResponse.Value).
type TxRecord struct {
	Height int64
	Index  uint32
	Code   uint32
}

// DecodeTxRecord decodes a /tx query value.
func DecodeTxRecord(b []byte) (TxRecord, error) {
	var r TxRecord
	err := canon.Unmarshal(b, &r)
	return r, err
}

var prefixTx = []byte("t/") // the baseline app's own layout

func txKey(hash [32]byte) []byte { return append(append(make([]byte, 0, 34), prefixTx...), hash[:]...) }

// appHashDomain separates the baseline hash chain from any other hash.
const appHashDomain = "ewr/baseline/apphash/v1\x00"

// BaselineAppDir is where the baseline app of the node at home keeps its state.
func BaselineAppDir(home string) string { return filepath.Join(home, "data", "app.db") }

// NewBaselineApp opens (or creates) the app's pebble DB in dir.
func NewBaselineApp(dir string, logger log.Logger) (*BaselineApp, error) {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	opts := appDBOptions(logger, "app")
	db, err := pebble.Open(dir, opts)
	opts.Cache.Unref() // the DB holds its own reference
	if err != nil {
		return nil, fmt.Errorf("chainengine: open app db: %w", err)
	}
	a := &BaselineApp{db: db, sigs: NewSigCache(DefaultSigCacheSize), logger: logger}
	if err := a.load(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return a, nil
}

func (a *BaselineApp) load() error {
	m, err := loadAppMeta(a.db)
	if err != nil || !m.found {
		return err // fresh: InitChain records the chain id
	}
	a.mu.chainID, a.mu.height, a.mu.appHash = m.chainID, m.height, m.appHash
	return nil
}

// Close closes the DB. Call it after the node is stopped.
func (a *BaselineApp) Close() error {
	if a.pending != nil {
		_ = a.pending.batch.Close()
		a.pending = nil
	}
	return a.db.Close()
}

// ConcurrentCheckTx implements ConcurrentCheckTx: CheckTx and Query read
// the committed view under mu, pebble and the SigCache, all safe for
// concurrent use; FinalizeBlock stages into a batch no reader sees.
func (a *BaselineApp) ConcurrentCheckTx() bool { return true }

// SigCache implements SigCacher.
func (a *BaselineApp) SigCache() *SigCache { return a.sigs }

// SetCommitHook implements App.
func (a *BaselineApp) SetCommitHook(fn func(CommittedBlock)) { a.hook.Store(&fn) }

func (a *BaselineApp) committed() (chainID string, height int64, appHash []byte) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.mu.chainID, a.mu.height, a.mu.appHash
}

// Info reports the last committed height and app hash; CometBFT replays the
// blocks after it.
func (a *BaselineApp) Info(context.Context, *abci.InfoRequest) (*abci.InfoResponse, error) {
	_, h, hash := a.committed()
	return &abci.InfoResponse{Data: "ewr-baseline", Version: "1", AppVersion: 1, LastBlockHeight: h, LastBlockAppHash: hash}, nil
}

// InitChain records the chain id. The baseline takes no genesis state.
func (a *BaselineApp) InitChain(_ context.Context, req *abci.InitChainRequest) (*abci.InitChainResponse, error) {
	if s := bytes.TrimSpace(req.AppStateBytes); len(s) > 0 {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(s, &m); err != nil || len(m) != 0 {
			return nil, fmt.Errorf("chainengine: baseline app takes app_state {}, got %.80q", s)
		}
	}
	// Written now, not at the first Commit: CheckTx may run before it. If
	// the node dies before its first Commit, CometBFT calls InitChain again.
	if err := a.db.Set(keyChainID, []byte(req.ChainId), pebble.Sync); err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.mu.chainID = req.ChainId
	a.mu.Unlock()
	return &abci.InitChainResponse{}, nil
}

// CheckTx refuses a tx that is malformed, outside its validity window,
// already committed, or badly signed, in that order (cheapest first). A
// recheck (after each block, for txs still in the mempool) only repeats the
// window and replay checks: the signatures were verified when the tx entered.
func (a *BaselineApp) CheckTx(_ context.Context, req *abci.CheckTxRequest) (*abci.CheckTxResponse, error) {
	tx, err := DecodeTx(req.Tx)
	if err != nil {
		return checkTxErr(err), nil
	}
	chainID, height, _ := a.committed()
	if err := tx.CheckHeight(chainID, height+1); err != nil {
		return checkTxErr(err), nil
	}
	v, err := dbGet(a.db, txKey(tx.Hash))
	if err != nil {
		return nil, err
	}
	if v != nil {
		return checkTxErr(ErrTxReplay), nil
	}
	if req.Type != abci.CHECK_TX_TYPE_RECHECK {
		if err := a.sigs.Verify(tx); err != nil {
			return checkTxErr(err), nil
		}
	}
	return &abci.CheckTxResponse{Code: abci.CodeTypeOK}, nil
}

func checkTxErr(err error) *abci.CheckTxResponse {
	o := txErrOutcome([32]byte{}, err)
	return &abci.CheckTxResponse{Code: o.Code, Codespace: o.Codespace, Log: o.Log}
}

// ProcessProposal rejects a proposal holding any tx that does not decode or
// whose signatures do not verify. Txs this node's CheckTx already verified
// are not verified again.
func (a *BaselineApp) ProcessProposal(_ context.Context, req *abci.ProcessProposalRequest) (*abci.ProcessProposalResponse, error) {
	for i, bt := range a.sigs.CheckBlockTxsFor(req.Hash, req.Txs) {
		if bt.Err != nil {
			a.logger.Error("Rejecting proposal", "height", req.Height, "tx", i, "err", bt.Err)
			return &abci.ProcessProposalResponse{Status: abci.PROCESS_PROPOSAL_STATUS_REJECT}, nil
		}
	}
	return &abci.ProcessProposalResponse{Status: abci.PROCESS_PROPOSAL_STATUS_ACCEPT}, nil
}

// FinalizeBlock stages the block: each valid, unexpired, not yet committed tx
// is recorded under its body hash. Nothing is written until Commit.
func (a *BaselineApp) FinalizeBlock(_ context.Context, req *abci.FinalizeBlockRequest) (*abci.FinalizeBlockResponse, error) {
	chainID, height, appHash := a.committed()
	if height > 0 && req.Height != height+1 {
		return nil, fmt.Errorf("chainengine: finalize height %d after committed %d", req.Height, height)
	}
	if a.pending != nil { // a block finalized but never committed: drop it
		_ = a.pending.batch.Close()
	}
	p := &baselineBlock{height: req.Height, time: req.Time, batch: a.db.NewBatch(), outcomes: make([]TxOutcome, len(req.Txs))}
	a.pending = p
	results := make([]*abci.ExecTxResult, len(req.Txs))
	inBlock := make(map[[32]byte]struct{}, len(req.Txs))
	h := sha256.New()
	h.Write([]byte(appHashDomain))
	h.Write(appHash)
	changed := false
	for i, bt := range a.sigs.CheckBlockTxsFor(req.Hash, req.Txs) {
		err := bt.Err
		var hash [32]byte
		if err == nil {
			hash = bt.Tx.Hash
			var fatal error
			if err, fatal = a.finalizeTx(p, bt.Tx, chainID, req.Height, i, inBlock); fatal != nil {
				return nil, fmt.Errorf("chainengine: finalize block %d: %w", req.Height, fatal)
			}
		}
		if err != nil {
			o := txErrOutcome(hash, err)
			o.Index = i
			p.outcomes[i] = o
			results[i] = &abci.ExecTxResult{Code: o.Code, Codespace: o.Codespace, Log: o.Log}
			continue
		}
		h.Write(hash[:])
		changed = true
		p.outcomes[i] = TxOutcome{Hash: hash, Index: i}
		results[i] = &abci.ExecTxResult{Code: abci.CodeTypeOK}
	}
	p.appHash = appHash
	if changed {
		p.appHash = h.Sum(nil)
	}
	var hb [8]byte
	binary.BigEndian.PutUint64(hb[:], uint64(req.Height))
	if err := errors.Join(p.batch.Set(keyHeight, hb[:], nil), p.batch.Set(keyAppHash, p.appHash, nil)); err != nil {
		return nil, err
	}
	return &abci.FinalizeBlockResponse{TxResults: results, AppHash: p.appHash}, nil
}

// finalizeTx applies one tx whose signatures are good. txErr says why the
// tx fails (its result code); fatal is a storage failure.
func (a *BaselineApp) finalizeTx(p *baselineBlock, tx *Tx, chainID string, height int64, index int, inBlock map[[32]byte]struct{}) (txErr, fatal error) {
	if err := tx.CheckHeight(chainID, height); err != nil {
		return err, nil
	}
	if _, dup := inBlock[tx.Hash]; dup {
		return ErrTxReplay, nil
	}
	k := txKey(tx.Hash)
	v, err := dbGet(a.db, k)
	if err != nil {
		return nil, err
	}
	if v != nil {
		return ErrTxReplay, nil
	}
	inBlock[tx.Hash] = struct{}{}
	rec := canon.Marshal(&TxRecord{Height: height, Index: uint32(index)})
	return nil, p.batch.Set(k, rec, nil)
}

// Commit makes the staged block durable (one synced batch holding the txs,
// the height and the app hash), then reports it to the commit hook.
func (a *BaselineApp) Commit(context.Context, *abci.CommitRequest) (*abci.CommitResponse, error) {
	p := a.pending
	if p == nil {
		return nil, errors.New("chainengine: commit without finalize")
	}
	a.pending = nil
	err := p.batch.Commit(pebble.Sync)
	_ = p.batch.Close()
	if err != nil {
		return nil, fmt.Errorf("chainengine: commit block %d: %w", p.height, err)
	}
	a.mu.Lock()
	a.mu.height = p.height
	a.mu.appHash = p.appHash
	a.mu.Unlock()
	if fn := a.hook.Load(); fn != nil {
		(*fn)(CommittedBlock{Height: p.height, Time: p.time, Txs: p.outcomes})
	}
	return &abci.CommitResponse{}, nil
}

// Query answers /tx/<hex body hash> with the tx's TxRecord, canon-encoded.
func (a *BaselineApp) Query(_ context.Context, req *abci.QueryRequest) (*abci.QueryResponse, error) {
	_, height, _ := a.committed()
	hexHash, ok := strings.CutPrefix(req.Path, "/tx/")
	var hash [32]byte
	if !ok || len(hexHash) != 2*len(hash) {
		return &abci.QueryResponse{Code: CodeQueryBadPath, Codespace: CodespaceQuery, Log: "path must be /tx/<64 hex digits>", Height: height}, nil
	}
	if _, err := hex.Decode(hash[:], []byte(hexHash)); err != nil {
		return &abci.QueryResponse{Code: CodeQueryBadPath, Codespace: CodespaceQuery, Log: "path must be /tx/<64 hex digits>", Height: height}, nil
	}
	v, err := dbGet(a.db, txKey(hash))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return &abci.QueryResponse{Code: CodeQueryNotFound, Codespace: CodespaceQuery, Log: "tx not committed", Key: hash[:], Height: height}, nil
	}
	return &abci.QueryResponse{Key: hash[:], Value: v, Height: height}, nil
}

// CommittedTx implements CommittedTxFinder.
func (a *BaselineApp) CommittedTx(hash [32]byte) (TxOutcome, int64, bool, error) {
	v, err := dbGet(a.db, txKey(hash))
	if err != nil || v == nil {
		return TxOutcome{}, 0, false, err
	}
	r, err := DecodeTxRecord(v)
	if err != nil {
		return TxOutcome{}, 0, false, err
	}
	return TxOutcome{Hash: hash, Index: int(r.Index), Code: r.Code}, r.Height, true, nil
}
