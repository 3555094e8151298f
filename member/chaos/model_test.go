package chaos

import (
	"math"
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/assert"
)

func opAt(client int, in mInput, call, ret int64, out string) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret}
}

var created = mInput{Kind: kCreate, Receipt: "R", V: 1, Actor: "trader-a"}

func pledge(id, bank string) mInput {
	return mInput{Kind: kRequest, Receipt: "R", V: 1, Actor: "trader-a", Bank: bank, Pledge: id}
}

// The checker must be able to fail: two pledges of one receipt at the same
// version both applied is not a history of any correct chain, whatever the
// overlap; one applied and one refused is.
func TestModelRefusesADoublePledge(t *testing.T) {
	m := receiptModel()
	good := []porcupine.Operation{
		opAt(0, created, 0, 1, outApplied),
		opAt(1, pledge("P1", "bank-a"), 2, 10, outApplied),
		opAt(2, pledge("P2", "bank-b"), 3, 9, outRefused),
	}
	assert.True(t, porcupine.CheckOperations(m, good))
	double := []porcupine.Operation{
		opAt(0, created, 0, 1, outApplied),
		opAt(1, pledge("P1", "bank-a"), 2, 10, outApplied),
		opAt(2, pledge("P2", "bank-b"), 3, 9, outApplied),
	}
	assert.False(t, porcupine.CheckOperations(m, double))
}

// Real time is respected: an op refused as stale after another client
// saw its own op on the same version refused too is not linearizable when
// nothing changed the receipt.
func TestModelRespectsRealTime(t *testing.T) {
	m := receiptModel()
	transfer := mInput{Kind: kInitiate, Receipt: "R", V: 1, Actor: "trader-a", To: "trader-b"}
	h := []porcupine.Operation{
		opAt(0, created, 0, 1, outApplied),
		opAt(1, transfer, 2, 3, outRefused), // refused, yet the receipt was at v1 and free
	}
	assert.False(t, porcupine.CheckOperations(m, h))
	// With an unknown pledge that may have applied before it, it is fine.
	h = append(h, opAt(2, pledge("P1", "bank-a"), 1, math.MaxInt64, outUnknown))
	assert.True(t, porcupine.CheckOperations(m, h))
	// A dropped op changes nothing, so the refusal is wrong again.
	h[2] = opAt(2, pledge("P1", "bank-a"), 1, math.MaxInt64, outDropped)
	assert.False(t, porcupine.CheckOperations(m, h))
}

// A split's children exist only if it applied; accepting a transfer needs
// the pending one.
func TestModelFollowsTheLifecycle(t *testing.T) {
	s, ok := step(mState{}, created)
	assert.True(t, ok)
	s, ok = step(s, mInput{Kind: kInitiate, Receipt: "R", V: 1, Actor: "trader-a", To: "trader-b"})
	assert.True(t, ok)
	_, ok = step(s, mInput{Kind: kAccept, Receipt: "R", V: 2, Actor: "trader-a"})
	assert.False(t, ok, "only the transferee accepts")
	s, ok = step(s, mInput{Kind: kAccept, Receipt: "R", V: 2, Actor: "trader-b"})
	assert.True(t, ok)
	assert.Equal(t, mState{Exists: true, V: 3, St: "issued", Holder: "trader-b"}, s)
	_, ok = step(s, mInput{Kind: kSplit, Receipt: "R", V: 2, Actor: "trader-b"})
	assert.False(t, ok, "a stale version")
	_, ok = step(mState{}, mInput{Kind: kSplit, Receipt: "R", V: 1, Actor: "trader-b"})
	assert.False(t, ok, "a receipt that does not exist")
}
