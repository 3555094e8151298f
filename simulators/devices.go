package simulators

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	iotdevice "github.com/ewrchain/ewr/iot/device"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/warehouse"
)

// Clock is the simulators' time. Devices stamp readings with it; tests
// inject a FakeClock to run hours of simulated time in seconds.
type Clock interface{ Now() time.Time }

// RealClock is the wall clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// FakeClock is a clock the caller moves.
type FakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewFakeClock starts a fake clock at t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{t: t} }

// Now implements Clock.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// DeviceConfig is how the simulated devices behave. Zero values take the
// defaults, which are DOMAIN.md's figures.
type DeviceConfig struct {
	// AccuracyBps is the bay scales' system accuracy: readings fall within
	// ± this share of the weight (default 10 = 0.1%; the trade quotes
	// 0.1–0.5%).
	AccuracyBps uint32
	// DivisionKg rounds bay weights (default 5 kg).
	DivisionKg uint64
	// ReportMin..ReportMax bound each scale's periodic report interval
	// (default 10–60 s); a scale also reports when its settled weight
	// moved more than ChangeBps since its last report (default 20 =
	// 0.2%), sampling at SampleHz (default 2, the trade's 1–10 Hz).
	ReportMin, ReportMax time.Duration
	ChangeBps            uint32
	SampleHz             int
	// SettleTime is how long after a physical change the cells report
	// unstable (default 2 s).
	SettleTime time.Duration
	// HeartbeatMin..HeartbeatMax bound each device's heartbeat interval
	// (default 30–60 s).
	HeartbeatMin, HeartbeatMax time.Duration
	// CameraNoiseEvery is the mean interval of harmless low-confidence
	// camera events (shadows, birds); 0 means 20 min, negative none.
	CameraNoiseEvery time.Duration
	// Trucks: the weighbridge weighs other customers' trucks every 2–6
	// min (a full cycle), goods that never enter a simulated bay.
	Trucks bool
	// LoadOut paces a load-out's physical steps; BootTime is how long a
	// restarting device is silent (default 20 s).
	LoadOut  LoadOutConfig
	BootTime time.Duration
}

// LoadOutConfig paces how a release order is loaded out of a bay: the door
// opens, forklifts move MoveKg at a time every MoveEvery (each move seen by
// the camera and felt by the bay scale), a truck takes up to TruckKg and is
// weighed out WeighAfter its last load, and the door closes CloseAfter the
// last truck weighed.
type LoadOutConfig struct {
	TruckKg    uint64        // default 28,000
	MoveKg     uint64        // default 2,500
	MoveEvery  time.Duration // default 20 s
	WeighAfter time.Duration // default 60 s
	CloseAfter time.Duration // default 30 s
}

func (c *DeviceConfig) setDefaults() {
	if c.AccuracyBps == 0 {
		c.AccuracyBps = 10
	}
	if c.DivisionKg == 0 {
		c.DivisionKg = 5
	}
	if c.ReportMin == 0 {
		c.ReportMin = 10 * time.Second
	}
	if c.ReportMax < c.ReportMin {
		c.ReportMax = max(c.ReportMin, 60*time.Second)
	}
	if c.ChangeBps == 0 {
		c.ChangeBps = 20
	}
	if c.SampleHz <= 0 {
		c.SampleHz = 2
	}
	if c.SettleTime == 0 {
		c.SettleTime = 2 * time.Second
	}
	if c.HeartbeatMin == 0 {
		c.HeartbeatMin = 30 * time.Second
	}
	if c.HeartbeatMax < c.HeartbeatMin {
		c.HeartbeatMax = max(c.HeartbeatMin, 60*time.Second)
	}
	if c.CameraNoiseEvery == 0 {
		c.CameraNoiseEvery = 20 * time.Minute
	}
	l := &c.LoadOut
	if l.TruckKg == 0 {
		l.TruckKg = 28_000
	}
	if l.MoveKg == 0 {
		l.MoveKg = 2_500
	}
	if l.MoveEvery <= 0 {
		l.MoveEvery = 20 * time.Second
	}
	if l.WeighAfter <= 0 {
		l.WeighAfter = 60 * time.Second
	}
	if l.CloseAfter <= 0 {
		l.CloseAfter = 30 * time.Second
	}
	if c.BootTime <= 0 {
		c.BootTime = 20 * time.Second
	}
}

