package chainengine

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/chainengine/merkle"
	"github.com/ewrchain/ewr/internal/canon"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// CodespaceRule is the codespace of domain rule rejections: the code is the
// rule error's code (receipt.LookupError).
const CodespaceRule = "ewr"

// CodeInternal is a tx whose execution hit a bug (a panic in the domain
// rules). It is rejected like any other tx and changes nothing; every node
// takes the same path, so consensus is safe. It is logged loudly.
const CodeInternal uint32 = 999

// ErrTxSignerKey is a signature made with a key other than the one
// registered for the signer.
var ErrTxSignerKey = errors.New("tx: signer's key is not the registered one")

// ReceiptApp is ewr's ABCI application. It executes the domain ops of signed
// txs through the ledger and keeps the state in pebble, under an
// authenticated tree whose root is the app hash.
//
// What must happen before what: FinalizeBlock stages the block (state
// writes, tx results, block record, height and app hash) in one pebble
// batch; Commit writes it with pebble.Sync and only then publishes the new
// committed view and calls the hooks. Info reports the last height and app
// hash pebble holds, so after kill -9 CometBFT replays exactly the blocks
// after it. The state tree is rebuilt from pebble on start; its root must
// equal the stored app hash.
type ReceiptApp struct {
	abci.BaseApplication
	// peerFilter is the node ids this node keeps as peers (map[string]bool;
	// unset: any).
	peerFilter atomic.Value
	db         *pebble.DB
	ledger     *ledger.Ledger
	sigs       *SigCache
	// applyWorkers is how many goroutines update the tree per block: 1,
	// since a node shares its cores with consensus, gossip and, in a
	// localnet, other nodes (parallel hashing cost more CPU than it saved).
	applyWorkers int
	replay       *replayGuard
	decoded      *decodedCache
	signers      signerCache
	logger       log.Logger
	hook         atomic.Pointer[func(CommittedBlock)]
	// lastBlockTime is the committed block's time, unix seconds.
	lastBlockTime atomic.Int64
	// decodes counts the tx envelopes this node decoded: each tx once,
	// whichever of Decode, CheckTx or a block saw it first.
	decodes atomic.Uint64

	committed committedState
	// pending is the block FinalizeBlock staged; only the consensus
	// connection touches it, and CometBFT serializes those calls.
	pending *pendingBlock
	// hot carries reads from block to block (consensus connection only).
	hot hotReads
	// batchBytesPerTx is the last block's batch size per tx, to size the
	// next block's batch at once instead of growing it by copies.
	batchBytesPerTx int

	notify struct {
		sync.Mutex
		ch chan struct{} // closed and replaced at each commit
	}
	recent struct {
		sync.Mutex
		blocks [decodedBlocks]decodedBlock
		next   int
	}
}

// ConcurrentCheckTx implements ConcurrentCheckTx: CheckTx and Query read
// only the committed view (immutable trees, under the app's own locks) and
// caches that lock themselves, so the node may call them outside CometBFT's
// ABCI lock.
func (a *ReceiptApp) ConcurrentCheckTx() bool { return true }

// SigCache implements SigCacher.
func (a *ReceiptApp) SigCache() *SigCache { return a.sigs }

type pendingBlock struct {
	guard    []guardEntry // the block's txs, for the replay guard after Commit
	height   int64
	time     time.Time
	batch    *pebble.Batch
	tree     *merkle.Tree
	appHash  []byte
	outcomes []TxOutcome
	record   *ledger.BlockRecord
	reads    memo // the block's read memo, for hot
	changes  []merkle.Change
}

// TxResult is what the app keeps for a tx whose signers signed it: its
// height, position and result code. It is the replay guard and the tx index.
type TxResult struct {
	Height int64
	Index  uint32
	Code   uint32
	Log    string
}

// ReceiptAppDir is where the receipt app of the node at home keeps its state.
func ReceiptAppDir(home string) string { return filepath.Join(home, "data", "ewr.db") }

