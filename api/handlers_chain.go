package api

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/ewrchain/ewr/api/snake"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/gofiber/fiber/v2"
)

// decodeOp decodes an op of a registered type from its snake_case JSON.
func (s *Server) decodeOp(opType string, raw json.RawMessage) (receipt.Op, error) {
	op, err := s.svc.ledger.Registry.New(opType)
	if err != nil {
		return nil, err
	}
	if len(raw) == 0 {
		raw = json.RawMessage("{}")
	}
	if err := snake.Unmarshal(raw, op); err != nil {
		return nil, failf(PInvalidBody, "op: %v", err)
	}
	return op, nil
}

// resourceOf names the record an op acts on, for answers to ops that came
// in generically (drafts, signed txs).
func resourceOf(op receipt.Op) (string, string) {
	switch o := op.(type) {
	case *warehouse.IssueReceipt:
		return "receipt", o.ID
	case *receipt.InitiateTransfer:
		return "receipt", o.Receipt
	case *receipt.AcceptTransfer:
		return "receipt", o.Receipt
	case *receipt.CancelTransfer:
		return "receipt", o.Receipt
	case *receipt.Split:
		return "receipt", o.Receipt
	case *receipt.Merge:
		return "receipt", o.Into
	case *receipt.Freeze:
		return "receipt", o.Receipt
	case *receipt.Unfreeze:
		return "receipt", o.Receipt
	case *receipt.Expire:
		return "receipt", o.Receipt
	case *receipt.Void:
		return "receipt", o.Receipt
	case *receipt.Amend:
		return "receipt", o.Receipt
	case *warehouse.RequestDelivery:
		return "receipt", o.Receipt
	case *receipt.RequestPledge:
		return "pledge", o.Pledge
	case *receipt.ConfirmPledge:
		return "pledge", o.Pledge
	case *receipt.RejectPledge:
		return "pledge", o.Pledge
	case *receipt.WithdrawPledgeRequest:
		return "pledge", o.Pledge
	case *receipt.ReleasePledge:
		return "pledge", o.Pledge
	case *receipt.InvokePledge:
		return "pledge", o.Pledge
	case *warehouse.RegisterStock:
		return "lot", o.Lot
	case *warehouse.ConfirmDelivery:
		return "release_order", o.ReleaseOrder
	case *warehouse.CancelDelivery:
		return "release_order", o.ReleaseOrder
	case *receipt.RegisterParticipant:
		return "participant", o.ID
	case *receipt.SuspendParticipant:
		return "participant", o.ID
	case *receipt.ReinstateParticipant:
		return "participant", o.ID
	case *warehouse.RegisterWarehouse:
		return "warehouse", o.ID
	case *warehouse.AddBay:
		return "warehouse", o.Warehouse
	case *warehouse.RegisterDevice:
		return "device", o.ID
	case *warehouse.SuspendDevice:
		return "device", o.ID
	case *warehouse.CalibrateDevice:
		return "device", o.ID
	case *financing.OpenLoan:
		return "loan", o.Loan
	case *financing.RecordDisbursement:
		return "loan", o.Loan
	case *financing.RecordRepayment:
		return "loan", o.Loan
	case *financing.AddCollateral:
		return "loan", o.Loan
	case *financing.MarkDefault:
		return "loan", o.Loan
	case *financing.CancelLoan:
		return "loan", o.Loan
	case *trading.CreateOffer:
		return "offer", o.Offer
	case *trading.WithdrawOffer:
		return "offer", o.Offer
	case *trading.AcceptOffer:
		return "trade", o.Offer
	case *trading.ConfirmFunds:
		return "trade", o.Trade
	case *trading.Settle:
		return "settlement", o.Trade
	case *trading.CancelTrade:
		return "trade", o.Trade
	case *iot.Recount:
		return "lot", o.Lot
	case *iot.SetBaseline:
		return "lot", o.Lot
	case *iot.Breach:
		return "lot", o.Lot
	case *iot.Gap:
		return "lot", o.Lot
	case *iot.Verified:
		return "lot", o.Lot
	}
	return "", ""
}

// outcomeGeneric answers an outcome whose op came in generically.
func (rc *reqCtx) outcomeGeneric(out *Outcome) error {
	kind, id := "", ""
	if out.Op != nil {
		kind, id = resourceOf(out.Op)
	}
	if kind == "" {
		return rc.outcome(out, "", nil)
	}
	return rc.outcome(out, kind, same(id))
}

