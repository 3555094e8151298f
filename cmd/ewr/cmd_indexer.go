package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/indexer/pgcluster"
	"github.com/ewrchain/ewr/indexer/rpcsource"
	"github.com/lib/pq"
)

func init() {
	register(&command{name: "indexer", summary: "the PostgreSQL read model: checksum, rebuild from a node, run beside a node", run: runIndexer})
}

const indexerUsage = `usage: ewr indexer <command> [flags]

commands:
  checksum   print the read model's checksum (--tables: per table)
  rebuild    build a fresh read model from a node's block records, over its RPC
  run        follow a node over its RPC, keeping a read model up to date

The read model is the one of --database-url, else DATABASE_URL, else the
private cluster of ` + "`ewr run`" + ` in <data>/pg (database "ewr"), which is reused
while it runs and started for the command otherwise.`

func runIndexer(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, indexerUsage)
		if len(args) == 0 {
			return usagef("which indexer command?")
		}
		return nil
	}
	switch args[0] {
	case "checksum":
		return runIndexerChecksum(ctx, args[1:])
	case "rebuild":
		return runIndexerRebuild(ctx, args[1:])
	case "run":
		return runIndexerFollow(ctx, args[1:])
	}
	fmt.Fprintln(stderr, indexerUsage)
	return usagef("unknown indexer command %q", args[0])
}

// dbFlags are how an indexer command finds its server.
type dbFlags struct {
	url  *string
	data *string
}

func addDBFlags(fs interface {
	String(name, value, usage string) *string
}) dbFlags {
	return dbFlags{
		url:  fs.String("database-url", "", "PostgreSQL URL of the read model (default: env DATABASE_URL, else the cluster in <data>/pg)"),
		data: fs.String("data", envOr("EWR_DATA", defaultDataDir), "data directory of `ewr run`, whose pg/ holds the private cluster"),
	}
}

// open returns the DSN of database name (pgcluster.AppDatabase for the
// read model of `ewr run`) on the server f names, and a func that stops
// what open started. With create false, a private cluster that does not
// exist yet is an error rather than made: there is no read model to read.
func (f dbFlags) open(ctx context.Context, name string, create bool) (string, func(), error) {
	noop := func() {}
	raw := *f.url
	if raw == "" {
		raw = os.Getenv("DATABASE_URL")
	}
	if raw != "" {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return "", nil, usagef("--database-url / DATABASE_URL: want a postgres:// URL")
		}
		if name != pgcluster.AppDatabase {
			u.Path = "/" + name
		}
		return u.String(), noop, nil
	}
	dir := filepath.Join(*f.data, "pg")
	if port, ok := runningCluster(dir); ok {
		return localDSN(port, name), noop, nil
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, fs.ErrNotExist) && !create {
		return "", nil, fmt.Errorf("no read model in %s: start the system (`ewr run`) or give --database-url", dir)
	}
	fmt.Fprintf(stderr, "ewr indexer: starting the private PostgreSQL cluster in %s\n", dir)
	dsn, stop, err := pgcluster.Open(ctx, dir)
	if err != nil {
		return "", nil, err
	}
	if name != pgcluster.AppDatabase {
		u, err := url.Parse(dsn)
		if err != nil {
			stop()
			return "", nil, err
		}
		u.Path = "/" + name
		dsn = u.String()
	}
	return dsn, stop, nil
}

// runningCluster reads the postmaster.pid of a cluster in dir that a
// running `ewr run` started, and returns its port: PostgreSQL refuses a
// second server on one data dir, so a command connects to the one running.
func runningCluster(dir string) (int, bool) {
	f, err := os.Open(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	// Lines: pid, data dir, start time, port, socket dir, listen address, …
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(lines) < 4 {
		lines = append(lines, strings.TrimSpace(sc.Text()))
	}
	if len(lines) < 4 {
		return 0, false
	}
	pid, err1 := strconv.Atoi(lines[0])
	port, err2 := strconv.Atoi(lines[3])
	if err1 != nil || err2 != nil || pid <= 0 || port <= 0 || port > 65535 {
		return 0, false
	}
	// Signal 0 checks the process exists (EPERM: it does, as another user).
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0, false
	}
	return port, true
}

// localDSN is the DSN of database name on the private cluster at port, as
// pgcluster writes them.
func localDSN(port int, name string) string {
	u := url.URL{Scheme: "postgres", User: url.User(pgcluster.Superuser), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Path: "/" + name, RawQuery: "sslmode=disable&connect_timeout=10"}
	return u.String()
}

func openDB(dsn string) (*sql.DB, error) {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	return db, nil
}

// checksumReport is what `ewr indexer checksum --json` prints.
type checksumReport struct {
	Checksum string             `json:"checksum"`
	Height   int64              `json:"height"`
	AppHash  string             `json:"app_hash"`
	Schema   int                `json:"schema"`
	Tables   []indexer.TableSum `json:"tables,omitempty"`
}

