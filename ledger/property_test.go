package ledger

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
	"github.com/ewrchain/ewr/warehouse"
	"pgregory.net/rapid"
)

// The property test runs long random sequences of ops from many actors,
// honest and adversarial, and checks after every step:
//
//   - every invariant of DESIGN.md (CheckInvariants);
//   - a rejected op is a typed rule error and leaves the state byte-identical;
//   - an attack (wrong signer, stale version, over-issue, double pledge,
//     transfer of a pledged receipt without the bank, split that does not
//     add up, redeem while pledged or frozen, any op on a terminal receipt,
//     reused ids and tickets) is rejected;
//   - every record an op changed has its version bumped by exactly one, new
//     records start at version 1, no record is ever deleted, and terminal
//     receipts never change.
//
// Steps per run: up to -rapid.checks × -rapid.steps (defaults raised to
// 800 × 400 below, about 120,000 steps; RAPID_CHECKS / RAPID_STEPS
// override). A default run must reach minSteps. The seed is printed;
// replay with -rapid.seed=N.
func TestPropertyRandomOps(t *testing.T) {
	setRapidDefaults(t)
	start := time.Now()
	total := stats{passed: map[string]int{}, rejected: map[string]int{}}
	rapid.Check(t, func(rt *rapid.T) {
		m := newModel(rt)
		rt.Repeat(m.actions())
		total.add(m.stats)
	})
	t.Logf("property: %d steps, seed %s", total.steps, flag.Lookup("rapid.seed").Value)
	t.Logf("property test: %d steps (%d attacks, all rejected) in %v", total.steps, total.attacks, time.Since(start).Round(time.Millisecond))
	if defaultRun() && total.steps < minSteps {
		t.Errorf("only %d random steps; the property test must run at least %d (raise -rapid.checks)", total.steps, minSteps)
	}
	t.Logf("accepted by kind: %v", total.passed)
	t.Logf("rejected by kind: %v", total.rejected)
	// A property test that rejects everything tests nothing: the honest
	// paths must have run too.
	for _, kind := range []string{"registerStock", "issue", "transfer", "accept", "split", "merge", "requestPledge",
		"confirmPledge", "releasePledge", "freeze", "unfreeze", "requestDelivery", "confirmDelivery",
		"setPolicy", "postPrice", "openLoan", "disburse", "repay", "markDefault", "offer", "acceptOffer", "confirmFunds", "settle", "settlePledged"} {
		if total.passed[kind] == 0 {
			t.Errorf("no %s ever succeeded", kind)
		}
	}
}

// minSteps is the least a default run of the property test takes.
const minSteps = 100_000

// defaultRun reports whether the property test runs at its default size
// (nobody asked for fewer checks or steps).
func defaultRun() bool {
	return flag.Lookup("rapid.checks").Value.String() == "800" && flag.Lookup("rapid.steps").Value.String() == "400"
}

func setRapidDefaults(t *testing.T) {
	setIfDefault := func(name, env, value string) {
		f := flag.Lookup(name)
		if f.Value.String() == f.DefValue && getenv(env) == "" {
			_ = flag.Set(name, value)
		}
	}
	setIfDefault("rapid.checks", "RAPID_CHECKS", "800")
	setIfDefault("rapid.steps", "RAPID_STEPS", "400")
	seed := flag.Lookup("rapid.seed")
	if seed.Value.String() == "0" && getenv("RAPID_SEED") == "" {
		_ = flag.Set("rapid.seed", strconv.FormatUint(rand.Uint64()>>1, 10))
	}
	t.Logf("property test seed %s, %s checks × %s steps; replay: go test ./ledger -run %s -rapid.seed=%s",
		flag.Lookup("rapid.seed").Value, flag.Lookup("rapid.checks").Value, flag.Lookup("rapid.steps").Value, t.Name(), flag.Lookup("rapid.seed").Value)
}

type logged struct {
	block   receipt.Block // before the step: Do moves to the next height
	signers []string
	op      receipt.Op
	ok      bool
}

type stats struct {
	steps, attacks   int
	passed, rejected map[string]int
}

func (s *stats) add(o stats) {
	s.steps += o.steps
	s.attacks += o.attacks
	for k, v := range o.passed {
		s.passed[k] += v
	}
	for k, v := range o.rejected {
		s.rejected[k] += v
	}
}

