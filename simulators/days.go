package simulators

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// Warehouse days: the lock judged through ordinary work. A simulated
// warehouse (the devices of warehouse 1 on a fake clock, obeying physics)
// runs for days of simulated time: trucks weigh goods in and lots are
// locked, receipts issued and pledged, partial and full deliveries loaded
// out by the simulated trucks and confirmed with their tickets and the bay
// scale's closing reading, devices restart, the scales are noisy and the
// other customers' trucks cross the weighbridge. Thefts are injected at
// random: sudden ones and slow pilfering, at rest and during load-outs.
// The supervisor's rules (iot.Evaluator) judge every reading, and what
// they find is applied to an in-memory chain (the validators' own rules)
// whose block time is the simulated clock. Every theft must be caught,
// and nothing else may raise an alert.

// DaysConfig configures RunWarehouseDays.
type DaysConfig struct {
	Seed     uint64
	Duration time.Duration // simulated time (default 48 h)
	// TheftEvery is the mean simulated time between injected thefts
	// (default 3 h); DeliveryEvery between delivery requests (default
	// 40 min); RestartEvery between device restarts (default 2 h).
	TheftEvery, DeliveryEvery, RestartEvery time.Duration
	// Step is how far the clock moves between steps (default 1 s).
	Step time.Duration
}

// DaysResult is what the days saw.
type DaysResult struct {
	Seed            uint64  `json:"seed"`
	SimulatedHours  float64 `json:"simulated_hours"`
	Readings        uint64  `json:"readings"`
	Refused         uint64  `json:"readings_refused"`
	Intakes         int     `json:"intakes"`
	Deliveries      int     `json:"deliveries"`
	FullDeliveries  int     `json:"full_deliveries"`
	Pledges         int     `json:"pledges"`
	Restarts        int     `json:"restarts"`
	TheftsInjected  int     `json:"thefts_injected"`
	TheftsDetected  int     `json:"thefts_detected"`
	FalseAlarms     int     `json:"false_alarms"`
	FindingsRefused int     `json:"findings_refused"`
	// Problems lists what went wrong (a theft missed, an alert no theft
	// explains, a finding the chain refused), with its simulated time.
	Problems []string `json:"problems,omitempty"`
}

// OK reports whether the days kept the promise: every theft caught,
// nothing else alarmed, the rules and the chain in agreement.
func (r *DaysResult) OK() bool {
	return r.TheftsDetected == r.TheftsInjected && r.FalseAlarms == 0 && r.FindingsRefused == 0 && len(r.Problems) == 0
}

// daysTheftWithin is how long a theft may go unproven: a drift must be
// held for the sustain window, and a theft during a load-out shows when it
// closes.
const daysTheftWithin = time.Hour

// theft is an injected theft awaiting its alarm.
type theft struct {
	lot, bay string
	at       time.Time
	kg       uint64 // a sudden theft's
	drift    bool   // pilfering, from goods weighing before
	before   uint64
}

type days struct {
	cfg   DaysConfig
	res   *DaysResult
	rng   *rand.Rand
	w     *ledger.World
	chain *ledger.Sim
	clock *FakeClock
	sim   *Warehouse
	ev    *iot.Evaluator
	wh    *warehouse.Warehouse
	n     int // ids
	// The work in hand.
	thefts   map[string]*theft // by lot
	loadOuts map[string]string // release order → lot
	known    map[string]bool   // alerts the run explained
	next     struct{ theft, delivery, restart, intake time.Time }
}

