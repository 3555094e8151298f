package chainengine

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
)

// RemoteNodes are nodes in other processes (other hosts, other network
// namespaces), as the chain benchmark's targets: a tx goes to a node's
// mempool by RPC (broadcast_tx_sync), and one watcher reads each new
// block and its results from the first node, answering every tx waiting
// for it.
type RemoteNodes struct {
	clients []*rpchttp.HTTP
	height  atomic.Int64
	mempool atomic.Int64

	mu      sync.Mutex
	waiting map[[32]byte]chan remoteCommit

	cancel context.CancelFunc
	done   chan struct{}
}

type remoteCommit struct {
	out    TxOutcome
	height int64
}

// DialRemote connects to the nodes' RPC endpoints (tcp://host:port) and
// starts watching the first one's blocks.
func DialRemote(ctx context.Context, rpcAddrs []string) (*RemoteNodes, error) {
	r := &RemoteNodes{waiting: map[[32]byte]chan remoteCommit{}, done: make(chan struct{})}
	for _, a := range rpcAddrs {
		c, err := rpchttp.New(a)
		if err != nil {
			return nil, fmt.Errorf("chainengine: rpc %s: %w", a, err)
		}
		r.clients = append(r.clients, c)
	}
	st, err := r.clients[0].Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("chainengine: rpc %s: %w", rpcAddrs[0], err)
	}
	r.height.Store(st.SyncInfo.LatestBlockHeight)
	wctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.watch(wctx)
	return r, nil
}

// Targets are the nodes as benchmark targets.
func (r *RemoteNodes) Targets() []BenchTarget {
	out := make([]BenchTarget, len(r.clients))
	for i, c := range r.clients {
		out[i] = &remoteNode{r: r, c: c}
	}
	return out
}

// Close stops the watcher.
func (r *RemoteNodes) Close() {
	r.cancel()
	<-r.done
}

// watch follows the first node's blocks and answers the waiting txs.
func (r *RemoteNodes) watch(ctx context.Context) {
	defer close(r.done)
	c := r.clients[0]
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		st, err := c.Status(ctx)
		if err != nil {
			continue
		}
		if n%20 == 0 {
			if u, err := c.NumUnconfirmedTxs(ctx); err == nil {
				r.mempool.Store(int64(u.Total))
			}
		}
		for h := r.height.Load() + 1; h <= st.SyncInfo.LatestBlockHeight; h++ {
			b, err := c.Block(ctx, &h)
			if err != nil {
				break
			}
			res, err := c.BlockResults(ctx, &h)
			if err != nil {
				break
			}
			r.mu.Lock()
			for i, tx := range b.Block.Txs {
				if i >= len(res.TxResults) {
					break
				}
				key := sha256.Sum256(tx)
				if ch, ok := r.waiting[key]; ok {
					tr := res.TxResults[i]
					ch <- remoteCommit{out: TxOutcome{Index: i, Code: tr.Code, Codespace: tr.Codespace, Log: tr.Log}, height: h}
					delete(r.waiting, key)
				}
			}
			r.mu.Unlock()
			r.height.Store(h)
		}
	}
}

type remoteNode struct {
	r *RemoteNodes
	c *rpchttp.HTTP
}

func (n *remoteNode) Height() int64    { return n.r.height.Load() }
func (n *remoteNode) MempoolSize() int { return int(n.r.mempool.Load()) }

// Submit broadcasts tx to the node and waits for the block that carries it.
func (n *remoteNode) Submit(ctx context.Context, tx []byte) (TxOutcome, int64, error) {
	key := sha256.Sum256(tx)
	ch := make(chan remoteCommit, 1)
	n.r.mu.Lock()
	n.r.waiting[key] = ch
	n.r.mu.Unlock()
	forget := func() {
		n.r.mu.Lock()
		delete(n.r.waiting, key)
		n.r.mu.Unlock()
	}
	res, err := n.c.BroadcastTxSync(ctx, tx)
	if err != nil {
		forget()
		if ctx.Err() != nil {
			return TxOutcome{}, 0, ctx.Err()
		}
		// The node's refusals before CheckTx (mempool full, a tx in its
		// cache) come back as RPC errors: a busy node, as in-process.
		return TxOutcome{Index: -1, Code: CodeNodeBusy, Codespace: CodespaceNode, Log: err.Error()}, 0, nil
	}
	if res.Code != 0 {
		forget()
		return TxOutcome{Index: -1, Code: res.Code, Codespace: res.Codespace, Log: res.Log}, 0, nil
	}
	select {
	case c := <-ch:
		return c.out, c.height, nil
	case <-ctx.Done():
		forget()
		return TxOutcome{}, 0, ctx.Err()
	}
}