type model struct {
	t   *rapid.T
	sim *Sim
	w   *World
	seq int
	stats
	// log records every step with the block it ran in, for replay.
	log []logged

	lots     []string
	receipts []string
	pledges  []string
	ros      []string
	tickets  []warehouse.SignedTicket // used ones, for replays
	// Sensor readings: each device's boot epoch, and readings the chain
	// used as evidence, for replays.
	epochs map[string]uint64
	used   []iot.SignedReading
}

var (
	holders  = []string{TraderA, TraderB, BankA, BankB}
	everyone = []string{Admin1, Admin2, Admin3, Operator, Inspector, Operator2, Inspector2, TraderA, TraderB, BankA, BankB, Regulator, Oracle, "ghost"}
)

func newModel(t *rapid.T) *model {
	w := NewWorld("prop", t0+3*365*day)
	s, err := NewSim(w, "ewr-prop", t0)
	if err != nil {
		t.Fatal(err)
	}
	return &model{t: t, sim: s, w: w, stats: stats{passed: map[string]int{}, rejected: map[string]int{}}}
}

func (m *model) id(prefix string) string {
	m.seq++
	return fmt.Sprintf("%s%d", prefix, m.seq)
}

// expect says what the step requires of an op's outcome.
type expect int

const (
	mayPass  expect = iota // an honest op: may still fail on a rule
	mustFail               // an attack
)

// step applies op and checks everything the property promises.
func (m *model) step(label string, want expect, signers []string, op receipt.Op) bool {
	m.steps++
	if want == mustFail {
		m.attacks++
	}
	st := m.sim.Store
	before := st.Clone()
	beforeBytes := st.EncodeState()
	m.log = append(m.log, logged{block: m.sim.Block, signers: signers, op: op})
	res, err := m.sim.Do(signers, op)
	m.log[len(m.log)-1].ok = err == nil
	if err != nil {
		if _, typed := receipt.AsError(err); !typed {
			m.t.Fatalf("%s: untyped error %v", label, err)
		}
		if !bytes.Equal(beforeBytes, st.EncodeState()) {
			m.t.Fatalf("%s: rejected op (%v) changed the state", label, err)
		}
		m.rejected[label]++
		if os.Getenv("EWR_PROP_DEBUG") == label { // why an honest step of this kind was refused
			fmt.Println(label, err)
		}
		return false
	}
	if want == mustFail {
		m.t.Fatalf("attack %s by %v succeeded: %+v", label, signers, op)
	}
	if err := CheckInvariants(st); err != nil {
		m.t.Fatalf("after %s by %v (%+v): %v", label, signers, op, err)
	}
	m.checkChanges(label, before, res.Changed)
	m.passed[label]++
	return true
}

func (m *model) checkChanges(label string, before *MemStore, changed []string) {
	for _, k := range before.Keys() {
		if _, ok := m.sim.Store.Get(k); !ok {
			m.t.Fatalf("%s deleted record %s", label, k)
		}
		if strings.HasPrefix(k, "r/") {
			old := decodeAs[receipt.Receipt](before, k)
			if old.State.Terminal() {
				nb, _ := m.sim.Store.Get(k)
				ob, _ := before.Get(k)
				if !bytes.Equal(nb, ob) {
					m.t.Fatalf("%s changed terminal receipt %s", label, k)
				}
			}
		}
	}
	for _, k := range changed {
		typ, versioned := recordTable2[k[:strings.IndexByte(k, '/')+1]]
		if !versioned {
			continue
		}
		nb, _ := m.sim.Store.Get(k)
		nv := versionOf(typ, k, nb)
		if ob, existed := before.Get(k); existed {
			if ov := versionOf(typ, k, ob); nv != ov+1 {
				m.t.Fatalf("%s: %s version %d -> %d", label, k, ov, nv)
			}
		} else if nv != 1 {
			m.t.Fatalf("%s: new record %s at version %d", label, k, nv)
		}
	}
}

