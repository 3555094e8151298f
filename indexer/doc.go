// Package indexer keeps the PostgreSQL read model: it applies the block
// records the chain publishes (ledger.BlockRecord) to typed tables that the
// financing and trading modules and the API query, and it answers those
// queries (queries*.go).
//
// What it owns: the schema (migrations/*.sql, embedded and applied by
// Migrate), the decoder table that maps a record key prefix to the table it
// lands in (tables*.go), the fallback table for the keys no typed table
// claims (fallback.go), Apply, Run and CatchUp (follow a Source), Checksum,
// and the read queries. Sources: MemSource (in process), api.ChainSource (a
// node's app in the same process) and rpcsource (a node over CometBFT's
// RPC, for an indexer in a process of its own).
//
// Tables: the chain's blocks, txs and events; one typed table per record
// type: receipts, lots, pledges, release orders, used tickets,
// participants, warehouses, bays, devices, config; credit policies, prices,
// loans (with their open margin call), the open-loan index; offers, trades,
// settlements; alerts, lot watches, anchors, anchor heads; and records, the
// fallback.
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
//     and changes nothing. Run stops at a gap or a block that does not
//     decode; it never skips.
//   - Every record lands somewhere: in its typed table, or, for a key no
//     typed table claims (a record type newer than this binary), in the
//     fallback table "records" with its raw bytes (and its kind, version
//     and JSON when package ledger knows the type). A new record type never
//     stops the read model; Migrate moves fallback rows into a typed table
//     once a binary has one for them.
//   - Upserts are keyed by business ids (the record key) and version-aware:
//     an older record version never overwrites a newer one.
//   - Everything in the read model is a function of the blocks: rebuilding
//     from the first block into an empty database gives the same rows, and
//     Checksum, a sha256 over every table (the fallback too) in a defined
//     order, proves it. Each record also keeps its canonical bytes (raw),
//     so nothing the chain wrote is lost to the typed columns.
//   - Every query is bounded: a LIMIT no caller can raise past MaxPageSize,
//     keyset pagination, a depth bound on lineage, ErrTooLarge past a bound
//     on an aggregate.
//   - Money figures are exact: loan-to-value and collateral value are
//     computed by package financing's own functions (CollateralValue,
//     LTVBps) on grams summed exactly in SQL numeric, so a valuation here
//     is the one financing.MarkToMarket gives on the chain state at the
//     checkpoint (queries_financing.go).
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
//   - fallback: the records table, where a record no typed table claims
//     lands, keyed by its whole state key.
//   - valuation: a loan marked to market from the read model (Valuation):
//     collateral grams under its ACTIVE pledges, the latest price, value
//     after the loan's haircut, LTV.
//
// Blocks start at FirstHeight (default 0: the genesis record that
// ledger.GenesisRecord makes, holding the first consortium).
//
// Speed: a block reaches PostgreSQL as one multi-row statement per table
// (INSERT … SELECT FROM unnest(array parameters) … ON CONFLICT), not a
// statement per row (batch.go); Run reads and decodes the next blocks in a
// goroutine while PostgreSQL writes the current one. bench_test.go measures the indexer alone; `ewr bench
// query` a realistic load with loans, and the query latencies.
//
// Wiring (cmd/ewr): Migrate on start, then New(db, cfg).Run(ctx, source);
// Status for /readyz; Checksum for `ewr indexer checksum`; CatchUp for
// `ewr indexer rebuild`; NewQueries for the API and the financing and
// trading modules.
package indexer
