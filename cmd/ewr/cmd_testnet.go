package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/member"
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
	consortium := fs.String("consortium", "", "a consortium file (TOML: participants with their public keys, admins, warehouses, bays, devices, members): "+
		"its genesis and one home per member instead of the demo world's; --validators, --observers and --hosts come from its members")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *consortium != "" {
		return testnetFromConsortium(*consortium, *out, *basePort, *apiBase)
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
		shares := demoMembers(len(homes))
		if err := writeMemberConfigs(homes, hosts, *apiBase, shares, demoSupervision(shares)); err != nil {
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

// testnetFromConsortium writes one home per member of a consortium file:
// the validators first (node0..), then the observers, each with the
// genesis of the file's participants, keys and warehouses, and an ewr.toml
// naming the participants and warehouses it serves. It writes no private
// key: each member copies its own (ewr keys new) into its keys/.
func testnetFromConsortium(file, out string, basePort, apiBase int) error {
	if out == "" {
		return usagef("--out is required")
	}
	c, err := member.LoadConsortium(file)
	if err != nil {
		return err
	}
	g, err := c.Genesis()
	if err != nil {
		return err
	}
	appState, err := json.Marshal(g)
	if err != nil {
		return err
	}
	vals, obs := c.Ordered()
	ordered := append(append([]member.ConsortiumMember(nil), vals...), obs...)
	var hosts []string
	for _, m := range ordered {
		if m.Host != "" {
			hosts = append(hosts, m.Host)
		}
	}
	var homes []string
	switch {
	case hosts != nil:
		if basePort == 0 || apiBase == 0 {
			return usagef("members with hosts need fixed ports: --base-port and --api-base not 0")
		}
		homes, err = chainengine.GenerateTestnetOn(hosts, len(vals), out, c.ChainID, appState, basePort, basePort+1)
	case len(obs) > 0 || basePort == 0:
		homes, err = chainengine.GenerateObservers(len(vals), len(obs), out, c.ChainID, appState)
	default:
		homes, err = chainengine.GenerateTestnet(len(vals), out, c.ChainID, appState, basePort)
	}
	if err != nil {
		return err
	}
	shares := make([][]string, len(ordered))
	supervise := make([][]member.Supervision, len(ordered))
	for k, m := range ordered {
		shares[k], supervise[k] = m.Participants, m.Supervise
	}
	if err := writeMemberConfigs(homes, hosts, apiBase, shares, supervise); err != nil {
		return err
	}
	fmt.Printf("generated the homes of chain %s's %d validators and %d observers from %s.\n", c.ChainID, len(vals), len(obs), file)
	fmt.Println("On each member's host, put the key of each participant it serves in its keys/, then start it:")
	for k, m := range ordered {
		role := "validator"
		if m.Observer {
			role = "observer"
		}
		fmt.Printf("  %s (%s, %s): keys/ %v\n", homes[k], m.Name, role, m.Participants)
		observer := ""
		if m.Observer {
			observer = " --observer"
		}
		fmt.Printf("      ewr node --home %s%s\n", homes[k], observer)
	}
	fmt.Println("(a key file: ewr keys new --participant ID --dir HOME/keys, made on the member's host; its public key is the one in the consortium file)")
	return nil
}
