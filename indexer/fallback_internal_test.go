package indexer

import (
	"database/sql"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ewrchain/ewr/indexer/pgcluster/pgtest"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// futureRecord is a record type a later ledger has and this indexer has
// no table for.
type futureRecord struct {
	Name    string
	Version uint64
}

// learnFuture makes ledger know "zz/" keys as kind "future", for the test.
func learnFuture(t *testing.T) {
	kind, decode := recordKind, decodeByKey
	t.Cleanup(func() { recordKind, decodeByKey = kind, decode })
	recordKind = func(key string) (string, bool) {
		if strings.HasPrefix(key, "zz/") {
			return "future", true
		}
		return kind(key)
	}
	decodeByKey = func(key string, raw []byte) (any, error) {
		if strings.HasPrefix(key, "zz/") {
			v := new(futureRecord)
			return v, receipt.DecodeRecord(raw, v)
		}
		return decode(key, raw)
	}
}

func fallbackRow(t *testing.T, db *sql.DB, key string) (kind string, version sql.NullInt64, doc sql.NullString, raw []byte) {
	t.Helper()
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT kind, version, doc::text, raw FROM records WHERE key = $1`, key).
		Scan(&kind, &version, &doc, &raw))
	return kind, version, doc, raw
}

// TestFallbackKnownKinds plays a ledger that learns a record type the
// indexer has no table for: rows written before have kind ” and no
// version; Migrate re-derives kind, version and JSON from raw, as a rebuild
// by the new binary writes them, and from then on the fallback's upsert is
// version-aware.
func TestFallbackKnownKinds(t *testing.T) {
	db := pgtest.ForTest(t)
	require.NoError(t, Migrate(t.Context(), db))
	ix := New(db, Config{})
	v1 := receipt.EncodeRecord(&futureRecord{Name: "first \x00 nul", Version: 1})
	v2 := receipt.EncodeRecord(&futureRecord{Name: "second", Version: 2})
	block := func(h int64, v []byte) *ledger.BlockRecord {
		return &ledger.BlockRecord{Height: h, Txs: []ledger.TxRecord{{OpType: "future.op", Writes: []ledger.Write{{Key: "zz/a", Value: v}}}}}
	}
	require.NoError(t, ix.Apply(t.Context(), block(0, v1)))
	kind, version, doc, _ := fallbackRow(t, db, "zz/a")
	assert.Equal(t, "", kind)
	assert.False(t, version.Valid)
	assert.False(t, doc.Valid)

	learnFuture(t)
	require.NoError(t, Migrate(t.Context(), db))
	kind, version, doc, _ = fallbackRow(t, db, "zz/a")
	assert.Equal(t, "future", kind)
	assert.Equal(t, int64(1), version.Int64)
	var got futureRecord
	require.NoError(t, json.Unmarshal([]byte(doc.String), &got))
	assert.Equal(t, futureRecord{Name: "first \uFFFD nul", Version: 1}, got, "jsonb holds no NUL")

	// Rebuilt by the new binary: the same row.
	db2 := pgtest.ForTest(t)
	require.NoError(t, Migrate(t.Context(), db2))
	require.NoError(t, New(db2, Config{}).Apply(t.Context(), block(0, v1)))
	s1, err := Sum(t.Context(), db)
	require.NoError(t, err)
	s2, err := Sum(t.Context(), db2)
	require.NoError(t, err)
	assert.Equal(t, s2, s1)

	// Version-aware now: version 1 again at a later height keeps version 2.
	require.NoError(t, ix.Apply(t.Context(), block(1, v2)))
	require.NoError(t, ix.Apply(t.Context(), block(2, v1)))
	_, version, _, raw := fallbackRow(t, db, "zz/a")
	assert.Equal(t, int64(2), version.Int64)
	assert.Equal(t, v2, raw)

	// A record of a known kind that does not decode stops the indexer, as
	// a corrupt record of a typed table does.
	err = ix.Apply(t.Context(), block(3, []byte{1, 0xff}))
	assert.ErrorIs(t, err, ErrDecode)
}

func TestCleanJSONNul(t *testing.T) {
	for in, want := range map[string]string{
		`"a\u0000b"`:       `"a\ufffdb"`,
		`"a\\u0000b"`:      `"a\\u0000b"`, // an escaped backslash, then text
		`"a\\\u0000"`:      `"a\\\ufffd"`,
		`{"k\u0000":1}`:    `{"k\ufffd":1}`,
		`"\u00001\u0000"`:  `"\ufffd1\ufffd"`,
		`"plain"`:          `"plain"`,
		`"trailing\\"`:     `"trailing\\"`,
		`"\u000a \u0000x"`: `"\u000a \ufffdx"`,
	} {
		assert.Equal(t, want, string(cleanJSONNul([]byte(in))), in)
	}
}
