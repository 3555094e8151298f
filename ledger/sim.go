package ledger

import (
	"reflect"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// Sim runs the ledger in memory, one op per block, with a block clock the
// caller advances. It is the chain without consensus: for tests, the
// property test and the in-memory scenario.
type Sim struct {
	Ledger *Ledger
	Store  *MemStore
	Block  receipt.Block
	World  *World
	// Records holds a block record per block once RecordBlocks was called
	// (block 0 is the genesis state).
	Records []*BlockRecord
	record  bool
	// Exact submits ops as given; otherwise (the default) the Sim's client
	// reads the version of a loan or pledge an op leaves at 0 first
	// (ReadVersions), as the CLI does.
	Exact bool
}

// NewSim starts a simulated chain from the world's genesis at block time start.
func NewSim(w *World, chainID string, start int64) (*Sim, error) {
	s := &Sim{Ledger: New(), Store: NewMemStore(), Block: receipt.Block{Height: 0, Time: start, ChainID: chainID}, World: w}
	if err := InitState(s.Store, &w.Genesis); err != nil {
		return nil, err
	}
	return s, nil
}

// Do applies op signed by signers in the next block.
func (s *Sim) Do(signers []string, op receipt.Op) (Result, error) {
	if !s.Exact {
		ReadVersions(op, VersionsIn(s.Store))
	}
	s.Block.Height++
	if !s.record {
		BeginBlock(s.Store, s.Store, s.Block)
		return s.Ledger.Apply(s.Store, s.Block, signers, op)
	}
	rec := s.Ledger.ApplyBlock(s.Store, s.Block, []Signed{{Signers: signers, Op: op}})
	s.Records = append(s.Records, rec)
	tr := rec.Txs[0]
	if tr.Code != 0 {
		e, _ := receipt.LookupError(tr.Code)
		return Result{}, &RecordedError{Rule: e, Log: tr.Log}
	}
	changed := make([]string, len(tr.Writes))
	for i, w := range tr.Writes {
		changed[i] = w.Key
	}
	return Result{Events: tr.Events, Changed: changed}, nil
}

// DoBlock applies several ops in one block and returns its record.
func (s *Sim) DoBlock(txs []Signed) *BlockRecord {
	if !s.Exact {
		for _, tx := range txs {
			ReadVersions(tx.Op, VersionsIn(s.Store))
		}
	}
	s.Block.Height++
	rec := s.Ledger.ApplyBlock(s.Store, s.Block, txs)
	if s.record {
		s.Records = append(s.Records, rec)
	}
	return rec
}

// Advance moves block time forward by sec seconds.
func (s *Sim) Advance(sec int64) { s.Block.Time += sec }

// Receipt reads a receipt.
func (s *Sim) Receipt(id string) (*receipt.Receipt, bool) {
	return load[receipt.Receipt](s.Store, receipt.ReceiptKey(id))
}

// Pledge reads a pledge.
func (s *Sim) Pledge(id string) (*receipt.Pledge, bool) {
	return load[receipt.Pledge](s.Store, receipt.PledgeKey(id))
}

// Get reads and decodes any record.
func Get[T any](st receipt.Store, key string) (*T, bool) { return load[T](st, key) }

func load[T any](st receipt.Store, key string) (*T, bool) {
	x := &receipt.Exec{Store: st}
	return receipt.Load[T](x, key)
}

// RecordedError is a rejection as a block record keeps it: the rule and
// the message the chain logged.
type RecordedError struct {
	Rule *receipt.Error
	Log  string
}

func (e *RecordedError) Error() string { return e.Log }

// Unwrap lets errors.Is/As reach the rule.
func (e *RecordedError) Unwrap() error { return e.Rule }

// ReadVersions does what a client does before it signs an op that acts on
// a loan, a pledge or a lot and names no version: it reads the version the
// record has now (version(kind, id), kind "loan", "pledge" or "lot") and
// names it. The
// chain never does this; a client that cannot read first (an offline
// signer) must name it itself.
func ReadVersions(op receipt.Op, version func(kind, id string) (uint64, bool)) {
	v := reflect.ValueOf(op)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return
	}
	e := v.Elem()
	ver := e.FieldByName("Version")
	if !ver.IsValid() || ver.Kind() != reflect.Uint64 || ver.Uint() != 0 {
		return
	}
	kind, id := "", ""
	if f := e.FieldByName("Loan"); f.IsValid() && f.Kind() == reflect.String {
		kind, id = "loan", f.String()
	} else if f := e.FieldByName("Pledge"); f.IsValid() && f.Kind() == reflect.String && !e.FieldByName("Receipt").IsValid() {
		kind, id = "pledge", f.String()
	} else if f := e.FieldByName("Lot"); f.IsValid() && f.Kind() == reflect.String {
		kind, id = "lot", f.String()
	}
	if kind == "" {
		return
	}
	if n, ok := version(kind, id); ok {
		ver.SetUint(n)
	}
}

// VersionsIn reads record versions from st, for ReadVersions.
func VersionsIn(st receipt.Store) func(kind, id string) (uint64, bool) {
	return func(kind, id string) (uint64, bool) {
		switch kind {
		case "loan":
			if l, ok := load[financing.Loan](st, financing.LoanKey(id)); ok {
				return l.Version, true
			}
		case "pledge":
			if p, ok := load[receipt.Pledge](st, receipt.PledgeKey(id)); ok {
				return p.Version, true
			}
		case "lot":
			if l, ok := load[warehouse.Lot](st, warehouse.LotKey(id)); ok {
				return l.Version, true
			}
		}
		return 0, false
	}
}
