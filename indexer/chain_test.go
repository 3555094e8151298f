package indexer_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/simulators"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/require"
)

// The blocks the tests index come from a ledger.Sim: the lifecycle story,
// seeded random ops, and a load of many lanes for the benchmark.

// t0 is the first block time: 2026-01-01T00:00:00Z.
const (
	t0  = 1_767_225_600
	day = 24 * 3600
)

func newSim(t testing.TB) (*ledger.Sim, *ledger.World) {
	t.Helper()
	w := ledger.NewWorld("indexer", t0+5*365*day)
	sim, err := ledger.NewSim(w, "ewr-indexer", t0)
	require.NoError(t, err)
	sim.RecordBlocks()
	return sim, w
}

// Ids of the story.
const (
	storyLot     = "LOT-t1"
	storyWR      = "WR-t1"
	storyPledge  = "PL-t1"
	storyA       = "WR-A-t1" // delivered in full: CANCELLED
	storyB       = "WR-B-t1" // split again into B1 and B2
	storyB1      = "WR-B1"
	storyB2      = "WR-B2"
	storyM       = "WR-M" // B1 and B2 merged, pledged to bank-b
	storyPledge2 = "PL-M"
)

// story runs the lifecycle scenario (intake, issue, pledge and release,
// double pledge refused, transfer, split, partial then full delivery) and
// then: split WR-B-t1 again, merge the parts into WR-M, pledge WR-M to
// bank-b. It returns the sim with its block records.
func story(t testing.TB) (*ledger.Sim, *ledger.World) {
	t.Helper()
	sim, w := newSim(t)
	var out bytes.Buffer
	lc := &simulators.Lifecycle{Driver: &simulators.MemDriver{Sim: sim}, World: w, Out: &out, Tag: "t1", Bay: ledger.DemoBays[0]}
	require.NoError(t, lc.Run(context.Background()), out.String())

	do := func(signers []string, op receipt.Op) {
		t.Helper()
		_, err := sim.Do(signers, op)
		require.NoError(t, err, "%s", op.Type())
		sim.Advance(6)
	}
	b, _ := sim.Receipt(storyB)
	do([]string{ledger.TraderB}, &receipt.Split{Receipt: storyB, Version: b.Version,
		Parts: []receipt.Part{{ID: storyB1, Quantity: 10_000}, {ID: storyB2, Quantity: 15_000}}})
	do([]string{ledger.TraderB}, &receipt.Merge{Into: storyM, Receipts: []receipt.VersionedRef{{ID: storyB1, Version: 1}, {ID: storyB2, Version: 1}}})
	m, _ := sim.Receipt(storyM)
	do([]string{ledger.TraderB}, &receipt.RequestPledge{Pledge: storyPledge2, Receipt: storyM, Version: m.Version, Bank: ledger.BankB, Maturity: sim.Block.Time + 60*day})
	m, _ = sim.Receipt(storyM)
	do([]string{ledger.BankB}, &receipt.ConfirmPledge{Pledge: storyPledge2, ReceiptVersion: m.Version})
	require.NoError(t, ledger.CheckInvariants(sim.Store))
	return sim, w
}

// randomOps drives sim with n steps of seeded random ops, honest and not,
// some alone in their block and some several to a block (which then
// conflict and are partly rejected). It registers a lot in every free bay
// of the second warehouse first.
type randomOps struct {
	t   testing.TB
	sim *ledger.Sim
	w   *ledger.World
	rng *rand.Rand
	seq int

	lots     []string
	receipts []string
}

