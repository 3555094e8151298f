package warehouse

import (
	"strconv"

	"github.com/ewrchain/ewr/receipt"
)

// ReleaseOrderID is the id the chain gives the n-th release order of a
// receipt.
func ReleaseOrderID(receiptID string, n uint32) string {
	return "ro-" + receiptID + "-" + strconv.FormatUint(uint64(n), 10)
}

// RequestDelivery is the holder redeeming (part of) the goods. The chain
// opens a release order the warehouse loads out against. The receipt must
// be unencumbered, or pledged with the bank co-signing; an expired receipt
// may still be redeemed.
type RequestDelivery struct {
	Receipt  string
	Version  uint64
	Quantity uint64
}

func (*RequestDelivery) Type() string { return "delivery.request" }

func (op *RequestDelivery) Check() error {
	if err := receipt.CheckID("receipt", op.Receipt); err != nil {
		return err
	}
	if err := receipt.CheckVersion("receipt", op.Version); err != nil {
		return err
	}
	return receipt.CheckQuantity("quantity", op.Quantity)
}

func (op *RequestDelivery) Apply(x *receipt.Exec) error {
	r, err := receipt.LoadReceipt(x, op.Receipt)
	if err != nil {
		return err
	}
	if err := receipt.NotTerminal(r); err != nil {
		return err
	}
	if err := x.RequireActor(r.Holder, 0, receipt.ErrNotHolder); err != nil {
		return err
	}
	if r.Version != op.Version {
		return receipt.Errorf(receipt.ErrStaleVersion, "%s is at version %d, op names %d", r.ID, r.Version, op.Version)
	}
	switch r.State {
	case receipt.StateIssued, receipt.StateExpired, receipt.StatePledged:
	case receipt.StateFrozen:
		return receipt.Errorf(receipt.ErrFrozen, "%s: %s", r.ID, r.Frozen.Reason)
	default:
		return receipt.RequireFree(r)
	}
	if r.Pledge != "" {
		p, err := receipt.LoadPledge(x, r.Pledge)
		if err != nil {
			return err
		}
		if !x.SignedBy(p.Bank) {
			return receipt.Errorf(receipt.ErrPledgeeConsent, "%s is pledged to %s", r.ID, p.Bank)
		}
	}
	if op.Quantity > r.Quantity {
		return receipt.Errorf(ErrDeliveryQuantity, "asked %d, receipt holds %d", op.Quantity, r.Quantity)
	}
	l, err := LoadLot(x, r.Lot)
	if err != nil {
		return err
	}
	r.Deliveries++
	ro := ReleaseOrder{
		ID: ReleaseOrderID(r.ID, r.Deliveries), Receipt: r.ID, Lot: r.Lot, Warehouse: r.Warehouse,
		Holder: r.Holder, Quantity: op.Quantity, Status: ROOpen, CreatedAt: x.Block.Time, Version: 1,
	}
	ro.MayRemove = op.Quantity + loadOutAllowance(x.Params(), op.Quantity, l.Unit)
	// The load-out is now expected: the bay may lose what the order allows.
	if l.Status == LotLocked {
		if err := RecordPhase(x, l, func(p *LockPhase) { p.Open++; p.OutQty += ro.MayRemove }); err != nil {
			return err
		}
		SaveLot(x, l)
	}
	r.ReleaseOrder = ro.ID
	r.State = receipt.StateRedemptionPending
	r.Bump(x)
	receipt.SaveReceipt(x, r)
	receipt.Save(x, ReleaseOrderKey(ro.ID), &ro)
	x.Emit(receipt.EvDeliveryRequested, deliveryRefs(r, &ro), receipt.Attr{Key: "quantity", Value: receipt.U64(ro.Quantity)})
	return nil
}

func deliveryRefs(r *receipt.Receipt, ro *ReleaseOrder) []receipt.Ref {
	return receipt.Refs(receipt.RefReceipt, r.ID, receipt.RefLot, r.Lot, receipt.RefReleaseOrder, ro.ID,
		receipt.RefParticipant, r.Holder, receipt.RefWarehouse, r.Warehouse, receipt.RefPledge, r.Pledge)
}

// afterDelivery is the state a receipt returns to when its release order
// closes with goods left.
func afterDelivery(r *receipt.Receipt) receipt.State {
	if r.Pledge != "" {
		return receipt.StatePledged
	}
	return receipt.StateIssued
}

// CancelDelivery withdraws an open release order before any goods left.
// Signed by the holder.
type CancelDelivery struct {
	ReleaseOrder string
}

func (*CancelDelivery) Type() string { return "delivery.cancel" }

func (op *CancelDelivery) Check() error { return receipt.CheckID("release order", op.ReleaseOrder) }

