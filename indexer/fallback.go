package indexer

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/ewrchain/ewr/ledger"
)

// The fallback table. A record whose key no typed table claims (a record
// type added to the chain after this binary was built, or one whose table
// is not written yet) lands in "records", keyed by its whole state key, so
// that a new record type never stops the read model. It keeps what can be
// known without a typed table: the kind and a JSON rendering when package
// ledger can decode the key (ledger.RecordKind, ledger.DecodeByKey), the
// version when that record has one, the height that wrote it and the raw
// bytes.
//
// A record in the fallback is still a function of the blocks, so rebuild
// equality and Checksum cover it like any table. When a later binary adds
// a typed table for a prefix, Migrate moves that prefix's rows out of the
// fallback into it (adoptFallback), so that an upgraded read model has the
// same rows as one rebuilt by the new binary.

// What package ledger knows of record types; tests swap them to play a
// ledger that has learned a type since the rows were written.
var (
	recordKind  = ledger.RecordKind
	decodeByKey = ledger.DecodeByKey
)

// fallbackTable is the last entry of recordTables.
var fallbackTable = func() *recordTable {
	t := &recordTable{
		sqlTable: sqlTable{name: "records", keyCols: []string{"key"},
			cols: parseCols("key text", "kind text", "version bigint*", "doc jsonb*", "updated_height bigint", "raw bytea"),
			// Version-aware where both versions are known; otherwise the
			// later block wins, as it does in the chain's state.
			guardSQL: `CASE WHEN t.version IS NULL OR EXCLUDED.version IS NULL
				THEN t.updated_height < EXCLUDED.updated_height ELSE t.version < EXCLUDED.version END`},
		keySQL: "key",
		decode: decodeFallback,
	}
	t.keyOnly = t.cols[:1]
	t.prepareSQL()
	return t
}()

// decodeFallback writes kind, version and doc for the record at key ids[0].
// A key package ledger knows must decode: a record that does not is
// corrupt, exactly as it would be for a typed table.
func decodeFallback(w *row, ids []string, raw []byte) error {
	key := ids[0]
	kind, known := recordKind(key)
	if !known {
		w.text("").null().null()
		return nil
	}
	v, err := decodeByKey(key, raw)
	if err != nil {
		return err
	}
	w.text(kind)
	if version, ok := recordVersionOf(v); ok {
		w.u64(version)
	} else {
		w.null()
	}
	doc, err := jsonDoc(v)
	if err != nil {
		return fmt.Errorf("%s as JSON: %w", key, err)
	}
	w.json(doc)
	return nil
}

// recordVersionOf returns the Version field of a decoded record, if it has
// one.
func recordVersionOf(v any) (uint64, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return 0, false
	}
	f := rv.FieldByName("Version")
	if !f.IsValid() || f.Kind() != reflect.Uint64 {
		return 0, false
	}
	return f.Uint(), true
}

// jsonDoc renders a decoded record as JSON that jsonb accepts: jsonb
// refuses the escape \u0000, which json.Marshal writes for a NUL, so it
// becomes U+FFFD (as in every text column; raw keeps the bytes).
func jsonDoc(v any) ([]byte, error) {
	doc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return cleanJSONNul(doc), nil
}

// cleanJSONNul replaces every \u0000 escape in JSON text by \ufffd,
// reading escapes left to right so that an escaped backslash followed by
// "u0000" is left alone.
func cleanJSONNul(doc []byte) []byte {
	for i := 0; i < len(doc); i++ {
		if doc[i] != '\\' || i+1 >= len(doc) {
			continue
		}
		if doc[i+1] == 'u' && i+6 <= len(doc) && string(doc[i+2:i+6]) == "0000" {
			copy(doc[i+2:i+6], "fffd")
		}
		i++ // skip the escaped character
	}
	return doc
}

// prefixEnd is the least string after every string that starts with p,
// an ASCII prefix ending in '/' (so its last byte is below 0x7f).
func prefixEnd(p string) string {
	if p == "" || p[len(p)-1] >= 0x7f {
		panic("indexer: prefixEnd of " + p)
	}
	return p[:len(p)-1] + string(p[len(p)-1]+1)
}

// adoptBatchRows bounds how many fallback rows adoptFallback reads at once.
const adoptBatchRows = 1000

