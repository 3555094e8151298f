package indexer

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ewrchain/ewr/ledger"
)

// Errors of Apply and Run. All but ErrNotFound stop Run: they are not
// cured by retrying.
var (
	ErrGap      = errors.New("indexer: block after a gap")
	ErrDecode   = errors.New("indexer: record does not decode")
	ErrBadBlock = errors.New("indexer: malformed block record")
	ErrConflict = errors.New("indexer: block differs from the one applied at its height")
	ErrNotFound = errors.New("indexer: not found")
)

// Limits.
const (
	// maxRowsPerStatement bounds one multi-row statement; a block with
	// more rows for a table sends several, in the same SQL transaction.
	maxRowsPerStatement = 10_000
	// maxTxsPerBlock bounds a block record; CometBFT blocks are far
	// smaller (tens of MB at most).
	maxTxsPerBlock = 1 << 20
)

// Config tunes an Indexer. The zero value is the default.
type Config struct {
	// FirstHeight is the height of the first block the source publishes:
	// 0 (the default) when block 0 is the genesis record
	// (ledger.GenesisRecord). Blocks below it are not indexed.
	FirstHeight int64
	// PollMin and PollMax bound Run's backoff while it waits for the
	// source or retries a failure (defaults 50ms and 2s).
	PollMin, PollMax time.Duration
	// MaxRetries bounds consecutive failed attempts at one step (a
	// source read, an apply) before Run gives up (default 30).
	MaxRetries int
	// ApplyTimeout bounds one block's SQL transaction, so that a stuck
	// server or lock cannot stall Run forever (default 2m); Run retries a
	// block that timed out.
	ApplyTimeout time.Duration
	// Logger gets Run's retries and stops (default slog.Default()).
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.PollMin <= 0 {
		c.PollMin = 50 * time.Millisecond
	}
	if c.PollMax < c.PollMin {
		c.PollMax = max(2*time.Second, c.PollMin)
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = 30
	}
	if c.ApplyTimeout <= 0 {
		c.ApplyTimeout = 2 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Indexer applies block records to the read model in db, whose schema
// Migrate made.
type Indexer struct {
	db  *sql.DB
	cfg Config

	// beforeCheckpoint, when set (tests only), runs inside a block's SQL
	// transaction after every row was written and before the checkpoint
	// moves and the transaction commits. An error aborts the block.
	beforeCheckpoint func(ctx context.Context, tx *sql.Tx) error

	mu struct {
		sync.Mutex
		status Status
	}
}

// New returns an indexer on db.
func New(db *sql.DB, cfg Config) *Indexer {
	ix := &Indexer{db: db, cfg: cfg.withDefaults()}
	ix.mu.status = Status{Height: -1, SourceHeight: -1}
	return ix
}

// Checkpoint is the block the read model reflects.
type Checkpoint struct {
	Height  int64 // -1 before the first block
	AppHash []byte
}

// ReadCheckpoint reads the checkpoint.
func ReadCheckpoint(ctx context.Context, db *sql.DB) (Checkpoint, error) {
	var cp Checkpoint
	err := db.QueryRowContext(ctx, `SELECT height, app_hash FROM checkpoint`).Scan(&cp.Height, &cp.AppHash)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("indexer: read checkpoint: %w", err)
	}
	return cp, nil
}

// next is the height the indexer applies after checkpoint height h.
func (ix *Indexer) next(h int64) int64 { return max(h+1, ix.cfg.FirstHeight) }

// Apply applies one block in one SQL transaction with the checkpoint. A
// block below the next height is a no-op (nil), after checking its app
// hash matches the one applied; a block past it is ErrGap and changes
// nothing. A block that does not decode is ErrDecode and changes nothing.
// A record whose key no typed table claims lands in the fallback table. Concurrent Apply calls on one database (from one
// process or several) serialize on the checkpoint row.
func (ix *Indexer) Apply(ctx context.Context, rec *ledger.BlockRecord) error {
	_, err := ix.apply(ctx, rec)
	return err
}

// applied is what one apply did.
type applied struct {
	noop       bool
	checkpoint int64 // after the call
	rows       int   // rows written: records (after dedupe), txs, events, block
	records    int
}

func (ix *Indexer) apply(ctx context.Context, rec *ledger.BlockRecord) (applied, error) {
	p, err := prepare(rec)
	if err != nil {
		return applied{}, err
	}
	return ix.commit(ctx, p)
}

// prepared is a block decoded into the batches that write it.
type prepared struct {
	rec     *ledger.BlockRecord
	upserts [][]*batch // by recordTables index, each split at maxRowsPerStatement
	deletes [][]*batch
	txs     []*batch
	events  []*batch
	records int
	rows    int
	// touched are the pledges and receipts written, whose collateral
	// rows are derived again (collateral.go).
	touched touched
}

// txsTable and eventsTable are insert-only: their rows are written once,
// with their block.
var (
	txsTable = func() *sqlTable {
		t := &sqlTable{name: "txs", cols: parseCols("height bigint", "tx_index int", "hash bytea", "op_type text",
			"signers text[]", "code bigint", "log text")}
		t.prepareSQL()
		return t
	}()
	eventsTable = func() *sqlTable {
		t := &sqlTable{name: "events", cols: parseCols("height bigint", "tx_index int", "event_index int",
			"type text", "refs text[]", "attrs jsonb")}
		t.prepareSQL()
		return t
	}()
)

// addTo returns a row in the last batch of bs, starting a new batch when
// it is full.
func addTo(bs *[]*batch, cols []col) *row {
	if n := len(*bs); n == 0 || (*bs)[n-1].rows >= maxRowsPerStatement {
		*bs = append(*bs, newBatch(cols))
	}
	return (*bs)[len(*bs)-1].row()
}

// prepare checks a block record and decodes it into batches, touching no
// database. A key written several times in the block is written once, with
// its last value: the state after the block.
func prepare(rec *ledger.BlockRecord) (*prepared, error) {
	if err := checkBlock(rec); err != nil {
		return nil, err
	}
	p := &prepared{rec: rec, upserts: make([][]*batch, len(recordTables)), deletes: make([][]*batch, len(recordTables))}

	// The last write of each key, in key order so that concurrent
	// writers lock rows in one order.
	last := map[string]int{}
	var writes []ledger.Write
	var at []int // tx index of each write
	for ti := range rec.Txs {
		for _, w := range rec.Txs[ti].Writes {
			if i, seen := last[w.Key]; seen {
				writes[i], at[i] = w, ti
				continue
			}
			last[w.Key] = len(writes)
			writes = append(writes, w)
			at = append(at, ti)
		}
	}
	order := make([]int, len(writes))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(writes[a].Key, writes[b].Key) })
	for _, i := range order {
		w := writes[i]
		t, ids, err := splitKey(w.Key)
		if err != nil {
			return nil, fmt.Errorf("block %d tx %d: %w", rec.Height, at[i], err)
		}
		ti := t.index
		p.touched.note(t, ids)
		if w.Deleted {
			r := addTo(&p.deletes[ti], t.keyOnly)
			for _, id := range ids {
				r.text(id)
			}
			if err := r.done(); err != nil {
				return nil, fmt.Errorf("%w: %s in block %d tx %d: %w", ErrDecode, w.Key, rec.Height, at[i], err)
			}
			p.records++
			continue
		}
		r := addTo(&p.upserts[ti], t.cols)
		for _, id := range ids {
			r.text(id)
		}
		if err := t.decode(r, ids, w.Value); err != nil {
			return nil, fmt.Errorf("%w: %s in block %d tx %d: %w", ErrDecode, w.Key, rec.Height, at[i], err)
		}
		r.i64(rec.Height).bytes(w.Value)
		if err := r.done(); err != nil {
			return nil, fmt.Errorf("%w: %s in block %d tx %d: %w", ErrDecode, w.Key, rec.Height, at[i], err)
		}
		p.records++
	}

	var attrs []byte
	for ti := range rec.Txs {
		tx := &rec.Txs[ti]
		addTo(&p.txs, txsTable.cols).i64(rec.Height).i64(int64(tx.Index)).bytes(tx.Hash[:]).text(tx.OpType).
			texts(tx.Signers).i64(int64(tx.Code)).text(tx.Log)
		for ei := range tx.Events {
			ev := &tx.Events[ei]
			refs := make([]string, len(ev.Refs))
			for i, ref := range ev.Refs {
				refs[i] = ref.Kind + ":" + ref.ID
			}
			attrs = append(attrs[:0], '{')
			for i, a := range ev.Attrs {
				for _, prev := range ev.Attrs[:i] {
					if prev.Key == a.Key {
						return nil, fmt.Errorf("%w: block %d tx %d event %d (%s) repeats attribute %q",
							ErrDecode, rec.Height, ti, ei, ev.Type, a.Key)
					}
				}
				if i > 0 {
					attrs = append(attrs, ',')
				}
				attrs = appendJSONString(attrs, a.Key)
				attrs = append(attrs, ':')
				attrs = appendJSONString(attrs, a.Value)
			}
			attrs = append(attrs, '}')
			r := addTo(&p.events, eventsTable.cols).i64(rec.Height).i64(int64(ti)).i64(int64(ei)).text(ev.Type).
				texts(refs).json(attrs)
			if err := r.done(); err != nil {
				return nil, fmt.Errorf("%w: block %d tx %d event %d: %w", ErrDecode, rec.Height, ti, ei, err)
			}
		}
	}
	p.rows = p.records + 1
	for _, bs := range [][]*batch{p.txs, p.events} {
		for _, b := range bs {
			p.rows += b.rows
		}
	}
	return p, nil
}

