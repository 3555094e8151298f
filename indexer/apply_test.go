package indexer_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testSeed is the seed of the random ops: INDEXER_SEED, or a new one. It is
// logged, so that a failure replays.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := rand.Uint64()
	if s := os.Getenv("INDEXER_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "INDEXER_SEED")
		seed = v
	}
	t.Logf("random ops seed %d; replay: INDEXER_SEED=%d go test ./indexer -run '%s'", seed, seed, t.Name())
	return seed
}

// blockStats counts what a run of blocks holds.
func blockStats(recs []*ledger.BlockRecord) (txs, rejected, events int) {
	for _, rec := range recs {
		for _, tx := range rec.Txs {
			txs++
			events += len(tx.Events)
			if tx.Code != 0 {
				rejected++
			}
		}
	}
	return txs, rejected, events
}

func TestRebuildGivesTheSameRows(t *testing.T) {
	sim := storyAndRandom(t, testSeed(t), 300)
	recs := sim.Records
	txs, rejected, events := blockStats(recs)
	require.Greater(t, rejected, 10, "the random ops must include rejected txs")
	require.Less(t, rejected, txs, "and applied ones")

	a, b := newDB(t), newDB(t)
	ixA := indexer.New(a, indexer.Config{})
	applyAll(t, ixA, recs)
	requireMatchesState(t, a, sim.Store)
	assert.Equal(t, len(recs), count(t, a, `SELECT count(*) FROM blocks`))
	assert.Equal(t, txs, count(t, a, `SELECT count(*) FROM txs`))
	assert.Equal(t, rejected, count(t, a, `SELECT count(*) FROM txs WHERE code <> 0`))
	assert.Equal(t, events, count(t, a, `SELECT count(*) FROM events`))
	cp, err := indexer.ReadCheckpoint(t.Context(), a)
	require.NoError(t, err)
	assert.Equal(t, recs[len(recs)-1].Height, cp.Height)
	sumA := checksum(t, a)

	// A fresh database gets the same rows.
	applyAll(t, indexer.New(b, indexer.Config{}), recs)
	requireSameChecksum(t, a, b)

	// The collateral kept block by block is the one migration 0006
	// derives from the tables at once.
	require.Positive(t, count(t, b, `SELECT count(*) FROM collateral`), "no loan left with collateral: the check would test nothing")
	_, err = b.ExecContext(t.Context(), `DELETE FROM collateral`)
	require.NoError(t, err)
	_, err = b.ExecContext(t.Context(), indexer.CollateralFill())
	require.NoError(t, err)
	requireSameChecksum(t, a, b)

	// A second pass over A changes nothing: every block is a no-op.
	for _, rec := range recs {
		rows, _, noop, err := indexer.ApplyCounted(t.Context(), ixA, rec)
		require.NoError(t, err)
		require.True(t, noop, "block %d applied twice", rec.Height)
		require.Zero(t, rows)
	}
	assert.Equal(t, sumA, checksum(t, a))
}

// TestChecksumSeesEveryTable checks a change in any table changes the
// checksum, and only that table's part: a checksum that misses a table
// cannot prove a rebuild.
func TestChecksumSeesEveryTable(t *testing.T) {
	sim := priceShock(t) // the full story, and loans on collateral
	db := newDB(t)
	ix := indexer.New(db, indexer.Config{})
	applyAll(t, ix, sim.Records)
	// A record of a type the indexer has no table for: the fallback's.
	require.NoError(t, ix.Apply(t.Context(), unknownRecordBlock(sim.Records[len(sim.Records)-1].Height+1)))
	tables, err := indexer.ChecksumTables(t.Context(), db)
	require.NoError(t, err)
	for i, tb := range tables {
		require.NotZero(t, tb.Rows, "table %s is empty after the story", tb.Table)
		t.Run(tb.Table, func(t *testing.T) {
			before, err := indexer.ChecksumTables(t.Context(), db)
			require.NoError(t, err)
			sumBefore := checksum(t, db)
			change := map[string]string{
				"checkpoint": `UPDATE checkpoint SET app_hash = app_hash || '\x01'::bytea`,
				"blocks":     `UPDATE blocks SET txs = txs + 1 WHERE height = 1`,
				"txs":        `UPDATE txs SET log = log || 'x' WHERE height = 1`,
				"events":     `UPDATE events SET attrs = attrs || '{"x": "1"}' WHERE height = 1`,
			}[tb.Table]
			if change == "" {
				change = `UPDATE ` + tb.Table + ` SET updated_height = updated_height + 1000 WHERE ctid = (SELECT ctid FROM ` + tb.Table + ` LIMIT 1)`
			}
			res, err := db.ExecContext(t.Context(), change)
			require.NoError(t, err)
			n, err := res.RowsAffected()
			require.NoError(t, err)
			require.Equal(t, int64(1), n)
			after, err := indexer.ChecksumTables(t.Context(), db)
			require.NoError(t, err)
			for j := range after {
				if j == i {
					assert.NotEqual(t, before[j], after[j], "a change to %s went unseen", tb.Table)
				} else {
					assert.Equal(t, before[j], after[j], "a change to %s changed %s's part", tb.Table, after[j].Table)
				}
			}
			assert.NotEqual(t, sumBefore, checksum(t, db))
		})
	}
}

