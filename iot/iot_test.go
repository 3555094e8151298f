package iot_test

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ewrchain/ewr/internal/canon"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const t0 = 1_767_225_600 // 2026-01-01

// lockExpects is what the bench lot's bay should weigh: 50 t of goods on
// the demo bay's tare.
const lockExpects = 50_000 + ledger.DemoBayTareKg

func TestReadingWireForm(t *testing.T) {
	w := ledger.NewWorld("iot", t0+365*86400)
	key := w.Devices["WH-QD-01-LC-01"].Key
	r := iot.Reading{Event: "e-1", Device: "WH-QD-01-LC-01", Epoch: 3, Seq: 7, TimeMs: t0 * 1000,
		Weight: &iot.BayWeight{Qty: 50_000, Unit: "kg", Stable: true}}
	s := iot.Sign(r, key)
	data := iot.Encode(&s)
	got, msg, err := iot.Decode(data)
	require.NoError(t, err)
	assert.Equal(t, s, *got)
	assert.Equal(t, iot.SignBytes(&r), msg, "the signed bytes are the wire bytes minus the signature")
	assert.Equal(t, "WH-QD-01-LC-01:3:7", got.Reading.ID())

	_, _, err = iot.Decode(append(append([]byte{}, data...), 0))
	assert.ErrorIs(t, err, iot.ErrReadingInvalid, "trailing bytes")
	two := r
	two.Heartbeat = &iot.Heartbeat{}
	s2 := iot.Sign(two, key)
	_, _, err = iot.Decode(iot.Encode(&s2))
	assert.ErrorIs(t, err, iot.ErrReadingInvalid, "two payloads")
	none := r
	none.Weight = nil
	s3 := iot.Sign(none, key)
	_, _, err = iot.Decode(iot.Encode(&s3))
	assert.ErrorIs(t, err, iot.ErrReadingInvalid, "no payload")
	for _, bad := range []func(*iot.Reading){
		func(r *iot.Reading) { r.Seq = 0 },
		func(r *iot.Reading) { r.Epoch = 0 },
		func(r *iot.Reading) { r.Event = "" },
		func(r *iot.Reading) { r.Device = "a/b" },
		func(r *iot.Reading) { r.TimeMs = -1 },
		func(r *iot.Reading) { r.Weight = &iot.BayWeight{Qty: 1, Unit: "t"} },
		func(r *iot.Reading) {
			r.Weight, r.Motion = nil, &iot.Motion{Class: iot.ClassPerson, ConfidencePermille: 1001}
		},
		func(r *iot.Reading) { r.Weight, r.Seal = nil, &iot.Seal{SealID: "S", State: 9} },
	} {
		c := r
		bad(&c)
		assert.ErrorIs(t, c.Check(), iot.ErrReadingInvalid, "%+v", c)
	}
}

func TestMerkleRoot(t *testing.T) {
	h := func(b ...[]byte) [32]byte {
		var all []byte
		for _, p := range b {
			all = append(all, p...)
		}
		return sha256.Sum256(all)
	}
	l := make([][32]byte, 5)
	for i := range l {
		l[i] = iot.LeafHash(uint64(i+1), []byte{byte(i)})
	}
	assert.Equal(t, h([]byte{0}, []byte{0, 0, 0, 0, 0, 0, 0, 1}, []byte{0}), l[0], "leaf = H(0x00 ‖ u64be seq ‖ data)")
	node := func(a, b [32]byte) [32]byte { return h([]byte{1}, a[:], b[:]) }
	assert.Equal(t, l[0], iot.MerkleRoot(l[:1]))
	assert.Equal(t, node(l[0], l[1]), iot.MerkleRoot(l[:2]))
	assert.Equal(t, node(node(l[0], l[1]), l[2]), iot.MerkleRoot(l[:3]))
	assert.Equal(t, node(node(node(l[0], l[1]), node(l[2], l[3])), l[4]), iot.MerkleRoot(l))
	assert.Equal(t, sha256.Sum256(nil), iot.MerkleRoot(nil))
	// A different position or message gives a different root.
	assert.NotEqual(t, iot.MerkleRoot(l), iot.MerkleRoot([][32]byte{l[0], l[1], l[2], l[3], iot.LeafHash(6, []byte{4})}))
}

