package indexer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
	"github.com/ewrchain/ewr/warehouse"
)

// The decoder table: one entry per record type the chain stores, naming
// the key prefix, the SQL table and how a canonical value becomes a row.
// Adding a record type is one entry here plus one migration creating its
// table; until then its records land in the fallback table "records"
// (fallback.go), and Migrate moves them to the new table once a binary has
// one.
//
// A row is: the key columns (the id parts of the key, in order), the
// columns decode writes, then updated_height and raw, which every record
// table has.

// recordTable is where one record type lands.
type recordTable struct {
	sqlTable
	prefix string // the key prefix up to and including the first '/', e.g. receipt.PrefixReceipt
	index  int    // in recordTables
	// keySQL rebuilds a row's record key in SQL: prefix and key columns.
	keySQL string
	// keyOnly are the columns of a delete: the key columns.
	keyOnly []col
	// claims, if set, says whether a key with the table's prefix is the
	// table's; the others go to the fallback.
	claims func(key string) bool
	// decode writes the columns between the key columns and updated_height
	// for the record with key id parts ids and canonical value raw. It
	// must check the value names the same ids as its key.
	decode func(w *row, ids []string, raw []byte) error
}

// recordTables lists every record table, in the order a block writes them
// and Checksum hashes them.
var recordTables = []*recordTable{
	newRecordTable(receipt.PrefixReceipt, "receipts", []string{"id"}, "version", []string{
		"version bigint", "state text", "holder text", "depositor text", "operator text", "warehouse text",
		"bay text", "lot text", "commodity text", "grade text", "quantity bigint", "unit text", "delivered bigint",
		"negotiable bool", "order_of text?", "issued_at bigint", "storage_until bigint", "valid_until bigint",
		"pledge text?", "transfer_to text?", "transfer_deadline bigint?", "release_order text?",
		"frozen_cause text?", "frozen_reason text?", "parents text[]", "children text[]",
	}, decodeReceipt),
	newRecordTable(warehouse.PrefixLot, "lots", []string{"id"}, "version", []string{
		"version bigint", "warehouse text", "bay text", "commodity text", "grade text", "unit text", "status text",
		"health text", "alert text?", "registered_qty bigint", "locked_qty bigint", "issued_qty bigint",
		"live_receipts int", "baseline bigint", "tolerance bigint", "registered_at bigint", "expected bigint",
	}, decodeLot),
	newRecordTable(receipt.PrefixPledge, "pledges", []string{"id"}, "version", []string{
		"version bigint", "receipt text", "pledgor text", "bank text", "status text", "receipt_version bigint",
		"quantity bigint", "requested_at bigint", "confirmed_at bigint?", "closed_at bigint?", "maturity bigint",
		"defaulted bool", "loan text?", "note text?",
	}, decodePledge),
	newRecordTable(warehouse.PrefixReleaseOrder, "release_orders", []string{"id"}, "version", []string{
		"version bigint", "receipt text", "lot text", "warehouse text", "holder text", "quantity bigint",
		"weighed bigint", "status text", "tickets text[]", "created_at bigint", "closed_at bigint?",
	}, decodeReleaseOrder),
	newRecordTable(warehouse.PrefixTicket, "used_tickets", []string{"warehouse", "number"}, "updated_height", []string{
		"direction text", "net bigint", "used_by text", "height bigint",
	}, decodeUsedTicket),
	newRecordTable(receipt.PrefixParticipant, "participants", []string{"id"}, "version", []string{
		"version bigint", "name text", "roles text[]", "status text", "pubkey bytea",
	}, decodeParticipant),
	newRecordTable(warehouse.PrefixWarehouse, "warehouses", []string{"id"}, "version", []string{
		"version bigint", "name text", "location text", "operator text", "collateral_manager text", "status text",
	}, decodeWarehouse),
	newRecordTable(warehouse.PrefixBay, "bays", []string{"warehouse", "id"}, "version", []string{
		"version bigint", "locked_by text?",
	}, decodeBay),
	newRecordTable(warehouse.PrefixDevice, "devices", []string{"id"}, "version", []string{
		"version bigint", "type text", "warehouse text", "bay text?", "calibrated_until bigint", "status text",
		"pubkey bytea",
	}, decodeDevice),
	withClaims(newRecordTable("c/", "config", []string{"key"}, "version", []string{
		"version bigint", "doc jsonb",
	}, decodeConfig), func(key string) bool { _, ok := recordKind(key); return ok }),

	newRecordTable(financing.PrefixPolicy, "credit_policies", []string{"bank", "commodity"}, "version", []string{
		"version bigint", "haircut_bps int", "initial_ltv_bps int", "maintenance_ltv_bps int",
		"margin_call_grace_sec bigint", "max_price_age_sec bigint", "updated_at bigint",
	}, decodePolicy),
	newRecordTable(financing.PrefixPrice, "prices", []string{"currency", "commodity"}, "version", []string{
		"version bigint", "minor_per_tonne bigint", "posted_at bigint", "posted_height bigint", "oracle text",
	}, decodePrice),
	newRecordTable(financing.PrefixLoan, "loans", []string{"id"}, "version", []string{
		"version bigint", "status text", "bank text", "borrower text", "commodity text", "currency text",
		"pledges text[]", "principal bigint", "disbursed bigint", "outstanding bigint", "exposure bigint",
		"haircut_bps int", "initial_ltv_bps int", "maintenance_ltv_bps int", "margin_call_grace_sec bigint",
		"policy_version bigint", "maturity bigint", "opened_at bigint",
		"call_raised_at bigint*", "call_deadline bigint*", "call_ltv_bps numeric*", "call_value numeric*",
		"call_price_per_tonne bigint*", "call_shortfall bigint*",
		"defaulted_at bigint?", "default_reason text?", "closed_at bigint?",
	}, decodeLoan),
	newRecordTable(financing.PrefixIndex, "open_loans", []string{"currency", "commodity"}, "version", []string{
		"version bigint", "loans text[]", "loan_count int",
	}, decodeOpenLoans),
	newRecordTable(trading.PrefixOffer, "offers", []string{"id"}, "version", []string{
		"version bigint", "status text", "seller text", "buyer text", "receipt text", "receipt_version bigint",
		"price bigint", "currency text", "deadline bigint", "pledge text?", "pledge_bank text?", "loan text?",
		"created_at bigint", "closed_at bigint?",
	}, decodeOffer),
	newRecordTable(trading.PrefixTrade, "trades", []string{"id"}, "version", []string{
		"version bigint", "status text", "seller text", "buyer text", "buyer_bank text", "receipt text",
		"price bigint", "currency text", "deadline bigint", "pledge text?", "pledge_bank text?", "loan text?",
		"accepted_at bigint", "funded_at bigint?", "escrow_ref text?", "closed_at bigint?", "note text?",
	}, decodeTrade),
	newRecordTable(trading.PrefixSettlement, "settlements", []string{"id"}, "version", []string{
		"version bigint", "receipt text", "receipt_version bigint", "seller text", "buyer text", "buyer_bank text",
		"price bigint", "currency text", "to_loan bigint", "to_seller bigint", "loan text?", "pledge text?",
		"pledge_bank text?", "loan_outstanding bigint", "settled_at bigint", "settled_height bigint",
	}, decodeSettlement),

	newRecordTable(iot.PrefixAlert, "alerts", []string{"id"}, "version", []string{
		"version bigint", "lot text", "warehouse text", "bay text", "kind text", "status text", "digest bytea",
		"readings text[]", "device text", "at_ms bigint", "last_seen_ms bigint", "submitted_by text", "frozen text[]",
		"opened_at bigint", "opened_height bigint", "closed_at bigint?", "closed_by text?", "resolution text?", "counted bigint",
	}, decodeAlert),
	newRecordTable(iot.PrefixWatch, "lot_watches", []string{"lot"}, "version", []string{
		"version bigint", "baseline_at_ms bigint", "baseline_reading text?", "baseline_by text?", "counted bigint",
		"alerts int", "last_alert text?",
	}, decodeWatch),
	newRecordTable(iot.PrefixAnchor, "anchors", []string{"warehouse", "stream", "seq"}, "version", []string{
		"version bigint", "first_seq bigint", "last_seq bigint", "count int", "root bytea", "prev_first_seq bigint",
		"anchored_by text", "anchored_height bigint", "anchored_at bigint",
	}, decodeAnchor),
	newRecordTable(iot.PrefixAnchorHead, "anchor_heads", []string{"warehouse", "stream"}, "version", []string{
		"version bigint", "last_seq bigint", "last_key text", "anchors bigint", "readings bigint",
	}, decodeAnchorHead),
	newRecordTable(iot.PrefixDeviceMark, "device_marks", []string{"device"}, "version", []string{
		"version bigint", "epoch bigint", "seq bigint", "time_ms bigint", "op text", "height bigint",
	}, decodeDeviceMark),
	newRecordTable(warehouse.PrefixLockHistory, "lock_histories", []string{"lot"}, "version", []string{
		"version bigint", "phases int", "since_ms bigint", "expected bigint", "open_orders int", "out_qty bigint",
	}, decodeLockHistory),

	// The fallback (fallback.go) is last: every key no table above claims.
	fallbackTable,
}

