package ledger

import (
	"crypto/ed25519"
	"crypto/sha256"
	"sort"

	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// Actor is a participant with its signing key.
type Actor struct {
	ID    string
	Name  string
	Roles receipt.Role
	Key   ed25519.PrivateKey
}

// DeviceKey is a device with its signing key.
type DeviceKey struct {
	Device warehouse.Device
	Key    ed25519.PrivateKey
}

// World is a consortium with keys: the demo that `make run` shows and the
// cast the tests use. Its keys derive from names and a seed, so they are
// reproducible and NOT secret: never use them outside a demo or a test.
type World struct {
	Genesis Genesis
	Actors  map[string]*Actor
	Devices map[string]*DeviceKey
}

// DemoKey derives a reproducible ed25519 key from a name.
func DemoKey(seed, name string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte("ewr/demo-key/v1\x00" + seed + "\x00" + name))
	return ed25519.NewKeyFromSeed(s[:])
}

// Demo participant ids.
const (
	Admin1     = "admin-1"
	Admin2     = "admin-2"
	Admin3     = "admin-3"
	Operator   = "wo-qingdao"
	Inspector  = "cm-inspect"
	TraderA    = "trader-a"
	TraderB    = "trader-b"
	BankA      = "bank-a"
	BankB      = "bank-b"
	Regulator  = "regulator"
	Oracle     = "oracle"
	Operator2  = "wo-shanghai"
	Inspector2 = "cm-shanghai"

	Warehouse1   = "WH-QD-01"
	Warehouse2   = "WH-SH-01"
	Weighbridge1 = "WB-QD-01"
	Weighbridge2 = "WB-SH-01"
)

// DemoBays are the bays of each demo warehouse.
var DemoBays = []string{"BAY-01", "BAY-02", "BAY-03", "BAY-04"}

// DemoBayTareKg is what each demo bay's scale reads empty: its platform,
// steel pallets and dunnage. The lock expects the goods on top of it.
const DemoBayTareKg = 480

// NewWorld builds the demo consortium: three admins (two must sign),
// two warehouses with operator, collateral manager, a weighbridge and
// bay scale, camera and door seal per bay; two traders, two banks, a
// regulator and a price oracle. calibratedUntil is the devices'
// calibration expiry (block time).
func NewWorld(seed string, calibratedUntil int64) *World {
	w := &World{Actors: map[string]*Actor{}, Devices: map[string]*DeviceKey{}}
	add := func(id, name string, roles receipt.Role) {
		a := &Actor{ID: id, Name: name, Roles: roles, Key: DemoKey(seed, id)}
		w.Actors[id] = a
		var pk receipt.PubKey
		copy(pk[:], a.Key.Public().(ed25519.PublicKey))
		w.Genesis.Participants = append(w.Genesis.Participants, receipt.Participant{ID: id, Name: name, Roles: roles, PubKey: pk})
	}
	add(Admin1, "Consortium admin (exchange)", receipt.RoleAdmin)
	add(Admin2, "Consortium admin (bank association)", receipt.RoleAdmin)
	add(Admin3, "Consortium admin (warehouse association)", receipt.RoleAdmin)
	add(Operator, "Qingdao Bonded Metals Warehouse", receipt.RoleOperator)
	add(Inspector, "Independent Inspection Co.", receipt.RoleCollateralManager)
	add(Operator2, "Shanghai Grain Terminal", receipt.RoleOperator)
	add(Inspector2, "Shanghai Inspection Co.", receipt.RoleCollateralManager)
	add(TraderA, "Alpha Metals Trading", receipt.RoleTrader)
	add(TraderB, "Beta Commodities", receipt.RoleTrader)
	add(BankA, "First Commodity Bank", receipt.RoleBank)
	add(BankB, "Harbour Trade Finance", receipt.RoleBank)
	add(Regulator, "Commodity Regulator", receipt.RoleRegulator)
	add(Oracle, "Price Oracle", receipt.RoleOracle)
	w.Genesis.Admins = []string{Admin1, Admin2, Admin3}
	w.Genesis.Threshold = 2

	for _, wh := range []struct{ id, name, op, cm, wb string }{
		{Warehouse1, "Qingdao Bonded Metals Warehouse No. 1", Operator, Inspector, Weighbridge1},
		{Warehouse2, "Shanghai Grain Terminal No. 1", Operator2, Inspector2, Weighbridge2},
	} {
		w.Genesis.Warehouses = append(w.Genesis.Warehouses, warehouse.Warehouse{
			ID: wh.id, Name: wh.name, Location: wh.name, Operator: wh.op, CollateralManager: wh.cm,
		})
		w.addDevice(seed, wh.wb, warehouse.Weighbridge, wh.id, "", calibratedUntil)
		for i, bay := range DemoBays {
			w.Genesis.Bays = append(w.Genesis.Bays, warehouse.Bay{Warehouse: wh.id, ID: bay, TareKg: DemoBayTareKg})
			n := string(rune('1' + i))
			w.addDevice(seed, wh.id+"-LC-0"+n, warehouse.BayScale, wh.id, bay, calibratedUntil)
			w.addDevice(seed, wh.id+"-CAM-0"+n, warehouse.Camera, wh.id, bay, calibratedUntil)
			w.addDevice(seed, wh.id+"-SEAL-0"+n, warehouse.DoorSeal, wh.id, bay, calibratedUntil)
		}
	}
	return w
}