// NewReceiptApp opens (or creates) the app's state in dir.
func NewReceiptApp(dir string, logger log.Logger) (*ReceiptApp, error) {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	opts := appDBOptions(logger, "ewr")
	db, err := pebble.Open(dir, opts)
	opts.Cache.Unref() // the DB holds its own reference
	if err != nil {
		return nil, fmt.Errorf("chainengine: open state db: %w", err)
	}
	l := ledger.New()
	l.Verify = func(pub, msg, sig []byte) bool {
		return voi.VerifyWithOptions(voi.PublicKey(pub), msg, sig, verifyOpts)
	}
	a := &ReceiptApp{db: db, ledger: l, sigs: NewSigCache(DefaultSigCacheSize), decoded: newDecodedCache(), replay: newReplayGuard(), applyWorkers: 1, logger: logger}
	a.notify.ch = make(chan struct{})
	if err := a.load(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return a, nil
}

func (a *ReceiptApp) load() error {
	m, err := loadAppMeta(a.db)
	if err != nil {
		return err
	}
	a.committed.mu.chainID = m.chainID
	if !m.found {
		return nil // fresh: InitChain builds the state
	}
	h, hash := m.height, m.appHash
	start := time.Now()
	tree, err := loadTree(a.db)
	if err != nil {
		return err
	}
	root := tree.Root()
	if !bytes.Equal(root[:], hash) {
		return fmt.Errorf("chainengine: state db corrupt: rebuilt root %x, committed app hash %x at height %d", root, hash, h)
	}
	if err := a.replay.load(a.db, h+1); err != nil {
		return err
	}
	// The tree before the last block, from what that block replaced: the
	// newest state a signed header covers is that one, until the next block.
	if raw, closer, err := a.db.Get(undoKey(h)); err == nil {
		var u undo
		uerr := canon.Unmarshal(raw, &u)
		_ = closer.Close()
		if uerr != nil {
			return fmt.Errorf("chainengine: undo record of block %d: %w", h, uerr)
		}
		prev := u.revert(tree)
		if b, ok, err := a.Block(h - 1); err == nil && ok {
			if root := prev.Root(); root == b.AppHash {
				a.committed.set(h-1, root[:], prev, true)
			} else {
				a.logger.Error("Undo record does not rebuild the previous state; proofs wait for the next block", "height", h)
			}
		}
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return err
	} else if b, ok, err := a.Block(h - 1); err == nil && ok && bytes.Equal(b.AppHash[:], hash) {
		a.committed.set(h-1, hash, tree, true) // the last block changed nothing
	}
	a.committed.set(h, hash, tree, true)
	if b, ok, err := a.Block(h); err == nil && ok {
		a.lastBlockTime.Store(b.Time)
	}
	a.logger.Info("Loaded state", "height", h, "records", tree.Len(), "app_hash", fmt.Sprintf("%X", hash), "took", time.Since(start))
	return nil
}

// Close closes the state. Call it after the node stopped.
func (a *ReceiptApp) Close() error {
	if a.pending != nil {
		_ = a.pending.batch.Close()
		a.pending = nil
	}
	return a.db.Close()
}

// SetCommitHook implements App.
func (a *ReceiptApp) SetCommitHook(fn func(CommittedBlock)) { a.hook.Store(&fn) }

// Info reports the last committed height and app hash.
func (a *ReceiptApp) Info(context.Context, *abci.InfoRequest) (*abci.InfoResponse, error) {
	_, h, hash, _ := a.committed.view()
	return &abci.InfoResponse{Data: "ewr", Version: "1", AppVersion: 1, LastBlockHeight: h, LastBlockAppHash: hash}, nil
}

// DecodeGenesis decodes the app_state of a genesis: a ledger.Genesis in
// JSON, strictly.
func DecodeGenesis(raw []byte) (*ledger.Genesis, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var g ledger.Genesis
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("chainengine: app_state: %w", err)
	}
	return &g, nil
}

// InitChain writes the first consortium from the genesis app_state and
// returns its root as the initial app hash. If the node dies before its
// first Commit, CometBFT calls it again; it writes the same records.
func (a *ReceiptApp) InitChain(_ context.Context, req *abci.InitChainRequest) (*abci.InitChainResponse, error) {
	g, err := DecodeGenesis(req.AppStateBytes)
	if err != nil {
		return nil, err
	}
	st := ledger.NewMemStore()
	if err := ledger.InitState(st, g); err != nil {
		return nil, err
	}
	// The first validators, from CometBFT's genesis, as the state's set
	// that admin-quorum changes start from.
	vs := &receipt.ValidatorSet{Version: 1}
	for _, v := range req.Validators {
		if v.PubKeyType != "ed25519" || len(v.PubKeyBytes) != 32 {
			return nil, fmt.Errorf("chainengine: genesis validator key of type %s: ed25519 only", v.PubKeyType)
		}
		vs.Validators = append(vs.Validators, receipt.Validator{PubKey: receipt.PubKey(v.PubKeyBytes), Power: v.Power})
	}
	sort.Slice(vs.Validators, func(i, j int) bool { return bytes.Compare(vs.Validators[i].PubKey[:], vs.Validators[j].PubKey[:]) < 0 })
	st.Set(receipt.KeyValidators, receipt.EncodeRecord(vs))
	pairs := make([]merkle.KV, 0, st.Len())
	b := a.db.NewBatch()
	defer b.Close()
	for _, k := range st.Keys() {
		v, _ := st.Get(k)
		pairs = append(pairs, merkle.KV{Key: []byte(k), Value: v})
		if err := b.Set(stateKey(k), v, nil); err != nil {
			return nil, err
		}
	}
	tree := merkle.Build(pairs)
	root := tree.Root()
	rec := ledger.GenesisRecord(st, req.Time.Unix())
	rec.Height = req.InitialHeight - 1
	rec.AppHash = root
	if err := errors.Join(
		b.Set(keyChainID, []byte(req.ChainId), nil),
		b.Set(blockKey(rec.Height), ledger.EncodeBlockRecord(rec), nil),
		b.Commit(pebble.Sync)); err != nil {
		return nil, err
	}
	a.committed.mu.Lock()
	a.committed.mu.chainID = req.ChainId
	a.committed.mu.Unlock()
	a.committed.set(req.InitialHeight-1, root[:], tree, true)
	a.logger.Info("Genesis state", "participants", len(g.Participants), "records", tree.Len(), "app_hash", fmt.Sprintf("%X", root))
	return &abci.InitChainResponse{AppHash: root[:]}, nil
}

