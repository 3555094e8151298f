package indexer

import (
	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/lib/pq"
)

// List filters. Each condition of a list is written once, as a column and
// the record field it holds: the read model's SQL and the test a decoded
// record must pass (the API's answer from chain state when no read model
// runs) are both made from it, so the two cannot drift apart.

// Cond is one condition on records of type T.
type Cond[T any] struct {
	sql   string
	args  []any
	match func(*T) bool
}

// Filter is conditions that must all hold.
type Filter[T any] []Cond[T]

// Match reports whether v passes every condition.
func (f Filter[T]) Match(v *T) bool {
	for _, c := range f {
		if !c.match(v) {
			return false
		}
	}
	return true
}

func (f Filter[T]) apply(w *where) {
	for _, c := range f {
		w.add(c.sql, c.args...)
	}
}

// Eq: column col (the field get reads) equals v.
func Eq[T any, V comparable](col string, get func(*T) V, v V) Cond[T] {
	return Cond[T]{sql: col + " = ?", args: []any{v}, match: func(r *T) bool { return get(r) == v }}
}

// In: the text column col (the field get reads, as text) is one of vs.
func In[T any](col string, get func(*T) string, vs []string) Cond[T] {
	return Cond[T]{sql: col + " = ANY(?)", args: []any{pq.StringArray(vs)}, match: func(r *T) bool { return contains(vs, get(r)) }}
}

// NotIn: the text column col is none of vs.
func NotIn[T any](col string, get func(*T) string, vs []string) Cond[T] {
	return Cond[T]{sql: "NOT (" + col + " = ANY(?))", args: []any{pq.StringArray(vs)}, match: func(r *T) bool { return !contains(vs, get(r)) }}
}

// Set: the optional column col (NULL when has says the record lacks the
// field) is set, or (set false) not.
func Set[T any](col string, has func(*T) bool, set bool) Cond[T] {
	sql := col + " IS NOT NULL"
	if !set {
		sql = col + " IS NULL"
	}
	return Cond[T]{sql: sql, match: func(r *T) bool { return has(r) == set }}
}

// AtLeast: the integer column col is at least v.
func AtLeast[T any](col string, get func(*T) int64, v int64) Cond[T] {
	return Cond[T]{sql: col + " >= ?", args: []any{v}, match: func(r *T) bool { return get(r) >= v }}
}

// Or: at least one of cs holds.
func Or[T any](cs ...Cond[T]) Cond[T] {
	sql, args := "(", []any{}
	for i, c := range cs {
		if i > 0 {
			sql += " OR "
		}
		sql += c.sql
		args = append(args, c.args...)
	}
	return Cond[T]{sql: sql + ")", args: args, match: func(r *T) bool {
		for _, c := range cs {
			if c.match(r) {
				return true
			}
		}
		return false
	}}
}

func names[E interface{ String() string }](es []E) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.String()
	}
	return out
}

// ReceiptFilter narrows a receipt list. Zero fields do not filter.
type ReceiptFilter struct {
	Holder string
	States []receipt.State // any of these
	// Live keeps receipts that still stand for goods (ISSUED through
	// EXPIRED): not CANCELLED, SUPERSEDED or VOID.
	Live       bool
	Warehouse  string
	Lot        string
	Commodity  string
	Grade      string
	Negotiable *bool
	Pledged    *bool // under a pending or active pledge
	ValidAt    int64 // still valid at this block time: valid_until ≥ ValidAt
}

// deadStates are the receipt states that no longer stand for goods.
var deadStates = names([]receipt.State{receipt.StateCancelled, receipt.StateSuperseded, receipt.StateVoid})

// Filter is the conditions f names.
func (f ReceiptFilter) Filter() Filter[receipt.Receipt] {
	type R = receipt.Receipt
	var out Filter[R]
	for _, c := range []struct {
		col string
		get func(*R) string
		v   string
	}{
		{"holder", func(r *R) string { return r.Holder }, f.Holder},
		{"warehouse", func(r *R) string { return r.Warehouse }, f.Warehouse},
		{"lot", func(r *R) string { return r.Lot }, f.Lot},
		{"commodity", func(r *R) string { return r.Commodity }, f.Commodity},
		{"grade", func(r *R) string { return r.Grade }, f.Grade},
	} {
		if c.v != "" {
			out = append(out, Eq(c.col, c.get, c.v))
		}
	}
	state := func(r *R) string { return r.State.String() }
	if len(f.States) > 0 {
		out = append(out, In("state", state, names(f.States)))
	}
	if f.Live {
		out = append(out, NotIn("state", state, deadStates))
	}
	if f.Negotiable != nil {
		out = append(out, Eq("negotiable", func(r *R) bool { return r.Negotiable }, *f.Negotiable))
	}
	if f.Pledged != nil {
		out = append(out, Set("pledge", func(r *R) bool { return r.Pledge != "" }, *f.Pledged))
	}
	if f.ValidAt != 0 {
		out = append(out, AtLeast("valid_until", func(r *R) int64 { return r.ValidUntil }, f.ValidAt))
	}
	return out
}

