package indexer

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A block's rows reach PostgreSQL as one multi-row statement per table:
//
//	INSERT INTO t (a, b, …) SELECT … FROM unnest($1::text[], $2::bigint[], …) AS u(a, b, …)
//	ON CONFLICT (id) DO UPDATE SET … WHERE t.version < EXCLUDED.version
//
// with one array parameter per column. Each column's array literal is built
// as rows are added (colVec), so a row costs no allocation beyond its
// values. Array-valued columns (text[]) and jsonb travel as text elements
// holding their own literal and are cast in the SELECT, because unnest
// cannot take an array of arrays of varying length.

// colKind is a column's SQL type as the batch sends it.
type colKind uint8

const (
	kText     colKind = iota + 1 // text NOT NULL
	kTextNull                    // text; "" is NULL
	kBigint                      // bigint NOT NULL
	kBigNull                     // bigint; 0 is NULL
	kInt                         // integer NOT NULL
	kBool                        // boolean
	kBytea                       // bytea
	kTextArr                     // text[]
	kJSON                        // jsonb
	kBigOpt                      // bigint; NULL only by row.null (0 is 0)
	kNumeric                     // numeric NOT NULL: a uint64 past bigint's range
	kNumOpt                      // numeric; NULL only by row.null
	kJSONOpt                     // jsonb; NULL only by row.null
)

// param is the array type the column's values are sent as, and cast is how
// the SELECT turns one element back into the column's type.
func (k colKind) param() string {
	switch k {
	case kText, kTextNull, kTextArr, kJSON, kJSONOpt:
		return "text[]"
	case kBigint, kBigNull, kBigOpt:
		return "bigint[]"
	case kNumeric, kNumOpt:
		return "numeric[]"
	case kInt:
		return "integer[]"
	case kBool:
		return "boolean[]"
	case kBytea:
		return "bytea[]"
	}
	panic("indexer: unknown column kind")
}

func (k colKind) cast() string {
	switch k {
	case kTextArr:
		return "::text[]"
	case kJSON, kJSONOpt:
		return "::jsonb"
	}
	return ""
}

// col is one column of a table as the batch writes it.
type col struct {
	name string
	kind colKind
}

// parseCols parses column specs "name kind", kind one of text, text?,
// bigint, bigint?, bigint*, numeric, numeric*, int, bool, bytea, text[],
// jsonb, jsonb* ("?": the zero value is NULL; "*": NULL only where the decoder
// writes row.null, so that a zero stays a zero).
func parseCols(specs ...string) []col {
	kinds := map[string]colKind{
		"text": kText, "text?": kTextNull, "bigint": kBigint, "bigint?": kBigNull, "int": kInt,
		"bool": kBool, "bytea": kBytea, "text[]": kTextArr, "jsonb": kJSON, "bigint*": kBigOpt,
		"numeric": kNumeric, "numeric*": kNumOpt, "jsonb*": kJSONOpt,
	}
	cols := make([]col, len(specs))
	for i, s := range specs {
		name, kind, ok := strings.Cut(s, " ")
		k, known := kinds[kind]
		if !ok || !known {
			panic("indexer: bad column spec " + s)
		}
		cols[i] = col{name: name, kind: k}
	}
	return cols
}

// colVec accumulates one column's values as a PostgreSQL array literal.
type colVec struct {
	kind colKind
	buf  []byte
	n    int
}

func (v *colVec) sep() {
	if v.n == 0 {
		v.buf = append(v.buf[:0], '{')
	} else {
		v.buf = append(v.buf, ',')
	}
	v.n++
}

// literal returns the finished array literal.
func (v *colVec) literal() string {
	if v.n == 0 {
		return "{}"
	}
	return string(v.buf) + "}"
}

// appendQuoted appends s as a quoted array element. What no PostgreSQL
// text can hold becomes U+FFFD: NUL and invalid UTF-8. The record's raw
// bytes keep the original.
func appendQuoted(b []byte, s string) []byte {
	return appendQuotedClean(b, cleanText(s))
}

