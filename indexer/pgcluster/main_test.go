package pgcluster_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/ewrchain/ewr/indexer/pgcluster"
	"github.com/ewrchain/ewr/indexer/pgcluster/pgtest"
)

// helperEnv, when set, makes the test binary a helper process that starts a
// cluster in the dir it names, prints the postmaster's pid and waits to be
// killed (see TestServerDiesWithItsStarter). It must match the name in
// cluster_test.go.
const helperEnv = "PGCLUSTER_TEST_HELPER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(runHelper(dir))
	}
	pgtest.TestMain(m)
}

func runHelper(dir string) int {
	c, err := pgcluster.Start(context.Background(), pgcluster.Options{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("pid %d\n", c.PID())
	io.Copy(io.Discard, os.Stdin) // until killed, or the test closes stdin
	c.Stop()
	return 0
}
