package indexer

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/lib/pq"
)

// Limits of the queries. Every list is a page of at most MaxPageSize.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
	// MaxLineage bounds the receipts one Lineage answer lists, and
	// MaxLineageDepth how many generations it walks each way.
	MaxLineage      = 1000
	MaxLineageDepth = 64
	// maxExposureRows bounds PledgedExposure: commodity × warehouse × unit
	// groups of one bank.
	maxExposureRows = 10_000
)

// Page asks for one page of a list in id order: up to Limit items (0:
// DefaultPageSize; capped at MaxPageSize) after the id After (empty: from
// the start). A list returns the cursor of the next page, empty after the
// last.
type Page struct {
	After string
	Limit int
}

func (p Page) limit() int {
	switch {
	case p.Limit <= 0:
		return DefaultPageSize
	case p.Limit > MaxPageSize:
		return MaxPageSize
	}
	return p.Limit
}

// Queries reads the read model for the API and the financing and trading
// modules. Its answers reflect the checkpoint at the time of the query.
// It is safe for concurrent use.
//
// Its statements are planned on every call, with their parameters: a
// prepared statement's generic plan would serve "bank = $1 … ORDER BY id
// LIMIT $2" by walking the primary key and filtering, tens of times slower
// than the index on bank that the values call for.
type Queries struct {
	db *sql.DB
}

// NewQueries returns the queries on db.
func NewQueries(db *sql.DB) *Queries { return &Queries{db: db} }

// query runs a query, in tx if it is not nil.
func (q *Queries) query(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if tx != nil {
		return tx.QueryContext(ctx, query, args...)
	}
	return q.db.QueryContext(ctx, query, args...)
}

// where builds a WHERE clause with numbered parameters.
type where struct {
	conds []string
	args  []any
}

// add adds a condition; each "?" in cond becomes the next parameter.
func (w *where) add(cond string, args ...any) {
	for _, a := range args {
		w.args = append(w.args, a)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1)
	}
	w.conds = append(w.conds, cond)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return "true"
	}
	return strings.Join(w.conds, " AND ")
}

// pageOf runs a query whose rows are (id, raw), decodes each raw into a T
// and returns the page and the next cursor. q has its WHERE and ORDER BY
// id; pageOf adds the LIMIT.
func pageOf[T any](ctx context.Context, db *sql.DB, q string, args []any, limit int) ([]*T, string, error) {
	args = append(args, limit+1)
	rows, err := db.QueryContext(ctx, q+" LIMIT $"+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, "", fmt.Errorf("indexer: query: %w", err)
	}
	defer rows.Close()
	var out []*T
	var ids []string
	for rows.Next() {
		var id string
		var raw []byte
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, "", fmt.Errorf("indexer: query: %w", err)
		}
		v, err := decodeAs[T](raw)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %s: %w", ErrDecode, id, err)
		}
		out = append(out, v)
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("indexer: query: %w", err)
	}
	if len(out) > limit {
		return out[:limit], ids[limit-1], nil
	}
	return out, "", nil
}

// one reads one record by id.
func one[T any](ctx context.Context, db *sql.DB, table, id string) (*T, error) {
	var raw []byte
	err := db.QueryRowContext(ctx, `SELECT raw FROM `+table+` WHERE id = $1`, id).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s %q", ErrNotFound, table, id)
	}
	if err != nil {
		return nil, fmt.Errorf("indexer: query %s: %w", table, err)
	}
	v, err := decodeAs[T](raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q: %w", ErrDecode, table, id, err)
	}
	return v, nil
}

// Receipt returns a receipt as of the checkpoint, or ErrNotFound.
func (q *Queries) Receipt(ctx context.Context, id string) (*receipt.Receipt, error) {
	return one[receipt.Receipt](ctx, q.db, "receipts", id)
}

// ReceiptsByHolder lists the receipts holder holds, in id order.
func (q *Queries) ReceiptsByHolder(ctx context.Context, holder string, f ReceiptFilter, p Page) ([]*receipt.Receipt, string, error) {
	f.Holder = holder
	return q.Receipts(ctx, f, p)
}

// ReceiptsOnLot lists the receipts issued against lot (and split or
// merged from them), in id order.
func (q *Queries) ReceiptsOnLot(ctx context.Context, lot string, f ReceiptFilter, p Page) ([]*receipt.Receipt, string, error) {
	f.Lot = lot
	return q.Receipts(ctx, f, p)
}

