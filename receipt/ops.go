package receipt

// Ops lists one value of every op this package defines.
func Ops() []Op {
	return []Op{
		&RegisterParticipant{}, &SuspendParticipant{}, &ReinstateParticipant{}, &RotateKey{}, &SetValidator{},
		&InitiateTransfer{}, &AcceptTransfer{}, &CancelTransfer{},
		&Split{}, &Merge{},
		&RequestPledge{}, &ConfirmPledge{}, &RejectPledge{}, &WithdrawPledgeRequest{}, &ReleasePledge{}, &InvokePledge{},
		&Freeze{}, &Unfreeze{}, &Expire{}, &Void{}, &Amend{},
	}
}
