// Package ledger is the whole domain as one deterministic state machine:
// the registry of every op, the per-op overlay that makes a rejected op
// change nothing, genesis, the canonical encoding of a whole state, and the
// invariant checker. The chain engine executes blocks through it; the
// tests, the property test and the in-memory scenario run it directly
// (Sim), without sockets.
//
// It exists as its own package because the chain engine and the tests both
// need "apply any op to a state", and that composition (receipt, warehouse,
// and later financing, trading, iot rules) must itself stay pure.
package ledger
