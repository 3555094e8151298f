package receipt

// Event is a typed record of what a transition did. Events feed the read
// model, the NATS event feed and the API's live stream; Refs let those
// filter by receipt, lot, pledge or participant.
type Event struct {
	Type  string // one of the Ev* constants
	Refs  []Ref
	Attrs []Attr
}

// Ref names a record an event concerns.
type Ref struct {
	Kind string // one of the Ref* constants
	ID   string
}

// Attr is one detail of an event, in a fixed order.
type Attr struct {
	Key   string
	Value string
}

// Ref kinds.
const (
	RefReceipt      = "receipt"
	RefLot          = "lot"
	RefPledge       = "pledge"
	RefParticipant  = "participant"
	RefWarehouse    = "warehouse"
	RefDevice       = "device"
	RefReleaseOrder = "release_order"
	RefLoan         = "loan"
	RefOffer        = "offer"
	RefAlert        = "alert"
)

// Event types of the receipt package.
const (
	EvParticipantRegistered = "participant.registered"
	EvParticipantSuspended  = "participant.suspended"
	EvParticipantReinstated = "participant.reinstated"
	EvParticipantKeyRotated = "participant.key_rotated"
	EvUpgradeScheduled      = "upgrade.scheduled"
	EvUpgradeApplied        = "upgrade.applied"
	EvValidatorSet          = "validator.set"

	EvReceiptIssued     = "receipt.issued"
	EvTransferInitiated = "receipt.transfer_initiated"
	EvTransferAccepted  = "receipt.transferred"
	EvTransferCancelled = "receipt.transfer_cancelled"
	EvReceiptSplit      = "receipt.split"
	EvReceiptMerged     = "receipt.merged"
	EvReceiptFrozen     = "receipt.frozen"
	EvReceiptUnfrozen   = "receipt.unfrozen"
	EvReceiptExpired    = "receipt.expired"
	EvReceiptVoided     = "receipt.voided"
	EvReceiptAmended    = "receipt.amended"
	EvReceiptCancelled  = "receipt.cancelled"
	EvPledgeRequested   = "pledge.requested"
	EvPledgeConfirmed   = "pledge.confirmed"
	EvPledgeRejected    = "pledge.rejected"
	EvPledgeWithdrawn   = "pledge.withdrawn"
	EvPledgeReleased    = "pledge.released"
	EvPledgeInvoked     = "pledge.invoked"
	EvPledgeLapsed      = "pledge.lapsed"
	EvDeliveryRequested = "delivery.requested"
	EvDeliveryCancelled = "delivery.cancelled"
	EvDeliveryConfirmed = "delivery.confirmed"
	EvReceiptReduced    = "receipt.partially_delivered"
)

// Refs builds a ref list, skipping empty ids.
func Refs(pairs ...string) []Ref {
	out := make([]Ref, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			out = append(out, Ref{Kind: pairs[i], ID: pairs[i+1]})
		}
	}
	return out
}

// receiptRefs are the refs every receipt event carries: the receipt, its
// lot, its holder and, when pledged, the pledge and its bank.
func receiptRefs(x *Exec, r *Receipt) []Ref {
	refs := Refs(RefReceipt, r.ID, RefLot, r.Lot, RefParticipant, r.Holder)
	if r.Pledge != "" {
		refs = append(refs, Ref{Kind: RefPledge, ID: r.Pledge})
		if p, ok := Load[Pledge](x, PledgeKey(r.Pledge)); ok && p.Bank != r.Holder {
			refs = append(refs, Ref{Kind: RefParticipant, ID: p.Bank})
		}
	}
	return refs
}
