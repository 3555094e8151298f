package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/chainengine"
)

func init() {
	registerBench(&benchmark{name: "chain", summary: "committed tx/s and submit-to-commit latency of an in-process localnet", run: runBenchChain})
}

func runBenchChain(ctx context.Context, args []string) error {
	fs := newFlags("bench chain")
	n := fs.Int("validators", 4, "number of validators")
	duration := fs.Duration("duration", 30*time.Second, "measured window")
	warmup := fs.Duration("warmup", 5*time.Second, "load before the measured window")
	appName := fs.String("app", defaultApp, appFlagUsage())
	rate := fs.Float64("rate", 0, "offered tx/s (open loop); 0 saturates")
	lanes := fs.Int("lanes", 0, "txs in flight at most; 0 picks a default")
	down := fs.Int("down", 0, "validators to stop before the load starts (the cost of missing members)")
	timeoutPropose := fs.Duration("timeout-propose", 0, "override consensus.timeout_propose (0: the tuned default)")
	home := fs.String("home", "", "run in this directory and keep it (default: a fresh temporary one)")
	logLevel := fs.String("log-level", "none", logLevelUsage)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measured window to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 1 || *n > chainengine.MaxValidators || *duration <= 0 || *warmup < 0 || *rate < 0 || *lanes < 0 || *down < 0 || *down >= *n {
		return usagef("bad flags")
	}
	spec, err := lookupApp(*appName)
	if err != nil {
		return err
	}
	var logger log.Logger = log.NewNopLogger()
	if *logLevel != "none" {
		if logger, err = newLogger(*logLevel); err != nil {
			return err
		}
	}
	var profile *os.File
	if *cpuProfile != "" {
		if profile, err = os.Create(*cpuProfile); err != nil {
			return err
		}
		defer profile.Close()
	}
	const chainID = "ewr-bench"
	wl, err := spec.workload(chainID)
	if err != nil {
		return err
	}
	res, err := chainengine.RunChainBench(ctx, chainengine.BenchConfig{
		Validators: *n, Duration: *duration, Warmup: *warmup, RatePerS: *rate, Lanes: *lanes,
		Down: *down, TimeoutPropose: *timeoutPropose, CPUProfile: profileWriter(profile),
		Home: *home, ChainID: chainID, App: *appName, Workload: wl, Logger: logger, Progress: os.Stderr,
		NewApp: func(nodeHome string, _ int) (chainengine.App, error) { return spec.open(nodeHome, logger) },
	})
	if err != nil {
		return err
	}
	out, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Println(string(out))
	return err
}

// profileWriter keeps a nil *os.File from becoming a non-nil io.Writer.
func profileWriter(f *os.File) io.Writer {
	if f == nil {
		return nil
	}
	return f
}
