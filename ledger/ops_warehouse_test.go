package ledger

import (
	"fmt"
	"testing"

	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegisterStock(t *testing.T) {
	h := newHarness(t)
	op := h.stockOp("LOT-1", "BAY-01", 24_980, 25_040)
	h.ok(by(Operator, Inspector), op)
	l := h.lot("LOT-1")
	assert.Equal(t, uint64(24_980+25_040), l.LockedQty, "net = Σ(gross − tare)")
	assert.Equal(t, warehouse.LotLocked, l.Status)
	assert.Equal(t, warehouse.HealthOK, l.Health)
	bay, _ := Get[warehouse.Bay](h.Store, warehouse.BayKey(Warehouse1, "BAY-01"))
	assert.Equal(t, "LOT-1", bay.LockedBy)

	t.Run("rejections", func(t *testing.T) {
		h.t = t
		h.fail(warehouse.ErrNotCollateralMgr, by(Operator), h.stockOp("LOT-2", "BAY-02", 1000))
		h.fail(warehouse.ErrNotOperator, by(Operator2, Inspector), h.stockOp("LOT-2", "BAY-02", 1000))
		h.fail(warehouse.ErrNotOperator, by(Inspector, Operator), h.stockOp("LOT-2", "BAY-02", 1000))
		h.fail(warehouse.ErrLotExists, by(Operator, Inspector), h.stockOp("LOT-1", "BAY-02", 1000))
		h.fail(warehouse.ErrBayLocked, by(Operator, Inspector), h.stockOp("LOT-2", "BAY-01", 1000))
		h.fail(warehouse.ErrBayNotFound, by(Operator, Inspector), h.stockOp("LOT-2", "BAY-77", 1000))
		h.fail(receipt.ErrMissingField, by(Operator, Inspector), h.stockOp("LOT-2", "BAY-02"))

		// A ticket is used once, ever: again in another lot, or twice in one op.
		reused := h.stockOp("LOT-2", "BAY-02")
		reused.Tickets = []warehouse.SignedTicket{op.Tickets[0]}
		h.fail(warehouse.ErrTicketUsed, by(Operator, Inspector), reused)
		twice := h.stockOp("LOT-2", "BAY-02", 1000)
		twice.Tickets = append(twice.Tickets, twice.Tickets[0])
		h.fail(warehouse.ErrTicketUsed, by(Operator, Inspector), twice)

		// The quantity must come from a genuine, trusted weighbridge.
		forged := h.stockOp("LOT-2", "BAY-02", 1000)
		forged.Tickets[0].Ticket.Gross += 10_000
		forged.Tickets[0].Ticket.Net += 10_000
		h.fail(warehouse.ErrTicketSignature, by(Operator, Inspector), forged)
		badNet := h.stockOp("LOT-2", "BAY-02", 1000)
		badNet.Tickets[0].Ticket.Net++
		h.fail(warehouse.ErrTicketInvalid, by(Operator, Inspector), badNet)
		out := h.stockOp("LOT-2", "BAY-02")
		out.Tickets = []warehouse.SignedTicket{h.outTicket("ro-x-1", 1000)}
		h.fail(warehouse.ErrTicketDirection, by(Operator, Inspector), out)
		wrongScale := h.stockOp("LOT-2", "BAY-02")
		t2 := h.w.Ticket(Weighbridge1, h.next("T"), warehouse.In, 2000, 1000, "", h.Block.Time).Ticket
		t2.Device = Warehouse1 + "-LC-01"
		wrongScale.Tickets = []warehouse.SignedTicket{warehouse.SignTicket(t2, h.w.Devices[t2.Device].Key)}
		h.fail(warehouse.ErrDeviceType, by(Operator, Inspector), wrongScale)
		otherWH := h.stockOp("LOT-2", "BAY-02")
		t3 := h.w.Ticket(Weighbridge2, h.next("T"), warehouse.In, 2000, 1000, "", h.Block.Time).Ticket
		t3.Warehouse = Warehouse1
		otherWH.Tickets = []warehouse.SignedTicket{warehouse.SignTicket(t3, h.w.Devices[Weighbridge2].Key)}
		h.fail(warehouse.ErrDeviceNotHere, by(Operator, Inspector), otherWH)
		unknown := h.stockOp("LOT-2", "BAY-02")
		t4 := h.w.Ticket(Weighbridge1, h.next("T"), warehouse.In, 2000, 1000, "", h.Block.Time).Ticket
		t4.Device = "WB-ROGUE"
		unknown.Tickets = []warehouse.SignedTicket{warehouse.SignTicket(t4, DemoKey("rogue", "x"))}
		h.fail(warehouse.ErrDeviceNotFound, by(Operator, Inspector), unknown)
		grams := h.stockOp("LOT-2", "BAY-02", 1000)
		grams.Unit = "g"
		h.fail(receipt.ErrUnitMismatch, by(Operator, Inspector), grams)
		tons := h.stockOp("LOT-2", "BAY-02", 1000)
		tons.Unit = "t"
		h.fail(warehouse.ErrBadUnit, by(Operator, Inspector), tons)

		// Calibration expires; a suspended scale is not trusted.
		h.Advance(6 * 365 * day)
		h.fail(warehouse.ErrDeviceUncalibrated, by(Operator, Inspector), h.stockOp("LOT-2", "BAY-02", 1000))
		h.ok(by(Inspector), &warehouse.CalibrateDevice{ID: Weighbridge1, CalibratedUntil: h.Block.Time + 365*day, Certificate: "C-2"})
		h.ok(by(Admin1, Admin2), &warehouse.SuspendDevice{ID: Weighbridge1, Reason: "tampered"})
		h.fail(warehouse.ErrDeviceSuspended, by(Operator, Inspector), h.stockOp("LOT-2", "BAY-02", 1000))
	})
}

func TestIssueReceipt(t *testing.T) {
	h := newHarness(t)
	h.stock("LOT-1", "BAY-01", 50_000)
	r := h.issue("R-1", "LOT-1", 30_000, TraderA)
	assert.Equal(t, receipt.StateIssued, r.State)
	assert.Equal(t, TraderA, r.Holder)
	assert.Equal(t, TraderA, r.OrderOf)
	assert.Equal(t, "copper cathode", r.Commodity, "commodity comes from the lot")
	assert.Equal(t, "BAY-01", r.Place)
	assert.Equal(t, uint64(1), r.Version)
	assert.Equal(t, uint64(30_000), h.lot("LOT-1").IssuedQty)

	h.fail(warehouse.ErrOverIssue, by(Operator), h.issueOp("R-2", "LOT-1", 20_001, TraderA))
	h.ok(by(Operator), h.issueOp("R-2", "LOT-1", 20_000, BankA)) // exactly full; a bank may be depositor
	h.fail(warehouse.ErrOverIssue, by(Operator), h.issueOp("R-3", "LOT-1", 1, TraderA))

	h.stock("LOT-2", "BAY-02", 10_000)
	h.fail(receipt.ErrReceiptExists, by(Operator), h.issueOp("R-1", "LOT-2", 1, TraderA))
	h.fail(warehouse.ErrNotOperator, by(Operator2), h.issueOp("R-3", "LOT-2", 1, TraderA))
	h.fail(warehouse.ErrNotOperator, by(TraderA), h.issueOp("R-3", "LOT-2", 1, TraderA))
	h.fail(receipt.ErrNotEligibleHolder, by(Operator), h.issueOp("R-3", "LOT-2", 1, Regulator))
	h.fail(receipt.ErrUnknownParticipant, by(Operator), h.issueOp("R-3", "LOT-2", 1, "nobody"))
	h.fail(warehouse.ErrLotNotFound, by(Operator), h.issueOp("R-3", "LOT-9", 1, TraderA))
	h.fail(receipt.ErrInvalidQuantity, by(Operator), h.issueOp("R-3", "LOT-2", 0, TraderA))
	for name, mutate := range map[string]func(*warehouse.IssueReceipt){
		"description":        func(o *warehouse.IssueReceipt) { o.Description = " " },
		"place of issue":     func(o *warehouse.IssueReceipt) { o.PlaceOfIssue = "" },
		"storage terms":      func(o *warehouse.IssueReceipt) { o.StorageTermsRef = "" },
		"third-party claims": func(o *warehouse.IssueReceipt) { o.ThirdPartyClaims = "" },
		"fee currency":       func(o *warehouse.IssueReceipt) { o.Fees.Currency = "" },
		"agreement date":     func(o *warehouse.IssueReceipt) { o.StorageAgreementDate = 0 },
	} {
		op := h.issueOp("R-3", "LOT-2", 1, TraderA)
		mutate(op)
		t.Run("missing "+name, func(t *testing.T) { h.t = t; h.fail(receipt.ErrMissingField, by(Operator), op) })
	}
	h.t = t
	late := h.issueOp("R-3", "LOT-2", 1, TraderA)
	late.ValidUntil = late.StorageUntil + 1
	h.fail(receipt.ErrBadValidity, by(Operator), late)
	past := h.issueOp("R-3", "LOT-2", 1, TraderA)
	past.ValidUntil = h.Block.Time
	h.fail(receipt.ErrBadValidity, by(Operator), past)
	future := h.issueOp("R-3", "LOT-2", 1, TraderA)
	future.StorageAgreementDate = h.Block.Time + day
	h.fail(receipt.ErrBadValidity, by(Operator), future)
	long := h.issueOp("R-3", "LOT-2", 1, TraderA)
	long.Description = string(make([]byte, receipt.MaxTextLen+1))
	h.fail(receipt.ErrLimit, by(Operator), long)

	h.setHealth("LOT-2", warehouse.HealthUnverified)
	h.fail(warehouse.ErrLotUnhealthy, by(Operator), h.issueOp("R-3", "LOT-2", 1, TraderA))
	h.setHealth("LOT-2", warehouse.HealthOK)
	h.ok(by(Operator), h.issueOp("R-3", "LOT-2", 1, TraderA))
}

func TestVoidFreesTheLotButNeverTheID(t *testing.T) {
	h := newHarness(t)
	h.stock("LOT-1", "BAY-01", 10_000)
	r := h.issue("R-1", "LOT-1", 10_000, TraderA)
	h.fail(receipt.ErrNotIssuer, by(Operator2), &receipt.Void{Receipt: r.ID, Version: r.Version, Reason: "typo"})
	h.fail(receipt.ErrNotIssuer, by(TraderA), &receipt.Void{Receipt: r.ID, Version: r.Version, Reason: "typo"})
	h.fail(receipt.ErrStaleVersion, by(Operator), &receipt.Void{Receipt: r.ID, Version: r.Version + 1, Reason: "typo"})
	h.fail(receipt.ErrMissingField, by(Operator), &receipt.Void{Receipt: r.ID, Version: r.Version})
	h.ok(by(Operator), &receipt.Void{Receipt: r.ID, Version: r.Version, Reason: "issued in error"})
	assert.Equal(t, receipt.StateVoid, h.receipt(r.ID).State)
	assert.Equal(t, uint64(0), h.lot("LOT-1").IssuedQty)
	h.fail(receipt.ErrTerminal, by(Operator), &receipt.Void{Receipt: r.ID, Version: r.Version + 1, Reason: "again"})
	h.fail(receipt.ErrReceiptExists, by(Operator), h.issueOp("R-1", "LOT-1", 10_000, TraderA))
	h.ok(by(Operator), h.issueOp("R-2", "LOT-1", 10_000, TraderA))

	// After any dealing, void is refused.
	moved := h.fresh(5_000, TraderA)
	h.ok(by(TraderA), &receipt.InitiateTransfer{Receipt: moved.ID, Version: 1, To: TraderB, Deadline: h.Block.Time + day})
	h.ok(by(TraderB), &receipt.AcceptTransfer{Receipt: moved.ID, Version: 2})
	h.fail(receipt.ErrVoidNotAllowed, by(Operator), &receipt.Void{Receipt: moved.ID, Version: 3, Reason: "x"})
	pledged := h.fresh(5_000, TraderA)
	pid := h.requestPledge(pledged, BankA)
	h.ok(by(TraderA), &receipt.WithdrawPledgeRequest{Pledge: pid})
	h.fail(receipt.ErrVoidNotAllowed, by(Operator), &receipt.Void{Receipt: pledged.ID, Version: 3, Reason: "x"})
}

func TestDelivery(t *testing.T) {
	h := newHarness(t)
	h.stock("LOT-1", "BAY-01", 30_000)
	r := h.issue("R-1", "LOT-1", 20_000, TraderA)
	h.issue("R-2", "LOT-1", 9_950, TraderB) // 50 kg of headroom in the lock

	h.fail(warehouse.ErrDeliveryQuantity, by(TraderA), &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version, Quantity: 20_001})
	h.fail(receipt.ErrNotHolder, by(TraderB), &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version, Quantity: 5_000})
	h.fail(receipt.ErrStaleVersion, by(TraderA), &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version + 3, Quantity: 5_000})
	h.fail(receipt.ErrInvalidQuantity, by(TraderA), &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version})

	// Partial delivery: 8 t ordered, 8,020 kg weighed out in two trucks.
	h.ok(by(TraderA), &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version, Quantity: 8_000})
	r = h.receipt(r.ID)
	require.Equal(t, receipt.StateRedemptionPending, r.State)
	ro := warehouse.ReleaseOrderID(r.ID, 1)
	require.Equal(t, ro, r.ReleaseOrder)
	h.fail(receipt.ErrRedemptionPending, by(TraderA), &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version, Quantity: 1})
	h.fail(receipt.ErrRedemptionPending, by(TraderA), &receipt.Split{Receipt: r.ID, Version: r.Version, Parts: []receipt.Part{{ID: "A", Quantity: 1}, {ID: "B", Quantity: 11_999}}})

	confirm := func(tickets ...warehouse.SignedTicket) *warehouse.ConfirmDelivery { return h.confirmOp(ro, tickets...) }
	h.fail(warehouse.ErrOutOfTolerance, by(Operator), confirm(h.outTicket(ro, 4_000), h.outTicket(ro, 3_500)))
	h.fail(warehouse.ErrOutOfTolerance, by(Operator), confirm(h.outTicket(ro, 8_200)))
	h.fail(warehouse.ErrTicketReleaseOrder, by(Operator), confirm(h.outTicket("ro-R-2-1", 8_000)))
	h.fail(warehouse.ErrTicketDirection, by(Operator), confirm(h.inTicket(8_000)))
	h.fail(warehouse.ErrNotOperator, by(TraderA), confirm(h.outTicket(ro, 8_000)))
	h.fail(warehouse.ErrReleaseOrderUnknown, by(Operator), &warehouse.ConfirmDelivery{ReleaseOrder: "ro-none", Tickets: []warehouse.SignedTicket{h.outTicket("ro-none", 1)}})
	used := h.lot("LOT-1").InTickets[0]
	reuse := h.w.Ticket(Weighbridge1, used, warehouse.Out, 23_000, 15_000, ro, h.Block.Time)
	h.fail(warehouse.ErrTicketUsed, by(Operator), confirm(reuse))

	h.ok(by(Operator), confirm(h.outTicket(ro, 4_010), h.outTicket(ro, 4_010)))
	r = h.receipt(r.ID)
	assert.Equal(t, receipt.StateIssued, r.State)
	assert.Equal(t, uint64(12_000), r.Quantity, "receipt reduced by the ordered quantity")
	assert.Equal(t, uint64(8_000), r.Delivered)
	l := h.lot("LOT-1")
	assert.Equal(t, uint64(30_000-8_020), l.LockedQty, "lock reduced by the weighed quantity")
	assert.Equal(t, uint64(21_950), l.IssuedQty)
	h.fail(warehouse.ErrReleaseOrderClosed, by(Operator), confirm(h.outTicket(ro, 8_000)))

	// Cancel a request, then deliver the rest: the receipt is cancelled.
	h.ok(by(TraderA), &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version, Quantity: 12_000})
	ro2 := warehouse.ReleaseOrderID(r.ID, 2)
	h.fail(receipt.ErrNotHolder, by(TraderB), &warehouse.CancelDelivery{ReleaseOrder: ro2})
	h.ok(by(TraderA), &warehouse.CancelDelivery{ReleaseOrder: ro2})
	h.fail(warehouse.ErrReleaseOrderClosed, by(TraderA), &warehouse.CancelDelivery{ReleaseOrder: ro2})
	h.fail(warehouse.ErrReleaseOrderUnknown, by(TraderA), &warehouse.CancelDelivery{ReleaseOrder: "ro-none"})
	r = h.receipt(r.ID)
	h.ok(by(TraderA), &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version, Quantity: 12_000})
	ro3 := warehouse.ReleaseOrderID(r.ID, 3)
	// A ticket 40 kg heavier than the order (inside its tolerance) would
	// leave less locked than R-2 holds: the lock stops at R-2's quantity,
	// the warehouse absorbs the difference, and the bay is expected 40 kg
	// lighter still.
	expected := h.lot("LOT-1").Expected
	h.ok(by(Operator), h.confirmOp(ro3, h.outTicket(ro3, 12_040)))
	assert.Equal(t, uint64(9_950), h.lot("LOT-1").LockedQty, "the lock covers the receipt that stays")
	assert.Equal(t, expected-12_040, h.lot("LOT-1").Expected)
	r = h.receipt(r.ID)
	assert.Equal(t, receipt.StateCancelled, r.State)
	assert.Equal(t, uint64(0), r.Quantity)
	assert.Equal(t, []string{"R-2"}, h.lot("LOT-1").Live)
	h.fail(receipt.ErrTerminal, by(TraderA), &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version, Quantity: 1})

	// The last receipt out releases the lot and the bay.
	r2 := h.receipt("R-2")
	h.ok(by(TraderB), &warehouse.RequestDelivery{Receipt: r2.ID, Version: r2.Version, Quantity: 9_950})
	ro4 := warehouse.ReleaseOrderID(r2.ID, 1)
	h.ok(by(Operator), h.confirmOp(ro4, h.outTicket(ro4, 10_000))) // 50 kg more than the lock counts: the weighing's
	l = h.lot("LOT-1")
	assert.Equal(t, warehouse.LotReleased, l.Status)
	bay, _ := Get[warehouse.Bay](h.Store, warehouse.BayKey(Warehouse1, "BAY-01"))
	assert.Empty(t, bay.LockedBy)
	h.stock("LOT-NEXT", "BAY-01", 1_000) // the bay takes a new lot
}

