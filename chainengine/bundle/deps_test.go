package bundle_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNoNodeDependencies: a bank embeds this package; it must not pull in
// a node (consensus, p2p, RPC, mempool, state stores) or any store or bus.
func TestNoNodeDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"cometbft/cometbft/node", "cometbft/cometbft/p2p", "cometbft/cometbft/rpc", "cometbft/cometbft/consensus",
			"cometbft/cometbft/mempool", "cometbft/cometbft/state", "cometbft/cometbft/store", "cometbft-db", "cockroachdb/pebble",
			"nats-io", "gofiber", "lib/pq", "ewrchain/ewr/chainengine\n"} {
			require.False(t, strings.Contains(dep+"\n", banned), "the verifier depends on %s", dep)
		}
	}
}
