package api

import (
	"slices"
	"strings"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
	"github.com/ewrchain/ewr/warehouse"
)

// The read policy: what each participant may read, in one place. Every
// read applies it: records, lists, proofs, the precheck, the event list,
// the history and the live stream, blocks and txs. The CLI reads through
// the API, and the read model's answers pass through the same filters.
//
// A participant reads a record it is a party to: a receipt's holder,
// depositor, order party and pending transferee, the bank of its pledge,
// and the operator, collateral manager and supervisors of its warehouse;
// the pledgor and bank of a pledge; the bank and borrower of a loan; the
// bank of a credit policy; the seller, buyer and banks of an offer, trade
// or settlement; the holder of a release order and its warehouse's
// people; a lot (its lock, watch and alerts) to its warehouse's people and
// to the parties of its live receipts. The regulator and the consortium
// admins read everything. The directory (participants, warehouses, bays,
// devices), posted prices and the consortium's own records are public to
// every member, as are blocks and tx outcomes, less what a tx's events,
// writes and rejection say about records the reader is no party to.
//
// A record the reader may not read answers exactly as a missing one; a
// list holds only what the reader may read; the stream sends only events
// the reader may see. Validators see everything on chain: this governs
// what each member's API serves, not what the chain holds.

// Visibility is a GET route's read policy, shown in the OpenAPI document.
type Visibility string

// Route visibilities.
const (
	// VisPublic: every member reads it (the directory, prices, the chain's
	// own records and, for the service routes, anyone).
	VisPublic Visibility = "public"
	// VisSelf: about the token's own participant only.
	VisSelf Visibility = "self"
	// VisParty: the record at the path, to its parties; anyone else gets
	// the answer a missing record gets (404).
	VisParty Visibility = "party"
	// VisFiltered: a list of only what the token's participant may read.
	VisFiltered Visibility = "filtered"
	// VisRedacted: public, with what concerns records the reader is no
	// party to (events, writes, rejection logs) left out.
	VisRedacted Visibility = "redacted"
	// VisBank: a bank's due diligence on any receipt, and the receipt's
	// parties: status, never another bank's terms.
	VisBank Visibility = "bank"
)

// readPolicy is every GET route's visibility; the handlers apply it (and a
// test checks every GET route has one, and that the API answers by it).
var readPolicy = map[string]Visibility{
	"/healthz": VisPublic, "/readyz": VisPublic, "/metrics": VisPublic, "/v1/openapi.json": VisPublic, "/verify": VisPublic,
	"/": VisPublic, "/console/{file}": VisPublic,
	"/v1/status": VisSelf, "/v1/me": VisSelf,

	"/v1/participants": VisPublic, "/v1/participants/{id}": VisPublic,
	"/v1/warehouses": VisPublic, "/v1/warehouses/{id}": VisPublic, "/v1/warehouses/{id}/bays": VisPublic,
	"/v1/warehouses/{id}/bays/{bay}/readings": VisParty, // the bay's locked lot's parties
	"/v1/warehouses/{id}/lots":                VisFiltered, "/v1/warehouses/{id}/release-orders": VisFiltered,
	"/v1/lots/{id}": VisParty, "/v1/lots/{id}/receipts": VisFiltered, "/v1/lots/{id}/proof": VisParty,

	"/v1/receipts": VisFiltered, "/v1/receipts/{id}": VisParty, "/v1/receipts/{id}/history": VisFiltered,
	"/v1/receipts/{id}/lineage": VisParty, "/v1/receipts/{id}/proof": VisParty, "/v1/receipts/{id}/position-proof": VisParty,
	"/v1/receipts/{id}/pledges": VisFiltered, "/v1/receipts/{id}/precheck": VisBank,

	"/v1/pledges": VisFiltered, "/v1/pledges/{id}": VisParty, "/v1/release-orders/{id}": VisParty,
	"/v1/credit-policies": VisFiltered, "/v1/prices": VisPublic, "/v1/loans": VisFiltered, "/v1/loans/{id}": VisParty,
	"/v1/margin-calls": VisFiltered, "/v1/banks/{id}/exposure": VisSelf,
	"/v1/offers": VisFiltered, "/v1/offers/{id}": VisParty, "/v1/trades": VisFiltered, "/v1/trades/{id}": VisParty,
	"/v1/settlements/{id}": VisParty,

	"/v1/devices": VisPublic, "/v1/devices/{id}": VisPublic, "/v1/alerts": VisFiltered, "/v1/alerts/{id}": VisParty,
	"/v1/simulator/load-outs/{id}": VisParty,

	"/v1/blocks": VisRedacted, "/v1/blocks/{height}": VisRedacted, "/v1/validators": VisPublic, "/v1/formats": VisPublic,
	"/v1/txs/{hash}": VisRedacted, "/v1/events": VisFiltered, "/v1/events/stream": VisFiltered,
	"/v1/drafts": VisSelf, "/v1/drafts/{id}": VisSelf,
}

