// Package apitest starts a whole system for tests: a local consortium of
// real CometBFT validators running the receipt app with the demo world's
// genesis, optionally the read model on a private PostgreSQL, and the real
// API serving HTTP on a random loopback port.
package apitest

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"github.com/nats-io/nats.go/jetstream"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/apiclient"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/indexer/pgcluster/pgtest"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/member"
	"github.com/ewrchain/ewr/simulators/iotsim"
)

// Options shape the system.
type Options struct {
	Validators int  // default 4
	ReadModel  bool // run the indexer on a database of pgtest.ForTest
	// IdempotencyDir persists idempotency records (default: memory).
	IdempotencyDir string
	// IoT runs the simulated devices and the IoT supervisors on an
	// embedded NATS server (package iotsim): the API's simulator faults
	// and the supervision's breaches work.
	IoT           bool
	CommitTimeout time.Duration
	BodyLimit     int
	// NoKeyFor are participants whose keys the node does not hold: they
	// sign offline (their tokens still work).
	NoKeyFor []string
	// Logger gets the API's log (default: discarded).
	Logger *slog.Logger
	// Limits are the API's per-participant limits (zero: its defaults).
	Limits api.Config
}

// System is a running system.
type System struct {
	t        testing.TB
	opts     Options
	Localnet *chainengine.Localnet
	World    *ledger.World
	Server   *api.Server
	URL      string
	Tokens   map[string]string // participant → token
	DB       *sql.DB
	Indexer  *indexer.Indexer
	Genesis  string // node 0's CometBFT genesis file, for proofs
	IoT      *iotsim.System
	// Bus is the embedded NATS's JetStream (with IoT); Direct submits
	// signed txs straight to a validator with the world's keys, around
	// the API and the supervisor.
	Bus    jetstream.JetStream
	Direct *chainengine.Client

	// Member is the stack around node 0 (member.Attach).
	Member *member.Member
}

// Start starts a system; t's cleanup stops it.
func Start(t testing.TB, o Options) *System {
	t.Helper()
	if o.Validators == 0 {
		o.Validators = 4
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := ledger.NewWorld("apitest", time.Now().Unix()+5*365*86400)
	appState, err := json.Marshal(&w.Genesis)
	if err != nil {
		t.Fatal(err)
	}
	logger := log.NewNopLogger()
	home := t.TempDir()
	ln, err := chainengine.StartLocalnet(ctx, home, o.Validators, func(nodeHome string, _ int) (chainengine.App, error) {
		return chainengine.NewReceiptApp(chainengine.ReceiptAppDir(nodeHome), logger)
	}, chainengine.LocalnetOptions{AppState: appState, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	s := &System{t: t, opts: o, Localnet: ln, World: w, Tokens: map[string]string{},
		Genesis: filepath.Join(home, "node0", "config", "genesis.json")}
	t.Cleanup(func() {
		if err := ln.Stop(); err != nil {
			t.Errorf("apitest: stop localnet: %v", err)
		}
	})
	keys := api.KeyMap{}
	byToken := map[string]string{}
	for id, a := range w.Actors {
		if !slices.Contains(o.NoKeyFor, id) {
			keys[id] = a.Key
		}
		tok := api.NewToken()
		s.Tokens[id] = tok
		byToken[tok] = id
	}
	node := ln.Node(0)
	s.Direct = &chainengine.Client{Node: node, Keys: func(id string) (ed25519.PrivateKey, bool) { return w.Key(id), w.Actors[id] != nil }}
	mo := member.Options{Keys: keys, Tokens: byToken, Logger: o.Logger, DataDir: home, NoNATS: !o.IoT, NoReadModel: !o.ReadModel,
		API: api.Config{IdempotencyDir: o.IdempotencyDir, CommitTimeout: o.CommitTimeout, BodyLimit: o.BodyLimit, Logger: o.Logger,
			StreamsPerParticipant: o.Limits.StreamsPerParticipant, DraftsPerParticipant: o.Limits.DraftsPerParticipant,
			RatePerS: o.Limits.RatePerS, RateBurst: o.Limits.RateBurst, StreamHeartbeat: o.Limits.StreamHeartbeat}}
	if o.ReadModel {
		mo.DB = pgtest.ForTest(t)
	}
	if o.IoT {
		// The simulated devices play the world's warehouses and run their
		// supervisors on the member's NATS.
		mo.BeforeAPI = func(ctx context.Context, m *member.Member) error {
			sim, err := iotsim.Start(context.Background(), iotsim.Config{World: w, Chain: m.App, JetStream: m.JetStream, Logger: o.Logger,
				Submitter: s.Direct})
			if err != nil {
				return err
			}
			m.Defer(sim.Stop)
			s.IoT, s.Bus = sim, m.JetStream
			m.APIConfig.Simulator, m.APIConfig.IoT = sim, sim
			return nil
		}
	}
	m, err := member.Attach(ctx, node, &member.Config{}, mo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Stop(); err != nil {
			t.Errorf("apitest: stop: %v", err)
		}
	})
	s.Member, s.DB, s.Indexer = m, m.DB, m.Indexer
	s.StartServer()
	return s
}

// StartServer starts (or restarts, after StopServer) the API.
func (s *System) StartServer() {
	s.t.Helper()
	if err := s.Member.StartAPI("127.0.0.1:0"); err != nil {
		s.t.Fatal(err)
	}
	s.Server, s.URL = s.Member.Server, s.Member.URL
}

// Config is the API's configuration, for tests that start a second
// server on the same chain.
func (s *System) Config() api.Config { return s.Member.APIConfig }

// Serve serves a server on a random port until the test ends and returns
// its URL.
func Serve(t testing.TB, srv *api.Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("apitest: shutdown: %v", err)
		}
		<-done
	})
	return "http://" + l.Addr().String()
}

// StopServer stops the API (the chain keeps running).
func (s *System) StopServer() {
	if err := s.Member.StopAPI(); err != nil {
		s.t.Errorf("apitest: stop the API: %v", err)
	}
}

// Client returns a client acting as participant.
func (s *System) Client(participant string) *apiclient.Client {
	return apiclient.New(s.URL, s.Tokens[participant])
}

// Driver returns a scenario driver through the API; the participants
// whose keys the node does not hold sign offline with the world's keys.
func (s *System) Driver() *apiclient.Driver {
	off := map[string]ed25519.PrivateKey{}
	for _, p := range s.opts.NoKeyFor {
		off[p] = s.World.Key(p)
	}
	return &apiclient.Driver{Client: apiclient.New(s.URL, ""), Tokens: s.Tokens, OfflineKeys: off}
}

// App is node 0's receipt app.
func (s *System) App() *chainengine.ReceiptApp {
	return s.Localnet.Node(0).App().(*chainengine.ReceiptApp)
}

// WaitIndexed waits until the read model has applied the chain's current
// height, or stopped (the API then answers from the chain).
func (s *System) WaitIndexed(ctx context.Context) error {
	h := s.App().Height()
	for {
		if s.Indexer == nil {
			return nil
		}
		if st := s.Indexer.Status(); st.Height >= h || (!st.Running && st.Err != nil) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
