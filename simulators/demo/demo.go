// Package demo is the scripted story `ewr demo` tells through the HTTP
// API, and that the end-to-end test replays against a real local
// consortium: trucks weighed in, the lot locked, a receipt issued, pledged
// to a bank, a price drop and a margin call, repayment and release, a
// split, the DvP sale of one part, the partial delivery of the other, and
// a simulated theft in another bay that freezes its receipt and stops a
// pledge. Every participant acts with its own token; ops that need two
// signers go through drafts the co-signer approves.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/apiclient"
	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
	"github.com/ewrchain/ewr/warehouse"
)

// Config is where the story runs and who plays it.
type Config struct {
	API    string            // base URL of the API
	Tokens map[string]string // participant → bearer token
	// World holds the demo devices' keys: the story plays the weighbridge
	// too, signing the weigh tickets as it would.
	World *ledger.World
	Out   io.Writer
	// Tag makes the story's ids unique, so it can run again on the same
	// chain (a run counter, a timestamp).
	Tag string
	// TheftTimeout bounds the wait for the supervision to freeze the
	// receipt after the theft (default 90 s); LoadOutTimeout the wait for
	// the simulated warehouse to load a release order out (default 90 s).
	TheftTimeout, LoadOutTimeout time.Duration
}

// Result names what the story made.
type Result struct {
	Warehouse, Bay, TheftBay   string
	Lot, Receipt, PartA, PartB string
	Pledge, Loan, Offer        string
	DoublePledge               *apiclient.Problem // the second pledge, refused
	TheftLot, TheftReceipt     string
	TheftPledge                string
	// TheftSkipped says the node has no device simulator (IoT supervision
	// not wired), so the last step did not run.
	TheftSkipped bool
	TheftRefusal *apiclient.Problem // the stopped pledge
}

// Participants of the story (the warehouse's operator and collateral
// manager are the chosen warehouse's).
const (
	alice  = ledger.TraderA
	beta   = ledger.TraderB
	bankA  = ledger.BankA
	bankB  = ledger.BankB
	oracle = ledger.Oracle
)

const (
	commodity = "copper cathode"
	usd       = "USD"
	day       = 86400
)

type story struct {
	cfg Config
	c   *apiclient.Client
	res Result
	now int64
	wo  string // the warehouse's operator
	wb  string // its weighbridge
	// sim says the node simulates the warehouse's devices: the trucks are
	// weighed and loaded out there, and the bay scales report for real.
	// Without it the story signs as the weighbridge and the bay scale.
	sim    bool
	scales map[string]string // bay → its bay scale
	seq    uint64            // the story's own bay-scale readings
}

func (s *story) as(p string) *apiclient.Client { return s.c.As(s.cfg.Tokens[p]) }

func (s *story) say(format string, args ...any) { fmt.Fprintf(s.cfg.Out, format+"\n", args...) }

func (s *story) id(p string) string { return p + "-" + s.cfg.Tag }

// act posts an action as participant p and returns the committed result;
// a draft is approved by each co-signer with its own token.
func (s *story) act(ctx context.Context, p, path string, body any, what string) (*apiclient.Result, error) {
	var res apiclient.Result
	if err := s.as(p).Post(ctx, path, body, &res); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if res.Status == api.StatusAwaitingSignatures {
		d := res.Draft
		s.say("     … %s signed by %s; draft %s awaits %s", res.OpType, p, d.ID, strings.Join(d.Awaiting, ", "))
		for _, co := range d.Awaiting {
			res = apiclient.Result{}
			if err := s.as(co).Post(ctx, "/v1/drafts/"+d.ID+"/approve", nil, &res); err != nil {
				return nil, fmt.Errorf("%s: %s approving: %w", what, co, err)
			}
			s.say("     … %s approves with its own token", co)
		}
	}
	if res.Status != api.StatusCommitted {
		return nil, fmt.Errorf("%s: %s, not committed (tx %s)", what, res.Status, res.TxHash)
	}
	s.say("  ✓ %-46s %s by %s, block %d", what, res.OpType, p, res.Height)
	return &res, nil
}

