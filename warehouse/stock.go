package warehouse

import (
	"sort"

	"github.com/ewrchain/ewr/receipt"
)

// RegisterStock registers and locks a lot from signed in-tickets: its
// quantity is Σ(gross − tare) of the tickets, each ticket used once ever,
// and its bay must not hold another locked lot. Signed by the warehouse's
// operator and co-signed by its collateral manager, who attests the grade.
type RegisterStock struct {
	Lot       string
	Warehouse string
	Bay       string
	Commodity string
	Grade     string
	Unit      string
	// Tolerance is the allowed deviation of the bay's weight from its
	// baseline: scale error plus the storage-loss allowance, in Unit.
	Tolerance uint64
	Tickets   []SignedTicket
}

func (*RegisterStock) Type() string { return "lot.register" }

func (op *RegisterStock) Check() error {
	for _, f := range [][2]string{{"lot", op.Lot}, {"warehouse", op.Warehouse}, {"bay", op.Bay}} {
		if err := receipt.CheckID(f[0], f[1]); err != nil {
			return err
		}
	}
	if err := receipt.CheckText("commodity", op.Commodity, true); err != nil {
		return err
	}
	if err := receipt.CheckText("grade", op.Grade, true); err != nil {
		return err
	}
	if _, ok := unitScale(op.Unit); !ok {
		return receipt.Errorf(ErrBadUnit, "%q", op.Unit)
	}
	if op.Tolerance > receipt.MaxQuantity {
		return receipt.Errorf(receipt.ErrInvalidQuantity, "tolerance %d", op.Tolerance)
	}
	return checkTickets(op.Tickets, In)
}

func (op *RegisterStock) Apply(x *receipt.Exec) error {
	w, err := LoadWarehouse(x, op.Warehouse)
	if err != nil {
		return err
	}
	if err := requireOperator(x, w); err != nil {
		return err
	}
	if !x.SignedBy(w.CollateralManager) {
		return receipt.Errorf(ErrNotCollateralMgr, "%s must co-sign the stock of %s", w.CollateralManager, w.ID)
	}
	if receipt.Has(x, LotKey(op.Lot)) {
		return receipt.Errorf(ErrLotExists, "%q", op.Lot)
	}
	bay, ok := receipt.Load[Bay](x, BayKey(w.ID, op.Bay))
	if !ok {
		return receipt.Errorf(ErrBayNotFound, "%s/%s", w.ID, op.Bay)
	}
	if bay.LockedBy != "" {
		return receipt.Errorf(ErrBayLocked, "%s/%s holds %s", w.ID, bay.ID, bay.LockedBy)
	}
	net, err := verifyTickets(x, op.Tickets, w.ID, op.Unit)
	if err != nil {
		return err
	}
	l := Lot{
		ID: op.Lot, Warehouse: w.ID, Bay: bay.ID, Commodity: op.Commodity, Grade: op.Grade, Unit: op.Unit,
		Status: LotLocked, RegisteredQty: net, LockedQty: net, Tolerance: op.Tolerance, Health: HealthOK,
		InTickets: useTickets(x, op.Tickets, op.Lot), RegisteredAt: x.Block.Time,
		Expected: ExpectedAtLock(bay, net, op.Unit),
	}
	// Intake: the bay now holds its tare and the goods weighed in.
	if err := RecordPhase(x, &l, nil); err != nil {
		return err
	}
	SaveLot(x, &l)
	bay.LockedBy = l.ID
	bay.Version++
	receipt.Save(x, BayKey(w.ID, bay.ID), bay)
	x.Emit(EvStockRegistered, receipt.Refs(receipt.RefLot, l.ID, receipt.RefWarehouse, w.ID),
		receipt.Attr{Key: "bay", Value: bay.ID}, receipt.Attr{Key: "quantity", Value: receipt.U64(net)},
		receipt.Attr{Key: "unit", Value: l.Unit}, receipt.Attr{Key: "tickets", Value: receipt.U64(uint64(len(op.Tickets)))})
	return nil
}

