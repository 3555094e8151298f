package iotbench

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/internal/machine"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/iot/supervisor"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/member"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/simulators"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/nats-io/nats.go/jetstream"
)

// IoTBenchConfig configures RunIoTBench.
type IoTBenchConfig struct {
	// Duration is the throughput window: supervisors verify and evaluate
	// the pre-published readings pass after pass until it is over.
	Duration time.Duration
	// Readings are pre-published once, before the window (default
	// 60 000): the sync-always stream stores a few thousand a second,
	// less than a supervisor reads, so publishing inside the window
	// would measure the disk.
	Readings int
	// Trials is how many thefts the freeze latency is measured on
	// (default 30).
	Trials int
	// Batch and Workers are the supervisor's (defaults: its own).
	Batch, Workers int
	Validators     int    // default 4
	Home           string // default a fresh temporary directory, removed after
	Progress       io.Writer
	// CPUProfile, if set, receives a CPU profile of the throughput window.
	CPUProfile io.Writer
}

// IoTBenchResult is the benchmark's one JSON object.
type IoTBenchResult struct {
	// ReadingsPerS is signed readings verified and evaluated by one
	// supervisor per second over the window, refused ones included.
	ReadingsPerS float64 `json:"readings_per_s"`
	// Rejected counts the window's refused readings by reason.
	Rejected map[string]uint64 `json:"rejected"`
	// FreezeP50Ms and FreezeP99Ms: from a theft reading's publication to
	// the lot's receipts frozen in a committed block, with the localnet
	// running and the warehouse's devices publishing.
	FreezeP50Ms float64 `json:"freeze_p50_ms"`
	FreezeP99Ms float64 `json:"freeze_p99_ms"`
	FreezeMaxMs float64 `json:"freeze_max_ms"`
	// The lock's accuracy over the same phase, with ordinary warehouse
	// work between the thefts: TheftsInjected thefts, each caught
	// (TheftsDetected: a breach froze the lot's receipts); Deliveries
	// partial deliveries loaded out by the simulated trucks with the bay
	// scale reporting honestly, and Restarts device restarts; FalseAlarms
	// alerts (breach or gap) that no theft explains. Must be 0 and equal.
	FalseAlarms    int `json:"false_alarms"`
	TheftsInjected int `json:"thefts_injected"`
	TheftsDetected int `json:"thefts_detected"`
	Deliveries     int `json:"deliveries"`
	Restarts       int `json:"restarts"`
	Cores          int `json:"cores"`

	// ReadingsPerCPUS is readings per second of this process's CPU time
	// (validators, NATS and supervisor together) over the window: a
	// figure that other load on the machine disturbs less.
	ReadingsPerCPUS float64 `json:"readings_per_cpu_s"`
	CPUUtil         float64 `json:"cpu_util"` // process CPU time / (window × cores)
	GoMaxProcs      int     `json:"gomaxprocs"`
	Workers         int     `json:"workers"`
	Batch           int     `json:"batch"`
	Validators      int     `json:"validators"`
	DurationS       float64 `json:"duration_s"`
	Passes          int     `json:"passes"`
	Readings        uint64  `json:"readings"`
	Prepublished    int     `json:"prepublished"`
	PrepublishPerS  float64 `json:"prepublish_per_s"`
	FreezeTrials    int     `json:"freeze_trials"`
	FreezeSamplesMs []int64 `json:"freeze_samples_ms"`
	LoadAvg1mStart  float64 `json:"loadavg_1m_start"`
	LoadAvg1mEnd    float64 `json:"loadavg_1m_end"`
}

// The benchmark's network: the demo consortium; warehouse 2's devices
// send the pre-published readings (its lots are in genesis, baselined),
// warehouse 1's lots are robbed and re-counted for the freeze latency.
const benchChainID = "ewr-bench-iot"