// refused posts an action that must be refused, and returns the refusal.
func (s *story) refused(ctx context.Context, p, path string, body any) (*apiclient.Problem, error) {
	err := s.as(p).Post(ctx, path, body, nil)
	if err == nil {
		return nil, fmt.Errorf("%s %s was accepted; it should have been refused", p, path)
	}
	prob, ok := apiclient.AsProblem(err)
	if !ok {
		return nil, err
	}
	return prob, nil
}

// version is the receipt's version now, read before acting on it as any
// client does: the action names it, and is refused if the receipt moved.
// A receipt that cannot be read gives 0, which the rules refuse.
func (s *story) version(ctx context.Context, id string) uint64 {
	r, err := s.receipt(ctx, id)
	if err != nil {
		return 0
	}
	return r.Version
}

// loanVersion is the story's loan's version now, as the bank reads it
// before it records money moved (0, which the rules refuse, if unreadable).
func (s *story) loanVersion(ctx context.Context) uint64 {
	var l financing.Loan
	if err := s.c.Get(ctx, "/v1/loans/"+s.res.Loan, &l); err != nil {
		return 0
	}
	return l.Version
}

func (s *story) receipt(ctx context.Context, id string) (*receipt.Receipt, error) {
	var r receipt.Receipt
	return &r, s.c.Get(ctx, "/v1/receipts/"+id, &r)
}

func (s *story) ticket(number string, dir warehouse.Direction, gross, tare uint64, ro string) warehouse.SignedTicket {
	return s.cfg.World.Ticket(s.wb, number, dir, gross, tare, ro, s.now)
}

// Run tells the story. Any step that should succeed and fails, or that
// should be refused and is not, is an error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.TheftTimeout == 0 {
		cfg.TheftTimeout = 90 * time.Second
	}
	if cfg.LoadOutTimeout == 0 {
		cfg.LoadOutTimeout = 90 * time.Second
	}
	for _, p := range []string{alice, beta, bankA, bankB, oracle, ledger.Regulator} {
		if cfg.Tokens[p] == "" {
			return nil, fmt.Errorf("demo: no token for %s", p)
		}
	}
	s := &story{cfg: cfg, c: apiclient.New(cfg.API, cfg.Tokens[ledger.Regulator]), scales: map[string]string{}}
	err := s.run(ctx)
	return &s.res, err
}

func (s *story) run(ctx context.Context) error {
	var st api.StatusView
	if err := s.c.Get(ctx, "/v1/status", &st); err != nil {
		return fmt.Errorf("demo: the API at %s: %w", s.cfg.API, err)
	}
	s.now = st.Now
	s.say("ewr demo %s — chain %s at height %d, API %s", s.cfg.Tag, st.ChainID, st.Height, s.cfg.API)
	if err := s.chooseBays(ctx); err != nil {
		return err
	}
	for _, step := range []func(context.Context) error{
		s.intake, s.issue, s.pledge, s.loan, s.marginCall, s.repay, s.split, s.sell, s.deliver, s.theft,
	} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	s.say("\nThe story is told. Everything it made is on chain: try")
	s.say("  curl -H \"Authorization: Bearer $TOKEN\" %s/v1/receipts/%s", s.cfg.API, s.res.PartB)
	s.say("  curl -H \"Authorization: Bearer $TOKEN\" %s/v1/receipts/%s/history", s.cfg.API, s.res.Receipt)
	s.say("  ewr receipt proof %s --as %s > wr.proof.json && ewr verify wr.proof.json", s.res.PartA, beta)
	return nil
}

