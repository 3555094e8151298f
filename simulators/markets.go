package simulators

import (
	"context"
	"fmt"
	"io"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
	"github.com/ewrchain/ewr/warehouse"
)

// Markets is the financing and trading story: credit policies and prices,
// a loan drawn against a pledged receipt, a price drop that calls for
// margin, the cure by more collateral, a repayment, the sale of a pledged
// receipt with the bank's consent (DvP, the proceeds paying the loan
// first), a withdrawn offer, a cancelled trade, a cancelled loan, and a
// second drop left uncured: default and enforcement. It applies every
// financing and trading op.
type Markets struct {
	Driver Driver
	World  *ledger.World
	Out    io.Writer
	Tag    string
	Bay    string // a free bay of warehouse 1
	// ShortSec is the margin call grace the tour waits out; a few seconds
	// on a real chain.
	ShortSec int64
}

// Run runs the story; any step that should succeed and fails is an error.
func (s *Markets) Run(ctx context.Context) error {
	d, w, tag := s.Driver, s.World, s.Tag
	id := func(p string) string { return p + "-" + tag }
	step := stepper(ctx, d, s.Out, "markets", 44)
	v := func(rid string) uint64 {
		r, err := d.Receipt(ctx, rid)
		if err != nil {
			return 0
		}
		return r.Version
	}
	now, err := d.Now(ctx)
	if err != nil {
		return err
	}
	const commodity, usd = "copper cathode", "USD"
	grace := max(s.ShortSec, 2)
	a, b := ledger.TraderA, ledger.TraderB
	bankA, bankB := ledger.BankA, ledger.BankB

	// Stock: 40 t of copper, three receipts.
	lot := id("MLOT")
	stock := &warehouse.RegisterStock{Lot: lot, Warehouse: ledger.Warehouse1, Bay: s.Bay, Commodity: commodity, Grade: "LME Grade A", Unit: "kg", Tolerance: 100}
	for i := 0; i < 2; i++ {
		stock.Tickets = append(stock.Tickets, w.Ticket(ledger.Weighbridge1, fmt.Sprintf("TMK-%s-%d", tag, i), warehouse.In, 35_000, 15_000, "", now))
	}
	if err := step("register a copper lot", []string{ledger.Operator, ledger.Inspector}, stock); err != nil {
		return err
	}
	r1, r2, r3 := id("MR1"), id("MR2"), id("MR3")
	for _, is := range []struct {
		id     string
		qty    uint64
		holder string
	}{{r1, 20_000, a}, {r2, 10_000, a}, {r3, 10_000, b}} {
		if err := step("issue "+is.id, []string{ledger.Operator}, &warehouse.IssueReceipt{
			ID: is.id, Lot: lot, Depositor: is.holder, Negotiable: true, Quantity: is.qty, Description: "copper cathode in bundles",
			PlaceOfIssue: "Qingdao", StorageUntil: now + 365*86400, ValidUntil: now + 180*86400, StorageAgreementDate: now - 86400,
			StorageTermsRef: "QBMW-ST-2026-01", ThirdPartyClaims: "none known", Fees: receipt.FeeTerms{Currency: "CNY", MinorPerTonnePerDay: 150},
		}); err != nil {
			return err
		}
	}

	policy := &financing.SetCreditPolicy{Commodity: commodity, HaircutBps: 1_000, InitialLTVBps: 7_500, MaintenanceLTVBps: 8_500, MarginCallGraceSec: grace}
	price := func(minor uint64) *financing.PostPrice {
		return &financing.PostPrice{Commodity: commodity, Currency: usd, MinorPerTonne: minor}
	}
	p1, p2, p3 := id("MP1"), id("MP2"), id("MP3")
	l1, l2 := id("ML1"), id("ML2")
	for _, st := range []struct {
		what    string
		signers []string
		op      func() receipt.Op
	}{
		{"bank-a sets its copper credit policy", []string{bankA}, func() receipt.Op { return policy }},
		{"bank-b too", []string{bankB}, func() receipt.Op { return policy }},
		{"oracle: copper at USD 8,000/t", []string{ledger.Oracle}, func() receipt.Op { return price(800_000) }},
		{"trader-a pledges 20 t to bank-a", []string{a}, func() receipt.Op {
			return &receipt.RequestPledge{Pledge: p1, Receipt: r1, Version: v(r1), Bank: bankA, Maturity: now + 90*86400}
		}},
		{"bank-a confirms", []string{bankA}, func() receipt.Op { return &receipt.ConfirmPledge{Pledge: p1, ReceiptVersion: v(r1)} }},
		{"bank-a lends USD 100,000 (LTV 69%)", []string{bankA, a}, func() receipt.Op {
			return &financing.OpenLoan{Loan: l1, Borrower: a, Pledges: []string{p1}, Currency: usd, Principal: 10_000_000, Maturity: now + 60*86400}
		}},
		{"and pays it out", []string{bankA}, func() receipt.Op {
			return &financing.RecordDisbursement{Loan: l1, Amount: 10_000_000, Ref: "MT103-" + tag}
		}},
		{"oracle: USD 6,400/t: margin call", []string{ledger.Oracle}, func() receipt.Op { return price(640_000) }},
		{"trader-a pledges 10 t more", []string{a}, func() receipt.Op {
			return &receipt.RequestPledge{Pledge: p2, Receipt: r2, Version: v(r2), Bank: bankA, Maturity: now + 90*86400}
		}},
		{"bank-a confirms", []string{bankA}, func() receipt.Op { return &receipt.ConfirmPledge{Pledge: p2, ReceiptVersion: v(r2)} }},
		{"added to the loan: call cured", []string{bankA, a}, func() receipt.Op { return &financing.AddCollateral{Loan: l1, Pledges: []string{p2}} }},
		{"bank-a records a USD 20,000 repayment", []string{bankA}, func() receipt.Op {
			return &financing.RecordRepayment{Loan: l1, Amount: 2_000_000, Ref: "MT103-R-" + tag}
		}},
		{"trader-a offers the 10 t to trader-b, bank-a consents", []string{a, bankA}, func() receipt.Op {
			return &trading.CreateOffer{Offer: id("MO1"), Receipt: r2, Version: v(r2), Buyer: b, PriceMinor: 6_000_000, Currency: usd, Deadline: now + 5*86400}
		}},
		{"trader-b accepts, funds at bank-b", []string{b}, func() receipt.Op { return &trading.AcceptOffer{Offer: id("MO1"), BuyerBank: bankB} }},
		{"bank-b holds USD 60,000", []string{bankB}, func() receipt.Op {
			return &trading.ConfirmFunds{Trade: id("MO1"), AmountMinor: 6_000_000, Currency: usd, EscrowRef: "ESC-" + tag}
		}},
		{"DvP: receipt to trader-b, proceeds to the loan", []string{b}, func() receipt.Op { return &trading.Settle{Trade: id("MO1")} }},
		{"trader-b offers 10 t to trader-a", []string{b}, func() receipt.Op {
			return &trading.CreateOffer{Offer: id("MO2"), Receipt: r3, Version: v(r3), Buyer: a, PriceMinor: 6_500_000, Currency: usd, Deadline: now + 5*86400}
		}},
		{"and withdraws it", []string{b}, func() receipt.Op { return &trading.WithdrawOffer{Offer: id("MO2")} }},
		{"offers it again", []string{b}, func() receipt.Op {
			return &trading.CreateOffer{Offer: id("MO3"), Receipt: r3, Version: v(r3), Buyer: a, PriceMinor: 6_400_000, Currency: usd, Deadline: now + 5*86400}
		}},
		{"trader-a accepts, funds at bank-a", []string{a}, func() receipt.Op { return &trading.AcceptOffer{Offer: id("MO3"), BuyerBank: bankA} }},
		{"bank-a declines to fund: trade cancelled", []string{bankA}, func() receipt.Op {
			return &trading.CancelTrade{Trade: id("MO3"), Reason: "credit line full"}
		}},
		{"trader-b pledges the 10 t it bought to bank-b", []string{b}, func() receipt.Op {
			return &receipt.RequestPledge{Pledge: p3, Receipt: r2, Version: v(r2), Bank: bankB, Maturity: now + 90*86400}
		}},
		{"bank-b confirms", []string{bankB}, func() receipt.Op { return &receipt.ConfirmPledge{Pledge: p3, ReceiptVersion: v(r2)} }},
		{"bank-b opens a loan", []string{bankB, b}, func() receipt.Op {
			return &financing.OpenLoan{Loan: l2, Borrower: b, Pledges: []string{p3}, Currency: usd, Principal: 1_000_000, Maturity: now + 60*86400}
		}},
		{"trader-b cancels it before drawing", []string{b}, func() receipt.Op { return &financing.CancelLoan{Loan: l2, Reason: "paid cash"} }},
		{"oracle: USD 1,000/t: margin call", []string{ledger.Oracle}, func() receipt.Op { return price(100_000) }},
	} {
		if err := step(st.what, st.signers, st.op()); err != nil {
			return err
		}
	}
	// Nobody cures: the grace runs out, bank-a records the default and enforces.
	at, err := d.Now(ctx)
	if err != nil {
		return err
	}
	if err := d.WaitUntil(ctx, at+grace); err != nil {
		return err
	}
	if err := step("grace passed: bank-a records the default", []string{bankA}, &financing.MarkDefault{Loan: l1}); err != nil {
		return err
	}
	return step("bank-a enforces: the 20 t are its", []string{bankA}, &receipt.InvokePledge{Pledge: p1})
}
