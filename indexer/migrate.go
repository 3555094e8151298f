package indexer

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLockKey is the advisory lock Migrate holds while it migrates, so
// two processes starting at once migrate one after the other
// (pg_advisory_xact_lock key: "ewrindex" as 8 bytes).
const migrationLockKey int64 = 0x657772696e646578

// Errors of Migrate.
var (
	ErrSchemaNewer      = errors.New("indexer: database schema is newer than this binary")
	ErrMigrationChanged = errors.New("indexer: an applied migration differs from this binary's")
)

// migration is one embedded migrations/NNNN_name.sql file.
type migration struct {
	version int
	name    string
	sql     string
	sum     string // hex sha256 of sql
}

// migrations returns the embedded migrations in version order. A file whose
// name does not start with a distinct positive number panics: that is a
// build mistake, caught by the first test.
func migrations() []migration {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		panic(err)
	}
	var ms []migration
	seen := map[int]bool{}
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || seen[v] {
			panic("indexer: bad migration file name " + e.Name())
		}
		seen[v] = true
		b, err := migrationFS.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b), sum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms
}

// SchemaVersion is the version of the newest embedded migration: the schema
// this binary reads and writes.
func SchemaVersion() int {
	ms := migrations()
	return ms[len(ms)-1].version
}

// Migrate brings the database's schema to SchemaVersion: it applies the
// embedded migrations not yet recorded in schema_migrations, in order, in
// one transaction under an advisory lock, so a crash leaves the schema as it
// was and two processes starting at once do not both migrate. In the same
// transaction it moves the fallback table's records that a typed table of
// this binary claims into that table (adoptFallback). It is idempotent. It refuses a database migrated by a newer binary
// (ErrSchemaNewer) and one whose applied migrations differ from the
// embedded ones (ErrMigrationChanged).
func Migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("indexer: migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
		return fmt.Errorf("indexer: migrate: lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		sha256     text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("indexer: migrate: %w", err)
	}
	applied := map[int]string{}
	rows, err := tx.QueryContext(ctx, `SELECT version, sha256 FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("indexer: migrate: %w", err)
	}
	for rows.Next() {
		var v int
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			rows.Close()
			return fmt.Errorf("indexer: migrate: %w", err)
		}
		applied[v] = sum
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("indexer: migrate: %w", err)
	}
	ms := migrations()
	known := map[int]bool{}
	for _, m := range ms {
		known[m.version] = true
	}
	for v := range applied {
		if !known[v] {
			return fmt.Errorf("%w: it has migration %d, this binary knows up to %d", ErrSchemaNewer, v, ms[len(ms)-1].version)
		}
	}
	for _, m := range ms {
		if sum, ok := applied[m.version]; ok {
			if sum != m.sum {
				return fmt.Errorf("%w: %s", ErrMigrationChanged, m.name)
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("indexer: migrate: %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)`,
			m.version, m.name, m.sum); err != nil {
			return fmt.Errorf("indexer: migrate: %s: %w", m.name, err)
		}
	}
	// Records of a type this binary has a table for, left in the fallback
	// by an older binary, move to their table now.
	if _, _, err := adoptFallback(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("indexer: migrate: commit: %w", err)
	}
	return nil
}