// CheckTx refuses, cheapest check first: a malformed tx, one outside its
// validity window, one already committed, a bad signature, a signer that is
// unknown, suspended or signed with another key, an op that does not decode
// or is malformed on its face. Whether the op's rules pass is decided in
// the block, against the state then. A recheck repeats only what a block
// can change: the window, replay and the signers.
func (a *ReceiptApp) CheckTx(_ context.Context, req *abci.CheckTxRequest) (*abci.CheckTxResponse, error) {
	key := SigCacheKey(req.Tx)
	if d := a.decoded.get(key, false); d != nil && d.opErr == nil {
		// Decoded and verified by this node already (Decode, on the way in
		// from its API, or an earlier CheckTx): what a block can change is
		// all that is left to check.
		return a.checkDecoded(d.tx)
	}
	a.decodes.Add(1)
	tx, err := DecodeTx(req.Tx)
	if err != nil {
		return checkTxErr(err), nil
	}
	chainID, height, tree, epoch := a.committed.checkView()
	if err := tx.CheckHeight(chainID, height+1); err != nil {
		return checkTxErr(err), nil
	}
	if a.replay.committed(tx.Hash) {
		return checkTxErr(ErrTxReplay), nil
	}
	if req.Type != abci.CHECK_TX_TYPE_RECHECK {
		if err := a.sigs.Verify(tx); err != nil {
			return checkTxErr(err), nil
		}
	}
	if err := a.checkSignerKeys(treeStore{tree}, tx, epoch); err != nil {
		return checkTxResult(err), nil
	}
	if req.Type != abci.CHECK_TX_TYPE_RECHECK {
		op, err := a.ledger.Registry.Decode(tx.Body.OpType, tx.Body.Op)
		if err == nil {
			err = op.Check()
		}
		if err != nil {
			return checkTxResult(err), nil
		}
		a.decoded.put(key, &decodedTx{tx: tx, op: op})
	}
	return &abci.CheckTxResponse{Code: abci.CodeTypeOK}, nil
}

// Decodes is how many tx envelopes this node decoded.
func (a *ReceiptApp) Decodes() uint64 { return a.decodes.Load() }

// checkDecoded is CheckTx for a tx whose envelope, signatures and op this
// node already checked: its window, replay and signers against the
// committed state.
func (a *ReceiptApp) checkDecoded(tx *Tx) (*abci.CheckTxResponse, error) {
	chainID, height, tree, epoch := a.committed.checkView()
	if err := tx.CheckHeight(chainID, height+1); err != nil {
		return checkTxErr(err), nil
	}
	if a.replay.committed(tx.Hash) {
		return checkTxErr(ErrTxReplay), nil
	}
	if err := a.checkSignerKeys(treeStore{tree}, tx, epoch); err != nil {
		return checkTxResult(err), nil
	}
	return &abci.CheckTxResponse{Code: abci.CodeTypeOK}, nil
}

// Decode decodes tx bytes, verifies their signatures and decodes the op,
// once for this node: the API calls it on the way in, and CheckTx,
// ProcessProposal and FinalizeBlock reuse the result. A tx that fails
// any of it is not remembered; CheckTx will give it its outcome.
func (a *ReceiptApp) Decode(raw []byte) (*Tx, receipt.Op, error) {
	key := SigCacheKey(raw)
	if d := a.decoded.get(key, false); d != nil && d.opErr == nil {
		return d.tx, d.op, nil
	}
	a.decodes.Add(1)
	tx, err := DecodeTx(raw)
	if err != nil {
		return nil, nil, err
	}
	if err := a.sigs.Verify(tx); err != nil {
		return tx, nil, err
	}
	op, err := a.ledger.Registry.Decode(tx.Body.OpType, tx.Body.Op)
	if err == nil {
		err = op.Check()
	}
	if err != nil {
		return tx, nil, err
	}
	a.decoded.put(key, &decodedTx{tx: tx, op: op})
	return tx, op, nil
}

