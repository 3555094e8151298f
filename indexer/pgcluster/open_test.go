package pgcluster

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpenResumes is `make run` twice: the second run finds the first one's
// data.
func TestOpenResumes(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	dir := filepath.Join(t.TempDir(), "repo", ".ewr", "pg")
	ctx := t.Context()

	dsn, stop, err := Open(ctx, dir)
	require.NoError(t, err)
	t.Cleanup(stop)
	db := openDB(t, dsn)
	assert.Equal(t, AppDatabase, currentDatabase(t, db))
	_, err = db.ExecContext(ctx, `CREATE TABLE pledges (receipt_id text PRIMARY KEY, bank text NOT NULL)`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO pledges VALUES ('R1', 'bank-a')`)
	require.NoError(t, err)
	var fsync string
	require.NoError(t, db.QueryRowContext(ctx, `SHOW fsync`).Scan(&fsync))
	assert.Equal(t, "on", fsync, "the app's cluster keeps its data through a machine crash")
	db.Close()
	stop()

	su, err := currentServerUser()
	require.NoError(t, err)
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	assert.Equal(t, uint32(su.uid), fi.Sys().(*syscall.Stat_t).Uid, "the data dir belongs to the server user")
	assert.NoDirExists(t, filepath.Join(filepath.Dir(dir), ".pg.initdb"), "the initdb staging dir is gone")

	dsn, stop, err = Open(ctx, dir)
	require.NoError(t, err)
	t.Cleanup(stop)
	db = openDB(t, dsn)
	var bank string
	require.NoError(t, db.QueryRowContext(ctx, `SELECT bank FROM pledges WHERE receipt_id = 'R1'`).Scan(&bank))
	assert.Equal(t, "bank-a", bank)
}
