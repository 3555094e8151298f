package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/indexer/pgcluster"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/member"
	"github.com/ewrchain/ewr/simulators/demo"
	"github.com/ewrchain/ewr/simulators/iotsim"
	_ "github.com/lib/pq" // the read model's driver
)

func init() {
	register(&command{name: "run", summary: "the whole system on this machine: consortium, NATS, PostgreSQL, indexer, devices, API, demo", run: runSystem})
}

// runState is what `ewr run` keeps between runs in <data>/run.json.
type runState struct {
	// Runs counts the starts: the demo tags its ids with it, so a second
	// run tells the story again with fresh ids.
	Runs int `json:"runs"`
	// CalibratedUntil is the demo devices' calibration expiry written into
	// the genesis at the first run.
	CalibratedUntil int64  `json:"calibrated_until"`
	Created         string `json:"created"`
}

// worldSeed is the demo world's key seed: `ewr demo` derives the same
// device keys to play the weighbridge.
const worldSeed = ledger.DemoSeed

func runSystem(ctx context.Context, args []string) error {
	fs := newFlags("run")
	dataDir := fs.String("data", envOr("EWR_DATA", defaultDataDir), "where everything keeps its data; reused on restart")
	addr := fs.String("addr", envOr("EWR_ADDR", "127.0.0.1:8080"), "API listen address")
	validators := fs.Int("validators", 4, "validators of the local consortium (first start only)")
	noDemo := fs.Bool("no-demo", false, "do not run the scripted demo once the system is up")
	noIoT := fs.Bool("no-iot", false, "run without the simulated devices and the IoT supervision")
	logLevel := fs.String("log-level", chainengine.DefaultLogLevel, logLevelUsage+" (to <data>/logs/chain.log)")
	natsURL := fs.String("nats-url", envOr("EWR_NATS_URL", ""), "an external NATS server with JetStream (default: an embedded one, data in <data>/nats)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	data, err := filepath.Abs(*dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(data, "logs"), 0o700); err != nil {
		return err
	}
	say := func(format string, a ...any) { fmt.Fprintf(stderr, "ewr run: "+format+"\n", a...) }

	st, err := loadRunState(data)
	if err != nil {
		return err
	}
	st.Runs++
	if err := saveRunState(data, st); err != nil {
		return err
	}
	world := ledger.NewWorld(worldSeed, st.CalibratedUntil)
	appState, err := json.Marshal(&world.Genesis)
	if err != nil {
		return err
	}
	chainLog, err := os.OpenFile(filepath.Join(data, "logs", "chain.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer chainLog.Close()
	ewrLog, err := os.OpenFile(filepath.Join(data, "logs", "ewr.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer ewrLog.Close()
	logger := slog.New(slog.NewTextHandler(ewrLog, nil))
	cmtLogger, err := chainengine.NewLogger(chainLog, *logLevel)
	if err != nil {
		return usagef("%v", err)
	}

	// Everything started is stopped in reverse order, whatever happens.
	var stops []func() error
	stopAll := func() error {
		var errs []error
		for i := len(stops) - 1; i >= 0; i-- {
			errs = append(errs, stops[i]())
		}
		stops = nil
		return errors.Join(errs...)
	}
	defer stopAll()

	// The consortium.
	home := filepath.Join(data, "localnet")
	resuming := fileExists(filepath.Join(home, "node0", "config", "genesis.json"))
	if resuming {
		say("resuming the local consortium in %s (run %d): replaying to the last commit…", home, st.Runs)
	} else {
		say("creating a local consortium of %d validators in %s", *validators, home)
	}
	n := *validators
	if resuming {
		if n, err = countNodes(home); err != nil {
			return err
		}
	}
	t0 := time.Now()
	starting := make(chan struct{})
	go func() { // progress while the validators load their state and catch up
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-starting:
				return
			case <-t.C:
				say("still starting the validators (%v): loading state, replaying blocks, meeting peers…", time.Since(t0).Round(time.Second))
			}
		}
	}()
	ln, err := chainengine.StartLocalnet(ctx, home, n, func(nodeHome string, _ int) (chainengine.App, error) {
		return chainengine.NewReceiptApp(chainengine.ReceiptAppDir(nodeHome), cmtLogger)
	}, chainengine.LocalnetOptions{AppState: appState, Logger: cmtLogger, ReadyTimeout: 3 * time.Minute})
	close(starting)
	if err != nil {
		return fmt.Errorf("local consortium: %w (its log: %s)", err, chainLog.Name())
	}
	stops = append(stops, func() error { say("stopping the validators"); return ln.Stop() })
	node := ln.Node(0)
	app := node.App().(*chainengine.ReceiptApp)
	say("%d validators of chain %s up at height %d in %v", n, ln.ChainID(), app.Height(), time.Since(t0).Round(time.Millisecond))

	keys := api.KeyMap{}
	for id, a := range world.Actors {
		keys[id] = a.Key
	}
	client := &chainengine.Client{Node: node, Keys: func(id string) (ed25519.PrivateKey, bool) { k, ok := keys[id]; return k, ok }}

	// Who may act: a random token per participant, kept across restarts.
	pfile := filepath.Join(data, participantsRel)
	entries, err := ensureParticipants(pfile, world)
	if err != nil {
		return err
	}
	byToken := map[string]string{}
	tokens := map[string]string{}
	for _, e := range entries {
		byToken[e.Token], tokens[e.ID] = e.ID, e.Token
	}
	// The demo world's console lists its participants to sign in as.

	// The member's stack around validator 0: NATS (embedded unless one is
	// named) with the chain's event feed, the read model, the simulated
	// warehouse with its supervision, the API.
	mc := &member.Config{}
	mc.NATS.URL = *natsURL
	mc.API.Listen = *addr
	if *natsURL == "" {
		say("embedded NATS (JetStream, fsync on every write), data in %s", filepath.Join(data, "nats"))
	} else {
		say("external NATS at %s", *natsURL)
	}
	if raw := os.Getenv("DATABASE_URL"); raw != "" {
		u, err := pgcluster.ParseDatabaseURL(raw)
		if err != nil {
			return err
		}
		mc.ReadModel.DatabaseURL = u.String()
		say("read model in the PostgreSQL of DATABASE_URL")
	} else {
		say("starting a private PostgreSQL cluster in %s", filepath.Join(data, "pg"))
	}
	var sim *iotsim.System
	m, err := member.Attach(ctx, node, mc, member.Options{Keys: keys, Tokens: byToken, Logger: logger, DataDir: data,
		API: api.Config{IdempotencyDir: filepath.Join(data, "api", "idempotency"), ConsoleDemo: entries},
		BeforeAPI: func(ctx context.Context, m *member.Member) error {
			say("the chain's events on NATS: stream %s, subjects %s.<type>", bus.EventsStream, bus.EventsRoot)
			waitIndexer(ctx, m.Indexer, app, say)
			if *noIoT {
				return nil
			}
			var err error
			if sim, err = iotsim.Start(ctx, iotsim.Config{World: world, Chain: app, Submitter: client, JetStream: m.JetStream, Logger: logger}); err != nil {
				return fmt.Errorf("simulated devices: %w", err)
			}
			m.Defer(func() error { say("stopping the devices and the IoT supervisors"); return sim.Stop() })
			var whs []string
			for _, w := range world.Genesis.Warehouses {
				whs = append(whs, w.ID)
			}
			say("simulated devices (weighbridge, bay load cells, cameras, door seals) and IoT supervisors for %s", strings.Join(whs, ", "))
			m.APIConfig.IoT, m.APIConfig.Simulator = sim, sim
			return nil
		}})
	if err != nil {
		if strings.Contains(err.Error(), "member: API") {
			err = fmt.Errorf("%w (another ewr run? pass --addr)", err)
		}
		return err
	}
	stops = append(stops, func() error { say("stopping the API, the IoT supervision, the read model and NATS"); return m.Stop() })
	url := m.URL
	fmt.Fprintf(stdout, "\newr is running.\n  console      %s/  (pick a demo participant)\n  API          %s  (OpenAPI: %s/v1/openapi.json)\n  participants %s  (id, role, name, bearer token)\n  data         %s  (logs in %s)\n\n",
		url, url, url, pfile, data, filepath.Join(data, "logs"))

	if !*noDemo {
		res, err := demo.Run(ctx, demo.Config{API: url, Tokens: tokens, World: world, Out: stdout, Tag: fmt.Sprintf("r%d", st.Runs)})
		switch {
		case ctx.Err() != nil:
		case err != nil:
			fmt.Fprintf(stdout, "\nthe demo stopped: %v\n", err)
		default:
			_ = res
		}
	}
	fmt.Fprintf(stdout, "\nThe system keeps running for you to explore: %s with a token from %s, or the CLI:\n", url, pfile)
	fmt.Fprintln(stdout, "  ewr receipt list --as trader-a       ewr draft list --as bank-a --awaiting true")
	fmt.Fprintln(stdout, "Ctrl-C stops everything cleanly; `make run` again resumes the same data.")
	<-ctx.Done()
	say("stopping (Ctrl-C)")
	return stopAll()
}

// waitIndexer reports the read model catching up with the chain.
func waitIndexer(ctx context.Context, ix *indexer.Indexer, app *chainengine.ReceiptApp, say func(string, ...any)) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		st := ix.Status()
		if st.Height >= app.Height() {
			say("read model at height %d", st.Height)
			return
		}
		if st.Err != nil && !st.Running {
			say("the read model stopped at height %d: %v", st.Height, st.Err)
			return
		}
		if time.Now().After(deadline) {
			say("the read model is still catching up (%d of %d); going on", st.Height, app.Height())
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			say("read model catching up: block %d of %d", max(st.Height, 0), app.Height())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func loadRunState(data string) (*runState, error) {
	path := filepath.Join(data, "run.json")
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &runState{CalibratedUntil: time.Now().Unix() + 5*365*86400, Created: time.Now().UTC().Format(time.RFC3339)}, nil
	}
	if err != nil {
		return nil, err
	}
	var st runState
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &st, nil
}

func saveRunState(data string, st *runState) error {
	raw, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(data, "run.json.tmp")
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(data, "run.json"))
}

// ensureParticipants reads the participants file, adding a fresh token for
// any participant of the world it lacks.
func ensureParticipants(path string, w *ledger.World) ([]api.ParticipantEntry, error) {
	have, err := api.LoadParticipants(path)
	if err != nil && !errors.Is(err, api.ErrNoParticipantsFile) {
		return nil, err
	}
	byID := map[string]api.ParticipantEntry{}
	for _, e := range have {
		byID[e.ID] = e
	}
	changed := len(have) == 0
	ids := w.ActorIDs()
	sort.Strings(ids)
	var out []api.ParticipantEntry
	for _, id := range ids {
		a := w.Actors[id]
		e, ok := byID[id]
		if !ok || e.Token == "" {
			e, changed = api.ParticipantEntry{ID: id, Token: api.NewToken()}, true
		}
		e.Role, e.Name = a.Roles.String(), a.Name
		out = append(out, e)
	}
	if changed {
		if err := api.SaveParticipants(path, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func countNodes(home string) (int, error) {
	n := 0
	for fileExists(filepath.Join(home, fmt.Sprintf("node%d", n), "config", "genesis.json")) {
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("%s holds no validator homes", home)
	}
	return n, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
