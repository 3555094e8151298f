package financing

import (
	"github.com/ewrchain/ewr/receipt"
)

// SetCreditPolicy sets what the signing bank lends against a commodity.
// Loans already open keep the terms they were opened on.
type SetCreditPolicy struct {
	Commodity          string
	HaircutBps         uint32
	InitialLTVBps      uint32
	MaintenanceLTVBps  uint32
	MarginCallGraceSec int64
	MaxPriceAgeSec     int64
}

func (*SetCreditPolicy) Type() string { return "financing.policy.set" }

func (op *SetCreditPolicy) Check() error {
	if err := CheckCommodity(op.Commodity); err != nil {
		return err
	}
	switch {
	case op.HaircutBps >= BpsOne:
		return receipt.Errorf(ErrPolicyInvalid, "haircut %d bps", op.HaircutBps)
	case op.InitialLTVBps == 0 || op.InitialLTVBps > op.MaintenanceLTVBps || op.MaintenanceLTVBps > BpsOne:
		return receipt.Errorf(ErrPolicyInvalid, "need 0 < initial LTV %d ≤ maintenance LTV %d ≤ 10000 bps", op.InitialLTVBps, op.MaintenanceLTVBps)
	case op.MarginCallGraceSec <= 0 || op.MarginCallGraceSec > MaxGraceSec:
		return receipt.Errorf(ErrPolicyInvalid, "margin call grace %d s", op.MarginCallGraceSec)
	case op.MaxPriceAgeSec < 0 || op.MaxPriceAgeSec > MaxPriceAgeSec:
		return receipt.Errorf(ErrPolicyInvalid, "price age %d s", op.MaxPriceAgeSec)
	}
	return nil
}

func (op *SetCreditPolicy) Apply(x *receipt.Exec) error {
	bank, err := x.RequireRole(receipt.RoleBank)
	if err != nil {
		return err
	}
	key := PolicyKey(bank.ID, op.Commodity)
	p, ok := receipt.Load[CreditPolicy](x, key)
	if !ok {
		p = &CreditPolicy{Bank: bank.ID, Commodity: op.Commodity}
	}
	p.HaircutBps, p.InitialLTVBps, p.MaintenanceLTVBps = op.HaircutBps, op.InitialLTVBps, op.MaintenanceLTVBps
	p.MarginCallGraceSec, p.MaxPriceAgeSec = op.MarginCallGraceSec, op.MaxPriceAgeSec
	p.UpdatedAt = x.Block.Time
	p.Version++
	receipt.Save(x, key, p)
	x.Emit(EvPolicySet, receipt.Refs(receipt.RefParticipant, bank.ID),
		receipt.Attr{Key: "commodity", Value: op.Commodity}, receipt.Attr{Key: "haircut_bps", Value: receipt.U64(uint64(op.HaircutBps))},
		receipt.Attr{Key: "initial_ltv_bps", Value: receipt.U64(uint64(op.InitialLTVBps))},
		receipt.Attr{Key: "maintenance_ltv_bps", Value: receipt.U64(uint64(op.MaintenanceLTVBps))},
		receipt.Attr{Key: "grace_sec", Value: receipt.I64(op.MarginCallGraceSec)})
	return nil
}

// PostPrice records a commodity's price in a currency, per tonne in minor
// units, at block time. Signed by a price oracle. Every open loan on that
// commodity and currency is marked to market in loan id order, and margin
// calls are raised or cleared: the same post gives the same calls on every
// node.
type PostPrice struct {
	Commodity     string
	Currency      string
	MinorPerTonne uint64
}

func (*PostPrice) Type() string { return "financing.price.post" }

func (op *PostPrice) Check() error {
	if err := CheckCommodity(op.Commodity); err != nil {
		return err
	}
	if err := CheckCurrency(op.Currency); err != nil {
		return err
	}
	if op.MinorPerTonne == 0 || op.MinorPerTonne > MaxPriceMinorPerTonne {
		return receipt.Errorf(ErrBadAmount, "price %d per tonne", op.MinorPerTonne)
	}
	return nil
}

func (op *PostPrice) Apply(x *receipt.Exec) error {
	oracle, err := x.RequireRole(receipt.RoleOracle)
	if err != nil {
		return err
	}
	key := PriceKey(op.Currency, op.Commodity)
	p, ok := receipt.Load[Price](x, key)
	prev := uint64(0)
	if !ok {
		p = &Price{Commodity: op.Commodity, Currency: op.Currency}
	} else {
		prev = p.MinorPerTonne
	}
	p.MinorPerTonne, p.At, p.Height, p.Oracle = op.MinorPerTonne, x.Block.Time, x.Block.Height, oracle.ID
	p.Version++
	receipt.Save(x, key, p)
	x.Emit(EvPricePosted, receipt.Refs(receipt.RefParticipant, oracle.ID),
		receipt.Attr{Key: "commodity", Value: op.Commodity}, receipt.Attr{Key: "currency", Value: op.Currency},
		receipt.Attr{Key: "minor_per_tonne", Value: receipt.U64(op.MinorPerTonne)}, receipt.Attr{Key: "previous", Value: receipt.U64(prev)})

	idx, ok := receipt.Load[OpenLoans](x, IndexKey(op.Currency, op.Commodity))
	if !ok {
		return nil
	}
	for _, id := range idx.Loans { // sorted: the same order on every node
		l := mustLoan(x, id)
		if l.Status != LoanOpen {
			panic("financing: index lists loan " + id + " that is " + l.Status.String())
		}
		hadCall := l.Call
		val := review(x, l, byPrice)
		x.Emit(EvLoanRevalued, loanRefs(l), receipt.Attr{Key: "value", Value: val.Value.String()},
			receipt.Attr{Key: "outstanding", Value: receipt.U64(l.Outstanding)}, receipt.Attr{Key: "ltv_bps", Value: receipt.U64(val.LTV)},
			receipt.Attr{Key: "maintenance_bps", Value: receipt.U64(uint64(l.Terms.MaintenanceLTVBps))})
		if hadCall != l.Call {
			saveLoan(x, l) // only loans whose call changed are written
		}
	}
	return nil
}
