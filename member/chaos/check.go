package chaos

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/apiclient"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/nats-io/nats.go/jetstream"
)

// issueReceipts registers a lot in a new bay of warehouse 1 and issues n
// receipts on it, alternately to the two traders.
func issueReceipts(ctx context.Context, d *apiclient.Driver, w *ledger.World, n int, issued func(id, holder string)) error {
	const bay = "BAY-CHAOS"
	if err := d.Submit(ctx, []string{ledger.Operator}, &warehouse.AddBay{Warehouse: ledger.Warehouse1, Bay: bay}); err != nil {
		return fmt.Errorf("bay: %w", err)
	}
	now := time.Now().Unix()
	var tickets []warehouse.SignedTicket
	for i := range 4 {
		tickets = append(tickets, w.Ticket(ledger.Weighbridge1, fmt.Sprintf("T-CHAOS-%d", i), warehouse.In, 40_000+15_000, 15_000, "", now))
	}
	lot := "LOT-CHAOS"
	if err := d.Submit(ctx, []string{ledger.Operator, ledger.Inspector}, &warehouse.RegisterStock{Lot: lot, Warehouse: ledger.Warehouse1, Bay: bay,
		Commodity: "copper cathode", Grade: "LME Grade A", Unit: "kg", Tolerance: 100, Tickets: tickets}); err != nil {
		return fmt.Errorf("lot: %w", err)
	}
	for i := range n {
		id := fmt.Sprintf("CR-%d", i)
		holder := traders[i%2]
		op := &warehouse.IssueReceipt{ID: id, Lot: lot, Depositor: holder, Negotiable: true, Quantity: 16_000, Description: "copper cathode",
			PlaceOfIssue: "Qingdao", StorageUntil: now + 365*86400, ValidUntil: now + 180*86400, StorageAgreementDate: now - 86400,
			StorageTermsRef: "T-1", ThirdPartyClaims: "none known", Fees: receipt.FeeTerms{Currency: "CNY", MinorPerTonnePerDay: 100}}
		if err := d.Submit(ctx, []string{ledger.Operator}, op); err != nil {
			return fmt.Errorf("issue %s: %w", id, err)
		}
		issued(id, holder)
	}
	return nil
}

