package indexer_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Keys no typed table claims: a prefix no binary knows yet, a "c/" key
// ledger does not know, and a key without a '/'.
const (
	unknownKey       = "zz/rec-1"
	unknownConfigKey = "c/future-params"
	slashlessKey     = "zz-flat"
)

// unknownRecordBlock is a block at height writing the three unknown keys.
func unknownRecordBlock(height int64) *ledger.BlockRecord {
	return &ledger.BlockRecord{Height: height, Time: t0 + height*6, Txs: []ledger.TxRecord{{OpType: "future.op",
		Writes: []ledger.Write{
			{Key: unknownKey, Value: []byte{1, 2, 3}},
			{Key: unknownConfigKey, Value: []byte{1, 9}},
			{Key: slashlessKey, Value: []byte{0, 0xff}},
		},
		Events: []receipt.Event{{Type: "future.event", Refs: receipt.Refs("future", "rec-1")}},
	}}}
}

type fallbackRow struct {
	kind    string
	version sql.NullInt64
	doc     sql.NullString
	height  int64
	raw     []byte
}

func readFallback(t *testing.T, db *sql.DB, key string) (fallbackRow, bool) {
	t.Helper()
	var r fallbackRow
	err := db.QueryRowContext(t.Context(), `SELECT kind, version, doc::text, updated_height, raw FROM records WHERE key = $1`, key).
		Scan(&r.kind, &r.version, &r.doc, &r.height, &r.raw)
	if err == sql.ErrNoRows {
		return r, false
	}
	require.NoError(t, err)
	return r, true
}

// TestUnknownRecordsLandInTheFallback checks a record type the indexer has
// no table for does not stop Run: it lands in the records table, with its
// raw bytes, is replaced by later blocks and deleted like any record, and
// a rebuild gives the same rows.
func TestUnknownRecordsLandInTheFallback(t *testing.T) {
	sim, _ := fullStory(t)
	recs := append([]*ledger.BlockRecord(nil), sim.Records...)
	h := recs[len(recs)-1].Height
	recs = append(recs, unknownRecordBlock(h+1))
	// The unknown record again, newer; then deleted and written again.
	recs = append(recs, &ledger.BlockRecord{Height: h + 2, Txs: []ledger.TxRecord{{OpType: "future.op",
		Writes: []ledger.Write{{Key: unknownKey, Value: []byte{4, 5}}, {Key: slashlessKey, Deleted: true}}}}})

	db := newDB(t)
	ix := indexer.New(db, indexer.Config{PollMin: time.Millisecond})
	src := indexer.NewMemSource(0)
	src.Append(recs...)
	runUntil(t, ix, src, h+2)

	r, ok := readFallback(t, db, unknownKey)
	require.True(t, ok)
	assert.Equal(t, fallbackRow{kind: "", height: h + 2, raw: []byte{4, 5}}, r)
	r, ok = readFallback(t, db, unknownConfigKey)
	require.True(t, ok)
	assert.Equal(t, fallbackRow{kind: "", height: h + 1, raw: []byte{1, 9}}, r)
	_, ok = readFallback(t, db, slashlessKey)
	assert.False(t, ok, "deleted")
	assert.Zero(t, count(t, db, `SELECT count(*) FROM config WHERE key = 'future-params'`))

	// The markets tour left nothing else there: every record type of the
	// chain it wrote has its table.
	assert.Equal(t, 2, count(t, db, `SELECT count(*) FROM records`))
	st := sim.Store.Clone()
	st.Set(unknownKey, []byte{4, 5})
	st.Set(unknownConfigKey, []byte{1, 9})
	requireMatchesState(t, db, st)

	q := indexer.NewQueries(db)
	got, next, err := q.FallbackRecords(t.Context(), "", indexer.Page{Limit: 1})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, unknownConfigKey, got[0].Key)
	assert.NotEmpty(t, next)
	got, next, err = q.FallbackRecords(t.Context(), "", indexer.Page{After: next})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, unknownKey, got[0].Key)
	assert.Empty(t, next)
	byKey, err := q.RecordsByKey(t.Context(), []string{unknownKey, financing.LoanKey(marketsLoan), "zz/absent"})
	require.NoError(t, err)
	want, _ := sim.Store.Get(financing.LoanKey(marketsLoan))
	assert.Equal(t, map[string][]byte{unknownKey: {4, 5}, financing.LoanKey(marketsLoan): want}, byKey)

	// Rebuilt, the same rows.
	b := newDB(t)
	applyAll(t, indexer.New(b, indexer.Config{}), recs)
	requireSameChecksum(t, db, b)
}