// bench is a lot on an in-memory chain with its bay's devices and an
// evaluator watching it. Every finding the evaluator emits is applied to
// the chain: the supervisor's rules and the validators' must agree.
type bench struct {
	t     *testing.T
	sim   *ledger.Sim
	w     *ledger.World
	ev    *iot.Evaluator
	seq   map[string]uint64
	epoch map[string]uint64
	nowM  int64 // the supervisor's clock, ms
	lot   string
	bay   string
	// applied counts findings the chain accepted, by name.
	applied map[string]int
}

func newBench(t *testing.T, rules iot.Rules) *bench {
	w := ledger.NewWorld("iot", t0+365*86400)
	sim, err := ledger.NewSim(w, "ewr-iot", t0)
	require.NoError(t, err)
	b := &bench{t: t, sim: sim, w: w, seq: map[string]uint64{}, epoch: map[string]uint64{}, nowM: t0*1000 + 1_000, lot: "LOT-1", bay: "BAY-01", applied: map[string]int{}}
	if rules != iot.DefaultRules() {
		_, err := sim.Do([]string{ledger.Admin1, ledger.Admin2}, &iot.SetRules{Rules: rules})
		require.NoError(t, err)
	}
	rules = *iot.LoadRules(&receipt.Exec{Store: sim.Store})
	op := &warehouse.RegisterStock{Lot: b.lot, Warehouse: ledger.Warehouse1, Bay: b.bay, Commodity: "copper", Grade: "A", Unit: "kg", Tolerance: 300,
		Tickets: []warehouse.SignedTicket{w.Ticket(ledger.Weighbridge1, "T-1", warehouse.In, 65_000, 15_000, "", t0)}}
	b.do([]string{ledger.Operator, ledger.Inspector}, op)
	b.do([]string{ledger.Operator}, &warehouse.IssueReceipt{ID: "R-1", Lot: b.lot, Depositor: ledger.TraderA, Quantity: 50_000,
		Description: "copper", PlaceOfIssue: "Qingdao", StorageUntil: t0 + 400*86400, ValidUntil: t0 + 300*86400,
		StorageAgreementDate: t0 - 86400, StorageTermsRef: "T", ThirdPartyClaims: "none known", Fees: receipt.FeeTerms{Currency: "CNY"}})
	b.ev = iot.NewEvaluator(iot.EvalConfig{Warehouse: ledger.Warehouse1, AutoBaseline: true}, rules)
	b.refresh()
	return b
}

func (b *bench) do(signers []string, op receipt.Op) error {
	b.t.Helper()
	_, err := b.sim.Do(signers, op)
	if err == nil {
		require.NoError(b.t, ledger.CheckInvariants(b.sim.Store))
	}
	return err
}

func (b *bench) dev(kind string) string { return ledger.Warehouse1 + "-" + kind + "-01" }

// refresh gives the evaluator the chain's view, as the supervisor does
// after each commit.
func (b *bench) refresh() {
	x := &receipt.Exec{Store: b.sim.Store}
	l, err := warehouse.LoadLot(x, b.lot)
	require.NoError(b.t, err)
	var gap *iot.Alert
	if l.Alert != "" {
		gap, _ = receipt.Load[iot.Alert](x, iot.AlertKey(l.Alert))
	}
	b.ev.SetLots([]iot.LotView{iot.NewLotView(l, iot.LoadWatch(x, b.lot), warehouse.LoadLockHistory(x, b.lot), gap,
		[]string{b.dev("LC"), b.dev("CAM"), b.dev("SEAL")}, true)}, b.nowM)
}

func (b *bench) lotRec() *warehouse.Lot {
	l, _ := ledger.Get[warehouse.Lot](b.sim.Store, warehouse.LotKey(b.lot))
	return l
}

