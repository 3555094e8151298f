package iotbench

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBenchRuns runs the benchmark small, so `ewr bench iot` keeps working;
// its figures are the benchmark's business, not this test's.
func TestBenchRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a localnet")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := RunIoTBench(ctx, IoTBenchConfig{Duration: time.Second, Readings: 3_000, Trials: 4})
	require.NoError(t, err)
	assert.Positive(t, res.ReadingsPerS)
	assert.GreaterOrEqual(t, res.Readings, uint64(3_000))
	assert.Len(t, res.FreezeSamplesMs, 4)
	assert.Equal(t, 4, res.TheftsInjected)
	assert.Equal(t, res.TheftsInjected, res.TheftsDetected, "every theft caught")
	assert.Zero(t, res.FalseAlarms, "no alarm the thefts do not explain")
	assert.Equal(t, 2, res.Deliveries, "partial deliveries between the thefts")
	assert.Equal(t, 2, res.Restarts)
	assert.Positive(t, res.FreezeP99Ms)
	for _, reason := range []string{"reading_signature", "reading_replayed", "device_not_found"} {
		assert.Contains(t, res.Rejected, reason)
	}
}
