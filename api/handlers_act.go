package api

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
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

// Receipts.

func (s *Server) issueReceipt(rc *reqCtx) error {
	var op warehouse.IssueReceipt
	if err := rc.body(&op); err != nil {
		return err
	}
	if op.ID == "" {
		op.ID = newID("WR")
	}
	return rc.act(&op, "receipt", func(o receipt.Op) string { return o.(*warehouse.IssueReceipt).ID })
}

func (s *Server) transfer(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req TransferRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	if req.Deadline == 0 {
		req.Deadline = rc.now() + 86400
	}
	return rc.act(&receipt.InitiateTransfer{Receipt: id, Version: req.Version, To: req.To, Deadline: req.Deadline}, "receipt", same(id))
}

func (s *Server) acceptTransfer(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req VersionRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	return rc.act(&receipt.AcceptTransfer{Receipt: id, Version: req.Version}, "receipt", same(id))
}

func (s *Server) cancelTransfer(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	if err := rc.body(&Empty{}); err != nil {
		return err
	}
	return rc.act(&receipt.CancelTransfer{Receipt: id}, "receipt", same(id))
}

func (s *Server) split(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req SplitRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	return rc.act(&receipt.Split{Receipt: id, Version: req.Version, Parts: req.Parts}, "receipt", same(id))
}

func (s *Server) merge(rc *reqCtx) error {
	var op receipt.Merge
	if err := rc.body(&op); err != nil {
		return err
	}
	if op.Into == "" {
		op.Into = newID("WR")
	}
	return rc.act(&op, "receipt", func(o receipt.Op) string { return o.(*receipt.Merge).Into })
}

func (s *Server) pledge(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req PledgeRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	if req.Pledge == "" {
		req.Pledge = newID("PL")
	}
	op := &receipt.RequestPledge{Pledge: req.Pledge, Receipt: id, Version: req.Version, Bank: req.Bank, Maturity: req.Maturity}
	return rc.act(op, "pledge", func(o receipt.Op) string { return o.(*receipt.RequestPledge).Pledge })
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

func (s *Server) confirmOnReceipt(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req ConfirmPledgeRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	pl, err := rc.receiptPledge(id)
	if err != nil {
		return err
	}
	return rc.act(&receipt.ConfirmPledge{Pledge: pl, ReceiptVersion: req.ReceiptVersion}, "receipt", same(id))
}

func (s *Server) releaseOnReceipt(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	if err := rc.body(&Empty{}); err != nil {
		return err
	}
	pl, err := rc.receiptPledge(id)
	if err != nil {
		return err
	}
	return rc.act(&receipt.ReleasePledge{Pledge: pl}, "receipt", same(id))
}

func (s *Server) deliver(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req DeliverRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	if req.Quantity == 0 {
		if r, ok := get[receipt.Receipt](rc.state(), receipt.ReceiptKey(id)); ok {
			req.Quantity = r.Quantity
		}
	}
	return rc.act(&warehouse.RequestDelivery{Receipt: id, Version: req.Version, Quantity: req.Quantity}, "receipt", same(id))
}

func (s *Server) freeze(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req ReasonRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	return rc.act(&receipt.Freeze{Receipt: id, Reason: req.Reason}, "receipt", same(id))
}

func (s *Server) unfreeze(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req ReasonRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	return rc.act(&receipt.Unfreeze{Receipt: id, Reason: req.Reason}, "receipt", same(id))
}

func (s *Server) expire(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	if err := rc.body(&Empty{}); err != nil {
		return err
	}
	return rc.act(&receipt.Expire{Receipt: id}, "receipt", same(id))
}

func (s *Server) void(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req VersionReasonRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	return rc.act(&receipt.Void{Receipt: id, Version: req.Version, Reason: req.Reason}, "receipt", same(id))
}

func (s *Server) amend(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req AmendRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	return rc.act(&receipt.Amend{Receipt: id, Version: req.Version, Description: req.Description,
		ThirdPartyClaims: req.ThirdPartyClaims, Insurance: req.Insurance}, "receipt", same(id))
}

// Pledges.

func (s *Server) pledgeAction(rc *reqCtx, mk func(id string) (receipt.Op, error)) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	op, err := mk(id)
	if err != nil {
		return err
	}
	return rc.act(op, "pledge", same(id))
}

