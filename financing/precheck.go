package financing

import (
	"fmt"

	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// PrecheckRequest names what a bank is about to lend against.
type PrecheckRequest struct {
	Receipt  string
	Borrower string
	Bank     string
	Currency string
	Maturity int64
}

// Check is one named pre-lending check.
type Check struct {
	Name   string
	OK     bool
	Detail string
}

// Names of the pre-lending checks, in the order a Report lists them.
const (
	CheckParticipants     = "participants"
	CheckReceiptLive      = "receipt_live"
	CheckNotFrozen        = "not_frozen"
	CheckNotExpired       = "not_expired"
	CheckBorrowerIsHolder = "borrower_is_holder"
	CheckNoOtherPledge    = "no_other_pledge"
	CheckNotInDealing     = "not_in_transfer_or_redemption"
	CheckWarehouseActive  = "warehouse_active"
	CheckLotLocked        = "lot_locked"
	CheckLotHealthy       = "lot_healthy"
	CheckValidityCovers   = "validity_covers_maturity"
	CheckPriceExists      = "price_exists"
	CheckCreditPolicy     = "credit_policy"
)

// Report is the answer to "may this bank lend against this receipt?": every
// check with its outcome, what the collateral is worth at the bank's
// policy, and the state keys read, so the chain can attach a proof of each
// (inclusion, or absence for a missing price) to the report: the bank then
// checks it without trusting the node that answered.
type Report struct {
	PrecheckRequest
	At     int64 // block time the report is for
	Height int64
	OK     bool // every check passed
	Checks []Check

	Commodity          string
	Quantity           uint64
	Unit               string
	PriceMinorPerTonne uint64
	PriceAt            int64
	ValueMinor         uint64 // lending value at the bank's haircut (0 without a policy or price)
	MaxPrincipalMinor  uint64 // the most the bank's initial LTV allows against it
	Keys               []string
}

// Failed lists the names of the checks that did not pass.
func (r Report) Failed() []string {
	var out []string
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c.Name)
		}
	}
	return out
}

// keyLog records the keys a Precheck reads, present or not.
type keyLog struct {
	receipt.Store
	keys []string
}

func (k *keyLog) Get(key string) ([]byte, bool) {
	for _, seen := range k.keys {
		if seen == key {
			return k.Store.Get(key)
		}
	}
	k.keys = append(k.keys, key)
	return k.Store.Get(key)
}

