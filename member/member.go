package member

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/p2p"
	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/indexer/pgcluster"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/iot/supervisor"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	toml "github.com/pelletier/go-toml/v2"

	_ "github.com/lib/pq" // the read model's driver
)

// ConfigFile is a member's config in its home.
const ConfigFile = "ewr.toml"

// Config is one member's stack: its node (CometBFT home: config/, data/),
// its NATS, its read model and the API for the participants whose keys it
// holds. Read from <home>/ewr.toml (LoadConfig).
type Config struct {
	// Home is the member's home (set by LoadConfig).
	Home string `toml:"-"`
	// Genesis is the SHA-256 (hex) of the genesis file the consortium
	// agreed on, as CometBFT hashes it (the file's bytes). A member whose
	// config/genesis.json hashes otherwise is refused at start. Empty:
	// unchecked.
	Genesis string `toml:"genesis_sha256,omitempty" comment:"sha256 of the consortium's genesis file: a member whose config/genesis.json differs is refused"`
	NATS    struct {
		// URL of an external NATS server; empty: an embedded one in
		// <home>/data/nats.
		URL string `toml:"url" comment:"an external NATS server; empty: embedded, in data/nats"`
		// Listen is the embedded server's host:port; empty: a free port
		// on 127.0.0.1 (the member's own systems then reach it only there).
		Listen string `toml:"listen,omitempty" comment:"the embedded server's host:port; empty: a free port on 127.0.0.1"`
	} `toml:"nats"`
	ReadModel struct {
		// DatabaseURL is a PostgreSQL of the member's own; empty: a private
		// cluster in <home>/data/pg.
		DatabaseURL string `toml:"database_url" comment:"the member's own PostgreSQL; empty: a private cluster in data/pg"`
	} `toml:"read_model"`
	// Supervise are the warehouses whose devices this member supervises:
	// their readings reach its NATS, its supervisors verify them and
	// submit what the lock needs.
	Supervise []Supervision `toml:"supervise,omitempty" comment:"the warehouses whose devices this member supervises (their readings on its NATS)"`
	// Peers are the consortium's other nodes: this member dials them and
	// keeps no other peer. Empty: config/config.toml's persistent_peers,
	// unchecked.
	Peers []Peer `toml:"peers,omitempty" comment:"the consortium's other nodes: dialed, and the only peers kept"`
	API   struct {
		Listen string `toml:"listen" comment:"host:port of this member's API"`
		// Participants are those whose keys this member holds and for
		// whom its API acts (keys/<id>.json in the home, or the demo
		// world's with --demo).
		Participants []string `toml:"participants" comment:"the participants whose keys this member holds (keys/<id>.json)"`
	} `toml:"api"`
}

// Supervision is one warehouse a member supervises.
type Supervision struct {
	Warehouse string `toml:"warehouse"`
	// Signer signs the supervisor's txs: the warehouse's collateral
	// manager, or a supervisor the consortium registered for it.
	Signer string `toml:"signer" comment:"the collateral manager or a registered supervisor; its key among api.participants"`
}

// Peer is another member's node.
type Peer struct {
	Name    string `toml:"name" comment:"the member"`
	ID      string `toml:"id" comment:"its node id (config/node_key.json; ewr node prints it)"`
	Address string `toml:"address" comment:"host:port of its p2p listener"`
}

// PeersOf is each home's node as a peer (named by its home's folder).
func PeersOf(homes []string) ([]Peer, error) {
	out := make([]Peer, len(homes))
	for k, h := range homes {
		id, addr, err := chainengine.NodeAddress(h)
		if err != nil {
			return nil, err
		}
		out[k] = Peer{Name: filepath.Base(h), ID: id, Address: addr}
	}
	return out, nil
}

// Others is peers without the k-th.
func Others(peers []Peer, k int) []Peer {
	return append(append([]Peer(nil), peers[:k]...), peers[k+1:]...)
}

