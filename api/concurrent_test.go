package api_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/apiclient"
	"github.com/ewrchain/ewr/api/apitest"
	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/ewrchain/ewr/receipt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrentClients runs in -short (and under the race detector): one
// validator, the real API, many clients at once — actions with and without
// idempotency keys, drafts approved concurrently, reads, an event stream.
func TestConcurrentClients(t *testing.T) {
	sys := apitest.Start(t, apitest.Options{Validators: 1, CommitTimeout: time.Minute})
	c := newCaller(t, sys)
	lot := c.lot("CC", 4, 40_000)
	stream := openStream(t, sys, pREG, "lot="+lot, "")
	const n = 12
	for i := range n {
		c.issue(fmt.Sprintf("CC-%d", i), lot, pA, 1_000)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 10*n)
	var staleMu sync.Mutex
	staleTransfer := map[string]bool{} // the amendment changed the receipt first
	for i := range n {
		id := fmt.Sprintf("CC-%d", i)
		v := c.v(id) // what both the transfer and the amendment saw
		wg.Add(3)
		go func() { // an action, retried with its key
			defer wg.Done()
			for range 2 {
				_, err := c.as(pA).Do(c.ctx, http.MethodPost, "/v1/receipts/"+id+"/transfer", api.TransferRequest{Version: v, To: pB},
					nil, apiclient.IdempotencyKey("t-"+id))
				if p, ok := apiclient.AsProblem(err); ok && p.Rule == receipt.ErrStaleVersion.Name {
					staleMu.Lock()
					staleTransfer[id] = true
					staleMu.Unlock()
				} else if err != nil {
					errs <- fmt.Errorf("%s: %w", id, err)
				}
			}
		}()
		go func() { // reads, by the holder
			defer wg.Done()
			for range 20 {
				var r receipt.Receipt
				if err := c.as(pA).Get(c.ctx, "/v1/receipts/"+id, &r); err != nil {
					errs <- err
				}
			}
		}()
		go func() { // a draft that needs two signers, approved twice at once
			defer wg.Done()
			var res apiclient.Result
			if err := c.as(pWO).Post(c.ctx, "/v1/receipts/"+id+"/amend", api.AmendRequest{Version: v, Description: "amended " + id, ThirdPartyClaims: "none"}, &res); err != nil {
				errs <- err
				return
			}
			if res.Status != api.StatusAwaitingSignatures {
				errs <- fmt.Errorf("amend %s: %s", id, res.Status)
				return
			}
			var inner sync.WaitGroup
			var committed, closed, stale int
			var mu sync.Mutex
			for range 2 {
				inner.Add(1)
				go func() {
					defer inner.Done()
					err := c.as(pA).Post(c.ctx, "/v1/drafts/"+res.Draft.ID+"/approve", nil, nil)
					mu.Lock()
					defer mu.Unlock()
					p, isProblem := apiclient.AsProblem(err)
					switch {
					case isProblem && p.Name() == api.PDraftClosed.Name:
						closed++
					case isProblem && p.Rule == receipt.ErrStaleVersion.Name:
						stale++ // the transfer changed the receipt first: the chain refused the amendment
					case err == nil:
						committed++
					default:
						errs <- err
					}
				}()
			}
			inner.Wait()
			if committed+stale != 1 || closed != 1 {
				errs <- fmt.Errorf("draft %s: %d committed, %d refused stale, %d closed", res.Draft.ID, committed, stale, closed)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		// Amend and transfer race on the receipt's version: one may find
		// the other's change. That is the rules working, not a failure.
		if p, ok := apiclient.AsProblem(err); ok && p.Name() == receipt.ErrStaleVersion.Name {
			continue
		}
		assert.NoError(t, err)
	}
	for i := range n {
		r := c.receipt(fmt.Sprintf("CC-%d", i))
		if staleTransfer[r.ID] {
			assert.Equal(t, receipt.StateIssued, r.State, r.ID)
		} else {
			assert.Equal(t, receipt.StateTransferPending, r.State, r.ID)
		}
	}
	testkit.PollTrue(t, time.Minute, "the stream", func() bool { return len(stream.got()) >= 2*n })
	require.NotEmpty(t, stream.got())
}

// TestShutdownIsNotHeldBySilentConnections: a client that connects and
// sends nothing (Go's transport keeps such spare connections) must not hold
// a graceful shutdown until the read timeout, and neither must a client
// reading an event stream.
func TestShutdownIsNotHeldBySilentConnections(t *testing.T) {
	sys := apitest.Start(t, apitest.Options{Validators: 1})
	host := strings.TrimPrefix(sys.URL, "http://")
	var silent []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", host)
		require.NoError(t, err)
		silent = append(silent, c)
	}
	t.Cleanup(func() {
		for _, c := range silent {
			_ = c.Close()
		}
	})
	openStream(t, sys, pREG, "", "")
	var r map[string]any
	require.NoError(t, sys.Client(pA).Get(context.Background(), "/v1/participants/"+pA, &r))

	start := time.Now()
	sys.StopServer() // fails the test if Shutdown returns an error (its deadline is 10 s)
	assert.Less(t, time.Since(start), 3*time.Second, "shutdown waited for connections that never sent a request")
	for _, c := range silent {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err := c.Read(make([]byte, 1))
		assert.Error(t, err, "the server should have closed a silent connection")
	}
}
