package ledger

import (
	"sort"

	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// Genesis is the first consortium: its members, its admins and how many of
// them must sign a membership change, its parameters, and optionally the
// first warehouses, bays and devices.
type Genesis struct {
	Admins       []string              `json:"admins"`
	Threshold    uint32                `json:"threshold"`
	Params       *receipt.Params       `json:"params,omitempty"`
	Participants []receipt.Participant `json:"participants"`
	Warehouses   []warehouse.Warehouse `json:"warehouses,omitempty"`
	Bays         []warehouse.Bay       `json:"bays,omitempty"`
	Devices      []warehouse.Device    `json:"devices,omitempty"`
	// Lots is stock already weighed in and locked when the chain starts
	// (migrated from a registry kept before; the benchmark's stock). Each
	// lot's bay must exist and be free; its quantity is LockedQty.
	Lots []warehouse.Lot `json:"lots,omitempty"`
	// Formats are the record formats in force at the start, for a chain
	// that starts on older formats than this binary's (a chain made by an
	// earlier release; the upgrade tests). Absent: this binary's formats.
	Formats []receipt.KindFormat `json:"formats,omitempty"`
}

// Bounds on the evidence window a consortium may set: a minute is barely
// enough for a finding to reach a block; beyond a day a reading says
// little about the goods now.
const (
	MinEvidenceWindowSec = 60
	MaxEvidenceWindowSec = 24 * 3600
)

// InitState writes the genesis records into an empty store. It checks the
// genesis is coherent: valid unique ids, admins that exist and hold the
// admin role, a threshold that the admins can meet.
func InitState(st receipt.Store, g *Genesis) error {
	x := &receipt.Exec{Store: st}
	bad := func(format string, args ...any) error { return receipt.Errorf(ErrGenesis, format, args...) }
	formats := currentFormats()
	if g.Formats != nil {
		formats = &receipt.Formats{Version: 1}
		for _, k := range g.Formats {
			r, ok := kindNamed(k.Kind)
			if !ok || k.Version < 1 || k.Version > receipt.CurrentFormat(r.typ) {
				return bad("format %d of record kind %q unknown", k.Version, k.Kind)
			}
			if k.Version > 1 {
				formats.Set(k.Kind, k.Version)
			}
		}
	}
	receipt.Save(x, receipt.KeyFormats, formats)
	x.Write = New().writeFormats(st)

	seen := map[string]bool{}
	for i := range g.Participants {
		p := g.Participants[i]
		if !receipt.ValidID(p.ID) || seen[p.ID] {
			return bad("participant id %q invalid or repeated", p.ID)
		}
		if p.Roles == 0 || p.PubKey == (receipt.PubKey{}) {
			return bad("participant %q needs roles and a key", p.ID)
		}
		seen[p.ID] = true
		p.Status = receipt.ParticipantActive
		p.Version = 1
		receipt.Save(x, receipt.ParticipantKey(p.ID), &p)
	}
	admins := append([]string(nil), g.Admins...)
	sort.Strings(admins)
	for i, a := range admins {
		if i > 0 && admins[i-1] == a {
			return bad("admin %q repeated", a)
		}
		p, ok := receipt.Load[receipt.Participant](x, receipt.ParticipantKey(a))
		if !ok || !p.Roles.Has(receipt.RoleAdmin) {
			return bad("admin %q is not a participant with the admin role", a)
		}
	}
	if g.Threshold == 0 || int(g.Threshold) > len(admins) {
		return bad("threshold %d of %d admins", g.Threshold, len(admins))
	}
	receipt.Save(x, receipt.KeyConsortium, &receipt.Consortium{Admins: admins, Threshold: g.Threshold, Version: 1})
	params := receipt.DefaultParams()
	if g.Params != nil {
		params = *g.Params
		params.Version = 1
	}
	if w := params.EvidenceWindowSec; w < MinEvidenceWindowSec || w > MaxEvidenceWindowSec {
		return bad("evidence window %d s, want %d..%d", w, MinEvidenceWindowSec, MaxEvidenceWindowSec)
	}
	receipt.Save(x, receipt.KeyParams, &params)

	for i := range g.Warehouses {
		w := g.Warehouses[i]
		if !receipt.ValidID(w.ID) || receipt.Has(x, warehouse.WarehouseKey(w.ID)) {
			return bad("warehouse id %q invalid or repeated", w.ID)
		}
		if !seen[w.Operator] || !seen[w.CollateralManager] {
			return bad("warehouse %q names unknown operator or collateral manager", w.ID)
		}
		sups := append([]string(nil), w.Supervisors...)
		sort.Strings(sups)
		for i, id := range sups {
			if !seen[id] || (i > 0 && sups[i-1] == id) {
				return bad("warehouse %q names unknown or repeated supervisor %q", w.ID, id)
			}
		}
		w.Supervisors = sups
		w.Status, w.Version = warehouse.Active, 1
		receipt.Save(x, warehouse.WarehouseKey(w.ID), &w)
	}
	for i := range g.Bays {
		b := g.Bays[i]
		if !receipt.ValidID(b.ID) || !receipt.Has(x, warehouse.WarehouseKey(b.Warehouse)) || receipt.Has(x, warehouse.BayKey(b.Warehouse, b.ID)) {
			return bad("bay %s/%s invalid, repeated or in an unknown warehouse", b.Warehouse, b.ID)
		}
		if b.TareKg > warehouse.MaxTareKg {
			return bad("bay %s/%s tare %d kg", b.Warehouse, b.ID, b.TareKg)
		}
		b.LockedBy, b.Devices, b.Version = "", nil, 1
		receipt.Save(x, warehouse.BayKey(b.Warehouse, b.ID), &b)
	}
	for i := range g.Devices {
		d := g.Devices[i]
		if !receipt.ValidID(d.ID) || receipt.Has(x, warehouse.DeviceKey(d.ID)) || !receipt.Has(x, warehouse.WarehouseKey(d.Warehouse)) {
			return bad("device %q invalid, repeated or in an unknown warehouse", d.ID)
		}
		if d.Bay != "" && !receipt.Has(x, warehouse.BayKey(d.Warehouse, d.Bay)) {
			return bad("device %q bound to unknown bay %s", d.ID, d.Bay)
		}
		d.Status, d.Version = warehouse.Active, 1
		receipt.Save(x, warehouse.DeviceKey(d.ID), &d)
		if d.Bay != "" {
			warehouse.BindDevice(x, d.Warehouse, d.Bay, d.ID)
		}
	}
	for i := range g.Lots {
		l := g.Lots[i]
		bay, ok := receipt.Load[warehouse.Bay](x, warehouse.BayKey(l.Warehouse, l.Bay))
		if !receipt.ValidID(l.ID) || receipt.Has(x, warehouse.LotKey(l.ID)) || !ok || bay.LockedBy != "" {
			return bad("lot %q invalid, repeated, or in an unknown or taken bay %s/%s", l.ID, l.Warehouse, l.Bay)
		}
		if l.LockedQty == 0 || l.LockedQty > receipt.MaxQuantity || (l.Unit != "kg" && l.Unit != "g") || l.Commodity == "" || l.Grade == "" {
			return bad("lot %q needs a quantity, a unit (kg or g), a commodity and a grade", l.ID)
		}
		l.Status, l.Health, l.RegisteredQty, l.IssuedQty, l.Live, l.Version = warehouse.LotLocked, warehouse.HealthOK, l.LockedQty, 0, nil, 1
		l.Expected, l.Baseline = warehouse.ExpectedAtLock(bay, l.LockedQty, l.Unit), 0
		receipt.Save(x, warehouse.LotKey(l.ID), &l)
		// The lock's history starts with the chain: the goods were on the
		// bay before it.
		receipt.Save(x, warehouse.LockHistoryKey(l.ID), &warehouse.LockHistory{Lot: l.ID,
			Phases: []warehouse.LockPhase{{FromMs: 0, Expected: l.Expected}}, Version: 1})
		bay.LockedBy = l.ID
		bay.Version++
		receipt.Save(x, warehouse.BayKey(l.Warehouse, l.Bay), bay)
	}
	return nil
}
