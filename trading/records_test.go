package trading_test

import (
	"encoding/json"
	"testing"

	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatusText(t *testing.T) {
	for s := trading.TradeAwaitingFunds; s <= trading.TradeCancelled; s++ {
		b, err := json.Marshal(s)
		require.NoError(t, err)
		var back trading.TradeStatus
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, s, back)
		assert.Equal(t, s == trading.TradeAwaitingFunds || s == trading.TradeFunded, s.Open(), s.String())
	}
	for s := trading.OfferOpen; s <= trading.OfferWithdrawn; s++ {
		var back trading.OfferStatus
		require.NoError(t, back.UnmarshalText([]byte(s.String())))
		assert.Equal(t, s, back)
	}
	var bad trading.TradeStatus
	assert.Error(t, bad.UnmarshalText([]byte("PENDING")))
	assert.Equal(t, "UNKNOWN", trading.TradeStatus(9).String())
}

// TestErrorCodes: trading's rule errors are in 400–499 and say so.
func TestErrorCodes(t *testing.T) {
	n := 0
	for _, e := range receipt.Errors() {
		if e.Code >= 400 && e.Code < 500 {
			n++
			assert.Contains(t, e.Msg, "trading: ", e.Name)
		}
	}
	assert.Equal(t, 18, n)
	_, ok := receipt.LookupError(trading.ErrNoFunds.Code)
	assert.True(t, ok)
}
