package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBenchVerifyPrintsItsFigures: `ewr bench verify` proves a pledged
// receipt's position on a localnet and prints one JSON object with the
// keys its contract names, the bundle within its 16 KiB.
func TestBenchVerifyPrintsItsFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("a localnet")
	}
	var out, errs bytes.Buffer
	old := stdout
	stdout = &out
	defer func() { stdout = old }()
	require.Equal(t, 0, run([]string{"bench", "verify", "--validators", "2", "--runs", "20"}, &errs), errs.String())
	var rep map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), out.String())
	for _, k := range []string{"bundle_bytes", "verify_us_p50", "verify_us_p99", "cores", "records"} {
		assert.Contains(t, rep, k)
	}
	assert.LessOrEqual(t, rep["bundle_bytes"].(float64), float64(16<<10))
	assert.GreaterOrEqual(t, rep["records"].(float64), float64(3), "the lot, the pledge and its bank at least")
	assert.Greater(t, rep["verify_us_p99"].(float64), 0.0)
}