func TestDeliveryOfPledgedReceiptNeedsTheBank(t *testing.T) {
	h := newHarness(t)
	r := h.fresh(10_000, TraderA)
	pid := h.pledge(r, BankA)
	r = h.receipt(r.ID)
	h.fail(receipt.ErrPledgeeConsent, by(TraderA), &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version, Quantity: 4_000})
	h.ok(by(TraderA, BankA), &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version, Quantity: 4_000})
	ro := warehouse.ReleaseOrderID(r.ID, 1)
	h.ok(by(Operator), h.confirmOp(ro, h.outTicket(ro, 4_000)))
	r = h.receipt(r.ID)
	assert.Equal(t, receipt.StatePledged, r.State, "the rest stays pledged")
	assert.Equal(t, receipt.PledgeActive, h.pledgeRec(pid).Status)
	h.ok(by(TraderA, BankA), &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version, Quantity: 6_000})
	ro = warehouse.ReleaseOrderID(r.ID, 2)
	h.ok(by(Operator), h.confirmOp(ro, h.outTicket(ro, 6_000)))
	assert.Equal(t, receipt.StateCancelled, h.receipt(r.ID).State)
	assert.Equal(t, receipt.PledgeReleased, h.pledgeRec(pid).Status)
}

func TestDeliveryRefusedWhileFrozen(t *testing.T) {
	h := newHarness(t)
	r := h.fresh(10_000, TraderA)
	h.ok(by(TraderA), &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version, Quantity: 10_000})
	ro := warehouse.ReleaseOrderID(r.ID, 1)
	h.ok(by(Regulator), &receipt.Freeze{Receipt: r.ID, Reason: "court order 2026-17"})
	h.fail(receipt.ErrFrozen, by(Operator), h.confirmOp(ro, h.outTicket(ro, 10_000)))
	h.fail(receipt.ErrFrozen, by(TraderA), &warehouse.CancelDelivery{ReleaseOrder: ro})
	h.ok(by(Regulator), &receipt.Unfreeze{Receipt: r.ID, Reason: "order lifted"})
	assert.Equal(t, receipt.StateRedemptionPending, h.receipt(r.ID).State)
	h.ok(by(Operator), h.confirmOp(ro, h.outTicket(ro, 10_000)))
}

