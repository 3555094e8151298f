package chainengine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	protomem "github.com/cometbft/cometbft/api/cometbft/mempool/v1"
	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/mempool"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	"github.com/ewrchain/ewr/receipt"
)

// Node is one running CometBFT validator with its app in-process.
type Node struct {
	cfg    *cmtcfg.Config
	cmt    *cmtnode.Node
	app    App
	waiter *Waiter
	logger log.Logger

	stopOnce sync.Once
	stopErr  error
	// running is read-held by submissions while they call CheckTx, so
	// that Stop does not stop the node under them.
	running struct {
		sync.RWMutex
		stopped bool
	}

	dbsMu sync.Mutex
	dbs   []*lingeringDB

	quit      chan struct{} // closed by Stop: ends regossip
	regossips atomic.Int64  // times regossip re-sent the mempool (tests)
}

// StartNode starts the validator whose home is home (config, keys, genesis
// and data, as written by InitHome or GenerateTestnet) with app. The node
// owns neither app nor its storage: the caller closes them after Stop. A nil
// logger logs errors to stderr.
func StartNode(ctx context.Context, home string, app App, logger log.Logger) (*Node, error) {
	cfg, err := LoadConfig(home)
	if err != nil {
		return nil, err
	}
	return StartNodeWithConfig(ctx, cfg, app, logger)
}

// StartNodeWithConfig is StartNode with the config already loaded (and
// possibly adjusted, e.g. listen ports picked at start).
func StartNodeWithConfig(ctx context.Context, cfg *cmtcfg.Config, app App, logger log.Logger) (*Node, error) {
	if logger == nil {
		var err error
		if logger, err = NewLogger(os.Stderr, DefaultLogLevel); err != nil {
			return nil, err
		}
	}
	// LoadFilePV exits the process on a missing file; check first.
	for _, f := range []string{cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile(), cfg.NodeKeyFile(), cfg.GenesisFile()} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoHome, err)
		}
	}
	nodeKey, err := p2p.LoadNodeKey(cfg.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("chainengine: node key: %w", err)
	}
	pv := privval.LoadFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())

	n := &Node{cfg: cfg, app: app, waiter: NewWaiter(DefaultMaxWaiters), logger: logger, quit: make(chan struct{})}
	// Before NewNode: its handshake may replay blocks through Commit.
	app.SetCommitHook(n.waiter.Deliver)

	cmt, err := cmtnode.NewNode(ctx, cfg, pv, nodeKey,
		clientCreator(app),
		cmtnode.DefaultGenesisDocProviderFunc(cfg),
		n.dbProvider(logger),
		cmtnode.DefaultMetricsProvider(cfg.Instrumentation),
		logger,
	)
	if err != nil {
		n.waiter.Close()
		return nil, errors.Join(fmt.Errorf("chainengine: new node %s: %w", cfg.Moniker, err), n.closeDBs())
	}
	n.cmt = cmt
	if err := cmt.Start(); err != nil {
		n.waiter.Close()
		_ = cmt.ProxyApp().Stop()
		return nil, errors.Join(fmt.Errorf("chainengine: start node %s: %w", cfg.Moniker, err), n.closeDBs())
	}
	n.dialPeersNow()
	go n.regossip()
	return n, nil
}

// The chain stands still with txs waiting for regossipAfter before regossip
// re-sends up to regossipMax of them to every peer.
const (
	regossipAfter = 1500 * time.Millisecond
	regossipMax   = 256
)

