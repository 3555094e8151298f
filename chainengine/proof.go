package chainengine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	cmtcrypto "github.com/cometbft/cometbft/api/cometbft/crypto/v1"
	rpccore "github.com/cometbft/cometbft/rpc/core"
	"github.com/cosmos/gogoproto/proto"
	"github.com/ewrchain/ewr/chainengine/bundle"
	"github.com/ewrchain/ewr/chainengine/merkle"
	"github.com/ewrchain/ewr/internal/canon"
)

// The bundle types and their offline check live in package bundle, which
// depends on no node; these are their names here.
type (
	ProofBundle     = bundle.ProofBundle
	ProvenRecord    = bundle.ProvenRecord
	ValidatorChange = bundle.ValidatorChange
	Decoded         = bundle.Decoded
)

// ProofBundleVersion is the format version of a bundle.
const ProofBundleVersion = bundle.Version

// Errors of Verify.
var (
	ErrBundleMalformed  = bundle.ErrBundleMalformed
	ErrBundleHeader     = bundle.ErrBundleHeader
	ErrBundleValidators = bundle.ErrBundleValidators
	ErrBundleCommit     = bundle.ErrBundleCommit
	ErrBundleProof      = bundle.ErrBundleProof
	ErrBundleRecord     = bundle.ErrBundleRecord
)

// RecordJSON and TrustedValidators are package bundle's.
var (
	RecordJSON        = bundle.RecordJSON
	TrustedValidators = bundle.TrustedValidators
)

// Prover builds proof bundles from a node's stores and its receipt app.
type Prover struct {
	node *Node
	app  *ReceiptApp
	once sync.Once
	env  *rpccore.Environment
	err  error

	mu      sync.Mutex
	scanned int64   // block heights up to this were looked at for hand-overs
	changes []int64 // heights of the headers that hand the validator set over
}

// NewProver returns a prover for the node, whose app must be a *ReceiptApp.
func NewProver(n *Node) (*Prover, error) {
	app, ok := n.App().(*ReceiptApp)
	if !ok {
		return nil, errors.New("chainengine: proofs need the receipt app")
	}
	return &Prover{node: n, app: app}, nil
}

// ErrNotYetProvable is returned while no signed header covers the state
// the caller asked for; waiting a block fixes it.
var ErrNotYetProvable = errors.New("chainengine: state not yet under a signed header")

// Bundle proves the record at key (or its absence) in the newest state that
// a committed header covers. minHeight asks for a state at least that
// recent (e.g. the height a receipt last changed); Bundle waits up to the
// context's deadline for it.
func (p *Prover) Bundle(ctx context.Context, key string, minHeight int64) (*ProofBundle, error) {
	return p.BundleOf(ctx, func(func(string) ([]byte, bool)) []string { return []string{key} }, minHeight)
}