// checkSignerKeys checks each signer is a registered, active participant
// whose registered key made its signature. epoch, if not 0, is the signer
// epoch of the committed tree st reads (CheckTx): a key and status cached
// at that epoch are still right without reading the tree. A block's state
// (epoch 0) may have changed a participant in an earlier tx, so it is
// always read; the cache then only saves decoding it.
func (a *ReceiptApp) checkSignerKeys(st receipt.Store, tx *Tx, epoch uint64) error {
	for i, id := range tx.Body.Signers {
		key, active, hit := a.signers.lookupEpoch(id, epoch)
		if !hit {
			raw, ok := st.Get(receipt.ParticipantKey(id))
			if !ok {
				return receipt.Errorf(receipt.ErrUnknownSigner, "%q", id)
			}
			key, active, hit = a.signers.lookup(id, raw)
			if !hit {
				var p receipt.Participant
				if err := receipt.DecodeRecord(raw, &p); err != nil {
					panic(fmt.Sprintf("chainengine: corrupt participant %q: %v", id, err))
				}
				key, active = p.PubKey, p.Status == receipt.ParticipantActive
			}
			if !hit || epoch != 0 {
				a.signers.store(id, raw, key, active, epoch)
			}
		}
		if !active {
			return receipt.Errorf(receipt.ErrSuspended, "%q", id)
		}
		if key != receipt.PubKey(tx.Sigs[i].PubKey) {
			return fmt.Errorf("%w: %s", ErrTxSignerKey, id)
		}
	}
	return nil
}

// changesParticipants reports whether a block's changes touch a
// participant record.
func changesParticipants(changes []merkle.Change) bool {
	prefix := receipt.ParticipantKey("")
	for _, c := range changes {
		if strings.HasPrefix(string(c.Key), prefix) {
			return true
		}
	}
	return false
}

// blockTx is one tx of a proposal or block, decoded and checked.
type blockTx struct {
	BlockTx
	op    receipt.Op
	opErr error
}

// decodedBlocks is how many proposals' decoded txs are remembered for
// their FinalizeBlock (a height may see a few rounds).
const decodedBlocks = 4

type decodedBlock struct {
	hash string
	txs  []blockTx
}

// blockTxs decodes a proposal's or block's txs once per block hash: what
// ProcessProposal computed, FinalizeBlock reuses. take (FinalizeBlock)
// also drops the txs from the CheckTx cache: they are committed now.
func (a *ReceiptApp) blockTxs(hash []byte, raws [][]byte, take bool) []blockTx {
	key := string(hash)
	if len(hash) > 0 {
		a.recent.Lock()
		for _, b := range a.recent.blocks {
			if b.hash == key && len(b.txs) == len(raws) {
				a.recent.Unlock()
				if take {
					for _, raw := range raws {
						a.decoded.get(SigCacheKey(raw), true)
					}
				}
				return b.txs
			}
		}
		a.recent.Unlock()
	}
	txs := a.decodeBlock(raws, take)
	if len(hash) > 0 {
		a.recent.Lock()
		a.recent.blocks[a.recent.next] = decodedBlock{hash: key, txs: txs}
		a.recent.next = (a.recent.next + 1) % decodedBlocks
		a.recent.Unlock()
	}
	return txs
}

// decodeBlock decodes a proposal's or block's txs, reusing what CheckTx
// decoded and verified, and verifying the rest as one batch. take removes
// the reused entries (FinalizeBlock: the txs are committed now).
func (a *ReceiptApp) decodeBlock(raws [][]byte, take bool) []blockTx {
	out := make([]blockTx, len(raws))
	var rest [][]byte
	var restIdx []int
	for i, raw := range raws {
		if d := a.decoded.get(SigCacheKey(raw), take); d != nil {
			out[i] = blockTx{BlockTx: BlockTx{Tx: d.tx}, op: d.op, opErr: d.opErr}
			continue
		}
		rest = append(rest, raw)
		restIdx = append(restIdx, i)
	}
	if len(rest) == 0 {
		return out
	}
	a.decodes.Add(uint64(len(rest)))
	for j, bt := range a.sigs.CheckBlockTxs(rest) {
		i := restIdx[j]
		out[i].BlockTx = bt
		if bt.Tx == nil {
			continue
		}
		out[i].op, out[i].opErr = a.ledger.Registry.Decode(bt.Tx.Body.OpType, bt.Tx.Body.Op)
		if out[i].opErr == nil {
			out[i].opErr = out[i].op.Check()
		}
	}
	return out
}