// chooseBays picks the warehouse and the two bays the story uses: free
// bays (a bay frees up only when its lot has been delivered in full) with
// devices, so the supervision watches them, in the first warehouse that
// has two. When none has, it adds two bays to the first warehouse: the
// story then runs without a supervised bay for the theft.
func (s *story) chooseBays(ctx context.Context) error {
	var whs struct {
		Items []warehouse.Warehouse `json:"items"`
		Next  string                `json:"next,omitempty"`
	}
	if err := s.c.Get(ctx, "/v1/warehouses", &whs); err != nil {
		return err
	}
	if len(whs.Items) == 0 {
		return errors.New("demo: the consortium has no warehouse")
	}
	type devList struct {
		Items []warehouse.Device `json:"items"`
		Next  string             `json:"next,omitempty"`
	}
	use := func(w warehouse.Warehouse, bays []string) error {
		s.res.Warehouse, s.wo = w.ID, w.Operator
		var devs devList
		if err := s.c.Get(ctx, "/v1/devices?limit=1000&warehouse="+w.ID, &devs); err != nil {
			return err
		}
		for _, d := range devs.Items {
			if d.Type == warehouse.Weighbridge && d.Status == warehouse.Active && s.cfg.World.Devices[d.ID] != nil {
				s.wb = d.ID
			}
		}
		if s.wb == "" {
			return fmt.Errorf("demo: warehouse %s has no weighbridge whose key the demo holds", w.ID)
		}
		if s.cfg.Tokens[w.Operator] == "" || s.cfg.Tokens[w.CollateralManager] == "" {
			return fmt.Errorf("demo: no tokens for %s's operator and collateral manager", w.ID)
		}
		s.res.Bay, s.res.TheftBay = bays[0], bays[1]
		return nil
	}
	for _, w := range whs.Items {
		var bays struct {
			Items []warehouse.Bay `json:"items"`
			Next  string          `json:"next,omitempty"`
		}
		if err := s.c.Get(ctx, "/v1/warehouses/"+w.ID+"/bays?free=true&limit=1000", &bays); err != nil {
			return err
		}
		var supervised []string
		for _, b := range bays.Items {
			var devs devList
			if err := s.c.Get(ctx, "/v1/devices?warehouse="+w.ID+"&bay="+b.ID, &devs); err != nil {
				return err
			}
			for _, d := range devs.Items {
				if d.Type == warehouse.BayScale && d.Status == warehouse.Active {
					supervised = append(supervised, b.ID)
					s.scales[b.ID] = d.ID
					break
				}
			}
		}
		if len(supervised) >= 2 {
			return use(w, supervised)
		}
	}
	w := whs.Items[0]
	s.say("(every supervised bay holds a lot: adding two bays to %s; the theft has no sensor to see it there)", w.ID)
	var added []string
	for i := 1; i <= 2; i++ {
		bay := fmt.Sprintf("BAY-%s-%d", s.cfg.Tag, i)
		if _, err := s.act(ctx, w.Operator, "/v1/warehouses/"+w.ID+"/bays", api.BayRequest{Bay: bay}, "add bay "+bay); err != nil {
			return err
		}
		added = append(added, bay)
	}
	return use(w, added)
}

// weighIn is the in-tickets of trucks carrying nets kg onto a bay: from
// the simulated warehouse's weighbridge, whose trucks' goods then weigh on
// the bay's scale, or signed by the story as the weighbridge.
func (s *story) weighIn(ctx context.Context, bay, tag string, nets ...uint64) ([]warehouse.SignedTicket, error) {
	var in api.IntakeResult
	err := s.as(s.wo).Post(ctx, "/v1/simulator/intake", api.IntakeRequest{Warehouse: s.res.Warehouse, Bay: bay, NetsKg: nets}, &in)
	if p, ok := apiclient.AsProblem(err); ok && p.Name() == api.PSimulatorDisabled.Name {
		s.sim = false
		var ts []warehouse.SignedTicket
		for i, n := range nets {
			ts = append(ts, s.ticket(fmt.Sprintf("IN-%s-%s%d", s.cfg.Tag, tag, i+1), warehouse.In, n+15_020, 15_020, ""))
		}
		return ts, nil
	}
	if err != nil {
		return nil, fmt.Errorf("weigh in: %w", err)
	}
	s.sim = true
	return in.Tickets, nil
}

