package chainengine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What CometBFT's template writes, our reader reads back unchanged.
func TestConfigFileRoundTrip(t *testing.T) {
	home := t.TempDir()
	want := cmtcfg.DefaultConfig()
	want.SetRoot(home)
	tuneConfig(want)
	want.Moniker = "node zero (é)"
	want.P2P.PersistentPeers = "a@127.0.0.1:1,b@127.0.0.1:2"
	want.RPC.CORSAllowedOrigins = []string{"https://x.example", "*"}
	want.StateSync.RPCServers = []string{"tcp://a:1", "tcp://b:2"}
	want.Consensus.TimeoutPropose = 1234 * time.Millisecond
	want.Mempool.Size = 7
	require.NoError(t, WriteConfig(want))

	got, err := LoadConfig(home)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

func TestConfigFileRefusesUnknownKeys(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown key":      "[p2p]\nladdr = \"tcp://0.0.0.0:1\"\nno_such_key = 1\n",
		"unknown table":    "[nope]\n",
		"wrong type":       "[p2p]\npex = \"yes\"\n",
		"bad duration":     "[consensus]\ntimeout_propose = \"soon\"\n",
		"trailing garbage": "moniker = \"a\" b\n",
		"unterminated":     "moniker = \"a\n",
		"repeated key":     "moniker = \"a\"\nmoniker = \"b\"\n",
		"repeated table":   "[p2p]\npex = true\n[p2p]\npex = false\n",
	} {
		t.Run(name, func(t *testing.T) {
			err := decodeConfigTOML([]byte(doc), cmtcfg.DefaultConfig())
			assert.ErrorIs(t, err, ErrConfig)
		})
	}
	cfg := cmtcfg.DefaultConfig()
	require.NoError(t, decodeConfigTOML([]byte("# c\nmoniker = \"m\" # trailing comment\n[p2p] # t\npex = false\nsend_rate = 1_000\n"), cfg))
	assert.Equal(t, "m", cfg.Moniker)
	assert.False(t, cfg.P2P.PexReactor)
	assert.Equal(t, int64(1000), cfg.P2P.SendRate)
}

func TestLoadConfigNeedsAHome(t *testing.T) {
	_, err := LoadConfig(t.TempDir())
	assert.ErrorIs(t, err, ErrNoHome)
}

func TestGenerateTestnet(t *testing.T) {
	out := t.TempDir()
	homes, err := GenerateTestnet(3, out, "ewr-gen", []byte(`{"k":1}`), 30000)
	require.NoError(t, err)
	require.Len(t, homes, 3)
	var genesis []byte
	for i, h := range homes {
		cfg, err := LoadConfig(h)
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(out, "node"+string(rune('0'+i))), h)
		assert.Equal(t, "pebbledb", cfg.DBBackend)
		assert.Equal(t, "null", cfg.TxIndex.Indexer)
		assert.False(t, cfg.Consensus.CreateEmptyBlocks)
		// The block's hops are not held back by CometBFT's 10 ms timers:
		// what the home was written with is what it reads back.
		assert.Equal(t, p2pFlushThrottle, cfg.P2P.FlushThrottleTimeout)
		assert.Equal(t, peerGossipSleep, cfg.Consensus.PeerGossipSleepDuration)
		assert.Equal(t, loopbackAddr(30000+2*i), cfg.P2P.ListenAddress)
		assert.Equal(t, loopbackAddr(30000+2*i+1), cfg.RPC.ListenAddress)
		assert.Len(t, strings.Split(cfg.P2P.PersistentPeers, ","), 2)
		assert.NotContains(t, cfg.P2P.PersistentPeers, cfg.P2P.ListenAddress[len("tcp://"):])
		g, err := os.ReadFile(cfg.GenesisFile())
		require.NoError(t, err)
		if genesis == nil {
			genesis = g
		}
		assert.Equal(t, genesis, g, "one genesis for all")
	}
	assert.Contains(t, string(genesis), `"app_state": {`)
	_, err = GenerateTestnet(3, out, "ewr-gen", nil, 30000)
	assert.ErrorIs(t, err, ErrHomeExists)
}

func TestInitHome(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	require.NoError(t, InitHome(home, "solo", "ewr-solo", nil))
	cfg, err := LoadConfig(home)
	require.NoError(t, err)
	assert.Equal(t, "solo", cfg.Moniker)
	assert.Equal(t, "tcp://127.0.0.1:26657", cfg.RPC.ListenAddress)
	assert.ErrorIs(t, InitHome(home, "solo", "ewr-solo", nil), ErrHomeExists)
	assert.Error(t, InitHome(filepath.Join(t.TempDir(), "q"), `a"b`, "ewr-solo", nil), "CometBFT writes the moniker unescaped")
}
