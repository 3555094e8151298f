package chaos

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/ewrchain/ewr/chainengine"
)

// NetBench is the chain benchmark with each validator its own process
// (ewr node) in its own network namespace: the same workload and report
// as the in-process localnet, the txs reaching the nodes by RPC over the
// namespaces' links.
type NetBench struct {
	Validators int
	Binary     string
	App        string
	// Config is the benchmark's; its Targets are filled in.
	Config chainengine.BenchConfig
	// Octet picks the namespaces' subnet (10.231.<octet>.0/24).
	Octet int
	Log   io.Writer
	// NodeProfile, if set, gets a CPU profile of node 0's process over
	// the measured window (CometBFT's pprof listener on its namespace).
	NodeProfile io.Writer
}

// Run sets up the namespaces and nodes, runs the benchmark and removes
// them.
func (b *NetBench) Run(ctx context.Context) (*chainengine.BenchResult, error) {
	nt, err := SetupNet(b.Validators, b.Octet)
	if err != nil {
		return nil, err
	}
	defer nt.Close()
	dir, err := os.MkdirTemp("", "ewr-netbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	hosts := make([]string, b.Validators)
	for k := range hosts {
		hosts[k] = nt.Host(k)
	}
	homes, err := chainengine.GenerateTestnetOn(hosts, b.Validators, dir, b.Config.ChainID, b.Config.Workload.AppState(), 26656, 26657)
	if err != nil {
		return nil, err
	}
	var rpcs []string
	var procs []*proc
	defer func() {
		for _, p := range procs {
			p.kill9()
			_ = p.logFile.Close()
		}
	}()
	r := &runner{net: nt, o: Options{Binary: b.Binary}}
	var ran *cmtcfg.Config // the config the nodes run, as the report says
	for k, h := range homes {
		// The benchmark reaches each node's RPC over its namespace's link.
		cfg, err := chainengine.LoadConfig(h)
		if err != nil {
			return nil, err
		}
		b.Config.TuneNode(cfg)
		ran = cfg
		cfg.RPC.ListenAddress = "tcp://" + net.JoinHostPort(hosts[k], "26657")
		if k == 0 && b.NodeProfile != nil {
			cfg.RPC.PprofListenAddress = net.JoinHostPort(hosts[k], "6060")
		}
		if err := chainengine.WriteConfig(cfg); err != nil {
			return nil, err
		}
		rpcs = append(rpcs, cfg.RPC.ListenAddress)
		lf, err := os.OpenFile(filepath.Join(h, "node.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		p := &proc{k: k, home: h, logFile: lf}
		procs = append(procs, p)
		if err := r.startNode(p, b.App); err != nil {
			return nil, err
		}
	}
	var remote *chainengine.RemoteNodes
	deadline := time.Now().Add(time.Minute)
	for {
		remote, err = chainengine.DialRemote(ctx, rpcs)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("chaos: the nodes' RPC: %w; node 0's log: %s", err, tail(filepath.Join(homes[0], "node.log")))
		}
		time.Sleep(200 * time.Millisecond)
	}
	defer remote.Close()
	cfg := b.Config
	cfg.Targets = remote.Targets()
	cfg.Validators = b.Validators
	cfg.CPUProfile = nil
	if b.NodeProfile != nil {
		profiled := make(chan error, 1)
		go func() {
			profiled <- fetchProfile(ctx, "http://"+net.JoinHostPort(hosts[0], "6060"), cfg.Warmup, cfg.Duration, b.NodeProfile)
		}()
		defer func() {
			if err := <-profiled; err != nil && b.Log != nil {
				fmt.Fprintf(b.Log, "node 0's CPU profile: %v\n", err)
			}
		}()
	}
	if b.Log != nil {
		fmt.Fprintf(b.Log, "%d validators, each a process in its own namespace (%s.*)\n", b.Validators, nt.subnet)
	}
	res, err := chainengine.RunChainBench(ctx, cfg)
	if res != nil {
		res.NodeConfig(ran)
	}
	return res, err
}

// startNode starts p's plain node (no member stack): ewr node --home.
func (r *runner) startNode(p *proc, app string) error {
	cmd := r.net.Command(p.k, r.o.Binary, "node", "--app", app, "--demo", "--log-level", "error", "--home", p.home)
	return r.startCmd(p, cmd)
}

// fetchProfile takes node's CPU profile over the measured window: after
// the warm-up (and the txs' signing, which takes a few seconds more),
// for most of the window.
func fetchProfile(ctx context.Context, base string, warmup, window time.Duration, w io.Writer) error {
	secs := max(int((window - 5*time.Second).Seconds()), 1)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(warmup + 5*time.Second):
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, secs), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}
