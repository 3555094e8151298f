package trading_test

import (
	"testing"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpsCheckTheirFace: every trading op refuses, without state, what is
// wrong on its face, with the rule it breaks; a well-formed op passes.
func TestOpsCheckTheirFace(t *testing.T) {
	offer := func(f func(*trading.CreateOffer)) receipt.Op {
		op := &trading.CreateOffer{Offer: "OF-1", Receipt: "R-1", Version: 3, Buyer: "trader-b", PriceMinor: 100, Currency: "USD", Deadline: 10}
		if f != nil {
			f(op)
		}
		return op
	}
	for _, c := range []struct {
		name string
		op   receipt.Op
		want *receipt.Error // nil: passes
	}{
		{"offer", offer(nil), nil},
		{"offer without the receipt's version", offer(func(o *trading.CreateOffer) { o.Version = 0 }), receipt.ErrMissingField},
		{"offer with a bad id", offer(func(o *trading.CreateOffer) { o.Offer = "bad id" }), receipt.ErrInvalidID},
		{"offer without a buyer", offer(func(o *trading.CreateOffer) { o.Buyer = "" }), receipt.ErrInvalidID},
		{"offer in no currency", offer(func(o *trading.CreateOffer) { o.Currency = "usd" }), financing.ErrBadCurrency},
		{"offer at no price", offer(func(o *trading.CreateOffer) { o.PriceMinor = 0 }), financing.ErrBadAmount},
		{"accept", &trading.AcceptOffer{Offer: "OF-1", BuyerBank: "bank-a"}, nil},
		{"accept without a bank", &trading.AcceptOffer{Offer: "OF-1"}, receipt.ErrInvalidID},
		{"withdraw", &trading.WithdrawOffer{Offer: "OF-1"}, nil},
		{"withdraw nothing", &trading.WithdrawOffer{}, receipt.ErrInvalidID},
		{"funds", &trading.ConfirmFunds{Trade: "OF-1", AmountMinor: 100, Currency: "USD", EscrowRef: "ESC-1"}, nil},
		{"funds of no amount", &trading.ConfirmFunds{Trade: "OF-1", Currency: "USD", EscrowRef: "ESC-1"}, financing.ErrBadAmount},
		{"funds in no currency", &trading.ConfirmFunds{Trade: "OF-1", AmountMinor: 100, EscrowRef: "ESC-1"}, financing.ErrBadCurrency},
		{"settle", &trading.Settle{Trade: "OF-1"}, nil},
		{"settle nothing", &trading.Settle{}, receipt.ErrInvalidID},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.op.Check()
			if c.want == nil {
				require.NoError(t, err)
				return
			}
			e, typed := receipt.AsError(err)
			require.True(t, typed, "%v", err)
			assert.Equal(t, c.want.Name, e.Name, "%v", err)
		})
	}
}