// RunWarehouseDays runs the days. A failure to run is an error; what the
// lock got wrong is in the result (OK reports it).
func RunWarehouseDays(cfg DaysConfig) (*DaysResult, error) {
	if cfg.Duration <= 0 {
		cfg.Duration = 48 * time.Hour
	}
	if cfg.TheftEvery <= 0 {
		cfg.TheftEvery = 3 * time.Hour
	}
	if cfg.DeliveryEvery <= 0 {
		cfg.DeliveryEvery = 40 * time.Minute
	}
	if cfg.RestartEvery <= 0 {
		cfg.RestartEvery = 2 * time.Hour
	}
	if cfg.Step <= 0 {
		cfg.Step = time.Second
	}
	start := time.Unix(1_767_225_600, 0) // 2026-01-01
	w := ledger.NewWorld("days", start.Unix()+10*365*86400)
	chain, err := ledger.NewSim(w, "ewr-days", start.Unix())
	if err != nil {
		return nil, err
	}
	d := &days{cfg: cfg, res: &DaysResult{Seed: cfg.Seed}, rng: rand.New(rand.NewPCG(cfg.Seed, 0xda75)), w: w, chain: chain,
		clock: NewFakeClock(start), thefts: map[string]*theft{}, loadOuts: map[string]string{}, known: map[string]bool{}}
	d.sim, err = NewWarehouse(w, ledger.Warehouse1, DeviceConfig{Trucks: true}, cfg.Seed, d.clock)
	if err != nil {
		return nil, err
	}
	x := &receipt.Exec{Store: chain.Store}
	if d.wh, err = warehouse.LoadWarehouse(x, ledger.Warehouse1); err != nil {
		return nil, err
	}
	d.ev = iot.NewEvaluator(iot.EvalConfig{Warehouse: ledger.Warehouse1, AutoBaseline: true,
		EvidenceWindowMs: x.Params().EvidenceWindowSec * 1000}, *iot.LoadRules(x))
	d.refresh()
	now := d.clock.Now()
	d.next.theft = now.Add(d.expo(cfg.TheftEvery))
	d.next.delivery = now.Add(d.expo(cfg.DeliveryEvery))
	d.next.restart = now.Add(d.expo(cfg.RestartEvery))
	end := now.Add(cfg.Duration)
	for d.clock.Now().Before(end) {
		d.clock.Advance(cfg.Step)
		if err := d.step(); err != nil {
			return d.res, err
		}
	}
	// The run ends as an audit would: no new thefts, and the supervision
	// gets up to two more hours to prove the ones under way (a slow
	// pilfering begun just before the end needs its sustain window).
	d.next.theft = end.Add(365 * 24 * time.Hour)
	for audit := end.Add(2 * time.Hour); len(d.thefts) > 0 && d.clock.Now().Before(audit); {
		d.clock.Advance(cfg.Step)
		if err := d.step(); err != nil {
			return d.res, err
		}
	}
	for lot, th := range d.thefts {
		d.problem("%s from %s at %s never proven", th, lot, th.at.Format(time.DateTime))
	}
	d.res.SimulatedHours = d.clock.Now().Sub(now).Hours()
	return d.res, nil
}

func (d *days) problem(format string, args ...any) {
	d.res.Problems = append(d.res.Problems, d.clock.Now().Format(time.DateTime)+": "+fmt.Sprintf(format, args...))
}

// expo draws an exponential interval with the given mean.
func (d *days) expo(mean time.Duration) time.Duration {
	return time.Duration(d.rng.ExpFloat64() * float64(mean))
}

func (d *days) id(p string) string { d.n++; return fmt.Sprintf("%s-%d", p, d.n) }

// do applies op in a block at the simulated clock.
func (d *days) do(signers []string, op receipt.Op) error {
	d.chain.Block.Time = max(d.chain.Block.Time, d.clock.Now().Unix())
	_, err := d.chain.Do(signers, op)
	if err == nil {
		d.refresh()
	}
	return err
}

// refresh gives the rules the chain's view, as the supervisor does after
// each commit.
func (d *days) refresh() {
	x := &receipt.Exec{Store: d.chain.Store}
	var views []iot.LotView
	for _, bayID := range ledger.DemoBays {
		b, ok := receipt.Load[warehouse.Bay](x, warehouse.BayKey(ledger.Warehouse1, bayID))
		if !ok || b.LockedBy == "" {
			continue
		}
		l, err := warehouse.LoadLot(x, b.LockedBy)
		if err != nil {
			continue
		}
		var gap *iot.Alert
		if l.Alert != "" {
			gap, _ = receipt.Load[iot.Alert](x, iot.AlertKey(l.Alert))
		}
		views = append(views, iot.NewLotView(l, iot.LoadWatch(x, l.ID), warehouse.LoadLockHistory(x, l.ID), gap, b.Devices, true))
	}
	d.ev.SetLots(views, d.clock.Now().UnixMilli())
}