func (s *Server) submitTx(rc *reqCtx) error {
	var req SubmitTxRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	raw := req.Tx
	if len(raw) == 0 {
		if len(req.Body) == 0 {
			return failf(PInvalidBody, "give tx, or body and signatures")
		}
		sigs := make([]chainengine.Signature, len(req.Signatures))
		for i, sg := range req.Signatures {
			sigs[i] = chainengine.Signature{PubKey: sg.PublicKey, Sig: sg.Signature}
		}
		raw = chainengine.AssembleTx(req.Body, sigs)
	}
	if tx, err := chainengine.DecodeTx(raw); err == nil && !contains(tx.Body.Signers, rc.who) {
		return failf(PTokenForbidden, "%s does not sign this tx (signers %v): a token submits only txs its participant signed", rc.who, tx.Body.Signers)
	}
	out, err := s.svc.SubmitRaw(rc.ctx(), raw, rc.async(), rc.slot)
	if err != nil {
		return err
	}
	return rc.outcomeGeneric(out)
}

func (s *Server) encodeTx(rc *reqCtx) error {
	var req EncodeTxRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	op, err := s.decodeOp(req.OpType, req.Op)
	if err != nil {
		return err
	}
	if len(req.Signers) == 0 {
		req.Signers = []string{rc.who}
	}
	if err := op.Check(); err != nil {
		return err
	}
	if rc.c.Query("check") != "false" {
		if err := s.svc.Check(req.Signers, op); err != nil {
			return err
		}
	}
	if req.Nonce == 0 {
		req.Nonce = chainengine.RandomNonce()
	}
	if req.ExpiresAt == 0 {
		req.ExpiresAt = s.cfg.Chain.Height() + chainengine.DefaultTxTTL
	}
	body := chainengine.OpBody(s.cfg.Chain.ChainID(), req.Signers, req.Nonce, req.ExpiresAt, op)
	tx, err := chainengine.DecodeTx(chainengine.AssembleTx(body, make([]chainengine.Signature, len(req.Signers))))
	if err != nil {
		return chainengine.OutcomeErr(chainengine.TxOutcome{Index: -1, Code: chainengine.CodeTxSigners, Codespace: chainengine.CodespaceTx, Log: err.Error()}, 0)
	}
	return rc.reply(http.StatusOK, EncodedTx{ChainID: s.cfg.Chain.ChainID(), Signers: req.Signers, Nonce: req.Nonce,
		ExpiresAt: req.ExpiresAt, OpType: op.Type(), Body: body, SignBytes: chainengine.SignBytes(body), TxHash: hashHex(tx.Hash)})
}

// Drafts.

func (s *Server) createDraft(rc *reqCtx) error {
	var req DraftRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	if rc.slot != nil && rc.slot.raw() != nil {
		out, err := s.svc.SubmitRaw(rc.ctx(), rc.slot.raw(), rc.async(), rc.slot)
		if err != nil {
			return err
		}
		return rc.outcomeGeneric(out)
	}
	op, err := s.decodeOp(req.OpType, req.Op)
	if err != nil {
		return err
	}
	opts := ActOpts{Async: rc.async(), Slot: rc.slot, NoCheck: rc.noCheck()}
	if req.Cosigners != nil {
		opts.Cosigners = append([]string{}, *req.Cosigners...)
	}
	out, err := s.svc.Act(rc.ctx(), rc.who, op, opts)
	if err != nil {
		return err
	}
	if out.Status == StatusAwaitingSignatures {
		return rc.outcome(out, "", nil)
	}
	return rc.outcomeGeneric(out)
}

func (s *Server) draftOf(rc *reqCtx) (*Draft, error) {
	id, err := rc.id("id")
	if err != nil {
		return nil, err
	}
	d, ok := s.svc.drafts.get(id)
	if !ok || d.position(rc.who) < 0 {
		return nil, failf(PDraftNotFound, "%s (drafts are shown to their signers only)", id)
	}
	return d, nil
}

func (s *Server) drafts(rc *reqCtx) error {
	awaiting, err := rc.boolQuery("awaiting")
	if err != nil {
		return err
	}
	ds := s.svc.drafts.list(rc.who, awaiting)
	sortDrafts(ds)
	h := s.cfg.Chain.Height()
	items := make([]DraftView, 0, len(ds))
	for _, d := range ds {
		items = append(items, d.view(h))
	}
	return rc.list(items, "")
}