// recordTableByPrefix finds a key's table by its prefix.
var recordTableByPrefix = func() map[string]*recordTable {
	m := map[string]*recordTable{}
	for i, t := range recordTables {
		t.index = i
		if t == fallbackTable {
			if i != len(recordTables)-1 {
				panic("indexer: the fallback table must be the last")
			}
			continue
		}
		if _, dup := m[t.prefix]; dup {
			panic("indexer: two tables claim prefix " + t.prefix)
		}
		m[t.prefix] = t
	}
	return m
}()

func withClaims(t *recordTable, claims func(key string) bool) *recordTable {
	t.claims = claims
	return t
}

func newRecordTable(prefix, name string, keyCols []string, guard string, cols []string,
	decode func(w *row, ids []string, raw []byte) error) *recordTable {
	var specs []string
	for _, k := range keyCols {
		specs = append(specs, k+" text")
	}
	specs = append(specs, cols...)
	specs = append(specs, "updated_height bigint", "raw bytea")
	t := &recordTable{
		sqlTable: sqlTable{name: name, cols: parseCols(specs...), keyCols: keyCols, guard: guard},
		prefix:   prefix,
		decode:   decode,
	}
	t.keySQL = "'" + prefix + "' || " + strings.Join(keyCols, " || '/' || ")
	t.keyOnly = t.cols[:len(keyCols)]
	t.prepareSQL()
	return t
}

