package warehouse

import (
	"github.com/ewrchain/ewr/receipt"
)

// Errors of the warehouse package (codes 200–299).
var (
	ErrWarehouseNotFound   = receipt.NewError(200, "warehouse_not_found", receipt.KindNotFound, "warehouse: not found")
	ErrWarehouseExists     = receipt.NewError(201, "warehouse_exists", receipt.KindConflict, "warehouse: id already used")
	ErrNotOperator         = receipt.NewError(202, "not_operator", receipt.KindForbidden, "warehouse: signer is not the warehouse's operator")
	ErrBayNotFound         = receipt.NewError(203, "bay_not_found", receipt.KindNotFound, "warehouse: bay not found")
	ErrBayExists           = receipt.NewError(204, "bay_exists", receipt.KindConflict, "warehouse: bay already exists")
	ErrBayLocked           = receipt.NewError(205, "bay_locked", receipt.KindConflict, "warehouse: bay holds another locked lot")
	ErrDeviceNotFound      = receipt.NewError(206, "device_not_found", receipt.KindNotFound, "device: not registered")
	ErrDeviceExists        = receipt.NewError(207, "device_exists", receipt.KindConflict, "device: id already used")
	ErrDeviceSuspended     = receipt.NewError(208, "device_suspended", receipt.KindRule, "device: suspended")
	ErrDeviceUncalibrated  = receipt.NewError(209, "device_uncalibrated", receipt.KindRule, "device: calibration expired")
	ErrDeviceNotHere       = receipt.NewError(210, "device_not_bound", receipt.KindRule, "device: not bound to this warehouse or bay")
	ErrDeviceType          = receipt.NewError(211, "device_type", receipt.KindRule, "device: wrong type for this reading")
	ErrTicketSignature     = receipt.NewError(212, "ticket_signature", receipt.KindRule, "weigh ticket: bad device signature")
	ErrTicketUsed          = receipt.NewError(213, "ticket_used", receipt.KindConflict, "weigh ticket: already used")
	ErrTicketInvalid       = receipt.NewError(214, "ticket_invalid", receipt.KindInvalid, "weigh ticket: inconsistent")
	ErrTicketDirection     = receipt.NewError(215, "ticket_direction", receipt.KindRule, "weigh ticket: wrong direction")
	ErrTicketReleaseOrder  = receipt.NewError(216, "ticket_release_order", receipt.KindRule, "weigh ticket: does not reference this release order")
	ErrLotNotFound         = receipt.NewError(217, "lot_not_found", receipt.KindNotFound, "lot: not found")
	ErrLotExists           = receipt.NewError(218, "lot_exists", receipt.KindConflict, "lot: id already used")
	ErrLotNotLocked        = receipt.NewError(219, "lot_not_locked", receipt.KindConflict, "lot: not locked")
	ErrLotUnhealthy        = receipt.NewError(220, "lot_unhealthy", receipt.KindRule, "lot: supervision not healthy")
	ErrOverIssue           = receipt.NewError(221, "over_issue", receipt.KindRule, "lot: receipts would exceed the locked quantity")
	ErrReleaseOrderUnknown = receipt.NewError(222, "release_order_not_found", receipt.KindNotFound, "release order: not found")
	ErrReleaseOrderClosed  = receipt.NewError(223, "release_order_closed", receipt.KindConflict, "release order: not open")
	ErrOutOfTolerance      = receipt.NewError(224, "delivery_out_of_tolerance", receipt.KindRule, "delivery: weighed quantity outside tolerance of the order")
	// ErrLockShortfall is no longer returned: a delivery within its
	// tolerance lowers the lock at most to the receipts that stay (the
	// code stays reserved).
	ErrLockShortfall      = receipt.NewError(225, "lock_shortfall", receipt.KindRule, "delivery: lot would hold less than its live receipts")
	ErrDeliveryQuantity   = receipt.NewError(226, "delivery_quantity", receipt.KindRule, "delivery: quantity exceeds the receipt's")
	ErrNotCollateralMgr   = receipt.NewError(227, "not_collateral_manager", receipt.KindForbidden, "warehouse: collateral manager must sign")
	ErrWarehouseSuspended = receipt.NewError(228, "warehouse_suspended", receipt.KindRule, "warehouse: not in good standing")
	ErrLotTooManyReceipts = receipt.NewError(229, "lot_too_many_receipts", receipt.KindRule, "lot: too many live receipts")
	ErrBadUnit            = receipt.NewError(230, "bad_unit", receipt.KindInvalid, "warehouse: unit must be kg or g")
	ErrCommodityMismatch  = receipt.NewError(231, "commodity_mismatch", receipt.KindRule, "receipt: commodity or grade differs from the lot's")
	ErrLockHistoryFull    = receipt.NewError(232, "lock_history_full", receipt.KindRule, "lot: too many lock movements inside the evidence window")
	ErrBayNotEmpty        = receipt.NewError(233, "bay_not_empty", receipt.KindConflict, "warehouse: bay holds a locked lot")
	ErrSupervisorInvalid  = receipt.NewError(234, "supervisor_invalid", receipt.KindRule, "warehouse: supervisor must be an active participant with a supervision role")
)