func (s *Server) draft(rc *reqCtx) error {
	d, err := s.draftOf(rc)
	if err != nil {
		return err
	}
	return rc.reply(http.StatusOK, d.view(s.cfg.Chain.Height()))
}

// draftAnswer answers an approval: still awaiting others, or the outcome.
func (rc *reqCtx) draftAnswer(d *Draft, out *Outcome) error {
	if out == nil {
		v := d.view(rc.s.cfg.Chain.Height())
		return rc.reply(http.StatusOK, ActionResult{Status: StatusAwaitingSignatures, OpType: d.OpType, TxHash: v.TxHash,
			Events: []EventView{}, Draft: &v})
	}
	return rc.outcomeGeneric(out)
}

func (s *Server) approveDraft(rc *reqCtx) error {
	d, err := s.draftOf(rc)
	if err != nil {
		return err
	}
	if err := rc.body(&Empty{}); err != nil {
		return err
	}
	d, out, err := s.svc.Approve(rc.ctx(), d.ID, rc.who, rc.async())
	if err != nil {
		return err
	}
	return rc.draftAnswer(d, out)
}

func (s *Server) signDraft(rc *reqCtx) error {
	d, err := s.draftOf(rc)
	if err != nil {
		return err
	}
	var req SignatureRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	d, out, err := s.svc.AddSignature(rc.ctx(), d.ID, rc.who, chainengine.Signature{PubKey: req.PublicKey, Sig: req.Signature}, rc.async())
	if err != nil {
		return err
	}
	return rc.draftAnswer(d, out)
}

func (s *Server) declineDraft(rc *reqCtx) error {
	d, err := s.draftOf(rc)
	if err != nil {
		return err
	}
	var req ReasonRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	d, err = s.svc.Decline(d.ID, rc.who, req.Reason)
	if err != nil {
		return err
	}
	return rc.reply(http.StatusOK, d.view(s.cfg.Chain.Height()))
}

// Events.

// eventFilter selects events by the records they concern.
type eventFilter struct {
	refs  []receipt.Ref
	types []string
}

func (rc *reqCtx) eventFilter() (eventFilter, error) {
	var f eventFilter
	for _, k := range []string{receipt.RefReceipt, receipt.RefLot, receipt.RefParticipant} {
		if v := rc.c.Query(k); v != "" {
			if !receipt.ValidID(v) {
				return f, failf(PInvalidParameter, "%s %q", k, v)
			}
			f.refs = append(f.refs, receipt.Ref{Kind: k, ID: v})
		}
	}
	if v := rc.c.Query("type"); v != "" {
		f.types = strings.Split(v, ",")
	}
	return f, nil
}