func (s *story) intake(ctx context.Context) error {
	s.res.Lot = s.id("LOT")
	s.say("\n1. Intake: three trucks of copper cathode weighed in at %s, bay %s", s.res.Warehouse, s.res.Bay)
	op := warehouse.RegisterStock{Lot: s.res.Lot, Warehouse: s.res.Warehouse, Bay: s.res.Bay, Commodity: commodity,
		Grade: "LME Grade A", Unit: "kg", Tolerance: 150}
	// The trucks carry a little over the 75,000 kg the receipt will name:
	// the weighbridge's error must not leave the lot short of it.
	ts, err := s.weighIn(ctx, s.res.Bay, "", 25_050, 25_040, 25_060)
	if err != nil {
		return err
	}
	for _, t := range ts {
		op.Tickets = append(op.Tickets, t)
		s.say("     weighbridge %s: ticket %s, truck %s, gross %d kg, tare %d kg, net %d kg (signed)",
			t.Ticket.Device, t.Ticket.Number, t.Ticket.Plate, t.Ticket.Gross, t.Ticket.Tare, t.Ticket.Net)
	}
	res, err := s.act(ctx, s.wo, "/v1/lots", op, "register and lock lot "+s.res.Lot)
	if err != nil {
		return err
	}
	var lot warehouse.Lot
	if err := apiclient.Resource(res, &lot); err != nil {
		return err
	}
	s.say("     lot %s %s: %d kg in %s, the bay scale expected at %d kg (tare included), supervision %s",
		lot.ID, lot.Status, lot.LockedQty, lot.Bay, lot.Expected, lot.Health)
	return nil
}

func (s *story) issue(ctx context.Context) error {
	s.res.Receipt = s.id("WR")
	s.say("\n2. Issue: a negotiable receipt for 75,000 kg to %s", alice)
	_, err := s.act(ctx, s.wo, "/v1/receipts", warehouse.IssueReceipt{
		ID: s.res.Receipt, Lot: s.res.Lot, Depositor: alice, Negotiable: true, Quantity: 75_000,
		Description: "copper cathode, 99.99% Cu, 30 bundles", PlaceOfIssue: "Qingdao",
		StorageUntil: s.now + 365*day, ValidUntil: s.now + 180*day, StorageAgreementDate: s.now - day,
		StorageTermsRef: "QBMW-ST-2026-01", ThirdPartyClaims: "none known",
		Fees: receipt.FeeTerms{Currency: "CNY", MinorPerTonnePerDay: 150, Terms: "monthly in arrears"},
	}, "issue "+s.res.Receipt)
	return err
}

func (s *story) pledge(ctx context.Context) error {
	s.say("\n3. Pledge: %s pledges the receipt to %s, which confirms on the version it checked", alice, bankA)
	s.res.Pledge = s.id("PL")
	if _, err := s.act(ctx, alice, "/v1/receipts/"+s.res.Receipt+"/pledge",
		api.PledgeRequest{Pledge: s.res.Pledge, Version: s.version(ctx, s.res.Receipt), Bank: bankA, Maturity: s.now + 90*day}, "request pledge "+s.res.Pledge); err != nil {
		return err
	}
	if _, err := s.act(ctx, bankA, "/v1/pledges/"+s.res.Pledge+"/confirm", api.ConfirmPledgeRequest{ReceiptVersion: s.version(ctx, s.res.Receipt)}, "confirm pledge "+s.res.Pledge); err != nil {
		return err
	}
	s.say("     %s tries to pledge the same receipt to %s as well:", alice, bankB)
	p, err := s.refused(ctx, alice, "/v1/receipts/"+s.res.Receipt+"/pledge", api.PledgeRequest{Pledge: s.id("PL-DUP"), Version: s.version(ctx, s.res.Receipt), Bank: bankB, Maturity: s.now + 90*day})
	if err != nil {
		return err
	}
	if p.Rule != receipt.ErrAlreadyPledged.Name {
		return fmt.Errorf("double pledge refused as %s, want %s", p.Type, receipt.ErrAlreadyPledged.Name)
	}
	s.res.DoublePledge = p
	s.say("  ✗ refused, HTTP %d %s: %s", p.Status, p.Type, p.Detail)
	return nil
}

