package api

import (
	"encoding/json"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// Request bodies of the actions whose record is named in the path. Version
// is required: the version of the receipt you saw (GET it first; the CLI
// does and shows it); an action on a receipt that changed since is refused
// (stale_version), one naming none is refused (missing_field). Actions whose body
// is exactly an op (issue, register stock, loans, offers, ...) take the
// op's fields, in snake_case.

// TransferRequest offers a receipt to a named transferee until Deadline
// (unix seconds; 0: a day from now).
type TransferRequest struct {
	To       string `json:"to"`
	Deadline int64  `json:"deadline,omitempty"`
	Version  uint64 `json:"version"`
}

// VersionRequest names the version the signer saw.
type VersionRequest struct {
	Version uint64 `json:"version"`
}

// Empty is a body with no fields.
type Empty struct{}

// SplitRequest splits a receipt into parts that add up to its quantity.
type SplitRequest struct {
	Parts   []receipt.Part `json:"parts"`
	Version uint64         `json:"version"`
}

// PledgeRequest asks Bank to take the receipt as collateral until
// Maturity. Pledge is the new pledge's id (empty: the node makes one).
type PledgeRequest struct {
	Pledge   string `json:"pledge,omitempty"`
	Bank     string `json:"bank"`
	Maturity int64  `json:"maturity"`
	Version  uint64 `json:"version"`
}

// ConfirmPledgeRequest is the bank taking control, on the receipt version
// it checked (0: the current one).
type ConfirmPledgeRequest struct {
	ReceiptVersion uint64 `json:"receipt_version"`
}

// ReasonRequest carries a reason.
type ReasonRequest struct {
	Reason string `json:"reason"`
}

// VersionReasonRequest carries a reason and the version the signer saw.
type VersionReasonRequest struct {
	Reason  string `json:"reason"`
	Version uint64 `json:"version"`
}

// DeliverRequest redeems Quantity of the goods (0: all that is left).
type DeliverRequest struct {
	Quantity uint64 `json:"quantity,omitempty"`
	Version  uint64 `json:"version"`
}

// AmendRequest changes a receipt's non-economic text.
type AmendRequest struct {
	Description      string `json:"description"`
	ThirdPartyClaims string `json:"third_party_claims"`
	Insurance        string `json:"insurance,omitempty"`
	Version          uint64 `json:"version"`
}

// TicketsRequest carries signed weigh tickets (a delivery's out-tickets)
// and, for a bay with an active scale, the scale's signed stable reading
// taken after the last truck weighed out: the lock's closing evidence.
type TicketsRequest struct {
	Tickets        []warehouse.SignedTicket `json:"tickets"`
	ClosingReading *iot.SignedReading       `json:"closing_reading,omitempty"`
}

// RecountRequest is a collateral manager's re-count of a lot in alarm
// (a regulator co-signs): the counted quantity and a fresh signed
// bay-scale reading as the new baseline.
type RecountRequest struct {
	Counted  uint64            `json:"counted"`
	Baseline iot.SignedReading `json:"baseline"`
	Note     string            `json:"note"`
	Version  uint64            `json:"version"` // the lot's version the collateral manager saw
}

// BayRequest adds a bay.
type BayRequest struct {
	Bay string `json:"bay"`
	// TareKg is what the bay's scale reads with the bay empty: the lock
	// expects it plus the goods.
	TareKg uint64 `json:"tare_kg,omitempty"`
}

// TareRequest records an empty bay's scale weight.
type TareRequest struct {
	TareKg uint64 `json:"tare_kg"`
}

// SupervisorsRequest replaces a warehouse's registered supervisors.
type SupervisorsRequest struct {
	Supervisors []string `json:"supervisors"`
}

// CalibrateRequest records a device's calibration certificate.
type CalibrateRequest struct {
	CalibratedUntil int64  `json:"calibrated_until"`
	Certificate     string `json:"certificate"`
}

// AmountRequest records money moved outside the chain.
type AmountRequest struct {
	Amount  uint64 `json:"amount"`
	Ref     string `json:"ref,omitempty"`
	Version uint64 `json:"version"` // the loan's version the signer saw
}

// PledgesRequest names pledges.
type PledgesRequest struct {
	Pledges []string `json:"pledges"`
	Version uint64   `json:"version"` // the loan's version the signer saw
}

// PledgeVersionRequest names the version of the pledge an action on a
// receipt's pledge acts on.
type PledgeVersionRequest struct {
	PledgeVersion uint64 `json:"pledge_version"`
}

// AcceptOfferRequest is the buyer accepting, naming the bank that will
// hold its funds.
type AcceptOfferRequest struct {
	BuyerBank string `json:"buyer_bank"`
}

// FundRequest is the buyer's bank confirming it holds the price.
type FundRequest struct {
	AmountMinor uint64 `json:"amount_minor"`
	Currency    string `json:"currency"`
	EscrowRef   string `json:"escrow_ref,omitempty"`
}

// DraftRequest starts any op as a draft: the token's participant acts and
// Cosigners sign too. Without cosigners (absent or null) the node works
// out who must sign, from the op and the state (an admin op's quorum is
// the first admins in order); an empty list means no one else.
type DraftRequest struct {
	OpType    string          `json:"op_type"`
	Op        json.RawMessage `json:"op"`
	Cosigners *[]string       `json:"cosigners,omitempty"`
}

// SignatureRequest is a co-signer's signature made offline over a draft's
// sign_bytes, with the public key it was made with.
type SignatureRequest struct {
	PublicKey receipt.PubKey `json:"public_key"`
	Signature [64]byte       `json:"signature"`
}

// SubmitTxRequest is a tx signed outside the node: either Tx, the whole
// signed tx, or Body with one signature per signer in order.
type SubmitTxRequest struct {
	Tx         []byte          `json:"tx,omitempty"`
	Body       []byte          `json:"body,omitempty"`
	Signatures []SignatureJSON `json:"signatures,omitempty"`
}

// SignatureJSON is one signer's signature.
type SignatureJSON struct {
	PublicKey receipt.PubKey `json:"public_key"`
	Signature [64]byte       `json:"signature"`
}

// EncodeTxRequest asks for the unsigned body of an op: Signers[0] acts.
// Nonce 0 picks a random one; ExpiresAt 0 is a thousand blocks ahead.
type EncodeTxRequest struct {
	OpType    string          `json:"op_type"`
	Op        json.RawMessage `json:"op"`
	Signers   []string        `json:"signers"`
	Nonce     uint64          `json:"nonce,omitempty,string"`
	ExpiresAt int64           `json:"expires_at,omitempty"`
}

// EncodedTx is an unsigned body: each signer signs SignBytes with ed25519
// and the tx is posted to /v1/txs as body + signatures.
type EncodedTx struct {
	ChainID   string   `json:"chain_id"`
	Signers   []string `json:"signers"`
	Nonce     uint64   `json:"nonce,string"`
	ExpiresAt int64    `json:"expires_at"`
	OpType    string   `json:"op_type"`
	Body      []byte   `json:"body"`
	SignBytes []byte   `json:"sign_bytes"`
	TxHash    string   `json:"tx_hash"`
}

// FaultRequest asks the device simulator for a fault: "theft" takes goods
// out of a bay (its load cell drops, its camera sees motion).
type FaultRequest struct {
	Kind      string `json:"kind"`
	Warehouse string `json:"warehouse"`
	Bay       string `json:"bay"`
	Quantity  uint64 `json:"quantity,omitempty"`
}

// IntakeRequest asks the device simulator to weigh trucks in and stack
// their goods on a bay: what each truck truly carries, in kg.
type IntakeRequest struct {
	Warehouse string   `json:"warehouse"`
	Bay       string   `json:"bay"`
	NetsKg    []uint64 `json:"nets_kg"`
}

// IntakeResult is the weighbridge's signed in-tickets for the trucks (their
// nets carry the weighbridge's error): what the operator registers the lot
// with.
type IntakeResult struct {
	Warehouse string                   `json:"warehouse"`
	Bay       string                   `json:"bay"`
	Tickets   []warehouse.SignedTicket `json:"tickets"`
}

// LoadOutView is a release order's load-out in the simulated warehouse:
// started by the warehouse staff when the order opens, done once the door
// closed after the last truck and the bay scale settled. Its tickets and
// closing reading are what the operator confirms the delivery with.
type LoadOutView struct {
	ReleaseOrder   string                   `json:"release_order"`
	Done           bool                     `json:"done"`
	Tickets        []warehouse.SignedTicket `json:"tickets,omitempty"`
	ClosingReading *iot.SignedReading       `json:"closing_reading,omitempty"`
	// BayWeightKg is what the bay's scale reads now (tare included).
	BayWeightKg uint64 `json:"bay_weight_kg"`
}

// FaultResult is what the simulator did.
type FaultResult struct {
	Kind      string `json:"kind"`
	Warehouse string `json:"warehouse"`
	Bay       string `json:"bay"`
	Detail    string `json:"detail"`
}

// Me is the participant a token acts for.
type Me struct {
	Participant *receipt.Participant `json:"participant"`
	HoldsKey    bool                 `json:"holds_key"`
}

// RotateKeyRequest replaces a participant's signing key.
type RotateKeyRequest struct {
	NewKey  receipt.PubKey `json:"new_key"`
	Version uint64         `json:"version"` // the participant's version the signer saw
}
