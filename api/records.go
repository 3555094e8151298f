package api

import (
	"strings"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
	"github.com/ewrchain/ewr/warehouse"
)

// alertPrefix is where package iot keeps its alert records.
const alertPrefix = iot.PrefixAlert

// kinds maps a record kind to its state key prefix, its collection path
// and the rule error of a missing one.
var kinds = map[string]struct {
	prefix   string
	path     string
	notFound *receipt.Error
}{
	"receipt":       {receipt.PrefixReceipt, "receipts", receipt.ErrReceiptNotFound},
	"pledge":        {receipt.PrefixPledge, "pledges", receipt.ErrPledgeNotFound},
	"participant":   {receipt.PrefixParticipant, "participants", receipt.ErrUnknownParticipant},
	"lot":           {warehouse.PrefixLot, "lots", warehouse.ErrLotNotFound},
	"warehouse":     {warehouse.PrefixWarehouse, "warehouses", warehouse.ErrWarehouseNotFound},
	"device":        {warehouse.PrefixDevice, "devices", warehouse.ErrDeviceNotFound},
	"release_order": {warehouse.PrefixReleaseOrder, "release-orders", warehouse.ErrReleaseOrderUnknown},
	"loan":          {financing.PrefixLoan, "loans", financing.ErrLoanNotFound},
	"offer":         {trading.PrefixOffer, "offers", trading.ErrOfferNotFound},
	"trade":         {trading.PrefixTrade, "trades", trading.ErrTradeNotFound},
	"settlement":    {trading.PrefixSettlement, "settlements", trading.ErrTradeNotFound},
	"alert":         {alertPrefix, "alerts", nil},
}

// loadRecord reads the record of kind with id from st, decoded to its Go
// type (a pointer), or the kind's not-found rule error.
func loadRecord(st receipt.Store, kind, id string) (any, error) {
	k, ok := kinds[kind]
	if !ok {
		return nil, failf(PNotFound, "%s %s", kind, id)
	}
	key := k.prefix + id
	b, found := st.Get(key)
	if !found {
		return nil, missing(kind, id)
	}
	return ledger.DecodeByKey(key, b)
}

// missing is the answer for a record of kind that does not exist, and
// for one the reader may not read: the same, so that a 404 says nothing.
func missing(kind, id string) error {
	if k, ok := kinds[kind]; ok && k.notFound != nil {
		return receipt.Errorf(k.notFound, "%q", id)
	}
	return failf(PNotFound, "%s %q", kind, id)
}

// readRecord is loadRecord under the read policy.
func (rc *reqCtx) readRecord(kind, id string) (any, error) {
	v, err := loadRecord(rc.state(), kind, id)
	if err != nil {
		return nil, err
	}
	if !rc.reader().mayRead(v) {
		return nil, missing(kind, id)
	}
	return rc.reader().redact(v), nil
}

// get reads a typed record.
func get[T any](st receipt.Store, key string) (*T, bool) { return ledger.Get[T](st, key) }

// walk lists the records under prefix in key order, one page: items after
// pg.After (an id), at most pg.Limit, those keep accepts. The chain's state
// lists them from pebble's ordered keys, reading from the cursor on until
// the page is full.
func walk[T any](st receipt.Store, prefix string, pg indexer.Page, keep func(*T) bool) ([]*T, string) {
	out := []*T{}
	limit := pg.Limit
	if limit <= 0 {
		limit = indexer.DefaultPageSize
	}
	next, full := "", false
	visit := func(key string, value []byte) bool {
		id := strings.TrimPrefix(key, prefix)
		if pg.After != "" && id <= pg.After {
			return true
		}
		v := new(T)
		if receipt.DecodeRecord(value, v) != nil || (keep != nil && !keep(v)) {
			return true
		}
		if len(out) == limit {
			full = true
			return false
		}
		out = append(out, v)
		next = id
		return true
	}
	switch r := st.(type) {
	case ledger.Lister:
		r.List(prefix, pg.After, visit)
	case ledger.Ranger:
		r.Range(prefix, func(key string, value []byte) {
			if !full {
				visit(key, value)
			}
		})
	}
	if !full {
		next = ""
	}
	return out, next
}