func (s *story) loan(ctx context.Context) error {
	s.say("\n4. Loan: %s lends USD 400,000 against it (copper at USD 8,000/t, haircut 10%%, LTV 74%%)", bankA)
	if _, err := s.act(ctx, bankA, "/v1/credit-policies", financing.SetCreditPolicy{Commodity: commodity, HaircutBps: 1_000,
		InitialLTVBps: 7_500, MaintenanceLTVBps: 8_500, MarginCallGraceSec: 7 * day}, "bank-a's copper credit policy"); err != nil {
		return err
	}
	if _, err := s.act(ctx, oracle, "/v1/prices", financing.PostPrice{Commodity: commodity, Currency: usd, MinorPerTonne: 800_000},
		"oracle: copper at USD 8,000/t"); err != nil {
		return err
	}
	s.res.Loan = s.id("LN")
	if _, err := s.act(ctx, bankA, "/v1/loans", financing.OpenLoan{Loan: s.res.Loan, Borrower: alice, Pledges: []string{s.res.Pledge},
		Currency: usd, Principal: 40_000_000, Maturity: s.now + 60*day}, "open loan "+s.res.Loan+" (the borrower co-signs)"); err != nil {
		return err
	}
	_, err := s.act(ctx, bankA, "/v1/loans/"+s.res.Loan+"/disburse", api.AmountRequest{Amount: 40_000_000, Ref: "MT103-" + s.cfg.Tag, Version: s.loanVersion(ctx)}, "disburse USD 400,000")
	return err
}

func (s *story) marginCall(ctx context.Context) error {
	s.say("\n5. Price drop: the oracle posts USD 6,000/t; the loan is marked to it")
	if _, err := s.act(ctx, oracle, "/v1/prices", financing.PostPrice{Commodity: commodity, Currency: usd, MinorPerTonne: 600_000},
		"oracle: copper at USD 6,000/t"); err != nil {
		return err
	}
	var l financing.Loan
	if err := s.c.Get(ctx, "/v1/loans/"+s.res.Loan, &l); err != nil {
		return err
	}
	if l.Call == nil {
		return fmt.Errorf("no margin call on %s after the price drop", l.ID)
	}
	s.say("  ! margin call on %s: LTV %.1f%% > maintenance %.1f%%; %s must repay USD %s by %s",
		l.ID, float64(l.Call.LTVBps)/100, float64(l.Terms.MaintenanceLTVBps)/100, l.Borrower, money(l.Call.ShortfallMinor),
		time.Unix(l.Call.Deadline, 0).UTC().Format(time.DateTime))
	return nil
}

func (s *story) repay(ctx context.Context) error {
	s.say("\n6. Repayment: %s repays the loan in full; %s records it and the pledge is released", alice, bankA)
	if _, err := s.act(ctx, bankA, "/v1/loans/"+s.res.Loan+"/repay", api.AmountRequest{Amount: 40_000_000, Ref: "MT103-R-" + s.cfg.Tag, Version: s.loanVersion(ctx)},
		"record the repayment"); err != nil {
		return err
	}
	r, err := s.receipt(ctx, s.res.Receipt)
	if err != nil {
		return err
	}
	var p receipt.Pledge
	if err := s.c.Get(ctx, "/v1/pledges/"+s.res.Pledge, &p); err != nil {
		return err
	}
	if r.State != receipt.StateIssued || p.Status != receipt.PledgeReleased {
		return fmt.Errorf("after repayment %s is %s and %s is %s", r.ID, r.State, p.ID, p.Status)
	}
	s.say("     %s is %s again; pledge %s %s (%s)", r.ID, r.State, p.ID, p.Status, p.Note)
	return nil
}

func (s *story) split(ctx context.Context) error {
	s.res.PartA, s.res.PartB = s.id("WR-A"), s.id("WR-B")
	s.say("\n7. Split: %s splits the 75,000 kg into %s (50,000 kg) and %s (25,000 kg)", alice, s.res.PartA, s.res.PartB)
	_, err := s.act(ctx, alice, "/v1/receipts/"+s.res.Receipt+"/split", api.SplitRequest{Version: s.version(ctx, s.res.Receipt), Parts: []receipt.Part{
		{ID: s.res.PartA, Quantity: 50_000}, {ID: s.res.PartB, Quantity: 25_000}}}, "split "+s.res.Receipt)
	return err
}

