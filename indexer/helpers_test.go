package indexer_test

import (
	"bytes"
	"database/sql"
	"testing"

	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/indexer/pgcluster/pgtest"
	"github.com/ewrchain/ewr/ledger"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { pgtest.TestMain(m) }

// newDB returns a fresh, migrated database that only t uses.
func newDB(t testing.TB) *sql.DB {
	t.Helper()
	db := pgtest.ForTest(t)
	require.NoError(t, indexer.Migrate(t.Context(), db))
	return db
}

func applyAll(t testing.TB, ix *indexer.Indexer, recs []*ledger.BlockRecord) {
	t.Helper()
	for _, rec := range recs {
		require.NoError(t, ix.Apply(t.Context(), rec), "block %d", rec.Height)
	}
}

func checksum(t testing.TB, db *sql.DB) string {
	t.Helper()
	sum, err := indexer.Checksum(t.Context(), db)
	require.NoError(t, err)
	return sum
}

// requireSameChecksum fails naming the tables that differ.
func requireSameChecksum(t testing.TB, want, got *sql.DB) {
	t.Helper()
	a, err := indexer.ChecksumTables(t.Context(), want)
	require.NoError(t, err)
	b, err := indexer.ChecksumTables(t.Context(), got)
	require.NoError(t, err)
	require.Equal(t, a, b)
	require.Equal(t, checksum(t, want), checksum(t, got))
}

// readModelState is every record in the read model: key → raw.
func readModelState(t testing.TB, db *sql.DB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, tb := range indexer.RecordTables() {
		rows, err := db.QueryContext(t.Context(), `SELECT `+tb.KeySQL+`, raw FROM `+tb.Name)
		require.NoError(t, err)
		for rows.Next() {
			var k string
			var raw []byte
			require.NoError(t, rows.Scan(&k, &raw))
			_, dup := out[k]
			require.False(t, dup, "key %s twice", k)
			out[k] = raw
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
	return out
}

// requireMatchesState checks the read model holds exactly the records of
// st, byte for byte.
func requireMatchesState(t testing.TB, db *sql.DB, st *ledger.MemStore) {
	t.Helper()
	got := readModelState(t, db)
	require.Equal(t, st.Len(), len(got), "records in the read model")
	for _, k := range st.Keys() {
		v, _ := st.Get(k)
		require.True(t, bytes.Equal(v, got[k]), "record %s differs", k)
	}
}

func count(t testing.TB, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRowContext(t.Context(), q, args...).Scan(&n))
	return n
}
