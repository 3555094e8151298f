package chainengine

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// appHarness drives a ReceiptApp through ABCI calls directly, block by
// block, without CometBFT: the app's own contract.
type appHarness struct {
	t       *testing.T
	dir     string
	app     *ReceiptApp
	w       *ledger.World
	chainID string
	height  int64
	time    time.Time
}

func newAppHarness(t *testing.T) *appHarness {
	h := &appHarness{t: t, dir: t.TempDir(), chainID: "ewr-app-test", time: time.Unix(1_767_225_600, 0)}
	h.w = ledger.NewWorld("app-test", h.time.Unix()+365*86400)
	var err error
	h.app, err = NewReceiptApp(h.dir, testLogger(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.app.Close() })
	state, err := json.Marshal(&h.w.Genesis)
	require.NoError(t, err)
	res, err := h.app.InitChain(context.Background(), &abci.InitChainRequest{ChainId: h.chainID, AppStateBytes: state, InitialHeight: 1, Time: h.time})
	require.NoError(t, err)
	require.Len(t, res.AppHash, 32)
	return h
}

func (h *appHarness) tx(signers []string, op receipt.Op) []byte {
	keys := make([]ed25519.PrivateKey, len(signers))
	for i, s := range signers {
		keys[i] = h.w.Key(s)
	}
	return OpTx(h.chainID, signers, keys, RandomNonce(), h.height+100, op)
}

// block finalizes and commits one block of txs.
func (h *appHarness) block(txs ...[]byte) *abci.FinalizeBlockResponse {
	h.t.Helper()
	h.height++
	h.time = h.time.Add(5 * time.Second)
	res, err := h.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Height: h.height, Time: h.time, Txs: txs})
	require.NoError(h.t, err)
	_, err = h.app.Commit(context.Background(), &abci.CommitRequest{})
	require.NoError(h.t, err)
	return res
}

func (h *appHarness) stockTx(lot, bay string, net uint64) []byte {
	op := &warehouse.RegisterStock{Lot: lot, Warehouse: ledger.Warehouse1, Bay: bay, Commodity: "copper", Grade: "A", Unit: "kg", Tolerance: 100,
		Tickets: []warehouse.SignedTicket{h.w.Ticket(ledger.Weighbridge1, "T-"+lot, warehouse.In, net+15_000, 15_000, "", h.time.Unix())}}
	return h.tx([]string{ledger.Operator, ledger.Inspector}, op)
}

func (h *appHarness) issueTx(id, lot string, qty uint64) []byte {
	now := h.time.Unix()
	return h.tx([]string{ledger.Operator}, &warehouse.IssueReceipt{ID: id, Lot: lot, Depositor: ledger.TraderA, Negotiable: true, Quantity: qty,
		Description: "copper", PlaceOfIssue: "Qingdao", StorageUntil: now + 400*86400, ValidUntil: now + 300*86400, StorageAgreementDate: now - 86400,
		StorageTermsRef: "ST", ThirdPartyClaims: "none known", Fees: receipt.FeeTerms{Currency: "USD"}})
}