// TestBayTare checks what an empty bay's scale reads is the floor the
// lock builds on: set by the operator with the collateral manager, never
// under a locked lot.
func TestBayTare(t *testing.T) {
	h := newHarness(t)
	h.fail(receipt.ErrInvalidQuantity, by(Operator), &warehouse.AddBay{Warehouse: Warehouse1, Bay: "BAY-T", TareKg: warehouse.MaxTareKg + 1})
	h.ok(by(Operator), &warehouse.AddBay{Warehouse: Warehouse1, Bay: "BAY-T", TareKg: 1_200})
	tare := func(kg uint64) *warehouse.SetBayTare {
		return &warehouse.SetBayTare{Warehouse: Warehouse1, Bay: "BAY-T", TareKg: kg}
	}
	h.fail(warehouse.ErrNotOperator, by(Inspector), tare(900))
	h.fail(warehouse.ErrNotCollateralMgr, by(Operator), tare(900))
	h.fail(warehouse.ErrNotCollateralMgr, by(Operator, Inspector2), tare(900))
	h.fail(warehouse.ErrBayNotFound, by(Operator, Inspector), &warehouse.SetBayTare{Warehouse: Warehouse1, Bay: "BAY-NONE", TareKg: 900})
	h.fail(receipt.ErrInvalidQuantity, by(Operator, Inspector), tare(warehouse.MaxTareKg+1))
	h.ok(by(Operator, Inspector), tare(900))
	b, _ := Get[warehouse.Bay](h.Store, warehouse.BayKey(Warehouse1, "BAY-T"))
	assert.Equal(t, uint64(900), b.TareKg)

	h.stock("LOT-T", "BAY-T", 20_000)
	l := h.lot("LOT-T")
	assert.Equal(t, uint64(20_900), l.Expected, "the lock expects the tare and the goods")
	hist, _ := Get[warehouse.LockHistory](h.Store, warehouse.LockHistoryKey("LOT-T"))
	require.Len(t, hist.Phases, 1)
	assert.Equal(t, warehouse.LockPhase{FromMs: h.Block.Time * 1000, Expected: 20_900}, hist.Phases[0])
	h.fail(warehouse.ErrBayNotEmpty, by(Operator, Inspector), tare(0))
}