// check reads every member and fills the report.
func (r *runner) check(ctx context.Context, hist *history) {
	hist.mu.Lock()
	ops := append([]*opRecord(nil), hist.ops...)
	hist.mu.Unlock()

	// Every member's view of every tx the clients made.
	tops := make([]int64, len(r.procs))
	for k, p := range r.procs {
		tops[k] = r.height(ctx, p)
		if tops[k] < 0 {
			r.failf("member %d does not answer after the faults healed", k)
		}
	}
	r.rep.Height = tops[0]
	for _, op := range ops {
		if op.Client < 0 {
			continue
		}
		r.rep.OpsSubmitted++
		views := make([]*api.TxView, len(r.procs))
		for k, p := range r.procs {
			var v api.TxView
			if p.client(ledger.Regulator, 5*time.Second).Get(ctx, "/v1/txs/"+hex.EncodeToString(op.Hash[:]), &v) == nil && v.Status != "pending" {
				views[k] = &v
			}
		}
		if op.Ret >= 0 && op.Out == outApplied {
			r.rep.OpsAcknowledged++
			for k, v := range views {
				if v == nil || v.Status != "committed" || v.Height != op.Height {
					r.rep.OpsLost++
					r.failf("acknowledged tx %x (%s %s at height %d) is not committed at that height on member %d", op.Hash[:4], op.In.Kind, op.In.Receipt, op.Height, k)
					break
				}
			}
			continue
		}
		if op.Ret >= 0 {
			r.rep.OpsRefused++
			continue
		}
		// No final answer reached the client: the chain has the last word.
		op.Ret = math.MaxInt64
		var seen *api.TxView
		for _, v := range views {
			if v != nil {
				seen = v
				break
			}
		}
		switch {
		case seen != nil && seen.Status == "committed":
			op.Out, op.Height = outApplied, seen.Height
		case seen != nil && seen.Status == "rejected":
			op.Out, op.Height, op.Rule = outRefused, seen.Height, seen.Rule
		default:
			dead := true
			for _, t := range tops {
				dead = dead && t > op.Expiry
			}
			if dead {
				op.Out = outDropped
			} else {
				r.rep.OpsUnresolved++
			}
		}
	}

	// Blocks: app hashes, txs applied twice, pledges, the events in order.
	minTop := tops[0]
	for _, t := range tops {
		minTop = min(minTop, t)
	}
	var events []string
	seenTx := map[string]int64{}
	open := map[string]int{} // receipt → open pledges
	for h := int64(1); h <= minTop; h++ {
		var blocks []api.BlockView
		for k, p := range r.procs {
			var b api.BlockView
			if err := p.client(ledger.Regulator, 5*time.Second).Get(ctx, "/v1/blocks/"+strconv.FormatInt(h, 10), &b); err != nil {
				r.failf("member %d: block %d: %v", k, h, err)
				continue
			}
			blocks = append(blocks, b)
		}
		if len(blocks) == 0 {
			continue
		}
		for _, b := range blocks[1:] {
			if b.AppHash != blocks[0].AppHash {
				r.rep.AppHashDivergences++
				r.failf("app hash at height %d differs between members", h)
				break
			}
		}
		for _, t := range blocks[0].Txs {
			if prev, dup := seenTx[t.Hash]; dup {
				r.rep.OpsAppliedTwice++
				r.failf("tx %s is in block %d and block %d", t.Hash, prev, h)
			}
			seenTx[t.Hash] = h
			for _, ev := range t.Events {
				events = append(events, ev.ID)
				rid := ""
				for _, ref := range ev.Refs {
					if ref.Kind == receipt.RefReceipt {
						rid = ref.ID
						break
					}
				}
				switch ev.Type {
				case receipt.EvPledgeRequested:
					if open[rid] > 0 {
						r.rep.DoublePledges++
						r.failf("receipt %s got a second open pledge at height %d", rid, h)
					}
					open[rid]++
				case receipt.EvPledgeRejected, receipt.EvPledgeWithdrawn, receipt.EvPledgeReleased, receipt.EvPledgeInvoked, receipt.EvPledgeLapsed:
					open[rid]--
				}
			}
		}
	}
	r.checkFeeds(ctx, events, minTop)

	// Each receipt's history, by porcupine.
	var hops []porcupine.Operation
	for _, op := range ops {
		if op.Out == outDropped {
			continue // never reached the rules: not part of any receipt's history
		}
		hops = append(hops, porcupine.Operation{ClientId: op.Client + 1, Input: op.In, Call: op.Call, Output: op.Out, Return: op.Ret})
		if op.In.Kind == kSplit && op.Out != outRefused {
			// The children come to exist with the split, if it applied.
			out := op.Out
			for _, kid := range op.Split {
				hops = append(hops, porcupine.Operation{ClientId: op.Client + 1, Input: mInput{Kind: kCreate, Receipt: kid, V: 1, Actor: op.In.Actor},
					Call: op.Call, Output: out, Return: op.Ret})
			}
		}
	}
	res := porcupine.CheckOperationsTimeout(receiptModel(), hops, time.Minute)
	r.rep.Linearizable = res == porcupine.Ok
	if !r.rep.Linearizable {
		r.failf("the receipts' histories are not linearizable (porcupine: %s)", res)
	}
	receipts := map[string]bool{}
	for _, op := range ops {
		receipts[op.In.Receipt] = true
	}
	r.rep.Receipts = len(receipts)
}

// checkFeeds reads each member's EWR_EVENTS stream: it must hold the
// chain's events up to minTop, each once, in order.
func (r *runner) checkFeeds(ctx context.Context, events []string, minTop int64) {
	for k, p := range r.procs {
		ids, err := feedIDs(ctx, p.nats, len(events))
		if err != nil {
			r.rep.FeedGaps++
			r.failf("member %d's event feed: %v", k, err)
			continue
		}
		if len(ids) < len(events) {
			r.rep.FeedGaps++
			r.failf("member %d's event feed holds %d events, its chain %d up to height %d", k, len(ids), len(events), minTop)
			continue
		}
		for i, id := range events {
			if ids[i] != id {
				r.rep.FeedGaps++
				r.failf("member %d's event feed: message %d is %s, the chain's event is %s", k, i+1, ids[i], id)
				break
			}
		}
	}
}

// feedIDs reads the ids of the first n messages of a member's event
// stream, waiting a while for the feed to catch up.
func feedIDs(ctx context.Context, url string, n int) ([]string, error) {
	nc, err := bus.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := bus.JetStream(nc)
	if err != nil {
		return nil, err
	}
	s, err := js.Stream(ctx, bus.EventsStream)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := s.Info(ctx)
		if err != nil {
			return nil, err
		}
		if int(info.State.Msgs) >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	var ids []string
	for seq := uint64(1); len(ids) < n; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			if err == jetstream.ErrMsgNotFound {
				break
			}
			return ids, err
		}
		ids = append(ids, m.Header.Get(jetstream.MsgIDHeader))
	}
	return ids, nil
}
