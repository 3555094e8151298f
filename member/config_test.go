package member_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/member"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConfigFile: a member's ewr.toml round-trips, and a typo or a missing
// API address is refused at load, not left as a default.
func TestConfigFile(t *testing.T) {
	home := t.TempDir()
	var c member.Config
	c.API.Listen = "127.0.0.1:8081"
	c.API.Participants = []string{"bank-a", "bank-b"}
	c.NATS.URL = "nats://10.0.0.5:4222"
	require.NoError(t, member.WriteConfig(home, &c))
	got, err := member.LoadConfig(home)
	require.NoError(t, err)
	c.Home = home
	assert.Equal(t, &c, got)
	raw, err := os.ReadFile(filepath.Join(home, member.ConfigFile))
	require.NoError(t, err)
	assert.Contains(t, string(raw), "# the participants whose keys this member holds", "the file explains itself")

	for name, doc := range map[string]string{
		"unknown key":               "[api]\nlisten = \"127.0.0.1:1\"\nparticipant = [\"bank-a\"]\n",
		"unknown table":             "[apis]\nlisten = \"127.0.0.1:1\"\n",
		"no API address":            "[api]\nparticipants = [\"bank-a\"]\n",
		"not TOML":                  "[api\n",
		"wrong type":                "[api]\nlisten = 8080\n",
		"genesis hash not a sha256": "genesis_sha256 = \"b725d2\"\n[api]\nlisten = \"127.0.0.1:1\"\n",
		"genesis hash upper case":   "genesis_sha256 = \"" + strings.Repeat("AB", 32) + "\"\n[api]\nlisten = \"127.0.0.1:1\"\n",
	} {
		t.Run(name, func(t *testing.T) {
			h := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(h, member.ConfigFile), []byte(doc), 0o600))
			_, err := member.LoadConfig(h)
			assert.Error(t, err)
		})
	}
}

// TestStartRefusesUnknownPeers: a member dials and keeps only the
// consortium's nodes its ewr.toml lists. A config.toml that names another
// peer, a list naming the node itself or a malformed entry is refused
// before anything of the member is opened.
func TestStartRefusesUnknownPeers(t *testing.T) {
	out := t.TempDir()
	homes, err := chainengine.GenerateTestnet(3, out, "ewr-peers", json.RawMessage("{}"), 0)
	require.NoError(t, err)
	peers, err := member.PeersOf(homes)
	require.NoError(t, err)
	home := homes[0]
	load := func(edit func(*member.Config)) *member.Config {
		var c member.Config
		c.API.Listen = "127.0.0.1:0"
		c.Peers = member.Others(peers, 0)
		edit(&c)
		require.NoError(t, member.WriteConfig(home, &c))
		got, err := member.LoadConfig(home)
		require.NoError(t, err)
		return got
	}
	start := func(c *member.Config) error {
		m, err := member.Start(context.Background(), c, member.Options{})
		if err == nil {
			_ = m.Stop()
		}
		return err
	}
	unknown := "0123456789abcdef0123456789abcdef01234567@10.9.9.9:26656"
	cfg, err := chainengine.LoadConfig(home)
	require.NoError(t, err)
	cfg.P2P.PersistentPeers += "," + unknown
	require.NoError(t, chainengine.WriteConfig(cfg))
	assert.ErrorContains(t, start(load(func(*member.Config) {})), "names peer "+unknown+", which is not one of the consortium's nodes")

	cfg.P2P.PersistentPeers = ""
	require.NoError(t, chainengine.WriteConfig(cfg))
	assert.ErrorContains(t, start(load(func(c *member.Config) { c.Peers = append(c.Peers, peers[0]) })), "this member's own node")
	assert.ErrorContains(t, start(load(func(c *member.Config) { c.Peers[0].ID = "nothex" })), "peers[0]")
	assert.ErrorContains(t, start(load(func(c *member.Config) { c.Peers = append(c.Peers, c.Peers[0]) })), "listed twice")
	_, err = os.Stat(chainengine.ReceiptAppDir(home))
	assert.ErrorIs(t, err, os.ErrNotExist, "a refused member opened its state")
	_, err = os.Stat(filepath.Join(home, "ewr.lock"))
	assert.ErrorIs(t, err, os.ErrNotExist, "a refused member locked its home")
}

// TestStartRefusesAnotherGenesis: a member whose genesis file is not the
// one its consortium agreed on (here: another network's of the same chain
// id, other validators) is refused before anything of it is opened; the
// genesis it was made with passes.
func TestStartRefusesAnotherGenesis(t *testing.T) {
	homes, err := chainengine.GenerateTestnet(2, t.TempDir(), "ewr-genesis", json.RawMessage("{}"), 0)
	require.NoError(t, err)
	others, err := chainengine.GenerateTestnet(2, t.TempDir(), "ewr-genesis", json.RawMessage("{}"), 0)
	require.NoError(t, err)
	agreed, err := member.GenesisHash(homes[0])
	require.NoError(t, err)
	home := homes[1]
	var c member.Config
	c.Home, c.Genesis = home, agreed
	c.API.Listen = "127.0.0.1:0"
	genesisFile := filepath.Join(home, "config", "genesis.json")
	require.NoError(t, c.CheckGenesis(genesisFile), "the agreed genesis")

	foreign, err := os.ReadFile(filepath.Join(others[1], "config", "genesis.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(genesisFile, foreign, 0o600))
	m, err := member.Start(context.Background(), &c, member.Options{NoNATS: true, NoReadModel: true})
	if err == nil {
		_ = m.Stop()
	}
	require.ErrorIs(t, err, member.ErrOtherGenesis)
	assert.ErrorContains(t, err, agreed)
	_, err = os.Stat(chainengine.ReceiptAppDir(home))
	assert.ErrorIs(t, err, os.ErrNotExist, "a refused member opened its state")
	_, err = os.Stat(filepath.Join(home, "ewr.lock"))
	assert.ErrorIs(t, err, os.ErrNotExist, "a refused member locked its home")
	_, err = os.Stat(filepath.Join(home, "data", "blockstore.db"))
	assert.ErrorIs(t, err, os.ErrNotExist, "a refused member opened its block store")

	// The check is the config's: one written without it starts unchecked.
	c.Genesis = ""
	assert.NoError(t, c.CheckGenesis(genesisFile))
}
