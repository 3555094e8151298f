package member

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/indexer/pgcluster"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/nats-io/nats.go"
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
	NATS struct {
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
	API struct {
		Listen string `toml:"listen" comment:"host:port of this member's API"`
		// Participants are those whose keys this member holds and for
		// whom its API acts (keys/<id>.json in the home, or the demo
		// world's with --demo).
		Participants []string `toml:"participants" comment:"the participants whose keys this member holds (keys/<id>.json)"`
	} `toml:"api"`
}

// LoadConfig reads <home>/ewr.toml; an unknown key is an error.
func LoadConfig(home string) (*Config, error) {
	raw, err := os.ReadFile(filepath.Join(home, ConfigFile))
	if err != nil {
		return nil, err
	}
	var c Config
	dec := toml.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(home, ConfigFile), err)
	}
	c.Home = home
	if c.API.Listen == "" {
		return nil, fmt.Errorf("%s: api.listen is required", filepath.Join(home, ConfigFile))
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
	// URL is the member's API.
	URL string

	stops []func() error
	once  sync.Once
}

// Options are what a member gets from its host besides the config: the
// keys it holds and the bearer tokens of its API.
type Options struct {
	Keys   api.KeyMap
	Tokens map[string]string // token → participant
	// DB is the read model's database, instead of the config's (tests).
	DB     *sql.DB
	Logger *slog.Logger
	// ChainLogger is CometBFT's; nil: errors only, on stderr.
	ChainLogger log.Logger
}

// Start starts a member's stack from its config: the node, the NATS and
// the chain's event feed on it, the read model, the API. On error nothing
// is left running.
func Start(ctx context.Context, c *Config, o Options) (_ *Member, err error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
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
	for _, p := range c.API.Participants {
		if _, ok := o.Keys[p]; !ok {
			return nil, fmt.Errorf("member: no key for participant %s", p)
		}
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
	m.App = app
	m.stops = append(m.stops, app.Close)
	if err := chainengine.CheckHomeChain(c.Home, app); err != nil {
		return nil, err
	}
	node, err := chainengine.StartNode(ctx, c.Home, app, o.ChainLogger)
	if err != nil {
		return nil, err
	}
	m.Node = node
	m.stops = append(m.stops, node.Stop)

	// NATS and the event feed.
	var nc *nats.Conn
	if c.NATS.URL != "" {
		if nc, err = bus.Connect(ctx, c.NATS.URL); err != nil {
			return nil, err
		}
	} else {
		bo := bus.Options{StoreDir: filepath.Join(c.Home, "data", "nats"), Port: bus.RandomPort, Logger: o.Logger}
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
	m.goRun("event feed", o.Logger, (&Feed{Chain: app, JetStream: js, Logger: o.Logger}).Run)

	// The read model.
	db := o.DB
	if db == nil {
		dsn := c.ReadModel.DatabaseURL
		if dsn == "" {
			cl, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(c.Home, "data", "pg"), Fsync: true, Logger: o.Logger})
			if err != nil {
				return nil, fmt.Errorf("member: PostgreSQL: %w", err)
			}
			m.stops = append(m.stops, cl.Stop)
			if err := cl.CreateDatabase(ctx, pgcluster.AppDatabase); err != nil {
				return nil, err
			}
			dsn = cl.DSN(pgcluster.AppDatabase)
		}
		if db, err = sql.Open("postgres", dsn); err != nil {
			return nil, err
		}
		m.stops = append(m.stops, db.Close)
	}
	if err := indexer.Migrate(ctx, db); err != nil {
		return nil, fmt.Errorf("member: read model schema: %w", err)
	}
	ix := indexer.New(db, indexer.Config{Logger: o.Logger})
	m.goRun("indexer", o.Logger, func(ctx context.Context) error { return ix.Run(ctx, api.ChainSource{Chain: app}) })

	// The API.
	prover, err := chainengine.NewProver(node)
	if err != nil {
		return nil, err
	}
	srv, err := api.New(api.Config{Chain: app, Node: node, Prover: prover, Keys: o.Keys, Tokens: api.NewTokens(o.Tokens),
		Queries: indexer.NewQueries(db), IndexerStatus: ix.Status, IdempotencyDir: filepath.Join(c.Home, "data", "api", "idempotency"),
		Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", c.API.Listen)
	if err != nil {
		_ = srv.Shutdown(context.Background())
		return nil, fmt.Errorf("member: API: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	m.stops = append(m.stops, func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return errors.Join(srv.Shutdown(sctx), <-served)
	})
	m.URL = "http://" + l.Addr().String()
	return m, nil
}

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