// IssueReceipt issues an electronic receipt against a locked, healthy lot.
// Signed by the warehouse's operator. The live receipts on the lot plus
// this one may not exceed its locked quantity. Commodity, grade, unit,
// warehouse and place come from the lot, as attested at registration.
type IssueReceipt struct {
	ID                   string
	Lot                  string
	Depositor            string
	Negotiable           bool
	Quantity             uint64
	Description          string
	PlaceOfIssue         string
	StorageUntil         int64
	ValidUntil           int64
	StorageAgreementDate int64
	StorageTermsRef      string
	ThirdPartyClaims     string
	Fees                 receipt.FeeTerms
	Insurance            string
}

func (*IssueReceipt) Type() string { return "receipt.issue" }

func (op *IssueReceipt) Check() error {
	for _, f := range [][2]string{{"receipt", op.ID}, {"lot", op.Lot}, {"depositor", op.Depositor}} {
		if err := receipt.CheckID(f[0], f[1]); err != nil {
			return err
		}
	}
	if err := receipt.CheckQuantity("quantity", op.Quantity); err != nil {
		return err
	}
	for _, f := range []struct {
		name, v  string
		required bool
	}{
		{"description", op.Description, true}, {"place of issue", op.PlaceOfIssue, true},
		{"storage terms", op.StorageTermsRef, true}, {"third-party claims", op.ThirdPartyClaims, true},
		{"fee terms", op.Fees.Terms, false}, {"insurance", op.Insurance, false},
	} {
		if err := receipt.CheckText(f.name, f.v, f.required); err != nil {
			return err
		}
	}
	if len(op.Fees.Currency) != 3 {
		return receipt.Errorf(receipt.ErrMissingField, "fee currency (ISO 4217)")
	}
	if op.StorageAgreementDate <= 0 {
		return receipt.Errorf(receipt.ErrMissingField, "date of the storage agreement")
	}
	if op.ValidUntil > op.StorageUntil {
		return receipt.Errorf(receipt.ErrBadValidity, "valid until %d after storage ends %d", op.ValidUntil, op.StorageUntil)
	}
	return nil
}

func (op *IssueReceipt) Apply(x *receipt.Exec) error {
	l, err := LoadLot(x, op.Lot)
	if err != nil {
		return err
	}
	w, err := LoadWarehouse(x, l.Warehouse)
	if err != nil {
		return err
	}
	if err := requireOperator(x, w); err != nil {
		return err
	}
	if l.Status != LotLocked {
		return receipt.Errorf(ErrLotNotLocked, "%s is %s", l.ID, l.Status)
	}
	if l.Health != HealthOK {
		return receipt.Errorf(ErrLotUnhealthy, "%s is %s", l.ID, l.Health)
	}
	if receipt.Has(x, receipt.ReceiptKey(op.ID)) {
		return receipt.Errorf(receipt.ErrReceiptExists, "%q", op.ID)
	}
	if err := receipt.CheckEligibleHolder(x, op.Depositor); err != nil {
		return err
	}
	if op.ValidUntil <= x.Block.Time {
		return receipt.Errorf(receipt.ErrBadValidity, "valid until %d, now %d", op.ValidUntil, x.Block.Time)
	}
	if op.StorageAgreementDate > x.Block.Time {
		return receipt.Errorf(receipt.ErrBadValidity, "storage agreement dated %d, after now %d", op.StorageAgreementDate, x.Block.Time)
	}
	if l.IssuedQty+op.Quantity > l.LockedQty {
		return receipt.Errorf(ErrOverIssue, "lot %s locks %d, live receipts hold %d, asked %d", l.ID, l.LockedQty, l.IssuedQty, op.Quantity)
	}
	if uint32(len(l.Live)) >= x.Params().MaxLiveReceiptsPerLot {
		return receipt.Errorf(ErrLotTooManyReceipts, "%s", l.ID)
	}
	r := receipt.Receipt{
		ID: op.ID, Version: 1, State: receipt.StateIssued,
		Warehouse: w.ID, Operator: w.Operator, Place: l.Bay, Lot: l.ID, Depositor: op.Depositor,
		Negotiable: op.Negotiable, Commodity: l.Commodity, Grade: l.Grade, Description: op.Description,
		Quantity: op.Quantity, Unit: l.Unit, IssuedAt: x.Block.Time, PlaceOfIssue: op.PlaceOfIssue,
		StorageUntil: op.StorageUntil, ValidUntil: op.ValidUntil, StorageAgreementDate: op.StorageAgreementDate,
		StorageTermsRef: op.StorageTermsRef, ThirdPartyClaims: op.ThirdPartyClaims, Fees: op.Fees,
		Insurance: op.Insurance, Holder: op.Depositor, UpdatedHeight: x.Block.Height,
	}
	if op.Negotiable {
		r.OrderOf = op.Depositor
	}
	receipt.SaveReceipt(x, &r)
	l.IssuedQty += op.Quantity
	l.Live = insertSorted(l.Live, r.ID)
	SaveLot(x, l)
	x.Emit(receipt.EvReceiptIssued, receipt.Refs(receipt.RefReceipt, r.ID, receipt.RefLot, l.ID,
		receipt.RefParticipant, r.Holder, receipt.RefWarehouse, w.ID),
		receipt.Attr{Key: "quantity", Value: receipt.U64(r.Quantity)}, receipt.Attr{Key: "unit", Value: r.Unit},
		receipt.Attr{Key: "commodity", Value: r.Commodity})
	return nil
}