// adoptFallback runs inside Migrate's transaction, after the migrations:
// it moves the fallback rows whose key a typed table now claims into that
// table, and re-derives kind, version and doc of rows written when package
// ledger did not know their kind. It holds the checkpoint row, so no block
// applies meanwhile. It reads only what it may change: a primary key range
// per typed prefix, and the rows of unknown kind (an index of their own).
func adoptFallback(ctx context.Context, tx *sql.Tx) (moved, refreshed int, err error) {
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM checkpoint FOR UPDATE`); err != nil {
		return 0, 0, fmt.Errorf("indexer: adopt fallback rows: %w", err)
	}
	type fb struct {
		key    string
		height int64
		raw    []byte
	}
	// scan pages through the fallback rows cond selects, in key order.
	scan := func(cond string, args []any, fn func(rows []fb) error) error {
		after := ""
		for {
			q := `SELECT key, updated_height, raw FROM records WHERE ` + cond +
				fmt.Sprintf(` AND key > $%d ORDER BY key LIMIT %d`, len(args)+1, adoptBatchRows)
			rs, err := tx.QueryContext(ctx, q, append(args, after)...)
			if err != nil {
				return err
			}
			var page []fb
			for rs.Next() {
				var r fb
				if err := rs.Scan(&r.key, &r.height, &r.raw); err != nil {
					rs.Close()
					return err
				}
				page = append(page, r)
			}
			if err := rs.Close(); err != nil {
				return err
			}
			if len(page) == 0 {
				return nil
			}
			if err := fn(page); err != nil {
				return err
			}
			after = page[len(page)-1].key
		}
	}

	// Rows a typed table claims now.
	for _, t := range recordTables {
		if t == fallbackTable {
			continue
		}
		// Keys of the prefix are the range [prefix, prefixEnd): text is
		// COLLATE "C", ordered bytewise.
		err := scan(`key >= $1 AND key < $2`, []any{t.prefix, prefixEnd(t.prefix)}, func(page []fb) error {
			var ups, dels []*batch
			for _, r := range page {
				tt, ids, err := splitKey(r.key)
				if err != nil {
					return err
				}
				if tt == fallbackTable {
					continue // the typed table does not claim this key (an unknown "c/" key)
				}
				row := addTo(&ups, tt.cols)
				for _, id := range ids {
					row.text(id)
				}
				if err := tt.decode(row, ids, r.raw); err != nil {
					return fmt.Errorf("%w: %s (moving it from the fallback to %s): %w", ErrDecode, r.key, tt.name, err)
				}
				row.i64(r.height).bytes(r.raw)
				if err := row.done(); err != nil {
					return fmt.Errorf("%w: %s: %w", ErrDecode, r.key, err)
				}
				addTo(&dels, fallbackTable.keyOnly).text(r.key)
				moved++
			}
			for _, b := range ups {
				if _, err := tx.ExecContext(ctx, t.insertSQL, b.params()...); err != nil {
					return err
				}
			}
			for _, b := range dels {
				if _, err := tx.ExecContext(ctx, fallbackTable.deleteSQL, b.params()...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return moved, refreshed, fmt.Errorf("indexer: adopt fallback rows into %s: %w", t.name, err)
		}
	}

	// Rows of a kind ledger did not know when they were written.
	err = scan(`kind = ''`, nil, func(page []fb) error {
		for _, r := range page {
			if _, known := recordKind(r.key); !known {
				continue
			}
			b := newBatch(fallbackTable.cols)
			row := b.row().text(r.key)
			if err := decodeFallback(row, []string{r.key}, r.raw); err != nil {
				return fmt.Errorf("%w: %s: %w", ErrDecode, r.key, err)
			}
			row.i64(r.height).bytes(r.raw)
			if err := row.done(); err != nil {
				return fmt.Errorf("%w: %s: %w", ErrDecode, r.key, err)
			}
			// The guard would keep the row (same height, no version
			// before): update it in place.
			ps := b.params()
			if _, err := tx.ExecContext(ctx, `UPDATE records AS t SET kind = u.kind, version = u.version, doc = u.doc::jsonb
				FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS u(key, kind, version, doc)
				WHERE t.key = u.key`, ps[0], ps[1], ps[2], ps[3]); err != nil {
				return err
			}
			refreshed++
		}
		return nil
	})
	if err != nil {
		return moved, refreshed, fmt.Errorf("indexer: refresh fallback rows: %w", err)
	}
	return moved, refreshed, nil
}
