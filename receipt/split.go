package receipt

import (
	"sort"
)

// Part is one receipt a split creates.
type Part struct {
	ID       string
	Quantity uint64
}

// Split replaces a free receipt with new receipts covering exactly the same
// goods (Model Law Art. 28). Signed by the holder. The parent becomes
// SUPERSEDED and names its children; each child names its parent.
type Split struct {
	Receipt string
	Version uint64
	Parts   []Part
}

func (*Split) Type() string { return "receipt.split" }

func (op *Split) Check() error {
	if err := CheckID("receipt", op.Receipt); err != nil {
		return err
	}
	if err := CheckVersion("receipt", op.Version); err != nil {
		return err
	}
	if len(op.Parts) < 2 {
		return errf(ErrInvalidOp, "a split needs at least two parts")
	}
	ids := make([]string, len(op.Parts))
	for i, p := range op.Parts {
		if err := CheckID("part", p.ID); err != nil {
			return err
		}
		if err := CheckQuantity("part quantity", p.Quantity); err != nil {
			return err
		}
		if p.ID == op.Receipt {
			return errf(ErrReceiptExists, "part reuses the parent id %q", p.ID)
		}
		ids[i] = p.ID
	}
	if _, ok := sortedUnique(ids); !ok {
		return errf(ErrInvalidOp, "part ids repeat")
	}
	return nil
}

func (op *Split) Apply(x *Exec) error {
	if uint32(len(op.Parts)) > x.Params().MaxSplitParts {
		return errf(ErrLimit, "%d parts, at most %d", len(op.Parts), x.Params().MaxSplitParts)
	}
	r, err := HolderAction(x, op.Receipt, op.Version)
	if err != nil {
		return err
	}
	if err := requireFree(r); err != nil {
		return err
	}
	var sum uint64
	for _, p := range op.Parts {
		sum += p.Quantity // each ≤ MaxQuantity and ≤ MaxSplitParts parts: no overflow
	}
	if sum != r.Quantity {
		return errf(ErrSplitNotConserved, "parts sum to %d, receipt holds %d", sum, r.Quantity)
	}
	// Canonical order: the children are listed and created by id, so the
	// order parts were given in does not change the state.
	parts := append([]Part(nil), op.Parts...)
	sort.Slice(parts, func(i, j int) bool { return parts[i].ID < parts[j].ID })
	children := make([]string, len(parts))
	for i, p := range parts {
		if Has(x, ReceiptKey(p.ID)) {
			return errf(ErrReceiptExists, "%q", p.ID)
		}
		children[i] = p.ID
	}
	for _, p := range parts {
		c := derive(x, r, p.ID, p.Quantity, []string{r.ID})
		SaveReceipt(x, c)
	}
	if err := x.Stock.Replace(x, r.Lot, []string{r.ID}, children); err != nil {
		return err
	}
	refs := receiptRefs(x, r)
	r.State = StateSuperseded
	r.Children = children
	r.Moved = true
	r.bump(x)
	SaveReceipt(x, r)
	for _, c := range children {
		refs = append(refs, Ref{Kind: RefReceipt, ID: c})
	}
	x.Emit(EvReceiptSplit, refs, Attr{"parent", r.ID}, Attr{"parts", u64(uint64(len(children)))})
	return nil
}

// derive makes a new receipt for part of (or several of) the goods of r:
// same lot, terms and holder, new id and quantity, lineage recorded.
func derive(x *Exec, r *Receipt, id string, qty uint64, parents []string) *Receipt {
	c := *r
	c.ID = id
	c.Version = 1
	c.State = StateIssued
	c.Quantity = qty
	c.Pledge = ""
	c.Transfer = nil
	c.ReleaseOrder = ""
	c.Frozen = nil
	c.Delivered = 0
	c.Deliveries = 0
	c.Parents = parents
	c.Children = nil
	c.Moved = true
	c.UpdatedHeight = x.Block.Height
	return &c
}

// VersionedRef names a receipt at the version the signer saw.
type VersionedRef struct {
	ID      string
	Version uint64
}

// Merge replaces several free receipts of one holder, on the same lot and
// terms, with one receipt for their total. The Model Law has no merge; we
// allow it only where nothing can differ: same holder, depositor,
// warehouse, lot, commodity, grade, unit, negotiability, terms, text and
// place and agreement of issue (sameTerms).
type Merge struct {
	Receipts []VersionedRef
	Into     string
}

