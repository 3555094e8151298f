package warehouse

import (
	"sort"

	"github.com/ewrchain/ewr/receipt"
)

// BindDevice lists a device on its bay's record (RegisterDevice, genesis).
func BindDevice(x *receipt.Exec, wh, bay, device string) {
	b, ok := receipt.Load[Bay](x, BayKey(wh, bay))
	if !ok {
		panic("warehouse: binding a device to a bay that does not exist")
	}
	b.Devices = insertSorted(b.Devices, device)
	b.Version++
	receipt.Save(x, BayKey(wh, bay), b)
}

// Event types of the warehouse package.
const (
	EvWarehouseRegistered = "warehouse.registered"
	EvBayAdded            = "warehouse.bay_added"
	EvDeviceRegistered    = "device.registered"
	EvDeviceSuspended     = "device.suspended"
	EvDeviceCalibrated    = "device.calibrated"
	EvStockRegistered     = "lot.registered"
	EvLotReleased         = "lot.released"
	EvBayTareSet          = "warehouse.bay_tare_set"
	EvSupervisorsSet      = "warehouse.supervisors_set"
)

// RegisterWarehouse admits a warehouse with its operator and collateral
// manager. Needs the consortium admins' quorum.
type RegisterWarehouse struct {
	ID                string
	Name              string
	Location          string
	Operator          string
	CollateralManager string
}

func (*RegisterWarehouse) Type() string { return "warehouse.register" }

func (op *RegisterWarehouse) Check() error {
	for _, f := range [][2]string{{"warehouse", op.ID}, {"operator", op.Operator}, {"collateral manager", op.CollateralManager}} {
		if err := receipt.CheckID(f[0], f[1]); err != nil {
			return err
		}
	}
	if err := receipt.CheckText("name", op.Name, true); err != nil {
		return err
	}
	return receipt.CheckText("location", op.Location, true)
}

func (op *RegisterWarehouse) Apply(x *receipt.Exec) error {
	if err := x.RequireAdmins(); err != nil {
		return err
	}
	if receipt.Has(x, WarehouseKey(op.ID)) {
		return receipt.Errorf(ErrWarehouseExists, "%q", op.ID)
	}
	if err := requireRole(x, op.Operator, receipt.RoleOperator); err != nil {
		return err
	}
	if err := requireRole(x, op.CollateralManager, receipt.RoleCollateralManager); err != nil {
		return err
	}
	w := Warehouse{ID: op.ID, Name: op.Name, Location: op.Location, Operator: op.Operator,
		CollateralManager: op.CollateralManager, Status: Active, Version: 1}
	receipt.Save(x, WarehouseKey(w.ID), &w)
	x.Emit(EvWarehouseRegistered, receipt.Refs(receipt.RefWarehouse, w.ID, receipt.RefParticipant, w.Operator, receipt.RefParticipant, w.CollateralManager))
	return nil
}

func requireRole(x *receipt.Exec, id string, role receipt.Role) error {
	p, err := x.Participant(id)
	if err != nil {
		return err
	}
	if !p.Roles.Has(role) {
		return receipt.Errorf(receipt.ErrMissingRole, "%s needs %s", id, role)
	}
	return nil
}

// AddBay adds a place of storage with what its scale reads empty. Signed
// by the warehouse's operator.
type AddBay struct {
	Warehouse string
	Bay       string
	TareKg    uint64
}

func (*AddBay) Type() string { return "warehouse.bay.add" }

func (op *AddBay) Check() error {
	if err := receipt.CheckID("warehouse", op.Warehouse); err != nil {
		return err
	}
	if err := receipt.CheckID("bay", op.Bay); err != nil {
		return err
	}
	return checkTare(op.TareKg)
}

// MaxTareKg bounds a bay's tare (a bay scale's platform and dunnage).
const MaxTareKg = 1_000_000

func checkTare(kg uint64) error {
	if kg > MaxTareKg {
		return receipt.Errorf(receipt.ErrInvalidQuantity, "tare %d kg, at most %d", kg, MaxTareKg)
	}
	return nil
}

