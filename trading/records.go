package trading

import (
	"fmt"

	"github.com/ewrchain/ewr/receipt"
)

// Errors of the trading package (codes 400–499).
var (
	ErrOfferExists      = receipt.NewError(400, "offer_exists", receipt.KindConflict, "trading: offer id already used")
	ErrOfferNotFound    = receipt.NewError(401, "offer_not_found", receipt.KindNotFound, "trading: offer not found")
	ErrOfferNotOpen     = receipt.NewError(402, "offer_not_open", receipt.KindConflict, "trading: offer not open")
	ErrNotBuyer         = receipt.NewError(403, "not_buyer", receipt.KindForbidden, "trading: signer is not the named buyer")
	ErrNotSeller        = receipt.NewError(404, "not_seller", receipt.KindForbidden, "trading: signer is not the seller")
	ErrDeadlinePassed   = receipt.NewError(405, "trade_deadline_passed", receipt.KindConflict, "trading: deadline passed")
	ErrBadDeadline      = receipt.NewError(406, "trade_bad_deadline", receipt.KindInvalid, "trading: deadline out of range")
	ErrPledgeeConsent   = receipt.NewError(407, "sale_needs_pledgee_consent", receipt.KindForbidden, "trading: sale of a pledged receipt needs its pledgee's consent")
	ErrTradeNotFound    = receipt.NewError(408, "trade_not_found", receipt.KindNotFound, "trading: trade not found")
	ErrNotBuyerBank     = receipt.NewError(409, "not_buyer_bank", receipt.KindForbidden, "trading: signer is not the buyer's bank")
	ErrNotAwaitingFunds = receipt.NewError(410, "not_awaiting_funds", receipt.KindConflict, "trading: trade is not awaiting funds")
	ErrNoFunds          = receipt.NewError(411, "funds_not_held", receipt.KindRule, "trading: the buyer's funds are not confirmed held")
	ErrTradeClosed      = receipt.NewError(412, "trade_closed", receipt.KindConflict, "trading: trade already settled or cancelled")
	ErrAmountMismatch   = receipt.NewError(413, "funds_mismatch", receipt.KindRule, "trading: funds held differ from the price")
	ErrNotParty         = receipt.NewError(414, "not_trade_party", receipt.KindForbidden, "trading: signer is not a party to the trade")
	ErrCancelRefused    = receipt.NewError(415, "cancel_refused", receipt.KindForbidden, "trading: a funded trade is cancelled by buyer and seller together, or by anyone after the deadline")
	ErrCurrencyMismatch = receipt.NewError(416, "currency_mismatch", receipt.KindRule, "trading: price currency differs from the secured loan's")
	ErrOfferChanged     = receipt.NewError(417, "offer_receipt_changed", receipt.KindConflict, "trading: receipt changed since the offer")
)

// Event types of the trading package.
const (
	EvOfferCreated   = "offer.created"
	EvOfferWithdrawn = "offer.withdrawn"
	EvOfferAccepted  = "offer.accepted"
	EvTradeFunded    = "trade.funded"
	EvTradeSettled   = "trade.settled"
	EvTradeCancelled = "trade.cancelled"
)

// Record keys. A trade and its settlement have the id of the offer they
// came from.
//
//	tof/<offer>  Offer
//	ttr/<offer>  Trade
//	tse/<offer>  Settlement
func OfferKey(id string) string      { return "tof/" + id }
func TradeKey(id string) string      { return "ttr/" + id }
func SettlementKey(id string) string { return "tse/" + id }

// Key prefixes of the records this package owns.
const (
	PrefixOffer      = "tof/"
	PrefixTrade      = "ttr/"
	PrefixSettlement = "tse/"
)

// OfferStatus is where an offer is.
type OfferStatus uint8

// Offer statuses. An OPEN offer past its deadline can no longer be
// accepted; it needs no op to lapse.
const (
	OfferOpen      OfferStatus = iota + 1
	OfferAccepted              // the named buyer accepted: a trade exists
	OfferWithdrawn             // the seller took it back
)

// TradeStatus is where a trade is.
type TradeStatus uint8

// Trade statuses. AWAITING_FUNDS and FUNDED are open: they lock the receipt.
const (
	TradeAwaitingFunds TradeStatus = iota + 1
	TradeFunded                    // the buyer's bank holds the price in escrow
	TradeSettled                   // receipt delivered, payment released
	TradeCancelled                 // receipt returned, escrow released
)

// Open reports whether the trade still locks its receipt.
func (s TradeStatus) Open() bool { return s == TradeAwaitingFunds || s == TradeFunded }

var (
	offerStatusNames = []string{"", "OPEN", "ACCEPTED", "WITHDRAWN"}
	tradeStatusNames = []string{"", "AWAITING_FUNDS", "FUNDED", "SETTLED", "CANCELLED"}
)

