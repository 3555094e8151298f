package chainengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/p2p"
)

// AppFactory makes the app of node i, whose home is nodeHome. An app that
// implements io.Closer is closed after its node stops.
type AppFactory func(nodeHome string, i int) (App, error)

// LocalnetOptions adjust StartLocalnet. The zero value is usable.
type LocalnetOptions struct {
	ChainID  string          // default DefaultLocalnetChainID; used on first start only
	AppState json.RawMessage // genesis app_state on first start; nil means {}
	Logger   log.Logger      // default: errors to stderr
	// RPC serves CometBFT's HTTP RPC for each node on a free loopback port
	// (see (*Localnet).RPCAddr). Off by default: in-process users submit
	// through (*Node).Submit.
	RPC bool
	// ReadyTimeout bounds the wait for the nodes to connect and agree on a
	// block. Default 60s.
	ReadyTimeout time.Duration
	// Config, if set, adjusts node i's config after it is loaded (tests).
	Config func(i int, cfg *cmtcfg.Config)
}

// DefaultLocalnetChainID is the chain id of a localnet unless told otherwise.
const DefaultLocalnetChainID = "ewr-localnet"

// Localnet is n validators running in this process on loopback.
type Localnet struct {
	home    string
	factory AppFactory
	opts    LocalnetOptions
	logger  log.Logger
	cfgs    []*cmtcfg.Config

	mu    sync.Mutex
	nodes []*Node // nil while stopped
}

// startAttempts bounds retries when a freshly picked port was taken by
// someone else before the node bound it.
const startAttempts = 3

// StartLocalnet runs n validators in this process. On first start it
// generates their homes under home (home/node0 ...); later starts reuse them,
// so the chain resumes from its data. Ports are picked free on 127.0.0.1 at
// every start. It returns once every node is connected to every other and
// the chain has a block.
func StartLocalnet(ctx context.Context, home string, n int, factory AppFactory, opts LocalnetOptions) (*Localnet, error) {
	if opts.ChainID == "" {
		opts.ChainID = DefaultLocalnetChainID
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 60 * time.Second
	}
	if opts.Logger == nil {
		l, err := NewLogger(os.Stderr, DefaultLogLevel)
		if err != nil {
			return nil, err
		}
		opts.Logger = l
	}
	if err := ensureLocalnetHomes(home, n, opts); err != nil {
		return nil, err
	}
	var lastErr error
	for range startAttempts {
		ln := &Localnet{home: home, factory: factory, opts: opts, logger: opts.Logger, nodes: make([]*Node, n)}
		err := ln.start(ctx, n)
		if err == nil {
			return ln, nil
		}
		lastErr = err
		if !errors.Is(err, syscall.EADDRINUSE) && !strings.Contains(err.Error(), "address already in use") {
			return nil, err
		}
		opts.Logger.Info("Localnet port taken; retrying with new ports", "err", err)
	}
	return nil, lastErr
}

// ensureLocalnetHomes generates the homes unless they exist.
func ensureLocalnetHomes(home string, n int, opts LocalnetOptions) error {
	_, err := os.Stat(configPath(NodeHome(home, 0)))
	if errors.Is(err, os.ErrNotExist) {
		ports := make([]NodePorts, n) // placeholders: ports are picked at each start
		_, err := generateTestnet(home, opts.ChainID, opts.AppState, ports)
		return err
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(configPath(NodeHome(home, n-1))); err != nil {
		return fmt.Errorf("chainengine: %s holds a localnet of another size than %d: %w", home, n, err)
	}
	if _, err := os.Stat(NodeHome(home, n)); err == nil {
		return fmt.Errorf("chainengine: %s holds a localnet of more than %d validators", home, n)
	}
	return nil
}

func (ln *Localnet) start(ctx context.Context, n int) error {
	perNode := 1
	if ln.opts.RPC {
		perNode = 2
	}
	ports, err := FreePorts(perNode * n)
	if err != nil {
		return err
	}
	ln.cfgs = make([]*cmtcfg.Config, n)
	ids := make([]p2p.ID, n)
	for i := range n {
		cfg, err := LoadConfig(NodeHome(ln.home, i))
		if err != nil {
			return err
		}
		key, err := p2p.LoadNodeKey(cfg.NodeKeyFile())
		if err != nil {
			return err
		}
		ids[i] = key.ID()
		cfg.P2P.ListenAddress = loopbackAddr(ports[perNode*i])
		cfg.RPC.ListenAddress = ""
		if ln.opts.RPC {
			cfg.RPC.ListenAddress = loopbackAddr(ports[perNode*i+1])
		}
		ln.cfgs[i] = cfg
	}
	for i, cfg := range ln.cfgs {
		var peers []string
		for j := range n {
			if j != i {
				peers = append(peers, p2p.IDAddressString(ids[j], strings.TrimPrefix(ln.cfgs[j].P2P.ListenAddress, "tcp://")))
			}
		}
		cfg.P2P.PersistentPeers = strings.Join(peers, ",")
		if ln.opts.Config != nil {
			ln.opts.Config(i, cfg)
		}
	}
	for i := range n {
		if err := ln.StartNode(ctx, i); err != nil {
			ln.Stop()
			return err
		}
	}
	if err := ln.waitReady(ctx); err != nil {
		ln.Stop()
		return err
	}
	return nil
}

// waitReady waits until every node is connected to all others, has a block,
// and is in consensus (not catching up).
func (ln *Localnet) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ln.opts.ReadyTimeout)
	defer cancel()
	return poll(ctx, 20*time.Millisecond, func() (bool, error) {
		nodes := ln.Nodes()
		for _, nd := range nodes {
			if nd == nil || nd.Peers() < len(nodes)-1 || nd.Height() < 1 || nd.cmt.ConsensusReactor().WaitSync() {
				return false, nil
			}
		}
		return true, nil
	})
}