func (s *Server) confirmPledge(rc *reqCtx) error {
	return s.pledgeAction(rc, func(id string) (receipt.Op, error) {
		var req ConfirmPledgeRequest
		if err := rc.body(&req); err != nil {
			return nil, err
		}
		return &receipt.ConfirmPledge{Pledge: id, ReceiptVersion: req.ReceiptVersion}, nil
	})
}

func (s *Server) rejectPledge(rc *reqCtx) error {
	return s.pledgeAction(rc, func(id string) (receipt.Op, error) {
		var req ReasonRequest
		if err := rc.body(&req); err != nil {
			return nil, err
		}
		return &receipt.RejectPledge{Pledge: id, Reason: req.Reason}, nil
	})
}

func (s *Server) withdrawPledge(rc *reqCtx) error {
	return s.pledgeAction(rc, func(id string) (receipt.Op, error) {
		return &receipt.WithdrawPledgeRequest{Pledge: id}, rc.body(&Empty{})
	})
}

func (s *Server) releasePledge(rc *reqCtx) error {
	return s.pledgeAction(rc, func(id string) (receipt.Op, error) {
		return &receipt.ReleasePledge{Pledge: id}, rc.body(&Empty{})
	})
}

func (s *Server) invokePledge(rc *reqCtx) error {
	return s.pledgeAction(rc, func(id string) (receipt.Op, error) {
		return &receipt.InvokePledge{Pledge: id}, rc.body(&Empty{})
	})
}

// Lots and deliveries.

func (s *Server) registerLot(rc *reqCtx) error {
	var op warehouse.RegisterStock
	if err := rc.body(&op); err != nil {
		return err
	}
	if op.Lot == "" {
		op.Lot = newID("LOT")
	}
	return rc.act(&op, "lot", func(o receipt.Op) string { return o.(*warehouse.RegisterStock).Lot })
}

func (s *Server) recount(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req RecountRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	return rc.act(&iot.Recount{Lot: id, Counted: req.Counted, Baseline: req.Baseline, Note: req.Note}, "lot", same(id))
}

func (s *Server) confirmDelivery(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req TicketsRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	op := &warehouse.ConfirmDelivery{ReleaseOrder: id, Tickets: req.Tickets}
	if req.ClosingReading != nil {
		op.Closing = iot.Encode(req.ClosingReading)
	}
	return rc.act(op, "release_order", same(id))
}

func (s *Server) cancelDelivery(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	if err := rc.body(&Empty{}); err != nil {
		return err
	}
	return rc.act(&warehouse.CancelDelivery{ReleaseOrder: id}, "release_order", same(id))
}

// Participants, warehouses, devices.

func (s *Server) registerParticipant(rc *reqCtx) error {
	var op receipt.RegisterParticipant
	if err := rc.body(&op); err != nil {
		return err
	}
	return rc.act(&op, "participant", func(o receipt.Op) string { return o.(*receipt.RegisterParticipant).ID })
}

func (s *Server) suspendParticipant(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req ReasonRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	return rc.act(&receipt.SuspendParticipant{ID: id, Reason: req.Reason}, "participant", same(id))
}

func (s *Server) reinstateParticipant(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req ReasonRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	return rc.act(&receipt.ReinstateParticipant{ID: id, Reason: req.Reason}, "participant", same(id))
}

func (s *Server) registerWarehouse(rc *reqCtx) error {
	var op warehouse.RegisterWarehouse
	if err := rc.body(&op); err != nil {
		return err
	}
	return rc.act(&op, "warehouse", func(o receipt.Op) string { return o.(*warehouse.RegisterWarehouse).ID })
}

func (s *Server) addBay(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req BayRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	return rc.act(&warehouse.AddBay{Warehouse: id, Bay: req.Bay, TareKg: req.TareKg}, "warehouse", same(id))
}

func (s *Server) setBayTare(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	bay, err := rc.id("bay")
	if err != nil {
		return err
	}
	var req TareRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	return rc.act(&warehouse.SetBayTare{Warehouse: id, Bay: bay, TareKg: req.TareKg}, "warehouse", same(id))
}

func (s *Server) setSupervisors(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req SupervisorsRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	return rc.act(&warehouse.SetSupervisors{Warehouse: id, Supervisors: req.Supervisors}, "warehouse", same(id))
}

func (s *Server) registerDevice(rc *reqCtx) error {
	var op warehouse.RegisterDevice
	if err := rc.body(&op); err != nil {
		return err
	}
	return rc.act(&op, "device", func(o receipt.Op) string { return o.(*warehouse.RegisterDevice).ID })
}

