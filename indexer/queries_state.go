package indexer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/lib/pq"
)

// Point reads of records by their chain state key, from the raw columns:
// the read model as a receipt.Store, so that the domain's own read-only
// rules (financing.Precheck) run on it unchanged.

// maxKeysPerRead bounds one RecordsByKey call.
const maxKeysPerRead = MaxPageSize

// RecordsByKey returns the raw bytes of the records at keys, as of the
// checkpoint, in one statement: key → raw, absent keys left out. A key of
// a typed prefix with malformed id parts is ErrDecode.
func (q *Queries) RecordsByKey(ctx context.Context, keys []string) (map[string][]byte, error) {
	return q.recordsByKey(ctx, nil, keys)
}

// recordsByKey is RecordsByKey in tx, if not nil.
func (q *Queries) recordsByKey(ctx context.Context, tx *sql.Tx, keys []string) (map[string][]byte, error) {
	if len(keys) > maxKeysPerRead {
		return nil, fmt.Errorf("%w: %d keys, at most %d", ErrTooLarge, len(keys), maxKeysPerRead)
	}
	// Per table, the id parts of its keys, column by column.
	byTable := map[*recordTable][][]string{}
	var tables []*recordTable
	for _, k := range keys {
		t, ids, err := splitKey(k)
		if err != nil {
			return nil, err
		}
		cols, seen := byTable[t]
		if !seen {
			cols = make([][]string, len(ids))
			tables = append(tables, t)
		}
		for i, id := range ids {
			cols[i] = append(cols[i], id)
		}
		byTable[t] = cols
	}
	out := map[string][]byte{}
	if len(tables) == 0 {
		return out, nil
	}
	slices.SortFunc(tables, func(a, b *recordTable) int { return a.index - b.index })
	var parts []string
	var args []any
	for _, t := range tables {
		cols := byTable[t]
		var params, ucols, match []string
		for i, c := range cols {
			args = append(args, pq.StringArray(c))
			params = append(params, "$"+strconv.Itoa(len(args))+"::text[]")
			ucols = append(ucols, "k"+strconv.Itoa(i))
			match = append(match, "t."+t.keyCols[i]+" = u.k"+strconv.Itoa(i))
		}
		parts = append(parts, fmt.Sprintf("SELECT %s, t.raw FROM %s t JOIN unnest(%s) AS u(%s) ON %s",
			t.keyExpr("u.k"), t.name, strings.Join(params, ", "), strings.Join(ucols, ", "), strings.Join(match, " AND ")))
	}
	rows, err := q.query(ctx, tx, strings.Join(parts, " UNION ALL "), args...)
	if err != nil {
		return nil, fmt.Errorf("indexer: records by key: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var raw []byte
		if err := rows.Scan(&k, &raw); err != nil {
			return nil, fmt.Errorf("indexer: records by key: %w", err)
		}
		out[k] = raw
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("indexer: records by key: %w", err)
	}
	return out, nil
}

// snapshotStore is a read-only receipt.Store over the records fetched so
// far; it notes the keys read that were not fetched.
type snapshotStore struct {
	m       map[string][]byte
	fetched map[string]bool
	missed  []string
}

func (s *snapshotStore) Get(key string) ([]byte, bool) {
	if !s.fetched[key] {
		if !contains(s.missed, key) {
			s.missed = append(s.missed, key)
		}
		return nil, false
	}
	v, ok := s.m[key]
	return v, ok
}

func (*snapshotStore) Set(string, []byte) { panic("indexer: write to a read-model snapshot") }
func (*snapshotStore) Delete(string)      { panic("indexer: write to a read-model snapshot") }

// maxPrecheckRounds bounds Precheck's round trips: each fetches the keys
// the previous run of the check read and did not have.
const maxPrecheckRounds = 8

// Precheck runs financing.Precheck, the pre-lending check, on the read
// model as of the checkpoint: every record it reads comes from one
// snapshot, fetched by key, so the report is the one the chain state at the
// checkpoint gives. at is the block time to judge expiry and maturity by;
// 0 takes the checkpoint block's time. The report's Height is the
// checkpoint's.
//
// It fetches in rounds: the check runs on what was fetched, notes the keys
// it read and lacked, and those are fetched for the next run (the
// participants and the receipt first, then what the receipt names: about
// three runs, two round trips). The chain's point reads of its state tree
// answer the same check without a database (the API's /precheck); this one
// serves a read replica or a bank's own copy of the read model.
func (q *Queries) Precheck(ctx context.Context, req financing.PrecheckRequest, at int64) (*financing.Report, error) {
	tx, err := q.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("indexer: precheck: %w", err)
	}
	defer tx.Rollback()
	var height, blockTime int64
	err = tx.QueryRowContext(ctx, `SELECT c.height, coalesce(b.block_time, 0) FROM checkpoint c LEFT JOIN blocks b ON b.height = c.height`).
		Scan(&height, &blockTime)
	if err != nil {
		return nil, fmt.Errorf("indexer: precheck: %w", err)
	}
	if height < 0 {
		return nil, fmt.Errorf("%w: the read model holds no block yet", ErrNotFound)
	}
	if at == 0 {
		at = blockTime
	}
	st := &snapshotStore{m: map[string][]byte{}, fetched: map[string]bool{}}
	want := []string{receipt.ParticipantKey(req.Borrower), receipt.ParticipantKey(req.Bank), receipt.ReceiptKey(req.Receipt)}
	for range maxPrecheckRounds {
		// A key that cannot be in the read model (a malformed id) is
		// absent, as it is from the chain's state.
		var fetch []string
		for _, k := range want {
			st.fetched[k] = true
			if _, _, err := splitKey(k); err == nil {
				fetch = append(fetch, k)
			}
		}
		got, err := q.recordsByKey(ctx, tx, fetch)
		if err != nil {
			return nil, fmt.Errorf("indexer: precheck: %w", err)
		}
		for k, v := range got {
			st.m[k] = v
		}
		st.missed = nil
		rep := financing.Precheck(&receipt.Exec{Block: receipt.Block{Height: height, Time: at}, Store: st, Stock: warehouse.Stock{}}, req)
		if len(st.missed) == 0 {
			return &rep, nil
		}
		want = st.missed
	}
	return nil, errors.New("indexer: precheck: still reading new keys after the last round")
}