func TestReceiptAppBlocks(t *testing.T) {
	h := newAppHarness(t)
	_, _, genesisHash, _ := h.app.committed.view()

	// Empty block: the app hash does not change (else CometBFT makes empty
	// blocks forever).
	res := h.block()
	assert.Equal(t, genesisHash, res.AppHash)

	stock := h.stockTx("LOT-1", "BAY-01", 10_000)
	res = h.block(stock, h.issueTx("R-1", "LOT-1", 8_000))
	require.Len(t, res.TxResults, 2)
	for i, r := range res.TxResults {
		require.Zero(t, r.Code, "tx %d: %s", i, r.Log)
	}
	afterIssue := res.AppHash
	assert.NotEqual(t, genesisHash, afterIssue)
	assert.Equal(t, afterIssue, h.block().AppHash, "empty block after a change")

	// A rule rejection is a result code naming the rule; nothing changes.
	over := h.issueTx("R-2", "LOT-1", 2_001)
	res = h.block(over)
	assert.Equal(t, warehouse.ErrOverIssue.Code, res.TxResults[0].Code)
	assert.Equal(t, CodespaceRule, res.TxResults[0].Codespace)
	assert.Contains(t, res.TxResults[0].Log, "lot: receipts would exceed the locked quantity")
	assert.Equal(t, afterIssue, res.AppHash)

	// Replay of a committed tx, applied or rejected: refused, no change.
	for _, raw := range [][]byte{stock, over} {
		res = h.block(raw)
		assert.Equal(t, CodeTxReplay, res.TxResults[0].Code)
		assert.Equal(t, afterIssue, res.AppHash)
		chk, err := h.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: raw, Type: abci.CHECK_TX_TYPE_CHECK})
		require.NoError(t, err)
		assert.Equal(t, CodeTxReplay, chk.Code)
	}
	// The same tx twice in one block: the second is a replay.
	dup := h.issueTx("R-3", "LOT-1", 500)
	res = h.block(dup, dup)
	assert.Zero(t, res.TxResults[0].Code)
	assert.Equal(t, CodeTxReplay, res.TxResults[1].Code)

	// A retry learns the original result.
	tx, _ := DecodeTx(over)
	out, height, found, err := h.app.CommittedTx(tx.Hash)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, warehouse.ErrOverIssue.Code, out.Code)
	assert.Equal(t, int64(4), height)
}

func TestReceiptAppRefusesForgedAndMisattributedTxs(t *testing.T) {
	h := newAppHarness(t)
	ctx := context.Background()
	good := h.stockTx("LOT-1", "BAY-01", 10_000)

	// A proposal carrying a forged signature is rejected outright: only a
	// byzantine proposer makes one.
	pp, err := h.app.ProcessProposal(ctx, &abci.ProcessProposalRequest{Height: 1, Txs: [][]byte{good, forge(t, good)}})
	require.NoError(t, err)
	assert.Equal(t, abci.PROCESS_PROPOSAL_STATUS_REJECT, pp.Status)
	pp, err = h.app.ProcessProposal(ctx, &abci.ProcessProposalRequest{Height: 1, Txs: [][]byte{good, h.issueTx("R-9", "LOT-9", 1)}})
	require.NoError(t, err)
	assert.Equal(t, abci.PROCESS_PROPOSAL_STATUS_ACCEPT, pp.Status, "a tx that breaks a rule is a result, not a bad proposal")

	// Signed by someone else's key in the operator's name: refused, and not
	// recorded (so the real operator's tx with that body is not blocked).
	mallory := DemoKeyPair("mallory")
	op := &warehouse.AddBay{Warehouse: ledger.Warehouse1, Bay: "BAY-X"}
	misattributed := OpTx(h.chainID, []string{ledger.Operator}, []ed25519.PrivateKey{mallory}, 42, 100, op)
	chk, err := h.app.CheckTx(ctx, &abci.CheckTxRequest{Tx: misattributed})
	require.NoError(t, err)
	assert.Equal(t, CodeTxSignerKey, chk.Code)
	res := h.block(misattributed)
	assert.Equal(t, CodeTxSignerKey, res.TxResults[0].Code)
	tx, _ := DecodeTx(misattributed)
	_, _, found, err := h.app.CommittedTx(tx.Hash)
	require.NoError(t, err)
	assert.False(t, found)

	// Unknown signer, malformed op, unknown op type: CheckTx refuses.
	ghost := OpTx(h.chainID, []string{"ghost"}, []ed25519.PrivateKey{mallory}, 1, 100, op)
	chk, _ = h.app.CheckTx(ctx, &abci.CheckTxRequest{Tx: ghost})
	assert.Equal(t, receipt.ErrUnknownSigner.Code, chk.Code)
	bad := EncodeTx(Body{Version: TxVersion, ChainID: h.chainID, Signers: []string{ledger.Operator}, Nonce: 1, ExpiresAt: 100, OpType: op.Type(), Op: []byte{0xff}},
		[]ed25519.PrivateKey{h.w.Key(ledger.Operator)})
	chk, _ = h.app.CheckTx(ctx, &abci.CheckTxRequest{Tx: bad})
	assert.Equal(t, ledger.ErrMalformedOp.Code, chk.Code)
	unknown := EncodeTx(Body{Version: TxVersion, ChainID: h.chainID, Signers: []string{ledger.Operator}, Nonce: 1, ExpiresAt: 100, OpType: "receipt.teleport", Op: nil},
		[]ed25519.PrivateKey{h.w.Key(ledger.Operator)})
	chk, _ = h.app.CheckTx(ctx, &abci.CheckTxRequest{Tx: unknown})
	assert.Equal(t, ledger.ErrUnknownOp.Code, chk.Code)
	badID := h.tx([]string{ledger.Operator}, &warehouse.AddBay{Warehouse: ledger.Warehouse1, Bay: "BAY/1"})
	chk, _ = h.app.CheckTx(ctx, &abci.CheckTxRequest{Tx: badID})
	assert.Equal(t, receipt.ErrInvalidID.Code, chk.Code)
	chk, _ = h.app.CheckTx(ctx, &abci.CheckTxRequest{Tx: good})
	assert.Zero(t, chk.Code, chk.Log)
}