func (s *story) sell(ctx context.Context) error {
	s.res.Offer = s.id("OF")
	s.say("\n8. Sale, delivery versus payment: %s sells %s to %s for USD 300,000", alice, s.res.PartA, beta)
	if _, err := s.act(ctx, alice, "/v1/offers", trading.CreateOffer{Offer: s.res.Offer, Receipt: s.res.PartA, Version: s.version(ctx, s.res.PartA), Buyer: beta,
		PriceMinor: 30_000_000, Currency: usd, Deadline: s.now + 2*day}, "offer "+s.res.PartA+" to "+beta); err != nil {
		return err
	}
	if _, err := s.act(ctx, beta, "/v1/offers/"+s.res.Offer+"/accept", api.AcceptOfferRequest{BuyerBank: bankB},
		"accept; funds at "+bankB); err != nil {
		return err
	}
	if _, err := s.act(ctx, bankB, "/v1/trades/"+s.res.Offer+"/fund", api.FundRequest{AmountMinor: 30_000_000, Currency: usd,
		EscrowRef: "ESC-" + s.cfg.Tag}, bankB+" holds USD 300,000 in escrow"); err != nil {
		return err
	}
	res, err := s.act(ctx, beta, "/v1/trades/"+s.res.Offer+"/settle", api.Empty{}, "settle: receipt and payment in one tx")
	if err != nil {
		return err
	}
	var st trading.Settlement
	if err := apiclient.Resource(res, &st); err != nil {
		return err
	}
	s.say("     %s now holds %s; USD %s paid to %s", st.Buyer, st.Receipt, money(st.ToSellerMinor), st.Seller)
	return nil
}

func (s *story) deliver(ctx context.Context) error {
	s.say("\n9. Partial delivery: %s takes 10,000 kg of %s out of the warehouse", alice, s.res.PartB)
	if _, err := s.act(ctx, alice, "/v1/receipts/"+s.res.PartB+"/deliver", api.DeliverRequest{Version: s.version(ctx, s.res.PartB), Quantity: 10_000}, "request delivery: release order opened"); err != nil {
		return err
	}
	r, err := s.receipt(ctx, s.res.PartB)
	if err != nil {
		return err
	}
	var before warehouse.Lot
	if err := s.c.Get(ctx, "/v1/lots/"+s.res.Lot, &before); err != nil {
		return err
	}
	confirm, err := s.loadOut(ctx, r.ReleaseOrder, &before)
	if err != nil {
		return err
	}
	if _, err := s.act(ctx, s.wo, "/v1/release-orders/"+r.ReleaseOrder+"/confirm", confirm,
		"confirm the delivery: out-tickets and the bay scale's reading"); err != nil {
		return err
	}
	if r, err = s.receipt(ctx, s.res.PartB); err != nil {
		return err
	}
	var lot warehouse.Lot
	if err := s.c.Get(ctx, "/v1/lots/"+s.res.Lot, &lot); err != nil {
		return err
	}
	s.say("     %s now holds %d kg (%s), %d kg delivered; lot %s locks %d kg behind %d kg of receipts",
		r.ID, r.Quantity, r.State, r.Delivered, lot.ID, lot.LockedQty, lot.IssuedQty)
	s.say("     the lock now expects %d kg on the bay scale (was %d kg); supervision %s, no alarm", lot.Expected, before.Expected, lot.Health)
	if lot.Health != warehouse.HealthOK {
		return fmt.Errorf("deliver: lot %s is %s after an honest partial delivery", lot.ID, lot.Health)
	}
	return nil
}