// applyPeers checks the config's peers and makes them the node's only
// ones. It refuses a malformed peer, this node itself, and a peer in
// config.toml's persistent_peers that the consortium's list does not know.
func applyPeers(c *Config, ccfg *cmtcfg.Config) ([]string, error) {
	if len(c.Peers) == 0 {
		return nil, nil
	}
	file := filepath.Join(c.Home, ConfigFile)
	nk, err := p2p.LoadNodeKey(ccfg.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("member: node key: %w", err)
	}
	known := map[string]bool{}
	var ids, addrs []string
	for i, p := range c.Peers {
		if _, err := p2p.NewNetAddressString(p.ID + "@" + p.Address); err != nil {
			return nil, fmt.Errorf("%s: peers[%d] (%s): %v", file, i, p.Name, err)
		}
		if p.ID == string(nk.ID()) {
			return nil, fmt.Errorf("%s: peers[%d] (%s) is this member's own node", file, i, p.Name)
		}
		if known[p.ID] {
			return nil, fmt.Errorf("%s: peers[%d] (%s): node %s is listed twice", file, i, p.Name, p.ID)
		}
		known[p.ID] = true
		ids, addrs = append(ids, p.ID), append(addrs, p.ID+"@"+p.Address)
	}
	for _, e := range strings.Split(ccfg.P2P.PersistentPeers, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		if id, _, _ := strings.Cut(e, "@"); !known[id] {
			return nil, fmt.Errorf("member: config/config.toml names peer %s, which is not one of the consortium's nodes listed in %s", e, file)
		}
	}
	ccfg.P2P.PersistentPeers = strings.Join(addrs, ",")
	ccfg.FilterPeers = true
	return ids, nil
}

// ErrOtherGenesis: a member's genesis is not the one its consortium agreed on.
var ErrOtherGenesis = errors.New("member: the genesis is not the consortium's")

// GenesisHash is the SHA-256 (hex) of a home's config/genesis.json, the
// hash CometBFT keeps of the genesis it started from.
func GenesisHash(home string) (string, error) {
	return fileSHA256(filepath.Join(home, "config", "genesis.json"))
}

func fileSHA256(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("member: genesis: %w", err)
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), nil
}

// CheckGenesis refuses a genesis file (the node's, as config.toml names
// it) that is not the one c names: a member that started from it would
// never agree with the others' blocks.
func (c *Config) CheckGenesis(genesisFile string) error {
	if c.Genesis == "" {
		return nil
	}
	have, err := fileSHA256(genesisFile)
	if err != nil {
		return err
	}
	if have != c.Genesis {
		return fmt.Errorf("%w: %s hashes to sha256 %s, %s names the consortium's as %s; get the genesis file the other members run",
			ErrOtherGenesis, genesisFile, have, filepath.Join(c.Home, ConfigFile), c.Genesis)
	}
	return nil
}

// LoadConfig reads <home>/ewr.toml; an unknown key is an error.
func LoadConfig(home string) (*Config, error) {
	var c Config
	if err := readTOML(filepath.Join(home, ConfigFile), &c); err != nil {
		return nil, err
	}
	c.Home = home
	if c.API.Listen == "" {
		return nil, fmt.Errorf("%s: api.listen is required", filepath.Join(home, ConfigFile))
	}
	if c.Genesis != "" {
		if b, err := hex.DecodeString(c.Genesis); err != nil || len(b) != sha256.Size || c.Genesis != strings.ToLower(c.Genesis) {
			return nil, fmt.Errorf("%s: genesis_sha256 %q is not a SHA-256 in lower-case hex (64 digits)", filepath.Join(home, ConfigFile), c.Genesis)
		}
	}
	return &c, nil
}

// WriteConfig writes c to <home>/ewr.toml, with its comments.
func WriteConfig(home string, c *Config) error {
	b, err := toml.Marshal(c)
	if err != nil {
		return err
	}
	head := "# ewr member config: this member's NATS, read model and API. The node's own\n" +
		"# settings (peers by address, ports) are in config/config.toml.\n\n"
	return os.WriteFile(filepath.Join(home, ConfigFile), append([]byte(head), b...), 0o600)
}

// Member is one member's running stack.
type Member struct {
	App  *chainengine.ReceiptApp
	Node *chainengine.Node
	// JetStream is the member's NATS (nil with Options.NoNATS).
	JetStream jetstream.JetStream
	// DB and Indexer are the read model (nil with Options.NoReadModel).
	DB      *sql.DB
	Indexer *indexer.Indexer
	// APIConfig is the API's configuration as the member completed it;
	// Options.BeforeAPI may add to it (a simulator, say).
	APIConfig api.Config
	// Server and URL are the member's API (none without api.listen).
	Server *api.Server
	URL    string

	stops   []func() error
	stopAPI func() error
	once    sync.Once
}

