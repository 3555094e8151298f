package ledger

import (
	"testing"

	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGenesisRejectsIncoherentConsortia(t *testing.T) {
	for name, mutate := range map[string]func(g *Genesis){
		"threshold above admins":   func(g *Genesis) { g.Threshold = 4 },
		"zero threshold":           func(g *Genesis) { g.Threshold = 0 },
		"admin without admin role": func(g *Genesis) { g.Admins = append(g.Admins, TraderA) },
		"unknown admin":            func(g *Genesis) { g.Admins = []string{"nobody"} },
		"repeated participant":     func(g *Genesis) { g.Participants = append(g.Participants, g.Participants[0]) },
		"participant without key":  func(g *Genesis) { g.Participants[3].PubKey = receipt.PubKey{} },
		"warehouse of unknown op":  func(g *Genesis) { g.Warehouses[0].Operator = "nobody" },
		"bay of unknown warehouse": func(g *Genesis) { g.Bays[0].Warehouse = "WH-NONE" },
		"device on unknown bay":    func(g *Genesis) { g.Devices[1].Bay = "BAY-99" },
		"lot in a taken bay": func(g *Genesis) {
			g.Lots = []warehouse.Lot{{ID: "L1", Warehouse: Warehouse1, Bay: "BAY-01", Commodity: "zinc", Grade: "SHG", Unit: "kg", LockedQty: 10},
				{ID: "L2", Warehouse: Warehouse1, Bay: "BAY-01", Commodity: "zinc", Grade: "SHG", Unit: "kg", LockedQty: 10}}
		},
		"lot without quantity": func(g *Genesis) {
			g.Lots = []warehouse.Lot{{ID: "L1", Warehouse: Warehouse1, Bay: "BAY-01", Commodity: "zinc", Grade: "SHG", Unit: "kg"}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			w := NewWorld("g", t0+day)
			mutate(&w.Genesis)
			err := InitState(NewMemStore(), &w.Genesis)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrGenesis)
		})
	}
}

func TestGenesisLotsAreLockedAndIssuable(t *testing.T) {
	w := NewWorld("g", t0+365*day)
	w.Genesis.Lots = []warehouse.Lot{{ID: "L-MIGRATED", Warehouse: Warehouse1, Bay: "BAY-02", Commodity: "zinc", Grade: "SHG", Unit: "kg", LockedQty: 25_000,
		IssuedQty: 999, Live: []string{"forged"}, Health: warehouse.HealthAlarm}}
	s, err := NewSim(w, "ewr-g", t0)
	require.NoError(t, err)
	l, _ := Get[warehouse.Lot](s.Store, warehouse.LotKey("L-MIGRATED"))
	assert.Equal(t, warehouse.LotLocked, l.Status)
	assert.Equal(t, warehouse.HealthOK, l.Health)
	assert.Zero(t, l.IssuedQty, "genesis cannot smuggle in issued quantity")
	assert.Empty(t, l.Live)
	bay, _ := Get[warehouse.Bay](s.Store, warehouse.BayKey(Warehouse1, "BAY-02"))
	assert.Equal(t, "L-MIGRATED", bay.LockedBy)
	require.NoError(t, CheckInvariants(s.Store))
	h := &harness{t: t, Sim: s, w: w}
	h.ok(by(Operator), h.issueOp("R-1", "L-MIGRATED", 25_000, TraderA))
	h.fail(warehouse.ErrOverIssue, by(Operator), h.issueOp("R-2", "L-MIGRATED", 1, TraderA))
}
