package pgcluster

import (
	"bufio"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Must match main_test.go.
const helperEnv = "PGCLUSTER_TEST_HELPER_DIR"

// startCluster starts a cluster for one test and stops it when the test ends.
func startCluster(t testing.TB, opts Options) *Cluster {
	t.Helper()
	c, err := Start(t.Context(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { c.Stop() })
	return c
}

func openDB(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.PingContext(t.Context()))
	return db
}

// childPIDs returns the processes whose parent is ppid.
func childPIDs(t testing.TB, ppid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// "pid (comm) S ppid ..."
		i := strings.LastIndexByte(string(stat), ')')
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(ppid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func requireGone(t testing.TB, pids ...int) {
	t.Helper()
	for _, pid := range pids {
		assert.False(t, ProcessAlive(pid), "process %d still runs", pid)
	}
}

func TestStartStopRestartCrash(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "pg")
	ctx := t.Context()

	c := startCluster(t, Options{Dir: dir})
	db := openDB(t, c.DSN("postgres"))
	_, err := db.ExecContext(ctx, `CREATE TABLE lots (lot_id text PRIMARY KEY, qty_kg bigint NOT NULL)`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO lots VALUES ('L1', 25000)`)
	require.NoError(t, err)
	db.Close()

	pid := c.PID()
	children := childPIDs(t, pid)
	require.NotEmpty(t, children, "a running postmaster has children (checkpointer, walwriter...)")
	require.NoError(t, c.Stop())
	requireGone(t, append(children, pid)...)
	assert.NoFileExists(t, filepath.Join(dir, "postmaster.pid"))
	assert.NoError(t, c.Stop(), "a second Stop returns the first result")

	// Same dir again: the data is still there.
	c = startCluster(t, Options{Dir: dir})
	db = openDB(t, c.DSN("postgres"))
	var qtyKg int64
	require.NoError(t, db.QueryRowContext(ctx, `SELECT qty_kg FROM lots WHERE lot_id = 'L1'`).Scan(&qtyKg))
	assert.Equal(t, int64(25000), qtyKg)

	// A row committed with synchronous_commit on is in the WAL (the OS's
	// cache, as fsync is off), so it survives a postmaster crash.
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, `SET LOCAL synchronous_commit = on`)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, `INSERT INTO lots VALUES ('L2', 1000)`)
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	db.Close()

	pid = c.PID()
	children = childPIDs(t, pid)
	require.NoError(t, c.cmd.Process.Kill())
	<-c.Done()
	testkit.PollTrue(t, 20*time.Second, "the killed postmaster's children exit", func() bool {
		for _, p := range children {
			if ProcessAlive(p) {
				return false
			}
		}
		return true
	})
	require.FileExists(t, filepath.Join(dir, "postmaster.pid"), "a killed postmaster leaves its pid file")
	require.ErrorIs(t, c.Stop(), ErrServerExited)

	c = startCluster(t, Options{Dir: dir})
	db = openDB(t, c.DSN("postgres"))
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM lots`).Scan(&n))
	assert.Equal(t, 2, n, "both rows survive the crash")
	db.Close()
	require.NoError(t, c.Stop())

	// A pid file naming a live process that is no postgres (this test
	// binary: a reused pid) is stale too.
	pidFile := filepath.Join(dir, "postmaster.pid")
	require.NoError(t, os.WriteFile(pidFile, fmt.Appendf(nil, "%d\n%s\n", os.Getpid(), dir), 0o600))
	c = startCluster(t, Options{Dir: dir})
	require.NoError(t, c.Stop())
}

func TestTwoClustersAtOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	base := t.TempDir()
	var (
		wg   sync.WaitGroup
		cs   [2]*Cluster
		errs [2]error
	)
	for i := range cs {
		wg.Go(func() {
			cs[i], errs[i] = Start(ctx, Options{Dir: filepath.Join(base, strconv.Itoa(i))})
		})
	}
	wg.Wait()
	for i := range cs {
		require.NoError(t, errs[i])
		t.Cleanup(func() { cs[i].Stop() })
	}
	assert.NotEqual(t, cs[0].Port(), cs[1].Port())
	for i, c := range cs {
		db := openDB(t, c.DSN("postgres"))
		_, err := db.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE only_in_%d (x int)`, i))
		require.NoError(t, err)
	}
	for i, c := range cs {
		var other sql.NullString
		db := openDB(t, c.DSN("postgres"))
		require.NoError(t, db.QueryRowContext(ctx, fmt.Sprintf(`SELECT to_regclass('only_in_%d')::text`, 1-i)).Scan(&other))
		assert.False(t, other.Valid, "cluster %d sees the other's table", i)
	}

	// A second server on a running cluster's dir is refused, by postgres,
	// and nothing of it keeps running.
	_, err := Start(ctx, Options{Dir: cs[0].Dir()})
	require.ErrorIs(t, err, ErrServerExited)
	assert.ErrorContains(t, err, `lock file "postmaster.pid" already exists`)
	assert.True(t, ProcessAlive(cs[0].PID()))

	// A port that is taken fails the start, with the server's words for it.
	require.NoError(t, cs[1].Stop())
	_, err = Start(ctx, Options{Dir: cs[1].Dir(), Port: cs[0].Port()})
	require.ErrorIs(t, err, ErrServerExited)
	assert.ErrorContains(t, err, "Address already in use")
}

func TestStartRefusesAForeignDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	precious := filepath.Join(dir, "precious.txt")
	require.NoError(t, os.WriteFile(precious, []byte("keep"), 0o600))
	_, err := Start(t.Context(), Options{Dir: dir})
	require.ErrorIs(t, err, ErrNotCluster)
	b, err := os.ReadFile(precious)
	require.NoError(t, err)
	assert.Equal(t, "keep", string(b))

	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err = Start(t.Context(), Options{Dir: file})
	require.ErrorIs(t, err, ErrNotCluster)
}

// TestServerDiesWithItsStarter kills a process that started a cluster and
// checks that its postmaster goes too: the parent-death signal.
func TestServerDiesWithItsStarter(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "pg")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	stdin, err := cmd.StdinPipe() // held open: the helper waits on it
	require.NoError(t, err)
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()

	lines := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		if s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(60 * time.Second):
		t.Fatal("the helper did not report a started cluster")
	}
	pidText, ok := strings.CutPrefix(line, "pid ")
	require.True(t, ok, "helper said %q", line)
	pid, err := strconv.Atoi(pidText)
	require.NoError(t, err)
	require.True(t, ProcessAlive(pid))
	children := childPIDs(t, pid)

	require.NoError(t, cmd.Process.Kill())
	cmd.Wait()
	testkit.PollTrue(t, 20*time.Second, "the postmaster and its children exit after their starter died", func() bool {
		for _, p := range append(children, pid) {
			if ProcessAlive(p) {
				return false
			}
		}
		return true
	})
}

func TestDSN(t *testing.T) {
	c := &Cluster{port: 54321}
	u, err := url.Parse(c.DSN("ewr"))
	require.NoError(t, err)
	assert.Equal(t, "postgres", u.Scheme)
	assert.Equal(t, Superuser, u.User.Username())
	assert.Equal(t, "127.0.0.1:54321", u.Host)
	assert.Equal(t, "/ewr", u.Path)
	assert.Equal(t, "disable", u.Query().Get("sslmode"))
	assert.Equal(t, strconv.Itoa(connectTimeoutSec), u.Query().Get("connect_timeout"))

	u, err = url.Parse(c.DSN("a db/with?odd#chars"))
	require.NoError(t, err)
	assert.Equal(t, "/a db/with?odd#chars", u.Path)
}

func TestServerArgs(t *testing.T) {
	args := strings.Join(serverArgs("/d", 5000, "/s p", Options{Settings: map[string]string{"max_connections": "20"}}), " ")
	for _, want := range []string{
		"-D /d -p 5000", "-c listen_addresses=127.0.0.1", `-c unix_socket_directories="/s p"`,
		"-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off", "-c max_connections=20",
	} {
		assert.Contains(t, args, want)
	}
	assert.NotContains(t, args, "max_connections=100", "Settings override the defaults")

	args = strings.Join(serverArgs("/d", 5000, "/s", Options{Fsync: true}), " ")
	assert.NotContains(t, args, "fsync=off")
	assert.NotContains(t, args, "synchronous_commit")
}

func TestSocketDirFallsBackForLongPaths(t *testing.T) {
	su := serverUser{uid: os.Geteuid(), gid: os.Getegid()}
	short := "/tmp/pg"
	dir, tmp, err := socketDir(short, su)
	require.NoError(t, err)
	assert.Equal(t, short, dir)
	assert.False(t, tmp)

	long := "/tmp/" + strings.Repeat("x", 100)
	dir, tmp, err = socketDir(long, su)
	require.NoError(t, err)
	defer os.RemoveAll(dir)
	assert.True(t, tmp)
	assert.LessOrEqual(t, len(dir)+len("/.s.PGSQL.65535"), sunPathMax)
}

func TestClearStalePidFile(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "postmaster.pid")

	removed, err := clearStalePidFile(dir)
	require.NoError(t, err)
	assert.False(t, removed, "no pid file, nothing to do")

	exited := exec.Command("true")
	require.NoError(t, exited.Run())
	for name, content := range map[string]string{
		"gone":    fmt.Sprintf("%d\n%s\n", exited.Process.Pid, dir),
		"not pg":  fmt.Sprintf("%d\n%s\n", os.Getpid(), dir),
		"empty":   "",
		"garbled": "pid?\n",
	} {
		require.NoError(t, os.WriteFile(pidFile, []byte(content), 0o600))
		removed, err := clearStalePidFile(dir)
		require.NoError(t, err, name)
		assert.True(t, removed, name)
		assert.NoFileExists(t, pidFile, name)
	}
}

func TestFindBinDir(t *testing.T) {
	ctx := t.Context()
	dir, err := findBinDir(ctx, "")
	require.NoError(t, err)
	assert.True(t, hasServerPrograms(dir))
	version, err := serverVersion(ctx, dir)
	require.NoError(t, err)

	again, err := findBinDir(ctx, majorOf(version))
	require.NoError(t, err)
	assert.True(t, hasServerPrograms(again))
	againVersion, err := serverVersion(ctx, again)
	require.NoError(t, err)
	assert.Equal(t, majorOf(version), majorOf(againVersion))

	_, err = findBinDir(ctx, "7.4")
	assert.ErrorIs(t, err, ErrNoServerBinaries)
}

func TestMajorOf(t *testing.T) {
	for version, want := range map[string]string{
		"15.13": "15", "16beta1": "16", "17": "17", "9.6.24": "9.6", "10.1": "10",
	} {
		assert.Equal(t, want, majorOf(version), version)
	}
}

func TestGlobNewestFirst(t *testing.T) {
	base := t.TempDir()
	for _, v := range []string{"9.6", "15", "16", "10"} {
		require.NoError(t, os.MkdirAll(filepath.Join(base, v, "bin"), 0o755))
	}
	got := globNewestFirst(filepath.Join(base, "*", "bin"), base+"/")
	var versions []string
	for _, p := range got {
		versions = append(versions, filepath.Base(filepath.Dir(p)))
	}
	assert.Equal(t, []string{"16", "15", "10", "9.6"}, versions)
}

func TestLookupServerUser(t *testing.T) {
	_, err := lookupServerUser(func(string) (*user.User, error) { return nil, user.UnknownUserError(ServerUserName) })
	require.ErrorIs(t, err, ErrNoServerUser)
	assert.ErrorContains(t, err, "useradd")
	assert.ErrorContains(t, err, "DATABASE_URL")

	_, err = lookupServerUser(func(string) (*user.User, error) {
		return &user.User{Uid: "0", Gid: "0", Username: ServerUserName}, nil
	})
	require.ErrorIs(t, err, ErrNoServerUser)

	su, err := lookupServerUser(func(string) (*user.User, error) {
		return &user.User{Uid: "101", Gid: "104", Username: ServerUserName}, nil
	})
	require.NoError(t, err)
	require.NotNil(t, su.cred)
	assert.Equal(t, uint32(101), su.cred.Uid)
	assert.Equal(t, uint32(104), su.cred.Gid)
	assert.Empty(t, su.cred.Groups, "root's supplementary groups are dropped")
}

func TestMakeReachable(t *testing.T) {
	base := t.TempDir()
	deep := filepath.Join(base, "a", "b")
	require.NoError(t, os.MkdirAll(deep, 0o700))
	require.NoError(t, os.Chmod(base, 0o700))

	// Someone who is neither owner nor in the group needs o+x on each.
	other := serverUser{uid: os.Geteuid() + 4242, gid: os.Getegid() + 4242, cred: &syscall.Credential{}}
	require.NoError(t, other.makeReachable(deep))
	for _, p := range []string{base, filepath.Join(base, "a"), deep} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o701), fi.Mode().Perm(), p)
	}

	// The owner can already search them: nothing changes.
	require.NoError(t, os.Chmod(deep, 0o700))
	owner := serverUser{uid: os.Geteuid(), gid: os.Getegid(), cred: &syscall.Credential{}}
	require.NoError(t, owner.makeReachable(deep))
	fi, err := os.Stat(deep)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
}

// BenchmarkStart measures initdb plus a start to the first accepted
// connection (fresh), and a start of an existing cluster (reuse), each
// followed by Stop, with and without fsync.
func BenchmarkStart(b *testing.B) {
	for _, fsync := range []bool{false, true} {
		b.Run(fmt.Sprintf("fresh/fsync=%v", fsync), func(b *testing.B) {
			for b.Loop() {
				c, err := Start(b.Context(), Options{Dir: filepath.Join(b.TempDir(), "pg"), Fsync: fsync})
				require.NoError(b, err)
				require.NoError(b, c.Stop())
			}
		})
		b.Run(fmt.Sprintf("reuse/fsync=%v", fsync), func(b *testing.B) {
			dir := filepath.Join(b.TempDir(), "pg")
			c, err := Start(b.Context(), Options{Dir: dir, Fsync: fsync})
			require.NoError(b, err)
			require.NoError(b, c.Stop())
			for b.Loop() {
				c, err := Start(b.Context(), Options{Dir: dir, Fsync: fsync})
				require.NoError(b, err)
				require.NoError(b, c.Stop())
			}
		})
	}
}

// TestStartPicksAnotherPortWhenTaken takes the port Start picks first, as a
// concurrent process may, and checks that Start picks again instead of
// failing or, worse, handing out a DSN of the server that took the port.
func TestStartPicksAnotherPortWhenTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port
	var picks int
	pickPort = func() (int, error) {
		picks++
		if picks == 1 {
			return takenPort, nil
		}
		return freePort()
	}
	defer func() { pickPort = freePort }()

	c := startCluster(t, Options{Dir: filepath.Join(t.TempDir(), "pg")})
	assert.Equal(t, 2, picks)
	assert.NotEqual(t, takenPort, c.Port())
	db := openDB(t, c.DSN("postgres"))
	var port int
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT inet_server_port()`).Scan(&port))
	assert.Equal(t, c.Port(), port)
}

func currentDatabase(t testing.TB, db *sql.DB) string {
	t.Helper()
	var name string
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT current_database()`).Scan(&name))
	return name
}