// Describe says what a visibility means, for the OpenAPI document.
func (v Visibility) Describe() string {
	switch v {
	case VisPublic:
		return "Visible to every member."
	case VisSelf:
		return "About the token's own participant only."
	case VisParty:
		return "Visible to the record's parties, the regulator and the consortium admins; to anyone else it answers 404, as a missing record."
	case VisFiltered:
		return "Lists only what the token's participant is a party to (everything for the regulator and the consortium admins)."
	case VisRedacted:
		return "Visible to every member, without the events, writes and rejection logs of records the reader is no party to."
	case VisBank:
		return "For a bank's due diligence on any receipt, and for the receipt's parties: another bank's pledge shows its status and bank, never its terms."
	}
	return ""
}

// publicKinds are the record kinds every member reads.
var publicKinds = map[string]bool{
	"participant": true, "warehouse": true, "bay": true, "device": true, "price": true,
	"consortium": true, "params": true, "formats": true, "validators": true, "iot_rules": true,
}

// reader is a participant reading one state.
type reader struct {
	id    string
	roles receipt.Role
	st    receipt.Store
}

// reader is the request's reader.
func (rc *reqCtx) reader() reader {
	if rc.rd == nil {
		r := readerAt(rc.state(), rc.who)
		rc.rd = &r
	}
	return *rc.rd
}

// everything: the regulator and the consortium admins read every record.
func (r reader) everything() bool {
	return r.roles.Any(receipt.RoleRegulator | receipt.RoleAdmin)
}

// mayReadKey reports whether r may read the record at key. A record that
// does not exist is not readable (and answers 404 either way).
func (r reader) mayReadKey(key string) bool {
	kind, ok := ledger.RecordKind(key)
	switch {
	case ok && publicKinds[kind]:
		return true
	case r.everything():
		return true
	case !ok:
		return false
	}
	raw, found := r.st.Get(key)
	if !found {
		return false
	}
	switch kind {
	case "lot_watch":
		return r.mayReadKey(warehouse.LotKey(strings.TrimPrefix(key, iot.PrefixWatch)))
	case "lock_history":
		return r.mayReadKey(warehouse.LotKey(strings.TrimPrefix(key, warehouse.PrefixLockHistory)))
	}
	v, err := ledger.DecodeByKey(key, raw)
	if err != nil {
		return false
	}
	return r.mayRead(v)
}

// mayRead reports whether r may read the record v (as decoded from the
// state r reads).
func (r reader) mayRead(v any) bool {
	if r.everything() {
		return true
	}
	switch x := v.(type) {
	case *receipt.Participant, *warehouse.Warehouse, *warehouse.Bay, *warehouse.Device, *financing.Price:
		return true
	case *receipt.Receipt:
		return r.partyOfReceipt(x)
	case *receipt.Pledge:
		return r.id == x.Pledgor || r.id == x.Bank
	case *warehouse.Lot:
		return r.partyOfLot(x)
	case *iot.Alert:
		return r.mayReadKey(warehouse.LotKey(x.Lot))
	case *warehouse.ReleaseOrder:
		return r.id == x.Holder || r.staffOf(x.Warehouse) || r.mayReadKey(receipt.ReceiptKey(x.Receipt))
	case *warehouse.UsedTicket:
		return r.mayReadKey(warehouse.LotKey(x.UsedBy)) || r.mayReadKey(warehouse.ReleaseOrderKey(x.UsedBy))
	case *financing.CreditPolicy:
		return r.id == x.Bank
	case *financing.Loan:
		return r.id == x.Bank || r.id == x.Borrower
	case *trading.Offer:
		return r.id == x.Seller || r.id == x.Buyer || r.bankOfPledge(x.Pledge)
	case *trading.Trade:
		return slices.Contains([]string{x.Seller, x.Buyer, x.BuyerBank, x.PledgeBank}, r.id)
	case *trading.Settlement:
		return slices.Contains([]string{x.Seller, x.Buyer, x.BuyerBank, x.PledgeBank}, r.id)
	}
	return false
}

// staffOf: the warehouse's operator, collateral manager or a supervisor.
func (r reader) staffOf(warehouseID string) bool {
	w, ok := get[warehouse.Warehouse](r.st, warehouse.WarehouseKey(warehouseID))
	return ok && (r.id == w.Operator || r.id == w.CollateralManager || slices.Contains(w.Supervisors, r.id))
}

func (r reader) bankOfPledge(pledge string) bool {
	if pledge == "" {
		return false
	}
	p, ok := get[receipt.Pledge](r.st, receipt.PledgeKey(pledge))
	return ok && p.Bank == r.id
}

// holdsOrFinances: r holds, deposited, is owed or is offered the receipt,
// or is the bank of its pledge.
func (r reader) holdsOrFinances(x *receipt.Receipt) bool {
	return r.id == x.Holder || r.id == x.Depositor || r.id == x.OrderOf || (x.Transfer != nil && x.Transfer.To == r.id) ||
		r.bankOfPledge(x.Pledge)
}

func (r reader) partyOfReceipt(x *receipt.Receipt) bool {
	return r.holdsOrFinances(x) || r.staffOf(x.Warehouse)
}

