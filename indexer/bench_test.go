package indexer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"testing"
	"time"

	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/ledger"
	"github.com/stretchr/testify/require"
)

// The chain benchmark aims at ≥ 5,000 tx/s; the indexer must keep up. These
// benchmarks apply blocks of benchLanes txs (one op per lane: pledge
// request, confirm, release, transfer offer, acceptance, split in three,
// merge back; about 2.6 record writes and one event per tx) to a fresh read model, and report
// tx/s, rows/s (records after in-block dedupe, txs, events, the block row)
// and blocks/s. Run with a fixed count so the read model grows to a known
// size, e.g.:
//
//	go test ./indexer/ -run '^$' -bench . -benchtime 40x
const benchLanes = 1000

// benchBlocks makes the load's setup blocks and n more blocks.
func benchBlocks(b *testing.B, n int) (setup, blocks []*ledger.BlockRecord) {
	b.Helper()
	l := newLoad(b, benchLanes)
	setup = l.sim.Records
	for range n {
		blocks = append(blocks, l.next())
	}
	return setup, blocks
}

func reportRates(b *testing.B, elapsed time.Duration, blocks []*ledger.BlockRecord, rows, records int) {
	txs, _, events := blockStats(blocks)
	sec := elapsed.Seconds()
	b.ReportMetric(float64(txs)/sec, "tx/s")
	b.ReportMetric(float64(rows)/sec, "rows/s")
	b.ReportMetric(float64(len(blocks))/sec, "blocks/s")
	b.ReportMetric(float64(records)/float64(txs), "records/tx")
	b.ReportMetric(float64(events)/float64(txs), "events/tx")
}

// BenchmarkApply is Apply alone: one SQL transaction per block. Besides
// the rates (wall clock, which other load on the machine skews), it
// reports the CPU time one block costs this process (pq encoding and
// decoding, the Go side of Apply) and the PostgreSQL backend serving it,
// read from /proc: the figures that say what idle cores would do.
func BenchmarkApply(b *testing.B) {
	setup, blocks := benchBlocks(b, b.N)
	db := newDB(b)
	db.SetMaxOpenConns(1) // one backend, whose CPU time we read
	ix := indexer.New(db, indexer.Config{})
	applyAll(b, ix, setup)
	var backend int
	require.NoError(b, db.QueryRow(`SELECT pg_backend_pid()`).Scan(&backend))
	pg0, go0 := procCPU(b, backend), selfCPU(b)
	var rows, records int
	b.ResetTimer()
	for _, rec := range blocks {
		r, n, noop, err := indexer.ApplyCounted(context.Background(), ix, rec)
		if err != nil || noop {
			b.Fatalf("block %d: noop %v, %v", rec.Height, noop, err)
		}
		rows += r
		records += n
	}
	b.StopTimer()
	reportRates(b, b.Elapsed(), blocks, rows, records)
	perBlock := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(len(blocks)) }
	b.ReportMetric(perBlock(procCPU(b, backend)-pg0), "pg-cpu-ms/block")
	b.ReportMetric(perBlock(selfCPU(b)-go0), "go-cpu-ms/block")
}

// procCPU is the CPU time (user + system) process pid used so far.
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Skipf("no /proc to read the backend's CPU time: %v", err)
	}
	// Fields after the command, which is in parentheses: utime and stime
	// are the 14th and 15th fields of the line, in clock ticks.
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	require.NoError(b, errors.Join(err1, err2))
	const ticksPerSec = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSec
}

func selfCPU(b *testing.B) time.Duration { return procCPU(b, os.Getpid()) }

// BenchmarkRun is Run following a source that already holds the blocks:
// the indexer catching up.
func BenchmarkRun(b *testing.B) {
	setup, blocks := benchBlocks(b, b.N)
	db := newDB(b)
	ix := indexer.New(db, indexer.Config{PollMin: time.Millisecond})
	applyAll(b, ix, setup)
	src := indexer.NewMemSource(0)
	src.Append(setup...)
	src.Append(blocks...)
	last := blocks[len(blocks)-1].Height
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ResetTimer()
	done := make(chan error, 1)
	go func() { done <- ix.Run(ctx, src) }()
	for ix.Status().Height < last {
		select {
		case err := <-done:
			b.Fatalf("Run stopped: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	b.StopTimer()
	cancel()
	require.ErrorIs(b, <-done, context.Canceled)
	var rows, records int
	for _, rec := range blocks {
		r, n, err := indexer.Prepare(rec)
		require.NoError(b, err)
		rows += r
		records += n
	}
	reportRates(b, b.Elapsed(), blocks, rows, records)
}

// BenchmarkPrepare is the Go side alone: decode a block and build its
// statements' parameters, without the database.
func BenchmarkPrepare(b *testing.B) {
	_, blocks := benchBlocks(b, min(b.N, 20))
	b.ResetTimer()
	var rows int
	for i := range b.N {
		n, _, err := indexer.Prepare(blocks[i%len(blocks)])
		if err != nil {
			b.Fatal(err)
		}
		rows += n
	}
	b.StopTimer()
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.N*benchLanes)/b.Elapsed().Seconds(), "tx/s")
}
