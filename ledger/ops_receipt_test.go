package ledger

import (
	"testing"

	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func transfer(r *receipt.Receipt, to string, deadline int64) *receipt.InitiateTransfer {
	return &receipt.InitiateTransfer{Receipt: r.ID, Version: r.Version, To: to, Deadline: deadline}
}

func TestTransfer(t *testing.T) {
	h := newHarness(t)
	r := h.fresh(10_000, TraderA)
	dl := h.Block.Time + day

	h.fail(receipt.ErrNotHolder, by(TraderB), transfer(r, TraderB, dl))
	h.fail(receipt.ErrNotHolder, by(Admin1), transfer(r, TraderB, dl))
	h.fail(receipt.ErrNotHolder, by(Regulator), transfer(r, TraderB, dl))
	stale := transfer(r, TraderB, dl)
	stale.Version++
	h.fail(receipt.ErrStaleVersion, by(TraderA), stale)
	unnamed := transfer(r, TraderB, dl)
	unnamed.Version = 0
	h.fail(receipt.ErrMissingField, by(TraderA), unnamed, "an op that names no version is refused, not filled in")
	h.fail(receipt.ErrSelfTransfer, by(TraderA), transfer(r, TraderA, dl))
	h.fail(receipt.ErrNotEligibleHolder, by(TraderA), transfer(r, Regulator, dl))
	h.fail(receipt.ErrUnknownParticipant, by(TraderA), transfer(r, "nobody", dl))
	h.fail(receipt.ErrBadDeadline, by(TraderA), transfer(r, TraderB, h.Block.Time))
	h.fail(receipt.ErrBadDeadline, by(TraderA), transfer(r, TraderB, h.Block.Time+31*day))
	h.fail(receipt.ErrReceiptNotFound, by(TraderA), &receipt.InitiateTransfer{Receipt: "R-NONE", Version: 1, To: TraderB, Deadline: dl})
	h.setHealth(r.Lot, warehouse.HealthUnverified)
	h.fail(warehouse.ErrLotUnhealthy, by(TraderA), transfer(r, TraderB, dl))
	h.setHealth(r.Lot, warehouse.HealthOK)

	h.ok(by(TraderA), transfer(r, TraderB, dl))
	r = h.receipt(r.ID)
	require.Equal(t, receipt.StateTransferPending, r.State)
	assert.Equal(t, TraderA, r.Holder, "title does not move before acceptance")
	h.fail(receipt.ErrTransferPending, by(TraderA), transfer(r, BankA, dl))

	h.fail(receipt.ErrNotTransferee, by(BankA), &receipt.AcceptTransfer{Receipt: r.ID, Version: r.Version})
	h.fail(receipt.ErrNotTransferee, by(TraderA), &receipt.AcceptTransfer{Receipt: r.ID, Version: r.Version})
	h.fail(receipt.ErrStaleVersion, by(TraderB), &receipt.AcceptTransfer{Receipt: r.ID, Version: r.Version - 1})
	h.ok(by(TraderB), &receipt.AcceptTransfer{Receipt: r.ID, Version: r.Version})
	r = h.receipt(r.ID)
	assert.Equal(t, TraderB, r.Holder)
	assert.Equal(t, receipt.StateIssued, r.State)
	h.fail(receipt.ErrNoPendingTransfer, by(TraderB), &receipt.AcceptTransfer{Receipt: r.ID, Version: r.Version})

	// Deadline passes: acceptance refused; anyone may then cancel.
	h.ok(by(TraderB), transfer(r, TraderA, h.Block.Time+day))
	r = h.receipt(r.ID)
	h.fail(receipt.ErrNotHolder, by(TraderA), &receipt.CancelTransfer{Receipt: r.ID})
	h.Advance(day + 1)
	h.fail(receipt.ErrDeadlinePassed, by(TraderA), &receipt.AcceptTransfer{Receipt: r.ID, Version: r.Version})
	h.ok(by(TraderA), &receipt.CancelTransfer{Receipt: r.ID})
	assert.Equal(t, receipt.StateIssued, h.receipt(r.ID).State)
	h.fail(receipt.ErrNoPendingTransfer, by(TraderB), &receipt.CancelTransfer{Receipt: r.ID})

	// The holder may cancel at any time.
	r = h.receipt(r.ID)
	h.ok(by(TraderB), transfer(r, TraderA, h.Block.Time+day))
	h.ok(by(TraderB), &receipt.CancelTransfer{Receipt: r.ID})
}

func TestTransferRules(t *testing.T) {
	h := newHarness(t)
	t.Run("non-negotiable", func(t *testing.T) {
		h.t = t
		lot := h.next("LOT")
		h.stock(lot, h.freeBay(), 1_000)
		op := h.issueOp("R-NN", lot, 1_000, TraderA)
		op.Negotiable = false
		h.ok(by(Operator), op)
		h.fail(receipt.ErrNotNegotiable, by(TraderA), transfer(h.receipt("R-NN"), TraderB, h.Block.Time+day))
	})
	t.Run("pledged needs the pledgee, whose pledge ends on acceptance", func(t *testing.T) {
		h.t = t
		r := h.fresh(1_000, TraderA)
		pid := h.pledge(r, BankA)
		r = h.receipt(r.ID)
		h.fail(receipt.ErrPledgeeConsent, by(TraderA), transfer(r, TraderB, h.Block.Time+day))
		h.fail(receipt.ErrPledgeeConsent, by(TraderA, BankB), transfer(r, TraderB, h.Block.Time+day))
		h.ok(by(TraderA, BankA), transfer(r, TraderB, h.Block.Time+day))
		r = h.receipt(r.ID)
		h.fail(receipt.ErrPledgeTransferActive, by(BankA), &receipt.ReleasePledge{Pledge: pid})
		// Cancelled: it goes back to pledged.
		h.ok(by(TraderA), &receipt.CancelTransfer{Receipt: r.ID})
		r = h.receipt(r.ID)
		assert.Equal(t, receipt.StatePledged, r.State)
		h.ok(by(TraderA, BankA), transfer(r, TraderB, h.Block.Time+day))
		r = h.receipt(r.ID)
		h.ok(by(TraderB), &receipt.AcceptTransfer{Receipt: r.ID, Version: r.Version})
		r = h.receipt(r.ID)
		assert.Equal(t, TraderB, r.Holder)
		assert.Empty(t, r.Pledge)
		assert.Equal(t, receipt.PledgeReleased, h.pledgeRec(pid).Status)
	})
	t.Run("pending pledge", func(t *testing.T) {
		h.t = t
		r := h.fresh(1_000, TraderA)
		h.requestPledge(r, BankA)
		h.fail(receipt.ErrAlreadyPledged, by(TraderA), transfer(h.receipt(r.ID), TraderB, h.Block.Time+day))
	})
	t.Run("frozen, expired, terminal", func(t *testing.T) {
		h.t = t
		r := h.fresh(1_000, TraderA)
		h.ok(by(Regulator), &receipt.Freeze{Receipt: r.ID, Reason: "investigation"})
		h.fail(receipt.ErrFrozen, by(TraderA), transfer(h.receipt(r.ID), TraderB, h.Block.Time+day))
		r2 := h.fresh(1_000, TraderA)
		h.ok(by(TraderA), transfer(r2, TraderB, h.Block.Time+2*day))
		r2 = h.receipt(r2.ID)
		h.ok(by(Admin1), &receipt.Freeze{Receipt: r2.ID, Reason: "investigation"})
		h.fail(receipt.ErrFrozen, by(TraderB), &receipt.AcceptTransfer{Receipt: r2.ID, Version: h.receipt(r2.ID).Version})
		h.fail(receipt.ErrFrozen, by(TraderA), &receipt.CancelTransfer{Receipt: r2.ID})
		r3 := h.fresh(1_000, TraderA)
		h.Advance(181 * day)
		h.fail(receipt.ErrExpired, by(TraderA), transfer(r3, TraderB, h.Block.Time+day))
		r4 := h.fresh(1_000, TraderA)
		h.ok(by(TraderA), &receipt.Split{Receipt: r4.ID, Version: r4.Version, Parts: []receipt.Part{{ID: h.next("R"), Quantity: 500}, {ID: h.next("R"), Quantity: 500}}})
		h.fail(receipt.ErrTerminal, by(TraderA), transfer(h.receipt(r4.ID), TraderB, h.Block.Time+day))
	})
}

func TestSplitAndMerge(t *testing.T) {
	h := newHarness(t)
	r := h.fresh(25_000, TraderA)
	split := func(parts ...receipt.Part) *receipt.Split {
		return &receipt.Split{Receipt: r.ID, Version: r.Version, Parts: parts}
	}
	h.fail(receipt.ErrSplitNotConserved, by(TraderA), split(receipt.Part{ID: "S-1", Quantity: 10_000}, receipt.Part{ID: "S-2", Quantity: 14_999}))
	h.fail(receipt.ErrSplitNotConserved, by(TraderA), split(receipt.Part{ID: "S-1", Quantity: 10_000}, receipt.Part{ID: "S-2", Quantity: 15_001}))
	h.fail(receipt.ErrInvalidQuantity, by(TraderA), split(receipt.Part{ID: "S-1", Quantity: 25_000}, receipt.Part{ID: "S-2", Quantity: 0}))
	h.fail(receipt.ErrInvalidOp, by(TraderA), split(receipt.Part{ID: "S-1", Quantity: 25_000}))
	h.fail(receipt.ErrInvalidOp, by(TraderA), split(receipt.Part{ID: "S-1", Quantity: 10_000}, receipt.Part{ID: "S-1", Quantity: 15_000}))
	h.fail(receipt.ErrReceiptExists, by(TraderA), split(receipt.Part{ID: r.ID, Quantity: 10_000}, receipt.Part{ID: "S-2", Quantity: 15_000}))
	other := h.fresh(1_000, TraderB)
	h.fail(receipt.ErrReceiptExists, by(TraderA), split(receipt.Part{ID: other.ID, Quantity: 10_000}, receipt.Part{ID: "S-2", Quantity: 15_000}))
	h.fail(receipt.ErrNotHolder, by(TraderB), split(receipt.Part{ID: "S-1", Quantity: 10_000}, receipt.Part{ID: "S-2", Quantity: 15_000}))
	staleSplit := split(receipt.Part{ID: "S-1", Quantity: 10_000}, receipt.Part{ID: "S-2", Quantity: 15_000})
	staleSplit.Version++
	h.fail(receipt.ErrStaleVersion, by(TraderA), staleSplit)
	many := &receipt.Split{Receipt: r.ID, Version: r.Version}
	for i := 0; i < 51; i++ {
		many.Parts = append(many.Parts, receipt.Part{ID: h.next("P"), Quantity: 1})
	}
	many.Parts[0].Quantity = 25_000 - 50
	h.fail(receipt.ErrLimit, by(TraderA), many)

	// Parts in any order give the same state.
	h.ok(by(TraderA), split(receipt.Part{ID: "S-2", Quantity: 15_000}, receipt.Part{ID: "S-1", Quantity: 10_000}))
	parent := h.receipt(r.ID)
	assert.Equal(t, receipt.StateSuperseded, parent.State)
	assert.Equal(t, []string{"S-1", "S-2"}, parent.Children)
	s1, s2 := h.receipt("S-1"), h.receipt("S-2")
	assert.Equal(t, []string{r.ID}, s1.Parents)
	assert.Equal(t, TraderA, s2.Holder)
	assert.Equal(t, uint64(1), s2.Version)
	assert.Equal(t, []string{"S-1", "S-2"}, h.lot(r.Lot).Live)
	h.fail(receipt.ErrTerminal, by(TraderA), split(receipt.Part{ID: "S-3", Quantity: 10_000}, receipt.Part{ID: "S-4", Quantity: 15_000}))

	merge := func(into string, refs ...*receipt.Receipt) *receipt.Merge {
		m := &receipt.Merge{Into: into}
		for _, x := range refs {
			m.Receipts = append(m.Receipts, receipt.VersionedRef{ID: x.ID, Version: x.Version})
		}
		return m
	}
	h.fail(receipt.ErrInvalidOp, by(TraderA), merge("M-1", s1))
	h.fail(receipt.ErrInvalidOp, by(TraderA), merge("M-1", s1, s1))
	h.fail(receipt.ErrReceiptExists, by(TraderA), merge(r.ID, s1, s2))
	h.fail(receipt.ErrReceiptExists, by(TraderA), merge("S-1", s1, s2))
	h.fail(receipt.ErrNotHolder, by(TraderB), merge("M-1", s1, s2))
	mine := h.fresh(1_000, TraderA)
	h.fail(receipt.ErrMergeMismatch, by(TraderA), merge("M-1", s1, mine))
	staleS2 := *s2
	staleS2.Version = 9
	h.fail(receipt.ErrStaleVersion, by(TraderA), merge("M-1", s1, &staleS2))
	h.requestPledge(s2, BankA)
	h.fail(receipt.ErrAlreadyPledged, by(TraderA), merge("M-1", s1, h.receipt("S-2")))
	h.fail(receipt.ErrAlreadyPledged, by(TraderA), &receipt.Split{Receipt: "S-2", Version: h.receipt("S-2").Version, Parts: []receipt.Part{{ID: "S-5", Quantity: 1}, {ID: "S-6", Quantity: 14_999}}})
	h.ok(by(TraderA), &receipt.WithdrawPledgeRequest{Pledge: h.receipt("S-2").Pledge})

	h.ok(by(TraderA), merge("M-1", h.receipt("S-2"), s1))
	m := h.receipt("M-1")
	assert.Equal(t, uint64(25_000), m.Quantity)
	assert.Equal(t, []string{"S-1", "S-2"}, m.Parents)
	assert.Equal(t, []string{"M-1"}, h.receipt("S-1").Children)
	assert.Equal(t, []string{"M-1"}, h.lot(r.Lot).Live)
}

func TestPledgeHandshake(t *testing.T) {
	h := newHarness(t)
	r := h.fresh(20_000, TraderA)
	req := func(pid, bank string, maturity int64) *receipt.RequestPledge {
		cur := h.receipt(r.ID)
		return &receipt.RequestPledge{Pledge: pid, Receipt: cur.ID, Version: cur.Version, Bank: bank, Maturity: maturity}
	}
	mat := h.Block.Time + 90*day
	h.fail(receipt.ErrNotHolder, by(TraderB), req("PL-1", BankA, mat))
	h.fail(receipt.ErrNotHolder, by(BankA), req("PL-1", BankA, mat))
	h.fail(receipt.ErrNotABank, by(TraderA), req("PL-1", TraderB, mat))
	h.fail(receipt.ErrUnknownParticipant, by(TraderA), req("PL-1", "bank-zz", mat))
	h.fail(receipt.ErrValidityTooShort, by(TraderA), req("PL-1", BankA, h.Block.Time))
	h.fail(receipt.ErrValidityTooShort, by(TraderA), req("PL-1", BankA, h.Block.Time+181*day))
	stale := req("PL-1", BankA, mat)
	stale.Version++
	h.fail(receipt.ErrStaleVersion, by(TraderA), stale)
	h.setHealth(r.Lot, warehouse.HealthAlarm)
	h.fail(warehouse.ErrLotUnhealthy, by(TraderA), req("PL-1", BankA, mat))
	h.setHealth(r.Lot, warehouse.HealthOK)

	h.ok(by(TraderA), req("PL-1", BankA, mat))
	p := h.pledgeRec("PL-1")
	assert.Equal(t, receipt.PledgePending, p.Status)
	assert.Equal(t, receipt.StatePledgePending, h.receipt(r.ID).State)

	// The double pledge the Qingdao fraud lived on.
	h.fail(receipt.ErrAlreadyPledged, by(TraderA), req("PL-2", BankB, mat))
	otherR := h.fresh(1_000, TraderA)
	h.fail(receipt.ErrPledgeExists, by(TraderA), &receipt.RequestPledge{Pledge: "PL-1", Receipt: otherR.ID, Version: otherR.Version, Bank: BankB, Maturity: mat})

	v := h.receipt(r.ID).Version
	h.fail(receipt.ErrNotPledgee, by(BankB), &receipt.ConfirmPledge{Pledge: "PL-1", ReceiptVersion: v})
	h.fail(receipt.ErrNotPledgee, by(TraderA), &receipt.ConfirmPledge{Pledge: "PL-1", ReceiptVersion: v})
	h.fail(receipt.ErrStaleVersion, by(BankA), &receipt.ConfirmPledge{Pledge: "PL-1", ReceiptVersion: v - 1})
	h.fail(receipt.ErrPledgeNotFound, by(BankA), &receipt.ConfirmPledge{Pledge: "PL-9", ReceiptVersion: v})
	h.fail(receipt.ErrPledgeNotActive, by(BankA), &receipt.ReleasePledge{Pledge: "PL-1"})
	h.setHealth(r.Lot, warehouse.HealthUnverified)
	h.fail(warehouse.ErrLotUnhealthy, by(BankA), &receipt.ConfirmPledge{Pledge: "PL-1", ReceiptVersion: v})
	h.setHealth(r.Lot, warehouse.HealthOK)
	h.ok(by(BankA), &receipt.ConfirmPledge{Pledge: "PL-1", ReceiptVersion: v})
	assert.Equal(t, receipt.StatePledged, h.receipt(r.ID).State)
	h.fail(receipt.ErrPledgeNotPending, by(BankA), &receipt.ConfirmPledge{Pledge: "PL-1", ReceiptVersion: h.receipt(r.ID).Version})
	h.fail(receipt.ErrAlreadyPledged, by(TraderA), req("PL-2", BankB, mat))
	h.fail(receipt.ErrPledgeNotPending, by(BankA), &receipt.RejectPledge{Pledge: "PL-1", Reason: "x"})
	h.fail(receipt.ErrPledgeNotPending, by(TraderA), &receipt.WithdrawPledgeRequest{Pledge: "PL-1"})

	// Release: only that pledge's bank.
	h.fail(receipt.ErrNotPledgee, by(BankB), &receipt.ReleasePledge{Pledge: "PL-1"})
	h.fail(receipt.ErrNotPledgee, by(TraderA), &receipt.ReleasePledge{Pledge: "PL-1"})
	h.fail(receipt.ErrPledgeNotFound, by(BankA), &receipt.ReleasePledge{Pledge: "PL-9", Version: 1})
	h.Exact = true
	h.fail(receipt.ErrMissingField, by(BankA), &receipt.ReleasePledge{Pledge: "PL-9"}, "the pledge version is required")
	h.Exact = false
	h.fail(receipt.ErrStaleVersion, by(BankA), &receipt.ReleasePledge{Pledge: "PL-1", Version: h.pledgeRec("PL-1").Version - 1}, "the pledge moved since")
	h.ok(by(BankA), &receipt.ReleasePledge{Pledge: "PL-1"})
	assert.Equal(t, receipt.StateIssued, h.receipt(r.ID).State)
	assert.Equal(t, receipt.PledgeReleased, h.pledgeRec("PL-1").Status)
	h.fail(receipt.ErrPledgeNotActive, by(BankA), &receipt.ReleasePledge{Pledge: "PL-1"})

	// Now free, the receipt can go to another bank.
	h.ok(by(TraderA), req("PL-2", BankB, mat))
	// Reject by the bank, or by the holder (withdrawal).
	h.fail(receipt.ErrForbidden, by(BankA), &receipt.RejectPledge{Pledge: "PL-2", Reason: "not mine"})
	h.fail(receipt.ErrNotHolder, by(BankB), &receipt.WithdrawPledgeRequest{Pledge: "PL-2"})
	h.ok(by(BankB), &receipt.RejectPledge{Pledge: "PL-2", Reason: "grade not accepted"})
	assert.Equal(t, receipt.PledgeRejected, h.pledgeRec("PL-2").Status)
	h.ok(by(TraderA), req("PL-3", BankB, mat))
	h.ok(by(TraderA), &receipt.RejectPledge{Pledge: "PL-3", Reason: "changed my mind"})
	assert.Equal(t, receipt.PledgeWithdrawn, h.pledgeRec("PL-3").Status)
	h.ok(by(TraderA), req("PL-4", BankB, mat))
	h.ok(by(TraderA), &receipt.WithdrawPledgeRequest{Pledge: "PL-4"})
	assert.Equal(t, receipt.StateIssued, h.receipt(r.ID).State)
}

func TestPledgeConfirmationAfterSplitFails(t *testing.T) {
	h := newHarness(t)
	r := h.fresh(20_000, TraderA)
	pid := h.requestPledge(r, BankA)
	seen := h.receipt(r.ID).Version // what the bank checked
	h.ok(by(TraderA), &receipt.WithdrawPledgeRequest{Pledge: pid})
	cur := h.receipt(r.ID)
	h.ok(by(TraderA), &receipt.Split{Receipt: r.ID, Version: cur.Version, Parts: []receipt.Part{{ID: "A", Quantity: 10_000}, {ID: "B", Quantity: 10_000}}})
	h.fail(receipt.ErrPledgeNotPending, by(BankA), &receipt.ConfirmPledge{Pledge: pid, ReceiptVersion: seen})
	// And a confirmation naming a version other than the requested one fails.
	a := h.receipt("A")
	pid2 := h.requestPledge(a, BankA)
	h.fail(receipt.ErrStaleVersion, by(BankA), &receipt.ConfirmPledge{Pledge: pid2, ReceiptVersion: a.Version})
}

func TestInvokePledge(t *testing.T) {
	h := newHarness(t)
	r := h.fresh(20_000, TraderA)
	pid := h.pledge(r, BankA)
	h.fail(receipt.ErrNoDefault, by(BankA), &receipt.InvokePledge{Pledge: pid})
	h.Advance(91 * day)
	h.fail(receipt.ErrNotPledgee, by(BankB), &receipt.InvokePledge{Pledge: pid})
	h.fail(receipt.ErrNotPledgee, by(TraderA), &receipt.InvokePledge{Pledge: pid})
	h.ok(by(BankA), &receipt.InvokePledge{Pledge: pid})
	got := h.receipt(r.ID)
	assert.Equal(t, BankA, got.Holder, "enforcement moves control to the bank")
	assert.Equal(t, receipt.StateIssued, got.State)
	assert.Equal(t, receipt.PledgeInvoked, h.pledgeRec(pid).Status)
	h.fail(receipt.ErrPledgeNotActive, by(BankA), &receipt.InvokePledge{Pledge: pid})
	// The bank now holds it and can sell it on.
	h.ok(by(BankA), transfer(got, TraderB, h.Block.Time+day))
}

func TestFreezeAndUnfreeze(t *testing.T) {
	h := newHarness(t)
	r := h.fresh(20_000, TraderA)
	pid := h.pledge(r, BankA)
	h.fail(receipt.ErrMissingRole, by(TraderA), &receipt.Freeze{Receipt: r.ID, Reason: "x"})
	h.fail(receipt.ErrMissingRole, by(BankA), &receipt.Freeze{Receipt: r.ID, Reason: "x"})
	h.fail(receipt.ErrMissingField, by(Regulator), &receipt.Freeze{Receipt: r.ID})
	h.fail(receipt.ErrReceiptNotFound, by(Regulator), &receipt.Freeze{Receipt: "R-NONE", Reason: "x"})
	before := h.receipt(r.ID)
	h.ok(by(Regulator), &receipt.Freeze{Receipt: r.ID, Reason: "court order 2026-17"})
	frozen := h.receipt(r.ID)
	assert.Equal(t, receipt.StateFrozen, frozen.State)
	assert.Equal(t, before.Holder, frozen.Holder, "a freeze never moves a receipt")
	assert.Equal(t, before.Quantity, frozen.Quantity, "a freeze never changes a quantity")
	h.fail(receipt.ErrAlreadyFrozen, by(Admin1), &receipt.Freeze{Receipt: r.ID, Reason: "again"})
	h.fail(receipt.ErrFrozen, by(BankA), &receipt.ReleasePledge{Pledge: pid})
	h.fail(receipt.ErrFrozen, by(TraderA, BankA), &warehouse.RequestDelivery{Receipt: r.ID, Version: frozen.Version, Quantity: 1})

	h.fail(receipt.ErrMissingRole, by(Admin1), &receipt.Unfreeze{Receipt: r.ID, Reason: "x"})
	h.fail(receipt.ErrMissingField, by(Regulator), &receipt.Unfreeze{Receipt: r.ID})
	h.ok(by(Regulator), &receipt.Unfreeze{Receipt: r.ID, Reason: "order lifted"})
	assert.Equal(t, receipt.StatePledged, h.receipt(r.ID).State, "back to the state it was frozen in")
	h.fail(receipt.ErrNotFrozen, by(Regulator), &receipt.Unfreeze{Receipt: r.ID, Reason: "x"})

	// A freeze on sensor evidence is not lifted by the regulator alone.
	r2 := h.fresh(1_000, TraderA)
	h.breachFreeze(r2.ID)
	h.fail(receipt.ErrBreachFreeze, by(Regulator), &receipt.Unfreeze{Receipt: r2.ID, Reason: "looks fine"})

	// Pending pledges can still be rejected while frozen.
	r3 := h.fresh(1_000, TraderA)
	pid3 := h.requestPledge(r3, BankB)
	h.ok(by(Regulator), &receipt.Freeze{Receipt: r3.ID, Reason: "inquiry"})
	h.fail(receipt.ErrFrozen, by(BankB), &receipt.ConfirmPledge{Pledge: pid3, ReceiptVersion: h.receipt(r3.ID).Version})
	h.ok(by(BankB), &receipt.RejectPledge{Pledge: pid3, Reason: "frozen"})
	h.ok(by(Regulator), &receipt.Unfreeze{Receipt: r3.ID, Reason: "done"})
	assert.Equal(t, receipt.StateIssued, h.receipt(r3.ID).State)

	r4 := h.fresh(1_000, TraderA)
	h.ok(by(Operator), &receipt.Void{Receipt: r4.ID, Version: r4.Version, Reason: "error"})
	h.fail(receipt.ErrTerminal, by(Regulator), &receipt.Freeze{Receipt: r4.ID, Reason: "x"})
}

func TestExpire(t *testing.T) {
	h := newHarness(t)
	free := h.fresh(1_000, TraderA)
	pending := h.fresh(1_000, TraderA)
	h.ok(by(TraderA), transfer(pending, TraderB, h.Block.Time+30*day))
	asked := h.fresh(1_000, TraderA)
	askedPl := h.requestPledge(asked, BankA)
	pledged := h.fresh(1_000, TraderA)
	pledgedPl := h.pledge(pledged, BankA)
	redeeming := h.fresh(1_000, TraderA)
	h.ok(by(TraderA), &warehouse.RequestDelivery{Receipt: redeeming.ID, Version: redeeming.Version, Quantity: 1_000})
	frozen := h.fresh(1_000, TraderA)
	h.ok(by(Regulator), &receipt.Freeze{Receipt: frozen.ID, Reason: "x"})

	h.fail(receipt.ErrNotYetExpired, by(TraderB), &receipt.Expire{Receipt: free.ID})
	h.Advance(181 * day)
	h.ok(by(TraderB), &receipt.Expire{Receipt: free.ID})
	assert.Equal(t, receipt.StateExpired, h.receipt(free.ID).State)
	h.fail(receipt.ErrExpired, by(TraderB), &receipt.Expire{Receipt: free.ID})
	h.ok(by(TraderB), &receipt.Expire{Receipt: pending.ID})
	assert.Nil(t, h.receipt(pending.ID).Transfer, "pending transfer cancelled")
	h.ok(by(TraderB), &receipt.Expire{Receipt: asked.ID})
	assert.Equal(t, receipt.PledgeLapsed, h.pledgeRec(askedPl).Status)
	h.ok(by(TraderB), &receipt.Expire{Receipt: pledged.ID})
	assert.Equal(t, receipt.PledgeActive, h.pledgeRec(pledgedPl).Status, "an active pledge stays with its bank")
	h.fail(receipt.ErrRedemptionPending, by(TraderB), &receipt.Expire{Receipt: redeeming.ID})
	h.fail(receipt.ErrFrozen, by(TraderB), &receipt.Expire{Receipt: frozen.ID})

	// Expired goods can still be redeemed; the bank can still release.
	e := h.receipt(free.ID)
	h.ok(by(TraderA), &warehouse.RequestDelivery{Receipt: e.ID, Version: e.Version, Quantity: 500})
	h.ok(by(BankA), &receipt.ReleasePledge{Pledge: pledgedPl})
	assert.Equal(t, receipt.StateExpired, h.receipt(pledged.ID).State)
	h.fail(receipt.ErrExpired, by(TraderA), &receipt.RequestPledge{Pledge: "PL-X", Receipt: pledged.ID, Version: h.receipt(pledged.ID).Version, Bank: BankA, Maturity: h.Block.Time + day})
}

func TestAmend(t *testing.T) {
	h := newHarness(t)
	r := h.fresh(1_000, TraderA)
	amend := &receipt.Amend{Receipt: r.ID, Version: r.Version, Description: "copper cathode, 99.99% Cu, 25 bundles", ThirdPartyClaims: "none known", Insurance: "PICC policy 8812"}
	h.fail(receipt.ErrCosignerMissing, by(Operator), amend)
	h.fail(receipt.ErrNotIssuer, by(TraderA, Operator), amend)
	h.fail(receipt.ErrNotIssuer, by(Operator2, TraderA), amend)
	stale := *amend
	stale.Version++
	h.fail(receipt.ErrStaleVersion, by(Operator, TraderA), &stale)
	same := &receipt.Amend{Receipt: r.ID, Version: r.Version, Description: r.Description, ThirdPartyClaims: r.ThirdPartyClaims}
	h.fail(receipt.ErrInvalidOp, by(Operator, TraderA), same)
	h.fail(receipt.ErrMissingField, by(Operator, TraderA), &receipt.Amend{Receipt: r.ID, Version: r.Version, Description: "x"})
	h.ok(by(Operator, TraderA), amend)
	got := h.receipt(r.ID)
	assert.Equal(t, "PICC policy 8812", got.Insurance)
	assert.Equal(t, r.Quantity, got.Quantity)
	assert.Equal(t, r.Version+1, got.Version)
}