// device is one simulated sensor with its own key, boot epoch and
// sequence: a restart starts a new epoch and counts its sequence from 1.
type device struct {
	id, bay string
	typ     warehouse.DeviceType
	key     ed25519.PrivateKey
	epoch   uint64
	seq     uint64
	battery uint16
	fw      [32]byte

	hbEvery      time.Duration
	nextHB       time.Time
	offlineUntil time.Time
	tamper       bool
	forgeNext    int
	history      []iot.SignedReading // the last few, for replays
}

const historyLen = 64

// bay is one bay's physics and its devices. Its scale reads its tare
// plus the goods on it.
type bay struct {
	id        string
	tareKg    uint64    // the empty bay: platform, pallets, dunnage
	qtyKg     uint64    // the goods on the bay now
	changedAt time.Time // last sudden change: the cells settle after it
	driftKgH  int64     // slow change of the goods, kg per hour (negative: loss)
	driftFrom time.Time // drift runs from here...
	driftBase uint64    // ...where the goods weighed this

	lc, cam, seal *device
	lastSettled   *iot.SignedReading // the scale's last settled weight, as signed
	reportEvery   time.Duration
	nextReport    time.Time
	nextSample    time.Time
	lastReported  uint64
	sealID        string
	nextCamNoise  time.Time
}

// Warehouse simulates a warehouse's devices: a weighbridge, and per bay
// load cells, a camera and a door seal, each signing with its own key
// (ledger.World's demo keys). Step produces what the devices send up to a
// time; Run does it against a clock and publishes to NATS. Faults are set
// on command and show in the next readings. Safe for concurrent use.
type Warehouse struct {
	id  string
	cfg DeviceConfig

	mu struct {
		sync.Mutex
		rng       *rand.Rand
		bays      []*bay
		byID      map[string]*bay
		devices   map[string]*device
		wb        *device
		pending   []event        // queued by faults, sent at the next Step
		out       []bus.Outgoing // replays, sent at the next Step
		retry     []bus.Outgoing // not sent last time: first at the next Step
		agenda    []action       // physical steps to come (load-outs), in time order
		loadOuts  map[string]*loadOut
		ticketN   int
		nextTruck time.Time
	}
	clock Clock
}

// NewWarehouse builds the simulated devices of warehouse wh from the
// world's devices and keys, on clock (nil: the wall clock). seed makes the
// noise reproducible.
func NewWarehouse(w *ledger.World, wh string, cfg DeviceConfig, seed uint64, clock Clock) (*Warehouse, error) {
	cfg.setDefaults()
	if clock == nil {
		clock = RealClock{}
	}
	now := clock.Now()
	s := &Warehouse{id: wh, cfg: cfg, clock: clock}
	s.mu.rng = rand.New(rand.NewPCG(seed, 0x5eed))
	s.mu.byID = map[string]*bay{}
	s.mu.devices = map[string]*device{}
	s.mu.loadOuts = map[string]*loadOut{}
	tares := map[string]uint64{}
	for _, b := range w.Genesis.Bays {
		if b.Warehouse == wh {
			tares[b.ID] = b.TareKg
		}
	}
	ids := make([]string, 0, len(w.Devices))
	for id := range w.Devices {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		dk := w.Devices[id]
		d := dk.Device
		if d.Warehouse != wh {
			continue
		}
		// A device boots into an epoch no lower than the clock's seconds
		// (iot/device.Boot without its state file): a simulation started
		// again on the same chain signs after everything it signed before.
		dev := &device{id: d.ID, bay: d.Bay, typ: d.Type, key: dk.Key, epoch: uint64(max(now.Unix(), 1)), battery: 1000, fw: sha256.Sum256([]byte("fw/" + d.Type.String() + "/1.4.2"))}
		dev.hbEvery = s.betweenLocked(cfg.HeartbeatMin, cfg.HeartbeatMax)
		dev.nextHB = now.Add(time.Duration(s.mu.rng.Int64N(int64(dev.hbEvery))))
		s.mu.devices[d.ID] = dev
		if d.Type == warehouse.Weighbridge {
			s.mu.wb = dev
			continue
		}
		b := s.mu.byID[d.Bay]
		if b == nil {
			b = &bay{id: d.Bay, tareKg: tares[d.Bay], sealID: "SEAL-" + wh + "-" + d.Bay + "-1", nextSample: now}
			b.reportEvery = s.betweenLocked(cfg.ReportMin, cfg.ReportMax)
			b.nextReport = now.Add(time.Duration(s.mu.rng.Int64N(int64(b.reportEvery))))
			b.nextCamNoise = s.camNoiseLocked(now)
			s.mu.byID[d.Bay] = b
			s.mu.bays = append(s.mu.bays, b)
		}
		switch d.Type {
		case warehouse.BayScale:
			b.lc = dev
		case warehouse.Camera:
			b.cam = dev
		case warehouse.DoorSeal:
			b.seal = dev
		}
	}
	if len(s.mu.devices) == 0 {
		return nil, fmt.Errorf("simulators: no devices for warehouse %s", wh)
	}
	sort.Slice(s.mu.bays, func(i, j int) bool { return s.mu.bays[i].id < s.mu.bays[j].id })
	s.mu.nextTruck = now.Add(s.betweenLocked(2*time.Minute, 6*time.Minute))
	return s, nil
}

