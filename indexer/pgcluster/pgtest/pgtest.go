// Package pgtest gives tests a database of their own on a shared private
// PostgreSQL cluster (or the server DATABASE_URL names). It is for tests
// only: nothing the binary links imports it.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"github.com/ewrchain/ewr/indexer/pgcluster"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testDirPrefix starts the name of each shared test cluster's directory in
// os.TempDir(); the owning process's pid follows, so a later run can tell
// and remove the directories of dead runs.
const testDirPrefix = "ewr-pgtest-"

// testCleanupTimeout bounds dropping a test's database.
const testCleanupTimeout = 30 * time.Second

// shared is the shared test cluster of this test binary, started on the
// first ForTest that needs it and stopped by RunTests.
var shared struct {
	mu      sync.Mutex
	started bool // Start was tried; err says how it went
	c       *pgcluster.Cluster
	dir     string
	err     error
}

var (
	testDBSeq atomic.Uint64
	// procTag keeps database names apart between test binaries that share
	// one DATABASE_URL server, as `go test ./...` runs packages in parallel.
	procTag = func() string {
		b := make([]byte, 4)
		rand.Read(b)
		return hex.EncodeToString(b)
	}()
)

// ForTest returns a connection pool to a new, empty database that only t
// uses, and drops the database when t ends (closing connections left open).
// The server is the one DATABASE_URL names when it is set; otherwise it is
// the shared test cluster, started on first use (fsync off, in a temporary
// directory). Call RunTests or TestMain from the package's TestMain so that
// the shared cluster stops and its directory goes when the tests end; if the
// binary dies instead, the server dies with it and the next run removes the
// directory.
func ForTest(t testing.TB) *sql.DB {
	t.Helper()
	admin, err := testServer()
	if err != nil {
		t.Fatal(err)
	}
	name := testDatabaseName(t.Name())
	if err := pgcluster.CreateDatabase(t.Context(), admin.String(), name); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("postgres", pgcluster.WithDatabase(admin, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), testCleanupTimeout)
		defer cancel()
		if err := pgcluster.DropDatabase(ctx, admin.String(), name); err != nil {
			t.Errorf("pgtest.ForTest cleanup: %v", err)
		}
	})
	return db
}

// testServer returns the DSN through which ForTest creates and drops
// databases.
func testServer() (*url.URL, error) {
	if raw := os.Getenv("DATABASE_URL"); raw != "" {
		return pgcluster.ParseDatabaseURL(raw)
	}
	c, err := sharedCluster()
	if err != nil {
		return nil, err
	}
	return pgcluster.ParseDatabaseURL(c.DSN("postgres"))
}

// sharedCluster starts the shared test cluster once per process.
func sharedCluster() (*pgcluster.Cluster, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.started {
		return shared.c, shared.err
	}
	shared.started = true
	removeDeadTestDirs()
	dir, err := os.MkdirTemp("", testDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		shared.err = fmt.Errorf("pgcluster: shared test cluster: %w", err)
		return nil, shared.err
	}
	c, err := pgcluster.Start(context.Background(), pgcluster.Options{Dir: filepath.Join(dir, "data"), Fsync: false})
	if err != nil {
		os.RemoveAll(dir)
		shared.err = fmt.Errorf("pgcluster: shared test cluster: %w", err)
		return nil, shared.err
	}
	shared.c, shared.dir = c, dir
	return c, nil
}

// stopSharedCluster stops the shared test cluster, if it was started, and
// removes its directory.
func stopSharedCluster() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	var err error
	if shared.c != nil {
		err = shared.c.Stop()
		shared.c = nil
	}
	if shared.dir != "" {
		if rerr := os.RemoveAll(shared.dir); rerr != nil && err == nil {
			err = fmt.Errorf("pgcluster: %w", rerr)
		}
		shared.dir = ""
	}
	shared.err = fmt.Errorf("pgcluster: the shared test cluster was stopped after the tests")
	return err
}

// removeDeadTestDirs removes the shared test cluster directories of test
// binaries that died without RunTests cleaning up, once their server is gone
// too. Directories of live processes, and any it cannot judge, stay.
func removeDeadTestDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), testDirPrefix+"*"))
	for _, dir := range dirs {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(dir), testDirPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || pgcluster.ProcessAlive(pid) {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
			first, _, _ := strings.Cut(string(b), "\n")
			if pm, err := strconv.Atoi(strings.TrimSpace(first)); err == nil && pgcluster.ProcessAlive(pm) {
				continue
			}
		}
		os.RemoveAll(dir)
	}
}

// testDatabaseName makes a database name from a test name that no other
// test in this or a concurrent test binary gets: the test name (lowercased,
// other characters as "_", cut short), this process's tag and a counter.
func testDatabaseName(testName string) string {
	const maxTestNameBytes = 30
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		if b.Len() == maxTestNameBytes {
			break
		}
		if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return fmt.Sprintf("t_%s_%s_%d", b.String(), procTag, testDBSeq.Add(1))
}

// RunTests runs the tests and then stops the shared test cluster and removes
// its directory. Call it from TestMain when the package has other teardown:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.RunTests(m)) }
func RunTests(m *testing.M) int {
	code := m.Run()
	if err := stopSharedCluster(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// TestMain is a TestMain for packages that use ForTest:
//
//	func TestMain(m *testing.M) { pgtest.TestMain(m) }
func TestMain(m *testing.M) { os.Exit(RunTests(m)) }
