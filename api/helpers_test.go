package api_test

import (
	"context"
	"fmt"
	"github.com/ewrchain/ewr/financing"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/apiclient"
	"github.com/ewrchain/ewr/api/apitest"
	"github.com/ewrchain/ewr/api/snake"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/require"
)

// caller drives the API of a test system as its participants.
type caller struct {
	t   *testing.T
	sys *apitest.System
	ctx context.Context

	mu   sync.Mutex
	seen map[string]int // problem name → status seen
}

func newCaller(t *testing.T, sys *apitest.System) *caller {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	return &caller{t: t, sys: sys, ctx: ctx, seen: map[string]int{}}
}

func (c *caller) as(p string) *apiclient.Client { return c.sys.Client(p) }

// act runs an action as p, approving a draft with each co-signer's own
// token, and requires it to commit.
func (c *caller) act(p, path string, body any) *apiclient.Result {
	c.t.Helper()
	var res apiclient.Result
	require.NoError(c.t, c.as(p).Post(c.ctx, path, body, &res), "%s %s", p, path)
	if res.Status == api.StatusAwaitingSignatures {
		id := res.Draft.ID
		for _, co := range res.Draft.Awaiting {
			res = apiclient.Result{}
			require.NoError(c.t, c.as(co).Post(c.ctx, "/v1/drafts/"+id+"/approve", nil, &res), "%s approves %s", co, id)
		}
	}
	require.Equal(c.t, api.StatusCommitted, res.Status, "%s %s", p, path)
	return &res
}

// refused requires the request to be refused with the problem named
// name, and records it.
func (c *caller) refused(name, p, method, path string, body any, opts ...apiclient.Option) *apiclient.Problem {
	c.t.Helper()
	cl := c.sys.Client(p)
	if p == "" {
		cl = apiclient.New(c.sys.URL, "")
	}
	_, err := cl.Do(c.ctx, method, path, body, nil, opts...)
	require.Error(c.t, err, "%s %s %s should be refused as %s", p, method, path, name)
	prob, ok := apiclient.AsProblem(err)
	require.True(c.t, ok, "%s %s: %v", method, path, err)
	require.Equal(c.t, name, prob.Name(), "%s %s %s: %s", p, method, path, prob.Raw)
	c.record(prob)
	return prob
}

func (c *caller) record(p *apiclient.Problem) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[p.Name()] = p.Status
}

func (c *caller) post(name, p, path string, body any) *apiclient.Problem {
	c.t.Helper()
	return c.refused(name, p, http.MethodPost, path, body)
}

func (c *caller) get(name, p, path string) *apiclient.Problem {
	c.t.Helper()
	return c.refused(name, p, http.MethodGet, path, nil)
}

// draft starts op as signers[0] with exactly the co-signers named (none:
// an explicit empty list), requiring the API to refuse it with name.
func (c *caller) draftRefused(name string, op receipt.Op, signers ...string) *apiclient.Problem {
	c.t.Helper()
	raw, err := snakeOp(op)
	require.NoError(c.t, err)
	cos := append([]string{}, signers[1:]...)
	return c.post(name, signers[0], "/v1/drafts", api.DraftRequest{OpType: op.Type(), Op: raw, Cosigners: &cos})
}

// v is the receipt's version now: what a client reads before it acts (a
// receipt that does not exist gives 0, which the rules refuse).
func (c *caller) v(id string) uint64 {
	c.t.Helper()
	var r receipt.Receipt
	if err := c.as(ledger.Regulator).Get(c.ctx, "/v1/receipts/"+id, &r); err != nil {
		return 0
	}
	return r.Version
}

// pv is the version of a pledge's receipt now, what its bank confirms on.
func (c *caller) pv(pledge string) uint64 {
	c.t.Helper()
	var p receipt.Pledge
	if err := c.as(ledger.Regulator).Get(c.ctx, "/v1/pledges/"+pledge, &p); err != nil {
		return 0
	}
	return c.v(p.Receipt)
}

// plv is a pledge's own version now, what an action on it names.
func (c *caller) plv(pledge string) uint64 {
	c.t.Helper()
	var p receipt.Pledge
	if err := c.as(ledger.Regulator).Get(c.ctx, "/v1/pledges/"+pledge, &p); err != nil {
		return 1 // a pledge that does not exist: the rules say so
	}
	return p.Version
}

// lv is a loan's version now, what an action on it names.
func (c *caller) lv(loan string) uint64 {
	c.t.Helper()
	var l financing.Loan
	if err := c.as(ledger.Regulator).Get(c.ctx, "/v1/loans/"+loan, &l); err != nil {
		return 1 // a loan that does not exist: the rules say so
	}
	return l.Version
}

func (c *caller) receipt(id string) *receipt.Receipt {
	c.t.Helper()
	var r receipt.Receipt
	require.NoError(c.t, c.as(ledger.Regulator).Get(c.ctx, "/v1/receipts/"+id, &r))
	return &r
}

func (c *caller) now() int64 {
	c.t.Helper()
	var st api.StatusView
	require.NoError(c.t, c.as(ledger.Regulator).Get(c.ctx, "/v1/status", &st))
	return st.Now
}

// tickets makes n in-tickets of net kg each, signed by weighbridge wb.
func (c *caller) tickets(wb, tag string, n int, net uint64) []warehouse.SignedTicket {
	var out []warehouse.SignedTicket
	for i := range n {
		out = append(out, c.sys.World.Ticket(wb, fmt.Sprintf("T-%s-%d", tag, i), warehouse.In, net+15_000, 15_000, "", time.Now().Unix()))
	}
	return out
}

// lot registers a lot of n tickets of net kg in a new bay of warehouse 1.
func (c *caller) lot(tag string, n int, net uint64) string {
	c.t.Helper()
	bay := "BAY-" + tag
	c.act(ledger.Operator, "/v1/warehouses/"+ledger.Warehouse1+"/bays", api.BayRequest{Bay: bay})
	lot := "LOT-" + tag
	c.act(ledger.Operator, "/v1/lots", warehouse.RegisterStock{Lot: lot, Warehouse: ledger.Warehouse1, Bay: bay,
		Commodity: "copper cathode", Grade: "LME Grade A", Unit: "kg", Tolerance: 100, Tickets: c.tickets(ledger.Weighbridge1, tag, n, net)})
	return lot
}

// issue issues a receipt on lot to holder.
func (c *caller) issue(id, lot, holder string, qty uint64, mut ...func(*warehouse.IssueReceipt)) string {
	c.t.Helper()
	now := c.now()
	op := warehouse.IssueReceipt{ID: id, Lot: lot, Depositor: holder, Negotiable: true, Quantity: qty, Description: "copper cathode",
		PlaceOfIssue: "Qingdao", StorageUntil: now + 365*86400, ValidUntil: now + 180*86400, StorageAgreementDate: now - 86400,
		StorageTermsRef: "T-1", ThirdPartyClaims: "none known", Fees: receipt.FeeTerms{Currency: "CNY", MinorPerTonnePerDay: 100}}
	for _, m := range mut {
		m(&op)
	}
	c.act(ledger.Operator, "/v1/receipts", op)
	return id
}

func snakeOp(op receipt.Op) ([]byte, error) { return snake.Marshal(op) }
