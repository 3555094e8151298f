package warehouse

import (
	"testing"

	"github.com/ewrchain/ewr/receipt"
	"github.com/stretchr/testify/assert"
)

// The lock's arithmetic and the weigh ticket's shape, beside the rules
// that use them (the ledger's tests drive the ops end to end).

func TestLockPhaseBand(t *testing.T) {
	for _, c := range []struct {
		name           string
		p              LockPhase
		tol            uint64
		lo, hi         uint64
		inside, beyond uint64 // a reading inside the band, and one 7 below it
	}{
		{"locked, nothing moving", LockPhase{Expected: 40_480}, 150, 40_330, 40_630, 40_400, 40_323},
		{"loading out 10 t", LockPhase{Expected: 40_480, Open: 1, OutQty: 10_025}, 150, 30_305, 40_630, 31_000, 30_298},
		{"allowance past the goods floors at zero", LockPhase{Expected: 500, Open: 1, OutQty: 600}, 100, 0, 600, 0, 0},
		{"no tolerance", LockPhase{Expected: 1_000}, 0, 1_000, 1_000, 1_000, 993},
	} {
		lo, hi := c.p.Band(c.tol)
		assert.Equal(t, c.lo, lo, c.name)
		assert.Equal(t, c.hi, hi, c.name)
		assert.Zero(t, c.p.Excess(c.inside, c.tol), c.name)
		assert.Zero(t, c.p.Excess(lo, c.tol), "%s: the band's edge is inside", c.name)
		assert.Equal(t, uint64(1), c.p.Excess(hi+1, c.tol), c.name)
		if lo >= 7 {
			assert.Equal(t, lo-c.beyond, c.p.Excess(c.beyond, c.tol), c.name)
		}
		assert.Equal(t, c.p.Open > 0, c.p.Moving(), c.name)
	}
}

func TestLockHistoryAt(t *testing.T) {
	h := &LockHistory{Phases: []LockPhase{{FromMs: 1_000, Expected: 10}, {FromMs: 5_000, Expected: 20, Open: 1}, {FromMs: 9_000, Expected: 15}}}
	for _, c := range []struct {
		ms   int64
		want uint64
		ok   bool
	}{{999, 0, false}, {1_000, 10, true}, {4_999, 10, true}, {5_000, 20, true}, {8_999, 20, true}, {9_000, 15, true}, {1 << 50, 15, true}} {
		p, ok := h.At(c.ms)
		assert.Equal(t, c.ok, ok, "at %d", c.ms)
		assert.Equal(t, c.want, p.Expected, "at %d", c.ms)
	}
	assert.Equal(t, uint64(15), h.Current().Expected)
	assert.Equal(t, LockPhase{}, (&LockHistory{}).Current())
}

func TestExpectedAtLockAndAllowances(t *testing.T) {
	params := receipt.DefaultParams()
	p := &params
	assert.Equal(t, uint64(75_620), ExpectedAtLock(&Bay{TareKg: 480}, 75_140, "kg"))
	assert.Equal(t, uint64(75_140_000+480_000), ExpectedAtLock(&Bay{TareKg: 480}, 75_140_000, "g"), "a lot in grams counts the tare in grams")
	for _, c := range []struct {
		qty     uint64
		tickets int
		unit    string
		want    uint64
	}{
		{10_000, 1, "kg", 60},        // the scale's error per weighing beats 0.25% of 10 t
		{100_000, 1, "kg", 250},      // 0.25% of 100 t beats one weighing
		{100_000, 5, "kg", 300},      // five weighings: 5 × 60
		{10_000_000, 1, "g", 60_000}, // the same 10 t in grams
	} {
		assert.Equal(t, c.want, deliveryTolerance(p, c.qty, c.tickets, c.unit), "%d %s in %d tickets", c.qty, c.unit, c.tickets)
	}
	assert.Equal(t, deliveryTolerance(p, 10_000, 1, "kg"), loadOutAllowance(p, 10_000, "kg"), "one truck")
	assert.Equal(t, deliveryTolerance(p, 61_000, 3, "kg"), loadOutAllowance(p, 61_000, "kg"), "three trucks of at most 30 t")
}

func TestWeighTicketShape(t *testing.T) {
	good := WeighTicket{Number: "OUT-1", Warehouse: "WH-1", Device: "WB-1", Direction: Out, Gross: 25_010, Tare: 15_010, Net: 10_000,
		Unit: "kg", Plate: "LU-1", ReleaseOrder: "ro-WR-1-1", WeighedAt: 1}
	assert.NoError(t, good.checkShape())
	for _, c := range []struct {
		name string
		mut  func(*WeighTicket)
		want *receipt.Error
	}{
		{"net is not gross − tare", func(t *WeighTicket) { t.Net++ }, ErrTicketInvalid},
		{"tare above gross", func(t *WeighTicket) { t.Tare, t.Net = t.Gross+1, 0 }, ErrTicketInvalid},
		{"no direction", func(t *WeighTicket) { t.Direction = 0 }, ErrTicketInvalid},
		{"pounds", func(t *WeighTicket) { t.Unit = "lb" }, ErrBadUnit},
		{"no plate", func(t *WeighTicket) { t.Plate = "" }, receipt.ErrMissingField},
		{"out without an order", func(t *WeighTicket) { t.ReleaseOrder = "" }, receipt.ErrInvalidID},
		{"in naming an order", func(t *WeighTicket) { t.Direction = In }, ErrTicketInvalid},
		{"bad number", func(t *WeighTicket) { t.Number = "a b" }, receipt.ErrInvalidID},
	} {
		tk := good
		c.mut(&tk)
		assert.ErrorIs(t, tk.checkShape(), c.want, c.name)
	}
}