// poll calls cond every interval until it is true, fails, or ctx ends.
func poll(ctx context.Context, interval time.Duration, cond func() (bool, error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("chainengine: waiting: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// Home returns the localnet's directory.
func (ln *Localnet) Home() string { return ln.home }

// ChainID returns the chain id.
func (ln *Localnet) ChainID() string { return ln.opts.ChainID }

// Nodes returns the nodes, nil for a stopped one.
func (ln *Localnet) Nodes() []*Node {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	return append([]*Node(nil), ln.nodes...)
}

// Node returns node i, or nil if it is stopped.
func (ln *Localnet) Node(i int) *Node {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	return ln.nodes[i]
}

// RPCAddr returns node i's RPC address (http://127.0.0.1:port), or "" if
// RPC is off.
func (ln *Localnet) RPCAddr(i int) string {
	a := ln.cfgs[i].RPC.ListenAddress
	if a == "" {
		return ""
	}
	return "http://" + strings.TrimPrefix(a, "tcp://")
}

// StartNode starts stopped node i with a new app from the factory, on the
// ports it had. It does not wait for the node to catch up.
func (ln *Localnet) StartNode(ctx context.Context, i int) error {
	ln.mu.Lock()
	running := ln.nodes[i] != nil
	ln.mu.Unlock()
	if running {
		return fmt.Errorf("chainengine: node %d is running", i)
	}
	app, err := ln.factory(NodeHome(ln.home, i), i)
	if err != nil {
		return fmt.Errorf("chainengine: app of node %d: %w", i, err)
	}
	nd, err := StartNodeWithConfig(ctx, ln.cfgs[i], app, ln.logger.With("node", i))
	if err != nil {
		closeApp(app)
		return err
	}
	ln.mu.Lock()
	ln.nodes[i] = nd
	ln.mu.Unlock()
	return nil
}

// StopNode stops node i and closes its app.
func (ln *Localnet) StopNode(i int) error {
	ln.mu.Lock()
	nd := ln.nodes[i]
	ln.nodes[i] = nil
	ln.mu.Unlock()
	if nd == nil {
		return nil
	}
	id := nd.cmt.NodeInfo().ID()
	err := nd.Stop()
	// CometBFT leaks a connection its switch accepts while stopping: a peer
	// that redialed in that instant keeps a half-open link and refuses the
	// restarted node as a duplicate until a ping times out (tens of
	// seconds). A separate process's exit closes such links; here the
	// survivors drop them.
	for _, other := range ln.Nodes() {
		if other != nil {
			if p := other.cmt.Switch().Peers().Get(id); p != nil {
				other.cmt.Switch().StopPeerForError(p, "peer stopped in-process")
			}
		}
	}
	return errors.Join(err, closeApp(nd.App()))
}

// Stop stops every node (concurrently) and closes their apps.
func (ln *Localnet) Stop() error {
	var wg sync.WaitGroup
	errs := make([]error, len(ln.nodes))
	for i := range ln.Nodes() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = ln.StopNode(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func closeApp(app App) error {
	if c, ok := app.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
