package chainengine

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/ewrchain/ewr/internal/canon"
	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/ewrchain/ewr/ledger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// procNode is a validator running in its own OS process (the test binary,
// see TestMain).
type procNode struct {
	home string
	rpc  *rpchttp.HTTP
	cmd  *exec.Cmd
	done chan error // receives the process's exit once
}

func startProcNode(t *testing.T, home, rpcAddr string) *procNode {
	t.Helper()
	return startProcNodeApp(t, home, rpcAddr, "baseline")
}

// startProcNodeApp starts a validator of the named app ("baseline" or
// "receipt") in its own process.
func startProcNodeApp(t *testing.T, home, rpcAddr, app string) *procNode {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(home, "node.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), nodeHomeEnv+"="+home, nodeAppEnv+"="+app)
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	logf.Close()
	cli, err := rpchttp.New(rpcAddr)
	require.NoError(t, err)
	p := &procNode{home: home, rpc: cli, cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return p
}

// stop sends sig and waits for the process to exit; it returns the exit error.
func (p *procNode) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(sig))
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("node %s did not exit on %v", p.home, sig)
		return nil
	}
}

type nodeState struct {
	height  int64
	appHash []byte
}

func (p *procNode) state(ctx context.Context) (nodeState, error) {
	info, err := p.rpc.ABCIInfo(ctx)
	if err != nil {
		return nodeState{}, err
	}
	return nodeState{info.Response.LastBlockHeight, info.Response.LastBlockAppHash}, nil
}

// crashScenario is one app's crash test: four validators as separate
// processes, kill -9 of one under load, restart and catch-up, then all four
// stopped and restarted, checking that every tx acknowledged as committed
// is on every node exactly once.
type crashScenario struct {
	chainID  string
	app      string // "baseline" or "receipt"
	appState []byte // genesis app state (nil: none)
	workers  int
	// txs returns worker w's tx source: the next tx to broadcast.
	txs func(w int) func() ([]byte, error)
	// survivorBlocks the three survivors must commit while one is down.
	survivorBlocks int64
	ackWait        time.Duration // until 50 txs are acknowledged
	// after checks the nodes' data once they are all stopped (may be nil).
	after func(t *testing.T, homes []string)
}

func (sc crashScenario) run(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four node processes; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	homes, err := GenerateTestnet(4, t.TempDir(), sc.chainID, sc.appState, reservedBasePort(t, 4))
	require.NoError(t, err)
	rpcAddrs := make([]string, 4)
	for i, h := range homes {
		cfg, err := LoadConfig(h)
		require.NoError(t, err)
		rpcAddrs[i] = "http://" + strings.TrimPrefix(cfg.RPC.ListenAddress, "tcp://")
	}
	nodes := make([]*procNode, 4)
	startAll := func() {
		for i := range nodes {
			nodes[i] = startProcNodeApp(t, homes[i], rpcAddrs[i], sc.app)
		}
		waitUp(ctx, t, nodes, sc.chainID)
	}
	startAll()

	// Load through the survivors' RPC: each ack is a BroadcastTxCommit that
	// came back committed with code 0.
	var mu sync.Mutex
	acked := map[[32]byte]int64{} // body hash -> height
	loadCtx, stopLoad := context.WithCancel(ctx)
	var loadWG sync.WaitGroup
	for w := range sc.workers {
		loadWG.Add(1)
		go func() {
			defer loadWG.Done()
			cli, err := rpchttp.New(rpcAddrs[w%3])
			if err != nil {
				return
			}
			next := sc.txs(w)
			for loadCtx.Err() == nil {
				raw, err := next()
				if err != nil {
					return
				}
				tx, _ := DecodeTx(raw)
				res, err := cli.BroadcastTxCommit(loadCtx, raw)
				if err != nil || res.CheckTx.Code != 0 || res.TxResult.Code != 0 {
					continue // not acknowledged; it may or may not commit
				}
				mu.Lock()
				acked[tx.Hash] = res.Height
				mu.Unlock()
			}
		}()
	}
	ackCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	testkit.Poll(t, sc.ackWait, "", func() error {
		if n := ackCount(); n < 50 {
			return fmt.Errorf("%d acks", n)
		}
		return nil
	})

	// kill -9 node 3 under load; the others go on committing.
	require.Error(t, nodes[3].stop(t, syscall.SIGKILL))
	st, err := nodes[0].state(ctx)
	require.NoError(t, err)
	testkit.Poll(t, 30*time.Second, "", func() error {
		now, err := nodes[0].state(ctx)
		if err != nil || now.height < st.height+sc.survivorBlocks {
			return fmt.Errorf("survivors at %d, were at %d (%v)", now.height, st.height, err)
		}
		return nil
	})

	// Restart it from its data; it must catch up within 10 s.
	before, err := nodes[0].state(ctx)
	require.NoError(t, err)
	restarted := time.Now()
	nodes[3] = startProcNodeApp(t, homes[3], rpcAddrs[3], sc.app)
	testkit.Poll(t, 10*time.Second, "", func() error {
		s, err := nodes[3].rpc.Status(ctx)
		if err != nil {
			return err
		}
		if s.SyncInfo.CatchingUp || s.SyncInfo.LatestBlockHeight < before.height {
			return fmt.Errorf("node 3 at %d (catching up %v), survivors were at %d", s.SyncInfo.LatestBlockHeight, s.SyncInfo.CatchingUp, before.height)
		}
		return nil
	})
	t.Logf("killed %s node caught up %d blocks in %v", sc.app, before.height-st.height, time.Since(restarted).Round(time.Millisecond))
	if os.Getenv("EWR_TEST_LOG") != "" {
		b, _ := os.ReadFile(filepath.Join(homes[3], "node.log"))
		t.Logf("node 3 log:\n%s", b)
	}
	stopLoad()
	loadWG.Wait()
	t.Logf("%d txs acknowledged as committed", ackCount())

	final := waitAgreed(ctx, t, nodes)
	checkTxsOnEveryNode(ctx, t, nodes, acked, final.height)

	// Stop all four cleanly, restart them: the state is the same.
	for i, p := range nodes {
		assert.NoError(t, p.stop(t, syscall.SIGTERM), "node %d exit", i)
	}
	startAll()
	for i, p := range nodes {
		s, err := p.state(ctx)
		require.NoError(t, err)
		assert.Equal(t, final, s, "node %d after restart", i)
	}
	checkTxsOnEveryNode(ctx, t, nodes, acked, final.height)
	for _, p := range nodes {
		assert.NoError(t, p.stop(t, syscall.SIGTERM))
	}
	if sc.after != nil {
		sc.after(t, homes)
	}
}