func runIndexerChecksum(ctx context.Context, args []string) error {
	fs := newFlags("indexer checksum")
	dbf := addDBFlags(fs)
	tables := fs.Bool("tables", false, "also print each table's rows and sha256")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dsn, stop, err := dbf.open(ctx, pgcluster.AppDatabase, false)
	if err != nil {
		return err
	}
	defer stop()
	db, err := openDB(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := checksumOf(ctx, db, *tables)
	if err != nil {
		return err
	}
	if *asJSON {
		out, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, string(out))
		return err
	}
	fmt.Fprintln(stdout, rep.Checksum)
	for _, t := range rep.Tables {
		fmt.Fprintf(stdout, "%-16s %10d %s\n", t.Table, t.Rows, t.SHA256)
	}
	fmt.Fprintf(stderr, "ewr indexer: read model at height %d (app hash %s), schema %d\n", rep.Height, rep.AppHash, rep.Schema)
	return nil
}

// checksumOf reads the checksum, with the checkpoint it is at, in one
// snapshot; with tables, each table's part too.
func checksumOf(ctx context.Context, db *sql.DB, tables bool) (*checksumReport, error) {
	s, err := indexer.Sum(ctx, db)
	if err != nil {
		return nil, err
	}
	rep := &checksumReport{Checksum: s.Checksum, Height: s.Checkpoint.Height, AppHash: fmt.Sprintf("%X", s.Checkpoint.AppHash),
		Schema: indexer.SchemaVersion()}
	if tables {
		rep.Tables = s.Tables
	}
	return rep, nil
}

// createFreshDatabase creates database name on the server of dsn, which
// must not exist (with replace, an existing one is dropped first).
func createFreshDatabase(ctx context.Context, dsn, name string, replace bool) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return err
	}
	u.Path = "/postgres"
	admin, err := sql.Open("postgres", u.String())
	if err != nil {
		return err
	}
	defer admin.Close()
	var exists bool
	if err := admin.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("look for database %q: %w", name, err)
	}
	if exists {
		if !replace {
			return fmt.Errorf("database %q exists: rebuild makes a fresh one (--replace drops it first)", name)
		}
		if _, err := admin.ExecContext(ctx, "DROP DATABASE "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %q: %w", name, err)
		}
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

// rebuildReport is what `ewr indexer rebuild` prints.
type rebuildReport struct {
	Database   string  `json:"database"`
	Height     int64   `json:"height"`
	Blocks     int64   `json:"blocks"`
	Seconds    float64 `json:"seconds"`
	BlocksPerS float64 `json:"blocks_per_s"`
	checksumReport
}

func runIndexerRebuild(ctx context.Context, args []string) error {
	fs := newFlags("indexer rebuild")
	dbf := addDBFlags(fs)
	rpc := fs.String("rpc", "http://127.0.0.1:26657", "CometBFT RPC of a node of the chain")
	name := fs.String("database", "ewr_rebuild", "the fresh database to build, on the read model's server")
	replace := fs.Bool("replace", false, "drop the database first if it exists")
	tables := fs.Bool("tables", false, "report each table's checksum too")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *name == pgcluster.AppDatabase {
		return usagef("--database %q is the live read model; rebuild into another", *name)
	}
	src, err := rpcsource.New(*rpc)
	if err != nil {
		return err
	}
	dsn, stop, err := dbf.open(ctx, *name, true)
	if err != nil {
		return err
	}
	defer stop()
	if err := createFreshDatabase(ctx, dsn, *name, *replace); err != nil {
		return err
	}
	db, err := openDB(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := indexer.Migrate(ctx, db); err != nil {
		return err
	}
	ix := indexer.New(db, indexer.Config{})
	began := time.Now()
	done := make(chan struct{})
	go reportProgress(ix, done, began)
	top, err := ix.CatchUp(ctx, src)
	close(done)
	if err != nil {
		return err
	}
	took := time.Since(began)
	cs, err := checksumOf(ctx, db, *tables)
	if err != nil {
		return err
	}
	rep := rebuildReport{Database: *name, Height: top, Blocks: top + 1, Seconds: took.Seconds(),
		BlocksPerS: float64(top+1) / took.Seconds(), checksumReport: *cs}
	out, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, string(out))
	return err
}

// reportProgress prints the indexer's height to stderr every few seconds
// until done is closed.
func reportProgress(ix *indexer.Indexer, done <-chan struct{}, began time.Time) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			st := ix.Status()
			fmt.Fprintf(stderr, "ewr indexer: block %d of %d (%v)\n", st.Height, st.SourceHeight, time.Since(began).Round(time.Second))
		}
	}
}

func runIndexerFollow(ctx context.Context, args []string) error {
	fs := newFlags("indexer run")
	dbf := addDBFlags(fs)
	rpc := fs.String("rpc", "http://127.0.0.1:26657", "CometBFT RPC of the node to follow")
	poll := fs.Duration("poll", 500*time.Millisecond, "longest wait between asking the node for new blocks")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *poll <= 0 {
		return usagef("--poll must be positive")
	}
	src, err := rpcsource.New(*rpc)
	if err != nil {
		return err
	}
	dsn, stop, err := dbf.open(ctx, pgcluster.AppDatabase, true)
	if err != nil {
		return err
	}
	defer stop()
	db, err := openDB(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := indexer.Migrate(ctx, db); err != nil {
		return err
	}
	ix := indexer.New(db, indexer.Config{PollMin: min(50*time.Millisecond, *poll), PollMax: *poll})
	done := make(chan struct{})
	defer close(done)
	go reportProgress(ix, done, time.Now())
	fmt.Fprintf(stderr, "ewr indexer: following %s\n", *rpc)
	err = ix.Run(ctx, src)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil // interrupted: a clean stop
	}
	return err
}
