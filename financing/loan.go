package financing

import (
	"math/big"

	"github.com/ewrchain/ewr/receipt"
)

// OpenLoan opens a loan on receipts whose pledges the bank confirmed.
// Signed by the bank and co-signed by the borrower, who agrees to the
// principal, currency and maturity. Each pledge must be ACTIVE, to this
// bank, the borrower's, and secure no other loan (the double pledge across
// loans); the receipts must be of one commodity, neither frozen nor
// expired, on locked healthy lots, valid until the maturity, and the
// pledges' own maturity must not come before the loan's. The bank's credit
// policy for the commodity and a price in the currency must exist; the
// principal may not exceed the collateral value at the initial LTV.
type OpenLoan struct {
	Loan      string
	Borrower  string
	Pledges   []string
	Currency  string
	Principal uint64
	Maturity  int64
}

func (*OpenLoan) Type() string { return "financing.loan.open" }

func (op *OpenLoan) Check() error {
	if err := receipt.CheckID("loan", op.Loan); err != nil {
		return err
	}
	if err := receipt.CheckID("borrower", op.Borrower); err != nil {
		return err
	}
	if err := checkPledgeList(op.Pledges); err != nil {
		return err
	}
	if err := CheckCurrency(op.Currency); err != nil {
		return err
	}
	return CheckAmount("principal", op.Principal)
}

func checkPledgeList(ids []string) error {
	if len(ids) == 0 || len(ids) > MaxPledgesPerLoan {
		return receipt.Errorf(ErrTooManyPledges, "%d pledges, 1 to %d", len(ids), MaxPledgesPerLoan)
	}
	for _, id := range ids {
		if err := receipt.CheckID("pledge", id); err != nil {
			return err
		}
	}
	if _, ok := sortedUnique(ids); !ok {
		return receipt.Errorf(receipt.ErrInvalidOp, "pledges repeat")
	}
	return nil
}

func (op *OpenLoan) Apply(x *receipt.Exec) error {
	bank, err := x.RequireRole(receipt.RoleBank)
	if err != nil {
		return err
	}
	if op.Borrower == bank.ID {
		return receipt.Errorf(receipt.ErrInvalidOp, "a bank does not lend to itself")
	}
	if err := x.RequireCosigner(op.Borrower, "the borrower agrees to the loan's terms"); err != nil {
		return err
	}
	if receipt.Has(x, LoanKey(op.Loan)) {
		return receipt.Errorf(ErrLoanExists, "%q", op.Loan)
	}
	if op.Maturity <= x.Block.Time {
		return receipt.Errorf(ErrMaturity, "maturity %d is not after now %d", op.Maturity, x.Block.Time)
	}
	ids, _ := sortedUnique(op.Pledges) // canonical order: the op's order does not change the state
	pledges := make([]*receipt.Pledge, len(ids))
	commodity := ""
	grams := new(big.Int)
	for i, id := range ids {
		p, r, err := eligibleCollateral(x, id, bank.ID, op.Borrower, op.Maturity)
		if err != nil {
			return err
		}
		if i == 0 {
			commodity = r.Commodity
		} else if r.Commodity != commodity {
			return receipt.Errorf(ErrCommodityMix, "%s is %s, %s is %s", r.ID, r.Commodity, pledges[0].Receipt, commodity)
		}
		g, err := Grams(r.Quantity, r.Unit)
		if err != nil {
			return err
		}
		grams.Add(grams, g)
		pledges[i] = p
	}
	pol, err := LoadPolicy(x, bank.ID, commodity)
	if err != nil {
		return err
	}
	price, err := LoadPrice(x, op.Currency, commodity)
	if err != nil {
		return err
	}
	if pol.MaxPriceAgeSec > 0 && x.Block.Time-price.At > pol.MaxPriceAgeSec {
		return receipt.Errorf(ErrPriceStale, "%s in %s posted at %d, policy accepts %d s", commodity, op.Currency, price.At, pol.MaxPriceAgeSec)
	}
	value := CollateralValue(grams, price.MinorPerTonne, pol.HaircutBps)
	if ltv := LTVBps(op.Principal, value); ltv > uint64(pol.InitialLTVBps) {
		return receipt.Errorf(ErrOverAdvance, "principal %d against value %s is %d bps, initial %d bps (at most %s)",
			op.Principal, value, ltv, pol.InitialLTVBps, MaxAdvance(value, pol.InitialLTVBps))
	}
	l := &Loan{
		ID: op.Loan, Status: LoanOpen, Bank: bank.ID, Borrower: op.Borrower, Commodity: commodity, Currency: op.Currency,
		Pledges: ids, Principal: op.Principal, Maturity: op.Maturity, OpenedAt: x.Block.Time,
		Terms: Terms{HaircutBps: pol.HaircutBps, InitialLTVBps: pol.InitialLTVBps, MaintenanceLTVBps: pol.MaintenanceLTVBps,
			MarginCallGraceSec: pol.MarginCallGraceSec, PolicyVersion: pol.Version},
	}
	if err := indexAdd(x, l); err != nil {
		return err
	}
	for _, p := range pledges {
		p.Loan = l.ID
		p.Version++
		receipt.SavePledge(x, p)
	}
	saveLoan(x, l)
	refs := loanRefs(l)
	for _, p := range pledges {
		refs = append(refs, receipt.Ref{Kind: receipt.RefPledge, ID: p.ID}, receipt.Ref{Kind: receipt.RefReceipt, ID: p.Receipt})
	}
	x.Emit(EvLoanOpened, refs, receipt.Attr{Key: "principal", Value: receipt.U64(l.Principal)},
		receipt.Attr{Key: "currency", Value: l.Currency}, receipt.Attr{Key: "commodity", Value: commodity},
		receipt.Attr{Key: "value", Value: value.String()}, receipt.Attr{Key: "maturity", Value: receipt.I64(l.Maturity)},
		receipt.Attr{Key: "initial_ltv_bps", Value: receipt.U64(uint64(l.Terms.InitialLTVBps))},
		receipt.Attr{Key: "maintenance_ltv_bps", Value: receipt.U64(uint64(l.Terms.MaintenanceLTVBps))})
	return nil
}