// TestCrashRecovery is the crash scenario for the baseline app, under
// opaque signed txs from 24 signers.
func TestCrashRecovery(t *testing.T) {
	const chainID = "ewr-crash"
	crashScenario{
		chainID: chainID, app: "baseline", workers: 24, survivorBlocks: 20, ackWait: 30 * time.Second,
		txs: func(w int) func() ([]byte, error) {
			return func() ([]byte, error) { return testTx(chainID, byte(w+1), 10_000), nil }
		},
	}.run(t)
}

// waitUp waits until every node serves RPC, has a block and sees all peers.
// The node answering on a port must be of this chain: a port released by a
// stopped node can be taken by another test's network meanwhile.
func waitUp(ctx context.Context, t *testing.T, nodes []*procNode, chainID string) {
	t.Helper()
	testkit.Poll(t, 60*time.Second, "", func() error {
		for i, p := range nodes {
			s, err := p.rpc.Status(ctx)
			if err != nil {
				return fmt.Errorf("node %d: %w", i, err)
			}
			if s.NodeInfo.Network != chainID {
				t.Fatalf("node %d's RPC port is served by a node of chain %q, not %q", i, s.NodeInfo.Network, chainID)
			}
			ni, err := p.rpc.NetInfo(ctx)
			if err != nil {
				return fmt.Errorf("node %d: %w", i, err)
			}
			if s.SyncInfo.LatestBlockHeight < 1 || s.SyncInfo.CatchingUp || ni.NPeers < len(nodes)-1 {
				return fmt.Errorf("node %d: height %d, catching up %v, %d peers", i, s.SyncInfo.LatestBlockHeight, s.SyncInfo.CatchingUp, ni.NPeers)
			}
		}
		return nil
	})
}

// waitAgreed waits until all nodes have committed the same height and app
// hash and the chain is quiescent: its tip block carries no txs and no
// mempool holds any (txs whose broadcast the stopped load abandoned are
// still committed after that, and a state taken before them is not final),
// on two polls in a row.
func waitAgreed(ctx context.Context, t *testing.T, nodes []*procNode) nodeState {
	t.Helper()
	var s0, prev nodeState
	testkit.Poll(t, 30*time.Second, "", func() error {
		var err error
		for i, p := range nodes {
			n, err := p.rpc.NumUnconfirmedTxs(ctx)
			if err != nil {
				return err
			}
			if n.Total > 0 {
				prev = nodeState{}
				return fmt.Errorf("node %d holds %d txs in its mempool", i, n.Total)
			}
		}
		if s0, err = nodes[0].state(ctx); err != nil {
			return err
		}
		if s0.height != prev.height || !bytes.Equal(s0.appHash, prev.appHash) {
			prev = s0
			return errors.New("not yet stable")
		}
		blk, err := nodes[0].rpc.Block(ctx, &s0.height)
		if err != nil {
			return err
		}
		if len(blk.Block.Txs) > 0 {
			return errors.New("chain not idle yet")
		}
		for i, p := range nodes[1:] {
			s, err := p.state(ctx)
			if err != nil {
				return err
			}
			if s.height != s0.height || !bytes.Equal(s.appHash, s0.appHash) {
				return fmt.Errorf("node %d at %d %X, node 0 at %d %X", i+1, s.height, s.appHash, s0.height, s0.appHash)
			}
		}
		return nil
	})
	return s0
}

