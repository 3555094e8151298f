package pgtest

import (
	"context"
	"database/sql"
	"github.com/ewrchain/ewr/indexer/pgcluster"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func currentDatabase(t testing.TB, db *sql.DB) string {
	t.Helper()
	var name string
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT current_database()`).Scan(&name))
	return name
}

func openDB(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func databaseExists(t testing.TB, adminDSN, name string) bool {
	t.Helper()
	db := openDB(t, adminDSN)
	var exists bool
	require.NoError(t, db.QueryRowContext(t.Context(),
		`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists))
	return exists
}

func TestForTestGivesIsolatedDatabases(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	var names [2]string
	t.Run("pair", func(t *testing.T) {
		a, b := ForTest(t), ForTest(t)
		names[0], names[1] = currentDatabase(t, a), currentDatabase(t, b)
		assert.NotEqual(t, names[0], names[1])
		assert.True(t, strings.HasPrefix(names[0], "t_testfortestgivesisolateddat"), names[0])

		_, err := a.ExecContext(t.Context(), `CREATE TABLE receipts (receipt_id text PRIMARY KEY)`)
		require.NoError(t, err)
		var seen sql.NullString
		require.NoError(t, b.QueryRowContext(t.Context(), `SELECT to_regclass('receipts')::text`).Scan(&seen))
		assert.False(t, seen.Valid, "b sees a's table")

		// A connection the test leaves open does not stop the drop.
		_, err = b.Conn(t.Context())
		require.NoError(t, err)
	})

	c, err := sharedCluster()
	require.NoError(t, err)
	for _, name := range names {
		assert.False(t, databaseExists(t, c.DSN("postgres"), name), "%s dropped when its test ended", name)
	}
}

// TestForTestUsesDatabaseURL points DATABASE_URL at a cluster of its own
// and checks that ForTest and Open use that server, not the shared one.
func TestForTestUsesDatabaseURL(t *testing.T) {
	c, err := pgcluster.Start(t.Context(), pgcluster.Options{Dir: filepath.Join(t.TempDir(), "pg")})
	require.NoError(t, err)
	t.Cleanup(func() { c.Stop() })
	// No connect_timeout: ForTest and Open add it.
	t.Setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:"+strconv.Itoa(c.Port())+"/postgres?sslmode=disable")

	var name string
	t.Run("ForTest", func(t *testing.T) {
		db := ForTest(t)
		name = currentDatabase(t, db)
		var port int
		require.NoError(t, db.QueryRowContext(t.Context(), `SELECT inet_server_port()`).Scan(&port))
		assert.Equal(t, c.Port(), port)
		assert.True(t, databaseExists(t, c.DSN("postgres"), name))
	})
	assert.False(t, databaseExists(t, c.DSN("postgres"), name), "dropped when its test ended")

	unused := filepath.Join(t.TempDir(), "unused")
	dsn, stop, err := pgcluster.Open(t.Context(), unused)
	require.NoError(t, err)
	stop()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	assert.NotEmpty(t, u.Query().Get("connect_timeout"), "a connect timeout is set")
	assert.Equal(t, "disable", u.Query().Get("sslmode"))
	assert.NoDirExists(t, unused, "with DATABASE_URL, Open starts nothing")
	db := openDB(t, dsn)
	assert.Equal(t, "postgres", currentDatabase(t, db))

	t.Setenv("DATABASE_URL", "host=127.0.0.1 dbname=ewr")
	_, _, err = pgcluster.Open(t.Context(), unused)
	assert.ErrorIs(t, err, pgcluster.ErrBadDatabaseURL)
}

func TestTestDatabaseName(t *testing.T) {
	seen := map[string]bool{}
	for _, testName := range []string{
		"TestX", "TestX", "TestX/sub_case#01", "Test" + strings.Repeat("Ünïcödé/", 40),
	} {
		name := testDatabaseName(testName)
		require.NoError(t, pgcluster.CheckDatabaseName(name))
		assert.False(t, seen[name], "%s given twice", name)
		seen[name] = true
		for _, r := range name {
			assert.True(t, r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9'), "%q in %s", r, name)
		}
	}
}

func TestRemoveDeadTestDirs(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	exited := exec.Command("true")
	require.NoError(t, exited.Run())
	dead := filepath.Join(tmp, testDirPrefix+strconv.Itoa(exited.Process.Pid)+"-1")
	mine := filepath.Join(tmp, testDirPrefix+strconv.Itoa(os.Getpid())+"-1")
	// A dead test binary whose server still runs (here: this process, as a
	// stand-in for any live pid) keeps its directory until the server goes.
	serving := filepath.Join(tmp, testDirPrefix+strconv.Itoa(exited.Process.Pid)+"-2")
	other := filepath.Join(tmp, "unrelated")
	for _, dir := range []string{dead, mine, serving, other} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "data"), 0o700))
	}
	require.NoError(t, os.WriteFile(filepath.Join(serving, "data", "postmaster.pid"),
		[]byte(strconv.Itoa(os.Getpid())+"\n"), 0o600))

	removeDeadTestDirs()
	assert.NoDirExists(t, dead)
	assert.DirExists(t, mine)
	assert.DirExists(t, serving)
	assert.DirExists(t, other)
}

func TestCreateDatabaseIsIdempotent(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	c, err := sharedCluster()
	require.NoError(t, err)
	name := testDatabaseName(t.Name())
	t.Cleanup(func() { pgcluster.DropDatabase(context.Background(), c.DSN("postgres"), name) })
	require.NoError(t, c.CreateDatabase(t.Context(), name))
	require.NoError(t, c.CreateDatabase(t.Context(), name))
	assert.True(t, databaseExists(t, c.DSN("postgres"), name))

	assert.ErrorIs(t, c.CreateDatabase(t.Context(), strings.Repeat("x", 64)), pgcluster.ErrBadDatabaseName)
	assert.ErrorIs(t, c.CreateDatabase(t.Context(), ""), pgcluster.ErrBadDatabaseName)
}
