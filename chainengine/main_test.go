package chainengine

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// nodeHomeEnv makes the test binary run one baseline validator instead of
// the tests, so that crash tests can kill -9 a node in its own process.
const nodeHomeEnv = "EWR_CHAINENGINE_TEST_NODE_HOME"

// nodeAppEnv names the app such a node runs: "baseline" (default) or
// "receipt".
const nodeAppEnv = "EWR_CHAINENGINE_TEST_NODE_APP"

func TestMain(m *testing.M) {
	if home := os.Getenv(nodeHomeEnv); home != "" {
		os.Exit(runTestNode(home))
	}
	os.Exit(m.Run())
}

// runTestNode is `ewr node --app <app> --home home`, which this package
// cannot import: it runs until SIGTERM, then stops cleanly.
func runTestNode(home string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	level := os.Getenv("EWR_TEST_LOG")
	if level == "" {
		level = "*:error"
	}
	logger, err := NewLogger(os.Stderr, level)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var app interface {
		App
		Close() error
	}
	if os.Getenv(nodeAppEnv) == "receipt" {
		app, err = NewReceiptApp(ReceiptAppDir(home), logger)
	} else {
		app, err = NewBaselineApp(BaselineAppDir(home), logger)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	nd, err := StartNode(ctx, home, app, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = app.Close()
		return 1
	}
	fmt.Fprintln(os.Stderr, "test node up:", nd.ID())
	<-ctx.Done()
	if err := nd.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop:", err)
		return 1
	}
	if err := app.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close app:", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "test node stopped")
	return 0
}
