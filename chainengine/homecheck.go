package chainengine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cometbft/cometbft/types"
)

// ErrOtherChain: a home's data belongs to another chain than its genesis.
var ErrOtherChain = errors.New("chainengine: the data folder belongs to another chain")

// CheckHomeChain refuses a home whose receipt app data was written by
// another chain than the one its genesis names (a data folder copied from
// another network), before the node starts and writes anything.
func CheckHomeChain(home string, app *ReceiptApp) error {
	raw, err := os.ReadFile(filepath.Join(home, "config", "genesis.json"))
	if err != nil {
		return err
	}
	g, err := types.GenesisDocFromJSON(raw)
	if err != nil {
		return fmt.Errorf("%s: genesis: %w", home, err)
	}
	if have := app.ChainID(); have != "" && have != g.ChainID {
		return fmt.Errorf("%w: %s holds chain %s, its genesis is chain %s", ErrOtherChain, home, have, g.ChainID)
	}
	return nil
}