func (s *Warehouse) betweenLocked(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(s.mu.rng.Int64N(int64(hi-lo)))
}

func (s *Warehouse) camNoiseLocked(now time.Time) time.Time {
	if s.cfg.CameraNoiseEvery < 0 {
		return time.Time{}
	}
	return now.Add(s.betweenLocked(s.cfg.CameraNoiseEvery/2, s.cfg.CameraNoiseEvery*3/2))
}

// ID is the warehouse simulated.
func (s *Warehouse) ID() string { return s.id }

// Bays lists the simulated bays.
func (s *Warehouse) Bays() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.mu.bays))
	for i, b := range s.mu.bays {
		out[i] = b.id
	}
	return out
}

// Weight is the goods on a bay now (the truth the scale measures on top of
// the bay's tare).
func (s *Warehouse) Weight(bayID string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.mu.byID[bayID]; b != nil {
		return b.qtyKg
	}
	return 0
}

// sign makes dev's next reading at t. A forged one takes the device's
// next sequence but is signed with another key; the device never sent it.
func (s *Warehouse) signLocked(dev *device, t time.Time, r iot.Reading, forged bool) iot.SignedReading {
	dev.seq++
	r.Device, r.Epoch, r.Seq, r.TimeMs = dev.id, dev.epoch, dev.seq, t.UnixMilli()
	r.Event = dev.id + "-" + strconv.FormatUint(dev.epoch, 10) + "-" + strconv.FormatUint(dev.seq, 10)
	key := dev.key
	if forged || dev.forgeNext > 0 {
		if !forged {
			dev.forgeNext--
		}
		key = ledger.DemoKey("forger", dev.id)
		dev.seq--
	}
	sr := iot.Sign(r, key)
	if key.Equal(dev.key) {
		dev.history = append(dev.history, sr)
		if len(dev.history) > historyLen {
			dev.history = dev.history[1:]
		}
	}
	return sr
}

// Outgoing is the bus message of a signed reading, as every device sends
// it (package iot/device).
func Outgoing(wh, bayID string, sr *iot.SignedReading) bus.Outgoing {
	o, err := iotdevice.Message(wh, bayID, sr)
	if err != nil {
		panic(fmt.Sprintf("simulators: reading subject: %v", err))
	}
	return o
}

// event is a reading a device will send: signed when it is sent, in time
// order, so a device's sequence and clock rise together.
type event struct {
	dev    *device
	t      time.Time
	r      iot.Reading
	forged bool // signed with a forger's key
}

