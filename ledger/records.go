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

// recordTable maps a state key prefix to the record type stored under it
// and the name the API and the read model use for it.
var recordTable = []struct {
	prefix string
	kind   string
	typ    reflect.Type
}{
	{"r/", "receipt", reflect.TypeOf(receipt.Receipt{})},
	{"pl/", "pledge", reflect.TypeOf(receipt.Pledge{})},
	{"p/", "participant", reflect.TypeOf(receipt.Participant{})},
	{"l/", "lot", reflect.TypeOf(warehouse.Lot{})},
	{"w/", "warehouse", reflect.TypeOf(warehouse.Warehouse{})},
	{"b/", "bay", reflect.TypeOf(warehouse.Bay{})},
	{"d/", "device", reflect.TypeOf(warehouse.Device{})},
	{"ro/", "release_order", reflect.TypeOf(warehouse.ReleaseOrder{})},
	{"t/", "ticket", reflect.TypeOf(warehouse.UsedTicket{})},
	{"lh/", "lock_history", reflect.TypeOf(warehouse.LockHistory{})},
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
	{"c/consortium", "consortium", reflect.TypeOf(receipt.Consortium{})},
	{"c/params", "params", reflect.TypeOf(receipt.Params{})},
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