// BundleOf proves, in one state, the records keysOf names given that
// state (the first is the bundle's own record, the others its Records):
// a position bundle is ledger.PositionKeys.
func (p *Prover) BundleOf(ctx context.Context, keysOf func(get func(string) ([]byte, bool)) []string, minHeight int64) (*ProofBundle, error) {
	p.once.Do(func() { p.env, p.err = p.node.Comet().ConfigureRPC() })
	if p.err != nil {
		return nil, p.err
	}
	for {
		b, err := p.bundle(keysOf, minHeight)
		if !errors.Is(err, ErrNotYetProvable) {
			return b, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (p *Prover) bundle(keysOf func(get func(string) ([]byte, bool)) []string, minHeight int64) (*ProofBundle, error) {
	bs := p.env.BlockStore
	// The newest header with a commit: a block's commit is stored with the
	// next block, or as the node's seen commit for the newest one.
	top := bs.Height()
	headerHeight := top
	commit := bs.LoadSeenCommit(top)
	if commit == nil {
		headerHeight = top - 1
		commit = bs.LoadBlockCommit(headerHeight)
	}
	stateHeight := headerHeight - 1
	if commit == nil || stateHeight < minHeight || stateHeight < 0 {
		return nil, ErrNotYetProvable
	}
	meta := bs.LoadBlockMeta(headerHeight)
	if meta == nil {
		return nil, ErrNotYetProvable
	}
	tree, ok := p.app.committed.snapshot(stateHeight)
	if !ok {
		return nil, ErrNotYetProvable // the app has not committed it yet, or it is too old
	}
	root := tree.Root()
	if !bytes.Equal(root[:], meta.Header.AppHash) {
		return nil, fmt.Errorf("chainengine: state %d root %X differs from header %d app hash %X", stateHeight, root, headerHeight, meta.Header.AppHash)
	}
	vals, err := p.env.StateStore.LoadValidators(headerHeight)
	if err != nil {
		return nil, err
	}
	keys := keysOf(func(k string) ([]byte, bool) { return tree.Get([]byte(k)) })
	prove := func(key string) (ProvenRecord, error) {
		r := ProvenRecord{Key: key}
		if value, found := tree.Get([]byte(key)); found {
			r.Value = value
			if r.Record, err = RecordJSON(key, value); err != nil {
				return r, err
			}
		}
		r.Proof = canon.Marshal(tree.Prove([]byte(key)))
		return r, nil
	}
	first, err := prove(keys[0])
	if err != nil {
		return nil, err
	}
	b := &ProofBundle{Version: ProofBundleVersion, ChainID: meta.Header.ChainID, Key: first.Key, Value: first.Value, Record: first.Record,
		Proof: first.Proof, StateHeight: stateHeight}
	for _, k := range keys[1:] {
		r, err := prove(k)
		if err != nil {
			return nil, err
		}
		b.Records = append(b.Records, r)
	}
	if b.Header, err = proto.Marshal(meta.Header.ToProto()); err != nil {
		return nil, err
	}
	if b.Commit, err = proto.Marshal(commit.ToProto()); err != nil {
		return nil, err
	}
	if b.Validators, err = bundle.CanonicalValidators(vals); err != nil {
		return nil, err
	}
	if b.Changes, err = p.handOvers(headerHeight); err != nil {
		return nil, err
	}
	return b, nil
}

// handOvers are the validator changes a bundle under a header at height top
// carries: every header below it whose next validators differ from its own.
// The heights are found once, block by block, and remembered.
func (p *Prover) handOvers(top int64) ([]ValidatorChange, error) {
	bs := p.env.BlockStore
	p.mu.Lock()
	for h := max(p.scanned+1, bs.Base()); h < top; h++ {
		meta := bs.LoadBlockMeta(h)
		if meta == nil {
			break
		}
		if !bytes.Equal(meta.Header.ValidatorsHash, meta.Header.NextValidatorsHash) {
			p.changes = append(p.changes, h)
		}
		p.scanned = h
	}
	heights := append([]int64(nil), p.changes...)
	p.mu.Unlock()
	var out []ValidatorChange
	for _, h := range heights {
		if h >= top {
			break
		}
		meta := bs.LoadBlockMeta(h)
		commit := bs.LoadBlockCommit(h)
		if meta == nil || commit == nil {
			return nil, fmt.Errorf("chainengine: the hand-over at height %d is not kept (pruned?)", h)
		}
		next, err := p.env.StateStore.LoadValidators(h + 1)
		if err != nil {
			return nil, err
		}
		var c ValidatorChange
		if c.Header, err = proto.Marshal(meta.Header.ToProto()); err != nil {
			return nil, err
		}
		if c.Commit, err = proto.Marshal(commit.ToProto()); err != nil {
			return nil, err
		}
		if c.Validators, err = bundle.CanonicalValidators(next); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// proofOps wraps a merkle proof for an ABCI query answer.
func proofOps(p *merkle.Proof) *cmtcrypto.ProofOps {
	return &cmtcrypto.ProofOps{Ops: []cmtcrypto.ProofOp{{Type: "ewr/merkle/v1", Data: canon.Marshal(p)}}}
}
