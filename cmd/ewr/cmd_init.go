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
	demo := ""
	if *appName == "receipt" {
		demo = " --demo" // the genesis is the demo world, whose keys derive from a public seed
	}
	fmt.Printf("initialized %s (chain %s, the demo world's genesis); start it with: ewr node%s --home %s\n", *home, *chainID, demo, *home)
	return nil
}
