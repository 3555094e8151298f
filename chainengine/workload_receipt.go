package chainengine

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// ReceiptWorkload is realistic receipt traffic for the chain benchmark.
// Each lane owns a lot in its own bay and walks receipts through their
// life, one tx at a time: over and over, a receipt is issued against the
// lane's lot, pledged, confirmed, released, offered, taken and split. The
// mix is issue 1/7, pledge 2/7, release 1/7, transfer 2/7, split 1/7. The
// lots are in the genesis, as stock migrated from an earlier registry:
// intake (weighbridge signatures checked per ticket) is not what this
// measures.
//
// Every tx names the receipt version it expects, and when every step
// succeeds those versions are known in advance, so all txs are signed in
// Prepare, before the network starts, as clients sign on their own
// machines. A lane whose tx is refused keeps going and its later txs are
// refused too; a healthy run has none.
type ReceiptWorkload struct {
	chainID string
	lanes   int
	world   benchWorld
	start   int64 // wall clock at construction: validity, maturities, deadlines

	mu     sync.Mutex
	queues [][]signedTx // per lane, pre-signed
	next   []int
	cycles []int // cycles generated per lane (for ids when signing on demand)
}

type signedTx struct {
	raw  []byte
	kind string
}

type benchWorld struct {
	genesis ledger.Genesis
	keys    map[string]ed25519.PrivateKey
	wb      ed25519.PrivateKey
}

// Receipt workload shape.
const (
	receiptMaxLanes  = 4000
	receiptBanks     = 8
	receiptQtyKg     = 1_000
	receiptLotKg     = 200_000
	receiptCycleTxs  = 7
	benchWarehouse   = "WH-BENCH"
	benchOperator    = "wo-bench"
	benchInspector   = "cm-bench"
	benchWeighbridge = "WB-BENCH"
)

// Kinds of the receipt workload's txs, as the report's mix names them.
const (
	KindStock          = "lot.register"
	KindIssue          = "receipt.issue"
	KindPledgeRequest  = "pledge.request"
	KindPledgeConfirm  = "pledge.confirm"
	KindPledgeRelease  = "pledge.release"
	KindTransferOffer  = "transfer.initiate"
	KindTransferAccept = "transfer.accept"
	KindSplit          = "receipt.split"
)

// NewReceiptWorkload returns the workload for a chain with chainID.
func NewReceiptWorkload(chainID string) *ReceiptWorkload {
	w := &ReceiptWorkload{chainID: chainID, lanes: receiptMaxLanes, start: time.Now().Unix()}
	w.world = newBenchWorld(w.lanes, w.start)
	w.queues = make([][]signedTx, w.lanes)
	w.next = make([]int, w.lanes)
	w.cycles = make([]int, w.lanes)
	return w
}

func benchKey(name string) ed25519.PrivateKey { return ledger.DemoKey("bench", name) }

func laneTrader(lane int, side string) string { return fmt.Sprintf("t-%04d-%s", lane, side) }
func laneBank(lane int) string                { return fmt.Sprintf("bank-%d", lane%receiptBanks) }
func laneBay(lane int) string                 { return fmt.Sprintf("B-%04d", lane) }
func laneLot(lane int) string                 { return fmt.Sprintf("L-%04d", lane) }

func newBenchWorld(lanes int, start int64) benchWorld {
	bw := benchWorld{keys: map[string]ed25519.PrivateKey{}}
	add := func(id string, roles receipt.Role) {
		k := benchKey(id)
		bw.keys[id] = k
		var pk receipt.PubKey
		copy(pk[:], k.Public().(ed25519.PublicKey))
		bw.genesis.Participants = append(bw.genesis.Participants, receipt.Participant{ID: id, Name: id, Roles: roles, PubKey: pk})
	}
	add("admin-bench", receipt.RoleAdmin)
	add(benchOperator, receipt.RoleOperator)
	add(benchInspector, receipt.RoleCollateralManager)
	for b := range receiptBanks {
		add(fmt.Sprintf("bank-%d", b), receipt.RoleBank)
	}
	for l := range lanes {
		add(laneTrader(l, "a"), receipt.RoleTrader)
		add(laneTrader(l, "b"), receipt.RoleTrader)
	}
	bw.genesis.Admins, bw.genesis.Threshold = []string{"admin-bench"}, 1
	bw.genesis.Warehouses = []warehouse.Warehouse{{ID: benchWarehouse, Name: "Benchmark Warehouse", Location: "loopback", Operator: benchOperator, CollateralManager: benchInspector}}
	for l := range lanes {
		bw.genesis.Bays = append(bw.genesis.Bays, warehouse.Bay{Warehouse: benchWarehouse, ID: laneBay(l)})
	}
	bw.wb = benchKey("device/" + benchWeighbridge)
	d := warehouse.Device{ID: benchWeighbridge, Type: warehouse.Weighbridge, Warehouse: benchWarehouse, CalibratedUntil: start + 365*86400}
	copy(d.PubKey[:], bw.wb.Public().(ed25519.PublicKey))
	bw.genesis.Devices = []warehouse.Device{d}
	for l := range lanes {
		bw.genesis.Lots = append(bw.genesis.Lots, warehouse.Lot{ID: laneLot(l), Warehouse: benchWarehouse, Bay: laneBay(l),
			Commodity: "copper cathode", Grade: "LME Grade A", Unit: "kg", LockedQty: receiptLotKg, Tolerance: 200})
	}
	return bw
}