// step runs one tick of the clock: the devices, the rules, the work.
func (d *days) step() error {
	now := d.clock.Now()
	for _, o := range d.sim.Step(now) {
		d.judge(o, now)
	}
	for _, f := range d.ev.Tick(now.UnixMilli()) {
		d.finding(&f)
	}
	d.checkAlerts()
	if err := d.work(now); err != nil {
		return err
	}
	return nil
}

// judge screens one published reading as the supervisor would and applies
// what the rules find.
func (d *days) judge(o bus.Outgoing, now time.Time) {
	sr, msg, err := iot.Decode(o.Data)
	if err != nil {
		d.res.Refused++
		return
	}
	_, bay, dev, kind, err := bus.ParseReadingSubject(o.Subject)
	if err != nil {
		d.res.Refused++
		return
	}
	d.res.Readings++
	device, _ := ledger.Get[warehouse.Device](d.chain.Store, warehouse.DeviceKey(sr.Reading.Device))
	in := iot.Input{Reading: sr, Device: device, SubjectBay: bay, SubjectDevice: dev, SubjectKind: kind, RefMs: now.UnixMilli()}
	if device != nil {
		in.SigOK = ed25519.Verify(device.PubKey[:], msg, sr.Sig[:])
	}
	f, err := d.ev.Step(in)
	if err != nil {
		d.res.Refused++
		return
	}
	if f != nil {
		d.finding(f)
	}
}

// finding applies a finding signed by the collateral manager, after the
// same dry run the supervisor does; a finding the chain refuses for what
// the chain already did is settled, any other refusal is a disagreement
// between the rules and the validators.
func (d *days) finding(f *iot.Finding) {
	err := d.do([]string{d.wh.CollateralManager}, f.Op())
	switch {
	case err == nil:
		d.ev.Settle(f.Lot, true)
	case errors.Is(err, iot.ErrLotInAlarm), errors.Is(err, iot.ErrLotUnverified), errors.Is(err, iot.ErrLotHealthy), errors.Is(err, iot.ErrBaselineSet):
		d.ev.Settle(f.Lot, true)
	default:
		d.res.FindingsRefused++
		d.problem("the chain refused the rules' %s finding on %s: %v", f.Name(), f.Lot, err)
		d.ev.Settle(f.Lot, false)
	}
}

// checkAlerts matches every open alert with a theft: a proven theft is
// counted and its goods put back and re-counted; any other alert is a
// false alarm.
func (d *days) checkAlerts() {
	x := &receipt.Exec{Store: d.chain.Store}
	for _, bayID := range ledger.DemoBays {
		b, ok := receipt.Load[warehouse.Bay](x, warehouse.BayKey(ledger.Warehouse1, bayID))
		if !ok || b.LockedBy == "" {
			continue
		}
		l, err := warehouse.LoadLot(x, b.LockedBy)
		if err != nil || l.Alert == "" || d.known[l.Alert] {
			continue
		}
		d.known[l.Alert] = true
		a, _ := receipt.Load[iot.Alert](x, iot.AlertKey(l.Alert))
		th, robbed := d.thefts[l.ID]
		if !robbed || !a.Kind.Breach() {
			d.res.FalseAlarms++
			d.problem("false alarm on %s: %s alert %s on readings %v (lot expects %d ± %d, locks %d, bay holds %d + tare)",
				l.ID, a.Kind, a.ID, a.Readings, l.Expected, l.Tolerance, l.LockedQty, d.sim.Weight(l.Bay))
			d.recover(l, nil)
			continue
		}
		d.res.TheftsDetected++
		delete(d.thefts, l.ID)
		d.recover(l, th)
	}
	for lot, th := range d.thefts {
		if d.clock.Now().Sub(th.at) > daysTheftWithin {
			l, _ := warehouse.LoadLot(x, lot)
			d.problem("%s from %s at %s not proven within %v (lot %s, expects %d ± %d, bay holds %d + tare)", th, lot,
				th.at.Format(time.DateTime), daysTheftWithin, l.Health, l.Expected, l.Tolerance, d.sim.Weight(th.bay))
			d.stopTheft(th)
			delete(d.thefts, lot)
		}
	}
}