func newRandomOps(t testing.TB, sim *ledger.Sim, w *ledger.World, seed uint64) *randomOps {
	return &randomOps{t: t, sim: sim, w: w, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *randomOps) id(prefix string) string {
	g.seq++
	return fmt.Sprintf("%s-x%d", prefix, g.seq)
}

func (g *randomOps) pick(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return xs[g.rng.IntN(len(xs))]
}

func (g *randomOps) setup() {
	for _, bay := range ledger.DemoBays {
		lot := g.id("LOT")
		stock := &warehouse.RegisterStock{Lot: lot, Warehouse: ledger.Warehouse2, Bay: bay, Commodity: "wheat",
			Grade: "No. 2 hard red", Unit: "kg", Tolerance: 200}
		for i := range 3 {
			stock.Tickets = append(stock.Tickets, g.w.Ticket(ledger.Weighbridge2, g.id("IN"), warehouse.In, 40_000+uint64(i)*100, 15_000, "", g.sim.Block.Time))
		}
		_, err := g.sim.Do([]string{ledger.Operator2, ledger.Inspector2}, stock)
		require.NoError(g.t, err)
		g.lots = append(g.lots, lot)
	}
	g.setupMarkets()
}

// find picks a receipt that pred accepts, if any.
func (g *randomOps) find(pred func(r *receipt.Receipt) bool) (*receipt.Receipt, bool) {
	var cands []*receipt.Receipt
	for _, id := range g.receipts {
		if r, ok := g.sim.Receipt(id); ok && pred(r) {
			cands = append(cands, r)
		}
	}
	if len(cands) == 0 {
		return nil, false
	}
	return cands[g.rng.IntN(len(cands))], true
}

func inState(states ...receipt.State) func(r *receipt.Receipt) bool {
	return func(r *receipt.Receipt) bool {
		for _, s := range states {
			if r.State == s {
				return true
			}
		}
		return false
	}
}

// op returns a random op with its signers, from the current state: mostly
// one that fits the state of the receipt it picks, sometimes one that does
// not, or a stale version, or the wrong signer.
func (g *randomOps) op() ([]string, receipt.Op) {
	now := g.sim.Block.Time
	kind := g.rng.IntN(24)
	if kind >= 16 { // a third of the ops: financing and trading
		return g.marketsOp(g.rng.IntN(marketsKinds))
	}
	pred := map[int]func(r *receipt.Receipt) bool{
		2:  func(r *receipt.Receipt) bool { return r.State == receipt.StateIssued && r.Negotiable },
		3:  inState(receipt.StateTransferPending),
		4:  inState(receipt.StateIssued),
		5:  inState(receipt.StatePledgePending),
		6:  inState(receipt.StatePledged),
		7:  func(r *receipt.Receipt) bool { return r.State == receipt.StateIssued && r.Quantity >= 2 },
		8:  inState(receipt.StateIssued),
		9:  func(r *receipt.Receipt) bool { return r.State.Live() && r.State != receipt.StateFrozen },
		10: inState(receipt.StateIssued, receipt.StatePledged),
		11: inState(receipt.StateRedemptionPending),
		12: inState(receipt.StateRedemptionPending),
		13: func(r *receipt.Receipt) bool { return r.State.Live() },
		14: inState(receipt.StateFrozen),
		15: func(r *receipt.Receipt) bool { return r.State == receipt.StateIssued && !r.Moved },
	}[kind]
	r, ok := (*receipt.Receipt)(nil), false
	if pred != nil && g.rng.IntN(5) > 0 {
		r, ok = g.find(pred)
	}
	if !ok {
		rid := g.pick(g.receipts)
		if r, ok = g.sim.Receipt(rid); !ok {
			r = &receipt.Receipt{ID: rid, Holder: ledger.TraderA, Version: 1}
		}
	}
	rid, version := r.ID, r.Version
	if g.rng.IntN(12) == 0 {
		version++ // stale or future: rejected
	}
	other := ledger.TraderB
	if r.Holder == ledger.TraderB {
		other = ledger.TraderA
	}
	bank := []string{ledger.BankA, ledger.BankB}[g.rng.IntN(2)]
	pledgeBank := bank
	if p, ok := g.sim.Pledge(r.Pledge); ok {
		pledgeBank = p.Bank
	}
	switch kind {
	case 0, 1:
		id := g.id("WR")
		g.receipts = append(g.receipts, id)
		return []string{ledger.Operator2}, &warehouse.IssueReceipt{
			ID: id, Lot: g.pick(g.lots), Depositor: []string{ledger.TraderA, ledger.TraderB}[g.rng.IntN(2)],
			Negotiable: g.rng.IntN(4) > 0, Quantity: uint64(1_000 + g.rng.IntN(20_000)), Description: "wheat in bulk",
			PlaceOfIssue: "Shanghai", StorageUntil: t0 + 400*day, ValidUntil: t0 + 300*day, StorageAgreementDate: now - day,
			StorageTermsRef: "SGT-2026", ThirdPartyClaims: "none known",
			Fees: receipt.FeeTerms{Currency: "CNY", MinorPerTonnePerDay: 80},
		}
	case 2:
		return []string{r.Holder}, &receipt.InitiateTransfer{Receipt: rid, Version: version, To: other, Deadline: now + day}
	case 3:
		to := other
		if r.Transfer != nil {
			to = r.Transfer.To
		}
		return []string{to}, &receipt.AcceptTransfer{Receipt: rid, Version: version}
	case 4:
		id := g.id("PL")
		return []string{r.Holder}, &receipt.RequestPledge{Pledge: id, Receipt: rid, Version: version, Bank: bank, Maturity: now + 60*day}
	case 5:
		return []string{pledgeBank}, &receipt.ConfirmPledge{Pledge: r.Pledge, ReceiptVersion: version}
	case 6:
		return []string{pledgeBank}, &receipt.ReleasePledge{Pledge: r.Pledge}
	case 7:
		a, b := g.id("WR"), g.id("WR")
		g.receipts = append(g.receipts, a, b)
		half := max(1, r.Quantity/2)
		return []string{r.Holder}, &receipt.Split{Receipt: rid, Version: version,
			Parts: []receipt.Part{{ID: a, Quantity: half}, {ID: b, Quantity: max(1, r.Quantity-half)}}}
	case 8:
		r2, ok := g.find(func(x *receipt.Receipt) bool {
			return x.ID != r.ID && x.State == receipt.StateIssued && x.Holder == r.Holder && x.Lot == r.Lot &&
				x.Depositor == r.Depositor && x.Negotiable == r.Negotiable
		})
		if !ok {
			r2 = &receipt.Receipt{ID: g.pick(g.receipts), Version: 1}
		}
		into := g.id("WR")
		g.receipts = append(g.receipts, into)
		return []string{r.Holder}, &receipt.Merge{Into: into, Receipts: []receipt.VersionedRef{{ID: rid, Version: version}, {ID: r2.ID, Version: r2.Version}}}
	case 9:
		if g.rng.IntN(3) > 0 {
			return []string{r.Holder}, &receipt.CancelTransfer{Receipt: rid} // mostly refused
		}
		return []string{ledger.Regulator}, &receipt.Freeze{Receipt: rid, Reason: "court order 2026-17"}
	case 10:
		signers := []string{r.Holder}
		if r.Pledge != "" {
			signers = append(signers, pledgeBank)
		}
		return signers, &warehouse.RequestDelivery{Receipt: rid, Version: version, Quantity: max(1, r.Quantity/3)}
	case 11:
		return []string{r.Holder}, &warehouse.CancelDelivery{ReleaseOrder: r.ReleaseOrder}
	case 12:
		ro, ok := ledger.Get[warehouse.ReleaseOrder](g.sim.Store, warehouse.ReleaseOrderKey(r.ReleaseOrder))
		if !ok {
			ro = &warehouse.ReleaseOrder{ID: "none", Quantity: 1}
		}
		out := g.w.Ticket(ledger.Weighbridge2, g.id("OUT"), warehouse.Out, 15_000+ro.Quantity, 15_000, ro.ID, now)
		return []string{ledger.Operator2}, &warehouse.ConfirmDelivery{ReleaseOrder: ro.ID, Tickets: []warehouse.SignedTicket{out}}
	case 13:
		return []string{ledger.Operator2, r.Holder}, &receipt.Amend{Receipt: rid, Version: version,
			Description: fmt.Sprintf("wheat in bulk, amended %d", g.seq), ThirdPartyClaims: "none known"}
	case 14:
		return []string{ledger.Regulator}, &receipt.Unfreeze{Receipt: rid, Reason: "cleared"}
	case 15:
		if g.rng.IntN(2) == 0 {
			// An attack: the wrong signer.
			return []string{other}, &receipt.InitiateTransfer{Receipt: rid, Version: version, To: other, Deadline: now + day}
		}
		return []string{ledger.Operator2}, &receipt.Void{Receipt: rid, Version: version, Reason: "issued in error"}
	}
	panic("unreachable")
}

// run makes n blocks: most with one op, some with several.
func (g *randomOps) run(n int) {
	for range n {
		g.sim.Advance(6)
		if g.rng.IntN(4) > 0 {
			signers, op := g.op()
			g.sim.Do(signers, op) // a rejection is part of the test
			continue
		}
		k := 2 + g.rng.IntN(6)
		txs := make([]ledger.Signed, k)
		for i := range txs {
			signers, op := g.op()
			txs[i] = ledger.Signed{Signers: signers, Op: op}
		}
		g.sim.DoBlock(txs)
	}
	require.NoError(g.t, ledger.CheckInvariants(g.sim.Store))
}

// storyAndRandom is the full story and the price shock followed by n
// random blocks.
func storyAndRandom(t testing.TB, seed uint64, n int) *ledger.Sim {
	t.Helper()
	sim, w := fullStory(t)
	g := newRandomOps(t, sim, w, seed)
	g.setup()
	g.priceShock()
	g.run(n)
	return sim
}

// load makes blocks of one op per lane for the benchmark: each lane has its
// own bay and lot and cycles a receipt through pledge request, confirm,
// release, transfer offer and acceptance, split in three and merge back:
// about 2.6 record writes and one event per tx.
type load struct {
	t     testing.TB
	sim   *ledger.Sim
	w     *ledger.World
	lanes []lane
}

type lane struct {
	n       int
	lot     string
	receipt string
	pledge  string
	parts   [3]string
	gen     int
	step    int
}

// newLoad sets up lanes lanes and returns the load; the sim's records then
// hold the setup blocks (bays, lots, first receipts).
func newLoad(t testing.TB, lanes int) *load {
	sim, w := newSim(t)
	l := &load{t: t, sim: sim, w: w}
	var bays, lots, issues []ledger.Signed
	for i := range lanes {
		ln := lane{n: i, lot: fmt.Sprintf("LOT-L%d", i), receipt: fmt.Sprintf("R-L%d-0", i)}
		bay := fmt.Sprintf("L%d", i)
		bays = append(bays, ledger.Signed{Signers: []string{ledger.Operator}, Op: &warehouse.AddBay{Warehouse: ledger.Warehouse1, Bay: bay}})
		lots = append(lots, ledger.Signed{Signers: []string{ledger.Operator, ledger.Inspector}, Op: &warehouse.RegisterStock{
			Lot: ln.lot, Warehouse: ledger.Warehouse1, Bay: bay, Commodity: []string{"copper cathode", "aluminium ingot", "zinc"}[i%3],
			Grade: "LME Grade A", Unit: "kg", Tolerance: 100,
			Tickets: []warehouse.SignedTicket{w.Ticket(ledger.Weighbridge1, fmt.Sprintf("IN-L%d", i), warehouse.In, 80_000, 20_000, "", t0)},
		}})
		issues = append(issues, ledger.Signed{Signers: []string{ledger.Operator}, Op: &warehouse.IssueReceipt{
			ID: ln.receipt, Lot: ln.lot, Depositor: ledger.TraderA, Negotiable: true, Quantity: 60_000,
			Description: "cathode, 99.99% Cu", PlaceOfIssue: "Qingdao", StorageUntil: t0 + 4*365*day, ValidUntil: t0 + 3*365*day,
			StorageAgreementDate: t0 - day, StorageTermsRef: "QBMW-ST", ThirdPartyClaims: "none known",
			Fees: receipt.FeeTerms{Currency: "CNY", MinorPerTonnePerDay: 150},
		}})
		l.lanes = append(l.lanes, ln)
	}
	for _, txs := range [][]ledger.Signed{bays, lots, issues} {
		l.block(txs)
	}
	return l
}

func (l *load) block(txs []ledger.Signed) *ledger.BlockRecord {
	l.sim.Advance(6)
	rec := l.sim.DoBlock(txs)
	for _, tx := range rec.Txs {
		if tx.Code != 0 {
			l.t.Fatalf("load: block %d tx %d (%s) rejected: %s", rec.Height, tx.Index, tx.OpType, tx.Log)
		}
	}
	return rec
}

// next makes the next block of the load: one op per lane.
func (l *load) next() *ledger.BlockRecord {
	now := l.sim.Block.Time + 6
	txs := make([]ledger.Signed, len(l.lanes))
	for i := range l.lanes {
		ln := &l.lanes[i]
		r, ok := l.sim.Receipt(ln.receipt)
		if !ok {
			l.t.Fatalf("load: lane %d lost %s", i, ln.receipt)
		}
		bank := []string{ledger.BankA, ledger.BankB}[i%2]
		other := ledger.TraderB
		if r.Holder == ledger.TraderB {
			other = ledger.TraderA
		}
		var tx ledger.Signed
		switch ln.step % 7 {
		case 0:
			ln.pledge = fmt.Sprintf("P-L%d-%d", i, ln.gen)
			tx = ledger.Signed{Signers: []string{r.Holder}, Op: &receipt.RequestPledge{Pledge: ln.pledge, Receipt: r.ID, Version: r.Version, Bank: bank, Maturity: now + 90*day}}
		case 1:
			tx = ledger.Signed{Signers: []string{bank}, Op: &receipt.ConfirmPledge{Pledge: ln.pledge, ReceiptVersion: r.Version}}
		case 2:
			tx = ledger.Signed{Signers: []string{bank}, Op: &receipt.ReleasePledge{Pledge: ln.pledge}}
		case 3:
			tx = ledger.Signed{Signers: []string{r.Holder}, Op: &receipt.InitiateTransfer{Receipt: r.ID, Version: r.Version, To: other, Deadline: now + day}}
		case 4:
			tx = ledger.Signed{Signers: []string{r.Transfer.To}, Op: &receipt.AcceptTransfer{Receipt: r.ID, Version: r.Version}}
		case 5:
			ln.parts = [3]string{fmt.Sprintf("R-L%d-%da", i, ln.gen), fmt.Sprintf("R-L%d-%db", i, ln.gen), fmt.Sprintf("R-L%d-%dc", i, ln.gen)}
			third := r.Quantity / 3
			tx = ledger.Signed{Signers: []string{r.Holder}, Op: &receipt.Split{Receipt: r.ID, Version: r.Version,
				Parts: []receipt.Part{{ID: ln.parts[0], Quantity: third}, {ID: ln.parts[1], Quantity: third}, {ID: ln.parts[2], Quantity: r.Quantity - 2*third}}}}
			ln.receipt = ln.parts[0] // the lane follows the parts until they merge
		case 6:
			ln.gen++
			into := fmt.Sprintf("R-L%d-%d", i, ln.gen)
			tx = ledger.Signed{Signers: []string{r.Holder}, Op: &receipt.Merge{Into: into,
				Receipts: []receipt.VersionedRef{{ID: ln.parts[0], Version: 1}, {ID: ln.parts[1], Version: 1}, {ID: ln.parts[2], Version: 1}}}}
			ln.receipt = into
		}
		ln.step++
		txs[i] = tx
	}
	return l.block(txs)
}