func (op *AddBay) Apply(x *receipt.Exec) error {
	w, err := LoadWarehouse(x, op.Warehouse)
	if err != nil {
		return err
	}
	if err := requireOperator(x, w); err != nil {
		return err
	}
	if receipt.Has(x, BayKey(w.ID, op.Bay)) {
		return receipt.Errorf(ErrBayExists, "%s/%s", w.ID, op.Bay)
	}
	receipt.Save(x, BayKey(w.ID, op.Bay), &Bay{Warehouse: w.ID, ID: op.Bay, TareKg: op.TareKg, Version: 1})
	x.Emit(EvBayAdded, receipt.Refs(receipt.RefWarehouse, w.ID), receipt.Attr{Key: "bay", Value: op.Bay},
		receipt.Attr{Key: "tare_kg", Value: receipt.U64(op.TareKg)})
	return nil
}

// SetBayTare records what an empty bay's scale reads (new dunnage, a
// re-levelled platform). Signed by the warehouse's operator and co-signed
// by its collateral manager, who witnessed the empty bay. A bay holding a
// locked lot keeps its tare: the lock's expected weight was built on it.
type SetBayTare struct {
	Warehouse string
	Bay       string
	TareKg    uint64
}

func (*SetBayTare) Type() string { return "warehouse.bay.tare" }

func (op *SetBayTare) Check() error {
	if err := receipt.CheckID("warehouse", op.Warehouse); err != nil {
		return err
	}
	if err := receipt.CheckID("bay", op.Bay); err != nil {
		return err
	}
	return checkTare(op.TareKg)
}

func (op *SetBayTare) Apply(x *receipt.Exec) error {
	w, err := LoadWarehouse(x, op.Warehouse)
	if err != nil {
		return err
	}
	if err := requireOperator(x, w); err != nil {
		return err
	}
	if !x.SignedBy(w.CollateralManager) {
		return receipt.Errorf(ErrNotCollateralMgr, "%s must co-sign the tare of %s/%s", w.CollateralManager, w.ID, op.Bay)
	}
	b, ok := receipt.Load[Bay](x, BayKey(w.ID, op.Bay))
	if !ok {
		return receipt.Errorf(ErrBayNotFound, "%s/%s", w.ID, op.Bay)
	}
	if b.LockedBy != "" {
		return receipt.Errorf(ErrBayNotEmpty, "%s/%s holds %s", w.ID, b.ID, b.LockedBy)
	}
	b.TareKg = op.TareKg
	b.Version++
	receipt.Save(x, BayKey(w.ID, b.ID), b)
	x.Emit(EvBayTareSet, receipt.Refs(receipt.RefWarehouse, w.ID), receipt.Attr{Key: "bay", Value: b.ID},
		receipt.Attr{Key: "tare_kg", Value: receipt.U64(op.TareKg)})
	return nil
}

// SetSupervisors registers who runs a warehouse's IoT supervision beside
// its collateral manager (Warehouse.Supervisors). Needs the consortium
// admins' quorum. Each must be an active participant with a supervision
// role (collateral manager, operator, bank, regulator or admin).
type SetSupervisors struct {
	Warehouse   string
	Supervisors []string
}

func (*SetSupervisors) Type() string { return "warehouse.supervisors.set" }

// MaxSupervisors bounds a warehouse's registered supervisors.
const MaxSupervisors = 16

func (op *SetSupervisors) Check() error {
	if err := receipt.CheckID("warehouse", op.Warehouse); err != nil {
		return err
	}
	if len(op.Supervisors) > MaxSupervisors {
		return receipt.Errorf(receipt.ErrLimit, "%d supervisors, at most %d", len(op.Supervisors), MaxSupervisors)
	}
	seen := make(map[string]bool, len(op.Supervisors))
	for _, id := range op.Supervisors {
		if err := receipt.CheckID("supervisor", id); err != nil {
			return err
		}
		if seen[id] {
			return receipt.Errorf(receipt.ErrInvalidOp, "supervisor %q twice", id)
		}
		seen[id] = true
	}
	return nil
}

// SupervisionRoles are the roles a registered supervisor may hold: every
// consortium role but trader and oracle.
const SupervisionRoles = receipt.RoleCollateralManager | receipt.RoleOperator | receipt.RoleBank |
	receipt.RoleRegulator | receipt.RoleAdmin

