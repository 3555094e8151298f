package simulators

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// Driver is how a scenario reaches the system: in memory (MemDriver), or
// through the chain or the HTTP API.
type Driver interface {
	// Submit executes op signed by signers and waits until it is committed.
	// A rule rejection is returned as an error wrapping *receipt.Error.
	Submit(ctx context.Context, signers []string, op receipt.Op) error
	// Receipt reads a receipt's current state.
	Receipt(ctx context.Context, id string) (*receipt.Receipt, error)
	// Lot reads a lot's current state.
	Lot(ctx context.Context, id string) (*warehouse.Lot, error)
	// Now is the current block time, for deadlines and maturities.
	Now(ctx context.Context) (int64, error)
	// WaitUntil returns once block time has passed t.
	WaitUntil(ctx context.Context, t int64) error
}

// stepper returns a story's step: submit op signed by signers, print a
// tick line on out (if not nil) with what aligned in width columns, and
// name the story and the op in the error of a step that fails.
func stepper(ctx context.Context, d Driver, out io.Writer, story string, width int) func(what string, signers []string, op receipt.Op) error {
	return func(what string, signers []string, op receipt.Op) error {
		if err := d.Submit(ctx, signers, op); err != nil {
			return fmt.Errorf("%s: %s (%s): %w", story, what, op.Type(), err)
		}
		if out != nil {
			fmt.Fprintf(out, "  ✓ %-*s %s\n", width, what, op.Type())
		}
		return nil
	}
}

// MemDriver runs a scenario on an in-memory ledger.
type MemDriver struct{ Sim *ledger.Sim }

// Submit implements Driver.
func (d *MemDriver) Submit(_ context.Context, signers []string, op receipt.Op) error {
	_, err := d.Sim.Do(signers, op)
	d.Sim.Advance(6) // blocks are seconds apart
	return err
}

// Receipt implements Driver.
func (d *MemDriver) Receipt(_ context.Context, id string) (*receipt.Receipt, error) {
	r, ok := d.Sim.Receipt(id)
	if !ok {
		return nil, receipt.Errorf(receipt.ErrReceiptNotFound, "%q", id)
	}
	return r, nil
}

// Lot implements Driver.
func (d *MemDriver) Lot(_ context.Context, id string) (*warehouse.Lot, error) {
	l, ok := ledger.Get[warehouse.Lot](d.Sim.Store, warehouse.LotKey(id))
	if !ok {
		return nil, receipt.Errorf(warehouse.ErrLotNotFound, "%q", id)
	}
	return l, nil
}

// Now implements Driver.
func (d *MemDriver) Now(context.Context) (int64, error) { return d.Sim.Block.Time, nil }

// WaitUntil implements Driver: in memory, time jumps.
func (d *MemDriver) WaitUntil(_ context.Context, t int64) error {
	if d.Sim.Block.Time <= t {
		d.Sim.Block.Time = t + 1
	}
	return nil
}

// Lifecycle is the story of one lot, told through a Driver: trucks weighed
// in, the lot locked, a receipt issued, pledged and released, transferred,
// split, one part partly delivered and the rest delivered (cancelled), and a
// double pledge the chain refuses.
type Lifecycle struct {
	Driver Driver
	World  *ledger.World
	Out    io.Writer
	// Tag makes ids unique per run, so a second run on the same chain works.
	Tag string
	// Bay is where the lot is stored; it must be free.
	Bay string
}

func (s *Lifecycle) say(format string, args ...any) { fmt.Fprintf(s.Out, format+"\n", args...) }

func (s *Lifecycle) do(ctx context.Context, what string, signers []string, op receipt.Op) error {
	if err := s.Driver.Submit(ctx, signers, op); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	s.say("  ✓ %-44s %s by %s", what, op.Type(), strings.Join(signers, "+"))
	return nil
}