func TestCrashBeforeCheckpointAppliesNothing(t *testing.T) {
	sim := storyAndRandom(t, testSeed(t), 40)
	recs := sim.Records
	// Crash in the story's split: a block with many writes and events.
	k := -1
	for i, rec := range recs {
		if len(rec.Txs) == 1 && rec.Txs[0].OpType == "receipt.split" {
			k = i
			break
		}
	}
	require.Positive(t, k)
	require.NotEmpty(t, recs[k].Txs[0].Events)
	crash := recs[k].Height

	clean := newDB(t)
	applyAll(t, indexer.New(clean, indexer.Config{}), recs)

	errInjected := errors.New("injected fault")
	for _, tc := range []struct {
		name  string
		fault func(ctx context.Context, tx *sql.Tx) error
	}{
		{"statement fails", func(context.Context, *sql.Tx) error { return errInjected }},
		{"connection killed", func(ctx context.Context, tx *sql.Tx) error {
			// The server ends this session mid-transaction, as a crash of
			// the indexer or of its connection would.
			_, err := tx.ExecContext(ctx, `SELECT pg_terminate_backend(pg_backend_pid())`)
			if err == nil {
				return errors.New("the backend survived pg_terminate_backend")
			}
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := newDB(t)
			ix := indexer.New(db, indexer.Config{})
			applyAll(t, ix, recs[:k])
			before := checksum(t, db)
			faults := 0
			indexer.SetBeforeCheckpoint(ix, func(ctx context.Context, tx *sql.Tx) error {
				faults++
				return tc.fault(ctx, tx)
			})
			require.Error(t, ix.Apply(t.Context(), recs[k]))
			require.Equal(t, 1, faults)

			// Nothing of the block is there, and the checkpoint did not move.
			assert.Equal(t, before, checksum(t, db))
			cp, err := indexer.ReadCheckpoint(t.Context(), db)
			require.NoError(t, err)
			assert.Equal(t, crash-1, cp.Height)
			assert.Zero(t, count(t, db, `SELECT count(*) FROM events WHERE height = $1`, crash))
			assert.Zero(t, count(t, db, `SELECT count(*) FROM receipts WHERE updated_height = $1`, crash))

			// Restart: a new indexer follows the source from the
			// checkpoint and applies the block once.
			src := indexer.NewMemSource(0)
			src.Append(recs...)
			ix2 := indexer.New(db, indexer.Config{PollMin: time.Millisecond})
			runUntil(t, ix2, src, recs[len(recs)-1].Height)
			requireSameChecksum(t, clean, db)
			requireMatchesState(t, db, sim.Store)
		})
	}

	t.Run("Run retries", func(t *testing.T) {
		// A transient fault inside Run: the block is retried and lands once.
		db := newDB(t)
		ix := indexer.New(db, indexer.Config{PollMin: time.Millisecond})
		faults := 0
		indexer.SetBeforeCheckpoint(ix, func(ctx context.Context, tx *sql.Tx) error {
			var h int64
			if err := tx.QueryRowContext(ctx, `SELECT max(height) FROM blocks`).Scan(&h); err != nil {
				return err
			}
			if h == crash && faults < 2 {
				faults++
				return errInjected
			}
			return nil
		})
		src := indexer.NewMemSource(0)
		src.Append(recs...)
		runUntil(t, ix, src, recs[len(recs)-1].Height)
		assert.Equal(t, 2, faults)
		requireSameChecksum(t, clean, db)
	})
}

