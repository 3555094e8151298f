package main

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/ewrchain/ewr/chainengine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDispatch(t *testing.T) {
	var stderr bytes.Buffer
	assert.Equal(t, 2, run(nil, &stderr), "no command")
	assert.Contains(t, stderr.String(), "usage: ewr")
	stderr.Reset()
	assert.Equal(t, 2, run([]string{"frobnicate"}, &stderr))
	assert.Contains(t, stderr.String(), `unknown command "frobnicate"`)
	assert.Equal(t, 0, run([]string{"help"}, &stderr))
	assert.Equal(t, 2, run([]string{"init"}, &stderr), "--home missing")
	assert.Equal(t, 2, run([]string{"init", "--bogus"}, &stderr))
	assert.Equal(t, 2, run([]string{"bench"}, &stderr))
	assert.Equal(t, 2, run([]string{"bench", "nope"}, &stderr))
	assert.Equal(t, 2, run([]string{"node", "--home", t.TempDir(), "--app", "nope"}, &stderr))
	for _, name := range []string{"init", "node", "testnet", "localnet", "bench"} {
		assert.Contains(t, commands, name)
	}
	assert.Contains(t, benchmarks, "chain")
	assert.Contains(t, apps, defaultApp)
	assert.Contains(t, apps, "baseline")
}

func TestInitAndTestnet(t *testing.T) {
	var stderr bytes.Buffer
	home := filepath.Join(t.TempDir(), "solo")
	require.Equal(t, 0, run([]string{"init", "--home", home, "--moniker", "solo", "--app", "baseline"}, &stderr), stderr.String())
	_, err := chainengine.LoadConfig(home)
	require.NoError(t, err)
	assert.Equal(t, 1, run([]string{"init", "--home", home, "--moniker", "solo"}, &stderr), "refuses an existing home")

	out := t.TempDir()
	require.Equal(t, 0, run([]string{"testnet", "--validators", "3", "--out", out, "--base-port", "0", "--app", "baseline"}, &stderr), stderr.String())
	for i := range 3 {
		_, err := chainengine.LoadConfig(chainengine.NodeHome(out, i))
		require.NoError(t, err)
	}
}
