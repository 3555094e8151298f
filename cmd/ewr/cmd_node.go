package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/member"
)

func init() {
	register(&command{name: "node", summary: "run one member from its home until interrupted: its node, and with an ewr.toml its NATS, read model and API", run: runNode})
}

func runNode(ctx context.Context, args []string) error {
	fs := newFlags("node")
	home := fs.String("home", "", "validator home, from 'ewr init' or 'ewr testnet' (required)")
	appName := fs.String("app", defaultApp, appFlagUsage())
	logLevel := fs.String("log-level", "info", logLevelUsage)
	demo := fs.Bool("demo", false, "run a chain whose genesis holds the demo world's keys (derived from a public seed: anyone can sign as its admins, banks and devices); for trying ewr only")
	observer := fs.Bool("observer", false, "join as a full node that follows and serves the chain but does not validate (it never signs with the home's validator key)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *home == "" {
		return usagef("--home is required")
	}
	if *appName == "receipt" && !*demo {
		if err := refuseDemoKeys(*home); err != nil {
			return err
		}
	}
	spec, err := lookupApp(*appName)
	if err != nil {
		return err
	}
	logger, err := newLogger(*logLevel)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(*home, member.ConfigFile)); err == nil && *appName == "receipt" {
		// A member's home: its whole stack, not only the node.
		return runMember(ctx, *home, *demo, member.Options{ChainLogger: logger, Observer: *observer})
	}
	release, err := chainengine.LockHome(*home)
	if err != nil {
		return err
	}
	defer release()
	app, err := spec.open(*home, logger)
	if err != nil {
		return err
	}
	if ra, ok := app.(*chainengine.ReceiptApp); ok {
		if err := chainengine.CheckHomeChain(*home, ra); err != nil {
			return errors.Join(err, closeIfCloser(app))
		}
	}
	ncfg, err := chainengine.LoadConfig(*home)
	if err == nil && *observer {
		err = chainengine.Observe(ncfg)
	}
	if err != nil {
		return errors.Join(err, closeIfCloser(app))
	}
	nd, err := chainengine.StartNodeWithConfig(ctx, ncfg, app, logger)
	if err != nil {
		return errors.Join(err, closeIfCloser(app))
	}
	cfg := nd.Config()
	fmt.Fprintf(os.Stderr, "ewr node %s (%s) running: p2p %s, rpc %q, app %s\n",
		cfg.Moniker, nd.ID(), cfg.P2P.ListenAddress, cfg.RPC.ListenAddress, *appName)
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "ewr node: stopping")
	return errors.Join(nd.Stop(), closeIfCloser(app))
}

func closeIfCloser(v any) error {
	if c, ok := v.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// refuseDemoKeys refuses a home whose genesis holds keys derived from the
// demo world's public seed: such a chain is signable by anyone.
func refuseDemoKeys(home string) error {
	raw, err := os.ReadFile(filepath.Join(home, "config", "genesis.json"))
	if err != nil {
		return err
	}
	var doc struct {
		ChainID  string          `json:"chain_id"`
		AppState json.RawMessage `json:"app_state"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s: genesis: %w", home, err)
	}
	g, err := chainengine.DecodeGenesis(doc.AppState)
	if err != nil {
		return fmt.Errorf("%s: %w", home, err)
	}
	if ids := g.DerivedKeys(ledger.DemoSeed); len(ids) > 0 {
		shown := ids
		if len(shown) > 4 {
			shown = append(append([]string(nil), ids[:4]...), fmt.Sprintf("and %d more", len(ids)-4))
		}
		return fmt.Errorf("chain %s: its genesis holds the demo world's keys, derived from a public seed, for %s: anyone can sign as them. "+
			"A consortium's genesis holds its members' own public keys; to try ewr on the demo world, start with --demo",
			doc.ChainID, strings.Join(shown, ", "))
	}
	return nil
}