func (s OfferStatus) String() string { return enumName(offerStatusNames, int(s)) }
func (s TradeStatus) String() string { return enumName(tradeStatusNames, int(s)) }

// MarshalText implements encoding.TextMarshaler.
func (s OfferStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalText implements encoding.TextMarshaler.
func (s TradeStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *OfferStatus) UnmarshalText(b []byte) error {
	v, err := enumValue(offerStatusNames, string(b), "offer status")
	*s = OfferStatus(v)
	return err
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *TradeStatus) UnmarshalText(b []byte) error {
	v, err := enumValue(tradeStatusNames, string(b), "trade status")
	*s = TradeStatus(v)
	return err
}

func enumName(names []string, i int) string {
	if i > 0 && i < len(names) {
		return names[i]
	}
	return "UNKNOWN"
}

func enumValue(names []string, s, kind string) (uint8, error) {
	for i := 1; i < len(names); i++ {
		if names[i] == s {
			return uint8(i), nil
		}
	}
	return 0, fmt.Errorf("trading: unknown %s %q", kind, s)
}

// Offer is a holder's offer to sell a receipt to a named buyer at a price
// until a deadline. It does not lock the receipt: the buyer's acceptance
// does, on the receipt version offered.
type Offer struct {
	ID             string
	Version        uint64
	Status         OfferStatus
	Seller         string
	Buyer          string
	Receipt        string
	ReceiptVersion uint64
	PriceMinor     uint64
	Currency       string
	Deadline       int64 // acceptance and settlement by then
	// Pledge is the active pledge whose bank co-signed the offer (its
	// consent to the sale), and Loan the loan it secures: the proceeds pay
	// it first.
	Pledge     string
	PledgeBank string
	Loan       string
	CreatedAt  int64
	ClosedAt   int64
}

// Trade is an accepted offer on its way to settlement.
type Trade struct {
	ID         string // the offer's id
	Version    uint64
	Status     TradeStatus
	Seller     string
	Buyer      string
	BuyerBank  string
	Receipt    string
	PriceMinor uint64
	Currency   string
	Deadline   int64
	Pledge     string
	PledgeBank string
	Loan       string
	AcceptedAt int64
	FundedAt   int64
	EscrowRef  string // the buyer's bank's reference for the funds it holds
	ClosedAt   int64
	Note       string
}

// Settlement is what a settled trade did, written once: the receipt went
// to the buyer, and the price was paid out in two legs that add up to it.
type Settlement struct {
	Trade          string
	Receipt        string
	ReceiptVersion uint64 // the receipt's version after it moved
	Seller         string
	Buyer          string
	BuyerBank      string
	PriceMinor     uint64
	Currency       string
	ToLoanMinor    uint64 // proceeds paid to the loan the receipt secured
	ToSellerMinor  uint64
	Loan           string
	Pledge         string
	PledgeBank     string
	// LoanOutstanding is what the loan still owes after the proceeds.
	LoanOutstanding uint64
	At              int64
	Height          int64
	Version         uint64
}

// LoadOffer loads an offer.
func LoadOffer(x *receipt.Exec, id string) (*Offer, error) {
	o, ok := receipt.Load[Offer](x, OfferKey(id))
	if !ok {
		return nil, receipt.Errorf(ErrOfferNotFound, "%q", id)
	}
	return o, nil
}

// LoadTrade loads a trade.
func LoadTrade(x *receipt.Exec, id string) (*Trade, error) {
	t, ok := receipt.Load[Trade](x, TradeKey(id))
	if !ok {
		return nil, receipt.Errorf(ErrTradeNotFound, "%q", id)
	}
	return t, nil
}

func saveOffer(x *receipt.Exec, o *Offer) {
	o.Version++
	receipt.Save(x, OfferKey(o.ID), o)
}

func saveTrade(x *receipt.Exec, t *Trade) {
	t.Version++
	receipt.Save(x, TradeKey(t.ID), t)
}

func tradeRefs(t *Trade) []receipt.Ref {
	return receipt.Refs(receipt.RefOffer, t.ID, receipt.RefReceipt, t.Receipt, receipt.RefParticipant, t.Seller,
		receipt.RefParticipant, t.Buyer, receipt.RefParticipant, t.BuyerBank, receipt.RefLoan, t.Loan, receipt.RefPledge, t.Pledge)
}

// Ops lists one value of every op this package defines.
func Ops() []receipt.Op {
	return []receipt.Op{&CreateOffer{}, &WithdrawOffer{}, &AcceptOffer{}, &ConfirmFunds{}, &Settle{}, &CancelTrade{}}
}
