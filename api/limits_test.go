package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/apiclient"
	"github.com/ewrchain/ewr/api/apitest"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPerParticipantLimits: one participant cannot take the node's shared
// resources from the others. Its event streams, its drafts awaiting
// signatures and its request rate are bounded, each with its own 429, and
// what is released is free again; another participant is not affected.
// A draft names only the co-signers its op needs.
func TestPerParticipantLimits(t *testing.T) {
	sys := apitest.Start(t, apitest.Options{Validators: 1, Limits: api.Config{StreamsPerParticipant: 2, DraftsPerParticipant: 2, RatePerS: 5, RateBurst: 40,
		StreamHeartbeat: 100 * time.Millisecond}})
	c := newCaller(t, sys)

	// Streams: two each.
	s1 := openStream(t, sys, pA, "", "")
	openStream(t, sys, pA, "", "")
	p := c.get(api.PTooManyStreamsMine.Name, pA, "/v1/events/stream")
	assert.Equal(t, http.StatusTooManyRequests, p.Status)
	openStream(t, sys, pB, "", "") // another participant still may
	// The server learns a client left when a write fails: at a heartbeat
	// or two (here every 100 ms). Polled slower than the token's rate.
	s1.close()
	freed := false
	for deadline := time.Now().Add(10 * time.Second); !freed && time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		req, _ := http.NewRequest(http.MethodGet, sys.URL+"/v1/events/stream", nil)
		req.Header.Set("Authorization", "Bearer "+sys.Tokens[pA])
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		freed = resp.StatusCode == http.StatusOK
		resp.Body.Close()
	}
	require.True(t, freed, "a closed stream frees its place")

	// Drafts: two awaiting each; a declined one frees its place.
	lot := c.lot("LIM", 1, 10_000)
	var drafts []string
	for i := range 2 {
		id := c.issue(fmt.Sprintf("LIM-%d", i), lot, pA, 1_000)
		raw, err := snakeOp(&receipt.Amend{Receipt: id, Version: c.v(id), Description: "amended", ThirdPartyClaims: "none"})
		require.NoError(t, err)
		var res api.ActionResult
		require.NoError(t, c.as(pWO).Post(c.ctx, "/v1/drafts", api.DraftRequest{OpType: "receipt.amend", Op: raw}, &res))
		require.Equal(t, api.StatusAwaitingSignatures, res.Status)
		drafts = append(drafts, res.Draft.ID)
	}
	id := c.issue("LIM-2", lot, pA, 1_000)
	amend := &receipt.Amend{Receipt: id, Version: c.v(id), Description: "amended", ThirdPartyClaims: "none"}
	p = c.draftRefused(api.PTooManyDrafts.Name, amend, pWO, pA)
	assert.Equal(t, http.StatusTooManyRequests, p.Status)
	require.NoError(t, c.as(pA).Post(c.ctx, "/v1/drafts/"+drafts[0]+"/decline", api.ReasonRequest{Reason: "no"}, nil))
	raw, err := snakeOp(amend)
	require.NoError(t, err)
	var res api.ActionResult
	require.NoError(t, c.as(pWO).Post(c.ctx, "/v1/drafts", api.DraftRequest{OpType: "receipt.amend", Op: raw}, &res), "a declined draft frees its place")

	// Co-signers: only those the op needs.
	id = c.issue("LIM-3", lot, pA, 1_000)
	c.draftRefused(api.PCosignerNotNeeded.Name, &receipt.Amend{Receipt: id, Version: c.v(id), Description: "x", ThirdPartyClaims: "none"}, pWO, pA, ledger.BankB)

	// Rate: a burst of 40, then 5 a second, per token (the holder's).
	limited := 0
	for range 60 {
		var r receipt.Receipt
		if err := c.as(pA).Get(c.ctx, "/v1/receipts/"+id, &r); err != nil {
			p, ok := apiclient.AsProblem(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, api.PRateLimited.Name, p.Name())
			require.Equal(t, http.StatusTooManyRequests, p.Status)
			limited++
		}
	}
	assert.GreaterOrEqual(t, limited, 10, "60 requests at once against a burst of 40")
	var r receipt.Receipt
	require.NoError(t, c.as(pWO).Get(c.ctx, "/v1/receipts/"+id, &r), "another token has its own bucket")
	time.Sleep(time.Second)
	require.NoError(t, c.as(pA).Get(c.ctx, "/v1/receipts/"+id, &r), "the bucket refills")
}