// Status is whether a warehouse or device is in good standing.
type Status uint8

// Statuses.
const (
	Active Status = iota + 1
	Suspended
)

func (s Status) String() string {
	switch s {
	case Active:
		return "ACTIVE"
	case Suspended:
		return "SUSPENDED"
	}
	return "UNKNOWN"
}

// Warehouse is a licensed store with its operator (who issues receipts)
// and its collateral manager (who attests stock and re-counts).
type Warehouse struct {
	ID                string
	Name              string
	Location          string
	Operator          string
	CollateralManager string
	Status            Status
	// Supervisors are the participants the consortium registered to run
	// this warehouse's IoT supervision beside its collateral manager: they
	// alone (with the collateral manager) may assert a monitoring gap or a
	// return to health, which signed readings cannot prove. Sorted.
	Supervisors []string
	Version     uint64
}

// MaySupervise reports whether id may assert what readings cannot prove
// about this warehouse's lots: its collateral manager or a registered
// supervisor.
func (w *Warehouse) MaySupervise(id string) bool {
	if id == w.CollateralManager {
		return true
	}
	for _, s := range w.Supervisors {
		if s == id {
			return true
		}
	}
	return false
}

// Bay is a place of storage inside a warehouse. A bay holds at most one
// locked lot.
type Bay struct {
	Warehouse string
	ID        string
	LockedBy  string // the lot locked in it, if any
	// TareKg is what the bay's scale reads with the bay empty (pallets,
	// dunnage, the platform itself): the lock expects the goods on top.
	TareKg uint64
	// Devices are the devices bound to the bay, sorted.
	Devices []string
	Version uint64
}

// DeviceType is what a device measures.
type DeviceType uint8

// Device types.
const (
	Weighbridge DeviceType = iota + 1 // truck scale: signed weigh tickets set quantities
	BayScale                          // bay load cells: keep the lock by weight
	Camera                            // motion and intrusion in a bay
	DoorSeal                          // door and seal state
)

func (t DeviceType) String() string {
	switch t {
	case Weighbridge:
		return "weighbridge"
	case BayScale:
		return "bay_scale"
	case Camera:
		return "camera"
	case DoorSeal:
		return "door_seal"
	}
	return "unknown"
}

// Device is a sensor with its own signing key, bound to a warehouse (and
// for bay devices, a bay), trusted only while calibrated.
type Device struct {
	ID              string
	Type            DeviceType
	PubKey          receipt.PubKey
	Warehouse       string
	Bay             string // empty for a weighbridge
	CalibratedUntil int64
	Status          Status
	Version         uint64
}

// Health is the state of a lot's supervision.
type Health uint8

// Lot health.
const (
	HealthOK         Health = iota + 1 // sensors reporting, no open alarm
	HealthUnverified                   // a monitoring gap: new pledges and transfers wait
	HealthAlarm                        // a breach proven by signed evidence: receipts frozen
)

func (h Health) String() string {
	switch h {
	case HealthOK:
		return "OK"
	case HealthUnverified:
		return "UNVERIFIED"
	case HealthAlarm:
		return "ALARM"
	}
	return "UNKNOWN"
}

// LotStatus is whether a lot is under lock.
type LotStatus uint8

// Lot statuses.
const (
	LotLocked   LotStatus = iota + 1
	LotReleased           // all goods delivered out; the bay is free
)

func (s LotStatus) String() string {
	switch s {
	case LotLocked:
		return "LOCKED"
	case LotReleased:
		return "RELEASED"
	}
	return "UNKNOWN"
}

// Lot is stock weighed in and locked in a bay. LockedQty is what the
// weighbridge says is there; IssuedQty is the sum of its live receipts,
// which may never exceed it.
type Lot struct {
	ID            string
	Warehouse     string
	Bay           string
	Commodity     string
	Grade         string
	Unit          string
	Status        LotStatus
	RegisteredQty uint64   // Σ net of the in-tickets
	LockedQty     uint64   // registered minus weighed out
	IssuedQty     uint64   // Σ quantity of live receipts
	Live          []string // live receipts, sorted
	// Expected is what the bay scale should read now, in Unit: the bay's
	// tare plus the goods, re-centred on the adopted baseline reading and
	// moved by every authorized movement since (see lock.go).
	Expected     uint64
	Baseline     uint64 // the bay-scale reading adopted as the lock's baseline (0 until adopted)
	Tolerance    uint64 // allowed deviation of the bay's weight from Expected, in Unit
	Health       Health
	Alert        string // the open alert, if Health is ALARM or UNVERIFIED
	InTickets    []string
	RegisteredAt int64
	Version      uint64
}

