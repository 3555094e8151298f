package indexer

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// checksumVersion names the checksum's definition; change it when the
// definition (not the schema) changes.
const checksumVersion = "ewr-indexer-checksum/v1"

// TableSum is one table's part of the checksum.
type TableSum struct {
	Table  string `json:"table"`
	Rows   int64  `json:"rows"`
	SHA256 string `json:"sha256"` // hex, over the table's rows as text, in primary key order
}

// checksumTables are the tables Checksum covers, each with its primary key
// order: every table of the read model. schema_migrations is left out: its
// applied_at differs between rebuilds by design, and the schema version is
// hashed instead.
func checksumTables() [][2]string {
	ts := [][2]string{
		{"checkpoint", "id"},
		{"blocks", "height"},
		{"txs", "height, tx_index"},
		{"events", "height, tx_index, event_index"},
	}
	for _, t := range recordTables {
		ts = append(ts, [2]string{t.name, strings.Join(t.keyCols, ", ")})
	}
	// Derived tables, after the records they come from.
	return append(ts, [2]string{"collateral", "pledge"})
}

// Checksum is a sha256 over every row of the read model, table by table in
// a fixed order and row by row (as PostgreSQL's row text, length-prefixed)
// in primary key order (bytewise: every text
// column is COLLATE "C"), read in one snapshot. Two databases that applied
// the same blocks have the same checksum, whichever server, locale or
// apply history (rebuild, crash and replay) made them.
func Checksum(ctx context.Context, db *sql.DB) (string, error) {
	s, err := Sum(ctx, db)
	if err != nil {
		return "", err
	}
	return s.Checksum, nil
}

// ChecksumTables returns each table's part of Checksum, to find which
// table two read models differ in.
func ChecksumTables(ctx context.Context, db *sql.DB) ([]TableSum, error) {
	s, err := Sum(ctx, db)
	if err != nil {
		return nil, err
	}
	return s.Tables, nil
}

// ReadModelSum is the checksum of a read model with its parts and the
// checkpoint it is at, all from one snapshot: while an indexer applies
// blocks, compare checksums taken at the same height.
type ReadModelSum struct {
	Checkpoint Checkpoint
	Checksum   string
	Tables     []TableSum
}

// Sum reads the checkpoint and every table's part of the checksum in one
// snapshot, and combines them into Checksum.
func Sum(ctx context.Context, db *sql.DB) (*ReadModelSum, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("indexer: checksum: %w", err)
	}
	defer tx.Rollback()
	// The text form of a row depends on these settings; pin them.
	if _, err := tx.ExecContext(ctx, `SET LOCAL bytea_output = 'hex'`); err != nil {
		return nil, fmt.Errorf("indexer: checksum: %w", err)
	}
	out := &ReadModelSum{}
	if err := tx.QueryRowContext(ctx, `SELECT height, app_hash FROM checkpoint`).Scan(&out.Checkpoint.Height, &out.Checkpoint.AppHash); err != nil {
		return nil, fmt.Errorf("indexer: checksum: checkpoint: %w", err)
	}
	for _, t := range checksumTables() {
		s, err := checksumTable(ctx, tx, t[0], t[1])
		if err != nil {
			return nil, err
		}
		out.Tables = append(out.Tables, s)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\nschema %d\n", checksumVersion, SchemaVersion())
	for _, s := range out.Tables {
		fmt.Fprintf(h, "%s %d %s\n", s.Table, s.Rows, s.SHA256)
	}
	out.Checksum = hex.EncodeToString(h.Sum(nil))
	return out, nil
}

func checksumTable(ctx context.Context, tx *sql.Tx, table, order string) (TableSum, error) {
	rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT t::text FROM %s t ORDER BY %s`, table, order))
	if err != nil {
		return TableSum{}, fmt.Errorf("indexer: checksum %s: %w", table, err)
	}
	defer rows.Close()
	h := sha256.New()
	var n int64
	var line []byte
	var lenBuf [binary.MaxVarintLen64]byte
	for rows.Next() {
		if err := rows.Scan(&line); err != nil {
			return TableSum{}, fmt.Errorf("indexer: checksum %s: %w", table, err)
		}
		// Length-prefixed: a row's text may hold newlines.
		h.Write(binary.AppendUvarint(lenBuf[:0], uint64(len(line))))
		h.Write(line)
		n++
	}
	if err := rows.Err(); err != nil {
		return TableSum{}, fmt.Errorf("indexer: checksum %s: %w", table, err)
	}
	return TableSum{Table: table, Rows: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
