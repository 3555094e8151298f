// Package receipt owns the electronic warehouse receipt: its mandatory
// contents, its lifecycle and the rules of every transition, as a pure
// state machine. It also holds what every domain package shares: the
// participants and their roles, the execution context of an op (Exec), the
// typed rule errors and the events.
//
// A transition is a function of (state, signers, op, block) → (new state,
// events, error). It reads and writes records through Exec.Store, which the
// caller gives as a private overlay and keeps only if the op succeeds: a
// rejected op changes nothing. There is no I/O, no clock (block time is the
// only time), no randomness, no goroutines and no map iteration here; the
// layering test at the module root enforces it.
//
// Words, from the trade:
//
//   - holder: the one participant who controls a live receipt (US EWR rule);
//   - pledge: a receipt given to a bank as collateral; the bank controls it
//     from confirmation until it releases it or enforces (invokes);
//   - lot: the goods behind receipts, weighed in and locked in a bay (package
//     warehouse owns lots);
//   - terminal: CANCELLED (delivered), SUPERSEDED (split or merged) or VOID;
//     a terminal receipt accepts nothing.
//
// Invariants this package keeps (checked after every step by the ledger's
// property test): at most one pending-or-active pledge per receipt; exactly
// one holder per live receipt; split and merge conserve quantity exactly;
// every change bumps the record's version and ops naming a stale version
// fail; receipt ids are never reused.
package receipt