// send signs a reading of device at the current clock and steps it
// through the evaluator; a finding goes to the chain signed by the CM.
func (b *bench) send(device string, r iot.Reading) (*iot.Finding, error) {
	s := b.sign(device, r)
	return b.step(&s, true)
}

// sign signs r as device's next reading at the current clock.
func (b *bench) sign(device string, r iot.Reading) iot.SignedReading {
	b.seq[device]++
	r.Event, r.Device, r.Epoch, r.Seq, r.TimeMs = fmt.Sprintf("e%d", b.seq[device]), device, max(b.epoch[device], 1), b.seq[device], b.nowM
	return iot.Sign(r, b.w.Devices[device].Key)
}

// restart reboots a device: a new epoch, its sequence from 1.
func (b *bench) restart(device string) {
	b.epoch[device] = max(b.epoch[device], 1) + 1
	b.seq[device] = 0
}

// sync moves block time to the supervisor's clock: the next block is
// now.
func (b *bench) sync() {
	if t := b.nowM / 1000; t > b.sim.Block.Time {
		b.sim.Block.Time = t
	}
}

func (b *bench) step(s *iot.SignedReading, sigOK bool) (*iot.Finding, error) {
	d, _ := ledger.Get[warehouse.Device](b.sim.Store, warehouse.DeviceKey(s.Reading.Device))
	in := iot.Input{Reading: s, Device: d, SigOK: sigOK, SubjectDevice: s.Reading.Device, SubjectKind: s.Reading.Kind().String(), RefMs: b.nowM}
	if d != nil {
		in.SubjectBay = iot.BayToken(d.Bay)
	}
	f, err := b.ev.Step(in)
	if f != nil {
		b.apply(f)
	}
	return f, err
}

func (b *bench) apply(f *iot.Finding) {
	b.t.Helper()
	b.sync()
	err := b.do([]string{ledger.Inspector}, f.Op())
	require.NoError(b.t, err, "the chain refused the evaluator's %s finding", f.Name())
	b.applied[f.Name()]++
	b.refresh()
}

func (b *bench) weight(qty uint64, stable bool) (*iot.Finding, error) {
	return b.send(b.dev("LC"), iot.Reading{Weight: &iot.BayWeight{Qty: qty, Unit: "kg", Stable: stable}})
}

func (b *bench) heartbeats() {
	for _, k := range []string{"LC", "CAM", "SEAL"} {
		_, err := b.send(b.dev(k), iot.Reading{Heartbeat: &iot.Heartbeat{BatteryPermille: 800}})
		require.NoError(b.t, err)
	}
}

func (b *bench) tick() {
	for _, f := range b.ev.Tick(b.nowM) {
		b.apply(&f)
	}
}

func TestEvaluatorNoiseStaysClean(t *testing.T) {
	b := newBench(t, iot.DefaultRules())
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	// Baseline from the first stable reading (auto-baseline).
	_, err := b.weight(50_530, true)
	require.NoError(t, err)
	require.Equal(t, 1, b.applied["baseline"])
	require.Equal(t, uint64(50_530), b.lotRec().Baseline)

	// Eight hours: a reading every 10–60 s with ±0.1% noise (tolerance 300
	// kg is 0.6%), heartbeats every 45 s, a low-confidence camera event
	// now and then.
	end := b.nowM + 8*3600*1000
	nextHB := b.nowM
	for b.nowM < end {
		b.nowM += 10_000 + rng.Int64N(50_000)
		noise := rng.Int64N(101) - 50
		_, err := b.weight(uint64(50_530+noise), rng.IntN(20) != 0)
		require.NoError(t, err)
		for nextHB <= b.nowM {
			b.heartbeats()
			nextHB += 45_000
		}
		if rng.IntN(30) == 0 {
			_, err := b.send(b.dev("CAM"), iot.Reading{Motion: &iot.Motion{Class: iot.ClassUnknown, ConfidencePermille: uint16(rng.IntN(700))}})
			require.NoError(t, err)
		}
		b.tick()
	}
	assert.Equal(t, map[string]int{"baseline": 1}, b.applied, "no false alarm")
	assert.Equal(t, warehouse.HealthOK, b.lotRec().Health)
}