// recover clears a lot's alert: the stolen goods are found and put back
// (a slow pilfering stopped), and the collateral manager re-counts with
// the regulator on the scale's next settled reading. An open load-out is
// loaded out again afterwards by the staff (the simulator reloads the
// goods only).
func (d *days) recover(l *warehouse.Lot, th *theft) {
	if th != nil {
		if th.drift {
			_ = d.sim.Drift(th.bay, 0)
			_ = d.sim.Load(th.bay, th.before) // no load-out runs on a pilfered lot
		} else {
			_ = d.sim.Load(th.bay, d.sim.Weight(th.bay)+th.kg)
		}
	}
	since := d.clock.Now()
	// Let the scale settle on the goods; the rest of the warehouse goes on.
	for i := 0; i < 600; i++ {
		d.clock.Advance(d.cfg.Step)
		for _, o := range d.sim.Step(d.clock.Now()) {
			d.judge(o, d.clock.Now())
		}
		if r := d.sim.LastSettled(l.Bay, since.Add(3*time.Second)); r != nil {
			cur, _ := warehouse.LoadLot(&receipt.Exec{Store: d.chain.Store}, l.ID)
			if err := d.do([]string{d.wh.CollateralManager, ledger.Regulator}, &iot.Recount{Lot: l.ID, Counted: cur.LockedQty,
				Baseline: *r, Note: "goods found and re-counted"}); err != nil {
				d.problem("re-count of %s refused: %v", l.ID, err)
			}
			return
		}
	}
	d.problem("no settled reading of %s to re-count on", l.Bay)
}

// work is the staff and the thieves: intakes into free bays, delivery
// requests, their load-outs confirmed, restarts, thefts.
func (d *days) work(now time.Time) error {
	x := &receipt.Exec{Store: d.chain.Store}
	// Confirm finished load-outs.
	ros := make([]string, 0, len(d.loadOuts))
	for ro := range d.loadOuts {
		ros = append(ros, ro)
	}
	sort.Strings(ros)
	for _, ro := range ros {
		tickets, closing, done, err := d.sim.LoadOutResult(ro)
		if err != nil || !done {
			continue
		}
		o, _ := receipt.Load[warehouse.ReleaseOrder](x, warehouse.ReleaseOrderKey(ro))
		if o == nil || o.Status != warehouse.ROOpen {
			delete(d.loadOuts, ro)
			d.sim.ForgetLoadOut(ro)
			continue
		}
		r, _ := receipt.LoadReceipt(x, o.Receipt)
		if r != nil && r.State == receipt.StateFrozen {
			continue // a theft in this bay is being recovered: confirm after the re-count
		}
		// The scale's latest settled reading since the load-out ended (the
		// closing one, or a later one if the confirmation waited).
		l, _ := warehouse.LoadLot(x, o.Lot)
		if later := d.sim.LastSettled(l.Bay, time.UnixMilli(closing.Reading.TimeMs)); later != nil {
			closing = later
		}
		if m := iot.LoadMark(x, closing.Reading.Device); m != nil && !closing.Reading.Pos().After(m.Pos()) {
			continue // the re-count used it: wait for the scale's next
		}
		err = d.do([]string{d.wh.Operator}, &warehouse.ConfirmDelivery{ReleaseOrder: ro, Tickets: tickets, Closing: iot.Encode(closing)})
		if err != nil {
			return fmt.Errorf("days: confirming %s: %w", ro, err)
		}
		delete(d.loadOuts, ro)
		d.sim.ForgetLoadOut(ro)
		d.res.Deliveries++
		if r != nil && r.Quantity == o.Quantity {
			d.res.FullDeliveries++
		}
	}
	// Intake into a free bay, now and then.
	if !now.Before(d.next.intake) {
		d.next.intake = now.Add(20*time.Minute + d.expo(time.Hour))
		if err := d.intake(x); err != nil {
			return err
		}
	}
	if !now.Before(d.next.delivery) {
		d.next.delivery = now.Add(d.expo(d.cfg.DeliveryEvery))
		if err := d.deliver(x); err != nil {
			return err
		}
	}
	if !now.Before(d.next.restart) {
		d.next.restart = now.Add(d.expo(d.cfg.RestartEvery))
		devs := make([]string, 0, len(d.w.Devices))
		for id, dk := range d.w.Devices {
			if dk.Device.Warehouse == ledger.Warehouse1 && dk.Device.Bay != "" {
				devs = append(devs, id)
			}
		}
		sort.Strings(devs)
		if err := d.sim.Restart(devs[d.rng.IntN(len(devs))]); err != nil {
			return err
		}
		d.res.Restarts++
	}
	if !now.Before(d.next.theft) {
		d.next.theft = now.Add(d.expo(d.cfg.TheftEvery))
		d.steal(x)
	}
	return nil
}

