package simulators

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"

	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// Tour runs every op the Lifecycle does not: membership, warehouses and
// devices, merge, cancelled transfer, rejected and withdrawn pledges,
// enforcement, freeze, amendment, cancelled delivery, void and expiry.
// Together the two cover every op of the domain core.
type Tour struct {
	Driver Driver
	World  *ledger.World
	Out    io.Writer
	Tag    string
	Bay    string // a free bay of warehouse 1
	// ShortSec is how far ahead the short deadlines are (maturity, validity)
	// that the tour waits out; a few seconds on a real chain.
	ShortSec int64
}

// Run runs the tour; any step that should succeed and fails is an error.
func (s *Tour) Run(ctx context.Context) error {
	d, w, tag := s.Driver, s.World, s.Tag
	id := func(p string) string { return p + "-" + tag }
	step := stepper(ctx, d, s.Out, "tour", 40)
	admins := []string{ledger.Admin1, ledger.Admin2}
	now, err := d.Now(ctx)
	if err != nil {
		return err
	}

	// Membership, warehouses, devices.
	newcomer := id("gamma")
	pk := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	reg := &receipt.RegisterParticipant{ID: newcomer, Name: "Gamma Trading " + tag, Roles: receipt.RoleTrader}
	copy(reg.PubKey[:], pk)
	var rotated receipt.PubKey
	copy(rotated[:], ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)).Public().(ed25519.PublicKey))
	wh := id("WH")
	dev := &warehouse.RegisterDevice{ID: id("LC"), Kind: warehouse.BayScale, Warehouse: wh, Bay: "B1", CalibratedUntil: now + 365*86400}
	copy(dev.PubKey[:], pk)
	for _, st := range []struct {
		what    string
		signers []string
		op      receipt.Op
	}{
		{"register a participant", admins, reg},
		{"suspend it", admins, &receipt.SuspendParticipant{ID: newcomer, Reason: "KYC refresh"}},
		{"reinstate it", admins, &receipt.ReinstateParticipant{ID: newcomer, Reason: "KYC done"}},
		{"replace its lost key", admins, &receipt.RotateKey{ID: newcomer, NewKey: rotated, Version: 3}},
		{"register a warehouse", admins, &warehouse.RegisterWarehouse{ID: wh, Name: "Tianjin Port Store " + tag, Location: "Tianjin", Operator: ledger.Operator2, CollateralManager: ledger.Inspector2}},
		{"add a bay", []string{ledger.Operator2}, &warehouse.AddBay{Warehouse: wh, Bay: "B1", TareKg: 350}},
		{"record its tare, witnessed", []string{ledger.Operator2, ledger.Inspector2}, &warehouse.SetBayTare{Warehouse: wh, Bay: "B1", TareKg: 420}},
		{"register a bank's supervisor", admins, &warehouse.SetSupervisors{Warehouse: wh, Supervisors: []string{ledger.BankA}}},
		{"register a bay scale", admins, dev},
		{"record its calibration", []string{ledger.Inspector2}, &warehouse.CalibrateDevice{ID: dev.ID, CalibratedUntil: now + 2*365*86400, Certificate: "CNAS-" + tag}},
		{"suspend it", admins, &warehouse.SuspendDevice{ID: dev.ID, Reason: "replaced"}},
	} {
		if err := step(st.what, st.signers, st.op); err != nil {
			return err
		}
	}

	// A lot with several receipts.
	lot := id("TLOT")
	stock := &warehouse.RegisterStock{Lot: lot, Warehouse: ledger.Warehouse1, Bay: s.Bay, Commodity: "aluminium ingot", Grade: "P1020A", Unit: "kg", Tolerance: 100}
	for i := 0; i < 4; i++ {
		stock.Tickets = append(stock.Tickets, w.Ticket(ledger.Weighbridge1, fmt.Sprintf("TIN-%s-%d", tag, i), warehouse.In, 35_000, 15_000, "", now))
	}
	if err := step("register a lot", []string{ledger.Operator, ledger.Inspector}, stock); err != nil {
		return err
	}
	issue := func(rid string, qty uint64, validUntil int64) error {
		return step("issue "+rid, []string{ledger.Operator}, &warehouse.IssueReceipt{
			ID: rid, Lot: lot, Depositor: ledger.TraderA, Negotiable: true, Quantity: qty, Description: "aluminium ingot",
			PlaceOfIssue: "Qingdao", StorageUntil: now + 365*86400, ValidUntil: validUntil, StorageAgreementDate: now - 86400,
			StorageTermsRef: "QBMW-ST-2026-01", ThirdPartyClaims: "none known", Fees: receipt.FeeTerms{Currency: "CNY", MinorPerTonnePerDay: 120},
		})
	}
	valid := now + 180*86400
	r1, r2, m := id("T1"), id("T2"), id("TM")
	if err := issue(r1, 10_000, valid); err != nil {
		return err
	}
	if err := issue(r2, 15_000, valid); err != nil {
		return err
	}
	v := func(rid string) uint64 {
		r, err := d.Receipt(ctx, rid)
		if err != nil {
			return 0
		}
		return r.Version
	}
	if err := step("merge them", []string{ledger.TraderA}, &receipt.Merge{Into: m, Receipts: []receipt.VersionedRef{{ID: r1, Version: v(r1)}, {ID: r2, Version: v(r2)}}}); err != nil {
		return err
	}
	if err := step("offer to trader-b", []string{ledger.TraderA}, &receipt.InitiateTransfer{Receipt: m, Version: v(m), To: ledger.TraderB, Deadline: now + 86400}); err != nil {
		return err
	}
	if err := step("cancel the offer", []string{ledger.TraderA}, &receipt.CancelTransfer{Receipt: m}); err != nil {
		return err
	}
	p1, p2 := id("TP1"), id("TP2")
	if err := step("ask bank-a for a pledge", []string{ledger.TraderA}, &receipt.RequestPledge{Pledge: p1, Receipt: m, Version: v(m), Bank: ledger.BankA, Maturity: now + 90*86400}); err != nil {
		return err
	}
	if err := step("bank-a rejects", []string{ledger.BankA}, &receipt.RejectPledge{Pledge: p1, Reason: "grade not accepted"}); err != nil {
		return err
	}
	if err := step("ask bank-b", []string{ledger.TraderA}, &receipt.RequestPledge{Pledge: p2, Receipt: m, Version: v(m), Bank: ledger.BankB, Maturity: now + 90*86400}); err != nil {
		return err
	}
	if err := step("withdraw the request", []string{ledger.TraderA}, &receipt.WithdrawPledgeRequest{Pledge: p2}); err != nil {
		return err
	}
	if err := step("amend the description", []string{ledger.Operator, ledger.TraderA}, &receipt.Amend{Receipt: m, Version: v(m), Description: "aluminium ingot, 25 t, strapped bundles", ThirdPartyClaims: "none known"}); err != nil {
		return err
	}
	if err := step("regulator freezes", []string{ledger.Regulator}, &receipt.Freeze{Receipt: m, Reason: "customs inquiry " + tag}); err != nil {
		return err
	}
	if err := step("regulator unfreezes", []string{ledger.Regulator}, &receipt.Unfreeze{Receipt: m, Reason: "inquiry closed"}); err != nil {
		return err
	}
	if err := step("request a delivery", []string{ledger.TraderA}, &warehouse.RequestDelivery{Receipt: m, Version: v(m), Quantity: 5_000}); err != nil {
		return err
	}
	mr, err := d.Receipt(ctx, m)
	if err != nil {
		return err
	}
	if err := step("cancel it", []string{ledger.TraderA}, &warehouse.CancelDelivery{ReleaseOrder: mr.ReleaseOrder}); err != nil {
		return err
	}
	r3 := id("T3")
	if err := issue(r3, 1_000, valid); err != nil {
		return err
	}
	if err := step("void a receipt issued in error", []string{ledger.Operator}, &receipt.Void{Receipt: r3, Version: v(r3), Reason: "wrong depositor"}); err != nil {
		return err
	}

	// Short deadlines, waited out: enforcement after maturity, expiry.
	if now, err = d.Now(ctx); err != nil {
		return err
	}
	short := max(s.ShortSec, 2)
	r4, p4 := id("T4"), id("TP4")
	if err := issue(r4, 2_000, now+2*short); err != nil {
		return err
	}
	if err := step("pledge it to bank-a", []string{ledger.TraderA}, &receipt.RequestPledge{Pledge: p4, Receipt: r4, Version: v(r4), Bank: ledger.BankA, Maturity: now + short}); err != nil {
		return err
	}
	if err := step("bank-a confirms", []string{ledger.BankA}, &receipt.ConfirmPledge{Pledge: p4, ReceiptVersion: v(r4)}); err != nil {
		return err
	}
	if err := d.WaitUntil(ctx, now+short); err != nil {
		return err
	}
	if err := step("maturity passed unpaid: bank-a enforces", []string{ledger.BankA}, &receipt.InvokePledge{Pledge: p4}); err != nil {
		return err
	}
	if err := d.WaitUntil(ctx, now+2*short); err != nil {
		return err
	}
	return step("validity passed: expire", []string{ledger.TraderB}, &receipt.Expire{Receipt: r4})
}
