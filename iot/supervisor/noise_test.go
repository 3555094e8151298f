package supervisor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/simulators"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCleanLotThroughNoise runs a warehouse's devices in real time for a
// while — bay scales at DOMAIN.md's accuracy (±0.1% noise) reporting every
// 1–2 s, a slow storage loss within tolerance, fast heartbeats, trucks over
// the weighbridge — under the default rules with the supervisor and the
// chain on the wall clock. The lots stay clean: no finding but their
// baselines, no refused reading. Then a theft on the same run is caught,
// so the quiet was the rules', not a supervisor that saw nothing. (Hours of
// simulated warehouse days, with deliveries, restarts and thefts, run on
// an in-memory chain in simulators' TestWarehouseDays: evidence must be
// fresh against block time, so a real chain cannot run on a fast clock.)
func TestCleanLotThroughNoise(t *testing.T) {
	e := network(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e.setRules(t, ctx, iot.DefaultRules())
	run := 30 * time.Second
	if testing.Short() {
		run = 10 * time.Second
	}
	ids := append(e.stockLot(t, ctx, Warehouse3, "BAY-01", "L-NOISE-1", 50_000, 50_000),
		e.stockLot(t, ctx, Warehouse3, "BAY-02", "L-NOISE-2", 30_000, 10_000, 20_000)...)

	devs := fastDevices
	devs.AccuracyBps, devs.Trucks, devs.CameraNoiseEvery = 10, true, 5*time.Second
	sim, err := simulators.StartWarehouse(ctx, simulators.WarehouseConfig{World: e.w, Warehouse: Warehouse3, JetStream: e.js,
		Devices: devs, Chain: e.app(0), Interval: 100 * time.Millisecond, Seed: 3})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Stop()) })
	require.NoError(t, sim.Drift("BAY-02", -900)) // moisture shrink: 7.5 kg in 30 s, within the 300 kg tolerance
	sup := e.startSupervisor(t, ctx, Warehouse3, 0, nil)
	for _, lot := range []string{"L-NOISE-1", "L-NOISE-2"} {
		e.baselined(t, lot)
	}
	m0 := sup.Metrics().Snapshot()
	start := time.Now()
	testkit.Poll(t, run+10*time.Second, "the run", func() error {
		if time.Since(start) < run {
			return fmt.Errorf("%v to go", run-time.Since(start))
		}
		return nil
	})
	m := sup.Metrics().Snapshot()
	t.Logf("%v of noise: %d readings, findings %v, refused %v", run, m.Readings-m0.Readings, m.Findings, m.Rejected)
	assert.Equal(t, m0.Findings, m.Findings, "no false alarm")
	assert.Equal(t, m0.TxSubmitted, m.TxSubmitted, "nothing sent to the chain")
	assert.Zero(t, m.RejectedTotal(), "no reading refused")
	assert.Equal(t, m.Readings, m.Accepted)
	for _, lot := range []string{"L-NOISE-1", "L-NOISE-2"} {
		require.NoError(t, e.lotIs(lot, warehouse.HealthOK)())
		assert.Zero(t, e.watch(lot).Alerts, lot)
	}
	for _, id := range ids {
		assert.Equal(t, receipt.StateIssued, e.receipt(id).State, id)
	}
	assert.Greater(t, m.Readings-m0.Readings, uint64(run/time.Second), "the scales alone report every 1-2 s")

	// The same run catches a theft.
	require.NoError(t, sim.Theft("BAY-01", 2_000))
	testkit.Poll(t, 20*time.Second, "theft alarm", e.lotIs("L-NOISE-1", warehouse.HealthAlarm))
	require.NoError(t, e.lotIs("L-NOISE-2", warehouse.HealthOK)())
}
