package main

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"

	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/ledger"
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

// TestNodeRefusesTheDemoWorldsKeys: a genesis whose participants' and
// devices' keys derive from the demo world's public seed is refused by
// ewr node unless told --demo, before anything starts or is written; a
// genesis of the members' own keys has none.
func TestNodeRefusesTheDemoWorldsKeys(t *testing.T) {
	var stderr bytes.Buffer
	home := filepath.Join(t.TempDir(), "demo")
	require.Equal(t, 0, run([]string{"init", "--home", home, "--moniker", "d"}, &stderr), stderr.String())
	before, err := os.ReadDir(filepath.Join(home, "data"))
	require.NoError(t, err)
	stderr.Reset()
	assert.Equal(t, 1, run([]string{"node", "--home", home}, &stderr))
	assert.Contains(t, stderr.String(), "derived from a public seed")
	assert.Contains(t, stderr.String(), "--demo")
	assert.Contains(t, stderr.String(), ledger.Admin1)
	after, err := os.ReadDir(filepath.Join(home, "data"))
	require.NoError(t, err)
	assert.Equal(t, len(before), len(after), "nothing written")

	w := ledger.NewWorld(ledger.DemoSeed, 2_000_000_000)
	assert.NotEmpty(t, w.Genesis.DerivedKeys(ledger.DemoSeed))
	for i := range w.Genesis.Participants {
		k := ledger.DemoKey("the member's own, not public", w.Genesis.Participants[i].ID)
		copy(w.Genesis.Participants[i].PubKey[:], k.Public().(ed25519.PublicKey))
	}
	for i := range w.Genesis.Devices {
		k := ledger.DemoKey("the warehouse's own", w.Genesis.Devices[i].ID)
		copy(w.Genesis.Devices[i].PubKey[:], k.Public().(ed25519.PublicKey))
	}
	assert.Empty(t, w.Genesis.DerivedKeys(ledger.DemoSeed))
}
