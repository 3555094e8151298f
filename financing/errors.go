package financing

import "github.com/ewrchain/ewr/receipt"

// Errors of the financing package (codes 300–399).
var (
	ErrPolicyInvalid      = receipt.NewError(300, "credit_policy_invalid", receipt.KindInvalid, "financing: credit policy out of range")
	ErrNoPolicy           = receipt.NewError(301, "no_credit_policy", receipt.KindRule, "financing: no credit policy of this bank for this commodity")
	ErrNoPrice            = receipt.NewError(302, "no_price", receipt.KindRule, "financing: no price for this commodity and currency")
	ErrPriceStale         = receipt.NewError(303, "price_stale", receipt.KindRule, "financing: price older than the bank's policy accepts")
	ErrBadCurrency        = receipt.NewError(304, "bad_currency", receipt.KindInvalid, "financing: currency must be an ISO 4217 code")
	ErrBadAmount          = receipt.NewError(305, "bad_amount", receipt.KindInvalid, "financing: amount out of range")
	ErrLoanExists         = receipt.NewError(306, "loan_exists", receipt.KindConflict, "financing: loan id already used")
	ErrLoanNotFound       = receipt.NewError(307, "loan_not_found", receipt.KindNotFound, "financing: loan not found")
	ErrNotLender          = receipt.NewError(308, "not_lender", receipt.KindForbidden, "financing: signer is not the loan's bank")
	ErrLoanNotOpen        = receipt.NewError(309, "loan_not_open", receipt.KindConflict, "financing: loan not open")
	ErrPledgeSecuresLoan  = receipt.NewError(310, "pledge_secures_loan", receipt.KindConflict, "financing: pledge already secures a loan")
	ErrPledgeNotToBank    = receipt.NewError(311, "pledge_not_to_bank", receipt.KindRule, "financing: pledge is not to the lending bank")
	ErrPledgorNotBorrower = receipt.NewError(312, "pledgor_not_borrower", receipt.KindRule, "financing: pledge is not the borrower's")
	ErrCommodityMix       = receipt.NewError(313, "collateral_commodity_mix", receipt.KindRule, "financing: collateral of another commodity than the loan's")
	ErrOverAdvance        = receipt.NewError(314, "over_advance", receipt.KindRule, "financing: principal exceeds collateral value at the initial loan-to-value")
	ErrMaturity           = receipt.NewError(315, "bad_maturity", receipt.KindRule, "financing: maturity not within the receipts' validity and the pledges' terms")
	ErrOverDisbursement   = receipt.NewError(316, "over_disbursement", receipt.KindRule, "financing: disbursement exceeds the undrawn principal")
	ErrOverRepayment      = receipt.NewError(317, "over_repayment", receipt.KindRule, "financing: repayment exceeds the outstanding amount")
	ErrNoDefault          = receipt.NewError(318, "no_loan_default", receipt.KindRule, "financing: no default: no margin call past its deadline, no maturity passed unpaid")
	ErrReleaseBreachesLTV = receipt.NewError(319, "release_breaches_ltv", receipt.KindRule, "financing: release would leave the loan above its initial loan-to-value")
	ErrLoanNotDefaulted   = receipt.NewError(320, "loan_not_defaulted", receipt.KindRule, "financing: enforcement needs the loan's default recorded")
	ErrTooManyLoans       = receipt.NewError(321, "too_many_open_loans", receipt.KindRule, "financing: too many open loans on this commodity and currency")
	ErrLoanMatured        = receipt.NewError(322, "loan_matured", receipt.KindConflict, "financing: loan matured")
	ErrLoanDrawn          = receipt.NewError(323, "loan_drawn", receipt.KindConflict, "financing: loan already disbursed")
	ErrTooManyPledges     = receipt.NewError(324, "too_many_pledges", receipt.KindInvalid, "financing: too many pledges on one loan")
	ErrBadCommodity       = receipt.NewError(325, "bad_commodity", receipt.KindInvalid, "financing: commodity name must be 1–128 bytes without '/'")
)

// Event types of the financing package.
const (
	EvPolicySet          = "credit_policy.set"
	EvPricePosted        = "price.posted"
	EvLoanOpened         = "loan.opened"
	EvLoanDisbursed      = "loan.disbursed"
	EvLoanRepayment      = "loan.repayment"
	EvLoanRepaid         = "loan.repaid"
	EvLoanRevalued       = "loan.revalued"
	EvMarginCall         = "loan.margin_call"
	EvMarginCallCured    = "loan.margin_call_cured"
	EvCollateralAdded    = "loan.collateral_added"
	EvLoanDefaulted      = "loan.defaulted"
	EvLoanCancelled      = "loan.cancelled"
	EvCollateralRetained = "loan.collateral_retained"
)
