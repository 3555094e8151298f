package api

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
)

// Chain is the read side of the node's receipt app (*chainengine.ReceiptApp).
type Chain interface {
	ChainID() string
	Height() int64
	State() (receipt.Store, int64)
	Block(height int64) (*ledger.BlockRecord, bool, error)
	CommittedTx(hash [32]byte) (chainengine.TxOutcome, int64, bool, error)
	Committed() <-chan struct{}
	// DryRun is the rules' answer to op on the committed state now.
	DryRun(signers []string, op receipt.Op, now int64) error
	// Decode decodes and verifies tx bytes once for the node.
	Decode(raw []byte) (*chainengine.Tx, receipt.Op, error)
}

// Submitter hands signed txs to the node (*chainengine.Node).
type Submitter interface {
	Submit(ctx context.Context, tx []byte) (chainengine.TxOutcome, int64, error)
	SubmitAsync(ctx context.Context, tx []byte) (chainengine.TxOutcome, error)
}

// Prover builds proof bundles (*chainengine.Prover).
type Prover interface {
	// BundleOf proves, in one state, the keys keysOf names given it.
	BundleOf(ctx context.Context, keysOf func(get func(string) ([]byte, bool)) []string, minHeight int64) (*chainengine.ProofBundle, error)
}

// Service is what the handlers call: resolve who must sign, check the op
// against committed state, sign with the participant's key the node holds,
// submit, and map the outcome. The CLI and the tests reach it through HTTP.
type Service struct {
	chain         Chain
	node          Submitter
	keys          KeyRing
	ledger        *ledger.Ledger
	drafts        *draftStore
	pending       *pendingSet
	commitTimeout time.Duration
	metrics       *metrics
	log           *slog.Logger
	blocks        *blockCache

	lastBlockTime atomic.Int64 // block time of the newest commit seen
}

// Outcome statuses.
const (
	StatusCommitted          = "committed"
	StatusPending            = "pending"
	StatusAwaitingSignatures = "awaiting_signatures"
)

// Outcome is what an action did.
type Outcome struct {
	Status string
	TxHash [32]byte
	Height int64
	Op     receipt.Op
	Events []receipt.Event
	Draft  *Draft
}

// ActOpts tunes Act.
type ActOpts struct {
	// Async returns once the mempool accepted the tx, without waiting for
	// its block.
	Async bool
	// Cosigners overrides the co-signers the op needs (admin quorums name
	// which admins; everything else is worked out from state).
	Cosigners []string
	// Slot is the idempotent request this action runs under, if any.
	Slot *idemSlot
	// NoCheck submits without running the rules on committed state first:
	// the chain then records a rejection in a block.
	NoCheck bool
}

// Act runs op with actor as the acting signer. An op that needs other
// signers becomes a draft awaiting their approval; otherwise it is signed
// with actor's key and submitted.
func (s *Service) Act(ctx context.Context, actor string, op receipt.Op, o ActOpts) (*Outcome, error) {
	if o.Slot != nil && o.Slot.raw() != nil {
		// A retry of a request whose tx was signed before: the same bytes
		// again, which the chain answers with the first outcome.
		return s.SubmitRaw(ctx, o.Slot.raw(), o.Async, o.Slot)
	}
	st, _ := s.chain.State()
	cos := requiredCosigners(st, actor, op)
	if o.Cosigners != nil {
		if err := checkCosigners(st, actor, cos, o.Cosigners); err != nil {
			return nil, err
		}
		cos = o.Cosigners
	}
	signers := []string{actor}
	for _, c := range cos {
		if c != actor && !contains(signers, c) {
			signers = append(signers, c)
		}
	}
	if o.NoCheck {
		if err := op.Check(); err != nil {
			return nil, err
		}
	} else if err := s.Check(signers, op); err != nil {
		return nil, err
	}
	if len(signers) > 1 {
		d, err := s.drafts.create(s, actor, signers, op)
		if err != nil {
			return nil, err
		}
		return &Outcome{Status: StatusAwaitingSignatures, Op: op, Draft: d}, nil
	}
	key, ok := s.keys.Key(actor)
	if !ok {
		return nil, failf(PKeyNotHeld, "%s", actor)
	}
	build := func() ([]byte, error) {
		body := chainengine.OpBody(s.chain.ChainID(), signers, chainengine.RandomNonce(), s.chain.Height()+chainengine.DefaultTxTTL, op)
		return chainengine.AssembleTx(body, []chainengine.Signature{chainengine.SignBody(key, body)}), nil
	}
	var raw []byte
	var err error
	if o.Slot != nil {
		raw, err = o.Slot.tx(build)
	} else {
		raw, err = build()
	}
	if err != nil {
		return nil, err
	}
	return s.SubmitRaw(ctx, raw, o.Async, o.Slot)
}

