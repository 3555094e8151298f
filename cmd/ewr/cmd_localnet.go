package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ewrchain/ewr/chainengine"
)

func init() {
	register(&command{name: "localnet", summary: "run a whole local consortium of validators in this process", run: runLocalnet})
}

func defaultLocalnetHome() string {
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".ewr", "localnet")
	}
	return ".ewr-localnet"
}

func runLocalnet(ctx context.Context, args []string) error {
	fs := newFlags("localnet")
	n := fs.Int("validators", 4, "number of validators")
	home := fs.String("home", defaultLocalnetHome(), "directory of the validators' homes; reused on restart")
	appName := fs.String("app", defaultApp, appFlagUsage())
	chainID := fs.String("chain-id", chainengine.DefaultLocalnetChainID, "chain id (first start only)")
	rpc := fs.Bool("rpc", false, "also serve CometBFT's RPC for each node on a free 127.0.0.1 port")
	logLevel := fs.String("log-level", chainengine.DefaultLogLevel, logLevelUsage)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 1 || *n > chainengine.MaxValidators {
		return usagef("--validators must be 1..%d", chainengine.MaxValidators)
	}
	spec, err := lookupApp(*appName)
	if err != nil {
		return err
	}
	logger, err := newLogger(*logLevel)
	if err != nil {
		return err
	}
	appState, err := spec.genesis(*chainID)
	if err != nil {
		return err
	}
	ln, err := chainengine.StartLocalnet(ctx, *home, *n, func(nodeHome string, _ int) (chainengine.App, error) {
		return spec.open(nodeHome, logger)
	}, chainengine.LocalnetOptions{ChainID: *chainID, AppState: appState, Logger: logger, RPC: *rpc})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "ewr localnet: %d validators of chain %s (app %s) in %s, at height %d\n",
		*n, ln.ChainID(), *appName, ln.Home(), ln.Node(0).Height())
	for i := range *n {
		if a := ln.RPCAddr(i); a != "" {
			fmt.Fprintf(os.Stderr, "  node%d rpc %s\n", i, a)
		}
	}
	fmt.Fprintln(os.Stderr, "Ctrl-C stops it; starting again resumes the chain.")
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "ewr localnet: stopping")
	if err := ln.Stop(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