func (w *World) addDevice(seed, id string, typ warehouse.DeviceType, wh, bay string, until int64) {
	k := DemoKey(seed, "device/"+id)
	d := warehouse.Device{ID: id, Type: typ, Warehouse: wh, Bay: bay, CalibratedUntil: until}
	copy(d.PubKey[:], k.Public().(ed25519.PublicKey))
	w.Devices[id] = &DeviceKey{Device: d, Key: k}
	w.Genesis.Devices = append(w.Genesis.Devices, d)
}

// Key returns an actor's signing key.
func (w *World) Key(id string) ed25519.PrivateKey { return w.Actors[id].Key }

// ActorIDs lists the actors, sorted.
func (w *World) ActorIDs() []string {
	ids := make([]string, 0, len(w.Actors))
	for id := range w.Actors {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Ticket makes a weighbridge ticket signed by the warehouse's weighbridge.
func (w *World) Ticket(wbID, number string, dir warehouse.Direction, gross, tare uint64, releaseOrder string, at int64) warehouse.SignedTicket {
	d := w.Devices[wbID]
	t := warehouse.WeighTicket{
		Number: number, Warehouse: d.Device.Warehouse, Device: wbID, Direction: dir,
		Gross: gross, Tare: tare, Net: gross - tare, Unit: "kg", Plate: "LU-B" + number, ReleaseOrder: releaseOrder, WeighedAt: at,
	}
	return warehouse.SignTicket(t, d.Key)
}

// DemoSeed is the public seed of the demo world's keys (ewr run, ewr demo,
// ewr init and ewr testnet without a consortium's own keys).
const DemoSeed = "demo"

// DerivedKeys lists the participants and devices of g whose public key is
// the one DemoKey derives from seed: anyone who knows the seed can sign as
// them. A real consortium's genesis has none.
func (g *Genesis) DerivedKeys(seed string) []string {
	var out []string
	pub := func(name string) [32]byte {
		var k [32]byte
		copy(k[:], DemoKey(seed, name).Public().(ed25519.PublicKey))
		return k
	}
	for _, p := range g.Participants {
		if [32]byte(p.PubKey) == pub(p.ID) {
			out = append(out, p.ID)
		}
	}
	for _, d := range g.Devices {
		if [32]byte(d.PubKey) == pub("device/"+d.ID) {
			out = append(out, "device "+d.ID)
		}
	}
	return out
}