// Name implements Workload.
func (w *ReceiptWorkload) Name() string { return "receipt" }

// AppState implements Workload: the benchmark consortium.
func (w *ReceiptWorkload) AppState() json.RawMessage {
	b, err := json.Marshal(&w.world.genesis)
	if err != nil {
		panic(err)
	}
	return b
}

// Lanes implements Workload.
func (w *ReceiptWorkload) Lanes() int { return w.lanes }

// Prepare signs enough txs for expectedTxs spread over the lanes.
func (w *ReceiptWorkload) Prepare(ctx context.Context, expectedTxs int) error {
	perLane := expectedTxs/w.lanes + 2*receiptCycleTxs
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	for k := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lane := k; lane < w.lanes; lane += workers {
				if ctx.Err() != nil {
					errs[k] = ctx.Err()
					return
				}
				w.queues[lane] = w.laneTxs(lane, 0, perLane)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// laneTxs signs at least n txs of lane's story from cycle `from` on (cycle
// 0 starts with the intake).
func (w *ReceiptWorkload) laneTxs(lane, from, n int) []signedTx {
	var out []signedTx
	nonce := uint64(lane)<<32 | uint64(from)<<8
	sign := func(kind string, signers []string, op receipt.Op) {
		keys := make([]ed25519.PrivateKey, len(signers))
		for i, s := range signers {
			keys[i] = w.world.keys[s]
		}
		nonce++
		out = append(out, signedTx{raw: OpTx(w.chainID, signers, keys, nonce, MaxTxTTLHeights/2, op), kind: kind})
	}
	a, b, bank := laneTrader(lane, "a"), laneTrader(lane, "b"), laneBank(lane)
	lot := laneLot(lane)
	for c := from; len(out) < n; c++ {
		r := fmt.Sprintf("R-%04d-%d", lane, c)
		pl := fmt.Sprintf("P-%04d-%d", lane, c)
		sign(KindIssue, []string{benchOperator}, &warehouse.IssueReceipt{
			ID: r, Lot: lot, Depositor: a, Negotiable: true, Quantity: receiptQtyKg, Description: "copper cathode in bundles",
			PlaceOfIssue: "Qingdao", StorageUntil: w.start + 730*86400, ValidUntil: w.start + 365*86400, StorageAgreementDate: w.start - 86400,
			StorageTermsRef: "BENCH-ST-1", ThirdPartyClaims: "none known", Fees: receipt.FeeTerms{Currency: "CNY", MinorPerTonnePerDay: 150},
		})
		sign(KindPledgeRequest, []string{a}, &receipt.RequestPledge{Pledge: pl, Receipt: r, Version: 1, Bank: bank, Maturity: w.start + 180*86400})
		sign(KindPledgeConfirm, []string{bank}, &receipt.ConfirmPledge{Pledge: pl, ReceiptVersion: 2})
		sign(KindPledgeRelease, []string{bank}, &receipt.ReleasePledge{Pledge: pl, Version: 2})
		sign(KindTransferOffer, []string{a}, &receipt.InitiateTransfer{Receipt: r, Version: 4, To: b, Deadline: w.start + 7*86400})
		sign(KindTransferAccept, []string{b}, &receipt.AcceptTransfer{Receipt: r, Version: 5})
		sign(KindSplit, []string{b}, &receipt.Split{Receipt: r, Version: 6, Parts: []receipt.Part{
			{ID: r + ".a", Quantity: receiptQtyKg / 2}, {ID: r + ".b", Quantity: receiptQtyKg / 2}}})
		w.mu.Lock()
		w.cycles[lane] = c + 1
		w.mu.Unlock()
	}
	return out
}

// Next implements Workload.
func (w *ReceiptWorkload) Next(lane int, _ int64) ([]byte, string, error) {
	if lane < 0 || lane >= w.lanes {
		return nil, "", errors.New("chainengine: receipt workload: lane out of range")
	}
	w.mu.Lock()
	q, i := w.queues[lane], w.next[lane]
	from := w.cycles[lane]
	w.mu.Unlock()
	if i >= len(q) {
		// Past what Prepare signed: sign the next cycle now.
		more := w.laneTxs(lane, from, receiptCycleTxs)
		w.mu.Lock()
		w.queues[lane] = append(w.queues[lane][:0:0], more...)
		w.next[lane] = 0
		q, i = w.queues[lane], 0
		w.mu.Unlock()
	}
	tx := q[i]
	w.mu.Lock()
	w.queues[lane][i].raw = nil // let it go once submitted
	w.next[lane] = i + 1
	w.mu.Unlock()
	return tx.raw, tx.kind, nil
}
