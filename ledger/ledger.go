package ledger

import (
	"fmt"
	"reflect"
	"sort"
	"sync/atomic"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/internal/canon"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
	"github.com/ewrchain/ewr/warehouse"
)

// Errors of the ledger (codes 600–699).
var (
	ErrUnknownOp   = receipt.NewError(600, "unknown_op", receipt.KindInvalid, "ledger: unknown op type")
	ErrMalformedOp = receipt.NewError(601, "malformed_op", receipt.KindInvalid, "ledger: op does not decode")
	ErrGenesis     = receipt.NewError(602, "bad_genesis", receipt.KindInvalid, "ledger: invalid genesis")
)

// AllOps lists one value of every op the ledger executes, package by
// package. Lookups go by Type().
func AllOps() []receipt.Op {
	var ops []receipt.Op
	ops = append(ops, receipt.Ops()...)
	ops = append(ops, warehouse.Ops()...)
	ops = append(ops, financing.Ops()...)
	ops = append(ops, trading.Ops()...)
	ops = append(ops, iot.Ops()...)
	ops = append(ops, &ScheduleUpgrade{})
	return ops
}

// stock is the warehouse side of receipt transitions, with the sensor side
// of the lock judging load-outs.
var stock = warehouse.Stock{Judge: iot.LockJudge{}}

// guards are the vetoes the domain packages built on receipt add to its
// transitions.
var guards = func() receipt.Guards {
	g := financing.Guards()
	g.Unfreeze = iot.GuardUnfreeze
	return g
}()

// Registry maps op type names to their Go types.
type Registry struct {
	types map[string]reflect.Type
	names []string
}

// NewRegistry registers ops. A repeated type name panics.
func NewRegistry(ops ...receipt.Op) *Registry {
	r := &Registry{types: map[string]reflect.Type{}}
	for _, op := range ops {
		name := op.Type()
		if _, dup := r.types[name]; dup {
			panic("ledger: op type registered twice: " + name)
		}
		r.types[name] = reflect.TypeOf(op).Elem()
		r.names = append(r.names, name)
	}
	sort.Strings(r.names)
	return r
}

// Types lists the registered op type names, sorted.
func (r *Registry) Types() []string { return r.names }

// New returns a zero op of the named type.
func (r *Registry) New(typ string) (receipt.Op, error) {
	t, ok := r.types[typ]
	if !ok {
		return nil, receipt.Errorf(ErrUnknownOp, "%q", typ)
	}
	return reflect.New(t).Interface().(receipt.Op), nil
}

// Decode decodes an op of the named type from its canonical encoding,
// strictly: trailing or non-canonical bytes are refused.
func (r *Registry) Decode(typ string, b []byte) (receipt.Op, error) {
	op, err := r.New(typ)
	if err != nil {
		return nil, err
	}
	if err := canon.Unmarshal(b, op); err != nil {
		return nil, receipt.Errorf(ErrMalformedOp, "%s: %v", typ, err)
	}
	return op, nil
}

// EncodeOp is the canonical encoding of an op, what a tx carries.
func EncodeOp(op receipt.Op) []byte { return canon.Marshal(op) }

// Ledger executes ops: the deterministic state machine of the whole domain.
type Ledger struct {
	Registry *Registry
	// Verify checks device signatures; nil means crypto/ed25519.
	Verify func(pub, msg, sig []byte) bool

	formats atomic.Pointer[formatsCache]
}

// New returns a ledger with every domain op registered.
func New() *Ledger { return &Ledger{Registry: NewRegistry(AllOps()...)} }

// Result is what one op did.
type Result struct {
	Events []receipt.Event
	// Changed are the keys the op wrote, in first-write order.
	Changed []string
}

// Apply runs op as signed by signers (already verified by the caller) in
// block blk against st. If the op is rejected, st is untouched and the
// error is a *receipt.Error naming the rule.
func (l *Ledger) Apply(st receipt.Store, blk receipt.Block, signers []string, op receipt.Op) (Result, error) {
	if err := op.Check(); err != nil {
		return Result{}, err
	}
	ov := NewOverlay(st)
	x := &receipt.Exec{Block: blk, Signers: signers, Store: ov, Stock: stock, Verify: l.Verify,
		Guards: guards, Write: l.writeFormats(st)}
	if err := x.CheckSigners(); err != nil {
		return Result{}, err
	}
	if err := op.Apply(x); err != nil {
		if _, typed := receipt.AsError(err); !typed {
			panic(fmt.Sprintf("ledger: %s returned an untyped error: %v", op.Type(), err))
		}
		return Result{}, err
	}
	changed := append([]string(nil), ov.Changed()...)
	ov.Flush()
	return Result{Events: x.Events(), Changed: changed}, nil
}