func TestEvaluatorStep(t *testing.T) {
	b := newBench(t, iot.DefaultRules())
	b.weight(lockExpects, true)
	f, err := b.weight(lockExpects-500, true) // 500 off: beyond 300 tolerance, within the step margin of 250 beyond it
	require.NoError(t, err)
	require.Nil(t, f)
	b.nowM += 5_000
	b.weight(47_000, false) // the forklift drives off: unsettled
	b.nowM += 2_000
	f, err = b.weight(47_000, true)
	require.NoError(t, err)
	require.NotNil(t, f)
	assert.Equal(t, "breach:step", f.Name())
	assert.Equal(t, warehouse.HealthAlarm, b.lotRec().Health)
	// In alarm, nothing more is reported.
	f, _ = b.weight(40_000, true)
	assert.Nil(t, f)
}

func TestEvaluatorDrift(t *testing.T) {
	b := newBench(t, iot.DefaultRules())
	b.weight(lockExpects, true)
	// 400 kg of shrink, held: beyond tolerance, under the step threshold.
	var f *iot.Finding
	for i := 0; i < 12 && f == nil; i++ {
		b.nowM += 60_000
		b.heartbeats()
		var err error
		f, err = b.weight(lockExpects-400, true)
		require.NoError(t, err)
		if i < 5 {
			require.Nil(t, f, "minute %d: not yet sustained", i+1)
		}
	}
	require.NotNil(t, f)
	assert.Equal(t, "breach:drift", f.Name())
	assert.Equal(t, 1, b.applied["breach:drift"])

	// Drift that comes back inside tolerance resets.
	b2 := newBench(t, iot.DefaultRules())
	b2.weight(lockExpects, true)
	for i := range 20 {
		b2.nowM += 60_000
		qty := uint64(lockExpects - 400)
		if i%4 == 3 {
			qty = lockExpects - 100
		}
		f, err := b2.weight(qty, true)
		require.NoError(t, err)
		require.Nil(t, f, "minute %d", i)
	}
}

func TestEvaluatorMotionSealTamper(t *testing.T) {
	for _, c := range []struct {
		name string
		dev  string
		r    iot.Reading
	}{
		{"breach:motion", "CAM", iot.Reading{Motion: &iot.Motion{Class: iot.ClassPerson, ConfidencePermille: 930}}},
		{"breach:seal", "SEAL", iot.Reading{Seal: &iot.Seal{SealID: "S-9", State: iot.SealBroken}}},
		{"breach:tamper", "LC", iot.Reading{Heartbeat: &iot.Heartbeat{Tamper: true}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBench(t, iot.DefaultRules())
			b.weight(lockExpects, true)
			f, err := b.send(b.dev(c.dev), c.r)
			require.NoError(t, err)
			require.NotNil(t, f)
			assert.Equal(t, c.name, f.Name())
			assert.Equal(t, warehouse.HealthAlarm, b.lotRec().Health)
		})
	}
}

func TestEvaluatorGapAndReturn(t *testing.T) {
	r := iot.DefaultRules()
	r.OfflineAfterMs = 10_000
	b := newBench(t, r)
	b.weight(lockExpects, true)
	for range 5 {
		b.nowM += 3_000
		b.heartbeats()
		b.tick()
	}
	require.Empty(t, b.applied["gap"])
	// The camera goes quiet; the others keep beating.
	for range 5 {
		b.nowM += 3_000
		b.send(b.dev("LC"), iot.Reading{Heartbeat: &iot.Heartbeat{}})
		b.send(b.dev("SEAL"), iot.Reading{Heartbeat: &iot.Heartbeat{}})
		b.tick()
	}
	require.Equal(t, 1, b.applied["gap"])
	require.Equal(t, warehouse.HealthUnverified, b.lotRec().Health)
	// It comes back, and a weight within tolerance follows: verified.
	b.nowM += 1_000
	f, err := b.send(b.dev("CAM"), iot.Reading{Heartbeat: &iot.Heartbeat{}})
	require.NoError(t, err)
	assert.Nil(t, f, "no weight since the gap yet")
	f, err = b.weight(lockExpects+20, true)
	require.NoError(t, err)
	require.NotNil(t, f)
	assert.Equal(t, "verified", f.Name())
	assert.Equal(t, warehouse.HealthOK, b.lotRec().Health)
}

