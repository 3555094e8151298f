package ledger

import (
	"crypto/ed25519"
	"testing"

	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
)

func newParticipant(id string, roles receipt.Role) *receipt.RegisterParticipant {
	k := DemoKey("test", id)
	op := &receipt.RegisterParticipant{ID: id, Name: "New " + id, Roles: roles}
	copy(op.PubKey[:], k.Public().(ed25519.PublicKey))
	return op
}

func TestRegisterParticipant(t *testing.T) {
	h := newHarness(t)
	h.ok(by(Admin1, Admin2), newParticipant("trader-c", receipt.RoleTrader))
	p, err := (&receipt.Exec{Store: h.Store}).Participant("trader-c")
	assert.NoError(t, err)
	assert.Equal(t, receipt.ParticipantActive, p.Status)

	h.fail(receipt.ErrAdminQuorum, by(Admin1), newParticipant("trader-d", receipt.RoleTrader))
	h.fail(receipt.ErrAdminQuorum, by(TraderA, BankA), newParticipant("trader-d", receipt.RoleTrader))
	h.fail(receipt.ErrParticipantExists, by(Admin1, Admin3), newParticipant(TraderA, receipt.RoleTrader))
	h.fail(receipt.ErrInvalidID, by(Admin1, Admin2), newParticipant("bad id", receipt.RoleTrader))
	h.fail(receipt.ErrInvalidOp, by(Admin1, Admin2), newParticipant("trader-d", 0))
	noKey := newParticipant("trader-d", receipt.RoleTrader)
	noKey.PubKey = receipt.PubKey{}
	h.fail(receipt.ErrMissingField, by(Admin1, Admin2), noKey)
	h.fail(receipt.ErrUnknownSigner, by("ghost", Admin1), newParticipant("trader-d", receipt.RoleTrader))
}

func TestSuspendAndReinstateParticipant(t *testing.T) {
	h := newHarness(t)
	r := h.fresh(10_000, TraderA)
	h.fail(receipt.ErrAdminQuorum, by(Admin1), &receipt.SuspendParticipant{ID: TraderA, Reason: "sanctions"})
	h.fail(receipt.ErrMissingField, by(Admin1, Admin2), &receipt.SuspendParticipant{ID: TraderA})
	h.fail(receipt.ErrUnknownParticipant, by(Admin1, Admin2), &receipt.SuspendParticipant{ID: "nobody", Reason: "x"})
	h.fail(receipt.ErrNotSuspended, by(Admin1, Admin2), &receipt.ReinstateParticipant{ID: TraderA, Reason: "x"})
	h.ok(by(Admin1, Admin2), &receipt.SuspendParticipant{ID: TraderA, Reason: "sanctions"})
	h.fail(receipt.ErrSuspended, by(Admin1, Admin2), &receipt.SuspendParticipant{ID: TraderA, Reason: "again"})
	// A suspended participant signs nothing, and cannot receive receipts.
	h.fail(receipt.ErrSuspended, by(TraderA), &receipt.InitiateTransfer{Receipt: r.ID, Version: r.Version, To: TraderB, Deadline: h.Block.Time + day})
	h.fail(receipt.ErrSuspended, by(Operator), h.issueOp("R-X", r.Lot, 1, TraderA))
	// Still its own receipt: suspension moves nothing.
	assert.Equal(t, TraderA, h.receipt(r.ID).Holder)
	h.fail(receipt.ErrAdminQuorum, by(Admin3), &receipt.ReinstateParticipant{ID: TraderA, Reason: "cleared"})
	h.ok(by(Admin3, Admin2), &receipt.ReinstateParticipant{ID: TraderA, Reason: "cleared"})
	h.ok(by(TraderA), &receipt.InitiateTransfer{Receipt: r.ID, Version: r.Version, To: TraderB, Deadline: h.Block.Time + day})
}

