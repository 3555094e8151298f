package indexer

import (
	"context"
	"database/sql"
	"strings"

	"github.com/ewrchain/ewr/ledger"
)

// SetBeforeCheckpoint installs the fault-injection hook: fn runs inside a
// block's SQL transaction after every row was written, before the
// checkpoint moves and the transaction commits.
func SetBeforeCheckpoint(ix *Indexer, fn func(ctx context.Context, tx *sql.Tx) error) {
	ix.beforeCheckpoint = fn
}

// ApplyCounted is Apply that also says how many rows it wrote and whether
// the block was a no-op.
func ApplyCounted(ctx context.Context, ix *Indexer, rec *ledger.BlockRecord) (rows, records int, noop bool, err error) {
	a, err := ix.apply(ctx, rec)
	return a.rows, a.records, a.noop, err
}

// RecordTable names a record table and the SQL that rebuilds its keys.
type RecordTable struct{ Name, KeySQL string }

// RecordTables lists the record tables.
func RecordTables() []RecordTable {
	var out []RecordTable
	for _, t := range recordTables {
		out = append(out, RecordTable{Name: t.name, KeySQL: t.keySQL})
	}
	return out
}

// Prepare decodes a block into its statements' parameters, as Apply does
// before it touches the database.
func Prepare(rec *ledger.BlockRecord) (rows, records int, err error) {
	p, err := prepare(rec)
	if err != nil {
		return 0, 0, err
	}
	for _, bs := range [][][]*batch{p.upserts, {p.txs}, {p.events}} {
		for _, b := range bs {
			for _, x := range b {
				x.params()
			}
		}
	}
	return p.rows, p.records, nil
}

// CollateralFill is the statement of migration 0006 that fills the
// collateral table from the pledges and receipts tables.
func CollateralFill() string {
	for _, m := range migrations() {
		if m.name == "0006_collateral.sql" {
			i := strings.Index(m.sql, "INSERT INTO collateral")
			return m.sql[i:]
		}
	}
	panic("no migration 0006")
}
