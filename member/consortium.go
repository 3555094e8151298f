package member

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	toml "github.com/pelletier/go-toml/v2"
)

// Consortium is what a consortium's members agree on before its chain
// starts: who the participants are, with the public keys each made on its
// own host (`ewr keys new`); the admins and how many must sign; the
// warehouses, bays and devices with the devices' public keys; and which
// member runs which participants and supervision. No private key is in it:
// `ewr testnet --consortium FILE` turns it into the genesis and the
// members' homes, and each member copies its own key files into its home.
type Consortium struct {
	ChainID      string                  `toml:"chain_id"`
	Admins       []string                `toml:"admins"`
	Threshold    uint32                  `toml:"threshold"`
	Participants []ConsortiumParticipant `toml:"participants"`
	Warehouses   []ConsortiumWarehouse   `toml:"warehouses"`
	Bays         []ConsortiumBay         `toml:"bays"`
	Devices      []ConsortiumDevice      `toml:"devices"`
	Members      []ConsortiumMember      `toml:"members"`
}

// ConsortiumParticipant is a member of the consortium with its public key.
type ConsortiumParticipant struct {
	ID        string   `toml:"id"`
	Name      string   `toml:"name"`
	Roles     []string `toml:"roles"` // admin, operator, collateral_manager, trader, bank, regulator, oracle
	PublicKey string   `toml:"public_key"`
}

// ConsortiumWarehouse is a warehouse and who runs and supervises it.
type ConsortiumWarehouse struct {
	ID                string   `toml:"id"`
	Name              string   `toml:"name"`
	Location          string   `toml:"location"`
	Operator          string   `toml:"operator"`
	CollateralManager string   `toml:"collateral_manager"`
	Supervisors       []string `toml:"supervisors"`
}

// ConsortiumBay is a storage bay with its empty scale's reading.
type ConsortiumBay struct {
	Warehouse string `toml:"warehouse"`
	ID        string `toml:"id"`
	TareKg    uint64 `toml:"tare_kg"`
}

// ConsortiumDevice is a device and the key it signs its readings with.
type ConsortiumDevice struct {
	ID        string `toml:"id"`
	Type      string `toml:"type"` // weighbridge, bay_scale, camera, door_seal
	Warehouse string `toml:"warehouse"`
	Bay       string `toml:"bay"`
	PublicKey string `toml:"public_key"`
	// CalibratedUntil is the calibration certificate's expiry, a date
	// (2027-06-30, end of that day UTC) or an RFC 3339 time.
	CalibratedUntil string `toml:"calibrated_until"`
}

// ConsortiumMember is one member's node and what it serves.
type ConsortiumMember struct {
	Name string `toml:"name"`
	// Observer: a full node that does not validate.
	Observer bool `toml:"observer"`
	// Host is the IP its node, API and NATS listen on; empty: loopback
	// (every member's host, or none, is given).
	Host         string        `toml:"host"`
	Participants []string      `toml:"participants"`
	Supervise    []Supervision `toml:"supervise"`
}

