package api

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/gofiber/fiber/v2"
)

// act runs op for the token's participant and answers with the outcome;
// kind and id(op) name the record to show after the commit.
func (rc *reqCtx) act(op receipt.Op, kind string, id func(receipt.Op) string) error {
	out, err := rc.s.svc.Act(rc.ctx(), rc.who, op, ActOpts{Async: rc.async(), Slot: rc.slot, NoCheck: rc.noCheck()})
	if err != nil {
		return err
	}
	return rc.outcome(out, kind, id)
}

// outcome writes an action's answer.
func (rc *reqCtx) outcome(out *Outcome, kind string, id func(receipt.Op) string) error {
	res := ActionResult{Status: out.Status, Events: []EventView{}}
	if out.Op != nil {
		res.OpType = out.Op.Type()
	}
	switch out.Status {
	case StatusAwaitingSignatures:
		v := out.Draft.view(rc.s.cfg.Chain.Height())
		res.Draft = &v
		res.TxHash = v.TxHash
		rc.c.Set(fiber.HeaderLocation, "/v1/drafts/"+out.Draft.ID)
		return rc.reply(http.StatusAccepted, res)
	case StatusPending:
		res.TxHash = hashHex(out.TxHash)
		rc.c.Set(fiber.HeaderLocation, "/v1/txs/"+res.TxHash)
		return rc.reply(http.StatusAccepted, res)
	}
	res.TxHash, res.Height = hashHex(out.TxHash), out.Height
	if rec, ok, err := rc.s.svc.blocks.get(out.Height); err == nil && ok {
		for ti := range rec.Txs {
			t := &rec.Txs[ti]
			if t.Hash == out.TxHash {
				for i := range t.Events {
					res.Events = append(res.Events, eventView(rec, t, i, &t.Events[i]))
				}
			}
		}
	}
	status := http.StatusOK
	if kind != "" && id != nil && out.Op != nil {
		res.ResourceKind, res.ResourceID = kind, id(out.Op)
		if v, err := loadRecord(rc.state(), kind, res.ResourceID); err == nil {
			res.Resource = v
		}
		if rc.r.Status == http.StatusCreated {
			status = http.StatusCreated
			rc.c.Set(fiber.HeaderLocation, "/v1/"+kinds[kind].path+"/"+res.ResourceID)
		}
	}
	return rc.reply(status, res)
}

// newID makes an id for a record the client did not name.
func newID(prefix string) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + "-" + hex.EncodeToString(b[:])
}

// now is the time rules compare deadlines with: the newest block time or
// the clock, whichever is later.
func (rc *reqCtx) now() int64 { return max(time.Now().Unix(), rc.s.svc.lastBlockTime.Load()) }

func same(id string) func(receipt.Op) string { return func(receipt.Op) string { return id } }

// Action constructors: every action route of the table is one of these.
// The handler reads the path's {id} and a body, builds the op and acts.

// onR is an action on the record the path's {id} names: the body is a Req,
// build makes the op of it; the answer shows that record, of kind.
func onR[Req any](path, tag, cli, summary, kind string, build func(rc *reqCtx, id string, req *Req) (receipt.Op, error)) *Route {
	return actR(path, tag, cli, summary, typ[Req](), func(rc *reqCtx) error {
		id, err := rc.id("id")
		if err != nil {
			return err
		}
		var req Req
		if err := rc.body(&req); err != nil {
			return err
		}
		op, err := build(rc, id, &req)
		if err != nil {
			return err
		}
		return rc.act(op, kind, same(id))
	})
}

// on is onR for a build that needs nothing but the id and the body.
func on[Req any](path, tag, cli, summary, kind string, build func(id string, req *Req) receipt.Op) *Route {
	return onR(path, tag, cli, summary, kind, func(_ *reqCtx, id string, req *Req) (receipt.Op, error) { return build(id, req), nil })
}

// newR creates a record: the body is the op itself (a T); fill sets what
// the client may leave out (an id, a deadline) and names the record made,
// of kind (kind "": the answer shows no record).
func newR[T any, P interface {
	*T
	receipt.Op
}](path, tag, cli, summary, kind string, fill func(rc *reqCtx, op P) string) *Route {
	return createR(path, tag, cli, summary, typ[T](), func(rc *reqCtx) error {
		op := P(new(T))
		if err := rc.body(op); err != nil {
			return err
		}
		id := fill(rc, op)
		if kind == "" {
			return rc.act(op, "", nil)
		}
		return rc.act(op, kind, same(id))
	})
}

// orNew is id, or a new one with prefix when the client left it empty.
func orNew(id *string, prefix string) string {
	if *id == "" {
		*id = newID(prefix)
	}
	return *id
}

// receiptPledge is the receipt's current pledge, or the rule error.
func (rc *reqCtx) receiptPledge(id string) (string, error) {
	r, ok := get[receipt.Receipt](rc.state(), receipt.ReceiptKey(id))
	if !ok {
		return "", receipt.Errorf(receipt.ErrReceiptNotFound, "%q", id)
	}
	if r.Pledge == "" {
		return "", receipt.Errorf(receipt.ErrPledgeNotFound, "%s has no pending or active pledge", id)
	}
	return r.Pledge, nil
}

// confirmDelivery is the op of a delivery's confirmation request.
func confirmDelivery(id string, req *TicketsRequest) receipt.Op {
	op := &warehouse.ConfirmDelivery{ReleaseOrder: id, Tickets: req.Tickets}
	if req.ClosingReading != nil {
		op.Closing = iot.Encode(req.ClosingReading)
	}
	return op
}
