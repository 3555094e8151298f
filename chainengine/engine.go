package chainengine

import (
	"errors"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
)

// App is an ABCI 2.0 application that reports what it committed.
type App interface {
	abci.Application
	// SetCommitHook registers fn, called synchronously at the end of each
	// Commit with the results of that block's txs in block order. Used by the
	// submit path to answer waiters. fn must not block: it runs on the
	// consensus goroutine with the ABCI connection held.
	SetCommitHook(fn func(CommittedBlock))
}

// CommittedTxFinder is implemented by apps that can say whether a tx body
// hash is committed, and with what result, without going through ABCI Query.
// It must be safe to call concurrently with the ABCI methods. The submit path
// uses it so that resubmitting a committed tx answers with the original
// outcome (a retry is idempotent) instead of a bare rejection.
type CommittedTxFinder interface {
	CommittedTx(hash [32]byte) (out TxOutcome, height int64, found bool, err error)
}

// SigCacher is implemented by apps that check signatures through a
// SigCache. Submit then verifies a tx's signatures on the submitting
// goroutine, before CheckTx, so that CheckTx (which runs under the ABCI
// connection's lock) finds them cached.
type SigCacher interface {
	SigCache() *SigCache
}

// ConcurrentCheckTx is implemented by apps whose CheckTx and Query are safe
// to run concurrently with each other and with the consensus connection's
// calls (PrepareProposal, ProcessProposal, FinalizeBlock and, for Query,
// Commit): they read only committed state, under the app's own locks. The
// node then calls them without CometBFT's ABCI lock, which measurably cuts
// latency under load (see clientCreator). CometBFT still serializes the
// consensus connection, and never runs CheckTx during Commit: it holds the
// mempool lock then, and rechecks after it.
type ConcurrentCheckTx interface {
	ConcurrentCheckTx() bool
}

// CommittedBlock is what one Commit made durable.
type CommittedBlock struct {
	Height int64
	Time   time.Time
	Txs    []TxOutcome
}

// TxOutcome is the result of one tx: a CheckTx rejection or its FinalizeBlock
// result. Code 0 is success.
type TxOutcome struct {
	Hash      [32]byte // Tx.Hash: sha256 of the body
	Index     int      // position in the block; -1 if the tx never reached a block
	Code      uint32
	Codespace string
	Log       string
}

// OK reports whether the tx succeeded.
func (o TxOutcome) OK() bool { return o.Code == abci.CodeTypeOK }

// Codespaces of the results chainengine produces. Apps use their own
// codespaces for their rules.
const (
	// CodespaceTx is for envelope failures: decoding, signatures, chain id,
	// expiry, replay. The codes are the same in CheckTx and FinalizeBlock.
	CodespaceTx = "tx"
	// CodespaceNode is for a tx the node did not take: mempool full, seen
	// before, node overloaded. Only Submit returns these; they never appear
	// in a block.
	CodespaceNode = "node"
)

// Codes in CodespaceTx.
const (
	CodeTxTooLarge uint32 = iota + 1
	CodeTxMalformed
	CodeTxVersion
	CodeTxSigners
	CodeTxBadSig
	CodeTxChainID
	CodeTxExpired
	CodeTxExpiryRange
	CodeTxReplay
)

// Codes in CodespaceNode.
const (
	CodeNodeMempoolFull uint32 = iota + 1
	CodeNodeDuplicate          // in the mempool cache but neither pending nor known committed
	CodeNodeBusy               // too many txs waiting for their commit on this node
	CodeNodeTooLarge           // over the mempool's max tx size
	CodeNodeRejected           // refused by the mempool before the app saw it
)

var txErrCodes = []struct {
	err  error
	code uint32
}{
	{ErrTxTooLarge, CodeTxTooLarge},
	{ErrTxMalformed, CodeTxMalformed},
	{ErrTxVersion, CodeTxVersion},
	{ErrTxSigners, CodeTxSigners},
	{ErrTxBadSig, CodeTxBadSig},
	{ErrTxChainID, CodeTxChainID},
	{ErrTxExpired, CodeTxExpired},
	{ErrTxExpiryRange, CodeTxExpiryRange},
	{ErrTxReplay, CodeTxReplay},
}

// TxErrorCode maps an envelope error from tx.go to its code in CodespaceTx.
// ok is false for any other error, which the caller must map itself.
func TxErrorCode(err error) (code uint32, ok bool) {
	for _, e := range txErrCodes {
		if errors.Is(err, e.err) {
			return e.code, true
		}
	}
	return 0, false
}

// txErrOutcome is the outcome of a tx refused for an envelope error.
func txErrOutcome(hash [32]byte, err error) TxOutcome {
	code, ok := TxErrorCode(err)
	if !ok {
		code = CodeTxMalformed
	}
	return TxOutcome{Hash: hash, Index: -1, Code: code, Codespace: CodespaceTx, Log: err.Error()}
}

// Query results shared by the apps.
const (
	// CodespaceQuery is for ABCI Query failures.
	CodespaceQuery = "query"

	CodeQueryNotFound uint32 = 1
	CodeQueryBadPath  uint32 = 2
)
