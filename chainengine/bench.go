package chainengine

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/internal/machine"
)

// BenchConfig describes one chain benchmark run.
type BenchConfig struct {
	Validators int
	Duration   time.Duration // measured window
	Warmup     time.Duration // load before the window, not measured
	// RatePerS is the offered load of an open loop; 0 saturates: every lane
	// submits its next tx as soon as its previous one is answered.
	RatePerS float64
	// Lanes is how many txs may be in flight at once; 0 picks a default
	// for the mode.
	Lanes    int
	Home     string // "" runs in a fresh temporary directory, removed after
	ChainID  string // must be the chain id the workload signs for
	App      string // app name, for the report
	NewApp   AppFactory
	Workload Workload
	Logger   log.Logger // CometBFT's; nil discards
	Progress io.Writer  // a line per second; nil for none
	// Down stops this many validators (the last ones) before the load
	// starts, to measure a network with members missing.
	Down int
	// TimeoutPropose, if set, overrides consensus.timeout_propose.
	TimeoutPropose time.Duration
	// NoRecheck turns mempool.recheck off: txs left in the mempool after a
	// block are not checked again (a block's FinalizeBlock still refuses
	// any the block made invalid).
	NoRecheck bool
	// GossipPeers, if set, overrides mempool.experimental_max_gossip_connections_to_persistent_peers,
	// to how many peers a node forwards each tx: -1 every peer, 0 the
	// tuned default.
	GossipPeers int
	// GossipSleep, if set, overrides consensus.peer_gossip_sleep_duration:
	// how long a node's per-peer gossip routines sleep when they have no
	// block part or vote to send.
	GossipSleep time.Duration
	// FlushThrottle, if set, overrides p2p.flush_throttle_timeout: how long
	// a connection holds written messages before it flushes them to the
	// socket.
	FlushThrottle time.Duration
	// CPUProfile, if set, receives a CPU profile of the measured window.
	CPUProfile io.Writer
	// HeapProfile, if set, receives a heap profile (live objects) taken at
	// the end of the measured window, while the load is still on.
	HeapProfile io.Writer
	// Targets, if set, are nodes already running elsewhere (RemoteNodes):
	// no localnet is started, and NewApp, Home and Down are not used.
	Targets []BenchTarget
}

// BenchTarget is a node the benchmark submits to: a *Node in this process,
// or a node in another process reached by RPC (RemoteNodes).
type BenchTarget interface {
	Submit(ctx context.Context, tx []byte) (TxOutcome, int64, error)
	Height() int64
	MempoolSize() int
}

// MempoolSize is how many txs wait in the node's mempool.
func (n *Node) MempoolSize() int { return n.cmt.Mempool().Size() }