// TestResidualLotRelease walks the last delivery of a lot through the
// weighing differences a warehouse sees: the lot is released (its bay
// freed) when no receipt is left and what the lock still counts is within
// the larger of the delivery's allowance and the lot's tolerance, and the
// lock never falls below the receipts that stay.
func TestResidualLotRelease(t *testing.T) {
	for _, c := range []struct {
		name         string
		stock        uint64
		receipts     []uint64 // the first is delivered in full
		weighed      uint64
		wantLocked   uint64
		wantReleased bool
	}{
		{"exact", 50_000, []uint64{50_000}, 50_000, 0, true},
		{"light truck", 50_000, []uint64{50_000}, 49_900, 0, true},
		{"heavy truck", 50_000, []uint64{50_000}, 50_100, 0, true},
		{"headroom within tolerance", 50_200, []uint64{50_000}, 50_000, 0, true},
		{"headroom beyond tolerance", 50_400, []uint64{50_000}, 50_000, 400, false},
		{"other receipts stay", 60_000, []uint64{50_000, 10_000}, 49_900, 10_100, false},
		{"heavy truck, other receipts stay", 60_000, []uint64{50_000, 10_000}, 50_100, 10_000, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.stock("LOT-R", "BAY-01", c.stock)
			var ids []string
			for i, q := range c.receipts {
				ids = append(ids, h.issue(fmt.Sprintf("R-%d", i), "LOT-R", q, TraderA).ID)
			}
			r := h.receipt(ids[0])
			h.ok(by(TraderA), &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version, Quantity: r.Quantity})
			ro := warehouse.ReleaseOrderID(r.ID, 1)
			h.ok(by(Operator), h.confirmOp(ro, h.outTicket(ro, c.weighed)))
			l := h.lot("LOT-R")
			assert.Equal(t, c.wantLocked, l.LockedQty, "locked")
			assert.Equal(t, receipt.StateCancelled, h.receipt(r.ID).State)
			bay, ok := Get[warehouse.Bay](h.Store, warehouse.BayKey(Warehouse1, "BAY-01"))
			require.True(t, ok)
			if c.wantReleased {
				assert.Equal(t, warehouse.LotReleased, l.Status)
				assert.Empty(t, bay.LockedBy, "the bay is free for the next lot")
			} else {
				assert.Equal(t, warehouse.LotLocked, l.Status)
				assert.Equal(t, "LOT-R", bay.LockedBy)
				assert.GreaterOrEqual(t, l.LockedQty, l.IssuedQty, "the lock covers the receipts left")
			}
			require.NoError(t, CheckInvariants(h.Store))
		})
	}
}
