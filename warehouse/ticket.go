package warehouse

import (
	"crypto/ed25519"
	"sort"

	"github.com/ewrchain/ewr/internal/canon"
	"github.com/ewrchain/ewr/receipt"
)

// Direction is whether a truck brought goods in or took them out.
type Direction uint8

// Directions.
const (
	In Direction = iota + 1
	Out
)

func (d Direction) String() string {
	switch d {
	case In:
		return "in"
	case Out:
		return "out"
	}
	return "unknown"
}

// WeighTicket is what a weighbridge prints and signs for one truck. Only
// tickets set quantities: a warehouse cannot type a quantity in.
type WeighTicket struct {
	Number       string // unique per warehouse, ever
	Warehouse    string
	Device       string
	Direction    Direction
	Gross        uint64 // in Unit
	Tare         uint64
	Net          uint64 // must equal Gross − Tare
	Unit         string
	Plate        string // vehicle registration
	ReleaseOrder string // required on out-tickets
	WeighedAt    int64  // device time, unix seconds
}

// SignedTicket is a ticket with the weighbridge's signature.
type SignedTicket struct {
	Ticket WeighTicket
	Sig    [64]byte
}

// ticketDomain separates ticket signatures from every other signature a
// device key makes.
const ticketDomain = "ewr/weigh-ticket/v1\x00"

// TicketSignBytes is what a weighbridge signs.
func TicketSignBytes(t *WeighTicket) []byte {
	return canon.Append([]byte(ticketDomain), t)
}

// SignTicket signs a ticket with a device key (for simulators and tests).
func SignTicket(t WeighTicket, key ed25519.PrivateKey) SignedTicket {
	st := SignedTicket{Ticket: t}
	copy(st.Sig[:], ed25519.Sign(key, TicketSignBytes(&t)))
	return st
}

// checkShape checks a ticket alone.
func (t *WeighTicket) checkShape() error {
	if err := receipt.CheckID("ticket number", t.Number); err != nil {
		return err
	}
	if err := receipt.CheckID("ticket warehouse", t.Warehouse); err != nil {
		return err
	}
	if err := receipt.CheckID("ticket device", t.Device); err != nil {
		return err
	}
	if t.Direction != In && t.Direction != Out {
		return receipt.Errorf(ErrTicketInvalid, "%s: direction %d", t.Number, t.Direction)
	}
	if t.Gross <= t.Tare || t.Gross > receipt.MaxQuantity || t.Net != t.Gross-t.Tare {
		return receipt.Errorf(ErrTicketInvalid, "%s: gross %d tare %d net %d", t.Number, t.Gross, t.Tare, t.Net)
	}
	if _, ok := unitScale(t.Unit); !ok {
		return receipt.Errorf(ErrBadUnit, "ticket %s: %q", t.Number, t.Unit)
	}
	if err := receipt.CheckText("plate", t.Plate, true); err != nil {
		return err
	}
	if t.Direction == Out {
		if err := receipt.CheckID("ticket release order", t.ReleaseOrder); err != nil {
			return err
		}
	} else if t.ReleaseOrder != "" {
		return receipt.Errorf(ErrTicketInvalid, "%s: in-ticket names a release order", t.Number)
	}
	return nil
}

// checkTickets checks a batch of tickets alone: shape, distinct numbers, a
// limit on count, one warehouse and unit, one direction.
func checkTickets(ts []SignedTicket, dir Direction) error {
	if len(ts) == 0 {
		return receipt.Errorf(receipt.ErrMissingField, "weigh tickets")
	}
	seen := make(map[string]bool, len(ts))
	for i := range ts {
		t := &ts[i].Ticket
		if err := t.checkShape(); err != nil {
			return err
		}
		if t.Direction != dir {
			return receipt.Errorf(ErrTicketDirection, "%s is %s, need %s", t.Number, t.Direction, dir)
		}
		if t.Warehouse != ts[0].Ticket.Warehouse || t.Unit != ts[0].Ticket.Unit {
			return receipt.Errorf(ErrTicketInvalid, "tickets from different warehouses or units")
		}
		if seen[t.Number] {
			return receipt.Errorf(ErrTicketUsed, "%s twice in one op", t.Number)
		}
		seen[t.Number] = true
	}
	return nil
}

// verifyTickets checks each ticket against state: an unused number, a
// trusted weighbridge at the warehouse, a valid signature. It returns Σ net.
func verifyTickets(x *receipt.Exec, ts []SignedTicket, warehouse, unit string) (uint64, error) {
	if uint32(len(ts)) > x.Params().MaxTicketsPerOp {
		return 0, receipt.Errorf(receipt.ErrLimit, "%d tickets, at most %d", len(ts), x.Params().MaxTicketsPerOp)
	}
	var sum uint64
	for i := range ts {
		t := &ts[i].Ticket
		if t.Warehouse != warehouse {
			return 0, receipt.Errorf(ErrTicketInvalid, "%s is from %s, not %s", t.Number, t.Warehouse, warehouse)
		}
		if t.Unit != unit {
			return 0, receipt.Errorf(receipt.ErrUnitMismatch, "ticket %s in %s, lot in %s", t.Number, t.Unit, unit)
		}
		if receipt.Has(x, TicketKey(warehouse, t.Number)) {
			return 0, receipt.Errorf(ErrTicketUsed, "%s", t.Number)
		}
		d, err := TrustedDevice(x, t.Device, Weighbridge, warehouse)
		if err != nil {
			return 0, err
		}
		if !x.VerifySig(d.PubKey, TicketSignBytes(t), ts[i].Sig) {
			return 0, receipt.Errorf(ErrTicketSignature, "%s from %s", t.Number, t.Device)
		}
		sum += t.Net // each ≤ MaxQuantity, at most MaxTicketsPerOp: no overflow
	}
	if sum > receipt.MaxQuantity {
		return 0, receipt.Errorf(receipt.ErrQuantityOverflow, "tickets sum to %d", sum)
	}
	return sum, nil
}

// useTickets marks tickets consumed by usedBy.
func useTickets(x *receipt.Exec, ts []SignedTicket, usedBy string) []string {
	nums := make([]string, len(ts))
	for i := range ts {
		t := &ts[i].Ticket
		receipt.Save(x, TicketKey(t.Warehouse, t.Number), &UsedTicket{
			Number: t.Number, Direction: t.Direction, Net: t.Net, UsedBy: usedBy, Height: x.Block.Height,
		})
		nums[i] = t.Number
	}
	sort.Strings(nums)
	return nums
}
