package chaos

import (
	"fmt"

	"github.com/anishathalye/porcupine"
)

// The receipt model the histories are checked against (porcupine). Each
// receipt is its own partition. A state is what the ops of the workload
// can see and change of a receipt; every op names the version it expects,
// so an op succeeds exactly when the receipt is at that version and in the
// state the op needs, and a refusal by the rules means it was not.

// Op kinds.
const (
	kCreate   = "create" // the receipt comes to exist (issue, or a split's child)
	kInitiate = "transfer.initiate"
	kAccept   = "transfer.accept"
	kRequest  = "pledge.request"
	kConfirm  = "pledge.confirm"
	kRelease  = "pledge.release"
	kSplit    = "split"
)

// Outcomes.
const (
	outApplied = "applied"
	outRefused = "refused" // by the rules, in a block or in the API's check
	outUnknown = "unknown" // never learnt: either
	// outDropped: refused before the rules saw it (the node's CheckTx:
	// expired, mempool full): it changed nothing whatever the state.
	outDropped = "dropped"
)

// mState is one receipt.
type mState struct {
	Exists bool
	V      uint64
	St     string // issued, transfer_pending, pledge_pending, pledged, superseded
	Holder string
	To     string
	Pledge string
	Bank   string
}

// mInput is an op on one receipt.
type mInput struct {
	Kind    string
	Receipt string
	V       uint64 // the receipt version the op names (create: the new receipt's)
	Actor   string // the signer (create: the holder)
	To      string
	Bank    string
	Pledge  string
}

// step is the op's effect on s, and whether its precondition holds.
func step(s mState, in mInput) (mState, bool) {
	if in.Kind == kCreate {
		if s.Exists {
			return s, false
		}
		return mState{Exists: true, V: in.V, St: "issued", Holder: in.Actor}, true
	}
	if !s.Exists {
		return s, false
	}
	n := s
	n.V++
	switch in.Kind {
	case kInitiate:
		if s.V != in.V || s.St != "issued" || s.Holder != in.Actor || in.To == s.Holder {
			return s, false
		}
		n.St, n.To = "transfer_pending", in.To
	case kAccept:
		if s.V != in.V || s.St != "transfer_pending" || s.To != in.Actor {
			return s, false
		}
		n.St, n.Holder, n.To = "issued", in.Actor, ""
	case kRequest:
		if s.V != in.V || s.St != "issued" || s.Holder != in.Actor || in.Bank == s.Holder {
			return s, false
		}
		n.St, n.Pledge, n.Bank = "pledge_pending", in.Pledge, in.Bank
	case kConfirm:
		if s.V != in.V || s.St != "pledge_pending" || s.Pledge != in.Pledge || s.Bank != in.Actor {
			return s, false
		}
		n.St = "pledged"
	case kRelease: // names the pledge's version, not the receipt's
		if s.St != "pledged" || s.Pledge != in.Pledge || s.Bank != in.Actor {
			return s, false
		}
		n.St, n.Pledge, n.Bank = "issued", "", ""
	case kSplit:
		if s.V != in.V || s.St != "issued" || s.Holder != in.Actor {
			return s, false
		}
		n.St = "superseded"
	default:
		return s, false
	}
	return n, true
}

// receiptModel is the porcupine model: partitioned by receipt;
// nondeterministic only where the outcome is unknown.
func receiptModel() porcupine.Model {
	m := porcupine.NondeterministicModel{
		Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
			by := map[string][]porcupine.Operation{}
			var order []string
			for _, op := range h {
				id := op.Input.(mInput).Receipt
				if _, ok := by[id]; !ok {
					order = append(order, id)
				}
				by[id] = append(by[id], op)
			}
			out := make([][]porcupine.Operation, 0, len(order))
			for _, id := range order {
				out = append(out, by[id])
			}
			return out
		},
		Init: func() []any { return []any{mState{}} },
		Step: func(state, input, output any) []any {
			s, in, out := state.(mState), input.(mInput), output.(string)
			n, ok := step(s, in)
			switch out {
			case outApplied:
				if ok {
					return []any{n}
				}
			case outRefused:
				if !ok {
					return []any{s}
				}
			case outDropped:
				return []any{s}
			case outUnknown:
				if ok {
					return []any{s, n}
				}
				return []any{s}
			}
			return nil
		},
		DescribeOperation: func(input, output any) string {
			in := input.(mInput)
			return fmt.Sprintf("%s %s v%d by %s → %s", in.Kind, in.Receipt, in.V, in.Actor, output)
		},
	}
	return m.ToModel()
}
