package iot

import (
	"sort"

	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// NoBay is the bay token of a device bound to no bay (a weighbridge) in a
// reading's subject.
const NoBay = "_"

// BayToken is the subject token for bay.
func BayToken(bay string) string {
	if bay == "" {
		return NoBay
	}
	return bay
}

// LotView is what the evaluator knows of a locked lot of its warehouse, as
// the chain last committed it.
type LotView struct {
	Lot  string
	Bay  string
	Unit string
	// Expected is the bay weight the lock expects now; Baselined says a
	// baseline reading was adopted (until then the supervisor may propose
	// one); Phases are the lock's history, which readings are judged
	// against as of their time.
	Expected  uint64
	Baselined bool
	Tolerance uint64
	Phases    []warehouse.LockPhase
	Health    warehouse.Health
	Alert     string
	// SinceMs is the earliest device time evidence may have (the lock, or
	// the last baseline).
	SinceMs int64
	// GapDevice and GapAtMs are the open gap's, when Health is UNVERIFIED.
	GapDevice string
	GapAtMs   int64
	// Devices are the active devices bound to the bay, sorted: each must
	// be heard within the offline limit. Scaled says one is a bay scale,
	// so a return to health needs a weight.
	Devices []string
	Scaled  bool
}

// NewLotView builds the view of a lot from its records. gap is the lot's
// open alert (nil if none); devices are the active devices of its bay,
// scaled whether one of them is a bay scale.
func NewLotView(l *warehouse.Lot, w *Watch, h *warehouse.LockHistory, gap *Alert, devices []string, scaled bool) LotView {
	v := LotView{
		Lot: l.ID, Bay: l.Bay, Unit: l.Unit, Expected: l.Expected, Baselined: l.Baseline != 0, Tolerance: l.Tolerance,
		Health: l.Health, Alert: l.Alert, SinceMs: sinceMs(l, w), Devices: append([]string(nil), devices...), Scaled: scaled,
	}
	if h != nil {
		v.Phases = append([]warehouse.LockPhase(nil), h.Phases...)
	}
	if gap != nil && gap.Kind == AlertGap {
		v.GapDevice, v.GapAtMs = gap.Device, gap.sinceMs()
	}
	sort.Strings(v.Devices)
	return v
}

// phaseAt is the lock phase in force at ms, and false before the history.
func (v *LotView) phaseAt(ms int64) (warehouse.LockPhase, bool) {
	h := warehouse.LockHistory{Phases: v.Phases}
	return h.At(ms)
}

// samePhases reports whether two histories are the same.
func samePhases(a, b []warehouse.LockPhase) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FindingKind is what a finding asks the chain to do.
type FindingKind uint8

// Finding kinds.
const (
	FindBreach   FindingKind = iota + 1 // iot.breach
	FindGap                             // iot.gap
	FindVerified                        // iot.verified
	FindBaseline                        // iot.baseline
)

func (k FindingKind) String() string {
	switch k {
	case FindBreach:
		return "breach"
	case FindGap:
		return "gap"
	case FindVerified:
		return "verified"
	case FindBaseline:
		return "baseline"
	}
	return "unknown"
}

// Finding is something the rules found that the chain should record.
type Finding struct {
	Kind     FindingKind
	Alert    AlertKind // for a breach
	Lot      string
	Evidence []SignedReading
	// For a gap: the silent device, when it was last heard, and now.
	Device     string
	LastSeenMs int64
	AtMs       int64
}

// Op is the op that records the finding on chain.
func (f *Finding) Op() receipt.Op {
	switch f.Kind {
	case FindBreach:
		return &Breach{Lot: f.Lot, Kind: f.Alert, Evidence: f.Evidence}
	case FindGap:
		return &Gap{Lot: f.Lot, Device: f.Device, LastSeenMs: f.LastSeenMs, AtMs: f.AtMs}
	case FindVerified:
		return &Verified{Lot: f.Lot, Evidence: f.Evidence}
	case FindBaseline:
		return &SetBaseline{Lot: f.Lot, Reading: f.Evidence[0]}
	}
	panic("iot: finding of unknown kind")
}

// Name is a short label for logs and metrics: "breach:step", "gap", ….
func (f *Finding) Name() string {
	if f.Kind == FindBreach {
		return "breach:" + f.Alert.String()
	}
	return f.Kind.String()
}

// Input is one reading as the supervisor received it.
type Input struct {
	Reading *SignedReading
	// Device is the reading's device as the chain records it; nil if the
	// chain does not know it.
	Device *warehouse.Device
	// SigOK says the signature verified against Device's key.
	SigOK bool
	// The subject's tokens: routing, which must agree with the signed
	// envelope and the device's binding.
	SubjectBay, SubjectDevice, SubjectKind string
	// RefMs is when the reading was stored on the bus, on the supervisor's
	// clock: the reference for the skew window and for "last heard".
	RefMs int64
	// Redelivered says the bus delivered this very message before (to a
	// supervisor that stopped before acking it). It may arrive after the
	// device's later readings: it is judged late, not as a replay (a
	// replay is a new message, and the skew window against its stored time
	// still applies).
	Redelivered bool
}

// EvalConfig configures an Evaluator.
type EvalConfig struct {
	Warehouse string
	// EvidenceWindowMs is how old a reading may be, against block time, to
	// count as evidence on chain (Params.EvidenceWindowSec): older
	// readings are dropped from the runs that become evidence (default 15
	// minutes).
	EvidenceWindowMs int64
	// RetryMs is how long a finding for a lot holds back the next one,
	// while its tx is on its way; Settle(lot, false) ends it early.
	RetryMs int64
	// AutoBaseline proposes a baseline for a lot without one from its
	// first stable bay weight (the supervisor signs as the warehouse's
	// collateral manager, who alone may set it).
	AutoBaseline bool
}

// DefaultRetryMs is EvalConfig.RetryMs's default.
const DefaultRetryMs = 15_000

// Evaluator is the supervisor's rules as a pure state machine, in the
// manner of etcd's raft: readings in through Step, time in through Step's
// reference time and Tick, findings out. It owns the per-device state
// (last sequence, last heard, seal) and the per-lot rule state (the run of
// consecutive bay-scale readings beyond tolerance, what returned after a
// gap). It does no I/O; one goroutine drives it.
type Evaluator struct {
	cfg   EvalConfig
	rules Rules
	lots  []*lotState          // sorted by lot id: Tick's order
	byBay map[string]*lotState // bay → its locked lot
	devs  map[string]*devState // device → state
}

type devState struct {
	last   Pos   // the last accepted reading's place
	lastMs int64 // device time of the last accepted reading
	seenMs int64 // reference time it was last heard (or first watched)
	seal   SealState
	sealID string
}

type lotState struct {
	view LotView
	// run holds consecutive readings of one bay scale since its last
	// stable weight within tolerance: the raw material of drift and step
	// evidence.
	run       []SignedReading
	runDevice string
	// pendingUntil holds back findings while one is on its way.
	pendingUntil int64
	// After a gap: the silent device's first reading since, and a stable
	// weight within tolerance since.
	fresh, freshWeight *SignedReading
}

// NewEvaluator returns an evaluator for one warehouse.
func NewEvaluator(cfg EvalConfig, rules Rules) *Evaluator {
	if cfg.RetryMs <= 0 {
		cfg.RetryMs = DefaultRetryMs
	}
	if cfg.EvidenceWindowMs <= 0 {
		cfg.EvidenceWindowMs = receipt.DefaultParams().EvidenceWindowSec * 1000
	}
	return &Evaluator{cfg: cfg, rules: rules, byBay: map[string]*lotState{}, devs: map[string]*devState{}}
}

// SetRules replaces the rules (the chain's changed).
func (e *Evaluator) SetRules(r Rules) { e.rules = r }

// SetEvidenceWindow replaces the evidence window (the chain's changed).
func (e *Evaluator) SetEvidenceWindow(ms int64) {
	if ms > 0 {
		e.cfg.EvidenceWindowMs = ms
	}
}

// Rules returns the rules in force.
func (e *Evaluator) Rules() Rules { return e.rules }

// SetLots replaces the watched lots with the chain's latest view. A lot
// whose baseline, tolerance or evidence window changed starts its rule
// state afresh; one whose health or alert changed may be reported on at
// once. Devices watched for the first time count as heard at nowMs.
func (e *Evaluator) SetLots(views []LotView, nowMs int64) {
	old := map[string]*lotState{}
	for _, ls := range e.lots {
		old[ls.view.Lot] = ls
	}
	lots := make([]*lotState, 0, len(views))
	byBay := make(map[string]*lotState, len(views))
	for _, v := range views {
		ls, ok := old[v.Lot]
		if !ok {
			ls = &lotState{}
		} else {
			p := ls.view
			rebased := p.Expected != v.Expected || p.Baselined != v.Baselined || p.Tolerance != v.Tolerance || p.Unit != v.Unit ||
				p.SinceMs != v.SinceMs || p.Bay != v.Bay || !samePhases(p.Phases, v.Phases)
			if rebased {
				ls.run, ls.runDevice = nil, ""
			}
			if rebased || p.Health != v.Health || p.Alert != v.Alert {
				// What the last finding asked for happened: report afresh.
				ls.pendingUntil = 0
				ls.fresh, ls.freshWeight = nil, nil
			}
		}
		ls.view = v
		lots = append(lots, ls)
		byBay[v.Bay] = ls
		for _, id := range v.Devices {
			d := e.dev(id)
			if d.seenMs == 0 {
				d.seenMs = nowMs
			}
		}
	}
	sort.Slice(lots, func(i, j int) bool { return lots[i].view.Lot < lots[j].view.Lot })
	e.lots, e.byBay = lots, byBay
}

func (e *Evaluator) dev(id string) *devState {
	d, ok := e.devs[id]
	if !ok {
		d = &devState{}
		e.devs[id] = d
	}
	return d
}

// Settle tells the evaluator how the lot's last finding fared: ok=false
// (refused, or not sent) lets the next reading report it again.
func (e *Evaluator) Settle(lot string, ok bool) {
	if ok {
		return
	}
	for _, ls := range e.lots {
		if ls.view.Lot == lot {
			ls.pendingUntil = 0
		}
	}
}

// Step screens one reading and, if it is accepted, evaluates the rules of
// the lot in its bay. It returns the reading's rejection (a typed error
// naming the reason, counted by the caller; the reading changes nothing)
// or at most one finding.
func (e *Evaluator) Step(in Input) (*Finding, error) {
	r := &in.Reading.Reading
	late := false
	if in.Redelivered {
		if d := e.devs[r.Device]; d != nil && !r.Pos().After(d.last) {
			late = true
		}
	}
	if err := e.screen(in, late); err != nil {
		return nil, err
	}
	if !late {
		d := e.dev(r.Device)
		d.last, d.lastMs, d.seenMs = r.Pos(), r.TimeMs, max(d.seenMs, in.RefMs)
		if r.Seal != nil {
			d.seal, d.sealID = r.Seal.State, r.Seal.SealID
		}
	}
	ls := e.byBay[in.Device.Bay]
	if in.Device.Bay == "" || ls == nil || ls.view.Health == warehouse.HealthAlarm {
		return nil, nil
	}
	var f *Finding
	if late {
		f = e.events(ls, in) // the events it shows; the weight runs have moved on
	} else {
		f = e.evaluate(ls, in)
	}
	if f != nil {
		if in.RefMs < ls.pendingUntil {
			return nil, nil
		}
		ls.pendingUntil = in.RefMs + e.cfg.RetryMs
	}
	return f, nil
}

// screen is every check a reading passes before it counts: a known device
// of this warehouse whose binding the subject agrees with, a signature,
// a trusted device, a sequence above the device's last, a device clock
// inside the skew window, and a physically plausible payload.
func (e *Evaluator) screen(in Input, late bool) error {
	r := &in.Reading.Reading
	dev := in.Device
	if dev == nil {
		return receipt.Errorf(warehouse.ErrDeviceNotFound, "%q", r.Device)
	}
	if dev.Warehouse != e.cfg.Warehouse {
		return receipt.Errorf(warehouse.ErrDeviceNotHere, "%q is bound to %s", dev.ID, dev.Warehouse)
	}
	k := r.Kind()
	if in.SubjectDevice != r.Device || in.SubjectKind != k.String() || in.SubjectBay != BayToken(dev.Bay) {
		return receipt.Errorf(ErrSubjectMismatch, "%s %s from %s/%s on subject %s/%s/%s",
			r.ID(), k, dev.Warehouse, BayToken(dev.Bay), in.SubjectBay, in.SubjectDevice, in.SubjectKind)
	}
	if in.Reading.Sig == ([64]byte{}) {
		return receipt.Errorf(ErrUnsigned, "%s", r.ID())
	}
	if !in.SigOK {
		return receipt.Errorf(ErrReadingSignature, "%s", r.ID())
	}
	if err := CheckDevice(dev, k, e.cfg.Warehouse, "", in.RefMs/1000); err != nil {
		return err
	}
	d := e.devs[r.Device]
	if d != nil && !r.Pos().After(d.last) && !late {
		return receipt.Errorf(ErrReplayed, "%s, device at %s", r.ID(), d.last)
	}
	if skew := r.TimeMs - in.RefMs; skew > e.rules.MaxSkewMs || -skew > e.rules.MaxSkewMs {
		return receipt.Errorf(ErrClockSkew, "%s: device time %d ms off by %d ms", r.ID(), r.TimeMs, skew)
	}
	if late {
		d = nil // judged on its own: the device's state is past it
	}
	return e.plausible(r, d)
}

// timeBackMs is how far a device's clock may step back between readings
// (NTP slews, but a reset steps).
const timeBackMs = 1_000

func (e *Evaluator) plausible(r *Reading, d *devState) error {
	if d != nil && d.last.Seq > 0 && r.TimeMs < d.lastMs-timeBackMs {
		return receipt.Errorf(ErrImplausible, "%s: time %d ms before the previous reading's %d ms", r.ID(), r.TimeMs, d.lastMs)
	}
	switch {
	case r.Weight != nil:
		if r.Weight.Qty/unitScale(r.Weight.Unit) > e.rules.MaxBayKg {
			return receipt.Errorf(ErrImplausible, "%s: bay weight %d %s", r.ID(), r.Weight.Qty, r.Weight.Unit)
		}
	case r.Ticket != nil:
		t := &r.Ticket.Ticket
		if t.Gross/unitScale(t.Unit) > e.rules.MaxTruckKg || t.Tare > t.Gross {
			return receipt.Errorf(ErrImplausible, "%s: ticket gross %d tare %d %s", r.ID(), t.Gross, t.Tare, t.Unit)
		}
		if t.Warehouse != e.cfg.Warehouse {
			return receipt.Errorf(warehouse.ErrDeviceNotHere, "%s: ticket for %s", r.ID(), t.Warehouse)
		}
	case r.Seal != nil:
		if d != nil && d.seal == SealBroken && d.sealID == r.Seal.SealID && r.Seal.State != SealBroken {
			return receipt.Errorf(ErrImplausible, "%s: broken seal %s reported %s", r.ID(), r.Seal.SealID, r.Seal.State)
		}
	}
	return nil
}

// evaluate runs the lot's rules on an accepted reading of its bay.
func (e *Evaluator) evaluate(ls *lotState, in Input) *Finding {
	s := in.Reading
	v := &ls.view
	if f := e.events(ls, in); f != nil {
		return f
	}
	if f := e.weigh(ls, s, in.RefMs); f != nil {
		return f
	}
	if v.Health == warehouse.HealthUnverified {
		return e.returned(ls, s)
	}
	return nil
}

// events checks the one-reading breaches: a tamper switch, a broken seal,
// and an intrusion or an open door while no release order was open on the
// lot when the reading was taken (a load-out moves goods and opens doors).
func (e *Evaluator) events(ls *lotState, in Input) *Finding {
	s := in.Reading
	r := &s.Reading
	breach := func(k AlertKind) *Finding {
		return &Finding{Kind: FindBreach, Alert: k, Lot: ls.view.Lot, Evidence: []SignedReading{*s}}
	}
	if r.TimeMs < ls.view.SinceMs {
		return nil
	}
	ph, known := ls.view.phaseAt(r.TimeMs)
	if !known {
		return nil // before the lock's history: proves nothing
	}
	switch {
	case r.Heartbeat != nil && r.Heartbeat.Tamper:
		return breach(AlertTamper)
	case r.Seal != nil && r.Seal.State == SealBroken:
		return breach(AlertSeal)
	case ph.Moving():
		return nil
	case r.Motion != nil && Intrusion(r.Motion, &e.rules):
		return breach(AlertMotion)
	case r.Seal != nil && r.Seal.State == SealOpen:
		return breach(AlertSeal)
	}
	return nil
}

// weigh extends the lot's run of bay-scale readings and checks it for a
// step and for drift, each stable weight judged against the lock as it
// stood when the reading was taken.
func (e *Evaluator) weigh(ls *lotState, s *SignedReading, refMs int64) *Finding {
	r := &s.Reading
	v := &ls.view
	if r.Weight == nil && r.Heartbeat == nil {
		return nil
	}
	if r.Weight == nil && r.Device != ls.runDevice {
		return nil // another device's heartbeat: not part of the scale's run
	}
	if len(ls.run) > 0 && (r.Device != ls.runDevice || !r.Pos().Next(ls.run[len(ls.run)-1].Reading.Pos())) {
		ls.run, ls.runDevice = nil, "" // another scale, a reading missed or a restart: start again
	}
	ls.trim(refMs - e.cfg.EvidenceWindowMs + evidenceSlackMs)
	ph, known := v.phaseAt(r.TimeMs)
	if r.TimeMs < v.SinceMs || !known {
		ls.run, ls.runDevice = nil, ""
		return nil
	}
	if r.Weight == nil {
		if len(ls.run) > 0 {
			ls.push(s, int(e.rules.MaxEvidence))
		}
		return nil
	}
	if r.Weight.Unit != v.Unit {
		ls.run, ls.runDevice = nil, "" // proves nothing about this lot
		return nil
	}
	if v.Expected == 0 {
		return nil
	}
	if !r.Weight.Stable {
		if len(ls.run) > 0 {
			ls.push(s, int(e.rules.MaxEvidence))
		}
		return nil
	}
	if ph.Excess(r.Weight.Qty, v.Tolerance) == 0 {
		ls.run, ls.runDevice = nil, ""
		if v.Health == warehouse.HealthUnverified {
			ls.freshWeightIfAfter(s, v.GapAtMs)
		}
		if !v.Baselined && e.cfg.AutoBaseline && !ph.Moving() && r.Weight.Qty > 0 && Deviation(r.Weight.Qty, v.Expected) <= v.Tolerance {
			return &Finding{Kind: FindBaseline, Lot: v.Lot, Evidence: []SignedReading{*s}}
		}
		return nil
	}
	ls.runDevice = r.Device
	ls.push(s, int(e.rules.MaxEvidence))

	// Step: the last StepReadings stable readings all outside the band by
	// the step margin.
	n, from := uint32(0), -1
	for i := len(ls.run) - 1; i >= 0 && n < e.rules.StepReadings; i-- {
		rr := &ls.run[i].Reading
		if rr.Weight == nil || !rr.Weight.Stable {
			continue
		}
		p, _ := v.phaseAt(rr.TimeMs)
		if p.Excess(rr.Weight.Qty, v.Tolerance) <= e.rules.StepMargin(p.Expected, v.Unit) {
			break
		}
		n, from = n+1, i
	}
	if n >= e.rules.StepReadings {
		return &Finding{Kind: FindBreach, Alert: AlertStep, Lot: v.Lot, Evidence: cloneReadings(ls.run[from:])}
	}

	// Drift: enough stable readings outside the band, held long enough.
	var stable uint32
	first, firstMs, lastMs := -1, int64(0), int64(0)
	for i := range ls.run {
		w := ls.run[i].Reading.Weight
		if w == nil || !w.Stable {
			continue
		}
		if first < 0 {
			first, firstMs = i, ls.run[i].Reading.TimeMs
		}
		lastMs = ls.run[i].Reading.TimeMs
		stable++
	}
	if stable >= e.rules.DriftReadings && lastMs-firstMs >= e.rules.DriftSustainMs {
		return &Finding{Kind: FindBreach, Alert: AlertDrift, Lot: v.Lot, Evidence: cloneReadings(ls.run[first:])}
	}
	return nil
}

// evidenceSlackMs keeps a run's readings this much younger than the
// evidence window: a finding still has to reach a block.
const evidenceSlackMs = 60_000

// trim drops the run's readings older than fromMs: the chain would refuse
// them as evidence.
func (ls *lotState) trim(fromMs int64) {
	i := 0
	for i < len(ls.run) && ls.run[i].Reading.TimeMs < fromMs {
		i++
	}
	if i > 0 {
		ls.run = append(ls.run[:0], ls.run[i:]...)
		if len(ls.run) == 0 {
			ls.runDevice = ""
		}
	}
}

func (ls *lotState) push(s *SignedReading, limit int) {
	if len(ls.run) >= limit {
		ls.run = append(ls.run[:0], ls.run[len(ls.run)-limit+1:]...)
	}
	ls.run = append(ls.run, *s)
}

func (ls *lotState) freshWeightIfAfter(s *SignedReading, atMs int64) {
	if s.Reading.TimeMs > atMs {
		c := *s
		ls.freshWeight = &c
	}
}

// returned tracks an UNVERIFIED lot's way back: a reading from the device
// the gap named and, with a baseline, a stable weight within tolerance,
// both after the gap was asserted.
func (e *Evaluator) returned(ls *lotState, s *SignedReading) *Finding {
	v := &ls.view
	r := &s.Reading
	if r.TimeMs <= v.GapAtMs || r.TimeMs < v.SinceMs {
		return nil
	}
	if r.Device == v.GapDevice {
		c := *s
		ls.fresh = &c
	}
	if ls.fresh == nil || (v.Scaled && ls.freshWeight == nil) {
		return nil
	}
	ev := []SignedReading{*ls.fresh}
	if w := ls.freshWeight; w != nil && w.Reading.ID() != ls.fresh.Reading.ID() {
		if w.Reading.Device == ls.fresh.Reading.Device && w.Reading.Seq < ls.fresh.Reading.Seq {
			ev = []SignedReading{*w, *ls.fresh}
		} else {
			ev = append(ev, *w)
		}
	}
	return &Finding{Kind: FindVerified, Lot: v.Lot, Evidence: ev}
}

// Tick checks who has been silent: a device of a healthy lot's bay not
// heard for the offline limit is a gap. At most one finding per lot.
func (e *Evaluator) Tick(nowMs int64) []Finding {
	var out []Finding
	for _, ls := range e.lots {
		v := &ls.view
		if v.Health != warehouse.HealthOK || nowMs < ls.pendingUntil {
			continue
		}
		for _, id := range v.Devices {
			d := e.dev(id)
			if nowMs-d.seenMs >= e.rules.OfflineAfterMs {
				out = append(out, Finding{Kind: FindGap, Lot: v.Lot, Device: id, LastSeenMs: d.seenMs, AtMs: nowMs})
				ls.pendingUntil = nowMs + e.cfg.RetryMs
				break
			}
		}
	}
	return out
}

// LastPos is the place of a device's last accepted reading (zero if none).
func (e *Evaluator) LastPos(device string) Pos {
	if d, ok := e.devs[device]; ok {
		return d.last
	}
	return Pos{}
}

func cloneReadings(rs []SignedReading) []SignedReading {
	return append([]SignedReading(nil), rs...)
}
