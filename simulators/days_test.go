package simulators

import (
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	daysHours = flag.Float64("days.hours", 48, "simulated hours of TestWarehouseDays (make soak raises it)")
	daysSeed  = flag.Uint64("days.seed", 0, "seed of TestWarehouseDays (0: from the clock)")
)

// TestWarehouseDays runs simulated warehouse days (intakes, partial and
// full deliveries, pledges, noise, device restarts) with thefts injected,
// through the supervisor's rules onto an in-memory chain: every theft
// caught, no false alarm, no finding the validators refuse.
func TestWarehouseDays(t *testing.T) {
	seed := *daysSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	hours := *daysHours
	if testing.Short() {
		hours = min(hours, 12)
	}
	t.Logf("warehouse days: seed %d, %.0f h; replay: go test ./simulators -run TestWarehouseDays -days.seed=%d -days.hours=%.0f", seed, hours, seed, hours)
	start := time.Now()
	res, err := RunWarehouseDays(DaysConfig{Seed: seed, Duration: time.Duration(hours * float64(time.Hour))})
	require.NoError(t, err, "seed %d", seed)
	t.Logf("%.0f simulated hours in %v: %d readings (%d refused), %d intakes, %d deliveries (%d full), %d pledges, %d restarts, thefts %d injected / %d caught, %d false alarms",
		res.SimulatedHours, time.Since(start).Round(time.Millisecond), res.Readings, res.Refused, res.Intakes, res.Deliveries, res.FullDeliveries,
		res.Pledges, res.Restarts, res.TheftsInjected, res.TheftsDetected, res.FalseAlarms)
	for _, p := range res.Problems {
		t.Errorf("seed %d: %s", seed, p)
	}
	assert.True(t, res.OK(), "seed %d", seed)
	assert.Positive(t, res.TheftsInjected, "seed %d: the days had thefts to catch", seed)
	assert.Positive(t, res.Deliveries, "seed %d: the days had deliveries", seed)
	assert.Positive(t, res.Restarts, "seed %d", seed)
}