// eligibleCollateral loads a pledge and its receipt and checks that they
// may secure a loan of bank to borrower maturing at maturity.
func eligibleCollateral(x *receipt.Exec, id, bank, borrower string, maturity int64) (*receipt.Pledge, *receipt.Receipt, error) {
	p, err := receipt.LoadPledge(x, id)
	if err != nil {
		return nil, nil, err
	}
	if p.Bank != bank {
		return nil, nil, receipt.Errorf(ErrPledgeNotToBank, "%s is to %s", p.ID, p.Bank)
	}
	if p.Status != receipt.PledgeActive {
		return nil, nil, receipt.Errorf(receipt.ErrPledgeNotActive, "%s is %s", p.ID, p.Status)
	}
	if p.Loan != "" {
		return nil, nil, receipt.Errorf(ErrPledgeSecuresLoan, "%s secures %s", p.ID, p.Loan)
	}
	r, err := receipt.LoadReceipt(x, p.Receipt)
	if err != nil {
		return nil, nil, err
	}
	if p.Pledgor != borrower || r.Holder != borrower {
		return nil, nil, receipt.Errorf(ErrPledgorNotBorrower, "%s pledged by %s, receipt held by %s", p.ID, p.Pledgor, r.Holder)
	}
	if err := receipt.NotTerminal(r); err != nil {
		return nil, nil, err
	}
	if err := receipt.NotFrozenOrExpired(x, r); err != nil {
		return nil, nil, err
	}
	switch r.State {
	case receipt.StateTransferPending:
		return nil, nil, receipt.Errorf(receipt.ErrPledgeTransferActive, "%s", r.ID)
	case receipt.StateRedemptionPending:
		return nil, nil, receipt.Errorf(receipt.ErrRedemptionPending, "%s", r.ID)
	}
	if maturity > r.ValidUntil || maturity > p.Maturity {
		return nil, nil, receipt.Errorf(ErrMaturity, "maturity %d; %s valid until %d; pledge %s due %d", maturity, r.ID, r.ValidUntil, p.ID, p.Maturity)
	}
	if err := x.Stock.Tradable(x, r.Lot); err != nil {
		return nil, nil, err
	}
	return p, r, nil
}