// checkTxsOnEveryNode checks that each acked tx is committed on every node at
// its acknowledged height, and that across the whole chain it succeeded
// exactly once.
func checkTxsOnEveryNode(ctx context.Context, t *testing.T, nodes []*procNode, acked map[[32]byte]int64, tip int64) {
	t.Helper()
	require.NotEmpty(t, acked)
	for i, p := range nodes {
		for hash, height := range acked {
			res, err := p.rpc.ABCIQuery(ctx, "/tx/"+hex.EncodeToString(hash[:]), nil)
			require.NoError(t, err)
			require.Zero(t, res.Response.Code, "node %d tx %X: %s", i, hash, res.Response.Log)
			recHeight, recCode := decodeTxQuery(t, res.Response.Value)
			require.Zero(t, recCode, "node %d tx %X", i, hash)
			require.Equal(t, height, recHeight, "node %d tx %X", i, hash)
		}
		okCount := map[[32]byte]int{}
		for h := int64(1); h <= tip; h++ {
			blk, err := p.rpc.Block(ctx, &h)
			require.NoError(t, err)
			if len(blk.Block.Txs) == 0 {
				continue
			}
			results, err := p.rpc.BlockResults(ctx, &h)
			require.NoError(t, err)
			require.Len(t, results.TxResults, len(blk.Block.Txs))
			for k, raw := range blk.Block.Txs {
				tx, err := DecodeTx(raw)
				require.NoError(t, err)
				if results.TxResults[k].Code == 0 {
					okCount[tx.Hash]++
				}
			}
		}
		for hash := range acked {
			require.Equal(t, 1, okCount[hash], "node %d: tx %X committed %d times", i, hash, okCount[hash])
		}
	}
}

// decodeTxQuery decodes a /tx query answer of either app.
func decodeTxQuery(t *testing.T, v []byte) (height int64, code uint32) {
	t.Helper()
	if rec, err := DecodeTxRecord(v); err == nil {
		return rec.Height, rec.Code
	}
	var r TxResult
	require.NoError(t, canon.Unmarshal(v, &r))
	return r.Height, r.Code
}

// TestCrashRecoveryReceiptApp is the crash scenario for the receipt app,
// under realistic receipt traffic, and then every node's state, reopened
// from its data, keeps the invariants.
func TestCrashRecoveryReceiptApp(t *testing.T) {
	const chainID = "ewr-crash-receipt"
	const workers = 12
	wl := NewReceiptWorkload(chainID)
	if !testing.Short() {
		require.NoError(t, wl.Prepare(context.Background(), 4*wl.Lanes()))
	}
	crashScenario{
		chainID: chainID, app: "receipt", appState: wl.AppState(), workers: workers, survivorBlocks: 5, ackWait: 60 * time.Second,
		// Each worker walks its lanes' receipt stories.
		txs: func(w int) func() ([]byte, error) {
			lane := w
			return func() ([]byte, error) {
				raw, _, err := wl.Next(lane, 0)
				lane = (lane + workers) % 240
				return raw, err
			}
		},
		after: func(t *testing.T, homes []string) {
			for i, h := range homes {
				app, err := NewReceiptApp(ReceiptAppDir(h), nil)
				require.NoError(t, err)
				st, _ := app.State()
				assert.NoError(t, ledger.CheckInvariants(st.(ledger.Ranger)), "node %d", i)
				require.NoError(t, app.Close())
			}
		},
	}.run(t)
}

// reservedBasePort returns a base port for n nodes (2 ports each) below the
// kernel's ephemeral range, with all 2n ports free now. Tests that restart
// nodes on the same ports use it: ports the kernel hands out for ":0" (as
// every other test's localnet asks) come from the ephemeral range, so no
// concurrently starting network can take these while a node is down.
func reservedBasePort(t *testing.T, n int) int {
	t.Helper()
	lo := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		fmt.Sscan(string(b), &lo)
	}
	span := lo - 20000 - 2*n
	require.Positive(t, span, "ephemeral range starts too low (%d)", lo)
	start := 20000 + (os.Getpid()*37)%span
	for try := 0; try < 200; try++ {
		base := 20000 + (start-20000+try*2*n)%span
		free := true
		for p := base; p < base+2*n && free; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				free = false
				continue
			}
			l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free port range below the ephemeral range")
	return 0
}