func TestReceiptAppRestartsFromItsData(t *testing.T) {
	h := newAppHarness(t)
	first := h.stockTx("LOT-1", "BAY-01", 10_000)
	h.block(first, h.issueTx("R-1", "LOT-1", 10_000))
	h.block(h.stockTx("LOT-2", "BAY-02", 5_000))
	info, err := h.app.Info(context.Background(), &abci.InfoRequest{})
	require.NoError(t, err)
	st, _ := h.app.State()
	before, _ := st.Get(receipt.ReceiptKey("R-1"))
	require.NoError(t, h.app.Close())

	// A staged but uncommitted block is lost, as it must be: CometBFT
	// replays it.
	app, err := NewReceiptApp(h.dir, testLogger(t))
	require.NoError(t, err)
	h.app = app
	info2, err := app.Info(context.Background(), &abci.InfoRequest{})
	require.NoError(t, err)
	assert.Equal(t, info.LastBlockHeight, info2.LastBlockHeight)
	assert.Equal(t, info.LastBlockAppHash, info2.LastBlockAppHash)
	// The state before the last block is back too, rebuilt from what the
	// last block replaced: the newest state a signed header covers (the last
	// block's header holds its root) can be proven at once.
	prev, ok := app.StateAt(info2.LastBlockHeight - 1)
	require.True(t, ok, "the state before the last block, after a restart")
	rec, ok, err := app.Block(info2.LastBlockHeight - 1)
	require.NoError(t, err)
	require.True(t, ok)
	_, has := prev.Get(warehouse.LotKey("LOT-2"))
	assert.False(t, has, "LOT-2 came with the last block")
	_, has = prev.Get(warehouse.LotKey("LOT-1"))
	assert.True(t, has)
	assert.Equal(t, rec.AppHash, prev.(treeStore).t.Root(), "its root is the one committed then")
	st, _ = app.State()
	after, ok := st.Get(receipt.ReceiptKey("R-1"))
	require.True(t, ok)
	assert.Equal(t, before, after)
	res := h.block(h.issueTx("R-2", "LOT-2", 5_000))
	assert.Zero(t, res.TxResults[0].Code, res.TxResults[0].Log)
	// The replay guard came back with the state: a tx committed before the
	// restart is still refused, in CheckTx and in a block.
	chk, err := app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: first})
	require.NoError(t, err)
	assert.Equal(t, CodeTxReplay, chk.Code)
	res = h.block(first)
	assert.Equal(t, CodeTxReplay, res.TxResults[0].Code)
	require.NoError(t, ledger.CheckInvariants(st.(ledger.Ranger)))
}

// DemoKeyPair derives a key that no participant holds.
func DemoKeyPair(name string) ed25519.PrivateKey { return ledger.DemoKey("outsider", name) }

func TestReplayGuardForgetsOnlyExpiredTxs(t *testing.T) {
	g := newReplayGuard()
	a, b := [32]byte{1}, [32]byte{2}
	g.add([]guardEntry{{hash: a, expiresAt: 10}, {hash: b, expiresAt: 20}})
	g.prune(10)
	assert.True(t, g.committed(a), "a is still includable at height 10")
	g.prune(11)
	assert.False(t, g.committed(a), "a expired: CheckHeight refuses it from 11 on")
	assert.True(t, g.committed(b))
	assert.Equal(t, 1, g.size())
}