var recordTable2 = map[string]reflect.Type{
	"r/": reflect.TypeOf(receipt.Receipt{}), "pl/": reflect.TypeOf(receipt.Pledge{}),
	"p/": reflect.TypeOf(receipt.Participant{}), "l/": reflect.TypeOf(warehouse.Lot{}),
	"b/": reflect.TypeOf(warehouse.Bay{}), "d/": reflect.TypeOf(warehouse.Device{}),
	"w/": reflect.TypeOf(warehouse.Warehouse{}), "ro/": reflect.TypeOf(warehouse.ReleaseOrder{}),
	// financing and trading
	financing.PrefixPolicy: reflect.TypeOf(financing.CreditPolicy{}), financing.PrefixPrice: reflect.TypeOf(financing.Price{}),
	financing.PrefixLoan: reflect.TypeOf(financing.Loan{}), financing.PrefixIndex: reflect.TypeOf(financing.OpenLoans{}),
	trading.PrefixOffer: reflect.TypeOf(trading.Offer{}), trading.PrefixTrade: reflect.TypeOf(trading.Trade{}),
	trading.PrefixSettlement: reflect.TypeOf(trading.Settlement{}),
}

func versionOf(t reflect.Type, key string, b []byte) uint64 {
	v := reflect.New(t)
	mustDecode(key, b, v.Interface())
	return v.Elem().FieldByName("Version").Uint()
}

func decodeAs[T any](st *MemStore, key string) *T {
	b, _ := st.Get(key)
	v := new(T)
	mustDecode(key, b, v)
	return v
}

func (m *model) receipt(id string) *receipt.Receipt {
	r, _ := m.sim.Receipt(id)
	return r
}

func (m *model) pick(t *rapid.T, label string, ids []string) (string, bool) {
	if len(ids) == 0 {
		return "", false
	}
	return rapid.SampledFrom(ids).Draw(t, label), true
}

// liveReceipt picks a receipt that is not terminal, if any.
func (m *model) liveReceipt(t *rapid.T) (*receipt.Receipt, bool) {
	var live []string
	for _, id := range m.receipts {
		if r := m.receipt(id); !r.State.Terminal() {
			live = append(live, id)
		}
	}
	id, ok := m.pick(t, "receipt", live)
	if !ok {
		return nil, false
	}
	return m.receipt(id), true
}

// signerFor returns the rightful signer mostly, someone else sometimes.
func (m *model) signerFor(t *rapid.T, rightful string) (string, expect) {
	if rapid.IntRange(0, 9).Draw(t, "impostor") == 0 {
		other := rapid.SampledFrom(everyone).Draw(t, "signer")
		if other != rightful {
			return other, mustFail
		}
	}
	return rightful, mayPass
}

// versionFor returns the current version mostly, a stale one sometimes.
func versionFor(t *rapid.T, cur uint64) (uint64, expect) {
	if rapid.IntRange(0, 9).Draw(t, "stale") == 0 {
		v := rapid.Uint64Range(0, cur+2).Draw(t, "version")
		if v != cur {
			return v, mustFail
		}
	}
	return cur, mayPass
}

func worst(es ...expect) expect {
	for _, e := range es {
		if e == mustFail {
			return mustFail
		}
	}
	return mayPass
}

func (m *model) ticket(t *rapid.T, wh string, dir warehouse.Direction, net uint64, ro string) warehouse.SignedTicket {
	wb := Weighbridge1
	if wh == Warehouse2 {
		wb = Weighbridge2
	}
	tare := rapid.Uint64Range(12_000, 18_000).Draw(t, "tare")
	st := m.w.Ticket(wb, m.id("T"), dir, net+tare, tare, ro, m.sim.Block.Time)
	return st
}

func (m *model) actions() map[string]func(*rapid.T) {
	acts := map[string]func(*rapid.T){
		"registerStock": m.registerStock,
		"issue":         m.issue,
		"transfer":      m.transfer,
		"accept":        m.accept,
		"cancel":        m.cancelTransfer,
		"split":         m.split,
		"merge":         m.merge,
		"pledge":        m.requestPledge,
		"confirm":       m.confirmPledge,
		"reject":        m.rejectPledge,
		"release":       m.releaseOrInvoke,
		"freeze":        m.freeze,
		"expire":        m.expire,
		"void":          m.void,
		"amend":         m.amend,
		"deliver":       m.requestDelivery,
		"confirmOut":    m.confirmDelivery,
		"terminalOp":    m.terminalOp,
		"time":          m.advance,
		"":              func(t *rapid.T) {},
	}
	for name, act := range m.marketActions() {
		acts[name] = act
	}
	for name, act := range m.iotActions() {
		acts[name] = act
	}
	return acts
}