// resultOf maps a rejection to its code and codespace.
func resultOf(err error) (code uint32, codespace, log string) {
	if errors.Is(err, ErrTxSignerKey) {
		return CodeTxSignerKey, CodespaceTx, err.Error()
	}
	if c, ok := TxErrorCode(err); ok {
		return c, CodespaceTx, err.Error()
	}
	if e, ok := receipt.AsError(err); ok {
		return e.Code, CodespaceRule, err.Error()
	}
	return CodeInternal, CodespaceRule, err.Error()
}

func checkTxResult(err error) *abci.CheckTxResponse {
	code, space, log := resultOf(err)
	return &abci.CheckTxResponse{Code: code, Codespace: space, Log: log}
}

// CodeTxSignerKey is ErrTxSignerKey's code in CodespaceTx.
const CodeTxSignerKey uint32 = 100

// ProcessProposal rejects a proposal holding a tx that does not decode or
// whose signatures do not verify: only a byzantine proposer makes one.
// Txs whose ops break rules are fine: they get a rejection result.
func (a *ReceiptApp) ProcessProposal(_ context.Context, req *abci.ProcessProposalRequest) (*abci.ProcessProposalResponse, error) {
	for i, bt := range a.blockTxs(req.Hash, req.Txs, false) {
		if bt.Err != nil {
			a.logger.Error("Rejecting proposal", "height", req.Height, "tx", i, "err", bt.Err)
			return &abci.ProcessProposalResponse{Status: abci.PROCESS_PROPOSAL_STATUS_REJECT}, nil
		}
	}
	return &abci.ProcessProposalResponse{Status: abci.PROCESS_PROPOSAL_STATUS_ACCEPT}, nil
}

