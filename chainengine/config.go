package chainengine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
)

// ErrNoHome means a home directory has no config.toml: run `ewr init` or
// `ewr testnet` first.
var ErrNoHome = errors.New("chainengine: home not initialized")

// Tuning for validators on one LAN or one host. Each value was measured on
// the 2-core reference machine (COMETBFT.md, and the report of the chain
// benchmark); CometBFT's defaults are for validators on different continents.
const (
	// timeoutPropose is how long validators wait for a proposal before
	// prevoting nil. It is what a dead or slow proposer costs: with one of
	// four validators down, every fourth height pays it once.
	timeoutPropose      = 500 * time.Millisecond
	timeoutProposeDelta = 100 * time.Millisecond
	// timeoutVote is spent only when +2/3 voted but not for one block.
	timeoutVote      = 500 * time.Millisecond
	timeoutVoteDelta = 100 * time.Millisecond
	// peerGossipSleep is how long a per-peer gossip routine sleeps when it
	// has no block part or vote to send: each consensus step can wait for
	// it, so it dominates block time on a LAN at the default 100 ms.
	// p2pFlushThrottle is how long a connection holds what it was given
	// before it writes it to the socket (CometBFT: 10 ms): every hop of a
	// block (proposal, part, prevote, precommit) waited for it. 4
	// validators on 2 cores, receipt app, 1,000 tx/s offered, 20 s, 2 runs
	// each (ewr bench chain --rate 1000 --flush-throttle F --gossip-sleep
	// S): 10/10 ms p50 101 ms, p99 199-232 ms, 17.5 blocks/s; 1/10 ms p50
	// 65-67, p99 161-186; 1/2 ms p50 49, p99 130-133, 37 blocks/s. Under
	// saturation the figures moved within the machine's noise (receipt
	// 3,658 and 4,266 vs 4,450 and 4,271 tx/s, baseline 4,838 and 4,472 vs
	// 4,419 and 5,542). More wakeups and syscalls cost ~10% more CPU per tx
	// at 1,000 tx/s, where the cores are mostly idle.
	peerGossipSleep  = 2 * time.Millisecond
	p2pFlushThrottle = 1 * time.Millisecond
	// peerQueryMaj23Sleep paces a liveness aid against vote flooding
	// (default 2 s); shorter costs nothing measurable and shortens Stop.
	peerQueryMaj23Sleep = 250 * time.Millisecond
	// p2pRateBytesPerS: the default 5 MB/s throttles blocks of a few MB.
	p2pRateBytesPerS = 50 << 20
	// mempoolSizeTxs holds a few seconds of saturated load (~6k tx/s).
	mempoolSizeTxs = 20_000
	// mempoolCacheTxs remembers recently seen txs so gossip echoes and
	// resubmissions of committed txs stop at the mempool.
	mempoolCacheTxs = 100_000
	// mempoolGossipPeers is to how many persistent peers a node forwards
	// each tx it learns (CometBFT: every peer). In a full mesh every node
	// otherwise receives each tx from every peer, hashes it and looks it up
	// in its cache each time; with two, a tx still reaches every member in
	// a hop or two, and a member that misses it only waits for a proposer
	// that has it. 4 validators on 2 cores, receipt app, saturated, 2 pairs
	// alternated: 3,499 vs 2,909 tx/s median (+20%), 521 vs 619 µs CPU per
	// tx, p99 1.09 s vs 1.27 s (ewr bench chain --gossip-peers 2 vs -1).
	// Safety does not depend on it: consensus gossip is untouched.
	mempoolGossipPeers = 2
)

// tuneConfig sets what every ewr node needs on top of CometBFT's defaults.
// It is applied when a home is generated; config.toml is the authority after
// that, so an operator can change any of it.
func tuneConfig(cfg *cmtcfg.Config) {
	cfg.DBBackend = "pebbledb"
	cfg.ProxyApp = "" // the app is in-process
	cfg.LogLevel = DefaultLogLevel

	// The receipt app keeps its own indexes; the KV tx indexer costs ~30%.
	cfg.TxIndex.Indexer = "null"

	c := cfg.Consensus
	c.TimeoutPropose = timeoutPropose
	c.TimeoutProposeDelta = timeoutProposeDelta
	c.TimeoutPrevote = timeoutVote
	c.TimeoutPrevoteDelta = timeoutVoteDelta
	c.TimeoutPrecommit = timeoutVote
	c.TimeoutPrecommitDelta = timeoutVoteDelta
	c.TimeoutCommit = 0
	c.CreateEmptyBlocks = false // an ewr block exists because a tx did
	c.PeerGossipSleepDuration = peerGossipSleep
	// Also bounds how long Node.Stop must keep the stores open.
	c.PeerQueryMaj23SleepDuration = peerQueryMaj23Sleep

	p := cfg.P2P
	p.FlushThrottleTimeout = p2pFlushThrottle
	p.SendRate = p2pRateBytesPerS
	p.RecvRate = p2pRateBytesPerS
	// A consortium is a fixed set of members wired by node id: no peer
	// exchange, and members may share a host (localnet, tests).
	p.PexReactor = false
	p.AddrBookStrict = false
	p.AllowDuplicateIP = true
	p.PersistentPeersMaxDialPeriod = 10 * time.Second

	m := cfg.Mempool
	m.Size = mempoolSizeTxs
	m.CacheSize = mempoolCacheTxs
	m.MaxTxBytes = MaxTxBytes
	m.ExperimentalMaxGossipConnectionsToPersistentPeers = mempoolGossipPeers
}

// configPath is where a home keeps its CometBFT config.
func configPath(home string) string { return filepath.Join(home, "config", "config.toml") }

// LoadConfig reads home/config/config.toml on top of CometBFT's defaults.
func LoadConfig(home string) (*cmtcfg.Config, error) {
	path := configPath(home)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s has no config/config.toml", ErrNoHome, home)
		}
		return nil, err
	}
	cfg := cmtcfg.DefaultConfig()
	if err := readConfigFile(path, cfg); err != nil {
		return nil, err
	}
	cfg.SetRoot(home)
	if err := cfg.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	return cfg, nil
}

// WriteConfig writes cfg to cfg.RootDir/config/config.toml.
func WriteConfig(cfg *cmtcfg.Config) error {
	if err := cfg.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := os.MkdirAll(filepath.Join(cfg.RootDir, "config"), 0o700); err != nil {
		return err
	}
	cmtcfg.WriteConfigFile(configPath(cfg.RootDir), cfg)
	return nil
}
