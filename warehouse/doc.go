// Package warehouse owns the physical side of receipts: warehouses and
// their bays, devices and their keys, weigh tickets, stock lots and their
// locks, release orders and deliveries. Like package receipt it is a pure
// state machine.
//
// Quantities are set only by weigh tickets signed by a registered,
// calibrated weighbridge: a lot's quantity is Σ(gross − tare) of its
// in-tickets, and a ticket number is used once, ever. A bay holds at most
// one locked lot. Receipts are issued against a locked, healthy lot, and the
// live receipts on a lot never exceed what it holds: issuing past it is
// refused, and so is a delivery whose weighed-out quantity would leave the
// lot short of its remaining receipts (the warehouse must load out within
// tolerance, not beyond what the other holders are owed).
//
// Delivery: the holder requests (the chain opens a release order), the
// operator confirms with out-tickets that reference it; the receipt is
// reduced by the ordered quantity and cancelled when nothing is left
// (Model Law Arts. 26–27); the lock is reduced by the weighed quantity.
package warehouse
