// Package indexer keeps the PostgreSQL read model: it applies the block
// records the chain publishes (ledger.BlockRecord) to typed tables that the
// financing and trading modules and the API query, and it answers those
// queries (queries.go).
//
// What it owns: the schema (migrations/*.sql, embedded and applied by
// Migrate), the decoder table that maps a record key prefix to the table it
// lands in (tables.go), Apply, Run (follow a Source), Checksum, and the
// read queries.
//
// Invariants:
//
//   - One SQL transaction per block, with the checkpoint (the last applied
//     height and its app hash) in it. A block is applied entirely or not at
//     all: a crash, a lost connection or a failed statement anywhere before
//     COMMIT leaves neither rows nor checkpoint, and applying it again
//     writes it exactly once.
//   - Blocks apply in height order. A block at or below the checkpoint is a
//     no-op (if its app hash differs from the one applied there, that is
//     ErrConflict: a different chain); a block past checkpoint+1 is ErrGap
//     and changes nothing. Run stops at a gap, a block that does not decode
//     or a record key no table claims; it never skips.
//   - Upserts are keyed by business ids (the record key) and version-aware:
//     an older record version never overwrites a newer one.
//   - Everything in the read model is a function of the blocks: rebuilding
//     from the first block into an empty database gives the same rows, and
//     Checksum, a sha256 over every table in a defined order, proves it.
//     Each record also keeps its canonical bytes (raw), so nothing the chain
//     wrote is lost to the typed columns.
//   - Every query is bounded: a LIMIT no caller can raise past MaxPageSize,
//     keyset pagination, and a depth bound on lineage.
//
// Words:
//
//   - block record: what one committed block did (ledger.BlockRecord): each
//     tx's outcome, events and the records it wrote, key → canonical value.
//   - checkpoint: the single row saying which block the read model reflects.
//   - raw: a record's canonical bytes as the chain stores them
//     (receipt.EncodeRecord); the typed columns are derived from it.
//   - ref: an event's reference to a record, stored as "kind:id" (for
//     example "receipt:WR-1") in events.refs, which a GIN index serves.
//
// Blocks start at FirstHeight (default 0: the genesis record that
// ledger.GenesisRecord makes, holding the first consortium).
//
// Speed: a block reaches PostgreSQL as one multi-row statement per table
// (INSERT … SELECT FROM unnest(array parameters) … ON CONFLICT), not a
// statement per row (batch.go); Run reads and decodes the next blocks in a
// goroutine while PostgreSQL writes the current one. bench_test.go measures
// it.
//
// Wiring (cmd/ewr): Migrate on start, then New(db, cfg).Run(ctx, source);
// Status for /readyz; Checksum for `ewr indexer checksum`; NewQueries for
// the API and the financing and trading modules.
package indexer
