package ledger

import (
	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// PositionKeys are the state keys of every record a bank relies on for a
// receipt, the receipt's first: its pledge and the pledge's bank, the lot
// with its lock, the lot's watch (baseline, alerts) and its latest alert,
// the loan the pledge secures, and the price and credit policy the loan is
// marked to. get reads one consistent state; a record that does not exist
// is still named when the chain of references leads to it, so that a
// bundle can prove its absence.
func PositionKeys(get func(key string) ([]byte, bool), receiptID string) []string {
	keys := []string{receipt.ReceiptKey(receiptID)}
	var r receipt.Receipt
	if !decodeAt(get, keys[0], &r) {
		return keys
	}
	keys = append(keys, warehouse.LotKey(r.Lot), iot.WatchKey(r.Lot))
	var w iot.Watch
	if decodeAt(get, iot.WatchKey(r.Lot), &w) && w.LastAlert != "" {
		keys = append(keys, iot.AlertKey(w.LastAlert))
	}
	if r.Pledge == "" {
		return keys
	}
	keys = append(keys, receipt.PledgeKey(r.Pledge))
	var p receipt.Pledge
	if !decodeAt(get, receipt.PledgeKey(r.Pledge), &p) {
		return keys
	}
	keys = append(keys, receipt.ParticipantKey(p.Bank))
	if p.Loan == "" {
		return keys
	}
	keys = append(keys, financing.LoanKey(p.Loan))
	var l financing.Loan
	if decodeAt(get, financing.LoanKey(p.Loan), &l) {
		keys = append(keys, financing.PriceKey(l.Currency, l.Commodity), financing.PolicyKey(l.Bank, l.Commodity))
	}
	return keys
}

func decodeAt(get func(string) ([]byte, bool), key string, v any) bool {
	raw, ok := get(key)
	return ok && receipt.DecodeRecord(raw, v) == nil
}