// Check runs op as signed by signers against the committed state, in a
// scratch overlay (the chain's DryRun): what the chain would say now,
// without submitting.
func (s *Service) Check(signers []string, op receipt.Op) error {
	if err := s.chain.DryRun(signers, op, time.Now().Unix()); err != nil {
		if _, typed := receipt.AsError(err); typed {
			return &ruleCheck{err: err}
		}
		return err
	}
	return nil
}

// SubmitRaw submits signed tx bytes and, unless async, waits for the
// commit. A tx still not committed after the commit timeout is reported
// pending, not failed: it may yet commit.
func (s *Service) SubmitRaw(ctx context.Context, raw []byte, async bool, slot *idemSlot) (*Outcome, error) {
	// The node's one decode: CheckTx and the block reuse it. A tx whose
	// signatures or op fail still goes to the node, whose CheckTx gives it
	// its outcome.
	tx, op, err := s.chain.Decode(raw)
	if tx == nil {
		code, _ := chainengine.TxErrorCode(err)
		if code == 0 {
			code = chainengine.CodeTxMalformed
		}
		return nil, chainengine.OutcomeErr(chainengine.TxOutcome{Index: -1, Code: code, Codespace: chainengine.CodespaceTx, Log: err.Error()}, 0)
	}
	if async {
		out, err := s.node.SubmitAsync(ctx, raw)
		if err != nil {
			return nil, err
		}
		if !out.OK() {
			return nil, chainengine.OutcomeErr(out, 0)
		}
		s.pending.add(tx.Hash)
		return &Outcome{Status: StatusPending, TxHash: tx.Hash, Op: op}, nil
	}
	t0 := time.Now()
	cctx, cancel := context.WithTimeout(ctx, s.commitTimeout)
	defer cancel()
	out, h, err := s.node.Submit(cctx, raw)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			s.pending.add(tx.Hash)
			if slot != nil {
				slot.noStore = true // a retry must learn the final outcome
			}
			return &Outcome{Status: StatusPending, TxHash: tx.Hash, Op: op}, nil
		}
		return nil, err
	}
	if !out.OK() {
		return nil, chainengine.OutcomeErr(out, h)
	}
	s.metrics.txLatency.Observe(time.Since(t0).Seconds())
	return &Outcome{Status: StatusCommitted, TxHash: tx.Hash, Height: h, Op: op, Events: s.txEvents(h, tx.Hash)}, nil
}

// txEvents returns what the tx with hash emitted in block h.
func (s *Service) txEvents(h int64, hash [32]byte) []receipt.Event {
	rec, ok, err := s.blocks.get(h)
	if err != nil || !ok {
		return nil
	}
	for _, t := range rec.Txs {
		if t.Hash == hash {
			return t.Events
		}
	}
	return nil
}

// checkCosigners refuses named co-signers the op does not need: a draft
// may ask for the signatures its op requires (required) and, for an admin
// quorum, any other active admin instead; never a third party's.
func checkCosigners(st receipt.Store, actor string, required, named []string) error {
	quorum := len(required) > 0
	x := &receipt.Exec{Store: st}
	admins := x.Consortium().Admins
	for _, r := range required {
		quorum = quorum && contains(admins, r)
	}
	for _, c := range named {
		if c == actor || contains(required, c) || (quorum && contains(admins, c)) {
			continue
		}
		return failf(PCosignerNotNeeded, "%s does not sign this op (it needs %v)", c, required)
	}
	return nil
}

// requiredCosigners is who must co-sign op started by actor: the op says
// (receipt.Cosigner), given the committed state.
func requiredCosigners(st receipt.Store, actor string, op receipt.Op) []string {
	return receipt.CosignersOf(&receipt.Exec{Store: st, Signers: []string{actor}}, actor, op)
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// pendingSet remembers txs submitted without waiting, so GET /v1/txs/{hash}
// can say "pending" rather than "unknown". Bounded: the oldest are
// forgotten first.
type pendingSet struct {
	mu struct {
		sync.Mutex
		at    map[[32]byte]time.Time
		order [][32]byte
	}
}

const maxPending = 100_000

func newPendingSet() *pendingSet {
	p := &pendingSet{}
	p.mu.at = map[[32]byte]time.Time{}
	return p
}

func (p *pendingSet) add(h [32]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.mu.at[h]; ok {
		return
	}
	p.mu.at[h] = time.Now()
	p.mu.order = append(p.mu.order, h)
	for len(p.mu.order) > maxPending {
		delete(p.mu.at, p.mu.order[0])
		p.mu.order = p.mu.order[1:]
	}
}

func (p *pendingSet) has(h [32]byte) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.mu.at[h]
	return t, ok
}

// sortedCopy returns xs sorted.
func sortedCopy(xs []string) []string {
	out := append([]string(nil), xs...)
	sort.Strings(out)
	return out
}