// Receipts lists the receipts f selects, in id order.
func (q *Queries) Receipts(ctx context.Context, f ReceiptFilter, p Page) ([]*receipt.Receipt, string, error) {
	return listWhere(ctx, q, "receipts", f.Filter(), p)
}

// listWhere is one page of table's records that f selects, in id order.
func listWhere[T any](ctx context.Context, q *Queries, table string, f Filter[T], p Page) ([]*T, string, error) {
	var w where
	w.add("id > ?", p.After)
	f.apply(&w)
	return pageOf[T](ctx, q.db, `SELECT id, raw FROM `+table+` WHERE `+w.sql()+` ORDER BY id`, w.args, p.limit())
}

// Event is one event as the read model holds it, with its tx.
type Event struct {
	EventPos
	BlockTime int64
	Type      string
	Refs      []receipt.Ref
	Attrs     map[string]string
	OpType    string   // the op of the tx that emitted it
	Signers   []string // who signed that tx
	TxHash    []byte
}

// EventPos is an event's place in chain order, and a cursor in event lists.
type EventPos struct {
	Height  int64
	TxIndex uint32
	Index   uint32
}

// AfterHeight is the cursor that starts an event list after every event
// of block height.
func AfterHeight(height int64) *EventPos {
	return &EventPos{Height: height, TxIndex: math.MaxUint32, Index: math.MaxUint32}
}

// EventFilter selects events. Zero fields do not filter.
type EventFilter struct {
	After *EventPos // events strictly after this one; nil: from the first
	Types []string  // any of these types
	Refs  []receipt.Ref
	// AnyRef: an event matches if it refers to any of Refs; otherwise it
	// must refer to all of them.
	AnyRef bool
}