// RunIoTBench measures the IoT supervision: how many signed readings one
// supervisor verifies and evaluates per second, and how long a theft takes
// to freeze receipts on a 4-validator localnet.
func RunIoTBench(ctx context.Context, cfg IoTBenchConfig) (*IoTBenchResult, error) {
	if cfg.Duration <= 0 {
		cfg.Duration = 30 * time.Second
	}
	if cfg.Readings <= 0 {
		cfg.Readings = 60_000
	}
	if cfg.Trials <= 0 {
		cfg.Trials = 30
	}
	if cfg.Validators <= 0 {
		cfg.Validators = 4
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	say := func(format string, args ...any) { fmt.Fprintf(progress, "bench iot: "+format+"\n", args...) }
	res := &IoTBenchResult{Cores: runtime.NumCPU(), GoMaxProcs: runtime.GOMAXPROCS(0), Validators: cfg.Validators,
		Batch: cfg.Batch, Workers: cfg.Workers, Rejected: map[string]uint64{}, LoadAvg1mStart: machine.LoadAvg1m()}
	home := cfg.Home
	if home == "" {
		dir, err := os.MkdirTemp("", "ewr-bench-iot-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		home = dir
	}

	// The network.
	now := time.Now().Unix()
	w := ledger.NewWorld("bench-iot", now+365*86400)
	for i, bay := range ledger.DemoBays {
		w.Genesis.Lots = append(w.Genesis.Lots, warehouse.Lot{ID: fmt.Sprintf("BL-%d", i+1), Warehouse: ledger.Warehouse2, Bay: bay,
			Commodity: "soybean", Grade: "No. 2", Unit: "kg", LockedQty: 50_000, Baseline: 50_000, Tolerance: 300})
	}
	appState, err := json.Marshal(&w.Genesis)
	if err != nil {
		return nil, err
	}
	say("starting %d validators and NATS in %s", cfg.Validators, home)
	nop := log.NewNopLogger()
	ln, err := chainengine.StartLocalnet(ctx, home+"/chain", cfg.Validators, func(h string, _ int) (chainengine.App, error) {
		return chainengine.NewReceiptApp(chainengine.ReceiptAppDir(h), nop)
	}, chainengine.LocalnetOptions{ChainID: benchChainID, AppState: appState, Logger: nop})
	if err != nil {
		return nil, err
	}
	defer ln.Stop()
	// Node 0's member stack with only its NATS: the supervisors measured
	// below are the benchmark's own.
	mem, err := member.Attach(ctx, ln.Node(0), &member.Config{}, member.Options{DataDir: home, NoReadModel: true})
	if err != nil {
		return nil, err
	}
	defer mem.Stop()
	js := mem.JetStream
	app := ln.Node(0).App().(*chainengine.ReceiptApp)
	client := &chainengine.Client{Node: ln.Node(0), Keys: func(id string) (ed25519.PrivateKey, bool) {
		a, ok := w.Actors[id]
		if !ok {
			return nil, false
		}
		return a.Key, true
	}}

	// Throughput: pre-publish, then pass after pass with a fresh
	// supervisor (fresh state, fresh durable) over the same stored readings.
	say("pre-publishing %d readings of %s's devices", cfg.Readings, ledger.Warehouse2)
	t0 := time.Now()
	n, err := prepublish(ctx, js, w, ledger.Warehouse2, cfg.Readings)
	if err != nil {
		return nil, err
	}
	res.Prepublished = n
	res.PrepublishPerS = float64(n) / time.Since(t0).Seconds()
	say("pre-published %d readings at %.0f/s", n, res.PrepublishPerS)
	var busy time.Duration
	cpu0 := machine.ProcessCPU()
	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return nil, err
		}
	}
	for end := time.Now().Add(cfg.Duration); time.Now().Before(end) || res.Passes == 0; {
		m := supervisor.NewMetrics(ledger.Warehouse2)
		start := time.Now()
		sup, err := supervisor.Start(ctx, supervisor.Config{Warehouse: ledger.Warehouse2, Signer: ledger.Inspector2, Chain: app, Submitter: client,
			JetStream: js, Durable: fmt.Sprintf("bench-pass-%d", res.Passes), Batch: cfg.Batch, Workers: cfg.Workers,
			Anchor: supervisor.AnchorConfig{Disabled: true}, NoAutoBaseline: true, Metrics: m, Logger: quietLogger()})
		if err != nil {
			return nil, err
		}
		for m.Readings.Load() < uint64(n) && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		elapsed := time.Since(start)
		if err := sup.Stop(); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		busy += elapsed
		s := m.Snapshot()
		res.Readings += s.Readings
		for k, v := range s.Rejected {
			res.Rejected[k] += v
		}
		res.Passes++
		say("pass %d: %d readings in %v (%.0f/s), %d refused", res.Passes, s.Readings, elapsed.Round(time.Millisecond),
			float64(s.Readings)/elapsed.Seconds(), s.RejectedTotal())
	}
	if cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	res.DurationS = busy.Seconds()
	res.ReadingsPerS = float64(res.Readings) / busy.Seconds()
	if cpu := (machine.ProcessCPU() - cpu0).Seconds(); cpu > 0 {
		res.ReadingsPerCPUS = float64(res.Readings) / cpu
		res.CPUUtil = cpu / busy.Seconds() / float64(runtime.NumCPU())
	}

	// Freeze latency, and the lock's accuracy through ordinary work.
	say("freeze latency: %d thefts in %s with its devices publishing, deliveries and restarts between them", cfg.Trials, ledger.Warehouse1)
	samples, err := freezeTrials(ctx, cfg, w, app, client, js, res, say)
	if err != nil {
		return nil, err
	}
	res.FreezeTrials = len(samples)
	res.FreezeSamplesMs = samples
	res.FreezeP50Ms, res.FreezeP99Ms, res.FreezeMaxMs = percentile(samples, 50), percentile(samples, 99), percentile(samples, 100)
	res.LoadAvg1mEnd = machine.LoadAvg1m()
	return res, nil
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// prepublish publishes n readings of warehouse wh's devices: scale
// weights within tolerance, heartbeats, camera noise, and a few faults
// (forged, replayed, unknown device) so the refusal paths are measured too.
func prepublish(ctx context.Context, js jetstream.JetStream, w *ledger.World, wh string, n int) (int, error) {
	type dev struct {
		id, bay string
		typ     warehouse.DeviceType
		key     ed25519.PrivateKey
		seq     uint64
	}
	var devs []*dev
	for _, id := range sortedDeviceIDs(w) {
		d := w.Devices[id]
		if d.Device.Warehouse == wh && d.Device.Bay != "" {
			devs = append(devs, &dev{id: id, bay: d.Device.Bay, typ: d.Device.Type, key: d.Key})
		}
	}
	if len(devs) == 0 {
		return 0, fmt.Errorf("simulators: no bay devices in %s", wh)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	forger := ledger.DemoKey("forger", wh)
	type sent struct {
		sr  iot.SignedReading
		bay string
	}
	var history []sent
	out := make([]bus.Outgoing, 0, bus.MaxPublishBatch)
	flush := func() error {
		if len(out) == 0 {
			return nil
		}
		_, err := bus.PublishBatch(ctx, js, out)
		out = out[:0]
		return err
	}
	for i := 0; i < n; i++ {
		d := devs[i%len(devs)]
		nowMs := time.Now().UnixMilli()
		var r iot.Reading
		switch d.typ {
		case warehouse.BayScale:
			r.Weight = &iot.BayWeight{Qty: 50_000 + ledger.DemoBayTareKg + uint64(rng.IntN(101)) - 50, Unit: "kg", Stable: rng.IntN(20) != 0}
		case warehouse.Camera:
			if rng.IntN(4) == 0 {
				r.Motion = &iot.Motion{Zone: "aisle", Class: iot.ClassUnknown, ConfidencePermille: uint16(rng.IntN(600))}
			}
		}
		if r.Weight == nil && r.Motion == nil {
			r.Heartbeat = &iot.Heartbeat{BatteryPermille: 900, ClockSkewMs: int64(rng.IntN(41)) - 20}
		}
		d.seq++
		r.Event, r.Device, r.Epoch, r.Seq, r.TimeMs = fmt.Sprintf("b%d", i), d.id, 1, d.seq, nowMs
		var sr iot.SignedReading
		bay := d.bay
		switch k := rng.IntN(1000); {
		case k < 2: // forged
			sr = iot.Sign(r, forger)
			d.seq--
		case k < 3 && len(history) > 0: // replayed
			h := history[rng.IntN(len(history))]
			sr, bay = h.sr, h.bay
			d.seq--
		case k < 4: // unknown device
			r.Device = d.id + "-X"
			sr = iot.Sign(r, forger)
			d.seq--
		default:
			sr = iot.Sign(r, d.key)
			if len(history) < 1000 {
				history = append(history, sent{sr, d.bay})
			}
		}
		o := simulators.Outgoing(wh, bay, &sr)
		o.MsgID = fmt.Sprintf("bench-%d", i)
		out = append(out, o)
		if len(out) == bus.MaxPublishBatch {
			if err := flush(); err != nil {
				return i, err
			}
		}
	}
	return n, flush()
}

func sortedDeviceIDs(w *ledger.World) []string {
	ids := make([]string, 0, len(w.Devices))
	for id := range w.Devices {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// freezeTrials robs warehouse 1's lots one theft at a time while its
// devices publish, and times each from the theft reading's publication to
// the commit that froze the lot's receipts; a re-count (the goods were
// found) resets the lot for the next trial. Between thefts the warehouse
// works: a partial delivery loaded out by the simulated trucks and
// confirmed with their tickets and the bay scale's closing reading, and a
// device restart. Every alert on the lots that no theft explains is a
// false alarm.
func freezeTrials(ctx context.Context, cfg IoTBenchConfig, w *ledger.World, app *chainengine.ReceiptApp,
	client *chainengine.Client, js jetstream.JetStream, res *IoTBenchResult, say func(string, ...any)) ([]int64, error) {
	submit := func(signers []string, op receipt.Op) error {
		_, _, err := client.Submit(ctx, signers, op)
		return err
	}
	// The warehouse's devices, on the wall clock, following the chain and
	// loading out every release order; a recorder notes when each theft
	// reading is handed to the bus.
	rec := &theftRecorder{inner: simulators.JetStreamPublisher{JS: js}}
	sim, err := simulators.StartWarehouse(ctx, simulators.WarehouseConfig{World: w, Warehouse: ledger.Warehouse1, JetStream: js, Chain: app, Publisher: rec,
		Interval: 50 * time.Millisecond, Seed: 9, Logger: quietLogger(), AutoLoadOut: true,
		Devices: simulators.DeviceConfig{ReportMin: 2 * time.Second, ReportMax: 5 * time.Second, HeartbeatMin: 5 * time.Second, HeartbeatMax: 10 * time.Second,
			SettleTime: 200 * time.Millisecond, SampleHz: 10, BootTime: time.Second,
			LoadOut: simulators.LoadOutConfig{MoveEvery: 300 * time.Millisecond, WeighAfter: 500 * time.Millisecond, CloseAfter: time.Second}}})
	if err != nil {
		return nil, err
	}
	defer sim.Stop()
	bays := ledger.DemoBays
	lots := make([]string, len(bays))
	now := time.Now().Unix()
	for i, bay := range bays {
		lots[i] = fmt.Sprintf("FL-%d", i+1)
		in, err := sim.Intake(bay, 25_000, 25_000) // weighed in and stacked before the lock
		if err != nil {
			return nil, err
		}
		if err := submit([]string{ledger.Operator, ledger.Inspector}, &warehouse.RegisterStock{Lot: lots[i], Warehouse: ledger.Warehouse1, Bay: bay,
			Commodity: "copper cathode", Grade: "LME Grade A", Unit: "kg", Tolerance: 300, Tickets: in}); err != nil {
			return nil, err
		}
		if err := submit([]string{ledger.Operator}, &warehouse.IssueReceipt{ID: lots[i] + "-R1", Lot: lots[i], Depositor: ledger.TraderA,
			Negotiable: true, Quantity: 40_000, Description: "copper cathode", PlaceOfIssue: "Qingdao", StorageUntil: now + 365*86400,
			ValidUntil: now + 180*86400, StorageAgreementDate: now - 86400, StorageTermsRef: "QBMW-ST-2026-01", ThirdPartyClaims: "none known",
			Fees: receipt.FeeTerms{Currency: "CNY", MinorPerTonnePerDay: 150}}); err != nil {
			return nil, err
		}
	}
	sup, err := supervisor.Start(ctx, supervisor.Config{Warehouse: ledger.Warehouse1, Signer: ledger.Inspector, Chain: app, Submitter: client,
		JetStream: js, Durable: "bench-freeze", TickInterval: 50 * time.Millisecond, RetryAfter: 2 * time.Second, Logger: quietLogger()})
	if err != nil {
		return nil, err
	}
	defer sup.Stop()
	state := func() receipt.Store { st, _ := app.State(); return st }
	lot := func(id string) *warehouse.Lot {
		l, _ := ledger.Get[warehouse.Lot](state(), warehouse.LotKey(id))
		return l
	}
	waitFor := func(what string, within time.Duration, cond func() bool) error {
		deadline := time.Now().Add(within)
		for !cond() {
			if time.Now().After(deadline) {
				return fmt.Errorf("bench iot: %s: not within %v", what, within)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-app.Committed():
			case <-time.After(20 * time.Millisecond):
			}
		}
		return nil
	}
	for _, l := range lots {
		if err := waitFor("baseline of "+l, 30*time.Second, func() bool { return lot(l).Baseline > 0 }); err != nil {
			return nil, err
		}
	}
	explained := map[string]bool{} // alerts a theft opened
	var samples []int64
	for trial := 0; trial < cfg.Trials; trial++ {
		i := trial % len(lots)
		l, bay := lots[i], bays[i]
		lc := ledger.Warehouse1 + "-LC-0" + fmt.Sprint(i+1)
		if err := waitFor(l+" healthy", 30*time.Second, func() bool { return lot(l).Health == warehouse.HealthOK }); err != nil {
			return nil, err
		}
		before := sim.Weight(bay)
		rec.arm(lc, lot(l).Expected-2_000)
		if err := sim.Theft(bay, 3_000); err != nil {
			return nil, err
		}
		res.TheftsInjected++
		if err := waitFor("theft of "+l, 30*time.Second, func() bool { return lot(l).Health == warehouse.HealthAlarm }); err != nil {
			return nil, err
		}
		frozenAt := time.Now()
		res.TheftsDetected++
		explained[lot(l).Alert] = true
		published, ok := rec.published()
		if !ok {
			return nil, errors.New("bench iot: the theft reading was never published")
		}
		ms := frozenAt.Sub(published).Milliseconds()
		samples = append(samples, ms)
		say("trial %d: %s frozen %d ms after the theft reading was published", trial+1, l, ms)

		// The goods were found: back on the bay, re-counted with the
		// regulator on the scale's own settled reading of them.
		since := time.Now()
		if err := sim.Load(bay, before); err != nil {
			return nil, err
		}
		var reading *iot.SignedReading
		if err := waitFor("a settled reading of "+bay, 30*time.Second, func() bool {
			reading = sim.LastSettled(bay, since)
			return reading != nil
		}); err != nil {
			return nil, err
		}
		if err := submit([]string{ledger.Inspector, ledger.Regulator}, &iot.Recount{Lot: l, Counted: lot(l).LockedQty, Baseline: *reading,
			Note: "bench: goods found", Version: lot(l).Version}); err != nil {
			return nil, err
		}

		// Ordinary work on the next lot: a partial delivery, or a restart.
		next := lots[(i+1)%len(lots)]
		switch trial % 2 {
		case 0:
			if err := benchDelivery(ctx, submit, sim, app, next, waitFor); err != nil {
				return nil, err
			}
			res.Deliveries++
		case 1:
			dev := ledger.Warehouse1 + "-CAM-0" + fmt.Sprint((i+1)%len(lots)+1)
			if err := sim.Restart(dev); err != nil {
				return nil, err
			}
			res.Restarts++
		}
	}
	// Let the last work settle, then count what no theft explains.
	if err := waitFor("the lots healthy", 30*time.Second, func() bool {
		for _, l := range lots {
			if lot(l).Health == warehouse.HealthAlarm && !explained[lot(l).Alert] {
				return true // a false alarm: counted below
			}
			if lot(l).Health != warehouse.HealthOK {
				return false
			}
		}
		return true
	}); err != nil {
		return nil, err
	}
	for _, l := range lots {
		res.FalseAlarms += int(iot.LoadWatch(&receipt.Exec{Store: state()}, l).Alerts)
	}
	res.FalseAlarms -= len(explained)
	say("%d thefts, %d caught; %d deliveries, %d restarts; %d false alarms", res.TheftsInjected, res.TheftsDetected,
		res.Deliveries, res.Restarts, res.FalseAlarms)
	return samples, nil
}

// benchDelivery has the lot's holder redeem 5 t, waits for the simulated
// warehouse to load it out, and confirms it with the trucks' tickets and
// the bay scale's closing reading.
func benchDelivery(ctx context.Context, submit func([]string, receipt.Op) error, sim *simulators.Running, app *chainengine.ReceiptApp,
	lotID string, waitFor func(string, time.Duration, func() bool) error) error {
	st, _ := app.State()
	r, ok := ledger.Get[receipt.Receipt](st, receipt.ReceiptKey(lotID+"-R1"))
	if !ok {
		return fmt.Errorf("bench iot: receipt %s-R1 missing", lotID)
	}
	if err := submit([]string{r.Holder}, &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version, Quantity: 5_000}); err != nil {
		return err
	}
	ro := warehouse.ReleaseOrderID(r.ID, r.Deliveries+1)
	var tickets []warehouse.SignedTicket
	var closing *iot.SignedReading
	if err := waitFor("load-out of "+ro, 60*time.Second, func() bool {
		t, c, done, _ := sim.LoadOutResult(ro)
		tickets, closing = t, c
		return done
	}); err != nil {
		return err
	}
	if err := submit([]string{ledger.Operator}, &warehouse.ConfirmDelivery{ReleaseOrder: ro, Tickets: tickets, Closing: iot.Encode(closing)}); err != nil {
		return err
	}
	sim.ForgetLoadOut(ro) // closed on chain: the simulator will not load it out again
	return nil
}

// theftRecorder publishes through inner and notes when the armed device's
// first settled weight below a threshold was handed to the bus.
type theftRecorder struct {
	inner simulators.Publisher
	mu    sync.Mutex
	dev   string
	below uint64
	at    time.Time
}

func (r *theftRecorder) arm(dev string, below uint64) {
	r.mu.Lock()
	r.dev, r.below, r.at = dev, below, time.Time{}
	r.mu.Unlock()
}

func (r *theftRecorder) published() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.at, !r.at.IsZero()
}

func (r *theftRecorder) Publish(ctx context.Context, msgs []bus.Outgoing) error {
	r.mu.Lock()
	if r.dev != "" && r.at.IsZero() {
		for _, m := range msgs {
			if !strings.Contains(m.Subject, "."+r.dev+".weight") {
				continue
			}
			if sr, _, err := iot.Decode(m.Data); err == nil && sr.Reading.Weight.Stable && sr.Reading.Weight.Qty < r.below {
				r.at = time.Now()
				break
			}
		}
	}
	r.mu.Unlock()
	return r.inner.Publish(ctx, msgs)
}

// percentile is the p-th percentile (nearest rank) of samples, in ms.
func percentile(samples []int64, p int) float64 {
	if len(samples) == 0 {
		return 0
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	rank := (p*len(s) + 99) / 100
	return float64(s[max(rank, 1)-1])
}