// lenderAction loads a loan for an action of its bank.
func lenderAction(x *receipt.Exec, id string, version uint64) (*Loan, error) {
	l, err := loanAt(x, id, version)
	if err != nil {
		return nil, err
	}
	if err := x.RequireActor(l.Bank, receipt.RoleBank, ErrNotLender); err != nil {
		return nil, err
	}
	return l, nil
}

// loanAt loads a loan the signer saw at version.
func loanAt(x *receipt.Exec, id string, version uint64) (*Loan, error) {
	l, err := LoadLoan(x, id)
	if err != nil {
		return nil, err
	}
	if l.Version != version {
		return nil, receipt.Errorf(receipt.ErrStaleVersion, "loan %s is at version %d, op names %d", l.ID, l.Version, version)
	}
	return l, nil
}

// RecordDisbursement records money the bank paid out under the loan, up to
// the principal and before maturity. Signed by the loan's bank. The loan
// is re-evaluated: drawing at a lower price may raise a margin call.
type RecordDisbursement struct {
	Loan    string
	Amount  uint64
	Ref     string // the bank's payment reference
	Version uint64 // the loan version the signer saw
}

func (*RecordDisbursement) Type() string { return "financing.loan.disburse" }

func (op *RecordDisbursement) Check() error {
	if err := receipt.CheckID("loan", op.Loan); err != nil {
		return err
	}
	if err := receipt.CheckText("reference", op.Ref, false); err != nil {
		return err
	}
	if err := receipt.CheckVersion("loan", op.Version); err != nil {
		return err
	}
	return CheckAmount("amount", op.Amount)
}

func (op *RecordDisbursement) Apply(x *receipt.Exec) error {
	l, err := lenderAction(x, op.Loan, op.Version)
	if err != nil {
		return err
	}
	if l.Status != LoanOpen {
		return receipt.Errorf(ErrLoanNotOpen, "%s is %s", l.ID, l.Status)
	}
	if x.Block.Time > l.Maturity {
		return receipt.Errorf(ErrLoanMatured, "%s matured at %d", l.ID, l.Maturity)
	}
	if op.Amount > l.Principal-l.Disbursed {
		return receipt.Errorf(ErrOverDisbursement, "%d asked, %d undrawn", op.Amount, l.Principal-l.Disbursed)
	}
	l.Disbursed += op.Amount
	l.Outstanding += op.Amount
	val := review(x, l, byDisbursement)
	saveLoan(x, l)
	x.Emit(EvLoanDisbursed, loanRefs(l), receipt.Attr{Key: "amount", Value: receipt.U64(op.Amount)},
		receipt.Attr{Key: "disbursed", Value: receipt.U64(l.Disbursed)}, receipt.Attr{Key: "outstanding", Value: receipt.U64(l.Outstanding)},
		receipt.Attr{Key: "currency", Value: l.Currency}, receipt.Attr{Key: "ltv_bps", Value: receipt.U64(val.LTV)},
		receipt.Attr{Key: "ref", Value: op.Ref})
	return nil
}

// RecordRepayment records money the borrower paid back. Signed by the
// loan's bank. It may cure a margin call; paid in full, the loan is REPAID
// and its pledges are released in the same tx. Recoveries on a defaulted
// loan are recorded the same way.
type RecordRepayment struct {
	Loan    string
	Amount  uint64
	Ref     string
	Version uint64 // the loan version the signer saw
}

func (*RecordRepayment) Type() string { return "financing.loan.repay" }

func (op *RecordRepayment) Check() error {
	if err := receipt.CheckID("loan", op.Loan); err != nil {
		return err
	}
	if err := receipt.CheckText("reference", op.Ref, false); err != nil {
		return err
	}
	if err := receipt.CheckVersion("loan", op.Version); err != nil {
		return err
	}
	return CheckAmount("amount", op.Amount)
}