// Options are what a member gets from its host besides the config: the
// keys it holds and the bearer tokens of its API. The No* options leave
// a part out, for hosts (benchmarks, tests) that measure or fake it.
type Options struct {
	Keys   api.KeyMap
	Tokens map[string]string // token → participant
	// DB is the read model's database, instead of the config's (tests).
	DB     *sql.DB
	Logger *slog.Logger
	// ChainLogger is CometBFT's; nil: errors only, on stderr.
	ChainLogger log.Logger
	// Observer runs the node as a full node that does not validate
	// (chainengine.Observe).
	Observer bool
	// DataDir holds the member's NATS, PostgreSQL and API data; empty:
	// <home>/data.
	DataDir string
	// API is the API's configuration before the member fills in its
	// chain, node, prover, keys, tokens and read model (limits, timeouts).
	API api.Config
	// BeforeAPI runs once the node, NATS, supervisors and read model are
	// up and before the API starts.
	BeforeAPI   func(ctx context.Context, m *Member) error
	NoNATS      bool
	NoReadModel bool
}

// Start starts a member's stack from its config: the node, the NATS and
// the chain's event feed on it, the read model, the API. On error nothing
// is left running.
func Start(ctx context.Context, c *Config, o Options) (_ *Member, err error) {
	if o.ChainLogger == nil {
		if o.ChainLogger, err = chainengine.NewLogger(os.Stderr, "*:error"); err != nil {
			return nil, err
		}
	}
	m := &Member{}
	defer func() {
		if err != nil {
			err = errors.Join(err, m.Stop())
		}
	}()
	if err := checkKeys(c, o); err != nil {
		return nil, err
	}

	// The node's config, genesis and peers, checked before anything is
	// opened.
	ccfg, err := chainengine.LoadConfig(c.Home)
	if err != nil {
		return nil, err
	}
	if err := c.CheckGenesis(ccfg.GenesisFile()); err != nil {
		return nil, err
	}
	peers, err := applyPeers(c, ccfg)
	if err != nil {
		return nil, err
	}

	// The node, alone on its home, on the chain its genesis names.
	release, err := chainengine.LockHome(c.Home)
	if err != nil {
		return nil, err
	}
	m.stops = append(m.stops, func() error { release(); return nil })
	app, err := chainengine.NewReceiptApp(chainengine.ReceiptAppDir(c.Home), o.ChainLogger)
	if err != nil {
		return nil, err
	}
	m.stops = append(m.stops, app.Close)
	if err := chainengine.CheckHomeChain(c.Home, app); err != nil {
		return nil, err
	}
	if peers != nil {
		app.SetPeerFilter(peers)
	}
	if o.Observer {
		if err := chainengine.Observe(ccfg); err != nil {
			return nil, err
		}
	}
	node, err := chainengine.StartNodeWithConfig(ctx, ccfg, app, o.ChainLogger)
	if err != nil {
		return nil, err
	}
	m.stops = append(m.stops, node.Stop)
	return m, m.attach(ctx, node, c, o)
}

// Attach starts a member's services around a node its host runs (a
// validator of an in-process localnet): NATS and the event feed, the
// supervisors, the read model and, when c.API.Listen is set, the API.
// Stop stops them, not the node. On error nothing is left running.
func Attach(ctx context.Context, node *chainengine.Node, c *Config, o Options) (_ *Member, err error) {
	m := &Member{}
	defer func() {
		if err != nil {
			err = errors.Join(err, m.Stop())
		}
	}()
	if err := checkKeys(c, o); err != nil {
		return nil, err
	}
	return m, m.attach(ctx, node, c, o)
}

// checkKeys refuses a config naming participants whose keys the member
// does not hold.
func checkKeys(c *Config, o Options) error {
	for _, p := range c.API.Participants {
		if _, ok := o.Keys[p]; !ok {
			return fmt.Errorf("member: no key for participant %s", p)
		}
	}
	for _, sv := range c.Supervise {
		if _, ok := o.Keys[sv.Signer]; !ok || sv.Signer == "" {
			return fmt.Errorf("member: %s: the signer %q of %s's supervision must be one of api.participants, whose keys the member holds",
				filepath.Join(c.Home, ConfigFile), sv.Signer, sv.Warehouse)
		}
	}
	return nil
}