func (*Merge) Type() string { return "receipt.merge" }

func (op *Merge) Check() error {
	if err := CheckID("receipt", op.Into); err != nil {
		return err
	}
	if len(op.Receipts) < 2 {
		return errf(ErrInvalidOp, "a merge needs at least two receipts")
	}
	ids := make([]string, len(op.Receipts))
	for i, ref := range op.Receipts {
		if err := CheckID("receipt", ref.ID); err != nil {
			return err
		}
		if err := CheckVersion("receipt "+ref.ID, ref.Version); err != nil {
			return err
		}
		if ref.ID == op.Into {
			return errf(ErrReceiptExists, "merge target reuses input id %q", ref.ID)
		}
		ids[i] = ref.ID
	}
	if _, ok := sortedUnique(ids); !ok {
		return errf(ErrInvalidOp, "merged receipts repeat")
	}
	return nil
}

func (op *Merge) Apply(x *Exec) error {
	if uint32(len(op.Receipts)) > x.Params().MaxMergeInputs {
		return errf(ErrLimit, "%d receipts, at most %d", len(op.Receipts), x.Params().MaxMergeInputs)
	}
	refs := append([]VersionedRef(nil), op.Receipts...)
	sort.Slice(refs, func(i, j int) bool { return refs[i].ID < refs[j].ID })
	inputs := make([]*Receipt, len(refs))
	var sum uint64
	for i, ref := range refs {
		r, err := HolderAction(x, ref.ID, ref.Version)
		if err != nil {
			return err
		}
		if err := requireFree(r); err != nil {
			return err
		}
		if i > 0 && !sameTerms(inputs[0], r) {
			return errf(ErrMergeMismatch, "%s and %s", inputs[0].ID, r.ID)
		}
		inputs[i] = r
		sum += r.Quantity
		if sum > MaxQuantity {
			return errf(ErrQuantityOverflow, "merged quantity %d", sum)
		}
	}
	if Has(x, ReceiptKey(op.Into)) {
		return errf(ErrReceiptExists, "%q", op.Into)
	}
	parents := make([]string, len(inputs))
	for i, r := range inputs {
		parents[i] = r.ID
	}
	merged := derive(x, inputs[0], op.Into, sum, parents)
	for _, r := range inputs[1:] {
		merged.IssuedAt = min(merged.IssuedAt, r.IssuedAt)
	}
	SaveReceipt(x, merged)
	if err := x.Stock.Replace(x, merged.Lot, parents, []string{op.Into}); err != nil {
		return err
	}
	evRefs := Refs(RefReceipt, op.Into, RefLot, merged.Lot, RefParticipant, merged.Holder)
	for _, r := range inputs {
		r.State = StateSuperseded
		r.Children = []string{op.Into}
		r.Moved = true
		r.bump(x)
		SaveReceipt(x, r)
		evRefs = append(evRefs, Ref{Kind: RefReceipt, ID: r.ID})
	}
	x.Emit(EvReceiptMerged, evRefs, Attr{"into", op.Into}, Attr{"quantity", u64(sum)})
	return nil
}

// sameTerms reports whether two receipts say the same of everything a
// holder or a bank relies on but the quantity: the merged receipt can then
// say it too. The text a holder may amend (description, known third-party
// claims, insurance) and where and under which agreement the receipts
// were issued count as much as the goods and the terms: merging a receipt
// that names a claim into one that says "none known" would launder it.
// Only the date of issue may differ; the merged receipt takes the
// earliest.
func sameTerms(a, b *Receipt) bool {
	return a.Holder == b.Holder && a.Depositor == b.Depositor && a.Warehouse == b.Warehouse &&
		a.Lot == b.Lot && a.Place == b.Place && a.Commodity == b.Commodity && a.Grade == b.Grade &&
		a.Unit == b.Unit && a.Negotiable == b.Negotiable && a.OrderOf == b.OrderOf &&
		a.ValidUntil == b.ValidUntil && a.StorageUntil == b.StorageUntil &&
		a.StorageTermsRef == b.StorageTermsRef && a.Fees == b.Fees && a.Operator == b.Operator &&
		a.Description == b.Description && a.ThirdPartyClaims == b.ThirdPartyClaims && a.Insurance == b.Insurance &&
		a.PlaceOfIssue == b.PlaceOfIssue && a.StorageAgreementDate == b.StorageAgreementDate
}