// FinalizeBlock executes the block's txs in order against the state and
// stages everything Commit will write.
func (a *ReceiptApp) FinalizeBlock(_ context.Context, req *abci.FinalizeBlockRequest) (*abci.FinalizeBlockResponse, error) {
	chainID, height, appHash, tree := a.committed.view()
	if req.Height != height+1 {
		return nil, fmt.Errorf("chainengine: finalize height %d after committed %d", req.Height, height)
	}
	if a.pending != nil { // finalized but never committed (a round change): drop it
		_ = a.pending.batch.Close()
	}
	p := &pendingBlock{height: req.Height, time: req.Time, batch: a.db.NewBatchWithSize(a.batchSizeHint(len(req.Txs))), outcomes: make([]TxOutcome, len(req.Txs))}
	a.pending = p
	blk := receipt.Block{Height: req.Height, Time: req.Time.Unix(), ChainID: chainID}
	p.record = &ledger.BlockRecord{Height: req.Height, Time: blk.Time, Txs: make([]ledger.TxRecord, 0, len(req.Txs))}
	state := newBlockState(tree, a.hot.forTree(tree))
	// An upgrade due at this height rewrites its records before any tx.
	if changed, _ := ledger.BeginBlock(state, pebbleState{a.db}, blk); len(changed) > 0 {
		a.logger.Info("state upgrade applied", "height", req.Height, "records", len(changed)-1)
	}
	results := make([]*abci.ExecTxResult, len(req.Txs))
	inBlock := make(map[[32]byte]struct{}, len(req.Txs))
	for i, bt := range a.blockTxs(req.Hash, req.Txs, true) {
		out, rec, signed, fatal := a.execTx(state, bt, blk, inBlock)
		if fatal != nil {
			return nil, fmt.Errorf("chainengine: finalize block %d: %w", req.Height, fatal)
		}
		out.Index = i
		p.outcomes[i] = out
		results[i] = &abci.ExecTxResult{Code: out.Code, Codespace: out.Codespace, Log: out.Log}
		if !signed {
			continue
		}
		// The signers authorised this tx: remember it, applied or not, so a
		// replay is refused and a retry learns the original result.
		inBlock[out.Hash] = struct{}{}
		rec.Index = uint32(i)
		p.record.Txs = append(p.record.Txs, rec)
		res := canon.Marshal(&TxResult{Height: req.Height, Index: uint32(i), Code: out.Code, Log: out.Log})
		exp := bt.Tx.Body.ExpiresAt
		if err := errors.Join(p.batch.Set(resultKey(out.Hash), res, nil), p.batch.Set(expiryKey(exp, out.Hash), nil, nil)); err != nil {
			return nil, err
		}
		p.guard = append(p.guard, guardEntry{hash: out.Hash, expiresAt: exp})
	}
	p.tree = tree
	p.appHash = appHash
	p.reads = memo{recent: state.reads, older: state.older}
	if changes := state.changes(); len(changes) > 0 {
		p.changes = changes
		if err := p.batch.Set(undoKey(req.Height), canon.Marshal(undoOf(tree, state.reads, changes)), nil); err != nil {
			return nil, err
		}
		p.tree = tree.ApplyWorkers(changes, a.applyWorkers)
		root := p.tree.Root()
		p.appHash = root[:]
		for _, c := range changes {
			var err error
			if c.Delete {
				err = p.batch.Delete(stateKey(string(c.Key)), nil)
			} else {
				err = p.batch.Set(stateKey(string(c.Key)), c.Value, nil)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	copy(p.record.AppHash[:], p.appHash)
	// Txs that expired before the next height can never be included again:
	// drop their replay index entries now and then (the guard forgets them
	// at every Commit; one range tombstone per 64 blocks keeps pebble lean).
	if req.Height%64 == 0 {
		if err := p.batch.DeleteRange(expiryKey(0, [32]byte{}), expiryKey(req.Height+1, [32]byte{}), nil); err != nil {
			return nil, err
		}
	}
	if err := errors.Join(
		p.batch.Delete(undoKey(req.Height-1), nil), // only the latest block's is kept
		p.batch.Set(blockKey(req.Height), ledger.EncodeBlockRecord(p.record), nil),
		p.batch.Set(keyHeight, u64Bytes(uint64(req.Height)), nil),
		p.batch.Set(keyAppHash, p.appHash, nil)); err != nil {
		return nil, err
	}
	return &abci.FinalizeBlockResponse{TxResults: results, AppHash: p.appHash, ValidatorUpdates: validatorUpdates(tree, p.changes)}, nil
}

// validatorUpdates are what a block did to the validator set, for
// CometBFT: the difference between the set the state held before it (base)
// and after (its changes), in key order; nothing when it left the set alone.
func validatorUpdates(base *merkle.Tree, changes []merkle.Change) []abci.ValidatorUpdate {
	var after []byte
	found := false
	for _, c := range changes {
		if string(c.Key) == receipt.KeyValidators && !c.Delete {
			after, found = c.Value, true
		}
	}
	if !found {
		return nil
	}
	decode := func(raw []byte) map[receipt.PubKey]int64 {
		m := map[receipt.PubKey]int64{}
		var vs receipt.ValidatorSet
		if raw != nil {
			if err := receipt.DecodeRecord(raw, &vs); err != nil {
				panic(fmt.Sprintf("chainengine: corrupt validator set: %v", err))
			}
		}
		for _, v := range vs.Validators {
			m[v.PubKey] = v.Power
		}
		return m
	}
	before, _ := base.Get([]byte(receipt.KeyValidators))
	old, now := decode(before), decode(after)
	var keys []receipt.PubKey
	for k := range old {
		keys = append(keys, k)
	}
	for k := range now {
		if _, ok := old[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return bytes.Compare(keys[i][:], keys[j][:]) < 0 })
	var out []abci.ValidatorUpdate
	for _, k := range keys {
		if old[k] != now[k] {
			out = append(out, abci.ValidatorUpdate{Power: now[k], PubKeyType: "ed25519", PubKeyBytes: append([]byte(nil), k[:]...)})
		}
	}
	return out
}

// batchSizeHint is the batch size to start a block of n txs with.
func (a *ReceiptApp) batchSizeHint(n int) int {
	const most = 64 << 20
	return min(n*a.batchBytesPerTx+4096, most)
}

// execTx runs one tx of a block. signed reports whether the tx's signers
// really authorised it (good signatures by their registered keys, inside
// its window, not a replay): only such txs are recorded. fatal is a
// storage failure.
func (a *ReceiptApp) execTx(state *blockState, bt blockTx, blk receipt.Block, inBlock map[[32]byte]struct{}) (out TxOutcome, rec ledger.TxRecord, signed bool, fatal error) {
	fail := func(err error) (TxOutcome, ledger.TxRecord, bool, error) {
		out.Code, out.Codespace, out.Log = resultOf(err)
		return out, rec, signed, nil
	}
	if bt.Err != nil {
		return fail(bt.Err)
	}
	tx := bt.Tx
	out.Hash = tx.Hash
	if err := tx.CheckHeight(blk.ChainID, blk.Height); err != nil {
		return fail(err)
	}
	if _, dup := inBlock[tx.Hash]; dup {
		return fail(ErrTxReplay)
	}
	if a.replay.committed(tx.Hash) {
		return fail(ErrTxReplay)
	}
	if err := a.checkSignerKeys(state, tx, 0); err != nil {
		return fail(err)
	}
	signed = true
	rec = ledger.TxRecord{Hash: tx.Hash, Signers: tx.Body.Signers, OpType: tx.Body.OpType}
	if bt.opErr != nil {
		rec.Code, _, rec.Log = resultOf(bt.opErr)
		return fail(bt.opErr)
	}
	res, err := a.applyOp(state, blk, tx, bt.op)
	if err != nil {
		rec.Code, _, rec.Log = resultOf(err)
		return fail(err)
	}
	rec.Events = res.Events
	rec.Writes = make([]ledger.Write, len(res.Changed))
	for i, k := range res.Changed {
		v, ok := state.Get(k)
		rec.Writes[i] = ledger.Write{Key: k, Value: v, Deleted: !ok}
	}
	return out, rec, true, nil
}

// applyOp runs the op through the ledger. A panic inside the domain rules is
// a bug: the tx is rejected with CodeInternal and changes nothing (the
// ledger writes only when an op succeeds), on every node alike.
func (a *ReceiptApp) applyOp(state *blockState, blk receipt.Block, tx *Tx, op receipt.Op) (res ledger.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			a.logger.Error("BUG: domain rules panicked; tx rejected", "height", blk.Height, "tx", fmt.Sprintf("%X", tx.Hash), "op", tx.Body.OpType, "panic", r)
			err = fmt.Errorf("internal error executing %s", tx.Body.OpType)
		}
	}()
	return a.ledger.Apply(state, blk, tx.Body.Signers, op)
}

// Commit makes the staged block durable in one synced batch, then publishes
// the new committed view and tells the hooks.
func (a *ReceiptApp) Commit(context.Context, *abci.CommitRequest) (*abci.CommitResponse, error) {
	p := a.pending
	if p == nil {
		return nil, errors.New("chainengine: commit without finalize")
	}
	a.pending = nil
	if n := len(p.outcomes); n > 0 {
		a.batchBytesPerTx = p.batch.Len() / n
	}
	err := p.batch.Commit(pebble.Sync)
	_ = p.batch.Close()
	if err != nil {
		return nil, fmt.Errorf("chainengine: commit block %d: %w", p.height, err)
	}
	a.replay.add(p.guard)
	a.replay.prune(p.height + 1)
	a.hot.advance(p.tree, p.reads, p.changes)
	a.committed.set(p.height, p.appHash, p.tree, changesParticipants(p.changes))
	a.lastBlockTime.Store(p.time.Unix())
	if fn := a.hook.Load(); fn != nil {
		(*fn)(CommittedBlock{Height: p.height, Time: p.time, Txs: p.outcomes})
	}
	a.notify.Lock()
	close(a.notify.ch)
	a.notify.ch = make(chan struct{})
	a.notify.Unlock()
	return &abci.CommitResponse{}, nil
}

// NextBlock is the block a dry run on the committed state runs in: the
// next height of this chain, at now or the last block's time if later
// (block time never goes back).
func (a *ReceiptApp) NextBlock(now int64) receipt.Block {
	chainID, h, _, _ := a.committed.view()
	return receipt.Block{Height: h + 1, Time: max(now, a.lastBlockTime.Load()), ChainID: chainID}
}

// DryRun runs op as signed by signers against the committed state, in the
// next block (NextBlock), on a scratch overlay: what the rules would say
// now, without submitting; the one dry run of the API and the supervisor.
// A rule's refusal is a *receipt.Error; a panic in the rules is an error.
func (a *ReceiptApp) DryRun(signers []string, op receipt.Op, now int64) (err error) {
	st, _ := a.State()
	blk := a.NextBlock(now)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("chainengine: the rules panicked on a dry run of %s: %v", op.Type(), r)
		}
	}()
	_, err = a.ledger.Apply(ledger.NewOverlay(st), blk, signers, op)
	return err
}