// checkChainKeys refuses a key the chain does not hold for its
// participant: a key file made for another chain, or one rotated since.
func checkChainKeys(c *Config, o Options, app *chainengine.ReceiptApp) error {
	st, _ := app.State()
	for _, p := range c.API.Participants {
		rec, ok := ledger.Get[receipt.Participant](st, receipt.ParticipantKey(p))
		if !ok {
			return fmt.Errorf("member: %s: api.participants names %s, who is not a participant of this chain", filepath.Join(c.Home, ConfigFile), p)
		}
		if pub, _ := o.Keys[p].Public().(ed25519.PublicKey); !bytes.Equal(pub, rec.PubKey[:]) {
			return fmt.Errorf("member: the key this member holds for %s is not the one the chain has for it (a key of another chain, or rotated since)", p)
		}
	}
	return nil
}

func (m *Member) attach(ctx context.Context, node *chainengine.Node, c *Config, o Options) (err error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	data := o.DataDir
	if data == "" {
		data = filepath.Join(c.Home, "data")
	}
	app, ok := node.App().(*chainengine.ReceiptApp)
	if !ok {
		return fmt.Errorf("member: the node runs %T, not the receipt app", node.App())
	}
	m.App, m.Node = app, node
	if err := checkChainKeys(c, o, app); err != nil {
		return err
	}

	// NATS and the event feed.
	if !o.NoNATS {
		if m.JetStream, err = m.startNATS(ctx, c, data, o.Logger); err != nil {
			return err
		}
		m.goRun("event feed", o.Logger, (&Feed{Chain: app, JetStream: m.JetStream, Logger: o.Logger}).Run)
	}

	// The supervision of the member's warehouses.
	signer := &chainengine.Client{Node: node, Keys: func(id string) (ed25519.PrivateKey, bool) { k, ok := o.Keys[id]; return k, ok }}
	if len(c.Supervise) > 0 && m.JetStream == nil {
		return fmt.Errorf("member: supervision needs the member's NATS")
	}
	for _, sv := range c.Supervise {
		sup, err := supervisor.Start(ctx, supervisor.Config{Warehouse: sv.Warehouse, Signer: sv.Signer, Chain: app, Submitter: signer,
			JetStream: m.JetStream, Logger: o.Logger})
		if err != nil {
			return fmt.Errorf("member: supervisor of %s: %w", sv.Warehouse, err)
		}
		m.stops = append(m.stops, sup.Stop)
	}

	// The API's configuration, and the read model it queries.
	prover, err := chainengine.NewProver(node)
	if err != nil {
		return err
	}
	cfg := o.API
	cfg.Chain, cfg.Node, cfg.Prover, cfg.Keys, cfg.Tokens = app, node, prover, o.Keys, api.NewTokens(o.Tokens)
	if cfg.Logger == nil {
		cfg.Logger = o.Logger
	}
	if cfg.IdempotencyDir == "" && c.Home != "" {
		cfg.IdempotencyDir = filepath.Join(data, "api", "idempotency")
	}
	if !o.NoReadModel {
		if err := m.startReadModel(ctx, c, o, data); err != nil {
			return err
		}
		cfg.Queries, cfg.IndexerStatus = indexer.NewQueries(m.DB), m.Indexer.Status
	}
	if m.JetStream != nil && cfg.Readings == nil {
		cfg.Readings = readings{m.JetStream}
	}
	m.APIConfig = cfg
	if o.BeforeAPI != nil {
		if err := o.BeforeAPI(ctx, m); err != nil {
			return err
		}
	}
	if c.API.Listen != "" {
		return m.StartAPI(c.API.Listen)
	}
	return nil
}