// appendQuotedClean appends s, already clean, as a quoted array element.
func appendQuotedClean[S string | []byte](b []byte, s S) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// cleanText returns s with NUL and invalid UTF-8 replaced by U+FFFD.
func cleanText(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	return strings.ReplaceAll(s, "\x00", string(utf8.RuneError))
}

// appendJSONString appends s as a JSON string that jsonb accepts: clean
// text (jsonb refuses \u0000 too), control characters escaped.
func appendJSONString(b []byte, s string) []byte {
	s = cleanText(s)
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// batch is the rows of one statement, column by column.
type batch struct {
	cols []col
	vecs []colVec
	rows int
	// scratch builds nested literals (text[] elements, JSON).
	scratch []byte
}

func newBatch(cols []col) *batch {
	b := &batch{cols: cols, vecs: make([]colVec, len(cols))}
	for i, c := range cols {
		b.vecs[i].kind = c.kind
	}
	return b
}

// params returns the statement's parameters: one array literal per column.
func (b *batch) params() []any {
	ps := make([]any, len(b.vecs))
	for i := range b.vecs {
		ps[i] = b.vecs[i].literal()
	}
	return ps
}

// row adds a row; the caller then sets every column in order through it.
func (b *batch) row() *row {
	b.rows++
	return &row{b: b}
}

// row writes one row's values, column by column in the table's order. A
// value that does not fit its column (a quantity past bigint) is a decode
// error, reported by err.
type row struct {
	b   *batch
	i   int
	err error
}

// next returns the next column's vector, checking it has kind k: a
// mismatch is a programming error in a decoder, caught by any test.
func (r *row) next(k ...colKind) *colVec {
	if r.i >= len(r.b.vecs) {
		panic(fmt.Sprintf("indexer: row has more values than the %d columns", len(r.b.vecs)))
	}
	v := &r.b.vecs[r.i]
	ok := false
	for _, want := range k {
		ok = ok || v.kind == want
	}
	if !ok {
		panic(fmt.Sprintf("indexer: column %s written with the wrong kind", r.b.cols[r.i].name))
	}
	r.i++
	v.sep()
	return v
}

// done checks that every column was written.
func (r *row) done() error {
	if r.err == nil && r.i != len(r.b.vecs) {
		panic(fmt.Sprintf("indexer: row has %d values for %d columns", r.i, len(r.b.vecs)))
	}
	return r.err
}

func (r *row) text(s string) *row {
	v := r.next(kText, kTextNull)
	if s == "" && v.kind == kTextNull {
		v.buf = append(v.buf, "NULL"...)
	} else {
		v.buf = appendQuoted(v.buf, s)
	}
	return r
}

func (r *row) i64(x int64) *row {
	v := r.next(kBigint, kBigNull, kBigOpt, kInt)
	switch {
	case x == 0 && v.kind == kBigNull:
		v.buf = append(v.buf, "NULL"...)
	case v.kind == kInt && (x > math.MaxInt32 || x < math.MinInt32):
		r.fail("%s %d does not fit an integer", r.b.cols[r.i-1].name, x)
		v.buf = append(v.buf, '0')
	default:
		v.buf = appendInt(v.buf, x)
	}
	return r
}

func (r *row) u64(x uint64) *row {
	if r.i < len(r.b.vecs) && (r.b.vecs[r.i].kind == kNumeric || r.b.vecs[r.i].kind == kNumOpt) {
		v := r.next(kNumeric, kNumOpt)
		v.buf = strconv.AppendUint(v.buf, x, 10)
		return r
	}
	if x > math.MaxInt64 {
		r.fail("%s %d does not fit a bigint", r.b.cols[r.i].name, x)
		x = 0
	}
	return r.i64(int64(x))
}

// null writes NULL to a nullable column.
func (r *row) null() *row {
	v := r.next(kTextNull, kBigNull, kBigOpt, kNumOpt, kJSONOpt)
	v.buf = append(v.buf, "NULL"...)
	return r
}

func (r *row) boolean(x bool) *row {
	v := r.next(kBool)
	if x {
		v.buf = append(v.buf, 't')
	} else {
		v.buf = append(v.buf, 'f')
	}
	return r
}

func (r *row) bytes(x []byte) *row {
	v := r.next(kBytea)
	v.buf = append(v.buf, `"\\x`...)
	v.buf = hex.AppendEncode(v.buf, x)
	v.buf = append(v.buf, '"')
	return r
}

func (r *row) texts(xs []string) *row {
	v := r.next(kTextArr)
	s := append(r.b.scratch[:0], '{')
	for i, x := range xs {
		if i > 0 {
			s = append(s, ',')
		}
		s = appendQuoted(s, x)
	}
	s = append(s, '}')
	v.buf = appendQuotedClean(v.buf, s)
	r.b.scratch = s
	return r
}

// json writes a jsonb value from its text, which must be clean JSON
// (appendJSONString).
func (r *row) json(doc []byte) *row {
	v := r.next(kJSON, kJSONOpt)
	v.buf = appendQuotedClean(v.buf, doc)
	return r
}

func (r *row) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func appendInt(b []byte, x int64) []byte {
	var tmp [20]byte
	i := len(tmp)
	neg := x < 0
	u := uint64(x)
	if neg {
		u = -u
	}
	for {
		i--
		tmp[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if neg {
		b = append(b, '-')
	}
	return append(b, tmp[i:]...)
}

// sqlTable is a table as the batches write it.
type sqlTable struct {
	name    string
	cols    []col
	keyCols []string // primary key; empty for an insert-only table
	// guard is the column whose value must grow for an upsert to replace a
	// row (version, or updated_height for unversioned records); "" means
	// insert only: a conflict is an error.
	guard string
	// guardSQL, if set, is the upsert's condition instead of guard's
	// (t is the row, EXCLUDED the new one).
	guardSQL string

	insertSQL string
	deleteSQL string
}

// prepareSQL builds the table's statements.
func (t *sqlTable) prepareSQL() {
	var names, params, sel []string
	for i, c := range t.cols {
		names = append(names, c.name)
		params = append(params, fmt.Sprintf("$%d::%s", i+1, c.kind.param()))
		sel = append(sel, "u."+c.name+c.kind.cast())
	}
	q := fmt.Sprintf("INSERT INTO %s AS t (%s) SELECT %s FROM unnest(%s) AS u(%s)",
		t.name, strings.Join(names, ", "), strings.Join(sel, ", "), strings.Join(params, ", "), strings.Join(names, ", "))
	if t.guard != "" || t.guardSQL != "" {
		var set []string
		for _, c := range t.cols {
			if !contains(t.keyCols, c.name) {
				set = append(set, c.name+" = EXCLUDED."+c.name)
			}
		}
		cond := t.guardSQL
		if cond == "" {
			cond = fmt.Sprintf("t.%s < EXCLUDED.%s", t.guard, t.guard)
		}
		q += fmt.Sprintf(" ON CONFLICT (%s) DO UPDATE SET %s WHERE %s",
			strings.Join(t.keyCols, ", "), strings.Join(set, ", "), cond)
	}
	t.insertSQL = q
	if len(t.keyCols) > 0 {
		var kp, match []string
		for i, k := range t.keyCols {
			kp = append(kp, fmt.Sprintf("$%d::text[]", i+1))
			match = append(match, "t."+k+" = u."+k)
		}
		t.deleteSQL = fmt.Sprintf("DELETE FROM %s AS t USING unnest(%s) AS u(%s) WHERE %s",
			t.name, strings.Join(kp, ", "), strings.Join(t.keyCols, ", "), strings.Join(match, " AND "))
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
