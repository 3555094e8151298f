package financing

import (
	"fmt"
	"sort"

	"github.com/ewrchain/ewr/receipt"
)

// Limits on what one loan or one commodity carries: they bound the reads a
// price post or a release makes.
const (
	// MaxPledgesPerLoan bounds the pledges a loan ever lists.
	MaxPledgesPerLoan = 50
	// MaxOpenLoansPerIndex bounds the open loans on one commodity and
	// currency, which one price post re-evaluates.
	MaxOpenLoansPerIndex = 1000
	// MaxGraceSec bounds a margin call's grace: 90 days.
	MaxGraceSec = 90 * 24 * 3600
	// MaxPriceAgeSec bounds how old a policy may accept a price: a year.
	MaxPriceAgeSec = 365 * 24 * 3600
)

// Record keys. Each record type has its own prefix; the id parts after it
// are separated by '/', and none holds one (ids never do, currencies are
// three letters, CheckCommodity refuses commodity names with '/').
//
//	fcp/<bank>/<commodity>      CreditPolicy of a bank for a commodity
//	fpr/<currency>/<commodity>  Price: the latest post for a commodity in a currency
//	fln/<loan>                  Loan
//	fix/<currency>/<commodity>  OpenLoans: the open loans a price post re-evaluates
func PolicyKey(bank, commodity string) string    { return "fcp/" + bank + "/" + commodity }
func PriceKey(currency, commodity string) string { return "fpr/" + currency + "/" + commodity }
func LoanKey(id string) string                   { return "fln/" + id }
func IndexKey(currency, commodity string) string { return "fix/" + currency + "/" + commodity }

// Key prefixes of the records this package owns, as PolicyKey and the
// others build them.
const (
	PrefixPolicy = "fcp/"
	PrefixPrice  = "fpr/"
	PrefixLoan   = "fln/"
	PrefixIndex  = "fix/"
)

// CreditPolicy is what a bank lends against a commodity. Set by the bank
// itself; a loan copies it when it opens.
type CreditPolicy struct {
	Bank               string
	Commodity          string
	HaircutBps         uint32 // taken off market value: exchange metals ≈ 1000–2000, grain ≈ 2000–3000
	InitialLTVBps      uint32 // the most a loan may be at opening or after a release
	MaintenanceLTVBps  uint32 // past it, a margin call
	MarginCallGraceSec int64  // how long a margin call gives the borrower to cure
	// MaxPriceAgeSec is how old a price the bank opens a loan on; 0 accepts
	// any posted price.
	MaxPriceAgeSec int64
	UpdatedAt      int64
	Version        uint64
}

// Price is the latest price posted for a commodity in a currency.
type Price struct {
	Commodity     string
	Currency      string
	MinorPerTonne uint64
	At            int64 // block time of the post
	Height        int64
	Oracle        string
	Version       uint64
}

// LoanStatus is where a loan is.
type LoanStatus uint8

// Loan statuses. Only OPEN loans are re-evaluated and margin-called.
const (
	LoanOpen      LoanStatus = iota + 1 // opened on confirmed pledges; may be drawn and repaid
	LoanRepaid                          // nothing outstanding: its collateral is released
	LoanDefaulted                       // default recorded: the bank may enforce
	LoanCancelled                       // closed before any disbursement
)

var loanStatusNames = []string{"", "OPEN", "REPAID", "DEFAULTED", "CANCELLED"}

func (s LoanStatus) String() string {
	if int(s) < len(loanStatusNames) && s > 0 {
		return loanStatusNames[s]
	}
	return "UNKNOWN"
}

// MarshalText implements encoding.TextMarshaler.
func (s LoanStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *LoanStatus) UnmarshalText(b []byte) error {
	for i := 1; i < len(loanStatusNames); i++ {
		if loanStatusNames[i] == string(b) {
			*s = LoanStatus(i)
			return nil
		}
	}
	return fmt.Errorf("financing: unknown loan status %q", b)
}

// Terms are the credit policy figures a loan was opened on.
type Terms struct {
	HaircutBps         uint32
	InitialLTVBps      uint32
	MaintenanceLTVBps  uint32
	MarginCallGraceSec int64
	PolicyVersion      uint64
}

// MarginCall is an open call for margin.
type MarginCall struct {
	RaisedAt           int64
	Deadline           int64 // block time after which the bank may record a default
	LTVBps             uint64
	ValueMinor         uint64
	PriceMinorPerTonne uint64
	// ShortfallMinor is what the borrower had to repay, at the price of the
	// call, to bring the loan back to its maintenance LTV.
	ShortfallMinor uint64
}

