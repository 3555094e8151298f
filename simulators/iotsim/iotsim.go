// Package iotsim runs a small simulated warehouse beside a node: for each
// warehouse, the simulated devices (weighbridge, bay load cells, cameras,
// door seals, package simulators) publishing signed readings to the
// embedded NATS bus, and the IoT supervisor (package iot/supervisor)
// checking them and proving breaches on chain. It gives the API its
// Simulator (faults on command: the demo's theft) and its IoT counters.
package iotsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/iot/supervisor"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/simulators"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/nats-io/nats.go/jetstream"
)

// Chain is the node's committed state (*chainengine.ReceiptApp).
type Chain interface {
	State() (receipt.Store, int64)
	Committed() <-chan struct{}
	DryRun(signers []string, op receipt.Op, now int64) error
}

// Config says what to simulate.
type Config struct {
	World      *ledger.World
	Warehouses []string // default: every warehouse of the world's genesis
	Chain      Chain
	// Submitter signs and submits the supervisors' txs with the world's
	// keys (*chainengine.Client).
	Submitter supervisor.Submitter
	JetStream jetstream.JetStream
	// Devices tunes the simulated devices; the zero value reports every
	// 2–5 s (snappier than DOMAIN.md's 10–60 s, for a demo).
	Devices simulators.DeviceConfig
	// BaselineWait bounds how long a theft waits for the lot's bay-scale
	// baseline (default 60 s): a theft before it proves nothing.
	BaselineWait time.Duration
	Logger       *slog.Logger
}

// System is the running simulation.
type System struct {
	cfg  Config
	sims map[string]*simulators.Running
	sups map[string]*supervisor.Supervisor
}

var (
	_ api.Simulator = (*System)(nil)
	_ api.IoT       = (*System)(nil)
)