// keyExpr is SQL that rebuilds a record key from its id parts in the
// columns named col0, col1, … (colPrefix then the part's index).
func (t *recordTable) keyExpr(colPrefix string) string {
	var parts []string
	for i := range t.keyCols {
		parts = append(parts, colPrefix+strconv.Itoa(i))
	}
	if t.prefix == "" { // the fallback: the id is the whole key
		return parts[0]
	}
	return "'" + t.prefix + "' || " + strings.Join(parts, " || '/' || ")
}

// splitKey finds key's table and its id parts: the typed table its prefix
// names, or the fallback table (id: the whole key) for a key no typed table
// claims. A key of a typed prefix with the wrong number of id parts, or an
// empty one, is ErrDecode.
func splitKey(key string) (*recordTable, []string, error) {
	i := strings.IndexByte(key, '/')
	if i < 0 {
		return fallbackTable, []string{key}, nil
	}
	t, ok := recordTableByPrefix[key[:i+1]]
	if !ok || (t.claims != nil && !t.claims(key)) {
		return fallbackTable, []string{key}, nil
	}
	ids := strings.Split(key[i+1:], "/")
	if len(ids) != len(t.keyCols) {
		return nil, nil, fmt.Errorf("%w: key %q has %d id parts, %s wants %d", ErrDecode, key, len(ids), t.name, len(t.keyCols))
	}
	for _, id := range ids {
		if id == "" {
			return nil, nil, fmt.Errorf("%w: key %q has an empty id", ErrDecode, key)
		}
	}
	return t, ids, nil
}

// decodeAs decodes raw into a T.
func decodeAs[T any](raw []byte) (*T, error) {
	v := new(T)
	if err := receipt.DecodeRecord(raw, v); err != nil {
		return nil, err
	}
	return v, nil
}

func sameID(what, key, value string) error {
	if key != value {
		return fmt.Errorf("key names %s %q, value %q", what, key, value)
	}
	return nil
}

func decodeReceipt(w *row, ids []string, raw []byte) error {
	r, err := decodeAs[receipt.Receipt](raw)
	if err != nil {
		return err
	}
	if err := sameID("receipt", ids[0], r.ID); err != nil {
		return err
	}
	w.u64(r.Version).text(r.State.String()).text(r.Holder).text(r.Depositor).text(r.Operator).text(r.Warehouse).
		text(r.Place).text(r.Lot).text(r.Commodity).text(r.Grade).u64(r.Quantity).text(r.Unit).u64(r.Delivered).
		boolean(r.Negotiable).text(r.OrderOf).i64(r.IssuedAt).i64(r.StorageUntil).i64(r.ValidUntil).text(r.Pledge)
	if r.Transfer != nil {
		w.text(r.Transfer.To).i64(r.Transfer.Deadline)
	} else {
		w.text("").i64(0)
	}
	w.text(r.ReleaseOrder)
	if r.Frozen != nil {
		w.text(freezeCause(r.Frozen.Cause)).text(r.Frozen.Reason)
	} else {
		w.text("").text("")
	}
	w.texts(r.Parents).texts(r.Children)
	return nil
}

func freezeCause(c receipt.FreezeCause) string {
	switch c {
	case receipt.FreezeByRegulator:
		return "regulator"
	case receipt.FreezeByBreach:
		return "breach"
	}
	return "unknown"
}