// runUntil runs ix on src until its checkpoint reaches height, then stops it.
func runUntil(t *testing.T, ix *indexer.Indexer, src indexer.Source, height int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ix.Run(ctx, src) }()
	testkit.Poll(t, 60*time.Second, "the indexer catches up", func() error {
		select {
		case err := <-done:
			t.Fatalf("Run stopped: %v", err)
		default:
		}
		if st := ix.Status(); st.Height < height {
			return fmt.Errorf("indexer at %d, want %d (status %+v)", st.Height, height, st)
		}
		return nil
	})
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

func TestGapChangesNothing(t *testing.T) {
	sim, _ := story(t)
	recs := sim.Records
	db := newDB(t)
	ix := indexer.New(db, indexer.Config{})
	h := 5
	applyAll(t, ix, recs[:h+1])
	before := checksum(t, db)

	err := ix.Apply(t.Context(), recs[h+2])
	require.ErrorIs(t, err, indexer.ErrGap)
	assert.Equal(t, before, checksum(t, db))

	// Before the first block too: the first block must be FirstHeight.
	empty := newDB(t)
	require.ErrorIs(t, indexer.New(empty, indexer.Config{}).Apply(t.Context(), recs[1]), indexer.ErrGap)
	cp, err := indexer.ReadCheckpoint(t.Context(), empty)
	require.NoError(t, err)
	assert.Equal(t, int64(-1), cp.Height)

	// A block already applied with another app hash is another chain.
	other := *recs[h]
	other.AppHash[0] ^= 1
	require.ErrorIs(t, ix.Apply(t.Context(), &other), indexer.ErrConflict)
	assert.Equal(t, before, checksum(t, db))

	// The next block still applies.
	require.NoError(t, ix.Apply(t.Context(), recs[h+1]))
}

// gappySource is a source missing one block: it hands out the block after
// it instead, or says it is not there.
type gappySource struct {
	*indexer.MemSource
	missing  int64
	notThere bool
}

func (s *gappySource) Block(ctx context.Context, h int64) (*ledger.BlockRecord, error) {
	if h == s.missing {
		if s.notThere {
			return nil, indexer.ErrNotFound
		}
		h++
	}
	return s.MemSource.Block(ctx, h)
}

func TestRunStopsAtAGapOrABadBlock(t *testing.T) {
	sim, _ := story(t)
	recs := sim.Records
	missing := int64(7)

	corrupt := func(recs []*ledger.BlockRecord, key string, value []byte) []*ledger.BlockRecord {
		out := append([]*ledger.BlockRecord(nil), recs...)
		bad := *out[missing]
		bad.Txs = append([]ledger.TxRecord(nil), bad.Txs...)
		bad.Txs[0].Writes = append(append([]ledger.Write(nil), bad.Txs[0].Writes...), ledger.Write{Key: key, Value: value})
		out[missing] = &bad
		return out
	}
	for _, tc := range []struct {
		name string
		src  func() indexer.Source
		want error
	}{
		{"source skips a block", func() indexer.Source {
			s := &gappySource{MemSource: indexer.NewMemSource(0), missing: missing}
			s.Append(recs...)
			return s
		}, indexer.ErrBadBlock},
		{"source lacks a block", func() indexer.Source {
			s := &gappySource{MemSource: indexer.NewMemSource(0), missing: missing, notThere: true}
			s.Append(recs...)
			return s
		}, indexer.ErrNotFound},
		{"record does not decode", func() indexer.Source {
			s := indexer.NewMemSource(0)
			s.Append(corrupt(recs, "r/"+storyWR, []byte{1, 0xff})...)
			return s
		}, indexer.ErrDecode},
		{"value names another id", func() indexer.Source {
			v, _ := sim.Store.Get("r/" + storyA)
			s := indexer.NewMemSource(0)
			s.Append(corrupt(recs, "r/"+storyWR, v)...)
			return s
		}, indexer.ErrDecode},
		{"typed key with an id part too many", func() indexer.Source {
			s := indexer.NewMemSource(0)
			s.Append(corrupt(recs, "r/"+storyWR+"/x", []byte{1})...)
			return s
		}, indexer.ErrDecode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := newDB(t)
			ix := indexer.New(db, indexer.Config{PollMin: time.Millisecond, PollMax: 5 * time.Millisecond, MaxRetries: 3})
			// Bounded: a Run that does not stop would wait for more blocks.
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			err := ix.Run(ctx, tc.src())
			require.ErrorIs(t, err, tc.want)
			cp, cerr := indexer.ReadCheckpoint(t.Context(), db)
			require.NoError(t, cerr)
			assert.Equal(t, missing-1, cp.Height, "Run must stop before the bad block, not skip it")
			st := ix.Status()
			assert.False(t, st.Running)
			assert.ErrorIs(t, st.Err, tc.want)
			assert.Equal(t, missing-1, st.Height)
		})
	}
}

