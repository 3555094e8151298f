package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/ewrchain/ewr/member/chaos"
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
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measured window to this file (with --netns: of node 0's process)")
	recheck := fs.Bool("recheck", true, "mempool.recheck: check the txs left in the mempool again after each block")
	gossipPeers := fs.Int("gossip-peers", 0, "forward each tx to at most this many peers (mempool.experimental_max_gossip_connections_to_persistent_peers; 0: the tuned default, -1: every peer)")
	gossipSleep := fs.Duration("gossip-sleep", 0, "override consensus.peer_gossip_sleep_duration, how long gossip waits when it has nothing to send (0: the tuned default)")
	flushThrottle := fs.Duration("flush-throttle", 0, "override p2p.flush_throttle_timeout, how long a connection holds messages before it writes them (0: the tuned default)")
	heapProfile := fs.String("memprofile", "", "write a heap profile (live objects, in-process localnet) at the end of the measured window to this file")
	members := fs.Int("members", 0, "validators as members, each its own process (same as --validators; with --netns each in its own namespace)")
	netns := fs.Bool("netns", false, "run each validator as its own process in its own network namespace, then the in-process localnet, and report both")
	rtt := fs.Duration("rtt", 0, "with --netns: round-trip time to add between members (tc netem; not applied where the kernel has no netem)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *members > 0 {
		*n = *members
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
	var heap *os.File
	if *heapProfile != "" {
		if heap, err = os.Create(*heapProfile); err != nil {
			return err
		}
		defer heap.Close()
	}
	const chainID = "ewr-bench"
	wl, err := spec.workload(chainID)
	if err != nil {
		return err
	}
	bcfg := chainengine.BenchConfig{
		Validators: *n, Duration: *duration, Warmup: *warmup, RatePerS: *rate, Lanes: *lanes,
		Down: *down, TimeoutPropose: *timeoutPropose, NoRecheck: !*recheck, GossipPeers: *gossipPeers, GossipSleep: *gossipSleep, FlushThrottle: *flushThrottle, CPUProfile: profileWriter(profile), HeapProfile: profileWriter(heap),
		Home: *home, ChainID: chainID, App: *appName, Workload: wl, Logger: logger, Progress: os.Stderr,
		NewApp: func(nodeHome string, _ int) (chainengine.App, error) { return spec.open(nodeHome, logger) },
	}
	if *netns {
		return benchChainNetns(ctx, bcfg, *appName, *rtt, spec)
	}
	res, err := chainengine.RunChainBench(ctx, bcfg)
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

// netnsBenchReport is the namespaced run's report, with the in-process
// localnet's beside it.
type netnsBenchReport struct {
	*chainengine.BenchResult
	Members   int                      `json:"members"`
	Netns     bool                     `json:"netns"`
	RTTMs     float64                  `json:"rtt_ms"`
	RTTAdded  bool                     `json:"rtt_added"` // false: the kernel has no netem
	InProcess *chainengine.BenchResult `json:"in_process"`
	Ratio     float64                  `json:"ratio_to_in_process"` // tx_per_s, namespaced / in-process
}

// benchChainNetns runs the benchmark on members in namespaces, then on the
// in-process localnet, alternately in one run, and prints both.
func benchChainNetns(ctx context.Context, cfg chainengine.BenchConfig, appName string, rtt time.Duration, spec appSpec) error {
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	if rtt > 0 {
		fmt.Fprintf(os.Stderr, "bench chain: --rtt %s: this kernel's tc has no netem; the members' links are not delayed\n", rtt)
	}
	nb := &chaos.NetBench{Validators: cfg.Validators, Binary: bin, App: appName, Config: cfg, Octet: 240 + os.Getpid()%10, Log: os.Stderr,
		NodeProfile: cfg.CPUProfile}
	cfg.CPUProfile = nil // the namespaced node 0's profile, not the in-process run's
	res, err := nb.Run(ctx)
	if err != nil {
		return fmt.Errorf("bench chain --netns: %w", err)
	}
	wl, err := spec.workload(cfg.ChainID)
	if err != nil {
		return err
	}
	cfg.Workload = wl // a fresh one: the first run used its txs
	cfg.Home = ""
	in, err := chainengine.RunChainBench(ctx, cfg)
	if err != nil {
		return fmt.Errorf("bench chain (in-process): %w", err)
	}
	rep := netnsBenchReport{BenchResult: res, Members: cfg.Validators, Netns: true, RTTMs: float64(rtt.Microseconds()) / 1000, InProcess: in}
	if in.TxPerS > 0 {
		rep.Ratio = res.TxPerS / in.TxPerS
	}
	out, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	_, err = fmt.Println(string(out))
	return err
}