func TestEvaluatorRefusals(t *testing.T) {
	b := newBench(t, iot.DefaultRules())
	lc := b.dev("LC")
	_, err := b.weight(lockExpects, true)
	require.NoError(t, err)
	key := b.w.Devices[lc].Key
	mk := func(seq uint64, ms int64, r iot.Reading) *iot.SignedReading {
		r.Event, r.Device, r.Epoch, r.Seq, r.TimeMs = "e", lc, 1, seq, ms
		s := iot.Sign(r, key)
		return &s
	}
	wt := iot.Reading{Weight: &iot.BayWeight{Qty: 40_000, Unit: "kg", Stable: true}}
	cases := []struct {
		want *receipt.Error
		in   func() iot.Input
	}{
		{iot.ErrReplayed, func() iot.Input { return b.input(mk(1, b.nowM, wt), true) }},
		{iot.ErrClockSkew, func() iot.Input { return b.input(mk(10, b.nowM+60_000, wt), true) }},
		{iot.ErrClockSkew, func() iot.Input { return b.input(mk(10, b.nowM-60_000, wt), true) }},
		{iot.ErrReadingSignature, func() iot.Input { return b.input(mk(10, b.nowM, wt), false) }},
		{iot.ErrUnsigned, func() iot.Input {
			s := mk(10, b.nowM, wt)
			s.Sig = [64]byte{}
			return b.input(s, false)
		}},
		{iot.ErrImplausible, func() iot.Input {
			return b.input(mk(10, b.nowM, iot.Reading{Weight: &iot.BayWeight{Qty: 9_000_000_000, Unit: "kg", Stable: true}}), true)
		}},
		{iot.ErrSubjectMismatch, func() iot.Input {
			in := b.input(mk(10, b.nowM, wt), true)
			in.SubjectBay = "BAY-02"
			return in
		}},
		{iot.ErrSubjectMismatch, func() iot.Input {
			in := b.input(mk(10, b.nowM, wt), true)
			in.SubjectKind = "motion"
			return in
		}},
		{warehouse.ErrDeviceNotFound, func() iot.Input {
			in := b.input(mk(10, b.nowM, wt), true)
			in.Device = nil
			return in
		}},
		{warehouse.ErrDeviceNotHere, func() iot.Input {
			in := b.input(mk(10, b.nowM, wt), true)
			d := *in.Device
			d.Warehouse = ledger.Warehouse2
			in.Device = &d
			return in
		}},
		{warehouse.ErrDeviceSuspended, func() iot.Input {
			in := b.input(mk(10, b.nowM, wt), true)
			d := *in.Device
			d.Status = warehouse.Suspended
			in.Device = &d
			return in
		}},
		{warehouse.ErrDeviceUncalibrated, func() iot.Input {
			in := b.input(mk(10, b.nowM, wt), true)
			d := *in.Device
			d.CalibratedUntil = b.nowM/1000 - 1
			in.Device = &d
			return in
		}},
	}
	for _, c := range cases {
		f, err := b.ev.Step(c.in())
		assert.Nil(t, f)
		assert.ErrorIs(t, err, c.want)
	}
	assert.Equal(t, warehouse.HealthOK, b.lotRec().Health, "no refused reading changed anything")
	assert.Equal(t, iot.Pos{Epoch: 1, Seq: 1}, b.ev.LastPos(lc))
	// A broken seal cannot close again.
	b.send(b.dev("SEAL"), iot.Reading{Seal: &iot.Seal{SealID: "S-2", State: iot.SealBroken}})
	_, err = b.send(b.dev("SEAL"), iot.Reading{Seal: &iot.Seal{SealID: "S-2", State: iot.SealClosed}})
	assert.ErrorIs(t, err, iot.ErrImplausible)
}