// TestSignerStatusFollowsEveryBlock: CheckTx answers from a cache of
// signers' keys and status while no block changes a participant; a
// suspension or reinstatement must reach the very next CheckTx, and a tx
// later in the same block must see it too.
func TestSignerStatusFollowsEveryBlock(t *testing.T) {
	h := newAppHarness(t)
	ctx := context.Background()
	admins := []string{ledger.Admin1, ledger.Admin2, ledger.Admin3}
	bay := 0
	byOperator := func() []byte {
		bay++
		return h.tx([]string{ledger.Operator}, &warehouse.AddBay{Warehouse: ledger.Warehouse1, Bay: fmt.Sprintf("BAY-S%d", bay)})
	}
	check := func(raw []byte) uint32 {
		res, err := h.app.CheckTx(ctx, &abci.CheckTxRequest{Tx: raw})
		require.NoError(t, err)
		return res.Code
	}
	suspend := func() []byte {
		return h.tx(admins, &receipt.SuspendParticipant{ID: ledger.Operator, Reason: "licence withdrawn"})
	}
	reinstate := func() []byte {
		return h.tx(admins, &receipt.ReinstateParticipant{ID: ledger.Operator, Reason: "licence renewed"})
	}

	for range 3 { // warm the cache at this epoch
		require.Zero(t, check(byOperator()))
	}
	require.Zero(t, h.block(suspend()).TxResults[0].Code)
	assert.Equal(t, receipt.ErrSuspended.Code, check(byOperator()), "CheckTx after the suspension's block")

	res := h.block(reinstate(), byOperator())
	assert.Zero(t, res.TxResults[0].Code, res.TxResults[0].Log)
	assert.Zero(t, res.TxResults[1].Code, "a tx after the reinstatement in the same block: %s", res.TxResults[1].Log)
	assert.Zero(t, check(byOperator()), "CheckTx after the reinstatement's block")

	res = h.block(byOperator(), suspend(), byOperator())
	assert.Zero(t, res.TxResults[0].Code, res.TxResults[0].Log)
	assert.Zero(t, res.TxResults[1].Code, res.TxResults[1].Log)
	assert.Equal(t, receipt.ErrSuspended.Code, res.TxResults[2].Code, "a tx after the suspension in the same block")
	assert.Equal(t, receipt.ErrSuspended.Code, check(byOperator()))

	// A block that changes no participant keeps the cache: still refused.
	h.block()
	assert.Equal(t, receipt.ErrSuspended.Code, check(byOperator()))
}

// TestCommittedStateListsFromPebble: the committed view's paged lists,
// read from pebble's ordered keys from the cursor on, hold exactly what a
// walk of the tree finds under each prefix, page after page.
func TestCommittedStateListsFromPebble(t *testing.T) {
	h := newAppHarness(t)
	h.block(h.stockTx("LOT-1", "BAY-01", 40_000))
	var txs [][]byte
	for i := range 30 {
		txs = append(txs, h.issueTx(fmt.Sprintf("R-%02d", i), "LOT-1", 1_000))
	}
	h.block(txs...)
	h.block(h.issueTx("R-1", "LOT-1", 1)) // "R-1" sorts among "R-0x" and "R-1x"
	st, _ := h.app.State()
	lister := st.(ledger.Lister)
	_, _, _, t0 := h.app.committed.view()
	tree := treeStore{t0}
	for _, prefix := range ledger.Prefixes() {
		var want []string
		tree.Range(prefix, func(k string, _ []byte) { want = append(want, k) })
		for _, pageSize := range []int{1, 4, 1000} {
			var got []string
			after := ""
			for {
				n := 0
				lister.List(prefix, after, func(k string, v []byte) bool {
					tv, ok := tree.Get(k)
					require.True(t, ok, k)
					require.Equal(t, tv, v, k)
					got = append(got, k)
					n++
					return n < pageSize
				})
				if n < pageSize {
					break
				}
				after = strings.TrimPrefix(got[len(got)-1], prefix)
				if after == "" {
					break // a singleton key (c/params): one record
				}
			}
			assert.Equal(t, want, got, "prefix %s, pages of %d", prefix, pageSize)
		}
	}
}