func TestOlderVersionNeverOverwritesNewer(t *testing.T) {
	sim, _ := story(t)
	recs := sim.Records
	db := newDB(t)
	ix := indexer.New(db, indexer.Config{})
	applyAll(t, ix, recs)

	key := "r/" + storyWR
	var first []byte
	for _, rec := range recs {
		for _, tx := range rec.Txs {
			for _, w := range tx.Writes {
				if w.Key == key && first == nil {
					first = w.Value
				}
			}
		}
	}
	cur, _ := sim.Store.Get(key)
	var curR receipt.Receipt
	require.NoError(t, receipt.DecodeRecord(cur, &curR))
	require.Greater(t, curR.Version, uint64(1))

	h := recs[len(recs)-1].Height
	block := func(value []byte) *ledger.BlockRecord {
		h++
		return &ledger.BlockRecord{Height: h, Time: t0 + h*6, Txs: []ledger.TxRecord{{OpType: "test.write", Writes: []ledger.Write{{Key: key, Value: value}}}}}
	}
	version := func() (v int64, raw []byte) {
		require.NoError(t, db.QueryRowContext(t.Context(), `SELECT version, raw FROM receipts WHERE id = $1`, storyWR).Scan(&v, &raw))
		return v, raw
	}

	// Version 1 arrives after version n: the row keeps version n.
	require.NoError(t, ix.Apply(t.Context(), block(first)))
	v, raw := version()
	assert.Equal(t, int64(curR.Version), v)
	assert.Equal(t, cur, raw)

	// The same version again: no change either.
	require.NoError(t, ix.Apply(t.Context(), block(cur)))
	v, _ = version()
	assert.Equal(t, int64(curR.Version), v)

	// A newer version replaces it.
	next := curR
	next.Version++
	next.Description = "amended"
	nextRaw := receipt.EncodeRecord(&next)
	require.NoError(t, ix.Apply(t.Context(), block(nextRaw)))
	v, raw = version()
	assert.Equal(t, int64(next.Version), v)
	assert.Equal(t, nextRaw, raw)
}

// TestTextPostgresCannotHold checks NUL and invalid UTF-8, which a
// PostgreSQL text cannot hold, do not stop the indexer: the typed column
// gets U+FFFD, raw keeps the bytes.
func TestTextPostgresCannotHold(t *testing.T) {
	sim, _ := story(t)
	recs := sim.Records
	db := newDB(t)
	ix := indexer.New(db, indexer.Config{})
	applyAll(t, ix, recs)

	var r receipt.Receipt
	cur, _ := sim.Store.Get("r/" + storyM)
	require.NoError(t, receipt.DecodeRecord(cur, &r))
	r.Version++
	r.Commodity = "cop\x00per"
	raw := receipt.EncodeRecord(&r)
	h := recs[len(recs)-1].Height + 1
	require.NoError(t, ix.Apply(t.Context(), &ledger.BlockRecord{Height: h, Txs: []ledger.TxRecord{{
		OpType: "test.write", Log: "bad \xff byte", Writes: []ledger.Write{{Key: "r/" + storyM, Value: raw}},
		Events: []receipt.Event{{Type: "test.event", Refs: receipt.Refs(receipt.RefReceipt, "a\x00b"),
			Attrs: []receipt.Attr{{Key: "k\x00", Value: "v\x01\xfe"}}}},
	}}}))
	var commodity string
	var got []byte
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT commodity, raw FROM receipts WHERE id = $1`, storyM).Scan(&commodity, &got))
	assert.Equal(t, "cop\uFFFDper", commodity)
	assert.Equal(t, raw, got)
	var attrs string
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT attrs::text FROM events WHERE height = $1`, h).Scan(&attrs))
	assert.Equal(t, `{"k`+"\uFFFD"+`": "v\u0001`+"\uFFFD"+`"}`, attrs)
}

