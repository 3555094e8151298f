package indexer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/ewrchain/ewr/financing"
)

// Loan-to-value and exposure come from the read model's rows and the
// financing package's own arithmetic: collateral grams are summed exactly
// in SQL (numeric) from the receipts under a loan's ACTIVE pledges (the
// derived collateral table, collateral.go), the price is the latest
// indexed post, and the value and LTV are
// financing.CollateralValue and financing.LTVBps of those, in Go. So a
// figure here is the one financing.MarkToMarket gives on the chain state
// at the checkpoint, also for the loans a price post did not rewrite (the
// chain writes a loan on a price post only when its margin call changes).
// The margin call columns are what the chain recorded when it raised the
// call.

// ErrTooLarge is a query whose answer passes its bound.
var ErrTooLarge = errors.New("indexer: answer too large")

// maxExposureLoanRows bounds BankExposure: a bank's live loans times the
// warehouses their collateral lies in.
const maxExposureLoanRows = 100_000

// Loan returns a loan as of the checkpoint, or ErrNotFound.
func (q *Queries) Loan(ctx context.Context, id string) (*financing.Loan, error) {
	return one[financing.Loan](ctx, q.db, "loans", id)
}

// Loans lists loans in id order: a bank's or a borrower's book, by status.
func (q *Queries) Loans(ctx context.Context, f LoanFilter, p Page) ([]*financing.Loan, string, error) {
	var w where
	w.add("l.id > ?", p.After)
	f.Filter().apply(&w)
	return pageOf[financing.Loan](ctx, q.db, `SELECT l.id, l.raw FROM loans l WHERE `+w.sql()+` ORDER BY l.id`, w.args, p.limit())
}

// Valuation is a loan marked to market from the read model.
type Valuation struct {
	Loan *financing.Loan
	// Pledges counts the loan's ACTIVE pledges: its collateral.
	Pledges int
	// CollateralGrams is the current quantity of the receipts under them,
	// in grams (saturated at 2^64-1).
	CollateralGrams uint64
	// HasPrice says a price is indexed for the loan's commodity and
	// currency; without one the value is 0.
	HasPrice           bool
	PriceMinorPerTonne uint64
	PriceAt            int64
	// ValueMinor is financing.CollateralValue: after the loan's haircut,
	// rounded down (saturated).
	ValueMinor uint64
	// LTVBps is financing.LTVBps of the outstanding amount: what the chain
	// compares with the maintenance LTV (financing.InfiniteLTV when
	// something is owed against no value). ExposureLTVBps counts the
	// undrawn principal of an open loan too.
	LTVBps         uint64
	ExposureLTVBps uint64
	// OverMaintenance: LTVBps is past the loan's maintenance LTV on an
	// OPEN loan, so the chain calls for margin at its next re-evaluation
	// if it has not already (Loan.Call).
	OverMaintenance bool
}

// collateralSQL sums the grams and counts the receipts under the ACTIVE
// pledges of loan l, from the collateral table; odd counts receipts in a
// unit that is neither kg nor g (none on a chain whose loans opened:
// financing.Grams refuses them).
const collateralSQL = `
	SELECT count(*) AS pledges,
		coalesce(sum(CASE c.unit WHEN 'kg' THEN c.quantity::numeric * 1000 ELSE c.quantity::numeric END), 0) AS grams,
		count(*) FILTER (WHERE c.unit NOT IN ('kg', 'g')) AS odd
	FROM collateral c WHERE c.loan = l.id`