// lockedLots are the healthy locked lots of the simulated bays, by bay.
func (d *days) lockedLots(x *receipt.Exec) []*warehouse.Lot {
	var out []*warehouse.Lot
	for _, bayID := range ledger.DemoBays {
		b, ok := receipt.Load[warehouse.Bay](x, warehouse.BayKey(ledger.Warehouse1, bayID))
		if !ok || b.LockedBy == "" {
			continue
		}
		if l, err := warehouse.LoadLot(x, b.LockedBy); err == nil && l.Status == warehouse.LotLocked && l.Health == warehouse.HealthOK {
			out = append(out, l)
		}
	}
	return out
}

// intake weighs two or three trucks into a free bay, locks the lot and
// issues receipts for it, some of them pledged.
func (d *days) intake(x *receipt.Exec) error {
	var free []string
	for _, bayID := range ledger.DemoBays {
		b, ok := receipt.Load[warehouse.Bay](x, warehouse.BayKey(ledger.Warehouse1, bayID))
		if ok && b.LockedBy == "" {
			// What a released lot left (the warehouse's margin over its
			// receipts) is swept up before the next lot comes in.
			if d.sim.Weight(bayID) > 0 {
				_ = d.sim.Load(bayID, 0)
			}
			free = append(free, bayID)
		}
	}
	if len(free) == 0 {
		return nil
	}
	bay := free[d.rng.IntN(len(free))]
	nets := make([]uint64, 2+d.rng.IntN(2))
	var total uint64
	for i := range nets {
		nets[i] = 18_000 + uint64(d.rng.IntN(10_000))
		total += nets[i]
	}
	tickets, err := d.sim.Intake(bay, nets...)
	if err != nil {
		return err
	}
	// Let the goods settle before the lot is registered, as the stacking
	// takes its time.
	for range 5 {
		d.clock.Advance(d.cfg.Step)
		for _, o := range d.sim.Step(d.clock.Now()) {
			d.judge(o, d.clock.Now())
		}
	}
	lot := d.id("LOT")
	// Tolerance: the weighbridge's error on the intake and the bay scale's.
	tol := 250 + total*6/1000
	if err := d.do([]string{d.wh.Operator, d.wh.CollateralManager}, &warehouse.RegisterStock{Lot: lot, Warehouse: ledger.Warehouse1, Bay: bay,
		Commodity: "copper cathode", Grade: "LME Grade A", Unit: "kg", Tolerance: tol, Tickets: tickets}); err != nil {
		return fmt.Errorf("days: registering %s: %w", lot, err)
	}
	l, _ := warehouse.LoadLot(x, lot)
	d.res.Intakes++
	// Receipts for all but 0.4%: the warehouse keeps a margin for the
	// weighbridge's error on the intake, so the goods cover every receipt.
	left := l.LockedQty - l.LockedQty*4/1000
	now := d.clock.Now().Unix()
	for left > 0 {
		qty := min(left, 5_000+uint64(d.rng.IntN(20_000)))
		if left-qty < 5_000 {
			qty = left // no receipt too small to weigh out
		}
		left -= qty
		holder := []string{ledger.TraderA, ledger.TraderB}[d.rng.IntN(2)]
		rid := d.id("WR")
		if err := d.do([]string{d.wh.Operator}, &warehouse.IssueReceipt{ID: rid, Lot: lot, Depositor: holder, Negotiable: true,
			Quantity: qty, Description: "copper cathode", PlaceOfIssue: "Qingdao", StorageUntil: now + 365*86400, ValidUntil: now + 300*86400,
			StorageAgreementDate: now - 86400, StorageTermsRef: "QBMW-ST-2026-01", ThirdPartyClaims: "none known",
			Fees: receipt.FeeTerms{Currency: "CNY", MinorPerTonnePerDay: 150}}); err != nil {
			return fmt.Errorf("days: issuing %s: %w", rid, err)
		}
		if d.rng.IntN(3) == 0 {
			bank := []string{ledger.BankA, ledger.BankB}[d.rng.IntN(2)]
			r, _ := receipt.LoadReceipt(x, rid)
			pid := d.id("PL")
			if err := d.do([]string{holder}, &receipt.RequestPledge{Pledge: pid, Receipt: rid, Version: r.Version, Bank: bank,
				Maturity: now + 200*86400}); err == nil {
				r, _ = receipt.LoadReceipt(x, rid)
				if err := d.do([]string{bank}, &receipt.ConfirmPledge{Pledge: pid, ReceiptVersion: r.Version}); err == nil {
					d.res.Pledges++
				}
			}
		}
	}
	return nil
}

