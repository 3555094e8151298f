package chaos

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"math/rand"
	"net/http"
	"sync"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/apiclient"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
)

// The workload: clients, each bound to one member's API, read a receipt
// from their member and act on it as its holder, its transferee or its
// bank would, naming the version they read. Receipts are few and every
// member's clients hold every key, so the same receipt is acted on from
// every side of a partition at once: two pledges of one receipt, a
// transfer and a split of it. Clients sign on their own (as a trader's own
// system does) and submit the signed tx to their member (POST /v1/txs)
// with an idempotency key; an answer that says nothing final is retried
// once with the same key and bytes, and otherwise left to the checker,
// which looks the tx up by hash on every member once the faults heal.

var (
	traders = []string{ledger.TraderA, ledger.TraderB}
	banks   = []string{ledger.BankA, ledger.BankB}
)

// txTTL is how many blocks a workload tx stays valid: short, so a tx
// stranded on an isolated member is provably dead soon after the run.
const txTTL = 40

// opRecord is one op a client submitted, and what it learnt.
type opRecord struct {
	Client int
	Member int
	In     mInput
	Split  []string // a split's children
	Hash   [32]byte
	Expiry int64 // the tx's last height
	Call   int64 // ns since the run's start
	Ret    int64 // ns; unresolved: -1
	Out    string
	Height int64 // applied or refused in a block: its height
	Rule   string
}

// history is every op of the run, appended by the clients.
type history struct {
	mu  sync.Mutex
	ops []*opRecord
}

func (h *history) add(r *opRecord) {
	h.mu.Lock()
	h.ops = append(h.ops, r)
	h.mu.Unlock()
}

// pool is the receipts clients pick from; split children join it.
type pool struct {
	mu  sync.Mutex
	ids []string
}

func (p *pool) pick(rng *rand.Rand) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ids[rng.Intn(len(p.ids))]
}

func (p *pool) add(ids ...string) {
	p.mu.Lock()
	p.ids = append(p.ids, ids...)
	p.mu.Unlock()
}

func (p *pool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ids)
}

// client is one workload client on one member.
type client struct {
	id      int
	m       *proc
	rng     *rand.Rand
	chainID string
	start   time.Time
	hist    *history
	pool    *pool
	seq     int
}

func demoKey(p string) ed25519.PrivateKey { return ledger.DemoKey(ledger.DemoSeed, p) }

// run acts until ctx ends.
func (c *client) run(ctx context.Context) {
	for ctx.Err() == nil {
		if !c.once(ctx) {
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(100+c.rng.Intn(200)) * time.Millisecond):
			}
		}
	}
}

// once reads a receipt and acts on it; false if there was nothing to do
// or the member did not answer.
func (c *client) once(ctx context.Context) bool {
	id := c.pool.pick(c.rng)
	cl := c.m.client(ledger.Regulator, 3*time.Second)
	var r receipt.Receipt
	if err := cl.Get(ctx, "/v1/receipts/"+id, &r); err != nil {
		return false
	}
	var h api.Health
	if err := cl.Get(ctx, "/healthz", &h); err != nil {
		return false
	}
	in, op, children := c.choose(ctx, &r)
	if op == nil {
		return false
	}
	c.submit(ctx, in, op, children, h.Height+txTTL)
	return true
}