// applyDrift sets the bay's weight at t under its drift (computed from the
// drift's start, so no rounding accumulates).
func (s *Warehouse) applyDriftLocked(b *bay, t time.Time) {
	if b.driftKgH == 0 || t.Before(b.driftFrom) {
		return
	}
	q := int64(b.driftBase) + b.driftKgH*t.Sub(b.driftFrom).Milliseconds()/3_600_000
	b.qtyKg = uint64(max(q, 0))
}

// rebase restarts the drift from the bay's weight at t.
func (b *bay) rebase(t time.Time) { b.driftBase, b.driftFrom = b.qtyKg, t }

// measure is what the cells read at t: the tare and goods plus bounded
// noise (triangular, within ± AccuracyBps), rounded to the division.
func (s *Warehouse) measureLocked(b *bay) uint64 {
	total := b.tareKg + b.qtyKg
	span := int64(total * uint64(s.cfg.AccuracyBps) / 10_000)
	var noise int64
	if span > 0 {
		noise = (s.mu.rng.Int64N(span+1) + s.mu.rng.Int64N(span+1)) - span
	}
	q := int64(total) + noise
	q = max(q, 0)
	div := int64(s.cfg.DivisionKg)
	return uint64((q + div/2) / div * div)
}

// Step returns everything the devices send up to now, in time order per
// device: periodic and on-change bay weights, heartbeats, camera noise,
// trucks, the physical steps of load-outs under way, and whatever faults
// queued.
func (s *Warehouse) Step(now time.Time) []bus.Outgoing {
	s.mu.Lock()
	defer s.mu.Unlock()
	evs := s.mu.pending
	s.mu.pending = nil
	// Physical steps in time order; the scales sample up to each, so a
	// reading sees the bay as it was when it was taken.
	for len(s.mu.agenda) > 0 && !s.mu.agenda[0].t.After(now) {
		a := s.mu.agenda[0]
		s.mu.agenda = s.mu.agenda[1:]
		evs = s.sampleLocked(evs, a.t)
		evs = append(evs, a.do(a.t)...)
	}
	evs = s.sampleLocked(evs, now)
	for _, b := range s.mu.bays {
		if b.cam != nil && !b.nextCamNoise.IsZero() && !b.nextCamNoise.After(now) {
			t := b.nextCamNoise
			b.nextCamNoise = s.camNoiseLocked(t)
			clip := sha256.Sum256([]byte(fmt.Sprintf("%s/%d/%d", b.cam.id, t.UnixNano(), s.mu.rng.Uint64())))
			evs = append(evs, event{dev: b.cam, t: t, r: iot.Reading{Motion: &iot.Motion{Zone: "aisle", Class: iot.ClassUnknown,
				ConfidencePermille: uint16(100 + s.mu.rng.IntN(500)), ClipHash: clip}}})
		}
	}
	ids := make([]string, 0, len(s.mu.devices))
	for id := range s.mu.devices {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		d := s.mu.devices[id]
		for !d.nextHB.After(now) {
			t := d.nextHB
			d.nextHB = t.Add(d.hbEvery)
			if d.battery > 200 && s.mu.rng.IntN(20) == 0 {
				d.battery--
			}
			evs = append(evs, event{dev: d, t: t, r: iot.Reading{Heartbeat: &iot.Heartbeat{BatteryPermille: d.battery,
				ClockSkewMs: int64(s.mu.rng.IntN(41)) - 20, Tamper: d.tamper, Firmware: d.fw}}})
		}
	}
	if s.cfg.Trucks && s.mu.wb != nil {
		for !s.mu.nextTruck.After(now) {
			t := s.mu.nextTruck
			s.mu.nextTruck = t.Add(s.betweenLocked(2*time.Minute, 6*time.Minute))
			dir := warehouse.In
			if s.mu.rng.IntN(2) == 0 {
				dir = warehouse.Out
			}
			net := 20_000 + uint64(s.mu.rng.IntN(15_000))
			st := s.weighLocked(dir, net, "", t)
			evs = append(evs, event{dev: s.mu.wb, t: t, r: iot.Reading{Ticket: &st}})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].t.Before(evs[j].t) })
	out := make([]bus.Outgoing, 0, len(s.mu.retry)+len(evs)+len(s.mu.out))
	out = append(out, s.mu.retry...)
	s.mu.retry = nil
	for _, e := range evs {
		if e.t.Before(e.dev.offlineUntil) {
			continue
		}
		sr := s.signLocked(e.dev, e.t, e.r, e.forged)
		if !e.forged {
			s.closingLocked(e.dev, &sr)
		}
		out = append(out, Outgoing(s.id, e.dev.bay, &sr))
	}
	out = append(out, s.mu.out...)
	s.mu.out = nil
	return out
}

