package financing_test

import (
	"testing"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/receipt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpsCheckTheirFace: every financing op refuses, without state, what
// is wrong on its face, with the rule it breaks (an op on a loan must name
// the loan's version); a well-formed op passes.
func TestOpsCheckTheirFace(t *testing.T) {
	for _, c := range []struct {
		name string
		op   receipt.Op
		want *receipt.Error // nil: passes
	}{
		{"open", &financing.OpenLoan{Loan: "LN-1", Borrower: "trader-a", Pledges: []string{"PL-1"}, Currency: "USD", Principal: 100, Maturity: 10}, nil},
		{"open without pledges", &financing.OpenLoan{Loan: "LN-1", Borrower: "trader-a", Currency: "USD", Principal: 100, Maturity: 10}, financing.ErrTooManyPledges},
		{"open of nothing", &financing.OpenLoan{Loan: "LN-1", Borrower: "trader-a", Pledges: []string{"PL-1"}, Currency: "USD", Maturity: 10}, financing.ErrBadAmount},
		{"disburse", &financing.RecordDisbursement{Loan: "LN-1", Amount: 1, Version: 2}, nil},
		{"disburse without the loan's version", &financing.RecordDisbursement{Loan: "LN-1", Amount: 1}, receipt.ErrMissingField},
		{"disburse nothing", &financing.RecordDisbursement{Loan: "LN-1", Version: 2}, financing.ErrBadAmount},
		{"repay", &financing.RecordRepayment{Loan: "LN-1", Amount: 1, Version: 2}, nil},
		{"repay without the loan's version", &financing.RecordRepayment{Loan: "LN-1", Amount: 1}, receipt.ErrMissingField},
		{"add collateral", &financing.AddCollateral{Loan: "LN-1", Pledges: []string{"PL-2"}, Version: 2}, nil},
		{"add collateral without the loan's version", &financing.AddCollateral{Loan: "LN-1", Pledges: []string{"PL-2"}}, receipt.ErrMissingField},
		{"default", &financing.MarkDefault{Loan: "LN-1", Version: 2}, nil},
		{"default without the loan's version", &financing.MarkDefault{Loan: "LN-1"}, receipt.ErrMissingField},
		{"default of a bad id", &financing.MarkDefault{Loan: "bad id", Version: 2}, receipt.ErrInvalidID},
		{"cancel", &financing.CancelLoan{Loan: "LN-1", Reason: "not needed", Version: 1}, nil},
		{"cancel without a reason", &financing.CancelLoan{Loan: "LN-1", Version: 1}, receipt.ErrMissingField},
		{"cancel without the loan's version", &financing.CancelLoan{Loan: "LN-1", Reason: "x"}, receipt.ErrMissingField},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.op.Check()
			if c.want == nil {
				require.NoError(t, err)
				return
			}
			e, typed := receipt.AsError(err)
			require.True(t, typed, "%v", err)
			assert.Equal(t, c.want.Name, e.Name, "%v", err)
		})
	}
}