// SetPeerFilter makes the node keep only peers with these node ids (with
// CometBFT's filter_peers on): a member talks to the consortium's nodes
// only.
func (a *ReceiptApp) SetPeerFilter(ids []string) {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	a.peerFilter.Store(m)
}

// Committed returns a channel closed at the next commit.
func (a *ReceiptApp) Committed() <-chan struct{} {
	a.notify.Lock()
	defer a.notify.Unlock()
	return a.notify.ch
}

// Height is the last committed height.
func (a *ReceiptApp) Height() int64 {
	_, h, _, _ := a.committed.view()
	return h
}

// State returns a read-only view of the committed state and its height.
func (a *ReceiptApp) State() (receipt.Store, int64) {
	_, h, _, t := a.committed.view()
	return committedView{treeStore{t}, pebbleState{a.db}}, h
}

// StateAt returns a read-only view of the state after block height, while
// it is still kept in memory (the last snapshotsKept blocks).
func (a *ReceiptApp) StateAt(height int64) (receipt.Store, bool) {
	t, ok := a.committed.snapshot(height)
	if !ok {
		return nil, false
	}
	return treeStore{t}, true
}

// ChainID is the chain this app belongs to.
func (a *ReceiptApp) ChainID() string {
	id, _, _, _ := a.committed.view()
	return id
}

