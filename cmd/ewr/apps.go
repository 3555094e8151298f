package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/ledger"
)

// defaultApp is the ABCI app of `ewr node`, `ewr localnet` and `ewr bench
// chain` unless --app says otherwise.
const defaultApp = "receipt"

// appSpec is everything the commands need to know about one ABCI app.
type appSpec struct {
	// open returns the app of the node whose home is home.
	open func(home string, logger log.Logger) (chainengine.App, error)
	// genesis is the app_state of a new network's genesis (init, testnet,
	// localnet).
	genesis func(chainID string) (json.RawMessage, error)
	// workload is the chain benchmark's load against this app; its
	// AppState is the benchmark network's genesis.
	workload func(chainID string) (chainengine.Workload, error)
}

// apps is the registry of ABCI apps, by --app name.
var apps = map[string]appSpec{
	"receipt": {
		open: func(home string, logger log.Logger) (chainengine.App, error) {
			return chainengine.NewReceiptApp(chainengine.ReceiptAppDir(home), logger)
		},
		genesis: func(string) (json.RawMessage, error) {
			w := ledger.NewWorld(ledger.DemoSeed, time.Now().Unix()+5*365*86400)
			return json.Marshal(&w.Genesis)
		},
		workload: func(chainID string) (chainengine.Workload, error) {
			return chainengine.NewReceiptWorkload(chainID), nil
		},
	},
	"baseline": {
		open: func(home string, logger log.Logger) (chainengine.App, error) {
			return chainengine.NewBaselineApp(chainengine.BaselineAppDir(home), logger)
		},
		genesis: func(string) (json.RawMessage, error) { return json.RawMessage("{}"), nil },
		workload: func(chainID string) (chainengine.Workload, error) {
			return chainengine.NewBaselineWorkload(chainID), nil
		},
	},
}

func lookupApp(name string) (appSpec, error) {
	spec, ok := apps[name]
	if !ok {
		return appSpec{}, usagef("unknown app %q (have %s)", name, appNames())
	}
	return spec, nil
}

func appNames() string {
	names := make([]string, 0, len(apps))
	for n := range apps {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// appFlagUsage documents --app.
func appFlagUsage() string { return fmt.Sprintf("ABCI app: %s", appNames()) }