func (op *SetSupervisors) Apply(x *receipt.Exec) error {
	if err := x.RequireAdmins(); err != nil {
		return err
	}
	w, err := LoadWarehouse(x, op.Warehouse)
	if err != nil {
		return err
	}
	sups := append([]string(nil), op.Supervisors...)
	sort.Strings(sups)
	for _, id := range sups {
		p, err := x.Participant(id)
		if err != nil {
			return err
		}
		if p.Status != receipt.ParticipantActive || !p.Roles.Any(SupervisionRoles) {
			return receipt.Errorf(ErrSupervisorInvalid, "%s is %s with roles %s", id, p.Status, p.Roles)
		}
	}
	w.Supervisors = sups
	w.Version++
	receipt.Save(x, WarehouseKey(w.ID), w)
	refs := receipt.Refs(receipt.RefWarehouse, w.ID)
	for _, id := range sups {
		refs = append(refs, receipt.Ref{Kind: receipt.RefParticipant, ID: id})
	}
	x.Emit(EvSupervisorsSet, refs, receipt.Attr{Key: "supervisors", Value: receipt.U64(uint64(len(sups)))})
	return nil
}

// RegisterDevice registers a sensor's key and binds it to a warehouse (and
// a bay, for bay devices). Needs the consortium admins' quorum.
type RegisterDevice struct {
	ID              string
	Kind            DeviceType
	PubKey          receipt.PubKey
	Warehouse       string
	Bay             string
	CalibratedUntil int64
}

func (*RegisterDevice) Type() string { return "device.register" }

func (op *RegisterDevice) Check() error {
	if err := receipt.CheckID("device", op.ID); err != nil {
		return err
	}
	if err := receipt.CheckID("warehouse", op.Warehouse); err != nil {
		return err
	}
	if op.Kind < Weighbridge || op.Kind > DoorSeal {
		return receipt.Errorf(receipt.ErrInvalidOp, "device type %d", op.Kind)
	}
	if op.Kind == Weighbridge && op.Bay != "" {
		return receipt.Errorf(receipt.ErrInvalidOp, "a weighbridge is not bound to a bay")
	}
	if op.Kind != Weighbridge {
		if err := receipt.CheckID("bay", op.Bay); err != nil {
			return err
		}
	}
	if op.PubKey == (receipt.PubKey{}) {
		return receipt.Errorf(receipt.ErrMissingField, "public key")
	}
	return nil
}

func (op *RegisterDevice) Apply(x *receipt.Exec) error {
	if err := x.RequireAdmins(); err != nil {
		return err
	}
	if receipt.Has(x, DeviceKey(op.ID)) {
		return receipt.Errorf(ErrDeviceExists, "%q", op.ID)
	}
	if _, err := LoadWarehouse(x, op.Warehouse); err != nil {
		return err
	}
	if op.Bay != "" && !receipt.Has(x, BayKey(op.Warehouse, op.Bay)) {
		return receipt.Errorf(ErrBayNotFound, "%s/%s", op.Warehouse, op.Bay)
	}
	if op.CalibratedUntil <= x.Block.Time {
		return receipt.Errorf(ErrDeviceUncalibrated, "calibrated until %d, now %d", op.CalibratedUntil, x.Block.Time)
	}
	d := Device{ID: op.ID, Type: op.Kind, PubKey: op.PubKey, Warehouse: op.Warehouse, Bay: op.Bay,
		CalibratedUntil: op.CalibratedUntil, Status: Active, Version: 1}
	receipt.Save(x, DeviceKey(d.ID), &d)
	if d.Bay != "" {
		BindDevice(x, d.Warehouse, d.Bay, d.ID)
	}
	x.Emit(EvDeviceRegistered, receipt.Refs(receipt.RefDevice, d.ID, receipt.RefWarehouse, d.Warehouse),
		receipt.Attr{Key: "type", Value: d.Type.String()}, receipt.Attr{Key: "bay", Value: d.Bay})
	return nil
}

// SuspendDevice revokes a device: nothing it signs counts from now on.
// Needs the consortium admins' quorum.
type SuspendDevice struct {
	ID     string
	Reason string
}

func (*SuspendDevice) Type() string { return "device.suspend" }

func (op *SuspendDevice) Check() error {
	if err := receipt.CheckID("device", op.ID); err != nil {
		return err
	}
	return receipt.CheckText("reason", op.Reason, true)
}

func (op *SuspendDevice) Apply(x *receipt.Exec) error {
	if err := x.RequireAdmins(); err != nil {
		return err
	}
	d, err := LoadDevice(x, op.ID)
	if err != nil {
		return err
	}
	if d.Status == Suspended {
		return receipt.Errorf(ErrDeviceSuspended, "%q already suspended", d.ID)
	}
	d.Status = Suspended
	d.Version++
	receipt.Save(x, DeviceKey(d.ID), d)
	x.Emit(EvDeviceSuspended, receipt.Refs(receipt.RefDevice, d.ID, receipt.RefWarehouse, d.Warehouse), receipt.Attr{Key: "reason", Value: op.Reason})
	return nil
}

