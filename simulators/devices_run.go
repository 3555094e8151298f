package simulators

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/nats-io/nats.go/jetstream"
)

// ChainView is the committed chain state a simulated warehouse follows to
// put goods on a bay when a lot is locked there (the demo). It is what
// *chainengine.ReceiptApp provides.
type ChainView interface {
	State() (receipt.Store, int64)
	Committed() <-chan struct{}
}

// WarehouseConfig configures StartWarehouse. World, Warehouse and
// JetStream are required.
type WarehouseConfig struct {
	World     *ledger.World
	Warehouse string
	JetStream jetstream.JetStream
	// Devices tunes the simulated devices (defaults: DOMAIN.md's figures).
	Devices DeviceConfig
	// Clock (default the wall clock) and Seed (default 1) make runs
	// reproducible.
	Clock Clock
	Seed  uint64
	// Interval is how often the devices' readings are published (default
	// 200 ms): the bus sees a reading at most this late.
	Interval time.Duration
	// Chain, if set, is followed: a bay takes its tare from the chain, a
	// bay whose lot was locked without the simulator's intake gets the
	// lot's goods, and a bay whose lot was released is emptied.
	Chain ChainView
	// AutoLoadOut, with Chain, loads out every release order opened on a
	// lot in a simulated bay, as the warehouse's staff would: its tickets
	// and closing reading are then ready (LoadOutResult) for the operator
	// to confirm the delivery.
	AutoLoadOut bool
	// Publisher overrides publishing to JetStream (tests).
	Publisher Publisher
	Logger    *slog.Logger
}

// Running is a simulated warehouse publishing its devices' readings.
type Running struct {
	*Warehouse
	// locked is the lot each bay held when the chain was last followed.
	locked map[string]string
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	err    error
	sent   uint64
}

// StartWarehouse starts simulating a warehouse's devices (weighbridge, bay
// load cells, cameras, door seals of the world's warehouse) and publishing
// their signed readings to the readings stream until ctx ends or Stop.
// Faults are commanded on the returned handle (Theft, Drift, Motion, Seal,
// Tamper, Offline, Forge, ForgeWeight, Replay).
func StartWarehouse(ctx context.Context, cfg WarehouseConfig) (*Running, error) {
	if cfg.World == nil || cfg.Warehouse == "" || (cfg.JetStream == nil && cfg.Publisher == nil) {
		return nil, errors.New("simulators: warehouse config needs World, Warehouse and JetStream")
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 200 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	pub := cfg.Publisher
	if pub == nil {
		pub = JetStreamPublisher{JS: cfg.JetStream}
	}
	w, err := NewWarehouse(cfg.World, cfg.Warehouse, cfg.Devices, cfg.Seed, cfg.Clock)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	r := &Running{Warehouse: w, locked: map[string]string{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer stop()
		r.setErr(r.run(rctx, cfg, pub))
	}()
	return r, nil
}

func (r *Running) setErr(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
}

// Stop stops the devices and returns the error that stopped them, if any.
func (r *Running) Stop() error {
	r.cancel()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Sent is how many readings were published.
func (r *Running) Sent() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent
}

func (r *Running) run(ctx context.Context, cfg WarehouseConfig, pub Publisher) error {
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	var committed <-chan struct{}
	if cfg.Chain != nil {
		committed = cfg.Chain.Committed()
		r.follow(cfg.Chain, cfg.AutoLoadOut)
	}
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-committed:
			committed = cfg.Chain.Committed()
			r.follow(cfg.Chain, cfg.AutoLoadOut)
			continue
		case <-t.C:
		}
		out := r.Step(r.clock.Now())
		if len(out) == 0 {
			continue
		}
		if err := pub.Publish(ctx, out); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// The devices keep what they could not send and try again.
			failures++
			cfg.Logger.Warn("simulators: publish failed", "warehouse", r.id, "readings", len(out), "err", err)
			r.Warehouse.mu.Lock()
			r.Warehouse.mu.retry = append(out, r.Warehouse.mu.retry...)
			r.Warehouse.mu.Unlock()
			if failures > 50 {
				return fmt.Errorf("simulators: %s: publishing keeps failing: %w", r.id, err)
			}
			continue
		}
		failures = 0
		r.mu.Lock()
		r.sent += uint64(len(out))
		r.mu.Unlock()
	}
}

// follow keeps the simulated bays in step with the chain: tares, goods of
// a lot locked without the simulator's intake, a released lot's empty bay,
// and (loadOuts) the load-out of every open release order. It runs on the
// run goroutine only.
func (r *Running) follow(c ChainView, loadOuts bool) {
	st, _ := c.State()
	x := &receipt.Exec{Store: st}
	for _, bayID := range r.Bays() {
		b, ok := receipt.Load[warehouse.Bay](x, warehouse.BayKey(r.id, bayID))
		if !ok {
			continue
		}
		_ = r.SetTare(bayID, b.TareKg)
		have := r.Weight(bayID)
		was := r.locked[bayID]
		r.locked[bayID] = b.LockedBy
		if b.LockedBy == "" {
			// Goods stacked for a lot not yet registered stay; a bay whose
			// lot was just released was emptied by its load-out (what
			// rounding left is swept up).
			if was != "" && have > 0 {
				_ = r.Load(bayID, 0)
			}
			continue
		}
		l, err := warehouse.LoadLot(x, b.LockedBy)
		if err != nil || l.Unit != "kg" {
			continue
		}
		if have == 0 {
			_ = r.Load(bayID, l.LockedQty)
		}
		if !loadOuts {
			continue
		}
		for _, rid := range l.Live {
			rc, err := receipt.LoadReceipt(x, rid)
			if err != nil || rc.ReleaseOrder == "" || r.LoadingOut(rc.ReleaseOrder) {
				continue
			}
			ro, ok := receipt.Load[warehouse.ReleaseOrder](x, warehouse.ReleaseOrderKey(rc.ReleaseOrder))
			if ok && ro.Status == warehouse.ROOpen {
				_ = r.StartLoadOut(ro.ID, bayID, ro.Quantity)
			}
		}
	}
}