// ROStatus is where a release order is.
type ROStatus uint8

// Release order statuses.
const (
	ROOpen ROStatus = iota + 1
	RODone
	ROCancelled
)

func (s ROStatus) String() string {
	switch s {
	case ROOpen:
		return "OPEN"
	case RODone:
		return "DONE"
	case ROCancelled:
		return "CANCELLED"
	}
	return "UNKNOWN"
}

// ReleaseOrder authorises the warehouse to load out goods against a
// receipt. The chain creates it when the holder requests delivery; the
// out-tickets that confirm the delivery must reference it.
type ReleaseOrder struct {
	ID        string
	Receipt   string
	Lot       string
	Warehouse string
	Holder    string
	Quantity  uint64
	// MayRemove is what the load-out may take off the bay while the order
	// is open: the quantity plus the delivery allowance.
	MayRemove uint64
	Status    ROStatus
	Weighed   uint64
	Tickets   []string
	// LoadedOutAt is when the last out-ticket was weighed (device time,
	// unix seconds): the closing reading must be taken after it.
	LoadedOutAt int64
	CreatedAt   int64
	ClosedAt    int64
	Version     uint64
}

// UsedTicket marks a weigh ticket number as consumed, forever.
type UsedTicket struct {
	Number    string
	Direction Direction
	Net       uint64
	UsedBy    string // lot or release order
	Height    int64
}

// Key prefixes of the warehouse's records (see receipt.PrefixReceipt).
const (
	PrefixWarehouse    = "w/"
	PrefixBay          = "b/" // b/<warehouse>/<bay>
	PrefixDevice       = "d/"
	PrefixLot          = "l/"
	PrefixReleaseOrder = "ro/"
	PrefixTicket       = "t/" // t/<warehouse>/<number>
	PrefixLockHistory  = "lh/"
)

// Record keys.
func WarehouseKey(id string) string        { return PrefixWarehouse + id }
func BayKey(warehouse, bay string) string  { return PrefixBay + warehouse + "/" + bay }
func BaysOf(warehouse string) string       { return PrefixBay + warehouse + "/" }
func DeviceKey(id string) string           { return PrefixDevice + id }
func LotKey(id string) string              { return PrefixLot + id }
func ReleaseOrderKey(id string) string     { return PrefixReleaseOrder + id }
func TicketKey(warehouse, n string) string { return PrefixTicket + warehouse + "/" + n }

// LoadWarehouse loads a warehouse.
func LoadWarehouse(x *receipt.Exec, id string) (*Warehouse, error) {
	w, ok := receipt.Load[Warehouse](x, WarehouseKey(id))
	if !ok {
		return nil, receipt.Errorf(ErrWarehouseNotFound, "%q", id)
	}
	return w, nil
}

// LoadLot loads a lot.
func LoadLot(x *receipt.Exec, id string) (*Lot, error) {
	l, ok := receipt.Load[Lot](x, LotKey(id))
	if !ok {
		return nil, receipt.Errorf(ErrLotNotFound, "%q", id)
	}
	return l, nil
}

// LoadDevice loads a device.
func LoadDevice(x *receipt.Exec, id string) (*Device, error) {
	d, ok := receipt.Load[Device](x, DeviceKey(id))
	if !ok {
		return nil, receipt.Errorf(ErrDeviceNotFound, "%q", id)
	}
	return d, nil
}

// SaveLot bumps and writes a lot.
func SaveLot(x *receipt.Exec, l *Lot) {
	x.BumpOnce(LotKey(l.ID), &l.Version)
	receipt.Save(x, LotKey(l.ID), l)
}

// requireOperator checks the actor operates warehouse w.
func requireOperator(x *receipt.Exec, w *Warehouse) error {
	if err := x.RequireActor(w.Operator, receipt.RoleOperator, ErrNotOperator); err != nil {
		return err
	}
	if w.Status != Active {
		return receipt.Errorf(ErrWarehouseSuspended, "%q", w.ID)
	}
	return nil
}

// unitScale is how many of unit make a kilogram.
func unitScale(unit string) (uint64, bool) {
	switch unit {
	case "kg":
		return 1, true
	case "g":
		return 1000, true
	}
	return 0, false
}