// partyOfLot: the warehouse's people, and the parties of its live receipts.
func (r reader) partyOfLot(l *warehouse.Lot) bool {
	if r.staffOf(l.Warehouse) {
		return true
	}
	for _, id := range l.Live {
		if x, ok := get[receipt.Receipt](r.st, receipt.ReceiptKey(id)); ok && r.holdsOrFinances(x) {
			return true
		}
	}
	return false
}

// privateRefs are the ref kinds whose records are not public.
var privateRefs = map[string]string{
	receipt.RefReceipt: receipt.PrefixReceipt, receipt.RefLot: warehouse.PrefixLot, receipt.RefPledge: receipt.PrefixPledge,
	receipt.RefReleaseOrder: warehouse.PrefixReleaseOrder, receipt.RefLoan: financing.PrefixLoan, receipt.RefOffer: trading.PrefixOffer,
	receipt.RefAlert: iot.PrefixAlert,
}

// mayReadEvent reports whether r may see an event: one that names r as a
// participant, one that concerns only public records, or one whose every
// private record r may read.
func (r reader) mayReadEvent(refs []RefView) bool {
	if r.everything() {
		return true
	}
	private := 0
	for _, ref := range refs {
		if ref.Kind == receipt.RefParticipant && ref.ID == r.id {
			return true
		}
		if _, ok := privateRefs[ref.Kind]; ok {
			private++
		}
	}
	if private == 0 {
		return true
	}
	for _, ref := range refs {
		if prefix, ok := privateRefs[ref.Kind]; ok && !r.mayReadKey(prefix+ref.ID) {
			return false
		}
	}
	return true
}

// redact leaves out of a record the reader may read what is another
// party's business: a trade's and a settlement's loan and how the price
// split between the loan and the seller, which are the seller's and its
// bank's, not the buyer's or the buyer's bank's.
func (r reader) redact(v any) any {
	if r.everything() {
		return v
	}
	switch x := v.(type) {
	case *trading.Trade:
		if r.id != x.Seller && r.id != x.PledgeBank && x.Loan != "" {
			c := *x
			c.Loan = ""
			return &c
		}
	case *trading.Settlement:
		if r.id != x.Seller && r.id != x.PledgeBank && x.Loan != "" {
			c := *x
			c.Loan, c.ToLoanMinor, c.ToSellerMinor, c.LoanOutstanding = "", 0, 0, 0
			return &c
		}
	}
	return v
}

// redactEvent leaves out of an event the reader may see the records it
// may not read, and, with a loan left out, the figures about that loan.
func (r reader) redactEvent(e EventView) EventView {
	if r.everything() {
		return e
	}
	refs := make([]RefView, 0, len(e.Refs))
	loanGone := false
	for _, ref := range e.Refs {
		if prefix, ok := privateRefs[ref.Kind]; ok && !r.mayReadKey(prefix+ref.ID) {
			loanGone = loanGone || ref.Kind == receipt.RefLoan
			continue
		}
		refs = append(refs, ref)
	}
	e.Refs = refs
	if loanGone {
		attrs := map[string]string{}
		for k, v := range e.Attrs {
			if !strings.HasPrefix(k, "to_") && !strings.Contains(k, "loan") && !strings.Contains(k, "outstanding") {
				attrs[k] = v
			}
		}
		e.Attrs = attrs
	}
	return e
}

// redactTx leaves out of a tx what concerns records r is no party to:
// its events and writes r may not read (even of a tx r signed: a trade's
// settlement touches the seller's loan) and, unless r signed it, the
// rejection's log (which may quote another party's figures).
func (r reader) redactTx(t TxView) TxView {
	if r.everything() {
		return t
	}
	events := []EventView{}
	for _, e := range t.Events {
		if r.mayReadEvent(e.Refs) {
			events = append(events, r.redactEvent(e))
		}
	}
	writes := []string{}
	for _, k := range t.Writes {
		if r.mayReadKey(k) {
			writes = append(writes, k)
		}
	}
	t.Events, t.Writes = events, writes
	if !slices.Contains(t.Signers, r.id) {
		t.Log = ""
	}
	return t
}

// redactBlock redacts each of a block's txs.
func (r reader) redactBlock(b BlockView) BlockView {
	for i := range b.Txs {
		b.Txs[i] = r.redactTx(b.Txs[i])
	}
	return b
}

// readerAt is participant reading st.
func readerAt(st receipt.Store, participant string) reader {
	r := reader{id: participant, st: st}
	if p, ok := get[receipt.Participant](st, receipt.ParticipantKey(participant)); ok {
		r.roles = p.Roles
	}
	return r
}

// MayRead reports whether participant may read the record at key in st,
// by the API's read policy (for tests and tools that check what a member
// serves).
func MayRead(st receipt.Store, participant, key string) bool {
	return readerAt(st, participant).mayReadKey(key)
}

// MayReadEvent reports whether participant may see an event with refs in
// st, by the API's read policy.
func MayReadEvent(st receipt.Store, participant string, refs []RefView) bool {
	return readerAt(st, participant).mayReadEvent(refs)
}
