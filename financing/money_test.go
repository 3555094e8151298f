package financing_test

import (
	"math"
	"math/big"
	"testing"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/receipt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func grams(t require.TestingT, qty uint64, unit string) *big.Int {
	g, err := financing.Grams(qty, unit)
	require.NoError(t, err)
	return g
}

func TestGrams(t *testing.T) {
	assert.Equal(t, "25000000", grams(t, 25_000, "kg").String())
	assert.Equal(t, "25000", grams(t, 25_000, "g").String())
	_, err := financing.Grams(1, "t")
	e, ok := receipt.AsError(err)
	require.True(t, ok)
	assert.Equal(t, receipt.ErrUnitMismatch.Name, e.Name)
}

func TestCollateralValue(t *testing.T) {
	for _, tc := range []struct {
		name       string
		qty        uint64
		unit       string
		price      uint64
		haircutBps uint32
		want       string
	}{
		// 20 t of copper at USD 8,000/t (cents) less 10%: USD 144,000.
		{"copper 20 t", 20_000, "kg", 800_000, 1_000, "14400000"},
		{"same in grams", 20_000_000, "g", 800_000, 1_000, "14400000"},
		{"no haircut", 1_000, "kg", 800_000, 0, "800000"},
		{"rounds down", 1, "kg", 999, 0, "0"},                // 0.999 cent
		{"rounds down once", 3, "kg", 333_333, 3_333, "666"}, // 3 × 333.333 × 0.6667 = 666.67
		{"haircut of everything", 1_000, "kg", 800_000, 10_000, "0"},
		{"nothing", 0, "kg", 800_000, 1_000, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, financing.CollateralValue(grams(t, tc.qty, tc.unit), tc.price, tc.haircutBps).String())
		})
	}
}

func TestLTVBps(t *testing.T) {
	v := big.NewInt(9_000_000)
	assert.Equal(t, uint64(8_000), financing.LTVBps(7_200_000, v), "exactly at the threshold")
	assert.Equal(t, uint64(8_001), financing.LTVBps(7_200_000, big.NewInt(8_999_991)), "8,000.008 rounds up")
	assert.Equal(t, uint64(8_001), financing.LTVBps(7_200_001, v), "a cent past rounds up")
	assert.Equal(t, uint64(0), financing.LTVBps(0, v))
	assert.Equal(t, uint64(0), financing.LTVBps(0, new(big.Int)))
	assert.Equal(t, financing.InfiniteLTV, financing.LTVBps(1, new(big.Int)), "owed against nothing")
	assert.Equal(t, uint64(1), financing.LTVBps(1, big.NewInt(math.MaxInt64)))
	assert.Equal(t, "10800000", financing.MaxAdvance(big.NewInt(14_400_000), 7_500).String())
}

// TestHugeFiguresDoNotOverflow: a loan on the largest receipts the chain
// allows, at the largest price, is valued exactly.
func TestHugeFiguresDoNotOverflow(t *testing.T) {
	g := new(big.Int)
	for i := 0; i < financing.MaxPledgesPerLoan; i++ {
		g.Add(g, grams(t, receipt.MaxQuantity, "kg"))
	}
	v := financing.CollateralValue(g, financing.MaxPriceMinorPerTonne, 1)
	// 5·10^19 g × 10^12 × 9,999 / 10^10 = 4.9995·10^25
	assert.Equal(t, "49995000000000000000000000", v.String())
	assert.Equal(t, uint64(math.MaxUint64), financing.Saturate(v))
	assert.Equal(t, uint64(1), financing.LTVBps(financing.MaxAmountMinor*10, v)) // 10^23 / 4.9995·10^25 = 0.002 → 1
	assert.Equal(t, uint64(1), financing.LTVBps(1, v))
	// The other way: a tiny value against the largest amount saturates nothing it should not.
	assert.Equal(t, uint64(1_000_000_000_000_000*financing.BpsOne), financing.LTVBps(1_000_000_000_000_000, big.NewInt(1)))
	assert.Equal(t, financing.InfiniteLTV, financing.LTVBps(financing.MaxAmountMinor, big.NewInt(1)), "10^22 bps saturates")
}

// TestRoundingProperties: the value never overstates, the LTV never
// understates, and "principal within the initial LTV" is the same test as
// "principal ≤ max advance".
func TestRoundingProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		qty := rapid.Uint64Range(0, receipt.MaxQuantity).Draw(t, "qty")
		unit := rapid.SampledFrom([]string{"kg", "g"}).Draw(t, "unit")
		price := rapid.Uint64Range(1, financing.MaxPriceMinorPerTonne).Draw(t, "price")
		haircut := uint32(rapid.IntRange(0, financing.BpsOne-1).Draw(t, "haircut"))
		g := grams(t, qty, unit)
		v := financing.CollateralValue(g, price, haircut)
		exact := new(big.Int).Mul(g, new(big.Int).SetUint64(price))
		exact.Mul(exact, big.NewInt(int64(financing.BpsOne-haircut)))
		scaled := new(big.Int).Mul(v, big.NewInt(1_000_000*financing.BpsOne))
		if scaled.Cmp(exact) > 0 {
			t.Fatalf("value %s overstates %s", v, exact)
		}
		if scaled.Add(scaled, big.NewInt(1_000_000*financing.BpsOne)).Cmp(exact) <= 0 {
			t.Fatalf("value %s rounds down more than once (%s)", v, exact)
		}

		owed := rapid.Uint64Range(0, financing.MaxAmountMinor).Draw(t, "owed")
		ltv := financing.LTVBps(owed, v)
		if owed > 0 && v.Sign() > 0 && ltv != financing.InfiniteLTV {
			n := new(big.Int).Mul(new(big.Int).SetUint64(owed), big.NewInt(financing.BpsOne))
			hi := new(big.Int).Mul(new(big.Int).SetUint64(ltv), v)
			lo := new(big.Int).Mul(new(big.Int).SetUint64(ltv-1), v)
			if hi.Cmp(n) < 0 || lo.Cmp(n) >= 0 {
				t.Fatalf("ltv %d of %d over %s is not the ceiling", ltv, owed, v)
			}
		}
		initial := uint32(rapid.IntRange(1, financing.BpsOne).Draw(t, "initial"))
		within := ltv <= uint64(initial)
		underMax := new(big.Int).SetUint64(owed).Cmp(financing.MaxAdvance(v, initial)) <= 0
		if within != underMax {
			t.Fatalf("owed %d, value %s, initial %d: ltv %d within %v, ≤ max advance %v", owed, v, initial, ltv, within, underMax)
		}
	})
}