// TestFallbackGuard checks the fallback's upsert: a record of unknown kind
// has no version to compare, so the later block's value wins, as in the
// chain's state.
func TestFallbackGuard(t *testing.T) {
	db := newDB(t)
	ix := indexer.New(db, indexer.Config{})
	sim, _ := newSim(t)
	applyAll(t, ix, sim.Records)
	h := sim.Records[len(sim.Records)-1].Height
	write := func(v []byte) {
		h++
		require.NoError(t, ix.Apply(t.Context(), &ledger.BlockRecord{Height: h, Txs: []ledger.TxRecord{{OpType: "future.op",
			Writes: []ledger.Write{{Key: unknownKey, Value: v}}}}}))
	}
	write([]byte{1})
	write([]byte{2})
	r, _ := readFallback(t, db, unknownKey)
	assert.Equal(t, []byte{2}, r.raw, "without a version, the later block wins")
	assert.Equal(t, h, r.height)
	assert.False(t, r.version.Valid)
}

// TestMigrateMovesFallbackRowsToTheirTable plays an upgrade: a read model
// kept by a binary without the financing and trading tables has their
// records in the fallback; this binary's Migrate moves them to their
// tables, and the read model is then the one a rebuild makes.
func TestMigrateMovesFallbackRowsToTheirTable(t *testing.T) {
	sim, _ := fullStory(t)
	recs := append(sim.Records, unknownRecordBlock(sim.Records[len(sim.Records)-1].Height+1))
	reference := newDB(t)
	applyAll(t, indexer.New(reference, indexer.Config{}), recs)

	// The old binary's read model: the loans, prices, offers, alerts, …
	// as the fallback held them.
	db := newDB(t)
	applyAll(t, indexer.New(db, indexer.Config{}), recs)
	moved := 0
	for _, tb := range indexer.RecordTables() {
		switch tb.Name {
		case "credit_policies", "prices", "loans", "open_loans", "offers", "trades", "settlements",
			"alerts", "lot_watches", "anchors", "anchor_heads", "lock_histories", "device_marks":
		default:
			continue
		}
		res, err := db.ExecContext(t.Context(), `INSERT INTO records (key, kind, version, doc, updated_height, raw)
			SELECT `+tb.KeySQL+`, 'old', version, NULL, updated_height, raw FROM `+tb.Name)
		require.NoError(t, err)
		n, err := res.RowsAffected()
		require.NoError(t, err)
		require.Positive(t, n, tb.Name)
		moved += int(n)
		_, err = db.ExecContext(t.Context(), `DELETE FROM `+tb.Name)
		require.NoError(t, err)
	}
	require.Equal(t, moved+3, count(t, db, `SELECT count(*) FROM records`))

	require.NoError(t, indexer.Migrate(t.Context(), db))
	requireSameChecksum(t, reference, db)
	requireMatchesState(t, db, func() *ledger.MemStore {
		st := sim.Store.Clone()
		st.Set(unknownKey, []byte{1, 2, 3})
		st.Set(unknownConfigKey, []byte{1, 9})
		st.Set(slashlessKey, []byte{0, 0xff})
		return st
	}())
	// And again: nothing left to move.
	require.NoError(t, indexer.Migrate(context.Background(), db))
	requireSameChecksum(t, reference, db)
}