func (m *Member) startNATS(ctx context.Context, c *Config, data string, logger *slog.Logger) (jetstream.JetStream, error) {
	var nc *nats.Conn
	var err error
	if c.NATS.URL != "" {
		if nc, err = bus.Connect(ctx, c.NATS.URL); err != nil {
			return nil, err
		}
	} else {
		bo := bus.Options{StoreDir: filepath.Join(data, "nats"), Port: bus.RandomPort, Logger: logger}
		if c.NATS.Listen != "" {
			host, port, err := net.SplitHostPort(c.NATS.Listen)
			if err != nil {
				return nil, fmt.Errorf("member: nats.listen %q: %w", c.NATS.Listen, err)
			}
			if bo.Port, err = strconv.Atoi(port); err != nil || bo.Port <= 0 {
				return nil, fmt.Errorf("member: nats.listen %q: a port is required", c.NATS.Listen)
			}
			bo.Host = host
		}
		ns, err := bus.StartEmbedded(bo)
		if err != nil {
			return nil, fmt.Errorf("member: embedded NATS: %w", err)
		}
		m.stops = append(m.stops, func() error { ns.Shutdown(); return nil })
		if nc, err = ns.Connect(ctx); err != nil {
			return nil, err
		}
	}
	m.stops = append(m.stops, func() error { nc.Close(); return nil })
	js, err := bus.JetStream(nc)
	if err != nil {
		return nil, err
	}
	if err := bus.EnsureStreams(ctx, js, bus.StreamOptions{}); err != nil {
		return nil, err
	}
	return js, nil
}

func (m *Member) startReadModel(ctx context.Context, c *Config, o Options, data string) error {
	db := o.DB
	if db == nil {
		dsn := c.ReadModel.DatabaseURL
		if dsn == "" {
			cl, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(data, "pg"), Fsync: true, Logger: o.Logger})
			if err != nil {
				return fmt.Errorf("member: PostgreSQL: %w", err)
			}
			m.stops = append(m.stops, cl.Stop)
			if err := cl.CreateDatabase(ctx, pgcluster.AppDatabase); err != nil {
				return err
			}
			dsn = cl.DSN(pgcluster.AppDatabase)
		}
		var err error
		if db, err = sql.Open("postgres", dsn); err != nil {
			return err
		}
		m.stops = append(m.stops, db.Close)
	}
	if err := indexer.Migrate(ctx, db); err != nil {
		return fmt.Errorf("member: read model schema: %w", err)
	}
	m.DB, m.Indexer = db, indexer.New(db, indexer.Config{Logger: o.Logger})
	ix, app := m.Indexer, m.App
	m.goRun("indexer", o.Logger, func(ctx context.Context) error { return ix.Run(ctx, api.ChainSource{Chain: app}) })
	return nil
}

// StartAPI serves the member's API (m.APIConfig) on listen; StopAPI
// stops it, and Stop stops it too.
func (m *Member) StartAPI(listen string) error {
	if m.stopAPI != nil {
		return fmt.Errorf("member: the API is already serving at %s", m.URL)
	}
	srv, err := api.New(m.APIConfig)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		_ = srv.Shutdown(context.Background())
		return fmt.Errorf("member: API: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	m.Server, m.URL = srv, "http://"+l.Addr().String()
	var once sync.Once
	var stopErr error
	m.stopAPI = func() error {
		once.Do(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			stopErr = srv.Shutdown(sctx)
			if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
				stopErr = errors.Join(stopErr, err)
			}
		})
		return stopErr
	}
	stop := m.stopAPI
	m.stops = append(m.stops, stop)
	return nil
}

// StopAPI stops the API; the rest of the stack keeps running.
func (m *Member) StopAPI() error {
	stop := m.stopAPI
	m.stopAPI = nil
	if stop == nil {
		return nil
	}
	return stop()
}

// Defer adds stop to what Stop stops, before the parts already running
// (a host's simulator on the member's NATS, say).
func (m *Member) Defer(stop func() error) { m.stops = append(m.stops, stop) }

// goRun runs a part of the stack until Stop.
func (m *Member) goRun(what string, logger *slog.Logger, run func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := run(ctx); err != nil && ctx.Err() == nil {
			logger.Error("member: "+what+" stopped", "err", err)
		}
	}()
	m.stops = append(m.stops, func() error { cancel(); <-done; return nil })
}

// Stop stops the stack, the last part started first.
func (m *Member) Stop() error {
	var errs []error
	m.once.Do(func() {
		for i := len(m.stops) - 1; i >= 0; i-- {
			errs = append(errs, m.stops[i]())
		}
	})
	return errors.Join(errs...)
}