func decodeLot(w *row, ids []string, raw []byte) error {
	l, err := decodeAs[warehouse.Lot](raw)
	if err != nil {
		return err
	}
	if err := sameID("lot", ids[0], l.ID); err != nil {
		return err
	}
	w.u64(l.Version).text(l.Warehouse).text(l.Bay).text(l.Commodity).text(l.Grade).text(l.Unit).
		text(l.Status.String()).text(l.Health.String()).text(l.Alert).u64(l.RegisteredQty).u64(l.LockedQty).
		u64(l.IssuedQty).i64(int64(len(l.Live))).u64(l.Baseline).u64(l.Tolerance).i64(l.RegisteredAt).u64(l.Expected)
	return nil
}

func decodePledge(w *row, ids []string, raw []byte) error {
	p, err := decodeAs[receipt.Pledge](raw)
	if err != nil {
		return err
	}
	if err := sameID("pledge", ids[0], p.ID); err != nil {
		return err
	}
	w.u64(p.Version).text(p.Receipt).text(p.Pledgor).text(p.Bank).text(p.Status.String()).u64(p.ReceiptVersion).
		u64(p.Quantity).i64(p.RequestedAt).i64(p.ConfirmedAt).i64(p.ClosedAt).i64(p.Maturity).
		boolean(p.Defaulted).text(p.Loan).text(p.Note)
	return nil
}

func decodeReleaseOrder(w *row, ids []string, raw []byte) error {
	ro, err := decodeAs[warehouse.ReleaseOrder](raw)
	if err != nil {
		return err
	}
	if err := sameID("release order", ids[0], ro.ID); err != nil {
		return err
	}
	w.u64(ro.Version).text(ro.Receipt).text(ro.Lot).text(ro.Warehouse).text(ro.Holder).u64(ro.Quantity).
		u64(ro.Weighed).text(ro.Status.String()).texts(ro.Tickets).i64(ro.CreatedAt).i64(ro.ClosedAt)
	return nil
}

func decodeUsedTicket(w *row, ids []string, raw []byte) error {
	t, err := decodeAs[warehouse.UsedTicket](raw)
	if err != nil {
		return err
	}
	if err := sameID("ticket", ids[1], t.Number); err != nil {
		return err
	}
	w.text(t.Direction.String()).u64(t.Net).text(t.UsedBy).i64(t.Height)
	return nil
}

func decodeParticipant(w *row, ids []string, raw []byte) error {
	p, err := decodeAs[receipt.Participant](raw)
	if err != nil {
		return err
	}
	if err := sameID("participant", ids[0], p.ID); err != nil {
		return err
	}
	var roles []string
	if p.Roles != 0 {
		roles = strings.Split(p.Roles.String(), ",")
	}
	w.u64(p.Version).text(p.Name).texts(roles).text(p.Status.String()).bytes(p.PubKey[:])
	return nil
}

func decodeWarehouse(w *row, ids []string, raw []byte) error {
	wh, err := decodeAs[warehouse.Warehouse](raw)
	if err != nil {
		return err
	}
	if err := sameID("warehouse", ids[0], wh.ID); err != nil {
		return err
	}
	w.u64(wh.Version).text(wh.Name).text(wh.Location).text(wh.Operator).text(wh.CollateralManager).text(wh.Status.String())
	return nil
}

func decodeBay(w *row, ids []string, raw []byte) error {
	b, err := decodeAs[warehouse.Bay](raw)
	if err != nil {
		return err
	}
	if err := sameID("warehouse", ids[0], b.Warehouse); err != nil {
		return err
	}
	if err := sameID("bay", ids[1], b.ID); err != nil {
		return err
	}
	w.u64(b.Version).text(b.LockedBy)
	return nil
}

func decodeDevice(w *row, ids []string, raw []byte) error {
	d, err := decodeAs[warehouse.Device](raw)
	if err != nil {
		return err
	}
	if err := sameID("device", ids[0], d.ID); err != nil {
		return err
	}
	w.u64(d.Version).text(d.Type.String()).text(d.Warehouse).text(d.Bay).i64(d.CalibratedUntil).
		text(d.Status.String()).bytes(d.PubKey[:])
	return nil
}

// decodeConfig handles the "c/" keys ledger knows (the table claims no
// other): one record type per key (the consortium, the parameters, the IoT
// rules, …), each with a Version.
func decodeConfig(w *row, ids []string, raw []byte) error {
	key := "c/" + ids[0]
	v, err := decodeByKey(key, raw)
	if err != nil {
		return err
	}
	version, ok := recordVersionOf(v)
	if !ok {
		return fmt.Errorf("config record %q has no Version", key)
	}
	doc, err := jsonDoc(v)
	if err != nil {
		return err
	}
	w.u64(version).json(doc)
	return nil
}
