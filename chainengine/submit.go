package chainengine

import (
	"context"
	"errors"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/mempool"
	"github.com/cometbft/cometbft/types"
)

// inMempool is implemented by CometBFT's flood mempool.
type inMempool interface {
	InMempool(types.TxKey) bool
}

// Submit hands tx to this node's mempool in-process (no HTTP) and waits until
// a block carrying it is committed. It returns the tx's outcome and the
// block height. A tx the node refuses (a CheckTx rejection, mempool full)
// is returned as an outcome with a non-zero code, Index -1 and height 0;
// errors are only for a broken or stopped node and for ctx.
//
// Submitting a tx that is already pending waits for it; submitting one that
// is already committed returns its committed outcome when the app
// implements CommittedTxFinder, else a CodeNodeDuplicate or CodeTxReplay
// rejection.
func (n *Node) Submit(ctx context.Context, tx []byte) (TxOutcome, int64, error) {
	wt, out, height, err := n.submit(ctx, tx)
	if wt == nil {
		return out, height, err
	}
	select {
	case c, ok := <-wt.C():
		if !ok {
			return TxOutcome{}, 0, ErrNodeStopped
		}
		return c.Outcome, c.Height, nil
	case <-ctx.Done():
		n.waiter.Cancel(wt)
		return TxOutcome{}, 0, ctx.Err()
	}
}

// SubmitAsync hands tx to this node's mempool and returns once CheckTx has
// answered: Code 0 means the tx is pending. Rejections are as in Submit.
func (n *Node) SubmitAsync(ctx context.Context, tx []byte) (TxOutcome, error) {
	wt, out, _, err := n.submit(ctx, tx)
	if wt != nil {
		n.waiter.Cancel(wt)
		out = TxOutcome{Hash: wt.hash, Index: -1}
	}
	return out, err
}

// submit runs CheckTx. It returns a registered wait if the tx is pending, or
// else the answer.
func (n *Node) submit(ctx context.Context, raw []byte) (*Wait, TxOutcome, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, TxOutcome{}, 0, err
	}
	tx, err := DecodeTx(raw)
	if err != nil {
		return nil, txErrOutcome([32]byte{}, err), 0, nil
	}
	// Verify signatures here, on the submitter's goroutine, rather than in
	// CheckTx under the app's ABCI lock, which consensus also needs.
	if sc, ok := n.app.(SigCacher); ok {
		if err := sc.SigCache().Verify(tx); err != nil {
			return nil, txErrOutcome(tx.Hash, err), 0, nil
		}
	}
	reject := func(code uint32, log string) TxOutcome {
		return TxOutcome{Hash: tx.Hash, Index: -1, Code: code, Codespace: CodespaceNode, Log: log}
	}
	// Register first: the tx may commit before CheckTx even returns.
	wt, err := n.waiter.Register(tx.Hash)
	if errors.Is(err, ErrTooManyWaiters) {
		return nil, reject(CodeNodeBusy, err.Error()), 0, nil
	}
	if err != nil {
		return nil, TxOutcome{}, 0, err
	}
	answer := func(out TxOutcome, height int64, err error) (*Wait, TxOutcome, int64, error) {
		n.waiter.Cancel(wt)
		return nil, out, height, err
	}

	n.running.RLock()
	if n.running.stopped {
		n.running.RUnlock()
		return answer(TxOutcome{}, 0, ErrNodeStopped)
	}
	reqRes, err := n.cmt.Mempool().CheckTx(raw, "")
	n.running.RUnlock()
	if err != nil {
		var full mempool.ErrMempoolIsFull
		var tooLarge mempool.ErrTxTooLarge
		var pre mempool.ErrPreCheck
		switch {
		case errors.Is(err, mempool.ErrTxInCache):
			return n.seenBefore(wt, tx)
		case errors.As(err, &full), errors.Is(err, mempool.ErrRecheckFull):
			return answer(reject(CodeNodeMempoolFull, err.Error()), 0, nil)
		case errors.As(err, &tooLarge):
			return answer(reject(CodeNodeTooLarge, err.Error()), 0, nil)
		case errors.As(err, &pre):
			return answer(reject(CodeNodeRejected, err.Error()), 0, nil)
		default: // the app connection failed: the node is broken
			return answer(TxOutcome{}, 0, fmt.Errorf("chainengine: submit: %w", err))
		}
	}
	reqRes.Wait() // immediate with the in-process client
	res := reqRes.Response.GetCheckTx()
	if res == nil {
		return answer(TxOutcome{}, 0, errors.New("chainengine: submit: no CheckTx response"))
	}
	if res.Code != abci.CodeTypeOK {
		out := TxOutcome{Hash: tx.Hash, Index: -1, Code: res.Code, Codespace: res.Codespace, Log: res.Log}
		if res.Codespace == CodespaceTx && res.Code == CodeTxReplay {
			if c, h, ok := n.findCommitted(tx.Hash); ok {
				return answer(c, h, nil)
			}
		}
		return answer(out, 0, nil)
	}
	// The app accepted it; the mempool may still refuse it after the fact.
	if err := reqRes.Error(); err != nil {
		var full mempool.ErrMempoolIsFull
		switch {
		case errors.Is(err, mempool.ErrTxInMempool):
			// Same raw tx raced in from a peer: it is pending, so wait.
		case errors.As(err, &full), errors.Is(err, mempool.ErrRecheckFull):
			return answer(reject(CodeNodeMempoolFull, err.Error()), 0, nil)
		default:
			return answer(reject(CodeNodeRejected, err.Error()), 0, nil)
		}
	}
	return wt, TxOutcome{}, 0, nil
}

// seenBefore answers a tx the mempool cache already holds: pending (wait for
// it), or committed or dropped earlier.
func (n *Node) seenBefore(wt *Wait, tx *Tx) (*Wait, TxOutcome, int64, error) {
	if mp, ok := n.cmt.Mempool().(inMempool); ok && mp.InMempool(types.Tx(tx.Raw).Key()) {
		// Pending. A commit between Register and here was delivered to wt;
		// one after it will be.
		return wt, TxOutcome{}, 0, nil
	}
	n.waiter.Cancel(wt)
	select {
	case c, ok := <-wt.C(): // committed while we looked
		if ok {
			return nil, c.Outcome, c.Height, nil
		}
		return nil, TxOutcome{}, 0, ErrNodeStopped
	default:
	}
	if c, h, ok := n.findCommitted(tx.Hash); ok {
		return nil, c, h, nil
	}
	return nil, TxOutcome{Hash: tx.Hash, Index: -1, Code: CodeNodeDuplicate, Codespace: CodespaceNode,
		Log: "tx seen recently and not pending: committed, expired or dropped"}, 0, nil
}

func (n *Node) findCommitted(hash [32]byte) (TxOutcome, int64, bool) {
	f, ok := n.app.(CommittedTxFinder)
	if !ok {
		return TxOutcome{}, 0, false
	}
	out, h, found, err := f.CommittedTx(hash)
	if err != nil || !found {
		return TxOutcome{}, 0, false
	}
	return out, h, true
}
