package financing

import "github.com/ewrchain/ewr/receipt"

// Ops lists one value of every op this package defines.
func Ops() []receipt.Op {
	return []receipt.Op{
		&SetCreditPolicy{}, &PostPrice{},
		&OpenLoan{}, &RecordDisbursement{}, &RecordRepayment{}, &AddCollateral{}, &MarkDefault{}, &CancelLoan{},
	}
}