// sampleLocked runs the bay scales up to t: each samples at SampleHz and
// reports on its period, or when its settled weight moved past ChangeBps.
func (s *Warehouse) sampleLocked(evs []event, t time.Time) []event {
	sample := time.Second / time.Duration(s.cfg.SampleHz)
	for _, b := range s.mu.bays {
		if b.lc == nil {
			continue
		}
		for !b.nextSample.After(t) {
			at := b.nextSample
			b.nextSample = at.Add(sample)
			s.applyDriftLocked(b, at)
			stable := at.Sub(b.changedAt) >= s.cfg.SettleTime
			total := b.tareKg + b.qtyKg
			moved := stable && b.lastReported > 0 &&
				iot.Deviation(total, b.lastReported) > b.lastReported*uint64(s.cfg.ChangeBps)/10_000
			if at.Before(b.nextReport) && !moved {
				continue
			}
			b.nextReport = at.Add(b.reportEvery)
			q := s.measureLocked(b)
			if stable {
				b.lastReported = total
			}
			evs = append(evs, event{dev: b.lc, t: at, r: iot.Reading{Weight: &iot.BayWeight{Qty: q, Unit: "kg", Stable: stable}}})
		}
	}
	return evs
}

// Weigh weighs a truck on the weighbridge: gross and tare each carry the
// scale's repeatability error (triangular within ±20 kg, one division; the
// in-service error of up to ±60 kg is mostly a calibration offset, which
// cancels in gross − tare) and are rounded to the 20 kg division, so a
// ticket's net is within ±60 kg of what the truck carries; the ticket is
// signed by the weighbridge. releaseOrder is required for out-tickets.
func (s *Warehouse) Weigh(dir warehouse.Direction, netKg uint64, releaseOrder string, at time.Time) (warehouse.SignedTicket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.wb == nil {
		return warehouse.SignedTicket{}, fmt.Errorf("simulators: %s has no weighbridge", s.id)
	}
	return s.weighLocked(dir, netKg, releaseOrder, at), nil
}

func (s *Warehouse) weighLocked(dir warehouse.Direction, netKg uint64, ro string, at time.Time) warehouse.SignedTicket {
	const divisionKg, errKg = 20, 20
	round := func(kg int64) uint64 { return uint64((kg + divisionKg/2) / divisionKg * divisionKg) }
	tri := func() int64 { return s.mu.rng.Int64N(errKg+1) + s.mu.rng.Int64N(errKg+1) - errKg }
	tare := 12_000 + int64(s.mu.rng.IntN(6_000))
	gross := tare + int64(netKg)
	g := round(gross + tri())
	tr := round(tare + tri())
	s.mu.ticketN++
	t := warehouse.WeighTicket{
		// Ticket numbers are unique per warehouse for ever: the
		// weighbridge numbers them within its boot epoch.
		Number: fmt.Sprintf("%s-%d-%06d", s.mu.wb.id, s.mu.wb.epoch, s.mu.ticketN), Warehouse: s.id, Device: s.mu.wb.id, Direction: dir,
		Gross: g, Tare: tr, Net: g - tr, Unit: "kg", Plate: fmt.Sprintf("LU-B%05d", s.mu.rng.IntN(100_000)),
		ReleaseOrder: ro, WeighedAt: at.Unix(),
	}
	if dir == warehouse.Out && ro == "" {
		t.ReleaseOrder = "ro-demo-" + strconv.Itoa(s.mu.ticketN)
	}
	return warehouse.SignTicket(t, s.mu.wb.key)
}
