package ledger

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
	"github.com/ewrchain/ewr/warehouse"
)

type recordType struct {
	prefix string
	kind   string
	typ    reflect.Type
}

// recordTable maps a state key prefix to the record type stored under it
// and the name the API and the read model use for it.
var recordTable = []recordType{
	{receipt.PrefixReceipt, "receipt", reflect.TypeOf(receipt.Receipt{})},
	{receipt.PrefixPledge, "pledge", reflect.TypeOf(receipt.Pledge{})},
	{receipt.PrefixParticipant, "participant", reflect.TypeOf(receipt.Participant{})},
	{warehouse.PrefixLot, "lot", reflect.TypeOf(warehouse.Lot{})},
	{warehouse.PrefixWarehouse, "warehouse", reflect.TypeOf(warehouse.Warehouse{})},
	{warehouse.PrefixBay, "bay", reflect.TypeOf(warehouse.Bay{})},
	{warehouse.PrefixDevice, "device", reflect.TypeOf(warehouse.Device{})},
	{warehouse.PrefixReleaseOrder, "release_order", reflect.TypeOf(warehouse.ReleaseOrder{})},
	{warehouse.PrefixTicket, "ticket", reflect.TypeOf(warehouse.UsedTicket{})},
	{warehouse.PrefixLockHistory, "lock_history", reflect.TypeOf(warehouse.LockHistory{})},
	{financing.PrefixPolicy, "credit_policy", reflect.TypeOf(financing.CreditPolicy{})},
	{financing.PrefixPrice, "price", reflect.TypeOf(financing.Price{})},
	{financing.PrefixLoan, "loan", reflect.TypeOf(financing.Loan{})},
	{financing.PrefixIndex, "open_loans", reflect.TypeOf(financing.OpenLoans{})},
	{trading.PrefixOffer, "offer", reflect.TypeOf(trading.Offer{})},
	{trading.PrefixTrade, "trade", reflect.TypeOf(trading.Trade{})},
	{trading.PrefixSettlement, "settlement", reflect.TypeOf(trading.Settlement{})},
	{iot.PrefixAlert, "alert", reflect.TypeOf(iot.Alert{})},
	{iot.PrefixWatch, "lot_watch", reflect.TypeOf(iot.Watch{})},
	{iot.PrefixAnchor, "anchor", reflect.TypeOf(iot.Anchor{})},
	{iot.PrefixAnchorHead, "anchor_head", reflect.TypeOf(iot.AnchorHead{})},
	{iot.PrefixDeviceMark, "device_mark", reflect.TypeOf(iot.DeviceMark{})},
	{iot.KeyRules, "iot_rules", reflect.TypeOf(iot.Rules{})},
	{receipt.KeyConsortium, "consortium", reflect.TypeOf(receipt.Consortium{})},
	{receipt.KeyParams, "params", reflect.TypeOf(receipt.Params{})},
	{receipt.KeyFormats, "formats", reflect.TypeOf(receipt.Formats{})},
	{receipt.KeyValidators, "validators", reflect.TypeOf(receipt.ValidatorSet{})},
}

// Prefixes lists every record kind's key prefix (and the singleton keys),
// in the table's order.
func Prefixes() []string {
	out := make([]string, len(recordTable))
	for i, r := range recordTable {
		out[i] = r.prefix
	}
	return out
}

// PrefixOf is the key prefix of a record kind ("receipt" → "r/").
func PrefixOf(kind string) (string, bool) {
	for _, r := range recordTable {
		if r.kind == kind {
			return r.prefix, true
		}
	}
	return "", false
}

// RecordKind names the kind of record stored at key ("receipt", "lot", …).
func RecordKind(key string) (string, bool) {
	for _, r := range recordTable {
		if strings.HasPrefix(key, r.prefix) {
			return r.kind, true
		}
	}
	return "", false
}

// DecodeByKey decodes the record stored at key into its Go type.
func DecodeByKey(key string, value []byte) (any, error) {
	for _, r := range recordTable {
		if strings.HasPrefix(key, r.prefix) {
			v := reflect.New(r.typ).Interface()
			if err := receipt.DecodeRecord(value, v); err != nil {
				return nil, fmt.Errorf("record %s: %w", key, err)
			}
			return v, nil
		}
	}
	return nil, fmt.Errorf("record %s: unknown key prefix", key)
}