// Precheck runs, in one call, what a bank checks before lending against a
// receipt (DOMAIN.md): the receipt is live, neither frozen nor expired; the
// borrower holds it; no other pledge is pending or active on it (a pledge
// of the borrower's to this same bank that secures no loan yet is fine);
// it is not in a transfer or redemption; its warehouse is in good
// standing; its lot is locked and healthy (no open alarm, no monitoring
// gap); its validity covers the maturity; a price exists in the currency
// (fresh enough for the bank's policy); the bank has a credit policy for
// the commodity. It is a query: it writes nothing and makes a handful of
// point reads. x gives the state and block time (Store, Block, Stock).
func Precheck(x *receipt.Exec, req PrecheckRequest) (rep Report) {
	log := &keyLog{Store: x.Store}
	rx := &receipt.Exec{Block: x.Block, Store: log, Stock: x.Stock}
	rep = Report{PrecheckRequest: req, At: x.Block.Time, Height: x.Block.Height}
	add := func(name string, ok bool, format string, args ...any) {
		rep.Checks = append(rep.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}
	defer func() {
		rep.OK = len(rep.Failed()) == 0
		rep.Keys = log.keys
	}()

	ok, detail := participantsOK(rx, req)
	add(CheckParticipants, ok, "%s", detail)
	r, err := receipt.LoadReceipt(rx, req.Receipt)
	if err != nil {
		for _, name := range []string{CheckReceiptLive, CheckNotFrozen, CheckNotExpired, CheckBorrowerIsHolder, CheckNoOtherPledge,
			CheckNotInDealing, CheckWarehouseActive, CheckLotLocked, CheckLotHealthy, CheckValidityCovers, CheckPriceExists, CheckCreditPolicy} {
			add(name, false, "receipt %q not found", req.Receipt)
		}
		return rep
	}
	rep.Commodity, rep.Quantity, rep.Unit = r.Commodity, r.Quantity, r.Unit
	now := x.Block.Time
	add(CheckReceiptLive, !r.State.Terminal(), "%s is %s", r.ID, r.State)
	if r.State == receipt.StateFrozen {
		add(CheckNotFrozen, false, "frozen: %s", r.Frozen.Reason)
	} else {
		add(CheckNotFrozen, true, "not frozen")
	}
	add(CheckNotExpired, r.State != receipt.StateExpired && !r.Expired(now), "valid until %d, now %d", r.ValidUntil, now)
	add(CheckBorrowerIsHolder, r.Holder == req.Borrower, "held by %s", r.Holder)
	ok, detail = pledgeOK(rx, r, req)
	add(CheckNoOtherPledge, ok, "%s", detail)
	eff := r.State
	if r.State == receipt.StateFrozen && r.Frozen != nil {
		eff = r.Frozen.Prior
	}
	add(CheckNotInDealing, eff != receipt.StateTransferPending && eff != receipt.StateRedemptionPending, "%s", eff)
	if w, err := warehouse.LoadWarehouse(rx, r.Warehouse); err != nil {
		add(CheckWarehouseActive, false, "%v", err)
	} else {
		add(CheckWarehouseActive, w.Status == warehouse.Active, "%s is %s", w.ID, w.Status)
	}
	if l, err := warehouse.LoadLot(rx, r.Lot); err != nil {
		add(CheckLotLocked, false, "%v", err)
		add(CheckLotHealthy, false, "%v", err)
	} else {
		add(CheckLotLocked, l.Status == warehouse.LotLocked, "lot %s is %s", l.ID, l.Status)
		add(CheckLotHealthy, l.Health == warehouse.HealthOK && l.Alert == "", "lot %s is %s%s", l.ID, l.Health, alertSuffix(l.Alert))
	}
	add(CheckValidityCovers, req.Maturity > now && req.Maturity <= r.ValidUntil,
		"maturity %d, now %d, valid until %d", req.Maturity, now, r.ValidUntil)

	pol, polErr := LoadPolicy(rx, req.Bank, r.Commodity)
	var pr *Price
	var priceErr error
	if !validCurrency(req.Currency) {
		priceErr = receipt.Errorf(ErrBadCurrency, "%q", req.Currency)
	} else {
		pr, priceErr = LoadPrice(rx, req.Currency, r.Commodity)
	}
	switch {
	case priceErr != nil:
		add(CheckPriceExists, false, "%v", priceErr)
	case polErr == nil && pol.MaxPriceAgeSec > 0 && now-pr.At > pol.MaxPriceAgeSec:
		add(CheckPriceExists, false, "price posted at %d, the policy accepts %d s", pr.At, pol.MaxPriceAgeSec)
	default:
		add(CheckPriceExists, true, "%d %s per tonne at %d", pr.MinorPerTonne, pr.Currency, pr.At)
	}
	if polErr != nil {
		add(CheckCreditPolicy, false, "%v", polErr)
	} else {
		add(CheckCreditPolicy, true, "haircut %d bps, initial LTV %d bps, maintenance %d bps", pol.HaircutBps, pol.InitialLTVBps, pol.MaintenanceLTVBps)
	}
	if pr != nil {
		rep.PriceMinorPerTonne, rep.PriceAt = pr.MinorPerTonne, pr.At
		if g, err := Grams(r.Quantity, r.Unit); err == nil && pol != nil {
			v := CollateralValue(g, pr.MinorPerTonne, pol.HaircutBps)
			rep.ValueMinor = Saturate(v)
			rep.MaxPrincipalMinor = Saturate(MaxAdvance(v, pol.InitialLTVBps))
		}
	}
	return rep
}

func participantsOK(x *receipt.Exec, req PrecheckRequest) (bool, string) {
	b, err := x.Participant(req.Borrower)
	if err != nil {
		return false, "borrower: " + err.Error()
	}
	if b.Status != receipt.ParticipantActive {
		return false, "borrower " + b.ID + " is " + b.Status.String()
	}
	bank, err := x.Participant(req.Bank)
	if err != nil {
		return false, "bank: " + err.Error()
	}
	if bank.Status != receipt.ParticipantActive || !bank.Roles.Has(receipt.RoleBank) || bank.ID == req.Borrower {
		return false, bank.ID + " is not an active bank other than the borrower"
	}
	return true, "borrower " + b.ID + " and bank " + bank.ID + " active"
}

func pledgeOK(x *receipt.Exec, r *receipt.Receipt, req PrecheckRequest) (bool, string) {
	if r.Pledge == "" {
		return true, "no pledge"
	}
	p, err := receipt.LoadPledge(x, r.Pledge)
	if err != nil {
		return false, err.Error()
	}
	if p.Bank != req.Bank {
		// Another bank's pledge: its status and to whom, never its terms.
		return false, fmt.Sprintf("pledge %s (%s) to %s by %s", p.ID, p.Status, p.Bank, p.Pledgor)
	}
	if p.Pledgor != req.Borrower || p.Loan != "" {
		return false, fmt.Sprintf("pledge %s (%s) to this bank by %s, securing loan %q", p.ID, p.Status, p.Pledgor, p.Loan)
	}
	return true, fmt.Sprintf("pledge %s (%s) to this bank, securing no loan yet", p.ID, p.Status)
}

func alertSuffix(a string) string {
	if a == "" {
		return ""
	}
	return ", alert " + a
}

// Set implements receipt.Store: a query writes nothing.
func (k *keyLog) Set(string, []byte) { panic("financing: Precheck wrote to state") }

// Delete implements receipt.Store: a query writes nothing.
func (k *keyLog) Delete(string) { panic("financing: Precheck wrote to state") }
