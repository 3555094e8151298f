package snake_test

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/ewrchain/ewr/api/snake"
	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"ID": "id", "ReceiptVersion": "receipt_version", "InitialLTVBps": "initial_ltv_bps", "PubKey": "pub_key",
		"MinorPerTonnePerDay": "minor_per_tonne_per_day", "ChainID": "chain_id", "LockedQty": "locked_qty", "OrderOf": "order_of",
		"AtMs": "at_ms", "Sig": "sig", "TxIndex": "tx_index", "URL": "url",
	} {
		assert.Equal(t, want, snake.Name(in), in)
	}
}

// Every op and every record round-trips through the codec, whatever its
// fields hold.
func TestRoundTripOpsAndRecords(t *testing.T) {
	w := ledger.NewWorld("snake", 2_000_000_000)
	tk := w.Ticket(ledger.Weighbridge1, "T1", warehouse.In, 30_000, 10_000, "", 1_700_000_000)
	values := []any{
		&receipt.Receipt{ID: "R", Version: 3, State: receipt.StateFrozen, Quantity: 5, Parents: []string{"P"},
			Frozen:   &receipt.FreezeInfo{Prior: receipt.StatePledged, Reason: "x", Cause: receipt.FreezeByBreach},
			Transfer: &receipt.Transfer{To: "b", Deadline: 9}, Fees: receipt.FeeTerms{Currency: "CNY", MinorPerTonnePerDay: 1}},
		&receipt.Participant{ID: "p", Roles: receipt.RoleBank | receipt.RoleTrader, PubKey: receipt.PubKey{1, 2, 3}, Status: receipt.ParticipantActive},
		&warehouse.Lot{ID: "L", Health: warehouse.HealthAlarm, Status: warehouse.LotLocked, Live: []string{"a", "b"}},
		&warehouse.RegisterStock{Lot: "L", Tickets: []warehouse.SignedTicket{tk}},
		&financing.Loan{ID: "LN", Status: financing.LoanOpen, Call: &financing.MarginCall{LTVBps: 9_000}},
		&trading.Trade{ID: "T", Status: trading.TradeFunded},
		&receipt.Split{Receipt: "R", Parts: []receipt.Part{{ID: "a", Quantity: math.MaxUint64}}},
	}
	for _, op := range ledger.AllOps() {
		values = append(values, op)
	}
	for _, v := range values {
		b, err := snake.Marshal(v)
		require.NoError(t, err, "%T", v)
		require.True(t, json.Valid(b), "%T: %s", v, b)
		back := reflect.New(reflect.TypeOf(v).Elem()).Interface()
		require.NoError(t, snake.Unmarshal(b, back), "%T: %s", v, b)
		assert.Equal(t, v, normalize(back, v), "%T", v)
	}
}

// normalize turns the nil slices a round trip makes of empty ones back.
func normalize(back, orig any) any {
	bb, _ := snake.Marshal(back)
	ob, _ := snake.Marshal(orig)
	if string(bb) == string(ob) {
		return orig
	}
	return back
}

func TestStrictDecoding(t *testing.T) {
	type body struct {
		Quantity uint64
		Deadline int64
		Name     string
		Parts    []receipt.Part
		Key      receipt.PubKey
		Hash     [4]byte
		Raw      []byte
		State    receipt.State
		Nonce    uint64 `json:"nonce,string"`
	}
	for _, c := range []struct{ in, errPart string }{
		{`{"quantity":-1}`, "negative"},
		{`{"quantity":1.5}`, "whole number"},
		{`{"quantity":18446744073709551616}`, "below 2^64"},
		{`{"quantity":"5"}`, "integer"},
		{`{"deadline":9223372036854775808}`, "64 bits"},
		{`{"name":5}`, "string"},
		{`{"bogus":1}`, "unknown field"},
		{`{"parts":[{"id":"a","quantity":1,"extra":2}]}`, "parts[0].extra: unknown field"},
		{`{"key":"zz"}`, "hex"},
		{`{"hash":"0102"}`, "4 bytes"},
		{`{"raw":"***"}`, "base64"},
		{`{"state":"MELTED"}`, "unknown state"},
		{`{"quantity":1} {"quantity":2}`, "after the value"},
		{`{"quantity":`, "malformed"},
		{`[]`, "object"},
	} {
		var b body
		err := snake.Unmarshal([]byte(c.in), &b)
		require.Error(t, err, c.in)
		assert.Contains(t, err.Error(), c.errPart, c.in)
	}
	var b body
	require.NoError(t, snake.Unmarshal([]byte(`{"quantity":18446744073709551615,"nonce":"18446744073709551615","hash":"01020304","state":"PLEDGED","raw":"AQI="}`), &b))
	assert.Equal(t, uint64(math.MaxUint64), b.Quantity)
	assert.Equal(t, uint64(math.MaxUint64), b.Nonce)
	assert.Equal(t, [4]byte{1, 2, 3, 4}, b.Hash)
	assert.Equal(t, receipt.StatePledged, b.State)
	out, err := snake.Marshal(b)
	require.NoError(t, err)
	assert.Contains(t, string(out), `"nonce":"18446744073709551615"`)
	assert.Contains(t, string(out), `"parts":[]`)
}

func TestEscaping(t *testing.T) {
	s := "a\"b\\c\n<script>&\u2028\x01" + string([]byte{0xff})
	b, err := snake.Marshal(struct{ S string }{s})
	require.NoError(t, err)
	var back map[string]string
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, strings.ToValidUTF8(s, "\ufffd"), back["s"])
	assert.NotContains(t, string(b), "<script>")
}

func TestSchemas(t *testing.T) {
	sc := snake.NewSchemas()
	ref := sc.Ref(reflect.TypeFor[receipt.Receipt]())
	assert.Equal(t, "#/components/schemas/Receipt", ref["$ref"])
	r := sc.Components()["Receipt"]
	props := r["properties"].(map[string]any)
	assert.Contains(t, props, "receipt_version"[8:]) // "version"
	assert.Equal(t, map[string]any{"type": "integer", "format": "int64", "minimum": 0}, props["quantity"])
	state := props["state"].(map[string]any)
	assert.Contains(t, state["enum"], "PLEDGED")
	assert.Equal(t, false, r["additionalProperties"])
}