func (m *model) registerStock(t *rapid.T) {
	wh := rapid.SampledFrom([]string{Warehouse1, Warehouse2}).Draw(t, "warehouse")
	op, cm := Operator, Inspector
	if wh == Warehouse2 {
		op, cm = Operator2, Inspector2
	}
	want := mayPass
	lot := m.id("L")
	if len(m.lots) > 0 && rapid.IntRange(0, 9).Draw(t, "reuseLot") == 0 {
		lot, want = rapid.SampledFrom(m.lots).Draw(t, "lot"), mustFail
	}
	o := &warehouse.RegisterStock{Lot: lot, Warehouse: wh, Bay: rapid.SampledFrom(DemoBays).Draw(t, "bay"),
		Commodity: "copper", Grade: "A", Unit: "kg", Tolerance: 200}
	for i, n := 0, rapid.IntRange(1, 3).Draw(t, "tickets"); i < n; i++ {
		o.Tickets = append(o.Tickets, m.ticket(t, wh, warehouse.In, rapid.Uint64Range(1_000, 30_000).Draw(t, "net"), ""))
	}
	if len(m.tickets) > 0 && rapid.IntRange(0, 9).Draw(t, "reuseTicket") == 0 {
		o.Tickets = append(o.Tickets, rapid.SampledFrom(m.tickets).Draw(t, "usedTicket"))
		want = mustFail
	}
	signers := by(op, cm)
	if rapid.IntRange(0, 9).Draw(t, "noCM") == 0 {
		signers, want = by(op), mustFail
	}
	if m.step("registerStock", want, signers, o) {
		m.lots = append(m.lots, lot)
		m.tickets = append(m.tickets, o.Tickets...)
	}
}

func (m *model) issue(t *rapid.T) {
	lotID, ok := m.pick(t, "lot", m.lots)
	if !ok {
		return
	}
	l, _ := Get[warehouse.Lot](m.sim.Store, warehouse.LotKey(lotID))
	wh, _ := Get[warehouse.Warehouse](m.sim.Store, warehouse.WarehouseKey(l.Warehouse))
	free := l.LockedQty - l.IssuedQty
	want := mayPass
	var qty uint64
	if free > 0 && rapid.IntRange(0, 4).Draw(t, "overIssue") != 0 {
		qty = rapid.Uint64Range(1, free).Draw(t, "qty")
	} else {
		qty, want = free+rapid.Uint64Range(1, 5_000).Draw(t, "over"), mustFail
	}
	id := m.id("R")
	if len(m.receipts) > 0 && rapid.IntRange(0, 9).Draw(t, "reuseID") == 0 {
		id, want = rapid.SampledFrom(m.receipts).Draw(t, "usedID"), mustFail
	}
	signer, sw := m.signerFor(t, wh.Operator)
	now := m.sim.Block.Time
	o := &warehouse.IssueReceipt{ID: id, Lot: lotID, Depositor: rapid.SampledFrom(holders).Draw(t, "depositor"),
		Negotiable: rapid.IntRange(0, 9).Draw(t, "nonNeg") != 0, Quantity: qty, Description: "copper",
		PlaceOfIssue: "Qingdao", StorageUntil: now + 400*day, ValidUntil: now + rapid.Int64Range(30, 300).Draw(t, "validDays")*day,
		StorageAgreementDate: now, StorageTermsRef: "ST-1", ThirdPartyClaims: "none known",
		Fees: receipt.FeeTerms{Currency: "USD", MinorPerTonnePerDay: 20}}
	if m.step("issue", worst(want, sw), by(signer), o) {
		m.receipts = append(m.receipts, id)
	}
}

func (m *model) transfer(t *rapid.T) {
	r, ok := m.liveReceipt(t)
	if !ok {
		return
	}
	signer, sw := m.signerFor(t, r.Holder)
	v, vw := versionFor(t, r.Version)
	signers := by(signer)
	want := worst(sw, vw)
	if r.Pledge != "" {
		p, _ := m.sim.Pledge(r.Pledge)
		if p.Status == receipt.PledgeActive && rapid.Bool().Draw(t, "bankConsents") {
			signers = append(signers, p.Bank)
		} else {
			want = mustFail // transfer of a pledged receipt without the bank
		}
	}
	if r.State == receipt.StateFrozen {
		want = mustFail
	}
	o := &receipt.InitiateTransfer{Receipt: r.ID, Version: v, To: rapid.SampledFrom(holders).Draw(t, "to"),
		Deadline: m.sim.Block.Time + rapid.Int64Range(1, 10).Draw(t, "days")*day}
	m.step("transfer", want, signers, o)
}

