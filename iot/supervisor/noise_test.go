package supervisor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/simulators"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCleanLotThroughHoursOfNoise runs a warehouse's devices on a simulated
// clock for hours — bay scales at DOMAIN.md's figures (±0.1% noise, a
// report every 10–60 s or on change), a slow storage loss within
// tolerance, heartbeats every 30–60 s, a harmless camera event now and
// then, trucks over the weighbridge — under the default rules, and the
// supervisor on the same clock. The lots stay clean: no finding but their
// baselines, no refused reading. Then a theft on the same run is caught,
// so the quiet was the rules', not a supervisor that saw nothing.
func TestCleanLotThroughHoursOfNoise(t *testing.T) {
	e := network(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e.setRules(t, ctx, iot.DefaultRules())
	hours := 8
	if testing.Short() {
		hours = 2
	}
	ids := append(e.stockLot(t, ctx, Warehouse3, "BAY-01", "L-NOISE-1", 50_000, 50_000),
		e.stockLot(t, ctx, Warehouse3, "BAY-02", "L-NOISE-2", 30_000, 10_000, 20_000)...)

	clock := simulators.NewFakeClock(time.Now())
	sim, err := simulators.NewWarehouse(e.w, Warehouse3, simulators.DeviceConfig{Trucks: true}, 3, clock)
	require.NoError(t, err)
	require.NoError(t, sim.Load("BAY-01", e.lot("L-NOISE-1").LockedQty))
	require.NoError(t, sim.Load("BAY-02", e.lot("L-NOISE-2").LockedQty))
	require.NoError(t, sim.Drift("BAY-02", -15)) // moisture shrink: 120 kg in 8 h, within the 300 kg tolerance
	sup := e.startSupervisor(t, ctx, Warehouse3, 0, func(c *Config) { c.Clock = clock.Now })
	pub := simulators.JetStreamPublisher{JS: e.js}

	// Lockstep: the devices run 15 simulated seconds ahead, then wait for
	// the supervisor, so its clock and the devices' agree as in real time.
	var published uint64
	step := func() {
		clock.Advance(15 * time.Second)
		out := sim.Step(clock.Now())
		require.NoError(t, pub.Publish(ctx, out))
		published += uint64(len(out))
		deadline := time.Now().Add(10 * time.Second)
		for sup.Metrics().Readings.Load() < published {
			require.True(t, time.Now().Before(deadline), "supervisor stuck at %d of %d readings", sup.Metrics().Readings.Load(), published)
			time.Sleep(time.Millisecond)
		}
	}
	// First the collateral manager's supervisor takes the baselines (the
	// chain answers in wall time: the devices wait for it).
	baselined := func() bool { return e.lot("L-NOISE-1").Baseline > 0 && e.lot("L-NOISE-2").Baseline > 0 }
	for i := 0; i < 20 && !baselined(); i++ {
		step()
		for wait := time.Now().Add(time.Second); time.Now().Before(wait) && !baselined(); {
			time.Sleep(10 * time.Millisecond)
		}
	}
	require.True(t, baselined(), "both lots baselined")
	m0 := sup.Metrics().Snapshot()
	start := time.Now()
	end := clock.Now().Add(time.Duration(hours) * time.Hour)
	for clock.Now().Before(end) {
		step()
	}
	m := sup.Metrics().Snapshot()
	t.Logf("%d h simulated in %v: %d readings, findings %v, refused %v", hours, time.Since(start).Round(time.Millisecond), m.Readings-m0.Readings, m.Findings, m.Rejected)
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
	assert.Greater(t, m.Readings-m0.Readings, uint64(hours*2*3600/60), "the scales alone report at least once a minute")

	// The same run catches a theft.
	require.NoError(t, sim.Theft("BAY-01", 2_000))
	for i := 0; i < 4 && e.lot("L-NOISE-1").Health == warehouse.HealthOK; i++ {
		step()
		eventually(t, 10*time.Second, "theft judged", func() error {
			if sup.Metrics().Snapshot().Findings["breach:step"] == 0 {
				return fmt.Errorf("not yet")
			}
			return nil
		})
	}
	eventually(t, 20*time.Second, "theft alarm", e.lotIs("L-NOISE-1", warehouse.HealthAlarm))
	require.NoError(t, e.lotIs("L-NOISE-2", warehouse.HealthOK)())
}