func TestRegisterWarehouseAndBay(t *testing.T) {
	h := newHarness(t)
	reg := &warehouse.RegisterWarehouse{ID: "WH-NEW", Name: "New Store", Location: "Tianjin", Operator: Operator, CollateralManager: Inspector}
	h.fail(receipt.ErrAdminQuorum, by(Operator), reg)
	bad := *reg
	bad.Operator = TraderA
	h.fail(receipt.ErrMissingRole, by(Admin1, Admin2), &bad)
	bad = *reg
	bad.CollateralManager = "nobody"
	h.fail(receipt.ErrUnknownParticipant, by(Admin1, Admin2), &bad)
	bad = *reg
	bad.Location = ""
	h.fail(receipt.ErrMissingField, by(Admin1, Admin2), &bad)
	h.ok(by(Admin1, Admin2), reg)
	h.fail(warehouse.ErrWarehouseExists, by(Admin1, Admin2), reg)

	h.ok(by(Operator), &warehouse.AddBay{Warehouse: "WH-NEW", Bay: "B1"})
	h.fail(warehouse.ErrBayExists, by(Operator), &warehouse.AddBay{Warehouse: "WH-NEW", Bay: "B1"})
	h.fail(warehouse.ErrNotOperator, by(Operator2), &warehouse.AddBay{Warehouse: "WH-NEW", Bay: "B2"})
	h.fail(warehouse.ErrNotOperator, by(Inspector), &warehouse.AddBay{Warehouse: "WH-NEW", Bay: "B2"})
	h.fail(warehouse.ErrWarehouseNotFound, by(Operator), &warehouse.AddBay{Warehouse: "WH-NONE", Bay: "B2"})
	h.fail(receipt.ErrInvalidID, by(Operator), &warehouse.AddBay{Warehouse: "WH-NEW", Bay: "B/2"})
}

func TestDevices(t *testing.T) {
	h := newHarness(t)
	k := DemoKey("test", "new-scale")
	reg := &warehouse.RegisterDevice{ID: "LC-NEW", Kind: warehouse.BayScale, Warehouse: Warehouse1, Bay: "BAY-01", CalibratedUntil: h.Block.Time + 365*day}
	copy(reg.PubKey[:], k.Public().(ed25519.PublicKey))
	h.fail(receipt.ErrAdminQuorum, by(Admin1), reg)
	bad := *reg
	bad.Bay = "BAY-99"
	h.fail(warehouse.ErrBayNotFound, by(Admin1, Admin2), &bad)
	bad = *reg
	bad.Kind = warehouse.Weighbridge
	h.fail(receipt.ErrInvalidOp, by(Admin1, Admin2), &bad)
	bad = *reg
	bad.CalibratedUntil = h.Block.Time - 1
	h.fail(warehouse.ErrDeviceUncalibrated, by(Admin1, Admin2), &bad)
	bad = *reg
	bad.Kind = 9
	h.fail(receipt.ErrInvalidOp, by(Admin1, Admin2), &bad)
	h.ok(by(Admin1, Admin2), reg)
	h.fail(warehouse.ErrDeviceExists, by(Admin1, Admin2), reg)

	cal := &warehouse.CalibrateDevice{ID: "LC-NEW", CalibratedUntil: h.Block.Time + 2*365*day, Certificate: "CNAS-2026-0042"}
	h.fail(warehouse.ErrNotCollateralMgr, by(Operator), cal)
	h.fail(receipt.ErrMissingField, by(Inspector), &warehouse.CalibrateDevice{ID: "LC-NEW", CalibratedUntil: cal.CalibratedUntil})
	h.fail(warehouse.ErrDeviceUncalibrated, by(Inspector), &warehouse.CalibrateDevice{ID: "LC-NEW", CalibratedUntil: h.Block.Time, Certificate: "x"})
	h.ok(by(Inspector), cal)

	h.fail(receipt.ErrAdminQuorum, by(Admin2), &warehouse.SuspendDevice{ID: "LC-NEW", Reason: "key leaked"})
	h.fail(warehouse.ErrDeviceNotFound, by(Admin1, Admin2), &warehouse.SuspendDevice{ID: "LC-NONE", Reason: "x"})
	h.ok(by(Admin1, Admin2), &warehouse.SuspendDevice{ID: "LC-NEW", Reason: "key leaked"})
	h.fail(warehouse.ErrDeviceSuspended, by(Admin1, Admin2), &warehouse.SuspendDevice{ID: "LC-NEW", Reason: "again"})
	h.fail(warehouse.ErrDeviceSuspended, by(Inspector), cal)
}