// Valuations marks a page of loans to market (see Valuation), in id order:
// the LTV of each loan of a bank or of a borrower.
func (q *Queries) Valuations(ctx context.Context, f LoanFilter, p Page) ([]Valuation, string, error) {
	var w where
	w.add("l.id > ?", p.After)
	f.Filter().apply(&w)
	limit := p.limit()
	w.args = append(w.args, limit+1)
	rows, err := q.query(ctx, nil, `
		SELECT l.id, l.raw, c.pledges, c.grams::text, c.odd, pr.minor_per_tonne, pr.posted_at
		FROM loans l
		CROSS JOIN LATERAL (`+collateralSQL+`) c
		LEFT JOIN prices pr ON pr.currency = l.currency AND pr.commodity = l.commodity
		WHERE `+w.sql()+`
		ORDER BY l.id
		LIMIT $`+strconv.Itoa(len(w.args)), w.args...)
	if err != nil {
		return nil, "", fmt.Errorf("indexer: valuations: %w", err)
	}
	defer rows.Close()
	var out []Valuation
	for rows.Next() {
		var id, grams string
		var raw []byte
		var pledges, odd int
		var price, at sql.NullInt64
		if err := rows.Scan(&id, &raw, &pledges, &grams, &odd, &price, &at); err != nil {
			return nil, "", fmt.Errorf("indexer: valuations: %w", err)
		}
		l, err := decodeAs[financing.Loan](raw)
		if err != nil {
			return nil, "", fmt.Errorf("%w: loan %s: %w", ErrDecode, id, err)
		}
		if odd > 0 {
			return nil, "", fmt.Errorf("indexer: loan %s: %d receipts of its collateral are in a unit neither kg nor g", id, odd)
		}
		g, ok := new(big.Int).SetString(grams, 10)
		if !ok {
			return nil, "", fmt.Errorf("indexer: loan %s: collateral grams %q", id, grams)
		}
		out = append(out, valuate(l, pledges, g, price, at))
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("indexer: valuations: %w", err)
	}
	if len(out) > limit {
		return out[:limit], out[limit-1].Loan.ID, nil
	}
	return out, "", nil
}

// valuate marks loan l to market: grams of collateral at price, as
// financing.MarkToMarket does.
func valuate(l *financing.Loan, pledges int, grams *big.Int, price, at sql.NullInt64) Valuation {
	v := Valuation{Loan: l, Pledges: pledges, CollateralGrams: financing.Saturate(grams), HasPrice: price.Valid}
	value := new(big.Int)
	if price.Valid {
		v.PriceMinorPerTonne, v.PriceAt = uint64(price.Int64), at.Int64
		value = financing.CollateralValue(grams, v.PriceMinorPerTonne, l.Terms.HaircutBps)
	}
	v.ValueMinor = financing.Saturate(value)
	v.LTVBps = financing.LTVBps(l.Outstanding, value)
	v.ExposureLTVBps = financing.LTVBps(exposureOf(l), value)
	v.OverMaintenance = l.Status == financing.LoanOpen && v.LTVBps > uint64(l.Terms.MaintenanceLTVBps)
	return v
}

// MarginCall is an open margin call: the call the chain recorded, and the
// loan as marked to market now.
type MarginCall struct {
	financing.MarginCall
	Valuation
	// Overdue: the checkpoint's block time is past the deadline, so the
	// bank may record the default.
	Overdue bool
}

// MarginCallPage asks for a page of open margin calls in deadline order:
// up to Limit after the call at (AfterDeadline, AfterLoan); the zero value
// is the first page.
type MarginCallPage struct {
	AfterDeadline int64
	AfterLoan     string
	Limit         int
}