// TestBlockWritingAKeyTwice checks a record written by several txs of one
// block lands with its last value: the state after the block.
func TestBlockWritingAKeyTwice(t *testing.T) {
	sim, w := newSim(t)
	g := newRandomOps(t, sim, w, 1)
	g.setup()
	issue := func(id string, qty uint64) ledger.Signed {
		return ledger.Signed{Signers: []string{ledger.Operator2}, Op: &warehouse.IssueReceipt{
			ID: id, Lot: g.lots[0], Depositor: ledger.TraderA, Quantity: qty, Description: "wheat", PlaceOfIssue: "Shanghai",
			StorageUntil: t0 + 400*day, ValidUntil: t0 + 300*day, StorageAgreementDate: t0 - day, StorageTermsRef: "SGT",
			ThirdPartyClaims: "none known", Fees: receipt.FeeTerms{Currency: "CNY"},
		}}
	}
	sim.Advance(6)
	rec := sim.DoBlock([]ledger.Signed{issue("WR-1", 1_000), issue("WR-2", 2_000), issue("WR-3", 3_000)})
	lotKey := warehouse.LotKey(g.lots[0])
	writes := 0
	for _, tx := range rec.Txs {
		require.Zero(t, tx.Code, tx.Log)
		for _, wr := range tx.Writes {
			if wr.Key == lotKey {
				writes++
			}
		}
	}
	require.Equal(t, 3, writes, "the lot is written by each issue")

	db := newDB(t)
	applyAll(t, indexer.New(db, indexer.Config{}), sim.Records)
	requireMatchesState(t, db, sim.Store)
	assert.Equal(t, 6_000, count(t, db, `SELECT issued_qty FROM lots WHERE id = $1`, g.lots[0]))
}

// TestConfigRecords checks every "c/" record lands in config with its
// version and a JSON rendering, including ones other packages add (the IoT
// rules).
func TestConfigRecords(t *testing.T) {
	sim, _ := newSim(t)
	admins := []string{ledger.Admin1, ledger.Admin2}
	for range 2 {
		sim.Advance(6)
		_, err := sim.Do(admins, &iot.SetRules{Rules: iot.DefaultRules()})
		require.NoError(t, err)
	}
	db := newDB(t)
	applyAll(t, indexer.New(db, indexer.Config{}), sim.Records)
	requireMatchesState(t, db, sim.Store)
	var version, maxEvidence int
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT version, (doc->>'MaxEvidence')::int FROM config WHERE key = 'iot-rules'`).
		Scan(&version, &maxEvidence))
	assert.Equal(t, 2, version)
	assert.Equal(t, int(iot.DefaultRules().MaxEvidence), maxEvidence)
	assert.Equal(t, 2, count(t, db, `SELECT (doc->>'Threshold')::int FROM config WHERE key = 'consortium'`))
}

// TestDeletedRecord checks a deleted write removes the row (the ledger
// never deletes today; the block record format allows it).
func TestDeletedRecord(t *testing.T) {
	sim, _ := story(t)
	recs := sim.Records
	db := newDB(t)
	ix := indexer.New(db, indexer.Config{})
	applyAll(t, ix, recs)
	h := recs[len(recs)-1].Height + 1
	require.NoError(t, ix.Apply(t.Context(), &ledger.BlockRecord{Height: h, Txs: []ledger.TxRecord{{OpType: "test.delete",
		Writes: []ledger.Write{{Key: "r/" + storyA, Deleted: true}, {Key: warehouse.BayKey(ledger.Warehouse1, ledger.DemoBays[3]), Deleted: true}}}}}))
	st := sim.Store.Clone()
	st.Delete("r/" + storyA)
	st.Delete(warehouse.BayKey(ledger.Warehouse1, ledger.DemoBays[3]))
	requireMatchesState(t, db, st)
}