func (m *model) accept(t *rapid.T) {
	r, ok := m.liveReceipt(t)
	if !ok || r.Transfer == nil {
		return
	}
	signer, sw := m.signerFor(t, r.Transfer.To)
	v, vw := versionFor(t, r.Version)
	m.step("accept", worst(sw, vw), by(signer), &receipt.AcceptTransfer{Receipt: r.ID, Version: v})
}

func (m *model) cancelTransfer(t *rapid.T) {
	r, ok := m.liveReceipt(t)
	if !ok {
		return
	}
	signer := rapid.SampledFrom(append([]string{r.Holder}, holders...)).Draw(t, "signer")
	m.step("cancelTransfer", mayPass, by(signer), &receipt.CancelTransfer{Receipt: r.ID})
}

func (m *model) split(t *rapid.T) {
	r, ok := m.liveReceipt(t)
	if !ok || r.Quantity < 2 {
		return
	}
	signer, sw := m.signerFor(t, r.Holder)
	v, vw := versionFor(t, r.Version)
	want := worst(sw, vw)
	if r.Pledge != "" || r.State == receipt.StateFrozen {
		want = mustFail
	}
	n := rapid.IntRange(2, 4).Draw(t, "parts")
	if uint64(n) > r.Quantity {
		n = 2
	}
	parts := make([]receipt.Part, n)
	rest := r.Quantity
	for i := range parts {
		q := rest
		if i < n-1 {
			q = rapid.Uint64Range(1, rest-uint64(n-1-i)).Draw(t, "q")
		}
		parts[i] = receipt.Part{ID: m.id("S"), Quantity: q}
		rest -= q
	}
	if rapid.IntRange(0, 7).Draw(t, "unbalanced") == 0 {
		parts[0].Quantity++ // does not add up
		want = mustFail
	}
	if m.step("split", want, by(signer), &receipt.Split{Receipt: r.ID, Version: v, Parts: parts}) {
		for _, p := range parts {
			m.receipts = append(m.receipts, p.ID)
		}
	}
}

func (m *model) merge(t *rapid.T) {
	a, ok := m.liveReceipt(t)
	if !ok {
		return
	}
	var mates []string
	for _, id := range m.receipts {
		if r := m.receipt(id); id != a.ID && r.Lot == a.Lot && r.Holder == a.Holder && !r.State.Terminal() {
			mates = append(mates, id)
		}
	}
	b, ok := m.pick(t, "mate", mates)
	if !ok {
		return
	}
	br := m.receipt(b)
	signer, sw := m.signerFor(t, a.Holder)
	into := m.id("M")
	o := &receipt.Merge{Into: into, Receipts: []receipt.VersionedRef{{ID: a.ID, Version: a.Version}, {ID: b, Version: br.Version}}}
	if m.step("merge", sw, by(signer), o) {
		m.receipts = append(m.receipts, into)
	}
}

func (m *model) requestPledge(t *rapid.T) {
	r, ok := m.liveReceipt(t)
	if !ok {
		return
	}
	signer, sw := m.signerFor(t, r.Holder)
	v, vw := versionFor(t, r.Version)
	want := worst(sw, vw)
	if r.Pledge != "" {
		want = mustFail // the double pledge
	}
	pid := m.id("P")
	if len(m.pledges) > 0 && rapid.IntRange(0, 9).Draw(t, "reusePledge") == 0 {
		pid, want = rapid.SampledFrom(m.pledges).Draw(t, "usedPledge"), mustFail
	}
	o := &receipt.RequestPledge{Pledge: pid, Receipt: r.ID, Version: v, Bank: rapid.SampledFrom([]string{BankA, BankB}).Draw(t, "bank"),
		Maturity: m.sim.Block.Time + rapid.Int64Range(1, 60).Draw(t, "maturityDays")*day}
	if m.step("requestPledge", want, by(signer), o) {
		m.pledges = append(m.pledges, pid)
	}
}

func (m *model) openPledge(t *rapid.T, status receipt.PledgeStatus) (*receipt.Pledge, bool) {
	var ids []string
	for _, id := range m.pledges {
		if p, _ := m.sim.Pledge(id); p.Status == status {
			ids = append(ids, id)
		}
	}
	id, ok := m.pick(t, "pledge", ids)
	if !ok {
		return nil, false
	}
	p, _ := m.sim.Pledge(id)
	return p, true
}