func (b *bench) input(s *iot.SignedReading, sigOK bool) iot.Input {
	d, _ := ledger.Get[warehouse.Device](b.sim.Store, warehouse.DeviceKey(s.Reading.Device))
	return iot.Input{Reading: s, Device: d, SigOK: sigOK, SubjectBay: iot.BayToken(d.Bay), SubjectDevice: s.Reading.Device,
		SubjectKind: s.Reading.Kind().String(), RefMs: b.nowM}
}

func TestEvidenceDigestIsCanonical(t *testing.T) {
	w := ledger.NewWorld("iot", t0+86400)
	s := iot.Sign(iot.Reading{Event: "e", Device: "WH-QD-01-LC-01", Epoch: 1, Seq: 1, TimeMs: 1, Weight: &iot.BayWeight{Unit: "kg"}}, w.Devices["WH-QD-01-LC-01"].Key)
	a := iot.EvidenceDigest("L", iot.AlertStep, []iot.SignedReading{s})
	var back iot.SignedReading
	require.NoError(t, canon.Unmarshal(canon.Marshal(&s), &back))
	assert.Equal(t, a, iot.EvidenceDigest("L", iot.AlertStep, []iot.SignedReading{back}))
	assert.NotEqual(t, a, iot.EvidenceDigest("L", iot.AlertDrift, []iot.SignedReading{s}))
}

// loadOut opens a release order for qty of R-1 and tells the evaluator.
func (b *bench) loadOut(qty uint64) string {
	b.t.Helper()
	b.sync()
	r, _ := ledger.Get[receipt.Receipt](b.sim.Store, receipt.ReceiptKey("R-1"))
	require.NoError(b.t, b.do([]string{ledger.TraderA}, &warehouse.RequestDelivery{Receipt: "R-1", Version: r.Version, Quantity: qty}))
	b.refresh()
	return warehouse.ReleaseOrderID("R-1", r.Deliveries+1)
}

// closeLoadOut confirms ro with a ticket of net and the scale's reading
// of closingQty, and tells the evaluator.
func (b *bench) closeLoadOut(ro string, net, closingQty uint64) {
	b.t.Helper()
	b.sync()
	ticket := b.w.Ticket(ledger.Weighbridge1, "OUT-"+ro, warehouse.Out, net+15_000, 15_000, ro, b.nowM/1000)
	closing := b.sign(b.dev("LC"), iot.Reading{Weight: &iot.BayWeight{Qty: closingQty, Unit: "kg", Stable: true}})
	_, err := b.step(&closing, true)
	require.NoError(b.t, err)
	require.NoError(b.t, b.do([]string{ledger.Operator}, &warehouse.ConfirmDelivery{ReleaseOrder: ro,
		Tickets: []warehouse.SignedTicket{ticket}, Closing: iot.Encode(&closing)}))
	b.refresh()
}