// CalibrateDevice records a new calibration certificate for a device.
// Signed by the warehouse's collateral manager, who attests the scale.
type CalibrateDevice struct {
	ID              string
	CalibratedUntil int64
	Certificate     string
}

func (*CalibrateDevice) Type() string { return "device.calibrate" }

func (op *CalibrateDevice) Check() error {
	if err := receipt.CheckID("device", op.ID); err != nil {
		return err
	}
	return receipt.CheckText("certificate", op.Certificate, true)
}

func (op *CalibrateDevice) Apply(x *receipt.Exec) error {
	d, err := LoadDevice(x, op.ID)
	if err != nil {
		return err
	}
	w, err := LoadWarehouse(x, d.Warehouse)
	if err != nil {
		return err
	}
	if err := x.RequireActor(w.CollateralManager, receipt.RoleCollateralManager, ErrNotCollateralMgr); err != nil {
		return err
	}
	if d.Status != Active {
		return receipt.Errorf(ErrDeviceSuspended, "%q", d.ID)
	}
	if op.CalibratedUntil <= x.Block.Time {
		return receipt.Errorf(ErrDeviceUncalibrated, "calibrated until %d, now %d", op.CalibratedUntil, x.Block.Time)
	}
	d.CalibratedUntil = op.CalibratedUntil
	d.Version++
	receipt.Save(x, DeviceKey(d.ID), d)
	x.Emit(EvDeviceCalibrated, receipt.Refs(receipt.RefDevice, d.ID, receipt.RefWarehouse, d.Warehouse),
		receipt.Attr{Key: "until", Value: receipt.I64(op.CalibratedUntil)}, receipt.Attr{Key: "certificate", Value: op.Certificate})
	return nil
}

// TrustedDevice loads a device and checks it may sign now: registered,
// active, calibrated, of the wanted type, bound to the warehouse.
func TrustedDevice(x *receipt.Exec, id string, typ DeviceType, warehouse string) (*Device, error) {
	d, err := LoadDevice(x, id)
	if err != nil {
		return nil, err
	}
	if d.Status != Active {
		return nil, receipt.Errorf(ErrDeviceSuspended, "%q", id)
	}
	if d.Type != typ {
		return nil, receipt.Errorf(ErrDeviceType, "%q is a %s, need a %s", id, d.Type, typ)
	}
	if d.Warehouse != warehouse {
		return nil, receipt.Errorf(ErrDeviceNotHere, "%q is bound to %s", id, d.Warehouse)
	}
	if x.Block.Time > d.CalibratedUntil {
		return nil, receipt.Errorf(ErrDeviceUncalibrated, "%q calibrated until %d", id, d.CalibratedUntil)
	}
	return d, nil
}

// Co-signers (receipt.Cosigner): who signs beside the actor.

func (*RegisterWarehouse) Cosigners(x *receipt.Exec, actor string) []string {
	return receipt.AdminCosigners(x, actor)
}
func (*SetSupervisors) Cosigners(x *receipt.Exec, actor string) []string {
	return receipt.AdminCosigners(x, actor)
}
func (*RegisterDevice) Cosigners(x *receipt.Exec, actor string) []string {
	return receipt.AdminCosigners(x, actor)
}
func (*SuspendDevice) Cosigners(x *receipt.Exec, actor string) []string {
	return receipt.AdminCosigners(x, actor)
}

// The bay's tare moves what the lock expects: the collateral manager
// vouches for it with the operator.
func (op *SetBayTare) Cosigners(x *receipt.Exec, _ string) []string {
	return collateralManagerOf(x, op.Warehouse)
}

func (op *RegisterStock) Cosigners(x *receipt.Exec, _ string) []string {
	return collateralManagerOf(x, op.Warehouse)
}

func (op *RequestDelivery) Cosigners(x *receipt.Exec, _ string) []string {
	return receipt.PledgeeOf(x, op.Receipt)
}

func collateralManagerOf(x *receipt.Exec, wh string) []string {
	if w, ok := receipt.Load[Warehouse](x, WarehouseKey(wh)); ok {
		return []string{w.CollateralManager}
	}
	return nil
}