// Loan is money a bank lends a borrower against pledged receipts. Amounts
// are in minor units of Currency: Principal is committed, Disbursed paid
// out, Outstanding owed (interest and fees are settled off chain).
type Loan struct {
	ID        string
	Version   uint64
	Status    LoanStatus
	Bank      string
	Borrower  string
	Commodity string
	Currency  string
	// Pledges are every pledge that ever secured the loan, sorted; its
	// collateral is those still ACTIVE.
	Pledges       []string
	Principal     uint64
	Disbursed     uint64
	Outstanding   uint64
	Terms         Terms
	Maturity      int64
	OpenedAt      int64
	Call          *MarginCall // open margin call, if any
	DefaultedAt   int64
	DefaultReason string
	ClosedAt      int64
	UpdatedHeight int64
}

// Exposure is what the bank has at risk: the outstanding amount, plus the
// undrawn principal while the loan is open (the bank is committed to it).
func (l *Loan) Exposure() uint64 {
	if l.Status != LoanOpen {
		return l.Outstanding
	}
	return l.Outstanding + (l.Principal - l.Disbursed)
}

// OpenLoans lists the open loans on a commodity in a currency, sorted: what
// a price post re-evaluates, without iterating over state.
type OpenLoans struct {
	Currency  string
	Commodity string
	Loans     []string
	Version   uint64
}

// LoadLoan loads a loan.
func LoadLoan(x *receipt.Exec, id string) (*Loan, error) {
	l, ok := receipt.Load[Loan](x, LoanKey(id))
	if !ok {
		return nil, receipt.Errorf(ErrLoanNotFound, "%q", id)
	}
	return l, nil
}

// mustLoan loads a loan a pledge or index names: its absence is corrupt state.
func mustLoan(x *receipt.Exec, id string) *Loan {
	l, ok := receipt.Load[Loan](x, LoanKey(id))
	if !ok {
		panic(fmt.Sprintf("financing: loan %q named in state does not exist", id))
	}
	return l
}

// saveLoan records a change: one version per op that changes the loan.
func saveLoan(x *receipt.Exec, l *Loan) {
	l.Version++
	l.UpdatedHeight = x.Block.Height
	receipt.Save(x, LoanKey(l.ID), l)
}

// LoadPrice loads the latest price of a commodity in a currency.
func LoadPrice(x *receipt.Exec, currency, commodity string) (*Price, error) {
	p, ok := receipt.Load[Price](x, PriceKey(currency, commodity))
	if !ok {
		return nil, receipt.Errorf(ErrNoPrice, "%s in %s", commodity, currency)
	}
	return p, nil
}

// LoadPolicy loads a bank's credit policy for a commodity.
func LoadPolicy(x *receipt.Exec, bank, commodity string) (*CreditPolicy, error) {
	p, ok := receipt.Load[CreditPolicy](x, PolicyKey(bank, commodity))
	if !ok {
		return nil, receipt.Errorf(ErrNoPolicy, "%s for %s", bank, commodity)
	}
	return p, nil
}

// indexAdd lists an open loan under its commodity and currency.
func indexAdd(x *receipt.Exec, l *Loan) error {
	key := IndexKey(l.Currency, l.Commodity)
	idx, ok := receipt.Load[OpenLoans](x, key)
	if !ok {
		idx = &OpenLoans{Currency: l.Currency, Commodity: l.Commodity}
	}
	if len(idx.Loans) >= MaxOpenLoansPerIndex {
		return receipt.Errorf(ErrTooManyLoans, "%d open loans on %s in %s", len(idx.Loans), l.Commodity, l.Currency)
	}
	idx.Loans = insertSorted(idx.Loans, l.ID)
	idx.Version++
	receipt.Save(x, key, idx)
	return nil
}

// indexRemove takes a loan that is no longer open off its index.
func indexRemove(x *receipt.Exec, l *Loan) {
	key := IndexKey(l.Currency, l.Commodity)
	idx, ok := receipt.Load[OpenLoans](x, key)
	if !ok {
		panic("financing: open loan " + l.ID + " without an index")
	}
	idx.Loans = removeSorted(idx.Loans, l.ID)
	idx.Version++
	receipt.Save(x, key, idx)
}

func insertSorted(s []string, id string) []string {
	i := sort.SearchStrings(s, id)
	if i < len(s) && s[i] == id {
		return s
	}
	s = append(s, "")
	copy(s[i+1:], s[i:])
	s[i] = id
	return s
}

func removeSorted(s []string, id string) []string {
	i := sort.SearchStrings(s, id)
	if i < len(s) && s[i] == id {
		return append(s[:i:i], s[i+1:]...)
	}
	return s
}

// sortedUnique returns ids sorted, and whether they were all distinct.
func sortedUnique(ids []string) ([]string, bool) {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	for i := 1; i < len(out); i++ {
		if out[i] == out[i-1] {
			return out, false
		}
	}
	return out, true
}
