package ledger

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// Ranger is a state that can list its records by key prefix.
type Ranger = receipt.Ranger

// Lister is a state that lists a page of its records by key prefix: from
// after a key, until fn says stop, reading no more than that.
type Lister interface {
	List(prefix, after string, fn func(key string, value []byte) bool)
}

// CheckInvariants checks every invariant of DESIGN.md that a single state
// can show. Tests run it after every step; a violation is a bug.
//
//   - Σ live receipt quantity on a lot = its issued quantity ≤ its locked quantity,
//     and the lot's live list names exactly its live receipts;
//   - a locked lot's bay names it, and a bay names only a locked lot of its own;
//   - at most one pending-or-active pledge per receipt, and the receipt names it;
//   - exactly one holder per live receipt, a registered participant;
//   - split and merge conserved quantity exactly (checked through lineage);
//   - terminal receipts hold no pledge, transfer or release order;
//   - the state fields agree (frozen ⇔ freeze record, transfer pending ⇔ transfer,
//     redemption pending ⇔ open release order).
func CheckInvariants(st Ranger) error {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }

	receipts := map[string]*receipt.Receipt{}
	var receiptIDs []string
	decodeAll(st, receipt.PrefixReceipt, func(k string, v []byte) {
		r := new(receipt.Receipt)
		mustDecode(k, v, r)
		receipts[r.ID] = r
		receiptIDs = append(receiptIDs, r.ID)
	})
	pledges := map[string]*receipt.Pledge{}
	var pledgeIDs []string
	decodeAll(st, receipt.PrefixPledge, func(k string, v []byte) {
		p := new(receipt.Pledge)
		mustDecode(k, v, p)
		pledges[p.ID] = p
		pledgeIDs = append(pledgeIDs, p.ID)
	})
	lots := map[string]*warehouse.Lot{}
	var lotIDs []string
	decodeAll(st, warehouse.PrefixLot, func(k string, v []byte) {
		l := new(warehouse.Lot)
		mustDecode(k, v, l)
		lots[l.ID] = l
		lotIDs = append(lotIDs, l.ID)
	})
	bays := map[string]*warehouse.Bay{}
	var bayKeys []string
	decodeAll(st, warehouse.PrefixBay, func(k string, v []byte) {
		b := new(warehouse.Bay)
		mustDecode(k, v, b)
		bays[k] = b
		bayKeys = append(bayKeys, k)
	})
	ros := map[string]*warehouse.ReleaseOrder{}
	var roIDs []string
	decodeAll(st, warehouse.PrefixReleaseOrder, func(k string, v []byte) {
		ro := new(warehouse.ReleaseOrder)
		mustDecode(k, v, ro)
		ros[ro.ID] = ro
		roIDs = append(roIDs, ro.ID)
	})
	participants := map[string]bool{}
	decodeAll(st, receipt.PrefixParticipant, func(k string, v []byte) { participants[strings.TrimPrefix(k, receipt.PrefixParticipant)] = true })

	sort.Strings(receiptIDs)
	sort.Strings(pledgeIDs)
	sort.Strings(lotIDs)
	sort.Strings(bayKeys)
	sort.Strings(roIDs)

	// Lots: live receipts and quantities.
	liveByLot := map[string][]string{}
	sumByLot := map[string]uint64{}
	for _, id := range receiptIDs {
		r := receipts[id]
		if r.State.Live() {
			liveByLot[r.Lot] = append(liveByLot[r.Lot], r.ID)
			sumByLot[r.Lot] += r.Quantity
		}
	}
	for _, id := range lotIDs {
		l := lots[id]
		if sumByLot[id] != l.IssuedQty {
			fail("lot %s: live receipts sum to %d, lot says issued %d", id, sumByLot[id], l.IssuedQty)
		}
		if l.IssuedQty > l.LockedQty {
			fail("lot %s: issued %d exceeds locked %d", id, l.IssuedQty, l.LockedQty)
		}
		if !slices.Equal(liveByLot[id], l.Live) {
			fail("lot %s: live list %v, live receipts %v", id, l.Live, liveByLot[id])
		}
		if l.LockedQty > l.RegisteredQty {
			fail("lot %s: locked %d exceeds registered %d", id, l.LockedQty, l.RegisteredQty)
		}
		switch l.Status {
		case warehouse.LotLocked:
			b, ok := bays[warehouse.BayKey(l.Warehouse, l.Bay)]
			if !ok || b.LockedBy != l.ID {
				fail("lot %s: locked but its bay %s/%s does not name it", id, l.Warehouse, l.Bay)
			}
		case warehouse.LotReleased:
			if l.LockedQty != 0 || l.IssuedQty != 0 {
				fail("lot %s: released with locked %d issued %d", id, l.LockedQty, l.IssuedQty)
			}
		default:
			fail("lot %s: status %d", id, l.Status)
		}
	}
	for _, k := range bayKeys {
		b := bays[k]
		if b.LockedBy == "" {
			continue
		}
		l, ok := lots[b.LockedBy]
		if !ok || l.Status != warehouse.LotLocked || l.Bay != b.ID || l.Warehouse != b.Warehouse {
			fail("bay %s names lot %s that is not locked in it", k, b.LockedBy)
		}
	}

	// Pledges: at most one open per receipt, and the receipt names it.
	openByReceipt := map[string][]string{}
	for _, id := range pledgeIDs {
		p := pledges[id]
		if p.Status.Open() {
			openByReceipt[p.Receipt] = append(openByReceipt[p.Receipt], p.ID)
		}
	}
	for _, rid := range receiptIDs {
		r := receipts[rid]
		open := openByReceipt[rid]
		if len(open) > 1 {
			fail("receipt %s: %d open pledges %v", rid, len(open), open)
		}
		if r.Pledge == "" && len(open) > 0 {
			fail("receipt %s: open pledge %v not named by the receipt", rid, open)
		}
		if r.Pledge != "" {
			p, ok := pledges[r.Pledge]
			switch {
			case !ok:
				fail("receipt %s: names missing pledge %s", rid, r.Pledge)
			case !p.Status.Open() || p.Receipt != rid:
				fail("receipt %s: names pledge %s that is %s on %s", rid, p.ID, p.Status, p.Receipt)
			case p.Status == receipt.PledgePending && effective(r) != receipt.StatePledgePending:
				fail("receipt %s: pending pledge but state %s", rid, r.State)
			case p.Status == receipt.PledgeActive && effective(r) == receipt.StatePledgePending:
				fail("receipt %s: active pledge but state %s", rid, r.State)
			case p.Status == receipt.PledgeActive && effective(r) == receipt.StateIssued:
				fail("receipt %s: active pledge but state ISSUED", rid)
			}
		}
	}

	// Receipts: holder, state coherence, terminal emptiness, lineage.
	for _, rid := range receiptIDs {
		r := receipts[rid]
		if r.Version == 0 || r.State < receipt.StateIssued || r.State > receipt.StateVoid {
			fail("receipt %s: version %d state %d", rid, r.Version, r.State)
		}
		if r.State.Live() && (r.Holder == "" || !participants[r.Holder]) {
			fail("receipt %s: live with holder %q", rid, r.Holder)
		}
		if (r.State == receipt.StateFrozen) != (r.Frozen != nil) {
			fail("receipt %s: state %s with freeze record %v", rid, r.State, r.Frozen != nil)
		}
		eff := effective(r)
		if (eff == receipt.StateTransferPending) != (r.Transfer != nil) {
			fail("receipt %s: state %s with transfer %v", rid, r.State, r.Transfer)
		}
		if (eff == receipt.StateRedemptionPending) != (r.ReleaseOrder != "") {
			fail("receipt %s: state %s with release order %q", rid, r.State, r.ReleaseOrder)
		}
		if r.ReleaseOrder != "" {
			ro, ok := ros[r.ReleaseOrder]
			if !ok || ro.Status != warehouse.ROOpen || ro.Receipt != rid {
				fail("receipt %s: names release order %s that is not open for it", rid, r.ReleaseOrder)
			}
		}
		if r.State.Terminal() && (r.Pledge != "" || r.Transfer != nil || r.ReleaseOrder != "") {
			fail("receipt %s: terminal %s still encumbered", rid, r.State)
		}
		if r.State == receipt.StateCancelled && r.Quantity != 0 {
			fail("receipt %s: cancelled with quantity %d", rid, r.Quantity)
		}
		if r.State.Live() && r.Quantity == 0 {
			fail("receipt %s: live with zero quantity", rid)
		}
		if r.State == receipt.StateSuperseded {
			checkLineage(r, receipts, fail)
		} else if len(r.Children) > 0 {
			fail("receipt %s: %s with children", rid, r.State)
		}
	}
	for _, id := range roIDs {
		ro := ros[id]
		r, ok := receipts[ro.Receipt]
		if ro.Status == warehouse.ROOpen && (!ok || r.ReleaseOrder != id) {
			fail("release order %s: open but its receipt does not name it", id)
		}
	}

	checkLocks(st, lots, lotIDs, ros, roIDs, fail)
	checkMarkets(st, receipts, receiptIDs, pledges, pledgeIDs, fail)
	checkIoT(st, receipts, receiptIDs, lots, lotIDs, fail)

	if len(errs) > 0 {
		return fmt.Errorf("invariants broken:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}

// checkLocks checks the lock's physical model of every locked lot: its
// history exists, runs forward in time, and its current phase is the lot's
// expected weight with exactly the lot's open release orders and what they
// may take off the bay.
func checkLocks(st Ranger, lots map[string]*warehouse.Lot, lotIDs []string,
	ros map[string]*warehouse.ReleaseOrder, roIDs []string, fail func(string, ...any)) {
	hists := map[string]*warehouse.LockHistory{}
	decodeAll(st, warehouse.PrefixLockHistory, func(k string, v []byte) {
		h := new(warehouse.LockHistory)
		mustDecode(k, v, h)
		hists[h.Lot] = h
	})
	open := map[string]uint32{}
	out := map[string]uint64{}
	for _, id := range roIDs {
		if ro := ros[id]; ro.Status == warehouse.ROOpen {
			open[ro.Lot]++
			out[ro.Lot] += ro.MayRemove
		}
	}
	for _, id := range lotIDs {
		l := lots[id]
		if l.Status != warehouse.LotLocked {
			continue
		}
		h, ok := hists[id]
		if !ok || len(h.Phases) == 0 {
			fail("lot %s: locked without a lock history", id)
			continue
		}
		for i := 1; i < len(h.Phases); i++ {
			if h.Phases[i].FromMs <= h.Phases[i-1].FromMs {
				fail("lot %s: lock phase %d at %d ms not after %d ms", id, i, h.Phases[i].FromMs, h.Phases[i-1].FromMs)
			}
		}
		if len(h.Phases) > warehouse.MaxLockPhases {
			fail("lot %s: %d lock phases", id, len(h.Phases))
		}
		cur := h.Current()
		if cur.Expected != l.Expected || cur.Open != open[id] || cur.OutQty != out[id] {
			fail("lot %s: lock phase expects %d with %d orders (%d out), lot expects %d with %d open orders (%d out)",
				id, cur.Expected, cur.Open, cur.OutQty, l.Expected, open[id], out[id])
		}
	}
}

// effective is the state a receipt is in underneath a freeze.
func effective(r *receipt.Receipt) receipt.State {
	if r.State == receipt.StateFrozen && r.Frozen != nil {
		return r.Frozen.Prior
	}
	return r.State
}

// original is the quantity a receipt was created with.
func original(r *receipt.Receipt) uint64 { return r.Quantity + r.Delivered }

func checkLineage(r *receipt.Receipt, receipts map[string]*receipt.Receipt, fail func(string, ...any)) {
	if len(r.Children) == 0 {
		fail("receipt %s: superseded without children", r.ID)
		return
	}
	var children []*receipt.Receipt
	for _, c := range r.Children {
		cr, ok := receipts[c]
		if !ok || !slices.Contains(cr.Parents, r.ID) {
			fail("receipt %s: child %s missing or does not name it", r.ID, c)
			return
		}
		children = append(children, cr)
	}
	if len(children) == 1 && len(children[0].Parents) > 1 {
		// Merge: the child's original quantity is the sum of its parents'.
		m := children[0]
		var sum uint64
		for _, p := range m.Parents {
			pr, ok := receipts[p]
			if !ok || pr.State != receipt.StateSuperseded {
				fail("receipt %s: merge parent %s missing or not superseded", m.ID, p)
				return
			}
			sum += pr.Quantity
		}
		if sum != original(m) {
			fail("merge into %s: parents hold %d, merged receipt %d", m.ID, sum, original(m))
		}
		return
	}
	var sum uint64
	for _, c := range children {
		sum += original(c)
	}
	if sum != r.Quantity {
		fail("split of %s: parent %d, parts %d", r.ID, r.Quantity, sum)
	}
}

func decodeAll(st Ranger, prefix string, fn func(k string, v []byte)) {
	st.Range(prefix, fn)
}

func mustDecode(k string, v []byte, out any) {
	if err := receipt.DecodeRecord(v, out); err != nil {
		panic(fmt.Sprintf("ledger: record %q does not decode: %v", k, err))
	}
}
