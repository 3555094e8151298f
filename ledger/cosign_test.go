package ledger

import (
	"crypto/ed25519"
	"testing"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
)

// TestOpsNameTheirCosigners checks, op by op, that what an op says of its
// co-signers (receipt.Cosigner, which the API and drafts ask) is exactly
// what its rules then check: the actor alone is refused, the actor with
// the co-signers it named is accepted.
func TestOpsNameTheirCosigners(t *testing.T) {
	h := newHarness(t)
	h.ok(by(Operator), &warehouse.AddBay{Warehouse: Warehouse1, Bay: "BAY-C", TareKg: 500})
	pledged := h.fresh(10_000, TraderA)
	h.pledge(pledged, BankA)
	amended := h.fresh(5_000, TraderB)
	loanR := h.fresh(8_000, TraderA)
	loanPl := h.pledge(loanR, BankA)
	h.ok(by(Oracle), &financing.PostPrice{Commodity: "copper cathode", Currency: "USD", MinorPerTonne: 800_000})
	h.ok(by(BankA), &financing.SetCreditPolicy{Commodity: "copper cathode", HaircutBps: 1_000, InitialLTVBps: 7_500, MaintenanceLTVBps: 8_500, MarginCallGraceSec: 7 * day})
	rules := iot.DefaultRules()

	for _, c := range []struct {
		name  string
		actor string
		op    func() receipt.Op
		want  []string
	}{
		{"lot register", Operator, func() receipt.Op { return h.stockOp(h.next("LOT"), "BAY-C", 1_000) }, []string{Inspector}},
		{"receipt amend", Operator, func() receipt.Op {
			r := h.receipt(amended.ID)
			return &receipt.Amend{Receipt: r.ID, Version: r.Version, Description: "copper cathode, re-strapped", ThirdPartyClaims: "none known"}
		}, []string{TraderB}},
		{"transfer of a pledged receipt", TraderA, func() receipt.Op {
			r := h.receipt(pledged.ID)
			return &receipt.InitiateTransfer{Receipt: r.ID, Version: r.Version, To: TraderB, Deadline: h.Block.Time + day}
		}, []string{BankA}},
		{"loan open", BankA, func() receipt.Op {
			return &financing.OpenLoan{Loan: h.next("LN"), Borrower: TraderA, Pledges: []string{loanPl}, Currency: "USD", Principal: 1_000_000, Maturity: h.Block.Time + 30*day}
		}, []string{TraderA}},
		{"participant register", Admin1, func() receipt.Op {
			return &receipt.RegisterParticipant{ID: h.next("member"), Name: "New member", Roles: receipt.RoleTrader, PubKey: receipt.PubKey(h.w.Actors[TraderA].Key.Public().(ed25519.PublicKey))}
		}, []string{Admin2}},
		{"supervisors set", Admin1, func() receipt.Op {
			return &warehouse.SetSupervisors{Warehouse: Warehouse1, Supervisors: []string{Inspector}}
		}, []string{Admin2}},
		{"iot rules set", Admin1, func() receipt.Op { return &iot.SetRules{Rules: rules} }, []string{Admin2}},
	} {
		op := c.op()
		got := receipt.CosignersOf(&receipt.Exec{Store: h.Store}, c.actor, op)
		assert.Equal(t, c.want, got, c.name)
		if _, err := h.Do(by(c.actor), op); assert.Error(t, err, "%s by the actor alone", c.name) {
			var re *receipt.Error
			assert.ErrorAs(t, err, &re, c.name)
		}
		h.ok(append(by(c.actor), got...), op)
	}

	// The bay's tare, once the bay is empty again.
	tare := &warehouse.SetBayTare{Warehouse: Warehouse1, Bay: "BAY-04", TareKg: 470}
	got := receipt.CosignersOf(&receipt.Exec{Store: h.Store}, Operator, tare)
	assert.Equal(t, []string{Inspector}, got)
	h.fail(warehouse.ErrNotCollateralMgr, by(Operator), tare)
	h.ok(append(by(Operator), got...), tare)
	assert.Nil(t, receipt.CosignersOf(&receipt.Exec{Store: h.Store}, TraderA, &receipt.Split{Receipt: amended.ID}), "an op of one signer")
}