// regossip re-sends the txs this node holds to its peers when the chain has
// not moved for regossipAfter while they wait. CometBFT's mempool sends each
// tx to each peer once, and lets a peer lag a block behind: a peer still
// applying the block that made a tx valid (a key rotated, a receipt
// transferred) refuses it and never sees it again. With create_empty_blocks
// off a height starts only on a node whose own mempool has txs, and one node
// of four cannot move consensus alone, so such a tx waited for the next tx to
// reach the others; in a quiet consortium, forever. Peers that already hold
// a tx drop the copy at their mempool cache.
func (n *Node) regossip() {
	t := time.NewTicker(regossipAfter / 5)
	defer t.Stop()
	last, since := n.Height(), time.Now()
	for {
		select {
		case <-n.quit:
			return
		case now := <-t.C:
			if h := n.Height(); h != last {
				last, since = h, now
				continue
			}
			mp := n.cmt.Mempool()
			if now.Sub(since) < regossipAfter || mp.Size() == 0 {
				continue
			}
			txs := mp.ReapMaxTxs(regossipMax)
			for _, peer := range n.cmt.Switch().Peers().Copy() {
				for _, tx := range txs {
					peer.TrySend(p2p.Envelope{ChannelID: mempool.MempoolChannel, Message: &protomem.Txs{Txs: [][]byte{tx}}})
				}
			}
			n.regossips.Add(1)
			n.logger.Info("chain idle with txs waiting: re-sent them to peers", "height", last, "txs", len(txs))
			since = now
		}
	}
}

// clientCreator picks how CometBFT locks around the app. By default one lock
// serializes every ABCI call. An app that declares ConcurrentCheckTx gets
// CheckTx and Query without it, so that signature checks of txs from Submit,
// the RPC and each peer run in parallel instead of queueing ahead of
// consensus (a peer's consensus messages wait behind its txs on the same
// connection).
func clientCreator(app App) proxy.ClientCreator {
	if c, ok := app.(ConcurrentCheckTx); ok && c.ConcurrentCheckTx() {
		return proxy.NewConsensusSyncLocalClientCreator(app)
	}
	return proxy.NewLocalClientCreator(app)
}

// dialPeersNow dials the persistent peers at once. CometBFT waits a random
// 0-3 s before each first dial, to spread the reconnection storms of large
// public networks; in a consortium that only delays startup and catching up
// after a restart. CometBFT's own later dial of a connected peer is a no-op.
func (n *Node) dialPeersNow() {
	var peers []string
	for _, p := range strings.Split(n.cfg.P2P.PersistentPeers, ",") {
		if p = strings.TrimSpace(p); p != "" {
			peers = append(peers, p)
		}
	}
	addrs, _ := p2p.NewNetAddressStrings(peers) // bad entries: CometBFT already refused them at start
	sw := n.cmt.Switch()
	for _, a := range addrs {
		go func() { _ = sw.DialPeerWithAddress(a) }()
	}
}

// dbProvider opens CometBFT's stores like cfg.DefaultDBProvider, but gives
// pebble a logger (so reopening a store does not print WAL replay lines) and
// keeps each store open past CometBFT's own Close until Stop's grace period
// ends (see lingeringDB).
func (n *Node) dbProvider(logger log.Logger) cmtcfg.DBProvider {
	return func(ctx *cmtcfg.DBContext) (dbm.DB, error) {
		var db dbm.DB
		var err error
		if ctx.Config.DBBackend == string(dbm.PebbleDBBackend) {
			opts := &pebble.Options{Logger: pebbleLogger{logger.With("module", "pebble", "db", ctx.ID)}}
			db, err = dbm.NewPebbleDBWithOpts(ctx.ID, ctx.Config.DBDir(), opts)
		} else {
			db, err = cmtcfg.DefaultDBProvider(ctx)
		}
		if err != nil {
			return nil, err
		}
		l := &lingeringDB{DB: db}
		n.dbsMu.Lock()
		n.dbs = append(n.dbs, l)
		n.dbsMu.Unlock()
		return l, nil
	}
}

// lingeringDB ignores CometBFT's Close: Node.Stop closes it after a grace
// period. CometBFT's per-peer consensus goroutines check that the node runs
// only between sleeps (up to peer_query_maj23_sleep_duration each, several
// per loop) and then read the block store; a store closed under them panics
// the whole process ("pebble: closed"), which in a localnet takes every
// node down.
type lingeringDB struct{ dbm.DB }

func (l *lingeringDB) Close() error { return nil }

// stopGrace is how long Stop keeps the stores open after CometBFT stopped:
// enough for the per-peer goroutines' longest sleep chain to end.
func (n *Node) stopGrace() time.Duration {
	return 3*n.cfg.Consensus.PeerQueryMaj23SleepDuration + 4*n.cfg.Consensus.PeerGossipSleepDuration + 100*time.Millisecond
}