func (op *RecordRepayment) Apply(x *receipt.Exec) error {
	l, err := lenderAction(x, op.Loan, op.Version)
	if err != nil {
		return err
	}
	if l.Status != LoanOpen && l.Status != LoanDefaulted {
		return receipt.Errorf(ErrLoanNotOpen, "%s is %s", l.ID, l.Status)
	}
	if op.Amount > l.Outstanding {
		return receipt.Errorf(ErrOverRepayment, "%d paid, %d outstanding", op.Amount, l.Outstanding)
	}
	repay(x, l, op.Amount, byRepayment, op.Ref)
	saveLoan(x, l)
	return nil
}

// AddCollateral adds ACTIVE pledges of the borrower's to this bank to an
// open loan: the cure of a margin call by more collateral. Signed by the
// loan's bank and co-signed by the borrower; the pledges are checked as at
// opening.
type AddCollateral struct {
	Loan    string
	Pledges []string
	Version uint64 // the loan version the signer saw
}

func (*AddCollateral) Type() string { return "financing.loan.collateral.add" }

func (op *AddCollateral) Check() error {
	if err := receipt.CheckID("loan", op.Loan); err != nil {
		return err
	}
	if err := receipt.CheckVersion("loan", op.Version); err != nil {
		return err
	}
	return checkPledgeList(op.Pledges)
}

func (op *AddCollateral) Apply(x *receipt.Exec) error {
	l, err := lenderAction(x, op.Loan, op.Version)
	if err != nil {
		return err
	}
	if err := x.RequireCosigner(l.Borrower, "the borrower agrees the receipts secure this loan"); err != nil {
		return err
	}
	if l.Status != LoanOpen {
		return receipt.Errorf(ErrLoanNotOpen, "%s is %s", l.ID, l.Status)
	}
	if len(l.Pledges)+len(op.Pledges) > MaxPledgesPerLoan {
		return receipt.Errorf(ErrTooManyPledges, "%d listed, %d more, at most %d", len(l.Pledges), len(op.Pledges), MaxPledgesPerLoan)
	}
	ids, _ := sortedUnique(op.Pledges)
	pledges := make([]*receipt.Pledge, len(ids))
	for i, id := range ids {
		p, r, err := eligibleCollateral(x, id, l.Bank, l.Borrower, l.Maturity)
		if err != nil {
			return err
		}
		if r.Commodity != l.Commodity {
			return receipt.Errorf(ErrCommodityMix, "%s is %s, loan %s is on %s", r.ID, r.Commodity, l.ID, l.Commodity)
		}
		pledges[i] = p
	}
	refs := loanRefs(l)
	for _, p := range pledges {
		p.Loan = l.ID
		p.Version++
		receipt.SavePledge(x, p)
		l.Pledges = insertSorted(l.Pledges, p.ID)
		refs = append(refs, receipt.Ref{Kind: receipt.RefPledge, ID: p.ID}, receipt.Ref{Kind: receipt.RefReceipt, ID: p.Receipt})
	}
	val := review(x, l, byCollateral)
	saveLoan(x, l)
	x.Emit(EvCollateralAdded, refs, receipt.Attr{Key: "pledges", Value: receipt.U64(uint64(len(pledges)))},
		receipt.Attr{Key: "value", Value: val.Value.String()}, receipt.Attr{Key: "ltv_bps", Value: receipt.U64(val.LTV)})
	return nil
}

// MarkDefault records the loan's default: a margin call uncured past its
// deadline, or the maturity passed with money outstanding. Signed by the
// loan's bank. The loan's ACTIVE pledges are marked defaulted, so the bank
// may invoke them (pledge.invoke) before their maturity. Before either
// event it is refused: there is no enforcement before the deadline.
type MarkDefault struct {
	Loan    string
	Version uint64 // the loan version the signer saw
}

func (*MarkDefault) Type() string { return "financing.loan.default" }

func (op *MarkDefault) Check() error {
	if err := receipt.CheckID("loan", op.Loan); err != nil {
		return err
	}
	return receipt.CheckVersion("loan", op.Version)
}

