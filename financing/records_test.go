package financing_test

import (
	"encoding/json"
	"testing"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/receipt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoanStatusText(t *testing.T) {
	for s := financing.LoanOpen; s <= financing.LoanCancelled; s++ {
		b, err := json.Marshal(s)
		require.NoError(t, err)
		var back financing.LoanStatus
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, s, back)
	}
	var bad financing.LoanStatus
	assert.Error(t, bad.UnmarshalText([]byte("CLOSED")))
}

// TestErrorCodes: financing's rule errors are in 300–399 and say so.
func TestErrorCodes(t *testing.T) {
	n := 0
	for _, e := range receipt.Errors() {
		if e.Code >= 300 && e.Code < 400 {
			n++
			assert.Contains(t, e.Msg, "financing: ", e.Name)
		}
	}
	assert.Equal(t, 26, n)
}

// TestKeys: a commodity name may hold '/', yet keys of different records
// never collide, because the parts of fixed form come first.
func TestKeys(t *testing.T) {
	assert.Equal(t, "fpr/USD/copper cathode", financing.PriceKey("USD", "copper cathode"))
	// "fcp/bank-a/x/y" can only be bank-a's policy for "x/y": an id never holds '/'.
	assert.False(t, receipt.ValidID("bank-a/x"))
	for _, k := range []string{financing.PolicyKey("b", "c"), financing.PriceKey("USD", "c"), financing.LoanKey("l"), financing.IndexKey("USD", "c")} {
		n := 0
		for _, p := range []string{financing.PrefixPolicy, financing.PrefixPrice, financing.PrefixLoan, financing.PrefixIndex} {
			if len(k) >= len(p) && k[:len(p)] == p {
				n++
			}
		}
		assert.Equal(t, 1, n, k)
	}
}