func (op *CancelDelivery) Apply(x *receipt.Exec) error {
	ro, ok := receipt.Load[ReleaseOrder](x, ReleaseOrderKey(op.ReleaseOrder))
	if !ok {
		return receipt.Errorf(ErrReleaseOrderUnknown, "%q", op.ReleaseOrder)
	}
	if ro.Status != ROOpen {
		return receipt.Errorf(ErrReleaseOrderClosed, "%s is %s", ro.ID, ro.Status)
	}
	r, err := receipt.LoadReceipt(x, ro.Receipt)
	if err != nil {
		return err
	}
	if err := x.RequireActor(r.Holder, 0, receipt.ErrNotHolder); err != nil {
		return err
	}
	if r.State == receipt.StateFrozen {
		return receipt.Errorf(receipt.ErrFrozen, "%s: %s", r.ID, r.Frozen.Reason)
	}
	r.ReleaseOrder = ""
	r.State = afterDelivery(r)
	r.Bump(x)
	receipt.SaveReceipt(x, r)
	l, err := LoadLot(x, ro.Lot)
	if err != nil {
		return err
	}
	if err := endLoadOut(x, l, ro, 0); err != nil {
		return err
	}
	SaveLot(x, l)
	ro.Status = ROCancelled
	ro.ClosedAt = x.Block.Time
	ro.Version++
	receipt.Save(x, ReleaseOrderKey(ro.ID), ro)
	x.Emit(receipt.EvDeliveryCancelled, deliveryRefs(r, ro))
	return nil
}

// endLoadOut ends ro's load-out in l's lock: the order no longer excuses
// movement, and the bay is expected to have lost weighed. The caller
// saves l.
func endLoadOut(x *receipt.Exec, l *Lot, ro *ReleaseOrder, weighed uint64) error {
	if l.Status != LotLocked {
		return nil
	}
	return RecordPhase(x, l, func(p *LockPhase) {
		p.Open -= min(p.Open, 1)
		p.OutQty -= min(p.OutQty, ro.MayRemove)
		p.Expected -= min(weighed, p.Expected)
	})
}

// ConfirmDelivery closes a release order with the out-tickets of the trucks
// that carried the goods away and a signed reading of the bay's scale taken
// after they left. Signed by the warehouse's operator. Every ticket must
// reference the release order; the weighed total must be within tolerance
// of the ordered quantity. The receipt is reduced by the ordered quantity
// (cancelled when nothing is left), the lock by the weighed quantity (but
// never below the receipts that stay: a weighing difference inside the
// tolerance is the warehouse's), and the bay's expected weight by the
// weighed quantity. Closing is the wire form of a
// stable bay-scale reading (iot.Encode) taken after the last out-ticket:
// required where the bay has a scale; if it disagrees with the new
// expected weight beyond the lot's tolerance, the delivery stands (the
// tickets prove the goods left) and the lot goes to ALARM with that
// reading as evidence.
type ConfirmDelivery struct {
	ReleaseOrder string
	Tickets      []SignedTicket
	Closing      []byte
}

// MaxClosingBytes bounds ConfirmDelivery.Closing (iot.MaxReadingBytes).
const MaxClosingBytes = 4096

func (*ConfirmDelivery) Type() string { return "delivery.confirm" }

func (op *ConfirmDelivery) Check() error {
	if err := receipt.CheckID("release order", op.ReleaseOrder); err != nil {
		return err
	}
	if len(op.Closing) > MaxClosingBytes {
		return receipt.Errorf(receipt.ErrLimit, "closing reading of %d bytes, at most %d", len(op.Closing), MaxClosingBytes)
	}
	return checkTickets(op.Tickets, Out)
}