// BenchResult is the report: one JSON object.
type BenchResult struct {
	App              string  `json:"app"`
	Workload         string  `json:"workload"`
	Validators       int     `json:"validators"`
	Mode             string  `json:"mode"` // "saturate" or "open"
	Lanes            int     `json:"lanes"`
	DurationS        float64 `json:"duration_s"`
	WarmupS          float64 `json:"warmup_s"`
	OfferedTxPerS    float64 `json:"offered_tx_per_s"`
	TxPerS           float64 `json:"tx_per_s"` // committed successfully, in the window
	Committed        int     `json:"committed"`
	P50Ms            float64 `json:"p50_ms"` // submit to commit, txs submitted in the window
	P90Ms            float64 `json:"p90_ms"`
	P99Ms            float64 `json:"p99_ms"`
	MaxMs            float64 `json:"max_ms"`
	Latencies        int     `json:"latency_samples"`
	Down             int     `json:"down,omitempty"` // validators stopped during the run
	TimeoutProposeMs float64 `json:"timeout_propose_ms"`
	Recheck          bool    `json:"recheck"`           // mempool.recheck
	GossipPeers      int     `json:"gossip_peers"`      // peers each tx is forwarded to; 0: all
	GossipSleepMs    float64 `json:"gossip_sleep_ms"`   // consensus.peer_gossip_sleep_duration
	FlushThrottleMs  float64 `json:"flush_throttle_ms"` // p2p.flush_throttle_timeout
	BlocksPerS       float64 `json:"blocks_per_s"`
	TxPerBlock       float64 `json:"tx_per_block"`
	CPUCoresUsed     float64 `json:"cpu_cores_used"` // process CPU time / wall, in the window
	Cores            int     `json:"cores"`
	// HostCPUCoresBusy is every process's CPU use on the host in the window
	// (Linux), so a run disturbed by other load shows it; LoadAvg1m is the
	// 1-minute load average at the window's end.
	HostCPUCoresBusy float64 `json:"host_cpu_cores_busy,omitempty"`
	// VerifyUs is the time of one ed25519 verification on this machine:
	// the fastest of three measurements (each the median of
	// calibrationRuns verifications), at start before any node or load
	// runs, and at the window's start and end. The development machine's
	// virtual cores verify in ~28 us at times and ~39 us at others (a busy
	// neighbour on the host), idle or loaded alike; the fastest is what
	// the cores can do, so the ceiling is the strictest. VerifyUsLoaded is
	// the mean of the two in-window measurements.
	VerifyUs       float64 `json:"verify_us"`
	VerifyUsLoaded float64 `json:"verify_us_loaded"`
	verifyFastest  float64 // the fastest in-window measurement
	// CeilingTxPerS is what the machine could commit if verifying each
	// tx's signature once on every validator were all it did: cores /
	// (validators x verify_us). CeilingFraction is tx_per_s against it.
	CeilingTxPerS   float64 `json:"ceiling_tx_per_s"`
	CeilingFraction float64 `json:"ceiling_fraction"`
	// CPUUsPerTx is CPU time per committed tx in the window: this
	// process's (every in-process validator), or the host's when the
	// validators are other processes.
	CPUUsPerTx float64 `json:"cpu_us_per_tx"`
	// RSSMB is this process's peak resident memory (the in-process
	// validators'), MiB.
	RSSMB float64 `json:"rss_mb"`
	// MemLimitMB is the Go runtime's soft memory limit in force (GOMEMLIMIT),
	// 0 for none: the GC then lets the heap grow to twice the live data.
	MemLimitMB  float64        `json:"memlimit_mb"`
	LoadAvg1m   float64        `json:"loadavg_1m,omitempty"`
	Mix         map[string]int `json:"mix"`      // committed in the window, by kind
	Rejected    map[string]int `json:"rejected"` // by codespace/code, submitted in the window
	LaneBacklog int            `json:"lane_backlog"`
	Errors      int            `json:"errors"`
	HeightStart int64          `json:"height_start"`
	HeightEnd   int64          `json:"height_end"`
}

// Default lanes. Saturation needs throughput x latency in flight, but more
// only lengthens blocks: on the shared 2-core machine 2,000 gave the most
// tx/s, and 3,000-4,000 sent blocks past timeout_propose into extra rounds.
// An open loop needs rate x worst latency.
const (
	defaultSaturateLanes = 2000
	benchDrainTimeout    = 10 * time.Second
)