func (op *MarkDefault) Apply(x *receipt.Exec) error {
	l, err := lenderAction(x, op.Loan, op.Version)
	if err != nil {
		return err
	}
	if l.Status != LoanOpen {
		return receipt.Errorf(ErrLoanNotOpen, "%s is %s", l.ID, l.Status)
	}
	now := x.Block.Time
	switch {
	case l.Call != nil && now > l.Call.Deadline:
		l.DefaultReason = "margin call of " + receipt.I64(l.Call.RaisedAt) + " uncured past its deadline " + receipt.I64(l.Call.Deadline)
	case now > l.Maturity && l.Outstanding > 0:
		l.DefaultReason = "maturity " + receipt.I64(l.Maturity) + " passed with " + receipt.U64(l.Outstanding) + " outstanding"
	case l.Call != nil:
		return receipt.Errorf(ErrNoDefault, "margin call deadline %d not passed (now %d)", l.Call.Deadline, now)
	default:
		return receipt.Errorf(ErrNoDefault, "no margin call; maturity %d, now %d, outstanding %d", l.Maturity, now, l.Outstanding)
	}
	indexRemove(x, l)
	l.Status = LoanDefaulted
	l.DefaultedAt = now
	l.Call = nil
	refs := loanRefs(l)
	for _, id := range l.Pledges {
		p, err := receipt.LoadPledge(x, id)
		if err != nil {
			return err
		}
		if p.Status != receipt.PledgeActive {
			continue
		}
		p.Defaulted = true
		p.Version++
		receipt.SavePledge(x, p)
		refs = append(refs, receipt.Ref{Kind: receipt.RefPledge, ID: p.ID}, receipt.Ref{Kind: receipt.RefReceipt, ID: p.Receipt})
	}
	saveLoan(x, l)
	x.Emit(EvLoanDefaulted, refs, receipt.Attr{Key: "reason", Value: l.DefaultReason},
		receipt.Attr{Key: "outstanding", Value: receipt.U64(l.Outstanding)})
	return nil
}

// CancelLoan closes a loan before anything was disbursed and releases its
// collateral. Signed by the loan's bank or its borrower.
type CancelLoan struct {
	Loan    string
	Reason  string
	Version uint64 // the loan version the signer saw
}

func (*CancelLoan) Type() string { return "financing.loan.cancel" }

func (op *CancelLoan) Check() error {
	if err := receipt.CheckID("loan", op.Loan); err != nil {
		return err
	}
	if err := receipt.CheckVersion("loan", op.Version); err != nil {
		return err
	}
	return receipt.CheckText("reason", op.Reason, true)
}

func (op *CancelLoan) Apply(x *receipt.Exec) error {
	l, err := loanAt(x, op.Loan, op.Version)
	if err != nil {
		return err
	}
	if x.Actor() != l.Bank && x.Actor() != l.Borrower {
		return receipt.Errorf(receipt.ErrForbidden, "only the bank or the borrower may cancel loan %s", l.ID)
	}
	if l.Status != LoanOpen {
		return receipt.Errorf(ErrLoanNotOpen, "%s is %s", l.ID, l.Status)
	}
	if l.Disbursed > 0 {
		return receipt.Errorf(ErrLoanDrawn, "%s: %d disbursed", l.ID, l.Disbursed)
	}
	indexRemove(x, l)
	l.Status = LoanCancelled
	l.Call = nil
	l.ClosedAt = x.Block.Time
	kept := releaseCollateral(x, l, "loan cancelled")
	saveLoan(x, l)
	x.Emit(EvLoanCancelled, loanRefs(l), receipt.Attr{Key: "reason", Value: op.Reason},
		receipt.Attr{Key: "retained", Value: receipt.U64(uint64(kept))})
	return nil
}

// Cosigners (receipt.Cosigner): the borrower agrees to the loan's terms.
func (op *OpenLoan) Cosigners(*receipt.Exec, string) []string { return []string{op.Borrower} }

// Cosigners (receipt.Cosigner): the borrower agrees the receipts secure
// the loan.
func (op *AddCollateral) Cosigners(x *receipt.Exec, _ string) []string {
	if l, ok := receipt.Load[Loan](x, LoanKey(op.Loan)); ok {
		return []string{l.Borrower}
	}
	return nil
}