// Stop stops the node and waits for it: consensus, p2p, RPC, then its
// stores. Txs still waiting in Submit get ErrNodeStopped. Safe to call more
// than once.
func (n *Node) Stop() error {
	n.stopOnce.Do(func() {
		n.running.Lock()
		n.running.stopped = true
		n.running.Unlock()
		close(n.quit)
		var errs []error
		if n.cmt.IsRunning() {
			if err := n.cmt.Stop(); err != nil {
				errs = append(errs, err)
			}
		}
		n.cmt.Wait()
		if err := n.cmt.ProxyApp().Stop(); err != nil {
			errs = append(errs, err)
		}
		n.waiter.Close()
		time.Sleep(n.stopGrace()) // nothing to poll: see lingeringDB
		n.stopErr = errors.Join(append(errs, n.closeDBs())...)
	})
	return n.stopErr
}

// closeDBs closes CometBFT's stores for real.
func (n *Node) closeDBs() error {
	n.dbsMu.Lock()
	defer n.dbsMu.Unlock()
	var errs []error
	for _, db := range n.dbs {
		errs = append(errs, db.DB.Close())
	}
	n.dbs = nil
	return errors.Join(errs...)
}

// Comet returns the underlying CometBFT node (block store, mempool, switch).
func (n *Node) Comet() *cmtnode.Node { return n.cmt }

// Config returns the node's config.
func (n *Node) Config() *cmtcfg.Config { return n.cfg }

// App returns the node's app.
func (n *Node) App() App { return n.app }

// ID returns the node's p2p id.
func (n *Node) ID() string { return string(n.cmt.NodeInfo().ID()) }

// Height returns the height of the last block in the node's block store.
func (n *Node) Height() int64 { return n.cmt.BlockStore().Height() }

// ValidatorKey is this node's consensus key (ed25519).
func (n *Node) ValidatorKey() (receipt.PubKey, error) {
	pk, err := n.cmt.PrivValidator().GetPubKey()
	if err != nil {
		return receipt.PubKey{}, err
	}
	if len(pk.Bytes()) != 32 {
		return receipt.PubKey{}, fmt.Errorf("chainengine: validator key of type %s", pk.Type())
	}
	return receipt.PubKey(pk.Bytes()), nil
}

// CommitSize is how many validators the set that committed the node's
// latest block has (one commit signature slot each).
func (n *Node) CommitSize() int {
	c := n.cmt.BlockStore().LoadSeenCommit(n.Height())
	if c == nil {
		return 0
	}
	return len(c.Signatures)
}

// Peers returns the number of connected peers.
func (n *Node) Peers() int { return n.cmt.Switch().Peers().Size() }

// AppInfo asks the app, through the node's query connection, for its last
// committed height and app hash.
func (n *Node) AppInfo(ctx context.Context) (height int64, appHash []byte, err error) {
	res, err := n.cmt.ProxyApp().Query().Info(ctx, proxy.InfoRequest)
	if err != nil {
		return 0, nil, err
	}
	return res.LastBlockHeight, res.LastBlockAppHash, nil
}

// Query runs an ABCI query through the node's query connection.
func (n *Node) Query(ctx context.Context, path string, data []byte) (*abci.QueryResponse, error) {
	return n.cmt.ProxyApp().Query().Query(ctx, &abci.QueryRequest{Path: path, Data: data})
}

// SignedCommit reports whether this node's validator key signed the
// commit of block h, and whether the node has that commit.
func (n *Node) SignedCommit(h int64) (signed, ok bool) {
	c := n.cmt.BlockStore().LoadBlockCommit(h)
	if c == nil {
		if c = n.cmt.BlockStore().LoadSeenCommit(h); c == nil {
			return false, false
		}
	}
	pk, err := n.cmt.PrivValidator().GetPubKey()
	if err != nil {
		return false, false
	}
	for _, s := range c.Signatures {
		if s.ValidatorAddress.String() == pk.Address().String() && s.Signature != nil {
			return true, true
		}
	}
	return false, true
}