func (s *Server) suspendDevice(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req ReasonRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	return rc.act(&warehouse.SuspendDevice{ID: id, Reason: req.Reason}, "device", same(id))
}

func (s *Server) calibrateDevice(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req CalibrateRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	return rc.act(&warehouse.CalibrateDevice{ID: id, CalibratedUntil: req.CalibratedUntil, Certificate: req.Certificate}, "device", same(id))
}

// Financing.

func (s *Server) setPolicy(rc *reqCtx) error {
	var op financing.SetCreditPolicy
	if err := rc.body(&op); err != nil {
		return err
	}
	return rc.act(&op, "", nil)
}

func (s *Server) postPrice(rc *reqCtx) error {
	var op financing.PostPrice
	if err := rc.body(&op); err != nil {
		return err
	}
	return rc.act(&op, "", nil)
}

func (s *Server) openLoan(rc *reqCtx) error {
	var op financing.OpenLoan
	if err := rc.body(&op); err != nil {
		return err
	}
	if op.Loan == "" {
		op.Loan = newID("LN")
	}
	return rc.act(&op, "loan", func(o receipt.Op) string { return o.(*financing.OpenLoan).Loan })
}

func (s *Server) loanAction(rc *reqCtx, mk func(id string) (receipt.Op, error)) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	op, err := mk(id)
	if err != nil {
		return err
	}
	return rc.act(op, "loan", same(id))
}

func (s *Server) disburse(rc *reqCtx) error {
	return s.loanAction(rc, func(id string) (receipt.Op, error) {
		var req AmountRequest
		if err := rc.body(&req); err != nil {
			return nil, err
		}
		return &financing.RecordDisbursement{Loan: id, Amount: req.Amount, Ref: req.Ref}, nil
	})
}

func (s *Server) repay(rc *reqCtx) error {
	return s.loanAction(rc, func(id string) (receipt.Op, error) {
		var req AmountRequest
		if err := rc.body(&req); err != nil {
			return nil, err
		}
		return &financing.RecordRepayment{Loan: id, Amount: req.Amount, Ref: req.Ref}, nil
	})
}

func (s *Server) addCollateral(rc *reqCtx) error {
	return s.loanAction(rc, func(id string) (receipt.Op, error) {
		var req PledgesRequest
		if err := rc.body(&req); err != nil {
			return nil, err
		}
		return &financing.AddCollateral{Loan: id, Pledges: req.Pledges}, nil
	})
}

func (s *Server) markDefault(rc *reqCtx) error {
	return s.loanAction(rc, func(id string) (receipt.Op, error) {
		return &financing.MarkDefault{Loan: id}, rc.body(&Empty{})
	})
}

func (s *Server) cancelLoan(rc *reqCtx) error {
	return s.loanAction(rc, func(id string) (receipt.Op, error) {
		var req ReasonRequest
		if err := rc.body(&req); err != nil {
			return nil, err
		}
		return &financing.CancelLoan{Loan: id, Reason: req.Reason}, nil
	})
}

// Trading.

func (s *Server) createOffer(rc *reqCtx) error {
	var op trading.CreateOffer
	if err := rc.body(&op); err != nil {
		return err
	}
	if op.Offer == "" {
		op.Offer = newID("OF")
	}
	if op.Deadline == 0 {
		op.Deadline = rc.now() + 86400
	}
	return rc.act(&op, "offer", func(o receipt.Op) string { return o.(*trading.CreateOffer).Offer })
}

func (s *Server) withdrawOffer(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	if err := rc.body(&Empty{}); err != nil {
		return err
	}
	return rc.act(&trading.WithdrawOffer{Offer: id}, "offer", same(id))
}

func (s *Server) acceptOffer(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req AcceptOfferRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	return rc.act(&trading.AcceptOffer{Offer: id, BuyerBank: req.BuyerBank}, "trade", same(id))
}

func (s *Server) fundTrade(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req FundRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	return rc.act(&trading.ConfirmFunds{Trade: id, AmountMinor: req.AmountMinor, Currency: req.Currency, EscrowRef: req.EscrowRef}, "trade", same(id))
}

func (s *Server) settle(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	if err := rc.body(&Empty{}); err != nil {
		return err
	}
	return rc.act(&trading.Settle{Trade: id}, "settlement", same(id))
}

func (s *Server) cancelTrade(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	var req ReasonRequest
	if err := rc.body(&req); err != nil {
		return err
	}
	return rc.act(&trading.CancelTrade{Trade: id, Reason: req.Reason}, "trade", same(id))
}