func (m *model) confirmPledge(t *rapid.T) {
	p, ok := m.openPledge(t, receipt.PledgePending)
	if !ok {
		return
	}
	signer, sw := m.signerFor(t, p.Bank)
	v, vw := versionFor(t, m.receipt(p.Receipt).Version)
	m.step("confirmPledge", worst(sw, vw), by(signer), &receipt.ConfirmPledge{Pledge: p.ID, ReceiptVersion: v})
}

func (m *model) rejectPledge(t *rapid.T) {
	p, ok := m.openPledge(t, receipt.PledgePending)
	if !ok {
		return
	}
	signer := rapid.SampledFrom([]string{p.Bank, p.Pledgor, Regulator, TraderB}).Draw(t, "signer")
	want := mayPass
	if signer != p.Bank && signer != p.Pledgor {
		want = mustFail
	}
	if rapid.Bool().Draw(t, "withdraw") {
		if signer != p.Pledgor {
			want = mustFail
		}
		m.step("withdrawPledge", want, by(signer), &receipt.WithdrawPledgeRequest{Pledge: p.ID})
		return
	}
	m.step("rejectPledge", want, by(signer), &receipt.RejectPledge{Pledge: p.ID, Reason: "no"})
}

func (m *model) releaseOrInvoke(t *rapid.T) {
	p, ok := m.openPledge(t, receipt.PledgeActive)
	if !ok {
		return
	}
	signer, sw := m.signerFor(t, p.Bank)
	if rapid.Bool().Draw(t, "invoke") {
		want := sw
		if m.sim.Block.Time <= p.Maturity && !p.Defaulted {
			want = mustFail // enforcement before default
		}
		m.step("invokePledge", want, by(signer), &receipt.InvokePledge{Pledge: p.ID})
		return
	}
	m.step("releasePledge", sw, by(signer), &receipt.ReleasePledge{Pledge: p.ID})
}

func (m *model) freeze(t *rapid.T) {
	r, ok := m.liveReceipt(t)
	if !ok {
		return
	}
	signer := rapid.SampledFrom([]string{Regulator, Admin2, r.Holder, BankA}).Draw(t, "signer")
	if r.State == receipt.StateFrozen {
		want := mayPass
		if signer != Regulator {
			want = mustFail
		}
		m.step("unfreeze", want, by(signer), &receipt.Unfreeze{Receipt: r.ID, Reason: "cleared"})
		return
	}
	want := mayPass
	if signer != Regulator && signer != Admin2 {
		want = mustFail // only regulators and admins freeze
	}
	m.step("freeze", want, by(signer), &receipt.Freeze{Receipt: r.ID, Reason: "inquiry"})
}

func (m *model) expire(t *rapid.T) {
	r, ok := m.liveReceipt(t)
	if !ok {
		return
	}
	want := mayPass
	if m.sim.Block.Time <= r.ValidUntil {
		want = mustFail
	}
	m.step("expire", want, by(rapid.SampledFrom(holders).Draw(t, "signer")), &receipt.Expire{Receipt: r.ID})
}

func (m *model) void(t *rapid.T) {
	r, ok := m.liveReceipt(t)
	if !ok {
		return
	}
	signer, sw := m.signerFor(t, r.Operator)
	want := sw
	if r.Moved || r.Holder != r.Depositor {
		want = mustFail
	}
	m.step("void", want, by(signer), &receipt.Void{Receipt: r.ID, Version: r.Version, Reason: "error"})
}

func (m *model) amend(t *rapid.T) {
	r, ok := m.liveReceipt(t)
	if !ok {
		return
	}
	signer, sw := m.signerFor(t, r.Operator)
	v, vw := versionFor(t, r.Version)
	o := &receipt.Amend{Receipt: r.ID, Version: v, Description: m.id("copper lot "), ThirdPartyClaims: "none known"}
	m.step("amend", worst(sw, vw), by(signer, r.Holder), o)
}

func (m *model) requestDelivery(t *rapid.T) {
	r, ok := m.liveReceipt(t)
	if !ok {
		return
	}
	signer, sw := m.signerFor(t, r.Holder)
	v, vw := versionFor(t, r.Version)
	want := worst(sw, vw)
	signers := by(signer)
	if r.Pledge != "" {
		p, _ := m.sim.Pledge(r.Pledge)
		if p.Status == receipt.PledgeActive && rapid.Bool().Draw(t, "bankConsents") {
			signers = append(signers, p.Bank)
		} else {
			want = mustFail // redeem while pledged, without the bank
		}
	}
	if r.State == receipt.StateFrozen {
		want = mustFail // redeem while frozen
	}
	qty := rapid.Uint64Range(1, r.Quantity).Draw(t, "qty")
	if m.step("requestDelivery", want, signers, &warehouse.RequestDelivery{Receipt: r.ID, Version: v, Quantity: qty}) {
		m.ros = append(m.ros, warehouse.ReleaseOrderID(r.ID, r.Deliveries+1))
	}
}