// choose is what the receipt's parties would do next, given what the
// client read.
func (c *client) choose(ctx context.Context, r *receipt.Receipt) (mInput, receipt.Op, []string) {
	c.seq++
	in := mInput{Receipt: r.ID, V: r.Version}
	deadline := time.Now().Unix() + 86400
	switch r.State {
	case receipt.StateIssued:
		other := traders[0]
		if r.Holder == other {
			other = traders[1]
		}
		in.Actor = r.Holder
		switch n := c.rng.Intn(10); {
		case n < 4:
			in.Kind, in.To = kInitiate, other
			return in, &receipt.InitiateTransfer{Receipt: r.ID, Version: r.Version, To: other, Deadline: deadline}, nil
		case n < 8:
			in.Kind, in.Bank = kRequest, banks[c.rng.Intn(len(banks))]
			in.Pledge = fmt.Sprintf("PL-%d-%d", c.id, c.seq)
			return in, &receipt.RequestPledge{Pledge: in.Pledge, Receipt: r.ID, Version: r.Version, Bank: in.Bank,
				Maturity: time.Now().Unix() + 90*86400}, nil
		default:
			if len(r.ID) > 14 || r.Quantity < 2 || c.pool.size() > 40 {
				return in, nil, nil
			}
			in.Kind = kSplit
			kids := []string{r.ID + "A", r.ID + "B"}
			return in, &receipt.Split{Receipt: r.ID, Version: r.Version, Parts: []receipt.Part{
				{ID: kids[0], Quantity: r.Quantity / 2}, {ID: kids[1], Quantity: r.Quantity - r.Quantity/2}}}, kids
		}
	case receipt.StateTransferPending:
		if r.Transfer == nil {
			return in, nil, nil
		}
		in.Kind, in.Actor = kAccept, r.Transfer.To
		return in, &receipt.AcceptTransfer{Receipt: r.ID, Version: r.Version}, nil
	case receipt.StatePledgePending:
		var p receipt.Pledge
		if c.m.client(ledger.Regulator, 3*time.Second).Get(ctx, "/v1/pledges/"+r.Pledge, &p) != nil {
			return in, nil, nil
		}
		in.Kind, in.Actor, in.Pledge = kConfirm, p.Bank, p.ID
		return in, &receipt.ConfirmPledge{Pledge: p.ID, ReceiptVersion: r.Version}, nil
	case receipt.StatePledged:
		var p receipt.Pledge
		if c.m.client(ledger.Regulator, 3*time.Second).Get(ctx, "/v1/pledges/"+r.Pledge, &p) != nil {
			return in, nil, nil
		}
		in.Kind, in.Actor, in.Pledge = kRelease, p.Bank, p.ID
		return in, &receipt.ReleasePledge{Pledge: p.ID, Version: p.Version}, nil
	}
	return in, nil, nil
}

// submit signs op as in.Actor and submits it to the client's member.
func (c *client) submit(ctx context.Context, in mInput, op receipt.Op, children []string, expiry int64) {
	body := chainengine.OpBody(c.chainID, []string{in.Actor}, chainengine.RandomNonce(), expiry, op)
	raw := chainengine.AssembleTx(body, []chainengine.Signature{chainengine.SignBody(demoKey(in.Actor), body)})
	tx, err := chainengine.DecodeTx(raw)
	if err != nil {
		panic(err) // our own encoding
	}
	rec := &opRecord{Client: c.id, Member: c.m.k, In: in, Split: children, Hash: tx.Hash, Expiry: expiry,
		Call: time.Since(c.start).Nanoseconds(), Ret: -1, Out: outUnknown}
	c.hist.add(rec)
	key := apiclient.IdempotencyKey(hex.EncodeToString(tx.Hash[:]))
	for attempt := 0; attempt < 2; attempt++ {
		var res apiclient.Result
		_, err := c.m.client(in.Actor, 8*time.Second).Do(ctx, http.MethodPost, "/v1/txs", api.SubmitTxRequest{Tx: raw}, &res, key)
		now := time.Since(c.start).Nanoseconds()
		if err == nil && res.Status == api.StatusCommitted {
			rec.Ret, rec.Out, rec.Height = now, outApplied, res.Height
			if children != nil {
				c.pool.add(children...)
			}
			return
		}
		if p, ok := apiclient.AsProblem(err); ok && p.Rule != "" && (p.Height > 0 || p.Stage == "check") {
			rec.Ret, rec.Out, rec.Height, rec.Rule = now, outRefused, p.Height, p.Rule
			return
		}
		if err == nil || ctx.Err() != nil {
			return // pending: the checker learns the outcome by hash
		}
		if _, ok := apiclient.AsProblem(err); ok {
			return // the node refused the bytes or answered 5xx: by hash too
		}
		select { // no answer (the member is down, paused or cut off): once more
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}