// TestEvaluatorLoadOutIsNoBreach runs a partial delivery past the
// evaluator: while the release order is open the door opens, a forklift
// works and the bay loses the truck's load; after it closes the scale
// reports what is left. None of it is a finding, and the chain agrees
// (every finding the bench sees is applied, so a wrong one fails).
func TestEvaluatorLoadOutIsNoBreach(t *testing.T) {
	b := newBench(t, iot.DefaultRules())
	b.weight(lockExpects, true)
	require.Equal(t, 1, b.applied["baseline"])
	ro := b.loadOut(20_000)
	steps := []iot.Reading{
		{Seal: &iot.Seal{SealID: "S-1", State: iot.SealOpen}},
		{Motion: &iot.Motion{Zone: "dock", Class: iot.ClassForklift, ConfidencePermille: 960}},
		{Motion: &iot.Motion{Zone: "dock", Class: iot.ClassPerson, ConfidencePermille: 990}},
	}
	devs := []string{"SEAL", "CAM", "CAM"}
	for i, r := range steps {
		b.nowM += 20_000
		f, err := b.send(b.dev(devs[i]), r)
		require.NoError(t, err)
		require.Nil(t, f, "%s during the load-out", r.Kind())
	}
	// The bay goes down in forklift loads, unsettled while they move.
	for q := uint64(lockExpects); q > lockExpects-20_000; q -= 2_500 {
		b.nowM += 30_000
		f, err := b.weight(q-2_500, false)
		require.NoError(t, err)
		require.Nil(t, f)
		b.nowM += 3_000
		f, err = b.weight(q-2_500+uint64(b.nowM%40), true)
		require.NoError(t, err)
		require.Nil(t, f, "a load-out within its order at %d kg", q-2_500)
	}
	b.nowM += 20_000
	f, err := b.send(b.dev("SEAL"), iot.Reading{Seal: &iot.Seal{SealID: "S-1", State: iot.SealClosed}})
	require.NoError(t, err)
	require.Nil(t, f)
	b.nowM += 60_000
	b.closeLoadOut(ro, 19_980, lockExpects-19_990)
	assert.Equal(t, uint64(lockExpects-19_990), b.lotRec().Expected, "re-centred on the closing reading")
	// Hours of the honest scale reporting what is left: no alarm; then a
	// door opened without an order is one.
	for range 120 {
		b.nowM += 60_000
		f, err := b.weight(lockExpects-19_980+uint64(b.nowM%60), true)
		require.NoError(t, err)
		require.Nil(t, f)
		b.heartbeats()
		b.tick()
	}
	assert.Equal(t, map[string]int{"baseline": 1}, b.applied, "no false alarm")
	assert.Equal(t, warehouse.HealthOK, b.lotRec().Health)
	b.nowM += 10_000
	f, err = b.send(b.dev("SEAL"), iot.Reading{Seal: &iot.Seal{SealID: "S-1", State: iot.SealOpen}})
	require.NoError(t, err)
	require.NotNil(t, f)
	assert.Equal(t, "breach:seal", f.Name())
}

// TestEvaluatorTheftDuringLoadOut checks an open order excuses only what
// it allows: a bay that loses more than the order plus its allowance is a
// step even while the trucks load.
func TestEvaluatorTheftDuringLoadOut(t *testing.T) {
	b := newBench(t, iot.DefaultRules())
	b.weight(lockExpects, true)
	b.loadOut(10_000)
	b.nowM += 60_000
	f, err := b.weight(lockExpects-10_000, true)
	require.NoError(t, err)
	require.Nil(t, f)
	b.nowM += 60_000
	f, err = b.weight(lockExpects-14_000, true)
	require.NoError(t, err)
	require.NotNil(t, f)
	assert.Equal(t, "breach:step", f.Name())
	assert.Equal(t, warehouse.HealthAlarm, b.lotRec().Health)
}

// TestEvaluatorDeviceRestart checks a device that restarts (a new epoch,
// its sequence from 1) keeps being heard: no replay refusals, no gap; and
// a reading of an epoch it has left is a replay.
func TestEvaluatorDeviceRestart(t *testing.T) {
	r := iot.DefaultRules()
	r.OfflineAfterMs = 30_000
	b := newBench(t, r)
	b.weight(lockExpects, true)
	lc := b.dev("LC")
	old := b.sign(lc, iot.Reading{Heartbeat: &iot.Heartbeat{}})
	b.nowM += 1_000
	_, err := b.step(&old, true)
	require.NoError(t, err)
	for i := range 10 {
		b.nowM += 10_000
		if i == 4 {
			b.restart(lc)
		}
		f, err := b.weight(lockExpects+uint64(i), true)
		require.NoError(t, err, "reading %d", i)
		require.Nil(t, f)
		b.heartbeats()
		b.tick()
	}
	assert.Equal(t, iot.Pos{Epoch: 2, Seq: 12}, b.ev.LastPos(lc))
	assert.Equal(t, map[string]int{"baseline": 1}, b.applied, "no gap, no breach")
	_, err = b.step(&old, true)
	assert.ErrorIs(t, err, iot.ErrReplayed, "a reading from before the restart")
}
