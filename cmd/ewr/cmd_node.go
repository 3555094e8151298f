package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ewrchain/ewr/chainengine"
)

func init() {
	register(&command{name: "node", summary: "run one validator from its home until interrupted", run: runNode})
}

func runNode(ctx context.Context, args []string) error {
	fs := newFlags("node")
	home := fs.String("home", "", "validator home, from 'ewr init' or 'ewr testnet' (required)")
	appName := fs.String("app", defaultApp, appFlagUsage())
	logLevel := fs.String("log-level", "info", logLevelUsage)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *home == "" {
		return usagef("--home is required")
	}
	spec, err := lookupApp(*appName)
	if err != nil {
		return err
	}
	logger, err := newLogger(*logLevel)
	if err != nil {
		return err
	}
	app, err := spec.open(*home, logger)
	if err != nil {
		return err
	}
	nd, err := chainengine.StartNode(ctx, *home, app, logger)
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