// deliver has a holder redeem part or all of a receipt (a pledged one with
// its bank's consent), and the simulator load it out.
func (d *days) deliver(x *receipt.Exec) error {
	var candidates []*receipt.Receipt
	for _, l := range d.lockedLots(x) {
		if _, robbed := d.thefts[l.ID]; robbed {
			continue
		}
		for _, rid := range l.Live {
			r, err := receipt.LoadReceipt(x, rid)
			if err == nil && r.ReleaseOrder == "" && (r.State == receipt.StateIssued || r.State == receipt.StatePledged) {
				candidates = append(candidates, r)
			}
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	r := candidates[d.rng.IntN(len(candidates))]
	qty := r.Quantity
	// A partial delivery takes at least 2 t and leaves at least 2 t: a
	// weighbridge (20 kg divisions, a minimum load of some hundred kg)
	// cannot weigh out the last few kilos of a receipt.
	if d.rng.IntN(3) != 0 && r.Quantity > 4_000 {
		qty = 2_000 + uint64(d.rng.IntN(int(r.Quantity-4_000)+1))
	}
	signers := []string{r.Holder}
	if r.Pledge != "" {
		p, _ := receipt.LoadPledge(x, r.Pledge)
		signers = append(signers, p.Bank)
	}
	if err := d.do(signers, &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version, Quantity: qty}); err != nil {
		return fmt.Errorf("days: requesting delivery of %s: %w", r.ID, err)
	}
	ro := warehouse.ReleaseOrderID(r.ID, r.Deliveries+1)
	d.loadOuts[ro] = r.Lot
	return d.sim.StartLoadOut(ro, r.Place, qty)
}

// steal takes goods from a lot: most often at once (2–6 t), sometimes
// slowly (pilfering about 1 t an hour until stopped), at rest or while a
// load-out is under way.
func (d *days) steal(x *receipt.Exec) {
	var lots []*warehouse.Lot
	for _, l := range d.lockedLots(x) {
		if _, robbed := d.thefts[l.ID]; !robbed && l.Baseline > 0 && len(l.Live) > 0 && d.sim.Weight(l.Bay) >= 4_000 {
			lots = append(lots, l)
		}
	}
	if len(lots) == 0 {
		return
	}
	l := lots[d.rng.IntN(len(lots))]
	have := d.sim.Weight(l.Bay)
	th := &theft{lot: l.ID, bay: l.Bay, at: d.clock.Now(), before: have}
	if d.rng.IntN(4) == 0 && !d.loadingOut(l.ID) {
		th.drift = true
		_ = d.sim.Drift(l.Bay, -2_000)
	} else {
		th.kg = min(2_000+uint64(d.rng.IntN(4_000)), have/2)
		_ = d.sim.Theft(l.Bay, th.kg)
	}
	d.thefts[l.ID] = th
	d.res.TheftsInjected++
}

func (th *theft) String() string {
	if th.drift {
		return fmt.Sprintf("pilfering (from %d kg)", th.before)
	}
	return fmt.Sprintf("theft of %d kg", th.kg)
}

// stopTheft stops a pilfering.
func (d *days) stopTheft(th *theft) {
	if th.drift {
		_ = d.sim.Drift(th.bay, 0)
	}
}

// loadingOut reports whether a load-out of lot is under way.
func (d *days) loadingOut(lot string) bool {
	for _, l := range d.loadOuts {
		if l == lot {
			return true
		}
	}
	return false
}
