package ledger

import (
	"bytes"
	"crypto/ed25519"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// t0 is the block time the tests start at: 2026-01-01T00:00:00Z.
const t0 = 1_767_225_600

const day = 24 * 3600

// coverage records, per op type, whether a table test saw it succeed and
// saw it rejected. TestMain fails the run if an op lacks either.
var coverage = struct {
	sync.Mutex
	ok, rejected map[string]int
}{ok: map[string]int{}, rejected: map[string]int{}}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	// Only a full run can judge coverage.
	if code == 0 && flag.Lookup("test.run").Value.String() == "" {
		var missing []string
		for _, op := range AllOps() {
			if coverage.ok[op.Type()] == 0 {
				missing = append(missing, op.Type()+" (no accepted case)")
			}
			if coverage.rejected[op.Type()] == 0 {
				missing = append(missing, op.Type()+" (no rejected case)")
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			fmt.Fprintf(os.Stderr, "ops without table tests:\n  %s\n", strings.Join(missing, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}

// harness drives a simulated chain and checks every step.
type harness struct {
	t *testing.T
	*Sim
	w   *World
	seq int
	// Each device's boot epoch and sequence, shared by every reading the
	// tests sign.
	epoch, devSeq map[string]uint64
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	w := NewWorld("test", t0+5*365*day)
	s, err := NewSim(w, "ewr-test", t0)
	require.NoError(t, err)
	require.NoError(t, CheckInvariants(s.Store))
	return &harness{t: t, Sim: s, w: w, epoch: map[string]uint64{}, devSeq: map[string]uint64{}}
}

// signReading signs r as device's next reading at device time ms (unix
// milliseconds), with the world's device key (or a test key for devices
// the world lacks).
func (h *harness) signReading(device string, ms int64, r iot.Reading) iot.SignedReading {
	if h.epoch[device] == 0 {
		h.epoch[device] = 1
	}
	h.devSeq[device]++
	r.Device, r.Epoch, r.Seq, r.TimeMs = device, h.epoch[device], h.devSeq[device], ms
	r.Event = "ev-" + strconv.FormatUint(r.Epoch, 10) + "-" + strconv.FormatUint(r.Seq, 10)
	return iot.Sign(r, h.deviceKey(device))
}

func (h *harness) deviceKey(device string) ed25519.PrivateKey {
	if d, ok := h.w.Devices[device]; ok {
		return d.Key
	}
	return DemoKey("test", "device/"+device)
}

// restart reboots a device: a new epoch, its sequence from 1 again.
func (h *harness) restart(device string) {
	h.epoch[device] = max(h.epoch[device], 1) + 1
	h.devSeq[device] = 0
}

// bayScale names the demo bay scale of a bay of warehouse 1.
func bayScale(bay string) string { return Warehouse1 + "-LC-0" + bay[len(bay)-1:] }

// closing is the reading an honest bay scale gives after ro's trucks
// weighed out weighed: what the lot's lock expects then, stable, now.
func (h *harness) closing(ro string, weighed uint64) []byte {
	o, ok := Get[warehouse.ReleaseOrder](h.Store, warehouse.ReleaseOrderKey(ro))
	if !ok {
		return nil
	}
	l := h.lot(o.Lot)
	qty := l.Expected - min(weighed, l.Expected)
	sr := h.signReading(bayScale(l.Bay), h.Block.Time*1000, iot.Reading{Weight: &iot.BayWeight{Qty: qty, Unit: l.Unit, Stable: true}})
	return iot.Encode(&sr)
}

// confirmOp confirms ro with tickets and the honest bay scale's closing
// reading.
func (h *harness) confirmOp(ro string, tickets ...warehouse.SignedTicket) *warehouse.ConfirmDelivery {
	var weighed uint64
	for i := range tickets {
		weighed += tickets[i].Ticket.Net
	}
	return &warehouse.ConfirmDelivery{ReleaseOrder: ro, Tickets: tickets, Closing: h.closing(ro, weighed)}
}

func (h *harness) next(prefix string) string {
	h.seq++
	return fmt.Sprintf("%s-%d", prefix, h.seq)
}

// ok applies op and requires it to succeed and keep every invariant.
func (h *harness) ok(signers []string, op receipt.Op) Result {
	h.t.Helper()
	res, err := h.Do(signers, op)
	require.NoError(h.t, err, "%s by %v", op.Type(), signers)
	require.NoError(h.t, CheckInvariants(h.Store))
	coverage.Lock()
	coverage.ok[op.Type()]++
	coverage.Unlock()
	return res
}

// fail applies op and requires it to be rejected with want, as a typed
// error, leaving the state byte-for-byte as it was.
func (h *harness) fail(want *receipt.Error, signers []string, op receipt.Op, why ...string) {
	h.t.Helper()
	before := h.Store.EncodeState()
	_, err := h.Do(signers, op)
	require.Error(h.t, err, "%s by %v should be rejected with %q %v", op.Type(), signers, want.Msg, why)
	got, typed := receipt.AsError(err)
	require.True(h.t, typed, "untyped error %v", err)
	assert.Equal(h.t, want.Name, got.Name, "%s by %v: %v %v", op.Type(), signers, err, why)
	require.True(h.t, bytes.Equal(before, h.Store.EncodeState()), "rejected %s changed the state", op.Type())
	coverage.Lock()
	coverage.rejected[op.Type()]++
	coverage.Unlock()
}

func by(ids ...string) []string { return ids }

// stock registers a lot in a bay of warehouse 1 from in-tickets of the
// given net weights (kg).
func (h *harness) stock(lot, bay string, nets ...uint64) {
	h.t.Helper()
	h.ok(by(Operator, Inspector), h.stockOp(lot, bay, nets...))
}

func (h *harness) stockOp(lot, bay string, nets ...uint64) *warehouse.RegisterStock {
	op := &warehouse.RegisterStock{Lot: lot, Warehouse: Warehouse1, Bay: bay, Commodity: "copper cathode",
		Grade: "LME Grade A", Unit: "kg", Tolerance: 250}
	for _, n := range nets {
		op.Tickets = append(op.Tickets, h.inTicket(n))
	}
	return op
}

func (h *harness) inTicket(net uint64) warehouse.SignedTicket {
	return h.w.Ticket(Weighbridge1, h.next("T"), warehouse.In, net+15_000, 15_000, "", h.Block.Time)
}

func (h *harness) outTicket(ro string, net uint64) warehouse.SignedTicket {
	return h.w.Ticket(Weighbridge1, h.next("T"), warehouse.Out, net+15_000, 15_000, ro, h.Block.Time)
}

func (h *harness) issueOp(id, lot string, qty uint64, depositor string) *warehouse.IssueReceipt {
	return &warehouse.IssueReceipt{
		ID: id, Lot: lot, Depositor: depositor, Negotiable: true, Quantity: qty,
		Description: "copper cathode, 99.99% Cu, in bundles", PlaceOfIssue: "Qingdao",
		StorageUntil: h.Block.Time + 365*day, ValidUntil: h.Block.Time + 180*day,
		StorageAgreementDate: h.Block.Time - day, StorageTermsRef: "QBMW-ST-2026-01",
		ThirdPartyClaims: "none known", Fees: receipt.FeeTerms{Currency: "CNY", MinorPerTonnePerDay: 150, Terms: "monthly in arrears"},
	}
}

// issue issues a receipt to depositor and returns it.
func (h *harness) issue(id, lot string, qty uint64, depositor string) *receipt.Receipt {
	h.t.Helper()
	h.ok(by(Operator), h.issueOp(id, lot, qty, depositor))
	return h.receipt(id)
}

// fresh registers a new lot holding qty and issues one receipt for all of it.
func (h *harness) fresh(qty uint64, holder string) *receipt.Receipt {
	h.t.Helper()
	lot := h.next("LOT")
	h.stock(lot, h.freeBay(), qty)
	return h.issue(h.next("R"), lot, qty, holder)
}

func (h *harness) freeBay() string {
	h.t.Helper()
	for _, b := range DemoBays {
		bay, ok := Get[warehouse.Bay](h.Store, warehouse.BayKey(Warehouse1, b))
		if ok && bay.LockedBy == "" {
			return b
		}
	}
	// Add a bay when the demo ones are all taken.
	b := h.next("BAY")
	h.ok(by(Operator), &warehouse.AddBay{Warehouse: Warehouse1, Bay: b})
	return b
}

func (h *harness) receipt(id string) *receipt.Receipt {
	h.t.Helper()
	r, ok := h.Receipt(id)
	require.True(h.t, ok, "receipt %s", id)
	return r
}

func (h *harness) lot(id string) *warehouse.Lot {
	h.t.Helper()
	l, ok := Get[warehouse.Lot](h.Store, warehouse.LotKey(id))
	require.True(h.t, ok, "lot %s", id)
	return l
}

func (h *harness) pledgeRec(id string) *receipt.Pledge {
	h.t.Helper()
	p, ok := h.Pledge(id)
	require.True(h.t, ok, "pledge %s", id)
	return p
}

// requestPledge asks bank to take r; returns the pledge id.
func (h *harness) requestPledge(r *receipt.Receipt, bank string) string {
	h.t.Helper()
	pid := h.next("PL")
	h.ok(by(r.Holder), &receipt.RequestPledge{Pledge: pid, Receipt: r.ID, Version: r.Version, Bank: bank, Maturity: h.Block.Time + 90*day})
	return pid
}

// pledge pledges r to bank and confirms it.
func (h *harness) pledge(r *receipt.Receipt, bank string) string {
	h.t.Helper()
	pid := h.requestPledge(r, bank)
	h.ok(by(bank), &receipt.ConfirmPledge{Pledge: pid, ReceiptVersion: h.receipt(r.ID).Version})
	return pid
}

// setHealth sets a lot's supervision health directly (the iot rules do it
// on chain; here it is a precondition).
func (h *harness) setHealth(lot string, health warehouse.Health) {
	l := h.lot(lot)
	l.Health = health
	x := &receipt.Exec{Store: h.Store}
	receipt.Save(x, warehouse.LotKey(lot), l)
}

// breachFreeze freezes a receipt as sensor evidence would.
func (h *harness) breachFreeze(id string) {
	x := &receipt.Exec{Store: h.Store, Block: h.Block, Signers: by(Inspector)}
	require.NoError(h.t, receipt.FreezeReceipt(x, h.receipt(id), receipt.FreezeByBreach, "weight drift", "ALERT-1"))
}