// TestTxDecodedOncePerNode: a tx that comes in through the node's API
// (Decode), then CheckTx, ProcessProposal and FinalizeBlock, is decoded and
// verified once; a tx the node first sees in a proposal, once too. A tx
// with a bad signature is not remembered as decoded.
func TestTxDecodedOncePerNode(t *testing.T) {
	h := newAppHarness(t)
	ctx := context.Background()
	h.block(h.stockTx("LOT-1", "BAY-01", 10_000))
	base := h.app.Decodes()

	viaAPI := h.issueTx("R-1", "LOT-1", 1_000)
	tx, op, err := h.app.Decode(viaAPI)
	require.NoError(t, err)
	assert.Equal(t, "receipt.issue", op.Type())
	tx2, _, err := h.app.Decode(viaAPI) // again: the same decoded tx
	require.NoError(t, err)
	assert.Same(t, tx, tx2)
	res, err := h.app.CheckTx(ctx, &abci.CheckTxRequest{Tx: viaAPI, Type: abci.CHECK_TX_TYPE_CHECK})
	require.NoError(t, err)
	require.Equal(t, abci.CodeTypeOK, res.Code, res.Log)
	fromPeer := h.issueTx("R-2", "LOT-1", 1_000)
	pp, err := h.app.ProcessProposal(ctx, &abci.ProcessProposalRequest{Height: h.height + 1, Time: h.time.Add(5 * time.Second), Txs: [][]byte{viaAPI, fromPeer}, Hash: []byte("block-2")})
	require.NoError(t, err)
	require.Equal(t, abci.PROCESS_PROPOSAL_STATUS_ACCEPT, pp.Status)
	h.height++
	h.time = h.time.Add(5 * time.Second)
	fin, err := h.app.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: h.height, Time: h.time, Txs: [][]byte{viaAPI, fromPeer}, Hash: []byte("block-2")})
	require.NoError(t, err)
	_, err = h.app.Commit(ctx, &abci.CommitRequest{})
	require.NoError(t, err)
	for _, r := range fin.TxResults {
		require.Equal(t, abci.CodeTypeOK, r.Code, r.Log)
	}
	assert.Equal(t, base+2, h.app.Decodes(), "two txs, each decoded once")

	forged := forge(t, h.issueTx("R-3", "LOT-1", 1_000))
	_, _, err = h.app.Decode(forged)
	require.ErrorIs(t, err, ErrTxBadSig)
	res, err = h.app.CheckTx(ctx, &abci.CheckTxRequest{Tx: forged, Type: abci.CHECK_TX_TYPE_CHECK})
	require.NoError(t, err)
	assert.NotEqual(t, abci.CodeTypeOK, res.Code, "a forged tx is checked afresh and refused")
}

// TestHomeRefusesASecondProcessAndAnotherChain: a home is locked by the
// process that runs it (the second is told the first's pid), and a data
// folder written by another chain than the genesis names is refused.
func TestHomeRefusesASecondProcessAndAnotherChain(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	w := ledger.NewWorld("home-test", time.Now().Unix()+86400)
	state, err := json.Marshal(&w.Genesis)
	require.NoError(t, err)
	require.NoError(t, InitHome(home, "h", "chain-a", state))

	release, err := LockHome(home)
	require.NoError(t, err)
	_, err = LockHome(home)
	require.ErrorIs(t, err, ErrHomeInUse)
	assert.Contains(t, err.Error(), fmt.Sprint(os.Getpid()))
	release()
	release, err = LockHome(home)
	require.NoError(t, err, "free again once released")
	release()

	app, err := NewReceiptApp(ReceiptAppDir(home), testLogger(t))
	require.NoError(t, err)
	defer app.Close()
	require.NoError(t, CheckHomeChain(home, app), "a fresh data folder")
	_, err = app.InitChain(context.Background(), &abci.InitChainRequest{ChainId: "chain-b", AppStateBytes: state, InitialHeight: 1, Time: time.Now()})
	require.NoError(t, err)
	assert.ErrorIs(t, CheckHomeChain(home, app), ErrOtherChain)
}