func (m *model) confirmDelivery(t *rapid.T) {
	id, ok := m.pick(t, "ro", m.ros)
	if !ok {
		return
	}
	ro, _ := Get[warehouse.ReleaseOrder](m.sim.Store, warehouse.ReleaseOrderKey(id))
	wh, _ := Get[warehouse.Warehouse](m.sim.Store, warehouse.WarehouseKey(ro.Warehouse))
	if rapid.IntRange(0, 4).Draw(t, "cancel") == 0 {
		m.step("cancelDelivery", mayPass, by(rapid.SampledFrom(append([]string{ro.Holder}, holders...)).Draw(t, "signer")),
			&warehouse.CancelDelivery{ReleaseOrder: id})
		return
	}
	// Weigh out close to the order, sometimes far off.
	net := ro.Quantity
	if d := rapid.IntRange(-3, 3).Draw(t, "delta"); d < 0 && uint64(-d*40) < net {
		net -= uint64(-d * 40)
	} else if d > 0 {
		net += uint64(d * 40)
	}
	want := mayPass
	if ro.Status != warehouse.ROOpen {
		want = mustFail
	}
	signer, sw := m.signerFor(t, wh.Operator)
	op := &warehouse.ConfirmDelivery{ReleaseOrder: id, Tickets: []warehouse.SignedTicket{m.ticket(t, ro.Warehouse, warehouse.Out, net, id)}}
	switch rapid.IntRange(0, 9).Draw(t, "closing") {
	case 0: // no reading of the bay after the trucks left
		want = mustFail
	case 1: // a reading of another bay's scale
		if l, ok := Get[warehouse.Lot](m.sim.Store, warehouse.LotKey(ro.Lot)); ok {
			other := bayDevice(l.Warehouse, DemoBays[(bayIndex(l.Bay)+1)%len(DemoBays)], "LC")
			sr := m.reading(other, l.Expected-min(net, l.Expected), true, "")
			op.Closing, want = iot.Encode(&sr), mustFail
		}
	default:
		op.Closing = m.closingFor(t, ro, net)
	}
	m.step("confirmDelivery", worst(want, sw), by(signer), op)
}

func bayIndex(bay string) int {
	for i, b := range DemoBays {
		if b == bay {
			return i
		}
	}
	return 0
}

// terminalOp tries something on a receipt that is terminal: it must fail.
func (m *model) terminalOp(t *rapid.T) {
	var dead []string
	for _, id := range m.receipts {
		if m.receipt(id).State.Terminal() {
			dead = append(dead, id)
		}
	}
	id, ok := m.pick(t, "dead", dead)
	if !ok {
		return
	}
	r := m.receipt(id)
	ops := []receipt.Op{
		&receipt.InitiateTransfer{Receipt: id, Version: r.Version, To: TraderB, Deadline: m.sim.Block.Time + day},
		&receipt.Split{Receipt: id, Version: r.Version, Parts: []receipt.Part{{ID: m.id("X"), Quantity: 1}, {ID: m.id("X"), Quantity: 1}}},
		&receipt.RequestPledge{Pledge: m.id("P"), Receipt: id, Version: r.Version, Bank: BankA, Maturity: m.sim.Block.Time + day},
		&receipt.Freeze{Receipt: id, Reason: "x"},
		&warehouse.RequestDelivery{Receipt: id, Version: r.Version, Quantity: 1},
		&receipt.Expire{Receipt: id},
	}
	op := rapid.SampledFrom(ops).Draw(t, "op")
	signer := r.Holder
	if _, isFreeze := op.(*receipt.Freeze); isFreeze {
		signer = Regulator
	}
	m.step("terminal "+op.Type(), mustFail, by(signer), op)
}

func (m *model) advance(t *rapid.T) {
	m.sim.Advance(rapid.Int64Range(0, 6).Draw(t, "days") * day)
}

func getenv(k string) string { return os.Getenv(k) }

func sortStrings(s []string) { sort.Strings(s) }