// OpenMarginCalls lists the open margin calls on bank's loans (every
// bank's, if bank is empty), earliest deadline first, each with its loan
// marked to market. The last call's (Deadline, Loan.ID) is the next page's
// cursor; a page shorter than its limit is the last.
func (q *Queries) OpenMarginCalls(ctx context.Context, bank string, p MarginCallPage) ([]MarginCall, error) {
	tx, err := q.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("indexer: margin calls: %w", err)
	}
	defer tx.Rollback()
	var now int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce((SELECT b.block_time FROM checkpoint c JOIN blocks b ON b.height = c.height), 0)`).
		Scan(&now); err != nil {
		return nil, fmt.Errorf("indexer: margin calls: %w", err)
	}
	var w where
	w.add("l.call_raised_at IS NOT NULL")
	if bank != "" {
		w.add("l.bank = ?", bank)
	}
	if p.AfterLoan != "" {
		w.add("(l.call_deadline, l.id) > (?::bigint, ?::text)", p.AfterDeadline, p.AfterLoan)
	}
	limit := Page{Limit: p.Limit}.limit()
	w.args = append(w.args, limit)
	rows, err := q.query(ctx, tx, `
		SELECT l.id, l.raw, c.pledges, c.grams::text, c.odd, pr.minor_per_tonne, pr.posted_at
		FROM loans l
		CROSS JOIN LATERAL (`+collateralSQL+`) c
		LEFT JOIN prices pr ON pr.currency = l.currency AND pr.commodity = l.commodity
		WHERE `+w.sql()+`
		ORDER BY l.call_deadline, l.id
		LIMIT $`+strconv.Itoa(len(w.args)), w.args...)
	if err != nil {
		return nil, fmt.Errorf("indexer: margin calls: %w", err)
	}
	defer rows.Close()
	var out []MarginCall
	for rows.Next() {
		var id, grams string
		var raw []byte
		var pledges, odd int
		var price, at sql.NullInt64
		if err := rows.Scan(&id, &raw, &pledges, &grams, &odd, &price, &at); err != nil {
			return nil, fmt.Errorf("indexer: margin calls: %w", err)
		}
		l, err := decodeAs[financing.Loan](raw)
		if err != nil {
			return nil, fmt.Errorf("%w: loan %s: %w", ErrDecode, id, err)
		}
		g, ok := new(big.Int).SetString(grams, 10)
		if !ok || odd > 0 || l.Call == nil {
			return nil, fmt.Errorf("indexer: loan %s: collateral %q (%d in odd units), call %v", id, grams, odd, l.Call)
		}
		out = append(out, MarginCall{MarginCall: *l.Call, Valuation: valuate(l, pledges, g, price, at), Overdue: now > l.Call.Deadline})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("indexer: margin calls: %w", err)
	}
	return out, nil
}

// LoanExposure is what a bank has lent against one commodity in one
// currency, secured at one warehouse: its live loans (OPEN, or DEFAULTED
// with money still owed) whose ACTIVE pledges hold receipts there.
//
// Money is split between warehouses by collateral weight: a loan secured
// at several warehouses counts in each with the share of its outstanding
// (and exposure) that its grams there bear, rounded down, the remainder
// going to the first of its warehouses by id; so the rows of a commodity
// and currency add up exactly to the bank's outstanding on it. A live loan
// with no collateral left (enforced, or released) is in a row with an
// empty Warehouse.
type LoanExposure struct {
	Commodity string
	Currency  string
	Warehouse string
	// Loans counts the loans with collateral here; Called those of them
	// with an open margin call.
	Loans   int
	Called  int
	Pledges int
	// CollateralGrams is the quantity of the receipts here, in grams.
	CollateralGrams uint64
	// OutstandingMinor and ExposureMinor (outstanding plus undrawn
	// principal of open loans) are the loans' shares, as above.
	OutstandingMinor uint64
	ExposureMinor    uint64
	// PriceMinorPerTonne is the latest indexed price (0: none), and
	// ValueMinor the collateral's value after each loan's haircut: Σ over
	// the loans of financing.CollateralValue(its grams here, price, its
	// haircut), each rounded down.
	PriceMinorPerTonne uint64
	PriceAt            int64
	ValueMinor         uint64
	// LTVBps is financing.LTVBps(OutstandingMinor, ValueMinor).
	LTVBps uint64
}

// BankExposure is a bank's exposure by commodity, currency and warehouse
// (see LoanExposure), in that order. It fails with ErrTooLarge past
// maxExposureLoanRows loan-warehouse pairs.
func (q *Queries) BankExposure(ctx context.Context, bank string) ([]LoanExposure, error) {
	rows, err := q.query(ctx, nil, `
		SELECT l.id, l.commodity, l.currency, l.outstanding, l.exposure, l.haircut_bps, l.call_raised_at IS NOT NULL,
			coalesce(c.warehouse, ''), coalesce(c.pledges, 0), coalesce(c.grams, 0)::text, coalesce(c.odd, 0),
			pr.minor_per_tonne, pr.posted_at
		FROM loans l
		LEFT JOIN (
			SELECT c.loan, c.warehouse, count(*) AS pledges,
				sum(CASE c.unit WHEN 'kg' THEN c.quantity::numeric * 1000 ELSE c.quantity::numeric END) AS grams,
				count(*) FILTER (WHERE c.unit NOT IN ('kg', 'g')) AS odd
			FROM collateral c WHERE c.bank = $1
			GROUP BY c.loan, c.warehouse
		) c ON c.loan = l.id
		LEFT JOIN prices pr ON pr.currency = l.currency AND pr.commodity = l.commodity
		WHERE l.bank = $1 AND l.status IN ('OPEN', 'DEFAULTED') AND (l.status = 'OPEN' OR l.outstanding > 0)
		ORDER BY l.id, c.warehouse
		LIMIT $2`, bank, maxExposureLoanRows+1)
	if err != nil {
		return nil, fmt.Errorf("indexer: exposure: %w", err)
	}
	defer rows.Close()

	type part struct {
		warehouse string
		pledges   int
		grams     *big.Int
	}
	type loanRow struct {
		id, commodity, currency string
		outstanding, exposure   uint64
		haircut                 uint32
		called                  bool
		price                   sql.NullInt64
		at                      sql.NullInt64
		parts                   []part
	}
	type gk struct{ commodity, currency, warehouse string }
	type group struct {
		LoanExposure
		grams, value, outstanding, exposure *big.Int
	}
	groups := map[gk]*group{}
	var order []gk
	add := func(l *loanRow) {
		total := new(big.Int)
		for _, pt := range l.parts {
			total.Add(total, pt.grams)
		}
		var outLeft, expLeft = new(big.Int).SetUint64(l.outstanding), new(big.Int).SetUint64(l.exposure)
		shares := make([][2]*big.Int, len(l.parts))
		for i, pt := range l.parts {
			if total.Sign() == 0 {
				shares[i] = [2]*big.Int{new(big.Int), new(big.Int)}
				continue
			}
			o := new(big.Int).Mul(new(big.Int).SetUint64(l.outstanding), pt.grams)
			o.Quo(o, total)
			e := new(big.Int).Mul(new(big.Int).SetUint64(l.exposure), pt.grams)
			e.Quo(e, total)
			shares[i] = [2]*big.Int{o, e}
			outLeft.Sub(outLeft, o)
			expLeft.Sub(expLeft, e)
		}
		shares[0][0].Add(shares[0][0], outLeft) // the remainder to the first warehouse
		shares[0][1].Add(shares[0][1], expLeft)
		for i, pt := range l.parts {
			k := gk{l.commodity, l.currency, pt.warehouse}
			g := groups[k]
			if g == nil {
				g = &group{LoanExposure: LoanExposure{Commodity: k.commodity, Currency: k.currency, Warehouse: k.warehouse},
					grams: new(big.Int), value: new(big.Int), outstanding: new(big.Int), exposure: new(big.Int)}
				if l.price.Valid {
					g.PriceMinorPerTonne, g.PriceAt = uint64(l.price.Int64), l.at.Int64
				}
				groups[k] = g
				order = append(order, k)
			}
			g.Loans++
			if l.called {
				g.Called++
			}
			g.Pledges += pt.pledges
			g.grams.Add(g.grams, pt.grams)
			if l.price.Valid {
				g.value.Add(g.value, financing.CollateralValue(pt.grams, uint64(l.price.Int64), l.haircut))
			}
			g.outstanding.Add(g.outstanding, shares[i][0])
			g.exposure.Add(g.exposure, shares[i][1])
		}
	}

	var cur *loanRow
	n := 0
	for rows.Next() {
		if n++; n > maxExposureLoanRows {
			return nil, fmt.Errorf("%w: bank %s has more than %d loan-warehouse pairs", ErrTooLarge, bank, maxExposureLoanRows)
		}
		var r loanRow
		var pt part
		var grams string
		var haircut int64
		var odd int
		if err := rows.Scan(&r.id, &r.commodity, &r.currency, &r.outstanding, &r.exposure, &haircut, &r.called,
			&pt.warehouse, &pt.pledges, &grams, &odd, &r.price, &r.at); err != nil {
			return nil, fmt.Errorf("indexer: exposure: %w", err)
		}
		var ok bool
		if pt.grams, ok = new(big.Int).SetString(grams, 10); !ok || odd > 0 {
			return nil, fmt.Errorf("indexer: exposure: loan %s at %s: collateral %q (%d in odd units)", r.id, pt.warehouse, grams, odd)
		}
		r.haircut = uint32(haircut)
		if cur == nil || cur.id != r.id {
			if cur != nil {
				add(cur)
			}
			cur = &r
		}
		cur.parts = append(cur.parts, pt)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("indexer: exposure: %w", err)
	}
	if cur != nil {
		add(cur)
	}
	out := make([]LoanExposure, 0, len(order))
	for _, k := range order {
		g := groups[k]
		g.CollateralGrams = financing.Saturate(g.grams)
		g.ValueMinor = financing.Saturate(g.value)
		g.OutstandingMinor = financing.Saturate(g.outstanding)
		g.ExposureMinor = financing.Saturate(g.exposure)
		g.LTVBps = financing.LTVBps(g.OutstandingMinor, g.value)
		out = append(out, g.LoanExposure)
	}
	sortExposure(out)
	return out, nil
}

func sortExposure(es []LoanExposure) {
	key := func(e LoanExposure) string { return e.Commodity + "\x00" + e.Currency + "\x00" + e.Warehouse }
	slices.SortFunc(es, func(a, b LoanExposure) int { return strings.Compare(key(a), key(b)) })
}

// listOf reads up to MaxPageSize records (rows of one raw column) of q.
func listOf[T any](ctx context.Context, db *sql.DB, q string, args ...any) ([]*T, error) {
	rows, err := db.QueryContext(ctx, q+" LIMIT "+strconv.Itoa(MaxPageSize), args...)
	if err != nil {
		return nil, fmt.Errorf("indexer: query: %w", err)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("indexer: query: %w", err)
		}
		v, err := decodeAs[T](raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDecode, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("indexer: query: %w", err)
	}
	return out, nil
}

// Price returns the latest price of a commodity in a currency, or
// ErrNotFound.
func (q *Queries) Price(ctx context.Context, currency, commodity string) (*financing.Price, error) {
	ps, err := listOf[financing.Price](ctx, q.db, `SELECT raw FROM prices WHERE currency = $1 AND commodity = $2`, currency, commodity)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("%w: price of %s in %s", ErrNotFound, commodity, currency)
	}
	return ps[0], nil
}

// Prices lists the latest prices in a currency (every currency if empty),
// by currency and commodity, at most MaxPageSize.
func (q *Queries) Prices(ctx context.Context, currency string) ([]*financing.Price, error) {
	return listOf[financing.Price](ctx, q.db, `SELECT raw FROM prices WHERE ($1 = '' OR currency = $1) ORDER BY currency, commodity`, currency)
}

// CreditPolicies lists a bank's credit policies by commodity, at most
// MaxPageSize.
func (q *Queries) CreditPolicies(ctx context.Context, bank string) ([]*financing.CreditPolicy, error) {
	return listOf[financing.CreditPolicy](ctx, q.db, `SELECT raw FROM credit_policies WHERE bank = $1 ORDER BY commodity`, bank)
}
