package warehouse

import (
	"crypto/ed25519"
	"testing"

	"github.com/ewrchain/ewr/internal/canon"
)

// FuzzWeighTicket feeds the weigh ticket decoder and its checks what a
// weighbridge (or anyone posing as one) could send: no panic, and a
// ticket that passes its shape check is one the rules can rely on.
func FuzzWeighTicket(f *testing.F) {
	_, key, _ := ed25519.GenerateKey(nil)
	for _, tk := range []WeighTicket{
		{Number: "IN-1", Warehouse: "WH-1", Device: "WB-1", Direction: In, Gross: 40_000, Tare: 15_000, Net: 25_000, Unit: "kg", Plate: "LU-1", WeighedAt: 1},
		{Number: "OUT-1", Warehouse: "WH-1", Device: "WB-1", Direction: Out, Gross: 25_010, Tare: 15_010, Net: 10_000, Unit: "kg", ReleaseOrder: "ro-WR-1-1", WeighedAt: 2},
	} {
		st := SignTicket(tk, key)
		f.Add(canon.Marshal(&st))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var st SignedTicket
		if canon.Unmarshal(b, &st) != nil {
			return
		}
		_ = TicketSignBytes(&st.Ticket)
		if err := checkTickets([]SignedTicket{st}, st.Ticket.Direction); err != nil {
			return
		}
		tk := st.Ticket
		if tk.Gross < tk.Tare || tk.Gross-tk.Tare != tk.Net {
			t.Fatalf("accepted a ticket whose net is not gross − tare: %+v", tk)
		}
		if (tk.Direction == Out) != (tk.ReleaseOrder != "") {
			t.Fatalf("accepted a ticket whose direction and release order disagree: %+v", tk)
		}
	})
}