// checkBlock checks what a block record promises, at the boundary: txs
// in index order, rejected txs write nothing, keys are not empty.
func checkBlock(rec *ledger.BlockRecord) error {
	if rec == nil {
		return fmt.Errorf("%w: nil", ErrBadBlock)
	}
	if rec.Height < 0 {
		return fmt.Errorf("%w: height %d", ErrBadBlock, rec.Height)
	}
	if len(rec.Txs) > maxTxsPerBlock {
		return fmt.Errorf("%w: block %d has %d txs, at most %d", ErrBadBlock, rec.Height, len(rec.Txs), maxTxsPerBlock)
	}
	for i := range rec.Txs {
		tx := &rec.Txs[i]
		if tx.Index != uint32(i) {
			return fmt.Errorf("%w: block %d: tx at position %d has index %d", ErrBadBlock, rec.Height, i, tx.Index)
		}
		if tx.Code != 0 && (len(tx.Writes) > 0 || len(tx.Events) > 0) {
			return fmt.Errorf("%w: block %d tx %d was rejected (code %d) but wrote records or events", ErrBadBlock, rec.Height, i, tx.Code)
		}
		for _, w := range tx.Writes {
			if w.Key == "" {
				return fmt.Errorf("%w: block %d tx %d writes an empty key", ErrBadBlock, rec.Height, i)
			}
		}
	}
	return nil
}

