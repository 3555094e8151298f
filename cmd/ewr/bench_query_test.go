package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBenchQuery runs `ewr bench query` on a small load, with its own
// PostgreSQL (fsync on): every key of the report is there, the load's txs
// all applied, and the price fall called for margin.
func TestBenchQuery(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	out, err := captureStdout(t, func() error {
		return runBenchQuery(t.Context(), []string{"--receipts", "800", "--lanes", "40", "--loans", "120", "--receipts-per-lot", "10",
			"--banks", "4", "--traders", "12", "--warehouses", "3", "--exposure-samples", "20", "--precheck-samples", "200",
			"--readmodel-precheck-samples", "30"})
	})
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	for _, k := range []string{"indexer_blocks_per_s", "indexer_rows_per_s", "exposure_p50_ms", "exposure_p99_ms",
		"precheck_p50_ms", "precheck_p99_ms", "cores", "rows", "load_s", "readmodel_precheck_p99_ms", "precheck_path"} {
		assert.Contains(t, m, k)
	}
	var res queryBenchResult
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	assert.Equal(t, 800, res.Receipts)
	assert.Equal(t, 120, res.Loans)
	assert.Zero(t, res.Rejected)
	assert.Positive(t, res.MarginCalls, "the price fall calls for margin")
	assert.Positive(t, res.Trades)
	assert.Positive(t, res.IndexerBlocksPerS)
	assert.Positive(t, res.ExposureRows)
	assert.Positive(t, res.PrecheckOK)
	assert.Less(t, res.PrecheckOK, 1.0, "some checks fail: a pledged receipt, the wrong borrower")
}
