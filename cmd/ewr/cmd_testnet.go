package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/ewrchain/ewr/chainengine"
)

func init() {
	register(&command{name: "testnet", summary: "generate the homes of an N-validator network on this host", run: runTestnet})
}

func runTestnet(_ context.Context, args []string) error {
	fs := newFlags("testnet")
	n := fs.Int("validators", 4, "number of validators")
	out := fs.String("out", "", "directory to create node0..nodeN-1 in (required)")
	chainID := fs.String("chain-id", "ewr-testnet", "chain id")
	basePort := fs.Int("base-port", 26656, "node i listens for p2p on base+2i and RPC on base+2i+1; 0 picks free ports")
	appName := fs.String("app", defaultApp, appFlagUsage()+" (for the genesis app_state)")
	apiBase := fs.Int("api-base", 8080, "member k's API listens on 127.0.0.1:api-base+k; 0 picks free ports at start")
	hostList := fs.String("hosts", "", "comma-separated IP of each member's host (one member per host, --validators is their count): "+
		"each node listens on its host at --base-port, its API at --api-base and its NATS at 4222")
	observers := fs.Int("observers", 0, "more homes after the validators': full nodes that do not validate (with --hosts: the last hosts)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var hosts []string
	if *hostList != "" {
		hosts = strings.Split(*hostList, ",")
		*n = len(hosts) - *observers
	}
	if *observers < 0 {
		return usagef("--observers must not be negative")
	}
	if *out == "" {
		return usagef("--out is required")
	}
	if *n < 1 || *n > chainengine.MaxValidators {
		return usagef("--validators must be 1..%d", chainengine.MaxValidators)
	}
	spec, err := lookupApp(*appName)
	if err != nil {
		return err
	}
	appState, err := spec.genesis(*chainID)
	if err != nil {
		return err
	}
	var homes []string
	if hosts != nil {
		if *basePort == 0 || *apiBase == 0 {
			return usagef("--hosts needs fixed ports: --base-port and --api-base not 0")
		}
		homes, err = chainengine.GenerateTestnetOn(hosts, *n, *out, *chainID, appState, *basePort, *basePort+1)
	} else if *observers > 0 {
		homes, err = chainengine.GenerateObservers(*n, *observers, *out, *chainID, appState)
	} else {
		homes, err = chainengine.GenerateTestnet(*n, *out, *chainID, appState, *basePort)
	}
	if err != nil {
		return err
	}
	demo := ""
	if *appName == "receipt" {
		if err := writeMemberConfigs(homes, hosts, *apiBase); err != nil {
			return err
		}
		demo = " --demo"
		fmt.Println("The genesis is the demo world: its participants' and devices' keys derive from a public seed.")
		fmt.Println("Each home's ewr.toml names its member's API and the participants it acts for.")
	}
	fmt.Printf("generated %d validators of chain %s; start each with:\n", len(homes), *chainID)
	for _, h := range homes {
		fmt.Printf("  ewr node --app %s%s --home %s\n", *appName, demo, h)
	}
	if hosts == nil {
		fmt.Println("For validators on several hosts, generate with --hosts, or edit p2p.laddr, p2p.external_address and p2p.persistent_peers in each config/config.toml.")
	}
	return nil
}