// Stock is the warehouse side of receipt transitions (receipt.Stock). Judge
// is the sensor side of the lock, which judges the reading a load-out
// closes with (package iot's, installed by the ledger).
type Stock struct {
	Judge LockJudge
}

var _ receipt.Stock = Stock{}

// Tradable implements receipt.Stock.
func (Stock) Tradable(x *receipt.Exec, lot string) error {
	l, err := LoadLot(x, lot)
	if err != nil {
		return err
	}
	if l.Status != LotLocked {
		return receipt.Errorf(ErrLotNotLocked, "%s is %s", l.ID, l.Status)
	}
	if l.Health != HealthOK {
		return receipt.Errorf(ErrLotUnhealthy, "%s is %s", l.ID, l.Health)
	}
	return nil
}

// Replace implements receipt.Stock.
func (Stock) Replace(x *receipt.Exec, lot string, removed, added []string) error {
	l, err := LoadLot(x, lot)
	if err != nil {
		return err
	}
	live := l.Live
	for _, id := range removed {
		live = removeSorted(live, id)
	}
	for _, id := range added {
		live = insertSorted(live, id)
	}
	if uint32(len(live)) > x.Params().MaxLiveReceiptsPerLot {
		return receipt.Errorf(ErrLotTooManyReceipts, "%s", l.ID)
	}
	l.Live = live
	SaveLot(x, l)
	return nil
}

// Free implements receipt.Stock.
func (Stock) Free(x *receipt.Exec, lot, id string, qty uint64) error {
	l, err := LoadLot(x, lot)
	if err != nil {
		return err
	}
	if qty > l.IssuedQty {
		panic("warehouse: freeing more than the lot's issued quantity")
	}
	l.IssuedQty -= qty
	l.Live = removeSorted(l.Live, id)
	SaveLot(x, l)
	return nil
}

func insertSorted(s []string, id string) []string {
	i := sort.SearchStrings(s, id)
	if i < len(s) && s[i] == id {
		return s
	}
	s = append(s, "")
	copy(s[i+1:], s[i:])
	s[i] = id
	return s
}

func removeSorted(s []string, id string) []string {
	i := sort.SearchStrings(s, id)
	if i < len(s) && s[i] == id {
		return append(s[:i:i], s[i+1:]...)
	}
	return s
}