// RawRecord is a record of the fallback table: one whose type this binary
// has no table for.
type RawRecord struct {
	Key           string
	Kind          string // ledger.RecordKind of the key; "" when unknown
	Version       uint64 // 0 when unknown
	HasVersion    bool
	Doc           []byte // JSON of the decoded record; nil when unknown
	UpdatedHeight int64
	Raw           []byte
}

// FallbackRecords lists the fallback table's records of a kind ("" for
// the kinds package ledger does not know), in key order.
func (q *Queries) FallbackRecords(ctx context.Context, kind string, p Page) ([]RawRecord, string, error) {
	limit := p.limit()
	rows, err := q.db.QueryContext(ctx, `SELECT key, kind, version, doc, updated_height, raw FROM records
		WHERE kind = $1 AND key > $2 ORDER BY key LIMIT $3`, kind, p.After, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("indexer: fallback records: %w", err)
	}
	defer rows.Close()
	var out []RawRecord
	for rows.Next() {
		var r RawRecord
		var version sql.NullInt64
		if err := rows.Scan(&r.Key, &r.Kind, &version, &r.Doc, &r.UpdatedHeight, &r.Raw); err != nil {
			return nil, "", fmt.Errorf("indexer: fallback records: %w", err)
		}
		r.Version, r.HasVersion = uint64(version.Int64), version.Valid
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("indexer: fallback records: %w", err)
	}
	if len(out) > limit {
		return out[:limit], out[limit-1].Key, nil
	}
	return out, "", nil
}
