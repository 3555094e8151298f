package financing

import (
	"math"
	"math/big"
	"strings"

	"github.com/ewrchain/ewr/receipt"
)

// Limits on money and prices. They bound what an op may name, far above any
// real figure, so that every sum of amounts fits in a uint64.
const (
	// MaxAmountMinor bounds a principal, disbursement, repayment or price
	// paid: 10^18 minor units (10^16 of a two-decimal currency).
	MaxAmountMinor uint64 = 1_000_000_000_000_000_000
	// MaxPriceMinorPerTonne bounds a posted price: 10^12 minor units a tonne.
	MaxPriceMinorPerTonne uint64 = 1_000_000_000_000
	// BpsOne is 100% in basis points.
	BpsOne = 10_000
	// InfiniteLTV is the LTV of money outstanding against no collateral value.
	InfiniteLTV uint64 = math.MaxUint64
)

const gramsPerTonne = 1_000_000

// Grams is qty, counted in unit (a lot's unit: "kg" or "g"), in grams,
// exactly.
func Grams(qty uint64, unit string) (*big.Int, error) {
	g := new(big.Int).SetUint64(qty)
	switch unit {
	case "g":
		return g, nil
	case "kg":
		return g.Mul(g, big.NewInt(1000)), nil
	}
	return nil, receipt.Errorf(receipt.ErrUnitMismatch, "unit %q is neither kg nor g", unit)
}

// CollateralValue is the lending value of grams of a commodity priced at
// minorPerTonne after a haircut of haircutBps, in minor units:
// floor(grams × price × (10000 − haircut) / (10^6 × 10^4)). Rounding is
// down once, at the end, so the value never overstates the collateral.
func CollateralValue(grams *big.Int, minorPerTonne uint64, haircutBps uint32) *big.Int {
	if haircutBps >= BpsOne || grams.Sign() <= 0 {
		return new(big.Int)
	}
	v := new(big.Int).Mul(grams, new(big.Int).SetUint64(minorPerTonne))
	v.Mul(v, big.NewInt(int64(BpsOne-haircutBps)))
	return v.Quo(v, big.NewInt(gramsPerTonne*BpsOne))
}

// LTVBps is the loan-to-value of exposureMinor against value, in basis
// points, rounded up (a loan is never shown safer than it is): 0 when
// nothing is owed, InfiniteLTV when something is owed against no value,
// saturating at InfiniteLTV.
func LTVBps(exposureMinor uint64, value *big.Int) uint64 {
	if exposureMinor == 0 {
		return 0
	}
	if value.Sign() <= 0 {
		return InfiniteLTV
	}
	n := new(big.Int).SetUint64(exposureMinor)
	n.Mul(n, big.NewInt(BpsOne))
	q, r := new(big.Int).QuoRem(n, value, new(big.Int))
	if r.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return Saturate(q)
}

// MaxAdvance is the most a bank lends against value at ltvBps:
// floor(value × ltv / 10000). A principal p is within it exactly when
// LTVBps(p, value) ≤ ltvBps.
func MaxAdvance(value *big.Int, ltvBps uint32) *big.Int {
	v := new(big.Int).Mul(value, big.NewInt(int64(ltvBps)))
	return v.Quo(v, big.NewInt(BpsOne))
}

// Saturate is v as a uint64, or MaxUint64 if it is larger (negative is 0).
// Figures in records and events are saturated; decisions use exact values.
func Saturate(v *big.Int) uint64 {
	switch {
	case v.Sign() <= 0:
		return 0
	case v.IsUint64():
		return v.Uint64()
	}
	return math.MaxUint64
}

// validCurrency reports whether c looks like an ISO 4217 code.
func validCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}

// CheckCurrency returns ErrBadCurrency unless c is three upper-case letters.
func CheckCurrency(c string) error {
	if !validCurrency(c) {
		return receipt.Errorf(ErrBadCurrency, "%q", c)
	}
	return nil
}

// MaxCommodityLen bounds a commodity name in a financing key.
const MaxCommodityLen = 128

// CheckCommodity returns ErrBadCommodity unless c can name a commodity in a
// record key: 1–128 bytes, not blank, no '/' (keys are split on '/' into
// their id parts by the read model). A lot whose commodity does not pass
// cannot be priced, so receipts on it are not financed.
func CheckCommodity(c string) error {
	if len(c) == 0 || len(c) > MaxCommodityLen || strings.TrimSpace(c) == "" || strings.Contains(c, "/") {
		return receipt.Errorf(ErrBadCommodity, "%q", c)
	}
	return nil
}

// CheckAmount returns ErrBadAmount unless 0 < a ≤ MaxAmountMinor.
func CheckAmount(field string, a uint64) error {
	if a == 0 || a > MaxAmountMinor {
		return receipt.Errorf(ErrBadAmount, "%s %d", field, a)
	}
	return nil
}

// BigString formats an exact figure for an event attribute.
func BigString(v *big.Int) string { return v.String() }