// loadOut loads a release order out of the lot's bay and returns what
// confirms it. In the simulated warehouse the staff load it out as soon as
// the order opens: forklifts, the door, the trucks weighed out, the bay
// scale settling on what is left. Without one the story signs as the
// weighbridge and as the bay scale.
func (s *story) loadOut(ctx context.Context, ro string, lot *warehouse.Lot) (api.TicketsRequest, error) {
	if !s.sim {
		out := s.ticket("OUT-"+s.cfg.Tag+"-1", warehouse.Out, 25_010, 15_010, ro)
		s.say("     weighbridge: out-ticket %s for %s, net %d kg (signed)", out.Ticket.Number, ro, out.Ticket.Net)
		req := api.TicketsRequest{Tickets: []warehouse.SignedTicket{out}}
		if dev := s.scales[lot.Bay]; dev != "" && s.cfg.World.Devices[dev] != nil {
			var st api.StatusView
			if err := s.c.Get(ctx, "/v1/status", &st); err != nil {
				return req, err
			}
			s.seq++
			sr := iot.Sign(iot.Reading{Device: dev, Epoch: uint64(max(st.Now, 1)), Seq: s.seq, TimeMs: st.Now * 1000,
				Event: "demo-" + s.cfg.Tag, Weight: &iot.BayWeight{Qty: lot.Expected - min(out.Ticket.Net, lot.Expected), Unit: lot.Unit, Stable: true}},
				s.cfg.World.Devices[dev].Key)
			req.ClosingReading = &sr
			s.say("     bay scale %s: %d kg after the truck left (signed)", dev, sr.Reading.Weight.Qty)
		}
		return req, nil
	}
	s.say("     the lock expects %d kg on the bay scale; the warehouse's staff load the order out", lot.Expected)
	deadline := time.Now().Add(s.cfg.LoadOutTimeout)
	for {
		var v api.LoadOutView
		err := s.c.Get(ctx, "/v1/simulator/load-outs/"+ro, &v)
		if p, ok := apiclient.AsProblem(err); ok && p.Name() == api.PNotFound.Name {
			err = nil // not seen yet: the staff start when the chain shows the order
		}
		if err != nil {
			return api.TicketsRequest{}, fmt.Errorf("load-out of %s: %w", ro, err)
		}
		if v.Done {
			for _, t := range v.Tickets {
				s.say("     weighbridge %s: out-ticket %s for %s, truck %s, net %d kg (signed)", t.Ticket.Device, t.Ticket.Number, ro, t.Ticket.Plate, t.Ticket.Net)
			}
			w := v.ClosingReading.Reading.Weight
			s.say("     bay scale %s: settled at %d kg after the door closed (signed), down %d kg", v.ClosingReading.Reading.Device, w.Qty, lot.Expected-min(w.Qty, lot.Expected))
			return api.TicketsRequest{Tickets: v.Tickets, ClosingReading: v.ClosingReading}, nil
		}
		if time.Now().After(deadline) {
			return api.TicketsRequest{}, fmt.Errorf("load-out of %s not done after %v", ro, s.cfg.LoadOutTimeout)
		}
		select {
		case <-ctx.Done():
			return api.TicketsRequest{}, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (s *story) theft(ctx context.Context) error {
	s.res.TheftLot, s.res.TheftReceipt, s.res.TheftPledge = s.id("LOT-T"), s.id("WR-T"), s.id("PL-T")
	s.say("\n10. Theft: a second lot in bay %s; %s asks %s for a pledge on its receipt, then goods vanish from the bay",
		s.res.TheftBay, beta, bankB)
	op := warehouse.RegisterStock{Lot: s.res.TheftLot, Warehouse: s.res.Warehouse, Bay: s.res.TheftBay, Commodity: commodity,
		Grade: "LME Grade A", Unit: "kg", Tolerance: 100}
	ts, err := s.weighIn(ctx, s.res.TheftBay, "T", 20_050)
	if err != nil {
		return err
	}
	op.Tickets = ts
	if _, err := s.act(ctx, s.wo, "/v1/lots", op, "register and lock lot "+s.res.TheftLot); err != nil {
		return err
	}
	if _, err := s.act(ctx, s.wo, "/v1/receipts", warehouse.IssueReceipt{
		ID: s.res.TheftReceipt, Lot: s.res.TheftLot, Depositor: beta, Negotiable: true, Quantity: 20_000,
		Description: "copper cathode, 12 bundles", PlaceOfIssue: "Qingdao", StorageUntil: s.now + 365*day, ValidUntil: s.now + 180*day,
		StorageAgreementDate: s.now - day, StorageTermsRef: "QBMW-ST-2026-01", ThirdPartyClaims: "none known",
		Fees: receipt.FeeTerms{Currency: "CNY", MinorPerTonnePerDay: 150},
	}, "issue "+s.res.TheftReceipt+" to "+beta); err != nil {
		return err
	}
	if _, err := s.act(ctx, beta, "/v1/receipts/"+s.res.TheftReceipt+"/pledge",
		api.PledgeRequest{Pledge: s.res.TheftPledge, Version: s.version(ctx, s.res.TheftReceipt), Bank: bankB, Maturity: s.now + 90*day}, "request pledge "+s.res.TheftPledge); err != nil {
		return err
	}
	var fr api.FaultResult
	err = s.as(ledger.Admin1).Post(ctx, "/v1/simulator/faults", api.FaultRequest{Kind: api.FaultTheft, Warehouse: s.res.Warehouse, Bay: s.res.TheftBay}, &fr)
	if p, ok := apiclient.AsProblem(err); ok && p.Name() == api.PSimulatorDisabled.Name {
		s.res.TheftSkipped = true
		s.say("  ⚠ SKIPPED: this node runs no device simulator or IoT supervision yet, so no sensor can see the theft.")
		s.say("    (With them, the bay's load cell drops, the supervisor proves the breach on chain, %s is frozen", s.res.TheftReceipt)
		s.say("     and %s's confirmation of %s is refused.)", bankB, s.res.TheftPledge)
		return nil
	}
	if err != nil {
		return fmt.Errorf("theft: %w", err)
	}
	s.say("  ! simulated theft in %s/%s: %s", fr.Warehouse, fr.Bay, fr.Detail)
	deadline := time.Now().Add(s.cfg.TheftTimeout)
	for {
		r, err := s.receipt(ctx, s.res.TheftReceipt)
		if err != nil {
			return err
		}
		if r.State == receipt.StateFrozen {
			s.say("  ! the supervision proved the breach on chain: %s FROZEN (%s)", r.ID, r.Frozen.Reason)
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("theft: %s still %s after %v", r.ID, r.State, s.cfg.TheftTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	p, err := s.refused(ctx, bankB, "/v1/pledges/"+s.res.TheftPledge+"/confirm", api.ConfirmPledgeRequest{ReceiptVersion: s.version(ctx, s.res.TheftReceipt)})
	if err != nil {
		return err
	}
	s.res.TheftRefusal = p
	s.say("  ✗ %s's confirmation of %s refused, HTTP %d %s: %s", bankB, s.res.TheftPledge, p.Status, p.Type, p.Detail)
	return nil
}

// money formats minor units of USD.
func money(minor uint64) string {
	return fmt.Sprintf("%d.%02d", minor/100, minor%100)
}

// ErrIncomplete is returned by Check when the story's end state is not
// what it should be.
var ErrIncomplete = errors.New("demo: end state differs")

// Check reads back what the story should have left on chain.
func Check(ctx context.Context, c *apiclient.Client, res *Result) error {
	var fails []string
	want := func(id string, state receipt.State, holder string, qty uint64) {
		var r receipt.Receipt
		if err := c.Get(ctx, "/v1/receipts/"+id, &r); err != nil {
			fails = append(fails, err.Error())
			return
		}
		if r.State != state || (holder != "" && r.Holder != holder) || (qty != 0 && r.Quantity != qty) {
			fails = append(fails, fmt.Sprintf("%s is %s held by %s, %d kg; want %s, %s, %d", id, r.State, r.Holder, r.Quantity, state, holder, qty))
		}
	}
	want(res.Receipt, receipt.StateSuperseded, alice, 75_000)
	want(res.PartA, receipt.StateIssued, beta, 50_000)
	want(res.PartB, receipt.StateIssued, alice, 15_000)
	if !res.TheftSkipped {
		want(res.TheftReceipt, receipt.StateFrozen, beta, 20_000)
	}
	// The honest lot's supervision never alarmed: not at its intake, not
	// through its load-out, not after.
	var alerts struct {
		Items []iot.Alert `json:"items"`
	}
	if err := c.Get(ctx, "/v1/alerts?lot="+res.Lot, &alerts); err != nil || len(alerts.Items) > 0 {
		fails = append(fails, fmt.Sprintf("alerts on the honest lot %s: %v %+v", res.Lot, err, alerts.Items))
	}
	var l financing.Loan
	if err := c.Get(ctx, "/v1/loans/"+res.Loan, &l); err != nil || l.Status != financing.LoanRepaid {
		fails = append(fails, fmt.Sprintf("loan %s: %v %s", res.Loan, err, l.Status))
	}
	var lin indexer.Lineage
	if err := c.Get(ctx, "/v1/receipts/"+res.Receipt+"/lineage", &lin); err != nil || len(lin.Descendants) != 2 {
		fails = append(fails, fmt.Sprintf("lineage of %s: %v %+v", res.Receipt, err, lin.Descendants))
	}
	if len(fails) > 0 {
		return fmt.Errorf("%w: %s", ErrIncomplete, strings.Join(fails, "; "))
	}
	return nil
}
