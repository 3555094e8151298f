package indexer

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/lib/pq"
)

// The collateral table is derived, not a chain record: one row per pledge
// that is ACTIVE and secures a loan, with the current warehouse, unit and
// quantity of its receipt. It is what a loan's value is computed from
// (financing's collateral: the receipts under the loan's ACTIVE pledges),
// kept narrow and indexed by bank and by loan so that a bank's exposure
// reads a few hundred index entries instead of a pledge and a receipt row
// per pledge.
//
// It is maintained in each block's SQL transaction, after the block's
// records are written: the rows of every pledge the block wrote, and of
// every pledge on a receipt the block wrote, are deleted and derived again
// from the pledges and receipts tables. So it is a function of those
// tables, hence of the blocks: rebuild equality and Checksum cover it, and
// migration 0006 fills it from the tables as they are.
//
// It relies on the chain's invariant that a pledge securing a loan names it
// (Pledge.Loan) and the loan lists it (Loan.Pledges).

const (
	collateralDeleteSQL = `DELETE FROM collateral WHERE pledge = ANY($1::text[]) OR receipt = ANY($2::text[])`
	collateralInsertSQL = `INSERT INTO collateral (pledge, loan, bank, receipt, warehouse, unit, quantity, updated_height)
		SELECT p.id, p.loan, p.bank, r.id, r.warehouse, r.unit, r.quantity, greatest(p.updated_height, r.updated_height)
		FROM pledges p JOIN receipts r ON r.id = p.receipt
		WHERE (p.id = ANY($1::text[]) OR p.receipt = ANY($2::text[])) AND p.status = 'ACTIVE' AND p.loan IS NOT NULL`
)

// touched are the pledges and receipts a block wrote (or deleted): the
// collateral rows to derive again.
type touched struct {
	pledges, receipts []string
}

// note records that key's record, of table t with id parts ids, was written.
func (c *touched) note(t *recordTable, ids []string) {
	switch t.name {
	case "pledges":
		c.pledges = append(c.pledges, ids[0])
	case "receipts":
		c.receipts = append(c.receipts, ids[0])
	}
}

// deriveCollateral derives again the collateral rows of what the block
// touched, in the block's transaction.
func deriveCollateral(ctx context.Context, tx *sql.Tx, c touched) error {
	if len(c.pledges) == 0 && len(c.receipts) == 0 {
		return nil
	}
	ps, rs := pq.StringArray(c.pledges), pq.StringArray(c.receipts)
	if _, err := tx.ExecContext(ctx, collateralDeleteSQL, ps, rs); err != nil {
		return fmt.Errorf("delete collateral: %w", err)
	}
	if _, err := tx.ExecContext(ctx, collateralInsertSQL, ps, rs); err != nil {
		return fmt.Errorf("derive collateral: %w", err)
	}
	return nil
}
