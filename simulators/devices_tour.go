package simulators

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// IoTTour runs every iot op through a Driver, with readings signed by the
// world's device keys: rules, a baseline, a monitoring gap and the return
// to health, a theft proven by a bay scale's reading (the lot's receipt
// frozen, a pledge request on it refused), the re-count that clears it,
// and an anchor.
type IoTTour struct {
	Driver Driver
	World  *ledger.World
	Out    io.Writer
	Tag    string
	Bay    string // a free bay of warehouse 1
}

// Run runs the tour; any step that should succeed and fails is an error.
func (s *IoTTour) Run(ctx context.Context) error {
	d, w, tag := s.Driver, s.World, s.Tag
	id := func(p string) string { return p + "-" + tag }
	step := stepper(ctx, d, s.Out, "iot tour", 40)
	n := ledger.DemoBays
	idx := -1
	for i, b := range n {
		if b == s.Bay {
			idx = i
		}
	}
	if idx < 0 {
		return fmt.Errorf("iot tour: bay %s has no demo devices", s.Bay)
	}
	devOf := func(kind string) string { return ledger.Warehouse1 + "-" + kind + "-0" + strconv.Itoa(idx+1) }
	start, err := d.Now(ctx)
	if err != nil {
		return err
	}
	devs := newScenarioDevices(w, id("tour"), start)
	// Readings are taken now: block time, as the devices' clocks keep it.
	nowMs := func(plus int64) int64 {
		t, err := d.Now(ctx)
		if err != nil {
			t = start
		}
		return t*1000 + plus
	}
	sign := devs.sign
	weight := func(ms int64, kg uint64) iot.SignedReading {
		return sign(devOf("LC"), ms, iot.Reading{Weight: &iot.BayWeight{Qty: kg, Unit: "kg", Stable: true}})
	}

	if err := step("set the supervision rules", []string{ledger.Admin1, ledger.Admin2}, &iot.SetRules{Rules: iot.DefaultRules()}); err != nil {
		return err
	}
	now, err := d.Now(ctx)
	if err != nil {
		return err
	}
	lot := id("ILOT")
	stock := &warehouse.RegisterStock{Lot: lot, Warehouse: ledger.Warehouse1, Bay: s.Bay, Commodity: "nickel cathode", Grade: "LME", Unit: "kg", Tolerance: 200}
	for i := range 2 {
		stock.Tickets = append(stock.Tickets, w.Ticket(ledger.Weighbridge1, fmt.Sprintf("IIN-%s-%d", tag, i), warehouse.In, 40_000, 15_000, "", now))
	}
	if err := step("register a lot", []string{ledger.Operator, ledger.Inspector}, stock); err != nil {
		return err
	}
	l, err := d.Lot(ctx, lot)
	if err != nil {
		return err
	}
	// The bay holds its tare and the 50 t: the scale reads about that.
	expects := l.Expected
	if err := step("baseline from the bay scale", []string{ledger.Inspector}, &iot.SetBaseline{Lot: lot, Reading: weight(nowMs(500), expects+30)}); err != nil {
		return err
	}
	rid := id("IR")
	if err := step("issue a receipt", []string{ledger.Operator}, &warehouse.IssueReceipt{
		ID: rid, Lot: lot, Depositor: ledger.TraderA, Negotiable: true, Quantity: 50_000, Description: "nickel cathode",
		PlaceOfIssue: "Qingdao", StorageUntil: now + 365*86400, ValidUntil: now + 180*86400, StorageAgreementDate: now - 86400,
		StorageTermsRef: "QBMW-ST-2026-01", ThirdPartyClaims: "none known", Fees: receipt.FeeTerms{Currency: "CNY", MinorPerTonnePerDay: 150},
	}); err != nil {
		return err
	}
	cam := devOf("CAM")
	at := nowMs(0)
	if err := step("camera silent: lot unverified", []string{ledger.Inspector}, &iot.Gap{Lot: lot, Device: cam, LastSeenMs: at - 200_000, AtMs: at}); err != nil {
		return err
	}
	back := []iot.SignedReading{sign(cam, nowMs(500), iot.Reading{Heartbeat: &iot.Heartbeat{BatteryPermille: 900}}), weight(nowMs(600), expects+20)}
	if err := step("camera back, weight in tolerance", []string{ledger.Inspector}, &iot.Verified{Lot: lot, Evidence: back}); err != nil {
		return err
	}
	theft := weight(nowMs(500), expects-3_000)
	if err := step("a theft: 3 t gone, receipts frozen", []string{ledger.Inspector}, &iot.Breach{Lot: lot, Kind: iot.AlertStep, Evidence: []iot.SignedReading{theft}}); err != nil {
		return err
	}
	r, err := d.Receipt(ctx, rid)
	if err != nil {
		return err
	}
	if r.State != receipt.StateFrozen {
		return fmt.Errorf("iot tour: %s is %s after the theft, want FROZEN", rid, r.State)
	}
	if err := d.Submit(ctx, []string{ledger.TraderA}, &receipt.RequestPledge{Pledge: id("IPL"), Receipt: rid, Version: r.Version, Bank: ledger.BankA, Maturity: now + 30*86400}); err == nil {
		return fmt.Errorf("iot tour: a pledge on a breach-frozen receipt was accepted")
	} else if s.Out != nil {
		fmt.Fprintf(s.Out, "  ✗ %-40s %v\n", "pledge request refused", err)
	}
	if err := step("re-count with the regulator", []string{ledger.Inspector, ledger.Regulator}, &iot.Recount{Lot: lot, Counted: 50_000,
		Baseline: weight(nowMs(500), expects+10), Note: "stack re-tallied: bundles had been moved to the next row"}); err != nil {
		return err
	}
	root := iot.MerkleRoot([][32]byte{iot.LeafHash(1, theft.Sig[:])})
	return step("anchor a batch of readings", []string{ledger.Inspector}, &iot.AnchorBatch{Warehouse: ledger.Warehouse1, Stream: id("TOUR"), FirstSeq: 1, LastSeq: 1, Count: 1, Root: root})
}