// LotFilter narrows a lot list. Zero fields do not filter.
type LotFilter struct {
	Warehouse string
	Unhealthy bool // health other than OK: a monitoring gap or an alarm
	Health    []warehouse.Health
	Status    warehouse.LotStatus
	Commodity string
}

// Filter is the conditions f names.
func (f LotFilter) Filter() Filter[warehouse.Lot] {
	type L = warehouse.Lot
	var out Filter[L]
	health := func(l *L) string { return l.Health.String() }
	if f.Warehouse != "" {
		out = append(out, Eq("warehouse", func(l *L) string { return l.Warehouse }, f.Warehouse))
	}
	if f.Unhealthy {
		out = append(out, NotIn("health", health, names([]warehouse.Health{warehouse.HealthOK})))
	}
	if len(f.Health) > 0 {
		out = append(out, In("health", health, names(f.Health)))
	}
	if f.Status != 0 {
		out = append(out, Eq("status", func(l *L) string { return l.Status.String() }, f.Status.String()))
	}
	if f.Commodity != "" {
		out = append(out, Eq("commodity", func(l *L) string { return l.Commodity }, f.Commodity))
	}
	return out
}

// PledgeFilter narrows a pledge list. Zero fields do not filter.
type PledgeFilter struct {
	Bank     string
	Receipt  string
	Statuses []receipt.PledgeStatus // any of these
}

// Filter is the conditions f names.
func (f PledgeFilter) Filter() Filter[receipt.Pledge] {
	type P = receipt.Pledge
	var out Filter[P]
	if f.Bank != "" {
		out = append(out, Eq("bank", func(p *P) string { return p.Bank }, f.Bank))
	}
	if f.Receipt != "" {
		out = append(out, Eq("receipt", func(p *P) string { return p.Receipt }, f.Receipt))
	}
	if len(f.Statuses) > 0 {
		out = append(out, In("status", func(p *P) string { return p.Status.String() }, names(f.Statuses)))
	}
	return out
}

// ReleaseOrderFilter narrows a release order list.
type ReleaseOrderFilter struct {
	Warehouse string
	Open      bool
}

// Filter is the conditions f names.
func (f ReleaseOrderFilter) Filter() Filter[warehouse.ReleaseOrder] {
	type O = warehouse.ReleaseOrder
	var out Filter[O]
	if f.Warehouse != "" {
		out = append(out, Eq("warehouse", func(o *O) string { return o.Warehouse }, f.Warehouse))
	}
	if f.Open {
		out = append(out, Eq("status", func(o *O) string { return o.Status.String() }, warehouse.ROOpen.String()))
	}
	return out
}

// LoanFilter narrows a loan list. Zero fields do not filter.
type LoanFilter struct {
	Party     string // the bank or the borrower
	Bank      string
	Borrower  string
	Statuses  []financing.LoanStatus // any of these
	Commodity string
	Currency  string
	// Called keeps the loans with an open margin call.
	Called bool
}

// Filter is the conditions f names, over the loans table as "l".
func (f LoanFilter) Filter() Filter[financing.Loan] {
	type L = financing.Loan
	var out Filter[L]
	bank, borrower := func(l *L) string { return l.Bank }, func(l *L) string { return l.Borrower }
	if f.Party != "" {
		out = append(out, Or(Eq("l.bank", bank, f.Party), Eq("l.borrower", borrower, f.Party)))
	}
	for _, c := range []struct {
		col string
		get func(*L) string
		v   string
	}{
		{"l.bank", func(l *L) string { return l.Bank }, f.Bank},
		{"l.borrower", func(l *L) string { return l.Borrower }, f.Borrower},
		{"l.commodity", func(l *L) string { return l.Commodity }, f.Commodity},
		{"l.currency", func(l *L) string { return l.Currency }, f.Currency},
	} {
		if c.v != "" {
			out = append(out, Eq(c.col, c.get, c.v))
		}
	}
	if len(f.Statuses) > 0 {
		out = append(out, In("l.status", func(l *L) string { return l.Status.String() }, names(f.Statuses)))
	}
	if f.Called {
		out = append(out, Set("l.call_raised_at", func(l *L) bool { return l.Call != nil }, true))
	}
	return out
}
