package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/indexer/pgcluster"
	"github.com/ewrchain/ewr/indexer/pgcluster/pgtest"
	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/simulators"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// captureStdout runs fn with stdout going to a buffer.
func captureStdout(t *testing.T, fn func() error) (string, error) {
	t.Helper()
	var buf bytes.Buffer
	old := stdout
	stdout = &buf
	defer func() { stdout = old }()
	err := fn()
	return buf.String(), err
}

// TestIndexerCommands rebuilds a read model from a one-validator network
// over its RPC, reads its checksum back the three ways a database is
// named (--database-url, the running cluster of --data, refusal of a data
// dir without one), and follows the node with `ewr indexer run`.
func TestIndexerCommands(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	// The private cluster of a `ewr run` in data, running.
	data := t.TempDir()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(data, "pg")})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, c.Stop()) })
	require.NoError(t, c.CreateDatabase(ctx, pgcluster.AppDatabase))

	w := ledger.NewWorld("cmd-indexer-test", time.Now().Unix()+365*86400)
	appState, err := json.Marshal(&w.Genesis)
	require.NoError(t, err)
	logger := log.NewNopLogger()
	ln, err := chainengine.StartLocalnet(ctx, t.TempDir(), 1, func(home string, _ int) (chainengine.App, error) {
		return chainengine.NewReceiptApp(chainengine.ReceiptAppDir(home), logger)
	}, chainengine.LocalnetOptions{AppState: appState, Logger: logger, RPC: true})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, ln.Stop()) })
	var story bytes.Buffer
	require.NoError(t, (&simulators.Lifecycle{Driver: simulators.NewChainDriver(ln.Node(0), w), World: w, Out: &story, Tag: "c",
		Bay: ledger.DemoBays[0]}).Run(ctx), story.String())
	rpc := ln.RPCAddr(0)

	out, err := captureStdout(t, func() error {
		return runIndexer(ctx, []string{"rebuild", "--rpc", rpc, "--data", data, "--database", "rb1", "--tables"})
	})
	require.NoError(t, err)
	var rb rebuildReport
	require.NoError(t, json.Unmarshal([]byte(out), &rb))
	assert.Equal(t, "rb1", rb.Database)
	assert.Positive(t, rb.Height)
	assert.Len(t, rb.Checksum, 64)
	assert.NotEmpty(t, rb.Tables)

	// The checksum of what was built, by URL.
	out, err = captureStdout(t, func() error {
		return runIndexer(ctx, []string{"checksum", "--database-url", c.DSN("rb1"), "--json"})
	})
	require.NoError(t, err)
	var cs checksumReport
	require.NoError(t, json.Unmarshal([]byte(out), &cs))
	assert.Equal(t, rb.Checksum, cs.Checksum)
	assert.Equal(t, rb.Height, cs.Height)
	out, err = captureStdout(t, func() error {
		return runIndexer(ctx, []string{"checksum", "--database-url", c.DSN("rb1"), "--tables"})
	})
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	assert.Equal(t, rb.Checksum, lines[0])
	assert.Len(t, lines, 1+len(rb.Tables))

	// A fresh database, never an old one.
	_, err = captureStdout(t, func() error {
		return runIndexer(ctx, []string{"rebuild", "--rpc", rpc, "--data", data, "--database", "rb1"})
	})
	require.ErrorContains(t, err, "exists")

	// `ewr indexer run` keeps the running cluster's read model ("ewr") up
	// to date; its checksum is read through --data.
	fctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runIndexer(fctx, []string{"run", "--rpc", rpc, "--data", data, "--poll", "50ms"}) }()
	testkit.Poll(t, time.Minute, "the follower catches up", func() error {
		out, err := captureStdout(t, func() error { return runIndexer(ctx, []string{"checksum", "--data", data, "--json"}) })
		if err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(out), &cs); err != nil {
			return err
		}
		if cs.Height < rb.Height {
			return fmt.Errorf("the follower reached %d, want %d", cs.Height, rb.Height)
		}
		return nil
	})
	stop()
	require.NoError(t, <-done)
	// --replace rebuilds over the old one.
	out, err = captureStdout(t, func() error {
		return runIndexer(ctx, []string{"rebuild", "--rpc", rpc, "--data", data, "--database", "rb1", "--replace"})
	})
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal([]byte(out), &rb))
	assert.GreaterOrEqual(t, rb.Height, cs.Height)

	// No cluster in a data dir: nothing to read, and nothing started.
	empty := t.TempDir()
	_, err = captureStdout(t, func() error { return runIndexer(ctx, []string{"checksum", "--data", empty}) })
	require.ErrorContains(t, err, "no read model")
}

func TestMain(m *testing.M) { pgtest.TestMain(m) }