// RunChainBench starts a localnet of cfg.Validators nodes in this process,
// drives cfg.Workload through their mempools round-robin, and reports what
// committed in the measured window.
func RunChainBench(ctx context.Context, cfg BenchConfig) (*BenchResult, error) {
	if cfg.Down < 0 || cfg.Down >= cfg.Validators || cfg.Validators < 1 || cfg.Duration <= 0 || cfg.Warmup < 0 || cfg.RatePerS < 0 || cfg.Workload == nil || (cfg.NewApp == nil && cfg.Targets == nil) {
		return nil, errors.New("chainengine: bench: bad config")
	}
	if cfg.GossipSleep < 0 || cfg.FlushThrottle < 0 || cfg.TimeoutPropose < 0 {
		return nil, fmt.Errorf("chainengine: bench: a node timer cannot be negative (gossip sleep %v, flush throttle %v, timeout propose %v)", cfg.GossipSleep, cfg.FlushThrottle, cfg.TimeoutPropose)
	}
	saturate := cfg.RatePerS == 0
	if cfg.Lanes == 0 {
		cfg.Lanes = defaultSaturateLanes
		if !saturate {
			cfg.Lanes = max(100, int(cfg.RatePerS*2)) // 2 s of latency before backlog
		}
	}
	cfg.Lanes = min(cfg.Lanes, cfg.Workload.Lanes())
	if cfg.Logger == nil {
		cfg.Logger = log.NewNopLogger()
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	home := cfg.Home
	if home == "" {
		dir, err := os.MkdirTemp("", "ewr-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		home = dir
	}

	verifyQuiet := verifyMicrosQuiet()
	if p, ok := cfg.Workload.(WorkloadPreparer); ok {
		expected := int(cfg.RatePerS * (cfg.Warmup + cfg.Duration).Seconds() * 1.05)
		if saturate {
			expected = int(8_000 * (cfg.Warmup + cfg.Duration).Seconds()) // above the best figure seen
		}
		t0 := time.Now()
		if err := p.Prepare(ctx, expected+cfg.Lanes); err != nil {
			return nil, fmt.Errorf("chainengine: bench: prepare workload: %w", err)
		}
		fmt.Fprintf(progress, "prepared %d txs in %v\n", expected+cfg.Lanes, time.Since(t0).Round(time.Millisecond))
	}

	if cfg.Targets != nil {
		d := &benchDriver{cfg: cfg, nodes: cfg.Targets, saturate: saturate, rejected: map[string]int{}, mix: map[string]int{}}
		res, err := d.run(ctx, progress)
		res.ceiling(verifyQuiet)
		return res, err
	}
	var ran *cmtcfg.Config
	ln, err := StartLocalnet(ctx, home, cfg.Validators, cfg.NewApp, LocalnetOptions{
		ChainID: cfg.ChainID, AppState: cfg.Workload.AppState(), Logger: cfg.Logger,
		Config: func(_ int, c *cmtcfg.Config) {
			cfg.TuneNode(c)
			ran = c
		},
	})
	if err != nil {
		return nil, err
	}
	defer ln.Stop()
	for i := cfg.Validators - cfg.Down; i < cfg.Validators; i++ {
		if err := ln.StopNode(i); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(progress, "localnet of %d validators (%d down) up in %s\n", cfg.Validators, cfg.Down, home)

	var targets []BenchTarget
	for _, nd := range ln.Nodes()[:cfg.Validators-cfg.Down] {
		targets = append(targets, nd)
	}
	d := &benchDriver{cfg: cfg, nodes: targets, saturate: saturate, rejected: map[string]int{}, mix: map[string]int{}}
	res, err := d.run(ctx, progress)
	res.ceiling(verifyQuiet)
	if res != nil {
		res.Down = cfg.Down
		res.NodeConfig(ran)
	}
	return res, err
}

// TuneNode applies the benchmark's overrides to a node's config: the
// in-process localnet's nodes, or the homes of nodes in other processes.
func (cfg BenchConfig) TuneNode(c *cmtcfg.Config) {
	if cfg.TimeoutPropose > 0 {
		c.Consensus.TimeoutPropose = cfg.TimeoutPropose
	}
	c.Mempool.Recheck = !cfg.NoRecheck
	switch {
	case cfg.GossipPeers < 0:
		c.Mempool.ExperimentalMaxGossipConnectionsToPersistentPeers = 0 // every peer
	case cfg.GossipPeers > 0:
		c.Mempool.ExperimentalMaxGossipConnectionsToPersistentPeers = cfg.GossipPeers
	}
	if cfg.GossipSleep > 0 {
		c.Consensus.PeerGossipSleepDuration = cfg.GossipSleep
	}
	if cfg.FlushThrottle > 0 {
		c.P2P.FlushThrottleTimeout = cfg.FlushThrottle
	}
}

// NodeConfig records the node config the benchmark ran on.
func (res *BenchResult) NodeConfig(c *cmtcfg.Config) {
	res.TimeoutProposeMs = float64(c.Consensus.TimeoutPropose.Milliseconds())
	res.Recheck = c.Mempool.Recheck
	res.GossipPeers = c.Mempool.ExperimentalMaxGossipConnectionsToPersistentPeers
	res.GossipSleepMs = float64(c.Consensus.PeerGossipSleepDuration.Microseconds()) / 1e3
	res.FlushThrottleMs = float64(c.P2P.FlushThrottleTimeout.Microseconds()) / 1e3
}

type benchDriver struct {
	cfg      BenchConfig
	nodes    []BenchTarget
	saturate bool

	start, windowStart, windowEnd time.Time
	height                        atomic.Int64 // last committed height seen by node 0
	rr                            atomic.Uint64
	inFlight                      atomic.Int64
	committedTotal                atomic.Int64

	mu        sync.Mutex
	latencies []time.Duration
	committed int
	rejected  map[string]int
	mix       map[string]int
	errors    int
	submitted int
	backlog   int
}

func (d *benchDriver) run(ctx context.Context, progress io.Writer) (*BenchResult, error) {
	cfg := d.cfg
	d.start = time.Now()
	d.windowStart = d.start.Add(cfg.Warmup)
	d.windowEnd = d.windowStart.Add(cfg.Duration)
	d.height.Store(d.nodes[0].Height())

	// Submissions get until the window's end plus a drain period to commit.
	subCtx, cancel := context.WithDeadline(ctx, d.windowEnd.Add(benchDrainTimeout))
	defer cancel()

	var lanesWG sync.WaitGroup
	var tokens chan time.Time // open loop: the scheduled submit time
	if !d.saturate {
		tokens = make(chan time.Time)
	}
	var fatal atomic.Pointer[error]
	for lane := range cfg.Lanes {
		lanesWG.Add(1)
		go func() {
			defer lanesWG.Done()
			if err := d.lane(subCtx, lane, tokens); err != nil {
				fatal.CompareAndSwap(nil, &err)
				cancel()
			}
		}()
	}
	if !d.saturate {
		go d.schedule(subCtx, tokens)
	}

	var cpuStart, cpuEnd time.Duration
	var hostStart, hostEnd time.Duration
	var verifyStart, verifyEnd float64
	var hStart, hEnd int64
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastReport, lastCommitted := time.Now(), int64(0)
	for measuring, done := false, false; !done; {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case now := <-tick.C:
			d.height.Store(d.nodes[0].Height())
			if !measuring && !now.Before(d.windowStart) {
				verifyStart = verifyMicros()
				measuring, cpuStart, hostStart, hStart = true, machine.ProcessCPU(), machine.HostBusy(), d.nodes[0].Height()
				if cfg.CPUProfile != nil {
					if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
						return nil, err
					}
					defer pprof.StopCPUProfile() // idempotent
				}
			}
			if !now.Before(d.windowEnd) {
				cpuEnd, hostEnd, hEnd, done = machine.ProcessCPU(), machine.HostBusy(), d.nodes[0].Height(), true
				verifyEnd = verifyMicros()
				if cfg.CPUProfile != nil {
					pprof.StopCPUProfile()
				}
				if cfg.HeapProfile != nil {
					runtime.GC() // the profile's in-use figures are as of the last GC
					if err := pprof.Lookup("heap").WriteTo(cfg.HeapProfile, 0); err != nil {
						return nil, err
					}
				}
			}
			if now.Sub(lastReport) >= time.Second {
				c := d.committedTotal.Load()
				phase := "warmup"
				if measuring {
					phase = "measure"
				}
				fmt.Fprintf(progress, "%5.1fs %-7s height=%d commits/s=%.0f in_flight=%d mempool=%d\n",
					now.Sub(d.start).Seconds(), phase, d.height.Load(), float64(c-lastCommitted)/now.Sub(lastReport).Seconds(),
					d.inFlight.Load(), d.nodes[0].MempoolSize())
				lastReport, lastCommitted = now, c
			}
		}
	}
	fmt.Fprintf(progress, "window over; draining %d in flight\n", d.inFlight.Load())
	lanesWG.Wait()
	if p := fatal.Load(); p != nil {
		return nil, *p
	}

	wall := cfg.Duration.Seconds()
	d.mu.Lock()
	defer d.mu.Unlock()
	res := &BenchResult{
		App: cfg.App, Workload: cfg.Workload.Name(), Validators: cfg.Validators, Lanes: cfg.Lanes,
		DurationS: wall, WarmupS: cfg.Warmup.Seconds(),
		Committed: d.committed, TxPerS: float64(d.committed) / wall,
		BlocksPerS:       float64(hEnd-hStart) / wall,
		CPUCoresUsed:     (cpuEnd - cpuStart).Seconds() / wall,
		Cores:            runtime.NumCPU(),
		HostCPUCoresBusy: (hostEnd - hostStart).Seconds() / wall,
		LoadAvg1m:        machine.LoadAvg1m(),
		VerifyUsLoaded:   math.Round((verifyStart+verifyEnd)/2*10) / 10,
		verifyFastest:    min(verifyStart, verifyEnd),
		Mix:              d.mix, Rejected: d.rejected, LaneBacklog: d.backlog, Errors: d.errors,
		HeightStart: hStart, HeightEnd: hEnd, Latencies: len(d.latencies),
	}
	if d.committed > 0 {
		cpu := cpuEnd - cpuStart
		if cfg.Targets != nil {
			cpu = hostEnd - hostStart
		}
		res.CPUUsPerTx = math.Round(float64(cpu.Microseconds()) / float64(d.committed))
	}
	res.RSSMB = math.Round(machine.PeakRSSMB())
	if lim := debug.SetMemoryLimit(-1); lim != math.MaxInt64 {
		res.MemLimitMB = math.Round(float64(lim) / (1 << 20))
	}
	if d.saturate {
		res.Mode, res.OfferedTxPerS = "saturate", float64(d.submitted)/wall
	} else {
		res.Mode, res.OfferedTxPerS = "open", cfg.RatePerS
	}
	if hEnd > hStart {
		res.TxPerBlock = float64(d.committed) / float64(hEnd-hStart)
	}
	slices.Sort(d.latencies)
	res.P50Ms = percentileMs(d.latencies, 0.50)
	res.P90Ms = percentileMs(d.latencies, 0.90)
	res.P99Ms = percentileMs(d.latencies, 0.99)
	res.MaxMs = percentileMs(d.latencies, 1)
	return res, nil
}

// schedule offers a token per 1/rate seconds to whichever lane is free. If
// none is, the submission is dropped and counted as backlog: an open loop
// does not slow down for the system under test.
func (d *benchDriver) schedule(ctx context.Context, tokens chan<- time.Time) {
	defer close(tokens)
	interval := time.Duration(float64(time.Second) / d.cfg.RatePerS)
	next := d.start
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if !now.Before(d.windowEnd) {
				return
			}
			for ; !next.After(now); next = next.Add(interval) {
				select {
				case tokens <- next:
				default:
					if !next.Before(d.windowStart) {
						d.mu.Lock()
						d.backlog++
						d.mu.Unlock()
					}
				}
			}
		}
	}
}

