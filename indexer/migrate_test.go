package indexer_test

import (
	"sync"
	"testing"

	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/indexer/pgcluster/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMigrateConcurrentAndIdempotent(t *testing.T) {
	db := pgtest.ForTest(t)
	// Several processes start at once: each migrates or finds it done.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = indexer.Migrate(t.Context(), db) }()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, indexer.Migrate(t.Context(), db))
	assert.Equal(t, indexer.SchemaVersion(), count(t, db, `SELECT count(*) FROM schema_migrations`))
	cp, err := indexer.ReadCheckpoint(t.Context(), db)
	require.NoError(t, err)
	assert.Equal(t, int64(-1), cp.Height)
	assert.Empty(t, cp.AppHash)
	// An empty read model has a checksum too, the same every time.
	assert.Equal(t, checksum(t, db), checksum(t, newDB(t)))
}

func TestMigrateRefusesAForeignSchema(t *testing.T) {
	t.Run("newer", func(t *testing.T) {
		db := newDB(t)
		_, err := db.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, name, sha256) VALUES (9999, '9999_future.sql', 'x')`)
		require.NoError(t, err)
		require.ErrorIs(t, indexer.Migrate(t.Context(), db), indexer.ErrSchemaNewer)
	})
	t.Run("changed", func(t *testing.T) {
		db := newDB(t)
		_, err := db.ExecContext(t.Context(), `UPDATE schema_migrations SET sha256 = 'edited' WHERE version = 1`)
		require.NoError(t, err)
		require.ErrorIs(t, indexer.Migrate(t.Context(), db), indexer.ErrMigrationChanged)
	})
}
