package warehouse

import "github.com/ewrchain/ewr/receipt"

// Ops lists one value of every op this package defines.
func Ops() []receipt.Op {
	return []receipt.Op{
		&RegisterWarehouse{}, &AddBay{}, &SetBayTare{}, &SetSupervisors{},
		&RegisterDevice{}, &SuspendDevice{}, &CalibrateDevice{},
		&RegisterStock{}, &IssueReceipt{},
		&RequestDelivery{}, &CancelDelivery{}, &ConfirmDelivery{},
	}
}
