package chainengine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jsonrpcclient "github.com/cometbft/cometbft/rpc/jsonrpc/client"
)

// RemoteNodes are nodes in other processes (other hosts, other network
// namespaces), as the chain benchmark's targets: a tx goes to a node's
// mempool by RPC (broadcast_tx_sync), and one watcher reads each new
// block and its results from the first node, answering every tx waiting
// for it.
//
// The benchmark's client is lean so that it takes little of the cores
// the nodes share with it: connections are pooled and kept, and only the
// fields it reads are decoded. With CometBFT's RPC client (two idle
// connections per host, reflective decoding of whole blocks) the client
// took a quarter of a 2-core machine and the 4 members 1,710 tx/s; with
// this one 0.25 cores and 2,566 tx/s (ewr bench chain --members 4 --netns
// --duration 30s, one run each).
type RemoteNodes struct {
	nodes   []*rpcEndpoint
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
		e, err := newRPCEndpoint(a)
		if err != nil {
			return nil, fmt.Errorf("chainengine: rpc %s: %w", a, err)
		}
		r.nodes = append(r.nodes, e)
	}
	h, err := r.latestHeight(ctx)
	if err != nil {
		return nil, fmt.Errorf("chainengine: rpc %s: %w", rpcAddrs[0], err)
	}
	r.height.Store(h)
	wctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.watch(wctx)
	return r, nil
}

// Targets are the nodes as benchmark targets.
func (r *RemoteNodes) Targets() []BenchTarget {
	out := make([]BenchTarget, len(r.nodes))
	for i, e := range r.nodes {
		out[i] = &remoteNode{r: r, e: e}
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
	e := r.nodes[0]
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		latest, err := r.latestHeight(ctx)
		if err != nil {
			continue
		}
		if n%20 == 0 {
			var u struct {
				Total int64 `json:"total,string"`
			}
			if e.get(ctx, "num_unconfirmed_txs?limit=1", &u) == nil {
				r.mempool.Store(u.Total)
			}
		}
		for h := r.height.Load() + 1; h <= latest; h++ {
			var b struct {
				Block struct {
					Data struct {
						Txs [][]byte `json:"txs"`
					} `json:"data"`
				} `json:"block"`
			}
			if err := e.get(ctx, "block?height="+strconv.FormatInt(h, 10), &b); err != nil {
				break
			}
			var res struct {
				TxResults []struct {
					Code      uint32 `json:"code"`
					Codespace string `json:"codespace"`
					Log       string `json:"log"`
				} `json:"txs_results"`
			}
			if err := e.get(ctx, "block_results?height="+strconv.FormatInt(h, 10), &res); err != nil {
				break
			}
			r.mu.Lock()
			for i, tx := range b.Block.Data.Txs {
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

// latestHeight is the first node's last block height.
func (r *RemoteNodes) latestHeight(ctx context.Context) (int64, error) {
	var st struct {
		SyncInfo struct {
			LatestBlockHeight int64 `json:"latest_block_height,string"`
		} `json:"sync_info"`
	}
	err := r.nodes[0].get(ctx, "status", &st)
	return st.SyncInfo.LatestBlockHeight, err
}

// remoteConnsPerNode bounds the benchmark's connections to one node, under
// CometBFT's rpc.max_open_connections (900); a lane beyond it waits for one.
const remoteConnsPerNode = 256

// rpcEndpoint is one node's JSON-RPC, read into structs of only the
// fields the benchmark needs.
type rpcEndpoint struct {
	url string
	hc  *http.Client
}

func newRPCEndpoint(remote string) (*rpcEndpoint, error) {
	hc, err := jsonrpcclient.DefaultHTTPClient(remote) // its dialer knows tcp:// and unix://
	if err != nil {
		return nil, err
	}
	if t, ok := hc.Transport.(*http.Transport); ok {
		t.MaxIdleConnsPerHost, t.MaxConnsPerHost = remoteConnsPerNode, remoteConnsPerNode
	}
	host := remote
	if _, rest, ok := strings.Cut(remote, "://"); ok {
		host = rest
	}
	return &rpcEndpoint{url: "http://" + host, hc: hc}, nil
}

// invalidTxRE reads CometBFT's mempool.ErrInvalidTx from an RPC error's
// data: code, log, codespace.
var invalidTxRE = regexp.MustCompile(`is invalid: code=(\d+), data=[0-9A-F]*, log='(.*)', codespace='([^']*)'$`)

// rpcError is a JSON-RPC error a node answered with (a full mempool, a
// tx already in its cache, a bad request).
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data"`
}

func (e *rpcError) Error() string {
	return fmt.Sprintf("rpc error %d: %s %s", e.Code, e.Message, e.Data)
}

// get reads a route in URI form ("block?height=5") into out.
func (e *rpcEndpoint) get(ctx context.Context, route string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/"+route, nil)
	if err != nil {
		return err
	}
	return e.do(req, route, out)
}

// call posts a JSON-RPC request and reads its result into out.
func (e *rpcEndpoint) call(ctx context.Context, method string, params any, out any) error {
	body, err := json.Marshal(struct {
		JSONRPC string `json:"jsonrpc"`
		ID      int    `json:"id"`
		Method  string `json:"method"`
		Params  any    `json:"params"`
	}{"2.0", 0, method, params})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return e.do(req, method, out)
}

func (e *rpcEndpoint) do(req *http.Request, what string, out any) error {
	resp, err := e.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	env := struct {
		Result any       `json:"result"` // decoded into out, which it holds
		Error  *rpcError `json:"error"`
	}{Result: out}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("chainengine: rpc %s: %s: %w", what, resp.Status, err)
	}
	if env.Error != nil {
		return env.Error
	}
	return nil
}

type remoteNode struct {
	r *RemoteNodes
	e *rpcEndpoint
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
	var res struct {
		Code      uint32 `json:"code"`
		Codespace string `json:"codespace"`
		Log       string `json:"log"`
	}
	err := n.e.call(ctx, "broadcast_tx_sync", map[string]string{"tx": base64.StdEncoding.EncodeToString(tx)}, &res)
	if err != nil {
		forget()
		if ctx.Err() != nil {
			return TxOutcome{}, 0, ctx.Err()
		}
		// CometBFT v1 answers a tx its app's CheckTx refused with an RPC
		// error that carries the app's code, log and codespace as text.
		// The node's own refusals before CheckTx (mempool full, a tx in
		// its cache) are a busy node, as in-process; so is a node that
		// cannot be reached.
		var re *rpcError
		if !errors.As(err, &re) {
			err = fmt.Errorf("chainengine: rpc %s: %w", n.e.url, err)
		} else if m := invalidTxRE.FindStringSubmatch(re.Data); m != nil {
			if code, perr := strconv.ParseUint(m[1], 10, 32); perr == nil && code != 0 {
				return TxOutcome{Index: -1, Code: uint32(code), Codespace: m[3], Log: m[2]}, 0, nil
			}
		}
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