// Start ensures the bus's streams, then starts the devices and a
// supervisor (signing as the warehouse's collateral manager) per warehouse.
func Start(ctx context.Context, cfg Config) (*System, error) {
	if cfg.World == nil || cfg.Chain == nil || cfg.Submitter == nil || cfg.JetStream == nil {
		return nil, errors.New("iotsim: World, Chain, Submitter and JetStream are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BaselineWait == 0 {
		cfg.BaselineWait = 60 * time.Second
	}
	if cfg.Devices.ReportMin == 0 {
		cfg.Devices.ReportMin, cfg.Devices.ReportMax = 2*time.Second, 5*time.Second
	}
	if cfg.Devices.LoadOut == (simulators.LoadOutConfig{}) {
		// A demo's load-out: forklifts every half second, the truck weighed
		// a second after its last load, the door closed a second later.
		cfg.Devices.LoadOut = simulators.LoadOutConfig{MoveEvery: 500 * time.Millisecond, WeighAfter: time.Second, CloseAfter: time.Second}
	}
	if len(cfg.Warehouses) == 0 {
		for _, w := range cfg.World.Genesis.Warehouses {
			cfg.Warehouses = append(cfg.Warehouses, w.ID)
		}
	}
	if err := bus.EnsureStreams(ctx, cfg.JetStream, bus.StreamOptions{}); err != nil {
		return nil, err
	}
	s := &System{cfg: cfg, sims: map[string]*simulators.Running{}, sups: map[string]*supervisor.Supervisor{}}
	for i, wh := range cfg.Warehouses {
		sim, err := simulators.StartWarehouse(ctx, simulators.WarehouseConfig{World: cfg.World, Warehouse: wh, JetStream: cfg.JetStream,
			Devices: cfg.Devices, Seed: uint64(i + 1), Chain: cfg.Chain, AutoLoadOut: true, Logger: cfg.Logger})
		if err != nil {
			s.Stop()
			return nil, fmt.Errorf("iotsim: devices of %s: %w", wh, err)
		}
		s.sims[wh] = sim
		restoreBays(cfg.Chain, sim, wh)
		var w *warehouse.Warehouse
		for j := range cfg.World.Genesis.Warehouses {
			if cfg.World.Genesis.Warehouses[j].ID == wh {
				w = &cfg.World.Genesis.Warehouses[j]
			}
		}
		if w == nil {
			s.Stop()
			return nil, fmt.Errorf("iotsim: %s is not a warehouse of the world", wh)
		}
		sup, err := supervisor.Start(ctx, supervisor.Config{Warehouse: wh, Signer: w.CollateralManager, Chain: cfg.Chain,
			Submitter: cfg.Submitter, JetStream: cfg.JetStream, Logger: cfg.Logger})
		if err != nil {
			s.Stop()
			return nil, fmt.Errorf("iotsim: supervisor of %s: %w", wh, err)
		}
		s.sups[wh] = sup
	}
	return s, nil
}

// restoreBays puts back on each bay what the lock expects of it: a
// restarted simulation has lost its bays' goods, and the chain's expected
// bay weight (tare plus goods, moved by every intake and delivery and
// re-centred on each accepted baseline) is the best account of them.
// Without it the devices would report the lot's locked quantity, which
// differs from what the bay held by the weighing errors of its tickets.
func restoreBays(c Chain, sim *simulators.Running, wh string) {
	st, _ := c.State()
	for _, bay := range sim.Bays() {
		b, ok := ledger.Get[warehouse.Bay](st, warehouse.BayKey(wh, bay))
		if !ok || b.LockedBy == "" {
			continue
		}
		if l, ok := ledger.Get[warehouse.Lot](st, warehouse.LotKey(b.LockedBy)); ok && l.Unit == "kg" && l.Expected > b.TareKg {
			_ = sim.Load(bay, l.Expected-b.TareKg)
		}
	}
}

// Stop stops the supervisors, then the devices.
func (s *System) Stop() error {
	var errs []error
	for _, wh := range sortedKeys(s.sups) {
		if err := s.sups[wh].Stop(); err != nil {
			errs = append(errs, fmt.Errorf("supervisor %s: %w", wh, err))
		}
	}
	for _, wh := range sortedKeys(s.sims) {
		if err := s.sims[wh].Stop(); err != nil {
			errs = append(errs, fmt.Errorf("devices %s: %w", wh, err))
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Stats implements api.IoT: readings the supervisors took in and the
// breaches and gaps they found.
func (s *System) Stats() api.IoTStats {
	var st api.IoTStats
	for _, sup := range s.sups {
		snap := sup.Metrics().Snapshot()
		st.Readings += snap.Readings
		for _, n := range snap.Findings {
			st.Alerts += n
		}
	}
	return st
}

// Fault implements api.Simulator. A theft waits for the lot in the bay to
// have its bay-scale baseline (the supervisor sets it from the first
// stable reading after the lock), then takes goods off the bay: half the
// lot unless a quantity is given.
func (s *System) Fault(ctx context.Context, f api.FaultRequest) (api.FaultResult, error) {
	res := api.FaultResult{Kind: f.Kind, Warehouse: f.Warehouse, Bay: f.Bay}
	sim, ok := s.sims[f.Warehouse]
	if !ok {
		return res, fmt.Errorf("no simulated devices in warehouse %q", f.Warehouse)
	}
	switch f.Kind {
	case api.FaultTheft:
	default:
		return res, fmt.Errorf("unknown fault %q (known: %s)", f.Kind, api.FaultTheft)
	}
	lot, err := s.waitBaseline(ctx, f.Warehouse, f.Bay)
	if err != nil {
		return res, err
	}
	kg := f.Quantity
	if kg == 0 {
		kg = lot.LockedQty / 2
	}
	if err := sim.Theft(f.Bay, kg); err != nil {
		return res, err
	}
	res.Detail = strconv.FormatUint(kg, 10) + " kg of lot " + lot.ID + " taken off the bay; its load cell will report the drop"
	return res, nil
}

// maxIntakeTrucks bounds one intake (the chain takes up to 200 tickets in
// one registration).
const maxIntakeTrucks = 200

// Intake implements api.Simulator: the warehouse's weighbridge weighs the
// trucks in and their goods go onto the bay.
func (s *System) Intake(_ context.Context, r api.IntakeRequest) (api.IntakeResult, error) {
	res := api.IntakeResult{Warehouse: r.Warehouse, Bay: r.Bay}
	sim, ok := s.sims[r.Warehouse]
	if !ok {
		return res, fmt.Errorf("no simulated devices in warehouse %q", r.Warehouse)
	}
	if len(r.NetsKg) == 0 || len(r.NetsKg) > maxIntakeTrucks {
		return res, fmt.Errorf("intake of %d trucks, want 1..%d", len(r.NetsKg), maxIntakeTrucks)
	}
	ts, err := sim.Intake(r.Bay, r.NetsKg...)
	if err != nil {
		return res, err
	}
	res.Tickets = ts
	return res, nil
}

// LoadOut implements api.Simulator: the simulated staff load out every
// release order opened on a simulated bay as soon as the chain shows it.
func (s *System) LoadOut(_ context.Context, ro string) (api.LoadOutView, error) {
	v := api.LoadOutView{ReleaseOrder: ro}
	for _, wh := range sortedKeys(s.sims) {
		sim := s.sims[wh]
		if !sim.LoadingOut(ro) {
			continue
		}
		ts, closing, done, err := sim.LoadOutResult(ro)
		if err != nil {
			return v, err
		}
		v.Done, v.Tickets, v.ClosingReading = done, ts, closing
		st, _ := s.cfg.Chain.State()
		if o, ok := ledger.Get[warehouse.ReleaseOrder](st, warehouse.ReleaseOrderKey(ro)); ok {
			if l, ok := ledger.Get[warehouse.Lot](st, warehouse.LotKey(o.Lot)); ok {
				if last := sim.LastSettled(l.Bay, time.Time{}); last != nil {
					v.BayWeightKg = last.Reading.Weight.Qty
				}
			}
		}
		return v, nil
	}
	return v, api.ErrNoLoadOut
}

// waitBaseline returns the lot locked in the bay once the supervision has
// its baseline.
func (s *System) waitBaseline(ctx context.Context, wh, bay string) (*warehouse.Lot, error) {
	deadline := time.Now().Add(s.cfg.BaselineWait)
	for {
		ch := s.cfg.Chain.Committed()
		st, _ := s.cfg.Chain.State()
		b, ok := ledger.Get[warehouse.Bay](st, warehouse.BayKey(wh, bay))
		if !ok {
			return nil, fmt.Errorf("no bay %s/%s", wh, bay)
		}
		if b.LockedBy == "" {
			return nil, fmt.Errorf("bay %s/%s holds no locked lot", wh, bay)
		}
		l, ok := ledger.Get[warehouse.Lot](st, warehouse.LotKey(b.LockedBy))
		if !ok {
			return nil, fmt.Errorf("lot %s missing", b.LockedBy)
		}
		if wl, ok := ledger.Get[iot.Watch](st, iot.WatchKey(l.ID)); ok && wl.BaselineAtMs > 0 && l.Baseline > 0 {
			return l, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("lot %s has no bay-scale baseline after %v: is the supervisor running?", l.ID, s.cfg.BaselineWait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ch:
		case <-time.After(500 * time.Millisecond):
		}
	}
}