func (f eventFilter) match(ev *receipt.Event) bool {
	if len(f.types) > 0 && !contains(f.types, ev.Type) {
		return false
	}
	for _, want := range f.refs {
		found := false
		for _, r := range ev.Refs {
			if r == want {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// maxScanBlocks bounds the blocks one event list scans without the read
// model.
const maxScanBlocks = 10_000

func (s *Server) events(rc *reqCtx) error {
	f, err := rc.eventFilter()
	if err != nil {
		return err
	}
	pg, err := rc.page()
	if err != nil {
		return err
	}
	var after *EventPos
	if pg.After != "" {
		p, ok := ParseEventPos(pg.After)
		if !ok {
			return failf(PInvalidParameter, "after must be an event id height:tx:index")
		}
		after = &p
	}
	items := []EventView{}
	lastSeen := "" // the read model's page held events the reader may not see
	if q := s.queries(); q != nil {
		ef := indexer.EventFilter{Types: f.types, Refs: f.refs}
		if after != nil {
			ef.After = &indexer.EventPos{Height: after.Height, TxIndex: after.TxIndex, Index: after.Index}
		}
		evs, err := q.Events(rc.ctx(), ef, pg.Limit)
		if err != nil {
			return err
		}
		rd := rc.reader()
		for _, e := range evs {
			if v := indexerEventView(e); rd.mayReadEvent(v.Refs) {
				items = append(items, rd.redactEvent(v))
			}
		}
		if len(evs) == pg.Limit {
			lastSeen = indexerEventView(evs[len(evs)-1]).ID
		}
	} else {
		from := int64(0)
		if after != nil {
			from = after.Height
		}
		top := s.cfg.Chain.Height()
		for h := from; h <= top && h < from+maxScanBlocks && len(items) < pg.Limit; h++ {
			rec, ok, err := s.svc.blocks.get(h)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			rd := rc.reader()
			eachEvent(rec, func(v EventView, ev *receipt.Event) bool {
				pos := EventPos{v.Height, v.TxIndex, v.Index}
				if (after == nil || after.Less(pos)) && f.match(ev) && len(items) < pg.Limit && rd.mayReadEvent(v.Refs) {
					items = append(items, rd.redactEvent(v))
				}
				return len(items) < pg.Limit
			})
		}
	}
	next := ""
	if len(items) == pg.Limit {
		next = items[len(items)-1].ID
	} else if lastSeen != "" {
		next = lastSeen
	}
	return rc.list(items, next)
}

// eachEvent calls fn for every event of the applied txs of rec, in order,
// until fn returns false.
func eachEvent(rec *ledger.BlockRecord, fn func(EventView, *receipt.Event) bool) bool {
	for ti := range rec.Txs {
		t := &rec.Txs[ti]
		if t.Code != 0 {
			continue
		}
		for i := range t.Events {
			if !fn(eventView(rec, t, i, &t.Events[i]), &t.Events[i]) {
				return false
			}
		}
	}
	return true
}

// sseHeartbeat is how often an idle stream gets a comment line, so proxies
// and clients see it alive.
const sseHeartbeat = 15 * time.Second

// stream serves committed events as server-sent events: "id:
// height:tx:index", "event: <type>", "data: <EventView JSON>". It starts
// after Last-Event-ID (a reconnecting client resumes where it stopped), at
// ?from_height=, or at the next block.
func (s *Server) stream(rc *reqCtx) error {
	f, err := rc.eventFilter()
	if err != nil {
		return err
	}
	var after *EventPos
	start := s.cfg.Chain.Height() + 1
	if v := rc.c.Get("Last-Event-ID"); v != "" {
		p, ok := ParseEventPos(v)
		if !ok {
			return failf(PInvalidParameter, "Last-Event-ID must be height:tx:index")
		}
		after, start = &p, p.Height
	} else if v := rc.c.Query("from_height"); v != "" {
		h, err := rc.queryInt("from_height", 0)
		if err != nil || h < 0 {
			return failf(PInvalidParameter, "from_height must be a non-negative integer")
		}
		start = h
	}
	if !s.lim.openStream(rc.who) {
		return failf(PTooManyStreamsMine, "%s has %d open; close one first", rc.who, s.lim.streamsEach)
	}
	if n := s.streams.Add(1); n > int64(s.cfg.MaxStreams) {
		s.streams.Add(-1)
		s.lim.closeStream(rc.who)
		return failf(PTooManyStreams, "at most %d", s.cfg.MaxStreams)
	}
	who := rc.who
	s.svc.metrics.streams.Inc()
	c := rc.c
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderConnection, "keep-alive")
	c.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer func() {
			s.streams.Add(-1)
			s.lim.closeStream(who)
			s.svc.metrics.streams.Dec()
		}()
		s.pump(w, f, start, after, who)
	})
	return nil
}

// pump writes the stream until the client goes away or the server stops.
func (s *Server) pump(w *bufio.Writer, f eventFilter, next int64, after *EventPos, who string) {
	if _, err := w.WriteString(": ewr event stream\nretry: 2000\n\n"); err != nil || w.Flush() != nil {
		return
	}
	beat := time.NewTicker(s.cfg.StreamHeartbeat)
	defer beat.Stop()
	for {
		ch := s.cfg.Chain.Committed()
		top := s.cfg.Chain.Height()
		for ; next <= top; next++ {
			rec, ok, err := s.svc.blocks.get(next)
			if err != nil || !ok {
				continue
			}
			var werr error
			st, _ := s.cfg.Chain.State()
			rd := readerAt(st, who)
			eachEvent(rec, func(v EventView, ev *receipt.Event) bool {
				if after != nil && !after.Less(EventPos{v.Height, v.TxIndex, v.Index}) {
					return true
				}
				if !f.match(ev) || !rd.mayReadEvent(v.Refs) {
					return true
				}
				v = rd.redactEvent(v)
				data, err := snake.Marshal(v)
				if err != nil {
					return true
				}
				_, werr = w.WriteString("id: " + v.ID + "\nevent: " + v.Type + "\ndata: " + string(data) + "\n\n")
				return werr == nil
			})
			if werr != nil || w.Flush() != nil {
				return
			}
		}
		select {
		case <-s.done:
			return
		case <-ch:
		case <-beat.C:
			if _, err := w.WriteString(": ping\n\n"); err != nil || w.Flush() != nil {
				return
			}
		}
	}
}