// commit writes a prepared block in one SQL transaction.
func (ix *Indexer) commit(ctx context.Context, p *prepared) (applied, error) {
	rec := p.rec
	ctx, cancel := context.WithTimeout(ctx, ix.cfg.ApplyTimeout)
	defer cancel()
	tx, err := ix.db.BeginTx(ctx, nil)
	if err != nil {
		return applied{}, fmt.Errorf("indexer: block %d: begin: %w", rec.Height, err)
	}
	defer tx.Rollback()

	// The checkpoint row lock serializes appliers: a second one waits here
	// and then finds the block applied.
	var cp Checkpoint
	if err := tx.QueryRowContext(ctx, `SELECT height, app_hash FROM checkpoint FOR UPDATE`).Scan(&cp.Height, &cp.AppHash); err != nil {
		return applied{}, fmt.Errorf("indexer: block %d: read checkpoint: %w", rec.Height, err)
	}
	next := ix.next(cp.Height)
	switch {
	case rec.Height < next:
		var hash []byte
		err := tx.QueryRowContext(ctx, `SELECT app_hash FROM blocks WHERE height = $1`, rec.Height).Scan(&hash)
		if err == nil && !bytes.Equal(hash, rec.AppHash[:]) {
			return applied{}, fmt.Errorf("%w: block %d has app hash %x, the read model applied %x", ErrConflict, rec.Height, rec.AppHash, hash)
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return applied{}, fmt.Errorf("indexer: block %d: %w", rec.Height, err)
		}
		return applied{noop: true, checkpoint: cp.Height}, nil
	case rec.Height > next:
		return applied{}, fmt.Errorf("%w: block %d, but the read model is at %d (next %d)", ErrGap, rec.Height, cp.Height, next)
	}

	exec := func(what, q string, args ...any) error {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("indexer: block %d: %s: %w", rec.Height, what, err)
		}
		return nil
	}
	for i, t := range recordTables {
		for _, b := range p.upserts[i] {
			if err := exec("upsert "+t.name, t.insertSQL, b.params()...); err != nil {
				return applied{}, err
			}
		}
		for _, b := range p.deletes[i] {
			if err := exec("delete "+t.name, t.deleteSQL, b.params()...); err != nil {
				return applied{}, err
			}
		}
	}
	if err := deriveCollateral(ctx, tx, p.touched); err != nil {
		return applied{}, fmt.Errorf("indexer: block %d: %w", rec.Height, err)
	}
	for _, b := range p.txs {
		if err := exec("insert txs", txsTable.insertSQL, b.params()...); err != nil {
			return applied{}, err
		}
	}
	for _, b := range p.events {
		if err := exec("insert events", eventsTable.insertSQL, b.params()...); err != nil {
			return applied{}, err
		}
	}
	if err := exec("insert block", `INSERT INTO blocks (height, block_time, app_hash, txs) VALUES ($1, $2, $3, $4)`,
		rec.Height, rec.Time, rec.AppHash[:], len(rec.Txs)); err != nil {
		return applied{}, err
	}
	if ix.beforeCheckpoint != nil {
		if err := ix.beforeCheckpoint(ctx, tx); err != nil {
			return applied{}, fmt.Errorf("indexer: block %d: %w", rec.Height, err)
		}
	}
	if err := exec("checkpoint", `UPDATE checkpoint SET height = $1, app_hash = $2`, rec.Height, rec.AppHash[:]); err != nil {
		return applied{}, err
	}
	if err := tx.Commit(); err != nil {
		return applied{}, fmt.Errorf("indexer: block %d: commit: %w", rec.Height, err)
	}
	ix.progress(rec.Height)
	return applied{checkpoint: rec.Height, rows: p.rows, records: p.records}, nil
}
