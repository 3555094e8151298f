package ledger

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/internal/canon"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestDeterminism replays random op sequences on fresh state: once as
// recorded, once with every set-like list inside the ops (split parts,
// merge inputs, weigh tickets, co-signers) in another order. Every replay
// must give byte-identical encoded state, step by step, and the same
// accept/reject outcome.
func TestDeterminism(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		m := newModel(rt)
		actions := m.actions()
		names := make([]string, 0, len(actions))
		for k := range actions {
			if k != "" {
				names = append(names, k)
			}
		}
		sortStrings(names)
		for i, n := 0, rapid.IntRange(50, 300).Draw(rt, "steps"); i < n; i++ {
			actions[rapid.SampledFrom(names).Draw(rt, "action")](rt)
		}
		want := m.sim.Store.EncodeState()

		rng := rand.New(rand.NewPCG(uint64(len(m.log)), 7))
		for _, permuted := range []bool{false, true} {
			s, err := NewSim(m.w, "ewr-prop", t0)
			require.NoError(rt, err)
			for i, st := range m.log {
				op, signers := st.op, st.signers
				if permuted {
					op, signers = permute(op, signers, rng)
				}
				s.Block = st.block
				_, err := s.Do(signers, op)
				// Same outcome as the original run.
				if (err == nil) != m.outcome(i) {
					rt.Fatalf("step %d %s: outcome differs on replay (permuted=%v): %v", i, op.Type(), permuted, err)
				}
			}
			if got := s.Store.EncodeState(); !bytes.Equal(want, got) {
				rt.Fatalf("replay (permuted=%v) gives different state bytes", permuted)
			}
		}
	})
}

// outcome reports whether logged step i was accepted in the original run.
func (m *model) outcome(i int) bool { return m.log[i].ok }

// permute returns a copy of op with its set-like lists shuffled, and the
// co-signers (all but the submitter) shuffled.
func permute(op receipt.Op, signers []string, rng *rand.Rand) (receipt.Op, []string) {
	cp := reflect.New(reflect.TypeOf(op).Elem()).Interface().(receipt.Op)
	if err := canon.Unmarshal(canon.Marshal(op), cp); err != nil {
		panic(err)
	}
	switch o := cp.(type) {
	case *receipt.Split:
		rng.Shuffle(len(o.Parts), func(i, j int) { o.Parts[i], o.Parts[j] = o.Parts[j], o.Parts[i] })
	case *receipt.Merge:
		rng.Shuffle(len(o.Receipts), func(i, j int) { o.Receipts[i], o.Receipts[j] = o.Receipts[j], o.Receipts[i] })
	case *warehouse.RegisterStock:
		rng.Shuffle(len(o.Tickets), func(i, j int) { o.Tickets[i], o.Tickets[j] = o.Tickets[j], o.Tickets[i] })
	case *warehouse.ConfirmDelivery:
		rng.Shuffle(len(o.Tickets), func(i, j int) { o.Tickets[i], o.Tickets[j] = o.Tickets[j], o.Tickets[i] })
	case *financing.OpenLoan:
		rng.Shuffle(len(o.Pledges), func(i, j int) { o.Pledges[i], o.Pledges[j] = o.Pledges[j], o.Pledges[i] })
	case *financing.AddCollateral:
		rng.Shuffle(len(o.Pledges), func(i, j int) { o.Pledges[i], o.Pledges[j] = o.Pledges[j], o.Pledges[i] })
	}
	s := append([]string(nil), signers...)
	if len(s) > 2 {
		rest := s[1:]
		rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	}
	return cp, s
}