// Block returns the record of a committed block (height 0: genesis).
func (a *ReceiptApp) Block(height int64) (*ledger.BlockRecord, bool, error) {
	v, err := dbGet(a.db, blockKey(height))
	if err != nil || v == nil {
		return nil, false, err
	}
	b, err := ledger.DecodeBlockRecord(v)
	if err != nil {
		return nil, false, fmt.Errorf("chainengine: block record %d: %w", height, err)
	}
	return b, true, nil
}

// CommittedTx implements CommittedTxFinder.
func (a *ReceiptApp) CommittedTx(hash [32]byte) (TxOutcome, int64, bool, error) {
	v, err := dbGet(a.db, resultKey(hash))
	if err != nil || v == nil {
		return TxOutcome{}, 0, false, err
	}
	var r TxResult
	if err := canon.Unmarshal(v, &r); err != nil {
		return TxOutcome{}, 0, false, err
	}
	out := TxOutcome{Hash: hash, Index: int(r.Index), Code: r.Code, Log: r.Log}
	if r.Code != 0 {
		out.Codespace = CodespaceRule
	}
	return out, r.Height, true, nil
}

// Query answers:
//
//	/state/<record key>   the record's canonical bytes (with Prove: the
//	                      merkle proof, canon-encoded, in ProofOps)
//	/tx/<hex body hash>   the tx's TxResult, canon-encoded
//	/block/<height>       the block's ledger.BlockRecord, canon-encoded
func (a *ReceiptApp) Query(_ context.Context, req *abci.QueryRequest) (*abci.QueryResponse, error) {
	_, height, _, tree := a.committed.view()
	bad := func(msg string) *abci.QueryResponse {
		return &abci.QueryResponse{Code: CodeQueryBadPath, Codespace: CodespaceQuery, Log: msg, Height: height}
	}
	notFound := func(msg string) *abci.QueryResponse {
		return &abci.QueryResponse{Code: CodeQueryNotFound, Codespace: CodespaceQuery, Log: msg, Height: height}
	}
	switch {
	case strings.HasPrefix(req.Path, "/p2p/filter/id/"):
		// CometBFT asks before it keeps a peer (filter_peers): only the
		// member's known peers, when it named them (SetPeerFilter).
		if f, _ := a.peerFilter.Load().(map[string]bool); f != nil && !f[strings.TrimPrefix(req.Path, "/p2p/filter/id/")] {
			return &abci.QueryResponse{Code: CodeQueryNotFound, Codespace: CodespaceQuery, Log: "not a peer this member knows", Height: height}, nil
		}
		return &abci.QueryResponse{Height: height}, nil
	case strings.HasPrefix(req.Path, "/p2p/filter/addr/"):
		return &abci.QueryResponse{Height: height}, nil
	case strings.HasPrefix(req.Path, "/state/"):
		key := strings.TrimPrefix(req.Path, "/state/")
		v, ok := tree.Get([]byte(key))
		if !ok {
			return notFound("no record " + key), nil
		}
		resp := &abci.QueryResponse{Key: []byte(key), Value: v, Height: height}
		if req.Prove {
			resp.ProofOps = proofOps(tree.Prove([]byte(key)))
		}
		return resp, nil
	case strings.HasPrefix(req.Path, "/tx/"):
		var hash [32]byte
		h := strings.TrimPrefix(req.Path, "/tx/")
		if len(h) != 64 {
			return bad("path must be /tx/<64 hex digits>"), nil
		}
		if _, err := hex.Decode(hash[:], []byte(h)); err != nil {
			return bad("path must be /tx/<64 hex digits>"), nil
		}
		v, err := dbGet(a.db, resultKey(hash))
		if err != nil {
			return nil, err
		}
		if v == nil {
			return notFound("tx not committed"), nil
		}
		return &abci.QueryResponse{Key: hash[:], Value: v, Height: height}, nil
	case strings.HasPrefix(req.Path, "/block/"):
		h, err := strconv.ParseInt(strings.TrimPrefix(req.Path, "/block/"), 10, 64)
		if err != nil {
			return bad("path must be /block/<height>"), nil
		}
		v, err := dbGet(a.db, blockKey(h))
		if err != nil {
			return nil, err
		}
		if v == nil {
			return notFound("no block record"), nil
		}
		return &abci.QueryResponse{Value: v, Height: height}, nil
	}
	return bad("unknown query path " + req.Path), nil
}