// lane submits one tx at a time until the window ends. Latency runs from the
// scheduled time in an open loop (so a slow lane hand-off counts against the
// system) and from the submit call when saturating.
func (d *benchDriver) lane(ctx context.Context, lane int, tokens <-chan time.Time) error {
	for {
		var t0 time.Time
		if tokens == nil {
			t0 = time.Now()
		} else {
			var ok bool
			select {
			case <-ctx.Done():
				return nil
			case t0, ok = <-tokens:
				if !ok {
					return nil // the schedule is over
				}
			}
		}
		if !t0.Before(d.windowEnd) || ctx.Err() != nil {
			return nil
		}
		tx, kind, err := d.cfg.Workload.Next(lane, d.height.Load())
		if err != nil {
			return fmt.Errorf("chainengine: bench: workload lane %d: %w", lane, err)
		}
		nd := d.nodes[d.rr.Add(1)%uint64(len(d.nodes))]
		d.inFlight.Add(1)
		out, _, err := nd.Submit(ctx, tx)
		d.inFlight.Add(-1)
		t1 := time.Now()
		if err == nil && out.OK() {
			d.committedTotal.Add(1)
		}
		d.record(t0, t1, kind, out, err)
		if err != nil && tokens == nil {
			return nil // saturating: the run is over or the node is gone
		}
		if tokens == nil && out.Codespace == CodespaceNode {
			// Saturating against a full mempool: back off rather than spin.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

func (d *benchDriver) record(t0, t1 time.Time, kind string, out TxOutcome, err error) {
	inWindow := func(t time.Time) bool { return !t.Before(d.windowStart) && t.Before(d.windowEnd) }
	d.mu.Lock()
	defer d.mu.Unlock()
	if inWindow(t0) {
		d.submitted++
	}
	switch {
	case err != nil:
		if inWindow(t0) {
			d.errors++
		}
	case !out.OK():
		if inWindow(t0) {
			d.rejected[fmt.Sprintf("%s/%d", out.Codespace, out.Code)]++
		}
	default:
		if inWindow(t1) {
			d.committed++
			d.mix[kind]++
		}
		if inWindow(t0) {
			d.latencies = append(d.latencies, t1.Sub(t0))
		}
	}
}

func percentileMs(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	i = min(max(i, 0), len(sorted)-1)
	return math.Round(float64(sorted[i].Microseconds())/10) / 100
}

// ceiling sets the machine's ceiling, cores / (validators x verify_us), from
// the fastest of quiet (measured before the run) and the in-window
// measurements.
func (res *BenchResult) ceiling(quiet float64) {
	if res == nil {
		return
	}
	verifyUs := quiet
	if res.verifyFastest > 0 && (verifyUs <= 0 || res.verifyFastest < verifyUs) {
		verifyUs = res.verifyFastest
	}
	if verifyUs <= 0 {
		return
	}
	res.VerifyUs = math.Round(verifyUs*10) / 10
	res.CeilingTxPerS = math.Round(float64(res.Cores) * 1e6 / (float64(res.Validators) * res.VerifyUs))
	res.CeilingFraction = math.Round(res.TxPerS/res.CeilingTxPerS*1000) / 1000
}

// verifyMicrosQuiet is verifyMicros on the idle machine, before the run:
// the median of calibrationBursts bursts 50 ms apart.
func verifyMicrosQuiet() float64 {
	bursts := make([]float64, calibrationBursts)
	for i := range bursts {
		if i > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		bursts[i] = verifyMicros()
	}
	slices.Sort(bursts)
	return bursts[len(bursts)/2]
}

const calibrationBursts = 7

// calibrationRuns verifications are timed for verify_us; the median is
// kept, so a preemption or a GC pause in a few of them does not move it.
const calibrationRuns = 301

// verifyMicros times single signature verifications: the median of
// calibrationRuns, in microseconds. It takes about 10 ms.
func verifyMicros() float64 {
	tx, err := DecodeTx(calibrationTx)
	if err != nil {
		panic(err)
	}
	times := make([]time.Duration, calibrationRuns)
	for i := range times {
		t0 := time.Now()
		_ = tx.VerifySigs()
		times[i] = time.Since(t0)
	}
	slices.Sort(times)
	return float64(times[len(times)/2].Nanoseconds()) / 1e3
}

var calibrationTx = func() []byte {
	seed := make([]byte, ed25519.SeedSize)
	return EncodeTx(Body{Version: TxVersion, ChainID: "calibration", Signers: []string{"c"}, ExpiresAt: 1, OpType: "opaque", Op: make([]byte, 64)},
		[]ed25519.PrivateKey{ed25519.NewKeyFromSeed(seed)})
}()
