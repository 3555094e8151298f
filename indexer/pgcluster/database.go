package pgcluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

// maxNameBytes is PostgreSQL's NAMEDATALEN - 1. Longer names are silently
// truncated by the server, so two long names could name one database.
const maxNameBytes = 63

// Errors about DSNs and database names.
var (
	ErrBadDatabaseName = errors.New("pgcluster: bad database name")
	ErrBadDatabaseURL  = errors.New("pgcluster: bad DATABASE_URL")
)

func CheckDatabaseName(name string) error {
	if name == "" || len(name) > maxNameBytes {
		return fmt.Errorf("%w: %q must have 1 to %d bytes", ErrBadDatabaseName, name, maxNameBytes)
	}
	for i := 0; i < len(name); i++ {
		if name[i] == 0 {
			return fmt.Errorf("%w: %q holds a NUL byte", ErrBadDatabaseName, name)
		}
	}
	return nil
}

// CreateDatabase creates database name, through the server adminDSN names,
// unless it exists.
func CreateDatabase(ctx context.Context, adminDSN, name string) error {
	if err := CheckDatabaseName(name); err != nil {
		return err
	}
	db, err := sql.Open("postgres", adminDSN)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer db.Close()
	var exists bool
	err = db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists)
	if err != nil {
		return fmt.Errorf("pgcluster: look for database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = db.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name))
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && (pqErr.Code == pqerror.DuplicateDatabase || pqErr.Code == pqerror.UniqueViolation) {
		return nil // created meanwhile by someone else
	}
	if err != nil {
		return fmt.Errorf("pgcluster: create database %q: %w", name, err)
	}
	return nil
}

// DropDatabase drops database name, through the server adminDSN names,
// closing any connections to it that are left.
func DropDatabase(ctx context.Context, adminDSN, name string) error {
	db, err := sql.Open("postgres", adminDSN)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer db.Close()
	quoted := pq.QuoteIdentifier(name)
	_, err = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoted+" WITH (FORCE)")
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == pqerror.SyntaxError {
		// Before PostgreSQL 13 there is no FORCE.
		_, err = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoted)
	}
	if err != nil {
		return fmt.Errorf("pgcluster: drop database %q: %w", name, err)
	}
	return nil
}

// ParseDatabaseURL parses a postgres:// or postgresql:// URL and sets
// connect_timeout when it is missing, so no connection waits forever.
func ParseDatabaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the URL, which may hold a password.
		return nil, fmt.Errorf("%w: not a URL", ErrBadDatabaseURL)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("%w: want a postgres:// URL, got scheme %q", ErrBadDatabaseURL, u.Scheme)
	}
	q := u.Query()
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", strconv.Itoa(connectTimeoutSec))
		u.RawQuery = q.Encode()
	}
	return u, nil
}

// WithDatabase returns u naming database name instead.
func WithDatabase(u *url.URL, name string) string {
	v := *u
	v.Path = "/" + name
	v.RawPath = ""
	return v.String()
}