func (op *ConfirmDelivery) Apply(x *receipt.Exec) error {
	ro, ok := receipt.Load[ReleaseOrder](x, ReleaseOrderKey(op.ReleaseOrder))
	if !ok {
		return receipt.Errorf(ErrReleaseOrderUnknown, "%q", op.ReleaseOrder)
	}
	w, err := LoadWarehouse(x, ro.Warehouse)
	if err != nil {
		return err
	}
	if err := requireOperator(x, w); err != nil {
		return err
	}
	if ro.Status != ROOpen {
		return receipt.Errorf(ErrReleaseOrderClosed, "%s is %s", ro.ID, ro.Status)
	}
	for i := range op.Tickets {
		if op.Tickets[i].Ticket.ReleaseOrder != ro.ID {
			return receipt.Errorf(ErrTicketReleaseOrder, "%s names %q", op.Tickets[i].Ticket.Number, op.Tickets[i].Ticket.ReleaseOrder)
		}
	}
	r, err := receipt.LoadReceipt(x, ro.Receipt)
	if err != nil {
		return err
	}
	if r.State == receipt.StateFrozen {
		return receipt.Errorf(receipt.ErrFrozen, "%s: %s", r.ID, r.Frozen.Reason)
	}
	if r.State != receipt.StateRedemptionPending || r.ReleaseOrder != ro.ID {
		panic("warehouse: open release order on a receipt not awaiting it")
	}
	l, err := LoadLot(x, ro.Lot)
	if err != nil {
		return err
	}
	weighed, err := verifyTickets(x, op.Tickets, w.ID, l.Unit)
	if err != nil {
		return err
	}
	allowed := deliveryTolerance(x.Params(), ro.Quantity, len(op.Tickets), l.Unit)
	if diff := absDiff(weighed, ro.Quantity); diff > allowed {
		return receipt.Errorf(ErrOutOfTolerance, "ordered %d, weighed %d, allowed ±%d", ro.Quantity, weighed, allowed)
	}
	// The lock falls by what was weighed out, but never below the receipts
	// that stay: a weighing difference within the delivery tolerance is the
	// warehouse's to absorb (its tickets are the measure), and the goods
	// left still stand behind every live receipt. The bay's expected
	// weight falls by the weighed net all the same: the scale judges what
	// is really there.
	lockOut := min(weighed, l.LockedQty-(l.IssuedQty-ro.Quantity))
	refs := deliveryRefs(r, ro)
	if err := endLoadOut(x, l, ro, weighed); err != nil {
		return err
	}
	r.Quantity -= ro.Quantity
	r.Delivered += ro.Quantity
	r.ReleaseOrder = ""
	l.IssuedQty -= ro.Quantity
	l.LockedQty -= lockOut
	if r.Quantity == 0 {
		// Delivery of all the goods cancels the receipt (Model Law Art. 26)
		// and ends any pledge the bank consented to redeem.
		if r.Pledge != "" {
			p, err := receipt.LoadPledge(x, r.Pledge)
			if err != nil {
				return err
			}
			receipt.ClosePledge(x, p, receipt.PledgeReleased, "goods delivered with the pledgee's consent")
			x.Emit(receipt.EvPledgeReleased, refs, receipt.Attr{Key: "reason", Value: "delivered"})
			r.Pledge = ""
		}
		r.State = receipt.StateCancelled
		l.Live = removeSorted(l.Live, r.ID)
	} else {
		r.State = afterDelivery(r)
	}
	r.Bump(x)
	receipt.SaveReceipt(x, r)
	if len(l.Live) == 0 && l.LockedQty <= max(allowed, l.Tolerance) {
		// The last receipt's goods are out and what the lock still counts
		// is a weighing difference (the intake's and the deliveries'
		// tickets) within the lot's tolerance: the bay is empty, the lot is
		// done.
		l.LockedQty = 0
	}
	if l.LockedQty == 0 {
		l.Status = LotReleased
		bay, ok := receipt.Load[Bay](x, BayKey(l.Warehouse, l.Bay))
		if !ok || bay.LockedBy != l.ID {
			panic("warehouse: locked lot's bay does not name it")
		}
		bay.LockedBy = ""
		bay.Version++
		receipt.Save(x, BayKey(l.Warehouse, l.Bay), bay)
		x.Emit(EvLotReleased, receipt.Refs(receipt.RefLot, l.ID, receipt.RefWarehouse, l.Warehouse))
	}
	SaveLot(x, l)
	ro.Status = RODone
	ro.Weighed = weighed
	for i := range op.Tickets {
		ro.LoadedOutAt = max(ro.LoadedOutAt, op.Tickets[i].Ticket.WeighedAt)
	}
	ro.Tickets = useTickets(x, op.Tickets, ro.ID)
	ro.ClosedAt = x.Block.Time
	ro.Version++
	receipt.Save(x, ReleaseOrderKey(ro.ID), ro)
	x.Emit(receipt.EvDeliveryConfirmed, refs, receipt.Attr{Key: "ordered", Value: receipt.U64(ro.Quantity)},
		receipt.Attr{Key: "weighed", Value: receipt.U64(weighed)}, receipt.Attr{Key: "remaining", Value: receipt.U64(r.Quantity)})
	if r.State == receipt.StateCancelled {
		x.Emit(receipt.EvReceiptCancelled, refs)
	} else {
		x.Emit(receipt.EvReceiptReduced, refs, receipt.Attr{Key: "remaining", Value: receipt.U64(r.Quantity)})
	}
	// The bay's scale must agree with what the lock now expects.
	return judge(x).LoadOutClosed(x, l, ro, op.Closing)
}

// deliveryTolerance is how far the weighed-out total may differ from the
// ordered quantity: the larger of a share of the order and the scale's
// in-service error per weighing.
func deliveryTolerance(p *receipt.Params, qty uint64, tickets int, unit string) uint64 {
	scale, _ := unitScale(unit)
	byShare := qty / 10_000 * uint64(p.DeliveryToleranceBps)
	byScale := p.ScaleErrorPerTicketKg * scale * uint64(tickets)
	return max(byShare, byScale)
}

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}