// Run tells the story. It returns an error if any step that should
// succeed fails, or if the double pledge is not refused.
func (s *Lifecycle) Run(ctx context.Context) error {
	w, tag := s.World, s.Tag
	now, err := s.Driver.Now(ctx)
	if err != nil {
		return err
	}
	id := func(p string) string { return p + "-" + tag }
	lot, r1 := id("LOT"), id("WR")
	s.say("1. Intake: three trucks of copper cathode weighed in at %s, lot locked in %s", ledger.Warehouse1, s.Bay)
	stock := &warehouse.RegisterStock{Lot: lot, Warehouse: ledger.Warehouse1, Bay: s.Bay, Commodity: "copper cathode",
		Grade: "LME Grade A", Unit: "kg", Tolerance: 150}
	for i, gross := range []uint64{40_020, 39_960, 40_100} {
		t := w.Ticket(ledger.Weighbridge1, fmt.Sprintf("IN-%s-%d", tag, i+1), warehouse.In, gross, 15_020, "", now)
		stock.Tickets = append(stock.Tickets, t)
		s.say("     ticket %s plate %s gross %d kg tare %d kg net %d kg (signed by %s)", t.Ticket.Number, t.Ticket.Plate, t.Ticket.Gross, t.Ticket.Tare, t.Ticket.Net, t.Ticket.Device)
	}
	if err := s.do(ctx, "register and lock the lot (operator + CM)", []string{ledger.Operator, ledger.Inspector}, stock); err != nil {
		return err
	}
	l, err := s.Driver.Lot(ctx, lot)
	if err != nil {
		return err
	}
	s.say("     lot %s locked: %d kg in %s, health %s", l.ID, l.LockedQty, l.Bay, l.Health)

	s.say("2. Issue: a negotiable receipt for 75,000 kg to %s", ledger.TraderA)
	issue := &warehouse.IssueReceipt{
		ID: r1, Lot: lot, Depositor: ledger.TraderA, Negotiable: true, Quantity: 75_000,
		Description: "copper cathode, 99.99% Cu, 30 bundles", PlaceOfIssue: "Qingdao",
		StorageUntil: now + 365*86400, ValidUntil: now + 180*86400, StorageAgreementDate: now - 86400,
		StorageTermsRef: "QBMW-ST-2026-01", ThirdPartyClaims: "none known",
		Fees: receipt.FeeTerms{Currency: "CNY", MinorPerTonnePerDay: 150, Terms: "monthly in arrears"},
	}
	if err := s.do(ctx, "issue "+r1, []string{ledger.Operator}, issue); err != nil {
		return err
	}

	s.say("3. Pledge: %s pledges it to %s, which confirms on the version it checked", ledger.TraderA, ledger.BankA)
	rc, err := s.Driver.Receipt(ctx, r1)
	if err != nil {
		return err
	}
	pl := id("PL")
	if err := s.do(ctx, "request pledge "+pl, []string{ledger.TraderA}, &receipt.RequestPledge{Pledge: pl, Receipt: r1, Version: rc.Version, Bank: ledger.BankA, Maturity: now + 90*86400}); err != nil {
		return err
	}
	if rc, err = s.Driver.Receipt(ctx, r1); err != nil {
		return err
	}
	if err := s.do(ctx, "confirm pledge "+pl, []string{ledger.BankA}, &receipt.ConfirmPledge{Pledge: pl, ReceiptVersion: rc.Version}); err != nil {
		return err
	}
	if rc, err = s.Driver.Receipt(ctx, r1); err != nil {
		return err
	}
	s.say("     %s is %s, pledge %s", r1, rc.State, rc.Pledge)

	s.say("4. Double pledge: %s tries to pledge the same receipt to %s as well", ledger.TraderA, ledger.BankB)
	err = s.Driver.Submit(ctx, []string{ledger.TraderA}, &receipt.RequestPledge{Pledge: id("PL-DUP"), Receipt: r1, Version: rc.Version, Bank: ledger.BankB, Maturity: now + 90*86400})
	re, typed := receipt.AsError(err)
	if !typed || !errors.Is(err, receipt.ErrAlreadyPledged) {
		return fmt.Errorf("double pledge was not refused as %q: %v", receipt.ErrAlreadyPledged.Msg, err)
	}
	s.say("  ✗ refused: %v (rule %s, code %d)", err, re.Name, re.Code)

	s.say("5. Release: the loan is repaid and %s releases the pledge", ledger.BankA)
	if err := s.do(ctx, "release pledge "+pl, []string{ledger.BankA}, &receipt.ReleasePledge{Pledge: pl}); err != nil {
		return err
	}

	s.say("6. Transfer: %s sells to %s (two-phase: offer, then acceptance)", ledger.TraderA, ledger.TraderB)
	if rc, err = s.Driver.Receipt(ctx, r1); err != nil {
		return err
	}
	if err := s.do(ctx, "initiate transfer to "+ledger.TraderB, []string{ledger.TraderA}, &receipt.InitiateTransfer{Receipt: r1, Version: rc.Version, To: ledger.TraderB, Deadline: now + 2*86400}); err != nil {
		return err
	}
	if rc, err = s.Driver.Receipt(ctx, r1); err != nil {
		return err
	}
	if err := s.do(ctx, "accept transfer", []string{ledger.TraderB}, &receipt.AcceptTransfer{Receipt: r1, Version: rc.Version}); err != nil {
		return err
	}
	if rc, err = s.Driver.Receipt(ctx, r1); err != nil {
		return err
	}
	s.say("     holder is now %s", rc.Holder)

	s.say("7. Split: %s splits 75,000 kg into 50,000 + 25,000 kg", ledger.TraderB)
	a, b := id("WR-A"), id("WR-B")
	if err := s.do(ctx, "split into "+a+" and "+b, []string{ledger.TraderB}, &receipt.Split{Receipt: r1, Version: rc.Version,
		Parts: []receipt.Part{{ID: a, Quantity: 50_000}, {ID: b, Quantity: 25_000}}}); err != nil {
		return err
	}
	if rc, err = s.Driver.Receipt(ctx, r1); err != nil {
		return err
	}
	s.say("     %s is %s, children %v", r1, rc.State, rc.Children)

	s.say("8. Partial delivery: 20,000 kg of %s loaded out against a release order", a)
	ra, err := s.Driver.Receipt(ctx, a)
	if err != nil {
		return err
	}
	if err := s.do(ctx, "request delivery of 20,000 kg", []string{ledger.TraderB}, &warehouse.RequestDelivery{Receipt: a, Version: ra.Version, Quantity: 20_000}); err != nil {
		return err
	}
	ro := warehouse.ReleaseOrderID(a, 1)
	out := w.Ticket(ledger.Weighbridge1, "OUT-"+tag+"-1", warehouse.Out, 35_010, 15_010, ro, now)
	s.say("     out-ticket %s references %s: net %d kg", out.Ticket.Number, ro, out.Ticket.Net)
	devs := newScenarioDevices(w, "lc-"+tag, now)
	closing, err := devs.closing(ctx, s.Driver, lot, out.Ticket.Net)
	if err != nil {
		return err
	}
	if err := s.do(ctx, "confirm delivery with the out-ticket and the bay scale's reading", []string{ledger.Operator},
		&warehouse.ConfirmDelivery{ReleaseOrder: ro, Tickets: []warehouse.SignedTicket{out}, Closing: closing}); err != nil {
		return err
	}
	if ra, err = s.Driver.Receipt(ctx, a); err != nil {
		return err
	}
	s.say("     %s now holds %d kg (%s), %d kg delivered", a, ra.Quantity, ra.State, ra.Delivered)

	s.say("9. Cancellation: the remaining 30,000 kg of %s delivered in two trucks; the receipt is cancelled", a)
	if err := s.do(ctx, "request delivery of the rest", []string{ledger.TraderB}, &warehouse.RequestDelivery{Receipt: a, Version: ra.Version, Quantity: ra.Quantity}); err != nil {
		return err
	}
	ro = warehouse.ReleaseOrderID(a, 2)
	outs := []warehouse.SignedTicket{
		w.Ticket(ledger.Weighbridge1, "OUT-"+tag+"-2", warehouse.Out, 30_020, 15_020, ro, now),
		w.Ticket(ledger.Weighbridge1, "OUT-"+tag+"-3", warehouse.Out, 30_000, 15_000, ro, now),
	}
	if closing, err = devs.closing(ctx, s.Driver, lot, outs[0].Ticket.Net+outs[1].Ticket.Net); err != nil {
		return err
	}
	if err := s.do(ctx, "confirm delivery with two out-tickets", []string{ledger.Operator},
		&warehouse.ConfirmDelivery{ReleaseOrder: ro, Tickets: outs, Closing: closing}); err != nil {
		return err
	}
	if ra, err = s.Driver.Receipt(ctx, a); err != nil {
		return err
	}
	if l, err = s.Driver.Lot(ctx, lot); err != nil {
		return err
	}
	s.say("     %s is %s; lot %s locks %d kg behind %d kg of live receipts %v", a, ra.State, lot, l.LockedQty, l.IssuedQty, l.Live)
	if ra.State != receipt.StateCancelled {
		return fmt.Errorf("%s should be cancelled, is %s", a, ra.State)
	}
	return nil
}
