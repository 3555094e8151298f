package ledger

import (
	"reflect"
	"testing"

	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// carried are the receipt fields a holder or a bank relies on that a split
// copies to every part and a merge requires equal (IssuedAt: the merge
// takes the earliest). lifecycle are the fields a split or merge sets
// afresh. Every field of receipt.Receipt must be in one of them: a field
// added later fails TestSplitMergeKeepWhatHoldersRelyOn until someone
// decides what splitting and merging do with it.
var (
	carried = []string{"Warehouse", "Operator", "Place", "Lot", "Depositor", "Negotiable", "OrderOf", "Commodity", "Grade",
		"Description", "Unit", "IssuedAt", "PlaceOfIssue", "StorageUntil", "ValidUntil", "StorageAgreementDate", "StorageTermsRef",
		"ThirdPartyClaims", "Fees", "Insurance", "Holder"}
	lifecycle = []string{"ID", "Version", "State", "Quantity", "Pledge", "Transfer", "ReleaseOrder", "Frozen", "Delivered",
		"Deliveries", "Parents", "Children", "Moved", "UpdatedHeight"}
)

func TestSplitMergeKeepWhatHoldersRelyOn(t *testing.T) {
	classified := map[string]bool{}
	for _, f := range append(append([]string{}, carried...), lifecycle...) {
		require.False(t, classified[f], "%s classified twice", f)
		classified[f] = true
	}
	rt := reflect.TypeOf(receipt.Receipt{})
	for i := range rt.NumField() {
		assert.True(t, classified[rt.Field(i).Name], "receipt.Receipt.%s: say whether split and merge carry it (carried) or set it (lifecycle)", rt.Field(i).Name)
	}
	assert.Len(t, classified, rt.NumField(), "a classified field that Receipt no longer has")

	h := newHarness(t)
	field := func(r *receipt.Receipt, name string) any {
		return reflect.ValueOf(r).Elem().FieldByName(name).Interface()
	}
	amend := func(id, desc, claims, insurance string) {
		r := h.receipt(id)
		h.ok(by(Operator, r.Holder), &receipt.Amend{Receipt: id, Version: r.Version, Description: desc, ThirdPartyClaims: claims, Insurance: insurance})
	}

	// A split carries everything to each part.
	r := h.fresh(30_000, TraderA)
	amend(r.ID, "copper cathode, 30 bundles, 3 damaged", "lien of Bank X for storage fees", "PICC policy 42")
	parent := h.receipt(r.ID)
	h.ok(by(TraderA), &receipt.Split{Receipt: r.ID, Version: parent.Version, Parts: []receipt.Part{{ID: "FS-1", Quantity: 10_000}, {ID: "FS-2", Quantity: 20_000}}})
	for _, id := range []string{"FS-1", "FS-2"} {
		part := h.receipt(id)
		for _, f := range carried {
			assert.Equal(t, field(parent, f), field(part, f), "split part %s's %s", id, f)
		}
	}

	// Parts merge back into a receipt that says what they said.
	h.ok(by(TraderA), &receipt.Merge{Into: "FM-1", Receipts: []receipt.VersionedRef{{ID: "FS-1", Version: 1}, {ID: "FS-2", Version: 1}}})
	merged := h.receipt("FM-1")
	for _, f := range carried {
		assert.Equal(t, field(parent, f), field(merged, f), "merged %s", f)
	}

	// Receipts of one lot and holder that differ in anything carried do
	// not merge; the same receipts after the difference is amended away do.
	lot := h.next("LOT")
	h.stock(lot, h.freeBay(), 40_000)
	type variant struct {
		name string
		mut  func(op *warehouse.IssueReceipt)
	}
	a := h.issueOp("FV-A", lot, 1_000, TraderA)
	h.ok(by(Operator), a)
	for _, v := range []variant{
		{"PlaceOfIssue", func(o *warehouse.IssueReceipt) { o.PlaceOfIssue = "Shanghai" }},
		{"StorageAgreementDate", func(o *warehouse.IssueReceipt) { o.StorageAgreementDate-- }},
		{"StorageTermsRef", func(o *warehouse.IssueReceipt) { o.StorageTermsRef = "QBMW-ST-2026-02" }},
		{"ValidUntil", func(o *warehouse.IssueReceipt) { o.ValidUntil++ }},
		{"ThirdPartyClaims", func(o *warehouse.IssueReceipt) { o.ThirdPartyClaims = "claim of the carrier for freight" }},
		{"Description", func(o *warehouse.IssueReceipt) { o.Description = "copper cathode, wet" }},
		{"Insurance", func(o *warehouse.IssueReceipt) { o.Insurance = "PICC policy 43" }},
	} {
		b := h.issueOp(h.next("FV-B"), lot, 1_000, TraderA)
		v.mut(b)
		h.ok(by(Operator), b)
		ra, rb := h.receipt(a.ID), h.receipt(b.ID)
		h.fail(receipt.ErrMergeMismatch, by(TraderA), &receipt.Merge{Into: h.next("FV-M"),
			Receipts: []receipt.VersionedRef{{ID: ra.ID, Version: ra.Version}, {ID: rb.ID, Version: rb.Version}}}, v.name+" differs")
	}
	// Issued in different blocks, otherwise alike: they merge, dated as
	// the earlier.
	h.Advance(3600)
	b := h.issueOp(h.next("FV-B"), lot, 1_000, TraderA)
	b.StorageAgreementDate, b.ValidUntil, b.StorageUntil = a.StorageAgreementDate, a.ValidUntil, a.StorageUntil
	h.ok(by(Operator), b)
	ra, rb := h.receipt(a.ID), h.receipt(b.ID)
	require.Less(t, ra.IssuedAt, rb.IssuedAt)
	h.ok(by(TraderA), &receipt.Merge{Into: "FV-M", Receipts: []receipt.VersionedRef{{ID: ra.ID, Version: ra.Version}, {ID: rb.ID, Version: rb.Version}}})
	assert.Equal(t, ra.IssuedAt, h.receipt("FV-M").IssuedAt, "the merged receipt is dated as the earliest it replaces")
	require.NoError(t, CheckInvariants(h.Store))
}
