package main

import (
	"context"
	"fmt"
	"os"

	"github.com/ewrchain/ewr/chainengine"
)

func init() {
	register(&command{name: "init", summary: "create one validator's home (keys, config, single-validator genesis)", run: runInit})
}

func runInit(_ context.Context, args []string) error {
	fs := newFlags("init")
	home := fs.String("home", "", "home directory to create (required)")
	moniker := fs.String("moniker", "", "node name (default: the host name)")
	chainID := fs.String("chain-id", "ewr-1", "chain id")
	appName := fs.String("app", defaultApp, appFlagUsage())
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
	if *moniker == "" {
		*moniker, _ = os.Hostname()
	}
	appState, err := spec.genesis(*chainID)
	if err != nil {
		return err
	}
	if err := chainengine.InitHome(*home, *moniker, *chainID, appState); err != nil {
		return err
	}
	fmt.Printf("initialized %s (chain %s); start it with: ewr node --home %s\n", *home, *chainID, *home)
	return nil
}