// LoadConsortium reads a consortium file; an unknown key is an error.
func LoadConsortium(path string) (*Consortium, error) {
	var c Consortium
	if err := readTOML(path, &c); err != nil {
		return nil, err
	}
	if _, err := c.Genesis(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// Genesis is the chain's first state as the file describes it, checked
// as the chain checks it (ledger.InitState), and refused when it holds a
// key derived from the demo world's public seed or names a participant
// twice among the members.
func (c *Consortium) Genesis() (*ledger.Genesis, error) {
	if c.ChainID == "" {
		return nil, fmt.Errorf("chain_id is required")
	}
	g := &ledger.Genesis{Admins: c.Admins, Threshold: c.Threshold}
	for i, p := range c.Participants {
		roles, ok := receipt.ParseRoles(strings.Join(p.Roles, ","))
		if !ok || roles == 0 {
			return nil, fmt.Errorf("participants[%d] (%s): roles %q: want some of admin, operator, collateral_manager, trader, bank, regulator, oracle", i, p.ID, p.Roles)
		}
		var pk receipt.PubKey
		if err := pk.UnmarshalText([]byte(p.PublicKey)); err != nil {
			return nil, fmt.Errorf("participants[%d] (%s): public_key: %v (the hex `ewr keys new` prints)", i, p.ID, err)
		}
		g.Participants = append(g.Participants, receipt.Participant{ID: p.ID, Name: p.Name, Roles: roles, PubKey: pk})
	}
	for _, w := range c.Warehouses {
		g.Warehouses = append(g.Warehouses, warehouse.Warehouse{ID: w.ID, Name: w.Name, Location: w.Location, Operator: w.Operator,
			CollateralManager: w.CollateralManager, Supervisors: w.Supervisors})
	}
	for _, b := range c.Bays {
		g.Bays = append(g.Bays, warehouse.Bay{Warehouse: b.Warehouse, ID: b.ID, TareKg: b.TareKg})
	}
	for i, d := range c.Devices {
		t, ok := deviceTypeNamed(d.Type)
		if !ok {
			return nil, fmt.Errorf("devices[%d] (%s): type %q: want weighbridge, bay_scale, camera or door_seal", i, d.ID, d.Type)
		}
		var pk receipt.PubKey
		if err := pk.UnmarshalText([]byte(d.PublicKey)); err != nil {
			return nil, fmt.Errorf("devices[%d] (%s): public_key: %v", i, d.ID, err)
		}
		until, err := parseUntil(d.CalibratedUntil)
		if err != nil {
			return nil, fmt.Errorf("devices[%d] (%s): calibrated_until: %v", i, d.ID, err)
		}
		g.Devices = append(g.Devices, warehouse.Device{ID: d.ID, Type: t, PubKey: pk, Warehouse: d.Warehouse, Bay: d.Bay, CalibratedUntil: until})
	}
	if err := ledger.InitState(ledger.NewMemStore(), g); err != nil {
		return nil, err
	}
	if ids := g.DerivedKeys(ledger.DemoSeed); len(ids) > 0 {
		return nil, fmt.Errorf("the keys of %s derive from the demo world's public seed: anyone can sign as them; make each with `ewr keys new`",
			strings.Join(ids, ", "))
	}
	if err := c.checkMembers(g); err != nil {
		return nil, err
	}
	return g, nil
}

// checkMembers checks the members: unique names, at least one validator,
// every participant served by one member at most, supervision only of
// known warehouses by a signer the member serves, hosts all or none.
func (c *Consortium) checkMembers(g *ledger.Genesis) error {
	if len(c.Members) == 0 {
		return fmt.Errorf("no [[members]]: name each member's node and the participants it serves")
	}
	known := map[string]bool{}
	for _, p := range g.Participants {
		known[p.ID] = true
	}
	whs := map[string]bool{}
	for _, w := range g.Warehouses {
		whs[w.ID] = true
	}
	names, servedBy := map[string]bool{}, map[string]string{}
	validators, hosts := 0, 0
	for i, m := range c.Members {
		if !receipt.ValidID(m.Name) || names[m.Name] {
			return fmt.Errorf("members[%d]: name %q invalid or repeated", i, m.Name)
		}
		names[m.Name] = true
		if !m.Observer {
			validators++
		}
		if m.Host != "" {
			hosts++
		}
		for _, p := range m.Participants {
			if !known[p] {
				return fmt.Errorf("members[%d] (%s): participant %q is not in [[participants]]", i, m.Name, p)
			}
			if other, ok := servedBy[p]; ok {
				return fmt.Errorf("members[%d] (%s): participant %q is served by %s too; its key lives on one member's host", i, m.Name, p, other)
			}
			servedBy[p] = m.Name
		}
		for _, sv := range m.Supervise {
			if !whs[sv.Warehouse] {
				return fmt.Errorf("members[%d] (%s): supervises unknown warehouse %q", i, m.Name, sv.Warehouse)
			}
			if servedBy[sv.Signer] != m.Name {
				return fmt.Errorf("members[%d] (%s): the signer %q of %s's supervision must be one of its participants", i, m.Name, sv.Signer, sv.Warehouse)
			}
		}
	}
	if validators == 0 {
		return fmt.Errorf("no member validates (every one is an observer)")
	}
	if hosts != 0 && hosts != len(c.Members) {
		return fmt.Errorf("give every member's host or none (%d of %d have one)", hosts, len(c.Members))
	}
	return nil
}

// Ordered is the members with the validators first, as the homes are
// written (node0.. are the validators, then the observers).
func (c *Consortium) Ordered() (validators, observers []ConsortiumMember) {
	for _, m := range c.Members {
		if m.Observer {
			observers = append(observers, m)
		} else {
			validators = append(validators, m)
		}
	}
	return validators, observers
}

// readTOML decodes the TOML file at path into v; a key v has no field
// for is an error, named with where it is.
func readTOML(path string, v any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := toml.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return tomlError(path, err)
	}
	return nil
}

// tomlError names the keys a strict decode did not know, and where.
func tomlError(path string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var keys []string
		for _, e := range strict.Errors {
			keys = append(keys, strings.Join(e.Key(), "."))
		}
		return fmt.Errorf("%s: unknown keys %s", path, strings.Join(keys, ", "))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		return fmt.Errorf("%s:%d:%d: %v", path, row, col, err)
	}
	return fmt.Errorf("%s: %w", path, err)
}

func deviceTypeNamed(s string) (warehouse.DeviceType, bool) {
	for _, t := range []warehouse.DeviceType{warehouse.Weighbridge, warehouse.BayScale, warehouse.Camera, warehouse.DoorSeal} {
		if t.String() == s {
			return t, true
		}
	}
	return 0, false
}

func parseUntil(s string) (int64, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.Add(24*time.Hour - time.Second).Unix(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, fmt.Errorf("%q: want a date (2027-06-30) or an RFC 3339 time", s)
	}
	return t.Unix(), nil
}