// Events lists events in chain order: the feed for "what happened after
// height h to receipt r". At most limit (capped at MaxPageSize); the last
// event's EventPos is the next cursor.
func (q *Queries) Events(ctx context.Context, f EventFilter, limit int) ([]Event, error) {
	var w where
	if f.After != nil {
		w.add("(e.height, e.tx_index, e.event_index) > (?::bigint, ?::bigint, ?::bigint)", f.After.Height, int64(f.After.TxIndex), int64(f.After.Index))
	}
	if len(f.Types) > 0 {
		w.add("e.type = ANY(?)", pq.StringArray(f.Types))
	}
	if len(f.Refs) > 0 {
		refs := make([]string, len(f.Refs))
		for i, r := range f.Refs {
			refs[i] = r.Kind + ":" + r.ID
		}
		if f.AnyRef {
			w.add("e.refs && ?::text[]", pq.StringArray(refs))
		} else {
			w.add("e.refs @> ?::text[]", pq.StringArray(refs))
		}
	}
	limit = Page{Limit: limit}.limit()
	w.args = append(w.args, limit)
	rows, err := q.db.QueryContext(ctx, `
		SELECT e.height, e.tx_index, e.event_index, b.block_time, e.type, e.refs, e.attrs, t.op_type, t.signers, t.hash
		FROM events e
		JOIN blocks b ON b.height = e.height
		JOIN txs t ON t.height = e.height AND t.tx_index = e.tx_index
		WHERE `+w.sql()+`
		ORDER BY e.height, e.tx_index, e.event_index
		LIMIT $`+strconv.Itoa(len(w.args)), w.args...)
	if err != nil {
		return nil, fmt.Errorf("indexer: events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var refs, signers pq.StringArray
		var attrs []byte
		if err := rows.Scan(&e.Height, &e.TxIndex, &e.Index, &e.BlockTime, &e.Type, &refs, &attrs, &e.OpType, &signers, &e.TxHash); err != nil {
			return nil, fmt.Errorf("indexer: events: %w", err)
		}
		for _, r := range refs {
			kind, id, _ := strings.Cut(r, ":")
			e.Refs = append(e.Refs, receipt.Ref{Kind: kind, ID: id})
		}
		if err := json.Unmarshal(attrs, &e.Attrs); err != nil {
			return nil, fmt.Errorf("indexer: events: attrs: %w", err)
		}
		e.Signers = signers
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("indexer: events: %w", err)
	}
	return out, nil
}

// ReceiptHistory lists every event that refers to receipt id, in chain
// order: issue, pledges, transfers, the split that made or ended it,
// deliveries. Page through a long history with after (nil: from the
// start) and the last event's position.
func (q *Queries) ReceiptHistory(ctx context.Context, id string, after *EventPos, limit int) ([]Event, error) {
	return q.Events(ctx, EventFilter{After: after, Refs: []receipt.Ref{{Kind: receipt.RefReceipt, ID: id}}}, limit)
}

// LineageNode is one receipt in a lineage.
type LineageNode struct {
	ID       string
	State    string
	Holder   string
	Quantity uint64
	Parents  []string
	Children []string
	// Depth is the generation relative to the receipt asked about: -1 its
	// parents, -2 their parents, 0 itself, 1 its children. A receipt
	// reachable at several depths (through a merge) is listed at the
	// nearest.
	Depth int
}

// Lineage is a receipt's ancestors and descendants through splits and
// merges.
type Lineage struct {
	Receipt     LineageNode
	Ancestors   []LineageNode // nearest generation first, by id within one
	Descendants []LineageNode
	// Truncated says the lineage holds more than MaxLineage receipts or
	// MaxLineageDepth generations, and only the nearest were listed.
	Truncated bool
}

// Lineage walks receipt id's parents and children (a recursive query over
// the parents and children columns), up to MaxLineageDepth generations
// each way and MaxLineage receipts in all. ErrNotFound if id is unknown.
func (q *Queries) Lineage(ctx context.Context, id string) (*Lineage, error) {
	rows, err := q.db.QueryContext(ctx, `
		WITH RECURSIVE
		up(id, depth) AS (
			SELECT p.id, 1 FROM receipts r CROSS JOIN LATERAL unnest(r.parents) AS p(id) WHERE r.id = $1
			UNION
			SELECT p.id, u.depth + 1 FROM up u JOIN receipts r ON r.id = u.id
				CROSS JOIN LATERAL unnest(r.parents) AS p(id) WHERE u.depth <= $2
		),
		down(id, depth) AS (
			SELECT c.id, 1 FROM receipts r CROSS JOIN LATERAL unnest(r.children) AS c(id) WHERE r.id = $1
			UNION
			SELECT c.id, d.depth + 1 FROM down d JOIN receipts r ON r.id = d.id
				CROSS JOIN LATERAL unnest(r.children) AS c(id) WHERE d.depth <= $2
		),
		nodes(id, depth) AS (
			SELECT $1::text, 0
			UNION ALL SELECT id, -min(depth) FROM up GROUP BY id
			UNION ALL SELECT id, min(depth) FROM down GROUP BY id
		)
		SELECT n.depth, r.id, r.state, r.holder, r.quantity, r.parents, r.children
		FROM nodes n JOIN receipts r ON r.id = n.id
		ORDER BY abs(n.depth), n.depth, r.id
		LIMIT $3`, id, MaxLineageDepth, MaxLineage+1)
	if err != nil {
		return nil, fmt.Errorf("indexer: lineage: %w", err)
	}
	defer rows.Close()
	var l Lineage
	found, n := false, 0
	for rows.Next() {
		var node LineageNode
		var parents, children pq.StringArray
		if err := rows.Scan(&node.Depth, &node.ID, &node.State, &node.Holder, &node.Quantity, &parents, &children); err != nil {
			return nil, fmt.Errorf("indexer: lineage: %w", err)
		}
		node.Parents, node.Children = parents, children
		n++
		switch {
		case n > MaxLineage || node.Depth > MaxLineageDepth || -node.Depth > MaxLineageDepth:
			l.Truncated = true
		case node.Depth == 0:
			l.Receipt, found = node, true
		case node.Depth < 0:
			l.Ancestors = append(l.Ancestors, node)
		default:
			l.Descendants = append(l.Descendants, node)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("indexer: lineage: %w", err)
	}
	if !found {
		return nil, fmt.Errorf("%w: receipt %q", ErrNotFound, id)
	}
	return &l, nil
}

// Lot returns a lot as of the checkpoint, or ErrNotFound.
func (q *Queries) Lot(ctx context.Context, id string) (*warehouse.Lot, error) {
	return one[warehouse.Lot](ctx, q.db, "lots", id)
}

// Lots lists the lots of a warehouse in id order, with their health, lock
// and issued quantities (warehouse.Lot).
func (q *Queries) Lots(ctx context.Context, warehouseID string, f LotFilter, p Page) ([]*warehouse.Lot, string, error) {
	f.Warehouse = warehouseID
	return listWhere(ctx, q, "lots", f.Filter(), p)
}

// PledgesByBank lists a bank's pledges in id order, of any of statuses
// (none: all).
func (q *Queries) PledgesByBank(ctx context.Context, bank string, statuses []receipt.PledgeStatus, p Page) ([]*receipt.Pledge, string, error) {
	return q.Pledges(ctx, PledgeFilter{Bank: bank, Statuses: statuses}, p)
}

// PledgesOfReceipt lists every pledge ever requested on a receipt, in id
// order.
func (q *Queries) PledgesOfReceipt(ctx context.Context, receiptID string, p Page) ([]*receipt.Pledge, string, error) {
	return q.Pledges(ctx, PledgeFilter{Receipt: receiptID}, p)
}

// Pledges lists the pledges f selects, in id order.
func (q *Queries) Pledges(ctx context.Context, f PledgeFilter, p Page) ([]*receipt.Pledge, string, error) {
	return listWhere(ctx, q, "pledges", f.Filter(), p)
}

// Exposure is what a bank holds as collateral in one commodity at one
// warehouse: the receipts under its active pledges.
type Exposure struct {
	Commodity string
	Warehouse string
	Unit      string // quantities of different units are never summed
	Pledges   int
	// Quantity is the receipts' current quantity (after any partial
	// delivery the bank consented to), in Unit.
	Quantity uint64
	// The money side (outstanding, value at the latest price after each
	// loan's haircut, LTV) is BankExposure's, by commodity, currency and
	// warehouse.
}

// PledgedExposure is a bank's collateral grouped by commodity, warehouse
// and unit, from its active pledges (those securing a loan or not yet), in
// that order. BankExposure adds the loans: outstanding, value and LTV.
func (q *Queries) PledgedExposure(ctx context.Context, bank string) ([]Exposure, error) {
	rows, err := q.db.QueryContext(ctx, `
		SELECT r.commodity, r.warehouse, r.unit, count(*), sum(r.quantity)::text
		FROM pledges p JOIN receipts r ON r.id = p.receipt
		WHERE p.bank = $1 AND p.status = 'ACTIVE'
		GROUP BY r.commodity, r.warehouse, r.unit
		ORDER BY r.commodity, r.warehouse, r.unit
		LIMIT $2`, bank, maxExposureRows)
	if err != nil {
		return nil, fmt.Errorf("indexer: exposure: %w", err)
	}
	defer rows.Close()
	var out []Exposure
	for rows.Next() {
		var e Exposure
		var sum string
		if err := rows.Scan(&e.Commodity, &e.Warehouse, &e.Unit, &e.Pledges, &sum); err != nil {
			return nil, fmt.Errorf("indexer: exposure: %w", err)
		}
		if e.Quantity, err = strconv.ParseUint(sum, 10, 64); err != nil {
			return nil, fmt.Errorf("indexer: exposure of %s in %s at %s: %w", bank, e.Commodity, e.Warehouse, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("indexer: exposure: %w", err)
	}
	return out, nil
}

// OpenReleaseOrders lists a warehouse's open release orders in id order:
// the goods it must load out.
func (q *Queries) OpenReleaseOrders(ctx context.Context, warehouseID string, p Page) ([]*warehouse.ReleaseOrder, string, error) {
	return listWhere(ctx, q, "release_orders", ReleaseOrderFilter{Warehouse: warehouseID, Open: true}.Filter(), p)
}

// Tx is one tx as the read model holds it.
type Tx struct {
	Height  int64
	Index   uint32
	Hash    []byte
	OpType  string
	Signers []string
	Code    uint32 // 0: applied; else the rule error's code (receipt.LookupError)
	Log     string
}

// TxByHash returns the tx with hash (the earliest, should a hash repeat),
// or ErrNotFound: whether a submitted tx was committed, and how it ended.
func (q *Queries) TxByHash(ctx context.Context, hash []byte) (*Tx, error) {
	var t Tx
	var signers pq.StringArray
	err := q.db.QueryRowContext(ctx, `SELECT height, tx_index, hash, op_type, signers, code, log FROM txs
		WHERE hash = $1 ORDER BY height, tx_index LIMIT 1`, hash).
		Scan(&t.Height, &t.Index, &t.Hash, &t.OpType, &signers, &t.Code, &t.Log)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: tx %x", ErrNotFound, hash)
	}
	if err != nil {
		return nil, fmt.Errorf("indexer: tx: %w", err)
	}
	t.Signers = signers
	return &t, nil
}

// Checkpoint returns the block the read model reflects.
func (q *Queries) Checkpoint(ctx context.Context) (Checkpoint, error) {
	return ReadCheckpoint(ctx, q.db)
}
